//! The warnings of every subcommand as printed on stderr (docs/cli.md, "Warnings"):
//! by default one line per warning code and object, a count where there are several
//! (`chromium: 4 maps lines contradict its program headers (layout-mismatch; -v lists
//! each)`), and one line per code when a code concerns more than [`OBJECTS_LISTED`]
//! objects; `-v` prints every instance, `-q` none. JSON always keeps every warning.
//! Pure: the CLI prints the lines this module returns.

use crate::vocab::{Code, Warning};

use super::{short_name, warning_text};

/// How much of the warnings to print (`-q`, default, `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: no warning at all (errors are still printed).
    Quiet,
    /// The default: one line per code and object.
    Summary,
    /// `-v`: every instance.
    Each,
}

/// A code about more objects than this is one line for the code, naming the first
/// few objects.
pub const OBJECTS_LISTED: usize = 3;

/// What several warnings of one code about one object say, after the count: a plural
/// noun phrase (the message of each instance holds line numbers and addresses, which
/// would defeat grouping).
pub fn plural(code: Code) -> &'static str {
    match code {
        Code::LayoutMismatch => "maps lines contradict its program headers",
        Code::FileUnreadable => "mappings of files that could not be read",
        Code::NotRegularFile => "mappings of files that are not regular files",
        Code::FileReplaced => "mappings of a file replaced since",
        Code::BuildIdMismatch => "mappings of another build",
        Code::ElfMalformed => "mappings of a malformed ELF file",
        Code::AbiMismatch => "mappings of another ABI",
        Code::UnexplainedFile => "maps lines no program header explains",
        Code::WorkLimit => "lines over the work limit",
        Code::ResidencyUnavailable => "lines without residency",
        Code::PageSize => "page size doubts",
        Code::NoInode => "lines that name a file but have inode 0",
        Code::RemoteFs => "mappings on a filesystem that may stall",
        Code::AddressOverflow => "addresses that overflow",
        Code::TextReplaced => "mappings over its text that are not its text",
        Code::FileChanged => "mappings of a file modified since",
        Code::PhdrMismatch => "mappings whose program headers differ from the snapshot's",
        Code::ProcessExited => "processes that exited before they were read",
        _ => "warnings",
    }
}

/// The lines to print (without the `elfmaps: warning: ` prefix), in the order the
/// warnings came.
pub fn lines(warnings: &[Warning], verbosity: Verbosity) -> Vec<String> {
    match verbosity {
        Verbosity::Quiet => Vec::new(),
        Verbosity::Each => warnings.iter().map(warning_text).collect(),
        Verbosity::Summary => summary(warnings),
    }
}

/// One line per (code, object), or per code over more than [`OBJECTS_LISTED`] objects.
fn summary(warnings: &[Warning]) -> Vec<String> {
    // (code, object) groups in first-seen order: the index of their first warning and
    // their count. A few thousand warnings at most: a linear search per code is fine
    // with the map below.
    let mut groups: Vec<(Code, Option<&str>, usize, usize)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (i, w) in warnings.iter().enumerate() {
        let key = (w.code, w.object.as_deref());
        match index.get(&key) {
            Some(&g) => {
                let group: &mut (Code, Option<&str>, usize, usize) = &mut groups[g];
                group.3 += 1;
            }
            None => {
                index.insert(key, groups.len());
                groups.push((w.code, w.object.as_deref(), i, 1));
            }
        }
    }
    let mut objects_of = std::collections::HashMap::<Code, usize>::new();
    for g in &groups {
        *objects_of.entry(g.0).or_default() += 1;
    }
    let mut done = std::collections::HashSet::new();
    let mut out = Vec::new();
    for &(code, object, first, count) in &groups {
        let objects = objects_of[&code];
        if objects > OBJECTS_LISTED {
            if !done.insert(code) {
                continue;
            }
            let named: Vec<String> = groups
                .iter()
                .filter(|g| g.0 == code)
                .take(OBJECTS_LISTED)
                .map(|g| g.1.map_or_else(|| "-".to_string(), short_name))
                .collect();
            let total: usize = groups.iter().filter(|g| g.0 == code).map(|g| g.3).sum();
            out.push(format!(
                "{total} {} ({code}), of {objects} objects: {}, ... (-v lists each)",
                plural(code),
                named.join(", ")
            ));
        } else if count == 1 {
            out.push(format!("{} ({code})", warning_text(&warnings[first])));
        } else {
            let name = object.map_or_else(String::new, |o| format!("{}: ", short_name(o)));
            out.push(format!(
                "{name}{count} {} ({code}; -v lists each)",
                plural(code)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(code: Code, object: &str, message: &str) -> Warning {
        Warning::new(code, Some(object.to_string()), message)
    }

    /// Issue 20: a Chromium process warned once per maps line; one line per code and
    /// object by default, each with -v, none with -q.
    #[test]
    fn warnings_group_by_code_and_object() {
        let ws: Vec<Warning> = (0..4)
            .map(|i| {
                w(
                    Code::LayoutMismatch,
                    "/opt/chromium/chromium",
                    &format!("maps line {i} is r--p at 0x{i}000"),
                )
            })
            .chain([w(Code::NoInode, "/x", "line 9 names a file")])
            .collect();
        assert_eq!(
            lines(&ws, Verbosity::Summary),
            [
                "chromium: 4 maps lines contradict its program headers (layout-mismatch; -v lists each)",
                "/x: line 9 names a file (no-inode)"
            ]
        );
        assert_eq!(lines(&ws, Verbosity::Each).len(), 5);
        assert!(lines(&ws, Verbosity::Quiet).is_empty());
    }

    /// Issue 20: 867 missing files of a saved Firefox smaps were 867 lines.
    #[test]
    fn a_code_over_many_objects_is_one_line() {
        let ws: Vec<Warning> = (0..867)
            .map(|i| {
                w(
                    Code::FileUnreadable,
                    &format!("/usr/lib/lib{i}.so"),
                    "missing",
                )
            })
            .collect();
        let got = lines(&ws, Verbosity::Summary);
        assert_eq!(
            got,
            [
                "867 mappings of files that could not be read (file-unreadable), of 867 objects: lib0.so, lib1.so, lib2.so, ... (-v lists each)"
            ]
        );
    }
}

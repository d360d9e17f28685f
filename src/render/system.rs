//! The tables of `elfmaps system`: a first line that says what was read and what was
//! skipped, then rows per (object, kind), per kind, per process, or (`--object`) one
//! line per process for each matching object, as librank prints; the machine's total
//! last. With `--verbose`, the processes skipped and why.

use std::borrow::Cow;
use std::io::{self, Write};

use owo_colors::Style;

use super::cells::{Line, is_plain};
use super::{kind_style, object_name, paint};
use crate::views::system::{ProcessRow, Reason, Row, System, Use, uss};
use crate::vocab::escape::escape;
use crate::vocab::human::Human;
use crate::vocab::{Figures, Kind};

/// The first line: how many processes were read, from where, and what was skipped.
pub fn title(s: &System) -> String {
    let k = &s.skipped;
    format!(
        "{} processes ({}); skipped: {} exited, {} denied, {} kernel threads, {} zombies{}",
        s.processes.len(),
        s.source,
        k.exited,
        k.denied,
        k.kernel_threads,
        k.zombies,
        if k.failed > 0 {
            format!(", {} failed", k.failed)
        } else {
            String::new()
        }
    )
}

/// The figure columns: size, rss, pss, uss, swap, each a size for people
/// right-aligned in 8 columns, one space between.
fn figures(f: &Figures) -> String {
    format!(
        "{:>8} {:>8} {:>8} {:>8} {:>8}",
        Human(Some(f.size)),
        Human(f.rss),
        Human(f.pss),
        Human(uss(f)),
        Human(f.swap)
    )
}

/// [`figures`] appended to `line`, without the `fmt` machinery (tables of thousands
/// of rows).
fn figures_into(line: &mut Line, f: &Figures) {
    for (i, n) in [Some(f.size), f.rss, f.pss, uss(f), f.swap]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            line.text(" ");
        }
        line.human(n, 8);
    }
}

/// [`escape`] of `text`, borrowed when it is plain ([`is_plain`]).
fn escaped(text: &str) -> Cow<'_, str> {
    if is_plain(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(escape(text.as_bytes()))
    }
}

/// The short name of an object for the table ([`object_name`]: `-` for none), borrowed
/// from the path when it is plain ([`is_plain`]).
fn row_name(object: Option<&str>) -> Cow<'_, str> {
    match object {
        None => Cow::Borrowed("-"),
        Some(name) if is_plain(name) => {
            // What short_name keeps of a plain name: the last component of a path (a
            // ` (deleted)` suffix holds no `/`, so it stays), the whole name for the
            // paths whose file name says little and for names that are not paths.
            let whole = ["/dev/", "/SYSV", "/anon_hugepage"]
                .iter()
                .any(|p| name.starts_with(p));
            if name.starts_with('/') && !whole {
                let slash = name.bytes().rposition(|b| b == b'/').unwrap_or(0);
                Cow::Borrowed(&name[slash + 1..])
            } else {
                Cow::Borrowed(name)
            }
        }
        Some(_) => Cow::Owned(object_name(object)),
    }
}

const FIGURES_HEAD: &str = "    SIZE      RSS      PSS      USS     SWAP";

/// What rows a table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowsOf {
    /// Per (object, kind): object and kind columns.
    ObjectKind,
    /// Per kind across objects: a kind column.
    Kind,
}

/// Writes rows (already sorted and cut), then a line for what `--top` left out
/// (`dropped`), then the machine's total.
pub fn rows<W: Write>(
    s: &System,
    rows: &[Row],
    of: RowsOf,
    dropped: usize,
    out: &mut W,
    color: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", title(s))?;
    let names: Vec<Cow<'_, str>> = rows.iter().map(|r| row_name(r.object.as_deref())).collect();
    // As wide as the longest name shown, within reason (longer ones overflow).
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(24, 48);
    let first = |object: &str| match of {
        RowsOf::ObjectKind => format!("{object:<width$} "),
        RowsOf::Kind => String::new(),
    };
    let head = format!(
        "{}{:<12} {:>6} {FIGURES_HEAD}",
        first("OBJECT"),
        "KIND",
        "PROCS"
    );
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    // One line buffer for every row: no allocation, no formatting machinery per row.
    let mut line = Line::new(color);
    for (r, name) in rows.iter().zip(&names) {
        if of == RowsOf::ObjectKind {
            line.left(name, width);
            line.text(" ");
        }
        let kind = r.kind.map_or("-", Kind::as_str);
        match r.kind {
            Some(k) => {
                line.paint(kind_style(k));
                line.text(kind);
                line.unpaint(kind_style(k));
            }
            None => line.text(kind),
        }
        // Pad by the kind's own width: colour codes take none on screen.
        line.spaces(12usize.saturating_sub(kind.len()));
        line.text(" ");
        line.dec(r.processes as u64, 6);
        line.text(" ");
        figures_into(&mut line, &r.figures);
        line.finish(out)?;
    }
    if dropped > 0 {
        writeln!(out, "({dropped} more rows; --top cut them)")?;
    }
    let total = format!(
        "{}{:<12} {:>6} {}",
        first("machine"),
        "(total)",
        s.processes.len(),
        figures(&s.totals)
    );
    writeln!(out, "{}", paint(&total, Style::new().bold()))?;
    skipped_list(s, out)
}

/// Writes one line per process (already sorted and cut), then the machine's total.
pub fn processes<W: Write>(
    s: &System,
    procs: &[ProcessRow],
    dropped: usize,
    out: &mut W,
    color: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", title(s))?;
    let head = format!("{:>7} {:<16} {FIGURES_HEAD}  COMMAND", "PID", "COMM");
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    let mut line = Line::new(color);
    for p in procs {
        line.dec(u64::from(p.pid), 7);
        line.text(" ");
        line.left(&escaped(&p.comm), 16);
        line.text(" ");
        figures_into(&mut line, &p.figures);
        line.text("  ");
        line.text(&escaped(p.command.as_deref().unwrap_or("")));
        line.finish(out)?;
    }
    if dropped > 0 {
        writeln!(out, "({dropped} more processes; --top cut them)")?;
    }
    let total = format!("{:>7} {:<16} {}", "", "machine (total)", figures(&s.totals));
    writeln!(out, "{}", paint(&total, Style::new().bold()))?;
    skipped_list(s, out)
}

/// Writes, for each object matched by `--object`, a line with its totals and then one
/// line per process that maps it (as librank prints).
pub fn users<W: Write>(
    s: &System,
    groups: &[(&Row, Vec<&Use>)],
    out: &mut W,
    color: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", title(s))?;
    let head = format!("{:>7} {:<16} {FIGURES_HEAD}", "PID", "COMM");
    for (object, users) in groups {
        writeln!(out)?;
        let name = object
            .object
            .as_deref()
            .map_or_else(String::new, crate::render::display_name);
        let id = match &object.build_id {
            Some(b) => format!("build ID {b}"),
            None => format!(
                "{} inode {}",
                object.dev.as_deref().unwrap_or("?"),
                object.inode.unwrap_or(0)
            ),
        };
        writeln!(
            out,
            "{}",
            paint(&format!("{name} ({id})"), Style::new().bold())
        )?;
        writeln!(out, "{}", paint(&head, Style::new().bold()))?;
        let mut line = Line::new(color);
        for u in users {
            line.dec(u64::from(u.pid), 7);
            line.text(" ");
            line.left(&escaped(&u.comm), 16);
            line.text(" ");
            figures_into(&mut line, &u.figures);
            line.finish(out)?;
        }
        writeln!(
            out,
            "{:>7} {:<16} {}",
            object.processes,
            "(total)",
            figures(&object.figures)
        )?;
    }
    if groups.is_empty() {
        writeln!(out, "no object matches")?;
    }
    skipped_list(s, out)
}

/// Writes `s` as JSON (`system --json`) through serde ([`crate::render::json()`]).
pub fn json<W: Write>(s: &System, out: &mut W) -> io::Result<()> {
    super::json(s, out)
}

/// With `--verbose` (the list is kept): each process skipped and why.
fn skipped_list<W: Write>(s: &System, out: &mut W) -> io::Result<()> {
    if s.skipped.processes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "skipped:")?;
    for p in &s.skipped.processes {
        let why = match p.reason {
            Reason::Exited => "exited",
            Reason::Denied => "denied",
            Reason::KernelThread => "kernel thread",
            Reason::Zombie => "zombie",
            _ => "failed",
        };
        writeln!(
            out,
            "{:>7} {:<16} {why}: {}",
            p.pid,
            escape(p.comm.as_deref().unwrap_or("?").as_bytes()),
            escape(p.message.as_bytes())
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_names_are_the_short_names() {
        for name in [
            "/usr/lib/libc.so.6",
            "/usr/lib/libc.so.6 (deleted)",
            "/dev/zero (deleted)",
            "/SYSV00000000 (deleted)",
            "/anon_hugepage",
            "[anon: glibc: malloc arena]",
            "/tmp/a\\012b.so",
            "/tmp/x\u{1b}[2J.so (deleted)",
            "/tmp/é.so",
            "memfd:x (deleted)",
            "/",
            "",
        ] {
            assert_eq!(row_name(Some(name)), object_name(Some(name)), "{name:?}");
        }
        assert_eq!(row_name(None), object_name(None));
        for len in 0..20 {
            let ok = "a~ ".repeat(len);
            assert!(is_plain(&ok));
            for at in 0..ok.len() {
                for b in [0u8, 0x1f, 0x7f, b'\\'] {
                    let mut v = ok.clone().into_bytes();
                    v[at] = b;
                    assert!(!is_plain(std::str::from_utf8(&v).unwrap()), "{v:?}");
                }
                let mut v = ok.clone();
                v.replace_range(at..at + 1, "é");
                assert!(!is_plain(&v), "{v:?}");
            }
        }
        assert_eq!(escaped("a\tb"), escape(b"a\tb"));
        assert_eq!(escaped("sleep 60"), "sleep 60");
    }

    #[test]
    fn json_as_serde_writes_it() {
        let row = |object: Option<&str>, kind: Option<Kind>| Row {
            object: object.map(Into::into),
            build_id: object.map(|_| "ab01".into()),
            dev: object.map(|_| "fe:00".into()),
            inode: object.map(|_| 12),
            kind,
            processes: 3,
            regions: 7,
            figures: Figures {
                size: u64::MAX,
                pss: None,
                ..Figures::zero()
            },
        };
        let mut rows = vec![
            row(None, None),
            row(Some("/a \"b\"\n\u{1}é\\"), Some(Kind::Text)),
        ];
        rows.extend(Kind::ALL.iter().map(|&k| row(Some("/lib/x.so"), Some(k))));
        let processes = vec![ProcessRow {
            pid: 7,
            comm: "a\tb".into(),
            command: None,
            uid: Some(0),
            regions: 1,
            objects: 2,
            figures: Figures::zero(),
        }];
        let mut skipped = crate::views::system::Skipped::default();
        skipped.add(crate::views::system::SkippedProcess {
            pid: 9,
            comm: Some("x".into()),
            reason: Reason::Denied,
            message: "no".into(),
        });
        for split in [None, Some("exact".to_string())] {
            let s = System {
                schema_version: 1,
                kind: "system".into(),
                page_size: 4096,
                source: "live".into(),
                split_pss: split,
                rows: rows.clone(),
                objects: rows[1..3].to_vec(),
                kinds: Vec::new(),
                processes: processes.clone(),
                skipped: skipped.clone(),
                warnings: vec![crate::vocab::Warning::new(
                    crate::vocab::Code::ProcessSkipped,
                    Some("/o".into()),
                    "m \"q\"",
                )],
                totals: Figures::zero(),
                uses: Vec::new(),
            };
            let mut want = serde_json::to_vec(&s).unwrap();
            want.push(b'\n');
            let mut got = Vec::new();
            json(&s, &mut got).unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    #[test]
    fn columns_as_format_pads_them() {
        let f = Figures {
            size: 1 << 40,
            rss: Some(4096),
            pss: None,
            private_clean: Some(12),
            private_dirty: Some(1000),
            swap: Some(0),
            ..Figures::zero()
        };
        let want = format!(
            "{:>8} {:>8} {:>8} {:>8} {:>8}",
            Human(Some(f.size)),
            Human(f.rss),
            Human(f.pss),
            Human(uss(&f)),
            Human(f.swap)
        );
        assert_eq!(figures(&f), want);
        let mut line = Line::new(false);
        figures_into(&mut line, &f);
        line.dec(0, 6);
        line.dec(1234567, 3);
        line.left("é", 3);
        line.left("abcd", 2);
        let mut got = Vec::new();
        line.finish(&mut got).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            want + "     01234567é  abcd\n"
        );
    }
}

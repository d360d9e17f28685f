//! The man pages, generated from the clap definitions.

use super::*;

/// Writes the manual page of `cmd` (elfmaps itself, or one of its subcommands
/// `page`) in roff: clap_mangen's sections from the clap definitions, then the
/// sections of [`MAN_SECTIONS`] for that page.
pub(crate) fn man_page(cmd: clap::Command, page: Option<&str>, out: &mut Out) -> io::Result<()> {
    let man =
        clap_mangen::Man::new(cmd.clone()).source(concat!("elfmaps ", env!("CARGO_PKG_VERSION")));
    // Each part clap_mangen renders starts with the same two-line preamble (the
    // definition of a quote string): written once, before the title.
    let mut parts: Vec<u8> = Vec::new();
    man.render_title(&mut parts)?;
    man.render_name_section(&mut parts)?;
    man.render_synopsis_section(&mut parts)?;
    man.render_description_section(&mut parts)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut parts)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut parts)?;
    }
    let key = page.unwrap_or("");
    for (_, title, text) in MAN_SECTIONS.iter().filter(|(p, _, _)| *p == key) {
        writeln!(parts, ".SH \"{title}\"")?;
        for para in text.split("\n\n") {
            // An indented paragraph is an example: kept as written (no fill).
            let literal = para.starts_with(' ');
            writeln!(parts, "{}", if literal { ".PP\n.nf" } else { ".PP" })?;
            for line in para.lines() {
                writeln!(parts, "{}", roff_line(line))?;
            }
            if literal {
                writeln!(parts, ".fi")?;
            }
        }
    }
    if page.is_none() {
        man.render_version_section(&mut parts)?;
    }
    let mut seen = Vec::new();
    for line in String::from_utf8_lossy(&parts).lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if preamble {
            if seen.contains(&line) {
                continue;
            }
            seen.push(line);
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A line of plain text for roff: backslashes as `\e`, `-` as `\-` (a minus, so that
/// `--flags` can be searched and copied), and a leading `.` or `'` made literal.
pub(crate) fn roff_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    if line.starts_with(['.', '\'']) {
        out.push_str("\\&");
    }
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c => out.push(c),
        }
    }
    out
}

/// Sections of the manual pages beyond clap's: (page: "" for elfmaps(1) or a
/// subcommand, title, text; paragraphs separated by blank lines).
pub(crate) const MAN_SECTIONS: &[(&str, &str, &str)] = &[
    (
        "",
        "INPUTS",
        "map, summary, check and report read a live process (PID) or saved inputs: --smaps FILE, \
--maps FILE (a saved /proc/PID/smaps or maps, - for standard input) or --snapshot FILE \
(written by elfmaps snapshot on the target), with --sysroot DIR, the target's root \
filesystem in which the mapped files are looked up, and --page-size BYTES when the \
input does not say it. snapshot records a live process only. layout and check --elf \
read ELF files named on the command line; diff and report --diff read JSON reports \
saved from map, summary (without --top), layout or system (diff). system reads every \
process of the machine, or a system snapshot (--snapshot FILE, written by snapshot \
--system) or an smemcap capture (--smemcap FILE) with --sysroot DIR.",
    ),
    (
        "",
        "EXIT STATUS",
        "0: success (warnings may have been printed on stderr).\n\n\
1: check: a budget is exceeded; diff --exit-code: something changed.\n\n\
2: an error: no such process, permission denied, the process exited while being read, \
a malformed input or budget file, an unreadable file given to layout. One line on \
stderr says which file (and line) and what was wrong.",
    ),
    (
        "",
        "ENVIRONMENT",
        "NO_COLOR: when set and not empty, --color auto does not colour.\n\n\
TERM: when dumb, --color auto does not colour.",
    ),
    (
        "",
        "WARNINGS",
        "Whatever elfmaps could not do or is unsure about is a warning: one line on stderr, \
and in JSON an entry of warnings with a stable code (file-unreadable, build-id-mismatch, \
layout-mismatch, page-size, budget-unmatched, ...) that scripts should match rather \
than the message. A region elfmaps cannot label for certain is unknown, never a guess.",
    ),
    (
        "",
        "SEE ALSO",
        "pmap(1), readelf(1), proc(5) (/proc/PID/smaps and maps), ld.so(8); the pages of \
the subcommands: elfmaps man map, elfmaps man check, ... The documentation that comes \
with elfmaps' source (its docs folder) gives every labelling rule, the JSON contract \
and the snapshot format.",
    ),
    ("check", "BUDGET FILE AND EXIT STATUS", CHECK_HELP),
];

//! The table of `elfmaps map`: a first line that says what it describes (as pmap
//! prints it), one line per region, then the totals.

use std::io::{self, Write};

use owo_colors::Style;

use super::cells::Line;
use super::columns::Column;
use super::{kind_style, paint};
use crate::report::Report;
use crate::vocab::escape::escape;
use crate::vocab::human::human;

/// What a table describes, for its first line.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Origin<'a> {
    /// A live process: the report's PID and command (`1234:   /usr/bin/foo --bar`, as
    /// pmap prints it).
    Live,
    /// A saved input: the file it was read from (`-` for standard input) and what it
    /// is (`saved smaps`, `saved maps`, `snapshot`): `app.maps:   saved maps`.
    Saved {
        /// The file as given on the command line.
        file: &'a str,
        /// What the file is.
        what: &'a str,
    },
}

/// Writes the report as JSON (`map --json`) through serde ([`super::json()`]; a
/// region's `Serialize` is written by hand in `report/mod.rs`, flat, without
/// `serde(flatten)`). docs/design.md has the measurement that retired the
/// hand-written writer for this document.
pub fn json<W: Write>(report: &Report, out: &mut W) -> io::Result<()> {
    super::json(report, out)
}

/// The first line of the table: which process or file it describes, escaped (a
/// command line and a file name are chosen by whoever started or wrote them).
pub fn title(report: &Report, origin: Origin<'_>) -> String {
    match origin {
        Origin::Live => {
            let pid = report.pid.map_or_else(|| "?".into(), |p| p.to_string());
            match &report.command {
                Some(c) => format!("{pid}:   {}", escape(c.as_bytes())),
                None => format!("{pid}:"),
            }
        }
        Origin::Saved { file, what } => {
            let file = if file == "-" {
                "(standard input)".to_string()
            } else {
                escape(file.as_bytes())
            };
            // A snapshot recorded its process: say which, as the live title does.
            match (report.pid, &report.command) {
                (Some(pid), Some(c)) => {
                    format!("{file}:   {what} of {pid}:   {}", escape(c.as_bytes()))
                }
                (Some(pid), None) => format!("{file}:   {what} of {pid}"),
                _ => format!("{file}:   {what}"),
            }
        }
    }
}

/// Writes the table of `report`: its [`title`], a header, one line per region, the
/// totals; names are file names, or with `full_path` (`-p`) whole paths. Rows are written without an allocation: thousands of them.
pub fn table<W: Write>(
    report: &Report,
    origin: Origin<'_>,
    cols: &[Column],
    out: &mut W,
    color: bool,
    terminal: Option<usize>,
    full_path: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    // A name as the table shows it: the file name, or with `-p` the whole path.
    let shown = |n: &str| {
        if full_path {
            super::display_name(n)
        } else {
            super::short_name(n)
        }
    };
    writeln!(
        out,
        "{}",
        super::fit_title(&title(report, origin), terminal)
    )?;
    let hex_digits = |v: u64| (64 - v.leading_zeros()).div_ceil(4).max(1) as usize;
    let addr_w = report
        .regions
        .iter()
        .map(|r| hex_digits(r.end))
        .max()
        .unwrap_or(8)
        .max(8);
    // On a terminal narrower than the table (docs/cli.md, "Width"): END goes (START
    // and SIZE say it), then names are shortened in the middle to what is left.
    let fixed = addr_w + 1 + 5 + 8 * cols.len() + 13 + 3 + 2;
    let (show_end, name_w) = match terminal {
        None => (true, None),
        Some(w) => {
            let longest = report
                .regions
                .iter()
                .map(|r| match (&r.object, &r.path) {
                    (Some(o), _) | (None, Some(o)) => shown(o).chars().count(),
                    (None, None) => 8,
                })
                .max()
                .unwrap_or(0);
            let show_end = fixed + addr_w + 1 + longest <= w;
            let used = fixed + if show_end { addr_w + 1 } else { 0 };
            (show_end, Some(w.saturating_sub(used).max(8)))
        }
    };
    let mut figures = String::new();
    for c in cols {
        figures.push_str(&format!("{:>7} ", c.header()));
    }
    let end = if show_end {
        format!("{:>addr_w$} ", "END")
    } else {
        String::new()
    };
    let header = format!(
        "{:>aw$} {end}{:4} {figures}{:<12} {:>3}  {}",
        "START",
        "PERM",
        "KIND",
        "SEG",
        "OBJECT / NAME",
        aw = addr_w
    );
    writeln!(out, "{}", paint(&header, Style::new().bold()))?;
    let mut line = Line::new(color);
    for r in &report.regions {
        line.hex(r.start, addr_w);
        line.text(" ");
        if show_end {
            line.hex(r.end, addr_w);
            line.text(" ");
        }
        line.left(&r.perms, 4);
        line.text(" ");
        for c in cols {
            line.human(c.of(&r.figures), 7);
            line.text(" ");
        }
        let style = kind_style(r.kind);
        line.paint(style);
        line.left(r.kind.as_str(), 12);
        line.unpaint(style);
        line.text(" ");
        match r.segment {
            Some(s) => line.dec(s as u64, 3),
            None => line.text("  -"),
        }
        line.text("  ");
        let (name, style) = match (&r.object, &r.path) {
            (Some(o), _) => (Some(&**o), Style::new().bold()),
            (None, Some(p)) => (Some(&**p), Style::new().dimmed()),
            // Anonymous memory has no name: say so, as pmap does.
            (None, None) => (None, Style::new().dimmed()),
        };
        line.paint(style);
        match (name, name_w) {
            (Some(n), None) if !full_path => line.short_name(n),
            (Some(n), None) => line.text(&shown(n)),
            (Some(n), Some(w)) => line.text(&super::middle(&shown(n), w)),
            (None, _) => line.text("[ anon ]"),
        }
        line.unpaint(style);
        // Text the program remapped onto other memory: say onto what, and whether
        // its bytes were checked against the file (issue 12 §2).
        if let Some(how) = r.remapped {
            let check = match r.verified {
                Some(true) => ", verified",
                Some(false) => ", DIFFERS from the file",
                None => "",
            };
            let mark = Style::new().yellow();
            line.text(" ");
            line.paint(mark);
            line.text("[remapped: ");
            line.text(how.as_str());
            line.text(check);
            line.text("]");
            line.unpaint(mark);
        }
        line.finish(out)?;
    }
    let t = &report.totals;
    let mut line = format!(
        "{} region{}, {} object{}: size {}, rss {}, pss {}, swap {}",
        report.regions.len(),
        if report.regions.len() == 1 { "" } else { "s" },
        report.objects.len(),
        if report.objects.len() == 1 { "" } else { "s" },
        human(Some(t.size)),
        human(t.rss),
        human(t.pss),
        human(t.swap)
    );
    // Huge pages of hugetlbfs are not in Rss; say so when there are any.
    if let Some(h) = t.hugetlb.filter(|&h| h > 0) {
        line.push_str(&format!(", hugetlb {} (not in rss)", human(Some(h))));
    }
    // Text on huge pages (remapped or collapsed), over all objects: unknown when an
    // object's is (or the sum overflows), never the part that is known.
    let huge = report
        .objects
        .iter()
        .try_fold(0, |a, o| crate::vocab::figures::sum(Some(a), o.huge_text));
    let some = report
        .objects
        .iter()
        .any(|o| o.huge_text.is_some_and(|h| h > 0));
    if huge.is_some_and(|h| h > 0) || (huge.is_none() && some) {
        line.push_str(&format!(", text on huge pages {}", human(huge)));
    }
    writeln!(out, "{}", paint(&line, Style::new().bold()))?;
    Ok(())
}

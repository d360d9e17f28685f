//! The table of `elfmaps map`: a first line that says what it describes (as pmap
//! prints it), one line per region, then the totals.

use std::io::{self, Write};

use owo_colors::Style;

use super::{kind_style, paint, short_name};
use crate::report::Report;
use crate::vocab::escape::escape;
use crate::vocab::human::{Human, human};

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
            format!("{file}:   {what}")
        }
    }
}

/// Writes the table of `report`: its [`title`], a header, one line per region, the
/// totals.
pub fn table<W: Write>(
    report: &Report,
    origin: Origin<'_>,
    out: &mut W,
    color: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", title(report, origin))?;
    let addr_w = report
        .regions
        .iter()
        .map(|r| format!("{:x}", r.end).len())
        .max()
        .unwrap_or(8)
        .max(8);
    let header = format!(
        "{:>aw$} {:>aw$} {:4} {:>7} {:>7} {:>7} {:<12} {:>3}  {}",
        "START",
        "END",
        "PERM",
        "SIZE",
        "RSS",
        "PSS",
        "KIND",
        "SEG",
        "OBJECT / NAME",
        aw = addr_w
    );
    writeln!(out, "{}", paint(&header, Style::new().bold()))?;
    for r in &report.regions {
        let kind = paint(&format!("{:<12}", r.kind.as_str()), kind_style(r.kind));
        let seg = r
            .segment
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        let name = match (&r.object, &r.path) {
            (Some(o), _) => paint(&short_name(o), Style::new().bold()),
            (None, Some(p)) => paint(&short_name(p), Style::new().dimmed()),
            // Anonymous memory has no name: say so, as pmap does.
            (None, None) => paint("[ anon ]", Style::new().dimmed()),
        };
        // Text the program remapped onto other memory: say onto what, and whether
        // its bytes were checked against the file (issue 12 §2).
        let name = match r.remapped {
            Some(how) => {
                let check = match r.verified {
                    Some(true) => ", verified",
                    Some(false) => ", DIFFERS from the file",
                    None => "",
                };
                format!(
                    "{name} {}",
                    paint(
                        &format!("[remapped: {}{check}]", how.as_str()),
                        Style::new().yellow()
                    )
                )
            }
            None => name,
        };
        writeln!(
            out,
            "{:>aw$x} {:>aw$x} {:4} {:>7} {:>7} {:>7} {} {:>3}  {}",
            r.start,
            r.end,
            r.perms,
            Human(Some(r.figures.size)),
            Human(r.figures.rss),
            Human(r.figures.pss),
            kind,
            seg,
            name,
            aw = addr_w
        )?;
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
    // Text on huge pages (remapped or collapsed), over all objects.
    let huge: u64 = report.objects.iter().filter_map(|o| o.huge_text).sum();
    if huge > 0 {
        line.push_str(&format!(", text on huge pages {}", human(Some(huge))));
    }
    writeln!(out, "{}", paint(&line, Style::new().bold()))?;
    Ok(())
}

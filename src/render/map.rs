//! The table of `elfmaps map`: one line per region, then the totals.

use std::io::{self, Write};

use owo_colors::Style;

use super::{kind_style, paint, short_name};
use crate::report::Report;
use crate::vocab::human::{Human, human};

/// Writes the table of `report`.
pub fn table<W: Write>(report: &Report, out: &mut W, color: bool) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
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
            (None, None) => String::new(),
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
    writeln!(out, "{}", paint(&line, Style::new().bold()))?;
    Ok(())
}

//! The table of `elfmaps sections`: per object, one line per section with a bar of
//! its residency in Unicode blocks and the figures, then its segments (what the
//! sections sum to); and `--pages SECTION`, one character per page of a section
//! (`#` resident, `.` not), as `vmtouch -v` prints a file.

use std::io::{self, Write};

use owo_colors::Style;

use super::columns::Column;
use super::{display_name, fit_title, kind_style, middle, paint};
use crate::views::sections::{Section, Sections, SectionsUnion};
use crate::vocab::escape::escape;
use crate::vocab::human::human;

/// Width of the residency bar in characters.
const BAR: usize = 16;
/// Pages per line of a page map.
const PER_LINE: usize = 64;

/// A bar of `BAR` characters filled to `resident / size` in eighths of a block; `-`
/// when unknown (docs/cli.md: an unknown figure is `-`).
pub fn bar(resident: Option<u64>, size: u64) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let Some(r) = resident else {
        return format!("{:<BAR$}", "-");
    };
    if size == 0 {
        return " ".repeat(BAR);
    }
    let eighths = (u128::from(r.min(size)) * (BAR as u128 * 8) / u128::from(size)) as usize;
    let mut s = "█".repeat(eighths / 8);
    if eighths / 8 < BAR {
        s.push(EIGHTHS[eighths % 8]);
    }
    while s.chars().count() < BAR {
        s.push(' ');
    }
    s
}

/// [`bar`] in `width` characters (none: an empty string).
fn bar_in(resident: Option<u64>, size: u64, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let full = bar(resident, size);
    if width >= BAR {
        return full;
    }
    // A narrower bar: the same fraction in fewer blocks.
    let Some(r) = resident else {
        return format!("{:<width$}", "-");
    };
    if size == 0 {
        return " ".repeat(width);
    }
    let filled = (u128::from(r.min(size)) * width as u128 / u128::from(size)) as usize;
    format!("{}{}", "█".repeat(filled), " ".repeat(width - filled))
}

/// The widths of the residency bar and of the section names for a table of `total`
/// columns on a terminal of `terminal` columns (docs/cli.md, "Width"): the bar
/// narrows first (and goes under 4 characters), then names; in a pipe, the full
/// table.
fn shrink(total: usize, terminal: Option<usize>) -> (usize, usize) {
    let Some(w) = terminal else { return (BAR, 24) };
    let over = total.saturating_sub(w);
    let mut bar = BAR.saturating_sub(over);
    let mut over = over.saturating_sub(BAR - bar);
    if bar < 4 {
        // The bar and the space before it go.
        over = over.saturating_sub(bar + 1);
        bar = 0;
    }
    (bar, 24usize.saturating_sub(over).max(8))
}

fn percent(resident: Option<u64>, size: u64) -> String {
    match resident {
        Some(r) if size > 0 => format!("{:>3}%", r.saturating_mul(100) / size),
        Some(_) => "   -".into(),
        None => "   -".into(),
    }
}

/// The columns of `--columns` that `view` (`sections`, `sections --union`) has: a
/// section's size (`SIZE`) and its resident bytes (`RSS`; summed over the processes
/// in `--union`); another is an error naming the column and the view.
pub fn columns(cols: &[Column], view: &str) -> Result<(bool, bool), String> {
    for c in cols {
        if !matches!(c, Column::Size | Column::Rss) {
            return Err(format!(
                "--columns {}: {view} has no {} figure (its columns: size, rss)",
                c.header().to_ascii_lowercase(),
                c.header()
            ));
        }
    }
    Ok((cols.contains(&Column::Size), cols.contains(&Column::Rss)))
}

/// A cell of 9 characters (a space and 8) when `shown`, else nothing.
fn opt(shown: bool, text: &str) -> String {
    if shown {
        format!(" {text:>8}")
    } else {
        String::new()
    }
}

/// Writes the table of every object's sections and segments; `cols` (`--columns`)
/// are some of SIZE and RSS ([`columns`]), in their places.
pub fn table<W: Write>(
    s: &Sections,
    cols: &[Column],
    out: &mut W,
    color: bool,
    terminal: Option<usize>,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    let (size, rss) = columns(cols, "sections").map_err(io::Error::other)?;
    let dropped = 9 * (usize::from(!size) + usize::from(!rss));
    let (bw, nw) = shrink(111 - dropped, terminal);
    let gap = if bw == 0 { "" } else { " " };
    for (n, o) in s.objects.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let id = o
            .build_id
            .as_deref()
            .map(|b| format!("  build-id {b}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}",
            paint(
                &fit_title(&format!("{}{id}", display_name(&o.path)), terminal),
                Style::new().bold()
            )
        )?;
        let head = format!(
            "  {:>3} {:<nw$} {:>14}{} {:<12} {:>3}  {:<bw$}{gap}{:>4}{} {:>6}",
            "IDX",
            "SECTION",
            "START",
            opt(size, "SIZE"),
            "KIND",
            "SEG",
            if bw == 0 { "" } else { "RESIDENT" },
            if bw == 0 { "RES" } else { "" },
            opt(rss, "RSS"),
            "PAGES"
        );
        writeln!(out, "{}", paint(&head, Style::new().bold()))?;
        for x in &o.sections {
            let kind = kind_cell(x.kind, color);
            writeln!(
                out,
                "  {:>3} {:<nw$} {:>14x}{} {} {:>3}  {}{gap}{}{} {:>6}",
                x.index,
                middle(&escape(x.name.as_bytes()), nw),
                x.start,
                opt(size, &human(Some(x.size))),
                kind,
                x.segment.map_or("-".into(), |g| g.to_string()),
                bar_in(x.resident, x.size, bw),
                percent(x.resident, x.size),
                opt(rss, &human(x.resident)),
                x.resident_pages.map_or("-".into(), |p| p.to_string()),
            )?;
        }
        for g in &o.segments {
            writeln!(
                out,
                "  {}",
                paint(
                    &format!(
                        "segment {} at {:x}: {} resident ({} pages), {} in no section",
                        g.segment,
                        g.start,
                        human(g.resident),
                        g.resident_pages.map_or("-".into(), |p| p.to_string()),
                        human(g.unsectioned),
                    ),
                    Style::new().dimmed()
                )
            )?;
        }
    }
    Ok(())
}

/// Writes the table of `sections --union`: per object (and the processes that map
/// it), one line per section with a bar of its union residency, the union's bytes
/// and pages, and the sum over processes (`RSS`: each process's resident bytes,
/// summed, as `system` sums them); `cols` (`--columns`) are some of SIZE and RSS.
pub fn union_table<W: Write>(
    u: &SectionsUnion,
    cols: &[Column],
    out: &mut W,
    color: bool,
    terminal: Option<usize>,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    let (size, rss) = columns(cols, "sections --union").map_err(io::Error::other)?;
    let dropped = 9 * (usize::from(!size) + usize::from(!rss));
    let (bw, nw) = shrink(112 - dropped, terminal);
    let gap = if bw == 0 { "" } else { " " };
    for (n, o) in u.objects.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let id = o
            .build_id
            .as_deref()
            .map(|b| format!("  build-id {b}"))
            .unwrap_or_default();
        let count = o.pids.len();
        writeln!(
            out,
            "{}",
            paint(
                &fit_title(
                    &format!(
                        "{}{id}  in {count} process{}",
                        display_name(&o.path),
                        if count == 1 { "" } else { "es" }
                    ),
                    terminal
                ),
                Style::new().bold()
            )
        )?;
        let head = format!(
            "  {:>3} {:<nw$}{} {:<12} {:>3}  {:<bw$}{gap}{:>4} {:>8} {:>6}{} {:>7}",
            "IDX",
            "SECTION",
            opt(size, "SIZE"),
            "KIND",
            "SEG",
            if bw == 0 { "" } else { "UNION" },
            if bw == 0 { "UNI" } else { "" },
            "BYTES",
            "PAGES",
            opt(rss, "RSS"),
            "PAGES"
        );
        writeln!(out, "{}", paint(&head, Style::new().bold()))?;
        for x in &o.sections {
            let kind = kind_cell(x.kind, color);
            writeln!(
                out,
                "  {:>3} {:<nw$}{} {} {:>3}  {}{gap}{} {:>8} {:>6}{} {:>7}",
                x.index,
                middle(&escape(x.name.as_bytes()), nw),
                opt(size, &human(Some(x.size))),
                kind,
                x.segment.map_or("-".into(), |g| g.to_string()),
                bar_in(x.resident_union, x.size, bw),
                percent(x.resident_union, x.size),
                human(x.resident_union),
                x.resident_pages_union.map_or("-".into(), |p| p.to_string()),
                opt(rss, &human(x.resident_sum)),
                x.resident_pages_sum.map_or("-".into(), |p| p.to_string()),
            )?;
        }
    }
    Ok(())
}

/// Writes the page map of every section named `name` (one per object that has it):
/// a line per `PER_LINE` pages, starting with the first page's address.
pub fn pages<W: Write>(s: &Sections, name: &str, page_size: u64, out: &mut W) -> io::Result<()> {
    let found: Vec<(&str, &Section)> = s
        .objects
        .iter()
        .flat_map(|o| {
            o.sections
                .iter()
                .filter(|x| x.name == name)
                .map(move |x| (o.path.as_str(), x))
        })
        .collect();
    for (path, x) in found {
        writeln!(
            out,
            "{} {}: {} pages, {} resident",
            display_name(path),
            escape(x.name.as_bytes()),
            x.pages.len(),
            x.resident_pages.map_or("-".into(), |p| p.to_string())
        )?;
        let first = x.start & !(page_size - 1);
        for (i, chunk) in x.pages.chunks(PER_LINE).enumerate() {
            let line: String = chunk.iter().map(|&p| if p { '#' } else { '.' }).collect();
            let addr = first + (i * PER_LINE) as u64 * page_size;
            writeln!(out, "  {addr:>14x} [{line}]")?;
        }
    }
    Ok(())
}

/// A section's kind, padded to its column and coloured like the map table's (`-` for a
/// section in no segment).
fn kind_cell(kind: Option<crate::vocab::Kind>, color: bool) -> String {
    let text = format!("{:<12}", kind.map_or("-", |k| k.as_str()));
    match kind {
        Some(k) => paint(&text, kind_style(k), color),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bars_fill_in_eighths() {
        assert_eq!(bar(Some(0), 10).chars().count(), 16);
        assert_eq!(bar(Some(10), 10), "█".repeat(16));
        assert!(bar(Some(1), 16).starts_with('█'));
        assert!(bar(Some(1), 128).starts_with('▏'));
        assert_eq!(bar(None, 10), format!("{:<16}", "-"));
    }
}

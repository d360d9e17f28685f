//! The table of `elfmaps symbols`: per object, where its symbols came from, then one
//! line per row (symbol or `[unnamed]` bytes of a section) by resident bytes: name
//! (demangled when it was mangled), section, kind, start, size, a bar of
//! `resident / size`, and the figures. `--top N` cuts each object's list; the totals
//! line always counts every row.

use std::io::{self, Write};

use owo_colors::Style;

use super::paint;
use super::sections::bar;
use crate::views::symbols::{Symbols, SymbolsUnion};
use crate::vocab::escape::escape;
use crate::vocab::human::human;

/// Widest name printed (longer ones end in `…`).
const NAME: usize = 48;

/// `name` cut to [`NAME`] characters with `…`: its end kept for a path (`--by
/// file`: the file name matters most), its start otherwise.
fn cut(name: &str, keep_end: bool) -> String {
    let n = name.chars().count();
    if n <= NAME {
        return name.to_string();
    }
    if keep_end {
        let mut c = String::from("…");
        c.extend(name.chars().skip(n - (NAME - 1)));
        c
    } else {
        let mut c: String = name.chars().take(NAME - 1).collect();
        c.push('…');
        c
    }
}

/// Writes the table; `top` keeps the first rows of each object.
pub fn table<W: Write>(
    s: &Symbols,
    out: &mut W,
    color: bool,
    top: Option<usize>,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    for (n, o) in s.objects.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let from = match &o.debug_file {
            Some(d) => format!("{} {}", o.symbols_from.as_str(), escape(d.as_bytes())),
            None => o.symbols_from.as_str().to_string(),
        };
        writeln!(
            out,
            "{}",
            paint(
                &format!("{}  symbols from {from}", escape(o.path.as_bytes())),
                Style::new().bold()
            )
        )?;
        let head = format!(
            "  {:<NAME$} {:<20} {:<6} {:>14} {:>8}  {:<16} {:>8} {:>6}",
            match s.by {
                "compile-unit" => "COMPILE UNIT",
                "file" => "FILE",
                _ => "SYMBOL",
            },
            "SECTION",
            "KIND",
            "START",
            "SIZE",
            "RESIDENT",
            "BYTES",
            "PAGES"
        );
        writeln!(out, "{}", paint(&head, Style::new().bold()))?;
        for x in o.symbols.iter().take(top.unwrap_or(usize::MAX)) {
            let name = cut(
                &escape(x.demangled.as_deref().unwrap_or(&x.name).as_bytes()),
                s.by == "file",
            );
            writeln!(
                out,
                "  {:<NAME$} {:<20} {:<6} {:>14x} {:>8}  {} {:>8} {:>6}",
                name,
                escape(x.section.as_bytes()),
                x.kind.map_or("-", |k| k.as_str()),
                x.start,
                human(Some(x.size)),
                bar(x.resident, x.size),
                human(x.resident),
                x.resident_pages.map_or("?".into(), |p| p.to_string()),
            )?;
        }
        let total = o
            .symbols
            .iter()
            .try_fold(0u64, |a, x| a.checked_add(x.resident?));
        let shown = top.map_or(o.symbols.len(), |t| t.min(o.symbols.len()));
        writeln!(
            out,
            "  {}",
            paint(
                &format!(
                    "{} of {} rows; resident {} in all",
                    shown,
                    o.symbols.len(),
                    human(total)
                ),
                Style::new().dimmed()
            )
        )?;
    }
    Ok(())
}

/// Writes the table of `symbols --union`: per object, its processes, then one line
/// per row with its union and sum; `top` keeps the first rows of each object.
pub fn union_table<W: Write>(
    u: &SymbolsUnion,
    out: &mut W,
    color: bool,
    top: Option<usize>,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    for (n, o) in u.objects.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        writeln!(
            out,
            "{}",
            paint(
                &format!(
                    "{}  symbols from {}, in {} processes",
                    escape(o.path.as_bytes()),
                    o.symbols_from.as_str(),
                    o.pids.len()
                ),
                Style::new().bold()
            )
        )?;
        let head = format!(
            "  {:<NAME$} {:<20} {:>10} {:>8}  {:<16} {:>8} {:>6} {:>8} {:>6}",
            "SYMBOL", "SECTION", "OFFSET", "SIZE", "UNION", "BYTES", "PAGES", "SUM", "PAGES"
        );
        writeln!(out, "{}", paint(&head, Style::new().bold()))?;
        for x in o.symbols.iter().take(top.unwrap_or(usize::MAX)) {
            let name = cut(
                &escape(x.demangled.as_deref().unwrap_or(&x.name).as_bytes()),
                u.by == "file",
            );
            let pages = |p: Option<u64>| p.map_or("?".into(), |p| p.to_string());
            writeln!(
                out,
                "  {:<NAME$} {:<20} {:>10x} {:>8}  {} {:>8} {:>6} {:>8} {:>6}",
                name,
                escape(x.section.as_bytes()),
                x.offset,
                human(Some(x.size)),
                bar(x.resident_union, x.size),
                human(x.resident_union),
                pages(x.resident_pages_union),
                human(x.resident_sum),
                pages(x.resident_pages_sum),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{NAME, cut};

    #[test]
    fn long_names_keep_their_start_and_paths_their_end() {
        let long = format!("{}tail.c", "d/".repeat(40));
        let c = cut(&long, true);
        assert!(c.starts_with('…') && c.ends_with("tail.c"), "{c}");
        assert_eq!(c.chars().count(), NAME);
        let c = cut(&long, false);
        assert!(c.starts_with("d/d/") && c.ends_with('…'));
        assert_eq!(cut("short", true), "short");
    }
}

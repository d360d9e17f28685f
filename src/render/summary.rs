//! The table of `elfmaps summary`: rows, per-object totals, the process's total.

use std::io::{self, Write};

use owo_colors::Style;

use super::columns::Column;
use super::{distinct_names, fit_title, kind_style, middle, name_width, paint};
use crate::views::summary::{By, Summary};
use crate::vocab::human::human;
use crate::vocab::{Figures, Kind};

/// Writes the table of a summary: its first line (what it describes, as `map`'s:
/// [`super::map::title`]), rows, then per-object totals, then the process's
/// `(total)`, and a note when `--top` cut rows. Objects by their file name
/// (directories where two share one), or with `full_path` (`-p`) their whole path.
pub fn table<W: Write>(
    s: &Summary,
    title: &str,
    cols: &[Column],
    out: &mut W,
    color: bool,
    terminal: Option<usize>,
    full_path: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    writeln!(out, "{}", fit_title(title, terminal))?;
    let names = distinct_names(
        s.rows.iter().chain(&s.objects).map(|r| r.object.as_deref()),
        full_path,
    );
    // In `--by kind` there is no object column; else as wide as the longest name
    // (docs/cli.md, "Width").
    let rest = 13 + 9 * cols.len();
    let width = if s.by == By::Kind {
        0
    } else {
        name_width(names.values().map(String::as_str), 32, rest, terminal)
    };
    let line = |object: &str, kind: &str, f: &Figures| {
        let first = if width == 0 {
            String::new()
        } else {
            format!("{:<width$} ", middle(object, width))
        };
        let mut text = format!("{first}{kind:<12}");
        for c in cols {
            text.push_str(&format!(" {:>8}", human(c.of(f))));
        }
        text
    };
    let first = if width == 0 {
        String::new()
    } else {
        format!("{:<width$} ", "OBJECT")
    };
    let mut head = format!("{first}{:<12}", "KIND");
    for c in cols {
        head.push_str(&format!(" {:>8}", c.header()));
    }
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    for r in &s.rows {
        let kind = r.kind.map_or("-", Kind::as_str);
        let text = line(&names[&r.object.as_deref()], kind, &r.figures);
        let styled = match r.kind {
            Some(k) => text.replacen(kind, &paint(kind, kind_style(k)), 1),
            None => text,
        };
        writeln!(out, "{styled}")?;
    }
    if !s.objects.is_empty() {
        writeln!(out)?;
        for o in &s.objects {
            writeln!(
                out,
                "{}",
                line(&names[&o.object.as_deref()], "(total)", &o.figures)
            )?;
        }
    }
    if let Some(cut) = &s.cut {
        writeln!(out, "{}", super::top_note(cut.rows_dropped, "rows"))?;
    }
    let total = match s.by {
        By::Kind => line("", "(total)", &s.totals),
        _ => line("(total)", "", &s.totals),
    };
    writeln!(out, "{}", paint(&total, Style::new().bold()))?;
    // Text on huge pages (remapped by the program, or file THP), when there is any.
    if let Some(h) = s.huge_text.filter(|&h| h > 0) {
        writeln!(out, "text on huge pages: {}", human(Some(h)))?;
    }
    Ok(())
}

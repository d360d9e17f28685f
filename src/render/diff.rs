//! The table of `elfmaps diff`: one line per changed (object, kind), then the objects
//! that appeared, vanished or were rebuilt. Objects are named as in `summary`:
//! their file name, with as many last directories as tell two of one file name
//! apart, or their whole path with `-p` (`render::distinct_names`).

use std::io::{self, Write};

use owo_colors::Style;

use super::columns::Column;
use super::{distinct_names, middle, name_width, paint};
use crate::views::diff::{Diff, Total};
use crate::vocab::human::human;

/// A signed change in binary units: `+4.0K`, `-1.5M`, `0`, or `-` when unknown.
fn signed(d: Option<i64>) -> String {
    match d {
        None => "-".into(),
        Some(0) => "0".into(),
        Some(d) if d > 0 => format!("+{}", human(Some(d.unsigned_abs()))),
        Some(d) => format!("-{}", human(Some(d.unsigned_abs()))),
    }
}

/// `label` then `names` separated by commas, in lines of at most `width` characters
/// (a name longer than a line has one of its own); lines after the first are
/// indented by two spaces.
fn wrap(label: &str, names: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = label.to_string();
    for (i, n) in names.iter().enumerate() {
        let piece = if i + 1 < names.len() {
            format!("{n},")
        } else {
            n.clone()
        };
        let fresh = line.trim().is_empty() || line == label;
        if !fresh && line.chars().count() + 1 + piece.chars().count() > width {
            lines.push(std::mem::replace(&mut line, " ".to_string()));
        }
        line.push(' ');
        line.push_str(&piece);
    }
    lines.push(line);
    lines
}

/// The change of the column `c` in `t`.
fn change(t: &Total, c: Column) -> Option<i64> {
    match c {
        Column::Size => t.size,
        Column::Rss => t.rss,
        Column::Pss => t.pss,
        Column::Uss => t.uss,
        Column::Dirty => t.dirty,
        Column::Swap => t.swap,
    }
}

/// The figure cells of `t` in the columns `cols`, each right-aligned in 9 characters
/// after a space.
fn cells(t: &Total, cols: &[Column]) -> String {
    cols.iter()
        .map(|&c| format!(" {:>9}", signed(change(t, c))))
        .collect()
}

/// Writes the table of a diff: the changes of the figures `cols` (`--columns`,
/// docs/cli.md); `full_path` (`-p`) names objects by their whole path.
pub fn table<W: Write>(
    d: &Diff,
    cols: &[Column],
    out: &mut W,
    color: bool,
    terminal: Option<usize>,
    full_path: bool,
) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    // One naming for the table and the lists, so that a name means one object.
    let distinct = distinct_names(
        d.changes.iter().map(|c| c.object.as_deref()).chain(
            [&d.objects, &d.appeared, &d.vanished, &d.rebuilt]
                .into_iter()
                .flatten()
                .map(|p| Some(p.as_str())),
        ),
        full_path,
    );
    let name = |o: Option<&str>| distinct.get(&o).cloned().unwrap_or_else(|| "-".into());
    let names: Vec<String> = d
        .changes
        .iter()
        .map(|c| name(c.object.as_deref()))
        .collect();
    // As wide as the longest name (nothing cut in a pipe), within a terminal's width
    // (docs/cli.md, "Width").
    let w = name_width(
        names.iter().map(String::as_str),
        32,
        13 + 10 * cols.len(),
        terminal,
    );
    let heads: String = cols.iter().map(|c| format!(" {:>9}", c.header())).collect();
    let head = format!("{:<w$} {:<12}{heads}", "OBJECT", "KIND");
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    for (c, name) in d.changes.iter().zip(&names) {
        let t = Total {
            size: c.size,
            rss: c.rss,
            pss: c.pss,
            uss: c.uss,
            dirty: c.dirty,
            swap: c.swap,
        };
        let text = format!("{:<w$} {:<12}{}", middle(name, w), c.kind, cells(&t, cols));
        let grew = c.size.unwrap_or(0) > 0 || c.rss.unwrap_or(0) > 0;
        writeln!(
            out,
            "{}",
            paint(
                &text,
                if grew {
                    Style::new().red()
                } else {
                    Style::new().green()
                }
            )
        )?;
    }
    let total = format!("{:<w$} {:<12}{}", "(total)", "", cells(&d.total, cols));
    writeln!(out, "{}", paint(&total, Style::new().bold()))?;
    for (label, names) in [
        ("appeared", &d.appeared),
        ("vanished", &d.vanished),
        ("rebuilt", &d.rebuilt),
    ] {
        if !names.is_empty() {
            let names: Vec<String> = names.iter().map(|n| name(Some(n))).collect();
            // Wrapped at the terminal's width, or 80 columns in a pipe: one line of
            // thousands of characters is read by nobody (names are never cut).
            for line in wrap(&format!("{label}:"), &names, terminal.unwrap_or(80)) {
                writeln!(out, "{line}")?;
            }
        }
    }
    if let (Some(n), Some(t)) = (d.below_threshold, &d.threshold)
        && n > 0
    {
        writeln!(out, "{n} changes of at most {t} not shown (--threshold)")?;
    }
    if d.is_empty() {
        writeln!(out, "no change")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{signed, wrap};

    /// Issue 20: diff's "appeared:" list was one line of 5,931 characters.
    #[test]
    fn name_lists_wrap() {
        let names: Vec<String> = (0..40).map(|i| format!("libname{i}.so")).collect();
        let lines = wrap("appeared:", &names, 80);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{lines:?}");
        assert!(lines[0].starts_with("appeared: libname0.so,"));
        assert!(lines[1].starts_with("  libname"), "{lines:?}");
        let joined: String = lines.join(" ");
        for n in &names {
            assert!(joined.contains(n.as_str()));
        }
        assert_eq!(wrap("vanished:", &["a".into()], 80), ["vanished: a"]);
    }

    #[test]
    fn signed_changes() {
        assert_eq!(signed(None), "-");
        assert_eq!(signed(Some(0)), "0");
        assert_eq!(signed(Some(4096)), "+4.0K");
        assert_eq!(signed(Some(-4096)), "-4.0K");
        assert_eq!(signed(Some(i64::MIN)), "-8192P");
    }
}

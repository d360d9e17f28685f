//! The table of `elfmaps diff`: one line per changed (object, kind), then the objects
//! that appeared, vanished or were rebuilt.

use std::io::{self, Write};

use owo_colors::Style;

use super::{object_name, paint};
use crate::views::diff::Diff;
use crate::vocab::escape::escape;
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

/// Writes the table of a diff.
pub fn table<W: Write>(d: &Diff, out: &mut W, color: bool) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    let head = format!(
        "{:<32} {:<12} {:>9} {:>9} {:>9}",
        "OBJECT", "KIND", "SIZE", "RSS", "PSS"
    );
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    for c in &d.changes {
        let text = format!(
            "{:<32} {:<12} {:>9} {:>9} {:>9}",
            object_name(c.object.as_deref()),
            c.kind,
            signed(c.size),
            signed(c.rss),
            signed(c.pss)
        );
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
    let t = &d.total;
    let total = format!(
        "{:<32} {:<12} {:>9} {:>9} {:>9}",
        "(total)",
        "",
        signed(t.size),
        signed(t.rss),
        signed(t.pss)
    );
    writeln!(out, "{}", paint(&total, Style::new().bold()))?;
    for (label, names) in [
        ("appeared", &d.appeared),
        ("vanished", &d.vanished),
        ("rebuilt", &d.rebuilt),
    ] {
        if !names.is_empty() {
            let names: Vec<String> = names.iter().map(|n| escape(n.as_bytes())).collect();
            writeln!(out, "{label}: {}", names.join(", "))?;
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
    use super::signed;

    #[test]
    fn signed_changes() {
        assert_eq!(signed(None), "-");
        assert_eq!(signed(Some(0)), "0");
        assert_eq!(signed(Some(4096)), "+4.0K");
        assert_eq!(signed(Some(-4096)), "-4.0K");
        assert_eq!(signed(Some(i64::MIN)), "-8192P");
    }
}

//! Printers: the terminal tables of `map`, `summary`, `diff` and `check`, and JSON.
//! They only render; every figure comes from the report they are given. Colour is a plain `bool` decided once by the CLI.

pub mod layout;

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use crate::label::Kind;
use crate::report::{Figures, Report};
use crate::views::budget::Violation;
use crate::views::diff::Diff;
use crate::views::summary::{By, Summary};
use crate::vocab::escape::escape;
use crate::vocab::human::{Human, human};
use crate::vocab::names::file_name;

/// `text` in `style` when `color` is on (the one place colour is applied).
pub fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        text.style(style).to_string()
    } else {
        text.to_string()
    }
}

fn kind_style(kind: Kind) -> Style {
    let s = Style::new();
    match kind {
        Kind::Text => s.green(),
        Kind::Rodata => s.cyan(),
        Kind::Data => s.yellow(),
        Kind::Relro => s.magenta(),
        Kind::Bss => s.blue(),
        Kind::Gap | Kind::Guard => s.dimmed(),
        Kind::Heap | Kind::Stack | Kind::ThreadStack => s.red(),
        Kind::Unknown => s.bright_red().bold(),
        _ => s,
    }
}

/// The short name of an object or mapping for the table: the file name of a path,
/// the whole name otherwise (and for `/dev/...`, `/SYSV...` and `/anon_hugepage`, whose
/// file name alone says little); always escaped.
fn short_name(name: &str) -> String {
    let whole = ["/dev/", "/SYSV", "/anon_hugepage"]
        .iter()
        .any(|p| name.starts_with(p));
    let base = if name.starts_with('/') && !whole {
        let file = file_name(name);
        if name.ends_with(" (deleted)") {
            format!("{file} (deleted)")
        } else {
            file.to_string()
        }
    } else {
        name.to_string()
    };
    escape(base.as_bytes())
}

/// Writes the table of `report`.
pub fn table(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
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

/// Writes any report as JSON (one document, newline-terminated).
pub fn json<T: serde::Serialize + ?Sized>(report: &T, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, report)?;
    writeln!(out)
}

fn object_name(o: Option<&str>) -> String {
    o.map_or_else(|| "-".to_string(), short_name)
}

/// Writes the table of a summary: rows, then per-object totals, then the process.
pub fn summary_table(s: &Summary, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    // In `--by kind` there is no object column.
    let width = if s.by == By::Kind { 0 } else { 32 };
    let line = |object: &str, kind: &str, f: &Figures| {
        let first = if width == 0 {
            String::new()
        } else {
            format!("{object:<width$} ")
        };
        format!(
            "{first}{:<12} {:>8} {:>8} {:>8} {:>10} {:>8}",
            kind,
            human(Some(f.size)),
            human(f.rss),
            human(f.pss),
            human(f.private_dirty),
            human(f.swap)
        )
    };
    let first = if width == 0 {
        String::new()
    } else {
        format!("{:<width$} ", "OBJECT")
    };
    let head = format!(
        "{first}{:<12} {:>8} {:>8} {:>8} {:>10} {:>8}",
        "KIND", "SIZE", "RSS", "PSS", "PRIV_DIRTY", "SWAP"
    );
    writeln!(out, "{}", paint(&head, Style::new().bold()))?;
    for r in &s.rows {
        let kind = r.kind.map_or("-", Kind::as_str);
        let text = line(&object_name(r.object.as_deref()), kind, &r.figures);
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
                line(&object_name(o.object.as_deref()), "(total)", &o.figures)
            )?;
        }
    }
    writeln!(
        out,
        "{}",
        paint(&line("process", "(total)", &s.totals), Style::new().bold())
    )
}

fn signed(d: Option<i64>) -> String {
    match d {
        None => "-".into(),
        Some(0) => "0".into(),
        Some(d) if d > 0 => format!("+{}", human(Some(d.unsigned_abs()))),
        Some(d) => format!("-{}", human(Some(d.unsigned_abs()))),
    }
}

/// Writes the table of a diff.
pub fn diff_table(d: &Diff, out: &mut dyn Write, color: bool) -> io::Result<()> {
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
    if d.changes.is_empty() && d.appeared.is_empty() && d.vanished.is_empty() {
        writeln!(out, "no change")?;
    }
    Ok(())
}

/// How budget violations are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationFormat {
    /// One line per violation.
    Text,
    /// GitHub Actions workflow annotations (`::error file=...,line=...::...`).
    Github,
}

/// Writes budget violations, one line each.
pub fn violations(
    v: &[Violation],
    budget_file: &str,
    format: ViolationFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    for x in v {
        let what = format!(
            "{} {} {}: {} ({} B) exceeds {} ({} B)",
            short_name(&x.object),
            x.kind.map_or("(whole object)", Kind::as_str),
            x.measure.as_str(),
            human(Some(x.actual)),
            x.actual,
            human(Some(x.limit)),
            x.limit
        );
        match format {
            ViolationFormat::Text => writeln!(
                out,
                "{what} [{}:{}]",
                escape(budget_file.as_bytes()),
                x.rule_line
            )?,
            ViolationFormat::Github => {
                // Workflow commands end at a newline; % must be escaped as %25.
                let clean = |s: &str| {
                    s.replace('%', "%25")
                        .replace('\r', "%0D")
                        .replace('\n', "%0A")
                };
                let file = clean(budget_file).replace(',', "%2C").replace(':', "%3A");
                writeln!(
                    out,
                    "::error file={file},line={},title=elfmaps budget::{}",
                    x.rule_line,
                    clean(&what)
                )?
            }
        }
    }
    Ok(())
}

/// One warning as printed on stderr after `elfmaps: warning: `: `OBJECT: MESSAGE`, both
/// escaped (they may hold names chosen by whoever created a file).
pub fn warning_text(w: &crate::vocab::Warning) -> String {
    let message = escape(w.message.as_bytes());
    match &w.object {
        Some(o) => format!("{}: {message}", escape(o.as_bytes())),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_escaped() {
        assert_eq!(short_name("/usr/lib/libc.so.6"), "libc.so.6");
        assert_eq!(
            short_name("/tmp/x\u{1b}[2J.so (deleted)"),
            "x\\e[2J.so (deleted)"
        );
        assert_eq!(
            short_name("[anon: glibc: malloc arena]"),
            "[anon: glibc: malloc arena]"
        );
    }
}

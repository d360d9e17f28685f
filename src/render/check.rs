//! The violations of `elfmaps check`: one line each, as text or as GitHub Actions
//! annotations. (`check --json` goes through [`super::json()`].)

use std::io::{self, Write};

use super::short_name;
use crate::views::budget::Violation;
use crate::vocab::Kind;
use crate::vocab::escape::escape;
use crate::vocab::human::human;

/// How budget violations are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationFormat {
    /// One line per violation.
    Text,
    /// GitHub Actions workflow annotations (`::error file=...,line=...::...`).
    Github,
}

/// Writes budget violations, one line each.
pub fn violations<W: Write>(
    v: &[Violation],
    budget_file: &str,
    format: ViolationFormat,
    out: &mut W,
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

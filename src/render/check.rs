//! The violations of `elfmaps check`: one line each, as text or as GitHub Actions
//! annotations, and the line that sums the outcome up. (`check --json` goes through
//! [`super::json()`].)

use std::io::{self, Write};

use super::short_name;
use crate::views::budget::{Check, Violation};
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

/// The line that sums up a check: `12 budgets checked, none exceeded`, or
/// `3 budgets checked, 1 exceeded` (rules, not objects: a glob that two objects
/// exceed is one budget exceeded).
pub fn outcome(check: &Check) -> String {
    let n = check.rules;
    let exceeded = match check.exceeded {
        0 => "none".to_string(),
        e => e.to_string(),
    };
    format!(
        "{n} budget{} checked, {exceeded} exceeded",
        if n == 1 { "" } else { "s" }
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::budget::parse;
    use crate::views::budget::{Measured, check};
    use crate::vocab::Figures;

    #[test]
    fn the_outcome_line_counts_budgets() {
        let rule = "[[budget]]\nobject = \"a.so\"\nmax_size = 10\n";
        let row = |size| Measured {
            object: "/lib/a.so".into(),
            kind: None,
            figures: Figures {
                size,
                ..Figures::default()
            },
        };
        let one = parse(rule).unwrap();
        assert_eq!(
            outcome(&check(&one, &[row(10)], "b")),
            "1 budget checked, none exceeded"
        );
        assert_eq!(
            outcome(&check(&one, &[row(11)], "b")),
            "1 budget checked, 1 exceeded"
        );
        let twelve = parse(&rule.repeat(12)).unwrap();
        assert_eq!(
            outcome(&check(&twelve, &[row(10)], "b")),
            "12 budgets checked, none exceeded"
        );
        assert_eq!(
            outcome(&check(&[], &[], "b")),
            "0 budgets checked, none exceeded"
        );
    }
}

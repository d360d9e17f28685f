//! The output of `elfmaps check`: the violations as text lines or GitHub Actions
//! annotations (warnings too, as `::warning`), a Markdown table of every result for
//! `$GITHUB_STEP_SUMMARY` and pull-request comments, and the line that sums the
//! outcome up. (`check --json` goes through [`super::json()`].) An error that stopped
//! the check is said in every format.

use std::io::{self, Write};

use std::collections::HashMap;

use super::{distinct_names, warning_text};
use crate::views::budget::{Check, LimitType, Outcome, Status, Violation};
use crate::vocab::escape::escape;
use crate::vocab::human::human;
use crate::vocab::{Kind, Warning};

/// How `check` prints (besides `--json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationFormat {
    /// One line per violation.
    Text,
    /// GitHub Actions workflow commands (`::error file=...,line=...::...`), warnings
    /// as `::warning`.
    Github,
    /// A Markdown table of every result.
    Markdown,
}

/// What the printers need besides the check.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The budget file's name, as the rules' lines refer to it.
    pub budget_file: &'a str,
    /// The format.
    pub format: ViolationFormat,
    /// `--strict`: the warnings that fail it are errors.
    pub strict: bool,
    /// `--quiet`: no line that sums up (text and GitHub formats).
    pub quiet: bool,
    /// `-p`: objects by their whole path, not by their file name (with the
    /// directories that tell two of one file name apart).
    pub full_path: bool,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The line that sums up a check: `12 budgets checked, none exceeded`, or
/// `3 budgets checked, 1 exceeded` (rules, not objects: a glob that two objects
/// exceed is one budget exceeded), with `, N not measurable` and `, N matched
/// nothing` when some rules were not checked (issue 18 §3: they are not counted as
/// checked).
pub fn outcome(check: &Check) -> String {
    let c = &check.counts;
    if !check.errors.is_empty() {
        return format!(
            "{} not checked: an error stopped the check",
            plural(c.rules, "budget", "budgets")
        );
    }
    let exceeded = match c.exceeded {
        0 => "none".to_string(),
        e => e.to_string(),
    };
    let mut line = format!(
        "{} checked, {exceeded} exceeded",
        plural(c.checked, "budget", "budgets")
    );
    if c.not_measurable > 0 {
        line.push_str(&format!(", {} not measurable", c.not_measurable));
    }
    if c.unmatched > 0 {
        line.push_str(&format!(", {} matched nothing", c.unmatched));
    }
    line
}

/// What a row is, for people: `libc.so.6 text`, `libc.so.6 (whole object)`, `heap
/// (all objects)`, `(whole target)`, after the process when there are several.
/// `object` is the object's name as [`distinct_names`] gives it.
fn subject(process: Option<&str>, object: Option<&str>, kind: Option<Kind>) -> String {
    let what = match (object, kind) {
        (Some(o), Some(k)) => format!("{o} {}", k.as_str()),
        (Some(o), None) => format!("{o} (whole object)"),
        (None, Some(k)) => format!("{} (all objects)", k.as_str()),
        (None, None) => "(whole target)".to_string(),
    };
    match process {
        Some(p) => format!("{}: {what}", escape(p.as_bytes())),
        None => what,
    }
}

/// A signed number of bytes in binary units: `+4.0K`, `-1.5M`, `0`.
fn signed(d: i64) -> String {
    match d {
        0 => "0".into(),
        d if d > 0 => format!("+{}", human(Some(d.unsigned_abs()))),
        d => format!("-{}", human(Some(d.unsigned_abs()))),
    }
}

/// One violation in words: what, how much, the limit, and how far over (bytes and
/// percent of the limit).
fn violation_text(x: &Violation, names: &HashMap<Option<&str>, String>) -> String {
    let object = x.object.as_deref().map(|o| names[&Some(o)].as_str());
    let who = subject(x.process.as_deref(), object, x.kind);
    let over = match x.over_percent {
        Some(p) => format!("by {} B ({p:.1}%)", x.over),
        None => format!("by {} B", x.over),
    };
    match x.limit_type {
        LimitType::Max => format!(
            "{who} {}: {} ({} B) exceeds {} ({} B) {over}",
            x.measure.as_str(),
            human(Some(x.actual)),
            x.actual,
            human(Some(x.limit)),
            x.limit
        ),
        LimitType::Growth => format!(
            "{who} {} growth: +{} ({} B, from {} B) exceeds {} ({} B) {over}",
            x.measure.as_str(),
            human(Some(x.actual)),
            x.actual,
            x.baseline.unwrap_or(0),
            human(Some(x.limit)),
            x.limit
        ),
    }
}

/// A workflow command's message: it ends at a newline; `%` must be `%25`.
fn gh_message(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property (`file=`): also `,` and `:`.
fn gh_property(s: &str) -> String {
    gh_message(s).replace(',', "%2C").replace(':', "%3A")
}

/// Writes the violations, one line each (text and GitHub formats; Markdown writes a
/// table, [`markdown`]); `full_path` (`-p`) names objects by their whole path.
#[cfg(test)]
pub fn violations<W: Write>(
    v: &[Violation],
    budget_file: &str,
    format: ViolationFormat,
    full_path: bool,
    out: &mut W,
) -> io::Result<()> {
    let names = distinct_names(v.iter().map(|x| x.object.as_deref()), full_path);
    violation_lines(v, &names, budget_file, format, out)
}

/// The lines of [`violations`], objects named by `names`.
fn violation_lines<W: Write>(
    v: &[Violation],
    names: &HashMap<Option<&str>, String>,
    budget_file: &str,
    format: ViolationFormat,
    out: &mut W,
) -> io::Result<()> {
    for x in v {
        let what = violation_text(x, names);
        match format {
            ViolationFormat::Text | ViolationFormat::Markdown => writeln!(
                out,
                "{what} [{}:{}]",
                escape(budget_file.as_bytes()),
                x.rule_line
            )?,
            ViolationFormat::Github => writeln!(
                out,
                "::error file={},line={},title=elfmaps budget::{}",
                gh_property(budget_file),
                x.rule_line,
                gh_message(&what)
            )?,
        }
    }
    Ok(())
}

/// Whether a warning is an error in this run (`--strict`).
fn is_error(w: &Warning, strict: bool) -> bool {
    strict && Check::is_strict_error(w.code)
}

/// Writes a check in the text or GitHub format (or Markdown, [`markdown`]): the
/// violations, for GitHub the warnings and errors as annotations, then the line that
/// sums up (unless quiet). Text warnings go to stderr, printed by the caller.
pub fn write<W: Write>(check: &Check, o: Options, out: &mut W) -> io::Result<()> {
    if o.format == ViolationFormat::Markdown {
        return markdown(check, o, out);
    }
    // Named apart from every object checked, not only those over their budget.
    let names = distinct_names(
        check
            .results
            .iter()
            .map(|r| r.object.as_deref())
            .chain(check.violations.iter().map(|x| x.object.as_deref())),
        o.full_path,
    );
    violation_lines(&check.violations, &names, o.budget_file, o.format, out)?;
    if o.format == ViolationFormat::Github {
        for e in &check.errors {
            writeln!(
                out,
                "::error title=elfmaps check::{}: {}",
                e.code,
                gh_message(&warning_text(e))
            )?;
        }
        for w in &check.warnings {
            let level = if is_error(w, o.strict) {
                "error"
            } else {
                "warning"
            };
            writeln!(
                out,
                "::{level} title=elfmaps check::{}: {}",
                w.code,
                gh_message(&warning_text(w))
            )?;
        }
    } else {
        for e in &check.errors {
            writeln!(out, "error: {}: {}", e.code, warning_text(e))?;
        }
    }
    if !o.quiet {
        writeln!(out, "{}", outcome(check))?;
    }
    Ok(())
}

/// Text for a Markdown table cell: escaped for the terminal's rules (control
/// characters), and `|`, `` ` ``, `<`, `>` and `*`/`_` made harmless.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape(s.as_bytes()).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Bytes for a table: `1.5M (1572864 B)`, or `unknown`.
fn md_bytes(n: Option<u64>) -> String {
    match n {
        Some(n) => format!("{} ({n} B)", human(Some(n))),
        None => "unknown".into(),
    }
}

/// One row of the Markdown table.
fn md_row(r: &Outcome, budget_file: &str, names: &HashMap<Option<&str>, String>) -> String {
    let status = match r.status {
        Status::Pass => "✅ pass",
        Status::Fail => "❌ **exceeded**",
        Status::Unmeasured => "⚠️ not measurable",
    };
    let measure = match r.limit_type {
        LimitType::Max => r.measure.as_str().to_string(),
        LimitType::Growth => format!("{} growth", r.measure.as_str()),
    };
    let rule = format!(
        "{}:{} {} {measure}",
        md(budget_file),
        r.rule_line,
        md(&subject(
            r.process.as_deref(),
            r.object.as_deref().map(|o| names[&Some(o)].as_str()),
            r.kind
        ))
    );
    let measured = match r.limit_type {
        LimitType::Max => md_bytes(r.actual),
        LimitType::Growth => match r.growth {
            Some(g) => format!("{} ({g} B)", signed(g)),
            None => "unknown".into(),
        },
    };
    let limit = match (r.limit_type, r.limit) {
        (LimitType::Max, l) => md_bytes(l),
        (LimitType::Growth, Some(l)) if r.limit_text.ends_with('%') => {
            format!("{} of baseline = {}", md(&r.limit_text), md_bytes(Some(l)))
        }
        (LimitType::Growth, l) => md_bytes(l),
    };
    let margin = match r.margin {
        Some(m) if m < 0 => format!("**over by {} ({} B)**", human(Some(m.unsigned_abs())), -m),
        Some(m) => format!("{} ({m} B)", human(Some(m.unsigned_abs()))),
        None => "-".into(),
    };
    let growth = match (r.baseline, r.growth) {
        (Some(b), Some(g)) => format!("{} from {}", signed(g), human(Some(b))),
        _ => "-".into(),
    };
    format!("| {status} | {rule} | {measured} | {limit} | {margin} | {growth} |")
}

/// The header of the Markdown table.
pub const MARKDOWN_HEADER: &str =
    "| Status | Rule | Measured | Limit | Margin | Growth vs baseline |";

/// Writes a check as Markdown: a heading, the line that sums up, a table of every
/// result (rule, measured, limit, margin, growth against the baseline), then the
/// errors and warnings. For `$GITHUB_STEP_SUMMARY` and pull-request comments.
pub fn markdown<W: Write>(check: &Check, o: Options, out: &mut W) -> io::Result<()> {
    writeln!(out, "### elfmaps check: {}", md(o.budget_file))?;
    writeln!(out)?;
    let failed = !check.errors.is_empty()
        || !check.violations.is_empty()
        || (o.strict && check.fails_strict());
    let mark = if failed {
        "❌"
    } else if check.warnings.is_empty() {
        "✅"
    } else {
        "⚠️"
    };
    writeln!(out, "{mark} **{}**", md(&outcome(check)))?;
    writeln!(out)?;
    if !check.results.is_empty() {
        writeln!(out, "{MARKDOWN_HEADER}")?;
        writeln!(out, "|---|---|---:|---:|---:|---:|")?;
        let names = distinct_names(
            check.results.iter().map(|r| r.object.as_deref()),
            o.full_path,
        );
        for r in &check.results {
            writeln!(out, "{}", md_row(r, o.budget_file, &names))?;
        }
        writeln!(out)?;
    }
    for e in &check.errors {
        writeln!(out, "- ❌ **error** `{}`: {}", e.code, md(&warning_text(e)))?;
    }
    for w in &check.warnings {
        let level = if is_error(w, o.strict) {
            "❌ **error**"
        } else {
            "⚠️ warning"
        };
        writeln!(out, "- {level} `{}`: {}", w.code, md(&warning_text(w)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::budget::parse;
    use crate::views::budget::{Measured, Unit, check};
    use crate::vocab::Figures;

    fn unit(size: u64) -> Vec<Unit> {
        let figures = Figures {
            size,
            ..Figures::default()
        };
        vec![Unit {
            process: None,
            rows: vec![
                Measured {
                    object: Some("/lib/a.so".into()),
                    kind: None,
                    figures: figures.clone(),
                },
                Measured {
                    object: None,
                    kind: None,
                    figures,
                },
            ],
        }]
    }

    #[test]
    fn the_outcome_line_counts_budgets() {
        let rule = "[[budget]]\nobject = \"a.so\"\nmax_size = 10\n";
        let one = parse(rule).unwrap();
        assert_eq!(
            outcome(&check(&one, &unit(10), None, "b")),
            "1 budget checked, none exceeded"
        );
        assert_eq!(
            outcome(&check(&one, &unit(11), None, "b")),
            "1 budget checked, 1 exceeded"
        );
        let twelve = parse(&rule.repeat(12)).unwrap();
        assert_eq!(
            outcome(&check(&twelve, &unit(10), None, "b")),
            "12 budgets checked, none exceeded"
        );
        assert_eq!(
            outcome(&check(&[], &[], None, "b")),
            "0 budgets checked, none exceeded"
        );
        // Issue 18 §3: a limit that cannot be measured is not counted as checked.
        let rss = parse("[[budget]]\nmax_rss = 1\n[[budget]]\nmax_size = 10\n[[budget]]\nobject = \"b.so\"\nmax_size = 1\n").unwrap();
        assert_eq!(
            outcome(&check(&rss, &unit(10), None, "b")),
            "1 budget checked, none exceeded, 1 not measurable, 1 matched nothing"
        );
    }

    #[test]
    fn violations_say_how_far_over() {
        let rules = parse("[[budget]]\nobject = \"a.so\"\nmax_size = 1000\n").unwrap();
        let c = check(&rules, &unit(1100), None, "b.toml");
        let mut out = Vec::new();
        violations(
            &c.violations,
            "b.toml",
            ViolationFormat::Text,
            false,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a.so (whole object) size: 1.1K (1100 B) exceeds 1000B (1000 B) by 100 B (10.0%) [b.toml:2]\n"
        );
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(md("a|b<script>`x`\n"), "a\\|b&lt;script&gt;\\`x\\`\\n");
    }
}

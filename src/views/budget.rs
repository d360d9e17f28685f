//! `elfmaps check`: memory budgets per object and kind, for CI.
//!
//! The rules come from [`crate::input::budget`]. The rows they are checked against are
//! measured here, from a `map` report (through [`crate::views::summary`]), from ELF
//! files' static layout ([`crate::views::layout`]), or from the whole machine
//! ([`crate::views::system`]: an object's kind summed over every process that maps
//! it). Checking is pure: rows and rules in,
//! a [`Check`] out (violations, and warnings for rules that match nothing, figures
//! that are unknown, or a file with no rules). [`Check`] is also the JSON document of
//! `check --json`.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::input::budget::{Measure, Rule};
use crate::report::Report;
use crate::views::layout::Layouts;
use crate::views::summary::{self, By, SortBy};
use crate::vocab::{Code, Figures, Kind, Warning};

/// Bumped on any incompatible change of the JSON of [`Check`] (2: `warnings` are
/// objects with a `code`, as in `map --json`, no longer strings).
pub const SCHEMA_VERSION: u32 = 2;

/// A measured (object, kind), or an object's total (`kind: None`).
#[derive(Debug, Clone)]
pub struct Measured {
    /// The object's path.
    pub object: String,
    /// The kind measured; `None` for the whole object.
    pub kind: Option<Kind>,
    /// Its figures.
    pub figures: Figures,
}

/// A rule exceeded. (Fields in the order `check --json` has always printed them:
/// alphabetical.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The measured bytes.
    pub actual: u64,
    /// The kind limited; `None` for the whole object.
    pub kind: Option<Kind>,
    /// The limit in bytes.
    pub limit: u64,
    /// The measure limited.
    pub measure: Measure,
    /// The object's path.
    pub object: String,
    /// Line of the rule in the budget file.
    pub rule_line: usize,
}

/// The outcome of checking budget rules: what `check --json` prints.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Rules exceeded, in rule order.
    pub violations: Vec<Violation>,
    /// A budget file without rules ([`Code::BudgetEmpty`]), rules that match no
    /// object ([`Code::BudgetUnmatched`]) and limits whose figure is unknown
    /// ([`Code::BudgetUnmeasured`], with the object's path in `object`).
    pub warnings: Vec<Warning>,
    /// How many rules matched no object (an error under `--strict`).
    #[serde(skip)]
    pub unmatched: usize,
    /// How many rules were checked.
    #[serde(skip)]
    pub rules: usize,
    /// How many rules were exceeded (by one object or more).
    #[serde(skip)]
    pub exceeded: usize,
}

impl Check {
    /// Whether a warning of this code is an error under `check --strict`: a budget
    /// file that checks nothing (no rules, or a rule that matches no object).
    pub fn is_strict_error(code: Code) -> bool {
        matches!(code, Code::BudgetEmpty | Code::BudgetUnmatched)
    }

    /// Whether `check --strict` fails: a warning of [`Check::is_strict_error`].
    pub fn fails_strict(&self) -> bool {
        self.warnings.iter().any(|w| Check::is_strict_error(w.code))
    }
}

/// What evaluating the rules found, before it is worded.
#[derive(Debug, Clone, Default)]
struct Outcome {
    violations: Vec<Violation>,
    /// Rules that matched no object (by index into the rules).
    unmatched: Vec<usize>,
    /// (rule index, object, measure) that could not be measured (null figure).
    unmeasured: Vec<(usize, String, Measure)>,
}

fn evaluate(rules: &[Rule], measured: &[Measured]) -> Outcome {
    let mut out = Outcome::default();
    for (ri, rule) in rules.iter().enumerate() {
        let mut matched = false;
        for m in measured
            .iter()
            .filter(|m| m.kind == rule.kind && rule.matches(&m.object))
        {
            matched = true;
            for &(measure, limit) in &rule.limits {
                match measure.of(&m.figures) {
                    Some(actual) if actual > limit => out.violations.push(Violation {
                        rule_line: rule.line,
                        object: m.object.clone(),
                        kind: m.kind,
                        measure,
                        actual,
                        limit,
                    }),
                    Some(_) => {}
                    None => out.unmeasured.push((ri, m.object.clone(), measure)),
                }
            }
        }
        if !matched {
            out.unmatched.push(ri);
        }
    }
    out
}

/// Checks `rules` against `measured` rows. `budget_file` names the budget file in
/// the warnings (`FILE:LINE: ...`).
pub fn check(rules: &[Rule], measured: &[Measured], budget_file: &str) -> Check {
    let outcome = evaluate(rules, measured);
    let mut warnings = Vec::new();
    if rules.is_empty() {
        warnings.push(Warning::new(
            Code::BudgetEmpty,
            None,
            format!("{budget_file}: no [[budget]] rules: nothing is checked"),
        ));
    }
    for &ri in &outcome.unmatched {
        let r = &rules[ri];
        warnings.push(Warning::new(
            Code::BudgetUnmatched,
            None,
            format!(
                "{budget_file}:{}: rule for {:?} matches no object",
                r.line, r.object
            ),
        ));
    }
    for (ri, object, measure) in &outcome.unmeasured {
        warnings.push(Warning::new(
            Code::BudgetUnmeasured,
            Some(object.clone()),
            format!(
                "{} is unknown here: the limit at {budget_file}:{} is not checked",
                measure.as_str(),
                rules[*ri].line
            ),
        ));
    }
    let exceeded = outcome
        .violations
        .iter()
        .map(|v| v.rule_line)
        .collect::<BTreeSet<_>>()
        .len();
    Check {
        schema_version: SCHEMA_VERSION,
        violations: outcome.violations,
        warnings,
        unmatched: outcome.unmatched.len(),
        rules: rules.len(),
        exceeded,
    }
}

/// The rows of a `map` report: each (object, kind) and each object's total, as
/// `summary` sums them. Memory of no object is not measured.
pub fn measure_report(report: &Report) -> Vec<Measured> {
    let s = summary::summarize(report, By::Object, SortBy::Size, None);
    s.rows
        .iter()
        .chain(&s.objects)
        .filter_map(|r| {
            Some(Measured {
                object: r.object.as_deref()?.to_string(),
                kind: r.kind,
                figures: r.figures.clone(),
            })
        })
        .collect()
}

/// The rows of the whole machine: each object's kinds and total, summed over the
/// processes that map it (an object is its file's identity: two builds at one path
/// are two rows, each checked). Memory of no object is not measured.
pub fn measure_system(system: &crate::views::system::System) -> Vec<Measured> {
    system
        .rows
        .iter()
        .chain(&system.objects)
        .filter_map(|r| {
            Some(Measured {
                object: r.object.as_deref()?.to_string(),
                kind: r.kind,
                figures: r.figures.clone(),
            })
        })
        .collect()
}

/// The rows of ELF files' static layout: the bytes each kind takes once loaded, and
/// the whole file's; only `size` is known. Files whose memory could not be computed
/// give no rows.
pub fn measure_layouts(layouts: &Layouts) -> Vec<Measured> {
    let mut measured = Vec::new();
    for o in &layouts.files {
        let Some(mem) = &o.memory else { continue };
        let figures = |size| Figures {
            size,
            ..Default::default()
        };
        for (kind, bytes) in mem.rows() {
            measured.push(Measured {
                object: o.path.clone(),
                kind: Some(kind),
                figures: figures(bytes),
            });
        }
        measured.push(Measured {
            object: o.path.clone(),
            kind: None,
            figures: figures(mem.total),
        });
    }
    measured
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::budget::parse;

    const FILE: &str = r#"
[[budget]]
object = "libfoo.so*"
kind = "text"
max_size = "2 MiB"

[[budget]]
object = "/usr/lib/*/libbar.so.1"
max_rss = 1048576
max_pss = "1 MiB"
"#;

    fn row(object: &str, kind: Option<Kind>, size: u64, rss: Option<u64>) -> Measured {
        Measured {
            object: object.into(),
            kind,
            figures: Figures {
                size,
                rss,
                ..Figures::default()
            },
        }
    }

    #[test]
    fn checks_rows_and_words_the_warnings() {
        let rules = parse(FILE).unwrap();
        let rows = vec![
            row("/lib/libfoo.so.1", Some(Kind::Text), 2 << 20, Some(0)),
            row("/lib/libfoo.so.2", Some(Kind::Text), (2 << 20) + 1, Some(0)),
            row("/usr/lib/x86_64-linux-gnu/libbar.so.1", None, 1, None),
        ];
        let out = check(&rules, &rows, "b.toml");
        assert_eq!(out.violations.len(), 1);
        assert_eq!(out.violations[0].object, "/lib/libfoo.so.2");
        assert_eq!(out.violations[0].actual, (2 << 20) + 1);
        assert_eq!(out.unmatched, 0);
        assert_eq!((out.rules, out.exceeded), (2, 1));
        let codes: Vec<Code> = out.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, [Code::BudgetUnmeasured, Code::BudgetUnmeasured]);
        assert_eq!(
            out.warnings[0].object.as_deref(),
            Some("/usr/lib/x86_64-linux-gnu/libbar.so.1")
        );
        assert_eq!(
            out.warnings[0].message,
            "rss is unknown here: the limit at b.toml:8 is not checked"
        );
        assert!(!out.fails_strict());
        let out = check(&rules, &rows[..1], "b.toml");
        assert_eq!(out.unmatched, 1);
        assert_eq!(out.warnings[0].code, Code::BudgetUnmatched);
        assert_eq!(
            out.warnings[0].message,
            "b.toml:8: rule for \"/usr/lib/*/libbar.so.1\" matches no object"
        );
        assert!(out.fails_strict());
        // JSON: the warnings as in `map --json`, with their code.
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(
            v["warnings"],
            serde_json::json!([{
                "code": "budget-unmatched",
                "object": null,
                "message": "b.toml:8: rule for \"/usr/lib/*/libbar.so.1\" matches no object"
            }])
        );
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert!(v.get("unmatched").is_none() && v.get("rules").is_none());
    }

    /// Issue 9 §4: an empty budget file passed silently.
    #[test]
    fn an_empty_budget_file_is_a_warning() {
        let rules = parse("# nothing yet\n").unwrap();
        let out = check(&rules, &[], "b.toml");
        assert_eq!(out.rules, 0);
        assert_eq!(out.warnings.len(), 1);
        assert_eq!(out.warnings[0].code, Code::BudgetEmpty);
        assert!(out.fails_strict());
    }
}

//! `elfmaps check`: memory budgets for CI, on the whole target, on a kind of memory,
//! or on objects, as absolutes or as growth against a baseline.
//!
//! The rules come from [`crate::input::budget`]. The rows they are checked against are
//! measured here, from a `map` report (through [`crate::views::summary`]), from ELF
//! files' static layout ([`crate::views::layout`]), from the whole machine
//! ([`crate::views::system`]: an object's kind summed over every process that maps
//! it), or from a saved report ([`measure_saved`], the baseline of `check
//! --baseline`). A target is one [`Unit`] or several (the processes of one name);
//! each unit's rows are its (object, kind) rows, each object's total, each kind's total
//! over objects and memory of no object, and the target's total.
//!
//! Checking is pure: units, a baseline and rules in, a [`Check`] out: a result for
//! every limit of every matched row (passed, exceeded, or not measurable), the
//! violations, and warnings for rules that match nothing, figures that are unknown,
//! a file with no rules, or an input with no memory. [`Check`] is also the JSON
//! document of `check --json`. Rules are looked up, not matched against every row,
//! where their glob has no wildcard, so the work grows with the rules plus the rows
//! (issue 19 §10), not with their product.

use std::collections::HashMap;

use serde::Serialize;

use crate::input::budget::{Growth, Measure, Processes, Rule, Scope};
use crate::report::Report;
use crate::views::diff::Saved;
use crate::views::layout::Layouts;
use crate::views::summary::{self, By, SortBy, Summary};
use crate::vocab::matching::file_name;
use crate::vocab::{Code, Figures, Kind, Warning};

/// Bumped on any incompatible change of the JSON of [`Check`] (2: `warnings` are
/// objects with a `code`; 3: `object` of a violation is null for a rule on the total
/// or on a kind, and the document has `results`, `counts` and `errors`).
pub const SCHEMA_VERSION: u32 = 3;

/// A measured row: an (object, kind), an object's total (`kind: None`), a kind's
/// total over every object and no object (`object: None`), or the total of the
/// target (both `None`).
#[derive(Debug, Clone)]
pub struct Measured {
    /// The object's path; `None` for a kind's or the target's total.
    pub object: Option<String>,
    /// The kind measured; `None` for a whole object or the target's total.
    pub kind: Option<Kind>,
    /// Its figures.
    pub figures: Figures,
}

/// What one process (or the one target) measures: its rows.
#[derive(Debug, Clone, Default)]
pub struct Unit {
    /// The process, for a target of several (`PID (NAME)`); `None` for the one target.
    pub process: Option<String>,
    /// Its rows.
    pub rows: Vec<Measured>,
}

/// Which limit a result is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitType {
    /// An absolute limit (`max_rss`, ...).
    Max,
    /// A growth limit against the baseline (`max_rss_growth`, `max_growth`, ...).
    Growth,
}

/// How one limit fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Within the limit.
    Pass,
    /// Over it.
    Fail,
    /// The figure (or the baseline's) is unknown: neither passed nor failed.
    Unmeasured,
}

/// One limit of one rule on one measured row. (Fields alphabetical, as in
/// [`Violation`].)
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The measured bytes (for a growth limit too: the value now); null when unknown.
    pub actual: Option<u64>,
    /// The baseline's bytes (0 when the baseline has no such row); null without a
    /// baseline or when its figure is unknown.
    pub baseline: Option<u64>,
    /// `actual - baseline`, when both are known (shown for every limit; compared
    /// with the limit for a growth limit).
    pub growth: Option<i64>,
    /// The kind; null for a whole object or the target's total.
    pub kind: Option<Kind>,
    /// The limit in bytes: the maximum, or the growth allowed (a percentage turned
    /// into bytes of the baseline); null when it could not be computed.
    pub limit: Option<u64>,
    /// The limit as the budget file wrote it (`"5%"`, `"2097152 B"`).
    pub limit_text: String,
    /// Which limit.
    pub limit_type: LimitType,
    /// How far under the limit (negative: over), in bytes.
    pub margin: Option<i64>,
    /// The measure.
    pub measure: Measure,
    /// The object's path; null for a kind's or the target's total.
    pub object: Option<String>,
    /// The process, for a target of several.
    pub process: Option<String>,
    /// Line of the rule in the budget file.
    pub rule_line: usize,
    /// Passed, exceeded, or not measurable.
    pub status: Status,
}

/// A limit exceeded. (Fields in the order `check --json` has always printed them:
/// alphabetical.)
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The measured bytes (for a growth limit: the growth).
    pub actual: u64,
    /// For a growth limit: the baseline's bytes.
    pub baseline: Option<u64>,
    /// The kind limited; `None` for the whole object or target.
    pub kind: Option<Kind>,
    /// The limit in bytes (for a growth limit: the growth allowed).
    pub limit: u64,
    /// Which limit.
    pub limit_type: LimitType,
    /// The measure limited.
    pub measure: Measure,
    /// The object's path; `None` for a kind's or the target's total.
    pub object: Option<String>,
    /// How far over the limit, in bytes.
    pub over: u64,
    /// How far over, in percent of the limit (null for a limit of 0).
    pub over_percent: Option<f64>,
    /// The process, for a target of several.
    pub process: Option<String>,
    /// Line of the rule in the budget file.
    pub rule_line: usize,
}

/// How many rules did what.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rules in the budget file (and its top-level `max_growth`).
    pub rules: usize,
    /// Rules whose every limit was measured on every row they match.
    pub checked: usize,
    /// Rules exceeded (by one row or more).
    pub exceeded: usize,
    /// Rules with a limit that could not be measured (an unknown figure, or a growth
    /// limit without a baseline).
    pub not_measurable: usize,
    /// Rules that match nothing.
    pub unmatched: usize,
}

/// The outcome of checking budget rules: what `check --json` prints.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// How many rules did what.
    pub counts: Counts,
    /// Every limit of every rule on every row it matched, passed or not, in rule
    /// order.
    pub results: Vec<Outcome>,
    /// The limits exceeded, in rule order.
    pub violations: Vec<Violation>,
    /// A budget file without rules ([`Code::BudgetEmpty`]), rules that match no
    /// object ([`Code::BudgetUnmatched`]), limits whose figure is unknown
    /// ([`Code::BudgetUnmeasured`], with the object's path in `object`) and an input
    /// without memory ([`Code::InputEmpty`]).
    pub warnings: Vec<Warning>,
    /// Why the check could not be done at all (an input that could not be read):
    /// then nothing else is filled in.
    pub errors: Vec<Warning>,
    /// Rows examined while matching rules: the work, which tests bound.
    #[serde(skip)]
    pub work: usize,
}

impl Check {
    /// Whether a warning of this code is an error under `check --strict`: a budget
    /// file that checks nothing (no rules, or a rule that matches nothing), a limit
    /// that could not be measured, or an input without memory.
    pub fn is_strict_error(code: Code) -> bool {
        matches!(
            code,
            Code::BudgetEmpty | Code::BudgetUnmatched | Code::BudgetUnmeasured | Code::InputEmpty
        )
    }

    /// Whether `check --strict` fails: a warning of [`Check::is_strict_error`].
    pub fn fails_strict(&self) -> bool {
        self.warnings.iter().any(|w| Check::is_strict_error(w.code))
    }

    /// The document of a check that could not be done: `error` says why.
    pub fn failed(error: Warning) -> Check {
        Check {
            schema_version: SCHEMA_VERSION,
            counts: Counts::default(),
            results: Vec::new(),
            violations: Vec::new(),
            warnings: Vec::new(),
            errors: vec![error],
            work: 0,
        }
    }
}

/// The rows of a unit, indexed: by (object, kind) exactly, by (file name, kind), and
/// the object rows by kind.
struct Index<'a> {
    rows: &'a [Measured],
    exact: HashMap<(Option<&'a str>, Option<Kind>), usize>,
    by_name: HashMap<(&'a str, Option<Kind>), Vec<usize>>,
    by_kind: HashMap<Option<Kind>, Vec<usize>>,
}

impl<'a> Index<'a> {
    fn new(rows: &'a [Measured]) -> Index<'a> {
        let mut ix = Index {
            rows,
            exact: HashMap::with_capacity(rows.len()),
            by_name: HashMap::new(),
            by_kind: HashMap::new(),
        };
        for (i, r) in rows.iter().enumerate() {
            ix.exact.entry((r.object.as_deref(), r.kind)).or_insert(i);
            if let Some(o) = &r.object {
                ix.by_name
                    .entry((file_name(o), r.kind))
                    .or_default()
                    .push(i);
                ix.by_kind.entry(r.kind).or_default().push(i);
            }
        }
        ix
    }

    /// The rows `rule` limits; `work` counts the rows examined.
    fn matching(&self, rule: &Rule, work: &mut usize) -> Vec<usize> {
        let exact = |key| self.exact.get(&key).copied().into_iter().collect();
        match rule.scope() {
            Scope::Total => exact((None, None)),
            Scope::Kind(k) => exact((None, Some(k))),
            Scope::Object(kind) => {
                let candidates = match rule.literal() {
                    Some(lit) => self.by_name.get(&(file_name(lit), kind)),
                    None => self.by_kind.get(&kind),
                };
                let candidates = candidates.map_or(&[][..], Vec::as_slice);
                *work += candidates.len();
                candidates
                    .iter()
                    .copied()
                    .filter(|&i| {
                        self.rows[i]
                            .object
                            .as_deref()
                            .is_some_and(|o| rule.matches(o))
                    })
                    .collect()
            }
        }
    }

    /// The baseline's figures of the row `m` is: the same object and kind, else the
    /// same file name and kind (objects are matched by file name across reports, as
    /// in `diff`), among several the one sharing the most last directories with it
    /// (`lib32/libc.so.6` under a sysroot is lib32's, not x86_64's), the first of
    /// those as good; `None` when the baseline has no such row.
    fn baseline_of(&self, m: &Measured) -> Option<&'a Figures> {
        if let Some(&i) = self.exact.get(&(m.object.as_deref(), m.kind)) {
            return Some(&self.rows[i].figures);
        }
        let o = m.object.as_deref()?;
        let candidates = self.by_name.get(&(file_name(o), m.kind))?;
        let shared = |&i: &usize| {
            self.rows[i]
                .object
                .as_deref()
                .map_or(0, |b| crate::views::diff::shared_tail(o, b))
        };
        let best = candidates.iter().map(shared).max()?;
        let i = *candidates.iter().find(|i| shared(i) == best)?;
        Some(&self.rows[i].figures)
    }
}

/// The sum of several units' rows, keyed by (object, kind): `processes = "sum"`.
fn sum_units(units: &[Unit]) -> Unit {
    let mut at: HashMap<(Option<String>, Option<Kind>), usize> = HashMap::new();
    let mut rows: Vec<Measured> = Vec::new();
    for u in units {
        for r in &u.rows {
            let key = (r.object.clone(), r.kind);
            match at.get(&key) {
                Some(&i) => rows[i].figures.add(&r.figures),
                None => {
                    at.insert(key, rows.len());
                    rows.push(r.clone());
                }
            }
        }
    }
    Unit {
        process: Some(format!("sum of {} processes", units.len())),
        rows,
    }
}

/// The measures `max_growth` limits: those a rule's readers compare most.
const ANY_GROWTH: [Measure; 3] = [Measure::Size, Measure::Rss, Measure::Pss];

/// Checks `rules` against the units of a target, growth against `baseline`'s rows
/// when given. `budget_file` names the budget file in the warnings (`FILE:LINE: ...`).
pub fn check(
    rules: &[Rule],
    units: &[Unit],
    baseline: Option<&[Measured]>,
    budget_file: &str,
) -> Check {
    let mut out = Check {
        schema_version: SCHEMA_VERSION,
        counts: Counts {
            rules: rules.len(),
            ..Counts::default()
        },
        results: Vec::new(),
        violations: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
        work: 0,
    };
    if rules.is_empty() {
        out.warnings.push(Warning::new(
            Code::BudgetEmpty,
            None,
            format!("{budget_file}: no [[budget]] rules: nothing is checked"),
        ));
    }
    for u in units {
        let empty = u
            .rows
            .iter()
            .find(|r| r.object.is_none() && r.kind.is_none())
            .is_none_or(|t| t.figures.size == 0);
        if empty {
            out.warnings.push(Warning::new(
                Code::InputEmpty,
                u.process.clone(),
                "the input has no memory to check: every limit on it is met by nothing",
            ));
        }
    }
    let indexes: Vec<Index> = units.iter().map(|u| Index::new(&u.rows)).collect();
    let summed = (units.len() > 1 && rules.iter().any(|r| r.processes == Processes::Sum))
        .then(|| sum_units(units));
    let summed_index = summed.as_ref().map(|u| Index::new(&u.rows));
    let base = baseline.map(Index::new);
    for rule in rules {
        let targets: Vec<(&Unit, &Index)> = match (&summed, &summed_index, rule.processes) {
            (Some(u), Some(ix), Processes::Sum) => vec![(u, ix)],
            _ => units.iter().zip(&indexes).collect(),
        };
        let first = out.results.len();
        let mut matched = false;
        for (unit, ix) in targets {
            for i in ix.matching(rule, &mut out.work) {
                matched = true;
                evaluate(rule, unit, &ix.rows[i], base.as_ref(), &mut out.results);
            }
        }
        out.work += 1;
        let results = &out.results[first..];
        if !matched {
            out.counts.unmatched += 1;
            out.warnings.push(Warning::new(
                Code::BudgetUnmatched,
                None,
                format!(
                    "{budget_file}:{}: rule for {} matches nothing{}",
                    rule.line,
                    what(rule),
                    hint(rule)
                ),
            ));
            continue;
        }
        let mut unmeasured = false;
        let mut no_baseline = false;
        for r in results {
            match r.status {
                Status::Pass => {}
                Status::Fail => out.violations.push(violation(r)),
                Status::Unmeasured if r.limit_type == LimitType::Growth && baseline.is_none() => {
                    unmeasured = true;
                    no_baseline = true;
                }
                Status::Unmeasured => {
                    unmeasured = true;
                    let which = if r.actual.is_none() {
                        ""
                    } else {
                        "the baseline's "
                    };
                    out.warnings.push(Warning::new(
                        Code::BudgetUnmeasured,
                        r.object.clone(),
                        format!(
                            "{which}{} is unknown here: the limit at {budget_file}:{} is not checked",
                            r.measure.as_str(),
                            rule.line
                        ),
                    ));
                }
            }
        }
        if no_baseline {
            out.warnings.push(Warning::new(
                Code::BudgetUnmeasured,
                None,
                format!(
                    "{budget_file}:{}: a growth limit needs a baseline (check --baseline OLD.json): not checked",
                    rule.line
                ),
            ));
        }
        if results.iter().any(|r| r.status == Status::Fail) {
            out.counts.exceeded += 1;
        }
        if unmeasured {
            out.counts.not_measurable += 1;
        } else {
            out.counts.checked += 1;
        }
    }
    out
}

/// What a rule limits, for a warning: `"libfoo*" text`, `heap (all objects)`, `the
/// whole target`.
fn what(rule: &Rule) -> String {
    match (rule.scope(), &rule.object) {
        (Scope::Total, _) => "the whole target".to_string(),
        (Scope::Kind(k), _) => format!("{} (all objects)", k.as_str()),
        (Scope::Object(Some(k)), Some(o)) => format!("{o:?} {}", k.as_str()),
        (Scope::Object(_), o) => format!("{:?}", o.as_deref().unwrap_or("")),
    }
}

/// What to write instead, for a rule on an object's kind of memory that no object
/// has (issue 22: `object = "*"` with `kind = "heap"` matched nothing).
fn hint(rule: &Rule) -> String {
    match (rule.scope(), rule.kind) {
        (Scope::Object(_), Some(k)) if !k.is_of_object() => format!(
            " ({} is memory of no object: to limit all of it, write kind = \"{}\" without object)",
            k.as_str(),
            k.as_str()
        ),
        _ => String::new(),
    }
}

/// The results of every limit of `rule` on the row `m` of `unit`.
fn evaluate(
    rule: &Rule,
    unit: &Unit,
    m: &Measured,
    base: Option<&Index>,
    results: &mut Vec<Outcome>,
) {
    let outcome = |measure: Measure, limit_type, limit_text: String| Outcome {
        actual: measure.of(&m.figures),
        baseline: None,
        growth: None,
        kind: m.kind,
        limit: None,
        limit_text,
        limit_type,
        margin: None,
        measure,
        object: m.object.clone(),
        process: unit.process.clone(),
        rule_line: rule.line,
        status: Status::Unmeasured,
    };
    // The baseline's value of a measure (0 when it has no such row), for every
    // limit: growth limits compare with it, the others show it.
    let baseline = |measure: Measure| {
        base.map(|b| match b.baseline_of(m) {
            Some(f) => measure.of(f),
            None => Some(0),
        })
    };
    for &(measure, limit) in &rule.limits {
        let mut o = outcome(measure, LimitType::Max, format!("{limit} B"));
        o.limit = Some(limit);
        if let Some(was) = baseline(measure) {
            o.baseline = was;
            o.growth = o
                .actual
                .zip(was)
                .map(|(now, was)| signed(now) - signed(was));
        }
        if let Some(actual) = o.actual {
            o.margin = Some(signed(limit) - signed(actual));
            o.status = if actual > limit {
                Status::Fail
            } else {
                Status::Pass
            };
        }
        results.push(o);
    }
    let mut growth: Vec<(Measure, Growth)> = rule.growth.clone();
    if let Some(g) = rule.any_growth {
        for measure in ANY_GROWTH {
            let own = rule.growth.iter().any(|&(m, _)| m == measure);
            // `max_growth` limits the measures known on both sides; one unknown on
            // either is not a limit the rule asked for by name. (Without a baseline
            // every one is reported as not measurable.)
            let known = measure.of(&m.figures).is_some()
                && baseline(measure).is_none_or(|was| was.is_some());
            if !own && (known || base.is_none()) {
                growth.push((measure, g));
            }
        }
    }
    for (measure, g) in growth {
        let mut o = outcome(measure, LimitType::Growth, g.to_string());
        if let Some(was) = baseline(measure) {
            o.baseline = was;
            if let (Some(now), Some(was)) = (o.actual, was) {
                let allowed = g.allowed(was);
                let grew = signed(now) - signed(was);
                o.growth = Some(grew);
                o.limit = Some(allowed);
                o.margin = Some(signed(allowed) - grew);
                o.status = if grew > signed(allowed) {
                    Status::Fail
                } else {
                    Status::Pass
                };
            }
        }
        results.push(o);
    }
}

/// Bytes as a signed number, saturating (no memory figure comes near 2^63).
fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The violation of a failed result.
fn violation(r: &Outcome) -> Violation {
    let (actual, limit) = match r.limit_type {
        LimitType::Max => (r.actual.unwrap_or(0), r.limit.unwrap_or(0)),
        LimitType::Growth => (
            r.growth.map_or(0, |g| g.max(0).unsigned_abs()),
            r.limit.unwrap_or(0),
        ),
    };
    let over = actual.saturating_sub(limit);
    Violation {
        actual,
        baseline: r.baseline,
        kind: r.kind,
        limit,
        limit_type: r.limit_type,
        measure: r.measure,
        object: r.object.clone(),
        over,
        over_percent: (limit > 0).then(|| (over as f64 * 1000.0 / limit as f64).round() / 10.0),
        process: r.process.clone(),
        rule_line: r.rule_line,
    }
}

/// The rows of a summary's figures: (object, kind) rows of objects, each object's
/// total, each kind's total over objects and no object, and the target's total.
///
/// Of a process or a machine (`every_kind`), a kind it has no memory of has a row of
/// zeros: a report covers the whole address space, so none of it is that kind (`kind =
/// "thread_stack"` on a program without threads holds, and is not a rule that
/// matches nothing). Of ELF files, only the kinds of their layout have rows.
fn rows_of(
    rows: &[(Option<&str>, Option<Kind>, &Figures)],
    objects: &[(&str, &Figures)],
    totals: &Figures,
    every_kind: bool,
) -> Vec<Measured> {
    let mut out = Vec::with_capacity(rows.len() + objects.len() + Kind::ALL.len() + 1);
    let none = if every_kind {
        Some(Figures::zero())
    } else {
        None
    };
    let mut kinds: Vec<Option<Figures>> = vec![none; Kind::ALL.len()];
    for &(object, kind, figures) in rows {
        if let Some(k) = kind {
            let at = Kind::ALL.iter().position(|x| *x == k).unwrap_or(0);
            kinds[at].get_or_insert_with(Figures::zero).add(figures);
        }
        if let Some(o) = object {
            out.push(Measured {
                object: Some(o.to_string()),
                kind,
                figures: figures.clone(),
            });
        }
    }
    for &(o, figures) in objects {
        out.push(Measured {
            object: Some(o.to_string()),
            kind: None,
            figures: figures.clone(),
        });
    }
    for (k, f) in Kind::ALL.iter().zip(kinds) {
        if let Some(figures) = f {
            out.push(Measured {
                object: None,
                kind: Some(*k),
                figures,
            });
        }
    }
    out.push(Measured {
        object: None,
        kind: None,
        figures: totals.clone(),
    });
    out
}

/// The rows of a summary by object.
fn measure_summary(s: &Summary) -> Vec<Measured> {
    let rows: Vec<_> = s
        .rows
        .iter()
        .map(|r| (r.object.as_deref(), r.kind, &r.figures))
        .collect();
    let objects: Vec<_> = s
        .objects
        .iter()
        .filter_map(|r| Some((r.object.as_deref()?, &r.figures)))
        .collect();
    rows_of(&rows, &objects, &s.totals, true)
}

/// The rows of a `map` report: each (object, kind), each object's total, each kind's
/// total (objects' and no object's memory of it: `kind = "heap"` alone) and the
/// process's total, as `summary` sums them.
pub fn measure_report(report: &Report) -> Vec<Measured> {
    measure_summary(&summary::summarize(report, By::Object, SortBy::Size, None))
}

/// The rows of the whole machine: each object's kinds and total, summed over the
/// processes that map it (an object is its file's identity: two builds at one path
/// are two rows, each checked), each kind's total and the machine's.
pub fn measure_system(system: &crate::views::system::System) -> Vec<Measured> {
    let rows: Vec<_> = system
        .rows
        .iter()
        .map(|r| (r.object.as_deref(), r.kind, &r.figures))
        .collect();
    let objects: Vec<_> = system
        .objects
        .iter()
        .filter_map(|r| Some((r.object.as_deref()?, &r.figures)))
        .collect();
    rows_of(&rows, &objects, &system.totals, true)
}

/// The rows of ELF files' static layout: the bytes each kind takes once loaded, each
/// file's, each kind's over the files and all of them; only `size` is known. Files
/// whose memory could not be computed give no rows (and none at all: no total).
pub fn measure_layouts(layouts: &Layouts) -> Vec<Measured> {
    let figures = |size| Figures {
        size,
        ..Default::default()
    };
    let mut rows = Vec::new();
    let mut objects = Vec::new();
    let mut total = 0u64;
    for o in &layouts.files {
        let Some(mem) = &o.memory else { continue };
        for (kind, bytes) in mem.rows() {
            rows.push((o.path.as_str(), kind, figures(bytes)));
        }
        objects.push((o.path.as_str(), figures(mem.total)));
        total = total.saturating_add(mem.total);
    }
    if objects.is_empty() {
        return Vec::new();
    }
    let rows: Vec<_> = rows
        .iter()
        .map(|(o, k, f)| (Some(*o), Some(*k), f))
        .collect();
    let objects: Vec<_> = objects.iter().map(|(o, f)| (*o, f)).collect();
    rows_of(&rows, &objects, &figures(total), false)
}

/// The rows of a saved report (a baseline): a `map`, `summary`, `layout` or `system`
/// JSON report, as `diff` reads it.
pub fn measure_saved(saved: &Saved) -> Vec<Measured> {
    match saved {
        Saved::Map(r) => measure_report(r),
        Saved::Summary(s) => measure_summary(s),
        Saved::Layout(l) => measure_layouts(l),
        Saved::System(s) => measure_system(s),
    }
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

    fn row(object: Option<&str>, kind: Option<Kind>, size: u64, rss: Option<u64>) -> Measured {
        Measured {
            object: object.map(String::from),
            kind,
            figures: Figures {
                size,
                rss,
                ..Figures::default()
            },
        }
    }

    fn one(rows: Vec<Measured>) -> Vec<Unit> {
        vec![Unit {
            process: None,
            rows,
        }]
    }

    #[test]
    fn checks_rows_and_words_the_warnings() {
        let rules = parse(FILE).unwrap();
        let rows = vec![
            row(Some("/lib/libfoo.so.1"), Some(Kind::Text), 2 << 20, Some(0)),
            row(
                Some("/lib/libfoo.so.2"),
                Some(Kind::Text),
                (2 << 20) + 1,
                Some(0),
            ),
            row(Some("/usr/lib/x86_64-linux-gnu/libbar.so.1"), None, 1, None),
            row(None, None, 5 << 20, None),
        ];
        let out = check(&rules, &one(rows.clone()), None, "b.toml");
        assert_eq!(out.violations.len(), 1);
        assert_eq!(
            out.violations[0].object.as_deref(),
            Some("/lib/libfoo.so.2")
        );
        assert_eq!(out.violations[0].actual, (2 << 20) + 1);
        assert_eq!(
            (out.violations[0].over, out.violations[0].over_percent),
            (1, Some(0.0))
        );
        assert_eq!(
            out.counts,
            Counts {
                rules: 2,
                checked: 1,
                exceeded: 1,
                not_measurable: 1,
                unmatched: 0
            }
        );
        // Every limit on every matched row is a result, passed or not.
        let statuses: Vec<Status> = out.results.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Pass,
                Status::Fail,
                Status::Unmeasured,
                Status::Unmeasured
            ]
        );
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
        // Issue 18 §3: a limit that cannot be measured fails --strict.
        assert!(out.fails_strict());
        let out = check(
            &rules,
            &one(rows[..1].iter().cloned().chain([rows[3].clone()]).collect()),
            None,
            "b.toml",
        );
        assert_eq!(out.counts.unmatched, 1);
        assert_eq!(out.warnings[0].code, Code::BudgetUnmatched);
        assert_eq!(
            out.warnings[0].message,
            "b.toml:8: rule for \"/usr/lib/*/libbar.so.1\" matches nothing"
        );
        assert!(out.fails_strict());
        // JSON: the warnings as in `map --json`, with their code.
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(
            v["warnings"],
            serde_json::json!([{
                "code": "budget-unmatched",
                "object": null,
                "message": "b.toml:8: rule for \"/usr/lib/*/libbar.so.1\" matches nothing"
            }])
        );
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["results"][0]["status"], "pass");
        assert_eq!(v["results"][0]["margin"], 0);
        assert!(v.get("work").is_none());
    }

    /// Issue 9 §4: an empty budget file passed silently.
    #[test]
    fn an_empty_budget_file_is_a_warning() {
        let rules = parse("# nothing yet\n").unwrap();
        let out = check(&rules, &one(vec![row(None, None, 1, None)]), None, "b.toml");
        assert_eq!(out.counts.rules, 0);
        assert_eq!(out.warnings.len(), 1);
        assert_eq!(out.warnings[0].code, Code::BudgetEmpty);
        assert!(out.fails_strict());
    }

    /// Issue 22: an input with no memory says so, and fails --strict.
    #[test]
    fn an_empty_input_is_a_warning() {
        let rules = parse("[[budget]]\nmax_rss = 1\n").unwrap();
        let out = check(&rules, &one(vec![row(None, None, 0, Some(0))]), None, "b");
        assert_eq!(out.warnings[0].code, Code::InputEmpty);
        assert!(out.fails_strict());
        let out = check(&rules, &one(Vec::new()), None, "b");
        assert_eq!(out.warnings[0].code, Code::InputEmpty);
    }

    /// Issue 20: two objects of one file name in a baseline whose paths moved (a
    /// sysroot): each is compared with its own, the one sharing its last directories,
    /// not with the first of that file name.
    #[test]
    fn a_moved_baseline_matches_by_last_directories() {
        let rules =
            parse("[[budget]]\nobject = \"libc.so.6\"\nkind = \"text\"\nmax_size_growth = 0\n")
                .unwrap();
        let (x86, lib32) = ("/lib/x86_64-linux-gnu/libc.so.6", "/lib32/libc.so.6");
        let now = vec![
            row(Some(x86), Some(Kind::Text), 400, None),
            row(Some(lib32), Some(Kind::Text), 100, None),
        ];
        let base = vec![
            row(
                Some("/sysroot/lib32/libc.so.6"),
                Some(Kind::Text),
                100,
                None,
            ),
            row(
                Some("/sysroot/lib/x86_64-linux-gnu/libc.so.6"),
                Some(Kind::Text),
                400,
                None,
            ),
        ];
        let out = check(&rules, &one(now), Some(&base), "b");
        assert!(out.violations.is_empty(), "{:?}", out.violations);
    }

    /// Issue 22: the total, a kind of every object and no object, and growth.
    #[test]
    fn totals_kinds_and_growth() {
        let rules = parse(
            "max_growth = \"10%\"\n\
             [[budget]]\nmax_rss = 100\n\
             [[budget]]\nkind = \"heap\"\nmax_rss_growth = 8\n\
             [[budget]]\nobject = \"liba.so\"\nkind = \"text\"\nmax_size_growth = \"50%\"\n",
        )
        .unwrap();
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[0].scope(), Scope::Total);
        assert_eq!(rules[2].scope(), Scope::Kind(Kind::Heap));
        let now = vec![
            row(Some("/lib/liba.so"), Some(Kind::Text), 150, Some(10)),
            row(None, Some(Kind::Heap), 64, Some(40)),
            row(None, None, 400, Some(100)),
        ];
        let base = vec![
            row(Some("/usr/lib/liba.so"), Some(Kind::Text), 100, Some(10)),
            row(None, Some(Kind::Heap), 64, Some(32)),
            row(None, None, 360, Some(91)),
        ];
        let out = check(&rules, &one(now.clone()), Some(&base), "b");
        let fails: Vec<(usize, Measure, LimitType)> = out
            .violations
            .iter()
            .map(|v| (v.rule_line, v.measure, v.limit_type))
            .collect();
        // Size grew 40 (11%) and rss 9 (9.9%) of the total: size over 10%; the heap
        // grew 8 (at its limit); liba's text grew 50% (at its limit, by file name).
        assert_eq!(fails, [(1, Measure::Size, LimitType::Growth)]);
        assert_eq!(out.violations[0].actual, 40);
        assert_eq!(out.violations[0].limit, 36);
        assert_eq!(out.counts.checked, 4);
        // One more byte of heap fails its growth limit, and the total's max_rss.
        let mut more = now.clone();
        more[1].figures.rss = Some(41);
        more[2].figures.rss = Some(101);
        let out = check(&rules, &one(more), Some(&base), "b");
        // (Rules without an object or a kind are on the line of their table.)
        let lines: Vec<(usize, Measure)> = out
            .violations
            .iter()
            .map(|v| (v.rule_line, v.measure))
            .collect();
        assert_eq!(
            lines,
            [
                (1, Measure::Size),
                (1, Measure::Rss),
                (2, Measure::Rss),
                (5, Measure::Rss)
            ]
        );
        assert_eq!(out.counts.exceeded, 3);
        // Without a baseline: growth limits are not measurable, and say why.
        let out = check(&rules, &one(now), None, "b");
        assert_eq!(out.counts.not_measurable, 3);
        assert!(
            out.warnings
                .iter()
                .any(|w| w.code == Code::BudgetUnmeasured && w.message.contains("--baseline")),
            "{:?}",
            out.warnings
        );
    }

    /// A kind a process has no memory of is 0 bytes of it, not a rule that matches
    /// nothing; of ELF files, a kind their layout cannot have matches nothing.
    #[test]
    fn a_kind_without_memory_is_zero() {
        let rules = parse("[[budget]]\nkind = \"thread_stack\"\nmax_rss = 0\n").unwrap();
        let mut total = Figures::zero();
        total.size = 4096;
        let rows = rows_of(&[], &[], &total, true);
        let out = check(&rules, &one(rows), None, "b");
        assert_eq!(out.counts.checked, 1, "{:?}", out.warnings);
        assert_eq!(out.results[0].actual, Some(0));
        let rows = rows_of(&[], &[], &total, false);
        let out = check(&rules, &one(rows), None, "b");
        assert_eq!(out.counts.unmatched, 1);
    }

    /// Issue 22: `object = "*"` with `kind = "heap"` matched no object and the run
    /// said "1 budget checked": now it is not counted as checked, and says what to
    /// write; `kind = "heap"` alone limits the heap.
    #[test]
    fn the_heap_of_every_object_says_what_to_write() {
        let rows = vec![
            row(Some("/lib/liba.so"), Some(Kind::Text), 4096, Some(4096)),
            row(None, Some(Kind::Heap), 8192, Some(8192)),
            row(None, None, 12288, Some(12288)),
        ];
        let star = parse("[[budget]]\nobject = \"*\"\nkind = \"heap\"\nmax_rss = 1\n").unwrap();
        let out = check(&star, &one(rows.clone()), None, "b");
        assert_eq!((out.counts.checked, out.counts.unmatched), (0, 1));
        assert!(
            out.warnings[0]
                .message
                .ends_with("write kind = \"heap\" without object)"),
            "{}",
            out.warnings[0].message
        );
        let heap = parse("[[budget]]\nkind = \"heap\"\nmax_rss = 1\n").unwrap();
        let out = check(&heap, &one(rows), None, "b");
        assert_eq!(out.violations[0].actual, 8192);
    }

    /// Issue 22: processes of one name, each checked, or their sum.
    #[test]
    fn several_processes_each_or_summed() {
        let rules =
            parse("[[budget]]\nmax_rss = 100\n[[budget]]\nmax_rss = 150\nprocesses = \"sum\"\n")
                .unwrap();
        let units: Vec<Unit> = [80, 90]
            .into_iter()
            .enumerate()
            .map(|(i, rss)| Unit {
                process: Some(format!("{i} (app)")),
                rows: vec![row(None, None, 1000, Some(rss))],
            })
            .collect();
        let out = check(&rules, &units, None, "b");
        assert_eq!(out.results.len(), 3);
        assert_eq!(out.violations.len(), 1);
        assert_eq!(out.violations[0].actual, 170);
        assert_eq!(
            out.violations[0].process.as_deref(),
            Some("sum of 2 processes")
        );
    }

    /// Issue 19 §10: 100k rules took 106 s, the work growing with rules times the
    /// file (each rule's line counted from the start) and rules times rows. Now
    /// parsing indexes the lines once and literal globs are looked up: the work is
    /// bounded by the rules plus the rows, counted, not timed.
    #[test]
    fn many_rules_cost_rules_plus_rows() {
        let n = 20_000;
        let mut file = String::new();
        for i in 0..n {
            file.push_str(&format!(
                "[[budget]]\nobject = \"lib{i}.so\"\nkind = \"text\"\nmax_size = 4096\n"
            ));
        }
        let rules = parse(&file).unwrap();
        assert_eq!(rules.len(), n);
        assert_eq!(rules[n - 1].line, 4 * (n - 1) + 2);
        let rows: Vec<Measured> = (0..n)
            .map(|i| {
                row(
                    Some(&format!("/lib/lib{i}.so")),
                    Some(Kind::Text),
                    4096,
                    Some(0),
                )
            })
            .chain([row(None, None, 1, Some(0))])
            .collect();
        let out = check(&rules, &one(rows), None, "b");
        assert_eq!(out.counts.checked, n);
        // Each rule looks up its one row: 2 per rule, not n per rule.
        assert!(out.work <= 2 * n, "work {}", out.work);
    }
}

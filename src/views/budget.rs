//! `elfmaps check`: memory budgets per object and kind, for CI.
//!
//! The budget file is TOML, one `[[budget]]` table per rule (docs/budgets.md). Parsing
//! takes the text and does no I/O; every error names the line. Checking is pure: it
//! takes measured rows (from a `map` report via [`crate::views::summary`], or from ELF files'
//! static layout) and returns the violations.

use serde::Deserialize;
use toml::Spanned;

use crate::label::Kind;
use crate::report::Figures;

/// A measure a rule can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Size,
    Rss,
    Pss,
    PrivateDirty,
    Swap,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Size => "size",
            Measure::Rss => "rss",
            Measure::Pss => "pss",
            Measure::PrivateDirty => "private_dirty",
            Measure::Swap => "swap",
        }
    }

    fn of(self, f: &Figures) -> Option<u64> {
        match self {
            Measure::Size => Some(f.size),
            Measure::Rss => f.rss,
            Measure::Pss => f.pss,
            Measure::PrivateDirty => f.private_dirty,
            Measure::Swap => f.swap,
        }
    }
}

/// One budget rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based line of the rule's `object` key in the budget file.
    pub line: usize,
    /// The glob as written.
    pub object: String,
    pattern: glob::Pattern,
    /// The glob has a `/`: it matches the full path, else the file name.
    full_path: bool,
    pub kind: Option<Kind>,
    pub limits: Vec<(Measure, u64)>,
}

impl Rule {
    /// Whether the rule's glob matches the object at `path` (a maps path).
    pub fn matches(&self, path: &str) -> bool {
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        if self.full_path {
            self.pattern.matches(path)
        } else {
            self.pattern
                .matches(path.rsplit('/').next().unwrap_or(path))
        }
    }
}

/// A malformed budget file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for BudgetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    budget: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    object: Spanned<String>,
    kind: Option<Spanned<String>>,
    max_size: Option<Spanned<Amount>>,
    max_rss: Option<Spanned<Amount>>,
    max_pss: Option<Spanned<Amount>>,
    max_private_dirty: Option<Spanned<Amount>>,
    max_swap: Option<Spanned<Amount>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Amount {
    Int(i64),
    Text(String),
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses a size: a number of bytes, or a string with a unit: `B`, `KiB`, `MiB`,
/// `GiB` (powers of 1024) or `kB`, `MB`, `GB` (powers of 1000), e.g. `"1.5 MiB"`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = (&s[..split], s[split..].trim());
    let mult: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" | "KB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {s:?} (use B, KiB, MiB, GiB, kB, MB or GB)"
            ));
        }
    };
    let bad = || format!("{s:?} is not a size");
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    let whole: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut value = whole.checked_mul(mult).ok_or_else(bad)?;
    if !frac.is_empty() {
        let digits: u32 = frac.len().try_into().map_err(|_| bad())?;
        let f: u64 = frac.parse().map_err(|_| bad())?;
        let scale = 10u128.checked_pow(digits).ok_or_else(bad)?;
        let part = (u128::from(f) * u128::from(mult)) / scale;
        value = value.checked_add(part as u64).ok_or_else(bad)?;
    }
    Ok(value)
}

/// Parses a budget file.
pub fn parse(text: &str) -> Result<Vec<Rule>, BudgetError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| BudgetError {
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().to_string(),
    })?;
    let mut rules = Vec::new();
    for r in raw.budget {
        let line = line_of(text, r.object.span().start);
        let err = |span: std::ops::Range<usize>, message: String| BudgetError {
            line: line_of(text, span.start),
            message,
        };
        let object = r.object.get_ref().clone();
        let pattern = glob::Pattern::new(&object)
            .map_err(|e| err(r.object.span(), format!("bad glob {object:?}: {e}")))?;
        let kind = match &r.kind {
            None => None,
            Some(k) => Some(
                Kind::ALL
                    .into_iter()
                    .find(|x| x.as_str() == k.get_ref())
                    .ok_or_else(|| err(k.span(), format!("unknown kind {:?}", k.get_ref())))?,
            ),
        };
        let mut limits = Vec::new();
        for (measure, amount) in [
            (Measure::Size, &r.max_size),
            (Measure::Rss, &r.max_rss),
            (Measure::Pss, &r.max_pss),
            (Measure::PrivateDirty, &r.max_private_dirty),
            (Measure::Swap, &r.max_swap),
        ] {
            let Some(a) = amount else { continue };
            let bytes = match a.get_ref() {
                Amount::Int(n) => {
                    u64::try_from(*n).map_err(|_| err(a.span(), format!("negative limit {n}")))?
                }
                Amount::Text(s) => parse_size(s).map_err(|m| err(a.span(), m))?,
            };
            limits.push((measure, bytes));
        }
        if limits.is_empty() {
            return Err(BudgetError {
                line,
                message: "a rule needs at least one of max_size, max_rss, max_pss, max_private_dirty, max_swap".into(),
            });
        }
        rules.push(Rule {
            line,
            full_path: object.contains('/'),
            object,
            pattern,
            kind,
            limits,
        });
    }
    Ok(rules)
}

/// A measured (object, kind) or object total (`kind: None`).
#[derive(Debug, Clone)]
pub struct Measured {
    pub object: String,
    pub kind: Option<Kind>,
    pub figures: Figures,
}

/// A rule exceeded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Line of the rule in the budget file.
    pub rule_line: usize,
    pub object: String,
    pub kind: Option<Kind>,
    pub measure: Measure,
    pub actual: u64,
    pub limit: u64,
}

/// The outcome of checking rules.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub violations: Vec<Violation>,
    /// Rules that matched no object (by index into the rules).
    pub unmatched: Vec<usize>,
    /// (rule index, object, measure) that could not be measured (null figure).
    pub unmeasured: Vec<(usize, String, Measure)>,
}

/// Checks `rules` against `measured` rows.
pub fn check(rules: &[Rule], measured: &[Measured]) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2 MiB"), Ok(2 << 20));
        assert_eq!(parse_size("1.5MiB"), Ok(3 << 19));
        assert_eq!(parse_size("10 kB"), Ok(10_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("7 B"), Ok(7));
        assert!(parse_size("2 MB!").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999 GiB").is_err());
        assert!(parse_size("1 mib").is_err());
    }

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
    fn parses_and_checks() {
        let rules = parse(FILE).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].line, 3);
        assert_eq!(rules[1].line, 8);
        assert!(rules[0].matches("/lib/libfoo.so.1 (deleted)"));
        assert!(!rules[1].matches("/lib/libbar.so.1"));
        assert!(rules[1].matches("/usr/lib/x86_64-linux-gnu/libbar.so.1"));
        let rows = vec![
            row("/lib/libfoo.so.1", Some(Kind::Text), 2 << 20, Some(0)),
            row("/lib/libfoo.so.2", Some(Kind::Text), (2 << 20) + 1, Some(0)),
            row("/usr/lib/x86_64-linux-gnu/libbar.so.1", None, 1, None),
        ];
        let out = check(&rules, &rows);
        assert_eq!(out.violations.len(), 1);
        assert_eq!(out.violations[0].object, "/lib/libfoo.so.2");
        assert_eq!(out.violations[0].actual, (2 << 20) + 1);
        assert_eq!(out.unmeasured.len(), 2);
        assert!(out.unmatched.is_empty());
        let out = check(&rules, &rows[..1]);
        assert_eq!(out.unmatched, vec![1]);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("[[budget]]\nobject = \"x\"\nmax_size = \"2 XB\"\n", 3),
            (
                "[[budget]]\nobject = \"x\"\nkind = \"texts\"\nmax_rss = 1\n",
                3,
            ),
            ("[[budget]]\nobject = \"x\"\nmax_rsss = 1\n", 3),
            ("[[budget]]\nobject = \"x\"\n", 2),
            ("\n\n[[budget]\n", 3),
            ("[[budget]]\nobject = \"[\"\nmax_rss = 1\n", 2),
            ("[[budget]]\nobject = \"x\"\nmax_rss = -1\n", 3),
        ];
        for (text, line) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }
}

//! The budget file of `elfmaps check`: TOML, one `[[budget]]` table per rule
//! (docs/budgets.md). Parsing takes the bytes and does no I/O; every error names the
//! line. Checking the rules against a process or files is [`crate::views::budget`].

use serde::Deserialize;
use toml::Spanned;

use crate::vocab::names::ObjectGlob;
use crate::vocab::{Figures, Kind};

/// A measure a rule can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Virtual size.
    Size,
    /// Resident set size.
    Rss,
    /// Proportional set size.
    Pss,
    /// Private dirty bytes.
    PrivateDirty,
    /// Swapped-out bytes.
    Swap,
}

impl Measure {
    /// The measure as the budget file and JSON spell it (without `max_`).
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Size => "size",
            Measure::Rss => "rss",
            Measure::Pss => "pss",
            Measure::PrivateDirty => "private_dirty",
            Measure::Swap => "swap",
        }
    }

    /// This measure of `f`; `None` when unknown.
    pub fn of(self, f: &Figures) -> Option<u64> {
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
    pattern: ObjectGlob,
    /// The kind the rule limits; `None` for the whole object.
    pub kind: Option<Kind>,
    /// The limits, in bytes, in the order the file's keys are listed in docs/budgets.md.
    pub limits: Vec<(Measure, u64)>,
}

impl Rule {
    /// Whether the rule's glob matches the object at `path` (a maps path; the
    /// kernel's ` (deleted)` suffix is ignored).
    pub fn matches(&self, path: &str) -> bool {
        self.pattern.matches(path)
    }
}

/// A malformed budget file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetError {
    /// 1-based line of the error.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for BudgetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for BudgetError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    budget: RawRules,
}

/// The `[[budget]]` tables: an array of tables. A single `[budget]` table (the
/// usual slip) is an error that says what to write instead of serde's
/// "invalid type: map, expected a sequence".
#[derive(Default)]
struct RawRules(Vec<RawRule>);

/// The error of a `[budget]` table where `[[budget]]` tables were expected.
const SINGLE_TABLE: &str = "`[budget]` is a single table: write each rule as a `[[budget]]` table (double brackets, one per rule)";

impl<'de> Deserialize<'de> for RawRules {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawRules;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`[[budget]]` tables, one per rule")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawRules, A::Error> {
                let mut rules = Vec::new();
                while let Some(r) = seq.next_element()? {
                    rules.push(r);
                }
                Ok(RawRules(rules))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<RawRules, A::Error> {
                Err(serde::de::Error::custom(SINGLE_TABLE))
            }
        }
        d.deserialize_seq(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a `[[budget]]` table: object = \"GLOB\" and at least one max_... limit"
)]
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

fn line_of(text: &[u8], offset: usize) -> usize {
    text[..offset.min(text.len())]
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
        let part = u64::try_from((u128::from(f) * u128::from(mult)) / scale).map_err(|_| bad())?;
        value = value.checked_add(part).ok_or_else(bad)?;
    }
    Ok(value)
}

/// Parses a budget file given as bytes: text that is not UTF-8 is an error naming the
/// line of the first bad byte.
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<Rule>, BudgetError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => Err(BudgetError {
            line: line_of(bytes, e.valid_up_to()),
            message: "not UTF-8".into(),
        }),
    }
}

/// Parses a budget file.
pub fn parse(text: &str) -> Result<Vec<Rule>, BudgetError> {
    let bytes = text.as_bytes();
    let raw: RawFile = toml::from_str(text).map_err(|e| BudgetError {
        line: e.span().map_or(1, |s| line_of(bytes, s.start)),
        message: e.message().to_string(),
    })?;
    let mut rules = Vec::new();
    for r in raw.budget.0 {
        let line = line_of(bytes, r.object.span().start);
        let err = |span: std::ops::Range<usize>, message: String| BudgetError {
            line: line_of(bytes, span.start),
            message,
        };
        let object = r.object.get_ref().clone();
        let pattern = ObjectGlob::new(&object).map_err(|e| err(r.object.span(), e))?;
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
            object,
            pattern,
            kind,
            limits,
        });
    }
    Ok(rules)
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

    #[test]
    fn globs_match_file_names_or_full_paths() {
        let rules = parse(
            "[[budget]]\nobject = \"libfoo.so*\"\nkind = \"text\"\nmax_size = \"2 MiB\"\n\n\
             [[budget]]\nobject = \"/usr/lib/*/libbar.so.1\"\nmax_rss = 1048576\nmax_pss = \"1 MiB\"\n",
        )
        .unwrap();
        assert_eq!((rules[0].line, rules[1].line), (2, 7));
        assert_eq!(rules[0].kind, Some(Kind::Text));
        assert_eq!(
            rules[1].limits,
            [(Measure::Rss, 1 << 20), (Measure::Pss, 1 << 20)]
        );
        assert!(rules[0].matches("/lib/libfoo.so.1 (deleted)"));
        assert!(!rules[1].matches("/lib/libbar.so.1"));
        assert!(rules[1].matches("/usr/lib/x86_64-linux-gnu/libbar.so.1"));
        assert!(rules[1].matches("/usr/lib/x86_64-linux-gnu/libbar.so.1 (deleted)"));
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
        let e = parse_bytes(b"[[budget]]\nobject = \"\xff\"\n").unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (2, "not UTF-8"));
    }

    /// Issue 9 §4: `[budget]` instead of `[[budget]]` gave serde's "invalid type:
    /// map, expected a sequence".
    #[test]
    fn a_single_budget_table_says_what_to_write() {
        let e = parse("# rules\n[budget]\nobject = \"x\"\nmax_size = 1\n").unwrap_err();
        assert_eq!(e.message, SINGLE_TABLE);
        assert_eq!(e.line, 2, "{e}");
        let e = parse("budget = [1]\n").unwrap_err();
        assert!(e.message.contains("a `[[budget]]` table"), "{e}");
        let e = parse("budget = 3\n").unwrap_err();
        assert!(e.message.contains("`[[budget]]` tables"), "{e}");
        // No rules at all is not an error here (`check` warns: budget-empty).
        assert!(parse("").unwrap().is_empty());
    }
}

//! The budget file of `elfmaps check`: TOML, one `[[budget]]` table per rule
//! (docs/budgets.md). Parsing takes the bytes and does no I/O; every error names the
//! line. Checking the rules against a process or files is [`crate::views::budget`].
//!
//! A rule limits one scope ([`Scope`]): the whole target (neither `object` nor
//! `kind`), all memory of one kind (`kind` alone: objects' and no object's), or each
//! object a glob matches (`object`, with an optional `kind`). Its limits are absolute
//! (`max_rss`, ...) or growth against a baseline (`max_rss_growth`, ...,
//! [`Growth`]: bytes or a percentage). Parsing is linear in the file: lines are found
//! through one index of the newlines (`Lines`), not by counting from the start for
//! each rule (issue 19 §10: 100k rules took 106 s).

use serde::Deserialize;
use toml::Spanned;

use crate::vocab::matching::ObjectGlob;
use crate::vocab::{Figures, Kind};

/// A measure a rule can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Virtual size.
    Size,
    /// Resident set size.
    Rss,
    /// Proportional set size.
    Pss,
    /// Unique set size: private clean + private dirty.
    Uss,
    /// Private dirty bytes.
    PrivateDirty,
    /// Swapped-out bytes.
    Swap,
}

impl Measure {
    /// Every measure, in the order the budget file's keys are listed in docs/budgets.md.
    pub const ALL: [Measure; 6] = [
        Measure::Size,
        Measure::Rss,
        Measure::Pss,
        Measure::Uss,
        Measure::PrivateDirty,
        Measure::Swap,
    ];

    /// The measure as the budget file and JSON spell it (without `max_`).
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Size => "size",
            Measure::Rss => "rss",
            Measure::Pss => "pss",
            Measure::Uss => "uss",
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
            Measure::Uss => f.private_clean?.checked_add(f.private_dirty?),
            Measure::PrivateDirty => f.private_dirty,
            Measure::Swap => f.swap,
        }
    }
}

/// A limit on growth against a baseline: bytes, or a share of the baseline's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// At most this many bytes more than the baseline.
    Bytes(u64),
    /// At most this share of the baseline more, in millionths (`"5%"`: 50 000).
    Ppm(u64),
}

impl Growth {
    /// The growth allowed from `baseline`, in bytes (a share rounds down; a share of
    /// 0 bytes is 0: anything new is growth).
    pub fn allowed(self, baseline: u64) -> u64 {
        match self {
            Growth::Bytes(b) => b,
            Growth::Ppm(ppm) => u64::try_from(u128::from(baseline) * u128::from(ppm) / 1_000_000)
                .unwrap_or(u64::MAX),
        }
    }
}

impl std::fmt::Display for Growth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Growth::Bytes(b) => write!(f, "{b} B"),
            Growth::Ppm(ppm) => {
                let (whole, frac) = (ppm / 10_000, ppm % 10_000);
                if frac == 0 {
                    write!(f, "{whole}%")
                } else {
                    let frac = format!("{frac:04}");
                    write!(f, "{whole}.{}%", frac.trim_end_matches('0'))
                }
            }
        }
    }
}

/// What a rule limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole target: a process's total (all its memory), or the sum of the files.
    Total,
    /// All memory of one kind: every object's and no object's (heap, stack, anon...).
    Kind(Kind),
    /// Each object the glob matches: one kind of it, or the whole object (`None`).
    Object(Option<Kind>),
}

/// How a rule treats a target of several processes (`check NAME` that names several).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Processes {
    /// Each process is checked against the limits.
    #[default]
    Each,
    /// Their sum is.
    Sum,
}

/// One budget rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based line of the rule: of its `object` key, else of its `kind`, else of the
    /// table (for the file's top-level `max_growth`, the key's line).
    pub line: usize,
    /// The glob as written; `None` for a rule on the total or on a kind.
    pub object: Option<String>,
    pattern: Option<ObjectGlob>,
    /// Whether the glob has no wildcard: it names one file name (or path).
    literal: bool,
    /// The kind the rule limits; `None` for the whole object or target.
    pub kind: Option<Kind>,
    /// The absolute limits, in bytes, in the order of [`Measure::ALL`].
    pub limits: Vec<(Measure, u64)>,
    /// The growth limits, in the order of [`Measure::ALL`].
    pub growth: Vec<(Measure, Growth)>,
    /// `max_growth`: a growth limit on every measure known on both sides that has no
    /// growth limit of its own.
    pub any_growth: Option<Growth>,
    /// Each process, or their sum.
    pub processes: Processes,
}

impl Rule {
    /// What the rule limits.
    pub fn scope(&self) -> Scope {
        match (&self.object, self.kind) {
            (None, None) => Scope::Total,
            (None, Some(k)) => Scope::Kind(k),
            (Some(_), k) => Scope::Object(k),
        }
    }

    /// Whether the rule's glob matches the object at `path` (a maps path; the
    /// kernel's ` (deleted)` suffix is ignored). A rule without a glob matches none.
    pub fn matches(&self, path: &str) -> bool {
        self.pattern.as_ref().is_some_and(|p| p.matches(path))
    }

    /// The glob, when it has no wildcard (`*`, `?`, `[`): then it matches exactly one
    /// file name (or, with a `/`, one path), and a checker can look it up instead of
    /// matching it against every object.
    pub fn literal(&self) -> Option<&str> {
        self.object.as_deref().filter(|_| self.literal)
    }
}

/// A malformed budget file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// A growth limit on the whole target (every measure known on both sides).
    max_growth: Option<Spanned<Amount>>,
    #[serde(default)]
    budget: RawRules,
}

/// The `[[budget]]` tables: an array of tables. A single `[budget]` table (the
/// usual slip) is an error that says what to write instead of serde's
/// "invalid type: map, expected a sequence".
#[derive(Default)]
struct RawRules(Vec<Spanned<RawRule>>);

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
    expecting = "a `[[budget]]` table: an optional object = \"GLOB\" and kind, and at least one max_... limit"
)]
struct RawRule {
    object: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    processes: Option<Spanned<String>>,
    max_size: Option<Spanned<Amount>>,
    max_rss: Option<Spanned<Amount>>,
    max_pss: Option<Spanned<Amount>>,
    max_uss: Option<Spanned<Amount>>,
    max_private_dirty: Option<Spanned<Amount>>,
    max_swap: Option<Spanned<Amount>>,
    max_growth: Option<Spanned<Amount>>,
    max_size_growth: Option<Spanned<Amount>>,
    max_rss_growth: Option<Spanned<Amount>>,
    max_pss_growth: Option<Spanned<Amount>>,
    max_uss_growth: Option<Spanned<Amount>>,
    max_private_dirty_growth: Option<Spanned<Amount>>,
    max_swap_growth: Option<Spanned<Amount>>,
}

impl RawRule {
    /// The absolute limits' keys, in the order of [`Measure::ALL`].
    fn limits(&self) -> [&Option<Spanned<Amount>>; 6] {
        [
            &self.max_size,
            &self.max_rss,
            &self.max_pss,
            &self.max_uss,
            &self.max_private_dirty,
            &self.max_swap,
        ]
    }

    /// The growth limits' keys, in the order of [`Measure::ALL`].
    fn growth(&self) -> [&Option<Spanned<Amount>>; 6] {
        [
            &self.max_size_growth,
            &self.max_rss_growth,
            &self.max_pss_growth,
            &self.max_uss_growth,
            &self.max_private_dirty_growth,
            &self.max_swap_growth,
        ]
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Amount {
    Int(i64),
    Text(String),
}

/// The lines of a text: the offset of each newline, found once, so that the line
/// of an offset is a binary search (the file's size once, then log n per lookup).
struct Lines {
    newlines: Vec<usize>,
}

impl Lines {
    fn new(text: &[u8]) -> Lines {
        #[cfg(test)]
        WORK.with(|w| w.set(w.get() + text.len()));
        Lines {
            newlines: memchr::memchr_iter(b'\n', text).collect(),
        }
    }

    /// The 1-based line of byte `offset`.
    fn of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| {
            #[cfg(test)]
            WORK.with(|w| w.set(w.get() + 1));
            n < offset
        }) + 1
    }
}

#[cfg(test)]
thread_local! {
    /// Bytes scanned and newlines compared while finding lines: the work a test bounds.
    static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Why a size or a growth limit does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AmountError {
    /// A unit that is none of `B`, `KiB`, `MiB`, `GiB`, `kB`, `MB`, `GB`.
    UnknownUnit {
        /// The unit given.
        unit: String,
        /// The whole size given.
        text: String,
    },
    /// Not a number (or one that overflows 64 bits of bytes).
    NotASize(String),
    /// A percentage that is not a number (or overflows).
    NotAPercentage(String),
}

impl std::fmt::Display for AmountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AmountError::UnknownUnit { unit, text } => write!(
                f,
                "unknown unit {unit:?} in {text:?} (use B, KiB, MiB, GiB, kB, MB or GB)"
            ),
            AmountError::NotASize(text) => write!(f, "{text:?} is not a size"),
            AmountError::NotAPercentage(text) => write!(f, "{text:?} is not a percentage"),
        }
    }
}

impl std::error::Error for AmountError {}

/// Parses a size: a number of bytes, or a string with a unit: `B`, `KiB`, `MiB`,
/// `GiB` (powers of 1024) or `kB`, `MB`, `GB` (powers of 1000), e.g. `"1.5 MiB"`.
pub fn parse_size(s: &str) -> Result<u64, AmountError> {
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
            return Err(AmountError::UnknownUnit {
                unit: unit.to_string(),
                text: s.to_string(),
            });
        }
    };
    scaled(num, mult).ok_or_else(|| AmountError::NotASize(s.to_string()))
}

/// `num` (digits, with an optional decimal part) times `mult`, rounded down; `None`
/// when it is not a number or overflows.
fn scaled(num: &str, mult: u64) -> Option<u64> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut value = whole.checked_mul(mult)?;
    if !frac.is_empty() {
        let digits: u32 = frac.len().try_into().ok()?;
        let f: u64 = frac.parse().ok()?;
        let scale = 10u128.checked_pow(digits)?;
        let part = u64::try_from((u128::from(f) * u128::from(mult)) / scale).ok()?;
        value = value.checked_add(part)?;
    }
    Some(value)
}

/// Parses a growth limit: a size as [`parse_size`] takes it, or a percentage of the
/// baseline (`"5%"`, `"2.5 %"`; at most 6 decimals of a percent... of which 4 count).
pub fn parse_growth(s: &str) -> Result<Growth, AmountError> {
    let t = s.trim();
    match t.strip_suffix('%') {
        Some(num) => scaled(num.trim(), 10_000)
            .map(Growth::Ppm)
            .ok_or_else(|| AmountError::NotAPercentage(t.to_string())),
        None => parse_size(t).map(Growth::Bytes),
    }
}

/// Parses a budget file given as bytes: text that is not UTF-8 is an error naming the
/// line of the first bad byte.
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<Rule>, BudgetError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => Err(BudgetError {
            line: Lines::new(bytes).of(e.valid_up_to()),
            message: "not UTF-8".into(),
        }),
    }
}

/// The bytes of an amount (`max_...`), or the error naming its line.
fn bytes_of(a: &Spanned<Amount>, lines: &Lines) -> Result<u64, BudgetError> {
    let err = |message| BudgetError {
        line: lines.of(a.span().start),
        message,
    };
    match a.get_ref() {
        Amount::Int(n) => u64::try_from(*n).map_err(|_| err(format!("negative limit {n}"))),
        Amount::Text(s) => parse_size(s).map_err(|e| err(e.to_string())),
    }
}

/// The growth of an amount (`max_..._growth`): bytes, or a percentage.
fn growth_of(a: &Spanned<Amount>, lines: &Lines) -> Result<Growth, BudgetError> {
    let err = |message| BudgetError {
        line: lines.of(a.span().start),
        message,
    };
    match a.get_ref() {
        Amount::Int(n) => u64::try_from(*n)
            .map(Growth::Bytes)
            .map_err(|_| err(format!("negative limit {n}"))),
        Amount::Text(s) => parse_growth(s).map_err(|e| err(e.to_string())),
    }
}

/// Parses a budget file.
pub fn parse(text: &str) -> Result<Vec<Rule>, BudgetError> {
    let bytes = text.as_bytes();
    let lines = Lines::new(bytes);
    let raw: RawFile = toml::from_str(text).map_err(|e| BudgetError {
        line: e.span().map_or(1, |s| lines.of(s.start)),
        message: e.message().to_string(),
    })?;
    let mut rules = Vec::with_capacity(raw.budget.0.len() + 1);
    if let Some(g) = &raw.max_growth {
        rules.push(Rule {
            line: lines.of(g.span().start),
            object: None,
            pattern: None,
            literal: false,
            kind: None,
            limits: Vec::new(),
            growth: Vec::new(),
            any_growth: Some(growth_of(g, &lines)?),
            processes: Processes::Each,
        });
    }
    for spanned in raw.budget.0 {
        let table = spanned.span().start;
        let r = spanned.into_inner();
        // The line of its first key that says what it limits, as `check` has always
        // named it (the object's, else the kind's), else of the table.
        let line = lines.of(r
            .object
            .as_ref()
            .map(|o| o.span().start)
            .or_else(|| r.kind.as_ref().map(|k| k.span().start))
            .unwrap_or(table));
        let err = |span: std::ops::Range<usize>, message: String| BudgetError {
            line: lines.of(span.start),
            message,
        };
        let (object, pattern, literal) = match &r.object {
            None => (None, None, false),
            Some(o) => {
                let glob = o.get_ref().clone();
                let pattern = ObjectGlob::new(&glob).map_err(|e| err(o.span(), e.to_string()))?;
                let literal = !glob.contains(['*', '?', '[']);
                (Some(glob), Some(pattern), literal)
            }
        };
        let kind = match &r.kind {
            None => None,
            Some(k) => Some(
                Kind::ALL
                    .into_iter()
                    .find(|x| x.as_str() == k.get_ref())
                    .ok_or_else(|| err(k.span(), format!("unknown kind {:?}", k.get_ref())))?,
            ),
        };
        let processes = match &r.processes {
            None => Processes::Each,
            Some(p) => match p.get_ref().as_str() {
                "each" => Processes::Each,
                "sum" => Processes::Sum,
                other => {
                    return Err(err(
                        p.span(),
                        format!("processes = {other:?}: write \"each\" or \"sum\""),
                    ));
                }
            },
        };
        let mut limits = Vec::new();
        for (measure, amount) in Measure::ALL.into_iter().zip(r.limits()) {
            if let Some(a) = amount {
                limits.push((measure, bytes_of(a, &lines)?));
            }
        }
        let mut growth = Vec::new();
        for (measure, amount) in Measure::ALL.into_iter().zip(r.growth()) {
            if let Some(a) = amount {
                growth.push((measure, growth_of(a, &lines)?));
            }
        }
        let any_growth = r
            .max_growth
            .as_ref()
            .map(|a| growth_of(a, &lines))
            .transpose()?;
        if limits.is_empty() && growth.is_empty() && any_growth.is_none() {
            return Err(BudgetError {
                line,
                message: "a rule needs at least one limit: max_size, max_rss, max_pss, max_uss, max_private_dirty, max_swap, or a growth limit (max_growth, max_rss_growth, ...)".into(),
            });
        }
        rules.push(Rule {
            line,
            object,
            pattern,
            literal,
            kind,
            limits,
            growth,
            any_growth,
            processes,
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
        assert!(parse_size("1.x MiB").is_err());
    }

    #[test]
    fn growth_limits() {
        assert_eq!(parse_growth("5%"), Ok(Growth::Ppm(50_000)));
        assert_eq!(parse_growth(" 2.5 %"), Ok(Growth::Ppm(25_000)));
        assert_eq!(parse_growth("2 MiB"), Ok(Growth::Bytes(2 << 20)));
        assert!(parse_growth("-5%").is_err());
        assert!(parse_growth("%").is_err());
        assert!(parse_growth("99999999999999999999%").is_err());
        assert_eq!(Growth::Ppm(50_000).to_string(), "5%");
        assert_eq!(Growth::Ppm(125_000).to_string(), "12.5%");
        assert_eq!(Growth::Ppm(50_000).allowed(1000), 50);
        assert_eq!(Growth::Ppm(50_000).allowed(0), 0);
        assert_eq!(Growth::Bytes(7).allowed(0), 7);
        let rules = parse(
            "max_growth = \"1%\"\n[[budget]]\nkind = \"heap\"\nmax_uss = 1\nmax_rss_growth = 4096\nprocesses = \"sum\"\n",
        )
        .unwrap();
        assert_eq!(rules[0].any_growth, Some(Growth::Ppm(10_000)));
        assert_eq!((rules[0].line, rules[0].scope()), (1, Scope::Total));
        assert_eq!(rules[1].scope(), Scope::Kind(Kind::Heap));
        assert_eq!(rules[1].limits, [(Measure::Uss, 1)]);
        assert_eq!(rules[1].growth, [(Measure::Rss, Growth::Bytes(4096))]);
        assert_eq!(rules[1].processes, Processes::Sum);
        assert_eq!(rules[1].line, 3);
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
            ("[[budget]]\nkind = \"heap\"\n", 2),
            ("[[budget]]\nmax_rss = 1\nprocesses = \"all\"\n", 3),
            ("[[budget]]\nmax_rss_growth = \"5 percent\"\n", 2),
            ("max_growth = \"x\"\n", 1),
        ];
        for (text, line) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
        let e = parse_bytes(b"[[budget]]\nobject = \"\xff\"\n").unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (2, "not UTF-8"));
    }

    /// Issue 19 §10: a budget file with 100k rules took 106 s, each rule's line
    /// counted from the start of the file. Now the lines are indexed once: the work
    /// is the file's size plus a binary search per key, counted here, not timed.
    #[test]
    fn lines_cost_the_file_once() {
        let n = 20_000;
        let text =
            "[[budget]]\nobject = \"lib.so\"\nmax_size = 1\nmax_rss_growth = \"5%\"\n".repeat(n);
        WORK.with(|w| w.set(0));
        let rules = parse(&text).unwrap();
        let work = WORK.with(|w| w.get());
        assert_eq!(rules.len(), n);
        assert_eq!(rules[n - 1].line, 4 * (n - 1) + 2);
        // The file once, then about log2(4n) = 17 comparisons for each rule's line.
        assert!(
            work <= text.len() + n * 20,
            "work {work} for {} bytes",
            text.len()
        );
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

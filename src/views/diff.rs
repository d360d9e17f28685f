//! `elfmaps diff OLD NEW`: what changed between two saved JSON reports of `map`,
//! `summary`, `layout` or `system`, per object and kind.
//!
//! A saved report is read back into its own type ([`Saved`]: a map [`Report`], a
//! [`Summary`], a [`Layouts`] or a [`System`]), then reduced to amounts per (object,
//! kind); a system report's are summed over the whole machine, so two scans compare. Objects
//! are keyed by path (the kernel's ` (deleted)` suffix ignored), never by address, so two
//! objects of one file name (`libc.so.6` of x86_64 and of lib32) stay two. An object
//! whose path is in one report only is matched to one of the same file name
//! ([`file_name`]) in the other report only (a sysroot, another board, another
//! build), the one that shares the most last directories with it when there are
//! several (`match_moved`); it is then compared under its path in NEW. Where both
//! reports know an object's build ID and the IDs differ, the object is marked rebuilt. Amounts are summed by the one rule of
//! [`Figures::add`]: a sum with an unknown term is unknown.
//!
//! A summary cut with `summary --top N` is refused ([`crate::vocab::Code::ReportCut`]): the rows it
//! left out would show as objects that vanished or appeared.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::input::budget::Growth;
use crate::report::Report;
use crate::views::SavedError;
use crate::views::layout::Layouts;
use crate::views::summary::{By, Summary};
use crate::views::system::{self, System};
use crate::vocab::Figures;
use crate::vocab::matching::file_name;

/// Bumped on any incompatible change of the JSON of [`Diff`] (2: objects are whole
/// paths, no longer file names).
pub const SCHEMA_VERSION: u32 = 2;

/// A saved JSON report that `diff` compares.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Saved {
    /// `map --json`.
    Map(Report),
    /// `summary --json` (by object).
    Summary(Summary),
    /// `layout --json`.
    Layout(Layouts),
    /// `system --json` (boxed: the largest of the four by far).
    System(Box<System>),
}

/// The keys that tell the reports apart.
#[derive(Deserialize)]
struct Probe {
    schema_version: Option<serde_json::Value>,
    kind: Option<serde_json::Value>,
    regions: Option<IgnoredAny>,
    rows: Option<IgnoredAny>,
    objects: Option<IgnoredAny>,
}

impl Saved {
    /// Reads a saved report: which one it is follows from its keys (`kind:
    /// "system"`: system, `regions`: map, `rows`: summary, `objects` alone: layout).
    /// Its `schema_version` must be the one this version of elfmaps writes for that
    /// report: another (older, newer, or not a number) is refused, since its fields
    /// may mean something else.
    pub fn from_json(bytes: &[u8]) -> Result<Saved, SavedError> {
        let probe: Probe = serde_json::from_slice(bytes).map_err(SavedError::NotJson)?;
        let Some(version) = &probe.schema_version else {
            return Err(SavedError::NoSchemaVersion);
        };
        let format = if probe.kind.as_ref().and_then(|k| k.as_str()) == Some(system::KIND) {
            "system"
        } else if probe.regions.is_some() {
            "map"
        } else if probe.rows.is_some() {
            "summary"
        } else if probe.objects.is_some() {
            "layout"
        } else {
            return Err(SavedError::UnknownReport);
        };
        let known = match format {
            "system" => system::SCHEMA_VERSION,
            "map" => crate::report::SCHEMA_VERSION,
            "summary" => crate::views::summary::SCHEMA_VERSION,
            _ => crate::views::layout::SCHEMA_VERSION,
        };
        if version.as_u64() != Some(u64::from(known)) {
            return Err(SavedError::SchemaVersion {
                format,
                version: version.to_string(),
                known,
            });
        }
        let bad = |format, err| SavedError::Invalid { format, err };
        if format == "system" {
            Ok(Saved::System(Box::new(System::from_json(bytes)?)))
        } else if format == "map" {
            Ok(Saved::Map(
                serde_json::from_slice(bytes).map_err(|e| bad("map", e))?,
            ))
        } else if format == "summary" {
            let s: Summary = serde_json::from_slice(bytes).map_err(|e| bad("summary", e))?;
            if s.by == By::Kind {
                return Err(SavedError::SummaryByKind);
            }
            if let Some(why) = cut(&s) {
                return Err(SavedError::Cut { why });
            }
            Ok(Saved::Summary(s))
        } else {
            Ok(Saved::Layout(
                serde_json::from_slice(bytes).map_err(|e| bad("layout", e))?,
            ))
        }
    }

    /// What kind of report it is: `map`, `summary`, `layout` or `system`.
    pub fn format(&self) -> &'static str {
        match self {
            Saved::Map(_) => "map",
            Saved::Summary(_) => "summary",
            Saved::Layout(_) => "layout",
            Saved::System(_) => "system",
        }
    }
}

/// Why a saved summary is not complete, if it is not: its `cut` says so, or (saved by
/// a version that did not write `cut`) its rows do not add up to its total size.
fn cut(s: &Summary) -> Option<String> {
    if let Some(c) = &s.cut {
        return Some(format!(
            "a summary cut with --top {} ({} rows left out)",
            c.top, c.rows_dropped
        ));
    }
    let sum = s
        .rows
        .iter()
        .try_fold(0u64, |acc, r| acc.checked_add(r.figures.size));
    (sum != Some(s.totals.size))
        .then(|| "a summary whose rows do not add up to its totals (cut with --top?)".to_string())
}

/// The figures of one (object, kind) in one report: those of the columns of
/// docs/cli.md (size, rss, pss, uss, dirty, swap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Amounts {
    /// Virtual size.
    pub size: u64,
    /// Resident bytes; `None` when unknown.
    pub rss: Option<u64>,
    /// Proportional set size; `None` when unknown.
    pub pss: Option<u64>,
    /// Unique set size (private clean + private dirty); `None` when unknown.
    pub uss: Option<u64>,
    /// Private dirty; `None` when unknown.
    pub dirty: Option<u64>,
    /// Swapped out; `None` when unknown.
    pub swap: Option<u64>,
}

impl Amounts {
    /// None of anything: what a report that does not have an (object, kind) has.
    const NONE: Amounts = Amounts {
        size: 0,
        rss: Some(0),
        pss: Some(0),
        uss: Some(0),
        dirty: Some(0),
        swap: Some(0),
    };
}

impl From<&Figures> for Amounts {
    fn from(f: &Figures) -> Amounts {
        Amounts {
            size: f.size,
            rss: f.rss,
            pss: f.pss,
            uss: crate::vocab::figures::uss(f),
            dirty: f.private_dirty,
            swap: f.swap,
        }
    }
}

/// A report reduced to what diff compares.
#[derive(Debug, Clone, Default)]
struct Side {
    /// (object path or null, kind) -> the sum of its figures.
    entries: BTreeMap<(Option<String>, String), Figures>,
    /// Object path -> build ID, where known.
    build_ids: BTreeMap<String, String>,
}

/// The key of an object: its path without the kernel's ` (deleted)` suffix.
fn path_key(path: &str) -> String {
    path.strip_suffix(" (deleted)").unwrap_or(path).to_string()
}

/// How many last path components `a` and `b` share (also `check --baseline`'s
/// rule).
pub(crate) fn shared_tail(a: &str, b: &str) -> usize {
    a.rsplit('/')
        .zip(b.rsplit('/'))
        .take_while(|(x, y)| x == y)
        .count()
}

/// The objects of OLD only matched to objects of NEW only (old path -> new path):
/// by file name, and among several of one file name the pairs that share the most
/// last directories; a pair is taken only when neither has another candidate as
/// good, so an ambiguous object is left unmatched (vanished and appeared), never
/// matched to a guess.
fn match_moved(old: &BTreeSet<String>, new: &BTreeSet<String>) -> BTreeMap<String, String> {
    let old_only: Vec<&String> = old.difference(new).collect();
    let new_only: Vec<&String> = new.difference(old).collect();
    let mut pairs: Vec<(usize, &String, &String)> = Vec::new();
    for o in &old_only {
        for n in &new_only {
            if file_name(o) == file_name(n) {
                pairs.push((shared_tail(o, n), o, n));
            }
        }
    }
    pairs.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.cmp(b.1))
            .then_with(|| a.2.cmp(b.2))
    });
    let mut out = BTreeMap::new();
    // Objects matched, or left unmatched because two candidates were as good.
    let mut done_old: BTreeSet<&String> = BTreeSet::new();
    let mut done_new: BTreeSet<&String> = BTreeSet::new();
    for &(score, o, n) in &pairs {
        if done_old.contains(o) || done_new.contains(n) {
            continue;
        }
        let rivals: Vec<(&String, &String)> = pairs
            .iter()
            .filter(|&&(s, o2, n2)| {
                s == score
                    && ((o2 == o && n2 != n && !done_new.contains(n2))
                        || (n2 == n && o2 != o && !done_old.contains(o2)))
            })
            .map(|&(_, o2, n2)| (o2, n2))
            .collect();
        if rivals.is_empty() {
            out.insert(o.clone(), n.clone());
        }
        // A tie leaves every object in it unmatched.
        for (o2, n2) in rivals {
            done_old.insert(o2);
            done_new.insert(n2);
        }
        done_old.insert(o);
        done_new.insert(n);
    }
    out
}

impl Side {
    fn add(&mut self, object: Option<&str>, kind: &str, figures: &Figures) {
        self.entries
            .entry((object.map(path_key), kind.to_string()))
            .or_insert_with(Figures::zero)
            .add(figures);
    }

    fn of(saved: &Saved) -> Side {
        let mut s = Side::default();
        match saved {
            Saved::Map(r) => {
                for region in &r.regions {
                    s.add(
                        region.object.as_deref(),
                        region.kind.as_str(),
                        &region.figures,
                    );
                }
                for o in &r.objects {
                    if let Some(id) = &o.build_id {
                        s.build_ids.insert(path_key(&o.path), id.clone());
                    }
                }
            }
            Saved::Summary(summary) => {
                for row in &summary.rows {
                    // Rows of a summary by object always have a kind.
                    let kind = row.kind.map_or("", |k| k.as_str());
                    s.add(row.object.as_deref(), kind, &row.figures);
                }
            }
            Saved::System(sys) => {
                for row in &sys.rows {
                    let kind = row.kind.map_or("", |k| k.as_str());
                    s.add(row.object.as_deref(), kind, &row.figures);
                }
                for o in &sys.objects {
                    if let (Some(path), Some(id)) = (&o.object, &o.build_id) {
                        s.build_ids.insert(path_key(path), id.to_string());
                    }
                }
            }
            Saved::Layout(l) => {
                for f in &l.files {
                    let Some(memory) = &f.memory else { continue };
                    for (kind, bytes) in memory.rows() {
                        if bytes > 0 {
                            // Static sizes: nothing is resident yet, and nothing known.
                            let figures = Figures {
                                size: bytes,
                                ..Figures::default()
                            };
                            s.add(Some(&f.path), kind.as_str(), &figures);
                        }
                    }
                }
            }
        }
        s
    }

    /// Its objects' paths.
    fn objects(&self) -> BTreeSet<String> {
        self.entries.keys().filter_map(|k| k.0.clone()).collect()
    }

    /// The side with the objects of `moved` under their new paths.
    fn renamed(self, moved: &BTreeMap<String, String>) -> Side {
        if moved.is_empty() {
            return self;
        }
        let to = |p: String| moved.get(&p).cloned().unwrap_or(p);
        let mut s = Side::default();
        for ((o, k), f) in self.entries {
            s.entries
                .entry((o.map(to), k))
                .or_insert_with(Figures::zero)
                .add(&f);
        }
        s.build_ids = self
            .build_ids
            .into_iter()
            .map(|(p, id)| (to(p), id))
            .collect();
        s
    }

    fn amounts(&self, key: &(Option<String>, String)) -> Option<Amounts> {
        self.entries.get(key).map(Amounts::from)
    }

    /// The whole report: every entry summed by the rule of [`Figures::add`].
    fn whole(&self) -> Amounts {
        let mut t = Figures::zero();
        for f in self.entries.values() {
            t.add(f);
        }
        Amounts::from(&t)
    }
}

/// The change of a whole report: the `(total)` row of `diff` (docs/cli.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Total {
    /// Change in size.
    pub size: Option<i64>,
    /// Change in rss; null when either side does not know it.
    pub rss: Option<i64>,
    /// Change in pss; null when either side does not know it.
    pub pss: Option<i64>,
    /// Change in uss; null when either side does not know it.
    pub uss: Option<i64>,
    /// Change in private dirty; null when either side does not know it.
    pub dirty: Option<i64>,
    /// Change in swap; null when either side does not know it.
    pub swap: Option<i64>,
}

impl Total {
    /// The changes from `old` to `new`, each null when either side does not know it.
    fn between(old: &Amounts, new: &Amounts) -> Total {
        Total {
            size: delta(Some(old.size), Some(new.size)),
            rss: delta(old.rss, new.rss),
            pss: delta(old.pss, new.pss),
            uss: delta(old.uss, new.uss),
            dirty: delta(old.dirty, new.dirty),
            swap: delta(old.swap, new.swap),
        }
    }
}

/// Signed change of one figure; null when either side does not know it.
fn delta(old: Option<u64>, new: Option<u64>) -> Option<i64> {
    i64::try_from(new?)
        .ok()?
        .checked_sub(i64::try_from(old?).ok()?)
}

/// One changed (object, kind).
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The object's path (in NEW, when its path differs in OLD); null for memory of
    /// no object.
    pub object: Option<String>,
    /// The kind, as JSON spells it.
    pub kind: String,
    /// The amounts in OLD; null when OLD does not have this (object, kind).
    pub old: Option<Amounts>,
    /// The amounts in NEW; null when NEW does not have this (object, kind).
    pub new: Option<Amounts>,
    /// Change in size.
    pub size: Option<i64>,
    /// Change in rss; null when either side does not know it.
    pub rss: Option<i64>,
    /// Change in pss; null when either side does not know it.
    pub pss: Option<i64>,
    /// Change in uss; null when either side does not know it.
    pub uss: Option<i64>,
    /// Change in private dirty; null when either side does not know it.
    pub dirty: Option<i64>,
    /// Change in swap; null when either side does not know it.
    pub swap: Option<i64>,
}

impl Change {
    /// The largest absolute change, for sorting.
    pub(crate) fn magnitude(&self) -> u64 {
        [self.size, self.rss, self.pss]
            .iter()
            .flatten()
            .map(|d| d.unsigned_abs())
            .max()
            .unwrap_or(0)
    }
}

/// The diff report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Diff {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What OLD was: `map`, `summary`, `layout` or `system`.
    pub old_format: &'static str,
    /// What NEW was.
    pub new_format: &'static str,
    /// Changed (object, kind) pairs, largest absolute change first.
    pub changes: Vec<Change>,
    /// Objects only in NEW (paths).
    pub appeared: Vec<String>,
    /// Objects only in OLD (paths).
    pub vanished: Vec<String>,
    /// Objects whose build ID differs (paths in NEW).
    pub rebuilt: Vec<String>,
    /// `diff --threshold`: changes of at most this much were left out (`"64 KiB"`
    /// as bytes, `"5%"`); absent without a threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    /// The change of the whole (every object and kind of each report summed), also
    /// of what `--threshold` leaves out.
    pub total: Total,
    /// How many changes the threshold left out; absent without a threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below_threshold: Option<usize>,
    /// Every object of either report (paths in NEW), changed or not: the names a
    /// table gives objects tell apart all of them (`lib32/libc.so.6` vanished while
    /// `x86_64-linux-gnu/libc.so.6` stayed). Not in the JSON, whose paths are whole.
    #[serde(skip)]
    pub objects: Vec<String>,
}

impl Diff {
    /// Whether nothing changed: no figure, no object appeared, vanished or was
    /// rebuilt (`diff --exit-code` exits 1 otherwise).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.appeared.is_empty()
            && self.vanished.is_empty()
            && self.rebuilt.is_empty()
    }

    /// The diff without the changes of at most `threshold`: every figure's change
    /// (size, rss, pss) known and within it, bytes or a share of the old figure (of
    /// 0 when OLD does not have the row). A change of an unknown figure is kept: it
    /// cannot be shown to be small. Objects that appeared, vanished or were rebuilt
    /// are kept whatever their size. An idle process compared with itself a moment
    /// later changes by a few KiB of pss as other processes come and go (issue 22):
    /// `diff --threshold` keeps that from failing `--exit-code`.
    pub fn above(mut self, threshold: Growth) -> Diff {
        let before = self.changes.len();
        self.changes.retain(|c| {
            let old = c.old.unwrap_or(Amounts::NONE);
            let within = |d: Option<i64>, was: Option<u64>| match (d, was) {
                (Some(d), Some(was)) => d.unsigned_abs() <= threshold.allowed(was),
                (Some(d), None) => d.unsigned_abs() <= threshold.allowed(0),
                (None, _) => false,
            };
            !(within(c.size, Some(old.size)) && within(c.rss, old.rss) && within(c.pss, old.pss))
        });
        self.below_threshold = Some(before - self.changes.len());
        self.threshold = Some(threshold.to_string());
        self
    }
}

/// Compares two reports.
pub fn diff(old: &Saved, new: &Saved) -> Diff {
    let (old_side, new_side) = (Side::of(old), Side::of(new));
    let moved = match_moved(&old_side.objects(), &new_side.objects());
    let old_side = old_side.renamed(&moved);
    let keys: BTreeSet<&(Option<String>, String)> = old_side
        .entries
        .keys()
        .chain(new_side.entries.keys())
        .collect();
    let mut changes: Vec<Change> = keys
        .into_iter()
        .filter_map(|k| {
            let (o, n) = (old_side.amounts(k), new_side.amounts(k));
            if o == n {
                return None;
            }
            // An (object, kind) a report does not have is none of it: 0 bytes.
            let t = Total::between(&o.unwrap_or(Amounts::NONE), &n.unwrap_or(Amounts::NONE));
            Some(Change {
                object: k.0.clone(),
                kind: k.1.clone(),
                old: o,
                new: n,
                size: t.size,
                rss: t.rss,
                pss: t.pss,
                uss: t.uss,
                dirty: t.dirty,
                swap: t.swap,
            })
        })
        .collect();
    changes.sort_by(|a, b| {
        b.magnitude()
            .cmp(&a.magnitude())
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    let (before, after) = (old_side.objects(), new_side.objects());
    let rebuilt = before
        .intersection(&after)
        .filter(|n| {
            matches!(
                (old_side.build_ids.get(*n), new_side.build_ids.get(*n)),
                (Some(a), Some(b)) if a != b
            )
        })
        .cloned()
        .collect();
    let (was, is) = (old_side.whole(), new_side.whole());
    let total = Total::between(&was, &is);
    Diff {
        schema_version: SCHEMA_VERSION,
        total,
        old_format: old.format(),
        new_format: new.format(),
        changes,
        appeared: after.difference(&before).cloned().collect(),
        objects: before.union(&after).cloned().collect(),
        vanished: before.difference(&after).cloned().collect(),
        rebuilt,
        threshold: None,
        below_threshold: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// (object, kind, size, rss, pss) of one region.
    type R<'a> = (Option<&'a str>, &'a str, u64, Option<u64>, Option<u64>);

    /// A map report of `regions` (object, kind, size, rss, pss) and `objects` (path,
    /// build ID), through its JSON form as `map --json` writes it.
    fn map(regions: &[R], objects: Value) -> Saved {
        Saved::from_json(&serde_json::to_vec(&map_json(regions, objects)).unwrap()).unwrap()
    }

    /// The JSON of [`map`]'s report.
    fn map_json(regions: &[R], objects: Value) -> Value {
        let regions: Vec<Value> = regions
            .iter()
            .enumerate()
            .map(|(i, (object, kind, size, rss, pss))| {
                json!({
                    "start": i * 0x10000, "end": i * 0x10000 + *size as usize, "perms": "r--p",
                    "offset": 0, "dev": "00:00", "inode": 0, "path": object, "object": object,
                    "instance": null, "kind": kind, "segment": null, "split": false, "line": i + 1,
                    "size": size, "rss": rss, "pss": pss, "shared_clean": null,
                    "shared_dirty": null, "private_clean": null, "private_dirty": null,
                    "anonymous": null, "swap": null, "swap_pss": null, "locked": null,
                    "hugetlb": null
                })
            })
            .collect();
        let objects: Vec<Value> = objects
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, o)| {
                json!({
                    "index": i, "path": o["path"], "build_id": o["build_id"], "bias": 0,
                    "type": "DYN", "machine": "X86_64", "class": 64, "endian": "little",
                    "dev": "08:01", "inode": 1, "span_start": 0, "span_end": 0,
                    "opened": null, "problem": null, "totals": Figures::zero()
                })
            })
            .collect();
        json!({
            "schema_version": 1, "pid": null, "page_size": 4096, "source": "smaps",
            "regions": regions, "objects": objects, "warnings": [], "totals": Figures::zero()
        })
    }

    const K: u64 = 4096;

    #[test]
    fn compares_by_file_name_and_sorts_by_change() {
        let old = map(
            &[
                (Some("/lib/libc.so.6"), "text", K, Some(K), Some(100)),
                (Some("/lib/liba.so"), "bss", 2 * K, Some(0), Some(0)),
                (None, "heap", K, Some(K), Some(K)),
            ],
            json!([{"path": "/lib/libc.so.6", "build_id": "aa"}]),
        );
        let new = map(
            &[
                (
                    Some("/usr/lib/libc.so.6 (deleted)"),
                    "text",
                    K,
                    Some(0),
                    Some(0),
                ),
                (Some("/lib/libb.so"), "bss", 1 << 20, None, None),
                (None, "heap", K, Some(K), Some(K)),
            ],
            json!([{"path": "/usr/lib/libc.so.6", "build_id": "bb"}]),
        );
        let d = diff(&old, &new);
        assert_eq!((d.old_format, d.new_format), ("map", "map"));
        assert_eq!(d.appeared, vec!["/lib/libb.so"]);
        assert_eq!(d.vanished, vec!["/lib/liba.so"]);
        // Matched by file name across two paths, named by its path in NEW.
        assert_eq!(d.rebuilt, vec!["/usr/lib/libc.so.6"]);
        assert_eq!(d.changes.len(), 3);
        assert_eq!(d.changes[0].object.as_deref(), Some("/lib/libb.so"));
        assert_eq!(d.changes[0].size, Some(1 << 20));
        assert_eq!(d.changes[0].rss, None);
        let libc = d
            .changes
            .iter()
            .find(|c| c.object.as_deref() == Some("/usr/lib/libc.so.6"))
            .unwrap();
        assert_eq!(
            (libc.size, libc.rss, libc.pss),
            (Some(0), Some(-4096), Some(-100))
        );
    }

    /// Issue 20: two objects of one file name (x86_64's and lib32's libc.so.6) are
    /// two, also when both moved (a sysroot): each is matched to the one that shares
    /// its last directories.
    #[test]
    fn two_objects_of_one_file_name_stay_two() {
        let (x86, lib32) = ("/lib/x86_64-linux-gnu/libc.so.6", "/lib32/libc.so.6");
        let old = map(
            &[
                (Some(x86), "text", 4 * K, Some(K), Some(K)),
                (Some(lib32), "text", 2 * K, Some(K), Some(K)),
            ],
            json!([{"path": x86, "build_id": "aa"}, {"path": lib32, "build_id": "cc"}]),
        );
        let new = map(
            &[
                (Some(x86), "text", 8 * K, Some(K), Some(K)),
                (Some(lib32), "text", 2 * K, Some(K), Some(K)),
            ],
            json!([{"path": x86, "build_id": "bb"}, {"path": lib32, "build_id": "cc"}]),
        );
        let d = diff(&old, &new);
        assert_eq!(d.changes.len(), 1, "{:?}", d.changes);
        assert_eq!(d.changes[0].object.as_deref(), Some(x86));
        assert_eq!(d.changes[0].size, Some(4 * K as i64));
        assert_eq!(d.rebuilt, vec![x86]);
        // Both under a sysroot in NEW: matched by their last directories.
        let moved = |p: &str| format!("/sysroot{p}");
        let (sx86, s32) = (moved(x86), moved(lib32));
        let new = map(
            &[
                (Some(&sx86), "text", 8 * K, Some(K), Some(K)),
                (Some(&s32), "text", 2 * K, Some(K), Some(K)),
            ],
            json!([{"path": sx86, "build_id": "bb"}, {"path": s32, "build_id": "cc"}]),
        );
        let d = diff(&old, &new);
        assert!(d.appeared.is_empty() && d.vanished.is_empty(), "{d:?}");
        assert_eq!(d.changes.len(), 1, "{:?}", d.changes);
        assert_eq!(d.changes[0].object.as_deref(), Some(sx86.as_str()));
        assert_eq!(d.rebuilt, vec![sx86.clone()]);
        // Two candidates as good: no guess, both vanished and both appeared.
        let new = map(
            &[
                (Some("/a/libc.so.6"), "text", 8 * K, Some(K), Some(K)),
                (Some("/b/libc.so.6"), "text", 2 * K, Some(K), Some(K)),
            ],
            json!([]),
        );
        let d = diff(&old, &new);
        assert_eq!(d.vanished, vec![x86, lib32]);
        assert_eq!(d.appeared, vec!["/a/libc.so.6", "/b/libc.so.6"]);
    }

    /// Issue 8: old rss 8K; new rss 4K plus one unknown. The new sum is unknown, so is
    /// the change: not "RSS -4.0K".
    #[test]
    fn a_sum_with_an_unknown_term_is_unknown() {
        let old = map(
            &[(
                Some("/lib/libc.so.6"),
                "text",
                2 * K,
                Some(2 * K),
                Some(2 * K),
            )],
            json!([]),
        );
        let new = map(
            &[
                (Some("/lib/libc.so.6"), "text", K, Some(K), Some(K)),
                (Some("/lib/libc.so.6"), "text", K, None, Some(K)),
            ],
            json!([]),
        );
        let d = diff(&old, &new);
        assert_eq!(d.changes.len(), 1);
        let c = &d.changes[0];
        assert_eq!(
            c.new,
            Some(Amounts {
                size: 2 * K,
                rss: None,
                pss: Some(2 * K),
                uss: None,
                dirty: None,
                swap: None,
            })
        );
        assert_eq!((c.size, c.rss, c.pss), (Some(0), None, Some(0)));
    }

    /// Issue 9 §4: `diff` compared a `summary --top 2` report as if it were complete.
    #[test]
    fn refuses_a_cut_summary() {
        let golden = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/armhf.summary.json"
        );
        let full: Value = serde_json::from_slice(&std::fs::read(golden).unwrap()).unwrap();
        assert!(Saved::from_json(&serde_json::to_vec(&full).unwrap()).is_ok());
        let mut cut = full.clone();
        cut["rows"].as_array_mut().unwrap().truncate(2);
        // Saved before `cut` existed: the rows do not add up.
        let e = Saved::from_json(&serde_json::to_vec(&cut).unwrap()).unwrap_err();
        assert_eq!(e.code(), crate::vocab::Code::ReportCut);
        assert!(e.to_string().starts_with("report-cut: "), "{e}");
        cut["cut"] = json!({"top": 2, "rows_dropped": 21, "objects_dropped": 3});
        let e = Saved::from_json(&serde_json::to_vec(&cut).unwrap()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("report-cut: ") && text.contains("--top 2"),
            "{e}"
        );
    }

    #[test]
    fn nothing_changed_is_empty() {
        let a = map(
            &[(Some("/lib/libc.so.6"), "text", K, Some(K), Some(K))],
            json!([{"path": "/lib/libc.so.6", "build_id": "aa"}]),
        );
        assert!(diff(&a, &a).is_empty());
        let b = map(
            &[(Some("/lib/libc.so.6"), "text", K, Some(K), Some(K))],
            json!([{"path": "/lib/libc.so.6", "build_id": "bb"}]),
        );
        // The same figures, another build: something changed.
        let d = diff(&a, &b);
        assert!(d.changes.is_empty() && !d.is_empty());
    }

    /// Issue 22: an idle process compared with itself later differs by a few KiB:
    /// `--threshold` leaves such changes out, and a larger one in.
    #[test]
    fn a_threshold_leaves_small_changes_out() {
        let old = map(
            &[
                (
                    Some("/lib/libc.so.6"),
                    "text",
                    64 * K,
                    Some(32 * K),
                    Some(8 * K),
                ),
                (None, "stack", 33 * K, Some(12 * K), Some(12 * K)),
            ],
            json!([]),
        );
        let new = map(
            &[
                (
                    Some("/lib/libc.so.6"),
                    "text",
                    64 * K,
                    Some(32 * K),
                    Some(8 * K + 2048),
                ),
                (None, "stack", 33 * K, Some(12 * K), Some(12 * K)),
            ],
            json!([]),
        );
        let d = diff(&old, &new);
        assert_eq!(d.changes.len(), 1);
        let d = d.above(Growth::Bytes(2048));
        assert!(d.is_empty(), "{:?}", d.changes);
        assert_eq!(d.below_threshold, Some(1));
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(
            (v["threshold"].as_str(), v["below_threshold"].as_u64()),
            (Some("2048 B"), Some(1))
        );
        // One byte more than the threshold is a change.
        assert_eq!(diff(&old, &new).above(Growth::Bytes(2047)).changes.len(), 1);
        // 6.25% of 32 KiB is 2 KiB: within; 6% is not.
        assert!(diff(&old, &new).above(Growth::Ppm(62_500)).is_empty());
        assert!(!diff(&old, &new).above(Growth::Ppm(60_000)).is_empty());
        // Without a threshold the JSON has neither field.
        let v = serde_json::to_value(diff(&old, &new)).unwrap();
        assert!(v.get("threshold").is_none() && v.get("below_threshold").is_none());
    }

    /// A saved map report's closed sets (`source`, an object's `type` and `endian`)
    /// read back every value elfmaps writes, and refuse any other, naming it.
    #[test]
    fn closed_sets_read_back_exactly() {
        let report = map_json(
            &[(Some("/lib/a.so"), "text", K, Some(K), Some(K))],
            json!([{"path": "/lib/a.so", "build_id": null}]),
        );
        let with = |pointer: &str, value: &str| {
            let mut v = report.clone();
            *v.pointer_mut(pointer).unwrap() = json!(value);
            Saved::from_json(&serde_json::to_vec(&v).unwrap())
        };
        let fields = [
            ("/source", &["smaps", "maps", "maps+pagemap"][..]),
            (
                "/objects/0/type",
                &["REL", "EXEC", "DYN", "CORE", "0x0", "0xfe00"][..],
            ),
            ("/objects/0/endian", &["little", "big"][..]),
        ];
        for (pointer, good) in fields {
            for value in good {
                let Ok(Saved::Map(r)) = with(pointer, value) else {
                    panic!("{pointer} {value:?} does not read back");
                };
                let again = serde_json::to_value(&r).unwrap();
                assert_eq!(again.pointer(pointer), Some(&json!(value)));
            }
            for bad in ["live", "", "SMAPS", "dyn", "0x3", "0x03", "Little"] {
                let err = with(pointer, bad).unwrap_err();
                assert!(
                    matches!(err, SavedError::Invalid { format: "map", .. }),
                    "{pointer} {bad:?}: {err}"
                );
                let text = err.to_string();
                assert!(
                    text.contains(&format!("`{bad}`")) || text.contains(&format!("{bad:?}")),
                    "{pointer} {bad:?}: {text}"
                );
            }
        }
    }

    #[test]
    fn rejects_other_json() {
        for bytes in [
            &b"{\"a\": 1}"[..],
            b"{\"schema_version\": 1}",
            b"[1, 2]",
            b"{\"schema_version\": 1, \"regions\": [{\"start\": 1}]}",
            b"{\"schema_version\": 1, \"rows\": [], \"by\": \"kind\", \"pid\": null, \"objects\": [], \"totals\": {\"size\": 0}}",
            b"not json",
        ] {
            assert!(
                Saved::from_json(bytes).is_err(),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

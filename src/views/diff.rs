//! `elfmaps diff OLD NEW`: what changed between two saved JSON reports of `map`,
//! `summary` or `layout`, per object and kind.
//!
//! Objects are matched by file name (the last path component, ` (deleted)` removed),
//! not by address, so reports of two runs, two boards or two builds compare; where
//! both reports know an object's build ID and the IDs differ, the object is marked
//! rebuilt. Pure: takes parsed JSON values.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

pub const SCHEMA_VERSION: u32 = 1;

/// Size, rss and pss of one (object, kind) in one report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Amounts {
    pub size: u64,
    pub rss: Option<u64>,
    pub pss: Option<u64>,
}

impl Amounts {
    fn add(&mut self, size: u64, rss: Option<u64>, pss: Option<u64>) {
        self.size += size;
        if let Some(r) = rss {
            self.rss = Some(self.rss.unwrap_or(0) + r);
        }
        if let Some(p) = pss {
            self.pss = Some(self.pss.unwrap_or(0) + p);
        }
    }
}

/// A report reduced to what diff compares.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// What kind of report it was: `map`, `summary` or `layout`.
    pub format: &'static str,
    /// (object file name or null, kind) -> amounts.
    pub entries: BTreeMap<(Option<String>, String), Amounts>,
    /// Object file name -> build ID, where known.
    pub build_ids: BTreeMap<String, String>,
}

/// The file name an object is matched by.
pub fn match_name(path: &str) -> String {
    let p = path.strip_suffix(" (deleted)").unwrap_or(path);
    p.rsplit('/').next().unwrap_or(p).to_string()
}

fn num(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// Reads a saved report of `map`, `summary` or `layout`.
pub fn side(v: &Value) -> Result<Side, String> {
    let mut s = Side::default();
    if v.get("schema_version").and_then(Value::as_u64).is_none() {
        return Err("not an elfmaps JSON report (no schema_version)".into());
    }
    if let Some(regions) = v.get("regions").and_then(Value::as_array) {
        s.format = "map";
        for r in regions {
            let object = r.get("object").and_then(Value::as_str).map(match_name);
            let kind = r
                .get("kind")
                .and_then(Value::as_str)
                .ok_or("a region has no kind")?;
            let size = r.get("size").and_then(num).ok_or("a region has no size")?;
            s.entries
                .entry((object, kind.to_string()))
                .or_default()
                .add(size, r.get("rss").and_then(num), r.get("pss").and_then(num));
        }
        for o in v
            .get("objects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(p), Some(id)) = (
                o.get("path").and_then(Value::as_str),
                o.get("build_id").and_then(Value::as_str),
            ) {
                s.build_ids.insert(match_name(p), id.to_string());
            }
        }
    } else if let Some(rows) = v.get("rows").and_then(Value::as_array) {
        s.format = "summary";
        if v.get("by").and_then(Value::as_str) == Some("kind") {
            return Err("a summary --by kind report has no objects to compare; save `summary --json` without --by kind".into());
        }
        for r in rows {
            let object = r.get("object").and_then(Value::as_str).map(match_name);
            let kind = r
                .get("kind")
                .and_then(Value::as_str)
                .ok_or("a row has no kind")?;
            let size = r.get("size").and_then(num).ok_or("a row has no size")?;
            s.entries
                .entry((object, kind.to_string()))
                .or_default()
                .add(size, r.get("rss").and_then(num), r.get("pss").and_then(num));
        }
    } else if let Some(objects) = v.get("objects").and_then(Value::as_array) {
        s.format = "layout";
        for o in objects {
            let path = o
                .get("path")
                .and_then(Value::as_str)
                .ok_or("an object has no path")?;
            let name = match_name(path);
            let memory = o
                .get("memory")
                .and_then(Value::as_object)
                .ok_or("a layout object has no memory figures")?;
            for (kind, bytes) in memory.iter().filter(|(k, _)| *k != "total") {
                let Some(bytes) = num(bytes) else { continue };
                if bytes > 0 {
                    s.entries
                        .entry((Some(name.clone()), kind.clone()))
                        .or_default()
                        .add(bytes, None, None);
                }
            }
            if let Some(id) = o.get("build_id").and_then(Value::as_str) {
                s.build_ids.insert(name, id.to_string());
            }
        }
    } else {
        return Err("not a map, summary or layout report".into());
    }
    Ok(s)
}

/// Signed change of one figure; null when either side does not know it.
fn delta(old: Option<u64>, new: Option<u64>) -> Option<i64> {
    Some(i64::try_from(new?).ok()? - i64::try_from(old?).ok()?)
}

/// One changed (object, kind).
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub object: Option<String>,
    pub kind: String,
    pub old: Option<Amounts>,
    pub new: Option<Amounts>,
    pub size: Option<i64>,
    pub rss: Option<i64>,
    pub pss: Option<i64>,
}

impl Change {
    /// The largest absolute change, for sorting.
    pub fn magnitude(&self) -> u64 {
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
pub struct Diff {
    pub schema_version: u32,
    pub old_format: &'static str,
    pub new_format: &'static str,
    /// Changed (object, kind) pairs, largest absolute change first.
    pub changes: Vec<Change>,
    /// Objects only in NEW / only in OLD (file names).
    pub appeared: Vec<String>,
    pub vanished: Vec<String>,
    /// Objects whose build ID differs.
    pub rebuilt: Vec<String>,
}

/// Compares two reports.
pub fn diff(old: &Side, new: &Side) -> Diff {
    let keys: BTreeSet<&(Option<String>, String)> =
        old.entries.keys().chain(new.entries.keys()).collect();
    let mut changes: Vec<Change> = keys
        .into_iter()
        .filter_map(|k| {
            let (o, n) = (old.entries.get(k).copied(), new.entries.get(k).copied());
            if o == n {
                return None;
            }
            let size = delta(Some(o.map_or(0, |a| a.size)), Some(n.map_or(0, |a| a.size)));
            let pick = |a: Option<Amounts>, f: fn(&Amounts) -> Option<u64>| match a {
                Some(a) => f(&a),
                None => Some(0),
            };
            Some(Change {
                object: k.0.clone(),
                kind: k.1.clone(),
                old: o,
                new: n,
                size,
                rss: delta(pick(o, |a| a.rss), pick(n, |a| a.rss)),
                pss: delta(pick(o, |a| a.pss), pick(n, |a| a.pss)),
            })
        })
        .collect();
    changes.sort_by(|a, b| {
        b.magnitude()
            .cmp(&a.magnitude())
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    let objects =
        |s: &Side| -> BTreeSet<String> { s.entries.keys().filter_map(|k| k.0.clone()).collect() };
    let (before, after) = (objects(old), objects(new));
    let rebuilt = before
        .intersection(&after)
        .filter(|n| matches!((old.build_ids.get(*n), new.build_ids.get(*n)), (Some(a), Some(b)) if a != b))
        .cloned()
        .collect();
    Diff {
        schema_version: SCHEMA_VERSION,
        old_format: old.format,
        new_format: new.format,
        changes,
        appeared: after.difference(&before).cloned().collect(),
        vanished: before.difference(&after).cloned().collect(),
        rebuilt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(regions: Value, objects: Value) -> Value {
        json!({"schema_version": 1, "regions": regions, "objects": objects})
    }

    #[test]
    fn compares_by_file_name_and_sorts_by_change() {
        let old = map(
            json!([
                {"object": "/lib/libc.so.6", "kind": "text", "size": 4096, "rss": 4096, "pss": 100},
                {"object": "/lib/liba.so", "kind": "bss", "size": 8192, "rss": 0, "pss": 0},
                {"object": null, "kind": "heap", "size": 4096, "rss": 4096, "pss": 4096},
            ]),
            json!([{"path": "/lib/libc.so.6", "build_id": "aa"}]),
        );
        let new = map(
            json!([
                {"object": "/usr/lib/libc.so.6 (deleted)", "kind": "text", "size": 4096, "rss": 0, "pss": 0},
                {"object": "/lib/libb.so", "kind": "bss", "size": 1 << 20, "rss": null, "pss": null},
                {"object": null, "kind": "heap", "size": 4096, "rss": 4096, "pss": 4096},
            ]),
            json!([{"path": "/usr/lib/libc.so.6", "build_id": "bb"}]),
        );
        let d = diff(&side(&old).unwrap(), &side(&new).unwrap());
        assert_eq!(d.appeared, vec!["libb.so"]);
        assert_eq!(d.vanished, vec!["liba.so"]);
        assert_eq!(d.rebuilt, vec!["libc.so.6"]);
        assert_eq!(d.changes.len(), 3);
        assert_eq!(d.changes[0].object.as_deref(), Some("libb.so"));
        assert_eq!(d.changes[0].size, Some(1 << 20));
        assert_eq!(d.changes[0].rss, None);
        let libc = d
            .changes
            .iter()
            .find(|c| c.object.as_deref() == Some("libc.so.6"))
            .unwrap();
        assert_eq!(
            (libc.size, libc.rss, libc.pss),
            (Some(0), Some(-4096), Some(-100))
        );
    }

    #[test]
    fn rejects_other_json() {
        assert!(side(&json!({"a": 1})).is_err());
        assert!(side(&json!({"schema_version": 1})).is_err());
    }
}

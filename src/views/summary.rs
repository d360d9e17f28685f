//! `elfmaps summary`: the map report folded into one row per (object, kind), or per
//! kind across objects (`--by kind`), with totals. Pure: a view of a [`Report`].
//!
//! Figures are exact sums of the map regions' figures. A sum with an unknown term
//! (null, e.g. the `rss` of a split part in a saved smaps) is unknown: null, never a
//! lower bound that a budget would take for the total.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::label::Kind;
use crate::report::{Figures, Report};
use crate::vocab::figures;

/// Bumped on any incompatible change of the JSON of [`Summary`].
pub const SCHEMA_VERSION: u32 = 1;

/// How rows are grouped (in JSON: `object` or `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum By {
    /// One row per (object, kind).
    Object,
    /// One row per kind, across objects.
    Kind,
}

/// Sort order of rows (largest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortBy {
    /// Virtual size.
    Size,
    /// Resident bytes (unknown counts as 0).
    Rss,
    /// Proportional set size (unknown counts as 0).
    Pss,
    /// Unique set size, private clean + private dirty (unknown counts as 0).
    Uss,
    /// Swapped out (unknown counts as 0).
    Swap,
}

impl SortBy {
    /// The default order (docs/cli.md): PSS where `totals` know it, else RSS, else
    /// size (a saved maps knows sizes only).
    pub fn default_for(totals: &Figures) -> SortBy {
        if totals.pss.is_some() {
            SortBy::Pss
        } else if totals.rss.is_some() {
            SortBy::Rss
        } else {
            SortBy::Size
        }
    }
}

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Row {
    /// Maps path of the object; null for memory of no object and in `--by kind`.
    pub object: Option<String>,
    /// The kind; null in a per-object total.
    pub kind: Option<Kind>,
    /// Number of regions summed.
    pub regions: usize,
    /// The sum of the regions' figures (unknown when one term is).
    #[serde(flatten)]
    pub figures: Figures,
}

/// The summary report. It reads back what it writes (`diff` reads saved summaries).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The process, when it was live or recorded.
    pub pid: Option<u32>,
    /// How rows are grouped.
    pub by: By,
    /// The rows, largest first.
    pub rows: Vec<Row>,
    /// Per-object totals (one row per object, `kind` null), for `by: object`.
    pub objects: Vec<Row>,
    /// The whole process (even when `--top` cut the rows).
    pub totals: Figures,
    /// Bytes of text on huge pages over all objects (their
    /// [`crate::report::Object::huge_text`]); null when one is unknown.
    #[serde(default)]
    pub huge_text: Option<u64>,
    /// What `--top` left out; `None` (absent in JSON) when the summary is complete.
    /// A cut summary is not the whole process: `diff` refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<Cut>,
    /// The report's warnings, each with its code (docs/json.md).
    #[serde(default)]
    pub warnings: Vec<crate::vocab::Warning>,
}

/// What `summary --top N` left out of a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cut {
    /// The N of `--top`.
    pub top: usize,
    /// How many rows were left out.
    pub rows_dropped: usize,
    /// How many per-object totals were left out.
    pub objects_dropped: usize,
}

fn key_figure(f: &Figures, sort: SortBy) -> u64 {
    match sort {
        SortBy::Size => f.size,
        SortBy::Rss => f.rss.unwrap_or(0),
        SortBy::Pss => f.pss.unwrap_or(0),
        SortBy::Uss => crate::vocab::figures::uss(f).unwrap_or(0),
        SortBy::Swap => f.swap.unwrap_or(0),
    }
}

/// Folds `report` into a summary.
pub fn summarize(report: &Report, by: By, sort: SortBy, top: Option<usize>) -> Summary {
    let mut rows: BTreeMap<(Option<String>, Kind), Row> = BTreeMap::new();
    let mut objects: BTreeMap<String, Row> = BTreeMap::new();
    for r in &report.regions {
        let object = match by {
            By::Object => r.object.as_deref().map(str::to_string),
            By::Kind => None,
        };
        let row = rows.entry((object.clone(), r.kind)).or_insert_with(|| Row {
            object: object.clone(),
            kind: Some(r.kind),
            regions: 0,
            figures: Figures::zero(),
        });
        row.regions += 1;
        row.figures.add(&r.figures);
        if let (By::Object, Some(o)) = (by, &r.object) {
            let t = objects.entry(o.to_string()).or_insert_with(|| Row {
                object: Some(o.to_string()),
                kind: None,
                regions: 0,
                figures: Figures::zero(),
            });
            t.regions += 1;
            t.figures.add(&r.figures);
        }
    }
    let mut rows: Vec<Row> = rows.into_values().collect();
    let mut objects: Vec<Row> = objects.into_values().collect();
    // Largest first; ties in a stable, readable order (object, then kind).
    rows.sort_by_key(|r| std::cmp::Reverse(key_figure(&r.figures, sort)));
    objects.sort_by_key(|r| std::cmp::Reverse(key_figure(&r.figures, sort)));
    let mut cut = None;
    if let Some(n) = top {
        let (rows_dropped, objects_dropped) = (
            rows.len().saturating_sub(n),
            objects.len().saturating_sub(n),
        );
        rows.truncate(n);
        objects.truncate(n);
        if rows_dropped + objects_dropped > 0 {
            cut = Some(Cut {
                top: n,
                rows_dropped,
                objects_dropped,
            });
        }
    }
    Summary {
        schema_version: SCHEMA_VERSION,
        pid: report.pid,
        by,
        rows,
        objects,
        totals: report.totals.clone(),
        huge_text: report
            .objects
            .iter()
            .try_fold(0, |a, o| figures::sum(Some(a), o.huge_text)),
        cut,
        warnings: report.warnings.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Region;

    fn region(object: Option<&str>, kind: Kind, size: u64, rss: Option<u64>) -> Region {
        Region {
            start: 0,
            end: size,
            perms: "r--p".into(),
            offset: Some(0),
            dev: "00:00".into(),
            inode: 0,
            path: None,
            path_bytes: None,
            object: object.map(std::sync::Arc::from),
            instance: None,
            kind,
            segment: None,
            split: false,
            line: 1,
            figures: Figures {
                size,
                rss,
                ..Figures::default()
            },
            remapped: None,
            private: None,
            verified: None,
        }
    }

    fn report(regions: Vec<Region>) -> Report {
        let mut totals = Figures::zero();
        for r in &regions {
            totals.add(&r.figures);
        }
        Report {
            schema_version: 1,
            pid: None,
            command: None,
            page_size: 4096,
            source: crate::vocab::MapsSource::Smaps,
            regions,
            objects: vec![],
            warnings: vec![],
            totals,
            split_pss_exact: None,
        }
    }

    #[test]
    fn sums_per_object_and_kind() {
        let r = report(vec![
            region(Some("/lib/a.so"), Kind::Text, 8192, Some(4096)),
            region(Some("/lib/a.so"), Kind::Text, 4096, None),
            region(Some("/lib/a.so"), Kind::Bss, 4096, Some(4096)),
            region(Some("/lib/b.so"), Kind::Text, 40960, Some(0)),
            region(None, Kind::Heap, 4096, Some(4096)),
        ]);
        let s = summarize(&r, By::Object, SortBy::Size, None);
        assert_eq!(s.rows[0].object.as_deref(), Some("/lib/b.so"));
        let a_text = s
            .rows
            .iter()
            .find(|x| x.object.as_deref() == Some("/lib/a.so") && x.kind == Some(Kind::Text))
            .unwrap();
        // One of the two regions has no known rss: neither has the sum.
        assert_eq!(
            (a_text.figures.size, a_text.figures.rss, a_text.regions),
            (12288, None, 2)
        );
        let heap = s.rows.iter().find(|x| x.kind == Some(Kind::Heap)).unwrap();
        assert_eq!(heap.object, None);
        let a = s
            .objects
            .iter()
            .find(|x| x.object.as_deref() == Some("/lib/a.so"))
            .unwrap();
        assert_eq!(a.figures.size, 16384);
        let total: u64 = s.rows.iter().map(|x| x.figures.size).sum();
        assert_eq!(total, s.totals.size);

        assert_eq!(s.cut, None);
        assert_eq!(summarize(&r, By::Object, SortBy::Size, Some(10)).cut, None);

        let k = summarize(&r, By::Kind, SortBy::Rss, Some(2));
        assert_eq!(
            k.cut,
            Some(Cut {
                top: 2,
                rows_dropped: 1,
                objects_dropped: 0
            })
        );
        assert_eq!(serde_json::to_value(&k).unwrap()["cut"]["rows_dropped"], 1);
        assert_eq!(k.rows.len(), 2);
        assert!(k.rows.iter().all(|x| x.object.is_none()));
        assert_eq!(k.rows[0].figures.rss, Some(4096));
    }
}

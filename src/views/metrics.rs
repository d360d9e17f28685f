//! `elfmaps metrics`: the reports of a system scan folded into the metric families
//! that Prometheus scrapes (docs/metrics.md). A [`Metrics`] holds, per group of
//! processes (their comm, cgroup or user, chosen by the caller), object and kind, the
//! figures of the five memory families; the build IDs of the objects named; and how
//! many processes were read or skipped.
//!
//! Cardinality is bounded: in each group the `top` objects with the most pss keep
//! their own series and the rest are summed into [`OTHER`], so that a sum over a
//! family's labels is the same before and after folding. Memory of no object (heap,
//! anonymous, stack, ...) is object [`NONE`] with its kind. There is no PID label.
//!
//! Figures are summed by the one rule of [`Figures::add`]: a sum with an unknown term
//! is unknown, and an unknown figure is left out of the exposition, never written as
//! a lower bound.

use std::collections::{BTreeSet, HashMap};

use crate::report::Report;
use crate::views::system::{Skipped, uss};
use crate::vocab::escape::{escape, escape_str};
use crate::vocab::{Figures, Kind};

/// The label value of an object named `path` (its text form) with `bytes` (when it is
/// not UTF-8): the printed form of its bytes ([`crate::vocab::escape`]).
fn label(path: &str, bytes: Option<&[u8]>) -> String {
    match bytes {
        Some(b) => escape(b),
        None => escape_str(path).into_owned(),
    }
}

/// The object label of the objects folded out of a group's top N.
pub const OTHER: &str = "[other]";

/// The object label of memory of no object (heap, anonymous, stack, shm, ...).
pub const NONE: &str = "[none]";

/// The default number of objects per group that keep their own series.
pub const DEFAULT_TOP: usize = 20;

/// What the `group` label is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupBy {
    /// The process name (comm).
    #[default]
    Comm,
    /// The cgroup (a container, a systemd unit): the unified hierarchy's path.
    Cgroup,
    /// The user (name, or UID when it has none).
    User,
}

/// One family of memory figures: its name, unit, help and how to read its value.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Family {
    /// The metric name (ends in `_bytes`).
    pub name: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
    /// Its value in a sum of figures (unknown: `None`).
    pub value: fn(&Figures) -> Option<u64>,
}

/// The five memory families, each with labels group, object and kind.
pub const FAMILIES: [Family; 5] = [
    Family {
        name: "elfmaps_resident_bytes",
        help: "Resident memory (smaps Rss) by group of processes, object and kind.",
        value: |f| f.rss,
    },
    Family {
        name: "elfmaps_proportional_resident_bytes",
        help: "Proportional set size (smaps Pss: each page divided by the processes that map it) by group, object and kind.",
        value: |f| f.pss,
    },
    Family {
        name: "elfmaps_private_bytes",
        help: "Unique set size (smaps Private_Clean + Private_Dirty) by group, object and kind.",
        value: uss,
    },
    Family {
        name: "elfmaps_swap_bytes",
        help: "Swapped-out memory (smaps Swap) by group, object and kind.",
        value: |f| f.swap,
    },
    Family {
        name: "elfmaps_virtual_bytes",
        help: "Mapped address space (virtual size) by group, object and kind.",
        value: |f| Some(f.size),
    },
];

/// One series of the memory families: a group's memory of one kind of one object.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Series {
    /// The group of processes, in its printed form ([`crate::vocab::escape`]).
    pub group: String,
    /// The object's path in its printed form, [`NONE`] or [`OTHER`].
    pub object: String,
    /// The kind of memory.
    pub kind: Kind,
    /// The sum of the regions' figures.
    pub figures: Figures,
}

/// Processes of the scan by state: the series of `elfmaps_processes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Processes {
    /// Read.
    pub scanned: usize,
    /// What the scan could not read, by reason.
    pub skipped: Skipped,
}

impl Processes {
    /// `(state, count)` for each state, in the order they are exposed.
    pub fn states(&self) -> [(&'static str, usize); 6] {
        let s = &self.skipped;
        [
            ("scanned", self.scanned),
            ("exited", s.exited),
            ("denied", s.denied),
            ("failed", s.failed),
            ("kernel_thread", s.kernel_threads),
            ("zombie", s.zombies),
        ]
    }
}

/// Everything one scrape exposes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Metrics {
    /// The memory series, by group, object, kind.
    pub series: Vec<Series>,
    /// `(object, build_id)` of every object named in `series` that has a build ID.
    pub objects: Vec<(String, String)>,
    /// How many (group, object, kind) series were folded into [`OTHER`].
    pub dropped: usize,
    /// The processes by state.
    pub processes: Processes,
    /// How long the scan took, in seconds.
    pub scrape_seconds: f64,
    /// Each group's own total: the sum of its processes' smaps totals, by group.
    pub group_totals: Vec<(String, Figures)>,
}

/// Folds reports into [`Metrics`], one process at a time.
#[derive(Debug)]
pub struct Builder {
    top: usize,
    /// group -> (object, kind) -> figures.
    groups: HashMap<String, HashMap<(String, Kind), Figures>>,
    totals: HashMap<String, Figures>,
    /// (path, build ID) of every object met.
    build_ids: BTreeSet<(String, String)>,
    scanned: usize,
}

impl Builder {
    /// An empty scrape that keeps `top` objects per group.
    pub fn new(top: usize) -> Builder {
        Builder {
            top,
            groups: HashMap::new(),
            totals: HashMap::new(),
            build_ids: BTreeSet::new(),
            scanned: 0,
        }
    }

    /// Adds the report of one process of group `group`.
    ///
    /// Objects are told apart by the bytes of their names, written as their label
    /// values will be (the printed form of [`crate::vocab::escape`]): two files whose
    /// names differ only in bytes that are not UTF-8 are two series. Names whose printed forms are equal (a name holding a
    /// literal `\e` and one holding ESC) are one series, as Prometheus would see them.
    pub fn add(&mut self, group: &str, report: &Report) {
        self.scanned += 1;
        let group = escape_str(group);
        let rows = self.groups.entry(group.to_string()).or_default();
        let names: Vec<String> = report
            .objects
            .iter()
            .map(|o| label(&o.path, o.path_bytes.as_deref()))
            .collect();
        for r in &report.regions {
            let object = r
                .instance
                .and_then(|i| names.get(i))
                .map_or(NONE, String::as_str);
            rows.entry((object.to_string(), r.kind))
                .or_insert_with(Figures::zero)
                .add(&r.figures);
        }
        for (o, name) in report.objects.iter().zip(names) {
            if let Some(b) = &o.build_id {
                self.build_ids.insert((name, b.clone()));
            }
        }
        self.totals
            .entry(group.into_owned())
            .or_insert_with(Figures::zero)
            .add(&report.totals);
    }

    /// The scrape, with the processes the scan `skipped` and how long it took.
    pub fn finish(self, skipped: Skipped, scrape_seconds: f64) -> Metrics {
        let mut series = Vec::new();
        let mut dropped = 0;
        for (group, rows) in self.groups {
            // Objects by their pss over all kinds, largest first (unknown as 0).
            let mut by_object: HashMap<&str, u64> = HashMap::new();
            for ((object, _), f) in &rows {
                if object != NONE {
                    let p = by_object.entry(object).or_default();
                    *p = p.saturating_add(f.pss.unwrap_or(0));
                }
            }
            let mut ranked: Vec<(&str, u64)> = by_object.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            let kept: BTreeSet<String> = ranked
                .iter()
                .take(self.top)
                .map(|(o, _)| o.to_string())
                .collect();
            let mut other: HashMap<Kind, Figures> = HashMap::new();
            for ((object, kind), figures) in rows {
                if object == NONE || kept.contains(&object) {
                    series.push(Series {
                        group: group.clone(),
                        object,
                        kind,
                        figures,
                    });
                } else {
                    dropped += 1;
                    other
                        .entry(kind)
                        .or_insert_with(Figures::zero)
                        .add(&figures);
                }
            }
            for (kind, figures) in other {
                series.push(Series {
                    group: group.clone(),
                    object: OTHER.to_string(),
                    kind,
                    figures,
                });
            }
        }
        series.sort_by(|a, b| {
            (&a.group, &a.object, a.kind.as_str()).cmp(&(&b.group, &b.object, b.kind.as_str()))
        });
        let named: BTreeSet<&str> = series.iter().map(|s| s.object.as_str()).collect();
        let objects = self
            .build_ids
            .into_iter()
            .filter(|(o, _)| named.contains(o.as_str()))
            .collect();
        let mut group_totals: Vec<(String, Figures)> = self.totals.into_iter().collect();
        group_totals.sort_by(|a, b| a.0.cmp(&b.0));
        Metrics {
            series,
            objects,
            dropped,
            processes: Processes {
                scanned: self.scanned,
                skipped,
            },
            scrape_seconds,
            group_totals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report of regions: (object path, kind, pss).
    fn report(regions: &[(Option<&str>, Kind, u64)]) -> Report {
        let mut objects: Vec<serde_json::Value> = Vec::new();
        let mut rs = Vec::new();
        for (i, (obj, kind, pss)) in regions.iter().enumerate() {
            let instance = obj.map(
                |path| match objects.iter().position(|o| o["path"] == path) {
                    Some(k) => k,
                    None => {
                        objects.push(serde_json::json!({
                            "index": objects.len(), "path": path, "build_id": "ab12", "bias": 0,
                            "type": "DYN", "machine": "X86_64", "class": 64, "endian": "little",
                            "dev": "08:01", "inode": 1, "span_start": 0, "span_end": 0,
                            "opened": null, "problem": null, "totals": Figures::zero()
                        }));
                        objects.len() - 1
                    }
                },
            );
            rs.push(serde_json::json!({
                "start": i * 0x1000, "end": i * 0x1000 + 0x1000, "perms": "r--p",
                "offset": 0, "dev": "08:01", "inode": 0, "path": null,
                "object": obj, "instance": instance, "kind": kind,
                "segment": null, "split": false, "line": i + 1, "size": 4096, "rss": 4096,
                "pss": pss, "shared_clean": 0, "shared_dirty": 0, "private_clean": 0,
                "private_dirty": 4096, "anonymous": 0, "swap": 0, "swap_pss": 0,
                "locked": 0, "hugetlb": 0
            }));
        }
        let v = serde_json::json!({
            "schema_version": 1, "pid": 1, "page_size": 4096, "source": "smaps",
            "regions": rs, "objects": objects, "warnings": [], "totals": Figures::zero()
        });
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn top_n_folds_into_other_and_sums_hold() {
        let regions = [
            (Some("/a"), Kind::Text, 4000),
            (Some("/a"), Kind::Data, 100),
            (Some("/b"), Kind::Text, 3000),
            (Some("/c"), Kind::Text, 2000),
            (Some("/c"), Kind::Bss, 5),
            (Some("/d"), Kind::Text, 1000),
            (None, Kind::Heap, 9000),
        ];
        let mut b = Builder::new(2);
        b.add("x", &report(&regions));
        b.add("y", &report(&regions[..2]));
        let m = b.finish(Skipped::default(), 0.5);
        let sum = |g: &str| -> u64 {
            m.series
                .iter()
                .filter(|s| s.group == g)
                .map(|s| s.figures.pss.unwrap())
                .sum()
        };
        assert_eq!(sum("x"), regions.iter().map(|r| r.2).sum::<u64>());
        assert_eq!(sum("y"), 4100);
        // /c text and bss, /d text folded; /a and /b kept, heap kept.
        assert_eq!(m.dropped, 3);
        let other: Vec<_> = m.series.iter().filter(|s| s.object == OTHER).collect();
        assert_eq!(other.len(), 2);
        let text = other.iter().find(|s| s.kind == Kind::Text).unwrap();
        assert_eq!(text.figures.pss, Some(3000));
        assert!(m.series.iter().any(|s| s.object == NONE));
        // Build IDs only of the objects named.
        assert_eq!(
            m.objects,
            vec![("/a".into(), "ab12".into()), ("/b".into(), "ab12".into())]
        );
        assert_eq!(m.processes.states()[0], ("scanned", 2));
    }

    /// Issue 19 §9: names that differ only in bytes that are not UTF-8 were one series
    /// (both U+FFFD), and ESC and BEL reached the label values.
    #[test]
    fn objects_are_told_apart_by_bytes_and_labels_are_printable() {
        let mut r = report(&[
            (Some("/a"), Kind::Text, 1),
            (Some("/b"), Kind::Text, 2),
            (Some("/c"), Kind::Text, 4),
        ]);
        let names: [&[u8]; 3] = [b"/tmp/\xfe.so", b"/tmp/\xff.so", b"/tmp/x\x1b]0;\x07.so"];
        for (o, b) in r.objects.iter_mut().zip(names) {
            let (text, bytes) = crate::vocab::names::lossy(b);
            o.path = text;
            o.path_bytes = bytes;
        }
        let mut b = Builder::new(10);
        b.add("ev\x1bil\u{2028}", &r);
        let m = b.finish(Skipped::default(), 0.0);
        let objects: Vec<(&str, Option<u64>)> = m
            .series
            .iter()
            .map(|s| (s.object.as_str(), s.figures.pss))
            .collect();
        assert_eq!(
            objects,
            [
                ("/tmp/\\xfe.so", Some(1)),
                ("/tmp/\\xff.so", Some(2)),
                ("/tmp/x\\e]0;\\x07.so", Some(4))
            ]
        );
        assert!(m.series.iter().all(|s| s.group == "ev\\eil\\u{2028}"));
    }
}

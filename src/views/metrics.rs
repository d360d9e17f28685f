//! `elfmaps metrics`: the reports of a system scan folded into the metric families
//! that Prometheus scrapes (docs/metrics.md). A [`Metrics`] holds, per group of
//! processes (their comm, cgroup, user, systemd unit or container, chosen by the
//! caller), object and kind, the figures of the five memory families; the build IDs
//! of the objects named; how many processes were read or skipped, and per group.
//!
//! Cardinality is bounded per scrape and per day ([`Limits`], [`Memory`]): processes
//! younger than `min_age` are in the group [`SHORT_LIVED`]; groups smaller than
//! `min_group_bytes`, and those beyond `max_groups` distinct groups in a day, are
//! summed into the group [`OTHER`]; in each group the `top` objects with the most pss
//! keep their own series (at most `2 * top` distinct in a day) and the rest are summed
//! into the object [`OTHER`]. Folding moves memory between label values, never loses
//! it: a sum over a family's labels is the same before and after. Memory of no object
//! (heap, anonymous, stack, ...) is object [`NONE`] with its kind. There is no PID
//! label.
//!
//! Figures are summed by the one rule of [`Figures::add`]: a sum with an unknown term
//! is unknown, and an unknown figure is left out of the exposition, never written as
//! a lower bound; a group whose family leaves out a series says so
//! ([`Metrics::incomplete`]: `elfmaps_incomplete{group,family}` is 1), so that its sum
//! over the group's series is a lower bound marked as such.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::report::Report;
use crate::views::system::Skipped;
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

/// The object label of the objects folded out of a group's top N, and the group label
/// of the groups folded ([`Limits`]).
pub const OTHER: &str = "[other]";

/// The group label of processes younger than [`Limits::min_age`] (short-lived
/// commands: each would otherwise be a group of its own for one scrape).
pub const SHORT_LIVED: &str = "[short-lived]";

/// The object label of memory of no object (heap, anonymous, stack, shm, ...).
pub const NONE: &str = "[none]";

/// The default number of objects per group that keep their own series.
pub const DEFAULT_TOP: usize = 20;

/// The default of [`Limits::max_groups`].
pub const DEFAULT_MAX_GROUPS: usize = 50;

/// The default of [`Limits::min_group_bytes`]: 4 MiB of resident memory.
pub const DEFAULT_MIN_GROUP_BYTES: u64 = 4 << 20;

/// The default of [`Limits::min_age`], in seconds: a usual scrape interval.
pub const DEFAULT_MIN_AGE: f64 = 30.0;

/// How long [`Memory`] remembers a series, in seconds: a day.
pub const DAY: f64 = 86_400.0;

/// The object kinds that a loaded object's regions can have (the segment kinds, gap,
/// and unknown): with [`NONE_KINDS`], what bounds the series of a group.
#[cfg(test)]
pub const OBJECT_KINDS: usize = 7;

/// The kinds of memory of no object (heap, anon, stack, thread_stack, signal_stack,
/// guard, vdso, vvar, vsyscall, file, mapped_file, shm, device, anon_inode, kernel,
/// unknown).
#[cfg(test)]
pub const NONE_KINDS: usize = 16;

/// What bounds the series of a scrape and of a day (docs/metrics.md, "Series budget").
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// Objects per group that keep their own series in a scrape (at most twice as
    /// many in a day); the others are summed into the object [`OTHER`].
    pub top: usize,
    /// Distinct groups exposed in a day (with a [`Memory`]; else in a scrape), beside
    /// [`SHORT_LIVED`] and [`OTHER`]: the largest first; the others are summed into
    /// the group [`OTHER`].
    pub max_groups: usize,
    /// Groups with less resident memory than this are summed into the group
    /// [`OTHER`].
    pub min_group_bytes: u64,
    /// Processes younger than this (seconds) are in the group [`SHORT_LIVED`].
    pub min_age: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            top: DEFAULT_TOP,
            max_groups: DEFAULT_MAX_GROUPS,
            min_group_bytes: DEFAULT_MIN_GROUP_BYTES,
            min_age: DEFAULT_MIN_AGE,
        }
    }
}

impl Limits {
    /// Limits that keep `top` objects per group and fold no group (for a scrape of
    /// chosen processes, and tests).
    #[cfg(test)]
    pub fn top(top: usize) -> Limits {
        Limits {
            top,
            max_groups: usize::MAX,
            min_group_bytes: 0,
            min_age: 0.0,
        }
    }

    /// The most series of one memory family in one group: `top + 1` objects (the
    /// kept ones and [`OTHER`]) of [`OBJECT_KINDS`] kinds each, and [`NONE_KINDS`].
    #[cfg(test)]
    pub fn series_per_group(&self, objects: usize) -> usize {
        objects
            .saturating_add(1)
            .saturating_mul(OBJECT_KINDS)
            .saturating_add(NONE_KINDS)
    }

    /// The most series one scrape exposes (`per_day`: that a day of scrapes creates,
    /// with a [`Memory`]): (groups + 2) x (5 x the series of a memory family in a
    /// group + 8 series per group: 5 of `elfmaps_incomplete`, processes, scan
    /// seconds, group info) + the build IDs (one per object named) + 13 of the
    /// scrape. The formula of docs/metrics.md, "Series budget".
    #[cfg(test)]
    pub fn series_budget(&self, per_day: bool) -> usize {
        let objects = if per_day {
            self.top.saturating_mul(2)
        } else {
            self.top
        };
        let groups = self.max_groups.saturating_add(2);
        let per_group = self
            .series_per_group(objects)
            .saturating_mul(5)
            .saturating_add(8);
        let build_ids = groups.saturating_mul(objects);
        groups
            .saturating_mul(per_group)
            .saturating_add(build_ids)
            .saturating_add(13)
    }
}

/// What a server remembers from one scrape to the next so that a day of scrapes
/// creates a bounded number of series: when each group, and each object of a group,
/// was last exposed (Unix seconds). Entries older than a [`DAY`] are forgotten.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    groups: HashMap<String, f64>,
    objects: HashMap<(String, String), f64>,
}

impl Memory {
    /// Nothing remembered.
    pub fn new() -> Memory {
        Memory::default()
    }

    /// Forgets what was last exposed a day or more before `now`.
    fn forget(&mut self, now: f64) {
        self.groups.retain(|_, t| now - *t < DAY);
        self.objects.retain(|_, t| now - *t < DAY);
    }
}

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
    /// The systemd unit, from the cgroup path ([`unit_of`]).
    Unit,
    /// The container (Docker, containerd, CRI-O, Podman; Kubernetes pods), from the
    /// cgroup path ([`container_of`]); processes in no container by their unit.
    Container,
}

/// A group of processes: its key (the `group` label) and the labels of its
/// `elfmaps_group_info` series (unit, container ID, runtime, pod UID).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Group {
    /// The `group` label.
    pub key: String,
    /// More labels of the group: `(name, value)`.
    pub info: Vec<(&'static str, String)>,
}

impl Group {
    /// A group known by its key only.
    pub fn named(key: impl Into<String>) -> Group {
        Group {
            key: key.into(),
            info: Vec::new(),
        }
    }
}

/// The systemd unit of a cgroup path of the unified hierarchy: its innermost
/// component that ends in `.service` or `.scope` (a unit's processes, a session, a
/// container's scope), else its innermost `.slice`, else `-.slice` (the root), as
/// `systemctl status PID` names it. A unit's name is stable across restarts of its
/// processes.
pub fn unit_of(cgroup: &str) -> String {
    let parts: Vec<&str> = cgroup.split('/').filter(|p| !p.is_empty()).collect();
    // A service's own sub-cgroups (`.../foo.service/payload`) belong to it.
    parts
        .iter()
        .rev()
        .find(|p| p.ends_with(".service") || p.ends_with(".scope"))
        .or_else(|| parts.iter().rev().find(|p| p.ends_with(".slice")))
        .map_or_else(|| "-.slice".to_string(), |p| (*p).to_string())
}

/// What a cgroup path says of the container a process runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Container {
    /// The runtime: `docker`, `containerd`, `crio`, `podman`, or `kubepods` (a pod's
    /// cgroup without a runtime's prefix: the cgroupfs driver).
    pub runtime: &'static str,
    /// The container ID (64 hex digits as the runtime writes it).
    pub id: String,
    /// The Kubernetes pod's UID, when the path is under `kubepods`.
    pub pod_uid: Option<String>,
}

/// Whether `s` is a container ID: 64 lowercase hex digits.
fn is_container_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The container of a cgroup path, without asking any runtime or API server:
/// Docker (`/system.slice/docker-ID.scope`, `/docker/ID`), containerd
/// (`cri-containerd-ID.scope`), CRI-O (`crio-ID.scope`, `crio-conmon-` excluded),
/// Podman (`libpod-ID.scope`), and Kubernetes pods under either cgroup driver
/// (`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podUID.slice/...`,
/// with the UID's dashes written `_`; `/kubepods/burstable/podUID/ID`). `None` for
/// a path of no container. A container's name is not in its cgroup path (only the
/// runtime or the API server knows it), so it is not here.
pub fn container_of(cgroup: &str) -> Option<Container> {
    let mut runtime = None;
    let mut id = None;
    let mut pod_uid = None;
    for part in cgroup.split('/').filter(|p| !p.is_empty()) {
        if let Some(rest) = part.strip_suffix(".slice")
            && let Some(at) = rest.rfind("-pod")
            && rest.starts_with("kubepods")
        {
            pod_uid = Some(rest[at + 4..].replace('_', "-"));
            continue;
        }
        if let Some(uid) = part.strip_prefix("pod")
            && cgroup.contains("/kubepods")
            && uid.len() == 36
        {
            pod_uid = Some(uid.to_string());
            continue;
        }
        let scope = part.strip_suffix(".scope").unwrap_or(part);
        for (prefix, name) in [
            ("docker-", "docker"),
            ("cri-containerd-", "containerd"),
            ("crio-", "crio"),
            ("libpod-", "podman"),
        ] {
            if let Some(hex) = scope.strip_prefix(prefix)
                && is_container_id(hex)
            {
                runtime = Some(name);
                id = Some(hex.to_string());
            }
        }
        if is_container_id(part) {
            id = Some(part.to_string());
            runtime = runtime.or(Some(if cgroup.contains("/kubepods") {
                "kubepods"
            } else {
                "docker"
            }));
        }
    }
    Some(Container {
        runtime: runtime?,
        id: id?,
        pod_uid,
    })
}

/// One family of memory figures: its name, unit, help and how to read its value.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Family {
    /// The metric name (ends in `_bytes`).
    pub name: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
    /// Its value in a series (unknown: `None`).
    pub value: fn(&Series) -> Option<u64>,
    /// Whether only smaps gives it (`--rss-only` leaves it out).
    pub smaps_only: bool,
}

/// The five memory families, each with labels group, object and kind.
pub const FAMILIES: [Family; 5] = [
    Family {
        name: "elfmaps_resident_bytes",
        help: "Resident memory (smaps Rss) by group of processes, object and kind.",
        value: |s| s.figures.rss,
        smaps_only: false,
    },
    Family {
        name: "elfmaps_proportional_resident_bytes",
        help: "Proportional set size (smaps Pss: each page divided by the processes that map it) by group, object and kind.",
        value: |s| s.figures.pss,
        smaps_only: true,
    },
    Family {
        name: "elfmaps_private_bytes",
        help: "Unique set size (smaps Private_Clean + Private_Dirty) by group, object and kind.",
        value: |s| s.private,
        smaps_only: true,
    },
    Family {
        name: "elfmaps_swap_bytes",
        help: "Swapped-out memory (smaps Swap) by group, object and kind.",
        value: |s| s.figures.swap,
        smaps_only: false,
    },
    Family {
        name: "elfmaps_virtual_bytes",
        help: "Mapped address space (virtual size) by group, object and kind.",
        value: |s| Some(s.figures.size),
        smaps_only: false,
    },
];

/// The sum of a series' regions.
#[derive(Debug, Clone)]
struct Acc {
    figures: Figures,
    private: Option<u64>,
}

impl Acc {
    fn zero() -> Acc {
        Acc {
            figures: Figures::zero(),
            private: Some(0),
        }
    }

    fn add(&mut self, other: &Acc) {
        self.figures.add(&other.figures);
        self.private = crate::vocab::figures::sum(self.private, other.private);
    }
}

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
    /// The sum of the regions' unique bytes ([`crate::report::Region::private`]).
    pub private: Option<u64>,
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

/// What a scrape says of one group beside its memory series.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct GroupFacts {
    /// The group's key (the `group` label, printed form).
    pub group: String,
    /// Its processes read.
    pub processes: usize,
    /// The time spent reading and labelling them, in seconds.
    pub scan_seconds: f64,
    /// The families (by name) that leave out a series of the group: their sum over
    /// the group is a lower bound.
    pub incomplete: Vec<&'static str>,
    /// The labels of `elfmaps_group_info` (empty for a folded group).
    pub info: Vec<(&'static str, String)>,
}

/// Everything one scrape exposes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Metrics {
    /// The memory series, by group, object, kind.
    pub series: Vec<Series>,
    /// `(object, build_id)` of every object named in `series` that has a build ID.
    pub objects: Vec<(String, String)>,
    /// How many (group, object, kind) series were folded into the object [`OTHER`].
    pub dropped: usize,
    /// How many groups were folded into the group [`OTHER`].
    pub groups_folded: usize,
    /// The processes by state.
    pub processes: Processes,
    /// How long the scan took, in seconds.
    pub scrape_seconds: f64,
    /// Per group: processes, scan time, incomplete families, info labels; by group.
    pub groups: Vec<GroupFacts>,
    /// Whether the figures came from maps and pagemap (`--rss-only`): the families
    /// only smaps gives are left out, their `# HELP` and `# TYPE` lines too.
    pub rss_only: bool,
}

impl Metrics {
    /// The memory families this scrape exposes.
    pub fn families(&self) -> impl Iterator<Item = &'static Family> + '_ {
        FAMILIES
            .iter()
            .filter(move |f| !(self.rss_only && f.smaps_only))
    }

    /// Whether `family` leaves out a series of `group`.
    #[cfg(test)]
    pub fn incomplete(&self, group: &str, family: &str) -> bool {
        self.groups
            .iter()
            .any(|g| g.group == group && g.incomplete.contains(&family))
    }
}

/// One group as added: its series, totals and facts.
#[derive(Debug)]
struct Rows {
    rows: HashMap<(String, Kind), Acc>,
    totals: Figures,
    processes: usize,
    seconds: f64,
    info: Vec<(&'static str, String)>,
}

impl Rows {
    fn new(info: Vec<(&'static str, String)>) -> Rows {
        Rows {
            rows: HashMap::new(),
            totals: Figures::zero(),
            processes: 0,
            seconds: 0.0,
            info,
        }
    }

    /// Adds the rows of `other` (a group folded into this one).
    fn absorb(&mut self, other: Rows) {
        for (k, acc) in other.rows {
            self.rows.entry(k).or_insert_with(Acc::zero).add(&acc);
        }
        self.totals.add(&other.totals);
        self.processes += other.processes;
        self.seconds += other.seconds;
    }
}

/// Folds reports into [`Metrics`], one process at a time.
#[derive(Debug)]
pub struct Builder {
    limits: Limits,
    /// group -> its rows.
    groups: HashMap<String, Rows>,
    /// (path, build ID) of every object met.
    build_ids: BTreeSet<(String, String)>,
    scanned: usize,
    rss_only: bool,
}

impl Builder {
    /// An empty scrape that keeps `top` objects per group and folds no group.
    #[cfg(test)]
    pub fn new(top: usize) -> Builder {
        Builder::with_limits(Limits::top(top))
    }

    /// An empty scrape within `limits`.
    pub fn with_limits(limits: Limits) -> Builder {
        Builder {
            limits,
            groups: HashMap::new(),
            build_ids: BTreeSet::new(),
            scanned: 0,
            rss_only: false,
        }
    }

    /// Says that the reports come from maps and pagemap (`--rss-only`).
    pub fn rss_only(mut self, rss_only: bool) -> Builder {
        self.rss_only = rss_only;
        self
    }

    /// Adds the report of one process of group `group`.
    #[cfg(test)]
    pub fn add(&mut self, group: &str, report: &Report) {
        self.add_process(&Group::named(group), report, None, 0.0);
    }

    /// Adds the report of one process of `group`, `age` seconds old (when known: one
    /// younger than [`Limits::min_age`] is put in [`SHORT_LIVED`]), whose reading took
    /// `seconds`.
    ///
    /// Objects are told apart by the bytes of their names, written as their label
    /// values will be (the printed form of [`crate::vocab::escape`]): two files whose
    /// names differ only in bytes that are not UTF-8 are two series. Names whose printed forms are equal (a name holding a
    /// literal `\e` and one holding ESC) are one series, as Prometheus would see them.
    pub fn add_process(&mut self, group: &Group, report: &Report, age: Option<f64>, seconds: f64) {
        self.scanned += 1;
        let young = age.is_some_and(|a| a < self.limits.min_age);
        let (key, info) = if young {
            (SHORT_LIVED.to_string(), Vec::new())
        } else {
            (escape_str(&group.key).into_owned(), group.info.clone())
        };
        let g = self.groups.entry(key).or_insert_with(|| Rows::new(info));
        g.processes += 1;
        g.seconds += seconds;
        let names: Vec<String> = report
            .objects
            .iter()
            .map(|o| label(&o.path, o.path_bytes.as_deref()))
            .collect();
        // The report's regions summed by (object index, kind) first: one label
        // string per pair of the process, not one per region.
        let mut mine: HashMap<(Option<usize>, Kind), Acc> = HashMap::new();
        for r in &report.regions {
            let object = r.instance.filter(|&i| i < names.len());
            mine.entry((object, r.kind))
                .or_insert_with(Acc::zero)
                .add(&Acc {
                    figures: r.figures.clone(),
                    private: r.private,
                });
        }
        for ((object, kind), acc) in mine {
            let object = object.map_or(NONE, |i| names[i].as_str());
            g.rows
                .entry((object.to_string(), kind))
                .or_insert_with(Acc::zero)
                .add(&acc);
        }
        for (o, name) in report.objects.iter().zip(names) {
            if let Some(b) = &o.build_id {
                self.build_ids.insert((name, b.clone()));
            }
        }
        g.totals.add(&report.totals);
    }

    /// The scrape, with the processes the scan `skipped` and how long it took, no
    /// series remembered from earlier scrapes.
    #[cfg(test)]
    pub fn finish(self, skipped: Skipped, scrape_seconds: f64) -> Metrics {
        self.finish_with(skipped, scrape_seconds, None, 0.0)
    }

    /// The scrape, with the series of earlier scrapes remembered in `memory` (when
    /// there is one; `now` in Unix seconds): a group or object not exposed in the
    /// last day is admitted only within the day's limits ([`Limits`]).
    pub fn finish_with(
        mut self,
        skipped: Skipped,
        scrape_seconds: f64,
        mut memory: Option<&mut Memory>,
        now: f64,
    ) -> Metrics {
        if let Some(m) = memory.as_deref_mut() {
            m.forget(now);
        }
        let limits = self.limits;
        // Groups: the small ones folded, then the largest first within the limit.
        let mut folded = Rows::new(Vec::new());
        let mut groups_folded = 0;
        let mut ranked: Vec<(String, Rows)> = self.groups.drain().collect();
        ranked.sort_by(|a, b| {
            let rss = |r: &Rows| r.totals.rss.unwrap_or(0);
            rss(&b.1).cmp(&rss(&a.1)).then_with(|| a.0.cmp(&b.0))
        });
        let mut kept: Vec<(String, Rows)> = Vec::new();
        let mut admitted = 0usize;
        for (key, rows) in ranked {
            let special = key == SHORT_LIVED || key == OTHER;
            let small = rows.totals.rss.unwrap_or(0) < limits.min_group_bytes;
            let admit = special
                || (!small
                    && match memory.as_deref_mut() {
                        Some(m) if m.groups.contains_key(&key) => true,
                        Some(m) if m.groups.len() < limits.max_groups => true,
                        Some(_) => false,
                        None => admitted < limits.max_groups,
                    });
            if admit {
                if !special {
                    admitted += 1;
                    if let Some(m) = memory.as_deref_mut() {
                        m.groups.insert(key.clone(), now);
                    }
                }
                kept.push((key, rows));
            } else {
                groups_folded += 1;
                folded.absorb(rows);
            }
        }
        if groups_folded > 0 {
            match kept.iter_mut().find(|(k, _)| k == OTHER) {
                Some((_, rows)) => rows.absorb(folded),
                None => kept.push((OTHER.to_string(), folded)),
            }
        }
        let mut series = Vec::new();
        let mut dropped = 0;
        let mut facts = Vec::new();
        let per_day = limits.top.saturating_mul(2);
        for (group, g) in kept {
            // Objects by their pss over all kinds (rss with --rss-only), largest
            // first (unknown as 0).
            let mut by_object: HashMap<&str, u64> = HashMap::new();
            for ((object, _), a) in &g.rows {
                if object != NONE {
                    let p = by_object.entry(object).or_default();
                    let v = if self.rss_only {
                        a.figures.rss
                    } else {
                        a.figures.pss
                    };
                    *p = p.saturating_add(v.unwrap_or(0));
                }
            }
            let mut ranked: Vec<(&str, u64)> = by_object.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            let mut keep: BTreeSet<String> = BTreeSet::new();
            for (o, _) in ranked.iter().take(limits.top) {
                let admit = match memory.as_deref_mut() {
                    None => true,
                    Some(m) => {
                        let key = (group.clone(), o.to_string());
                        let known = m.objects.contains_key(&key);
                        let count = || m.objects.keys().filter(|(g2, _)| *g2 == group).count();
                        if known || count() < per_day {
                            m.objects.insert(key, now);
                            true
                        } else {
                            false
                        }
                    }
                };
                if admit {
                    keep.insert(o.to_string());
                }
            }
            let mut other: HashMap<Kind, Acc> = HashMap::new();
            let mut rows: BTreeMap<(String, &'static str), (Kind, Acc)> = BTreeMap::new();
            for ((object, kind), acc) in g.rows {
                if object == NONE || keep.contains(&object) {
                    rows.insert((object, kind.as_str()), (kind, acc));
                } else {
                    dropped += 1;
                    other.entry(kind).or_insert_with(Acc::zero).add(&acc);
                }
            }
            for (kind, acc) in other {
                rows.insert((OTHER.to_string(), kind.as_str()), (kind, acc));
            }
            let mut incomplete = Vec::new();
            for ((object, _), (kind, acc)) in rows {
                series.push(Series {
                    group: group.clone(),
                    object,
                    kind,
                    figures: acc.figures,
                    private: acc.private,
                });
            }
            let first = series.len() - series.iter().rev().take_while(|s| s.group == group).count();
            for f in FAMILIES.iter().filter(|f| !(self.rss_only && f.smaps_only)) {
                if series[first..].iter().any(|s| (f.value)(s).is_none()) {
                    incomplete.push(f.name);
                }
            }
            facts.push(GroupFacts {
                group,
                processes: g.processes,
                scan_seconds: g.seconds,
                incomplete,
                info: g.info,
            });
        }
        series.sort_by(|a, b| {
            (&a.group, &a.object, a.kind.as_str()).cmp(&(&b.group, &b.object, b.kind.as_str()))
        });
        facts.sort_by(|a, b| a.group.cmp(&b.group));
        let named: BTreeSet<&str> = series.iter().map(|s| s.object.as_str()).collect();
        let objects = self
            .build_ids
            .into_iter()
            .filter(|(o, _)| named.contains(o.as_str()))
            .collect();
        Metrics {
            series,
            objects,
            dropped,
            groups_folded,
            processes: Processes {
                scanned: self.scanned,
                skipped,
            },
            scrape_seconds,
            groups: facts,
            rss_only: self.rss_only,
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

    /// Issue 21: short-lived and small groups fold, and a day of scrapes admits at
    /// most `max_groups` distinct groups.
    #[test]
    fn groups_fold_by_age_size_and_day() {
        let mut big = report(&[(Some("/a"), Kind::Text, 4000), (None, Kind::Heap, 9000)]);
        big.totals.rss = Some(2 * 4096);
        let mut tiny = report(&[(None, Kind::Heap, 1)]);
        tiny.totals.rss = Some(4096);
        let limits = Limits {
            top: 5,
            max_groups: 2,
            min_group_bytes: 3 * 4096,
            min_age: 10.0,
        };
        let mut memory = Memory::new();
        let scrape = |memory: &mut Memory, names: &[&str], now: f64| {
            let mut b = Builder::with_limits(limits);
            for n in names {
                b.add_process(&Group::named(*n), &big, Some(100.0), 0.0);
                b.add_process(&Group::named(*n), &big, Some(100.0), 0.0);
            }
            b.add_process(&Group::named("curl"), &big, Some(1.0), 0.0);
            b.add_process(
                &Group::named("tiny"),
                &report(&[(None, Kind::Heap, 1)]),
                None,
                0.0,
            );
            b.finish_with(Skipped::default(), 0.0, Some(memory), now)
        };
        let m = scrape(&mut memory, &["x", "y", "z"], 0.0);
        let groups: Vec<&str> = m.groups.iter().map(|g| g.group.as_str()).collect();
        // x and y admitted (2 groups a day), z and tiny folded; curl is young.
        assert_eq!(groups, ["[other]", "[short-lived]", "x", "y"]);
        assert_eq!(m.groups_folded, 2);
        let other = m.groups.iter().find(|g| g.group == OTHER).unwrap();
        assert_eq!(other.processes, 3);
        // Sums hold: 8 processes' heap.
        let heap: u64 = m
            .series
            .iter()
            .filter(|s| s.kind == Kind::Heap)
            .map(|s| s.figures.pss.unwrap())
            .sum();
        assert_eq!(heap, 7 * 9000 + 1);
        // The next scrape, later that day: z is still out, y stays.
        let m = scrape(&mut memory, &["z", "y"], 3600.0);
        let groups: Vec<&str> = m.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(groups, ["[other]", "[short-lived]", "y"]);
        // A day after x was last exposed, z gets its place.
        let m = scrape(&mut memory, &["z"], DAY + 1.0);
        assert!(m.groups.iter().any(|g| g.group == "z"));
        assert!(limits.series_budget(true) > limits.series_budget(false));
    }

    /// A family that does not know a series of a group says so for that group.
    #[test]
    fn unknown_series_mark_the_group_incomplete() {
        let mut r = report(&[(Some("/a"), Kind::Text, 10), (None, Kind::Heap, 20)]);
        r.regions[1].private = None;
        let mut b = Builder::new(5);
        b.add("g", &r);
        b.add("h", &report(&[(None, Kind::Heap, 20)]));
        let m = b.finish(Skipped::default(), 0.0);
        assert!(m.incomplete("g", "elfmaps_private_bytes"));
        assert!(!m.incomplete("g", "elfmaps_resident_bytes"));
        assert!(!m.incomplete("h", "elfmaps_private_bytes"));
    }

    #[test]
    fn units_and_containers_from_cgroup_paths() {
        assert_eq!(unit_of("/system.slice/nginx.service"), "nginx.service");
        assert_eq!(
            unit_of("/system.slice/nginx.service/worker"),
            "nginx.service"
        );
        assert_eq!(
            unit_of("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.scope"),
            "foo.scope"
        );
        assert_eq!(unit_of("/user.slice"), "user.slice");
        assert_eq!(unit_of("/"), "-.slice");
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let c = container_of(&format!("/system.slice/docker-{id}.scope")).unwrap();
        assert_eq!((c.runtime, c.id.as_str(), c.pod_uid), ("docker", id, None));
        assert_eq!(
            container_of(&format!("/docker/{id}")).unwrap().runtime,
            "docker"
        );
        let k = container_of(&format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_0000_1111_2222_333344445555.slice/cri-containerd-{id}.scope"
        ))
        .unwrap();
        assert_eq!(k.runtime, "containerd");
        assert_eq!(
            k.pod_uid.as_deref(),
            Some("1b2c3d4e-0000-1111-2222-333344445555")
        );
        let k = container_of(&format!(
            "/kubepods/besteffort/pod1b2c3d4e-0000-1111-2222-333344445555/{id}"
        ))
        .unwrap();
        assert_eq!(
            (k.runtime, k.pod_uid.as_deref()),
            ("kubepods", Some("1b2c3d4e-0000-1111-2222-333344445555"))
        );
        assert_eq!(
            container_of(&format!("/system.slice/crio-{id}.scope"))
                .unwrap()
                .runtime,
            "crio"
        );
        assert_eq!(
            container_of(&format!("/machine.slice/libpod-{id}.scope"))
                .unwrap()
                .runtime,
            "podman"
        );
        assert!(container_of("/system.slice/crio-conmon-abc.scope").is_none());
        assert!(container_of("/system.slice/nginx.service").is_none());
        assert!(container_of(&format!("/system.slice/docker-{}.scope", &id[1..])).is_none());
    }
}

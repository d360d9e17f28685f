//! `elfmaps system`: the reports of many processes folded into one [`System`]: rows
//! per (object, kind) across processes, rows per kind, one row per process, and the
//! processes that could not be read.
//!
//! An object is known by its file's identity, not its path: device, inode and build
//! ID (where read). Two paths of one file are one row (the path shown is the smallest
//! seen); two builds at one path are two rows. Memory of no object keeps its kind
//! (heap, anon, stack, shm, file, ...) in rows whose object is null.
//!
//! Figures are sums by the one rule of [`Figures::add`]: a sum with an unknown term is
//! unknown. A process's own figures are its smaps lines' (exact even where a split
//! line's parts are not), and the machine's are the sum of its processes'.
//!
//! [`Builder`] folds one report at a time, so a scan holds one process's report at
//! once; [`System`] reads back what it writes (`diff` and `check` read saved ones).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::report::Report;
pub use crate::report::scan::{Outcome, ProcessInfo, Reason, Skipped};
use crate::vocab::figures::uss;
pub use crate::vocab::matching::ObjectGlob;
use crate::vocab::{Code, Figures, Kind, Warning};

/// Bumped on any incompatible change of the JSON of [`System`].
pub const SCHEMA_VERSION: u32 = 1;

/// The value of `kind` in the JSON of a [`System`].
pub const KIND: &str = "system";

/// The identity of an object's file: device, inode and build ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Identity {
    dev: Arc<str>,
    inode: u64,
    build_id: Option<Arc<str>>,
}

/// A map keyed by small numbers and kinds that this module makes itself (no key comes
/// from outside, so no defence against chosen collisions is needed): hashed by
/// [`FoldHasher`] instead of SipHash, which was a tenth of the aggregation's cost.
type Fast<K, V> = HashMap<K, V, BuildHasherDefault<FoldHasher>>;

/// A multiply-and-rotate hasher for the keys of [`Fast`] maps (integers and enum
/// discriminants).
#[derive(Debug, Default, Clone, Copy)]
struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// One row: an object's kind (or a kind of memory of no object) across processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Row {
    /// The object's path (the smallest of the paths it was mapped by); null for memory
    /// of no object and in rows per kind. (The strings of a row are shared with the
    /// other rows of its object: a machine has thousands of rows.)
    pub object: Option<Arc<str>>,
    /// The object's GNU build ID in hex, when it has one.
    pub build_id: Option<Arc<str>>,
    /// Device of the object's file, `major:minor` in hex as maps prints it.
    pub dev: Option<Arc<str>>,
    /// Inode of the object's file.
    pub inode: Option<u64>,
    /// The kind; null in a per-object total.
    pub kind: Option<Kind>,
    /// How many processes have memory in the row.
    pub processes: usize,
    /// How many regions were summed.
    pub regions: usize,
    /// The sum of the regions' figures (unknown when one term is).
    #[serde(flatten)]
    pub figures: Figures,
}

/// One process of the machine, with its totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessRow {
    /// Its PID.
    pub pid: u32,
    /// Its comm.
    pub comm: String,
    /// Its command line (arguments joined by spaces), when it has one and it was asked
    /// for ([`Builder::command_lines`]); else its command name (comm).
    pub command: Option<String>,
    /// Its effective user ID, when readable.
    pub uid: Option<u32>,
    /// Its regions.
    pub regions: usize,
    /// Its ELF objects (instances).
    pub objects: usize,
    /// The figures of the whole process (its smaps lines').
    #[serde(flatten)]
    pub figures: Figures,
}

/// One process's share of one object: the lines of `system --object GLOB`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Use {
    /// The process.
    pub pid: u32,
    /// Its comm.
    pub comm: String,
    /// The object's path.
    pub object: String,
    /// The object's build ID.
    pub build_id: Option<String>,
    /// Device of the object's file.
    pub dev: String,
    /// Inode of the object's file.
    pub inode: u64,
    /// Regions of the object in the process.
    pub regions: usize,
    /// The figures of the object in the process, all kinds.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The whole machine: what `system --json` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct System {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always [`KIND`] (`"system"`): what tells this document from the others.
    pub kind: String,
    /// The page size of the machine, in bytes.
    pub page_size: u64,
    /// Where it was read: `live`, `snapshot` or `smemcap`.
    pub source: String,
    /// How the pss of the parts of split maps lines was found: `exact` in every
    /// process (map counts from `/proc/kpagecount`), or `prorated` (in one process or
    /// more, by the parts' rss); absent when no line was split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_pss: Option<String>,
    /// One row per (object, kind) across processes, and per kind of memory of no
    /// object; largest pss first.
    pub rows: Vec<Row>,
    /// One row per object, all its kinds (`kind` null); largest pss first.
    pub objects: Vec<Row>,
    /// One row per kind, across objects; largest pss first.
    pub kinds: Vec<Row>,
    /// Every process read, by PID.
    pub processes: Vec<ProcessRow>,
    /// The processes selected but not read.
    pub skipped: Skipped,
    /// What elfmaps could not do or is unsure about: each warning of the processes'
    /// reports once, saying in how many processes it arose.
    pub warnings: Vec<Warning>,
    /// The whole machine: the sum of the processes' figures.
    pub totals: Figures,
    /// What `--top N` left out of the lists above ([`System::cut_to`]); `None` (absent
    /// in JSON) when they are whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<SystemCut>,
    /// Each process's share of each object, when kept ([`Builder::keep_uses`]).
    #[serde(skip)]
    pub uses: Vec<Use>,
}

/// An accumulating row.
#[derive(Debug)]
struct Acc {
    processes: usize,
    /// The last process (index + 1) counted in `processes`.
    last: usize,
    regions: usize,
    figures: Figures,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            processes: 0,
            last: 0,
            regions: 0,
            figures: Figures::zero(),
        }
    }

    fn add(&mut self, process: usize, figures: &Figures) {
        if self.last != process + 1 {
            self.last = process + 1;
            self.processes += 1;
        }
        self.regions += 1;
        self.figures.add(figures);
    }
}

/// A warning of the processes' reports, counted.
#[derive(Debug)]
struct Seen {
    first_pid: Option<u32>,
    processes: usize,
    last: usize,
}

/// How many kinds there are: [`Kind::ALL`] in the order of the enum.
const KINDS: usize = Kind::ALL.len();

/// No row yet (in `Builder::row_of`).
const NO_ROW: u32 = u32::MAX;

/// Folds reports into a [`System`], one process at a time. Rows, objects and kinds
/// are found by number (an object's number and a kind's place), not hashed: a large
/// process has thousands of regions.
#[derive(Debug)]
pub struct Builder {
    /// Every identity met, numbered in order, with the smallest path seen for it.
    identities: Vec<(Identity, Arc<str>)>,
    /// The numbers of the identities met, by inode.
    numbers: Fast<u64, Vec<u32>>,
    /// The rows (object number or none, kind), in the order met; found through
    /// `row_of` (by object number, then kind) or `anon_rows` (by kind).
    rows: Vec<((Option<u32>, Kind), Acc)>,
    row_of: Vec<[u32; KINDS]>,
    anon_rows: [u32; KINDS],
    /// Each object's totals, by object number.
    objects: Vec<Option<Acc>>,
    /// Each kind's totals, by kind (`Kind as usize`).
    kinds: [Option<Acc>; KINDS],
    processes: Vec<ProcessRow>,
    uses: Option<Fast<(usize, u32), Acc>>,
    comms: Vec<String>,
    warnings: Vec<(Warning, Seen)>,
    warning_index: HashMap<(Code, Option<String>, String), usize>,
    totals: Option<Figures>,
    /// Whether a line was split, and whether the pss of every split part was exact.
    split: Option<bool>,
    /// Whether processes keep their whole command line ([`Builder::command_lines`]).
    command_lines: bool,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// An empty machine.
    pub fn new() -> Builder {
        Builder {
            identities: Vec::new(),
            numbers: Fast::default(),
            rows: Vec::new(),
            row_of: Vec::new(),
            anon_rows: [NO_ROW; KINDS],
            objects: Vec::new(),
            kinds: [const { None }; KINDS],
            processes: Vec::new(),
            uses: None,
            comms: Vec::new(),
            warnings: Vec::new(),
            warning_index: HashMap::new(),
            totals: None,
            split: None,
            command_lines: false,
        }
    }

    /// Keeps each process's whole command line in [`ProcessRow::command`]. Without
    /// it, `command` is the process's command name (its comm): command lines carry
    /// secrets (passwords and tokens passed as arguments), and a report of the
    /// machine is read by more people than `/proc` would show them to.
    pub fn command_lines(mut self) -> Builder {
        self.command_lines = true;
        self
    }

    /// Also keeps each process's share of each object (for `--object`).
    pub fn keep_uses(mut self) -> Builder {
        self.uses = Some(Fast::default());
        self
    }

    /// Adds the report of one process.
    pub fn add(&mut self, process: &ProcessInfo, report: &Report) {
        let pi = self.processes.len();
        // Each object's identity, numbered once per report: rows are keyed by number.
        let numbers: Vec<u32> = report
            .objects
            .iter()
            .map(|o| {
                // Found by inode, then compared in place: no key is built (nor its
                // strings copied) for an identity already met.
                let same = |(i, _): &(Identity, Arc<str>)| {
                    *i.dev == *o.dev && i.build_id.as_deref() == o.build_id.as_deref()
                };
                let known = self.numbers.get(&o.inode).and_then(|ns| {
                    ns.iter()
                        .copied()
                        .find(|&n| same(&self.identities[n as usize]))
                });
                match known {
                    Some(n) => {
                        let path = &mut self.identities[n as usize].1;
                        if *o.path < **path {
                            *path = Arc::from(o.path.as_str());
                        }
                        n
                    }
                    None => {
                        let n = self.identities.len() as u32;
                        self.numbers.entry(o.inode).or_default().push(n);
                        let id = Identity {
                            dev: Arc::from(o.dev.as_str()),
                            inode: o.inode,
                            build_id: o.build_id.as_deref().map(Arc::from),
                        };
                        self.identities.push((id, Arc::from(o.path.as_str())));
                        n
                    }
                }
            })
            .collect();
        if self.row_of.len() < self.identities.len() {
            self.row_of.resize(self.identities.len(), [NO_ROW; KINDS]);
            self.objects.resize_with(self.identities.len(), || None);
        }
        for r in &report.regions {
            let id = r.instance.and_then(|i| numbers.get(i).copied());
            let k = r.kind as usize;
            let slot = match id {
                Some(n) => &mut self.row_of[n as usize][k],
                None => &mut self.anon_rows[k],
            };
            if *slot == NO_ROW {
                *slot = self.rows.len() as u32;
                self.rows.push(((id, r.kind), Acc::new()));
            }
            self.rows[*slot as usize].1.add(pi, &r.figures);
            self.kinds[k]
                .get_or_insert_with(Acc::new)
                .add(pi, &r.figures);
            if let Some(id) = id {
                self.objects[id as usize]
                    .get_or_insert_with(Acc::new)
                    .add(pi, &r.figures);
                if let Some(uses) = &mut self.uses {
                    uses.entry((pi, id))
                        .or_insert_with(Acc::new)
                        .add(pi, &r.figures);
                }
            }
        }
        for w in &report.warnings {
            let key = (w.code, w.object.clone(), w.message.clone());
            let k = match self.warning_index.get(&key) {
                Some(&k) => k,
                None => {
                    self.warning_index.insert(key, self.warnings.len());
                    self.warnings.push((
                        w.clone(),
                        Seen {
                            first_pid: report.pid,
                            processes: 0,
                            last: 0,
                        },
                    ));
                    self.warnings.len() - 1
                }
            };
            let seen = &mut self.warnings[k].1;
            if seen.last != pi + 1 {
                seen.last = pi + 1;
                seen.processes += 1;
            }
        }
        self.totals
            .get_or_insert_with(Figures::zero)
            .add(&report.totals);
        if report.regions.iter().any(|r| r.split) {
            let exact = report.split_pss_exact == Some(true);
            self.split = Some(self.split.unwrap_or(true) && exact);
        }
        self.comms.push(process.comm.clone());
        self.processes.push(ProcessRow {
            pid: process.pid,
            comm: process.comm.clone(),
            command: if self.command_lines {
                report.command.clone()
            } else {
                Some(process.comm.clone())
            },
            uid: process.uid,
            regions: report.regions.len(),
            objects: report.objects.len(),
            figures: report.totals.clone(),
        });
    }

    /// The machine, with what the scan says (`outcome`) and where it was read
    /// (`source`). `verbose` keeps the list of processes skipped.
    pub fn finish(self, outcome: Outcome, source: &str, verbose: bool) -> System {
        let ids = &self.identities;
        let row = |id: Option<u32>, kind: Option<Kind>, acc: Acc| {
            let id = id.and_then(|n| ids.get(n as usize));
            Row {
                object: id.map(|(_, path)| path.clone()),
                build_id: id.and_then(|(i, _)| i.build_id.clone()),
                dev: id.map(|(i, _)| i.dev.clone()),
                inode: id.map(|(i, _)| i.inode),
                kind,
                processes: acc.processes,
                regions: acc.regions,
                figures: acc.figures,
            }
        };
        // Each identity's rank among the paths (equal paths, equal rank; 0 is no
        // object): rows are sorted by rank, as sort_rows sorts them by path, with no
        // string compared in the sort.
        let mut by_path: Vec<usize> = (0..ids.len()).collect();
        by_path.sort_unstable_by(|&a, &b| ids[a].1.cmp(&ids[b].1));
        let mut rank = vec![0u32; ids.len()];
        let mut r = 0u32;
        for (k, &n) in by_path.iter().enumerate() {
            if k == 0 || ids[by_path[k - 1]].1 != ids[n].1 {
                r += 1;
            }
            rank[n] = r;
        }
        let rank_of = |id: Option<u32>| id.map_or(0, |n| rank[n as usize]);
        let (ranks, mut rows): (Vec<u32>, Vec<Row>) = self
            .rows
            .into_iter()
            .map(|((id, kind), acc)| (rank_of(id), row(id, Some(kind), acc)))
            .unzip();
        sort_ranked(&mut rows, &ranks);
        let (ranks, mut objects): (Vec<u32>, Vec<Row>) = self
            .objects
            .into_iter()
            .enumerate()
            .filter_map(|(id, acc)| Some((id as u32, acc?)))
            .map(|(id, acc)| (rank_of(Some(id)), row(Some(id), None, acc)))
            .unzip();
        sort_ranked(&mut objects, &ranks);
        let mut kinds: Vec<Row> = self
            .kinds
            .into_iter()
            .zip(Kind::ALL)
            .filter_map(|(acc, kind)| Some(row(None, Some(kind), acc?)))
            .collect();
        sort_rows(&mut kinds, Sort::Pss);
        let mut uses: Vec<Use> = self
            .uses
            .unwrap_or_default()
            .into_iter()
            .map(|((pi, n), acc)| {
                let (id, path) = &ids[n as usize];
                Use {
                    pid: self.processes[pi].pid,
                    comm: self.comms[pi].clone(),
                    object: path.to_string(),
                    build_id: id.build_id.as_deref().map(str::to_string),
                    dev: id.dev.to_string(),
                    inode: id.inode,
                    regions: acc.regions,
                    figures: acc.figures,
                }
            })
            .collect();
        uses.sort_by(|a, b| (&a.object, a.pid).cmp(&(&b.object, b.pid)));
        let mut processes = self.processes;
        processes.sort_by_key(|p| p.pid);
        let mut warnings: Vec<Warning> = self
            .warnings
            .into_iter()
            .map(|(mut w, seen)| {
                let pid = seen.first_pid.map_or_else(|| "?".into(), |p| p.to_string());
                w.message = match seen.processes {
                    1 => format!("{} (PID {pid})", w.message),
                    n => format!("{} (PID {pid} and {} other processes)", w.message, n - 1),
                };
                w
            })
            .collect();
        let mut skipped = outcome.skipped;
        warnings.extend(skipped.warning());
        if !verbose {
            skipped.processes.clear();
        }
        System {
            schema_version: SCHEMA_VERSION,
            kind: KIND.to_string(),
            page_size: outcome.page_size.get(),
            source: source.to_string(),
            split_pss: self
                .split
                .map(|e| if e { "exact" } else { "prorated" }.to_string()),
            rows,
            objects,
            kinds,
            processes,
            skipped,
            warnings,
            totals: self.totals.unwrap_or_else(Figures::zero),
            cut: None,
            uses,
        }
    }
}

/// What `system --top N` left out of each list of a [`System`] (docs/cli.md: JSON is
/// cut as the table is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SystemCut {
    /// The N of `--top`.
    pub top: usize,
    /// Rows per (object, kind) left out.
    pub rows_dropped: usize,
    /// Per-object rows left out.
    pub objects_dropped: usize,
    /// Per-kind rows left out.
    pub kinds_dropped: usize,
    /// Processes left out.
    pub processes_dropped: usize,
}

impl System {
    /// Sorts every list by `sort` and keeps the first `top` of each, saying in
    /// [`System::cut`] how many were left out (nothing when none was).
    pub fn cut_to(&mut self, sort: Sort, top: usize) {
        sort_rows(&mut self.rows, sort);
        sort_rows(&mut self.objects, sort);
        sort_rows(&mut self.kinds, sort);
        sort_processes(&mut self.processes, sort);
        let cut = SystemCut {
            top,
            rows_dropped: self.rows.len().saturating_sub(top),
            objects_dropped: self.objects.len().saturating_sub(top),
            kinds_dropped: self.kinds.len().saturating_sub(top),
            processes_dropped: self.processes.len().saturating_sub(top),
        };
        self.rows.truncate(top);
        self.objects.truncate(top);
        self.kinds.truncate(top);
        self.processes.truncate(top);
        if cut.rows_dropped + cut.objects_dropped + cut.kinds_dropped + cut.processes_dropped > 0 {
            self.cut = Some(cut);
        }
    }
}

/// Sort order of rows (largest first; unknown counts as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sort {
    /// Virtual size.
    Size,
    /// Resident bytes.
    Rss,
    /// Proportional set size.
    Pss,
    /// Unique set size (private clean + private dirty).
    Uss,
    /// Swapped-out bytes.
    Swap,
}

impl Sort {
    /// The default order (docs/cli.md): PSS where `totals` know it, else RSS, else
    /// size.
    pub fn default_for(totals: &Figures) -> Sort {
        if totals.pss.is_some() {
            Sort::Pss
        } else if totals.rss.is_some() {
            Sort::Rss
        } else {
            Sort::Size
        }
    }

    /// This measure of `f`, unknown as 0.
    pub fn of(self, f: &Figures) -> u64 {
        match self {
            Sort::Size => f.size,
            Sort::Rss => f.rss.unwrap_or(0),
            Sort::Pss => f.pss.unwrap_or(0),
            Sort::Uss => uss(f).unwrap_or(0),
            Sort::Swap => f.swap.unwrap_or(0),
        }
    }
}

/// Sorts rows largest first by `sort`; ties by object path, then kind.
///
/// The sort moves indices, not rows (a row is some 300 bytes, and a stable sort moves
/// each several times), then puts every row in its place with one swap at most.
pub fn sort_rows(rows: &mut [Row], sort: Sort) {
    let keys: Vec<u64> = rows.iter().map(|r| sort.of(&r.figures)).collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&rows[i], &rows[j]);
        keys[j]
            .cmp(&keys[i])
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.kind.map(Kind::as_str).cmp(&b.kind.map(Kind::as_str)))
            .then_with(|| a.inode.cmp(&b.inode))
    });
    permute(rows, order);
}

/// [`sort_rows`] by pss, with each row's object path given as its rank among the
/// paths (`ranks`, one per row: equal paths have equal ranks, no object is 0): the
/// same order, with integers compared instead of paths.
fn sort_ranked(rows: &mut [Row], ranks: &[u32]) {
    let keys: Vec<_> = rows
        .iter()
        .zip(ranks)
        .map(|(r, &rank)| {
            (
                std::cmp::Reverse(Sort::Pss.of(&r.figures)),
                rank,
                r.kind.map(Kind::as_str),
                r.inode,
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    // The position last: an unstable sort then orders as a stable one.
    order.sort_unstable_by(|&i, &j| (&keys[i], i).cmp(&(&keys[j], j)));
    permute(rows, order);
}

/// Reorders `items` so that position `i` holds what was at `order[i]` (`order` is a
/// permutation of the positions), by following each cycle of the permutation.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for start in 0..order.len() {
        let mut at = start;
        loop {
            let from = std::mem::replace(&mut order[at], DONE);
            if from == DONE || from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// Sorts processes largest first by `sort`; ties by PID.
pub fn sort_processes(rows: &mut [ProcessRow], sort: Sort) {
    rows.sort_by(|a, b| {
        sort.of(&b.figures)
            .cmp(&sort.of(&a.figures))
            .then_with(|| a.pid.cmp(&b.pid))
    });
}

/// The objects that match `glob` (their totals across processes, largest first by
/// `sort`), each with its processes' shares (largest first): the librank view.
pub fn object_users<'a>(
    system: &'a System,
    glob: &ObjectGlob,
    sort: Sort,
) -> Vec<(&'a Row, Vec<&'a Use>)> {
    let mut out: Vec<(&Row, Vec<&Use>)> = system
        .objects
        .iter()
        .filter(|o| o.object.as_deref().is_some_and(|p| glob.matches(p)))
        .map(|o| {
            let mut users: Vec<&Use> = system
                .uses
                .iter()
                .filter(|u| {
                    Some(u.dev.as_str()) == o.dev.as_deref()
                        && Some(u.inode) == o.inode
                        && u.build_id.as_deref() == o.build_id.as_deref()
                })
                .collect();
            users.sort_by(|a, b| {
                sort.of(&b.figures)
                    .cmp(&sort.of(&a.figures))
                    .then_with(|| a.pid.cmp(&b.pid))
            });
            (o, users)
        })
        .collect();
    out.sort_by(|a, b| {
        sort.of(&b.0.figures)
            .cmp(&sort.of(&a.0.figures))
            .then_with(|| a.0.object.cmp(&b.0.object))
    });
    out
}

/// The JSON of `system --object GLOB`: the objects that match, each with its
/// processes' shares.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct Users<'a> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `system-object`.
    pub kind: &'static str,
    /// The glob given.
    pub glob: String,
    /// The objects that match, largest first.
    pub objects: Vec<UsersOf<'a>>,
}

/// One object of [`Users`]: its totals across processes and each process's share.
#[derive(Debug, Serialize)]
#[non_exhaustive]
pub struct UsersOf<'a> {
    /// The object's row (all kinds).
    #[serde(flatten)]
    pub object: &'a Row,
    /// Each process that maps it, largest first.
    pub users: Vec<&'a Use>,
}

impl<'a> Users<'a> {
    /// The document of `groups` (from [`object_users`]) for `glob`.
    pub fn new(glob: &str, groups: &[(&'a Row, Vec<&'a Use>)]) -> Users<'a> {
        Users {
            schema_version: SCHEMA_VERSION,
            kind: "system-object",
            glob: glob.to_string(),
            objects: groups
                .iter()
                .map(|(o, u)| UsersOf {
                    object: o,
                    users: u.clone(),
                })
                .collect(),
        }
    }
}

impl System {
    /// Reads a saved `system --json` document.
    pub fn from_json(bytes: &[u8]) -> Result<System, crate::views::SavedError> {
        use crate::views::SavedError;
        let s: System = serde_json::from_slice(bytes).map_err(|err| SavedError::Invalid {
            format: "system",
            err,
        })?;
        if s.kind != KIND {
            return Err(SavedError::NotSystem { kind: s.kind });
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::PageSize;

    #[test]
    fn kinds_are_numbered_as_listed() {
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(k as usize, i, "{k:?}");
        }
    }

    #[test]
    fn permutes_by_cycles_and_sorts_as_a_stable_sort() {
        let mut items: Vec<u32> = (0..7).collect();
        permute(&mut items, vec![3, 0, 1, 2, 6, 5, 4]);
        assert_eq!(items, [3, 0, 1, 2, 6, 5, 4]);
        let row = |object: Option<&str>, kind, pss, inode| Row {
            object: object.map(Arc::from),
            build_id: None,
            dev: None,
            inode,
            kind,
            processes: 1,
            regions: 1,
            figures: Figures {
                pss,
                ..Figures::zero()
            },
        };
        let mut rows = Vec::new();
        for i in 0..60u64 {
            let object = ["/b", "/a", "/c"][(i % 3) as usize];
            let kind = [Kind::Text, Kind::Data, Kind::Bss, Kind::Heap][(i % 4) as usize];
            rows.push(row(
                (i % 5 != 0).then_some(object),
                (i % 7 != 0).then_some(kind),
                (i % 6 != 0).then_some(i % 4 * 4096),
                Some(i % 2),
            ));
        }
        let mut want = rows.clone();
        want.sort_by(|a, b| {
            Sort::Pss
                .of(&b.figures)
                .cmp(&Sort::Pss.of(&a.figures))
                .then_with(|| a.object.cmp(&b.object))
                .then_with(|| a.kind.map(Kind::as_str).cmp(&b.kind.map(Kind::as_str)))
                .then_with(|| a.inode.cmp(&b.inode))
        });
        sort_rows(&mut rows, Sort::Pss);
        assert_eq!(rows, want);
    }

    /// A region: (object path and inode, kind, rss, pss).
    type R<'a> = (Option<(&'a str, u64)>, Kind, u64, Option<u64>);

    /// A report of regions.
    fn report(pid: u32, regions: &[R]) -> Report {
        let mut objects: Vec<serde_json::Value> = Vec::new();
        let mut rs = Vec::new();
        for (i, (obj, kind, rss, pss)) in regions.iter().enumerate() {
            let instance = obj.map(|(path, inode)| {
                match objects
                    .iter()
                    .position(|o| o["path"] == path && o["inode"] == inode)
                {
                    Some(k) => k,
                    None => {
                        objects.push(serde_json::json!({
                            "index": objects.len(), "path": path, "build_id": null, "bias": 0,
                            "type": "DYN", "machine": "X86_64", "class": 64, "endian": "little",
                            "dev": "08:01", "inode": inode, "span_start": 0, "span_end": 0,
                            "opened": null, "problem": null, "totals": Figures::zero()
                        }));
                        objects.len() - 1
                    }
                }
            });
            rs.push(serde_json::json!({
                "start": i * 0x1000, "end": i * 0x1000 + 0x1000, "perms": "r--p",
                "offset": 0, "dev": "08:01", "inode": 0, "path": null,
                "object": obj.map(|o| o.0), "instance": instance, "kind": kind,
                "segment": null, "split": false, "line": i + 1, "size": 4096, "rss": rss,
                "pss": pss, "shared_clean": 0, "shared_dirty": 0, "private_clean": 0,
                "private_dirty": rss, "anonymous": 0, "swap": 0, "swap_pss": 0,
                "locked": 0, "hugetlb": 0
            }));
        }
        let v = serde_json::json!({
            "schema_version": 1, "pid": pid, "page_size": 4096, "source": "smaps",
            "regions": rs, "objects": objects,
            "warnings": [{"code": "file-unreadable", "object": "/x", "message": "gone"}],
            "totals": Figures::zero()
        });
        serde_json::from_value(v).unwrap()
    }

    fn outcome() -> Outcome {
        let mut skipped = Skipped::default();
        skipped.add(crate::report::scan::SkippedProcess {
            pid: 9,
            comm: None,
            reason: Reason::Exited,
            message: "gone".into(),
        });
        crate::report::scan::Outcome::new(PageSize::KIB4, skipped)
    }

    #[test]
    fn rows_sorted_by_rank_as_sort_rows_sorts_them() {
        let mut b = Builder::new();
        for pid in 1..6u32 {
            let regions: Vec<R> = (0..40u64)
                .map(|i| {
                    let inode = (i * u64::from(pid)) % 9;
                    let path = ["/b.so", "/a.so", "/c.so", "/a.so"][(inode % 4) as usize];
                    let kind = [Kind::Text, Kind::Data, Kind::Bss, Kind::Heap][(i % 4) as usize];
                    let obj = (i % 5 != 0).then_some((path, inode));
                    let pss = (i % 3 != 0).then_some(i % 2 * 4096);
                    (obj, kind, 4096, pss)
                })
                .collect();
            b.add(
                &ProcessInfo::new(pid, "p".into(), None),
                &report(pid, &regions),
            );
        }
        let sys = b.finish(outcome(), "live", false);
        for rows in [&sys.rows, &sys.objects, &sys.kinds] {
            let mut again = rows.clone();
            sort_rows(&mut again, Sort::Pss);
            assert_eq!(&again, rows);
        }
        assert!(sys.rows.len() > 20, "{}", sys.rows.len());
    }

    #[test]
    fn folds_by_identity_and_kind() {
        let libc = Some(("/lib/libc.so.6", 7));
        let libc2 = Some(("/usr/lib/libc.so.6", 7)); // the same file by another path
        let other = Some(("/lib/libc.so.6", 8)); // another build at the same path
        let mut b = Builder::new().keep_uses();
        b.add(
            &ProcessInfo::new(1, "a".into(), Some(0)),
            &report(
                1,
                &[
                    (libc, Kind::Text, 4096, Some(2048)),
                    (libc, Kind::Text, 4096, Some(2048)),
                    (None, Kind::Heap, 4096, Some(4096)),
                ],
            ),
        );
        b.add(
            &ProcessInfo::new(2, "b".into(), Some(0)),
            &report(
                2,
                &[
                    (libc2, Kind::Text, 4096, Some(2048)),
                    (other, Kind::Text, 4096, None),
                    (None, Kind::Heap, 4096, Some(4096)),
                ],
            ),
        );
        let s = b.finish(outcome(), "live", false);
        let text: Vec<&Row> = s
            .rows
            .iter()
            .filter(|r| r.kind == Some(Kind::Text))
            .collect();
        assert_eq!(text.len(), 2);
        let one = text.iter().find(|r| r.inode == Some(7)).unwrap();
        assert_eq!(one.object.as_deref(), Some("/lib/libc.so.6"));
        assert_eq!((one.processes, one.regions), (2, 3));
        assert_eq!(one.figures.pss, Some(3 * 2048));
        let eight = text.iter().find(|r| r.inode == Some(8)).unwrap();
        assert_eq!((eight.processes, eight.figures.pss), (1, None));
        let heap = s.rows.iter().find(|r| r.kind == Some(Kind::Heap)).unwrap();
        assert_eq!((heap.object.as_deref(), heap.processes), (None, 2));
        assert_eq!(s.kinds.len(), 2);
        assert_eq!(s.objects.len(), 2);
        assert_eq!(s.processes.len(), 2);
        // One warning, said once for both processes; the skipped process warns.
        assert_eq!(s.warnings[0].message, "gone (PID 1 and 1 other processes)");
        assert_eq!(s.warnings[1].code, Code::ProcessSkipped);
        assert!(s.skipped.processes.is_empty());
        let users = object_users(&s, &ObjectGlob::new("libc.so*").unwrap(), Sort::Pss);
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].1.len(), 2);
        assert_eq!(users[0].1[0].figures.pss, Some(4096));
        // It reads back.
        let json = serde_json::to_vec(&s).unwrap();
        let back = System::from_json(&json).unwrap();
        assert_eq!(back.rows, s.rows);
        assert!(System::from_json(br#"{"kind": "map"}"#).is_err());
    }
}

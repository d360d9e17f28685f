//! The whole machine (`elfmaps system`): every process that can be read, once, each
//! through the per-process pipeline of `map` (`live::report_of`: smaps read on a second
//! thread while it is parsed and its files opened), with the mapped files
//! of all of them read once through one [`FileCache`].
//!
//! The scan streams: each process's report is handed to a sink as soon as it is built
//! and can be dropped there (the views fold it into rows), so memory follows the
//! largest process, not the machine. A process that cannot be read (it exited, access
//! is denied, it is a kernel thread or a zombie) is counted and listed in
//! [`Skipped`]; the scan never stops for one process.
//!
//! [`process_report`] is the one place that turns a live process into a report for
//! the scan and for `map PID PID...`: a mode of reading figures other than smaps (the
//! RSS-only mode of maps and pagemap) plugs in there, as another [`Mode`].

use std::io::{self, Write};
use std::path::Path;

use super::Error;
use crate::input::smemcap::{self, Smemcap};
use crate::input::snapshot::{SkippedEntry, SystemSnapshot};
use crate::report::Report;
pub use crate::report::scan::{Outcome, ProcessInfo, Reason, Scanned, Skipped, SkippedProcess};
use crate::source::cache::FileCache;
use crate::source::proc::{self, Facts, ProcError, Process};
use crate::vocab::PageSize;

pub use super::live::Mode;

/// Which processes a scan reads. Every condition given must hold; with none, every
/// process but elfmaps itself.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Selection {
    /// Only these PIDs (elfmaps itself included when listed).
    pub pids: Option<Vec<u32>>,
    /// Only processes with one of these names (comm, or the file name of the
    /// executable or of the first argument, as pidof matches).
    pub names: Vec<String>,
    /// Only processes of this effective user ID.
    pub user: Option<u32>,
    /// Only processes in this cgroup or below it (a path as `/proc/PID/cgroup` shows
    /// it, e.g. `/system.slice/foo.service`).
    pub cgroup: Option<String>,
    /// Leave out the user ID of each process (no read of its status file) unless
    /// the selection is by user ([`Selection::without_uids`]).
    pub(crate) no_uids: bool,
}

impl Selection {
    /// Every process (but elfmaps itself).
    pub fn all() -> Selection {
        Selection::default()
    }

    /// Only the processes `pids`.
    pub fn pids(pids: Vec<u32>) -> Selection {
        Selection {
            pids: Some(pids),
            ..Selection::default()
        }
    }

    /// The same selection, also by name.
    pub fn with_names(mut self, names: Vec<String>) -> Selection {
        self.names = names;
        self
    }

    /// The same selection, also by effective user ID.
    pub fn with_user(mut self, user: Option<u32>) -> Selection {
        self.user = user;
        self
    }

    /// The same selection, also by cgroup.
    pub fn with_cgroup(mut self, cgroup: Option<String>) -> Selection {
        self.cgroup = cgroup;
        self
    }

    /// The same selection, without reading each process's user ID (the exporter
    /// grouping by anything but user): [`ProcessInfo::uid`] is then `None` unless
    /// the selection is by user.
    pub fn without_uids(mut self) -> Selection {
        self.no_uids = true;
        self
    }

    /// Whether a condition beyond PIDs is given: then a process that vanished before
    /// its facts were read cannot be said to have been selected.
    fn filters(&self) -> bool {
        !self.names.is_empty() || self.user.is_some() || self.cgroup.is_some()
    }

    /// Whether a recorded process (a snapshot or a capture) is selected: by its PID,
    /// its comm or the file name of its first argument, its user. (A cgroup is not
    /// recorded: a selection by cgroup selects none.)
    fn matches_recorded(
        &self,
        pid: u32,
        comm: &str,
        command: Option<&str>,
        uid: Option<u32>,
    ) -> bool {
        if self.pids.as_ref().is_some_and(|p| !p.contains(&pid)) {
            return false;
        }
        if self.user.is_some_and(|u| uid != Some(u)) || self.cgroup.is_some() {
            return false;
        }
        let argv0 = command
            .and_then(|c| c.split(' ').next())
            .map(|a| a.rsplit('/').next().unwrap_or(a));
        self.names.is_empty()
            || self
                .names
                .iter()
                .any(|n| n == comm || Some(n.as_str()) == argv0)
    }

    /// Whether `process` (whose stat says `facts`, and whose effective UID is `uid`)
    /// is selected.
    fn matches(&self, process: &Process, facts: &Facts, uid: Option<u32>) -> bool {
        if let Some(want) = self.user
            && uid != Some(want)
        {
            return false;
        }
        if let Some(cg) = &self.cgroup
            && !process
                .cgroups()
                .iter()
                .any(|p| proc::in_cgroup(p, cg.as_bytes()))
        {
            return false;
        }
        self.names.is_empty()
            || self
                .names
                .iter()
                .any(|n| process.is_named(n.as_bytes(), &facts.comm))
    }
}

/// The PIDs a live scan considers: those selected, or every process but elfmaps.
fn candidates(selection: &Selection) -> io::Result<Vec<u32>> {
    Ok(match &selection.pids {
        Some(list) => list.clone(),
        None => {
            let own = proc::own_pid();
            let mut all = proc::pids()?;
            all.retain(|&p| p != own);
            all
        }
    })
}

/// Scans the selected live processes, handing each report to `sink` as it is made.
/// `Err` only when `/proc` cannot be listed.
///
/// Processes are read on as many threads as the machine has CPUs (at most
/// [`MAX_WORKERS`]): the kernel generates each smaps on the reading thread, so two
/// processes are read at once on two CPUs. Which processes are selected is decided
/// first, on this thread, from their stat files (a few small reads each); the largest
/// selected processes (by resident pages) are then started first, one for each
/// thread, so that one large process read last does not leave the other threads idle
/// at the end. Reports reach `sink` in the order of the PIDs all the same, so the
/// result does not depend on which thread was faster, and at most [`WINDOW`] reports
/// wait for a slower one: memory still follows the largest processes, not the
/// machine.
pub fn scan(
    selection: &Selection,
    mode: Mode,
    sink: &mut dyn FnMut(Scanned),
) -> io::Result<Outcome> {
    let cache = FileCache::new();
    scan_with(selection, &|_| mode, &cache, None, &mut |s, _| sink(s))
}

/// What [`scan_with`] tells of each process beside its report: how it was read and
/// how long reading and labelling it took (seconds, on its thread).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Cost {
    /// The mode chosen for it.
    pub mode: Mode,
    /// Seconds spent on it.
    pub seconds: f64,
}

/// [`scan`], with the mode of each process chosen by `mode` from its PID and stat
/// (the exporter's per-target budget), the files read through `cache` (which may
/// outlive the scan: the exporter keeps it from one scrape to the next), the labels
/// of processes whose maps did not change since the last scan taken from `memo`
/// ([`super::memo`]), and each report handed to `sink` with its [`Cost`].
pub fn scan_with(
    selection: &Selection,
    mode: &(dyn Fn(&Facts) -> Mode + Sync),
    cache: &FileCache,
    memo: Option<&super::memo::Memo>,
    sink: &mut dyn FnMut(Scanned, Cost),
) -> io::Result<Outcome> {
    use std::sync::Mutex;

    let files_before = cache.files();
    let hits_before = cache.hits();
    let mut outcome = Outcome::new(proc::page_size(), Skipped::default());
    let pids = candidates(selection)?;
    let selected: Vec<Selected> = pids.iter().map(|&pid| select(pid, selection)).collect();
    let size = |i: usize| match &selected[i] {
        Ok(Some((_, facts, _))) => facts.rss_pages,
        _ => 0,
    };
    let readable = selected.iter().filter(|s| matches!(s, Ok(Some(_)))).count();
    // A steady state (labels kept for 9 in 10 of the processes: little besides the
    // kernel's printing) is read on one thread: handing reports between threads
    // would cost more than it saves.
    let steady = memo.is_some_and(|m| !m.is_empty() && m.len() * 10 >= readable * 9);
    let workers = if steady {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(MAX_WORKERS)
            .min(readable)
    };
    // The largest processes first (one per thread), then the others in PID order.
    let mut order: Vec<usize> = (0..pids.len()).collect();
    let head = if workers > 1 { workers } else { 0 };
    if head > 0 {
        let mut largest = order.clone();
        largest.sort_by_key(|&i| (std::cmp::Reverse(size(i)), i));
        largest.truncate(head);
        order.retain(|i| !largest.contains(i));
        largest.append(&mut order);
        order = largest;
    }
    // Each selected process is taken from its slot by the thread that reads it.
    let slots: Vec<Mutex<Option<Selected>>> =
        selected.into_iter().map(|s| Mutex::new(Some(s))).collect();
    let one = |i: usize| {
        let taken = slots[i].lock().unwrap_or_else(|e| e.into_inner()).take();
        taken.unwrap_or(Ok(None)).and_then(|found| {
            let Some((process, facts, uid)) = found else {
                return Ok(None);
            };
            let pid = process.pid;
            let mode = mode(&facts);
            let started = std::time::Instant::now();
            let comm = facts.comm;
            let report = super::live::report_with_memo(process, mode, Some(cache), memo)
                .map_err(|e| skipped(pid, Some(&comm), &e))?;
            let cost = Cost {
                mode,
                seconds: started.elapsed().as_secs_f64(),
            };
            Ok(Some((
                Scanned {
                    process: ProcessInfo::new(pid, comm, uid),
                    report,
                },
                cost,
            )))
        })
    };
    let mut take = |one: Result<Option<(Scanned, Cost)>, SkippedProcess>| match one {
        Ok(Some((scanned, cost))) => {
            outcome.read += 1;
            sink(scanned, cost);
        }
        Ok(None) => {}
        Err(s) => outcome.skipped.add(s),
    };
    if workers <= 1 {
        for i in 0..pids.len() {
            take(one(i));
        }
    } else {
        in_order(&order, head, workers, &one, &mut take);
    }
    outcome.files = cache.files() - files_before;
    outcome.cache_hits = cache.hits() - hits_before;
    Ok(outcome)
}

/// What [`select`] says of one PID.
type Selected = Result<Option<(Process, Facts, Option<u32>)>, SkippedProcess>;

/// At most this many threads read processes in a live scan.
pub const MAX_WORKERS: usize = 4;

/// At most this many reports of a live scan wait for the report of a process before
/// them (read by a slower thread; the largest processes, started first, are often
/// those). Reports of small processes are small: this many are a few MiB at most.
pub const WINDOW: usize = 32;

/// Runs `work` on each of the positions `0..order.len()` on `workers` threads, taking
/// them in the order of `order` (a permutation of the positions), and hands the
/// results to `emit` in the order of the positions. A thread starts a position at
/// most [`WINDOW`] ahead of the last one handed, except the first `head` of `order`
/// (started at once: at most one per thread).
fn in_order<T: Send>(
    order: &[usize],
    head: usize,
    workers: usize,
    work: &(dyn Fn(usize) -> T + Sync),
    emit: &mut dyn FnMut(T),
) {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex, mpsc};

    /// Wakes every waiting thread for good when a thread unwinds (a worker, or the
    /// caller in `emit`), so that the scope ends and the panic goes on instead of
    /// waiting for a result that will never be handed.
    struct Abandon<'a>(&'a AtomicBool, &'a Condvar);
    impl Drop for Abandon<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.store(true, Ordering::SeqCst);
                self.1.notify_all();
            }
        }
    }

    let next = AtomicUsize::new(0);
    let abandoned = AtomicBool::new(false);
    // How many results were handed to `emit`.
    let handed = Mutex::new(0usize);
    let moved = Condvar::new();
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, abandoned, handed, moved) = (&next, &abandoned, &handed, &moved);
            s.spawn(move || {
                let _guard = Abandon(abandoned, moved);
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(k) else {
                        return;
                    };
                    // Positions after the head are taken in increasing order, so the
                    // one awaited is always taken already: the wait ends.
                    if k >= head {
                        let mut h = handed.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= *h + WINDOW && !abandoned.load(Ordering::SeqCst) {
                            h = moved.wait(h).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    if abandoned.load(Ordering::SeqCst) || tx.send((i, work(i))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let _guard = Abandon(&abandoned, &moved);
        let mut pending = BTreeMap::new();
        let mut want = 0;
        for (i, t) in rx {
            pending.insert(i, t);
            let before = want;
            while let Some(t) = pending.remove(&want) {
                emit(t);
                want += 1;
            }
            if want != before {
                *handed.lock().unwrap_or_else(|e| e.into_inner()) = want;
                moved.notify_all();
            }
        }
    });
}

/// Records the selected live processes in a system snapshot written to `out`
/// ([`crate::input::snapshot`]): each as `elfmaps snapshot` records one (smaps, page
/// size, build IDs, the residency of the lines the analysis splits, thread stack
/// pointers) with its comm, command line and user; then the processes not recorded.
/// The mapped files of all of them are read once. `Err` when `/proc` cannot be listed
/// or `out` cannot be written.
pub fn snapshot_system(selection: &Selection, out: &mut dyn Write) -> io::Result<Outcome> {
    let cache = FileCache::new();
    let mut outcome = Outcome::new(proc::page_size(), Skipped::default());
    out.write_all(&SystemSnapshot::header_bytes(
        outcome.page_size,
        &super::snapshot::uname(),
    ))?;
    for pid in candidates(selection)? {
        let one = select(pid, selection).and_then(|found| {
            let Some((process, facts, uid)) = found else {
                return Ok(None);
            };
            let command = process.command();
            let (mut snap, _) = super::snapshot::snapshot_with(process, Some(&cache))
                .map_err(|e| skipped(pid, Some(&facts.comm), &e))?;
            snap.header.insert("comm".into(), facts.comm.clone());
            if let Some(c) = command {
                snap.header.insert("command".into(), c);
            }
            if let Some(u) = uid {
                snap.header.insert("uid".into(), u.to_string());
            }
            Ok(Some(SystemSnapshot::process_section(&snap)))
        });
        match one {
            Ok(Some(bytes)) => {
                outcome.read += 1;
                out.write_all(&bytes)?;
            }
            Ok(None) => {}
            Err(s) => outcome.skipped.add(s),
        }
    }
    let entries: Vec<SkippedEntry> = outcome
        .skipped
        .processes
        .iter()
        .map(|p| SkippedEntry::new(p.pid, p.reason.as_str(), p.comm.clone()))
        .collect();
    out.write_all(&SystemSnapshot::skipped_section(&entries))?;
    outcome.files = cache.files();
    outcome.cache_hits = cache.hits();
    Ok(outcome)
}

/// Analyses a system snapshot with the files under `sysroot`, handing each selected
/// process's report to `sink`. A process whose section cannot be read is counted as
/// failed, not the end of the analysis.
pub fn scan_snapshot(
    snapshot: &SystemSnapshot,
    sysroot: &Path,
    selection: &Selection,
    sink: &mut dyn FnMut(Scanned),
) -> Outcome {
    let cache = FileCache::new();
    let mut outcome = Outcome::new(
        snapshot.page_size,
        recorded_skipped(&snapshot.skipped, selection),
    );
    for i in 0..snapshot.len() {
        let snap = match snapshot.process(i) {
            Ok(s) => s,
            Err(message) => {
                outcome.skipped.add(SkippedProcess {
                    pid: 0,
                    comm: None,
                    reason: Reason::Failed,
                    message: message.to_string(),
                });
                continue;
            }
        };
        let pid = snap.pid.unwrap_or(0);
        let comm = snap.header.get("comm").cloned().unwrap_or_default();
        let command = snap.header.get("command").cloned();
        let uid = snap.header.get("uid").and_then(|u| u.parse().ok());
        if !selection.matches_recorded(pid, &comm, command.as_deref(), uid) {
            continue;
        }
        let name = format!("process {pid} of the snapshot");
        let saved = super::Saved::parsed_snapshot(snap, &name, sysroot).with_cache(&cache);
        match super::offline(saved) {
            Ok(mut report) => {
                report.pid = Some(pid);
                report.command = command;
                outcome.read += 1;
                sink(Scanned {
                    process: ProcessInfo::new(pid, comm, uid),
                    report,
                });
            }
            Err(e) => outcome.skipped.add(skipped(pid, Some(&comm), &e)),
        }
    }
    outcome.files = cache.files();
    outcome.cache_hits = cache.hits();
    outcome
}

/// The processes a recording did not record, as selected.
fn recorded_skipped(entries: &[SkippedEntry], selection: &Selection) -> Skipped {
    let mut skipped = Skipped::default();
    for e in entries {
        // Its user is not recorded: under a selection by user, it is not counted.
        let selected = selection.user.is_none()
            && selection.matches_recorded(e.pid, e.comm.as_deref().unwrap_or(""), None, None);
        if !selected {
            continue;
        }
        skipped.add(SkippedProcess {
            pid: e.pid,
            comm: e.comm.clone(),
            reason: Reason::parse(&e.reason),
            message: format!("not recorded: {}", e.reason.replace('_', " ")),
        });
    }
    skipped
}

/// Analyses an smemcap capture with the files under `sysroot`. Each process's page
/// size is its smaps' `KernelPageSize` (else `page_size`, else 4096). A process whose
/// smaps is empty in the capture is counted as denied (smemcap could not read it),
/// unless its stat says it is a kernel thread or a zombie.
pub fn scan_smemcap(
    capture: &Smemcap,
    sysroot: &Path,
    page_size: Option<PageSize>,
    selection: &Selection,
    sink: &mut dyn FnMut(Scanned),
) -> Outcome {
    let cache = FileCache::new();
    let mut outcome = Outcome::new(page_size.unwrap_or(PageSize::KIB4), Skipped::default());
    let mut first_page = None;
    for c in &capture.processes {
        let stat = c.stat.and_then(smemcap::parse_stat);
        let comm = stat.as_ref().map(|s| s.comm.clone());
        let command = smemcap::command(c.cmdline);
        if !selection.matches_recorded(
            c.pid,
            comm.as_deref().unwrap_or(""),
            command.as_deref(),
            c.uid,
        ) {
            continue;
        }
        let skip = |reason, message: &str| SkippedProcess {
            pid: c.pid,
            comm: comm.clone(),
            reason,
            message: message.to_string(),
        };
        match &stat {
            Some(s) if s.is_kernel_thread() => {
                outcome.skipped.add(skip(
                    Reason::KernelThread,
                    "a kernel thread: no user memory",
                ));
                continue;
            }
            Some(s) if s.is_zombie() => {
                outcome
                    .skipped
                    .add(skip(Reason::Zombie, "a zombie: no memory left"));
                continue;
            }
            _ => {}
        }
        if c.smaps.is_empty() {
            outcome.skipped.add(skip(
                Reason::Denied,
                "its smaps is empty in the capture (smemcap could not read it)",
            ));
            continue;
        }
        let name = format!("process {} of the capture", c.pid);
        let saved = super::Saved::text(c.smaps, &name, sysroot)
            .with_page_size(page_size)
            .with_cache(&cache);
        let mut report = match super::offline(saved) {
            Ok(r) => r,
            Err(e) => {
                outcome.skipped.add(skip(Reason::Failed, &e.to_string()));
                continue;
            }
        };
        first_page.get_or_insert(report.page_size);
        report.pid = Some(c.pid);
        report.command = command;
        outcome.read += 1;
        sink(Scanned {
            process: ProcessInfo::new(c.pid, comm.unwrap_or_default(), c.uid),
            report,
        });
    }
    if let Some(p) = first_page.and_then(|p| PageSize::new(p).ok()) {
        outcome.page_size = p;
    }
    outcome.files = cache.files();
    outcome.cache_hits = cache.hits();
    outcome
}

/// Whether live process `pid` is selected: `Ok(None)` when it is not, `Err` when it
/// is but cannot be read (a kernel thread, a zombie, gone).
fn select(pid: u32, selection: &Selection) -> Selected {
    // Vanished before anything was known: counted only when it was asked for by PID
    // or nothing else selects.
    let vanished = |e: ProcError| {
        if selection.filters() {
            Ok(None)
        } else {
            Err(skipped(pid, None, &Error::Proc(e)))
        }
    };
    let process = match Process::new(pid) {
        Ok(p) => p,
        Err(e) => return vanished(e),
    };
    let facts = match process.facts() {
        Ok(f) => f,
        Err(e) => return vanished(e),
    };
    // The status file is read first only when the selection is by user: a kernel
    // thread or a zombie needs none (most PIDs of a machine are kernel threads).
    let mut uid = selection.user.and_then(|_| process.uid());
    if !selection.matches(&process, &facts, uid) {
        return Ok(None);
    }
    if facts.kernel_thread {
        return Err(SkippedProcess {
            pid,
            comm: Some(facts.comm),
            reason: Reason::KernelThread,
            message: "a kernel thread: no user memory".into(),
        });
    }
    if facts.is_zombie() {
        return Err(skipped(
            pid,
            Some(&facts.comm),
            &Error::Proc(ProcError::Zombie(pid)),
        ));
    }
    if selection.user.is_none() && !selection.no_uids {
        uid = process.uid();
    }
    Ok(Some((process, facts, uid)))
}

/// A process that could not be read because of `e`.
fn skipped(pid: u32, comm: Option<&str>, e: &Error) -> SkippedProcess {
    SkippedProcess {
        pid,
        comm: comm.map(str::to_string),
        reason: reason(e),
        message: e.to_string(),
    }
}

/// Why a process could not be read, from the error reading it.
fn reason(e: &Error) -> Reason {
    match e {
        Error::Proc(ProcError::NoSuchProcess(_) | ProcError::Exited(_)) => Reason::Exited,
        Error::Proc(ProcError::PermissionDenied { .. }) => Reason::Denied,
        Error::Proc(ProcError::Zombie(_)) => Reason::Zombie,
        _ => Reason::Failed,
    }
}

/// The report of the live process `process`, as `map` makes it, with its mapped
/// files read through `cache` (shared by the processes of one run). A process that
/// is gone by the end of the reading is [`ProcError::Exited`]: what was read of it may
/// be partial.
pub fn process_report(
    process: Process,
    mode: Mode,
    cache: Option<&FileCache>,
) -> Result<Report, Error> {
    super::live::report_of(process, mode, cache)
}

/// The PIDs of the processes called `name` (as pidof: comm, or the file name of the
/// executable or of the first argument), elfmaps itself left out, in increasing order.
pub fn pids_named(name: &str) -> io::Result<Vec<u32>> {
    let own = proc::own_pid();
    Ok(proc::pids()?
        .into_iter()
        .filter(|&pid| pid != own)
        .filter(|&pid| {
            Process::new(pid)
                .ok()
                .and_then(|p| {
                    let f = p.facts().ok()?;
                    Some(!f.kernel_thread && p.is_named(name.as_bytes(), &f.comm))
                })
                .unwrap_or(false)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_in_the_order_of_the_items() {
        let items: Vec<u32> = (0..200).collect();
        // The slowest first, then the others in order.
        let mut order: Vec<usize> = vec![17, 34];
        order.extend((0..200).filter(|i| ![17, 34].contains(i)));
        let busy = std::sync::atomic::AtomicUsize::new(0);
        let most = std::sync::atomic::AtomicUsize::new(0);
        let work = |i: usize| {
            let i = items[i];
            use std::sync::atomic::Ordering::SeqCst;
            let now = busy.fetch_add(1, SeqCst) + 1;
            most.fetch_max(now, SeqCst);
            // Uneven work: some items are much slower than the next ones.
            if i.is_multiple_of(17) {
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
            busy.fetch_sub(1, SeqCst);
            i * 2
        };
        let mut got = Vec::new();
        in_order(&order, 2, 3, &work, &mut |x| got.push(x));
        assert_eq!(got, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(most.into_inner() <= 3);
    }

    #[test]
    fn skipped_counts_and_warning() {
        let mut s = Skipped::default();
        assert!(s.warning().is_none());
        for (pid, reason) in [
            (1, Reason::KernelThread),
            (2, Reason::Zombie),
            (3, Reason::Exited),
            (4, Reason::Denied),
            (5, Reason::Denied),
        ] {
            s.add(SkippedProcess {
                pid,
                comm: None,
                reason,
                message: String::new(),
            });
        }
        assert_eq!((s.total(), s.missing()), (5, 3));
        let w = s.warning().unwrap();
        assert_eq!(w.code, crate::vocab::Code::ProcessSkipped);
        assert!(
            w.message.starts_with("3 processes not read: 1 exited"),
            "{w:?}"
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["kernel_threads"], 1);
        assert_eq!(v["processes"][0]["reason"], "kernel_thread");
    }

    #[test]
    fn scans_this_process_by_pid() {
        let me = proc::own_pid();
        let mut got = Vec::new();
        let out = scan(
            &Selection::pids(vec![me, u32::MAX]),
            Mode::Smaps,
            &mut |s| got.push(s),
        )
        .unwrap();
        assert_eq!(out.read, 1);
        assert_eq!(out.skipped.exited, 1);
        assert_eq!(got[0].process.pid, me);
        assert!(!got[0].report.regions.is_empty());
        // The files of a second report come from the cache, with the same labels.
        let cache = FileCache::new();
        let a = process_report(Process::new(me).unwrap(), Mode::Smaps, Some(&cache)).unwrap();
        let files = cache.files();
        assert!(files >= 2, "{files} files read");
        let b = process_report(Process::new(me).unwrap(), Mode::Smaps, Some(&cache)).unwrap();
        assert!(cache.hits() >= files as u64, "{} hits", cache.hits());
        assert_eq!(cache.files(), files);
        let labels = |r: &Report| -> Vec<_> {
            r.objects
                .iter()
                .map(|o| (o.path.clone(), o.build_id.clone(), o.opened))
                .collect()
        };
        assert_eq!(labels(&a), labels(&b));
        // A scan with a name that nothing has selects nothing.
        let none = Selection::all().with_names(vec!["no such program, surely".into()]);
        let out = scan(&none, Mode::Smaps, &mut |_| panic!("selected")).unwrap();
        assert_eq!((out.read, out.skipped.total()), (0, 0));
    }
}

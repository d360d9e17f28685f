//! The whole machine (`elfmaps system`): every process that can be read, once, each
//! through the per-process pipeline ([`super::analyze_with`]), with the mapped files
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

use std::io;

use serde::{Deserialize, Serialize};

use super::live::read_mappings;
use super::{Error, analyze_with};
use crate::report::{Report, Warning};
use crate::source::LiveSource;
use crate::source::cache::FileCache;
use crate::source::proc::{self, Facts, ProcError, Process};
use crate::vocab::{Code, PageSize};

/// How the figures of each process are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// `/proc/PID/smaps`: every figure (rss, pss, clean and dirty, swap).
    #[default]
    Smaps,
}

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

    /// Whether a condition beyond PIDs is given: then a process that vanished before
    /// its facts were read cannot be said to have been selected.
    fn filters(&self) -> bool {
        !self.names.is_empty() || self.user.is_some() || self.cgroup.is_some()
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

/// Who a process of the scan is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// Its PID.
    pub pid: u32,
    /// Its comm (lossy UTF-8).
    pub comm: String,
    /// Its effective user ID, when readable.
    pub uid: Option<u32>,
}

impl ProcessInfo {
    /// A process `pid` called `comm`, of user `uid`.
    pub fn new(pid: u32, comm: String, uid: Option<u32>) -> ProcessInfo {
        ProcessInfo { pid, comm, uid }
    }
}

/// Why a process was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// It exited before or while it was read.
    Exited,
    /// Its smaps needs ptrace read access that elfmaps does not have.
    Denied,
    /// A kernel thread: no user memory.
    KernelThread,
    /// It has exited and its parent has not reaped it: no memory left.
    Zombie,
    /// Anything else (an I/O error, smaps that would not parse): `message` says.
    Failed,
}

/// One process not read, for `--verbose`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SkippedProcess {
    /// Its PID.
    pub pid: u32,
    /// Its comm, when it was read.
    pub comm: Option<String>,
    /// Why it was not read.
    pub reason: Reason,
    /// What went wrong, for `failed` (and the error of the others).
    pub message: String,
}

/// The processes a scan could not read, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Skipped {
    /// Exited before or while they were read.
    pub exited: usize,
    /// Access denied (another user's process, without root or CAP_SYS_PTRACE).
    pub denied: usize,
    /// Kernel threads (no user memory).
    pub kernel_threads: usize,
    /// Zombies (no memory left).
    pub zombies: usize,
    /// Failed for another reason (the list says why).
    #[serde(default)]
    pub failed: usize,
    /// Each process skipped (only with `--verbose`; absent otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<SkippedProcess>,
}

impl Skipped {
    /// Counts `p` under its reason and keeps it in the list.
    pub fn add(&mut self, p: SkippedProcess) {
        match p.reason {
            Reason::Exited => self.exited += 1,
            Reason::Denied => self.denied += 1,
            Reason::KernelThread => self.kernel_threads += 1,
            Reason::Zombie => self.zombies += 1,
            Reason::Failed => self.failed += 1,
        }
        self.processes.push(p);
    }

    /// The processes skipped, all reasons together.
    pub fn total(&self) -> usize {
        self.exited + self.denied + self.kernel_threads + self.zombies + self.failed
    }

    /// Processes whose memory is missing from the figures: those that exited while
    /// being read, were denied or failed. (Kernel threads and zombies have none.)
    pub fn missing(&self) -> usize {
        self.exited + self.denied + self.failed
    }

    /// The warning a scan gives when memory is missing from it (`process-skipped`).
    pub fn warning(&self) -> Option<Warning> {
        if self.missing() == 0 {
            return None;
        }
        let mut parts = Vec::new();
        for (n, what) in [
            (self.exited, "exited while being read"),
            (
                self.denied,
                "denied (another user's; needs root or CAP_SYS_PTRACE)",
            ),
            (self.failed, "failed"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        Some(Warning::new(
            Code::ProcessSkipped,
            None,
            format!(
                "{} process(es) not read: {}; their memory is not in the figures (--verbose lists them)",
                self.missing(),
                parts.join(", ")
            ),
        ))
    }
}

/// One process read by a scan.
#[derive(Debug)]
#[non_exhaustive]
pub struct Scanned {
    /// Who it is.
    pub process: ProcessInfo,
    /// Its report, as `map` makes it.
    pub report: Report,
}

/// What a scan did besides the reports it handed out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Outcome {
    /// The page size of the machine.
    pub page_size: PageSize,
    /// How many processes were read.
    pub read: usize,
    /// The processes selected but not read.
    pub skipped: Skipped,
    /// Distinct files whose headers were read.
    pub files: usize,
    /// Mapped files found in the cache instead of being opened again.
    pub cache_hits: u64,
}

impl Outcome {
    /// The outcome of a scan of a machine with pages of `page_size` that skipped
    /// `skipped` (the other counts 0).
    pub fn new(page_size: PageSize, skipped: Skipped) -> Outcome {
        Outcome {
            page_size,
            read: 0,
            skipped,
            files: 0,
            cache_hits: 0,
        }
    }
}

/// Scans the selected live processes, handing each report to `sink` as it is made.
/// `Err` only when `/proc` cannot be listed.
pub fn scan(
    selection: &Selection,
    mode: Mode,
    sink: &mut dyn FnMut(Scanned),
) -> io::Result<Outcome> {
    let own = proc::own_pid();
    let pids = match &selection.pids {
        Some(list) => list.clone(),
        None => {
            let mut all = proc::pids()?;
            all.retain(|&p| p != own);
            all
        }
    };
    let cache = FileCache::new();
    let mut skipped = Skipped::default();
    let mut read = 0;
    for pid in pids {
        match scan_one(pid, selection, mode, &cache) {
            Ok(Some(scanned)) => {
                read += 1;
                sink(scanned);
            }
            Ok(None) => {}
            Err(s) => skipped.add(s),
        }
    }
    Ok(Outcome {
        page_size: proc::page_size(),
        read,
        skipped,
        files: cache.files(),
        cache_hits: cache.hits(),
    })
}

/// One process of a scan: `Ok(None)` when it is not selected, `Err` when it is but
/// cannot be read.
fn scan_one(
    pid: u32,
    selection: &Selection,
    mode: Mode,
    cache: &FileCache,
) -> Result<Option<Scanned>, SkippedProcess> {
    let skip = |comm: Option<&str>, e: &Error| SkippedProcess {
        pid,
        comm: comm.map(str::to_string),
        reason: reason(e),
        message: e.to_string(),
    };
    // Vanished before anything was known: counted only when it was asked for by PID
    // or nothing else selects.
    let vanished = |e: ProcError| {
        if selection.filters() {
            Ok(None)
        } else {
            Err(skip(None, &Error::Proc(e)))
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
    let uid = process.uid();
    if !selection.matches(&process, &facts, uid) {
        return Ok(None);
    }
    let comm = Some(facts.comm.as_str());
    if facts.kernel_thread {
        return Err(SkippedProcess {
            pid,
            comm: comm.map(str::to_string),
            reason: Reason::KernelThread,
            message: "a kernel thread: no user memory".into(),
        });
    }
    if facts.is_zombie() {
        return Err(skip(comm, &Error::Proc(ProcError::Zombie(pid))));
    }
    let report = process_report(process, mode, Some(cache)).map_err(|e| skip(comm, &e))?;
    Ok(Some(Scanned {
        process: ProcessInfo::new(pid, facts.comm, uid),
        report,
    }))
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
    let pid = process.pid;
    let Mode::Smaps = mode;
    let (mappings, source, _) = read_mappings(&process, false)?;
    let empty = mappings.is_empty();
    let mut target = LiveSource(process);
    let mut report = analyze_with(
        mappings,
        source,
        proc::page_size(),
        Some(pid),
        &mut target,
        cache,
    );
    report.command = target.0.command();
    if !target.0.alive() {
        return Err(Error::Proc(ProcError::Exited(pid)));
    }
    if empty && target.0.is_kernel_thread() {
        report.warnings.push(Warning::new(
            Code::KernelThread,
            None,
            format!("PID {pid} is a kernel thread: it has no user address space to describe"),
        ));
    }
    Ok(report)
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
        assert_eq!(w.code, Code::ProcessSkipped);
        assert!(
            w.message.starts_with("3 process(es) not read: 1 exited"),
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
                .map(|o| (o.path.clone(), o.build_id.clone(), o.opened.clone()))
                .collect()
        };
        assert_eq!(labels(&a), labels(&b));
        // A scan with a name that nothing has selects nothing.
        let none = Selection::all().with_names(vec!["no such program, surely".into()]);
        let out = scan(&none, Mode::Smaps, &mut |_| panic!("selected")).unwrap();
        assert_eq!((out.read, out.skipped.total()), (0, 0));
    }
}

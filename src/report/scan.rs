//! The model of a scan of many processes (`elfmaps system`): who was read, who was
//! skipped and why, and what the scan did. The scan itself is in
//! [`crate::pipeline::system`]; the rows across processes in [`crate::views::system`].

use serde::{Deserialize, Serialize};

use crate::report::Report;
use crate::vocab::{Code, PageSize, Warning};

/// Who a process of the scan is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// Its PID.
    pub pid: u32,
    /// Its comm (its text form: invalid bytes as `\xNN`, [`crate::vocab::escape::text`]).
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

impl Reason {
    /// The reason as JSON and snapshots spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Exited => "exited",
            Reason::Denied => "denied",
            Reason::KernelThread => "kernel_thread",
            Reason::Zombie => "zombie",
            Reason::Failed => "failed",
        }
    }

    /// The reason spelt `s`; anything unknown is `failed`.
    pub fn parse(s: &str) -> Reason {
        match s {
            "exited" => Reason::Exited,
            "denied" => Reason::Denied,
            "kernel_thread" => Reason::KernelThread,
            "zombie" => Reason::Zombie,
            _ => Reason::Failed,
        }
    }
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
            (self.denied, "denied (no ptrace read access)"),
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
                "{} not read: {}; their memory is not in the figures (-v lists them)",
                processes(self.missing()),
                parts.join(", ")
            ),
        ))
    }
}

/// `1 process`, `2 processes`.
pub fn processes(n: usize) -> String {
    if n == 1 {
        "1 process".to_string()
    } else {
        format!("{n} processes")
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

//! What the kernel says about the process and its threads: `/proc/PID/stat` (state
//! and flags) and `/proc/PID/task/TID/syscall` (stack pointers of blocked threads).

use std::fs;

use super::Process;

impl Process {
    /// The fields of `/proc/PID/stat` after "PID (COMM)"; None when unreadable.
    fn stat_fields(&self) -> Option<Vec<String>> {
        let s = fs::read(self.dir.join("stat")).ok()?;
        Some(fields_after_comm(&s))
    }

    /// Whether the process still has memory to describe: it exists, is not a zombie
    /// (a zombie keeps its /proc directory but has no memory left), is not exiting
    /// (`PF_EXITING`: the kernel sets it before it tears the address space down, which
    /// for a large process takes long after smaps has stopped short), and is the
    /// process that was read: its start time is the one recorded when its smaps was
    /// opened ([`Process::note_start`]), so a new process with the same PID is not it.
    pub(crate) fn alive(&self) -> bool {
        const PF_EXITING: u64 = 0x4;
        let Ok(s) = super::read_small(&self.dir.join("stat")) else {
            return false;
        };
        if matches!(state_letter(&s), Some(b'Z' | b'X')) {
            return false;
        }
        let fields = fields_after_comm(&s);
        let flags = fields.get(6).and_then(|f| f.parse::<u64>().ok());
        if flags.is_none_or(|f| f & PF_EXITING != 0) {
            return false;
        }
        match self.started.get() {
            Some(Some(t)) => start_time(&fields) == Some(*t),
            _ => true,
        }
    }

    /// Records the start time of the process (`/proc/PID/stat` field 22), once, before
    /// its smaps is read: [`Process::alive`] then knows a process that took its PID.
    pub(crate) fn note_start(&self) {
        self.started
            .get_or_init(|| start_time(&self.stat_fields()?));
    }

    /// The start time of the process (clock ticks after boot), recorded once
    /// ([`Process::note_start`]): with the PID, it names one process for good.
    pub(crate) fn start_ticks(&self) -> Option<u64> {
        self.note_start();
        (*self.started.get()?)?.into()
    }

    /// Whether the process is a zombie (or dead): state `Z` or `X`.
    pub(crate) fn is_zombie(&self) -> bool {
        super::read_small(&self.dir.join("stat"))
            .is_ok_and(|s| matches!(state_letter(&s), Some(b'Z' | b'X')))
    }

    /// A time by which the process had surely started, in nanoseconds of the
    /// real-time clock: `starttime` of `/proc/PID/stat` (clock ticks after boot, in
    /// CLOCK_BOOTTIME, rounded down) plus one tick, plus the real-time clock's value
    /// at boot. A file written after it was written after the start; one written in
    /// the tick the process started in (10 ms: a program built and run at once) is
    /// not counted, so that it never gives a false alarm. The start is recorded once
    /// per process ([`Process::note_start`]).
    pub(crate) fn start_time_ns(&self) -> Option<i128> {
        self.note_start();
        let ticks: i128 = (*self.started.get()?)?.into();
        // SAFETY: sysconf has no preconditions.
        let hz = i128::from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) });
        let now = |clock| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: ts is a valid timespec for clock_gettime to fill.
            (unsafe { libc::clock_gettime(clock, &mut ts) } == 0)
                .then(|| i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec))
        };
        let (real, boot) = (now(libc::CLOCK_REALTIME)?, now(libc::CLOCK_BOOTTIME)?);
        (hz > 0).then(|| real - boot + (ticks + 1) * 1_000_000_000 / hz)
    }

    /// Whether the process is a kernel thread (PF_KTHREAD in the flags of
    /// `/proc/PID/stat`): it has no user address space, so its maps are empty.
    pub(crate) fn is_kernel_thread(&self) -> bool {
        const PF_KTHREAD: u64 = 0x0020_0000;
        self.stat_fields()
            .and_then(|f| f.get(6)?.parse::<u64>().ok())
            .is_some_and(|flags| flags & PF_KTHREAD != 0)
    }

    /// Stack pointers of the threads other than the main one, from
    /// `/proc/PID/task/TID/syscall` (needs ptrace attach rights; threads that are
    /// running at that moment are skipped).
    pub(crate) fn thread_stack_pointers(&self) -> Vec<u64> {
        let Ok(tasks) = fs::read_dir(self.dir.join("task")) else {
            return Vec::new();
        };
        let main = self.pid.to_string();
        tasks
            .flatten()
            .filter(|t| t.file_name().to_str() != Some(main.as_str()))
            .filter_map(|t| fs::read_to_string(t.path().join("syscall")).ok())
            .filter_map(|s| syscall_stack_pointer(&s))
            .collect()
    }
}

/// The fields of a stat line after "PID (COMM)" (COMM may hold anything, `)` and
/// spaces included: the last `)` ends it): state ppid pgrp session tty_nr tpgid
/// flags ...; empty when there is no "(COMM)".
fn fields_after_comm(s: &[u8]) -> Vec<String> {
    let rest = match s.iter().rposition(|&b| b == b')') {
        Some(i) => &s[i + 1..],
        None => &[][..],
    };
    String::from_utf8_lossy(rest)
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect()
}

/// The start time of the process of a whole stat line `s` (for `list.rs`).
#[cfg(feature = "cli")]
pub(super) fn start_of(s: &[u8]) -> Option<u64> {
    start_time(&fields_after_comm(s))
}

/// The start time of a process (clock ticks after boot): field 22 of its stat line,
/// the 20th after "PID (COMM)".
fn start_time(fields_after_comm: &[String]) -> Option<u64> {
    fields_after_comm.get(19)?.parse().ok()
}

/// The state letter of a stat line: the first field after "PID (COMM)" (the last `)`
/// ends COMM); `None` when there is none.
fn state_letter(s: &[u8]) -> Option<u8> {
    let close = s.iter().rposition(|&b| b == b')')?;
    s.get(close + 1..)?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
}

/// The stack pointer in a `task/TID/syscall` line: "nr arg1 ... arg6 sp pc" for a
/// blocked thread; "running" (or anything else) has none.
fn syscall_stack_pointer(s: &str) -> Option<u64> {
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 9 {
        return None;
    }
    fields[7]
        .strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
}

impl Process {
    /// The command of the process, for people (the first line of `map`'s table, as
    /// pmap prints it): `/proc/PID/cmdline` with its NUL-separated arguments joined by
    /// spaces, or, when it is empty (kernel threads, zombies), `[comm]` from
    /// `/proc/PID/comm`. The text form ([`crate::vocab::escape::text`]); the printer escapes it. `None` when neither can
    /// be read.
    pub(crate) fn command(&self) -> Option<String> {
        let cmdline = super::read_small(&self.dir.join("cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .collect();
        if !args.is_empty() {
            return Some(crate::vocab::escape::text(&args.join(&b' ')).into_owned());
        }
        let comm = fs::read(self.dir.join("comm")).ok()?;
        let comm = comm.strip_suffix(b"\n").unwrap_or(&comm);
        Some(format!("[{}]", crate::vocab::escape::text(comm)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_may_hold_anything() {
        let f = fields_after_comm(b"42 (a) b (c)) S 1 42 42 0 -1 2097152 0");
        assert_eq!(f[0], "S");
        assert_eq!(f[6], "2097152");
        assert!(fields_after_comm(b"42 no comm").is_empty());
        assert_eq!(state_letter(b"42 (a) b (c)) Z 1"), Some(b'Z'));
        assert_eq!(state_letter(b"42 (a)  S 1"), Some(b'S'));
        assert_eq!(state_letter(b"42 no comm"), None);
        let f = fields_after_comm(
            b"42 (a b) S 1 42 42 0 -1 4194304 90 0 0 0 0 0 0 0 20 0 1 0 123456 2000 300",
        );
        assert_eq!(start_time(&f), Some(123456));
    }

    /// A process whose start time is not the one recorded before its smaps was read
    /// is another process that took the PID: not the one read.
    #[test]
    fn another_start_time_is_another_process() {
        let me = Process::new(std::process::id()).unwrap();
        me.note_start();
        assert!(matches!(me.started.get(), Some(Some(_))));
        assert!(me.alive());
        let other = Process::new(std::process::id()).unwrap();
        other.started.set(Some(1)).unwrap();
        assert!(!other.alive());
    }

    #[test]
    fn stack_pointers_of_blocked_threads() {
        let blocked = "202 0x7f00 0x80 0x0 0x0 0x0 0x0 0x7ffd1230 0x7f4455\n";
        assert_eq!(syscall_stack_pointer(blocked), Some(0x7ffd1230));
        assert_eq!(syscall_stack_pointer("running\n"), None);
        assert_eq!(syscall_stack_pointer("-1 0x7ffd1230 0x7f4455\n"), None);
    }
}

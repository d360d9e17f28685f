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

    /// Whether the process still has memory to describe: it exists and is not a
    /// zombie (a zombie keeps its /proc directory but has no memory left). Reads the
    /// state letter alone: no field is copied.
    pub(crate) fn alive(&self) -> bool {
        let Ok(s) = super::list::read_small(&self.dir.join("stat")) else {
            return false;
        };
        !matches!(state_letter(&s), Some(b'Z' | b'X'))
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
        let cmdline = super::list::read_small(&self.dir.join("cmdline")).unwrap_or_default();
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
    }

    #[test]
    fn stack_pointers_of_blocked_threads() {
        let blocked = "202 0x7f00 0x80 0x0 0x0 0x0 0x0 0x7ffd1230 0x7f4455\n";
        assert_eq!(syscall_stack_pointer(blocked), Some(0x7ffd1230));
        assert_eq!(syscall_stack_pointer("running\n"), None);
        assert_eq!(syscall_stack_pointer("-1 0x7ffd1230 0x7f4455\n"), None);
    }
}

//! The processes of the machine, for a scan of all of them (`elfmaps system`) and for
//! `map NAME`: which PIDs exist, and the facts that select and name a process (its
//! comm, state, whether it is a kernel thread, its owner, its cgroup, the name of its
//! executable) without reading its memory.
//!
//! Everything here is read from files of `/proc/PID` that any user may read (`stat`,
//! `status`, `cgroup`, `cmdline`), except the executable's link (`exe`), which needs
//! ptrace read access and is only a second way to match a name.

use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;

use super::{ProcError, Process, classify_io, read_small};

/// The PIDs of every process visible in `/proc` (thread group leaders: threads are
/// under `/proc/PID/task`), in increasing order.
pub fn pids() -> io::Result<Vec<u32>> {
    let mut pids: Vec<u32> = fs::read_dir("/proc")?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.as_bytes();
            if name.first().is_some_and(u8::is_ascii_digit) {
                std::str::from_utf8(name).ok()?.parse().ok()
            } else {
                None
            }
        })
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// The PID of elfmaps itself (what `self` names on the command line).
pub fn own_pid() -> u32 {
    std::process::id()
}

/// What `/proc/PID/stat` says about a process, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Facts {
    /// The process ID.
    pub pid: u32,
    /// Its comm: the name of its executable cut to 15 bytes, or what it set with
    /// `prctl(PR_SET_NAME)` (its text form: invalid bytes as `\xNN`, [`crate::vocab::escape::text`]).
    pub comm: String,
    /// The state letter: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub state: char,
    /// Its parent's PID.
    pub ppid: u32,
    /// Whether it is a kernel thread (`PF_KTHREAD` in its flags): no user memory.
    pub kernel_thread: bool,
    /// Its resident pages (`rss`, the 24th field; 0 when missing): how much reading
    /// its smaps will cost, roughly, so that a scan can start the largest first.
    pub rss_pages: u64,
}

impl Facts {
    /// Whether it has exited and holds no memory (a zombie, or a dead task).
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// The facts of a `/proc/PID/stat` line (parsed by [`crate::input::smemcap::parse_stat`],
/// which reads captured ones too).
fn parse_stat(pid: u32, s: &[u8]) -> Option<Facts> {
    let st = crate::input::smemcap::parse_stat(s)?;
    // Fields after "PID (COMM)": state is the first, rss (field 24) the 22nd.
    let rss_pages = s
        .iter()
        .rposition(|&b| b == b')')
        .and_then(|close| {
            std::str::from_utf8(&s[close + 1..])
                .ok()?
                .split_ascii_whitespace()
                .nth(21)?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    Some(Facts {
        pid,
        rss_pages,
        kernel_thread: st.is_kernel_thread(),
        comm: st.comm,
        state: st.state,
        ppid: st.ppid,
    })
}

impl Process {
    /// The facts of `/proc/PID/stat`. A process that is gone is
    /// [`ProcError::NoSuchProcess`].
    pub fn facts(&self) -> Result<Facts, ProcError> {
        let path = self.dir.join("stat");
        let s = read_small(&path).map_err(|e| classify_io(path.clone(), e, self.pid))?;
        // Its start time too, once (what `note_start` would read again).
        self.started.get_or_init(|| super::stat::start_of(&s));
        parse_stat(self.pid, &s).ok_or_else(|| ProcError::Io {
            path,
            err: io::Error::new(io::ErrorKind::InvalidData, "malformed stat line"),
        })
    }

    /// The effective user ID of the process (`Uid:` of `/proc/PID/status`), which
    /// `ps -u` and `pgrep -u` match; `None` when it cannot be read.
    pub fn uid(&self) -> Option<u32> {
        let s = read_small(&self.dir.join("status")).ok()?;
        status_uid(&s)
    }

    /// The cgroup paths of the process (`/proc/PID/cgroup`: one per hierarchy; one
    /// line `0::PATH` under cgroup v2). Empty when it cannot be read.
    pub fn cgroups(&self) -> Vec<Vec<u8>> {
        let Ok(s) = fs::read(self.dir.join("cgroup")) else {
            return Vec::new();
        };
        s.split(|&b| b == b'\n')
            .filter_map(|l| {
                // ID:CONTROLLERS:PATH; the path may hold ':'.
                let mut parts = l.splitn(3, |&b| b == b':');
                let (_, _, path) = (parts.next()?, parts.next()?, parts.next()?);
                Some(path.to_vec())
            })
            .collect()
    }

    /// The file name of the process's executable (`/proc/PID/exe`, without a
    /// ` (deleted)` suffix); `None` without ptrace read access or for kernel threads.
    pub fn exe_name(&self) -> Option<Vec<u8>> {
        let link = fs::read_link(self.dir.join("exe")).ok()?;
        let bytes = link.as_os_str().as_bytes();
        let bytes = bytes.strip_suffix(b" (deleted)").unwrap_or(bytes);
        Some(base_name(bytes).to_vec())
    }

    /// The file name of its first argument (`argv[0]` in `/proc/PID/cmdline`), which
    /// pidof also matches; `None` when empty or unreadable.
    pub fn argv0_name(&self) -> Option<Vec<u8>> {
        let cmdline = fs::read(self.dir.join("cmdline")).ok()?;
        let argv0 = cmdline.split(|&b| b == 0).next()?;
        // A program that rewrote its arguments may have put spaces in argv[0].
        let argv0 = argv0.split(|&b| b == b' ').next()?;
        (!argv0.is_empty()).then(|| base_name(argv0).to_vec())
    }

    /// Whether the process is called `name`, as pidof understands it: its comm, the
    /// file name of its executable, or that of its first argument. (A comm is cut to
    /// 15 bytes: a longer name is matched by the executable or the argument.)
    pub fn is_named(&self, name: &[u8], comm: &str) -> bool {
        comm.as_bytes() == name
            || self.exe_name().is_some_and(|n| n == name)
            || self.argv0_name().is_some_and(|n| n == name)
    }
}

/// The last component of a path.
fn base_name(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// The effective UID in a status file: `Uid:\tREAL\tEFFECTIVE\tSAVED\tFS`.
fn status_uid(s: &[u8]) -> Option<u32> {
    let line = s.split(|&b| b == b'\n').find(|l| l.starts_with(b"Uid:"))?;
    let text = std::str::from_utf8(&line[4..]).ok()?;
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// The user ID of the user `name` (the password database, through the C library so
/// that NSS sources count), or `name` itself when it is a number.
pub fn user_id(name: &str) -> Option<u32> {
    if let Ok(uid) = name.parse() {
        return Some(uid);
    }
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: passwd is plain data; getpwnam_r fills it with pointers into buf, which
    // outlives every use below, and sets result to null or to &pwd.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        (rc == 0 && !result.is_null()).then_some(pwd.pw_uid)
    }
}

/// Whether `path` (from `/proc/PID/cgroup`) is the cgroup `wanted` or lies below it.
pub fn in_cgroup(path: &[u8], wanted: &[u8]) -> bool {
    let wanted = match wanted.strip_suffix(b"/") {
        Some(w) if !w.is_empty() => w,
        _ => wanted,
    };
    if wanted == b"/" {
        return true;
    }
    path == wanted || (path.starts_with(wanted) && path.get(wanted.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines() {
        let f = parse_stat(42, b"42 (a) b (c)) S 7 42 42 0 -1 4194560 0 0").unwrap();
        assert_eq!((f.comm.as_str(), f.state, f.ppid), ("a) b (c)", 'S', 7));
        assert_eq!(f.rss_pages, 0);
        let line = b"7 (x y) S 1 7 7 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 99 2994176 450 18446744073709551615";
        assert_eq!(parse_stat(7, line).unwrap().rss_pages, 450);
        assert!(!f.kernel_thread);
        let k = parse_stat(2, b"2 (kthreadd) S 0 0 0 0 -1 2129984 0").unwrap();
        assert!(k.kernel_thread);
        let z = parse_stat(9, b"9 (x) Z 1 9 9 0 -1 4227084 0").unwrap();
        assert!(z.is_zombie());
        assert!(parse_stat(1, b"1 no comm").is_none());
        assert!(parse_stat(1, b"1 (x)").is_none());
    }

    #[test]
    fn own_process() {
        let me = Process::new(own_pid()).unwrap();
        let f = me.facts().unwrap();
        assert!(!f.kernel_thread);
        // SAFETY: geteuid has no preconditions.
        assert_eq!(me.uid(), Some(unsafe { libc::geteuid() }));
        assert!(pids().unwrap().contains(&own_pid()));
        let exe = me.exe_name().unwrap();
        assert!(me.is_named(&exe, &f.comm));
        assert!(!me.is_named(b"no such program", &f.comm));
    }

    #[test]
    fn uids_and_cgroups() {
        assert_eq!(
            status_uid(b"Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t1\t1\t1\t1\n"),
            Some(0)
        );
        assert_eq!(status_uid(b"Name:\tx\n"), None);
        assert_eq!(user_id("root"), Some(0));
        assert_eq!(user_id("1234"), Some(1234));
        assert!(in_cgroup(b"/system.slice/a.service", b"/system.slice"));
        assert!(in_cgroup(b"/system.slice/a.service", b"/system.slice/"));
        assert!(in_cgroup(b"/system.slice", b"/system.slice"));
        assert!(!in_cgroup(b"/system.slicer", b"/system.slice"));
        assert!(in_cgroup(b"/anything", b"/"));
    }
}

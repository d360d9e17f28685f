//! The one module that touches `/proc`: a live process's smaps (or maps), the files
//! it maps, its pagemap, and its threads' stack pointers, one concern a file:
//!
//! - `stat`: `/proc/PID/stat` (alive, kernel thread, start time) and
//!   `task/TID/syscall` (thread stack pointers);
//! - `maps`: streaming smaps (or maps), and build IDs from the `PROCMAP_QUERY` ioctl;
//! - `open`: the open policy for mapped files (the path itself, `map_files`, `root`),
//!   and whether a mapped inode was written after the process started;
//! - `pagemap`: residency from the `PAGEMAP_SCAN` ioctl or pagemap entries, the only
//!   place that knows the kernel's pagemap bits;
//! - `ioctl`: the request numbers of those two ioctls (`_IOWR` from the argument's
//!   size) and the one `ioctl` call;
//! - `list`: the processes of the machine and the facts that select them (comm, owner,
//!   cgroup, executable), for `elfmaps system` and `map NAME`;
//! - `stamp`: a mapped file's identity from one `stat`, for the cache of a scan;
//! - `kpagecount`: each present page's map count (exact PSS, with CAP_SYS_ADMIN);
//! - `mounts`: `/proc/PID/mountinfo`, which filesystem a mapped file is on, known
//!   from maps' device alone (files on network and FUSE filesystems: `source::remote`).
//!
//! Files named by a process's maps are first opened with `O_PATH | O_NOFOLLOW` and
//! `fstat`ed; only a regular file with the maps line's device and inode is then opened
//! for reading (a FIFO, a device or a link is never opened, so nothing blocks and no
//! driver or FIFO writer sees an open; `source::files`), and read with bounded `pread`
//! through [`crate::input::elf::ReadAt`], never mmap: a library truncated during an
//! upgrade gives a read error, not SIGBUS
//! (docs/design.md).

mod ioctl;
mod kpagecount;
mod maps;
mod mem;
mod mounts;
mod open;
mod pagemap;
mod stamp;
mod stat;
// The processes of the machine: only the command line lists them (`cli` feature).
#[cfg(feature = "cli")]
mod list;

#[cfg(feature = "cli")]
pub use list::{Facts, in_cgroup, own_pid, pids, user_id};
pub use mounts::MountTables;
#[cfg(feature = "cli")]
pub use pagemap::ScanRun;

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;

use crate::vocab::PageSize;

/// Why a live process could not be read at all.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProcError {
    /// No `/proc/PID`: there is no such process (or it is not visible).
    NoSuchProcess(u32),
    /// The process disappeared while it was being read: it exited (or executed
    /// another program, or its PID is another process's now), so what was read of it
    /// may be cut short.
    Exited(u32),
    /// The process has exited but is not reaped: no memory left.
    Zombie(u32),
    /// A file of `/proc/PID` needs ptrace read access that elfmaps does not have.
    PermissionDenied {
        /// The file that could not be read.
        path: PathBuf,
    },
    /// Any other error reading a file of `/proc/PID`.
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// What the kernel said.
        err: io::Error,
    },
}

impl std::fmt::Display for ProcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcError::NoSuchProcess(pid) => write!(f, "no process with PID {pid}"),
            ProcError::Exited(pid) => write!(
                f,
                "process {pid} exited (or executed another program) while it was being read: what was read of it is not the whole process"
            ),
            // SAFETY: geteuid has no preconditions and cannot fail.
            ProcError::PermissionDenied { path } if unsafe { libc::geteuid() } == 0 => write!(
                f,
                "permission denied reading {} although elfmaps runs as root: ptrace read access is refused (CAP_SYS_PTRACE dropped, as in a container, or a security module: Yama ptrace_scope 3, SELinux, AppArmor)",
                crate::vocab::escape::path_text(path)
            ),
            ProcError::PermissionDenied { path } => write!(
                f,
                "permission denied reading {}: it needs ptrace read access to the process (the same user and a dumpable process, or root / CAP_SYS_PTRACE)",
                crate::vocab::escape::path_text(path)
            ),
            ProcError::Zombie(pid) => write!(
                f,
                "process {pid} has exited (a zombie its parent has not reaped): it has no memory to describe"
            ),
            ProcError::Io { path, err } => {
                write!(f, "{}: {err}", crate::vocab::escape::path_text(path))
            }
        }
    }
}

impl ProcError {
    /// The stable code of this error.
    pub fn code(&self) -> crate::vocab::Code {
        use crate::vocab::Code;
        match self {
            ProcError::NoSuchProcess(_) => Code::NoSuchProcess,
            ProcError::Exited(_) | ProcError::Zombie(_) => Code::ProcessExited,
            ProcError::PermissionDenied { .. } => Code::PermissionDenied,
            ProcError::Io { .. } => Code::InputUnreadable,
        }
    }
}

impl std::error::Error for ProcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProcError::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}

/// A live process: `/proc/PID`, with the files elfmaps keeps open on it.
#[derive(Debug)]
pub struct Process {
    /// The process ID.
    pub pid: u32,
    dir: PathBuf,
    pagemap: Option<io::Result<File>>,
    maps_fd: std::sync::OnceLock<io::Result<File>>,
    same_view: std::sync::OnceLock<bool>,
    /// The start time from stat, recorded before smaps is read (`None` inside when
    /// stat could not be read).
    started: std::sync::OnceLock<Option<u64>>,
    mounts: std::sync::OnceLock<std::sync::Arc<mounts::Mounts>>,
}

/// An error opening or reading a file of `/proc/PID`, as the user should read it.
fn classify_io(path: PathBuf, err: io::Error, pid: u32) -> ProcError {
    match err.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => ProcError::NoSuchProcess(pid),
        Some(libc::EACCES) | Some(libc::EPERM) => ProcError::PermissionDenied { path },
        _ => ProcError::Io { path, err },
    }
}

/// The whole of a small file of `/proc`, read without the `stat` that `fs::read`
/// makes to size its buffer (a file of `/proc` says size 0): a scan reads two of
/// them per process.
fn read_small(path: &std::path::Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        match std::io::Read::read(&mut file, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The running kernel's page size (4 KiB if the kernel says something that is not a
/// page size).
pub fn page_size() -> PageSize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p)
        .ok()
        .and_then(|p| PageSize::new(p).ok())
        .unwrap_or(PageSize::KIB4)
}

impl Process {
    /// The process `pid`, if `/proc/PID` exists and can be looked at.
    pub fn new(pid: u32) -> Result<Process, ProcError> {
        let dir = PathBuf::from(format!("/proc/{pid}"));
        match fs::metadata(&dir) {
            Ok(_) => Ok(Process {
                pid,
                dir,
                pagemap: None,
                maps_fd: std::sync::OnceLock::new(),
                same_view: std::sync::OnceLock::new(),
                started: std::sync::OnceLock::new(),
                mounts: std::sync::OnceLock::new(),
            }),
            Err(e) => Err(classify_io(dir, e, pid)),
        }
    }
}

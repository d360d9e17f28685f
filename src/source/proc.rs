//! The one module that touches `/proc`: reading a live process's smaps (or maps),
//! opening the files it maps, its pagemap, and its threads' stack pointers.
//!
//! Files named by a process's maps are opened with `O_NONBLOCK` after a `stat` (a
//! FIFO or a device is never opened for reading, so nothing blocks and no driver sees
//! an open), and read with bounded `pread` through [`crate::input::elf::ReadAt`], never mmap:
//! a library truncated during an upgrade gives a read error, not SIGBUS
//! (docs/design.md).

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Bytes asked for per read of smaps: fewer reads leave the process less room to
/// change between them (only one read of the file is consistent).
const CHUNK: usize = 256 * 1024;

use super::files::open_checked;
use super::{Opened, Precheck, Via};
use crate::input::maps::{Mapping, NameKind};
use crate::vocab::{PageSize, Residency};

/// Why a live process could not be read at all.
#[derive(Debug)]
pub enum ProcError {
    NoSuchProcess(u32),
    /// The process disappeared while it was being read.
    Exited(u32),
    /// The process has exited but is not reaped: no memory left.
    Zombie(u32),
    PermissionDenied {
        path: PathBuf,
    },
    Io {
        path: PathBuf,
        err: io::Error,
    },
}

impl std::fmt::Display for ProcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcError::NoSuchProcess(pid) => write!(f, "no process with PID {pid}"),
            ProcError::Exited(pid) => write!(f, "process {pid} exited while it was being read"),
            ProcError::PermissionDenied { path } => write!(
                f,
                "permission denied reading {}: it needs ptrace read access to the process (the same user and a dumpable process, or root / CAP_SYS_PTRACE)",
                path.display()
            ),
            ProcError::Zombie(pid) => write!(
                f,
                "process {pid} has exited (a zombie its parent has not reaped): it has no memory to describe"
            ),
            ProcError::Io { path, err } => write!(f, "{}: {err}", path.display()),
        }
    }
}

impl std::error::Error for ProcError {}

/// A live process.
#[derive(Debug)]
pub struct Process {
    pub pid: u32,
    dir: PathBuf,
    pagemap: Option<io::Result<File>>,
    maps_fd: Option<io::Result<File>>,
    same_view: std::sync::OnceLock<bool>,
}

fn classify_io(path: PathBuf, err: io::Error, pid: u32) -> ProcError {
    match err.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => ProcError::NoSuchProcess(pid),
        Some(libc::EACCES) | Some(libc::EPERM) => ProcError::PermissionDenied { path },
        _ => ProcError::Io { path, err },
    }
}

/// The running kernel's page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as u64 } else { 4096 }
}

impl Process {
    pub fn new(pid: u32) -> Result<Process, ProcError> {
        let dir = PathBuf::from(format!("/proc/{pid}"));
        match fs::metadata(&dir) {
            Ok(_) => Ok(Process {
                pid,
                dir,
                pagemap: None,
                maps_fd: None,
                same_view: std::sync::OnceLock::new(),
            }),
            Err(e) => Err(classify_io(dir, e, pid)),
        }
    }

    /// The fields of `/proc/PID/stat` after "PID (COMM)" (COMM may hold anything):
    /// state ppid pgrp session tty_nr tpgid flags ...; None when unreadable, empty when
    /// there is no "(COMM)".
    fn stat_fields(&self) -> Option<Vec<String>> {
        let s = fs::read(self.dir.join("stat")).ok()?;
        let rest = match s.iter().rposition(|&b| b == b')') {
            Some(i) => &s[i + 1..],
            None => &[][..],
        };
        Some(
            String::from_utf8_lossy(rest)
                .split_ascii_whitespace()
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn alive(&self) -> bool {
        // A zombie keeps its /proc directory but has no memory left to describe.
        self.stat_fields()
            .is_some_and(|f| !matches!(f.first().map(String::as_str), Some("Z" | "X")))
    }

    /// Whether the process is a kernel thread (PF_KTHREAD in the flags of
    /// `/proc/PID/stat`): it has no user address space, so its maps are empty.
    pub fn is_kernel_thread(&self) -> bool {
        const PF_KTHREAD: u64 = 0x0020_0000;
        self.stat_fields()
            .and_then(|f| f.get(6)?.parse::<u64>().ok())
            .is_some_and(|flags| flags & PF_KTHREAD != 0)
    }

    /// Reads smaps (or maps, when smaps cannot be opened for a reason other than
    /// permission) and hands each chunk to `sink` as it arrives, so that a large file
    /// is parsed while it is read instead of being held whole. Stops at the first
    /// error of `sink`, which is returned inside.
    pub fn read_maps_with<E>(
        &self,
        mut sink: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Result<&'static str, E>, ProcError> {
        let smaps = self.dir.join("smaps");
        let (path, mut file, source) = match File::open(&smaps) {
            Ok(f) => (smaps, f, "smaps"),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
                return Err(ProcError::PermissionDenied { path: smaps });
            }
            Err(_) if !self.dir.exists() => return Err(ProcError::NoSuchProcess(self.pid)),
            Err(_) => {
                let maps = self.dir.join("maps");
                match File::open(&maps) {
                    Ok(f) => (maps, f, "maps"),
                    Err(e) => return Err(classify_io(maps, e, self.pid)),
                }
            }
        };
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0usize;
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    total += n;
                    if let Err(e) = sink(&buf[..n]) {
                        return Ok(Err(e));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify_io(path, e, self.pid)),
            }
        }
        if total == 0 && !self.alive() {
            return Err(if self.dir.exists() {
                ProcError::Zombie(self.pid)
            } else {
                ProcError::Exited(self.pid)
            });
        }
        Ok(Ok(source))
    }

    /// Opens the file that `m` maps: the mapped inode through `map_files` where
    /// permitted, else the file at the same path under `/proc/PID/root`, checked
    /// against the maps line's device and inode.
    pub fn open_mapped(&self, m: &Mapping) -> Opened {
        let precheck = match &m.fields.vm_flags {
            Some(flags) => {
                let has = |f: &[u8]| flags.split(|&b| b == b' ').any(|x| x == f);
                if has(b"io") || has(b"pf") {
                    return Opened::Device;
                }
                Precheck::NotDevice
            }
            None => Precheck::Stat,
        };
        let wanted = (m.dev_major, m.dev_minor, m.inode);
        let path = match m.name_kind() {
            NameKind::Path { path, deleted } => Some((path, deleted)),
            _ => None,
        };
        // Cheapest first: the path itself, when it means the same file for us and the
        // file there is the mapped inode (a path walk costs less than map_files).
        if let Some((path, false)) = &path
            && self.same_view()
            && let Ok(Opened::Regular { file, size, id, .. }) =
                open_checked(Path::new(OsStr::from_bytes(path)), precheck)
            && id == wanted
        {
            return Opened::Regular {
                file,
                size,
                id,
                via: Via::Path,
                mismatch: None,
            };
        }
        let via_map_files = self
            .dir
            .join(format!("map_files/{:x}-{:x}", m.start, m.end));
        let first_err = match open_checked(&via_map_files, precheck) {
            Ok(Opened::Regular { file, size, id, .. }) => {
                return Opened::Regular {
                    file,
                    size,
                    id,
                    via: Via::MapFiles,
                    mismatch: None,
                };
            }
            Ok(other) => return other,
            Err(e) => e,
        };
        let Some((path, deleted)) = path else {
            return Opened::Failed(format!(
                "cannot open {}: {first_err}",
                via_map_files.display()
            ));
        };
        let mut p = self.dir.join("root").into_os_string().into_vec();
        p.extend_from_slice(&path);
        let rooted = PathBuf::from(std::ffi::OsString::from_vec(p));
        match open_checked(&rooted, Precheck::Stat) {
            Ok(Opened::Regular { file, size, id, .. }) => {
                let mismatch = (id != wanted).then(|| {
                    format!(
                        "the file now at this path is not the mapped one (device {:02x}:{:02x} inode {} on disk, {} inode {} in maps{}); labels are checked against the maps offsets",
                        id.0,
                        id.1,
                        id.2,
                        m.dev_str(),
                        m.inode,
                        if deleted { "; the mapped file was deleted" } else { "" }
                    )
                });
                Opened::Regular {
                    file,
                    size,
                    id,
                    via: Via::Root,
                    mismatch,
                }
            }
            Ok(other) => other,
            Err(e) => Opened::Failed(format!(
                "cannot open the mapped file ({} : {first_err}; {}: {e}){}",
                via_map_files.display(),
                rooted.display(),
                if deleted {
                    "; it was deleted after mapping"
                } else {
                    ""
                }
            )),
        }
    }

    /// Whether the process sees files as elfmaps does: the same root directory and the
    /// same mount namespace (checked once).
    fn same_view(&self) -> bool {
        *self.same_view.get_or_init(|| {
            let ino = |p: PathBuf| fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
            let root_same = ino(self.dir.join("root")).is_some()
                && ino(self.dir.join("root")) == ino(PathBuf::from("/"));
            let ns_same = ino(self.dir.join("ns/mnt")).is_some()
                && ino(self.dir.join("ns/mnt")) == ino(PathBuf::from("/proc/self/ns/mnt"));
            root_same && ns_same
        })
    }

    /// Which pages of `[start, end)` are present and which swapped. A page mapped to
    /// the shared zero page is not resident, as in smaps' Rss: the PAGEMAP_SCAN ioctl
    /// (Linux 6.7+) says which pages those are; on older kernels the zero page is
    /// recognised by its PFN when PFNs are visible (CAP_SYS_ADMIN), and otherwise
    /// counted as resident.
    pub fn residency(&mut self, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
        let dir = &self.dir;
        let f = self
            .pagemap
            .get_or_insert_with(|| File::open(dir.join("pagemap")));
        let f = match f {
            Ok(f) => f,
            Err(e) => return Err(io::Error::new(e.kind(), e.to_string())),
        };
        match pagemap_scan(f, start, end, page) {
            Ok(v) => return Ok(v),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOTTY) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
                ) => {}
            Err(e) => return Err(e),
        }
        read_pagemap(f, start, end, page)
    }

    /// The build ID of the file mapped at `addr`, from the PROCMAP_QUERY ioctl (Linux
    /// 6.11+), which reports the build ID of the mapped inode even after the file was
    /// replaced on disk. `Err` when the kernel has no such ioctl (or it failed).
    pub fn query_build_id(&mut self, addr: u64) -> io::Result<Option<Vec<u8>>> {
        let dir = &self.dir;
        let f = self
            .maps_fd
            .get_or_insert_with(|| File::open(dir.join("maps")));
        let f = f
            .as_ref()
            .map_err(|e| io::Error::new(e.kind(), e.to_string()))?;
        procmap_query_build_id(f, addr)
    }

    /// Stack pointers of the threads other than the main one, from
    /// `/proc/PID/task/TID/syscall` (needs ptrace attach rights; threads that are
    /// running at that moment are skipped).
    pub fn thread_stack_pointers(&self) -> Vec<u64> {
        let Ok(tasks) = fs::read_dir(self.dir.join("task")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for t in tasks.flatten() {
            if t.file_name().to_str() == Some(&self.pid.to_string()) {
                continue;
            }
            let Ok(s) = fs::read_to_string(t.path().join("syscall")) else {
                continue;
            };
            // "nr arg1 ... arg6 sp pc" for a blocked thread; "running" otherwise.
            let fields: Vec<&str> = s.split_whitespace().collect();
            if fields.len() == 9
                && let Some(sp) = fields[7]
                    .strip_prefix("0x")
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
            {
                out.push(sp);
            }
        }
        out
    }
}

/// `struct procmap_query` of linux/fs.h (6.11).
#[repr(C)]
#[derive(Default)]
struct ProcmapQuery {
    size: u64,
    query_flags: u64,
    query_addr: u64,
    vma_start: u64,
    vma_end: u64,
    vma_flags: u64,
    vma_page_size: u64,
    vma_offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    vma_name_size: u32,
    build_id_size: u32,
    vma_name_addr: u64,
    build_id_addr: u64,
}

/// `_IOWR('f', 17, struct procmap_query)`.
const PROCMAP_QUERY: u64 =
    (3 << 30) | ((std::mem::size_of::<ProcmapQuery>() as u64) << 16) | ((b'f' as u64) << 8) | 17;

fn procmap_query_build_id(maps: &File, addr: u64) -> io::Result<Option<Vec<u8>>> {
    use std::os::fd::AsRawFd;
    let mut id = [0u8; 64];
    let mut q = ProcmapQuery {
        size: std::mem::size_of::<ProcmapQuery>() as u64,
        query_addr: addr,
        build_id_size: id.len() as u32,
        build_id_addr: id.as_mut_ptr() as u64,
        ..ProcmapQuery::default()
    };
    // SAFETY: q is a properly sized, initialised procmap_query whose build_id_addr
    // points to a writable buffer of build_id_size bytes that outlives the call.
    let rc = unsafe {
        libc::ioctl(
            maps.as_raw_fd(),
            PROCMAP_QUERY as _,
            &mut q as *mut ProcmapQuery,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if q.vma_start > addr || addr >= q.vma_end {
        return Ok(None);
    }
    let n = (q.build_id_size as usize).min(id.len());
    Ok((n > 0).then(|| id[..n].to_vec()))
}

/// pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst): page present,
/// page swapped, and the page frame number (visible with CAP_SYS_ADMIN).
const PM_PRESENT: u64 = 1 << 63;
const PM_SWAPPED: u64 = 1 << 62;
const PFN_MASK: u64 = (1 << 55) - 1;
/// Pages read per `pread` of pagemap: memory stays bounded whatever the range.
const PAGEMAP_CHUNK: u64 = 8192;

/// Residency from pagemap entries (kernels without PAGEMAP_SCAN), read a bounded chunk
/// at a time.
fn read_pagemap(f: &File, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
    let mut res = Residency::new(start, end, page);
    let pages = res.pages();
    let zero = zero_pfn();
    let first = start >> page.get().trailing_zeros();
    let mut buf = vec![0u8; (8 * pages.min(PAGEMAP_CHUNK)) as usize];
    let mut i = 0;
    while i < pages {
        let n = (pages - i).min(PAGEMAP_CHUNK);
        let chunk = &mut buf[..(8 * n) as usize];
        let at = first
            .checked_add(i)
            .and_then(|p| p.checked_mul(8))
            .ok_or_else(|| io::Error::other("address beyond pagemap"))?;
        f.read_exact_at(chunk, at)?;
        for (k, c) in chunk.chunks_exact(8).enumerate() {
            let e = u64::from_ne_bytes(c.try_into().expect("8-byte chunk"));
            let on_zero_page = zero.is_some_and(|z| e & PM_PRESENT != 0 && e & PFN_MASK == z);
            let p = i + k as u64;
            if e & PM_PRESENT != 0 && !on_zero_page {
                res.mark_present(p..p + 1);
            }
            if e & PM_SWAPPED != 0 {
                res.mark_swapped(p..p + 1);
            }
        }
        i += n;
    }
    Ok(res)
}

/// `struct page_region` of linux/fs.h.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

/// `struct pm_scan_arg` of linux/fs.h (6.7).
#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_SWAPPED: u64 = 1 << 4;
const PAGE_IS_PFNZERO: u64 = 1 << 5;
/// `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: u64 =
    (3 << 30) | ((std::mem::size_of::<PmScanArg>() as u64) << 16) | ((b'f' as u64) << 8) | 16;

/// Residency through the PAGEMAP_SCAN ioctl: runs of pages by category, so a large
/// mostly-empty mapping costs a few calls, not 8 bytes per page.
fn pagemap_scan(f: &File, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
    use std::os::fd::AsRawFd;
    let mut out = Residency::new(start, end, page);
    let mut regions = vec![PageRegion::default(); 256];
    let mut at = start;
    while at < end {
        let mut arg = PmScanArg {
            size: std::mem::size_of::<PmScanArg>() as u64,
            start: at,
            end,
            vec: regions.as_mut_ptr() as u64,
            vec_len: regions.len() as u64,
            category_anyof_mask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
            return_mask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO,
            ..PmScanArg::default()
        };
        // SAFETY: arg is a valid pm_scan_arg whose vec points to vec_len writable
        // page_region entries that outlive the call.
        let n =
            unsafe { libc::ioctl(f.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg as *mut PmScanArg) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        for r in &regions[..(n as usize).min(regions.len())] {
            let pages = out.page_indices(r.start.max(start), r.end.min(end));
            if r.categories & PAGE_IS_PRESENT != 0 && r.categories & PAGE_IS_PFNZERO == 0 {
                out.mark_present(pages.clone());
            }
            if r.categories & PAGE_IS_SWAPPED != 0 {
                out.mark_swapped(pages);
            }
        }
        if arg.walk_end <= at || (n as u64) < arg.vec_len {
            break;
        }
        at = arg.walk_end;
    }
    Ok(out)
}

/// The PFN of the shared zero page, learnt by reading a fresh anonymous page of our
/// own; `None` when PFNs are hidden (no CAP_SYS_ADMIN).
fn zero_pfn() -> Option<u64> {
    static ZERO: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *ZERO.get_or_init(|| {
        let page = page_size() as usize;
        // SAFETY: a private anonymous mapping of one page, read once, then unmapped.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return None;
            }
            let _ = std::ptr::read_volatile(p as *const u8);
            let mut entry = [0u8; 8];
            let got = File::open("/proc/self/pagemap")
                .and_then(|f| f.read_exact_at(&mut entry, (p as u64 / page as u64) * 8));
            libc::munmap(p, page);
            got.ok()?;
            let pfn = u64::from_ne_bytes(entry) & PFN_MASK;
            (pfn != 0).then_some(pfn)
        }
    })
}

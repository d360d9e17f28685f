//! Offline analysis: saved smaps/maps or a snapshot, with the files looked up under a
//! copy of the target's root filesystem (`--sysroot DIR`).
//!
//! Paths are resolved as the target's kernel would inside a chroot at DIR, and never
//! leave DIR, even while someone swaps a directory for a link during the lookup: with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` (Linux 5.6+), where the kernel
//! itself keeps every step (absolute links, `..`) inside DIR and refuses `/proc`'s
//! magic links. Only where `openat2` is missing (`ENOSYS`) are paths resolved
//! component by component here ([`resolve`]: an absolute symbolic link restarts at
//! DIR, a relative one continues where it is, a `..` that would climb above DIR is
//! refused, as is a path with more than 40 links), and the result opened without
//! following a link at its end; that walk is not atomic, so a directory swapped for a
//! link between its steps can still lead out (docs/design.md, "Threat model").
//! A maps name with a `..` component (the kernel prints canonical paths) is refused
//! either way. Files are then opened like live ones: an `O_PATH` descriptor, regular
//! files only, bounded reads.

use std::ffi::{CString, OsStr};
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::files::{Checked, Links, open_checked, open_fd};
use super::{Opened, Source, Via};
use crate::input::maps::{Mapping, NameKind};
use crate::input::snapshot::Snapshot;
use crate::vocab::{PageSize, Residency};

const MAX_LINKS: usize = 40;

/// Why a path could not be resolved inside a sysroot (its message does not repeat
/// the path: the caller names it).
#[derive(Debug)]
#[non_exhaustive]
pub enum ResolveError {
    /// A `..` that would leave the sysroot.
    ClimbsAbove,
    /// More than 40 symbolic links followed.
    TooManyLinks,
    /// A symbolic link that could not be read.
    ReadLink {
        /// The link.
        path: PathBuf,
        /// What the system said.
        err: io::Error,
    },
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::ClimbsAbove => f.write_str("climbs above the sysroot with '..': refused"),
            ResolveError::TooManyLinks => {
                write!(f, "more than {MAX_LINKS} symbolic links under the sysroot")
            }
            ResolveError::ReadLink { path, err } => {
                write!(f, "{}: {err}", crate::vocab::escape::path_text(path))
            }
        }
    }
}

impl std::error::Error for ResolveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ResolveError::ReadLink { err, .. } => Some(err),
            _ => None,
        }
    }
}

/// Resolves the target path `path` (absolute, bytes) inside `root`. An error says
/// why without repeating `path` (the caller names it).
pub fn resolve(root: &Path, path: &[u8]) -> Result<PathBuf, ResolveError> {
    let mut todo: Vec<Vec<u8>> = split(path);
    todo.reverse(); // a stack: the next component is last
    let mut done: Vec<Vec<u8>> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_slice() {
            b"." => continue,
            b".." => {
                if done.pop().is_none() {
                    return Err(ResolveError::ClimbsAbove);
                }
                continue;
            }
            _ => {}
        }
        let mut here = join(root, &done);
        here.push(OsStr::from_bytes(&c));
        match fs::symlink_metadata(&here) {
            Ok(md) if md.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(ResolveError::TooManyLinks);
                }
                let target = fs::read_link(&here).map_err(|err| ResolveError::ReadLink {
                    path: here.clone(),
                    err,
                })?;
                let target = target.as_os_str().as_bytes();
                if target.first() == Some(&b'/') {
                    done.clear();
                }
                let mut comps = split(target);
                comps.reverse();
                todo.extend(comps);
            }
            _ => done.push(c),
        }
    }
    Ok(join(root, &done))
}

fn split(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn join(root: &Path, comps: &[Vec<u8>]) -> PathBuf {
    let mut p = root.to_path_buf();
    for c in comps {
        p.push(OsStr::from_bytes(c));
    }
    p
}

/// Why a directory cannot be used as a sysroot.
#[derive(Debug)]
#[non_exhaustive]
pub enum SysrootError {
    /// It cannot be reached (it does not exist, or a parent is not readable).
    Unreachable {
        /// The path given.
        path: PathBuf,
        /// What the system said.
        err: io::Error,
    },
    /// It exists but is not a directory.
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
}

impl SysrootError {
    /// The stable code of this error.
    pub fn code(&self) -> crate::vocab::Code {
        crate::vocab::Code::SysrootInvalid
    }
}

impl std::fmt::Display for SysrootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SysrootError::Unreachable { path, err } => {
                write!(
                    f,
                    "sysroot {}: {err}",
                    crate::vocab::escape::path_text(path)
                )
            }
            SysrootError::NotADirectory { path } => {
                write!(
                    f,
                    "sysroot {}: not a directory",
                    crate::vocab::escape::path_text(path)
                )
            }
        }
    }
}

impl std::error::Error for SysrootError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SysrootError::Unreachable { err, .. } => Some(err),
            SysrootError::NotADirectory { .. } => None,
        }
    }
}

/// Files from a sysroot; residency and build IDs from a snapshot when there is one.
pub struct SysrootSource {
    /// The copy of the target's root filesystem.
    pub root: PathBuf,
    /// The snapshot the maps lines come from, if they do.
    pub snapshot: Option<Snapshot>,
    /// `root`, opened once (`O_PATH | O_DIRECTORY`): where `openat2` starts.
    root_fd: Option<OwnedFd>,
}

/// Opens `path` (a maps name) inside the directory `root` with `openat2` and
/// `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`, as an `O_PATH` descriptor. `None` when
/// the kernel has no `openat2` (`ENOSYS`, before Linux 5.6).
pub fn open_in_root(root: &OwnedFd, path: &[u8]) -> Option<io::Result<OwnedFd>> {
    let rel: Vec<u8> = path.iter().copied().skip_while(|&b| b == b'/').collect();
    let rel = if rel.is_empty() { b".".to_vec() } else { rel };
    let c = match CString::new(rel) {
        Ok(c) => c,
        Err(_) => {
            return Some(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a NUL byte in the path",
            )));
        }
    };
    // SAFETY: open_how is plain data; zero is a valid value of every field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: a valid directory descriptor, C string and open_how of the size given.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOSYS) {
            return None;
        }
        return Some(Err(e));
    }
    // SAFETY: the kernel returned a new descriptor that nobody else owns.
    Some(Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

impl SysrootSource {
    /// A sysroot at `root`, which must be a directory (following links), with no
    /// snapshot.
    pub fn new(root: &Path) -> Result<SysrootSource, SysrootError> {
        match fs::metadata(root) {
            Ok(md) if md.is_dir() => Ok(SysrootSource {
                root: root.to_path_buf(),
                snapshot: None,
                root_fd: fs::File::open(root).ok().map(OwnedFd::from),
            }),
            Ok(_) => Err(SysrootError::NotADirectory {
                path: root.to_path_buf(),
            }),
            Err(err) => Err(SysrootError::Unreachable {
                path: root.to_path_buf(),
                err,
            }),
        }
    }
}

/// Only the command line reads snapshot files (`cli` feature).
#[cfg(feature = "cli")]
impl SysrootSource {
    /// The sysroot `root` with the snapshot `snapshot`, `root` unchecked: a root that
    /// is not a directory only makes each file fail to open.
    pub fn with_snapshot(root: &Path, snapshot: Snapshot) -> SysrootSource {
        SysrootSource {
            root: root.to_path_buf(),
            snapshot: Some(snapshot),
            root_fd: fs::File::open(root).ok().map(OwnedFd::from),
        }
    }
}

impl Source for SysrootSource {
    fn open(&self, m: &Mapping) -> Opened {
        let NameKind::Path { path, .. } = m.name_kind() else {
            return Opened::Failed("not a path".into());
        };
        if path.starts_with(b"/memfd:") {
            return Opened::Failed(
                "a memfd: its contents exist only in the process, not in the sysroot".into(),
            );
        }
        self.open_path(&path, true)
    }

    fn residency(&mut self, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
        snapshot_residency(self.snapshot.as_ref(), start, end, page)
    }

    fn hints(&mut self) -> crate::vocab::Hints {
        snapshot_hints(self.snapshot.as_ref())
    }

    fn expected_build_id(&self, m: &Mapping) -> Option<Vec<u8>> {
        snapshot_build_id(self.snapshot.as_ref(), m)
    }

    fn expected_phdr_digest(&self, m: &Mapping) -> Option<u64> {
        snapshot_phdr_digest(self.snapshot.as_ref(), m)
    }

    /// A sysroot's file is the same for every process of a run: known by its name.
    fn stamp(&self, m: &Mapping) -> Option<(super::cache::FileStamp, Via)> {
        Some((
            super::cache::FileStamp::Sysroot(m.name.clone()),
            Via::Sysroot,
        ))
    }
}

impl SysrootSource {
    /// Opens the maps path `path` under the sysroot: with `openat2` when `openat2` is
    /// true and the kernel has it, else by the walk of [`resolve`].
    pub(crate) fn open_path(&self, path: &[u8], openat2: bool) -> Opened {
        if path.split(|&b| b == b'/').any(|c| c == b"..") {
            return Opened::Failed(
                "has a '..' component (the kernel prints canonical paths): refused".into(),
            );
        }
        let looked_up = |e: &dyn std::fmt::Display, at: &Path| {
            // The warning names the maps path: say where it was looked for only when
            // that is another path (a sysroot other than `/`, or links followed).
            if at.as_os_str().as_bytes() == &*path {
                Opened::Failed(e.to_string())
            } else {
                Opened::Failed(format!(
                    "{e}, looked up as {}",
                    crate::vocab::escape::path_text(at)
                ))
            }
        };
        let in_root = self
            .root_fd
            .as_ref()
            .filter(|_| openat2)
            .and_then(|r| open_in_root(r, path));
        let checked = match in_root {
            Some(Ok(fd)) => open_fd(fd, None),
            Some(Err(e)) => {
                let mut at = self.root.clone();
                at.push(OsStr::from_bytes(
                    &path[path.iter().take_while(|&&b| b == b'/').count()..],
                ));
                return looked_up(&e, &at);
            }
            None => {
                // No openat2: the walk here, then no link followed at its end.
                let resolved = match resolve(&self.root, path) {
                    Ok(p) => p,
                    Err(e) => return Opened::Failed(e.to_string()),
                };
                match open_checked(&resolved, Links::Refuse, None) {
                    Ok(c) => Ok(c),
                    Err(e) => return looked_up(&e, &resolved),
                }
            }
        };
        match checked {
            Ok(Checked::Opened(Opened::Regular { file, size, id, .. })) => Opened::Regular {
                file,
                size,
                id,
                via: Via::Sysroot,
                changed: None,
            },
            Ok(Checked::Opened(other)) => other,
            Ok(Checked::Other { what, .. }) => Opened::NotRegular(what),
            Err(e) => Opened::Failed(e.to_string()),
        }
    }
}

/// The residency a snapshot recorded for the maps line `[start, end)`.
pub(crate) fn snapshot_residency(
    snapshot: Option<&Snapshot>,
    start: u64,
    end: u64,
    page: PageSize,
) -> io::Result<Residency> {
    let Some(snap) = snapshot else {
        return Err(io::Error::other(
            "saved maps and smaps have no per-page residency (record a snapshot with `elfmaps snapshot`)",
        ));
    };
    snap.residency
        .iter()
        .find(|r| r.start() == start && r.end() == end && r.page_size() == page)
        .cloned()
        .ok_or_else(|| io::Error::other("the snapshot has no residency for this line"))
}

/// The hints a snapshot recorded (thread stack pointers), if any.
pub(crate) fn snapshot_hints(snapshot: Option<&Snapshot>) -> crate::vocab::Hints {
    crate::vocab::Hints {
        thread_stack_pointers: snapshot.map(|s| s.thread_sps.clone()).unwrap_or_default(),
    }
}

/// The program header digest a snapshot recorded for the file of line `m`.
pub(crate) fn snapshot_phdr_digest(snapshot: Option<&Snapshot>, m: &Mapping) -> Option<u64> {
    snapshot?.phdr_digests.get(&(m.start, m.end)).copied()
}

/// The build ID a snapshot recorded for the file of line `m`.
pub(crate) fn snapshot_build_id(snapshot: Option<&Snapshot>, m: &Mapping) -> Option<Vec<u8>> {
    snapshot?.build_ids.get(&(m.start, m.end)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::write(root.join("usr/lib/libc.so"), b"x").unwrap();
        symlink("/usr/lib", root.join("lib")).unwrap();
        symlink("../../../../etc", root.join("usr/lib/up")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        assert_eq!(
            resolve(root, b"/lib/libc.so").unwrap(),
            root.join("usr/lib/libc.so")
        );
        assert_eq!(
            resolve(root, b"/usr/./lib/../lib/libc.so").unwrap(),
            root.join("usr/lib/libc.so")
        );
        assert!(matches!(
            resolve(root, b"/../../etc/passwd"),
            Err(ResolveError::ClimbsAbove)
        ));
        assert!(resolve(root, b"/usr/lib/up/passwd").is_err());
        assert!(matches!(
            resolve(root, b"/loop"),
            Err(ResolveError::TooManyLinks)
        ));
        // A missing file resolves (the open reports it).
        assert_eq!(
            resolve(root, b"/lib/none.so").unwrap(),
            root.join("usr/lib/none.so")
        );
    }

    /// Issue 9 §3: the warning's `object` is the maps path, so the message does not
    /// repeat it; it names where the file was looked for when that is another path.
    #[test]
    fn messages_do_not_repeat_the_maps_path() {
        let m = |name: &str| {
            let line = format!("1000-2000 r--p 00000000 08:01 7 {name}\n");
            crate::input::maps::parse(line.as_bytes())
                .unwrap()
                .remove(0)
        };
        let failed = |source: &SysrootSource, name: &str| match source.open(&m(name)) {
            Opened::Failed(msg) => msg,
            other => panic!("{other:?}"),
        };
        let slash = SysrootSource::new(Path::new("/")).unwrap();
        let msg = failed(&slash, "/nonexistent/elfmaps/libx.so");
        assert!(!msg.contains("libx.so"), "{msg}");
        let dir = tempfile::tempdir().unwrap();
        let root = SysrootSource::new(dir.path()).unwrap();
        let msg = failed(&root, "/system/lib64/libhwui.so");
        assert!(!msg.starts_with("/system"), "{msg}");
        let looked = format!(
            "looked up as {}",
            dir.path().join("system/lib64/libhwui.so").display()
        );
        assert!(msg.contains(&looked), "{msg}");
        let msg = failed(&root, "/../etc/passwd");
        assert!(!msg.contains("passwd"), "{msg}");
    }

    /// Both ways of looking up (openat2, and the walk where it is missing) keep links
    /// inside the sysroot and open nothing but regular files.
    #[test]
    fn both_lookups_stay_inside_and_open_only_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::write(root.join("usr/lib/libc.so"), b"inside").unwrap();
        fs::write(dir.path().join("outside.so"), b"outside").unwrap();
        symlink("/usr/lib", root.join("lib")).unwrap();
        symlink(dir.path().join("outside.so"), root.join("usr/lib/abs.so")).unwrap();
        let fifo = root.join("usr/lib/fifo.so");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        symlink("fifo.so", root.join("usr/lib/tofifo.so")).unwrap();
        let source = SysrootSource::new(&root).unwrap();
        for openat2 in [true, false] {
            let read = |p: &[u8]| match source.open_path(p, openat2) {
                Opened::Regular { file, size, .. } => {
                    let mut b = vec![0; size as usize];
                    file.read_at(&mut b, 0).unwrap();
                    String::from_utf8(b).unwrap()
                }
                Opened::NotRegular(w) => w.to_string(),
                other => format!("{other:?}"),
            };
            assert_eq!(read(b"/lib/libc.so"), "inside", "{openat2}");
            // An absolute link is read inside the root: there is no outside.so there.
            assert!(read(b"/usr/lib/abs.so").contains("Failed"), "{openat2}");
            assert_eq!(read(b"/lib/tofifo.so"), "a FIFO", "{openat2}");
            assert!(read(b"/lib/../../outside.so").contains("'..'"), "{openat2}");
        }
    }

    #[test]
    fn a_sysroot_is_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(SysrootSource::new(dir.path()).is_ok());
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        let e = SysrootSource::new(&file).err().unwrap();
        assert!(matches!(e, SysrootError::NotADirectory { .. }), "{e}");
        let e = SysrootSource::new(&dir.path().join("none")).err().unwrap();
        assert!(matches!(e, SysrootError::Unreachable { .. }), "{e}");
        assert_eq!(e.code(), crate::vocab::Code::SysrootInvalid);
    }
}

//! Offline analysis: saved smaps/maps or a snapshot, with the files looked up under a
//! copy of the target's root filesystem (`--sysroot DIR`).
//!
//! Paths are resolved component by component as the target's kernel would inside a
//! chroot at DIR: an absolute symbolic link (`/lib -> /usr/lib`) restarts at DIR, a
//! relative one continues where it is, and a `..` that would climb above DIR is
//! refused, as is a path with more than 40 links. Files are then opened like live ones
//! (regular files only, bounded reads).

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::files::open_checked;
use super::{Opened, Precheck, Source, Via};
use crate::input::maps::{Mapping, NameKind};
use crate::input::snapshot::Snapshot;
use crate::vocab::{PageSize, Residency};

const MAX_LINKS: usize = 40;

/// Resolves the target path `path` (absolute, bytes) inside `root`. An error says
/// why without repeating `path` (the caller names it).
pub fn resolve(root: &Path, path: &[u8]) -> Result<PathBuf, String> {
    let mut todo: Vec<Vec<u8>> = split(path);
    todo.reverse(); // a stack: the next component is last
    let mut done: Vec<Vec<u8>> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_slice() {
            b"." => continue,
            b".." => {
                if done.pop().is_none() {
                    return Err("climbs above the sysroot with '..': refused".to_string());
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
                    return Err(format!(
                        "more than {MAX_LINKS} symbolic links under the sysroot"
                    ));
                }
                let target = fs::read_link(&here)
                    .map_err(|e| format!("{}: {e}", crate::vocab::escape::path_text(&here)))?;
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

impl std::error::Error for SysrootError {}

/// Files from a sysroot; residency and build IDs from a snapshot when there is one.
pub struct SysrootSource {
    /// The copy of the target's root filesystem.
    pub root: PathBuf,
    /// The snapshot the maps lines come from, if they do.
    pub snapshot: Option<Snapshot>,
}

impl SysrootSource {
    /// A sysroot at `root`, which must be a directory (following links), with no
    /// snapshot.
    pub fn new(root: &Path) -> Result<SysrootSource, SysrootError> {
        match fs::metadata(root) {
            Ok(md) if md.is_dir() => Ok(SysrootSource {
                root: root.to_path_buf(),
                snapshot: None,
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
        let resolved = match resolve(&self.root, &path) {
            Ok(p) => p,
            Err(e) => return Opened::Failed(e),
        };
        match open_checked(&resolved, Precheck::Stat) {
            Ok(Opened::Regular { file, size, id, .. }) => Opened::Regular {
                file,
                size,
                id,
                via: Via::Sysroot,
                mismatch: None,
            },
            Ok(other) => other,
            // The warning names the maps path: say where it was looked for only when
            // that is another path (a sysroot other than `/`, or links followed).
            Err(e) if resolved.as_os_str().as_bytes() == &*path => Opened::Failed(e.to_string()),
            Err(e) => Opened::Failed(format!(
                "{e}, looked up as {}",
                crate::vocab::escape::path_text(&resolved)
            )),
        }
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

    /// A sysroot's file is the same for every process of a run: known by its name.
    fn stamp(&self, m: &Mapping) -> Option<(super::cache::FileStamp, Via)> {
        Some((
            super::cache::FileStamp::Sysroot(m.name.clone()),
            Via::Sysroot,
        ))
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
        assert!(resolve(root, b"/../../etc/passwd").is_err());
        assert!(resolve(root, b"/usr/lib/up/passwd").is_err());
        assert!(resolve(root, b"/loop").is_err());
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

//! The open policy for the files a process maps: the cheapest way that is sure to
//! reach the mapped inode, else the file now at the path, and only when it has maps'
//! device and inode. Every open goes through [`open_checked`]: nothing but a regular
//! file with the right identity is ever opened for reading, and a link at the name is
//! never followed.
//!
//! A maps name is ambiguous: the kernel prints a newline as `\012` but does not escape
//! a backslash, so `lib\012x.so` is a file of that name or `lib<newline>x.so`. Both are
//! tried, in that order; the device and inode decide which (if any) is the mapped file.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::Process;
use crate::input::maps::{Mapping, NameKind};
use crate::source::files::{Checked, FileId, Links, open_checked_md};
use crate::source::{Opened, Via};

/// A file's device and inode.
type Ino = (u64, u64);

/// The paths a maps name may stand for (without ` (deleted)`): the name with `\012`
/// read as a newline, then, when that differs, the name as printed.
fn candidates(m: &Mapping) -> Option<(Vec<Cow<'_, [u8]>>, bool)> {
    let NameKind::Path { path, deleted } = m.name_kind() else {
        return None;
    };
    let raw = if deleted {
        m.name.strip_suffix(b" (deleted)").unwrap_or(&m.name)
    } else {
        &m.name[..]
    };
    let mut names = vec![path];
    if *names[0] != *raw {
        names.push(Cow::Borrowed(raw));
    }
    Some((names, deleted))
}

impl Process {
    /// A `Regular` outcome reached `via`; `md` is its metadata, which tells whether the
    /// mapped inode was written after the process started.
    fn reached(&self, opened: Opened, via: Via, md: Option<fs::Metadata>) -> Opened {
        match opened {
            Opened::Regular { file, size, id, .. } => Opened::Regular {
                file,
                size,
                id,
                via,
                changed: md.and_then(|md| self.changed_since_start(&md)),
            },
            other => other,
        }
    }
}

impl Process {
    /// Opens the file that `m` maps: the path itself when it is the mapped inode, else
    /// the mapped inode through `map_files` where permitted, else the file at the same
    /// path under `/proc/PID/root` when it has the maps line's device and inode.
    pub(crate) fn open_mapped(&self, m: &Mapping) -> Opened {
        if let Some(flags) = &m.fields.vm_flags {
            // Device memory always carries VM_IO or VM_PFNMAP: nothing to open.
            let has = |f: &[u8]| flags.split(|&b| b == b' ').any(|x| x == f);
            if has(b"io") || has(b"pf") {
                return Opened::Device;
            }
        }
        let wanted: FileId = (m.dev_major, m.dev_minor, m.inode);
        let names = candidates(m);
        // Cheapest first: the path itself, when it means the same file for us and the
        // file there is the mapped inode (a path walk costs less than map_files).
        if let Some((names, false)) = &names
            && self.same_view()
        {
            for name in names {
                if let Ok((Checked::Opened(o), md)) = open_checked_md(
                    Path::new(OsStr::from_bytes(name)),
                    Links::Refuse,
                    Some(wanted),
                ) {
                    return self.reached(o, Via::Path, md);
                }
            }
        }
        // The kernel's link to the mapped inode itself (CAP_SYS_ADMIN).
        let via_map_files = self
            .dir
            .join(format!("map_files/{:x}-{:x}", m.start, m.end));
        let first_err = match open_checked_md(&via_map_files, Links::Follow, None) {
            Ok((Checked::Opened(o), md)) => return self.reached(o, Via::MapFiles, md),
            // (Not met: no identity was asked for.)
            Ok((Checked::Other { what, .. }, _)) => return Opened::NotRegular(what),
            Err(e) => e,
        };
        let Some((names, deleted)) = names else {
            return Opened::Failed(format!(
                "cannot open {}: {first_err}",
                crate::vocab::escape::path_text(&via_map_files)
            ));
        };
        let deleted_note = if deleted {
            "; the mapped file was deleted"
        } else {
            ""
        };
        let mut other = None;
        let mut last_err = None;
        for name in &names {
            let mut p = self.dir.join("root").into_os_string().into_vec();
            p.extend_from_slice(name);
            let rooted = PathBuf::from(std::ffi::OsString::from_vec(p));
            match open_checked_md(&rooted, Links::Refuse, Some(wanted)) {
                Ok((Checked::Opened(o), md)) => return self.reached(o, Via::Root, md),
                Ok((Checked::Other { what, id }, _)) => {
                    other.get_or_insert((what, id));
                }
                Err(e) => {
                    last_err.get_or_insert((rooted, e));
                }
            }
        }
        if let Some((what, id)) = other {
            return Opened::Replaced(format!(
                "the file now at this path is not the mapped one ({what}, device {:02x}:{:02x} inode {}, where maps says {} inode {}{deleted_note}): not read",
                id.0,
                id.1,
                id.2,
                m.dev_str(),
                m.inode,
            ));
        }
        let (rooted, e) = last_err.expect("at least one name");
        Opened::Failed(format!(
            "cannot open the mapped file ({} : {first_err}; {}: {e}){}",
            crate::vocab::escape::path_text(&via_map_files),
            crate::vocab::escape::path_text(&rooted),
            if deleted {
                "; it was deleted after mapping"
            } else {
                ""
            }
        ))
    }

    /// Why the mapped inode whose metadata is `md` may not hold what the process
    /// mapped: it was modified after the process started, that is its modification
    /// time is later than the process's start ([`Process::start_time_ns`], to a clock
    /// tick). The change time is not used: it also moves when a file is linked,
    /// renamed, `chmod`ed or `chown`ed (hard-link backups, ostree deployments, test
    /// sysroots of hard links), which leave its contents alone, and a warning on every
    /// long-running process after such an event would teach users to ignore it. A
    /// writer that sets the modification time back (`cp -p`, `touch -d`) is therefore
    /// not seen (docs/labelling.md §4). `None` when it was not, or the start is unknown.
    pub(crate) fn changed_since_start(&self, md: &fs::Metadata) -> Option<String> {
        let start = self.start_time_ns()?;
        let mtime = i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec());
        if mtime <= start {
            return None;
        }
        Some(format!(
            "the mapped file was modified {:.3} s after the process started: that it is the mapped inode proves nothing of its contents (cp over a loaded file keeps the inode), so its labels are checked against the maps as for a file found by path",
            (mtime - start) as f64 / 1e9
        ))
    }

    /// Whether the process sees files as elfmaps does: the same root directory and the
    /// same mount namespace (checked once per process; elfmaps' own two, once per run).
    pub(super) fn same_view(&self) -> bool {
        /// Device and inode of elfmaps' root directory and mount namespace.
        static OURS: OnceLock<[Option<Ino>; 2]> = OnceLock::new();
        let ino = |p: &Path| fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
        *self.same_view.get_or_init(|| {
            let [root, mnt] =
                OURS.get_or_init(|| [ino(Path::new("/")), ino(Path::new("/proc/self/ns/mnt"))]);
            // Theirs stat'ed once each; the second only when the first agrees.
            let same = |theirs: &str, ours: &Option<Ino>| {
                ours.is_some() && ino(&self.dir.join(theirs)) == *ours
            };
            // The namespace first: a container's root (perhaps on a FUSE filesystem,
            // as rootless containers have) is then never stat'ed.
            same("ns/mnt", mnt) && same("root", root)
        })
    }
}

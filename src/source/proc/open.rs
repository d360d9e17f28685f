//! The open policy for the files a process maps: the cheapest way that is sure to
//! reach the mapped inode, else the file now at the path, checked against maps'
//! device and inode.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::Process;
use crate::input::maps::{Mapping, NameKind};
use crate::source::files::open_checked;
use crate::source::{Opened, Precheck, Via};

/// A file's device and inode.
type Ino = (u64, u64);

impl Process {
    /// Opens the file that `m` maps: the mapped inode through `map_files` where
    /// permitted, else the file at the same path under `/proc/PID/root`, checked
    /// against the maps line's device and inode.
    pub(crate) fn open_mapped(&self, m: &Mapping) -> Opened {
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

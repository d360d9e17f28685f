//! The identity of a mapped file without opening it, for the cache of a scan
//! ([`crate::source::cache`]): one `stat`, of the path itself when the process sees
//! files as elfmaps does and the file there (not a link: `lstat`) is the mapped inode, else of
//! `/proc/PID/map_files/START-END` (the mapped inode itself; needs CAP_SYS_ADMIN).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use super::Process;
use crate::input::maps::{Mapping, NameKind};
use crate::source::Via;
use crate::source::cache::FileStamp;

impl Process {
    /// The stamp of the regular file `m` maps and how it was reached; `None` when it
    /// cannot be learnt without opening the file (then it is opened as usual).
    pub(crate) fn stamp_mapped(&self, m: &Mapping) -> Option<(FileStamp, Via)> {
        let wanted = (m.dev_major, m.dev_minor, m.inode);
        let stamp = |md: &fs::Metadata| FileStamp::Live {
            dev: (libc::major(md.dev()), libc::minor(md.dev())),
            inode: md.ino(),
            ctime: (md.ctime(), md.ctime_nsec()),
        };
        if let NameKind::Path {
            path,
            deleted: false,
        } = m.name_kind()
            && self.same_view()
            && let Ok(md) = fs::symlink_metadata(OsStr::from_bytes(&path))
            && md.is_file()
            && (libc::major(md.dev()), libc::minor(md.dev()), md.ino()) == wanted
        {
            // A file written since the process started is not the mapped contents:
            // opened and checked apart, never shared (issue 18 §2).
            return self
                .changed_since_start(&md)
                .is_none()
                .then(|| (stamp(&md), Via::Path));
        }
        let md = fs::metadata(
            self.dir
                .join(format!("map_files/{:x}-{:x}", m.start, m.end)),
        )
        .ok()?;
        (md.is_file() && self.changed_since_start(&md).is_none())
            .then(|| (stamp(&md), Via::MapFiles))
    }
}

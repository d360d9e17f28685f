//! Opening files that a process's maps name, safely.
//!
//! The name in maps was chosen by whoever created the file, and the file may have been
//! replaced since, by a link, a FIFO or a device. Opening a FIFO for reading is seen by
//! its writer (even with `O_NONBLOCK`), and opening a device runs its driver, so a
//! file is never opened for reading before it is known to be the right one:
//!
//! 1. the path is opened with `O_PATH` (which opens nothing: no driver, no FIFO
//!    reader, no access time), with `O_NOFOLLOW` for names from maps
//!    ([`Links::Refuse`]: a link planted at the name is refused, not followed);
//! 2. `fstat` on that descriptor says what it is: only a regular file goes on, and,
//!    for a name from maps, only one with the maps line's device and inode;
//! 3. that very descriptor is reopened for reading through `/proc/self/fd/N`
//!    (`O_RDONLY | O_NONBLOCK | O_NOCTTY`), so no rename between the check and the
//!    open can put another file there, and its identity is checked once more.
//!
//! Files are read with bounded `pread` ([`ReadAt`] for [`File`]), never mmap, so
//! truncation is an error and not SIGBUS (docs/design.md).

use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::{Opened, Via};
use crate::input::elf::ReadAt;

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

/// A file's (device major, device minor, inode).
pub type FileId = (u32, u32, u64);

/// What to do when the last component of a path is a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow it: a file named on elfmaps' own command line (`layout`), or a link of
    /// the kernel's (`/proc/PID/map_files/START-END`) that leads to the mapped inode.
    Follow,
    /// Do not follow it (`O_NOFOLLOW`): a name from a process's maps, or the end of a
    /// path already resolved inside a sysroot. A link there is not the mapped file.
    Refuse,
}

/// The outcome of [`open_checked`].
#[derive(Debug)]
pub enum Checked {
    /// The file was what was asked for: opened (a regular file) or not (anything else;
    /// never opened for reading).
    Opened(Opened),
    /// The file at the path is not the one wanted (another device or inode): it was
    /// not opened for reading.
    Other {
        /// What is there: `a regular file`, `a symbolic link`, `a device`, ...
        what: &'static str,
        /// Its identity.
        id: FileId,
    },
}

/// Opens `path` for reading only if it is a regular file and, when `wanted` is given,
/// has that device and inode; never blocks, and never opens anything else for
/// reading (see the module's steps).
pub fn open_checked(path: &Path, links: Links, wanted: Option<FileId>) -> io::Result<Checked> {
    open_checked_md(path, links, wanted).map(|(c, _)| c)
}

/// [`open_checked`], with the metadata of the descriptor opened for reading when it
/// is a regular file (its times tell whether it changed after a process mapped it).
pub(crate) fn open_checked_md(
    path: &Path,
    links: Links,
    wanted: Option<FileId>,
) -> io::Result<(Checked, Option<fs::Metadata>)> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))?;
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    // SAFETY: `c` is a valid C string; the result is checked.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    open_fd_md(unsafe { OwnedFd::from_raw_fd(fd) }, wanted)
}

/// Step 2 and 3 of the module's rules for a descriptor opened with `O_PATH` (or any
/// descriptor): its type and identity from `fstat`, then a new descriptor open for
/// reading on the same file, only when it is a regular file (and `wanted`). The
/// caller says how the file was reached: `via` is [`Via::MapFiles`] until it does.
pub fn open_fd(fd: OwnedFd, wanted: Option<FileId>) -> io::Result<Checked> {
    open_fd_md(fd, wanted).map(|(c, _)| c)
}

/// [`open_fd`], with the metadata of the descriptor opened for reading.
fn open_fd_md(fd: OwnedFd, wanted: Option<FileId>) -> io::Result<(Checked, Option<fs::Metadata>)> {
    let path_fd = File::from(fd);
    let md = path_fd.metadata()?;
    let id = id_of(&md);
    if let Some(w) = wanted
        && w != id
    {
        return Ok((
            Checked::Other {
                what: what_is(md.file_type()),
                id,
            },
            None,
        ));
    }
    if let Some(other) = not_regular(md.file_type()) {
        return Ok((Checked::Opened(other), None));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(format!("/proc/self/fd/{}", path_fd.as_raw_fd()))?;
    let md = file.metadata()?;
    if !md.file_type().is_file() || id_of(&md) != id {
        return Err(io::Error::other(
            "the file changed while it was being opened",
        ));
    }
    let size = md.len();
    Ok((
        Checked::Opened(Opened::Regular {
            file: Box::new(file),
            size,
            id,
            via: Via::MapFiles,
            changed: None,
        }),
        Some(md),
    ))
}

/// The identity of a file from its metadata.
fn id_of(md: &fs::Metadata) -> FileId {
    (libc::major(md.dev()), libc::minor(md.dev()), md.ino())
}

/// What a file of type `ft` is, for people.
pub fn what_is(ft: fs::FileType) -> &'static str {
    if ft.is_file() {
        "a regular file"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

fn not_regular(ft: fs::FileType) -> Option<Opened> {
    if ft.is_file() {
        None
    } else if ft.is_char_device() || ft.is_block_device() {
        Some(Opened::Device)
    } else {
        Some(Opened::NotRegular(what_is(ft)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A FIFO and a device are never opened for reading: an inotify watch on them sees
    /// no open (an `O_PATH` descriptor raises no event; a read open would).
    #[test]
    fn fifos_devices_and_links_are_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: valid C strings; results checked.
        unsafe {
            assert_eq!(libc::mkfifo(c.as_ptr(), 0o600), 0);
        }
        let file = dir.path().join("file");
        fs::write(&file, b"hello").unwrap();
        let link = dir.path().join("link");
        symlink(&fifo, &link).unwrap();
        // SAFETY: as above.
        let inotify = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(inotify >= 0);
        let wd = unsafe { libc::inotify_add_watch(inotify, c.as_ptr(), libc::IN_OPEN) };
        assert!(wd >= 0);
        let kind = |r: io::Result<Checked>| match r.unwrap() {
            Checked::Opened(Opened::NotRegular(w)) => w,
            Checked::Opened(Opened::Device) => "device",
            Checked::Other { what, .. } => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(kind(open_checked(&fifo, Links::Refuse, None)), "a FIFO");
        assert_eq!(
            kind(open_checked(&link, Links::Refuse, None)),
            "a symbolic link"
        );
        assert_eq!(kind(open_checked(&link, Links::Follow, None)), "a FIFO");
        assert_eq!(
            kind(open_checked(Path::new("/dev/null"), Links::Follow, None)),
            "device"
        );
        let mut buf = [0u8; 256];
        // SAFETY: a buffer of that length.
        let n = unsafe { libc::read(inotify, buf.as_mut_ptr().cast(), buf.len()) };
        assert_eq!(n, -1, "the FIFO was opened");
        // A regular file with the wrong identity is not opened either; with the right
        // one it is read.
        let Checked::Opened(Opened::Regular { id, file: f, .. }) =
            open_checked(&file, Links::Refuse, None).unwrap()
        else {
            panic!()
        };
        let mut b = [0u8; 5];
        assert_eq!(f.read_at(&mut b, 0).unwrap(), 5);
        let wrong = (id.0, id.1, id.2 + 1);
        assert!(matches!(
            open_checked(&file, Links::Refuse, Some(wrong)).unwrap(),
            Checked::Other {
                what: "a regular file",
                ..
            }
        ));
        assert!(matches!(
            open_checked(&file, Links::Refuse, Some(id)).unwrap(),
            Checked::Opened(Opened::Regular { .. })
        ));
        unsafe { libc::close(inotify) };
    }
}

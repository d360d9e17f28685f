//! Opening files that a process's maps name, safely.
//!
//! The name in maps was chosen by whoever created the file, and the file may have been
//! replaced, truncated or turned into a FIFO since. So: `stat` first and open only
//! regular files, with `O_NONBLOCK` (nothing can block) and `O_NOCTTY`; check the
//! type again on the open descriptor; read with bounded `pread` ([`ReadAt`] for
//! [`File`]), never mmap, so truncation is an error and not SIGBUS (docs/design.md).

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};

use super::{Opened, Via};
use crate::input::elf::ReadAt;

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

/// Opens `path` for reading only if it is a regular file; never blocks.
pub fn open_checked(path: &std::path::Path, precheck: super::Precheck) -> io::Result<Opened> {
    open_checked_md(path, precheck).map(|(o, _)| o)
}

/// [`open_checked`], with the metadata of the open file when it is a regular one
/// (`fstat` of the descriptor read: its times tell whether it changed).
pub(crate) fn open_checked_md(
    path: &std::path::Path,
    precheck: super::Precheck,
) -> io::Result<(Opened, Option<fs::Metadata>)> {
    if precheck == super::Precheck::Stat
        && let Some(other) = not_regular(fs::metadata(path)?.file_type())
    {
        return Ok((other, None));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)?;
    // The file may have been swapped for something else between stat and open.
    let md = file.metadata()?;
    if let Some(other) = not_regular(md.file_type()) {
        return Ok((other, None));
    }
    let opened = Opened::Regular {
        file: Box::new(file),
        size: md.len(),
        id: (libc::major(md.dev()), libc::minor(md.dev()), md.ino()),
        via: Via::MapFiles,
        mismatch: None,
        changed: None,
    };
    Ok((opened, Some(md)))
}

fn not_regular(ft: fs::FileType) -> Option<Opened> {
    if ft.is_file() {
        None
    } else if ft.is_char_device() || ft.is_block_device() {
        Some(Opened::Device)
    } else if ft.is_fifo() {
        Some(Opened::NotRegular("a FIFO"))
    } else if ft.is_dir() {
        Some(Opened::NotRegular("a directory"))
    } else if ft.is_socket() {
        Some(Opened::NotRegular("a socket"))
    } else {
        Some(Opened::NotRegular("not a regular file"))
    }
}

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

use crate::elf::ReadAt;

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

/// How a mapped file was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `/proc/PID/map_files/START-END`: the mapped inode itself.
    MapFiles,
    /// The path itself, when the process sees the same root and mounts as elfmaps:
    /// the file now at that path, with the mapped device and inode.
    Path,
    /// `/proc/PID/root/PATH`: the file now at that path.
    Root,
    /// A file under `--sysroot`.
    Sysroot,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::MapFiles => "map_files",
            Via::Path => "path",
            Via::Root => "root",
            Via::Sysroot => "sysroot",
        }
    }
}

/// The outcome of opening the file behind a mapping.
#[derive(Debug)]
pub enum Opened {
    Regular {
        file: File,
        size: u64,
        /// (device major, device minor, inode) of the open file.
        id: (u32, u32, u64),
        via: Via,
        /// Set when the file at the path is not the mapped one (dev/inode differ).
        mismatch: Option<String>,
    },
    Device,
    /// A FIFO, socket, directory, ...: nothing to read.
    NotRegular(&'static str),
    Failed(String),
}

/// Whether a device could be behind `path`, so that it must be `stat`ed before it is
/// opened (opening a device runs its driver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precheck {
    /// Nothing is known: `stat` first and open only regular files.
    Stat,
    /// smaps' VmFlags say the mapping is neither I/O nor PFN memory (`io`, `pf`), the
    /// flags every device mapping carries: open directly (still `O_NONBLOCK`, and the
    /// descriptor's type is checked before any read).
    NotDevice,
}

/// Opens `path` for reading only if it is a regular file; never blocks.
pub fn open_checked(path: &std::path::Path, precheck: Precheck) -> io::Result<Opened> {
    if precheck == Precheck::Stat
        && let Some(other) = not_regular(fs::metadata(path)?.file_type())
    {
        return Ok(other);
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)?;
    // The file may have been swapped for something else between stat and open.
    let md = file.metadata()?;
    if let Some(other) = not_regular(md.file_type()) {
        return Ok(other);
    }
    Ok(Opened::Regular {
        file,
        size: md.len(),
        id: (libc::major(md.dev()), libc::minor(md.dev()), md.ino()),
        via: Via::MapFiles,
        mismatch: None,
    })
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

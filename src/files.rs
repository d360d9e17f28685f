//! Opening files that a process's maps name, safely.
//!
//! The name in maps was chosen by whoever created the file, and the file may have been
//! replaced, truncated or turned into a FIFO since. So: `stat` first and open only
//! regular files, with `O_NONBLOCK` (nothing can block) and `O_NOCTTY`; check the
//! type again on the open descriptor; read with bounded `pread` ([`ReadAt`] for
//! [`File`]), never mmap, so truncation is an error and not SIGBUS (docs/design.md).

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};

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
    /// `/proc/PID/root/PATH`: the file now at that path.
    Root,
    /// A file under `--sysroot`.
    Sysroot,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::MapFiles => "map_files",
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
        via: Via,
        /// Set when the file at the path is not the mapped one (dev/inode differ).
        mismatch: Option<String>,
    },
    Device,
    /// A FIFO, socket, directory, ...: nothing to read.
    NotRegular(&'static str),
    Failed(String),
}

/// Opens `path` for reading only if it is a regular file; never blocks.
pub fn open_checked(path: &std::path::Path) -> io::Result<Opened> {
    let md = fs::metadata(path)?;
    let ft = md.file_type();
    if ft.is_char_device() || ft.is_block_device() {
        return Ok(Opened::Device);
    }
    if !ft.is_file() {
        return Ok(Opened::NotRegular(if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_dir() {
            "a directory"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        }));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    // The file may have been swapped for something else between stat and open.
    let md = file.metadata()?;
    if !md.file_type().is_file() {
        return Ok(Opened::NotRegular("not a regular file"));
    }
    Ok(Opened::Regular {
        file,
        size: md.len(),
        via: Via::MapFiles,
        mismatch: None,
    })
}

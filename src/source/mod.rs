//! Where bytes come from: the files a process maps and the residency of its pages,
//! behind one trait ([`Source`]) whose files are read through
//! [`ReadAt`].
//!
//! - [`proc`]: the one module that touches `/proc` (a live process);
//! - [`files`]: opening a file named by maps without blocking or trusting it: never
//!   anything but a regular file with the maps line's device and inode;
//! - [`sysroot`]: files looked up under a copy of the target's root filesystem, with
//!   residency and build IDs from a snapshot;
//! - [`cache`]: the files of several processes read once (a scan of the machine);
//! - [`debug`]: separate debug files, by build ID or `.gnu_debuglink` (`symbols`);
//! - [`saved`]: saved inputs (smaps, maps, snapshots, ...) read from a file or
//!   standard input in bounded chunks, up to a limit;
//! - [`remote`]: files on network and FUSE filesystems, which may stall: not read,
//!   or read on a thread with a deadline;
//! - `memory`: files given as bytes (fuzzing, tests).

pub mod cache;
pub mod files;
pub mod proc;
pub mod remote;
pub mod saved;
pub mod sysroot;

// Only the command line looks for debug files (`symbols`) and runs the fuzz targets'
// bodies, whose files are in memory (`cli` feature).
#[cfg(feature = "cli")]
pub mod debug;
#[cfg(feature = "cli")]
pub(crate) mod memory;

use std::io;

use crate::input::elf::ReadAt;
use crate::input::maps::Mapping;
use crate::vocab::Hints;
use crate::vocab::{PageSize, Residency};
use proc::Process;

pub use sysroot::SysrootSource;

/// How a mapped file was reached (in vocab: a report names it).
pub(crate) use crate::vocab::Via;

/// The outcome of opening the file behind a mapping.
#[non_exhaustive]
pub enum Opened {
    /// A regular file, open for reading.
    Regular {
        /// The open file, read with bounded `pread`s.
        file: Box<dyn ReadAt + Send + Sync>,
        /// Its size in bytes.
        size: u64,
        /// (device major, device minor, inode) of the open file.
        id: (u32, u32, u64),
        /// How it was reached.
        via: Via,
        /// Set when the file is the mapped inode but was modified after the process
        /// started (`cp` over a loaded library keeps its inode): its device and inode
        /// prove nothing of its contents (issue 18 §2). Why, for a warning.
        changed: Option<String>,
    },
    /// A device: never opened for reading (opening a device runs its driver).
    Device,
    /// A FIFO, socket, directory, ...: nothing to read.
    NotRegular(&'static str),
    /// The file now at the mapped path is not the mapped one (another device or inode,
    /// or a link): not opened for reading; why, for a warning.
    Replaced(String),
    /// It could not be opened; why, for a warning.
    Failed(String),
    /// On a network or FUSE filesystem, which may stall: not read, or not within the
    /// deadline ([`remote`]); why, for a warning (code `remote-fs`).
    Remote(String),
}

/// Where the files and the residency of a process come from.
pub trait Source {
    /// Opens the file that `m` maps.
    fn open(&self, m: &Mapping) -> Opened;
    /// Which pages of `[start, end)` (one maps line) are present and which swapped.
    fn residency(&mut self, start: u64, end: u64, page: PageSize) -> io::Result<Residency>;
    /// Facts that help name anonymous memory.
    fn hints(&mut self) -> Hints {
        Hints::default()
    }
    /// The build ID of the mapped file as the target knows it: recorded in a
    /// snapshot, or, live, the kernel's (PROCMAP_QUERY, Linux 6.11+: read from the
    /// mapped inode, so still the old build's after an upgrade replaced the file). A
    /// file whose build ID differs is not used. Asked only for files not proven to be
    /// the mapped one.
    fn expected_build_id(&self, _m: &Mapping) -> Option<Vec<u8>> {
        None
    }
    /// The digest of the mapped file's program header table
    /// ([`crate::input::elf::ElfInfo::phdr_digest`]), when a snapshot recorded it: a
    /// file whose table differs numbers its segments otherwise.
    fn expected_phdr_digest(&self, _m: &Mapping) -> Option<u64> {
        None
    }
    /// Reads the process's memory at `addr` into `buf`, whole (a live process's
    /// `/proc/PID/mem`); `None` where memory cannot be read at all (offline).
    fn read_memory(&self, _addr: u64, _buf: &mut [u8]) -> Option<io::Result<()>> {
        None
    }
    /// The identity of the file `m` maps, learnt without opening it, and how it would
    /// be reached: the key of the [`cache::FileCache`] of a scan. `None` when it
    /// cannot be learnt that way (the file is then opened and not cached).
    fn stamp(&self, _m: &Mapping) -> Option<(cache::FileStamp, Via)> {
        None
    }
}

/// A live process as a [`Source`].
pub struct LiveSource(pub Process);

impl Source for LiveSource {
    fn open(&self, m: &Mapping) -> Opened {
        // Placed from maps' device first: nothing touches a path on a filesystem
        // that may stall unless the policy says so.
        remote::open(&self.0, m)
    }
    fn residency(&mut self, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
        let mut res = self.0.residency(start, end, page)?;
        // Each page's map count where the kernel shows it (CAP_SYS_ADMIN): the split
        // parts' pss is then exact, not prorated. Without it, which pages are mapped
        // once (pagemap's exclusive bit): their private bytes (USS) are still exact.
        if self.0.add_mapcounts(&mut res).is_err() {
            let _ = self.0.add_once(&mut res);
        }
        Ok(res)
    }
    fn hints(&mut self) -> Hints {
        Hints {
            thread_stack_pointers: self.0.thread_stack_pointers(),
        }
    }
    fn read_memory(&self, addr: u64, buf: &mut [u8]) -> Option<io::Result<()>> {
        Some(self.0.read_memory(addr, buf))
    }
    fn expected_build_id(&self, m: &Mapping) -> Option<Vec<u8>> {
        // An older kernel has no PROCMAP_QUERY: nothing to compare with.
        self.0.query_build_id(m.start).ok().flatten()
    }
    fn stamp(&self, m: &Mapping) -> Option<(cache::FileStamp, Via)> {
        // A stamp is a `stat` of the file: only on local filesystems.
        if self.0.place_of(m) != remote::Place::Local {
            return None;
        }
        self.0.stamp_mapped(m)
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Opened::Regular { size, id, via, .. } => f
                .debug_struct("Regular")
                .field("size", size)
                .field("id", id)
                .field("via", via)
                .finish_non_exhaustive(),
            Opened::Device => f.write_str("Device"),
            Opened::NotRegular(what) => f.debug_tuple("NotRegular").field(what).finish(),
            Opened::Replaced(msg) => f.debug_tuple("Replaced").field(msg).finish(),
            Opened::Failed(msg) => f.debug_tuple("Failed").field(msg).finish(),
            Opened::Remote(msg) => f.debug_tuple("Remote").field(msg).finish(),
        }
    }
}

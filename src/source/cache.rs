//! The files of several processes, read once: a scan of the whole machine
//! (`elfmaps system`, `map PID PID...`) meets libc in every process, and reads its
//! headers once for all of them.
//!
//! A file is known by a [`FileStamp`]: on this machine its device, inode and change
//! time, learnt with one `stat` and no open ([`crate::source::Source::stamp`]); under a
//! sysroot, the path it was looked up for (the sysroot does not change during a run).
//! The change time tells a file written in place, or an inode number reused by
//! another file, from the one read before. The cache keeps what reading the headers
//! taught ([`Content`]); what depends on the process (how the file was reached, a
//! build ID recorded on the target) is decided for each process by the pipeline.
//!
//! Only outcomes that depend on the file alone are kept: an I/O error, or a file that
//! could not be opened, is tried again for the next process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::input::elf::{self, ElfError, ElfInfo, ReadAt};

/// What identifies the contents of a mapped file for the cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileStamp {
    /// A file of this machine, from `stat`: its device (major, minor), inode and change
    /// time (seconds, nanoseconds).
    Live {
        /// (major, minor) of the device that holds it.
        dev: (u32, u32),
        /// Its inode.
        inode: u64,
        /// Its change time: seconds and nanoseconds.
        ctime: (i64, i64),
    },
    /// A file under the sysroot of an offline analysis, by the maps name it was looked
    /// up for.
    Sysroot(Vec<u8>),
}

impl FileStamp {
    /// Whether a file opened with identity `id` (major, minor, inode) is the one
    /// stamped (a file replaced between the `stat` and the open is not).
    pub fn is(&self, id: (u32, u32, u64)) -> bool {
        match self {
            FileStamp::Live { dev, inode, .. } => (dev.0, dev.1, *inode) == id,
            FileStamp::Sysroot(_) => true,
        }
    }
}

/// What reading a regular file's headers taught, as the cache keeps it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Content {
    /// An ELF file: its headers.
    Elf(Arc<ElfInfo>),
    /// Not an ELF file.
    NotElf,
    /// ELF headers that are damaged or hostile: why.
    Malformed(String),
}

impl Content {
    /// Reads the headers of `file`. An I/O error, which says nothing of the file's
    /// contents and is not to be kept, is returned as an error.
    pub fn read<R: ReadAt + ?Sized>(file: &R) -> Result<Content, ElfError> {
        match elf::read(file) {
            Ok(info) => Ok(Content::Elf(Arc::new(info))),
            Err(ElfError::NotElf) => Ok(Content::NotElf),
            Err(ElfError::Io(e)) => Err(ElfError::Io(e)),
            Err(e) => Ok(Content::Malformed(e.to_string())),
        }
    }
}

/// A cached file: its size and contents.
#[derive(Debug, Clone)]
pub struct Cached {
    /// Its size in bytes.
    pub size: u64,
    /// What its headers say.
    pub content: Content,
}

/// The files read so far in a run, shared by all its processes.
#[derive(Debug, Default)]
pub struct FileCache {
    files: Mutex<HashMap<FileStamp, Cached>>,
    hits: std::sync::atomic::AtomicU64,
    /// The mount tables of the run, one per mount namespace (which filesystem each
    /// mapped file is on: `source::remote`).
    mounts: crate::source::proc::MountTables,
}

impl FileCache {
    /// The mount tables of the run.
    pub fn mounts(&self) -> &crate::source::proc::MountTables {
        &self.mounts
    }

    /// The file stamped `stamp`, if it was read before.
    pub fn get(&self, stamp: &FileStamp) -> Option<Cached> {
        let found = self.lock().get(stamp).cloned();
        if found.is_some() {
            self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        found
    }

    /// Keeps what reading the file stamped `stamp` taught.
    pub fn insert(&self, stamp: FileStamp, cached: Cached) {
        self.lock().insert(stamp, cached);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FileStamp, Cached>> {
        // A panic while the lock was held left the map whole (inserts are single
        // calls): keep using it.
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A cache is made by a run of many processes, which only the command line makes
/// (`system`, `metrics`, `cli` feature); the pipeline the library shares only reads
/// through one when it is given.
#[cfg(any(feature = "cli", test))]
impl FileCache {
    /// An empty cache, with room for the files of a typical machine (a few hundred)
    /// so that it does not grow step by step during a scan.
    pub fn new() -> FileCache {
        FileCache {
            files: Mutex::new(HashMap::with_capacity(256)),
            hits: Default::default(),
            mounts: Default::default(),
        }
    }

    /// How many distinct files were read.
    pub fn files(&self) -> usize {
        self.lock().len()
    }

    /// How many times a file was found in the cache instead of being opened.
    pub fn hits(&self) -> u64 {
        self.hits.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_contents_by_stamp() {
        let cache = FileCache::new();
        let a = FileStamp::Live {
            dev: (8, 1),
            inode: 7,
            ctime: (1, 2),
        };
        let b = FileStamp::Live {
            dev: (8, 1),
            inode: 7,
            ctime: (1, 3),
        };
        assert!(a.is((8, 1, 7)) && !a.is((8, 2, 7)));
        assert!(cache.get(&a).is_none());
        cache.insert(
            a.clone(),
            Cached {
                size: 10,
                content: Content::NotElf,
            },
        );
        assert!(matches!(cache.get(&a).unwrap().content, Content::NotElf));
        // The same inode changed since: another file for the cache.
        assert!(cache.get(&b).is_none());
        assert_eq!((cache.files(), cache.hits()), (1, 1));
        let bytes: &[u8] = b"\x7fELF\x02";
        assert!(matches!(
            Content::read(bytes).unwrap(),
            Content::Malformed(_)
        ));
        let text: &[u8] = b"hello";
        assert!(matches!(Content::read(text).unwrap(), Content::NotElf));
    }
}

//! Files held in memory: a [`Source`] for fuzzing and tests, where the bytes of every
//! mapped file are given, not read from a disk.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use super::{Opened, Source, Via, sysroot};
use crate::input::elf::ReadAt;
use crate::input::maps::{Mapping, NameKind};
use crate::input::snapshot::Snapshot;
use crate::vocab::Hints;
use crate::vocab::{PageSize, Residency};

/// The bytes of one file, shared by every open of it.
#[derive(Clone)]
struct Bytes(Arc<[u8]>);

impl ReadAt for Bytes {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }
}

/// Files by maps path (decoded, without ` (deleted)`); a path not given fails to open.
/// With a snapshot, residency, hints and build IDs come from it as for a sysroot;
/// without, residency is made up (the first half of a line's pages present, its last
/// page swapped) and the hints are [`MemorySource::hints`].
#[derive(Default)]
pub(crate) struct MemorySource {
    /// The files, by path.
    pub(crate) files: HashMap<Vec<u8>, Arc<[u8]>>,
    /// The hints without a snapshot.
    pub(crate) hints: Hints,
    /// The snapshot the maps lines come from, if they do.
    pub(crate) snapshot: Option<Snapshot>,
}

impl Source for MemorySource {
    fn open(&self, m: &Mapping) -> Opened {
        let NameKind::Path { path, .. } = m.name_kind() else {
            return Opened::Failed("not a path".into());
        };
        match self.files.get(&*path) {
            Some(bytes) => Opened::Regular {
                file: Box::new(Bytes(bytes.clone())),
                size: bytes.len() as u64,
                id: (m.dev_major, m.dev_minor, m.inode),
                via: Via::Sysroot,
                changed: None,
            },
            None => Opened::Failed("not given".into()),
        }
    }

    fn residency(&mut self, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
        if self.snapshot.is_some() {
            return sysroot::snapshot_residency(self.snapshot.as_ref(), start, end, page);
        }
        let mut r = Residency::new(start, end, page);
        let pages = r.pages();
        r.mark_present(0..pages / 2);
        r.mark_swapped(pages.saturating_sub(1)..pages);
        Ok(r)
    }

    fn hints(&mut self) -> Hints {
        match &self.snapshot {
            Some(s) => sysroot::snapshot_hints(Some(s)),
            None => self.hints.clone(),
        }
    }

    fn expected_build_id(&self, m: &Mapping) -> Option<Vec<u8>> {
        sysroot::snapshot_build_id(self.snapshot.as_ref(), m)
    }
    fn expected_phdr_digest(&self, m: &Mapping) -> Option<u64> {
        sysroot::snapshot_phdr_digest(self.snapshot.as_ref(), m)
    }
}

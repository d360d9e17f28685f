//! What a scan keeps of each process for the next scan (`metrics --listen`): the
//! labels of its last report (the attribution, how each file was
//! reached, the warnings of opening and labelling), keyed by its PID, its start time
//! and a digest of its maps lines (addresses, permissions, offset, device, inode,
//! name). Between two scrapes most processes' maps do not change: such a process's
//! next report is made from its new figures alone (smaps, or maps and one
//! PAGEMAP_SCAN with `--rss-only`), without opening a file or labelling again. A
//! process whose maps changed, or a new process with the PID, is read in full.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Labels;
use super::live::Mode;
use crate::input::maps::Mapping;

/// Kept labels make at most this many reports; then the process is read in full
/// again. A mapped file written in place after its labels were kept (the full reading
/// says `file-changed`) is noticed within this many scans.
pub const MAX_USES: u32 = 30;

/// The labels of the last report of each process, shared by the threads of a scan.
#[derive(Debug, Default)]
pub struct Memo {
    entries: Mutex<HashMap<u32, Entry>>,
    /// The keys of [`digest`].
    keys: RandomState,
    /// The scan under way ([`Memo::begin`]).
    generation: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// One process's last labels.
#[derive(Debug)]
struct Entry {
    started: Option<u64>,
    digest: u64,
    mode: Mode,
    labels: Arc<Labels>,
    /// How many reports were made from it.
    uses: u32,
    /// The scan that last used it ([`Memo::begin`]).
    generation: u64,
}

/// The digest of the maps lines of `mappings` (what labels depend on, not the
/// figures) with `keys`: SipHash with keys of this run, so that a process cannot
/// choose maps that collide with an earlier state of its own.
pub(crate) fn digest(keys: &RandomState, mappings: &[Mapping]) -> u64 {
    let mut h = keys.build_hasher();
    mappings.len().hash(&mut h);
    for m in mappings {
        (
            m.start,
            m.end,
            m.perms,
            m.offset,
            m.dev_major,
            m.dev_minor,
            m.inode,
        )
            .hash(&mut h);
        m.name.hash(&mut h);
    }
    h.finish()
}

impl Memo {
    /// The labels kept for process `pid` started at `started` whose maps lines have
    /// `digest`, read in `mode`.
    pub(crate) fn get(
        &self,
        pid: u32,
        started: Option<u64>,
        digest: u64,
        mode: Mode,
    ) -> Option<Arc<Labels>> {
        let generation = self.generation.load(Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let found = entries.get_mut(&pid).filter(|e| {
            started.is_some()
                && e.started == started
                && e.digest == digest
                && e.mode == mode
                && e.uses < MAX_USES
        });
        match found {
            Some(e) => {
                e.generation = generation;
                e.uses += 1;
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(Arc::clone(&e.labels))
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Keeps `labels` for process `pid`.
    pub(crate) fn put(
        &self,
        pid: u32,
        started: Option<u64>,
        digest: u64,
        mode: Mode,
        labels: Labels,
    ) {
        let generation = self.generation.load(Ordering::Relaxed);
        if started.is_none() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(
            pid,
            Entry {
                started,
                digest,
                mode,
                labels: Arc::new(labels),
                uses: 0,
                generation,
            },
        );
    }

    /// The digest of `mappings` ([`digest`], with this memo's keys).
    pub(crate) fn digest(&self, mappings: &[Mapping]) -> u64 {
        digest(&self.keys, mappings)
    }

    /// Reports made from kept labels, and reports made in full, so far.
    #[cfg(all(test, feature = "cli"))]
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

/// The scans that keep a memo are the command line's (`metrics --listen`, `cli`
/// feature): the per-process pipeline the library shares only asks it ([`Memo::get`],
/// [`Memo::put`]), with no memo at all from the facade.
#[cfg(feature = "cli")]
impl Memo {
    /// Nothing kept.
    pub fn new() -> Memo {
        Memo::default()
    }

    /// Starts a scan: what the last scan did not read is forgotten (those processes
    /// exited, or are no longer selected).
    pub fn begin(&self) {
        let last = self.generation.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, e| e.generation >= last);
    }

    /// Processes kept.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

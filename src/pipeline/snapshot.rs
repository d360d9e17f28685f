//! Recording a snapshot of a live process: its smaps, page size, build IDs, digests
//! of the mapped files' program header tables, thread stack pointers, and the residency of exactly the lines the analysis splits (see
//! [`crate::input::snapshot`] for the format).

use std::collections::BTreeMap;
use std::io;

use super::read::read_mappings;
use super::{Error, analyze, analyze_with};
use crate::input::maps::Mapping;
use crate::input::snapshot::Snapshot;
use crate::label::FileKey;
use crate::label::Hints;
use crate::report::Report;
use crate::source::cache::{FileCache, FileStamp};
use crate::source::proc::{self, ProcError, Process};
use crate::source::{LiveSource, Opened, Source, Via};
use crate::vocab::{MapsSource, PageSize, Residency};

/// A [`Source`] that records the residency reads and hints of a live one.
struct Recording<'a> {
    inner: &'a mut dyn Source,
    residency: Vec<Residency>,
    hints: Hints,
}

impl Source for Recording<'_> {
    fn open(&self, m: &Mapping) -> Opened {
        self.inner.open(m)
    }
    fn residency(&mut self, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
        let r = self.inner.residency(start, end, page)?;
        self.residency.push(r.clone());
        Ok(r)
    }
    fn hints(&mut self) -> Hints {
        self.hints = self.inner.hints();
        self.hints.clone()
    }
    fn stamp(&self, m: &Mapping) -> Option<(FileStamp, Via)> {
        self.inner.stamp(m)
    }
    fn expected_build_id(&self, m: &Mapping) -> Option<Vec<u8>> {
        self.inner.expected_build_id(m)
    }
}

/// Records a snapshot of the live process `pid`, and returns it with the report of
/// the analysis that decided which lines to record residency for.
pub fn snapshot(pid: u32) -> Result<(Snapshot, Report), Error> {
    snapshot_with(Process::new(pid)?, None)
}

/// [`snapshot`] of `process`, its mapped files read through `cache` (shared by the
/// processes of a system snapshot).
pub(crate) fn snapshot_with(
    process: Process,
    cache: Option<&FileCache>,
) -> Result<(Snapshot, Report), Error> {
    let pid = process.pid;
    if let Some(cache) = cache {
        process.share_mounts(cache.mounts());
    }
    let (mappings, source, text) = read_mappings(&process, true)?;
    let page = proc::page_size();
    let mut live = LiveSource(process);
    let mut rec = Recording {
        inner: &mut live,
        residency: Vec::new(),
        hints: Hints::default(),
    };
    let report = analyze_with(mappings.clone(), source, page, Some(pid), &mut rec, cache);
    let (residency, hints) = (rec.residency, rec.hints);
    let build_ids = build_ids(&live.0, &mappings, &report);
    let phdr_digests = phdr_digests(&live, &mappings, &report);
    if !live.0.alive() {
        return Err(Error::Proc(ProcError::Exited(pid)));
    }
    let mut header = uname();
    if let Some(c) = live.0.command() {
        header.insert("command".to_string(), c);
    }
    let snap = Snapshot {
        pid: Some(pid),
        page_size: page,
        source: Some(source),
        header,
        smaps: text,
        build_ids,
        phdr_digests,
        residency,
        thread_sps: hints.thread_stack_pointers,
        sections: Vec::new(),
    };
    Ok((snap, report))
}

/// Records a snapshot of the live process `pid` without reading smaps (as
/// [`super::live_rss_only`]): its maps text, and the residency of every line, from
/// which the offline analysis gives each line its `Rss` and `Swap`.
pub fn snapshot_rss_only(pid: u32) -> Result<(Snapshot, Report), Error> {
    let mut process = Process::new(pid)?;
    let page = proc::page_size();
    let (mappings, scan, text) = super::rss::read(&mut process, page)?;
    let mut live = LiveSource(process);
    let mut scanned = super::rss::Scanned {
        inner: &mut live,
        runs: scan.runs,
    };
    let mut residency = Vec::with_capacity(mappings.len());
    for m in &mappings {
        // A hugetlb line's pages count in hugetlb, not rss: none recorded, so offline
        // its rss is 0 as here (its hugetlb figure is not kept).
        let hugetlb = m
            .fields
            .kb(const { crate::input::maps::known_key("Private_Hugetlb") })
            .is_some_and(|h| h > 0);
        if hugetlb {
            residency.push(Residency::new(m.start, m.end, page));
        } else if let Ok(r) = scanned.residency(m.start, m.end, page) {
            residency.push(r);
        }
    }
    let mut rec = Recording {
        inner: &mut scanned,
        residency: Vec::new(),
        hints: Hints::default(),
    };
    let mut report = analyze(
        mappings.clone(),
        MapsSource::MapsPagemap,
        page,
        Some(pid),
        &mut rec,
    );
    report.warnings.extend(scan.warnings);
    let hints = rec.hints;
    let build_ids = build_ids(&live.0, &mappings, &report);
    let phdr_digests = phdr_digests(&live, &mappings, &report);
    if !live.0.alive() {
        return Err(Error::Proc(ProcError::Exited(pid)));
    }
    let snap = Snapshot {
        pid: Some(pid),
        page_size: page,
        source: Some(MapsSource::MapsPagemap),
        header: uname(),
        smaps: text,
        build_ids,
        phdr_digests,
        residency,
        thread_sps: hints.thread_stack_pointers,
        sections: Vec::new(),
    };
    Ok((snap, report))
}

/// The build ID of every file-backed line: the kernel's (PROCMAP_QUERY) where it has
/// the ioctl and the file is on a local filesystem, else the one read from the file
/// during the analysis.
fn build_ids(
    process: &Process,
    mappings: &[Mapping],
    report: &Report,
) -> BTreeMap<(u64, u64), Vec<u8>> {
    let mut build_ids = BTreeMap::new();
    let mut query_works = true;
    for m in mappings.iter().filter(|m| m.is_file_backed()) {
        let mut id = None;
        // The kernel reads the build ID from the file's pages, which on a filesystem
        // that may stall can wait for it: only local files are asked that way.
        let local = process.place_of(m) == crate::source::remote::Place::Local;
        if query_works && local {
            match process.query_build_id(m.start) {
                Ok(found) => id = found,
                Err(_) => query_works = false,
            }
        }
        if id.is_none() {
            id = report
                .regions
                .iter()
                .find(|r| r.start >= m.start && r.start < m.end && r.instance.is_some())
                .and_then(|r| report.objects[r.instance?].build_id.as_deref())
                .and_then(|h| {
                    (0..h.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                        .collect()
                });
        }
        if let Some(id) = id {
            build_ids.insert((m.start, m.end), id);
        }
    }
    build_ids
}

/// The digest of the program header table of every file-backed line of an object
/// the analysis labelled (not `unknown`), read from the file when it is the mapped
/// inode itself, unchanged since the process started (`map_files`, or a path with
/// the mapped device and inode): offline, a sysroot file whose table differs numbers
/// its segments otherwise (issue 18 §2). Each file is read once more here.
fn phdr_digests(
    source: &dyn Source,
    mappings: &[Mapping],
    report: &Report,
) -> BTreeMap<(u64, u64), u64> {
    let labelled: std::collections::HashSet<usize> = report
        .regions
        .iter()
        .filter(|r| r.instance.is_some() && r.kind != crate::vocab::Kind::Unknown)
        .map(|r| r.line)
        .collect();
    let mut of_file: std::collections::HashMap<FileKey, Option<u64>> = Default::default();
    let mut digests = BTreeMap::new();
    for m in mappings
        .iter()
        .filter(|m| m.is_file_backed() && labelled.contains(&m.line))
    {
        let digest = *of_file
            .entry(FileKey::of(m))
            .or_insert_with(|| match source.open(m) {
                Opened::Regular {
                    file,
                    via,
                    changed: None,
                    ..
                } if via != Via::Sysroot => crate::input::elf::read(&*file)
                    .ok()
                    .map(|i| i.phdr_digest()),
                _ => None,
            });
        if let Some(d) = digest {
            digests.insert((m.start, m.end), d);
        }
    }
    digests
}

/// `kernel` and `machine` header lines from uname(2).
pub(super) fn uname() -> BTreeMap<String, String> {
    let mut header = BTreeMap::new();
    // SAFETY: uname fills the struct it is given.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } == 0 {
        let field = |f: &[libc::c_char]| {
            let bytes: Vec<u8> = f
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            crate::vocab::escape::text(&bytes).into_owned()
        };
        header.insert("kernel".to_string(), field(&uts.release));
        header.insert("machine".to_string(), field(&uts.machine));
    }
    header
}

//! The RSS-only scan of a live process (`--rss-only`): labels from `/proc/PID/maps`,
//! residency from one PAGEMAP_SCAN over the whole address space (or pagemap entries
//! line by line on kernels before 6.7). smaps is never read, so the target's mmap
//! lock is not held while the kernel computes PSS for every page; the price is that
//! `pss` and the clean/dirty breakdown are unknown (null). `rss` and `swap` are
//! exact per region: present pages (the shared zero page excluded, as in smaps) and
//! swapped pages. Pages of hugetlb mappings are counted in `hugetlb`, not `rss`, as
//! smaps does.

use std::io;

use super::read::read_and_open;
use super::{Error, finish};
use crate::input::maps::{self, Mapping, known_key as k};
use crate::report::{Report, Warning};
use crate::source::cache::FileCache;
use crate::source::proc::{Process, ScanRun};
use crate::source::{LiveSource, Opened, Source};
use crate::vocab::{Code, MapsSource, PageSize, Residency};

/// The RSS-only report of a live process, and whether it has no mappings (the
/// common ending is `live::report_of`'s).
///
/// Three things overlap: maps is read on one thread, the scan of the address space
/// runs on another, and this one parses maps and opens the mapped files as the lines
/// arrive, with one more thread opening files beside it.
pub(super) fn report(
    target: &mut LiveSource,
    page: PageSize,
    cache: Option<&FileCache>,
) -> Result<(Report, bool), Error> {
    let (read, early) = std::thread::scope(|s| {
        let process = &target.0;
        // Without a thread for it, the scan follows maps (apply_scan).
        let early = std::thread::Builder::new()
            .spawn_scoped(s, move || process.scan_runs(0, EARLY_END))
            .ok();
        // A scan of the machine (with a cache) reads processes on several threads
        // already, and most of its files are cache hits: no helper there.
        let helpers = if cache.is_some() { 0 } else { 1 };
        let read = read_and_open(target, true, cache, helpers);
        let early = early.map(|e| {
            e.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (read, early)
    });
    let (mut mappings, _, files) = read?;
    let pid = target.0.pid;
    let scan = apply_scan(&mut target.0, &mut mappings, page, early);
    let empty = mappings.is_empty();
    let mut src = Scanned {
        inner: target,
        runs: scan.runs,
    };
    let mut report = finish(
        mappings,
        files,
        MapsSource::MapsPagemap,
        page,
        Some(pid),
        &mut src,
    );
    report.warnings.extend(scan.warnings);
    Ok((report, empty))
}

/// What the residency scan gave: the runs of the whole address space (`None` when
/// the kernel has no PAGEMAP_SCAN), and warnings.
pub(super) struct Scan {
    pub(super) runs: Option<Vec<ScanRun>>,
    pub(super) warnings: Vec<Warning>,
}

/// Reads maps and the residency of the whole address space, and gives each mapping
/// the `Rss`, `Swap` and hugetlb figures smaps would; also returns the maps text.
pub(super) fn read(
    process: &mut Process,
    page: PageSize,
) -> Result<(Vec<Mapping>, Scan, Vec<u8>), Error> {
    let text = process.read_plain_maps()?;
    let mut mappings = maps::parse(&text).map_err(|err| Error::Parse {
        input: format!("/proc/{}/maps", process.pid),
        err,
    })?;
    let scan = apply_scan(process, &mut mappings, page, None);
    Ok((mappings, scan, text))
}

/// The end of the scan started before maps is read: the top of x86-64's user address
/// space with 4-level page tables (`TASK_SIZE_MAX`). Where the address space is smaller
/// the kernel refuses it (EFAULT) and the range maps shows is scanned after maps is
/// read; a line that ends above it (5-level page tables) gets a second scan.
const EARLY_END: u64 = (1 << 47) - 4096;

/// Gives each mapping the `Rss`, `Swap` and hugetlb figures smaps would, from the
/// runs of `early` (a scan of `[0, EARLY_END)` made while maps was read) or of a scan
/// of the range maps shows.
fn apply_scan(
    process: &mut Process,
    mappings: &mut [Mapping],
    page: PageSize,
    early: Option<io::Result<Vec<ScanRun>>>,
) -> Scan {
    let mut warnings = Vec::new();
    // The user half of the address space: `[vsyscall]` lies in the kernel's, which
    // pagemap refuses (EFAULT) and has no pages to report.
    let user = mappings.iter().filter(|m| m.end <= 1 << 63);
    let lo = user.clone().map(|m| m.start).min().unwrap_or(0);
    let hi = user.map(|m| m.end).max().unwrap_or(0);
    let scanned = match early {
        Some(Ok(runs)) if hi <= EARLY_END => Ok(runs),
        Some(Ok(mut runs)) => process.scan_runs(lo.max(EARLY_END), hi).map(|more| {
            runs.extend(more);
            runs
        }),
        None | Some(Err(_)) => process.scan_runs(lo, hi),
    };
    let runs = match scanned {
        Ok(runs) => Some(runs),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOTTY) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
            ) =>
        {
            None
        }
        Err(e) => {
            warnings.push(unavailable(&e));
            return Scan {
                runs: None,
                warnings,
            };
        }
    };
    let shift = page.get().trailing_zeros();
    let mut first = 0;
    let mut failed: Option<io::Error> = None;
    for m in mappings.iter_mut() {
        let (present, swapped, huge) = match &runs {
            Some(runs) => {
                while first < runs.len() && runs[first].end <= m.start {
                    first += 1;
                }
                let (mut present, mut swapped, mut huge) = (0u64, 0u64, false);
                for r in runs[first..].iter().take_while(|r| r.start < m.end) {
                    let n = (r.end.min(m.end) - r.start.max(m.start)) >> shift;
                    if r.present {
                        present += n;
                        huge |= r.huge;
                    }
                    if r.swapped {
                        swapped += n;
                    }
                }
                (present, swapped, huge)
            }
            None => match process.residency(m.start, m.end, page) {
                Ok(res) => {
                    let c = res.count(m.start, m.end);
                    (c.present, c.swapped, true)
                }
                Err(e) => {
                    failed.get_or_insert(e);
                    continue;
                }
            },
        };
        let hugetlb = present > 0 && huge && is_hugetlb(process, m, page);
        let f = &mut m.fields;
        let (rss, hug) = if hugetlb {
            (0, present << shift)
        } else {
            (present << shift, 0)
        };
        f.set_kb(const { k("Rss") }, rss);
        f.set_kb(const { k("Swap") }, swapped << shift);
        f.set_kb(const { k("Shared_Hugetlb") }, 0);
        f.set_kb(const { k("Private_Hugetlb") }, hug);
    }
    if let Some(e) = failed {
        warnings.push(unavailable(&e));
    }
    Scan { runs, warnings }
}

/// Whether `m` is a hugetlb mapping (its pages count in `hugetlb`, not `rss`): its
/// kernel page size is larger than the base page (PROCMAP_QUERY, Linux 6.11+), or,
/// without that ioctl, it is an anonymous `MAP_HUGETLB` mapping by name.
fn is_hugetlb(process: &mut Process, m: &Mapping, page: PageSize) -> bool {
    match process.query_page_size(m.start) {
        Ok(Some(size)) => size > page.get(),
        Ok(None) => false,
        Err(_) => m.name.starts_with(b"/anon_hugepage"),
    }
}

fn unavailable(e: &io::Error) -> Warning {
    Warning {
        code: Code::ResidencyUnavailable,
        object: None,
        message: format!(
            "cannot read per-page residency ({e}): rss and swap are null where they could not be read"
        ),
    }
}

/// A live source whose residency comes from the runs of one whole-space scan.
pub(super) struct Scanned<'a> {
    pub(super) inner: &'a mut dyn Source,
    pub(super) runs: Option<Vec<ScanRun>>,
}

impl Source for Scanned<'_> {
    fn open(&self, m: &Mapping) -> Opened {
        self.inner.open(m)
    }
    fn residency(&mut self, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
        let Some(runs) = &self.runs else {
            return self.inner.residency(start, end, page);
        };
        let mut res = Residency::new(start, end, page);
        let first = runs.partition_point(|r| r.end <= start);
        for r in runs[first..].iter().take_while(|r| r.start < end) {
            let pages = res.page_indices(r.start.max(start), r.end.min(end));
            if r.present {
                res.mark_present(pages.clone());
            }
            if r.swapped {
                res.mark_swapped(pages);
            }
        }
        Ok(res)
    }
    fn hints(&mut self) -> crate::label::Hints {
        self.inner.hints()
    }
    fn stamp(&self, m: &Mapping) -> Option<(crate::source::cache::FileStamp, crate::source::Via)> {
        self.inner.stamp(m)
    }
    fn expected_build_id(&self, m: &Mapping) -> Option<Vec<u8>> {
        self.inner.expected_build_id(m)
    }
}

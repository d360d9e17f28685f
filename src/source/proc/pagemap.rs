//! Residency of a live process's pages: the `PAGEMAP_SCAN` ioctl (Linux 6.7+), or
//! `/proc/PID/pagemap` entries on older kernels. The one place that knows the
//! kernel's encodings (pagemap bits, PFNs, the shared zero page, scan categories); it
//! hands out [`Residency`] runs.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;

use super::ioctl::{ioctl_rw, iowr};
use super::{Process, page_size};
use crate::vocab::{PageSize, Residency};

impl Process {
    /// `/proc/PID/pagemap`, opened once per process.
    pub(super) fn pagemap(&mut self) -> io::Result<&File> {
        let dir = &self.dir;
        self.pagemap
            .get_or_insert_with(|| File::open(dir.join("pagemap")))
            .as_ref()
            .map_err(|e| io::Error::new(e.kind(), e.to_string()))
    }

    /// Which pages of `[start, end)` are present and which swapped. A page mapped to
    /// the shared zero page is not resident, as in smaps' Rss: the PAGEMAP_SCAN ioctl
    /// (Linux 6.7+) says which pages those are; on older kernels the zero page is
    /// recognised by its PFN when PFNs are visible (CAP_SYS_ADMIN), and otherwise
    /// counted as resident.
    pub(crate) fn residency(
        &mut self,
        start: u64,
        end: u64,
        page: PageSize,
    ) -> io::Result<Residency> {
        let f = self.pagemap()?;
        match pagemap_scan(f, start, end, page) {
            Ok(v) => return Ok(v),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOTTY) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
                ) => {}
            Err(e) => return Err(e),
        }
        read_pagemap(f, start, end, page)
    }
}

/// One run of pages of a whole-address-space scan: `[start, end)` (addresses), with
/// what the pages are (`--rss-only`: the command line's).
#[cfg(feature = "cli")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanRun {
    /// First address.
    pub start: u64,
    /// Exclusive end address.
    pub end: u64,
    /// The pages are present (in memory, not the shared zero page).
    pub present: bool,
    /// The pages are swapped out.
    pub swapped: bool,
    /// The pages are mapped by huge page table entries (hugetlb or a transparent
    /// huge page).
    pub huge: bool,
}

impl Process {
    /// Every run of present or swapped pages in `[start, end)` from PAGEMAP_SCAN
    /// calls over the whole range (runs may cross mappings), in address order; `Err`
    /// with ENOTTY/EINVAL/EOPNOTSUPP when the kernel has no PAGEMAP_SCAN (before 6.7).
    ///
    /// It opens pagemap itself (once per scan), so that it can run on a thread of its
    /// own while maps is read.
    #[cfg(feature = "cli")]
    pub(crate) fn scan_runs(&self, start: u64, end: u64) -> io::Result<Vec<ScanRun>> {
        let f = File::open(self.dir.join("pagemap"))?;
        let mut out = Vec::new();
        let mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO | PAGE_IS_HUGE;
        // 1024 runs (24 KiB): most processes have fewer (one call); more take more calls.
        scan(&f, start..end, mask, 1024, |start, end, c| {
            let run = ScanRun {
                start,
                end,
                present: c & PAGE_IS_PRESENT != 0 && c & PAGE_IS_PFNZERO == 0,
                swapped: c & PAGE_IS_SWAPPED != 0,
                huge: c & PAGE_IS_HUGE != 0,
            };
            if run.present || run.swapped {
                out.push(run);
            }
        })?;
        Ok(out)
    }
}

/// pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst): page present,
/// page swapped, page mapped once (`PM_MMAP_EXCLUSIVE`, Linux 4.2+, visible without
/// privilege), and the page frame number (visible with CAP_SYS_ADMIN).
pub(super) const PM_PRESENT: u64 = 1 << 63;
const PM_SWAPPED: u64 = 1 << 62;
const PM_MMAP_EXCLUSIVE: u64 = 1 << 56;
pub(super) const PFN_MASK: u64 = (1 << 55) - 1;
/// Pages read per `pread` of pagemap: memory stays bounded whatever the range.
const PAGEMAP_CHUNK: u64 = 8192;

/// Reads the pagemap entries of pages `pages` (indices counted from page number
/// `first_page`) a bounded chunk at a time, and gives each chunk's first index and
/// entries to `each`: memory stays bounded whatever the range.
pub(super) fn for_entries(
    f: &File,
    first_page: u64,
    pages: Range<u64>,
    mut each: impl FnMut(u64, &[u64]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = vec![0u8; 8 * pages.end.saturating_sub(pages.start).min(PAGEMAP_CHUNK) as usize];
    let mut entries = Vec::with_capacity(buf.len() / 8);
    let mut i = pages.start;
    while i < pages.end {
        let n = (pages.end - i).min(PAGEMAP_CHUNK);
        let at = first_page
            .checked_add(i)
            .and_then(|p| p.checked_mul(8))
            .ok_or_else(|| io::Error::other("address beyond pagemap"))?;
        let chunk = &mut buf[..(8 * n) as usize];
        f.read_exact_at(chunk, at)?;
        entries.clear();
        entries.extend(
            chunk
                .chunks_exact(8)
                .map(|c| u64::from_ne_bytes(c.try_into().expect("8-byte chunk"))),
        );
        each(i, &entries)?;
        i += n;
    }
    Ok(())
}

impl Process {
    /// Adds to `res` (the residency of one maps line, already read) which present
    /// pages are mapped once, from pagemap's exclusive bit: the private bytes of each
    /// part of a split line where the map counts cannot be read (no CAP_SYS_ADMIN).
    /// `Err` when pagemap cannot be read; `res` is then left without them.
    pub(crate) fn add_once(&mut self, res: &mut Residency) -> io::Result<()> {
        let pagemap = self.pagemap()?;
        let first_page = res.start() >> res.page_size().get().trailing_zeros();
        let mut once = Vec::new();
        for run in res.present_runs() {
            for_entries(pagemap, first_page, run, |i, entries| {
                for (k, &e) in entries.iter().enumerate() {
                    if e & PM_PRESENT != 0 && e & PM_MMAP_EXCLUSIVE != 0 {
                        once.push(i + k as u64);
                    }
                }
                Ok(())
            })?;
        }
        // Known, even where no page is mapped once.
        res.mark_once(0..0);
        for p in once {
            res.mark_once(p..p + 1);
        }
        Ok(())
    }
}

/// Residency from pagemap entries (kernels without PAGEMAP_SCAN), read a bounded chunk
/// at a time.
fn read_pagemap(f: &File, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
    let mut res = Residency::new(start, end, page);
    let zero = zero_pfn();
    let first_page = start >> page.get().trailing_zeros();
    for_entries(f, first_page, 0..res.pages(), |i, entries| {
        for (k, &e) in entries.iter().enumerate() {
            let on_zero_page = zero.is_some_and(|z| e & PM_PRESENT != 0 && e & PFN_MASK == z);
            let p = i + k as u64;
            if e & PM_PRESENT != 0 && !on_zero_page {
                res.mark_present(p..p + 1);
            }
            if e & PM_SWAPPED != 0 {
                res.mark_swapped(p..p + 1);
            }
        }
        Ok(())
    })?;
    Ok(res)
}

/// `struct page_region` of linux/fs.h.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

/// `struct pm_scan_arg` of linux/fs.h (6.7).
#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_SWAPPED: u64 = 1 << 4;
const PAGE_IS_PFNZERO: u64 = 1 << 5;
#[cfg(feature = "cli")]
const PAGE_IS_HUGE: u64 = 1 << 6;
/// `_IOWR('f', 16, struct pm_scan_arg)` (linux/fs.h).
const PAGEMAP_SCAN: u32 = iowr::<PmScanArg>(b'f', 16);

/// The one PAGEMAP_SCAN loop: `each(start, end, categories)` for every run of
/// present or swapped pages of `range`, in address order, clipped to it, with the
/// categories of `return_mask`; `batch` runs are asked for a call. `Err` with
/// ENOTTY/EINVAL/EOPNOTSUPP when the kernel has no PAGEMAP_SCAN (before 6.7).
fn scan(
    f: &File,
    range: std::ops::Range<u64>,
    return_mask: u64,
    batch: usize,
    mut each: impl FnMut(u64, u64, u64),
) -> io::Result<()> {
    let mut regions = vec![PageRegion::default(); batch];
    let (mut at, end) = (range.start, range.end);
    while at < end {
        let mut arg = PmScanArg {
            size: std::mem::size_of::<PmScanArg>() as u64,
            start: at,
            end,
            vec: regions.as_mut_ptr() as u64,
            vec_len: regions.len() as u64,
            category_anyof_mask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
            return_mask,
            ..PmScanArg::default()
        };
        // SAFETY: arg is a pm_scan_arg of its own size whose vec points to vec_len
        // writable page_region entries that outlive the call.
        let n = unsafe { ioctl_rw(f, PAGEMAP_SCAN, &mut arg) }?;
        for r in &regions[..n.min(regions.len())] {
            let (s, e) = (r.start.max(at), r.end.min(end));
            if s < e {
                each(s, e, r.categories);
            }
        }
        if arg.walk_end <= at || (n as u64) < arg.vec_len {
            break;
        }
        at = arg.walk_end;
    }
    Ok(())
}

/// Residency through the PAGEMAP_SCAN ioctl: runs of pages by category, so a large
/// mostly-empty mapping costs a few calls, not 8 bytes per page.
fn pagemap_scan(f: &File, start: u64, end: u64, page: PageSize) -> io::Result<Residency> {
    let mut out = Residency::new(start, end, page);
    let mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO;
    scan(f, start..end, mask, 256, |s, e, c| {
        let pages = out.page_indices(s, e);
        if c & PAGE_IS_PRESENT != 0 && c & PAGE_IS_PFNZERO == 0 {
            out.mark_present(pages.clone());
        }
        if c & PAGE_IS_SWAPPED != 0 {
            out.mark_swapped(pages);
        }
    })?;
    Ok(out)
}

/// The PFN of the shared zero page, learnt by reading a fresh anonymous page of our
/// own; `None` when PFNs are hidden (no CAP_SYS_ADMIN).
fn zero_pfn() -> Option<u64> {
    static ZERO: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *ZERO.get_or_init(|| {
        let page = page_size().get() as usize;
        // SAFETY: a private anonymous mapping of one page, read once, then unmapped.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return None;
            }
            let _ = std::ptr::read_volatile(p as *const u8);
            let mut entry = [0u8; 8];
            let got = File::open("/proc/self/pagemap")
                .and_then(|f| f.read_exact_at(&mut entry, (p as u64 / page as u64) * 8));
            libc::munmap(p, page);
            got.ok()?;
            let pfn = u64::from_ne_bytes(entry) & PFN_MASK;
            (pfn != 0).then_some(pfn)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both decoders give the same runs for pages of our own that were written.
    #[test]
    fn scan_and_entries_agree() {
        let page = page_size();
        let p = page.get() as usize;
        // SAFETY: a private anonymous mapping of 8 pages, written, read back through
        // pagemap, then unmapped.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                8 * p,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        for i in [0, 1, 5] {
            // SAFETY: inside the mapping.
            unsafe { std::ptr::write_volatile((base as *mut u8).add(i * p), 1) };
        }
        let (start, end) = (base as u64, base as u64 + 8 * p as u64);
        let f = File::open("/proc/self/pagemap").unwrap();
        let entries = read_pagemap(&f, start, end, page).unwrap();
        let scanned = pagemap_scan(&f, start, end, page);
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(base, 8 * p) };
        let runs: Vec<_> = entries.present_runs().collect();
        assert_eq!(runs, vec![0..2, 5..6]);
        assert_eq!(entries.count(start, end).present, 3);
        match scanned {
            Ok(s) => assert_eq!(s, entries),
            // Kernels before 6.7 have no PAGEMAP_SCAN.
            Err(e) => assert!(
                matches!(
                    e.raw_os_error(),
                    Some(libc::ENOTTY) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
                ),
                "{e}"
            ),
        }
    }

    /// The request number the kernel documents for PAGEMAP_SCAN (linux/fs.h:
    /// `_IOWR('f', 16, struct pm_scan_arg)`, a struct of twelve `__u64`).
    #[test]
    fn the_request_number_is_the_kernels() {
        assert_eq!(std::mem::size_of::<PmScanArg>(), 96);
        assert_eq!(PAGEMAP_SCAN, 0xc060_6610);
    }

    /// The scan loop resumes at `walk_end` when a call fills its buffer: a buffer of
    /// one run gives the runs pagemap's entries give, call by call.
    #[test]
    fn the_scan_resumes_where_a_full_buffer_stopped() {
        let page = page_size();
        let p = page.get() as usize;
        // SAFETY: a private anonymous mapping of 16 pages, written, read back through
        // pagemap, then unmapped.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                16 * p,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        for i in [0, 1, 5, 9, 10, 11, 15] {
            // SAFETY: inside the mapping.
            unsafe { std::ptr::write_volatile((base as *mut u8).add(i * p), 1) };
        }
        let (start, end) = (base as u64, base as u64 + 16 * p as u64);
        let f = File::open("/proc/self/pagemap").unwrap();
        let entries = read_pagemap(&f, start, end, page).unwrap();
        let mut calls = Vec::new();
        let scanned = scan(&f, start..end, PAGE_IS_PRESENT, 1, |s, e, _| {
            calls.push(s..e)
        });
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(base, 16 * p) };
        let want: Vec<_> = entries
            .present_runs()
            .map(|r| start + r.start * p as u64..start + r.end * p as u64)
            .collect();
        assert_eq!(want.len(), 4, "{want:x?}");
        match scanned {
            Ok(()) => assert_eq!(calls, want),
            Err(e) => assert!(
                matches!(
                    e.raw_os_error(),
                    Some(libc::ENOTTY) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
                ),
                "{e}"
            ),
        }
    }
}

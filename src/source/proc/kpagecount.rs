//! Exact PSS: the map count of each present page, from the page frame numbers of
//! `/proc/PID/pagemap` and `/proc/kpagecount` (one u64 per page frame: how many times
//! it is mapped). Both need CAP_SYS_ADMIN (without it pagemap's PFNs read as 0 and
//! kpagecount cannot be opened); then the PSS of a part of a split maps line is prorated
//! instead (docs/labelling.md §5).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;

use super::Process;
use super::pagemap::{PFN_MASK, PM_PRESENT, for_entries};
use crate::vocab::Residency;

/// Entries read per `pread` of kpagecount: memory stays bounded.
const CHUNK: usize = 4096;

/// `/proc/kpagecount`, opened once per run; `None` when it cannot be (no privilege,
/// or a kernel without CONFIG_PROC_PAGE_MONITOR).
fn kpagecount() -> Option<&'static File> {
    static FILE: OnceLock<Option<File>> = OnceLock::new();
    FILE.get_or_init(|| File::open("/proc/kpagecount").ok())
        .as_ref()
}

impl Process {
    /// Adds to `res` (the residency of one maps line, already read) the map count of
    /// each present page. `Err` when the counts cannot be read; `res` is then left
    /// without them.
    pub(crate) fn add_mapcounts(&mut self, res: &mut Residency) -> io::Result<()> {
        let counts = kpagecount().ok_or_else(|| {
            io::Error::new(io::ErrorKind::PermissionDenied, "no /proc/kpagecount")
        })?;
        let pagemap = self.pagemap()?;
        let first_page = res.start() >> res.page_size().get().trailing_zeros();
        let mut found: Vec<(u64, u64)> = Vec::new();
        for run in res.present_runs() {
            for_entries(pagemap, first_page, run, |i, entries| {
                let mut pfns = Vec::with_capacity(entries.len());
                for &e in entries {
                    let pfn = e & PFN_MASK;
                    if e & PM_PRESENT != 0 && pfn == 0 {
                        // A present page without a frame number: PFNs are hidden.
                        return Err(io::Error::new(
                            io::ErrorKind::PermissionDenied,
                            "page frame numbers are hidden (needs CAP_SYS_ADMIN)",
                        ));
                    }
                    // A page gone since the residency was read has no frame: 0.
                    pfns.push(if e & PM_PRESENT != 0 { pfn } else { 0 });
                }
                for (k, count) in map_counts(counts, &pfns)?.into_iter().enumerate() {
                    if count >= 2 {
                        found.push((i + k as u64, count));
                    }
                }
                Ok(())
            })?;
        }
        res.know_mapcounts();
        for (p, count) in found {
            res.set_mapcount(p..p + 1, count);
        }
        Ok(())
    }
}

/// The map count of each page frame of `pfns` (0 for a frame number of 0: a page no
/// longer present), reading consecutive frames with one `pread`.
fn map_counts(kpagecount: &File, pfns: &[u64]) -> io::Result<Vec<u64>> {
    let mut out = vec![0u64; pfns.len()];
    let mut i = 0;
    let mut buf = Vec::new();
    while i < pfns.len() {
        if pfns[i] == 0 {
            i += 1;
            continue;
        }
        // The longest run of consecutive frames from i.
        let mut j = i + 1;
        while j < pfns.len() && j - i < CHUNK && pfns[j] == pfns[j - 1].wrapping_add(1) {
            j += 1;
        }
        buf.resize(8 * (j - i), 0);
        let at = pfns[i]
            .checked_mul(8)
            .ok_or_else(|| io::Error::other("frame number beyond kpagecount"))?;
        kpagecount.read_exact_at(&mut buf, at)?;
        for (k, c) in buf.chunks_exact(8).enumerate() {
            out[i + k] = u64::from_ne_bytes(c.try_into().expect("8 bytes"));
        }
        i = j;
    }
    Ok(out)
}

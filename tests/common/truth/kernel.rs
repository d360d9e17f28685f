//! What the kernel says: `/proc/PID/maps` (parsed independently of elfmaps) and
//! `/proc/PID/pagemap` (which pages are resident, and mapped by this process only).

use std::fs::File;
use std::os::unix::fs::FileExt;

/// One line of a maps file.
#[derive(Debug)]
pub struct MapLine {
    /// Start address.
    pub start: u64,
    /// End address.
    pub end: u64,
    /// `rwxp`.
    pub perms: String,
    /// File offset.
    pub offset: u64,
    /// `MAJOR:MINOR`.
    pub dev: String,
    /// Inode (0: not a file).
    pub inode: u64,
    /// Name, as printed.
    pub path: Option<String>,
    /// The whole line.
    pub text: String,
}

/// The maps of a live process.
pub fn read_maps(pid: u32) -> Vec<MapLine> {
    parse_maps(&std::fs::read(format!("/proc/{pid}/maps")).unwrap())
}

/// Parses the text of a maps file (names with spaces kept; trailing padding dropped).
pub fn parse_maps(text: &[u8]) -> Vec<MapLine> {
    String::from_utf8_lossy(text)
        .lines()
        .map(|l| {
            // start-end perms offset dev inode [spaces name]
            let mut rest = l;
            let mut field = || {
                let t = rest.trim_start_matches(' ');
                let n = t.find(' ').unwrap_or(t.len());
                rest = &t[n..];
                &t[..n]
            };
            let (s, e) = field().split_once('-').unwrap();
            let perms = field().to_string();
            let offset = u64::from_str_radix(field(), 16).unwrap();
            let dev = field().to_string();
            let inode = field().parse().unwrap();
            let name = rest.trim_start_matches(' ');
            MapLine {
                start: u64::from_str_radix(s, 16).unwrap(),
                end: u64::from_str_radix(e, 16).unwrap(),
                perms,
                offset,
                dev,
                inode,
                path: (!name.is_empty()).then(|| name.to_string()),
                text: l.to_string(),
            }
        })
        .collect()
}

/// Whether each page of [start, end) is resident as smaps counts Rss: present (bit
/// 63) and not the shared zero page, which smaps leaves out of Rss. The zero page is
/// recognised by its PFN (bits 0-54), visible only with CAP_SYS_ADMIN; without it,
/// the zero page cannot be told apart and counts as present.
pub fn present_pages(pagemap: &File, start: u64, end: u64, page: u64) -> Vec<bool> {
    resident_pages(pagemap, start, end, page)
        .iter()
        .map(|p| p.is_some())
        .collect()
}

/// Like [`present_pages`], with for each resident page whether it is mapped by this
/// process only (bit 56, "exclusively mapped": what smaps counts as private).
pub fn resident_pages(pagemap: &File, start: u64, end: u64, page: u64) -> Vec<Option<bool>> {
    let zero = zero_pfn();
    let n = ((end - start) / page) as usize;
    let mut buf = vec![0u8; n * 8];
    pagemap.read_exact_at(&mut buf, start / page * 8).unwrap();
    buf.chunks_exact(8)
        .map(|c| {
            let e = u64::from_le_bytes(c.try_into().unwrap());
            let resident = e >> 63 == 1 && zero.is_none_or(|z| e & ((1 << 55) - 1) != z);
            resident.then_some(e & (1 << 56) != 0)
        })
        .collect()
}

/// PFN of the shared zero page (read a fresh anonymous page of this test process and
/// look it up in /proc/self/pagemap), or None when PFNs are hidden (not root).
pub fn zero_pfn() -> Option<u64> {
    static ZERO: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *ZERO.get_or_init(|| {
        let page = 4096usize;
        // SAFETY: one private anonymous page, read once and unmapped.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            let _ = std::ptr::read_volatile(p as *const u8);
            let mut e = [0u8; 8];
            File::open("/proc/self/pagemap")
                .unwrap()
                .read_exact_at(&mut e, (p as u64 / page as u64) * 8)
                .unwrap();
            libc::munmap(p, page);
            let pfn = u64::from_le_bytes(e) & ((1 << 55) - 1);
            (pfn != 0).then_some(pfn)
        }
    })
}

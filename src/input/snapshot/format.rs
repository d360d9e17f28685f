//! The snapshot file, in the format of [`super`]'s documentation: one process's
//! snapshot written and read back, and the system snapshot of every process of a
//! machine. Only the command line reads and writes snapshots (`snapshot`,
//! `map --snapshot`, `sections --snapshot`, `system --snapshot`): compiled with the
//! `cli` feature. Parsing takes bytes and does no I/O; every error names the line or
//! the section.

use std::collections::BTreeMap;
#[cfg(any(feature = "cli", test))]
use std::fmt::Write as _;
#[cfg(any(feature = "cli", test))]
use std::ops::Range;

use super::{Snapshot, SnapshotError, VERSION};
use crate::vocab::{MapsSource, PageSize, Residency};

/// The first word of a snapshot file.
pub const MAGIC: &str = "ELFMAPS-SNAPSHOT";

/// The bitmap of `pages` pages whose set bits are `runs` (bit `i % 8` of byte `i / 8`
/// is page `i`).
#[cfg(any(feature = "cli", test))]
fn bitmap(runs: impl Iterator<Item = Range<u64>>, pages: u64) -> Vec<u8> {
    let mut out = vec![0u8; usize::try_from(pages.div_ceil(8)).unwrap_or(usize::MAX)];
    for run in runs {
        for i in run {
            if let Some(b) = out.get_mut((i / 8) as usize) {
                *b |= 1 << (i % 8);
            }
        }
    }
    out
}

/// Reads one residency line's bitmaps into `[start, end)`. Each must hold exactly the
/// line's pages: a line that claims more pages than its bitmaps hold is refused (with
/// why), so memory follows the bytes given. `Err(None)`: the hex is malformed.
fn residency_of(
    start: u64,
    end: u64,
    page: PageSize,
    present: &[u8],
    swapped: &[u8],
) -> Result<Residency, Option<SnapshotError>> {
    let mut r = Residency::new(start, end, page);
    let need = r.pages().div_ceil(8);
    for hexbits in [present, swapped] {
        let have = (hexbits.len() / 2) as u64;
        if have != need {
            return Err(Some(SnapshotError::ResidencyBitmap {
                start,
                end,
                pages: r.pages(),
                page,
                need,
                have,
            }));
        }
    }
    let present = unhex(present).ok_or(None)?;
    let swapped = unhex(swapped).ok_or(None)?;
    for i in set_bits(&present) {
        r.mark_present(i..i + 1);
    }
    for i in set_bits(&swapped) {
        r.mark_swapped(i..i + 1);
    }
    Ok(r)
}

/// The indices of the set bits of a bitmap (bit `i % 8` of byte `i / 8` is `i`).
fn set_bits(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    (0u64..)
        .step_by(8)
        .zip(bytes)
        .filter(|(_, b)| **b != 0)
        .flat_map(|(base, &b)| {
            (0..8)
                .filter(move |k| b & (1 << k) != 0)
                .map(move |k| base + k)
        })
}

#[cfg(any(feature = "cli", test))]
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
        .collect()
}

impl Snapshot {
    /// Serialises the snapshot in the format above.
    #[cfg(any(feature = "cli", test))]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("{MAGIC} {VERSION}\n");
        if let Some(pid) = self.pid {
            let _ = writeln!(head, "pid {pid}");
        }
        let _ = writeln!(head, "page_size {}", self.page_size);
        if let Some(source) = self.source {
            let _ = writeln!(head, "source {source}");
        }
        for (k, v) in &self.header {
            let v: String = v.chars().filter(|c| !c.is_control()).collect();
            let _ = writeln!(head, "{k} {v}");
        }
        head.push('\n');
        let mut out = head.into_bytes();
        let mut section = |name: &str, body: &[u8]| {
            out.extend_from_slice(format!("@{name} {}\n", body.len()).as_bytes());
            out.extend_from_slice(body);
            out.push(b'\n');
        };
        section("smaps", &self.smaps);
        let mut ids = String::new();
        for ((s, e), id) in &self.build_ids {
            let _ = writeln!(ids, "{s:x}-{e:x} {}", hex(id));
        }
        section("build-ids", ids.as_bytes());
        if !self.phdr_digests.is_empty() {
            let mut digests = String::new();
            for ((s, e), d) in &self.phdr_digests {
                let _ = writeln!(digests, "{s:x}-{e:x} {d:016x}");
            }
            section("phdr-digests", digests.as_bytes());
        }
        let mut res = String::new();
        for r in &self.residency {
            let _ = writeln!(
                res,
                "{:x}-{:x} {} {}",
                r.start(),
                r.end(),
                hex(&bitmap(r.present_runs(), r.pages())),
                hex(&bitmap(r.swapped_runs(), r.pages()))
            );
        }
        section("residency", res.as_bytes());
        // Which of those lines' present pages are mapped once, where that was known
        // (the parts' private bytes); absent from snapshots of earlier versions.
        let mut once = String::new();
        for r in &self.residency {
            if let Some(runs) = r.once_runs() {
                let _ = writeln!(
                    once,
                    "{:x}-{:x} {}",
                    r.start(),
                    r.end(),
                    hex(&bitmap(runs.into_iter(), r.pages()))
                );
            }
        }
        if !once.is_empty() {
            section("once", once.as_bytes());
        }
        let mut sps = String::new();
        for sp in &self.thread_sps {
            let _ = writeln!(sps, "{sp:x}");
        }
        section("thread-sps", sps.as_bytes());
        if !self.sections.is_empty() {
            let mut runs = String::new();
            for r in &self.sections {
                let _ = writeln!(
                    runs,
                    "{:x}-{:x} {} {}",
                    r.start(),
                    r.end(),
                    runs_text(r.present_runs()),
                    runs_text(r.swapped_runs())
                );
            }
            section("residency-runs", runs.as_bytes());
        }
        out
    }

    /// Parses a snapshot. Errors name the line or the section; memory follows the
    /// bytes given (residency is kept as runs, and a residency line must carry a bit
    /// for each page it claims).
    pub fn parse(input: &[u8]) -> Result<Snapshot, SnapshotError> {
        Snapshot::parse_inner(input)
    }

    fn parse_inner(input: &[u8]) -> Result<Snapshot, SnapshotError> {
        let mut cur = Cursor {
            input,
            pos: 0,
            line: 0,
        };
        read_magic(&mut cur)?;
        let mut snap = Snapshot::default();
        snap.page_size = read_header(&mut cur, &mut snap)?;
        while let Some((name, body)) = cur.section()? {
            match name {
                "smaps" => snap.smaps = body.to_vec(),
                "build-ids" => snap.build_ids.extend(parse_build_ids(body)?),
                "phdr-digests" => snap.phdr_digests.extend(parse_phdr_digests(body)?),
                "residency" => snap
                    .residency
                    .extend(parse_residency(body, snap.page_size)?),
                "once" => parse_once(body, &mut snap.residency)?,
                "thread-sps" => snap.thread_sps.extend(parse_thread_sps(body)?),
                "residency-runs" => snap
                    .sections
                    .extend(parse_residency_runs(body, snap.page_size)?),
                _ => {} // A section of a later version: skipped.
            }
        }
        Ok(snap)
    }
}

/// The bytes of a snapshot being read, with the number of the last line read.
struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    /// The next line, without its newline; `None` at the end.
    fn next_line(&mut self) -> Option<&'a [u8]> {
        let rest = self.input.get(self.pos..).filter(|r| !r.is_empty())?;
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        self.pos += len + 1;
        self.line += 1;
        Some(&rest[..len])
    }

    /// The next section, `@NAME LENGTH` and its body; `None` at the end. Blank lines
    /// between sections are skipped.
    fn section(&mut self) -> Result<Option<(&'a str, &'a [u8])>, SnapshotError> {
        let line = loop {
            match self.next_line() {
                None => return Ok(None),
                Some([]) => continue,
                Some(l) => break l,
            }
        };
        let lineno = self.line;
        let (name, len) = std::str::from_utf8(line)
            .ok()
            .and_then(|t| t.strip_prefix('@')?.split_once(' '))
            .and_then(|(n, l)| Some((n, l.parse::<usize>().ok()?)))
            .ok_or(SnapshotError::SectionHeader { line: lineno })?;
        let end = self
            .pos
            .checked_add(len)
            .ok_or(SnapshotError::SectionOverflow)?;
        let body =
            self.input
                .get(self.pos..end)
                .ok_or_else(|| SnapshotError::SectionTruncated {
                    section: name.to_string(),
                    len,
                })?;
        self.line += memchr::memchr_iter(b'\n', body).count();
        self.pos = end;
        Ok(Some((name, body)))
    }
}

/// The first line: the magic and a version this reader knows.
fn read_magic(cur: &mut Cursor) -> Result<(), SnapshotError> {
    let first = cur.next_line().ok_or(SnapshotError::Empty)?;
    let not = SnapshotError::NotSnapshot { system: false };
    let first = std::str::from_utf8(first).map_err(|_| not.clone())?;
    if first.starts_with(SYSTEM_MAGIC) {
        return Err(SnapshotError::IsSystem);
    }
    let version = first
        .strip_prefix(MAGIC)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .ok_or(not)?;
    if version != VERSION {
        return Err(SnapshotError::Version {
            system: false,
            version,
        });
    }
    Ok(())
}

/// The header lines up to the blank line, into `snap`; returns the page size, which
/// the header must give.
fn read_header(cur: &mut Cursor, snap: &mut Snapshot) -> Result<PageSize, SnapshotError> {
    let mut page_size = None;
    loop {
        let line = cur.next_line().ok_or(SnapshotError::HeaderUnterminated)?;
        let lineno = cur.line;
        if line.is_empty() {
            break;
        }
        let line =
            std::str::from_utf8(line).map_err(|_| SnapshotError::HeaderNotUtf8 { line: lineno })?;
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        match k {
            "pid" => {
                let pid = v.parse().map_err(|_| SnapshotError::BadPid {
                    line: lineno,
                    value: v.to_string(),
                })?;
                snap.pid = Some(pid);
            }
            "page_size" => {
                let p: u64 = v.parse().map_err(|_| SnapshotError::BadPageSize {
                    line: lineno,
                    value: v.to_string(),
                })?;
                let p = PageSize::new(p).map_err(|_| SnapshotError::ImplausiblePageSize {
                    line: lineno,
                    value: p,
                })?;
                page_size = Some(p);
            }
            "source" => {
                let source = MapsSource::from_name(v).ok_or_else(|| SnapshotError::BadSource {
                    line: lineno,
                    value: v.to_string(),
                })?;
                snap.source = Some(source);
            }
            _ => {
                snap.header.insert(k.to_string(), v.to_string());
            }
        }
    }
    page_size.ok_or(SnapshotError::NoPageSize)
}

/// The non-empty lines of a section's body.
fn lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    body.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// `@phdr-digests`: "START-END HEX" lines, HEX a 64-bit digest.
fn parse_phdr_digests(body: &[u8]) -> Result<BTreeMap<(u64, u64), u64>, SnapshotError> {
    lines(body)
        .map(|l| {
            let (range, d) = parse_range_rest(l).ok_or_else(|| bad_line("phdr-digests", l))?;
            let d = std::str::from_utf8(d)
                .ok()
                .filter(|d| !d.is_empty() && d.len() <= 16)
                .and_then(|d| u64::from_str_radix(d, 16).ok())
                .ok_or_else(|| bad_line("phdr-digests", l))?;
            Ok((range, d))
        })
        .collect()
}

/// `@build-ids`: "START-END HEX" lines.
fn parse_build_ids(body: &[u8]) -> Result<BTreeMap<(u64, u64), Vec<u8>>, SnapshotError> {
    lines(body)
        .map(|l| {
            let (range, id) = parse_range_rest(l).ok_or_else(|| bad_line("build-ids", l))?;
            let id = unhex(id).ok_or_else(|| bad_line("build-ids", l))?;
            Ok((range, id))
        })
        .collect()
}

/// `@residency`: "START-END PRESENT SWAPPED" lines, bitmaps in hex.
fn parse_residency(body: &[u8], page: PageSize) -> Result<Vec<Residency>, SnapshotError> {
    lines(body)
        .map(|l| {
            let ((start, end), rest) =
                parse_range_rest(l).ok_or_else(|| bad_line("residency", l))?;
            let mut parts = rest.split(|&b| b == b' ');
            let present = parts.next().ok_or_else(|| bad_line("residency", l))?;
            let swapped = parts.next().ok_or_else(|| bad_line("residency", l))?;
            residency_of(start, end, page, present, swapped)
                .map_err(|e| e.unwrap_or_else(|| bad_line("residency", l)))
        })
        .collect()
}

/// `@once`: "START-END ONCE" lines, the bitmap of the present pages mapped once of
/// the `@residency` line with the same range (which must come first).
fn parse_once(body: &[u8], residency: &mut [Residency]) -> Result<(), SnapshotError> {
    for l in lines(body) {
        let ((start, end), rest) = parse_range_rest(l).ok_or_else(|| bad_line("once", l))?;
        let r = residency
            .iter_mut()
            .find(|r| (r.start(), r.end()) == (start, end))
            .ok_or_else(|| bad_line("once", l))?;
        if (rest.len() / 2) as u64 != r.pages().div_ceil(8) {
            return Err(bad_line("once", l));
        }
        let bits = unhex(rest).ok_or_else(|| bad_line("once", l))?;
        r.mark_once(0..0);
        for i in set_bits(&bits) {
            r.mark_once(i..i + 1);
        }
    }
    Ok(())
}

/// Runs of page indices as `@residency-runs` writes them: `a-b,c-d` in hex, `-` for
/// none.
#[cfg(any(feature = "cli", test))]
fn runs_text(runs: impl Iterator<Item = Range<u64>>) -> String {
    let text: Vec<String> = runs.map(|r| format!("{:x}-{:x}", r.start, r.end)).collect();
    if text.is_empty() {
        "-".into()
    } else {
        text.join(",")
    }
}

/// `@residency-runs`: lines `START-END PRESENT SWAPPED`, each a list of runs of page
/// indices ([`runs_text`]). A run must be non-empty and within the line's pages:
/// memory follows the bytes given.
fn parse_residency_runs(body: &[u8], page: PageSize) -> Result<Vec<Residency>, SnapshotError> {
    lines(body)
        .map(|l| {
            let bad = || bad_line("residency-runs", l);
            let ((start, end), rest) = parse_range_rest(l).ok_or_else(bad)?;
            let rest = std::str::from_utf8(rest).map_err(|_| bad())?;
            let mut parts = rest.split(' ');
            let (present, swapped) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
            let mut r = Residency::new(start, end, page);
            for (text, is_present) in [(present, true), (swapped, false)] {
                if text == "-" {
                    continue;
                }
                // Marked at once, sorted: runs out of order one by one are quadratic.
                let mut runs = Vec::new();
                for run in text.split(',') {
                    let (a, b) = run.split_once('-').ok_or_else(bad)?;
                    let a = u64::from_str_radix(a, 16).map_err(|_| bad())?;
                    let b = u64::from_str_radix(b, 16).map_err(|_| bad())?;
                    if a >= b || b > r.pages() {
                        return Err(SnapshotError::ResidencyRun {
                            start,
                            end,
                            first: a,
                            last: b,
                            pages: r.pages(),
                        });
                    }
                    runs.push(a..b);
                }
                if is_present {
                    r.mark_present_runs(runs);
                } else {
                    r.mark_swapped_runs(runs);
                }
            }
            Ok(r)
        })
        .collect()
}

/// `@thread-sps`: one hex stack pointer a line.
fn parse_thread_sps(body: &[u8]) -> Result<Vec<u64>, SnapshotError> {
    lines(body)
        .map(|l| {
            std::str::from_utf8(l)
                .ok()
                .and_then(|t| u64::from_str_radix(t, 16).ok())
                .ok_or_else(|| bad_line("thread-sps", l))
        })
        .collect()
}

fn bad_line(section: &'static str, l: &[u8]) -> SnapshotError {
    SnapshotError::MalformedLine {
        section,
        text: crate::vocab::escape::escape(&l[..l.len().min(100)]),
    }
}

fn parse_range_rest(l: &[u8]) -> Option<((u64, u64), &[u8])> {
    let sp = l.iter().position(|&b| b == b' ')?;
    let range = std::str::from_utf8(&l[..sp]).ok()?;
    let (s, e) = range.split_once('-')?;
    let (s, e) = (
        u64::from_str_radix(s, 16).ok()?,
        u64::from_str_radix(e, 16).ok()?,
    );
    if e <= s {
        return None;
    }
    Some(((s, e), &l[sp + 1..]))
}

/// The first word of a system snapshot file.
pub const SYSTEM_MAGIC: &str = "ELFMAPS-SYSTEM";

/// A process a system snapshot did not record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg(any(feature = "cli", test))]
pub struct SkippedEntry {
    /// Its PID.
    pub pid: u32,
    /// Why: `exited`, `denied`, `kernel_thread`, `zombie` or `failed`.
    pub reason: String,
    /// Its comm, when it was read.
    pub comm: Option<String>,
}

#[cfg(any(feature = "cli", test))]
impl SkippedEntry {
    /// A process `pid` not recorded for `reason`.
    pub fn new(pid: u32, reason: &str, comm: Option<String>) -> SkippedEntry {
        SkippedEntry {
            pid,
            reason: reason.to_string(),
            comm,
        }
    }
}

/// A system snapshot: every process of a machine. The processes' snapshots are
/// parsed one at a time ([`SystemSnapshot::process`]), so memory follows the largest.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[cfg(any(feature = "cli", test))]
pub struct SystemSnapshot<'a> {
    /// The page size of the recording machine.
    pub page_size: PageSize,
    /// Other header lines (`kernel`, `machine`, future keys).
    #[cfg_attr(not(test), allow(dead_code))] // parsed and checked; only the tests read it
    pub header: BTreeMap<String, String>,
    /// The processes not recorded.
    pub skipped: Vec<SkippedEntry>,
    processes: Vec<&'a [u8]>,
}

#[cfg(any(feature = "cli", test))]
impl<'a> SystemSnapshot<'a> {
    /// Whether `input` is a system snapshot (by its first word).
    pub fn is_system(input: &[u8]) -> bool {
        input.starts_with(SYSTEM_MAGIC.as_bytes())
    }

    /// Parses the header and finds the sections; the processes are parsed by
    /// [`SystemSnapshot::process`].
    pub fn parse(input: &'a [u8]) -> Result<SystemSnapshot<'a>, SnapshotError> {
        Self::parse_inner(input)
    }

    fn parse_inner(input: &'a [u8]) -> Result<SystemSnapshot<'a>, SnapshotError> {
        let mut cur = Cursor {
            input,
            pos: 0,
            line: 0,
        };
        let first = cur.next_line().ok_or(SnapshotError::Empty)?;
        let version = std::str::from_utf8(first)
            .ok()
            .and_then(|f| f.strip_prefix(SYSTEM_MAGIC))
            .and_then(|v| v.trim().parse::<u32>().ok())
            .ok_or(SnapshotError::NotSnapshot { system: true })?;
        if version != VERSION {
            return Err(SnapshotError::Version {
                system: true,
                version,
            });
        }
        let mut header = Snapshot::default();
        let page_size = read_header(&mut cur, &mut header)?;
        let mut out = SystemSnapshot {
            page_size,
            header: header.header,
            skipped: Vec::new(),
            processes: Vec::new(),
        };
        while let Some((name, body)) = cur.section()? {
            match name {
                "process" => out.processes.push(body),
                "skipped" => out.skipped.extend(parse_skipped(body)?),
                _ => {}
            }
        }
        Ok(out)
    }

    /// How many processes it records.
    pub fn len(&self) -> usize {
        self.processes.len()
    }

    /// The snapshot of the `i`-th process recorded (errors name the section).
    pub fn process(&self, i: usize) -> Result<Snapshot, SnapshotError> {
        let body = self
            .processes
            .get(i)
            .ok_or(SnapshotError::NoSuchProcess { index: i })?;
        Snapshot::parse(body).map_err(|e| SnapshotError::Process {
            index: i,
            err: Box::new(e),
        })
    }

    /// The start of a system snapshot: its first line and header.
    pub fn header_bytes(page_size: PageSize, header: &BTreeMap<String, String>) -> Vec<u8> {
        let mut head = format!("{SYSTEM_MAGIC} {VERSION}\npage_size {page_size}\n");
        for (k, v) in header {
            let v: String = v.chars().filter(|c| !c.is_control()).collect();
            let _ = writeln!(head, "{k} {v}");
        }
        head.push('\n');
        head.into_bytes()
    }

    /// The `@process` section of one process's snapshot.
    pub fn process_section(snap: &Snapshot) -> Vec<u8> {
        section("process", &snap.to_bytes())
    }

    /// The `@skipped` section.
    pub fn skipped_section(skipped: &[SkippedEntry]) -> Vec<u8> {
        let mut body = String::new();
        for s in skipped {
            let _ = write!(body, "{} {}", s.pid, s.reason);
            if let Some(c) = &s.comm {
                let c: String = c.chars().filter(|c| !c.is_control()).collect();
                let _ = write!(body, " {c}");
            }
            body.push('\n');
        }
        section("skipped", body.as_bytes())
    }
}

/// `@NAME LENGTH`, the body, a newline.
#[cfg(any(feature = "cli", test))]
fn section(name: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("@{name} {}\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out.push(b'\n');
    out
}

/// `@skipped`: "PID REASON [COMM]" lines.
#[cfg(any(feature = "cli", test))]
fn parse_skipped(body: &[u8]) -> Result<Vec<SkippedEntry>, SnapshotError> {
    lines(body)
        .map(|l| {
            let t = std::str::from_utf8(l).map_err(|_| bad_line("skipped", l))?;
            let mut parts = t.splitn(3, ' ');
            let pid = parts
                .next()
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| bad_line("skipped", l))?;
            let reason = parts.next().ok_or_else(|| bad_line("skipped", l))?;
            Ok(SkippedEntry::new(
                pid,
                reason,
                parts.next().map(str::to_string),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_snapshots_round_trip() {
        let mut header = BTreeMap::new();
        header.insert("kernel".to_string(), "6.1.0".to_string());
        let mut a = Snapshot {
            pid: Some(7),
            source: Some(MapsSource::Smaps),
            smaps: b"1000-2000 r--p 0 00:00 0 \n".to_vec(),
            ..Snapshot::default()
        };
        a.header.insert("comm".into(), "a b".into());
        let mut bytes = SystemSnapshot::header_bytes(PageSize::KIB4, &header);
        bytes.extend(SystemSnapshot::process_section(&a));
        bytes.extend(SystemSnapshot::skipped_section(&[
            SkippedEntry::new(2, "kernel_thread", Some("kthreadd".into())),
            SkippedEntry::new(9, "exited", None),
        ]));
        assert!(SystemSnapshot::is_system(&bytes));
        let sys = SystemSnapshot::parse(&bytes).unwrap();
        assert_eq!((sys.len(), sys.page_size), (1, PageSize::KIB4));
        assert_eq!(sys.header["kernel"], "6.1.0");
        assert_eq!(sys.process(0).unwrap(), a);
        assert_eq!(sys.skipped[0].comm.as_deref(), Some("kthreadd"));
        assert_eq!(sys.skipped[1], SkippedEntry::new(9, "exited", None));
        // The single-process reader says what it is.
        let e = Snapshot::parse(&bytes).unwrap_err();
        assert_eq!(e, SnapshotError::IsSystem);
        assert!(e.to_string().contains("elfmaps system --snapshot"), "{e}");
        for cut in 0..bytes.len() {
            let _ = SystemSnapshot::parse(&bytes[..cut]).map(|s| s.process(0));
        }
        assert!(SystemSnapshot::parse(b"ELFMAPS-SNAPSHOT 1\n").is_err());
    }

    #[test]
    fn round_trip() {
        let page = PageSize::new(16384).unwrap();
        let mut snap = Snapshot {
            pid: Some(42),
            page_size: page,
            source: Some(MapsSource::Smaps),
            smaps: b"1000-2000 r--p 0 00:00 0 /a\xff b\n".to_vec(),
            ..Snapshot::default()
        };
        snap.header.insert("machine".into(), "aarch64".into());
        snap.build_ids.insert((0x1000, 0x2000), vec![0xde, 0xad]);
        snap.phdr_digests
            .insert((0x1000, 0x2000), 0x0123_4567_89ab_cdef);
        // Pages 0 and 3 present, page 2 swapped.
        let mut r = Residency::new(0x10000, 0x20000, page);
        r.mark_present(0..1);
        r.mark_present(3..4);
        r.mark_swapped(2..3);
        snap.residency.push(r);
        snap.thread_sps = vec![0x7f00_0000_1234, 0x10];
        let bytes = snap.to_bytes();
        let back = Snapshot::parse(&bytes).unwrap();
        assert_eq!(back, snap);
        let all = back.residency[0].count(0x10000, 0x20000);
        assert_eq!((all.present, all.swapped), (2, 1));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("\n10000-20000 09 04\n"), "{text}");
    }

    /// The header's `source`: each source written by its name and read back, none
    /// when the header does not say, and any other text refused naming the line and
    /// the text (the reader used to keep whatever it found).
    #[test]
    fn sources_read_back_and_others_are_refused() {
        for source in MapsSource::ALL {
            let snap = Snapshot {
                source: Some(source),
                ..Snapshot::default()
            };
            let bytes = snap.to_bytes();
            let line = format!("\nsource {}\n", source.as_str());
            assert!(bytes.windows(line.len()).any(|w| w == line.as_bytes()));
            assert_eq!(Snapshot::parse(&bytes).unwrap(), snap);
        }
        let bytes = Snapshot::default().to_bytes();
        assert!(
            !bytes.windows(7).any(|w| w == b"source "),
            "no line for no source"
        );
        assert_eq!(Snapshot::parse(&bytes).unwrap().source, None);
        let written = b"ELFMAPS-SNAPSHOT 1\npage_size 4096\nsource maps+pagemap\n\n";
        assert_eq!(
            Snapshot::parse(written).unwrap().source,
            Some(MapsSource::MapsPagemap)
        );
        for bad in [
            "live",
            "SMAPS",
            "smaps ",
            " smaps",
            "",
            "maps+",
            "smaps\u{1b}[31m",
        ] {
            let text = format!("ELFMAPS-SNAPSHOT 1\npage_size 4096\nsource {bad}\n\n");
            let err = Snapshot::parse(text.as_bytes()).unwrap_err();
            assert_eq!(
                err,
                SnapshotError::BadSource {
                    line: 3,
                    value: bad.to_string()
                }
            );
            assert_eq!(
                err.to_string(),
                format!("line 3: unknown source {bad:?} (known: smaps maps maps+pagemap)")
            );
        }
        let bare = Snapshot::parse(b"ELFMAPS-SNAPSHOT 1\npage_size 4096\nsource\n\n");
        assert!(matches!(
            bare,
            Err(SnapshotError::BadSource { line: 3, .. })
        ));
    }
    /// `@once`: the pages mapped once of a split line's residency, written where
    /// known and read back onto the line's residency; a line of no residency, or of
    /// the wrong length, is refused.
    #[test]
    fn pages_mapped_once_read_back() {
        let page = PageSize::KIB4;
        let mut known = Residency::new(0x10000, 0x10000 + 20 * 4096, page);
        known.mark_present(0..12);
        known.mark_once(0..0);
        known.mark_once(3..9);
        let mut unknown = Residency::new(0x40000, 0x42000, page);
        unknown.mark_present(0..1);
        let snap = Snapshot {
            residency: vec![known, unknown],
            ..Snapshot::default()
        };
        let bytes = snap.to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("@once "), "{text}");
        assert!(text.contains("\n10000-24000 f801"), "{text}");
        let back = Snapshot::parse(&bytes).unwrap();
        assert_eq!(back, snap);
        assert_eq!(
            back.residency[0].once_runs(),
            Some(std::iter::once(3..9).collect())
        );
        assert_eq!(back.residency[1].once_runs(), None);
        for bad in ["50000-51000 01", "10000-24000 f8", "10000-24000 zzzzzz"] {
            let text = format!(
                "ELFMAPS-SNAPSHOT 1\npage_size 4096\n\n@residency 27\n10000-24000 ff0f00 000000\n@once {}\n{bad}\n",
                bad.len() + 1
            );
            assert!(Snapshot::parse(text.as_bytes()).is_err(), "{bad}");
        }
    }

    /// `snapshot --sections`: residency of every object's line, as runs.
    #[test]
    fn residency_runs_read_back_and_bad_runs_are_refused() {
        let page = PageSize::KIB4;
        let mut snap = Snapshot::default();
        let mut r = Residency::new(0x10000, 0x30000, page);
        r.mark_present(0..3);
        r.mark_present(0x10..0x20);
        r.mark_swapped(5..6);
        snap.sections.push(r);
        snap.sections.push(Residency::new(0x40000, 0x41000, page));
        let bytes = snap.to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("@residency-runs"), "{text}");
        assert!(text.contains("\n10000-30000 0-3,10-20 5-6\n"), "{text}");
        assert!(text.contains("\n40000-41000 - -\n"), "{text}");
        assert_eq!(Snapshot::parse(&bytes).unwrap(), snap);
        for bad in [
            "1000-2000 0-2 -",
            "1000-2000 1-1 -",
            "1000-2000 x -",
            "1000-2000 0-1",
        ] {
            let body = format!("{bad}\n");
            let file = format!(
                "{MAGIC} {VERSION}\npage_size 4096\n\n@residency-runs {}\n{body}",
                body.len()
            );
            assert!(Snapshot::parse(file.as_bytes()).is_err(), "{bad}");
        }
    }

    /// Snapshots written before residency became runs still read, page for page.
    #[test]
    fn bitmaps_read_as_before() {
        let r = Snapshot::parse(
            b"ELFMAPS-SNAPSHOT 1\npage_size 4096\n\n@residency 20\n1000-b000 f302 0400\n",
        )
        .unwrap()
        .residency
        .remove(0);
        // 10 pages: present 0,1,4,5,6,7,9; swapped 2.
        assert_eq!(
            r.present_runs().collect::<Vec<_>>(),
            vec![0..2, 4..8, 9..10]
        );
        assert_eq!(r.swapped_runs().collect::<Vec<_>>(), vec![2..3]);
        assert_eq!(r.count(0x1000, 0x5000).present, 2);
        assert_eq!(r.count(0x5000, 0xb000).present, 5);
    }

    /// A ~200-byte snapshot that declares residency for a 1 TiB line (2^28 pages) with
    /// a one-byte bitmap: refused at once, without allocating for the pages it claims.
    #[test]
    fn a_claim_larger_than_the_input_is_an_error() {
        let tiny = b"ELFMAPS-SNAPSHOT 1\npage_size 4096\nsource smaps\n\n\
            @smaps 39\n7e0000000000-7f0000000000 rw-p 0 0:0 0\n\
            @residency 32\n7e0000000000-7f0000000000 ff 00\n";
        assert!(tiny.len() < 220);
        let err = Snapshot::parse(tiny).unwrap_err();
        assert!(err.to_string().contains("268435456 pages"), "{err}");
        assert_eq!(err.code(), crate::vocab::Code::SnapshotMalformed);
        // Too long is as wrong as too short: the bitmap must hold the line's pages.
        let long = b"ELFMAPS-SNAPSHOT 1\npage_size 4096\n\n@residency 18\n1000-2000 0000 00\n";
        assert!(Snapshot::parse(long).is_err());
    }

    /// Memory follows the bytes given: 2^20 pages all present are one run.
    #[test]
    fn residency_memory_follows_the_bytes() {
        let pages = 1u64 << 20;
        let line = format!(
            "0-{:x} {} {}\n",
            pages * 4096,
            "ff".repeat((pages / 8) as usize),
            "00".repeat((pages / 8) as usize)
        );
        let text = format!(
            "ELFMAPS-SNAPSHOT 1\npage_size 4096\n\n@residency {}\n{line}",
            line.len()
        );
        let snap = Snapshot::parse(text.as_bytes()).unwrap();
        let r = &snap.residency[0];
        assert_eq!(r.runs(), 1);
        assert_eq!(r.count(0, pages * 4096).present, pages);
        assert_eq!(Snapshot::parse(&snap.to_bytes()).unwrap(), snap);
    }

    #[test]
    fn hostile_snapshots_are_errors() {
        let good = Snapshot {
            page_size: PageSize::KIB4,
            source: Some(MapsSource::Maps),
            ..Snapshot::default()
        }
        .to_bytes();
        for cut in 0..good.len() {
            let _ = Snapshot::parse(&good[..cut]);
        }
        assert!(Snapshot::parse(b"").is_err());
        assert!(Snapshot::parse(b"ELFMAPS-SNAPSHOT 9\n\n").is_err());
        assert!(
            Snapshot::parse(b"ELFMAPS-SNAPSHOT 1\npage_size 4096\n\n@smaps 99999999999\nx")
                .is_err()
        );
        assert!(Snapshot::parse(b"ELFMAPS-SNAPSHOT 1\npage_size 3\n\n").is_err());
        assert!(
            Snapshot::parse(b"ELFMAPS-SNAPSHOT 1\npage_size 4096\n\n@residency 6\n10-5 0").is_err()
        );
        assert!(
            Snapshot::parse(b"ELFMAPS-SNAPSHOT 1\npage_size 4096\n\n@thread-sps 3\nzz\n").is_err()
        );
    }
}

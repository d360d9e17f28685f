//! Phase 1: the file-backed mappings of one file grouped into instances by load bias.
//!
//! For a mapping (start S, offset O) and a PT_LOAD p with
//! `pagedown(p.offset) <= O < p.offset + p.filesz`, `bias = S - (O + p.vaddr - p.offset)`
//! is a candidate; ET_EXEC only ever has bias 0. Candidates with the loader's anchor
//! come first (a line that maps the lowest PT_LOAD's first page at its page-rounded
//! offset: every loader maps it so, [`maps_anchor`]), then the candidate that most
//! mappings (then most bytes) agree on; each claims the file's mappings inside its
//! span, and the rest vote again and form further instances (the same file loaded
//! twice, or mapped as data).
//!
//! After the evidence checks, [`separate_data`] keeps as instances only the loaded
//! images: a group of lines without the loader's signature is the file mapped as data
//! (docs/labelling.md §1). Its lines leave their instance: they claim no anonymous
//! memory and never make a loaded copy of the same file `unknown`.
//!
//! The work is bounded by the input, not by what hostile headers claim
//! (docs/labelling.md §6): the PT_LOADs that cover a line's offset are found in
//! time proportional to their number, at most [`MAX_LOADS_PER_OFFSET`] of them per
//! line; each instance costs its file's PT_LOAD count plus one (its image), and a file
//! may spend at most [`file_budget`], all files together at most [`total_budget`].
//! A file over a limit gets no instance: its lines are `unknown`, with a `work-limit`
//! problem.

use crate::input::elf::{ElfInfo, Phdr};
use crate::input::maps::Mapping;
use crate::vocab::{Code, PageSize};

use super::files::Files;
use super::image::{Scratch, image_with};
use super::{FileFacts, Instance, Problem};

/// The most PT_LOADs whose file ranges may cover one maps line's offset. Loaders give
/// a file page to one PT_LOAD, two where segments share a page, and about 16 when a
/// file linked for 4 KiB pages runs on 64 KiB ones; more is a hostile file.
pub(crate) const MAX_LOADS_PER_OFFSET: usize = 64;

/// The most a file's instances may cost together, in PT_LOADs laid out (each instance
/// costs the file's PT_LOAD count plus one): four times the file's maps lines and
/// PT_LOADs, plus 64. A file loaded once costs its PT_LOADs plus one; the same file
/// loaded sixteen times (`dlmopen`'s namespaces) still fits, as each instance owns
/// lines of its own.
pub(crate) fn file_budget(lines: usize, loads: usize) -> usize {
    lines
        .saturating_add(loads)
        .saturating_mul(4)
        .saturating_add(64)
}

/// The most all instances of a process may cost together (as in [`file_budget`]):
/// sixteen per maps line plus 2^20, so that a maps text naming one hostile file under
/// many names still costs memory in proportion to its lines.
pub(crate) fn total_budget(lines: usize) -> usize {
    lines.saturating_mul(16).saturating_add(1 << 20)
}

/// The instances found; for each maps line, the index of the instance that owns it;
/// for each instance, its file's number ([`Files`]); and the files (by number) that
/// got no instance because they went over a limit.
pub(crate) struct Grouping {
    pub(crate) instances: Vec<Instance>,
    pub(crate) owner: Vec<Option<usize>>,
    pub(crate) file_of: Vec<usize>,
    pub(crate) limited: Vec<(usize, Problem)>,
}

/// The problem of a file that would go over [`total_budget`].
fn over_total(total: usize, lines: usize) -> Problem {
    Problem::new(
        Code::WorkLimit,
        format!(
            "the objects of this process ask for more than {total} PT_LOADs laid out in all (the limit for {lines} maps lines; docs/labelling.md §6)"
        ),
    )
}

/// Groups the maps lines of every loadable ELF file into instances (module docs).
/// Files are taken in the order of their first maps line.
pub(crate) fn group(mappings: &[Mapping], files: &Files, page: PageSize) -> Grouping {
    let mut instances: Vec<Instance> = Vec::with_capacity(files.len());
    let mut file_of: Vec<usize> = Vec::with_capacity(files.len());
    let mut owner: Vec<Option<usize>> = vec![None; mappings.len()];
    let mut limited: Vec<(usize, Problem)> = Vec::new();
    let (mut spent, total) = (0usize, total_budget(mappings.len()));
    // Buffers reused from file to file.
    let (mut votes, mut next, mut scratch) = (Votes::default(), Vec::new(), Scratch::default());
    for f in 0..files.len() {
        let Some(FileFacts::Elf { info, .. }) = files.facts[f] else {
            continue;
        };
        if !info.is_loadable() {
            continue;
        }
        let ms = files.lines(f);
        let key = &files.keys[f];
        let loads = info.loads().count();
        if spent.saturating_add(loads + 1) > total {
            limited.push((f, over_total(total, mappings.len())));
            continue;
        }
        if let Err(line) = votes.count(mappings, ms, info, page) {
            limited.push((f, Problem::new(
                Code::WorkLimit,
                format!(
                    "maps line {line}'s file offset lies in the file ranges of more than {MAX_LOADS_PER_OFFSET} PT_LOADs (docs/labelling.md §6)"
                ),
            )));
            continue;
        }
        let (first, budget) = (instances.len(), file_budget(ms.len(), loads));
        let mut claim = Claim::new(mappings, ms, std::mem::take(&mut next));
        let mut cost = 0usize;
        let mut over = None;
        for c in &votes.candidates {
            if votes.voters(c).iter().all(|&(_, i)| owner[i].is_some()) {
                continue;
            }
            // Counted before the image is laid out, so that the work stops here.
            cost = cost.saturating_add(loads + 1);
            spent = spent.saturating_add(loads + 1);
            if cost > budget {
                over = Some(Problem::new(
                    Code::WorkLimit,
                    format!(
                        "its maps lines ask for more than {} instances at different load biases, of {loads} PT_LOADs each (the limit for {} maps lines; docs/labelling.md §6)",
                        budget / (loads + 1),
                        ms.len()
                    ),
                ));
                break;
            }
            if spent > total {
                over = Some(over_total(total, mappings.len()));
                break;
            }
            let Some(image) = image_with(info, c.bias, page, &mut scratch) else {
                continue;
            };
            let (Some(first), Some(last)) = (image.first(), image.last()) else {
                continue;
            };
            let (span_start, span_end) = (first.start, last.end);
            let idx = instances.len();
            claim.lines(span_start, span_end, |i| owner[i] = Some(idx));
            instances.push(Instance {
                key: key.clone(),
                info: info.clone(),
                bias: c.bias,
                span_start,
                span_end,
                image,
                problem: None,
            });
            file_of.push(f);
        }
        next = claim.next;
        if let Some(why) = over {
            instances.truncate(first);
            file_of.truncate(first);
            for &i in ms {
                owner[i] = None;
            }
            limited.push((f, why));
        }
    }
    Grouping {
        instances,
        owner,
        file_of,
        limited,
    }
}

/// The maps lines of one file not yet owned by an instance, in address order, found by
/// binary search and skipped once owned ("next unowned" links with path compression),
/// so that every instance costs the lines it claims, not all the file's lines.
struct Claim<'a> {
    mappings: &'a [Mapping],
    ms: &'a [usize],
    /// For each position in `ms`, a position at or before the next unowned one
    /// (`ms.len()` past the end).
    next: Vec<usize>,
}

impl<'a> Claim<'a> {
    /// Nothing owned yet; `next` is a buffer to reuse.
    fn new(mappings: &'a [Mapping], ms: &'a [usize], mut next: Vec<usize>) -> Claim<'a> {
        next.clear();
        next.extend(0..=ms.len());
        Claim { mappings, ms, next }
    }

    /// The first unowned position at or after `pos`.
    fn find(&mut self, pos: usize) -> usize {
        let mut root = pos;
        while self.next[root] != root {
            root = self.next[root];
        }
        let mut at = pos;
        while self.next[at] != root {
            let up = self.next[at];
            self.next[at] = root;
            at = up;
        }
        root
    }

    /// Calls `own` with every unowned line that overlaps `[start, end)`, and marks it
    /// owned.
    fn lines(&mut self, start: u64, end: u64, mut own: impl FnMut(usize)) {
        let (mappings, ms) = (self.mappings, self.ms);
        let mut pos = self.find(ms.partition_point(|&i| mappings[i].end <= start));
        while let Some(&i) = ms.get(pos) {
            if mappings[i].start >= end {
                break;
            }
            if mappings[i].end > start {
                own(i);
                self.next[pos] = pos + 1;
            }
            pos = self.find(pos + 1);
        }
    }
}

/// One candidate bias: how many lines and bytes vote for it, and where its voters lie
/// in [`Votes::pairs`].
struct Candidate {
    bias: u64,
    /// One of its voters maps the lowest PT_LOAD's first page ([`maps_anchor`]).
    anchored: bool,
    lines: usize,
    bytes: u64,
    voters: std::ops::Range<usize>,
}

/// The candidate biases of one file's maps lines, best first (see [`Votes::count`]).
/// Counted by sorting (bias, line) pairs, not in hash maps: a file has a handful of
/// lines and usually one bias, and the buffers serve every file in turn.
#[derive(Default)]
struct Votes<'a> {
    /// Every (bias, maps line) vote, sorted.
    pairs: Vec<(u64, usize)>,
    candidates: Vec<Candidate>,
    /// Scratch: the file's PT_LOADs by offset, the PT_LOADs that cover a line's
    /// offset, and its candidate biases.
    covering: Covering<'a>,
    loads: Vec<&'a Phdr>,
    biases: Vec<u64>,
}

impl<'a> Votes<'a> {
    /// The maps lines that vote for `c`, as (bias, line) pairs.
    fn voters(&self, c: &Candidate) -> &[(u64, usize)] {
        &self.pairs[c.voters.clone()]
    }

    /// Counts the candidate biases of the maps lines `ms` of one file, best first:
    /// anchored ([`maps_anchor`]), then most lines, then most bytes, then the lowest
    /// bias. Err: the maps line (1-based) whose offset more than
    /// [`MAX_LOADS_PER_OFFSET`] PT_LOADs cover.
    fn count(
        &mut self,
        mappings: &[Mapping],
        ms: &[usize],
        info: &'a ElfInfo,
        page: PageSize,
    ) -> Result<(), usize> {
        self.pairs.clear();
        self.candidates.clear();
        self.covering.reset(info, page);
        let lowest = lowest_load(info);
        for &i in ms {
            let m = &mappings[i];
            self.loads.clear();
            if !self.covering.at(m.offset, &mut self.loads) {
                return Err(m.line);
            }
            candidate_biases(m, &self.loads, info, &mut self.biases);
            self.pairs.extend(self.biases.iter().map(|&b| (b, i)));
        }
        // A line votes for a bias at most once, so each bias's voters are its run.
        self.pairs.sort_unstable();
        let mut from = 0;
        while let Some(&(bias, _)) = self.pairs.get(from) {
            let run = self.pairs[from..].partition_point(|&(b, _)| b == bias);
            let voters = from..from + run;
            let bytes = self.pairs[voters.clone()]
                .iter()
                .map(|&(_, i)| mappings[i].size())
                .sum();
            let anchored = lowest.is_some_and(|low| {
                self.pairs[voters.clone()]
                    .iter()
                    .any(|&(_, i)| maps_anchor(&mappings[i], bias, low, page))
            });
            self.candidates.push(Candidate {
                bias,
                anchored,
                lines: run,
                bytes,
                voters,
            });
            from += run;
        }
        self.candidates.sort_unstable_by(|a, b| {
            (b.anchored, b.lines, b.bytes)
                .cmp(&(a.anchored, a.lines, a.bytes))
                .then(a.bias.cmp(&b.bias))
        });
        Ok(())
    }
}

/// Candidate load biases of one file-backed mapping (module docs), from the PT_LOADs
/// `loads` that cover its offset; written to `out`, each once.
fn candidate_biases(m: &Mapping, loads: &[&Phdr], info: &ElfInfo, out: &mut Vec<u64>) {
    out.clear();
    for p in loads {
        // bias = S - (O + vaddr - offset), in wrapping arithmetic: a DYN object can be
        // linked at a vaddr above where it is loaded.
        let bias = m
            .start
            .wrapping_sub(m.offset.wrapping_add(p.vaddr).wrapping_sub(p.offset));
        if info.e_type == 2 && bias != 0 {
            continue; // ET_EXEC is never relocated.
        }
        if !out.contains(&bias) {
            out.push(bias);
        }
    }
}

/// Up to this many PT_LOADs with file contents, [`Covering`] looks at each of them
/// instead of building its tree (fewer than [`MAX_LOADS_PER_OFFSET`]).
const LINEAR: usize = 16;

/// The PT_LOADs of one file with file contents, by the range of offsets a maps line
/// may start at in them, `[pagedown(p_offset), p_offset + p_filesz)`: sorted by start,
/// with a tree of the largest end below each node, so that the ranges that cover an
/// offset are found in time proportional to their number (times log n).
#[derive(Default)]
struct Covering<'a> {
    ranges: Vec<(u64, u64, &'a Phdr)>,
    /// `max_end[node]`: the largest end among the ranges under `node` (node 1 is the
    /// root over all ranges; node n has children 2n and 2n+1); empty for up to
    /// [`LINEAR`] ranges.
    max_end: Vec<u64>,
}

impl<'a> Covering<'a> {
    /// Made for the PT_LOADs of `info`, in the buffers of the previous file.
    fn reset(&mut self, info: &'a ElfInfo, page: PageSize) {
        self.ranges.clear();
        self.ranges
            .extend(info.loads().filter(|p| p.filesz > 0).map(|p| {
                let end = p.offset.saturating_add(p.filesz);
                (page.down(p.offset), end, p)
            }));
        self.ranges.sort_by_key(|r| r.0);
        self.max_end.clear();
        if self.ranges.len() > LINEAR {
            self.max_end.resize(4 * self.ranges.len(), 0);
            self.build(1, 0, self.ranges.len());
        }
    }

    fn build(&mut self, node: usize, lo: usize, hi: usize) -> u64 {
        let end = if hi - lo == 1 {
            self.ranges[lo].1
        } else {
            let mid = lo + (hi - lo) / 2;
            self.build(2 * node, lo, mid)
                .max(self.build(2 * node + 1, mid, hi))
        };
        self.max_end[node] = end;
        end
    }

    /// Appends to `out` the PT_LOADs whose range covers `offset`; false (and stops)
    /// when there are more than [`MAX_LOADS_PER_OFFSET`].
    fn at(&self, offset: u64, out: &mut Vec<&'a Phdr>) -> bool {
        // Only ranges that start at or before the offset can cover it.
        let k = self.ranges.partition_point(|r| r.0 <= offset);
        if self.max_end.is_empty() {
            // Few ranges (every real file): the same ones in the same order as the
            // tree finds them, and never more than the limit.
            out.extend(
                self.ranges[..k]
                    .iter()
                    .filter(|r| r.1 > offset)
                    .map(|r| r.2),
            );
            return true;
        }
        k == 0 || self.find(1, 0, self.ranges.len(), k, offset, out)
    }

    fn find(
        &self,
        node: usize,
        lo: usize,
        hi: usize,
        k: usize,
        offset: u64,
        out: &mut Vec<&'a Phdr>,
    ) -> bool {
        if lo >= k || self.max_end[node] <= offset {
            return true;
        }
        if hi - lo == 1 {
            out.push(self.ranges[lo].2);
            return out.len() <= MAX_LOADS_PER_OFFSET;
        }
        let mid = lo + (hi - lo) / 2;
        self.find(2 * node, lo, mid, k, offset, out)
            && self.find(2 * node + 1, mid, hi, k, offset, out)
    }
}

/// The PT_LOAD with the lowest `p_vaddr`: loaders map it first, at the start of the
/// span.
fn lowest_load(info: &ElfInfo) -> Option<&Phdr> {
    info.loads().min_by_key(|p| p.vaddr)
}

/// Whether `m` maps the first page of the lowest PT_LOAD `lowest` of an object loaded
/// at `bias` at the file offset a loader puts there: the page
/// `pagedown(bias + p_vaddr)` at offset `pagedown(p_offset)` (for a PT_LOAD whose
/// `p_vaddr` and `p_offset` agree modulo the page). glibc, musl, bionic and the kernel
/// all map it so, first; a program that maps a few pages of an ELF file for reading,
/// or copies its code elsewhere, does not.
pub(crate) fn maps_anchor(m: &Mapping, bias: u64, lowest: &Phdr, page: PageSize) -> bool {
    let a = page.down(bias.wrapping_add(lowest.vaddr));
    let want = a
        .wrapping_sub(bias)
        .wrapping_sub(lowest.vaddr)
        .wrapping_add(lowest.offset);
    m.start <= a && a < m.end && m.offset.wrapping_add(a - m.start) == want
}

/// Keeps as instances only the loaded images of each file and returns the others to
/// no instance: their lines are the file mapped as data, `mapped_file`
/// (docs/labelling.md §1). Runs after the evidence checks, whose `notes` it keeps in
/// step with the instances (renumbered).
///
/// An instance is a loaded image when it has the loader's signature: a line maps its
/// anchor ([`maps_anchor`]), its lines lie inside its span, and the checks found
/// neither a problem nor a note. The others are data when
/// - no line maps its anchor (a few pages of the file, at any offset: libbacktrace,
///   symbolizers; code a program copied elsewhere, as node does with its builtins);
/// - or another instance of the same file is a loaded image (the file fits the maps,
///   so what does not fit is not the loader's doing), unless only its permissions
///   differ (a note: a program's `mprotect` of a loaded copy of a proven file);
/// - or it is one line, and the file is proven to be the mapped one (`exact`) or the
///   line maps exactly the whole file from offset 0 (a Rust program's backtrace maps
///   its executable so, and libc's separate `.debug` file). A loader maps an object
///   of several segments in several lines.
///
/// Otherwise it stays an instance with its problem (the file read is not the mapped
/// one: `unknown`), and then every instance of its file stays, as today, so that a
/// wrong file never passes for data.
pub(crate) fn separate_data(
    mappings: &[Mapping],
    files: &Files,
    page: PageSize,
    grouping: &mut Grouping,
    notes: &mut Vec<(usize, Problem)>,
) {
    let Grouping {
        instances,
        owner,
        file_of,
        ..
    } = grouping;
    let n = instances.len();
    // Per instance: lines, anchored, every line inside the span, its one line maps
    // the whole file.
    let mut lines = vec![0usize; n];
    let mut anchored = vec![false; n];
    let mut inside = vec![true; n];
    let mut whole = vec![false; n];
    let lowest: Vec<Option<Phdr>> = instances
        .iter()
        .map(|i| lowest_load(&i.info).cloned())
        .collect();
    for (mi, o) in owner.iter().enumerate() {
        let Some(i) = *o else { continue };
        let (m, inst) = (&mappings[mi], &instances[i]);
        lines[i] += 1;
        anchored[i] |= lowest[i]
            .as_ref()
            .is_some_and(|low| maps_anchor(m, inst.bias, low, page));
        inside[i] &= inst.span_start <= m.start && m.end <= inst.span_end;
        let size = match files.facts[file_of[i]] {
            Some(FileFacts::Elf { size, .. }) => *size,
            _ => u64::MAX,
        };
        // Exactly: the first line of a bigger file's image may cover all of a
        // small file read in its place (a wrong file, not data).
        whole[i] = m.offset == 0 && page.up(size) == Some(m.size());
    }
    let mut noted = vec![false; n];
    for (i, _) in notes.iter() {
        noted[*i] = true;
    }
    let loaded: Vec<bool> = (0..n)
        .map(|i| anchored[i] && inside[i] && !noted[i] && instances[i].problem.is_none())
        .collect();
    let mut file_loaded = vec![false; files.len()];
    for i in (0..n).filter(|&i| loaded[i]) {
        file_loaded[file_of[i]] = true;
    }
    let mut data: Vec<bool> = (0..n)
        .map(|i| {
            let exact = matches!(
                files.facts[file_of[i]],
                Some(FileFacts::Elf { exact: true, .. })
            );
            // A loaded copy whose protection the program changed (a note only).
            let mprotected =
                anchored[i] && inside[i] && instances[i].problem.is_none() && lines[i] > 1;
            !loaded[i]
                && !mprotected
                && (!anchored[i]
                    || file_loaded[file_of[i]]
                    || (lines[i] == 1 && (exact || whole[i])))
        })
        .collect();
    // A file with an instance that stays for its problem keeps them all.
    let mut wrong_file = vec![false; files.len()];
    for i in (0..n).filter(|&i| !data[i] && instances[i].problem.is_some()) {
        wrong_file[file_of[i]] = true;
    }
    for i in 0..n {
        data[i] &= !wrong_file[file_of[i]];
    }
    if !data.contains(&true) {
        return;
    }
    // Renumbered: instance i becomes `new[i]`, none when it was data.
    let mut new = vec![None; n];
    let mut next = 0;
    for i in 0..n {
        if !data[i] {
            new[i] = Some(next);
            next += 1;
        }
    }
    for o in owner.iter_mut() {
        *o = o.and_then(|i| new[i]);
    }
    notes.retain_mut(|(i, _)| match new[*i] {
        Some(k) => {
            *i = k;
            true
        }
        None => false,
    });
    let mut k = 0;
    instances.retain(|_| {
        k += 1;
        !data[k - 1]
    });
    let mut k = 0;
    file_of.retain(|_| {
        k += 1;
        !data[k - 1]
    });
}

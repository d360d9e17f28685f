//! Phase 1: the file-backed mappings of one file grouped into instances by load bias.
//!
//! For a mapping (start S, offset O) and a PT_LOAD p with
//! `pagedown(p.offset) <= O < p.offset + p.filesz`, `bias = S - (O + p.vaddr - p.offset)`
//! is a candidate; ET_EXEC only ever has bias 0. The candidate that most mappings (then
//! most bytes) agree on wins and claims the file's mappings inside its span; the rest
//! vote again and form further instances (the same file mapped twice).
//!
//! The work is bounded by the input, not by what hostile headers claim
//! (docs/labelling.md §6): the PT_LOADs that cover a line's offset are found in
//! time proportional to their number, at most [`MAX_LOADS_PER_OFFSET`] of them per
//! line; each instance costs its file's PT_LOAD count plus one (its image), and a file
//! may spend at most [`file_budget`], all files together at most [`total_budget`].
//! A file over a limit gets no instance: its lines are `unknown`, with a `work-limit`
//! problem.

use std::collections::HashMap;

use crate::input::elf::{ElfInfo, Phdr};
use crate::input::maps::Mapping;
use crate::vocab::{Code, PageSize};

use super::{FileFacts, FileKey, Instance, Problem, image};

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
/// and the files that got no instance because they went over a limit.
pub(crate) struct Grouping {
    pub(crate) instances: Vec<Instance>,
    pub(crate) owner: Vec<Option<usize>>,
    pub(crate) limited: Vec<(FileKey, Problem)>,
}

/// The [`FileKey`] of each file-backed maps line.
pub(crate) fn file_keys(mappings: &[Mapping]) -> Vec<Option<FileKey>> {
    mappings
        .iter()
        .map(|m| m.is_file_backed().then(|| FileKey::of(m)))
        .collect()
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
pub(crate) fn group(
    mappings: &[Mapping],
    keys: &[Option<FileKey>],
    facts: &HashMap<FileKey, FileFacts>,
    page: PageSize,
) -> Grouping {
    // Mapping indices of each loadable ELF file, in address order.
    let mut by_file: HashMap<&FileKey, Vec<usize>> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        if let Some(k) = key
            && let Some(FileFacts::Elf { info, .. }) = facts.get(k)
            && info.is_loadable()
        {
            by_file.entry(k).or_default().push(i);
        }
    }
    let mut files: Vec<(&FileKey, Vec<usize>)> = by_file.into_iter().collect();
    files.sort_by_key(|(_, ms)| ms[0]);

    let mut instances: Vec<Instance> = Vec::new();
    let mut owner: Vec<Option<usize>> = vec![None; mappings.len()];
    let mut limited: Vec<(FileKey, Problem)> = Vec::new();
    let (mut spent, total) = (0usize, total_budget(mappings.len()));
    for (key, ms) in files {
        let Some(FileFacts::Elf { info, .. }) = facts.get(key) else {
            continue;
        };
        let loads = info.loads().count();
        if spent.saturating_add(loads + 1) > total {
            limited.push((key.clone(), over_total(total, mappings.len())));
            continue;
        }
        let candidates = match vote(mappings, &ms, info, page) {
            Ok(c) => c,
            Err(line) => {
                limited.push((key.clone(), Problem::new(
                    Code::WorkLimit,
                    format!(
                        "maps line {line}'s file offset lies in the file ranges of more than {MAX_LOADS_PER_OFFSET} PT_LOADs (docs/labelling.md §6)"
                    ),
                )));
                continue;
            }
        };
        let (first, budget) = (instances.len(), file_budget(ms.len(), loads));
        let mut claim = Claim::new(mappings, &ms);
        let mut cost = 0usize;
        let mut over = None;
        for bias in candidates {
            if bias.voters.iter().all(|&i| owner[i].is_some()) {
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
            let Some(image) = image(info, bias.bias, page) else {
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
                bias: bias.bias,
                span_start,
                span_end,
                image,
                problem: None,
            });
        }
        if let Some(why) = over {
            instances.truncate(first);
            for &i in &ms {
                owner[i] = None;
            }
            limited.push((key.clone(), why));
        }
    }
    Grouping {
        instances,
        owner,
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
    fn new(mappings: &'a [Mapping], ms: &'a [usize]) -> Claim<'a> {
        Claim {
            mappings,
            ms,
            next: (0..=ms.len()).collect(),
        }
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

/// One candidate bias and the maps lines that vote for it.
struct Candidate {
    bias: u64,
    voters: Vec<usize>,
}

/// The candidate biases of the maps lines `ms` of one file, best first: most lines,
/// then most bytes, then the lowest bias. Err: the maps line (1-based) whose offset
/// more than [`MAX_LOADS_PER_OFFSET`] PT_LOADs cover.
fn vote(
    mappings: &[Mapping],
    ms: &[usize],
    info: &ElfInfo,
    page: PageSize,
) -> Result<Vec<Candidate>, usize> {
    let covering = Covering::new(info, page);
    let mut votes: HashMap<u64, (usize, u64)> = HashMap::new();
    let mut voters: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut loads = Vec::new();
    let mut biases = Vec::new();
    for &i in ms {
        let m = &mappings[i];
        loads.clear();
        if !covering.at(m.offset, &mut loads) {
            return Err(m.line);
        }
        candidate_biases(m, &loads, info, &mut biases);
        for &b in &biases {
            let v = votes.entry(b).or_default();
            v.0 += 1;
            v.1 += m.size();
            voters.entry(b).or_default().push(i);
        }
    }
    let mut order: Vec<(u64, (usize, u64))> = votes.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(order
        .into_iter()
        .map(|(bias, _)| Candidate {
            bias,
            voters: voters.remove(&bias).unwrap_or_default(),
        })
        .collect())
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

/// The PT_LOADs of one file with file contents, by the range of offsets a maps line
/// may start at in them, `[pagedown(p_offset), p_offset + p_filesz)`: sorted by start,
/// with a tree of the largest end below each node, so that the ranges that cover an
/// offset are found in time proportional to their number (times log n).
struct Covering<'a> {
    ranges: Vec<(u64, u64, &'a Phdr)>,
    /// `max_end[node]`: the largest end among the ranges under `node` (node 1 is the
    /// root over all ranges; node n has children 2n and 2n+1).
    max_end: Vec<u64>,
}

impl<'a> Covering<'a> {
    fn new(info: &'a ElfInfo, page: PageSize) -> Covering<'a> {
        let mut ranges: Vec<(u64, u64, &Phdr)> = info
            .loads()
            .filter(|p| p.filesz > 0)
            .map(|p| {
                let end = p.offset.saturating_add(p.filesz);
                (page.down(p.offset), end, p)
            })
            .collect();
        ranges.sort_by_key(|r| r.0);
        let mut c = Covering {
            max_end: vec![0; 4 * ranges.len().max(1)],
            ranges,
        };
        if !c.ranges.is_empty() {
            c.build(1, 0, c.ranges.len());
        }
        c
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

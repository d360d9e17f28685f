//! Phase 1: the file-backed mappings of one file grouped into instances by load bias.
//!
//! For a mapping (start S, offset O) and a PT_LOAD p with
//! `pagedown(p.offset) <= O < p.offset + p.filesz`, `bias = S - (O + p.vaddr - p.offset)`
//! is a candidate; ET_EXEC only ever has bias 0. The candidate that most mappings (then
//! most bytes) agree on wins and claims the file's mappings inside its span; the rest
//! vote again and form further instances (the same file mapped twice).

use std::collections::HashMap;

use crate::input::elf::ElfInfo;
use crate::input::maps::Mapping;
use crate::vocab::PageSize;

use super::{FileFacts, FileKey, Instance, image};

/// The instances found and, for each maps line, the index of the instance that owns it.
pub(crate) struct Grouping {
    pub(crate) instances: Vec<Instance>,
    pub(crate) owner: Vec<Option<usize>>,
}

/// The [`FileKey`] of each file-backed maps line.
pub(crate) fn file_keys(mappings: &[Mapping]) -> Vec<Option<FileKey>> {
    mappings
        .iter()
        .map(|m| m.is_file_backed().then(|| FileKey::of(m)))
        .collect()
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
    for (key, ms) in files {
        let Some(FileFacts::Elf { info, .. }) = facts.get(key) else {
            continue;
        };
        for bias in vote(mappings, &ms, info, page) {
            if bias.voters.iter().all(|&i| owner[i].is_some()) {
                continue;
            }
            let Some(image) = image(info, bias.bias, page) else {
                continue;
            };
            let (Some(first), Some(last)) = (image.first(), image.last()) else {
                continue;
            };
            let (span_start, span_end) = (first.start, last.end);
            let idx = instances.len();
            for &i in &ms {
                let m = &mappings[i];
                if owner[i].is_none() && m.start < span_end && m.end > span_start {
                    owner[i] = Some(idx);
                }
            }
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
    }
    Grouping { instances, owner }
}

/// One candidate bias and the maps lines that vote for it.
struct Candidate {
    bias: u64,
    voters: Vec<usize>,
}

/// The candidate biases of the maps lines `ms` of one file, best first: most lines,
/// then most bytes, then the lowest bias.
fn vote(mappings: &[Mapping], ms: &[usize], info: &ElfInfo, page: PageSize) -> Vec<Candidate> {
    let mut votes: HashMap<u64, (usize, u64)> = HashMap::new();
    let mut voters: HashMap<u64, Vec<usize>> = HashMap::new();
    for &i in ms {
        for b in candidate_biases(&mappings[i], info, page) {
            let v = votes.entry(b).or_default();
            v.0 += 1;
            v.1 += mappings[i].size();
            voters.entry(b).or_default().push(i);
        }
    }
    let mut order: Vec<(u64, (usize, u64))> = votes.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    order
        .into_iter()
        .map(|(bias, _)| Candidate {
            bias,
            voters: voters.remove(&bias).unwrap_or_default(),
        })
        .collect()
}

/// Candidate load biases of one file-backed mapping (module docs).
fn candidate_biases(m: &Mapping, info: &ElfInfo, page: PageSize) -> Vec<u64> {
    let mut out = Vec::new();
    for p in info.loads() {
        if p.filesz == 0 {
            continue;
        }
        let in_file = page.down(p.offset) <= m.offset
            && p.offset
                .checked_add(p.filesz)
                .is_some_and(|end| m.offset < end);
        if !in_file {
            continue;
        }
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
    out
}

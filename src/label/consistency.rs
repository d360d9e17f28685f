//! Phase 3: whether the maps lines of each instance are what its program headers say
//! the loader mapped; where not, the instance gets a [`Problem`] and its lines are
//! labelled `unknown`, never wrongly.
//!
//! - [`check_offsets`]: every file-backed page sits at the file offset the program
//!   headers put there, inside the file.
//! - [`check_consistency`]: a file that fails for one instance fails for all, and every
//!   object of a process has the machine, class and byte order of the majority.
//! - [`unexplained`]: loadable files whose program headers explain none of their lines.

use std::collections::{HashMap, HashSet};

use crate::input::elf::ElfInfo;
use crate::input::maps::Mapping;
use crate::vocab::{Code, PageSize};

use super::{FileFacts, FileKey, Instance, Problem};

/// Checks every instance against the maps lines it owns, in address order; the first
/// contradiction becomes the instance's problem.
pub(crate) fn check_instances(
    mappings: &[Mapping],
    owner: &[Option<usize>],
    instances: &mut [Instance],
    facts: &HashMap<FileKey, FileFacts>,
    page: PageSize,
) {
    for (m, o) in mappings.iter().zip(owner) {
        let Some(inst) = o.and_then(|i| instances.get_mut(i)) else {
            continue;
        };
        if inst.problem.is_some() {
            continue;
        }
        let Some(FileFacts::Elf { size, .. }) = facts.get(&inst.key) else {
            continue;
        };
        inst.problem = check_offsets(m, inst, *size, page);
    }
}

/// Every file-backed page of `m` must be where the loaders put it. Pages of a PT_LOAD
/// (text, rodata, data, relro, and bss should a loader map it from the file) are at
/// `addr - bias - p_vaddr + p_offset`; file-backed gap pages are what is left of the
/// loader's first mapping of the whole span, whose offsets continue from the first
/// PT_LOAD's page. Pages of file contents must lie inside the file.
fn check_offsets(m: &Mapping, inst: &Instance, file_size: u64, page: PageSize) -> Option<Problem> {
    let first = inst.info.loads().min_by_key(|p| p.vaddr)?;
    for l in inst.labels_in(m.start, m.end) {
        let (s, e) = (l.start.max(m.start), l.end.min(m.end));
        if s >= e {
            continue;
        }
        let (want, what) = match l.segment.and_then(|i| inst.info.phdrs.get(i)) {
            Some(p) => (
                s.wrapping_sub(inst.bias)
                    .wrapping_sub(p.vaddr)
                    .wrapping_add(p.offset),
                format!("program header [{}]", p.index),
            ),
            None => (
                (s - inst.span_start).wrapping_add(page.down(first.offset)),
                "the span mapping of the loader".to_string(),
            ),
        };
        let have = m.offset.wrapping_add(s - m.start);
        if want != have {
            return Some(Problem::new(
                Code::LayoutMismatch,
                format!(
                    "maps line {} maps file offset 0x{have:x} at 0x{s:x}, but {what} puts offset 0x{want:x} there (load bias 0x{:x})",
                    m.line, inst.bias
                ),
            ));
        }
        let end_off = have.saturating_add(e - s);
        let limit = page.up(file_size).unwrap_or(u64::MAX);
        if l.kind.is_file_contents() && end_off > limit {
            return Some(Problem::new(
                Code::LayoutMismatch,
                format!(
                    "maps line {} maps file offsets up to 0x{end_off:x}, past the end of the {file_size}-byte file",
                    m.line
                ),
            ));
        }
    }
    None
}

/// Across objects: a file that fails for one instance fails for all, and every object
/// of one process has the same machine, class and byte order (the one most of its maps
/// lines agree on).
pub(crate) fn check_consistency(instances: &mut [Instance], owner: &[Option<usize>]) {
    let mut weight: HashMap<(u16, u8, bool), usize> = HashMap::new();
    for o in owner.iter().flatten() {
        let i = &instances[*o].info;
        *weight
            .entry((i.machine, i.class, i.little_endian))
            .or_default() += 1;
    }
    let mut ranked: Vec<((u16, u8, bool), usize)> = weight.into_iter().collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
    let majority = match ranked.as_slice() {
        [(abi, n), (_, m), ..] if n > m => Some(*abi),
        [(abi, _)] => Some(*abi),
        _ => None,
    };
    if let Some((machine, class, little)) = majority {
        let name = |m: u16, c: u8, l: bool| {
            let info = ElfInfo {
                class: c,
                little_endian: l,
                e_type: 0,
                machine: m,
                phdrs: vec![],
                build_id: None,
            };
            format!(
                "{} {c}-bit {}-endian",
                info.machine_name(),
                if l { "little" } else { "big" }
            )
        };
        for inst in instances.iter_mut().filter(|x| x.problem.is_none()) {
            let i = &inst.info;
            if (i.machine, i.class, i.little_endian) != (machine, class, little) {
                inst.problem = Some(Problem::new(
                    Code::AbiMismatch,
                    format!(
                        "it is a {} object in a process of {} objects",
                        name(i.machine, i.class, i.little_endian),
                        name(machine, class, little)
                    ),
                ));
            }
        }
    }
    let bad: Vec<(FileKey, Problem)> = instances
        .iter()
        .filter_map(|x| Some((x.key.clone(), x.problem.clone()?)))
        .collect();
    for inst in instances.iter_mut().filter(|x| x.problem.is_none()) {
        if let Some((_, p)) = bad.iter().find(|(k, _)| *k == inst.key) {
            inst.problem = Some(Problem::new(
                p.code,
                format!("another copy of the same file does not fit: {}", p.message),
            ));
        }
    }
}

/// Files whose program headers explain none of their mappings, when the file read may
/// not be the mapped one: not an object that can be labelled. Returns each such file
/// once, with why.
pub(crate) fn unexplained(
    mappings: &[Mapping],
    keys: &[Option<FileKey>],
    owner: &[Option<usize>],
    instances: &[Instance],
    facts: &HashMap<FileKey, FileFacts>,
) -> Vec<(FileKey, String)> {
    let with_instance: HashSet<&FileKey> = instances.iter().map(|x| &x.key).collect();
    let mut seen: HashSet<&FileKey> = HashSet::new();
    let mut unexplained: Vec<(FileKey, String)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let Some(k) = key else { continue };
        if owner[i].is_some() || with_instance.contains(k) {
            continue;
        }
        if let Some(FileFacts::Elf {
            info, exact: false, ..
        }) = facts.get(k)
            && info.is_loadable()
            && seen.insert(k)
        {
            unexplained.push((
                k.clone(),
                format!(
                    "its program headers explain none of its maps lines (line {} maps file offset 0x{:x}): the file read is probably not the mapped one",
                    mappings[i].line, mappings[i].offset
                ),
            ));
        }
    }
    unexplained
}

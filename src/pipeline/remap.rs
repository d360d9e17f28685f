//! Text a program remapped onto other memory (issue 12 §2): where the process's
//! memory can be read (`/proc/PID/mem`), a sample of each remapped part's pages is
//! compared with the object's file at the offset the program headers give. Text is
//! the same after relocation (no `DT_TEXTREL` in the objects that do this), so equal
//! bytes prove the part holds that object's text.
//!
//! Bytes that differ prove the opposite (issue 18 §2): the program mapped data over
//! its text. Such a part is not text: it becomes `anon` (a `memfd` or hugetlb line:
//! `unknown`), with no object, and so counts in no object's `huge_text`; a warning
//! (`text-replaced`) names the object. So does anonymous, memfd or hugetlb memory
//! over an object's text that attribution did not take for its text because it is
//! writable or not executable (docs/labelling.md §3).
//!
//! This runs on the attribution's parts, before the report is built from them.

use crate::input::maps::{Mapping, NameKind};
use crate::label::{Attribution, FileKey, Kind, Part, Remapped};
use crate::report::Warning;
use crate::source::{Opened, Source};
use crate::vocab::{Code, PageSize};

/// Pages compared per part, spread evenly over it.
const SAMPLES: u64 = 8;
/// Bytes compared per sampled page.
const CHUNK: usize = 4096;

/// Compares every remapped part with the file: returns `verified` for each part of
/// `attribution.regions` (`Some(true)` when every sample equals the file, `None` when
/// memory or file cannot be read, and for parts that are not remapped). A part whose
/// bytes differ is relabelled (module docs) and has `None`; the warnings go to
/// `warnings`, one per object.
pub(super) fn verify(
    mappings: &[Mapping],
    attribution: &mut Attribution,
    target: &dyn Source,
    warnings: &mut Vec<Warning>,
) -> Vec<Option<bool>> {
    let mut verdicts: Vec<Option<bool>> = attribution
        .regions
        .iter()
        .map(|r| {
            r.remapped
                .and_then(|_| verdict(mappings, attribution, r, target))
        })
        .collect();
    // (instance, first differing part, how many) for the warnings.
    let mut replaced: Vec<(usize, usize, usize)> = Vec::new();
    for (i, (v, r)) in verdicts
        .iter_mut()
        .zip(attribution.regions.iter_mut())
        .enumerate()
    {
        if *v != Some(false) {
            continue;
        }
        *v = None;
        let inst = r.instance.unwrap_or_default();
        match replaced.iter_mut().find(|(x, _, _)| *x == inst) {
            Some((_, _, n)) => *n += 1,
            None => replaced.push((inst, i, 1)),
        }
        r.kind = match r.remapped {
            Some(Remapped::Anon) => Kind::Anon,
            _ => Kind::Unknown,
        };
        r.instance = None;
        r.segment = None;
        r.remapped = None;
    }
    for (inst, first, n) in replaced {
        let r = &attribution.regions[first];
        let more = match n {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        warnings.push(Warning {
            code: Code::TextReplaced,
            object: name_of(attribution, inst),
            message: format!(
                "0x{:x}-0x{:x}{more} lies over its text, but its bytes differ from the file's text there: the program mapped other data over its text; labelled {}, not text",
                r.start,
                r.end,
                r.kind.as_str()
            ),
        });
    }
    warn_not_text(mappings, attribution, warnings);
    verdicts
}

fn name_of(attribution: &Attribution, inst: usize) -> Option<String> {
    attribution
        .instances
        .get(inst)
        .map(|x| String::from_utf8_lossy(&x.key.name).into_owned())
}

/// A warning for every object with anonymous, memfd or hugetlb memory over the file
/// contents of its text that was not taken for its text (writable or not
/// executable): it is `anon` (or its own kind), not text.
fn warn_not_text(mappings: &[Mapping], attribution: &Attribution, warnings: &mut Vec<Warning>) {
    // Parts in address order; the first of each line, by line.
    let mut first_part = vec![usize::MAX; mappings.len()];
    for (i, p) in attribution.regions.iter().enumerate().rev() {
        if let Some(f) = first_part.get_mut(p.mapping) {
            *f = i;
        }
    }
    // Lines looked at, all objects together: bounded by the input, as attribution is
    // (hostile spans over many lines are cut short: no warning past the budget).
    let mut budget = mappings.len().saturating_mul(4).saturating_add(1 << 20);
    for (idx, inst) in attribution.instances.iter().enumerate() {
        if inst.problem.is_some() {
            continue;
        }
        let mut found: Option<(&Mapping, usize)> = None;
        for l in inst.image.iter().filter(|l| l.kind == Kind::Text) {
            let Some(p) = l.segment.and_then(|s| inst.info.phdrs.get(s)) else {
                continue;
            };
            let Some(contents_end) = inst
                .bias
                .checked_add(p.vaddr)
                .and_then(|v| v.checked_add(p.filesz))
                .and_then(|v| PageSize::KIB4.up(v))
            else {
                continue;
            };
            let end = l.end.min(contents_end);
            let from = mappings.partition_point(|m| m.end <= l.start);
            for (mi, m) in mappings
                .iter()
                .enumerate()
                .skip(from)
                .take_while(|(_, m)| m.start < end)
            {
                if budget == 0 {
                    return;
                }
                budget -= 1;
                let part = attribution.regions.get(first_part[mi]);
                if !other_memory(m) || part.is_some_and(|p: &Part| p.remapped.is_some()) {
                    continue;
                }
                match &mut found {
                    Some((_, n)) => *n += 1,
                    None => found = Some((m, 1)),
                }
            }
        }
        if let Some((m, n)) = found {
            let more = match n {
                1 => String::new(),
                n => format!(" (and {} more maps lines)", n - 1),
            };
            warnings.push(Warning {
                code: Code::TextReplaced,
                object: name_of(attribution, idx),
                message: format!(
                    "maps line {} ({}, 0x{:x}-0x{:x}){more} lies over its text, but text is never {}: memory the program mapped there is not its text, and is not labelled as such",
                    m.line,
                    m.perms_str(),
                    m.start,
                    m.end,
                    if m.perms[1] == b'w' { "writable" } else { "without x" }
                ),
            });
        }
    }
}

/// Memory a program maps over its text: anonymous, a memfd, or hugetlb.
fn other_memory(m: &Mapping) -> bool {
    match m.name_kind() {
        NameKind::Anonymous | NameKind::AnonNamed(_) => m.inode == 0,
        NameKind::Path {
            path,
            deleted: true,
        } => *path == *b"/anon_hugepage" || path.starts_with(b"/memfd:"),
        _ => false,
    }
}

fn verdict(
    mappings: &[Mapping],
    attribution: &Attribution,
    r: &Part,
    target: &dyn Source,
) -> Option<bool> {
    let inst = attribution.instances.get(r.instance?)?;
    let seg = inst.info.phdrs.get(r.segment?)?;
    let m = mappings
        .iter()
        .find(|m| m.inode != 0 && FileKey::of(m) == inst.key)?;
    let Opened::Regular { file, .. } = target.open(m) else {
        return None;
    };
    let pages = (r.end.checked_sub(r.start)? / CHUNK as u64).max(1);
    let step = pages.div_ceil(SAMPLES).max(1);
    let (mut mem, mut disk) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut page = 0;
    while page < pages {
        let addr = r.start.checked_add(page * CHUNK as u64)?;
        let len = usize::try_from(r.end - addr).ok()?.min(CHUNK);
        target.read_memory(addr, &mut mem[..len])?.ok()?;
        // File offset of `addr`: the segment's offset plus the distance from its start.
        let offset = addr
            .checked_sub(inst.bias)?
            .checked_sub(seg.vaddr)?
            .checked_add(seg.offset)?;
        let mut got = 0;
        while got < len {
            match file.read_at(&mut disk[got..len], offset + got as u64) {
                Ok(0) | Err(_) => return None,
                Ok(n) => got += n,
            }
        }
        if mem[..len] != disk[..len] {
            return Some(false);
        }
        page += step;
    }
    Some(true)
}

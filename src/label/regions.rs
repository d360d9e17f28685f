//! Phase 4: the parts of every maps line, in address order, covering exactly its
//! bytes. A file-backed line takes labels from its own instance only; anonymous memory
//! (unnamed, `[heap]`, `[anon:...]`) takes labels from any instance whose span it
//! overlaps, where the loaders map anonymous memory: bss, the pages of a segment past
//! its file pages, and gaps (reservations; not for a line named `[anon:.bss]`). It is
//! split at the span's end when the kernel merged it with unrelated memory; the rest
//! of a line gets its base kind ([`super::kinds`]). The lines of an instance with a
//! problem are `unknown`, whole. Last, inaccessible lines right below a thread stack
//! become its guard.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use crate::input::maps::{Mapping, NameKind};
use crate::vocab::{Kind, PageSize};

use super::kinds::base_kind;
use super::{FileFacts, FileKey, Hints, Instance, Label, Part, Problem, Remapped};

/// Cuts every maps line into parts (module docs).
pub(crate) fn parts(
    mappings: &[Mapping],
    keys: &[Option<FileKey>],
    owner: &[Option<usize>],
    instances: &[Instance],
    unlabelled: &[(FileKey, Problem)],
    facts: &HashMap<FileKey, FileFacts>,
    hints: &Hints,
) -> Vec<Part> {
    // For anonymous memory: the labels of all sound instances, disjoint, sorted.
    let global = anonymous_labels(instances);
    // The first instance with a problem of each file, and the files none of whose
    // lines are labelled: their other lines are unknown too.
    let mut bad_instance: HashMap<&FileKey, usize> = HashMap::new();
    for (i, inst) in instances.iter().enumerate() {
        if inst.problem.is_some() {
            bad_instance.entry(&inst.key).or_insert(i);
        }
    }
    let unlabelled: HashSet<&FileKey> = unlabelled.iter().map(|(k, _)| k).collect();

    let mut regions = Vec::with_capacity(mappings.len() + 16);
    for (mi, m) in mappings.iter().enumerate() {
        let facts_of = keys[mi].as_ref().and_then(|k| facts.get(k));
        let below = mi.checked_sub(1).map(|i| &mappings[i]);
        let base = base_kind(m, below, facts_of, hints);
        let first = regions.len();
        let mut emit =
            |start: u64, end: u64, kind: Kind, instance: Option<usize>, segment: Option<usize>| {
                if start >= end {
                    return;
                }
                if let Some(r) = regions.last_mut().filter(|r: &&mut Part| {
                    r.mapping == mi
                        && r.end == start
                        && r.kind == kind
                        && r.instance == instance
                        && r.segment == segment
                }) {
                    r.end = end;
                    return;
                }
                regions.push(Part {
                    start,
                    end,
                    mapping: mi,
                    kind,
                    instance,
                    segment,
                    split: false,
                    remapped: None,
                });
            };
        // A line of a file that does not fit its maps: unknown, whole.
        if let Some(idx) = owner[mi]
            && instances[idx].problem.is_some()
        {
            emit(m.start, m.end, Kind::Unknown, Some(idx), None);
            continue;
        }
        if owner[mi].is_none()
            && let Some(k) = &keys[mi]
        {
            let bad = bad_instance.get(k).copied();
            if bad.is_some() || unlabelled.contains(k) {
                emit(m.start, m.end, Kind::Unknown, bad, None);
                continue;
            }
        }
        // An object's text remapped onto other memory (issue 12 §2).
        if owner[mi].is_none()
            && let Some((how, l, idx)) = remapped_text(mappings, mi, owner, instances, &global)
        {
            emit(m.start, m.end, Kind::Text, Some(idx), l.segment);
            if let Some(r) = regions.last_mut() {
                r.remapped = Some(how);
            }
            continue;
        }
        // Labels that apply to this mapping, each with its instance (none has a
        // problem: those were handled above and left out of `global`).
        let labels: Vec<(Label, usize)> = if let Some(idx) = owner[mi] {
            let inst = &instances[idx];
            inst.labels_in(m.start, m.end)
                .iter()
                .map(|l| (*l, idx))
                .collect()
        } else if is_anonymous(m) {
            let from = global.partition_point(|(l, _)| l.end <= m.start);
            global[from..]
                .iter()
                .take_while(|(l, _)| l.start < m.end)
                .filter_map(|(l, i)| Some((anonymous_part(l, &instances[*i], m)?, *i)))
                .collect()
        } else {
            Vec::new()
        };
        let mut at = m.start;
        for (l, idx) in labels {
            let (s, e) = (l.start.max(at), l.end.min(m.end));
            if s >= e {
                continue;
            }
            emit(at, s, base, None, None);
            emit(s, e, l.kind, Some(idx), l.segment);
            at = e;
        }
        emit(at, m.end, base, None, None);
        if regions.len() - first > 1 {
            for r in &mut regions[first..] {
                r.split = true;
            }
        }
    }
    mark_guards(mappings, &mut regions);
    regions
}

/// What memory a line is when it may hold an object's remapped text: anonymous
/// (unnamed or `[anon:...]`), `MAP_HUGETLB` (`/anon_hugepage (deleted)`) or a memfd.
fn remap_candidate(m: &Mapping) -> Option<Remapped> {
    match m.name_kind() {
        NameKind::Anonymous | NameKind::AnonNamed(_) if m.inode == 0 => Some(Remapped::Anon),
        NameKind::Path {
            path,
            deleted: true,
        } if *path == *b"/anon_hugepage" => Some(Remapped::Hugetlb),
        NameKind::Path {
            path,
            deleted: true,
        } if path.starts_with(b"/memfd:") => Some(Remapped::Memfd),
        _ => None,
    }
}

/// Line `mi`, when it is an object's remapped text: a candidate line
/// ([`remap_candidate`]) that lies wholly inside the file contents of an executable
/// segment's `text` label of a sound instance, with a line of that instance's own file
/// below and above it. The way it was remapped, the label and the instance.
fn remapped_text(
    mappings: &[Mapping],
    mi: usize,
    owner: &[Option<usize>],
    instances: &[Instance],
    global: &[(Label, usize)],
) -> Option<(Remapped, Label, usize)> {
    let m = &mappings[mi];
    let how = remap_candidate(m)?;
    let at = global.partition_point(|(l, _)| l.end <= m.start);
    let &(l, idx) = global.get(at)?;
    if l.kind != Kind::Text || l.start > m.start || l.end < m.end {
        return None;
    }
    let inst = &instances[idx];
    let p = l.segment.and_then(|i| inst.info.phdrs.get(i))?;
    let contents_end = inst
        .bias
        .checked_add(p.vaddr)?
        .checked_add(p.filesz)
        .and_then(|v| PageSize::KIB4.up(v))?;
    if m.end > contents_end || p.flags & 1 == 0 {
        return None;
    }
    // The instance's own file lines on both sides, within its span.
    let below = mappings[..mi]
        .iter()
        .zip(&owner[..mi])
        .rev()
        .take_while(|(x, _)| x.end > inst.span_start)
        .any(|(_, o)| *o == Some(idx));
    let above = mappings[mi + 1..]
        .iter()
        .zip(&owner[mi + 1..])
        .take_while(|(x, _)| x.start < inst.span_end)
        .any(|(_, o)| *o == Some(idx));
    (below && above).then_some((how, l, idx))
}

/// Whether the memory of `m` is anonymous and so may belong to an object's span
/// (bss, anonymous gap reservations).
fn is_anonymous(m: &Mapping) -> bool {
    m.inode == 0
        && matches!(
            m.name_kind(),
            NameKind::Anonymous | NameKind::Heap | NameKind::AnonNamed(_)
        )
}

/// The labels of all instances without a problem, for anonymous memory: disjoint and
/// in address order, each with its instance. Where images overlap (a library mapped
/// into a hole of an executable that the kernel loaded segment by segment), a
/// segment's label wins over a gap, then the instance found first. O(n log n) in the
/// number of labels: a sweep over their ends, as in the image.
fn anonymous_labels(instances: &[Instance]) -> Vec<(Label, usize)> {
    let mut all: Vec<(Label, usize)> = instances
        .iter()
        .enumerate()
        .filter(|(_, inst)| inst.problem.is_none())
        .flat_map(|(i, inst)| inst.image.iter().map(move |l| (*l, i)))
        .collect();
    all.sort_by_key(|(l, i)| (l.start, *i));
    if all.windows(2).all(|w| w[0].0.end <= w[1].0.start) {
        return all;
    }
    let mut bounds: Vec<u64> = all.iter().flat_map(|(l, _)| [l.start, l.end]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    // The labels that started, best on top (not a gap, then the lowest instance);
    // ended ones leave lazily.
    let mut active: BinaryHeap<Reverse<(bool, usize, usize)>> = BinaryHeap::new();
    let mut next = 0;
    let mut out: Vec<(Label, usize)> = Vec::new();
    let mut last: Option<usize> = None;
    for w in bounds.windows(2) {
        let (at, to) = (w[0], w[1]);
        while let Some((l, i)) = all.get(next)
            && l.start <= at
        {
            active.push(Reverse((l.kind == Kind::Gap, *i, next)));
            next += 1;
        }
        while let Some(&Reverse((_, _, j))) = active.peek()
            && all[j].0.end <= at
        {
            active.pop();
        }
        // Every start and end is a bound, so the top covers all of [at, to).
        let Some(&Reverse((_, i, j))) = active.peek() else {
            last = None;
            continue;
        };
        match out.last_mut() {
            Some((l, _)) if last == Some(j) && l.end == at => l.end = to,
            _ => out.push((
                Label {
                    start: at,
                    end: to,
                    ..all[j].0
                },
                i,
            )),
        }
        last = Some(j);
    }
    out
}

/// The pages of `l`, a label of `inst`'s image, that the anonymous line `m` may hold:
/// the loaders map anonymous memory only past a segment's file contents (bss, and the
/// rare text or rodata past `p_filesz`), and reserve gaps anonymously (bionic,
/// uClibc, qemu-user). A segment's file pages are never anonymous: there `m` keeps
/// its own kind. bionic names the anonymous pages of a segment `[anon:.bss]`, never a
/// gap. None when no page is left.
///
/// Past the file contents is from `B + p_vaddr + p_filesz` rounded up to 4 KiB, the
/// smallest page of any Linux, not to the target's page: qemu-user on 4 KiB host
/// pages maps the end of a guest's 8 KiB last file page anonymously (sparc64). A
/// kernel with larger pages never starts an anonymous mapping between the two.
fn anonymous_part(l: &Label, inst: &Instance, m: &Mapping) -> Option<Label> {
    match l.kind {
        Kind::Bss => Some(*l),
        Kind::Gap => (m.name != b"[anon:.bss]").then_some(*l),
        _ => {
            let p = l.segment.and_then(|i| inst.info.phdrs.get(i))?;
            let contents_end = inst
                .bias
                .checked_add(p.vaddr)?
                .checked_add(p.filesz)
                .and_then(|v| PageSize::KIB4.up(v))?;
            let start = l.start.max(contents_end);
            (start < l.end).then_some(Label { start, ..*l })
        }
    }
}

/// glibc and musl allocate a thread's stack as one anonymous mapping and make its
/// lowest pages inaccessible (`mprotect(PROT_NONE)`), which leaves a `---p` line right
/// below the stack's line: such a whole, unnamed, inaccessible anonymous line directly
/// below a `thread_stack` region is that thread's `guard`. (The main stack's guard gap
/// is not a mapping.)
fn mark_guards(mappings: &[Mapping], regions: &mut [Part]) {
    for i in 1..regions.len() {
        let (below, above) = regions.split_at_mut(i);
        let (g, s) = (&mut below[i - 1], &above[0]);
        let m = &mappings[g.mapping];
        if s.kind == Kind::ThreadStack
            && g.end == s.start
            && g.kind == Kind::Anon
            && g.instance.is_none()
            && !g.split
            && m.perms[..3] == *b"---"
            && m.name.is_empty()
        {
            g.kind = Kind::Guard;
        }
    }
}

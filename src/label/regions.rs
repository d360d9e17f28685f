//! Phase 4: the parts of every maps line, in address order, covering exactly its
//! bytes. A file-backed line takes labels from its own instance only; anonymous memory
//! (unnamed, `[heap]`, `[anon:...]`) takes labels from any instance whose span it
//! overlaps, and is split at the span's end when the kernel merged it with unrelated
//! memory; the rest of a line gets its base kind ([`super::kinds`]). The lines of an
//! instance with a problem are `unknown`, whole. Last, inaccessible lines right below a
//! thread stack become its guard.

use std::collections::{HashMap, HashSet};

use crate::input::maps::{Mapping, NameKind};
use crate::vocab::Kind;

use super::kinds::base_kind;
use super::{FileFacts, FileKey, Hints, Instance, Label, Part};

/// Cuts every maps line into parts (module docs).
pub(crate) fn parts(
    mappings: &[Mapping],
    keys: &[Option<FileKey>],
    owner: &[Option<usize>],
    instances: &[Instance],
    unexplained: &[(FileKey, String)],
    facts: &HashMap<FileKey, FileFacts>,
    hints: &Hints,
) -> Vec<Part> {
    // For anonymous memory: one sorted list of the labels of all sound instances.
    let mut global: Vec<(Label, usize)> = instances
        .iter()
        .enumerate()
        .filter(|(_, inst)| inst.problem.is_none())
        .flat_map(|(i, inst)| inst.image.iter().map(move |l| (*l, i)))
        .collect();
    global.sort_by_key(|(l, _)| l.start);
    // The first instance with a problem of each file, and the files that explain none
    // of their lines: their other lines are unknown too.
    let mut bad_instance: HashMap<&FileKey, usize> = HashMap::new();
    for (i, inst) in instances.iter().enumerate() {
        if inst.problem.is_some() {
            bad_instance.entry(&inst.key).or_insert(i);
        }
    }
    let unexplained: HashSet<&FileKey> = unexplained.iter().map(|(k, _)| k).collect();

    let mut regions = Vec::with_capacity(mappings.len() + 16);
    for (mi, m) in mappings.iter().enumerate() {
        let facts_of = keys[mi].as_ref().and_then(|k| facts.get(k));
        let base = base_kind(m, facts_of, hints);
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
            if bad.is_some() || unexplained.contains(k) {
                emit(m.start, m.end, Kind::Unknown, bad, None);
                continue;
            }
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
                .copied()
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

/// Whether the memory of `m` is anonymous and so may belong to an object's span
/// (bss, anonymous gap reservations).
fn is_anonymous(m: &Mapping) -> bool {
    m.inode == 0
        && matches!(
            m.name_kind(),
            NameKind::Anonymous | NameKind::Heap | NameKind::AnonNamed(_)
        )
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

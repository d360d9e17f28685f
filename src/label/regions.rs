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
use std::collections::BinaryHeap;

use crate::input::maps::{Mapping, NameKind};
use crate::vocab::{Kind, PageSize};

use super::files::Files;
use super::kinds::base_kind;
use super::{Hints, Instance, Label, Part, Remapped};

/// Cuts every maps line into parts (module docs). `unlabelled[f]`: file `f` is one
/// of [`super::Attribution::unlabelled`].
pub(crate) fn parts(
    mappings: &[Mapping],
    files: &Files,
    owner: &[Option<usize>],
    instances: &[Instance],
    file_of: &[usize],
    unlabelled: &[bool],
    hints: &Hints,
) -> Vec<Part> {
    // For anonymous memory: the labels of all sound instances, disjoint, sorted.
    let global = anonymous_labels(instances);
    // The first instance with a problem of each file, and the files none of whose
    // lines are labelled: their other lines are unknown too.
    let mut bad_instance: Vec<Option<usize>> = vec![None; files.len()];
    for (i, inst) in instances.iter().enumerate() {
        if inst.problem.is_some() {
            bad_instance[file_of[i]].get_or_insert(i);
        }
    }

    let mut regions = Vec::with_capacity(mappings.len() + mappings.len() / 8 + 16);
    for (mi, m) in mappings.iter().enumerate() {
        let mut line = Line {
            regions: &mut regions,
            mi,
            m,
            at: m.start,
            first: 0,
            base: None,
        };
        line.first = line.regions.len();
        let base = |name: Option<&NameKind>| {
            let below = mi.checked_sub(1).map(|i| &mappings[i]);
            let facts = files.facts_of(mi);
            match name {
                Some(n) => base_kind(m, n, below, facts, hints),
                None => base_kind(m, &m.name_kind(), below, facts, hints),
            }
        };
        if let Some(idx) = owner[mi] {
            // A line of a file that does not fit its maps: unknown, whole.
            if instances[idx].problem.is_some() {
                line.emit(m.start, m.end, Kind::Unknown, Some(idx), None);
                continue;
            }
            for l in instances[idx].labels_in(m.start, m.end) {
                line.cut(*l, idx, || base(None));
            }
            line.finish(|| base(None));
            continue;
        }
        if let Some(f) = files.of(mi) {
            let bad = bad_instance[f];
            if bad.is_some() || unlabelled[f] {
                line.emit(m.start, m.end, Kind::Unknown, bad, None);
                continue;
            }
        }
        let name = m.name_kind();
        let from = global.partition_point(|(l, _)| l.end <= m.start);
        // An object's text remapped onto other memory (issue 12 §2).
        if let Some((how, l, idx)) =
            remapped_text(mappings, mi, &name, from, owner, instances, &global)
        {
            line.emit(m.start, m.end, Kind::Text, Some(idx), l.segment);
            if let Some(r) = line.regions.last_mut() {
                r.remapped = Some(how);
            }
            continue;
        }
        // Labels of sound instances (those with a problem are not in `global`).
        if is_anonymous(m, &name) {
            for (l, i) in global[from..].iter().take_while(|(l, _)| l.start < m.end) {
                if let Some(l) = anonymous_part(l, &instances[*i], m) {
                    line.cut(l, *i, || base(Some(&name)));
                }
            }
        }
        line.finish(|| base(Some(&name)));
    }
    mark_guards(mappings, &mut regions);
    regions
}

/// The parts of one maps line as they are cut, in address order.
struct Line<'r, 'm> {
    regions: &'r mut Vec<Part>,
    mi: usize,
    m: &'m Mapping,
    /// Where the part not yet cut starts.
    at: u64,
    /// The first of the line's parts in `regions`.
    first: usize,
    /// The line's base kind, once asked for ([`base_kind`]: most lines need none).
    base: Option<Kind>,
}

impl Line<'_, '_> {
    /// Adds a part, or lengthens the last one when it is the same.
    fn emit(
        &mut self,
        start: u64,
        end: u64,
        kind: Kind,
        instance: Option<usize>,
        segment: Option<usize>,
    ) {
        if start >= end {
            return;
        }
        if let Some(r) = self.regions.last_mut().filter(|r: &&mut Part| {
            r.mapping == self.mi
                && r.end == start
                && r.kind == kind
                && r.instance == instance
                && r.segment == segment
        }) {
            r.end = end;
            return;
        }
        self.regions.push(Part {
            start,
            end,
            mapping: self.mi,
            kind,
            instance,
            segment,
            split: false,
            remapped: None,
        });
    }

    /// Gives the line's bytes of label `l` (of instance `idx`) its kind; the bytes
    /// before it not yet cut get the base kind.
    fn cut(&mut self, l: Label, idx: usize, base: impl FnOnce() -> Kind) {
        let (s, e) = (l.start.max(self.at), l.end.min(self.m.end));
        if s >= e {
            return;
        }
        if self.at < s {
            let b = *self.base.get_or_insert_with(base);
            self.emit(self.at, s, b, None, None);
        }
        self.emit(s, e, l.kind, Some(idx), l.segment);
        self.at = e;
    }

    /// Gives the rest of the line the base kind, and marks the parts of a line cut
    /// in several.
    fn finish(mut self, base: impl FnOnce() -> Kind) {
        if self.at < self.m.end {
            let b = *self.base.get_or_insert_with(base);
            self.emit(self.at, self.m.end, b, None, None);
        }
        if self.regions.len() - self.first > 1 {
            for r in &mut self.regions[self.first..] {
                r.split = true;
            }
        }
    }
}

/// What memory a line is when it may hold an object's remapped text: anonymous
/// (unnamed or `[anon:...]`), `MAP_HUGETLB` (`/anon_hugepage (deleted)`) or a memfd.
fn remap_candidate(m: &Mapping, name: &NameKind) -> Option<Remapped> {
    match name {
        NameKind::Anonymous | NameKind::AnonNamed(_) if m.inode == 0 => Some(Remapped::Anon),
        NameKind::Path {
            path,
            deleted: true,
        } if **path == *b"/anon_hugepage" => Some(Remapped::Hugetlb),
        NameKind::Path {
            path,
            deleted: true,
        } if path.starts_with(b"/memfd:") => Some(Remapped::Memfd),
        _ => None,
    }
}

/// Line `mi`, when it is an object's remapped text: an executable, not writable
/// candidate line ([`remap_candidate`]) that lies wholly inside the file contents of an executable
/// segment's `text` label of a sound instance, with a line of that instance's own file
/// below and above it. The way it was remapped, the label and the instance. `name`:
/// the line's; `at`: the first label of `global` that ends after the line's start.
fn remapped_text(
    mappings: &[Mapping],
    mi: usize,
    name: &NameKind,
    at: usize,
    owner: &[Option<usize>],
    instances: &[Instance],
    global: &[(Label, usize)],
) -> Option<(Remapped, Label, usize)> {
    let m = &mappings[mi];
    let how = remap_candidate(m, name)?;
    // Text is executable and never writable: other memory is not text (issue 18 §2).
    if m.perms[1] == b'w' || m.perms[2] != b'x' {
        return None;
    }
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
fn is_anonymous(m: &Mapping, name: &NameKind) -> bool {
    m.inode == 0
        && matches!(
            name,
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
/// is not a mapping, but qemu-user maps one below the `[stack]` it makes: a guard
/// too.) Every other inaccessible private anonymous region is
/// `reserved`.
fn mark_guards(mappings: &[Mapping], regions: &mut [Part]) {
    for i in 1..regions.len() {
        let (below, above) = regions.split_at_mut(i);
        let (g, s) = (&mut below[i - 1], &above[0]);
        let m = &mappings[g.mapping];
        if matches!(s.kind, Kind::ThreadStack | Kind::Stack)
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
    // Every other inaccessible anonymous line of no object is address space kept
    // for later: `reserved` (issue 20: Chromium's 52 GB of `---p` were `anon`).
    for g in regions.iter_mut() {
        let m = &mappings[g.mapping];
        if g.kind == Kind::Anon && g.instance.is_none() && m.perms[..3] == *b"---" && !m.is_shared()
        {
            g.kind = Kind::Reserved;
        }
    }
}

//! Attribution: from maps lines and program headers to labelled regions.
//!
//! Pure computation, no I/O. Inputs are the parsed mappings, what was learnt about each
//! mapped file ([`FileFacts`]) and the target's page size; the output is a list of
//! [`Region`]s in address order that covers exactly the bytes of the maps lines, each
//! with one (object instance, kind, segment).
//!
//! The rules (docs/labelling.md explains the loader facts behind them):
//! 1. The file-backed mappings of one file are grouped into *instances* by load bias.
//!    For a mapping (start S, offset O) and a PT_LOAD p with
//!    `pagedown(p.offset) <= O < p.offset + p.filesz`, `bias = S - (O + p.vaddr - p.offset)`
//!    is a candidate; the candidate that most mappings agree on wins, claims the file's
//!    mappings inside its span, and the rest form further instances.
//! 2. Each instance's layout is computed from program headers alone: text (PF_X),
//!    rodata (neither W nor X), data (file pages of a PF_W segment), bss (pages past
//!    `pageup(vaddr + filesz)`), relro (PT_GNU_RELRO, end rounded down as the loader
//!    does), gap (inside the span, in no PT_LOAD). A later PT_LOAD wins a page that two
//!    share, as the loader's later `mmap(MAP_FIXED)` does.
//! 3. A file-backed mapping takes labels from its own instance only; anonymous memory
//!    (unnamed, `[heap]`, `[anon:...]`) takes labels from any instance whose span it
//!    overlaps, and is split at the span's end when the kernel merged it with
//!    unrelated memory. Everything else gets a kind from its name.
//! 4. Every file-backed page labelled as file contents must sit at the file offset the
//!    program headers put there. If not (wrong file, wrong build, bias conflict), the
//!    instance is reported with a problem and its regions get kind `unknown`: never a
//!    wrong label.

use std::collections::HashMap;
use std::sync::Arc;

use crate::input::elf::ElfInfo;
use crate::input::maps::{Mapping, NameKind};
use crate::vocab::Code;
pub use crate::vocab::Kind;
use crate::vocab::names::is_shm_name;

/// Identity of a mapped file as the maps line names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileKey {
    pub dev_major: u32,
    pub dev_minor: u32,
    pub inode: u64,
    /// The name as printed in maps.
    pub name: Vec<u8>,
}

/// Hashes the device and inode only (equality still compares the name): names are
/// long and hashing them showed in profiles; two names on one inode are rare.
impl std::hash::Hash for FileKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.dev_major, self.dev_minor, self.inode).hash(state);
    }
}

impl FileKey {
    pub fn of(m: &Mapping) -> FileKey {
        FileKey {
            dev_major: m.dev_major,
            dev_minor: m.dev_minor,
            inode: m.inode,
            name: m.name.clone(),
        }
    }
}

/// What opening a mapped file told us.
#[derive(Debug, Clone)]
pub enum FileFacts {
    /// An ELF file (loadable or not) and its size in bytes. `exact`: it is the mapped
    /// inode itself (read through `/proc/PID/map_files`), not a file found by path.
    Elf {
        info: Arc<ElfInfo>,
        size: u64,
        exact: bool,
    },
    /// A regular file that is not ELF (or whose headers could not be read as ELF).
    NotElf,
    /// A character or block device.
    Device,
    /// Could not be opened or read: nothing is known about its contents.
    Unreadable,
}

/// One loaded copy of an ELF file.
#[derive(Debug, Clone)]
pub struct Instance {
    pub key: FileKey,
    pub info: Arc<ElfInfo>,
    pub bias: u64,
    /// `[span_start, span_end)`: from the first PT_LOAD's page to the last one's end.
    pub span_start: u64,
    pub span_end: u64,
    /// The object's layout in absolute addresses, sorted, covering the span.
    pub layout: Vec<Label>,
    /// Set when the maps cannot be explained by the program headers.
    pub problem: Option<Problem>,
}

/// Why an instance's maps lines are labelled `unknown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of contradiction it is.
    pub code: Code,
    /// What maps says and what the file says.
    pub message: String,
}

impl Problem {
    fn new(code: Code, message: String) -> Problem {
        Problem { code, message }
    }
}

/// A labelled address range of an object's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub start: u64,
    pub end: u64,
    pub kind: Kind,
    /// Program header index of the PT_LOAD (none for gaps).
    pub segment: Option<usize>,
}

/// One output region: a part (or the whole) of one maps line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    /// Index of the maps line in the input.
    pub mapping: usize,
    pub kind: Kind,
    /// Index into [`Attribution::instances`] of the owning object.
    pub instance: Option<usize>,
    pub segment: Option<usize>,
    /// True when the maps line was cut into more than one region.
    pub split: bool,
}

/// The result of [`attribute`].
#[derive(Debug, Clone, Default)]
pub struct Attribution {
    pub instances: Vec<Instance>,
    pub regions: Vec<Region>,
    /// Files that are loadable ELF but explain none of their maps lines, with why
    /// (their lines are `unknown`).
    pub unexplained: Vec<(FileKey, String)>,
}

/// Extra facts about a live process that help name anonymous memory.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// Stack pointers of the process's threads (other than the main one).
    pub thread_stack_pointers: Vec<u64>,
}

fn pagedown(x: u64, page: u64) -> u64 {
    x & !(page - 1)
}

fn pageup(x: u64, page: u64) -> Option<u64> {
    x.checked_add(page - 1).map(|v| v & !(page - 1))
}

/// Computes the layout of an ELF file loaded at `bias` (see module docs, rule 2).
/// Returns `None` when the addresses overflow.
pub fn layout(info: &ElfInfo, bias: u64, page: u64) -> Option<Vec<Label>> {
    let mut painted: Vec<Label> = Vec::new();
    let relro: Vec<(u64, u64)> = info
        .phdrs
        .iter()
        .filter(|p| p.is_relro() && p.memsz > 0)
        .filter_map(|p| {
            let s = bias.checked_add(p.vaddr)?;
            let e = s.checked_add(p.memsz)?;
            Some((pagedown(s, page), pagedown(e, page)))
        })
        .collect();
    for p in info.loads() {
        let vstart = bias.checked_add(p.vaddr)?;
        let seg_start = pagedown(vstart, page);
        let file_end = pageup(vstart.checked_add(p.filesz)?, page)?;
        let mem_end = pageup(vstart.checked_add(p.memsz)?, page)?;
        let seg = Some(p.index);
        if p.writable() {
            paint(
                &mut painted,
                Label {
                    start: seg_start,
                    end: file_end,
                    kind: Kind::Data,
                    segment: seg,
                },
            );
            paint(
                &mut painted,
                Label {
                    start: file_end,
                    end: mem_end,
                    kind: Kind::Bss,
                    segment: seg,
                },
            );
            for &(rs, re) in &relro {
                let (s, e) = (rs.max(seg_start), re.min(mem_end));
                paint(
                    &mut painted,
                    Label {
                        start: s,
                        end: e,
                        kind: Kind::Relro,
                        segment: seg,
                    },
                );
            }
        } else {
            let kind = if p.executable() {
                Kind::Text
            } else {
                Kind::Rodata
            };
            paint(
                &mut painted,
                Label {
                    start: seg_start,
                    end: mem_end,
                    kind,
                    segment: seg,
                },
            );
        }
    }
    // Fill the holes inside the span with gaps.
    let mut out = Vec::with_capacity(painted.len() * 2);
    for l in painted {
        if let Some(prev) = out.last().map(|p: &Label| p.end)
            && prev < l.start
        {
            out.push(Label {
                start: prev,
                end: l.start,
                kind: Kind::Gap,
                segment: None,
            });
        }
        out.push(l);
    }
    Some(out)
}

/// Paints `l` over the sorted, non-overlapping `labels`, replacing what it covers.
fn paint(labels: &mut Vec<Label>, l: Label) {
    if l.start >= l.end {
        return;
    }
    let mut out = Vec::with_capacity(labels.len() + 2);
    for &old in labels.iter() {
        if old.end <= l.start || old.start >= l.end {
            out.push(old);
            continue;
        }
        if old.start < l.start {
            out.push(Label {
                end: l.start,
                ..old
            });
        }
        if old.end > l.end {
            out.push(Label {
                start: l.end,
                ..old
            });
        }
    }
    out.push(l);
    out.sort_by_key(|x| x.start);
    // Merge neighbours with the same label so regions stay whole.
    let mut merged: Vec<Label> = Vec::with_capacity(out.len());
    for x in out {
        match merged.last_mut() {
            Some(m) if m.end == x.start && m.kind == x.kind && m.segment == x.segment => {
                m.end = x.end
            }
            _ => merged.push(x),
        }
    }
    *labels = merged;
}

/// Candidate load biases of one file-backed mapping (module docs, rule 1).
fn candidate_biases(m: &Mapping, info: &ElfInfo, page: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for p in info.loads() {
        if p.filesz == 0 {
            continue;
        }
        let in_file = pagedown(p.offset, page) <= m.offset
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

/// Base kind of a mapping that no object owns.
fn base_kind(m: &Mapping, facts: Option<&FileFacts>, hints: &Hints) -> Kind {
    match m.name_kind() {
        // bionic names its thread stacks and their guards.
        NameKind::AnonNamed(n) if n.starts_with(b"stack_and_tls:") => Kind::ThreadStack,
        NameKind::AnonNamed(b"thread stack guard" | b"stack_mte_ring guard") => Kind::Guard,
        NameKind::Anonymous | NameKind::AnonNamed(_) => {
            if hints
                .thread_stack_pointers
                .iter()
                .any(|&sp| m.start <= sp && sp < m.end)
            {
                Kind::ThreadStack
            } else {
                Kind::Anon
            }
        }
        NameKind::Heap => Kind::Heap,
        NameKind::Stack => Kind::Stack,
        NameKind::ThreadStack(_) => Kind::ThreadStack,
        NameKind::Vdso => Kind::Vdso,
        NameKind::Vvar => Kind::Vvar,
        NameKind::Vsyscall => Kind::Vsyscall,
        NameKind::AnonShmem(_) => Kind::Shm,
        NameKind::AnonInode(_) => Kind::AnonInode,
        NameKind::Kernel(_) => Kind::Kernel,
        NameKind::Other(_) => Kind::Unknown,
        NameKind::Path { path, deleted } => match facts {
            // MAP_ANONYMOUS|MAP_HUGETLB memory: a deleted file of the kernel's
            // internal hugetlbfs mount.
            _ if deleted && *path == *b"/anon_hugepage" && !m.is_shared() => Kind::Anon,
            // A private mapping of /dev/zero is anonymous memory (the kernel keeps
            // the file only for the name).
            _ if !deleted && *path == *b"/dev/zero" && !m.is_shared() => Kind::Anon,
            Some(FileFacts::Device) => Kind::Device,
            _ if is_shm_name(&path, deleted) => Kind::Shm,
            Some(FileFacts::Unreadable) | None => Kind::Unknown,
            Some(_) => Kind::File,
        },
    }
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

/// Attributes every byte of `mappings` (sorted, non-overlapping, as parsed).
/// `facts` maps each file-backed mapping's [`FileKey`] to what is known of the file;
/// `page` is the target's page size (a power of two).
pub fn attribute(
    mappings: &[Mapping],
    facts: &HashMap<FileKey, FileFacts>,
    page: u64,
    hints: &Hints,
) -> Attribution {
    assert!(page.is_power_of_two(), "page size must be a power of two");
    // Mapping indices of each loadable ELF file, in address order.
    let mut by_file: HashMap<&FileKey, Vec<usize>> = HashMap::new();
    let keys: Vec<Option<FileKey>> = mappings
        .iter()
        .map(|m| m.is_file_backed().then(|| FileKey::of(m)))
        .collect();
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

    // Rule 1: group each file's mappings into instances.
    let mut instances: Vec<Instance> = Vec::new();
    let mut owner: Vec<Option<usize>> = vec![None; mappings.len()];
    for (key, ms) in files {
        let Some(FileFacts::Elf { info, size, .. }) = facts.get(key) else {
            continue;
        };
        let mut votes: HashMap<u64, (usize, u64)> = HashMap::new();
        let mut voters: HashMap<u64, Vec<usize>> = HashMap::new();
        for &i in &ms {
            for b in candidate_biases(&mappings[i], info, page) {
                let v = votes.entry(b).or_default();
                v.0 += 1;
                v.1 += mappings[i].size();
                voters.entry(b).or_default().push(i);
            }
        }
        let mut order: Vec<(u64, (usize, u64))> = votes.into_iter().collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (bias, _) in order {
            if voters[&bias].iter().all(|&i| owner[i].is_some()) {
                continue;
            }
            let Some(layout) = layout(info, bias, page) else {
                continue;
            };
            let (Some(first), Some(last)) = (layout.first(), layout.last()) else {
                continue;
            };
            let (span_start, span_end) = (first.start, last.end);
            let idx = instances.len();
            let mut inst = Instance {
                key: key.clone(),
                info: info.clone(),
                bias,
                span_start,
                span_end,
                layout,
                problem: None,
            };
            for &i in &ms {
                let m = &mappings[i];
                if owner[i].is_none() && m.start < span_end && m.end > span_start {
                    owner[i] = Some(idx);
                    if inst.problem.is_none() {
                        inst.problem = check_offsets(m, &inst, *size, page);
                    }
                }
            }
            instances.push(inst);
        }
    }

    check_consistency(&mut instances, &owner);

    // Files whose program headers explain none of their mappings, when the file read
    // may not be the mapped one: not an object we can label.
    let mut unexplained: Vec<(FileKey, String)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let Some(k) = key else { continue };
        if owner[i].is_some() || instances.iter().any(|x| &x.key == k) {
            continue;
        }
        if let Some(FileFacts::Elf {
            info, exact: false, ..
        }) = facts.get(k)
            && info.is_loadable()
            && !unexplained.iter().any(|(u, _)| u == k)
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

    // Rule 3, for anonymous memory: one sorted list of all instances' labels.
    let mut global: Vec<(Label, usize)> = instances
        .iter()
        .enumerate()
        .filter(|(_, inst)| inst.problem.is_none())
        .flat_map(|(i, inst)| inst.layout.iter().map(move |l| (*l, i)))
        .collect();
    global.sort_by_key(|(l, _)| l.start);

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
                if let Some(r) = regions.last_mut().filter(|r: &&mut Region| {
                    r.mapping == mi
                        && r.end == start
                        && r.kind == kind
                        && r.instance == instance
                        && r.segment == segment
                }) {
                    r.end = end;
                    return;
                }
                regions.push(Region {
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
            let bad = instances
                .iter()
                .position(|x| &x.key == k && x.problem.is_some());
            if bad.is_some() || unexplained.iter().any(|(u, _)| u == k) {
                emit(m.start, m.end, Kind::Unknown, bad, None);
                continue;
            }
        }
        // Labels that apply to this mapping, each with its instance (none has a
        // problem: those were handled above and left out of `global`).
        let labels: Vec<(Label, usize)> = if let Some(idx) = owner[mi] {
            instances[idx].layout.iter().map(|l| (*l, idx)).collect()
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
    Attribution {
        instances,
        regions,
        unexplained,
    }
}

/// glibc and musl allocate a thread's stack as one anonymous mapping and make its
/// lowest pages inaccessible (`mprotect(PROT_NONE)`), which leaves a `---p` line right
/// below the stack's line: such a whole, unnamed, inaccessible anonymous line directly
/// below a `thread_stack` region is that thread's `guard`. (The main stack's guard gap
/// is not a mapping.)
fn mark_guards(mappings: &[Mapping], regions: &mut [Region]) {
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

/// Rule 4: every file-backed page of `m` must be where the loaders put it. Pages of a
/// PT_LOAD (text, rodata, data, relro, and bss should a loader map it from the file)
/// are at `addr - bias - p_vaddr + p_offset`; file-backed gap pages are what is left
/// of the loader's first mapping of the whole span, whose offsets continue from the
/// first PT_LOAD's page. Pages of file contents must lie inside the file.
fn check_offsets(m: &Mapping, inst: &Instance, file_size: u64, page: u64) -> Option<Problem> {
    let first = inst.info.loads().min_by_key(|p| p.vaddr)?;
    for l in &inst.layout {
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
                (s - inst.span_start).wrapping_add(pagedown(first.offset, page)),
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
        let limit = pageup(file_size, page).unwrap_or(u64::MAX);
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

/// Rule 4, across objects: a file that fails for one instance fails for all, and every
/// object of one process has the same machine, class and byte order (the one most of
/// its maps lines agree on).
fn check_consistency(instances: &mut [Instance], owner: &[Option<usize>]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::elf::{ElfInfo, Phdr};

    const P: u64 = 0x1000;

    fn load(index: usize, flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Phdr {
        Phdr {
            index,
            p_type: 1,
            flags,
            offset,
            vaddr,
            paddr: vaddr,
            filesz,
            memsz,
            align: P,
        }
    }

    fn info(e_type: u16, phdrs: Vec<Phdr>) -> Arc<ElfInfo> {
        Arc::new(ElfInfo {
            class: 64,
            little_endian: true,
            e_type,
            machine: 62,
            phdrs,
            build_id: None,
        })
    }

    /// The shape of /usr/bin/cat: R, RX, R, RW where the R and RW segments share a file page.
    fn cat_like() -> Arc<ElfInfo> {
        let mut relro = load(4, 4, 0x7c30, 0x8c30, 0x3d0, 0x3d0);
        relro.p_type = 0x6474e552;
        info(
            3,
            vec![
                load(0, 4, 0, 0, 0x1000, 0x1000),
                load(1, 5, 0x2000, 0x2000, 0x4000, 0x4000),
                load(2, 4, 0x6000, 0x6000, 0x1e58, 0x1e58),
                load(3, 6, 0x7c30, 0x8c30, 0x468, 0x4a0),
                relro,
            ],
        )
    }

    fn line(start: u64, end: u64, perms: &str, offset: u64, inode: u64, name: &str) -> Mapping {
        Mapping {
            line: 0,
            start,
            end,
            perms: perms.as_bytes().try_into().unwrap(),
            offset,
            dev_major: 0xfe,
            dev_minor: 0,
            inode,
            name: name.as_bytes().to_vec(),
            fields: Default::default(),
        }
    }

    fn facts(name: &str, inode: u64, info: Arc<ElfInfo>) -> HashMap<FileKey, FileFacts> {
        let key = FileKey {
            dev_major: 0xfe,
            dev_minor: 0,
            inode,
            name: name.as_bytes().to_vec(),
        };
        HashMap::from([(
            key,
            FileFacts::Elf {
                info,
                size: 0x10000,
                exact: false,
            },
        )])
    }

    fn kinds(a: &Attribution) -> Vec<(u64, u64, Kind, Option<usize>)> {
        a.regions
            .iter()
            .map(|r| (r.start, r.end, r.kind, r.segment))
            .collect()
    }

    #[test]
    fn cat_shared_page_and_relro() {
        let b = 0x5500_0000_0000;
        let maps = vec![
            line(b, b + 0x1000, "r--p", 0, 7, "/usr/bin/cat"),
            line(b + 0x2000, b + 0x6000, "r-xp", 0x2000, 7, "/usr/bin/cat"),
            line(b + 0x6000, b + 0x8000, "r--p", 0x6000, 7, "/usr/bin/cat"),
            line(b + 0x8000, b + 0x9000, "r--p", 0x7000, 7, "/usr/bin/cat"),
            line(b + 0x9000, b + 0xa000, "rw-p", 0x8000, 7, "/usr/bin/cat"),
        ];
        let a = attribute(
            &maps,
            &facts("/usr/bin/cat", 7, cat_like()),
            P,
            &Hints::default(),
        );
        assert_eq!(a.instances.len(), 1);
        assert_eq!(a.instances[0].bias, b);
        assert_eq!(a.instances[0].problem, None);
        assert_eq!(
            kinds(&a),
            vec![
                (b, b + 0x1000, Kind::Rodata, Some(0)),
                (b + 0x2000, b + 0x6000, Kind::Text, Some(1)),
                (b + 0x6000, b + 0x8000, Kind::Rodata, Some(2)),
                (b + 0x8000, b + 0x9000, Kind::Relro, Some(3)),
                (b + 0x9000, b + 0xa000, Kind::Data, Some(3)),
            ]
        );
    }

    #[test]
    fn bionic_named_bss_and_anonymous_gap_reservations() {
        // bionic names BSS `[anon:.bss]`; bionic, uClibc and qemu-user leave anonymous
        // `---p` reservations in gaps. Both belong to the object, by address.
        let lib = info(
            3,
            vec![
                load(0, 5, 0, 0, 0x1000, 0x1000),
                load(1, 6, 0x1000, 0x11000, 0x100, 0x3000),
            ],
        );
        let b = 0x7f00_0000_0000;
        let maps = vec![
            line(b, b + 0x1000, "r-xp", 0, 9, "/system/lib64/x.so"),
            line(b + 0x1000, b + 0x11000, "---p", 0, 0, ""),
            line(
                b + 0x11000,
                b + 0x12000,
                "rw-p",
                0x1000,
                9,
                "/system/lib64/x.so",
            ),
            line(b + 0x12000, b + 0x14000, "rw-p", 0, 0, "[anon:.bss]"),
        ];
        let a = attribute(
            &maps,
            &facts("/system/lib64/x.so", 9, lib),
            P,
            &Hints::default(),
        );
        assert_eq!(
            kinds(&a),
            vec![
                (b, b + 0x1000, Kind::Text, Some(0)),
                (b + 0x1000, b + 0x11000, Kind::Gap, None),
                (b + 0x11000, b + 0x12000, Kind::Data, Some(1)),
                (b + 0x12000, b + 0x14000, Kind::Bss, Some(1)),
            ]
        );
        assert!(a.regions.iter().all(|r| r.instance == Some(0)));
    }

    #[test]
    fn bss_merged_with_anonymous_memory_is_split_at_span_end() {
        let lib = info(
            3,
            vec![
                load(0, 5, 0, 0, 0x1800, 0x1800),
                load(1, 6, 0x1800, 0x2800, 0x100, 0x5000),
            ],
        );
        let b = 0x7f00_0000_0000;
        let maps = vec![
            line(b, b + 0x2000, "r-xp", 0, 9, "/lib/x.so"),
            line(b + 0x2000, b + 0x3000, "rw-p", 0x1000, 9, "/lib/x.so"),
            line(b + 0x3000, b + 0x20000, "rw-p", 0, 0, ""),
        ];
        let a = attribute(&maps, &facts("/lib/x.so", 9, lib), P, &Hints::default());
        let k = kinds(&a);
        assert_eq!(k[1], (b + 0x2000, b + 0x3000, Kind::Data, Some(1)));
        assert_eq!(k[2], (b + 0x3000, b + 0x8000, Kind::Bss, Some(1)));
        assert_eq!(k[3], (b + 0x8000, b + 0x20000, Kind::Anon, None));
        assert!(a.regions[2].split && a.regions[3].split && !a.regions[0].split);
        assert_eq!(a.regions[3].instance, None);
    }

    #[test]
    fn musl_span_mapping_is_split_into_gap_and_segments() {
        // 64K-aligned segments loaded by musl: one r--p line over rodata + gap.
        let lib = info(
            3,
            vec![
                load(0, 4, 0, 0, 0x800, 0x800),
                load(1, 5, 0x1000, 0x11000, 0x800, 0x800),
            ],
        );
        let b = 0x7f00_0000_0000;
        let maps = vec![
            line(b, b + 0x11000, "r--p", 0, 3, "/lib/m.so"),
            line(b + 0x11000, b + 0x12000, "r-xp", 0x1000, 3, "/lib/m.so"),
        ];
        let a = attribute(&maps, &facts("/lib/m.so", 3, lib), P, &Hints::default());
        assert_eq!(
            kinds(&a),
            vec![
                (b, b + 0x1000, Kind::Rodata, Some(0)),
                (b + 0x1000, b + 0x11000, Kind::Gap, None),
                (b + 0x11000, b + 0x12000, Kind::Text, Some(1)),
            ]
        );
        assert_eq!(a.instances[0].problem, None);
    }

    #[test]
    fn two_instances_of_one_file() {
        let lib = info(
            3,
            vec![
                load(0, 5, 0, 0, 0x1000, 0x1000),
                load(1, 6, 0x1000, 0x1000, 0x10, 0x10),
            ],
        );
        let (b1, b2) = (0x7f00_0000_0000, 0x7f00_1000_0000);
        let maps = vec![
            line(b1, b1 + 0x1000, "r-xp", 0, 4, "/lib/y.so"),
            line(b1 + 0x1000, b1 + 0x2000, "rw-p", 0x1000, 4, "/lib/y.so"),
            line(b2, b2 + 0x1000, "r-xp", 0, 4, "/lib/y.so"),
            line(b2 + 0x1000, b2 + 0x2000, "rw-p", 0x1000, 4, "/lib/y.so"),
        ];
        let a = attribute(&maps, &facts("/lib/y.so", 4, lib), P, &Hints::default());
        let mut biases: Vec<u64> = a.instances.iter().map(|i| i.bias).collect();
        biases.sort();
        assert_eq!(biases, vec![b1, b2]);
        assert!(a.instances.iter().all(|i| i.problem.is_none()));
    }

    #[test]
    fn wrong_file_is_unknown_not_wrong() {
        // The maps say the data page comes from offset 0x5000; the headers say 0x1000.
        let lib = info(
            3,
            vec![
                load(0, 5, 0, 0, 0x1000, 0x1000),
                load(1, 6, 0x1000, 0x1000, 0x10, 0x10),
            ],
        );
        let b = 0x7f00_0000_0000;
        let maps = vec![
            line(b, b + 0x1000, "r-xp", 0, 4, "/lib/y.so"),
            line(b + 0x1000, b + 0x2000, "rw-p", 0x5000, 4, "/lib/y.so"),
        ];
        let a = attribute(&maps, &facts("/lib/y.so", 4, lib), P, &Hints::default());
        assert!(a.instances[0].problem.is_some());
        assert!(
            a.regions
                .iter()
                .all(|r| r.kind == Kind::Unknown && r.instance == Some(0))
        );
    }

    #[test]
    fn exec_gap_is_a_hole_and_anonymous_bss() {
        let exe = info(
            2,
            vec![
                load(0, 5, 0, 0x400000, 0x1000, 0x1000),
                load(1, 6, 0x1000, 0x600000 + 0x1000, 0x100, 0x3000),
            ],
        );
        let maps = vec![
            line(0x400000, 0x401000, "r-xp", 0, 5, "/bin/e"),
            line(0x601000, 0x602000, "rw-p", 0x1000, 5, "/bin/e"),
            line(0x602000, 0x604000, "rw-p", 0, 0, "[heap]"),
        ];
        let a = attribute(&maps, &facts("/bin/e", 5, exe), P, &Hints::default());
        assert_eq!(a.instances[0].bias, 0);
        assert_eq!(
            kinds(&a),
            vec![
                (0x400000, 0x401000, Kind::Text, Some(0)),
                (0x601000, 0x602000, Kind::Data, Some(1)),
                (0x602000, 0x604000, Kind::Bss, Some(1)),
            ]
        );
    }

    #[test]
    fn names_without_objects() {
        let maps = vec![
            line(0x1000, 0x2000, "rw-p", 0, 0, "[heap]"),
            line(0x2000, 0x3000, "rw-s", 0, 12, "/SYSV00000000 (deleted)"),
            line(0x3000, 0x4000, "r--p", 0, 13, "/etc/passwd"),
            line(0x4000, 0x5000, "rw-p", 0, 0, "[anon:x y]"),
            line(0x5000, 0x6000, "rw-p", 0, 0, ""),
            line(0x6000, 0x7000, "---p", 0, 0, ""),
            line(0x7000, 0x9000, "rw-p", 0, 0, ""),
            line(0x9000, 0xa000, "---p", 0, 0, ""),
            line(0xa000, 0xb000, "---p", 0, 0, "[anon:thread stack guard]"),
            line(0xb000, 0xc000, "rw-p", 0, 0, "[anon:stack_and_tls:77]"),
            line(0xc000, 0xd000, "rw-p", 0, 14, "/anon_hugepage (deleted)"),
            line(0xd000, 0xe000, "rw-s", 0, 15, "/anon_hugepage (deleted)"),
            line(0xe000, 0xf000, "rw-p", 0, 4, "/dev/zero"),
        ];
        let mut f = HashMap::new();
        f.insert(FileKey::of(&maps[2]), FileFacts::NotElf);
        let hints = Hints {
            thread_stack_pointers: vec![0x5800, 0x8ff0],
        };
        let a = attribute(&maps, &f, P, &hints);
        let k: Vec<Kind> = a.regions.iter().map(|r| r.kind).collect();
        assert_eq!(
            k,
            vec![
                Kind::Heap,
                Kind::Shm,
                Kind::File,
                Kind::Anon,
                Kind::ThreadStack,
                Kind::Guard,
                Kind::ThreadStack,
                Kind::Anon,
                Kind::Guard,
                Kind::ThreadStack,
                Kind::Anon,
                Kind::Shm,
                Kind::Anon,
            ]
        );
    }
}

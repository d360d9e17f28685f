//! Phase 3: whether the maps lines of each instance are what the loader maps for its
//! program headers; where not, the instance gets a [`Problem`] and its lines are
//! labelled `unknown`, never wrongly. Labels come from program headers; offsets,
//! extents and permissions are the evidence that the file read is the one mapped.
//!
//! - [`check_offsets`]: every file-backed page sits at the file offset the program
//!   headers put there, inside the file.
//! - [`check_extent`]: file-backed pages lie where the loaders map the file: inside
//!   the object's span, and not in a writable segment's pages past its file pages
//!   (bss, which glibc, musl and the kernel map anonymous; musl's lowest segment
//!   excepted, whose pages stay in its mapping of the whole span).
//! - [`check_perms`]: each page has the protection the loaders give it: PF_R/W/X of its
//!   PT_LOAD, `r--` for pages inside PT_GNU_RELRO as the loader rounds it (the
//!   segment's own only where no loader applies RELRO: a process without an
//!   interpreter, and musl's libc, which skips its own), and for gaps `---`, or the
//!   lowest segment's protection under musl's loader, which never makes gaps
//!   inaccessible. Which loader runs is decided once per process from PT_INTERP
//!   ([`Loader`]), not per file. The `p`/`s` flag says nothing. When the file is
//!   proven to be the mapped one ([`FileFacts::Elf`] `exact`), a differing permission
//!   is a note, not a problem: a JIT or a hot-patcher may `mprotect` its own pages.
//! - [`check_overlap`]: no file-backed line of another file lies inside a segment of a
//!   file not proven to be the mapped one: loaders map nothing else there (a sysroot
//!   build with a longer bss reaches into the next object's lines).
//! - [`check_consistency`]: a file that fails for one instance fails for all, and every
//!   object of a process has the machine, class and byte order of the majority.
//! - [`unexplained`]: loadable files whose program headers explain none of their lines.

use crate::input::elf::{ElfInfo, PF_R, PF_W, PF_X, Phdr};
use crate::input::maps::{Mapping, NameKind};
use crate::vocab::{Code, Kind, PageSize};

use super::files::Files;
use super::{FileFacts, Instance, Label, Problem};

/// Checks every instance against the maps lines it owns, in address order: the first
/// contradiction of offsets, then extents, then permissions becomes the instance's
/// problem. Returns the notes: permissions that differ in files proven to be the
/// mapped ones, at most one per instance.
pub(crate) fn check_instances(
    mappings: &[Mapping],
    owner: &[Option<usize>],
    instances: &mut [Instance],
    file_of: &[usize],
    files: &Files,
    page: PageSize,
) -> Vec<(usize, Problem)> {
    let rie = read_implies_exec(mappings);
    let loader = Loader::of(instances);
    let lines = Lines::new(owner, instances.len());
    let mut notes = Vec::new();
    let mut budget = OverlapBudget::new(mappings.len());
    for (idx, inst) in instances.iter_mut().enumerate() {
        let Some(&FileFacts::Elf { size, exact, .. }) = files.facts[file_of[idx]] else {
            continue;
        };
        // Loadable files have a PT_LOAD; found once per instance, not per line.
        let Some(ends) = Ends::of(&inst.info) else {
            continue;
        };
        let rules = Rules {
            rie,
            musl_gaps: loader.is_musl(),
            relro_rw: loader.leaves_relro_writable(&inst.key.name),
        };
        // One walk over the lines and the image together (both in address order):
        // the first line whose offsets contradict decides; else the first whose
        // extent does; else the permissions of every line.
        let (mut extent, mut perms, mut more) = (None, None, 0usize);
        let mut found = None;
        let mut from = 0;
        for &mi in lines.of(idx) {
            let m = &mappings[mi];
            while inst.image.get(from).is_some_and(|l| l.end <= m.start) {
                from += 1;
            }
            let to = from + inst.image[from..].partition_point(|l| l.start < m.end);
            let labels = &inst.image[from..to];
            if let Some(p) = check_offsets(m, inst, labels, &ends, size, page) {
                found = Some(p);
                break;
            }
            if extent.is_some() {
                continue;
            }
            extent = check_extent(m, inst, labels, &ends, page, exact);
            if extent.is_none()
                && let Some(p) = check_perms(m, inst, labels, &ends, &rules)
            {
                match perms {
                    None => perms = Some(p),
                    Some(_) => more += 1,
                }
            }
        }
        if let Some(p) = found.or(extent) {
            inst.problem = Some(p);
            continue;
        }
        if !exact && let Some(p) = check_overlap(mappings, inst, file_of[idx], files, &mut budget) {
            inst.problem = Some(p);
            continue;
        }
        let Some(first) = perms else {
            continue;
        };
        if !exact {
            inst.problem = Some(first);
            continue;
        }
        let more = match more {
            0 => String::new(),
            1 => " (and 1 more maps line)".to_string(),
            n => format!(" (and {n} more maps lines)"),
        };
        notes.push((
            idx,
            Problem::new(
                first.code,
                format!(
                    "{}{more}; the file is the mapped one, so its labels are kept: the process may have changed the protection (mprotect)",
                    first.message
                ),
            ),
        ));
    }
    notes
}

/// The maps lines each instance owns, in address order, in one buffer:
/// `lines[starts[i]..starts[i + 1]]` (counted, not a `Vec` per instance).
struct Lines {
    lines: Vec<usize>,
    starts: Vec<usize>,
}

impl Lines {
    fn new(owner: &[Option<usize>], instances: usize) -> Lines {
        let mut starts = vec![0usize; instances + 1];
        for &o in owner.iter().flatten() {
            starts[o + 1] += 1;
        }
        for i in 0..instances {
            starts[i + 1] += starts[i];
        }
        let mut lines = vec![0usize; starts[instances]];
        let mut fill = starts.clone();
        for (mi, o) in owner.iter().enumerate() {
            if let Some(o) = *o {
                lines[fill[o]] = mi;
                fill[o] += 1;
            }
        }
        Lines { lines, starts }
    }

    fn of(&self, instance: usize) -> &[usize] {
        &self.lines[self.starts[instance]..self.starts[instance + 1]]
    }
}

/// The dynamic loader of a process, as far as the checks need it: decided once per
/// process from the PT_INTERP of its objects (the executable's; glibc's libc names
/// the same interpreter), never per file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Loader {
    /// No object names an interpreter: a static executable, whose startup may not
    /// apply RELRO (or the executable could not be read).
    None,
    /// musl's (`ld-musl-ARCH.so.1`): maps a library's whole span with its lowest
    /// segment's protection and never makes gaps inaccessible; skips RELRO for
    /// itself, libc. The file name PT_INTERP gives.
    Musl(Vec<u8>),
    /// Another loader (glibc's `ld-linux*.so`): gaps `---p`, RELRO applied to every
    /// object, itself included.
    Other,
}

impl Loader {
    fn of(instances: &[Instance]) -> Loader {
        let mut loader = Loader::None;
        for interp in instances.iter().filter_map(|x| x.info.interp.as_deref()) {
            let name = base_name(interp);
            if name.starts_with(b"ld-musl-") {
                return Loader::Musl(name.to_vec());
            }
            loader = Loader::Other;
        }
        loader
    }

    fn is_musl(&self) -> bool {
        matches!(self, Loader::Musl(_))
    }

    /// Whether pages inside PT_GNU_RELRO of the object mapped from `path` may still
    /// be writable: in a process without an interpreter, and for musl's libc (the
    /// interpreter itself: the file PT_INTERP names, or the `libc.so` it links to on
    /// Debian, `/usr/lib/ARCH-linux-musl/libc.so`). Elsewhere the loader made them
    /// `r--` before the program ran; a writable page there is another build's data.
    fn leaves_relro_writable(&self, path: &[u8]) -> bool {
        match self {
            Loader::None => true,
            Loader::Other => false,
            Loader::Musl(interp) => {
                let name = base_name(path.strip_suffix(b" (deleted)").unwrap_or(path));
                name == interp.as_slice() || name == b"libc.so" || name.starts_with(b"libc.musl-")
            }
        }
    }
}

/// The last component of a path, as bytes.
fn base_name(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// What [`check_perms`] allows besides each segment's own protection.
struct Rules {
    /// The process reads as if it had READ_IMPLIES_EXEC ([`read_implies_exec`]).
    rie: bool,
    /// Gaps may have the lowest (or first) segment's protection: musl's loader.
    musl_gaps: bool,
    /// Pages inside PT_GNU_RELRO may keep their segment's protection
    /// ([`Loader::leaves_relro_writable`]).
    relro_rw: bool,
}

/// Maps lines looked at by [`check_overlap`] for all instances together: at most
/// 4 x (maps lines) + 2^20, so that hostile spans over many lines cost no more than
/// the input (past it, the check is not made).
struct OverlapBudget(usize);

impl OverlapBudget {
    fn new(lines: usize) -> OverlapBudget {
        OverlapBudget(lines.saturating_mul(4).saturating_add(1 << 20))
    }
}

/// No file-backed line of another file lies inside a segment (not a gap) of `inst`:
/// the loaders map a segment's pages from its own file or anonymous, and glibc
/// reserves the whole span before it maps anything, so a line of another file there
/// says that the program headers read are not the mapped ones (a sysroot build with a
/// longer bss reaches into the next object). Memory a program maps over its own text
/// (memfd, hugetlb: `/anon_hugepage (deleted)`) and kernel memory names are not files.
fn check_overlap(
    mappings: &[Mapping],
    inst: &Instance,
    file: usize,
    files: &Files,
    budget: &mut OverlapBudget,
) -> Option<Problem> {
    for l in inst.image.iter().filter(|l| l.segment.is_some()) {
        let from = mappings.partition_point(|m| m.end <= l.start);
        for (mi, m) in mappings
            .iter()
            .enumerate()
            .skip(from)
            .take_while(|(_, m)| m.start < l.end)
        {
            if budget.0 == 0 {
                return None;
            }
            budget.0 -= 1;
            let Some(f) = files.of(mi) else { continue };
            if f == file {
                continue;
            }
            if let NameKind::Path { path, deleted } = m.name_kind()
                && (crate::vocab::names::is_kernel_memory_name(&path, deleted)
                    || (deleted && path.starts_with(b"/memfd:")))
            {
                continue;
            }
            return Some(Problem::new(
                Code::LayoutMismatch,
                format!(
                    "maps line {} (another file) lies at 0x{:x}-0x{:x}, inside the {} of program header [{}] at 0x{:x}-0x{:x} (load bias 0x{:x}): the loaders map nothing else there",
                    m.line,
                    m.start,
                    m.end,
                    l.kind.as_str(),
                    l.segment.unwrap_or_default(),
                    l.start,
                    l.end,
                    inst.bias
                ),
            ));
        }
    }
    None
}

/// The PT_LOADs of a file that the loaders treat apart: the lowest (by `p_vaddr`),
/// whose protection musl gives the whole span, and the first in the file's order.
struct Ends<'a> {
    lowest: &'a Phdr,
    first: &'a Phdr,
}

impl<'a> Ends<'a> {
    fn of(info: &'a ElfInfo) -> Option<Ends<'a>> {
        Some(Ends {
            lowest: info.loads().min_by_key(|p| p.vaddr)?,
            first: info.loads().next()?,
        })
    }
}

/// Every file-backed page of `m` must be where the loaders put it. Pages of a PT_LOAD
/// (text, rodata, data, relro, and bss should a loader map it from the file) are at
/// `addr - bias - p_vaddr + p_offset`; file-backed gap pages are what is left of the
/// loader's first mapping of the whole span, whose offsets continue from the first
/// PT_LOAD's page. Pages of file contents must lie inside the file. `labels`: the
/// labels of `inst`'s image that overlap `m` ([`Instance::labels_in`]).
fn check_offsets(
    m: &Mapping,
    inst: &Instance,
    labels: &[Label],
    ends: &Ends,
    file_size: u64,
    page: PageSize,
) -> Option<Problem> {
    let first = ends.lowest;
    for l in labels {
        let (s, e) = (l.start.max(m.start), l.end.min(m.end));
        if s >= e {
            continue;
        }
        let phdr = l.segment.and_then(|i| inst.info.phdrs.get(i));
        let want = match phdr {
            Some(p) => s
                .wrapping_sub(inst.bias)
                .wrapping_sub(p.vaddr)
                .wrapping_add(p.offset),
            None => (s - inst.span_start).wrapping_add(page.down(first.offset)),
        };
        let have = m.offset.wrapping_add(s - m.start);
        if want != have {
            // Worded only when it is said: this runs for every line of every object.
            let what = match phdr {
                Some(p) => format!("program header [{}]", p.index),
                None => "the span mapping of the loader".to_string(),
            };
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

/// File-backed pages lie where the loaders map the file (module docs). Outside the
/// span is only a contradiction when the file is not proven to be the mapped one (a
/// proven file may also be mapped for reading next to its loaded copy). `labels`: as
/// for [`check_offsets`].
fn check_extent(
    m: &Mapping,
    inst: &Instance,
    labels: &[Label],
    ends: &Ends,
    page: PageSize,
    exact: bool,
) -> Option<Problem> {
    if !exact && (m.start < inst.span_start || m.end > inst.span_end) {
        return Some(Problem::new(
            Code::LayoutMismatch,
            format!(
                "maps line {} maps the file at 0x{:x}-0x{:x}, but the program headers span only 0x{:x}-0x{:x} (load bias 0x{:x})",
                m.line, m.start, m.end, inst.span_start, inst.span_end, inst.bias
            ),
        ));
    }
    for l in labels {
        let Some(p) = segment_of(l, inst) else {
            continue;
        };
        if !p.writable() || p.index == ends.lowest.index {
            continue;
        }
        let Some(file_end) = inst
            .bias
            .checked_add(p.vaddr)
            .and_then(|v| v.checked_add(p.filesz))
            .and_then(|v| page.up(v))
        else {
            continue;
        };
        let s = l.start.max(m.start).max(file_end);
        if s < l.end.min(m.end) {
            return Some(Problem::new(
                Code::LayoutMismatch,
                format!(
                    "maps line {} maps file offset 0x{:x} at 0x{s:x}, but there program header [{}] has bss (its file pages end at 0x{file_end:x}), which the loaders map anonymous (load bias 0x{:x})",
                    m.line,
                    m.offset.wrapping_add(s - m.start),
                    p.index,
                    inst.bias
                ),
            ));
        }
    }
    None
}

/// Each page of `m` has a protection the loaders give it (module docs). `rules`:
/// what the process's loader allows besides; `labels`: as for [`check_offsets`].
fn check_perms(
    m: &Mapping,
    inst: &Instance,
    labels: &[Label],
    ends: &Ends,
    rules: &Rules,
) -> Option<Problem> {
    let have = [m.perms[0], m.perms[1], m.perms[2]];
    for l in labels {
        let s = l.start.max(m.start);
        if s >= l.end.min(m.end) {
            continue;
        }
        let seg = segment_of(l, inst);
        let in_relro = |own: [u8; 3]| l.kind == Kind::Relro && own != *b"r--";
        // At most three protections are allowed; the words come only on a mismatch
        // (this runs for every line of every object).
        let (allowed, n) = match seg {
            Some(p) => {
                let own = prot(p.flags);
                match (in_relro(own), rules.relro_rw) {
                    (true, true) => ([own, *b"r--", own], 2),
                    (true, false) => ([*b"r--"; 3], 1),
                    (false, _) => ([own, own, own], 1),
                }
            }
            None if rules.musl_gaps => {
                let (lowest, first) = (ends.lowest, ends.first);
                ([*b"---", prot(lowest.flags), prot(first.flags)], 3)
            }
            None => ([*b"---"; 3], 1),
        };
        if allowed[..n].iter().any(|w| fits(have, *w, rules.rie)) {
            continue;
        }
        let what = match seg {
            Some(p) => {
                let own = prot(p.flags);
                match (in_relro(own), rules.relro_rw) {
                    (true, true) => format!(
                        "program header [{}] maps it {}p, or r--p once RELRO is applied",
                        p.index,
                        text(own)
                    ),
                    (true, false) => format!(
                        "it lies inside PT_GNU_RELRO, which this process's loader makes r--p before the program runs (program header [{}] is {}p)",
                        p.index,
                        text(own)
                    ),
                    (false, _) => format!("program header [{}] maps it {}p", p.index, text(own)),
                }
            }
            None if rules.musl_gaps => format!(
                "it lies in a gap between program headers, which musl's loader leaves ---p or {}p (the lowest segment's)",
                text(prot(ends.lowest.flags))
            ),
            None => "it lies in a gap between program headers, which this process's loader (not musl's) maps ---p".to_string(),
        };
        return Some(Problem::new(
            Code::LayoutMismatch,
            format!(
                "maps line {} is {} at 0x{s:x}, but {what} (load bias 0x{:x})",
                m.line,
                m.perms_str(),
                inst.bias
            ),
        ));
    }
    None
}

/// The PT_LOAD a label of the image comes from (none for gaps).
fn segment_of<'a>(l: &Label, inst: &'a Instance) -> Option<&'a Phdr> {
    l.segment.and_then(|i| inst.info.phdrs.get(i))
}

/// The `rwx` of maps for PF_R, PF_W and PF_X.
fn prot(flags: u32) -> [u8; 3] {
    let f = |bit, c| if flags & bit != 0 { c } else { b'-' };
    [f(PF_R, b'r'), f(PF_W, b'w'), f(PF_X, b'x')]
}

fn text(p: [u8; 3]) -> String {
    String::from_utf8_lossy(&p).into_owned()
}

/// Whether maps' `have` is the protection `want`; under READ_IMPLIES_EXEC the kernel
/// adds `x` to every readable mapping.
fn fits(have: [u8; 3], want: [u8; 3], rie: bool) -> bool {
    have == want || (rie && want[0] == b'r' && have == [want[0], want[1], b'x'])
}

/// Whether the process may run with the READ_IMPLIES_EXEC personality (i386
/// executables without PT_GNU_STACK, ARM and MIPS ones with an executable stack or
/// without NX): then the kernel makes every readable mapping executable, so every
/// readable line is, apart from the ones the kernel installs itself (vdso, vvar).
/// One readable line without `x` rules it out.
fn read_implies_exec(mappings: &[Mapping]) -> bool {
    let mut readable = mappings.iter().filter(|m| {
        m.perms[0] == b'r'
            && !matches!(
                m.name_kind(),
                NameKind::Vdso | NameKind::Vvar | NameKind::Vsyscall | NameKind::Kernel(_)
            )
    });
    readable.all(|m| m.perms[2] == b'x')
}

/// Across objects: a file that fails for one instance fails for all, and every object
/// of one process has the same machine, class and byte order (the one most of its maps
/// lines agree on).
pub(crate) fn check_consistency(
    instances: &mut [Instance],
    owner: &[Option<usize>],
    file_of: &[usize],
    files: usize,
) {
    // The maps lines of each instance, then of each ABI (sorted, summed by runs).
    let mut lines = vec![0usize; instances.len()];
    for &o in owner.iter().flatten() {
        lines[o] += 1;
    }
    let mut weight: Vec<((u16, u8, bool), usize)> = instances
        .iter()
        .zip(&lines)
        .filter(|(_, n)| **n > 0)
        .map(|(x, n)| ((x.info.machine, x.info.class, x.info.little_endian), *n))
        .collect();
    weight.sort_unstable();
    let mut summed: Vec<((u16, u8, bool), usize)> = Vec::with_capacity(weight.len());
    for (abi, n) in weight {
        match summed.last_mut() {
            Some((a, m)) if *a == abi => *m += n,
            _ => summed.push((abi, n)),
        }
    }
    // The ABI of more lines than any other, if there is one.
    let mut best: Option<((u16, u8, bool), usize)> = None;
    let mut tied = false;
    for &(abi, n) in &summed {
        match best {
            Some((_, b)) if n < b => {}
            Some((_, b)) if n == b => tied = true,
            _ => {
                best = Some((abi, n));
                tied = false;
            }
        }
    }
    let majority = best.filter(|_| !tied).map(|(abi, _)| abi);
    if let Some((machine, class, little)) = majority {
        let name = |m: u16, c: u8, l: bool| {
            let info = ElfInfo {
                class: c,
                little_endian: l,
                e_type: 0,
                machine: m,
                phdrs: vec![],
                build_id: None,
                interp: None,
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
    // The first instance with a problem of each file that has one.
    let mut bad: Vec<Option<usize>> = vec![None; files];
    for (i, x) in instances.iter().enumerate() {
        if x.problem.is_some() {
            bad[file_of[i]].get_or_insert(i);
        }
    }
    for i in 0..instances.len() {
        if instances[i].problem.is_some() {
            continue;
        }
        if let Some(b) = bad[file_of[i]]
            && let Some(p) = &instances[b].problem
        {
            instances[i].problem = Some(Problem::new(
                p.code,
                format!("another copy of the same file does not fit: {}", p.message),
            ));
        }
    }
}

/// Files whose program headers explain none of their mappings, when the file read may
/// not be the mapped one: not an object that can be labelled. Returns each such file
/// once, with why; files in `limited` (over a limit on the work) are left out.
pub(crate) fn unexplained(
    mappings: &[Mapping],
    files: &Files,
    owner: &[Option<usize>],
    file_of: &[usize],
    limited: &[(usize, Problem)],
) -> Vec<(usize, Problem)> {
    let mut seen = vec![false; files.len()];
    for &f in file_of.iter().chain(limited.iter().map(|(f, _)| f)) {
        seen[f] = true;
    }
    let mut unexplained: Vec<(usize, Problem)> = Vec::new();
    for (i, o) in owner.iter().enumerate() {
        let Some(f) = files.of(i) else { continue };
        if o.is_some() || seen[f] {
            continue;
        }
        if let Some(FileFacts::Elf {
            info, exact: false, ..
        }) = files.facts[f]
            && info.is_loadable()
        {
            seen[f] = true;
            unexplained.push((
                f,
                Problem::new(
                    Code::UnexplainedFile,
                    format!(
                        "its program headers explain none of its maps lines (line {} maps file offset 0x{:x}): the file read is probably not the mapped one",
                        mappings[i].line, mappings[i].offset
                    ),
                ),
            ));
        }
    }
    unexplained
}

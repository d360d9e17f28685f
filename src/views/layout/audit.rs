//! The audit of `elfmaps layout`: seven checks of a loadable object's headers, each
//! its own function, each adding [`Finding`]s (docs/layout.md explains them):
//! W+X segments, RELRO (none or partial), executable stack, text relocations, address
//! space between segments, file padding between segments, and segments sharing a page.
//!
//! Addresses and offsets come from the file, so a hostile file can make them overflow:
//! every sum is checked, and a pair of segments whose end overflows is not compared
//! (the file gets an `address overflow` warning from the layout itself).

use std::collections::HashSet;

use super::{Finding, FindingKind};
use crate::input::elf::{
    self, DynamicFlags, ElfInfo, PT_DYNAMIC, PT_GNU_STACK, Phdr, SHF_ALLOC, Shdr,
};
use crate::label::Label;
use crate::vocab::human::human;
use crate::vocab::{Kind, PageSize};

/// What the checks look at.
pub(super) struct Facts<'a> {
    pub info: &'a ElfInfo,
    /// Section headers (empty when unreadable).
    pub shdrs: &'a [Shdr],
    /// What PT_DYNAMIC says, when it could be read.
    pub dynamic: Option<DynamicFlags>,
    /// The whole file's labelled layout at bias 0, when computed.
    pub full: Option<&'a [Label]>,
    pub page: PageSize,
}

/// The audit findings of a loadable object, in the order of the checks.
pub(super) fn audit(f: &Facts) -> Vec<Finding> {
    let loads: Vec<&Phdr> = f.info.loads().collect();
    let mut out = Vec::new();
    wx_segments(&loads, &mut out);
    relro(f, &loads, &mut out);
    exec_stack(f, &loads, &mut out);
    textrel(f, &mut out);
    address_gaps(f, &mut out);
    file_padding(f, &loads, &mut out);
    shared_pages(f, &loads, &mut out);
    out
}

/// `rwx` as `ls` writes permissions.
fn perms(flags: u32) -> String {
    let f = |bit, c| if flags & bit != 0 { c } else { '-' };
    [f(elf::PF_R, 'r'), f(elf::PF_W, 'w'), f(elf::PF_X, 'x')]
        .iter()
        .collect()
}

fn pages_text(n: u64, page: PageSize) -> String {
    let p = n / page.get();
    if p == 1 {
        "1 page".into()
    } else {
        format!("{p} pages")
    }
}

/// Check 1: PT_LOADs both writable and executable.
fn wx_segments(loads: &[&Phdr], out: &mut Vec<Finding>) {
    for p in loads {
        if p.writable() && p.executable() {
            out.push(Finding {
                kind: FindingKind::WxSegment,
                segment: Some(p.index),
                message: format!(
                    "segment {} is writable and executable ({}): code can be written at run time",
                    p.index,
                    perms(p.flags)
                ),
                bytes: Some(p.memsz),
            });
        }
    }
}

/// Check 2: No PT_GNU_RELRO though something is writable, or a RELRO that leaves the
/// GOT of the PLT writable (lazy binding, or a static program linked without `-z now`).
fn relro(f: &Facts, loads: &[&Phdr], out: &mut Vec<Finding>) {
    let info = f.info;
    let relro = info.phdrs.iter().find(|p| p.is_relro());
    let has_writable = loads.iter().any(|p| p.writable());
    let pt_dynamic = info.phdrs.iter().find(|p| p.p_type == PT_DYNAMIC);
    let Some(r) = relro else {
        if has_writable {
            out.push(Finding {
                kind: FindingKind::NoRelro,
                segment: None,
                message: "no PT_GNU_RELRO: the GOT, vtables and other relocated data stay writable"
                    .into(),
                bytes: None,
            });
        }
        return;
    };
    match (pt_dynamic, f.dynamic) {
        (Some(_), Some(d)) if !d.bind_now => out.push(Finding {
            kind: FindingKind::PartialRelro,
            segment: Some(r.index),
            message: format!(
                "PT_GNU_RELRO (segment {}) without BIND_NOW: lazy binding keeps the PLT's GOT (.got.plt) writable",
                r.index
            ),
            bytes: None,
        }),
        (Some(_), _) => {}
        (None, _) => {
            // No dynamic linking, so no lazy binding: but a static executable
            // linked without -z now keeps its IRELATIVE .got.plt out of RELRO.
            let (rs, re) = (r.vaddr, r.vaddr.saturating_add(r.memsz));
            let outside = f.shdrs.iter().find(|s| {
                s.name.as_deref() == Some(b".got.plt")
                    && s.size > 0
                    && s.flags & SHF_ALLOC != 0
                    && (s.addr < rs || s.addr.saturating_add(s.size) > re)
            });
            if let Some(s) = outside {
                out.push(Finding {
                    kind: FindingKind::PartialRelro,
                    segment: Some(r.index),
                    message: format!(
                        "PT_GNU_RELRO (segment {}) does not cover .got.plt (0x{:x}, {} bytes), which stays writable (linked without -z now)",
                        r.index, s.addr, s.size
                    ),
                    bytes: Some(s.size),
                });
            }
        }
    }
}

/// Check 3: An executable PT_GNU_STACK, or none at all.
fn exec_stack(f: &Facts, loads: &[&Phdr], out: &mut Vec<Finding>) {
    match f.info.phdrs.iter().find(|p| p.p_type == PT_GNU_STACK) {
        Some(s) if s.executable() => out.push(Finding {
            kind: FindingKind::ExecStack,
            segment: Some(s.index),
            message: format!(
                "PT_GNU_STACK (segment {}) is {}: the stack is executable",
                s.index,
                perms(s.flags)
            ),
            bytes: None,
        }),
        Some(_) => {}
        None if !loads.is_empty() => out.push(Finding {
            kind: FindingKind::ExecStack,
            segment: None,
            message: "no PT_GNU_STACK: glibc makes the stack executable when it loads such an object, and so do 32-bit x86 kernels for such a program".into(),
            bytes: None,
        }),
        None => {}
    }
}

/// Check 4: DT_TEXTREL.
fn textrel(f: &Facts, out: &mut Vec<Finding>) {
    let pt_dynamic = f.info.phdrs.iter().find(|p| p.p_type == PT_DYNAMIC);
    if let (Some(d), Some(p)) = (f.dynamic, pt_dynamic)
        && d.textrel
    {
        out.push(Finding {
            kind: FindingKind::Textrel,
            segment: Some(p.index),
            message: "DT_TEXTREL: relocations write to read-only segments, which the loader makes writable meanwhile (their pages are private copies afterwards)".into(),
            bytes: None,
        });
    }
}

/// Check 5: Address space between PT_LOADs (p_align larger than the page size).
fn address_gaps(f: &Facts, out: &mut Vec<Finding>) {
    let Some(labels) = f.full else { return };
    for (i, l) in labels.iter().enumerate() {
        if l.kind != Kind::Gap {
            continue;
        }
        let before = labels[..i].iter().rev().find_map(|x| x.segment);
        let after = labels[i + 1..].iter().find_map(|x| x.segment);
        let align = after
            .and_then(|a| f.info.phdrs.get(a))
            .map_or(0, |p| p.align);
        let n = l.end.saturating_sub(l.start);
        out.push(Finding {
            kind: FindingKind::AlignmentWaste,
            segment: after,
            message: format!(
                "{} of address space between segments {} and {} is a gap (p_align 0x{align:x}): reserved, no memory",
                human(Some(n)),
                before.map_or("-".into(), |b| b.to_string()),
                after.map_or("-".into(), |a| a.to_string()),
            ),
            bytes: Some(n),
        });
    }
}

/// Check 6: File bytes between PT_LOADs that no PT_LOAD holds, a page or more of them.
fn file_padding(f: &Facts, loads: &[&Phdr], out: &mut Vec<Finding>) {
    let mut by_offset: Vec<&Phdr> = loads.iter().copied().filter(|p| p.filesz > 0).collect();
    by_offset.sort_by_key(|p| (p.offset, p.index));
    let mut covered_to: Option<(u64, usize)> = None;
    for p in by_offset {
        if let Some((end, prev)) = covered_to
            && p.offset > end
            && p.offset - end >= f.page.get()
        {
            out.push(Finding {
                kind: FindingKind::AlignmentWaste,
                segment: Some(p.index),
                message: format!(
                    "{} of file padding between segments {prev} and {} (offsets 0x{end:x}-0x{:x})",
                    human(Some(p.offset - end)),
                    p.index,
                    p.offset
                ),
                bytes: Some(p.offset - end),
            });
        }
        let Some(end) = p.offset.checked_add(p.filesz) else {
            continue;
        };
        if covered_to.is_none_or(|(e, _)| end > e) {
            covered_to = Some((end, p.index));
        }
    }
}

/// `[start, start + len)` rounded out to pages; `None` when it overflows.
fn page_span(page: PageSize, start: u64, len: u64) -> Option<(u64, u64)> {
    Some((page.down(start), page.up(start.checked_add(len)?)?))
}

/// Check 7: PT_LOADs sharing a page, in memory or in the file; neighbours in address (or
/// offset) order only, which is every pair in real files and bounded in hostile ones.
fn shared_pages(f: &Facts, loads: &[&Phdr], out: &mut Vec<Finding>) {
    let page = f.page;
    let mut by_addr: Vec<&Phdr> = loads.to_vec();
    by_addr.sort_by_key(|p| (p.vaddr, p.index));
    let mut mem_pairs = HashSet::new();
    for w in by_addr.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (Some((_, a_end)), Some((b_start, b_end))) = (
            page_span(page, a.vaddr, a.memsz),
            page_span(page, b.vaddr, b.memsz),
        ) else {
            continue;
        };
        if b_start < a_end {
            let n = a_end.min(b_end).saturating_sub(b_start);
            let (first, later) = if a.index < b.index { (a, b) } else { (b, a) };
            mem_pairs.insert((a.index.min(b.index), a.index.max(b.index)));
            out.push(Finding {
                kind: FindingKind::SharedPage,
                segment: Some(later.index),
                message: format!(
                    "segments {} ({}) and {} ({}) share {} of address space at 0x{b_start:x}: the loader maps segment {} over it, so those bytes of segment {} get {}",
                    first.index,
                    perms(first.flags),
                    later.index,
                    perms(later.flags),
                    pages_text(n, page),
                    later.index,
                    first.index,
                    perms(later.flags)
                ),
                bytes: Some(n),
            });
        }
    }
    let mut by_off: Vec<&Phdr> = loads.iter().copied().filter(|p| p.filesz > 0).collect();
    by_off.sort_by_key(|p| (p.offset, p.index));
    for w in by_off.windows(2) {
        let (a, b) = (w[0], w[1]);
        let pair = (a.index.min(b.index), a.index.max(b.index));
        if mem_pairs.contains(&pair) {
            continue;
        }
        let (Some((_, a_end)), Some((b_start, b_end))) = (
            page_span(page, a.offset, a.filesz),
            page_span(page, b.offset, b.filesz),
        ) else {
            continue;
        };
        if b_start < a_end {
            let n = a_end.min(b_end).saturating_sub(b_start);
            out.push(Finding {
                kind: FindingKind::SharedPage,
                segment: Some(pair.1),
                message: format!(
                    "segments {} and {} share {} of the file at offset 0x{b_start:x}: mapped once for each",
                    pair.0,
                    pair.1,
                    pages_text(n, page)
                ),
                bytes: Some(n),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::elf::PT_LOAD;
    use crate::views::layout::tests::{info, phdr};

    /// Segments at the top of the address space: their ends overflow, and no check
    /// panics or reports them.
    #[test]
    fn ends_that_overflow_are_not_compared() {
        let phdrs = vec![
            phdr(0, PT_LOAD, 5, 0, u64::MAX - 0x1000, 0x100, 0x2000),
            phdr(1, PT_LOAD, 6, u64::MAX - 10, u64::MAX - 0x800, 0x100, 0x100),
        ];
        let info = info(3, phdrs);
        let findings = audit(&Facts {
            info: &info,
            shdrs: &[],
            dynamic: None,
            full: None,
            page: PageSize::KIB4,
        });
        assert!(
            findings.iter().all(|f| f.kind != FindingKind::SharedPage),
            "{findings:?}"
        );
    }
}

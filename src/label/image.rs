//! Phase 2: the image of an object loaded at a bias, from its program headers alone.
//!
//! Text (PF_X), rodata (neither W nor X), data (file pages of a PF_W segment), bss
//! (pages past `pageup(vaddr + filesz)`), relro (PT_GNU_RELRO, end rounded down as the
//! loader does), gap (inside the span, in no PT_LOAD). A later PT_LOAD wins a page that
//! two share, as the loader's later `mmap(MAP_FIXED)` does.

use crate::input::elf::ElfInfo;
use crate::vocab::{Kind, PageSize};

use super::Label;

/// Computes the image of an ELF file loaded at `bias`: labels in address order,
/// without overlap, covering the span from the first PT_LOAD's page to the end of the
/// last one (see the module docs). Returns `None` when the addresses overflow.
pub fn image(info: &ElfInfo, bias: u64, page: PageSize) -> Option<Vec<Label>> {
    let mut painted: Vec<Label> = Vec::new();
    let relro: Vec<(u64, u64)> = info
        .phdrs
        .iter()
        .filter(|p| p.is_relro() && p.memsz > 0)
        .filter_map(|p| {
            let s = bias.checked_add(p.vaddr)?;
            let e = s.checked_add(p.memsz)?;
            Some((page.down(s), page.down(e)))
        })
        .collect();
    for p in info.loads() {
        let vstart = bias.checked_add(p.vaddr)?;
        let seg_start = page.down(vstart);
        let file_end = page.up(vstart.checked_add(p.filesz)?)?;
        let mem_end = page.up(vstart.checked_add(p.memsz)?)?;
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

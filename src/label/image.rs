//! Phase 2: the image of an object loaded at a bias, from its program headers alone.
//!
//! Text (PF_X), rodata (neither W nor X), data (file pages of a PF_W segment), bss
//! (pages past `pageup(vaddr + filesz)`), relro (PT_GNU_RELRO, end rounded down as the
//! loader does), gap (inside the span, in no PT_LOAD). A later PT_LOAD wins a page that
//! two share, as the loader's later `mmap(MAP_FIXED)` does.

use std::collections::BinaryHeap;

use crate::input::elf::ElfInfo;
use crate::vocab::{Kind, PageSize};

use super::Label;

/// Computes the image of an ELF file loaded at `bias`: labels in address order,
/// without overlap, covering the span from the first PT_LOAD's page to the end of the
/// last one (see the module docs). Returns `None` when the addresses overflow.
///
/// O(n log n) in the number of program headers: the pages of each PT_LOAD are laid
/// down once, a sweep over their ends finds the last PT_LOAD that covers each stretch
/// of addresses, and RELRO is applied to writable winners in one merge walk.
pub fn image(info: &ElfInfo, bias: u64, page: PageSize) -> Option<Vec<Label>> {
    image_with(info, bias, page, &mut Scratch::default())
}

/// Buffers of [`image_with`], to reuse from one image to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    pieces: Vec<Piece>,
    relro: Vec<(u64, u64)>,
}

/// [`image`], in the buffers of `scratch`: only the image itself is allocated.
pub(crate) fn image_with(
    info: &ElfInfo,
    bias: u64,
    page: PageSize,
    scratch: &mut Scratch,
) -> Option<Vec<Label>> {
    pieces(info, bias, page, &mut scratch.pieces)?;
    relro_ranges(info, bias, page, &mut scratch.relro);
    let (pieces, relro) = (&scratch.pieces, &scratch.relro);
    let mut out = Layout(Vec::with_capacity(2 * pieces.len() + 2));
    if pieces
        .windows(2)
        .all(|w| w[0].label.end <= w[1].label.start)
    {
        // The usual file: PT_LOADs in address order that share no page. Each piece
        // wins all of its pages (what the sweep finds, without its buffers).
        let won = (pieces.iter().enumerate()).map(|(i, p)| (p.label.start, p.label.end, i));
        apply_relro(won, pieces, relro, &mut out);
    } else {
        apply_relro(last_wins(pieces), pieces, relro, &mut out);
    }
    Some(out.0)
}

/// The labels of an image as they are laid down in address order: neighbours with
/// the same kind and segment merged, so regions stay whole, and the holes between
/// labels filled with gaps.
struct Layout(Vec<Label>);

impl Layout {
    fn push(&mut self, l: Label) {
        if l.start >= l.end {
            return;
        }
        match self.0.last_mut() {
            Some(m) if m.end == l.start && m.kind == l.kind && m.segment == l.segment => {
                m.end = l.end;
                return;
            }
            Some(m) if m.end < l.start => {
                let start = m.end;
                self.0.push(Label {
                    start,
                    end: l.start,
                    kind: Kind::Gap,
                    segment: None,
                });
            }
            _ => {}
        }
        self.0.push(l);
    }
}

/// The pages of one PT_LOAD with one kind, in the order the loader maps them.
#[derive(Debug, Clone, Copy)]
struct Piece {
    label: Label,
    /// Position of the PT_LOAD among the loads: a later one wins a shared page.
    order: usize,
    /// For a writable PT_LOAD, where its RELRO pages may lie: up to
    /// `pageup(vaddr + memsz)` (none for other segments).
    relro_end: Option<u64>,
}

/// Every PT_LOAD's pages: text or rodata over `[pagedown(vaddr), pageup(vaddr +
/// memsz))`; data over the file pages and bss past them for a writable one. Written
/// to `out`; `None` when the addresses overflow.
fn pieces(info: &ElfInfo, bias: u64, page: PageSize, out: &mut Vec<Piece>) -> Option<()> {
    out.clear();
    for (order, p) in info.loads().enumerate() {
        let vstart = bias.checked_add(p.vaddr)?;
        let seg_start = page.down(vstart);
        let file_end = page.up(vstart.checked_add(p.filesz)?)?;
        let mem_end = page.up(vstart.checked_add(p.memsz)?)?;
        let segment = Some(p.index);
        let mut piece = |start: u64, end: u64, kind: Kind, relro_end: Option<u64>| {
            if start < end {
                out.push(Piece {
                    label: Label {
                        start,
                        end,
                        kind,
                        segment,
                    },
                    order,
                    relro_end,
                });
            }
        };
        if p.writable() {
            piece(seg_start, file_end, Kind::Data, Some(mem_end));
            piece(file_end, mem_end, Kind::Bss, Some(mem_end));
        } else if p.executable() {
            piece(seg_start, mem_end, Kind::Text, None);
        } else {
            piece(seg_start, mem_end, Kind::Rodata, None);
        }
    }
    Some(())
}

/// For each stretch of addresses that some piece covers, the piece of the last
/// PT_LOAD that covers it: `(start, end, index into pieces)`, sorted, disjoint. (The
/// pieces of one PT_LOAD do not overlap, so the order of loads decides.)
fn last_wins(pieces: &[Piece]) -> Vec<(u64, u64, usize)> {
    let mut bounds: Vec<u64> = pieces
        .iter()
        .flat_map(|p| [p.label.start, p.label.end])
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    let mut by_start: Vec<usize> = (0..pieces.len()).collect();
    by_start.sort_by_key(|&i| pieces[i].label.start);
    // The pieces that started, latest PT_LOAD on top; ended ones leave lazily.
    let mut active: BinaryHeap<(usize, usize)> = BinaryHeap::new();
    let mut next = 0;
    let mut out: Vec<(u64, u64, usize)> = Vec::new();
    for w in bounds.windows(2) {
        let (at, to) = (w[0], w[1]);
        while let Some(&i) = by_start.get(next)
            && pieces[i].label.start <= at
        {
            active.push((pieces[i].order, i));
            next += 1;
        }
        while let Some(&(_, i)) = active.peek()
            && pieces[i].label.end <= at
        {
            active.pop();
        }
        // Every start and end is a bound, so the top covers all of [at, to).
        if let Some(&(_, i)) = active.peek() {
            match out.last_mut() {
                Some(last) if last.1 == at && last.2 == i => last.1 = to,
                _ => out.push((at, to, i)),
            }
        }
    }
    out
}

/// The union of the PT_GNU_RELRO ranges as the loader rounds them,
/// `[pagedown(start), pagedown(start + memsz))`, sorted and disjoint, written to
/// `ranges`.
fn relro_ranges(info: &ElfInfo, bias: u64, page: PageSize, ranges: &mut Vec<(u64, u64)>) {
    ranges.clear();
    ranges.extend(
        info.phdrs
            .iter()
            .filter(|p| p.is_relro() && p.memsz > 0)
            .filter_map(|p| {
                let s = bias.checked_add(p.vaddr)?;
                let e = s.checked_add(p.memsz)?;
                Some((page.down(s), page.down(e)))
            })
            .filter(|(s, e)| s < e),
    );
    ranges.sort_unstable();
    // The union, in place.
    let mut n = 0;
    for k in 0..ranges.len() {
        let (s, e) = ranges[k];
        if n > 0 && s <= ranges[n - 1].1 {
            ranges[n - 1].1 = ranges[n - 1].1.max(e);
        } else {
            ranges[n] = (s, e);
            n += 1;
        }
    }
    ranges.truncate(n);
}

/// The winners' labels, with the pages of a writable PT_LOAD that lie in RELRO (and
/// below its `pageup(vaddr + memsz)`) made `relro`, in address order.
fn apply_relro(
    won: impl IntoIterator<Item = (u64, u64, usize)>,
    pieces: &[Piece],
    relro: &[(u64, u64)],
    out: &mut Layout,
) {
    let mut r = 0;
    for (start, end, i) in won {
        let label = Label {
            start,
            end,
            ..pieces[i].label
        };
        let Some(relro_end) = pieces[i].relro_end else {
            out.push(label);
            continue;
        };
        // Ranges that end at or before this stretch matter to no later one either.
        while relro.get(r).is_some_and(|&(_, e)| e <= start) {
            r += 1;
        }
        let limit = end.min(relro_end);
        let mut at = start;
        for &(rs, re) in relro[r..].iter().take_while(|&&(rs, _)| rs < limit) {
            let (s, e) = (rs.max(at), re.min(limit));
            if s >= e {
                continue;
            }
            out.push(Label {
                start: at,
                end: s,
                ..label
            });
            out.push(Label {
                start: s,
                end: e,
                kind: Kind::Relro,
                ..label
            });
            at = e;
        }
        out.push(Label { start: at, ..label });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::elf::Phdr;

    /// Merges neighbours with the same kind and segment (what [`Layout`] does as it goes).
    fn merge(labels: Vec<Label>) -> Vec<Label> {
        let mut merged: Vec<Label> = Vec::with_capacity(labels.len());
        for x in labels {
            match merged.last_mut() {
                Some(m) if m.end == x.start && m.kind == x.kind && m.segment == x.segment => {
                    m.end = x.end
                }
                _ => merged.push(x),
            }
        }
        merged
    }

    /// Fills the holes between labels with gaps (what [`Layout`] does as it goes).
    fn with_gaps(labels: Vec<Label>) -> Vec<Label> {
        let mut out = Vec::with_capacity(labels.len() * 2);
        for l in labels {
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
        out
    }

    /// The image as the loader builds it, one PT_LOAD after another (quadratic): the
    /// reference that [`image`] must equal.
    fn image_by_painting(info: &ElfInfo, bias: u64, page: PageSize) -> Option<Vec<Label>> {
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
            let segment = Some(p.index);
            let mut put = |start, end, kind| {
                paint(
                    &mut painted,
                    Label {
                        start,
                        end,
                        kind,
                        segment,
                    },
                )
            };
            if p.writable() {
                put(seg_start, file_end, Kind::Data);
                put(file_end, mem_end, Kind::Bss);
                for &(rs, re) in &relro {
                    put(rs.max(seg_start), re.min(mem_end), Kind::Relro);
                }
            } else if p.executable() {
                put(seg_start, mem_end, Kind::Text);
            } else {
                put(seg_start, mem_end, Kind::Rodata);
            }
        }
        Some(with_gaps(painted))
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
        *labels = merge(out);
    }

    /// xorshift64: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn same_as_painting_one_load_after_another() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let page = PageSize::KIB4;
        for case in 0..20_000 {
            let n = 1 + rng.below(8) as usize;
            let phdrs: Vec<Phdr> = (0..n)
                .map(|index| {
                    // Small unaligned addresses over a few pages, so that segments
                    // overlap, share pages, leave holes and have RELRO across them.
                    let vaddr = rng.below(0x8000);
                    let filesz = rng.below(0x3000);
                    let memsz = if rng.below(4) == 0 {
                        rng.below(0x3000)
                    } else {
                        filesz + rng.below(0x3000)
                    };
                    Phdr {
                        index,
                        p_type: if rng.below(5) == 0 { 0x6474e552 } else { 1 },
                        flags: 4 | rng.below(4) as u32,
                        offset: vaddr % 0x1000 + rng.below(4) * 0x1000,
                        vaddr,
                        paddr: vaddr,
                        filesz,
                        memsz,
                        align: 0x1000,
                    }
                })
                .collect();
            let info = ElfInfo {
                class: 64,
                little_endian: true,
                e_type: 3,
                machine: 62,
                phdrs,
                build_id: None,
                interp: None,
            };
            let bias = rng.below(4) * 0x1000;
            assert_eq!(
                image(&info, bias, page),
                image_by_painting(&info, bias, page),
                "case {case}: {:#x?}",
                info.phdrs
            );
        }
    }

    #[test]
    fn overflow_is_none() {
        let p = Phdr {
            index: 0,
            p_type: 1,
            flags: 5,
            offset: 0,
            vaddr: u64::MAX - 0x10,
            paddr: 0,
            filesz: 0x100,
            memsz: 0x100,
            align: 0x1000,
        };
        let info = ElfInfo {
            class: 64,
            little_endian: true,
            e_type: 3,
            machine: 62,
            phdrs: vec![p],
            build_id: None,
            interp: None,
        };
        assert_eq!(image(&info, 0, PageSize::KIB4), None);
    }
}

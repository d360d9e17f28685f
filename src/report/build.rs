//! The report's builder: regions from the attribution, their figures, the objects.
//!
//! A region that is a whole maps line keeps smaps' figures exactly; a part of a split
//! line gets rss and swap counted from its line's [`Residency`] (exact), pss prorated
//! by that rss (the parts add up to the line's pss). Residency cannot tell clean from
//! dirty, so a part's clean/dirty breakdown is given only where the line's own figures
//! force it: a category that is 0 on the line is 0 in every part, and a category that
//! holds all of the line's rss (an anonymous line is usually all `private_dirty`)
//! holds all of each part's rss. Otherwise it is null. The same goes for `anonymous`
//! (against rss), `locked` (against pss) and `swap_pss` (against swap); a line with no
//! rss (or no swap) gives 0 to every part even without residency.
//!
//! Where the residency holds each page's map count (live, with CAP_SYS_ADMIN:
//! `/proc/kpagecount`), a part's pss is exact instead: the sum over its present pages
//! of the page size divided by the page's map count, as the kernel sums smaps' Pss.
//! The report then says `split_pss: exact`. The map counts also give a part's
//! private bytes (its pages mapped once, as smaps counts `Private_*`; without the
//! privilege, live, pagemap's exclusive bit says which pages those are): when they add
//! up to the line's private figures and the line's private memory is all dirty (or
//! all clean), each part's is too, so its USS is known (and its shared bytes, the
//! rest of its rss, likewise).
//!
//! Addresses come from hostile input (a saved maps file): every computation on them is
//! checked.

use std::sync::Arc;

use super::{Figures, Object, Region, Warning};
use crate::input::maps::{Mapping, dev_string};
use crate::label::Attribution;
use crate::vocab::figures::sum;
use crate::vocab::names::lossy;
use crate::vocab::{Code, ElfType, Endian, Kind, PageSize, Residency, Via};

/// The figures smaps gives for one whole maps line.
fn figures_of(m: &Mapping) -> Figures {
    use crate::input::maps::known_key as k;
    let f = &m.fields;
    Figures {
        size: m.size(),
        rss: f.kb(const { k("Rss") }),
        pss: f.kb(const { k("Pss") }),
        shared_clean: f.kb(const { k("Shared_Clean") }),
        shared_dirty: f.kb(const { k("Shared_Dirty") }),
        private_clean: f.kb(const { k("Private_Clean") }),
        private_dirty: f.kb(const { k("Private_Dirty") }),
        anonymous: f.kb(const { k("Anonymous") }),
        swap: f.kb(const { k("Swap") }),
        swap_pss: f.kb(const { k("SwapPss") }),
        locked: f.kb(const { k("Locked") }),
        hugetlb: f
            .kb(const { k("Shared_Hugetlb") })
            .zip(f.kb(const { k("Private_Hugetlb") }))
            .and_then(|(a, b)| a.checked_add(b)),
    }
}

/// Extra facts about each object for the report, in instance order.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ObjectExtras {
    /// How the file was opened (`map_files`, `root`, `sysroot`), when it was.
    pub opened: Option<Via>,
}

/// What [`build`] assembles: the report's regions, objects and totals, and the
/// warnings about them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Built {
    /// Every region, in address order.
    pub regions: Vec<Region>,
    /// Every object (instance), in instance order.
    pub objects: Vec<Object>,
    /// The figures of the whole process: the sums of the regions' figures, and where
    /// a part of a split line does not know a figure, the lines' own (see [`build`]).
    pub totals: Figures,
    /// What could not be computed (a file offset that overflows).
    pub warnings: Vec<Warning>,
    /// Whether the pss of split lines' parts is exact (every split line's residency
    /// had map counts); `None` when no line was split.
    pub split_pss_exact: Option<bool>,
}

/// Assembles the report. `residency(i)` gives which pages of maps line `i` are
/// present and swapped when it was split (`None` when that could not be read).
pub fn build(
    mappings: &[Mapping],
    attribution: &Attribution,
    page_size: PageSize,
    residency: &dyn Fn(usize) -> Option<Residency>,
    extras: &[ObjectExtras],
) -> Built {
    let mut warnings = Vec::new();
    let mut regions = Vec::with_capacity(attribution.regions.len());
    // The process's totals are the sums of the regions' figures. The parts of a split
    // line add up to the line (prorated figures by construction; exact pss to the
    // kernel's rounding of the line's Pss down to a kB, which the regions' sum does
    // not have), so these differ from the lines' sums only where a part does not know
    // a figure: then the lines' own figure, known for the whole line, is the total.
    // (The regions cover every maps line.)
    let mut totals = Figures::zero();
    let mut lines = Figures::zero();
    let mut split_pss_exact = None;
    // Each object's name, made once (not once per region).
    let mut names: Vec<(String, Option<Vec<u8>>)> = attribution
        .instances
        .iter()
        .map(|i| lossy(&i.key.name))
        .collect();
    // The regions' strings are shared (`Arc<str>`): one per object, per permission,
    // per run of lines of one device or one name.
    let objects_names: Vec<Arc<str>> = names.iter().map(|(s, _)| Arc::from(s.as_str())).collect();
    let mut perms_seen: [Option<Arc<str>>; 16] = Default::default();
    // The previous line's name and its string: an object's lines follow each other.
    let mut last_name: Option<(&[u8], Arc<str>)> = None;
    // The device of the previous line as a string: most lines have the one before
    // theirs (anonymous memory, 00:00).
    let mut last_dev: Option<(u32, u32, Arc<str>)> = None;
    // All the regions cut from one maps line at a time.
    for parts in attribution.regions.chunk_by(|a, b| a.mapping == b.mapping) {
        let mi = parts[0].mapping;
        let m = &mappings[mi];
        let whole = figures_of(m);
        lines.add(&whole);
        // A line that is one region (most) keeps its own figures: no Vec for it.
        let split = (parts.len() > 1).then(|| {
            let res = residency(mi);
            let exact = res.as_ref().is_some_and(Residency::has_mapcounts);
            split_pss_exact = Some(split_pss_exact.unwrap_or(true) && exact);
            // Each part's unique bytes from the map counts, where its clean/dirty
            // breakdown is not forced by the line.
            let private: Vec<Option<u64>> = parts
                .iter()
                .map(|r| {
                    res.as_ref()
                        .and_then(|res| res.private_bytes(r.start, r.end))
                })
                .collect();
            let figures = split_figures(parts, page_size, res, &whole);
            let private = figures
                .iter()
                .zip(private)
                .map(|(f, exact)| sum(f.private_clean, f.private_dirty).or(exact))
                .collect::<Vec<_>>();
            (figures, private)
        });
        // The line's strings, made once (or taken from the line before).
        let perms = match perms_index(m.perms) {
            Some(i) => perms_seen[i]
                .get_or_insert_with(|| Arc::from(PERMS[i]))
                .clone(),
            None => Arc::from(crate::vocab::escape::text(&m.perms).as_ref()),
        };
        let dev = match &last_dev {
            Some((major, minor, s)) if (*major, *minor) == (m.dev_major, m.dev_minor) => s.clone(),
            _ => {
                let s: Arc<str> = Arc::from(dev_string(m.dev_major, m.dev_minor));
                last_dev = Some((m.dev_major, m.dev_minor, s.clone()));
                s
            }
        };
        let (path, path_bytes) = match &last_name {
            _ if m.name.is_empty() => (None, None),
            Some((name, s)) if *name == m.name.as_slice() => (Some(s.clone()), None),
            _ => {
                let (s, b) = lossy(&m.name);
                let s: Arc<str> = Arc::from(s);
                // Only valid UTF-8 is remembered: `path_bytes` is none for it.
                last_name = b.is_none().then(|| (m.name.as_slice(), s.clone()));
                (Some(s), b)
            }
        };
        for (k, r) in parts.iter().enumerate() {
            let (fig, private) = match &split {
                Some((figures, private)) => (figures[k].clone(), private[k]),
                None => (whole.clone(), sum(whole.private_clean, whole.private_dirty)),
            };
            let (perms, dev, path, path_bytes) =
                (perms.clone(), dev.clone(), path.clone(), path_bytes.clone());
            // An ELF file mapped as data is named, though no instance holds it.
            let object = match r.instance {
                Some(k) => objects_names.get(k).cloned(),
                None if r.kind == Kind::MappedFile => path.clone(),
                None => None,
            };
            regions.push(Region {
                start: r.start,
                end: r.end,
                perms,
                offset: offset_of(m, r.start, &mut warnings),
                dev,
                inode: m.inode,
                path,
                path_bytes,
                object,
                instance: r.instance,
                kind: r.kind,
                segment: r.segment,
                split: r.split,
                line: m.line,
                figures: {
                    totals.add(&fig);
                    fig
                },
                remapped: r.remapped,
                verified: None,
                private,
            });
        }
    }
    let mut objects = objects(attribution, extras, &regions, &mut names);
    huge_text(mappings, attribution, &mut objects);
    let totals = known_or_lines(totals, &lines);
    Built {
        regions,
        objects,
        totals,
        warnings,
        split_pss_exact,
    }
}

/// The totals of the regions, each figure they do not know (a split part's) taken
/// from the totals of the lines, which smaps gives for the whole line.
fn known_or_lines(regions: Figures, lines: &Figures) -> Figures {
    Figures {
        size: regions.size,
        rss: regions.rss.or(lines.rss),
        pss: regions.pss.or(lines.pss),
        shared_clean: regions.shared_clean.or(lines.shared_clean),
        shared_dirty: regions.shared_dirty.or(lines.shared_dirty),
        private_clean: regions.private_clean.or(lines.private_clean),
        private_dirty: regions.private_dirty.or(lines.private_dirty),
        anonymous: regions.anonymous.or(lines.anonymous),
        swap: regions.swap.or(lines.swap),
        swap_pss: regions.swap_pss.or(lines.swap_pss),
        locked: regions.locked.or(lines.locked),
        hugetlb: regions.hugetlb.or(lines.hugetlb),
    }
}

/// Bytes in lowercase hex, as [`crate::input::elf::ElfInfo::build_id_hex`] writes a
/// build ID, in one allocation.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(2 * bytes.len());
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The sixteen permissions maps prints, by their bits: r, w, x, then s (or p).
const PERMS: [&str; 16] = [
    "---p", "---s", "--xp", "--xs", "-w-p", "-w-s", "-wxp", "-wxs", "r--p", "r--s", "r-xp", "r-xs",
    "rw-p", "rw-s", "rwxp", "rwxs",
];

/// The index in [`PERMS`] of permissions as maps prints them (`r-xp`); `None` for
/// anything a kernel does not print (a saved file can hold anything).
fn perms_index(perms: [u8; 4]) -> Option<usize> {
    let bit = |i: usize, on: u8, off: u8, v: usize| match perms[i] {
        c if c == on => Some(v),
        c if c == off => Some(0),
        _ => None,
    };
    match (
        bit(0, b'r', b'-', 8),
        bit(1, b'w', b'-', 4),
        bit(2, b'x', b'-', 2),
        bit(3, b's', b'p', 1),
    ) {
        (Some(r), Some(w), Some(x), Some(s)) => Some(r | w | x | s),
        _ => None,
    }
}

/// The objects of the report, in instance order, with the totals of their regions.
/// `names`: each instance's name ([`lossy`]), taken.
fn objects(
    attribution: &Attribution,
    extras: &[ObjectExtras],
    regions: &[Region],
    names: &mut [(String, Option<Vec<u8>>)],
) -> Vec<Object> {
    let mut objects: Vec<Object> = attribution
        .instances
        .iter()
        .zip(names)
        .enumerate()
        .map(|(index, (inst, (path, path_bytes)))| Object {
            index,
            path: std::mem::take(path),
            path_bytes: path_bytes.take(),
            build_id: inst.info.build_id.as_deref().map(hex),
            bias: inst.bias,
            e_type: ElfType::from_e_type(inst.info.e_type),
            machine: inst.info.machine_name(),
            class: inst.info.class,
            endian: Endian::from_little(inst.info.little_endian),
            dev: dev_string(inst.key.dev_major, inst.key.dev_minor),
            inode: inst.key.inode,
            span_start: inst.span_start,
            span_end: inst.span_end,
            opened: extras.get(index).and_then(|e| e.opened),
            problem: inst.problem.as_ref().map(|p| p.message.clone()),
            totals: Figures::zero(),
            huge_text: Some(0),
        })
        .collect();
    for r in regions {
        if let Some(k) = r.instance {
            objects[k].totals.add(&r.figures);
        }
    }
    objects
}

/// Each object's [`Object::huge_text`]: the huge page figures of the lines of its
/// text parts. A part that is a whole line has its line's figures; a part of a split
/// line has 0 when the line has none, and is unknown otherwise (smaps does not say
/// where in the line the huge pages are).
fn huge_text(mappings: &[Mapping], attribution: &Attribution, objects: &mut [Object]) {
    use crate::input::maps::known_key as k;
    for p in attribution
        .regions
        .iter()
        .filter(|p| p.kind == crate::vocab::Kind::Text)
    {
        let Some(o) = p.instance.and_then(|i| objects.get_mut(i)) else {
            continue;
        };
        let f = &mappings[p.mapping].fields;
        let terms = [
            f.kb(const { k("AnonHugePages") }),
            f.kb(const { k("FilePmdMapped") }),
            f.kb(const { k("Shared_Hugetlb") }),
            f.kb(const { k("Private_Hugetlb") }),
        ];
        // Lines of a saved smaps of an older kernel lack FilePmdMapped (4.8) or the
        // hugetlb keys (4.4): a missing key among present ones counts as 0.
        let line = if terms.iter().all(Option::is_none) {
            None
        } else {
            terms
                .iter()
                .try_fold(0u64, |a, t| a.checked_add(t.unwrap_or(0)))
        };
        let part = match line {
            Some(0) => Some(0),
            v if !p.split => v,
            _ => None,
        };
        o.huge_text = crate::vocab::figures::sum(o.huge_text, part);
    }
}

/// The file offset of address `start` of line `m`: 0 for anonymous memory (no inode
/// and no path); `None`, with a warning, when it does not fit in 64 bits (no kernel
/// writes such a line: mmap refuses an offset whose end overflows). A line with a
/// path keeps its offset even with inode 0 (which no kernel prints either).
fn offset_of(m: &Mapping, start: u64, warnings: &mut Vec<Warning>) -> Option<u64> {
    if m.inode == 0 && m.name.first() != Some(&b'/') {
        return Some(0);
    }
    let offset = start
        .checked_sub(m.start)
        .and_then(|d| m.offset.checked_add(d));
    if offset.is_none() {
        warnings.push(Warning {
            code: Code::AddressOverflow,
            object: (!m.name.is_empty()).then(|| lossy(&m.name).0),
            message: format!(
                "line {}: the file offset of {start:#x} (offset {:#x} of the line at {:#x}) does not fit in 64 bits; it is null",
                m.line, m.offset, m.start
            ),
        });
    }
    offset
}

/// Figures of the parts of one split maps line (see module docs); `residency` is that
/// of the whole line.
fn split_figures(
    parts: &[crate::label::Part],
    page: PageSize,
    residency: Option<Residency>,
    whole: &Figures,
) -> Vec<Figures> {
    let page = page.get();
    let counts: Option<Vec<(u64, u64)>> = residency.as_ref().map(|res| {
        parts
            .iter()
            .map(|r| {
                let c = res.count(r.start, r.end);
                (c.present, c.swapped)
            })
            .collect()
    });
    let total_present: u64 = counts.iter().flatten().map(|c| c.0).sum();
    let mut out: Vec<Figures> = parts
        .iter()
        .map(|r| Figures {
            size: r.end.saturating_sub(r.start),
            ..Figures::default()
        })
        .collect();
    // Each part's exact pss, where each page's map count is known.
    let exact: Option<Vec<u64>> = residency.as_ref().and_then(|res| {
        parts
            .iter()
            .map(|r| res.exact_pss(r.start, r.end))
            .collect()
    });
    if let Some(counts) = &counts {
        for (f, &(present, swapped)) in out.iter_mut().zip(counts) {
            f.rss = Some(present * page);
            f.swap = Some(swapped * page);
            f.pss = whole.pss.map(|pss| {
                if total_present == 0 {
                    0
                } else {
                    ((u128::from(pss) * u128::from(present)) / u128::from(total_present)) as u64
                }
            });
        }
        if let Some(exact) = &exact {
            for (f, &pss) in out.iter_mut().zip(exact) {
                f.pss = Some(pss);
            }
        }
        // Prorated: give the rounding remainder to the most resident part, so the
        // parts add up to the line's pss.
        if let Some(pss) = whole.pss
            && total_present > 0
            && exact.is_none()
        {
            let given: u64 = out.iter().filter_map(|f| f.pss).sum();
            let most = (0..counts.len()).max_by_key(|&k| counts[k].0).unwrap_or(0);
            if let Some(p) = out[most].pss.as_mut() {
                *p += pss.saturating_sub(given);
            }
        }
    }
    for f in &mut out {
        // A line with nothing resident (or swapped) has nothing in any part.
        if whole.rss == Some(0) {
            f.rss = Some(0);
        }
        if whole.pss == Some(0) {
            f.pss = Some(0);
        }
        if whole.swap == Some(0) {
            f.swap = Some(0);
        }
        let (rss, pss, swap) = (f.rss, f.pss, f.swap);
        f.shared_clean = forced(whole.shared_clean, whole.rss, rss);
        f.shared_dirty = forced(whole.shared_dirty, whole.rss, rss);
        f.private_clean = forced(whole.private_clean, whole.rss, rss);
        f.private_dirty = forced(whole.private_dirty, whole.rss, rss);
        f.anonymous = forced(whole.anonymous, whole.rss, rss);
        f.locked = forced(whole.locked, whole.pss, pss);
        f.swap_pss = forced(whole.swap_pss, whole.swap, swap);
        f.hugetlb = forced(whole.hugetlb, None, None);
    }
    // Where each page's map count is known, a part's private bytes are its pages
    // mapped once (as smaps counts them): when the line's private memory is all dirty
    // (or all clean), so is the part's, and its USS is known (issue 20: `system --by
    // kind` showed USS `-` for anon, relro, data and bss).
    // The map counts must agree with the line: the parts' private bytes add up to
    // its Private_Clean + Private_Dirty (a page that changed between the two reads
    // leaves the breakdown unknown: never a figure smaps contradicts).
    let privates: Option<Vec<u64>> = residency.as_ref().and_then(|res| {
        parts
            .iter()
            .map(|r| res.private_bytes(r.start, r.end))
            .collect()
    });
    let agrees = privates.as_ref().is_some_and(|p| {
        let line = crate::vocab::figures::sum(whole.private_clean, whole.private_dirty);
        line == p.iter().try_fold(0u64, |a, &b| a.checked_add(b))
    });
    if let (Some(privates), true) = (privates, agrees) {
        for (f, private) in out.iter_mut().zip(privates) {
            let shared = f.rss.and_then(|rss| rss.checked_sub(private));
            match (whole.private_clean, whole.private_dirty) {
                (Some(0), Some(_)) => {
                    f.private_clean = Some(0);
                    f.private_dirty = Some(private);
                }
                (Some(_), Some(0)) => {
                    f.private_dirty = Some(0);
                    f.private_clean = Some(private);
                }
                _ => {}
            }
            match (whole.shared_clean, whole.shared_dirty, shared) {
                (Some(0), Some(_), Some(s)) => {
                    f.shared_clean = Some(0);
                    f.shared_dirty = Some(s);
                }
                (Some(_), Some(0), Some(s)) => {
                    f.shared_dirty = Some(0);
                    f.shared_clean = Some(s);
                }
                _ => {}
            }
        }
    }
    out
}

/// A part's share of a figure of its line that the line forces: none when the line
/// has none, all of the part's `total` when the line's figure is all of the line's
/// `total`; unknown otherwise.
fn forced(line: Option<u64>, line_total: Option<u64>, part_total: Option<u64>) -> Option<u64> {
    match (line, line_total) {
        (Some(0), _) => Some(0),
        (Some(v), Some(t)) if v == t => part_total,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Part;
    use crate::vocab::Kind;

    fn part(start: u64, end: u64) -> Part {
        Part {
            start,
            end,
            mapping: 0,
            kind: Kind::Anon,
            instance: None,
            segment: None,
            split: true,
            remapped: None,
        }
    }

    fn line(fields: &str) -> Mapping {
        let text = format!("1000-5000 rw-p 00000000 00:00 0 \n{fields}");
        crate::input::maps::parse(text.as_bytes())
            .unwrap()
            .remove(0)
    }

    const P: u64 = 4096;
    const PRESENT: bool = true;

    #[test]
    fn strings_by_hand_are_what_format_and_lossy_give() {
        for p in [
            *b"r-xp",
            *b"---s",
            *b"rwxs",
            *b"-w-p",
            *b"r-x?",
            [0xff, b'w', b'x', b'p'],
        ] {
            let i = perms_index(p);
            assert!(i.is_none() || p.is_ascii(), "{p:?}");
            if let Some(i) = i {
                assert_eq!(PERMS[i].as_bytes(), p);
            }
        }
        for r in [b'r', b'-'] {
            for w in [b'w', b'-'] {
                for x in [b'x', b'-'] {
                    for s in [b's', b'p'] {
                        let p = [r, w, x, s];
                        assert_eq!(perms_index(p).map(|i| PERMS[i].as_bytes()), Some(&p[..]));
                    }
                }
            }
        }
        let id = [0x01, 0xab, 0xff, 0x00, 0x7e];
        let info = crate::input::elf::ElfInfo {
            class: 64,
            little_endian: true,
            e_type: 3,
            machine: 62,
            phdrs: vec![],
            build_id: Some(id.to_vec()),
            interp: None,
        };
        assert_eq!(Some(hex(&id)), info.build_id_hex());
    }

    /// Figures of `m` (0x1000-0x5000) cut into 0x1000-0x2000 and 0x2000-0x5000;
    /// `present[i]`: page i is in memory.
    fn split_in_two(m: &Mapping, present: Option<Vec<bool>>) -> Vec<Figures> {
        let whole = figures_of(m);
        let parts = [part(0x1000, 0x2000), part(0x2000, 0x5000)];
        let page = PageSize::new(P).unwrap();
        let res = present.map(|present| {
            let mut r = Residency::new(0x1000, 0x5000, page);
            for (i, p) in (0u64..).zip(present) {
                if p {
                    r.mark_present(i..i + 1);
                }
            }
            r
        });
        split_figures(&parts, page, res, &whole)
    }

    #[test]
    fn split_parts_get_the_breakdown_the_line_forces() {
        // All of the line's rss is private dirty: so is each part's.
        let m = line(
            "Rss: 12 kB\nPss: 12 kB\nShared_Clean: 0 kB\nShared_Dirty: 0 kB\n\
             Private_Clean: 0 kB\nPrivate_Dirty: 12 kB\nAnonymous: 12 kB\nSwap: 0 kB\n\
             SwapPss: 0 kB\nLocked: 0 kB\n",
        );
        let f = split_in_two(&m, Some(vec![PRESENT, false, PRESENT, PRESENT]));
        assert_eq!(f[0].rss, Some(P));
        assert_eq!(f[0].private_dirty, Some(P));
        assert_eq!(f[1].private_dirty, Some(2 * P));
        assert_eq!(f[1].anonymous, Some(2 * P));
        assert_eq!((f[0].shared_clean, f[1].private_clean), (Some(0), Some(0)));
        assert_eq!((f[0].pss, f[1].pss), (Some(P), Some(2 * P)));
        assert_eq!((f[0].swap_pss, f[1].locked), (Some(0), Some(0)));
    }

    #[test]
    fn mixed_lines_leave_the_breakdown_unknown() {
        let m = line(
            "Rss: 12 kB\nPss: 8 kB\nShared_Clean: 4 kB\nShared_Dirty: 0 kB\n\
             Private_Clean: 0 kB\nPrivate_Dirty: 8 kB\n",
        );
        let f = split_in_two(&m, Some(vec![PRESENT, PRESENT, PRESENT, false]));
        assert_eq!((f[0].shared_clean, f[0].private_dirty), (None, None));
        assert_eq!((f[1].shared_dirty, f[1].private_clean), (Some(0), Some(0)));
        assert_eq!(f[0].pss.unwrap() + f[1].pss.unwrap(), 8 * 1024);
    }

    /// Issue 20: the mixed line above, with each page's map count known (the third
    /// page mapped twice: the shared clean one): each part's private pages are those
    /// mapped once, all dirty as the line's are, and its USS is known.
    #[test]
    fn map_counts_give_a_mixed_lines_parts_their_uss() {
        let m = line(
            "Rss: 12 kB\nPss: 8 kB\nShared_Clean: 4 kB\nShared_Dirty: 0 kB\n\
             Private_Clean: 0 kB\nPrivate_Dirty: 8 kB\n",
        );
        let whole = figures_of(&m);
        let parts = [part(0x1000, 0x2000), part(0x2000, 0x5000)];
        let page = PageSize::new(P).unwrap();
        let mut r = Residency::new(0x1000, 0x5000, page);
        r.mark_present(0..3);
        r.know_mapcounts();
        r.set_mapcount(2..3, 2);
        let f = split_figures(&parts, page, Some(r), &whole);
        assert_eq!((f[0].private_clean, f[0].private_dirty), (Some(0), Some(P)));
        assert_eq!((f[1].private_clean, f[1].private_dirty), (Some(0), Some(P)));
        assert_eq!((f[0].shared_clean, f[1].shared_clean), (Some(0), Some(P)));
        assert_eq!(f[1].shared_dirty, Some(0));
        // The parts add up to the line, as smaps gives it.
        assert_eq!(
            f[0].private_dirty.unwrap() + f[1].private_dirty.unwrap(),
            whole.private_dirty.unwrap()
        );
    }

    #[test]
    fn without_pagemap_only_empty_lines_are_known() {
        let m = line("Rss: 0 kB\nPss: 0 kB\nPrivate_Dirty: 0 kB\nSwap: 0 kB\n");
        let f = split_in_two(&m, None);
        assert_eq!((f[1].rss, f[1].pss, f[1].swap), (Some(0), Some(0), Some(0)));
        assert_eq!(f[1].private_dirty, Some(0));
        let m = line("Rss: 4 kB\nPss: 4 kB\nPrivate_Dirty: 4 kB\nSwap: 0 kB\n");
        let f = split_in_two(&m, None);
        assert_eq!((f[0].rss, f[0].pss, f[0].private_dirty), (None, None, None));
        assert_eq!(f[0].swap, Some(0));
    }

    /// Issue 18 §3: `totals.pss` was the sum of the smaps lines, the regions' pss
    /// the sum of exact parts, a few hundred bytes apart per split line (the kernel
    /// rounds a line's Pss down to a kB). The totals are the regions' sums, and a
    /// figure no part knows (clean/dirty of a mixed line) is the line's.
    #[test]
    fn totals_are_the_sums_of_the_regions() {
        // Four present pages: three mapped three times, one once. The kernel's Pss
        // of the line: 3 * 4096/3 + 4096 = 8191 bytes, printed as 7 kB.
        let text = "1000-5000 rw-p 00000000 00:00 0 \nRss: 16 kB\nPss: 7 kB\n\
                    Shared_Clean: 4 kB\nShared_Dirty: 0 kB\nPrivate_Clean: 0 kB\n\
                    Private_Dirty: 12 kB\nSwap: 0 kB\n";
        let mappings = crate::input::maps::parse(text.as_bytes()).unwrap();
        let attribution = Attribution {
            regions: vec![part(0x1000, 0x2000), part(0x2000, 0x5000)],
            ..Attribution::default()
        };
        let page = PageSize::new(P).unwrap();
        let mut res = Residency::new(0x1000, 0x5000, page);
        res.mark_present(0..4);
        res.know_mapcounts();
        res.set_mapcount(0..3, 3);
        res.set_mapcount(3..4, 1);
        let built = build(&mappings, &attribution, page, &|_| Some(res.clone()), &[]);
        assert_eq!(built.split_pss_exact, Some(true));
        let mut sum = Figures::zero();
        for r in &built.regions {
            sum.add(&r.figures);
        }
        // Each part summed with 12 bits of fraction: page 0, then pages 1 to 3.
        let third = (P << 12) / 3;
        assert_eq!(
            sum.pss,
            Some((third >> 12) + ((2 * third + (P << 12)) >> 12))
        );
        assert_eq!(built.totals.pss, sum.pss);
        assert_ne!(built.totals.pss, Some(7 * 1024));
        assert_eq!(built.totals.rss, Some(16 * 1024));
        // No part knows its share of the mixed clean/dirty figures: the line's.
        assert_eq!(sum.private_dirty, None);
        assert_eq!(built.totals.private_dirty, Some(12 * 1024));
        assert_eq!(built.totals.shared_dirty, Some(0));
    }

    /// Issue 9 §2: the offset of a part of a file-backed line whose offset plus the
    /// distance overflows panicked a debug build and was 0 in release.
    #[test]
    fn an_offset_that_overflows_is_null_with_a_warning() {
        let text = "1000-5000 r--p fffffffffffff000 08:01 7 /lib/x.so\n";
        let mappings = crate::input::maps::parse(text.as_bytes()).unwrap();
        let attribution = Attribution {
            regions: vec![part(0x1000, 0x2000), part(0x2000, 0x5000)],
            ..Attribution::default()
        };
        let built = build(&mappings, &attribution, PageSize::KIB4, &|_| None, &[]);
        assert_eq!(built.regions[0].offset, Some(0xffff_ffff_ffff_f000));
        assert_eq!(built.regions[1].offset, None);
        assert_eq!(built.warnings.len(), 1);
        assert_eq!(built.warnings[0].code, Code::AddressOverflow);
        assert_eq!(built.warnings[0].object.as_deref(), Some("/lib/x.so"));
        let json = serde_json::to_string(&built.regions[1]).unwrap();
        assert!(json.contains("\"offset\":null"), "{json}");
    }
}

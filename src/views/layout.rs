//! `elfmaps layout`: what an ELF file will look like in memory, from its headers alone.
//!
//! For each file: the program headers as `readelf -lW` prints them, the kind of each
//! PT_LOAD, readelf's section-to-segment mapping, the memory the file takes once
//! loaded per kind (from [`label::image`], the same rules `elfmaps map` labels a
//! process with) and audit findings (W+X, RELRO, executable stack, text relocations,
//! alignment, shared pages). docs/layout.md explains every figure and finding.
//!
//! Only headers are read, with bounded reads ([`elf::read`], [`elf::read_sections`],
//! [`elf::read_dynamic`]): a few `pread`s per file whatever its size. A file that is not
//! ELF or cannot be read is an error for that file only; a damaged section table or
//! dynamic section is a warning and the rest is still reported.

use std::io::{self, Write};
use std::path::Path;

use crate::render::paint;
use goblin::elf::program_header::{
    PT_DYNAMIC, PT_GNU_EH_FRAME, PT_GNU_RELRO, PT_GNU_STACK, PT_LOAD, PT_NOTE, PT_PHDR, PT_TLS,
};
use goblin::elf::section_header::{SHF_ALLOC, SHF_TLS, SHT_NOBITS};
use owo_colors::Style;
use serde::Serialize;

use crate::input::elf::{self, DynamicFlags, ElfError, ElfInfo, Phdr, ReadAt, SectionTable, Shdr};
use crate::label::{self, Kind};
use crate::render::human;
use crate::source::{Opened, Precheck, files};
use crate::vocab::escape::escape;
use crate::vocab::names::lossy;

/// Bumped on any incompatible change of the JSON below.
pub const SCHEMA_VERSION: u32 = 1;

/// Above this many PT_LOADs plus PT_GNU_RELROs, kinds and memory per kind are not
/// computed (their cost grows with the square of the count; real files have < 10).
const MAX_LOADS_FOR_MEMORY: usize = 1024;
/// Above this many (section, segment) pairs the mapping is not computed.
const MAX_MAPPING_PAIRS: u64 = 1 << 24;
/// At most this many findings of one kind are listed per file.
const MAX_FINDINGS_PER_KIND: usize = 64;

const PT_GNU_SFRAME: u32 = 0x6474_e554;
const PT_GNU_MBIND_LO: u32 = 0x6474_e555;
const PT_GNU_MBIND_HI: u32 = PT_GNU_MBIND_LO + 4095;

/// The whole output of one `elfmaps layout` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub page_size: u64,
    pub objects: Vec<Object>,
    /// Files that could not be read as ELF at all.
    pub errors: Vec<FileError>,
}

/// A file that is not reported.
#[derive(Debug, Clone, Serialize)]
pub struct FileError {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    pub message: String,
}

impl FileError {
    /// One line for stderr, the path escaped.
    pub fn line(&self) -> String {
        format!(
            "{}: {}",
            escape(self.path_bytes.as_deref().unwrap_or(self.path.as_bytes())),
            escape(self.message.as_bytes())
        )
    }
}

/// The layout of one ELF file.
#[derive(Debug, Clone, Serialize)]
pub struct Object {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    /// `EXEC`, `DYN`, `REL`, `CORE` or the number.
    #[serde(rename = "type")]
    pub e_type: String,
    pub machine: String,
    pub class: u8,
    pub endian: &'static str,
    pub segments: Vec<Segment>,
    /// Section headers 1.. (section 0 is not a section); empty when unreadable.
    pub sections: Vec<Section>,
    /// Bytes per kind once loaded; `None` when the layout could not be computed.
    pub memory: Option<Memory>,
    pub findings: Vec<Finding>,
    /// What could not be read or computed for this file.
    pub warnings: Vec<String>,
}

/// One program header.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub index: usize,
    /// readelf's name of `p_type`: `LOAD`, `GNU_RELRO`, `LOOS+0x1234`, ...
    #[serde(rename = "type")]
    pub type_name: String,
    pub p_type: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub paddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    /// `p_flags` (PF_X 1, PF_W 2, PF_R 4).
    pub flags: u32,
    pub align: u64,
    /// Kinds of a PT_LOAD's pages in address order joined by `+` (`text`, `relro+data+bss`);
    /// `None` for other segments and empty PT_LOADs.
    pub kind: Option<String>,
    /// Section header indices of the sections in this segment, as readelf maps them.
    pub sections: Vec<usize>,
}

/// One section header, with the segments readelf puts it in.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub index: usize,
    /// The name (lossy UTF-8), or `None` when the name table is missing.
    pub name: Option<String>,
    pub sh_type: u32,
    pub sh_flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub segments: Vec<usize>,
}

/// Memory the file takes once loaded, in bytes (multiples of the page size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Memory {
    pub text: u64,
    pub rodata: u64,
    pub data: u64,
    pub relro: u64,
    pub bss: u64,
    pub gap: u64,
    /// The sum: from the first PT_LOAD's page to the end of the last one.
    pub total: u64,
}

impl Memory {
    /// (kind, bytes) in display order.
    pub fn rows(&self) -> [(Kind, u64); 6] {
        [
            (Kind::Text, self.text),
            (Kind::Rodata, self.rodata),
            (Kind::Data, self.data),
            (Kind::Relro, self.relro),
            (Kind::Bss, self.bss),
            (Kind::Gap, self.gap),
        ]
    }
}

/// What a finding is about (docs/layout.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    WxSegment,
    NoRelro,
    PartialRelro,
    ExecStack,
    Textrel,
    AlignmentWaste,
    SharedPage,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::WxSegment => "wx_segment",
            FindingKind::NoRelro => "no_relro",
            FindingKind::PartialRelro => "partial_relro",
            FindingKind::ExecStack => "exec_stack",
            FindingKind::Textrel => "textrel",
            FindingKind::AlignmentWaste => "alignment_waste",
            FindingKind::SharedPage => "shared_page",
        }
    }
}

/// One audit finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Program header index it is about, if one.
    pub segment: Option<usize>,
    pub message: String,
    /// Bytes concerned, when the finding has a size.
    pub bytes: Option<u64>,
}

/// readelf's name of a segment type (binutils `get_segment_type`; the OS-specific
/// `GNU_MBIND` and Solaris/HP-UX names are not decoded and print as `LOOS+...`).
pub fn readelf_type_name(p_type: u32, machine: u16) -> String {
    use goblin::elf::header::{EM_AARCH64, EM_ARM, EM_MIPS, EM_MIPS_RS3_LE, EM_RISCV};
    let known = match p_type {
        0 => Some("NULL"),
        PT_LOAD => Some("LOAD"),
        PT_DYNAMIC => Some("DYNAMIC"),
        3 => Some("INTERP"),
        PT_NOTE => Some("NOTE"),
        5 => Some("SHLIB"),
        PT_PHDR => Some("PHDR"),
        PT_TLS => Some("TLS"),
        PT_GNU_EH_FRAME => Some("GNU_EH_FRAME"),
        PT_GNU_STACK => Some("GNU_STACK"),
        PT_GNU_RELRO => Some("GNU_RELRO"),
        0x6474_e553 => Some("GNU_PROPERTY"),
        PT_GNU_SFRAME => Some("GNU_SFRAME"),
        0x65a3_dbe5 => Some("OPENBSD_MUTABLE"),
        0x65a3_dbe6 => Some("OPENBSD_RANDOMIZE"),
        0x65a3_dbe7 => Some("OPENBSD_WXNEEDED"),
        0x65a3_dbe8 => Some("OPENBSD_NOBTCFI"),
        0x65a4_1be6 => Some("OPENBSD_BOOTDATA"),
        0x7000_0000..=0x7fff_ffff => match (machine, p_type - 0x7000_0000) {
            (EM_AARCH64, 0) => Some("AARCH64_ARCHEXT"),
            (EM_AARCH64, 2) => Some("AARCH64_MEMTAG_MTE"),
            (EM_ARM, 1) => Some("EXIDX"),
            (EM_MIPS | EM_MIPS_RS3_LE, 0) => Some("REGINFO"),
            (EM_MIPS | EM_MIPS_RS3_LE, 1) => Some("RTPROC"),
            (EM_MIPS | EM_MIPS_RS3_LE, 2) => Some("OPTIONS"),
            (EM_MIPS | EM_MIPS_RS3_LE, 3) => Some("ABIFLAGS"),
            (EM_RISCV, 3) => Some("RISCV_ATTRIBUTES"),
            _ => None,
        },
        _ => None,
    };
    if let Some(k) = known {
        return k.to_string();
    }
    // C's "%#lx": no 0x for zero.
    let hex = |v: u32| {
        if v == 0 {
            "0".to_string()
        } else {
            format!("{v:#x}")
        }
    };
    match p_type {
        0x7000_0000..=0x7fff_ffff => format!("LOPROC+{}", hex(p_type - 0x7000_0000)),
        0x6000_0000..=0x6fff_ffff => format!("LOOS+{}", hex(p_type - 0x6000_0000)),
        _ => format!("<unknown>: {p_type:x}"),
    }
}

/// Whether readelf's section-to-segment mapping puts `s` in `p`: binutils'
/// `ELF_SECTION_IN_SEGMENT_STRICT` (include/elf/internal.h) after its
/// `!ELF_TBSS_SPECIAL` test, in the same wrapping 64-bit arithmetic.
pub fn section_in_segment(s: &Shdr, p: &Phdr) -> bool {
    let tls = s.flags & u64::from(SHF_TLS) != 0;
    let alloc = s.flags & u64::from(SHF_ALLOC) != 0;
    let nobits = s.sh_type == SHT_NOBITS;
    let pt = p.p_type;
    // .tbss takes no space in segments other than PT_TLS.
    if tls && nobits && pt != PT_TLS {
        return false;
    }
    let size = s.size;
    // Only PT_LOAD, PT_GNU_RELRO and PT_TLS hold TLS sections; PT_TLS holds only
    // them, PT_PHDR none.
    let tls_ok = if tls {
        matches!(pt, PT_TLS | PT_GNU_RELRO | PT_LOAD)
    } else {
        pt != PT_TLS && pt != PT_PHDR
    };
    // Loadable and similar segments hold only SHF_ALLOC sections.
    let alloc_only = matches!(
        pt,
        PT_LOAD | PT_DYNAMIC | PT_GNU_EH_FRAME | PT_GNU_STACK | PT_GNU_RELRO | PT_GNU_SFRAME
    ) || (PT_GNU_MBIND_LO..=PT_GNU_MBIND_HI).contains(&pt);
    let alloc_ok = alloc || !alloc_only;
    // Sections with file contents lie inside the segment's file bytes (strict: a
    // zero-size section may not sit at the end unless the segment is empty).
    let off = s.offset.wrapping_sub(p.offset);
    let file_ok = nobits
        || (s.offset >= p.offset
            && off <= p.filesz.wrapping_sub(1)
            && off.wrapping_add(size) <= p.filesz);
    // Allocated sections lie inside the segment's memory.
    let va = s.addr.wrapping_sub(p.vaddr);
    let vma_ok = !alloc
        || (s.addr >= p.vaddr && va <= p.memsz.wrapping_sub(1) && va.wrapping_add(size) <= p.memsz);
    // No empty sections at the start or end of PT_DYNAMIC or PT_NOTE.
    let edge_ok = (pt != PT_DYNAMIC && pt != PT_NOTE)
        || s.size != 0
        || p.memsz == 0
        || ((nobits || (s.offset > p.offset && off < p.filesz))
            && (!alloc || (s.addr > p.vaddr && va < p.memsz)));
    tls_ok && alloc_ok && file_ok && vma_ok && edge_ok
}

/// The pieces of one file's layout that come from its headers.
struct Headers {
    info: ElfInfo,
    sections: Option<SectionTable>,
    dynamic: Option<DynamicFlags>,
    warnings: Vec<String>,
}

fn read_headers<R: ReadAt + ?Sized>(src: &R) -> Result<Headers, ElfError> {
    let info = elf::read(src)?;
    let mut warnings = Vec::new();
    let sections = match elf::read_sections(src) {
        Ok(t) => {
            if let Some(p) = &t.names_problem {
                warnings.push(format!("section names: {p}"));
            }
            Some(t)
        }
        Err(e) => {
            warnings.push(format!("section headers not read: {e}"));
            None
        }
    };
    let dynamic = match elf::read_dynamic(src, &info) {
        Ok(d) => d,
        Err(e) => {
            warnings.push(format!(
                "dynamic section not read ({e}): RELRO and TEXTREL not checked"
            ));
            None
        }
    };
    Ok(Headers {
        info,
        sections,
        dynamic,
        warnings,
    })
}

fn pagedown(x: u64, page: u64) -> u64 {
    x & !(page - 1)
}

fn pageup(x: u64, page: u64) -> u64 {
    x.saturating_add(page - 1) & !(page - 1)
}

/// Reads the headers behind `src` and computes the layout of the file named `path`.
pub fn inspect<R: ReadAt + ?Sized>(src: &R, path: &[u8], page: u64) -> Result<Object, ElfError> {
    let h = read_headers(src)?;
    Ok(build(h, path, page))
}

fn build(h: Headers, path: &[u8], page: u64) -> Object {
    let Headers {
        info,
        sections,
        dynamic,
        mut warnings,
    } = h;
    let loadable = info.is_loadable();
    let n_loads = info.loads().count() + info.phdrs.iter().filter(|p| p.is_relro()).count();
    let too_many = n_loads > MAX_LOADS_FOR_MEMORY;

    // The whole file's layout, as loaded at bias 0 (ET_EXEC is never relocated, and
    // for ET_DYN the bias changes addresses, not kinds or sizes).
    let full = if too_many {
        warnings.push(format!(
            "{n_loads} PT_LOAD and PT_GNU_RELRO segments: kinds and memory per kind not computed (limit {MAX_LOADS_FOR_MEMORY})"
        ));
        None
    } else if loadable {
        let l = crate::vocab::PageSize::new(page)
            .ok()
            .and_then(|page| label::image(&info, 0, page));
        if l.is_none() {
            warnings.push("segment addresses overflow: memory per kind not computed".into());
        }
        l
    } else {
        None
    };
    let memory = full.as_ref().map(|labels| {
        let mut m = Memory::default();
        for l in labels {
            let n = l.end - l.start;
            match l.kind {
                Kind::Text => m.text += n,
                Kind::Rodata => m.rodata += n,
                Kind::Data => m.data += n,
                Kind::Relro => m.relro += n,
                Kind::Bss => m.bss += n,
                _ => m.gap += n,
            }
            m.total += n;
        }
        m
    });

    let relro_phdrs: Vec<Phdr> = info
        .phdrs
        .iter()
        .filter(|p| p.is_relro())
        .copied()
        .collect();
    let mut segments: Vec<Segment> = info
        .phdrs
        .iter()
        .map(|p| Segment {
            index: p.index,
            type_name: readelf_type_name(p.p_type, info.machine),
            p_type: p.p_type,
            offset: p.offset,
            vaddr: p.vaddr,
            paddr: p.paddr,
            filesz: p.filesz,
            memsz: p.memsz,
            flags: p.flags,
            align: p.align,
            kind: if too_many {
                None
            } else {
                segment_kind(&info, p, &relro_phdrs, page)
            },
            sections: Vec::new(),
        })
        .collect();

    // readelf's section-to-segment mapping.
    let shdrs: &[Shdr] = sections.as_ref().map_or(&[], |t| &t.sections[..]);
    let mut out_sections: Vec<Section> = shdrs
        .iter()
        .skip(1)
        .map(|s| Section {
            index: s.index,
            name: s
                .name
                .as_ref()
                .map(|n| String::from_utf8_lossy(n).into_owned()),
            sh_type: s.sh_type,
            sh_flags: s.flags,
            addr: s.addr,
            offset: s.offset,
            size: s.size,
            segments: Vec::new(),
        })
        .collect();
    let pairs = (out_sections.len() as u64).saturating_mul(segments.len() as u64);
    if pairs > MAX_MAPPING_PAIRS {
        warnings.push(format!(
            "{} sections x {} segments: section-to-segment mapping not computed",
            out_sections.len(),
            segments.len()
        ));
    } else {
        for (seg, p) in segments.iter_mut().zip(&info.phdrs) {
            for (sec, s) in out_sections.iter_mut().zip(shdrs.iter().skip(1)) {
                if section_in_segment(s, p) {
                    seg.sections.push(s.index);
                    sec.segments.push(p.index);
                }
            }
        }
    }

    let mut findings = Vec::new();
    if matches!(info.e_type, 2 | 3) {
        audit(&info, shdrs, dynamic, full.as_deref(), page, &mut findings);
    }
    // Keep the output bounded on hostile files.
    let mut seen: std::collections::HashMap<FindingKind, usize> = Default::default();
    let mut dropped = 0usize;
    findings.retain(|f| {
        let n = seen.entry(f.kind).or_default();
        *n += 1;
        if *n > MAX_FINDINGS_PER_KIND {
            dropped += 1;
        }
        *n <= MAX_FINDINGS_PER_KIND
    });
    if dropped > 0 {
        warnings.push(format!(
            "{dropped} more findings not listed (at most {MAX_FINDINGS_PER_KIND} of each kind)"
        ));
    }

    let (path, path_bytes) = lossy(path);
    Object {
        path,
        path_bytes,
        e_type: info.type_name(),
        machine: info.machine_name(),
        class: info.class,
        endian: if info.little_endian { "little" } else { "big" },
        segments,
        sections: out_sections,
        memory,
        findings,
        warnings,
    }
}

/// Kinds of one PT_LOAD's own pages, as if no other segment painted over them.
fn segment_kind(info: &ElfInfo, p: &Phdr, relro: &[Phdr], page: u64) -> Option<String> {
    if !p.is_load() || p.memsz == 0 {
        return None;
    }
    let mut phdrs = Vec::with_capacity(1 + relro.len());
    phdrs.push(*p);
    phdrs.extend_from_slice(relro);
    let alone = ElfInfo {
        class: info.class,
        little_endian: info.little_endian,
        e_type: info.e_type,
        machine: info.machine,
        phdrs,
        build_id: None,
    };
    let labels = label::image(&alone, 0, crate::vocab::PageSize::new(page).ok()?)?;
    let mut kinds: Vec<&str> = Vec::new();
    for l in labels.iter().filter(|l| l.segment == Some(p.index)) {
        if !kinds.contains(&l.kind.as_str()) {
            kinds.push(l.kind.as_str());
        }
    }
    (!kinds.is_empty()).then(|| kinds.join("+"))
}

fn perms(flags: u32) -> String {
    let f = |bit, c| if flags & bit != 0 { c } else { '-' };
    [f(elf::PF_R, 'r'), f(elf::PF_W, 'w'), f(elf::PF_X, 'x')]
        .iter()
        .collect()
}

/// The audit findings of a loadable object (docs/layout.md).
fn audit(
    info: &ElfInfo,
    shdrs: &[Shdr],
    dynamic: Option<DynamicFlags>,
    full: Option<&[label::Label]>,
    page: u64,
    out: &mut Vec<Finding>,
) {
    let loads: Vec<&Phdr> = info.loads().collect();

    for p in &loads {
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

    let relro = info.phdrs.iter().find(|p| p.is_relro());
    let has_writable = loads.iter().any(|p| p.writable());
    let pt_dynamic = info.phdrs.iter().find(|p| p.p_type == PT_DYNAMIC);
    match relro {
        None if has_writable => out.push(Finding {
            kind: FindingKind::NoRelro,
            segment: None,
            message: "no PT_GNU_RELRO: the GOT, vtables and other relocated data stay writable"
                .into(),
            bytes: None,
        }),
        None => {}
        Some(r) => match (pt_dynamic, dynamic) {
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
                let outside = shdrs.iter().find(|s| {
                    s.name.as_deref() == Some(b".got.plt")
                        && s.size > 0
                        && s.flags & u64::from(SHF_ALLOC) != 0
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
        },
    }

    match info.phdrs.iter().find(|p| p.p_type == PT_GNU_STACK) {
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

    if let (Some(d), Some(p)) = (dynamic, pt_dynamic)
        && d.textrel
    {
        out.push(Finding {
            kind: FindingKind::Textrel,
            segment: Some(p.index),
            message: "DT_TEXTREL: relocations write to read-only segments, which the loader makes writable meanwhile (their pages are private copies afterwards)".into(),
            bytes: None,
        });
    }

    // Address space between PT_LOADs (p_align larger than the page size).
    if let Some(labels) = full {
        for (i, l) in labels.iter().enumerate() {
            if l.kind != Kind::Gap {
                continue;
            }
            let before = labels[..i].iter().rev().find_map(|x| x.segment);
            let after = labels[i + 1..].iter().find_map(|x| x.segment);
            let align = after.and_then(|a| info.phdrs.get(a)).map_or(0, |p| p.align);
            out.push(Finding {
                kind: FindingKind::AlignmentWaste,
                segment: after,
                message: format!(
                    "{} of address space between segments {} and {} is a gap (p_align 0x{align:x}): reserved, no memory",
                    human(Some(l.end - l.start)),
                    before.map_or("-".into(), |b| b.to_string()),
                    after.map_or("-".into(), |a| a.to_string()),
                ),
                bytes: Some(l.end - l.start),
            });
        }
    }
    // File bytes between PT_LOADs that no PT_LOAD holds, a page or more of them.
    let mut by_offset: Vec<&Phdr> = loads.iter().copied().filter(|p| p.filesz > 0).collect();
    by_offset.sort_by_key(|p| (p.offset, p.index));
    let mut covered_to: Option<(u64, usize)> = None;
    for p in by_offset {
        if let Some((end, prev)) = covered_to
            && p.offset > end
            && p.offset - end >= page
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
        let end = p.offset + p.filesz;
        if covered_to.is_none_or(|(e, _)| end > e) {
            covered_to = Some((end, p.index));
        }
    }

    // PT_LOADs sharing a page, in memory or in the file; neighbours in address (or
    // offset) order only, which is every pair in real files and bounded in hostile ones.
    let mut by_addr: Vec<&Phdr> = loads.clone();
    by_addr.sort_by_key(|p| (p.vaddr, p.index));
    let mut mem_pairs = std::collections::HashSet::new();
    for w in by_addr.windows(2) {
        let (a, b) = (w[0], w[1]);
        let a_end = pageup(a.vaddr + a.memsz, page);
        let b_start = pagedown(b.vaddr, page);
        if b_start < a_end {
            let n = a_end.min(pageup(b.vaddr + b.memsz, page)) - b_start;
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
        let a_end = pageup(a.offset + a.filesz, page);
        let b_start = pagedown(b.offset, page);
        if b_start < a_end {
            let n = a_end.min(pageup(b.offset + b.filesz, page)) - b_start;
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

fn pages_text(n: u64, page: u64) -> String {
    let p = n / page;
    if p == 1 {
        "1 page".into()
    } else {
        format!("{p} pages")
    }
}

/// Runs `elfmaps layout` over `paths`: every readable ELF file is an object, every
/// other one an error; one bad file never stops the others.
pub fn run(paths: &[impl AsRef<Path>], page: u64) -> Report {
    use std::os::unix::ffi::OsStrExt;
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let bytes = path.as_os_str().as_bytes();
        match inspect_path(path, page) {
            Ok(o) => objects.push(o),
            Err(message) => {
                let (path, path_bytes) = lossy(bytes);
                errors.push(FileError {
                    path,
                    path_bytes,
                    message,
                });
            }
        }
    }
    Report {
        schema_version: SCHEMA_VERSION,
        page_size: page,
        objects,
        errors,
    }
}

fn inspect_path(path: &Path, page: u64) -> Result<Object, String> {
    use std::os::unix::ffi::OsStrExt;
    match files::open_checked(path, Precheck::Stat) {
        Ok(Opened::Regular { file, .. }) => {
            inspect(&*file, path.as_os_str().as_bytes(), page).map_err(|e| e.to_string())
        }
        Ok(Opened::Device) => Err("a device, not a regular file".into()),
        Ok(Opened::NotRegular(what)) => Err(format!("{what}, not a regular file")),
        Ok(Opened::Failed(e)) => Err(e),
        Err(e) => Err(e.to_string()),
    }
}

// ---------------------------------------------------------------- printers

/// Writes `report` as JSON (one document, newline-terminated).
pub fn json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, report)?;
    writeln!(out)
}

fn finding_style(kind: FindingKind) -> Style {
    match kind {
        FindingKind::WxSegment | FindingKind::ExecStack | FindingKind::Textrel => {
            Style::new().bright_red().bold()
        }
        FindingKind::NoRelro | FindingKind::PartialRelro => Style::new().yellow().bold(),
        FindingKind::AlignmentWaste | FindingKind::SharedPage => Style::new().cyan(),
    }
}

/// Writes one block per object: readelf's program header table with a KIND column,
/// the section-to-segment mapping, memory per kind and the findings. Files that
/// could not be read are not in it (the CLI names them on stderr).
pub fn table(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let paint = |text: &str, style: Style| paint(text, style, color);
    let bold = Style::new().bold();
    for (n, o) in report.objects.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let title = format!(
            "{}: {} {} {}-bit {}-endian, {} program headers, {} sections",
            escape(o.path_bytes.as_deref().unwrap_or(o.path.as_bytes())),
            o.e_type,
            o.machine,
            o.class,
            o.endian,
            o.segments.len(),
            o.sections.len()
        );
        writeln!(out, "{}", paint(&title, bold))?;
        for w in &o.warnings {
            writeln!(
                out,
                "  {}",
                paint(
                    &format!("warning: {}", escape(w.as_bytes())),
                    Style::new().yellow()
                )
            )?;
        }

        if o.segments.is_empty() {
            writeln!(out, "  No program headers.")?;
        }
        // Program headers, column widths as readelf -lW.
        let wide = o.class == 64;
        let (aw, sw) = if wide { (16, 6) } else { (8, 5) };
        let hdr = format!(
            "  {:<3} {:<14} {:<8} {:<aw2$} {:<aw2$} {:<sw2$} {:<sw2$} Flg {:<8} KIND",
            "IDX",
            "Type",
            "Offset",
            "VirtAddr",
            "PhysAddr",
            "FileSiz",
            "MemSiz",
            "Align",
            aw2 = aw + 2,
            sw2 = sw + 2,
        );
        if !o.segments.is_empty() {
            writeln!(out, "{}", paint(&hdr, bold))?;
        }
        for s in &o.segments {
            let f = |bit, c| if s.flags & bit != 0 { c } else { ' ' };
            let flg: String = [f(elf::PF_R, 'R'), f(elf::PF_W, 'W'), f(elf::PF_X, 'E')]
                .iter()
                .collect();
            let kind = s.kind.as_deref().unwrap_or("");
            let kind = match s.kind.as_deref().and_then(|k| k.split('+').next()) {
                Some("text") => paint(kind, Style::new().green()),
                Some("rodata") => paint(kind, Style::new().cyan()),
                Some("data" | "relro" | "bss") => paint(kind, Style::new().yellow()),
                _ => kind.to_string(),
            };
            let ty: String = s.type_name.chars().take(14).collect();
            let line = format!(
                "  {:02}  {:<14} 0x{:06x} 0x{:0aw$x} 0x{:0aw$x} 0x{:0sw$x} 0x{:0sw$x} {} {:<8} {}",
                s.index,
                ty,
                s.offset,
                s.vaddr,
                s.paddr,
                s.filesz,
                s.memsz,
                flg,
                format!("0x{:x}", s.align),
                kind,
            );
            writeln!(out, "{}", line.trim_end())?;
        }

        if !o.sections.is_empty() && !o.segments.is_empty() {
            writeln!(out, "{}", paint("  Section to Segment mapping:", bold))?;
            for s in &o.segments {
                let names: Vec<String> = s.sections.iter().map(|&i| section_label(o, i)).collect();
                let line = format!("   {:02}     {}", s.index, names.join(" "));
                writeln!(out, "{}", line.trim_end())?;
            }
        }

        if let Some(m) = &o.memory {
            let title = format!("  Memory once loaded ({}-byte pages):", report.page_size);
            writeln!(out, "{}", paint(&title, bold))?;
            writeln!(out, "   {:<7} {:>7} {:>8}", "KIND", "PAGES", "BYTES")?;
            let rows = m.rows().into_iter().filter(|&(_, b)| b > 0);
            for (k, b) in rows
                .map(|(k, b)| (k.as_str(), b))
                .chain([("total", m.total)])
            {
                writeln!(
                    out,
                    "   {k:<7} {:>7} {:>8}",
                    b / report.page_size,
                    human(Some(b))
                )?;
            }
        }

        if o.findings.is_empty() {
            writeln!(out, "  Findings: none")?;
        } else {
            writeln!(out, "{}", paint("  Findings:", bold))?;
            for f in &o.findings {
                let kind = paint(&format!("{:<15}", f.kind.as_str()), finding_style(f.kind));
                let seg = f.segment.map_or("-".into(), |s| s.to_string());
                writeln!(out, "   {kind} {seg:>3}  {}", escape(f.message.as_bytes()))?;
            }
        }
    }
    Ok(())
}

/// A section's printable name: escaped, or `[N]` when unknown.
fn section_label(o: &Object, index: usize) -> String {
    match o
        .sections
        .get(index.wrapping_sub(1))
        .filter(|s| s.index == index)
        .and_then(|s| s.name.as_ref())
    {
        Some(n) if !n.is_empty() => escape(n.as_bytes()),
        _ => format!("[{index}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phdr(index: usize, p_type: u32, flags: u32, o: u64, v: u64, fs: u64, ms: u64) -> Phdr {
        Phdr {
            index,
            p_type,
            flags,
            offset: o,
            vaddr: v,
            paddr: v,
            filesz: fs,
            memsz: ms,
            align: 0x1000,
        }
    }

    fn shdr(
        index: usize,
        name: &str,
        sh_type: u32,
        flags: u64,
        addr: u64,
        off: u64,
        size: u64,
    ) -> Shdr {
        Shdr {
            index,
            name: Some(name.as_bytes().to_vec()),
            sh_type,
            flags,
            addr,
            offset: off,
            size,
        }
    }

    const A: u64 = SHF_ALLOC as u64;
    const T: u64 = SHF_TLS as u64;

    #[test]
    fn readelf_segment_type_names() {
        assert_eq!(readelf_type_name(PT_LOAD, 62), "LOAD");
        assert_eq!(readelf_type_name(0x6474_e553, 62), "GNU_PROPERTY");
        assert_eq!(readelf_type_name(0x7000_0001, 40), "EXIDX");
        assert_eq!(readelf_type_name(0x7000_0001, 62), "LOPROC+0x1");
        assert_eq!(readelf_type_name(0x6000_0000, 62), "LOOS+0");
        assert_eq!(readelf_type_name(0x1234, 62), "<unknown>: 1234");
    }

    #[test]
    fn tbss_only_in_pt_tls() {
        let load = phdr(0, PT_LOAD, 6, 0x1000, 0x1000, 0x100, 0x200);
        let tls = phdr(1, PT_TLS, 4, 0x1000, 0x1000, 0x10, 0x40);
        let tdata = shdr(1, ".tdata", 1, A | T | 2, 0x1000, 0x1000, 0x10);
        let tbss = shdr(2, ".tbss", SHT_NOBITS, A | T | 2, 0x1010, 0x1010, 0x30);
        let bss = shdr(3, ".bss", SHT_NOBITS, A | 2, 0x1100, 0x1100, 0x100);
        assert!(section_in_segment(&tdata, &load) && section_in_segment(&tdata, &tls));
        assert!(!section_in_segment(&tbss, &load) && section_in_segment(&tbss, &tls));
        assert!(section_in_segment(&bss, &load) && !section_in_segment(&bss, &tls));
    }

    #[test]
    fn zero_size_sections_at_segment_ends() {
        let load = phdr(0, PT_LOAD, 4, 0, 0, 0x100, 0x100);
        let dynamic = phdr(1, PT_DYNAMIC, 4, 0x40, 0x40, 0x40, 0x40);
        // Strict: not at the end of a loadable segment.
        assert!(!section_in_segment(
            &shdr(1, ".e", 1, A, 0x100, 0x100, 0),
            &load
        ));
        assert!(section_in_segment(
            &shdr(1, ".e", 1, A, 0x80, 0x80, 0),
            &load
        ));
        // Not at the start of PT_DYNAMIC either.
        assert!(!section_in_segment(
            &shdr(1, ".e", 1, A, 0x40, 0x40, 0),
            &dynamic
        ));
        assert!(section_in_segment(
            &shdr(1, ".e", 1, A, 0x50, 0x50, 0),
            &dynamic
        ));
        // Non-alloc sections are never in a PT_LOAD, but may be in a PT_NOTE.
        let note = phdr(2, PT_NOTE, 4, 0x40, 0x40, 0x20, 0x20);
        assert!(!section_in_segment(
            &shdr(1, ".c", 1, 0, 0, 0x10, 0x10),
            &load
        ));
        assert!(section_in_segment(
            &shdr(1, ".n", 7, 0, 0, 0x40, 0x20),
            &note
        ));
        // An empty segment holds an empty section at its address.
        let empty = phdr(3, PT_LOAD, 4, 0x100, 0x100, 0, 0);
        assert!(section_in_segment(
            &shdr(1, ".e", 1, A, 0x100, 0x100, 0),
            &empty
        ));
    }

    fn info(e_type: u16, phdrs: Vec<Phdr>) -> ElfInfo {
        ElfInfo {
            class: 64,
            little_endian: true,
            e_type,
            machine: 62,
            phdrs,
            build_id: None,
        }
    }

    fn kinds(fs: &[Finding]) -> Vec<&'static str> {
        fs.iter().map(|f| f.kind.as_str()).collect()
    }

    #[test]
    fn cat_like_layout_and_findings() {
        let phdrs = vec![
            phdr(0, PT_LOAD, 4, 0, 0, 0x1720, 0x1720),
            phdr(1, PT_LOAD, 5, 0x2000, 0x2000, 0x4da9, 0x4da9),
            phdr(2, PT_LOAD, 4, 0x7000, 0x7000, 0x20e8, 0x20e8),
            phdr(3, PT_LOAD, 6, 0x9c30, 0xac30, 0x650, 0x7e8),
            phdr(4, PT_DYNAMIC, 6, 0x9dd8, 0xadd8, 0x1e0, 0x1e0),
            phdr(5, PT_GNU_STACK, 6, 0, 0, 0, 0),
            phdr(6, PT_GNU_RELRO, 4, 0x9c30, 0xac30, 0x3d0, 0x3d0),
        ];
        let h = Headers {
            info: info(3, phdrs),
            sections: None,
            dynamic: Some(DynamicFlags {
                textrel: false,
                bind_now: true,
            }),
            warnings: Vec::new(),
        };
        let o = build(h, b"/usr/bin/cat", 4096);
        let m = o.memory.unwrap();
        assert_eq!(
            (m.text, m.rodata, m.relro, m.data, m.bss),
            (0x5000, 0x5000, 0x1000, 0x1000, 0)
        );
        assert_eq!(m.total, 0xc000);
        assert_eq!(o.segments[3].kind.as_deref(), Some("relro+data"));
        assert_eq!(o.segments[1].kind.as_deref(), Some("text"));
        assert_eq!(o.segments[4].kind, None);
        // Only the file page at 0x9000 shared by segments 2 and 3.
        assert_eq!(kinds(&o.findings), ["shared_page"]);
        assert_eq!(o.findings[0].segment, Some(3));
        assert_eq!(o.findings[0].bytes, Some(4096));
    }

    /// A synthetic ELF file: header, `phdrs` at 0x40, PT_DYNAMIC entries at 0x400,
    /// the name table at 0x800 and the section headers (null, `secs`, .shstrtab) at
    /// 0x900. `xnum` stores the section count and name table index in section 0.
    struct Synth {
        is64: bool,
        le: bool,
        phdrs: Vec<Phdr>,
        secs: Vec<(&'static str, u32, u64, u64, u64, u64)>,
        dynamic: Vec<(u64, u64)>,
        xnum: bool,
    }

    impl Synth {
        fn bytes(&self) -> Vec<u8> {
            let mut f = vec![0u8; 0x900];
            let put = |f: &mut Vec<u8>, at: usize, v: u64, n: usize| {
                let b = if self.le {
                    v.to_le_bytes()[..n].to_vec()
                } else {
                    v.to_be_bytes()[8 - n..].to_vec()
                };
                f[at..at + n].copy_from_slice(&b);
            };
            let w = if self.is64 { 8 } else { 4 };
            f[..4].copy_from_slice(b"\x7fELF");
            f[4] = if self.is64 { 2 } else { 1 };
            f[5] = if self.le { 1 } else { 2 };
            f[6] = 1;
            put(&mut f, 16, 3, 2);
            put(&mut f, 18, 62, 2);
            put(&mut f, 20, 1, 4);
            let (phoff_at, shoff_at, rest) = if self.is64 {
                (32, 40, 52)
            } else {
                (28, 32, 40)
            };
            put(&mut f, phoff_at, 0x40, w);
            put(&mut f, shoff_at, 0x900, w);
            let nsec = self.secs.len() as u64 + 2;
            let (phent, shent) = if self.is64 { (56, 64) } else { (32, 40) };
            put(&mut f, rest, if self.is64 { 64 } else { 52 }, 2);
            put(&mut f, rest + 2, phent, 2);
            put(&mut f, rest + 4, self.phdrs.len() as u64, 2);
            put(&mut f, rest + 6, shent, 2);
            put(&mut f, rest + 8, if self.xnum { 0 } else { nsec }, 2);
            put(
                &mut f,
                rest + 10,
                if self.xnum { 0xffff } else { nsec - 1 },
                2,
            );
            for (i, p) in self.phdrs.iter().enumerate() {
                let at = 0x40 + i * phent as usize;
                put(&mut f, at, u64::from(p.p_type), 4);
                if self.is64 {
                    put(&mut f, at + 4, u64::from(p.flags), 4);
                    for (k, v) in [p.offset, p.vaddr, p.paddr, p.filesz, p.memsz, p.align]
                        .iter()
                        .enumerate()
                    {
                        put(&mut f, at + 8 + 8 * k, *v, 8);
                    }
                } else {
                    for (k, v) in [p.offset, p.vaddr, p.paddr, p.filesz, p.memsz]
                        .iter()
                        .enumerate()
                    {
                        put(&mut f, at + 4 + 4 * k, *v, 4);
                    }
                    put(&mut f, at + 24, u64::from(p.flags), 4);
                    put(&mut f, at + 28, p.align, 4);
                }
            }
            for (i, (tag, val)) in self.dynamic.iter().enumerate() {
                put(&mut f, 0x400 + 2 * w * i, *tag, w);
                put(&mut f, 0x400 + 2 * w * i + w, *val, w);
            }
            let mut names = vec![0u8];
            let mut name_at = Vec::new();
            for n in self.secs.iter().map(|s| s.0).chain([".shstrtab"]) {
                name_at.push(names.len() as u64);
                names.extend_from_slice(n.as_bytes());
                names.push(0);
            }
            f[0x800..0x800 + names.len()].copy_from_slice(&names);
            let mut all: Vec<(u64, u32, u64, u64, u64, u64)> = vec![(0, 0, 0, 0, 0, 0)];
            for (i, s) in self.secs.iter().enumerate() {
                all.push((name_at[i], s.1, s.2, s.3, s.4, s.5));
            }
            all.push((name_at[self.secs.len()], 3, 0, 0, 0x800, names.len() as u64));
            for (i, s) in all.iter().enumerate() {
                let at = f.len();
                f.resize(at + shent as usize, 0);
                let (name, ty, flags, addr, off, size) = *s;
                put(&mut f, at, name, 4);
                put(&mut f, at + 4, u64::from(ty), 4);
                for (k, v) in [flags, addr, off, size].iter().enumerate() {
                    put(&mut f, at + 8 + w * k, *v, w);
                }
                if i == 0 && self.xnum {
                    put(&mut f, at + 8 + 3 * w, nsec, w); // sh_size: the count
                    put(&mut f, at + 8 + 4 * w, nsec - 1, 4); // sh_link: the name table
                }
            }
            f
        }
    }

    fn synth(is64: bool, le: bool, xnum: bool) -> Synth {
        Synth {
            is64,
            le,
            phdrs: vec![
                phdr(0, PT_LOAD, 5, 0, 0, 0x400, 0x400),
                phdr(1, PT_LOAD, 6, 0x400, 0x1400, 0x100, 0x2000),
                phdr(2, PT_DYNAMIC, 6, 0x400, 0x1400, 0x40, 0x40),
                phdr(3, PT_GNU_RELRO, 4, 0x400, 0x1400, 0x40, 0x40),
                phdr(4, PT_GNU_STACK, 6, 0, 0, 0, 0),
            ],
            secs: vec![
                (".text", 1, A | 4, 0x100, 0x100, 0x300),
                (".dynamic", 6, A | 2, 0x1400, 0x400, 0x40),
                (".data", 1, A | 2, 0x1440, 0x440, 0xc0),
                (".bss", SHT_NOBITS, A | 2, 0x1500, 0x500, 0x1f00),
                (".comment", 1, 0, 0, 0x500, 0x10),
            ],
            dynamic: vec![(30, 8), (0, 0)], // DT_FLAGS = DF_BIND_NOW
            xnum,
        }
    }

    #[test]
    fn both_classes_and_byte_orders() {
        for (is64, le, xnum) in [
            (true, true, false),
            (true, false, true),
            (false, true, true),
            (false, false, false),
        ] {
            let s = synth(is64, le, xnum);
            let bytes = s.bytes();
            let o = inspect(&bytes[..], b"synth", 4096).unwrap();
            let what = format!("is64 {is64} le {le} xnum {xnum}");
            assert!(o.warnings.is_empty(), "{what}: {:?}", o.warnings);
            assert_eq!(
                (o.class, o.endian),
                (
                    if is64 { 64 } else { 32 },
                    if le { "little" } else { "big" }
                )
            );
            assert_eq!(o.segments.len(), 5, "{what}");
            assert_eq!(o.segments[1].memsz, 0x2000);
            let names: Vec<_> = o.sections.iter().map(|s| s.name.clone().unwrap()).collect();
            assert_eq!(
                names,
                [
                    ".text",
                    ".dynamic",
                    ".data",
                    ".bss",
                    ".comment",
                    ".shstrtab"
                ],
                "{what}"
            );
            assert_eq!(o.segments[0].sections, [1], "{what}");
            assert_eq!(o.segments[1].sections, [2, 3, 4], "{what}");
            assert_eq!(o.segments[2].sections, [2], "{what}");
            assert_eq!(o.segments[1].kind.as_deref(), Some("data+bss"), "{what}"); // RELRO ends below a page end
            // BIND_NOW read from DT_FLAGS in this byte order: RELRO is full.
            assert!(
                !kinds(&o.findings).contains(&"partial_relro"),
                "{what}: {:?}",
                o.findings
            );
        }
        // Without BIND_NOW, and with DT_TEXTREL.
        let mut s = synth(false, false, false);
        s.dynamic = vec![(22, 0), (0, 0)];
        let o = inspect(&s.bytes()[..], b"synth", 4096).unwrap();
        assert_eq!(
            kinds(&o.findings),
            ["partial_relro", "textrel", "shared_page"]
        );
    }

    #[test]
    fn damaged_section_tables_are_warnings() {
        let good = synth(true, true, false).bytes();
        // Every cut after the program headers still reports the segments.
        for cut in [0x400, 0x800, 0x900, 0x940, good.len() - 1] {
            let o = inspect(&good[..cut], b"cut", 4096).unwrap();
            assert_eq!(o.segments.len(), 5, "cut {cut}");
            assert!(!o.warnings.is_empty(), "cut {cut}");
        }
        // A section count far over the cap, from section 0's sh_size.
        let mut huge = synth(true, true, true).bytes();
        huge[0x900 + 32..0x900 + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let o = inspect(&huge[..], b"huge", 4096).unwrap();
        assert!(
            o.sections.is_empty() && o.warnings[0].contains("section headers"),
            "{:?}",
            o.warnings
        );
        // A name table index out of range: sections without names.
        let mut bad = synth(true, true, false).bytes();
        bad[62..64].copy_from_slice(&100u16.to_le_bytes());
        let o = inspect(&bad[..], b"bad", 4096).unwrap();
        assert_eq!(o.sections.len(), 6);
        assert!(o.sections.iter().all(|s| s.name.is_none()));
        assert!(o.warnings[0].contains("section names"), "{:?}", o.warnings);
        // A wrong e_shentsize.
        let mut ent = synth(true, true, false).bytes();
        ent[58..60].copy_from_slice(&40u16.to_le_bytes());
        let o = inspect(&ent[..], b"ent", 4096).unwrap();
        assert!(o.sections.is_empty() && !o.warnings.is_empty());
        // Cuts inside the headers are errors, never panics.
        for cut in 0..0x40 + 5 * 56 {
            assert!(inspect(&good[..cut], b"cut", 4096).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn no_panics_on_corrupted_headers() {
        for (is64, le) in [(true, true), (false, false)] {
            let good = synth(is64, le, false).bytes();
            let header_bytes = (0..0x40 + 5 * 56)
                .chain(0x400..0x440)
                .chain(0x900..good.len());
            for at in header_bytes {
                for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                    let mut b = good.clone();
                    b[at] = v;
                    let _ = inspect(&b[..], b"x", 4096);
                }
            }
        }
    }

    #[test]
    fn many_segments_stay_fast() {
        // 60000 overlapping RWX PT_LOADs and PT_GNU_RELROs, no section headers.
        let n = 60000;
        let mut f = synth(true, true, false).bytes()[..0x40].to_vec();
        f[40..48].fill(0);
        f[56..58].copy_from_slice(&(n as u16).to_le_bytes());
        for i in 0..n {
            let ty = if i % 2 == 0 { PT_LOAD } else { PT_GNU_RELRO };
            f.extend_from_slice(&ty.to_le_bytes());
            f.extend_from_slice(&7u32.to_le_bytes());
            for v in [0, 0x1000, 0x1000, 0x100, 0x100, 0x1000u64] {
                f.extend_from_slice(&v.to_le_bytes());
            }
        }
        let start = std::time::Instant::now();
        let o = inspect(&f[..], b"many", 4096).unwrap();
        assert_eq!(o.segments.len(), n);
        assert!(o.memory.is_none() && o.segments[0].kind.is_none());
        assert!(o.findings.len() <= 7 * MAX_FINDINGS_PER_KIND);
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }

    #[test]
    fn bad_flags_are_found() {
        let phdrs = vec![
            phdr(0, PT_LOAD, 7, 0, 0x400000, 0x1000, 0x1000),
            phdr(1, PT_LOAD, 6, 0x1000, 0x601000, 0x100, 0x100),
            phdr(2, PT_DYNAMIC, 6, 0x1000, 0x601000, 0x100, 0x100),
        ];
        let h = Headers {
            info: info(2, phdrs),
            sections: None,
            dynamic: Some(DynamicFlags {
                textrel: true,
                bind_now: false,
            }),
            warnings: Vec::new(),
        };
        let o = build(h, b"x", 4096);
        assert_eq!(
            kinds(&o.findings),
            [
                "wx_segment",
                "no_relro",
                "exec_stack",
                "textrel",
                "alignment_waste"
            ]
        );
        assert_eq!(o.findings[4].bytes, Some(0x200000));
        assert_eq!(o.memory.unwrap().gap, 0x200000);
    }
}

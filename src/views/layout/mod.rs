//! `elfmaps layout`: what an ELF file will look like in memory, from its headers alone.
//!
//! For each file ([`FileLayout`]): the program headers as `readelf -lW` prints them
//! ([`readelf_type_name`]), the kind of each PT_LOAD, readelf's section-to-segment
//! mapping ([`section_in_segment`]), the memory the file takes once loaded per kind
//! (from `label::image()`, the same rules `elfmaps map` labels a process with) and the
//! findings of the audit (`audit.rs`: seven checks, W+X, RELRO, executable stack, text
//! relocations, alignment, shared pages). docs/layout.md explains every figure and
//! finding. The printers are in `crate::render::layout`.
//!
//! Only headers are read, with bounded reads (`elf::read_with`,
//! `elf::read_sections_with`, `elf::read_dynamic_with` on one `Head`): three
//! `pread`s per file whatever its size (four when the section names are not just
//! before the section headers). A file that is not
//! ELF at all (a linker script such as Debian's `libc.so`) is skipped with a warning; a
//! damaged ELF file or one that cannot be read is an error for that file only; a
//! damaged section table or dynamic section is a warning and the rest is still reported.

mod audit;
mod readelf;

use std::borrow::Cow;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::input::elf::{
    self, DynamicFlags, ElfError, ElfInfo, Head, Phdr, ReadAt, SectionTable, Shdr,
};
use crate::label::{self, Label};
use crate::source::{Opened, files};
use crate::vocab::names::lossy;
use crate::vocab::{Code, ElfType, Endian, Kind, PageSize, Warning};
pub use readelf::{readelf_type_name, section_in_segment};

/// Bumped on any incompatible change of the JSON below (2: `warnings` are objects
/// with a `code`, no longer strings).
pub const SCHEMA_VERSION: u32 = 2;

/// Above this many PT_LOADs plus PT_GNU_RELROs, kinds and memory per kind are not
/// computed (their cost grows with the square of the count; real files have < 10).
const MAX_LOADS_FOR_MEMORY: usize = 1024;
/// Above this many (section, segment) pairs the mapping is not computed.
const MAX_MAPPING_PAIRS: u64 = 1 << 24;
/// At most this many findings of one kind are listed per file.
const MAX_FINDINGS_PER_KIND: usize = 64;

/// The whole output of one `elfmaps layout` run (its JSON, docs/layout.md). It reads
/// back what it writes (`diff` reads saved layouts).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Layouts {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The page size the memory figures are in.
    pub page_size: PageSize,
    /// The files reported, in the order given.
    #[serde(rename = "objects")]
    pub files: Vec<FileLayout>,
    /// ELF files that could not be read, and files that could not be opened.
    pub errors: Vec<FileError>,
    /// Files that are not ELF at all (linker scripts, text): skipped, not errors. In
    /// JSON only when there are some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<FileError>,
}

/// A file that is not reported, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileError {
    /// The path as given (its text form: invalid bytes as `\xNN`, [`crate::vocab::escape::text`]).
    pub path: String,
    /// The path's bytes, only when it is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    /// Why it is not reported.
    pub message: String,
}

/// The layout of one ELF file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileLayout {
    /// The path as given (its text form: invalid bytes as `\xNN`, [`crate::vocab::escape::text`]).
    pub path: String,
    /// The path's bytes, only when it is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    /// `EXEC`, `DYN`, `REL`, `CORE` or the number (`0xfe00`).
    #[serde(rename = "type")]
    pub e_type: ElfType,
    /// `e_machine` by name (`X86_64`), or `EM_` and its number when it has none.
    pub machine: Cow<'static, str>,
    /// 32 or 64.
    pub class: u8,
    /// Byte order: `little` or `big`.
    pub endian: Endian,
    /// The program headers, in file order.
    pub segments: Vec<Segment>,
    /// Section headers 1.. (section 0 is not a section); empty when unreadable.
    pub sections: Vec<Section>,
    /// Bytes per kind once loaded; `None` when the layout could not be computed.
    pub memory: Option<Memory>,
    /// What the audit found (loadable files only).
    pub findings: Vec<Finding>,
    /// What could not be read or computed for this file, each with its [`Code`]
    /// (`object` is the file's path).
    pub warnings: Vec<Warning>,
}

/// One program header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Segment {
    /// Its index, as `readelf -l` numbers it.
    pub index: usize,
    /// readelf's name of `p_type`: `LOAD`, `GNU_RELRO`, `LOOS+0x1234`, ...
    #[serde(rename = "type")]
    pub type_name: Cow<'static, str>,
    /// `p_type`.
    pub p_type: u32,
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// `p_flags` (PF_X 1, PF_W 2, PF_R 4).
    pub flags: u32,
    /// `p_align`.
    pub align: u64,
    /// Kinds of a PT_LOAD's pages in address order joined by `+` (`text`, `relro+data+bss`);
    /// `None` for other segments and empty PT_LOADs.
    pub kind: Option<Cow<'static, str>>,
    /// Section header indices of the sections in this segment, as readelf maps them.
    pub sections: Vec<usize>,
}

/// One section header, with the segments readelf puts it in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Section {
    /// Its index in the section header table.
    pub index: usize,
    /// The name (its text form: invalid bytes as `\xNN`, [`crate::vocab::escape::text`]), or `None` when the name table is missing. The names
    /// of `elf::known_section_name` are borrowed, not allocated.
    pub name: Option<Cow<'static, str>>,
    /// `sh_type`.
    pub sh_type: u32,
    /// `sh_flags`.
    pub sh_flags: u64,
    /// `sh_addr`.
    pub addr: u64,
    /// `sh_offset`.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
    /// Indices of the segments that hold it (a single one below 64 borrowed, not
    /// allocated: most sections are in one segment).
    pub segments: Cow<'static, [usize]>,
}

/// Memory the file takes once loaded, in bytes (multiples of the page size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Memory {
    /// Executable pages.
    pub text: u64,
    /// Read-only pages.
    pub rodata: u64,
    /// Writable pages backed by the file.
    pub data: u64,
    /// Pages made read-only after relocation (PT_GNU_RELRO).
    pub relro: u64,
    /// Writable pages beyond the file's bytes.
    pub bss: u64,
    /// Reserved address space between segments.
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

    /// The memory of a labelled layout: gaps and anything not text, rodata, data,
    /// relro or bss count as gap.
    fn of(labels: &[Label]) -> Memory {
        let mut m = Memory::default();
        for l in labels {
            let n = l.end.saturating_sub(l.start);
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
    }
}

/// What a finding is about (docs/layout.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A PT_LOAD both writable and executable.
    WxSegment,
    /// Writable data and no PT_GNU_RELRO.
    NoRelro,
    /// A PT_GNU_RELRO that leaves the PLT's GOT writable.
    PartialRelro,
    /// An executable stack (or no PT_GNU_STACK).
    ExecStack,
    /// DT_TEXTREL: relocations in read-only segments.
    Textrel,
    /// Address space or file bytes between segments.
    AlignmentWaste,
    /// Two segments sharing a page in memory or in the file.
    SharedPage,
}

impl FindingKind {
    /// Its place among the seven kinds (0 to 6), for counting without a map.
    fn slot(self) -> usize {
        match self {
            FindingKind::WxSegment => 0,
            FindingKind::NoRelro => 1,
            FindingKind::PartialRelro => 2,
            FindingKind::ExecStack => 3,
            FindingKind::Textrel => 4,
            FindingKind::AlignmentWaste => 5,
            FindingKind::SharedPage => 6,
        }
    }

    /// The kind as JSON and the table spell it.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// What it is about.
    pub kind: FindingKind,
    /// Program header index it is about, if one.
    pub segment: Option<usize>,
    /// What was found, for people.
    pub message: String,
    /// Bytes concerned, when the finding has a size.
    pub bytes: Option<u64>,
}

/// The pieces of one file's layout that come from its headers.
struct Headers {
    info: ElfInfo,
    sections: Option<SectionTable>,
    dynamic: Option<DynamicFlags>,
    /// (code, message): the path is added when the file's layout is built.
    warnings: Vec<(Code, String)>,
}

/// Reads the headers of one file: its first bytes once, then the section table with
/// the name table (just before it in almost every file) and the dynamic section where
/// they are: three `pread`s in all for almost every file.
fn read_headers<R: ReadAt + ?Sized>(src: &R) -> Result<Headers, ElfError> {
    let head = Head::read(src)?;
    let info = elf::read_with(src, &head)?;
    let mut warnings = Vec::new();
    let sections = match elf::read_sections_with(src, &head) {
        Ok(t) => {
            if let Some(p) = &t.names_problem {
                warnings.push((Code::SectionsUnreadable, format!("section names: {p}")));
            }
            Some(t)
        }
        Err(e) => {
            warnings.push((
                Code::SectionsUnreadable,
                format!("section headers not read: {e}"),
            ));
            None
        }
    };
    let dynamic = match elf::read_dynamic_with(src, &head, &info) {
        Ok(d) => d,
        Err(e) => {
            warnings.push((
                Code::DynamicUnreadable,
                format!("dynamic section not read ({e}): RELRO and TEXTREL not checked"),
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

/// The labelled layout of `info` loaded at bias 0, with the rules `elfmaps map` labels
/// processes with (the one call of [`label::image`] here); `None` when addresses
/// overflow.
fn labels(info: &ElfInfo, page: PageSize) -> Option<Vec<Label>> {
    label::image(info, 0, page)
}

/// Reads the headers behind `src` and computes the layout of the file named `path`.
pub(crate) fn inspect<R: ReadAt + ?Sized>(
    src: &R,
    path: &[u8],
    page: PageSize,
) -> Result<FileLayout, ElfError> {
    let h = read_headers(src)?;
    Ok(build(h, path, page))
}

fn build(h: Headers, path: &[u8], page: PageSize) -> FileLayout {
    let Headers {
        info,
        sections,
        dynamic,
        mut warnings,
    } = h;
    let n_loads = info.loads().count() + info.phdrs.iter().filter(|p| p.is_relro()).count();
    let too_many = n_loads > MAX_LOADS_FOR_MEMORY;

    // The whole file's layout, as loaded at bias 0 (ET_EXEC is never relocated, and
    // for ET_DYN the bias changes addresses, not kinds or sizes).
    let full = if too_many {
        warnings.push((
            Code::LimitReached,
            format!(
                "{n_loads} PT_LOAD and PT_GNU_RELRO segments: kinds and memory per kind not computed (limit {MAX_LOADS_FOR_MEMORY})"
            ),
        ));
        None
    } else if info.is_loadable() {
        let l = labels(&info, page);
        if l.is_none() {
            warnings.push((
                Code::AddressOverflow,
                "segment addresses overflow: memory per kind not computed".into(),
            ));
        }
        l
    } else {
        None
    };
    let memory = full.as_deref().map(Memory::of);

    let mut segments = segments(&info, page, too_many, full.as_deref());
    let shdrs: &[Shdr] = sections.as_ref().map_or(&[], |t| &t.sections[..]);
    let pairs = match pairs(&info, shdrs) {
        Ok(p) => Some(p),
        Err(w) => {
            warnings.push((Code::LimitReached, w));
            None
        }
    };

    let mut findings = if matches!(info.e_type, 2 | 3) {
        audit::audit(&audit::Facts {
            info: &info,
            shdrs,
            dynamic,
            full: full.as_deref(),
            page,
        })
    } else {
        Vec::new()
    };
    if let Some(w) = cap_findings(&mut findings) {
        warnings.push((Code::LimitReached, w));
    }
    let shdrs = sections.map(|t| t.sections).unwrap_or_default();
    let out_sections = map_sections(shdrs, &mut segments, pairs.as_deref());

    let (path, path_bytes) = lossy(path);
    let warnings = warnings
        .into_iter()
        .map(|(code, message)| Warning::new(code, Some(path.clone()), message))
        .collect();
    FileLayout {
        path,
        path_bytes,
        e_type: ElfType::from_e_type(info.e_type),
        machine: info.machine_str(),
        class: info.class,
        endian: Endian::from_little(info.little_endian),
        segments,
        sections: out_sections,
        memory,
        findings,
        warnings,
    }
}

/// The program headers, with the kinds of each PT_LOAD (not computed when there are
/// `too_many`); `full` is the labelled layout of the whole file, when computed.
fn segments(
    info: &ElfInfo,
    page: PageSize,
    too_many: bool,
    full: Option<&[Label]>,
) -> Vec<Segment> {
    // One layout for every PT_LOAD alone with the PT_GNU_RELROs: its first program
    // header is each PT_LOAD in turn.
    let mut alone = ElfInfo {
        class: info.class,
        little_endian: info.little_endian,
        e_type: info.e_type,
        machine: info.machine,
        phdrs: Vec::new(),
        build_id: None,
        interp: None,
    };
    if let Some(first) = info.phdrs.first() {
        alone.phdrs.push(*first);
        alone
            .phdrs
            .extend(info.phdrs.iter().filter(|p| p.is_relro()).copied());
    }
    info.phdrs
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
                let full = full.filter(|_| !shares_pages(info, p, page));
                segment_kind(&mut alone, p, page, full)
            },
            sections: Vec::new(),
        })
        .collect()
}

/// Kinds of one PT_LOAD's own pages, as if no other segment painted over them:
/// `alone` holds the PT_GNU_RELROs after its first program header, which becomes `p`.
///
/// A PT_LOAD that is not writable is all `text` (PF_X) or all `rodata`: RELRO
/// applies to writable segments only. A writable one that shares no page with
/// another PT_LOAD has in `full`, the layout of the whole file, the labels it has
/// alone. [`label::image`] is called only for the others (tests check both
/// shortcuts against it).
fn segment_kind(
    alone: &mut ElfInfo,
    p: &Phdr,
    page: PageSize,
    full: Option<&[Label]>,
) -> Option<Cow<'static, str>> {
    if !p.is_load() || p.memsz == 0 {
        return None;
    }
    if !p.writable() {
        // The overflow checks of the image: its pages must have an end.
        page.up(p.vaddr.checked_add(p.filesz)?)?;
        page.up(p.vaddr.checked_add(p.memsz)?)?;
        return Some(Cow::Borrowed(if p.executable() {
            Kind::Text.as_str()
        } else {
            Kind::Rodata.as_str()
        }));
    }
    let own = |labels: &[Label]| {
        kinds_text(
            labels
                .iter()
                .filter(|l| l.segment == Some(p.index))
                .map(|l| l.kind),
        )
    };
    if let Some(full) = full {
        return own(full);
    }
    alone.phdrs[0] = *p;
    own(&labels(alone, page)?)
}

/// Whether another PT_LOAD's pages meet those of `p` (or an address overflows, so
/// that the answer is not known).
fn shares_pages(info: &ElfInfo, p: &Phdr, page: PageSize) -> bool {
    let pages = |q: &Phdr| -> Option<(u64, u64)> {
        Some((page.down(q.vaddr), page.up(q.vaddr.checked_add(q.memsz)?)?))
    };
    let Some((start, end)) = pages(p) else {
        return true;
    };
    info.loads()
        .filter(|q| q.index != p.index)
        .any(|q| pages(q).is_none_or(|(s, e)| s < end && start < e))
}

/// Distinct kinds in order of appearance, joined by `+`; borrowed for the joins
/// writable segments have.
fn kinds_text(kinds: impl Iterator<Item = Kind>) -> Option<Cow<'static, str>> {
    const KNOWN: [(&[Kind], &str); 6] = [
        (&[Kind::Relro, Kind::Data], "relro+data"),
        (&[Kind::Relro, Kind::Data, Kind::Bss], "relro+data+bss"),
        (&[Kind::Data], "data"),
        (&[Kind::Data, Kind::Bss], "data+bss"),
        (&[Kind::Relro], "relro"),
        (&[Kind::Bss], "bss"),
    ];
    // Distinct kinds are at most every kind: no allocation, no overflow.
    let mut seen = [Kind::Gap; Kind::ALL.len()];
    let mut n = 0;
    for k in kinds {
        if !seen[..n].contains(&k) && n < seen.len() {
            seen[n] = k;
            n += 1;
        }
    }
    let all = &seen[..n];
    if all.is_empty() {
        return None;
    }
    if let Some((_, text)) = KNOWN.iter().find(|(ks, _)| *ks == all) {
        return Some(Cow::Borrowed(text));
    }
    let names: Vec<&str> = all.iter().map(|k| k.as_str()).collect();
    Some(Cow::Owned(names.join("+")))
}

/// readelf's section-to-segment mapping: for each section header 1.. (section 0 is
/// not a section), whether each segment holds it, section after section; an error
/// (the warning) when there are too many pairs to compute it.
fn pairs(info: &ElfInfo, shdrs: &[Shdr]) -> Result<Vec<bool>, String> {
    let n_sections = shdrs.len().saturating_sub(1);
    let n_segments = info.phdrs.len();
    let pairs = (n_sections as u64).saturating_mul(n_segments as u64);
    if pairs > MAX_MAPPING_PAIRS {
        return Err(format!(
            "{n_sections} sections x {n_segments} segments: section-to-segment mapping not computed"
        ));
    }
    let mut out = Vec::with_capacity(pairs as usize);
    for s in shdrs.iter().skip(1) {
        out.extend(info.phdrs.iter().map(|p| section_in_segment(s, p)));
    }
    Ok(out)
}

/// 0, 1, 2, ...: the one-element lists of segment indices a section borrows.
static SMALL_INDICES: [usize; 64] = {
    let mut a = [0; 64];
    let mut i = 0;
    while i < a.len() {
        a[i] = i;
        i += 1;
    }
    a
};

/// The sections of the report (section headers 1..), their names moved out of
/// `shdrs`, and the mapping both ways from `pairs` (none when it was not computed).
fn map_sections(
    shdrs: Vec<Shdr>,
    segments: &mut [Segment],
    pairs: Option<&[bool]>,
) -> Vec<Section> {
    let n = segments.len();
    if let Some(pairs) = pairs {
        for (j, seg) in segments.iter_mut().enumerate() {
            let held = |(i, s): (usize, &Shdr)| pairs[i * n + j].then_some(s.index);
            let count = shdrs.iter().skip(1).enumerate().filter_map(held).count();
            seg.sections = Vec::with_capacity(count);
            seg.sections
                .extend(shdrs.iter().skip(1).enumerate().filter_map(held));
        }
    }
    shdrs
        .into_iter()
        .skip(1)
        .enumerate()
        .map(|(i, s)| {
            let holders = pairs.map_or(&[][..], |p| &p[i * n..(i + 1) * n]);
            let held = || {
                segments
                    .iter()
                    .zip(holders)
                    .filter_map(|(seg, &b)| b.then_some(seg.index))
            };
            let in_segments = match held().count() {
                0 => Cow::Borrowed(&[][..]),
                1 => {
                    let j = held().next().unwrap_or_default();
                    match SMALL_INDICES.get(j..=j) {
                        Some(one) => Cow::Borrowed(one),
                        None => Cow::Owned(vec![j]),
                    }
                }
                count => {
                    let mut v = Vec::with_capacity(count);
                    v.extend(held());
                    Cow::Owned(v)
                }
            };
            Section {
                index: s.index,
                name: s.name.map(|n| match n {
                    // Borrowed names are the known ones: found again, not checked.
                    Cow::Borrowed(b) => match elf::known_section_name(b) {
                        Some(t) => Cow::Borrowed(t),
                        None => crate::vocab::escape::text(b),
                    },
                    Cow::Owned(v) => {
                        Cow::Owned(String::from_utf8(v).unwrap_or_else(|e| {
                            crate::vocab::escape::text(e.as_bytes()).into_owned()
                        }))
                    }
                }),
                sh_type: s.sh_type,
                sh_flags: s.flags,
                addr: s.addr,
                offset: s.offset,
                size: s.size,
                segments: in_segments,
            }
        })
        .collect()
}

/// Keeps the output bounded on hostile files: at most [`MAX_FINDINGS_PER_KIND`] of
/// each kind, and a warning saying how many more there were.
fn cap_findings(findings: &mut Vec<Finding>) -> Option<String> {
    let mut seen = [0usize; 7];
    let mut dropped = 0usize;
    findings.retain(|f| {
        let n = &mut seen[f.kind.slot()];
        *n += 1;
        if *n > MAX_FINDINGS_PER_KIND {
            dropped += 1;
        }
        *n <= MAX_FINDINGS_PER_KIND
    });
    (dropped > 0).then(|| {
        format!("{dropped} more findings not listed (at most {MAX_FINDINGS_PER_KIND} of each kind)")
    })
}

/// Why a file given to `layout` is not reported.
enum Unreported {
    /// Not ELF at all: skipped.
    NotElf(String),
    /// A damaged ELF file, or one that could not be opened or read.
    Error(String),
}

/// Runs `elfmaps layout` over `paths` with pages of `page` bytes: every readable ELF
/// file is reported, every file that is not ELF is skipped, every other one is an
/// error; one bad file never stops the others.
pub(crate) fn run(paths: &[impl AsRef<Path>], page: PageSize) -> Layouts {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Layouts {
        schema_version: SCHEMA_VERSION,
        page_size: page,
        files: Vec::with_capacity(paths.len()),
        errors: Vec::new(),
        skipped: Vec::new(),
    };
    for path in paths {
        let path = path.as_ref();
        let (list, message) = match inspect_path(path, page) {
            Ok(o) => {
                out.files.push(o);
                continue;
            }
            Err(Unreported::NotElf(m)) => (&mut out.skipped, m),
            Err(Unreported::Error(m)) => (&mut out.errors, m),
        };
        let (path, path_bytes) = lossy(path.as_os_str().as_bytes());
        list.push(FileError {
            path,
            path_bytes,
            message,
        });
    }
    out
}

fn inspect_path(path: &Path, page: PageSize) -> Result<FileLayout, Unreported> {
    use std::os::unix::ffi::OsStrExt;
    match files::open_checked(path, files::Links::Follow, None) {
        Ok(files::Checked::Opened(Opened::Regular { file, .. })) => {
            match inspect(&*file, path.as_os_str().as_bytes(), page) {
                Ok(o) => Ok(o),
                Err(e @ ElfError::NotElf) => Err(Unreported::NotElf(e.to_string())),
                Err(e) => Err(Unreported::Error(e.to_string())),
            }
        }
        Ok(files::Checked::Opened(Opened::Device)) => {
            Err(Unreported::Error("a device, not a regular file".into()))
        }
        Ok(files::Checked::Opened(Opened::NotRegular(what))) => {
            Err(Unreported::Error(format!("{what}, not a regular file")))
        }
        Ok(files::Checked::Opened(Opened::Failed(e) | Opened::Replaced(e) | Opened::Remote(e))) => {
            Err(Unreported::Error(e))
        }
        Ok(files::Checked::Other { what, .. }) => {
            Err(Unreported::Error(format!("{what}, not the file named")))
        }
        Err(e) => Err(Unreported::Error(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::elf::{
        PT_DYNAMIC, PT_GNU_RELRO, PT_GNU_STACK, PT_LOAD, SHF_ALLOC, SHT_NOBITS,
    };

    pub(super) fn phdr(
        index: usize,
        p_type: u32,
        flags: u32,
        o: u64,
        v: u64,
        fs: u64,
        ms: u64,
    ) -> Phdr {
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

    pub(super) fn shdr(
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
            name: Some(Cow::Owned(name.as_bytes().to_vec())),
            sh_type,
            flags,
            addr,
            offset: off,
            size,
            link: 0,
        }
    }

    pub(super) const A: u64 = SHF_ALLOC;

    pub(super) fn info(e_type: u16, phdrs: Vec<Phdr>) -> ElfInfo {
        ElfInfo {
            class: 64,
            little_endian: true,
            e_type,
            machine: 62,
            phdrs,
            build_id: None,
            interp: None,
        }
    }

    fn kinds(fs: &[Finding]) -> Vec<&'static str> {
        fs.iter().map(|f| f.kind.as_str()).collect()
    }

    /// Issue 10: the headers of a file in three reads (its first bytes once, then the
    /// section table with the names before it, and PT_DYNAMIC), four when the names
    /// are elsewhere, with the results of the readers that read on their own.
    #[test]
    fn headers_in_three_reads() {
        struct Counting(Vec<u8>, std::cell::Cell<usize>);
        impl ReadAt for Counting {
            fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
                self.1.set(self.1.get() + 1);
                self.0[..].read_at(buf, offset)
            }
        }
        // The names 256 bytes before the table.
        let synth = synth(true, true, false).bytes();
        let f = Counting(synth.clone(), Default::default());
        let h = read_headers(&f).unwrap();
        assert_eq!(f.1.get(), 3);
        assert_eq!(h.sections, Some(elf::read_sections(&synth[..]).unwrap()));
        assert!(h.warnings.is_empty() && h.dynamic.is_some());
        // Where the names are is the test binary's linker's choice.
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let f = Counting(exe.clone(), Default::default());
        let h = read_headers(&f).unwrap();
        let t = h.sections.as_ref().unwrap();
        let shoff = u64::from_le_bytes(exe[40..48].try_into().unwrap());
        let names = &t.sections[usize::from(u16::from_le_bytes([exe[62], exe[63]]))];
        let near = names.offset >= shoff.saturating_sub(512) && names.offset + names.size <= shoff;
        assert_eq!(f.1.get(), if near { 3 } else { 4 });
        assert_eq!(h.info, elf::read(&exe[..]).unwrap());
        assert_eq!(h.sections, Some(elf::read_sections(&exe[..]).unwrap()));
        assert_eq!(h.dynamic, elf::read_dynamic(&exe[..], &h.info).unwrap());
        assert!(h.sections.unwrap().sections.len() > 10 && h.dynamic.is_some());
        // A file shorter than the first read: that read only (and the one that finds
        // its end).
        let small: Vec<u8> = exe[..elf::HEAD_BYTES / 2].to_vec();
        let f = Counting(small.clone(), Default::default());
        let a = read_headers(&f).map(|h| (h.info, h.sections, h.dynamic, h.warnings));
        assert_eq!(f.1.get(), 2);
        let b = elf::read(&small[..]).map(|i| {
            let s = elf::read_sections(&small[..]).ok();
            let d = elf::read_dynamic(&small[..], &i).ok().flatten();
            (i, s, d)
        });
        assert_eq!(
            format!("{:?}", a.map(|x| (x.0, x.1, x.2))),
            format!("{b:?}")
        );
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
        let o = build(h, b"/usr/bin/cat", PageSize::KIB4);
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
            let o = inspect(&bytes[..], b"synth", PageSize::KIB4).unwrap();
            let what = format!("is64 {is64} le {le} xnum {xnum}");
            assert!(o.warnings.is_empty(), "{what}: {:?}", o.warnings);
            assert_eq!(
                (o.class, o.endian.as_str()),
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
        let o = inspect(&s.bytes()[..], b"synth", PageSize::KIB4).unwrap();
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
            let o = inspect(&good[..cut], b"cut", PageSize::KIB4).unwrap();
            assert_eq!(o.segments.len(), 5, "cut {cut}");
            assert!(!o.warnings.is_empty(), "cut {cut}");
        }
        // A section count far over the cap, from section 0's sh_size.
        let mut huge = synth(true, true, true).bytes();
        huge[0x900 + 32..0x900 + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let o = inspect(&huge[..], b"huge", PageSize::KIB4).unwrap();
        assert!(
            o.sections.is_empty()
                && o.warnings[0].code == Code::SectionsUnreadable
                && o.warnings[0].message.contains("section headers"),
            "{:?}",
            o.warnings
        );
        assert_eq!(o.warnings[0].object.as_deref(), Some("huge"));
        // A name table index out of range: sections without names.
        let mut bad = synth(true, true, false).bytes();
        bad[62..64].copy_from_slice(&100u16.to_le_bytes());
        let o = inspect(&bad[..], b"bad", PageSize::KIB4).unwrap();
        assert_eq!(o.sections.len(), 6);
        assert!(o.sections.iter().all(|s| s.name.is_none()));
        assert_eq!(o.warnings[0].code, Code::SectionsUnreadable);
        assert!(
            o.warnings[0].message.contains("section names"),
            "{:?}",
            o.warnings
        );
        // A wrong e_shentsize.
        let mut ent = synth(true, true, false).bytes();
        ent[58..60].copy_from_slice(&40u16.to_le_bytes());
        let o = inspect(&ent[..], b"ent", PageSize::KIB4).unwrap();
        assert!(o.sections.is_empty() && !o.warnings.is_empty());
        // Cuts inside the headers are errors, never panics.
        for cut in 0..0x40 + 5 * 56 {
            assert!(
                inspect(&good[..cut], b"cut", PageSize::KIB4).is_err(),
                "cut {cut}"
            );
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
                    let _ = inspect(&b[..], b"x", PageSize::KIB4);
                }
            }
        }
    }

    /// The kinds of a PT_LOAD as before issue 10: from [`label::image`] for every
    /// segment, joined by `+` in a String.
    fn segment_kind_by_image(alone: &mut ElfInfo, p: &Phdr, page: PageSize) -> Option<String> {
        if !p.is_load() || p.memsz == 0 {
            return None;
        }
        alone.phdrs[0] = *p;
        let labels = labels(alone, page)?;
        let mut kinds = String::new();
        for l in labels.iter().filter(|l| l.segment == Some(p.index)) {
            let k = l.kind.as_str();
            if !kinds.split('+').any(|x| x == k) {
                if !kinds.is_empty() {
                    kinds.push('+');
                }
                kinds.push_str(k);
            }
        }
        (!kinds.is_empty()).then_some(kinds)
    }

    /// Issue 10: the kinds of a segment without the image for read-only ones, and
    /// joined without allocation, are the kinds the image gives, on segments of every
    /// flag, size and place (page ends, address overflow) with and without RELRO.
    #[test]
    fn segment_kinds_as_the_image_gives_them() {
        let page = PageSize::KIB4;
        let places = [
            0u64,
            1,
            0xfff,
            0x1000,
            0x1800,
            0x2fff,
            u64::MAX - 0x1fff,
            u64::MAX - 0xfff,
            u64::MAX - 1,
            u64::MAX,
        ];
        let sizes = [
            0u64,
            1,
            0x7ff,
            0x1000,
            0x1001,
            0x2800,
            u64::MAX - 0x1000,
            u64::MAX,
        ];
        let relros: [&[(u64, u64)]; 4] = [
            &[],
            &[(0x1000, 0x1800)],
            &[(0, 0x3000)],
            &[(0x800, 0x1000), (0x1800, 0x2000)],
        ];
        let mut checked = 0;
        for relro in relros {
            let mut phdrs = vec![phdr(0, PT_LOAD, 0, 0, 0, 0, 0)];
            for (i, &(v, m)) in relro.iter().enumerate() {
                phdrs.push(phdr(i + 1, PT_GNU_RELRO, 4, v, v, m, m));
            }
            let mut alone = info(3, phdrs);
            let mut before = alone.clone();
            for flags in 0..8 {
                for &v in &places {
                    for &fs in &sizes {
                        for &ms in &sizes {
                            let p = phdr(0, PT_LOAD, flags, v, v, fs, ms);
                            let got = segment_kind(&mut alone, &p, page, None);
                            let want = segment_kind_by_image(&mut before, &p, page);
                            assert_eq!(got.as_deref(), want.as_deref(), "{p:?} {relro:?}");
                            checked += usize::from(want.is_some());
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
        // Kinds beyond the joins writable segments have are joined in order.
        let ks = [Kind::Text, Kind::Gap, Kind::Text, Kind::Rodata];
        assert_eq!(
            kinds_text(ks.into_iter()).as_deref(),
            Some("text+gap+rodata")
        );
        assert_eq!(kinds_text(std::iter::empty()), None);
        let all = Kind::ALL.into_iter().chain(Kind::ALL);
        let joined: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds_text(all).as_deref(), Some(&*joined.join("+")));
    }

    /// Issue 10: the kinds of every PT_LOAD of a file, taken from the whole file's
    /// layout where no other PT_LOAD shares its pages, are those of the image of
    /// each alone, on files of up to four PT_LOADs of any flags, overlapping or not,
    /// with and without RELRO.
    #[test]
    fn segment_kinds_from_the_whole_layout() {
        let page = PageSize::KIB4;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut from_full = 0;
        for _ in 0..20_000 {
            let mut phdrs = Vec::new();
            for i in 0..1 + next(4) as usize {
                let v = next(6) * 0x800 + next(3) * 0x10;
                let ms = next(4) * 0x900;
                let fs = ms.min(next(3) * 0x700);
                phdrs.push(phdr(i, PT_LOAD, next(8) as u32, v, v, fs, ms));
            }
            for _ in 0..next(3) {
                let v = next(8) * 0x600;
                let m = next(4) * 0x800;
                phdrs.push(phdr(phdrs.len(), PT_GNU_RELRO, 4, v, v, m, m));
            }
            let file = info(3, phdrs);
            let full = labels(&file, page);
            let got = segments(&file, page, false, full.as_deref());
            let mut alone = file.clone();
            alone.phdrs.retain(|p| p.is_relro());
            alone.phdrs.insert(0, file.phdrs[0]);
            for (s, p) in got.iter().zip(&file.phdrs) {
                let want = segment_kind_by_image(&mut alone, p, page);
                assert_eq!(
                    s.kind.as_deref(),
                    want.as_deref(),
                    "{p:?} in {:?}",
                    file.phdrs
                );
                from_full += usize::from(p.writable() && !shares_pages(&file, p, page));
            }
        }
        assert!(from_full > 1000, "{from_full}");
    }

    /// Issue 10: a section in one segment borrows its list; in none, two or more, or
    /// in a segment numbered past the borrowed lists, it is the same list.
    #[test]
    fn small_index_lists() {
        assert!(SMALL_INDICES.iter().enumerate().all(|(i, &v)| i == v));
        let mut segments: Vec<Segment> = (0..70)
            .map(|index| Segment {
                index,
                type_name: Cow::Borrowed("LOAD"),
                p_type: PT_LOAD,
                offset: 0,
                vaddr: 0,
                paddr: 0,
                filesz: 0,
                memsz: 0,
                flags: 0,
                align: 0,
                kind: None,
                sections: Vec::new(),
            })
            .collect();
        let shdrs: Vec<Shdr> = (0..5).map(|i| shdr(i, ".s", 1, A, 0, 0, 0)).collect();
        // Section 1 in segment 3, 2 in none, 3 in 5 and 6, 4 in 69.
        let mut pairs = vec![false; 4 * 70];
        for (sec, seg) in [(1, 3), (3, 5), (3, 6), (4, 69)] {
            pairs[(sec - 1) * 70 + seg] = true;
        }
        let out = map_sections(shdrs, &mut segments, Some(&pairs));
        let lists: Vec<&[usize]> = out.iter().map(|s| &*s.segments).collect();
        assert_eq!(lists, [&[3][..], &[], &[5, 6], &[69]]);
        assert!(matches!(out[0].segments, Cow::Borrowed(_)));
        assert_eq!(segments[5].sections, [3]);
        assert_eq!(segments[69].sections, [4]);
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
        let o = inspect(&f[..], b"many", PageSize::KIB4).unwrap();
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
        let o = build(h, b"x", PageSize::KIB4);
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

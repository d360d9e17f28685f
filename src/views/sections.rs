//! `elfmaps sections`: inside a segment, which sections are resident (issue 12 §1).
//!
//! Pure: a view of a [`Report`] (which regions are which object's, of which kind and
//! segment), each object's section headers, and the residency of the maps lines that
//! hold its regions. Each allocated section (`SHF_ALLOC`) is placed in the process
//! with the object's load bias, and its `resident` bytes are counted from the
//! residency of the pages it covers:
//!
//! - a page shared by several sections counts for each by the bytes of it that the
//!   section covers, so a section's `resident` is at most its `size`;
//! - only pages of the section's own segment count (the regions of the object whose
//!   `segment` is the one holding the section's first byte);
//! - `.bss`-like sections (`SHT_NOBITS`) count from the anonymous mapping past the
//!   file, as the BSS does in `map` (its regions carry the data segment); `.tbss`
//!   (`SHT_NOBITS` and `SHF_TLS`) takes no memory in the image: 0.
//!
//! Per segment, `resident` is its resident pages times the page size, and
//! `unsectioned` what no section covers of them (ELF headers in the first page,
//! padding between sections): the segment's sections plus `unsectioned` sum to the
//! segment's `resident` exactly. docs/sections.md says the same for users.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::input::elf::{SectionTable, Shdr};
use crate::report::{Region, Report};
use crate::vocab::names::lossy;
use crate::vocab::{Code, Kind, PageSize, Residency, Warning, figures};

/// Bumped on any incompatible change of the JSON of [`Sections`].
pub const SCHEMA_VERSION: u32 = 1;

/// `SHF_ALLOC`: the section occupies memory at run time.
const SHF_ALLOC: u64 = 0x2;
/// `SHF_TLS`: thread-local storage (its template; `.tbss` occupies nothing).
const SHF_TLS: u64 = 0x400;
/// `SHT_NOBITS`: no bytes in the file (`.bss`).
const SHT_NOBITS: u32 = 8;

/// The report of `elfmaps sections`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Sections {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The process, when live or recorded.
    pub pid: Option<u32>,
    /// The page size residency is counted in.
    pub page_size: u64,
    /// The ELF objects asked for, in the report's order.
    pub objects: Vec<ObjectSections>,
    /// The map report's warnings, then those of the sections.
    pub warnings: Vec<Warning>,
}

/// The sections of one loaded object.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ObjectSections {
    /// The maps path.
    pub path: String,
    /// The GNU build ID in hex, when the file has one.
    pub build_id: Option<String>,
    /// Its allocated sections in section header order (empty without section headers).
    pub sections: Vec<Section>,
    /// Its segments as mapped: what the sections sum to.
    pub segments: Vec<SegmentResidency>,
}

/// One allocated section of a loaded object.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Section {
    /// Its name (text form, [`crate::vocab::escape::text`]; empty when the names cannot be read).
    pub name: String,
    /// Its index in the section header table.
    pub index: usize,
    /// First address in the process (`sh_addr` plus the load bias).
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// `sh_size`.
    pub size: u64,
    /// The kind of the memory it lies in (`bss` for `SHT_NOBITS`); null when no region
    /// of the object holds its first byte.
    pub kind: Option<Kind>,
    /// Program header index of the PT_LOAD that holds it; null when not mapped.
    pub segment: Option<usize>,
    /// Bytes of it on resident pages (module docs); null when residency is unknown.
    pub resident: Option<u64>,
    /// Resident pages it touches; null when residency is unknown.
    pub resident_pages: Option<u64>,
    /// Per page of the section, whether it is resident (`--pages`); empty otherwise.
    #[serde(skip)]
    pub pages: Vec<bool>,
}

/// The residency of one segment of an object, over its regions.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SegmentResidency {
    /// Program header index of the PT_LOAD.
    pub segment: usize,
    /// First address of its regions.
    pub start: u64,
    /// End of its regions (exclusive).
    pub end: u64,
    /// Resident pages times the page size; null when residency is unknown.
    pub resident: Option<u64>,
    /// Resident pages.
    pub resident_pages: Option<u64>,
    /// Resident bytes that no section covers (headers, padding): `resident` minus
    /// the sum of its sections' `resident`.
    pub unsectioned: Option<u64>,
}

/// Why an object's section headers were not read: the report of it then has its
/// segments only, with a warning that says this.
#[derive(Debug)]
#[non_exhaustive]
pub enum Unread {
    /// No line of the object is backed by a file that could be opened.
    NoFileLine,
    /// The file was not opened: why, as the source said it.
    NotOpened(String),
    /// The file is not a readable ELF file.
    Elf(crate::input::elf::ElfError),
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unread::NoFileLine => f.write_str("no file-backed line"),
            Unread::NotOpened(why) => f.write_str(why),
            Unread::Elf(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Unread {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Unread::Elf(e) => Some(e),
            _ => None,
        }
    }
}

/// What [`sections`] needs of one object besides the report.
#[derive(Debug)]
#[non_exhaustive]
pub struct ObjectInput {
    /// Index into [`Report::objects`].
    pub object: usize,
    /// Its section headers, or why they could not be read.
    pub table: Result<SectionTable, Unread>,
}

impl ObjectInput {
    /// The input for object `object` with section headers `table`.
    pub fn new(object: usize, table: Result<SectionTable, Unread>) -> ObjectInput {
        ObjectInput { object, table }
    }
}

/// Builds the sections report. `residency(line)` gives the residency of the maps
/// line numbered `line` (1-based, [`Region::line`]), `None` when unknown; `pages_of`
/// names a section whose page map to fill ([`Section::pages`]); `every_page` fills
/// the page map of every section (for [`union`]).
pub fn sections(
    report: &Report,
    inputs: Vec<ObjectInput>,
    residency: &dyn Fn(usize) -> Option<Residency>,
    pages_of: Option<&str>,
    every_page: bool,
) -> Sections {
    let page = PageSize::new(report.page_size).unwrap_or(PageSize::KIB4);
    let mut warnings = report.warnings.clone();
    let mut objects = Vec::new();
    for input in inputs {
        let Some(obj) = report.objects.get(input.object) else {
            continue;
        };
        let regions: Vec<(&Region, Option<Residency>)> = report
            .regions
            .iter()
            .filter(|r| r.instance == Some(input.object))
            .map(|r| (r, residency(r.line)))
            .collect();
        let headers: Vec<&Shdr> = match &input.table {
            Ok(t) => {
                if let Some(p) = &t.names_problem {
                    warnings.push(warning(&obj.path, format!("section names: {p}")));
                }
                let alloc: Vec<&Shdr> = t
                    .sections
                    .iter()
                    .filter(|s| s.flags & SHF_ALLOC != 0)
                    .collect();
                if alloc.is_empty() {
                    warnings.push(warning(
                        &obj.path,
                        "has no section headers (stripped to the program headers?): its segments only".into(),
                    ));
                }
                alloc
            }
            Err(e) => {
                warnings.push(warning(
                    &obj.path,
                    format!("section headers unreadable ({e}): its segments only"),
                ));
                Vec::new()
            }
        };
        let list: Vec<Section> = headers
            .iter()
            .map(|s| section(s, obj.bias, &regions, page, pages_of, every_page))
            .collect();
        let segments = segments(&regions, &list, page);
        objects.push(ObjectSections {
            path: obj.path.clone(),
            build_id: obj.build_id.clone(),
            sections: list,
            segments,
        });
    }
    Sections {
        schema_version: SCHEMA_VERSION,
        pid: report.pid,
        page_size: page.get(),
        objects,
        warnings,
    }
}

fn warning(path: &str, message: String) -> Warning {
    Warning {
        code: Code::SectionsUnreadable,
        object: Some(path.to_string()),
        message,
    }
}

/// One section placed in the process, with its residency.
fn section(
    s: &Shdr,
    bias: u64,
    regions: &[(&Region, Option<Residency>)],
    page: PageSize,
    pages_of: Option<&str>,
    every_page: bool,
) -> Section {
    let name = s.name.as_deref().map(|n| lossy(n).0).unwrap_or_default();
    let start = bias.wrapping_add(s.addr);
    let end = start.saturating_add(s.size);
    let holder = regions
        .iter()
        .find(|(r, _)| r.start <= start && start < r.end.max(r.start + 1));
    let segment = holder.and_then(|(r, _)| r.segment);
    let nobits = s.sh_type == SHT_NOBITS;
    let kind = match holder {
        _ if nobits && s.flags & SHF_TLS == 0 => Some(Kind::Bss),
        Some((r, _)) => Some(r.kind),
        None => None,
    };
    let mut out = Section {
        name,
        index: s.index,
        start,
        end,
        size: s.size,
        kind,
        segment,
        resident: Some(0),
        resident_pages: Some(0),
        pages: Vec::new(),
    };
    // .tbss takes no memory of the image; an unmapped section has nothing resident.
    if (nobits && s.flags & SHF_TLS != 0) || segment.is_none() || s.size == 0 {
        return out;
    }
    let want_pages = every_page || pages_of == Some(out.name.as_str());
    let p = page.get();
    let first_page = page.down(start);
    if want_pages {
        // Up to the end of the segment's regions: pages past them are never resident,
        // and a section that claims more than its segment (hostile headers) would
        // otherwise cost a page map of its claim, for each of thousands of sections.
        let mapped = regions
            .iter()
            .filter(|(r, _)| r.segment == segment)
            .map(|(r, _)| r.end)
            .max()
            .unwrap_or(start);
        let last = end.min(mapped);
        let n = page.up(last).unwrap_or(last).saturating_sub(first_page) / p;
        out.pages = vec![false; usize::try_from(n.min(1 << 24)).unwrap_or(0)];
    }
    let (mut bytes, mut pages) = (0u64, 0u64);
    for (r, res) in regions.iter().filter(|(r, _)| r.segment == segment) {
        let (a, e) = (start.max(r.start), end.min(r.end));
        if a >= e {
            continue;
        }
        let Some(res) = res else {
            out.resident = None;
            out.resident_pages = None;
            return out;
        };
        // Only the runs from the section's first page on: a segment of 100k sections
        // would otherwise walk every run of the line for each (issue 19 §10).
        let shift = page.get().trailing_zeros();
        for run in res.present_runs_from(a.saturating_sub(res.start()) >> shift) {
            let (Some(rs), Some(re)) = (
                run.start
                    .checked_mul(p)
                    .and_then(|x| x.checked_add(res.start())),
                run.end
                    .checked_mul(p)
                    .and_then(|x| x.checked_add(res.start())),
            ) else {
                continue;
            };
            if rs >= e {
                break;
            }
            let (s0, e0) = (rs.max(a), re.min(e));
            if s0 >= e0 {
                continue;
            }
            bytes += e0 - s0;
            let (pd, pu) = (page.down(s0), page.up(e0).unwrap_or(e0));
            pages += (pu - pd) / p;
            if want_pages {
                for k in (pd - first_page) / p..(pu - first_page) / p {
                    if let Some(x) = out.pages.get_mut(k as usize) {
                        *x = true;
                    }
                }
            }
        }
    }
    out.resident = Some(bytes);
    out.resident_pages = Some(pages);
    out
}

/// The residency of each segment over the object's regions, and what its sections
/// leave uncovered.
fn segments(
    regions: &[(&Region, Option<Residency>)],
    sections: &[Section],
    page: PageSize,
) -> Vec<SegmentResidency> {
    let mut out: Vec<SegmentResidency> = Vec::new();
    for (r, res) in regions {
        let Some(seg) = r.segment else { continue };
        let present = res.as_ref().map(|res| res.count(r.start, r.end).present);
        match out.iter_mut().find(|s| s.segment == seg) {
            Some(s) => {
                s.start = s.start.min(r.start);
                s.end = s.end.max(r.end);
                s.resident_pages = figures::sum(s.resident_pages, present);
            }
            None => out.push(SegmentResidency {
                segment: seg,
                start: r.start,
                end: r.end,
                resident: None,
                resident_pages: present,
                unsectioned: None,
            }),
        }
    }
    for s in &mut out {
        s.resident = s.resident_pages.and_then(|n| n.checked_mul(page.get()));
        let covered = sections
            .iter()
            .filter(|x| x.segment == Some(s.segment))
            .try_fold(0u64, |acc, x| acc.checked_add(x.resident?));
        s.unsectioned = s.resident.zip(covered).and_then(|(a, b)| a.checked_sub(b));
    }
    out.sort_by_key(|s| s.start);
    out
}

/// `sections --union`: per section of each object, the union of its resident pages
/// over every process that maps the object, beside their sum.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SectionsUnion {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `"sections-union"`: what tells this document from a process's `sections`.
    pub kind: &'static str,
    /// The page size residency is counted in.
    pub page_size: u64,
    /// The processes read that map a selected object, in PID order.
    pub processes: Vec<u32>,
    /// The selected objects, keyed by path and build ID, in the order first seen.
    pub objects: Vec<UnionObject>,
    /// The warnings of the processes' reports (each once) and of the scan.
    pub warnings: Vec<Warning>,
}

/// One object across processes.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UnionObject {
    /// The maps path.
    pub path: String,
    /// The GNU build ID in hex, when the file has one.
    pub build_id: Option<String>,
    /// The processes that map it.
    pub pids: Vec<u32>,
    /// Its allocated sections in section header order.
    pub sections: Vec<UnionSection>,
}

/// One section across the processes that map its object.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UnionSection {
    /// Its name.
    pub name: String,
    /// Its index in the section header table.
    pub index: usize,
    /// `sh_size`.
    pub size: u64,
    /// The kind of the memory it lies in (as in [`Section::kind`], first process).
    pub kind: Option<Kind>,
    /// Program header index of the PT_LOAD that holds it.
    pub segment: Option<usize>,
    /// Bytes of it on pages resident in at least one process (a page counts by the
    /// bytes of it the section covers); null when one process's residency is unknown.
    pub resident_union: Option<u64>,
    /// Pages of it resident in at least one process.
    pub resident_pages_union: Option<u64>,
    /// The sum over processes of their `resident` (as `sections PID` gives it).
    pub resident_sum: Option<u64>,
    /// The sum over processes of their `resident_pages`.
    pub resident_pages_sum: Option<u64>,
}

/// Folds the sections reports of several processes (made with `every_page`) into
/// [`SectionsUnion`]. Pages are matched by their place in the section: a load bias is
/// a multiple of the page size, so page `k` of a section is the same file page in
/// every process. For pages private to each process (`.bss`, written data) the union
/// counts places, not copies: the sum says how many copies there are.
pub fn union(page_size: u64, runs: Vec<Sections>, mut warnings: Vec<Warning>) -> SectionsUnion {
    struct Acc {
        out: UnionSection,
        start_in_page: u64,
        pages: Option<Vec<bool>>,
    }
    // Objects, their sections and the warnings are found by key, not by a search of
    // the ones met (issue 19 §10: 60k sections took 6.1 s, each looked for among all).
    let mut objects: Vec<(UnionObject, Vec<Acc>, HashMap<usize, usize>)> = Vec::new();
    let mut object_at: HashMap<(String, Option<String>), usize> = HashMap::new();
    let mut seen: HashSet<(Code, Option<String>, String)> = warnings
        .iter()
        .map(|w| (w.code, w.object.clone(), w.message.clone()))
        .collect();
    let mut processes = Vec::new();
    let p = page_size.max(1);
    for run in runs {
        let pid = run.pid.unwrap_or(0);
        if !run.objects.is_empty() {
            processes.push(pid);
        }
        for w in run.warnings {
            if seen.insert((w.code, w.object.clone(), w.message.clone())) {
                warnings.push(w);
            }
        }
        for o in run.objects {
            let at = *object_at
                .entry((o.path.clone(), o.build_id.clone()))
                .or_insert_with(|| {
                    objects.push((
                        UnionObject {
                            path: o.path.clone(),
                            build_id: o.build_id.clone(),
                            pids: Vec::new(),
                            sections: Vec::new(),
                        },
                        Vec::new(),
                        HashMap::new(),
                    ));
                    objects.len() - 1
                });
            let (obj, accs, acc_at) = &mut objects[at];
            obj.pids.push(pid);
            for x in o.sections {
                let known = x.resident.is_some();
                let acc = match acc_at.get(&x.index) {
                    Some(&i) => &mut accs[i],
                    None => {
                        acc_at.insert(x.index, accs.len());
                        accs.push(Acc {
                            out: UnionSection {
                                name: x.name.clone(),
                                index: x.index,
                                size: x.size,
                                kind: x.kind,
                                segment: x.segment,
                                resident_union: Some(0),
                                resident_pages_union: Some(0),
                                resident_sum: Some(0),
                                resident_pages_sum: Some(0),
                            },
                            start_in_page: x.start % p,
                            pages: Some(Vec::new()),
                        });
                        accs.last_mut().expect("just pushed")
                    }
                };
                let o = &mut acc.out;
                o.resident_sum = figures::sum(o.resident_sum, x.resident);
                o.resident_pages_sum = figures::sum(o.resident_pages_sum, x.resident_pages);
                match (&mut acc.pages, known) {
                    (Some(pages), true) => {
                        if pages.len() < x.pages.len() {
                            pages.resize(x.pages.len(), false);
                        }
                        for (k, &r) in x.pages.iter().enumerate() {
                            pages[k] |= r;
                        }
                    }
                    _ => acc.pages = None,
                }
            }
        }
    }
    let objects = objects
        .into_iter()
        .map(|(mut obj, accs, _)| {
            obj.sections = accs
                .into_iter()
                .map(|mut a| {
                    let (bytes, pages) = match &a.pages {
                        None => (None, None),
                        Some(pages) => {
                            let (mut bytes, mut n) = (0u64, 0u64);
                            for (k, _) in pages.iter().enumerate().filter(|(_, r)| **r) {
                                // Page k covers the section's bytes [k*p - s, (k+1)*p - s).
                                let k = k as u64;
                                let lo = (k * p).saturating_sub(a.start_in_page);
                                let hi = ((k + 1) * p - a.start_in_page).min(a.out.size);
                                bytes += hi.saturating_sub(lo);
                                n += 1;
                            }
                            (Some(bytes), Some(n))
                        }
                    };
                    a.out.resident_union = bytes;
                    a.out.resident_pages_union = pages;
                    a.out
                })
                .collect();
            obj
        })
        .collect();
    SectionsUnion {
        schema_version: SCHEMA_VERSION,
        kind: "sections-union",
        page_size,
        processes,
        objects,
        warnings,
    }
}

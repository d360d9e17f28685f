//! `elfmaps symbols`: resident bytes per symbol (issue 24, docs/symbols.md).
//!
//! Pure: a view of a [`Sections`] report made with every section's page map, and each
//! object's symbol table. Each symbol is placed in the process with the object's
//! load bias, in the allocated section that holds its first byte (cut at the
//! section's end), and counted by the rule of [`crate::views::sections`]: each
//! resident page of the section adds the bytes of it that the symbol covers.
//!
//! Every byte of a section belongs to exactly one row, as in Bloaty's range map:
//!
//! - symbols are taken in address order (at one address, the longest first, then
//!   global before weak before local, then by name); a symbol wholly inside bytes an
//!   earlier one took is an alias of the row that holds its first byte
//!   ([`SymbolRow::aliases`]); one that overlaps the end of an earlier one starts
//!   where that one ends;
//! - the bytes of a section that no symbol covers are its `[unnamed]` row.
//!
//! So the rows of a section sum to the section: `size` to its `size`, `resident` to
//! its `resident` exactly.
//!
//! [`cut`] keeps the most resident rows of each section and sums the rest into one
//! [`OTHER`] row, which keeps that property: the page of `report --symbols` embeds it.

use serde::Serialize;

use crate::input::symbols::{Symbol, SymbolTable, TableKind};
use crate::views::sections::{Section, Sections};
use crate::vocab::matching::file_name;
use crate::vocab::names::lossy;
use crate::vocab::{Code, Kind, PageSize, Warning};

/// Bumped on any incompatible change of the JSON of [`Symbols`].
pub const SCHEMA_VERSION: u32 = 1;

/// The name of the row of the bytes of a section no symbol covers.
pub const UNNAMED: &str = "[unnamed]";

/// Longest demangled name kept; a longer one is left mangled (`demangled` null).
const MAX_DEMANGLED: usize = 16 << 10;

/// Aliases listed per row at most (the rest are counted in the name list's last
/// entry).
const MAX_ALIASES: usize = 16;

/// The report of `elfmaps symbols`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Symbols {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The process, when live or recorded.
    pub pid: Option<u32>,
    /// The page size residency is counted in.
    pub page_size: u64,
    /// What rows are: `"symbol"`, or `"compile-unit"` or `"file"` (`--by`, from
    /// DWARF).
    pub by: &'static str,
    /// The ELF objects asked for, in the report's order.
    pub objects: Vec<ObjectSymbols>,
    /// The sections report's warnings, then those of the symbols.
    pub warnings: Vec<Warning>,
}

/// Where an object's symbols came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SymbolsFrom {
    /// The object's own `.symtab`.
    Symtab,
    /// The `.symtab` of a debug file found by build ID under `/usr/lib/debug/.build-id`.
    DebugBuildId,
    /// The `.symtab` of a debug file found by the object's `.gnu_debuglink`.
    DebugLink,
    /// The object's `.dynsym` (exported symbols only: a stripped object without a
    /// debug file).
    Dynsym,
    /// `--by`: the object's own DWARF (with a debug file, `debug-build-id` or
    /// `debug-link` say where the DWARF came from).
    Dwarf,
    /// No symbols: every section is one `[unnamed]` row.
    None,
}

impl SymbolsFrom {
    /// As JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolsFrom::Symtab => "symtab",
            SymbolsFrom::DebugBuildId => "debug-build-id",
            SymbolsFrom::DebugLink => "debug-link",
            SymbolsFrom::Dynsym => "dynsym",
            SymbolsFrom::Dwarf => "dwarf",
            SymbolsFrom::None => "none",
        }
    }
}

/// The symbols of one loaded object.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ObjectSymbols {
    /// The file name of its path.
    pub object: String,
    /// The maps path.
    pub path: String,
    /// The GNU build ID in hex, when the file has one.
    pub build_id: Option<String>,
    /// Which table served the symbols.
    pub symbols_from: SymbolsFrom,
    /// The debug file read, when one was (its path inside the root or sysroot).
    pub debug_file: Option<String>,
    /// Its rows, by resident bytes (most first; unknown last), then address.
    pub symbols: Vec<SymbolRow>,
}

/// One row: a symbol, or what no symbol covers of a section.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SymbolRow {
    /// The symbol's name as in the table (lossy UTF-8), or [`UNNAMED`].
    pub name: String,
    /// The demangled name (Rust or C++), when the name is mangled.
    pub demangled: Option<String>,
    /// First address in the process of the bytes this row holds.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Bytes this row holds (`end - start` for a symbol; for `[unnamed]`, the bytes
    /// of the section no symbol covers, spread over the section).
    pub size: u64,
    /// The section that holds it.
    pub section: String,
    /// The kind of memory of the section.
    pub kind: Option<Kind>,
    /// Bytes of it on resident pages; null when unknown.
    pub resident: Option<u64>,
    /// Resident pages it touches; null when unknown.
    pub resident_pages: Option<u64>,
    /// Other symbols wholly inside the bytes of this row.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// What [`symbols`] needs of one object besides its sections.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ObjectInput {
    /// The object's load bias.
    pub bias: u64,
    /// Its symbols, when a table was read.
    pub table: Option<SymbolTable>,
    /// Which table that is.
    pub from: SymbolsFrom,
    /// The debug file read, if one was.
    pub debug_file: Option<String>,
    /// Why there are no symbols from a `.symtab`, for a warning.
    pub why_not: Option<String>,
    /// Rows were asked from DWARF (`--by`): the warning says DWARF is missing.
    pub wanted_dwarf: bool,
}

impl ObjectInput {
    /// The input of an object at load bias `bias` with `table` from `from`.
    pub fn new(bias: u64, table: Option<SymbolTable>, from: SymbolsFrom) -> ObjectInput {
        ObjectInput {
            bias,
            table,
            from,
            debug_file: None,
            why_not: None,
            wanted_dwarf: false,
        }
    }
}

/// Builds the symbols report from `sections` (made with every section's page map)
/// and one input per object of it, in its order. `kinds`, when given, keeps only the
/// rows of sections of those kinds.
pub fn symbols(sections: Sections, inputs: Vec<ObjectInput>, kinds: Option<&[Kind]>) -> Symbols {
    let page = PageSize::new(sections.page_size).unwrap_or(PageSize::KIB4);
    let mut warnings = sections.warnings;
    let mut objects = Vec::new();
    for (obj, input) in sections.objects.into_iter().zip(inputs) {
        if let Some(t) = &input.table {
            if let Some(p) = &t.problem {
                warnings.push(Warning::new(
                    Code::SymbolsUnavailable,
                    Some(obj.path.clone()),
                    format!("symbol table: {p}"),
                ));
            }
            if t.dropped > 0 {
                warnings.push(Warning::new(
                    Code::LimitReached,
                    Some(obj.path.clone()),
                    format!(
                        "{} symbols past the first {} not read",
                        t.dropped,
                        crate::input::symbols::MAX_SYMBOLS
                    ),
                ));
            }
        }
        let dwarf = input
            .table
            .as_ref()
            .is_some_and(|t| t.from == TableKind::Dwarf);
        if matches!(input.from, SymbolsFrom::Dynsym | SymbolsFrom::None) {
            let what = if input.from == SymbolsFrom::Dynsym {
                "exported symbols only (.dynsym)"
            } else if input.wanted_dwarf {
                "no DWARF: one [unnamed] row per section"
            } else {
                "no symbols: one [unnamed] row per section"
            };
            let why = input
                .why_not
                .as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            warnings.push(Warning::new(
                Code::SymbolsUnavailable,
                Some(obj.path.clone()),
                format!(
                    "{}{why}: {what}; {}",
                    if input.wanted_dwarf {
                        "no DWARF in the object or a debug file"
                    } else {
                        "stripped, no debug file found"
                    },
                    package_hint(&obj.path)
                ),
            ));
        }
        let mut secs: Vec<&Section> = obj
            .sections
            .iter()
            .filter(|s| s.size > 0 && s.name != ".tbss")
            .collect();
        secs.sort_by_key(|s| (s.start, s.index));
        // Symbols per section, placed by address.
        let mut per: Vec<Vec<Placed>> = vec![Vec::new(); secs.len()];
        if let Some(t) = &input.table {
            for s in &t.symbols {
                let start = input.bias.wrapping_add(s.value);
                let at = secs.partition_point(|x| x.start <= start);
                let Some(i) = at.checked_sub(1) else { continue };
                let sec = secs[i];
                if start >= sec.end {
                    continue;
                }
                let end = start.saturating_add(s.size).min(sec.end);
                per[i].push(Placed {
                    start,
                    end,
                    sym: *s,
                });
            }
        }
        let mut rows = Vec::new();
        for (sec, mut placed) in secs.iter().zip(per) {
            if kinds.is_some_and(|k| !sec.kind.is_some_and(|x| k.contains(&x))) {
                continue;
            }
            rows.extend(section_rows(sec, &mut placed, input.table.as_ref(), page));
        }
        if dwarf {
            rows = merge(rows);
        }
        rows.sort_by(|a, b| {
            b.resident
                .is_some()
                .cmp(&a.resident.is_some())
                .then(b.resident.cmp(&a.resident))
                .then(a.start.cmp(&b.start))
        });
        objects.push(ObjectSymbols {
            object: file_name(&obj.path).to_string(),
            path: obj.path,
            build_id: obj.build_id,
            symbols_from: input.from,
            debug_file: input.debug_file,
            symbols: rows,
        });
    }
    Symbols {
        schema_version: SCHEMA_VERSION,
        pid: sections.pid,
        page_size: page.get(),
        by: "symbol",
        objects,
        warnings,
    }
}

/// The name of the row that stands for the rows of a section [`cut`] left out.
pub const OTHER: &str = "[other]";

/// A symbols report cut to at most `top` rows per section of each object (the
/// first, so the most resident, in the report's order), plus one [`OTHER`] row per
/// section for the rows left out, so that a section's rows still sum to the section:
/// `size` exactly, `resident` exactly (null if a row left out has it unknown). Its
/// `resident_pages` is null: pages shared by two rows left out would count twice.
/// Its `start` and `end` span the rows it stands for. `report --symbols` embeds it.
///
/// When even that is too large for the page, only the `objects` most resident
/// objects are kept (in the report's order); `objects_left_out` counts the others.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Cut {
    /// The rows kept per section at most.
    pub top_per_section: usize,
    /// Objects of the report left out, the least resident.
    pub objects_left_out: usize,
    /// The report, cut.
    #[serde(flatten)]
    pub symbols: Symbols,
}

/// [`Cut`] of `s`: at most `top` rows per section, of the `objects` most resident
/// objects (ties: the first in the report).
pub fn cut(s: &Symbols, top: usize, objects: usize) -> Cut {
    let mut out = s.clone();
    let mut left_out = 0;
    if objects < out.objects.len() {
        let resident =
            |o: &ObjectSymbols| -> u64 { o.symbols.iter().filter_map(|r| r.resident).sum() };
        let mut order: Vec<usize> = (0..out.objects.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(resident(&out.objects[i])));
        let mut keep = vec![false; out.objects.len()];
        for &i in order.iter().take(objects) {
            keep[i] = true;
        }
        left_out = out.objects.len() - objects;
        let mut k = keep.into_iter();
        out.objects.retain(|_| k.next().unwrap_or(false));
    }
    for obj in &mut out.objects {
        let mut kept = Vec::new();
        // Per section (by name, in order of first row): rows kept, and the other row.
        let mut seen: Vec<(String, usize)> = Vec::new();
        let mut others: Vec<SymbolRow> = Vec::new();
        for row in std::mem::take(&mut obj.symbols) {
            let at = match seen.iter().position(|(name, _)| *name == row.section) {
                Some(i) => i,
                None => {
                    seen.push((row.section.clone(), 0));
                    seen.len() - 1
                }
            };
            if seen[at].1 < top {
                seen[at].1 += 1;
                kept.push(row);
                continue;
            }
            match others.iter_mut().find(|o| o.section == row.section) {
                Some(o) => {
                    o.start = o.start.min(row.start);
                    o.end = o.end.max(row.end);
                    o.size += row.size;
                    o.resident = o.resident.zip(row.resident).map(|(a, b)| a + b);
                }
                None => others.push(SymbolRow {
                    name: OTHER.to_string(),
                    demangled: None,
                    start: row.start,
                    end: row.end,
                    size: row.size,
                    section: row.section,
                    kind: row.kind,
                    resident: row.resident,
                    resident_pages: None,
                    aliases: Vec::new(),
                }),
            }
        }
        kept.extend(others);
        obj.symbols = kept;
    }
    Cut {
        top_per_section: top,
        objects_left_out: left_out,
        symbols: out,
    }
}

/// `symbols --union`: per row of each object, its resident bytes and pages in at
/// least one of the processes that map it, beside their sum.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SymbolsUnion {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `"symbols-union"`.
    pub kind: &'static str,
    /// The page size residency is counted in.
    pub page_size: u64,
    /// What rows are, as in [`Symbols::by`].
    pub by: &'static str,
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
    /// The file name of its path.
    pub object: String,
    /// The maps path.
    pub path: String,
    /// The GNU build ID in hex, when the file has one.
    pub build_id: Option<String>,
    /// Which table served the symbols (in the first process).
    pub symbols_from: SymbolsFrom,
    /// The debug file read, when one was.
    pub debug_file: Option<String>,
    /// The processes that map it.
    pub pids: Vec<u32>,
    /// Its rows, by union resident bytes (most first), then offset.
    pub symbols: Vec<UnionRow>,
}

/// One row across the processes that map its object.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UnionRow {
    /// As in [`SymbolRow::name`].
    pub name: String,
    /// As in [`SymbolRow::demangled`].
    pub demangled: Option<String>,
    /// Its first address in the file (`start` less the load bias: the same in every
    /// process).
    pub offset: u64,
    /// As in [`SymbolRow::size`].
    pub size: u64,
    /// As in [`SymbolRow::section`].
    pub section: String,
    /// As in [`SymbolRow::kind`].
    pub kind: Option<Kind>,
    /// Bytes of it on pages resident in at least one process; null when one
    /// process's residency is unknown.
    pub resident_union: Option<u64>,
    /// Pages of it resident in at least one process.
    pub resident_pages_union: Option<u64>,
    /// The sum over processes of their `resident`.
    pub resident_sum: Option<u64>,
    /// The sum over processes of their `resident_pages`.
    pub resident_pages_sum: Option<u64>,
}

/// Folds the sections reports (made with every section's page map) and symbol
/// inputs of several processes into [`SymbolsUnion`]. Pages are matched by their
/// place in their section, as [`crate::views::sections::union`] matches them (a load
/// bias is a multiple of the page size); the rows of the union are those of one
/// report whose sections hold the union of the processes' pages, the sums those of
/// each process's rows matched by name, section and offset.
pub fn union(
    page_size: u64,
    runs: Vec<(Sections, Vec<ObjectInput>)>,
    mut warnings: Vec<Warning>,
    kinds: Option<&[Kind]>,
) -> SymbolsUnion {
    type Sums = std::collections::HashMap<(String, String, u64), (Option<u64>, Option<u64>)>;
    struct Acc {
        template: crate::views::sections::ObjectSections,
        input: ObjectInput,
        pids: Vec<u32>,
        /// Per section (by index): the union of its pages; None when unknown.
        pages: Vec<(usize, Option<Vec<bool>>)>,
        sums: Sums,
    }
    let p = page_size.max(1);
    let mut accs: Vec<Acc> = Vec::new();
    let mut processes = Vec::new();
    for (run, inputs) in runs {
        let pid = run.pid.unwrap_or(0);
        if !run.objects.is_empty() {
            processes.push(pid);
        }
        for w in run.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        for (o, input) in run.objects.into_iter().zip(inputs) {
            // This process's rows, for the sums.
            let one = Sections {
                schema_version: SCHEMA_VERSION,
                pid: run.pid,
                page_size,
                objects: vec![o.clone()],
                warnings: Vec::new(),
            };
            let bias = input.bias;
            let rows = symbols(one, vec![input.clone()], kinds);
            let at = match accs
                .iter()
                .position(|a| a.template.path == o.path && a.template.build_id == o.build_id)
            {
                Some(i) => i,
                None => {
                    accs.push(Acc {
                        pages: o
                            .sections
                            .iter()
                            .map(|x| (x.index, Some(Vec::new())))
                            .collect(),
                        template: o.clone(),
                        input,
                        pids: Vec::new(),
                        sums: Sums::new(),
                    });
                    accs.len() - 1
                }
            };
            let acc = &mut accs[at];
            acc.pids.push(pid);
            for x in &o.sections {
                let Some((_, slot)) = acc.pages.iter_mut().find(|(i, _)| *i == x.index) else {
                    continue;
                };
                match (slot.as_mut(), x.resident.is_some()) {
                    (Some(u), true) => {
                        if u.len() < x.pages.len() {
                            u.resize(x.pages.len(), false);
                        }
                        for (k, &r) in x.pages.iter().enumerate() {
                            u[k] |= r;
                        }
                    }
                    _ => *slot = None,
                }
            }
            for obj in rows.objects {
                for r in obj.symbols {
                    let key = (r.name, r.section, r.start.wrapping_sub(bias));
                    let e = acc.sums.entry(key).or_insert((Some(0), Some(0)));
                    e.0 = crate::vocab::figures::sum(e.0, r.resident);
                    e.1 = crate::vocab::figures::sum(e.1, r.resident_pages);
                }
            }
        }
    }
    let mut objects = Vec::new();
    for mut acc in accs {
        // The template's sections hold the union of the pages.
        for x in &mut acc.template.sections {
            let Some((_, slot)) = acc.pages.iter().find(|(i, _)| *i == x.index) else {
                continue;
            };
            match slot {
                None => {
                    x.resident = None;
                    x.resident_pages = None;
                }
                Some(u) => {
                    let start_in_page = x.start % p;
                    let (mut bytes, mut n) = (0u64, 0u64);
                    for (k, _) in u.iter().enumerate().filter(|(_, r)| **r) {
                        let k = k as u64;
                        let lo = (k * p).saturating_sub(start_in_page);
                        let hi = ((k + 1) * p - start_in_page).min(x.size);
                        bytes += hi.saturating_sub(lo);
                        n += 1;
                    }
                    if x.resident.is_some() {
                        x.resident = Some(bytes);
                        x.resident_pages = Some(n);
                    }
                    x.pages = u.clone();
                }
            }
        }
        let bias = acc.input.bias;
        let one = Sections {
            schema_version: SCHEMA_VERSION,
            pid: None,
            page_size,
            objects: vec![acc.template],
            warnings: Vec::new(),
        };
        let rows = symbols(one, vec![acc.input], kinds);
        for o in rows.objects {
            let mut symbols: Vec<UnionRow> = o
                .symbols
                .into_iter()
                .map(|r| {
                    let offset = r.start.wrapping_sub(bias);
                    let sum = acc
                        .sums
                        .get(&(r.name.clone(), r.section.clone(), offset))
                        .copied()
                        .unwrap_or((None, None));
                    UnionRow {
                        name: r.name,
                        demangled: r.demangled,
                        offset,
                        size: r.size,
                        section: r.section,
                        kind: r.kind,
                        resident_union: r.resident,
                        resident_pages_union: r.resident_pages,
                        resident_sum: sum.0,
                        resident_pages_sum: sum.1,
                    }
                })
                .collect();
            symbols.sort_by(|a, b| {
                b.resident_union
                    .is_some()
                    .cmp(&a.resident_union.is_some())
                    .then(b.resident_union.cmp(&a.resident_union))
                    .then(a.offset.cmp(&b.offset))
            });
            objects.push(UnionObject {
                object: o.object,
                path: o.path,
                build_id: o.build_id,
                symbols_from: o.symbols_from,
                debug_file: o.debug_file,
                pids: acc.pids.clone(),
                symbols,
            });
        }
    }
    SymbolsUnion {
        schema_version: SCHEMA_VERSION,
        kind: "symbols-union",
        page_size,
        by: "symbol",
        processes,
        objects,
        warnings,
    }
}

/// Rows of DWARF ranges merged by name and section: a compile unit or file has many
/// ranges. `start` and `end` are the first and last address of its ranges, `size`
/// and `resident` their sums; `resident_pages` the sum of theirs (a page two of its
/// ranges share counts twice).
fn merge(rows: Vec<SymbolRow>) -> Vec<SymbolRow> {
    let mut at: std::collections::HashMap<(String, String), usize> =
        std::collections::HashMap::new();
    let mut out: Vec<SymbolRow> = Vec::new();
    for r in rows {
        match at.get(&(r.name.clone(), r.section.clone())) {
            Some(&i) => {
                let m = &mut out[i];
                m.start = m.start.min(r.start);
                m.end = m.end.max(r.end);
                m.size += r.size;
                m.resident = crate::vocab::figures::sum(m.resident, r.resident);
                m.resident_pages = crate::vocab::figures::sum(m.resident_pages, r.resident_pages);
            }
            None => {
                at.insert((r.name.clone(), r.section.clone()), out.len());
                out.push(SymbolRow {
                    demangled: None,
                    aliases: Vec::new(),
                    ..r
                });
            }
        }
    }
    out
}

/// A symbol placed in the process, cut at its section's end.
#[derive(Debug, Clone, Copy)]
struct Placed {
    start: u64,
    end: u64,
    sym: Symbol,
}

/// The rows of one section: its symbols as a partition of its bytes, then
/// `[unnamed]` for the rest.
fn section_rows(
    sec: &Section,
    placed: &mut [Placed],
    table: Option<&SymbolTable>,
    page: PageSize,
) -> Vec<SymbolRow> {
    let name_of = |p: &Placed| -> &[u8] { table.map_or(&[][..], |t| t.name(&p.sym)) };
    // Global (1) before weak (2) before local (0) and the rest.
    let rank = |b: u8| match b {
        1 => 0,
        2 => 1,
        _ => 2,
    };
    placed.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(rank(a.sym.bind).cmp(&rank(b.sym.bind)))
            .then(name_of(a).cmp(name_of(b)))
    });
    let mut rows: Vec<SymbolRow> = Vec::new();
    let mut covered = sec.start;
    let (mut gap_bytes, mut gap_size) = (Some(0u64), 0u64);
    let mut gap_pages = Some(0u64);
    let mut last_gap_page: Option<u64> = None;
    let mut gap = |a: u64, e: u64, last: &mut Option<u64>| {
        if a >= e {
            return;
        }
        gap_size += e - a;
        let (b, _) = resident_of(sec, a, e, page);
        gap_bytes = gap_bytes.zip(b).map(|(x, y)| x + y);
        // Pages: each resident page touched by the section's uncovered bytes, once.
        gap_pages = match (gap_pages, resident_pages_from(sec, a, e, page, last)) {
            (Some(x), Some(y)) => Some(x + y),
            _ => None,
        };
    };
    for p in placed.iter() {
        if p.end <= covered {
            if let Some(row) = rows.last_mut().filter(|r| p.start < r.end)
                && row.aliases.len() < MAX_ALIASES
            {
                row.aliases.push(lossy(name_of(p)).0);
            }
            continue;
        }
        let start = p.start.max(covered);
        gap(covered, start, &mut last_gap_page);
        let (resident, resident_pages) = resident_of(sec, start, p.end, page);
        let name = lossy(name_of(p)).0;
        rows.push(SymbolRow {
            demangled: demangle(&name),
            name,
            start,
            end: p.end,
            size: p.end - start,
            section: sec.name.clone(),
            kind: sec.kind,
            resident,
            resident_pages,
            aliases: Vec::new(),
        });
        covered = p.end;
    }
    gap(covered, sec.end, &mut last_gap_page);
    if gap_size > 0 {
        rows.push(SymbolRow {
            name: UNNAMED.into(),
            demangled: None,
            start: sec.start,
            end: sec.end,
            size: gap_size,
            section: sec.name.clone(),
            kind: sec.kind,
            resident: gap_bytes,
            resident_pages: gap_pages,
            aliases: Vec::new(),
        });
    }
    rows
}

/// The resident bytes and pages of `[a, e)` inside section `sec`, from its page map.
fn resident_of(sec: &Section, a: u64, e: u64, page: PageSize) -> (Option<u64>, Option<u64>) {
    let mut last = None;
    let pages = resident_pages_from(sec, a, e, page, &mut last);
    let Some(_) = sec.resident else {
        return (None, None);
    };
    let p = page.get();
    let first = page.down(sec.start);
    let mut bytes = 0u64;
    // Pages past the page map are not resident: the work is bounded by the map (at
    // most 2^24 pages), whatever sizes hostile headers give.
    for k in page_span(sec, a, e, page) {
        let lo = first + k as u64 * p;
        if sec.pages[k] {
            bytes += e.min(lo.saturating_add(p)) - a.max(lo);
        }
    }
    (Some(bytes), pages)
}

/// The resident pages `[a, e)` of section `sec` touches, not counting the page
/// `last` (the last one counted for an earlier range), which it then updates.
fn resident_pages_from(
    sec: &Section,
    a: u64,
    e: u64,
    page: PageSize,
    last: &mut Option<u64>,
) -> Option<u64> {
    sec.resident?;
    let mut n = 0u64;
    for k in page_span(sec, a, e, page) {
        if sec.pages[k] && *last != Some(k as u64) {
            n += 1;
            *last = Some(k as u64);
        }
    }
    Some(n)
}

/// The indices into `sec.pages` of the pages `[a, e)` touches (`a` and `e` inside
/// the section), cut at the end of the page map.
fn page_span(sec: &Section, a: u64, e: u64, page: PageSize) -> std::ops::Range<usize> {
    let p = page.get();
    let first = page.down(sec.start);
    let from = (page.down(a) - first) / p;
    let to = (page.up(e).unwrap_or(u64::MAX) - first).div_ceil(p);
    let len = sec.pages.len() as u64;
    (from.min(len) as usize)..(to.min(len) as usize)
}

/// The demangled form of a Rust (legacy or v0) or C++ (Itanium) name, without
/// Rust's hash; `None` when the name is not mangled or too long once demangled.
pub fn demangle(name: &str) -> Option<String> {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        let s = format!("{d:#}");
        return (s.len() <= MAX_DEMANGLED && s != name).then_some(s);
    }
    if !name.starts_with("_Z") {
        return None;
    }
    struct Capped(String);
    impl cpp_demangle::DemangleWrite for Capped {
        fn write_string(&mut self, s: &str) -> std::fmt::Result {
            if self.0.len() + s.len() > MAX_DEMANGLED {
                return Err(std::fmt::Error);
            }
            self.0.push_str(s);
            Ok(())
        }
    }
    let sym = cpp_demangle::Symbol::new(name.as_bytes()).ok()?;
    let mut out = Capped(String::new());
    sym.structured_demangle(&mut out, &cpp_demangle::DemangleOptions::default())
        .ok()?;
    Some(out.0)
}

/// Which Debian package would give the symbols of the object at `path`: glibc's
/// libraries are in `libc6-dbg`; any other's in the `-dbgsym` package of the package
/// that ships it. Named by pattern: finding that package would mean reading dpkg's
/// database (docs/symbols.md says why not).
pub fn package_hint(path: &str) -> String {
    let name = file_name(path);
    const GLIBC: &[&str] = &[
        "libc.so",
        "ld-linux",
        "libm.so",
        "libpthread.so",
        "libdl.so",
        "librt.so",
        "libresolv.so",
        "libanl.so",
        "libutil.so",
        "libmvec.so",
        "libBrokenLocale.so",
        "libnss_",
        "libthread_db.so",
        "libc_malloc_debug.so",
        "libmemusage.so",
    ];
    if GLIBC.iter().any(|g| name.starts_with(g)) {
        "on Debian, `apt install libc6-dbg` gives its symbols".into()
    } else {
        format!(
            "on Debian, the symbols are in the `-dbgsym` package of the package that ships it (`dpkg -S {path}` names it; then `apt install <package>-dbgsym` from the debian-debug archive)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, section: &str, start: u64, size: u64, resident: Option<u64>) -> SymbolRow {
        SymbolRow {
            name: name.into(),
            demangled: None,
            start,
            end: start + size,
            size,
            section: section.into(),
            kind: Some(Kind::Text),
            resident,
            resident_pages: resident.map(|r| r.div_ceil(4096)),
            aliases: Vec::new(),
        }
    }

    /// `report --symbols`: the most resident rows of each section are kept, the rest
    /// are one `[other]` row, and each section's rows still sum to it.
    #[test]
    fn a_cut_keeps_the_top_rows_of_each_section_and_sums_the_rest() {
        let s = Symbols {
            schema_version: SCHEMA_VERSION,
            pid: None,
            page_size: 4096,
            by: "symbol",
            objects: vec![ObjectSymbols {
                object: "lib".into(),
                path: "/lib".into(),
                build_id: None,
                symbols_from: SymbolsFrom::Symtab,
                debug_file: None,
                symbols: vec![
                    row("a", ".text", 0x1000, 300, Some(300)),
                    row("x", ".data", 0x9000, 10, Some(10)),
                    row("b", ".text", 0x2000, 200, Some(200)),
                    row("c", ".text", 0x3000, 100, Some(100)),
                    row("y", ".data", 0x9100, 20, None),
                    row("d", ".text", 0x0800, 50, Some(0)),
                ],
            }],
            warnings: Vec::new(),
        };
        let c = cut(&s, 1, 1);
        assert_eq!(c.objects_left_out, 0);
        assert_eq!(c.top_per_section, 1);
        let got: Vec<_> = c.symbols.objects[0]
            .symbols
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.section.as_str(),
                    r.start,
                    r.end,
                    r.size,
                    r.resident,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a", ".text", 0x1000, 0x112c, 300, Some(300)),
                ("x", ".data", 0x9000, 0x900a, 10, Some(10)),
                (OTHER, ".text", 0x0800, 0x3064, 350, Some(300)),
                (OTHER, ".data", 0x9100, 0x9114, 20, None),
            ]
        );
        assert!(c.symbols.objects[0].symbols[2].resident_pages.is_none());
        // Nothing cut: the rows as they were, no [other].
        assert_eq!(cut(&s, 4, 1).symbols.objects[0].symbols.len(), 6);
        // Objects: the most resident kept.
        let mut two = s.clone();
        two.objects.insert(0, s.objects[0].clone());
        two.objects[0].path = "/small".into();
        two.objects[0].symbols.truncate(1);
        let c = cut(&two, 4, 1);
        assert_eq!(c.objects_left_out, 1);
        assert_eq!(c.symbols.objects.len(), 1);
        assert_eq!(c.symbols.objects[0].path, "/lib");
    }

    #[test]
    fn demangles_rust_and_cpp_and_leaves_c_alone() {
        assert_eq!(demangle("main"), None);
        assert_eq!(
            demangle("_ZN3foo3bar17h0123456789abcdefE").as_deref(),
            Some("foo::bar")
        );
        assert_eq!(demangle("_ZN3foo3barEv").as_deref(), Some("foo::bar()"));
        assert_eq!(demangle("_ZZZZZ"), None);
    }

    use crate::input::symbols::{Symbol, SymbolTable, TableKind};
    use crate::views::sections::{ObjectSections, Section, Sections};

    fn section(name: &str, start: u64, size: u64, pages: Vec<bool>) -> Section {
        let p = 4096;
        let resident = (0..pages.len() as u64)
            .filter(|k| pages[*k as usize])
            .map(|k| {
                let lo = (start / p + k) * p;
                (start + size).min(lo + p) - start.max(lo)
            })
            .sum();
        Section {
            name: name.into(),
            index: 1,
            start,
            end: start + size,
            size,
            kind: Some(Kind::Text),
            segment: Some(2),
            resident: Some(resident),
            resident_pages: Some(pages.iter().filter(|x| **x).count() as u64),
            pages,
        }
    }

    fn table(syms: &[(&str, u64, u64, u8)]) -> SymbolTable {
        let mut names = Vec::new();
        let symbols = syms
            .iter()
            .map(|(n, value, size, bind)| {
                let at = names.len() as u32;
                names.extend_from_slice(n.as_bytes());
                Symbol {
                    name_at: at,
                    name_len: n.len() as u32,
                    value: *value,
                    size: *size,
                    bind: *bind,
                    kind: 2,
                }
            })
            .collect();
        SymbolTable {
            from: TableKind::Symtab,
            names,
            symbols,
            dropped: 0,
            problem: None,
        }
    }

    fn report(sec: Section, t: SymbolTable, bias: u64) -> Symbols {
        let s = Sections {
            schema_version: 1,
            pid: Some(1),
            page_size: 4096,
            objects: vec![ObjectSections {
                path: "/lib/libx.so".into(),
                build_id: None,
                sections: vec![sec],
                segments: Vec::new(),
            }],
            warnings: Vec::new(),
        };
        symbols(
            s,
            vec![ObjectInput::new(bias, Some(t), SymbolsFrom::Symtab)],
            None,
        )
    }

    /// Aliases, a partial overlap, a symbol past the section's end and gaps: every
    /// byte in one row, rows sum to the section.
    #[test]
    fn rows_partition_the_section() {
        let bias = 0x7000_0000_0000;
        // .text at 0x1100, 3 pages and a bit; pages 0 and 2 resident.
        let sec = section(
            ".text",
            bias + 0x1100,
            0x3000,
            vec![true, false, true, false],
        );
        let t = table(&[
            ("f", 0x1100, 0x800, 1),
            ("f_alias", 0x1100, 0x800, 2),
            ("inner", 0x1200, 0x10, 0),
            ("g", 0x1800, 0x1000, 1),
            ("overlap", 0x2000, 0x1000, 1),
            ("past_end", 0x3f00, 0x1000, 1),
            ("outside", 0x9000, 0x10, 1),
        ]);
        let v = report(sec.clone(), t, bias);
        let rows = &v.objects[0].symbols;
        let named = |n: &str| rows.iter().find(|r| r.name == n).unwrap();
        assert_eq!(named("f").aliases, vec!["f_alias", "inner"]);
        assert_eq!(named("overlap").start, bias + 0x2800);
        assert_eq!(named("past_end").end, bias + 0x4100);
        assert!(rows.iter().all(|r| r.name != "outside"));
        let size: u64 = rows.iter().map(|r| r.size).sum();
        let resident: u64 = rows.iter().map(|r| r.resident.unwrap()).sum();
        assert_eq!((size, resident), (sec.size, sec.resident.unwrap()));
        // f: [0x1100, 0x1900) on resident page 0x1000-0x2000: all of it.
        assert_eq!(named("f").resident, Some(0x800));
        // g starts where f ends: [0x1900, 0x2800), 0x700 bytes on page 0 (resident),
        // none on page 1.
        assert_eq!(named("g").resident, Some(0x700));
        assert_eq!(named("g").resident_pages, Some(1));
        // What no symbol covers: [0x3000, 0x3f00).
        assert_eq!(named(UNNAMED).size, 0xf00);
    }

    /// A hostile section a petabyte long with a page map of 4 pages: the work is
    /// bounded by the map, not the size.
    #[test]
    fn a_huge_section_costs_its_page_map() {
        let sec = section(".text", 0x1000, 1 << 50, vec![true, false, false, true]);
        let t = table(&[("all", 0x1000, 1 << 50, 1), ("tail", 0x2000, 1 << 49, 1)]);
        let v = report(sec, t, 0);
        let rows = &v.objects[0].symbols;
        let resident: u64 = rows.iter().map(|r| r.resident.unwrap()).sum();
        assert_eq!(resident, 2 * 4096);
        assert_eq!(rows[0].name, "all");
    }

    #[test]
    fn glibc_is_libc6_dbg() {
        assert!(package_hint("/usr/lib/x86_64-linux-gnu/libc.so.6").contains("libc6-dbg"));
        assert!(package_hint("/usr/lib/libz.so.1").contains("-dbgsym"));
    }
}

//! The pipeline of `elfmaps symbols` (issue 24, docs/symbols.md): the sections report
//! with every section's page map ([`super::sections`]), then each selected object's
//! symbols: its own `.symtab`, else the `.symtab` of its debug file (by build ID, then
//! `.gnu_debuglink`, under the root given: `/` live, the sysroot offline;
//! [`crate::source::debug`]), else its `.dynsym`; handed to [`crate::views::symbols`].
//! Live, or offline from a snapshot taken with `snapshot --symbols` (the same as
//! `--sections`: the residency of every line of every object).

use std::collections::HashMap;
use std::path::Path;

use super::Error;
use super::sections::{Select, live_parts, of_report, offline_parts};
use crate::input::dwarf::{self, By};
use crate::input::elf;
use crate::input::maps::Mapping;
use crate::input::snapshot::Snapshot;
use crate::input::symbols::{TableKind, read_debuglink, read_symbols};
use crate::report::Report;
use crate::source::debug::{self, DebugVia};
use crate::source::{Opened, Source, SysrootSource};
use crate::views::symbols::{ObjectInput, Symbols, SymbolsFrom, SymbolsUnion, symbols, union};
use crate::vocab::Kind;

/// Which objects and rows to show, and where debug files are.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct SymbolsSelect<'a> {
    /// Whether an object (by maps path) is wanted.
    pub object: &'a dyn Fn(&str) -> bool,
    /// Only rows of sections of these kinds (`--kind`).
    pub kinds: Option<&'a [Kind]>,
    /// The root under which debug files are looked for (`/usr/lib/debug/...`).
    pub debug_root: &'a Path,
    /// Rows by compile unit or source file, from DWARF (`--by`), instead of symbols.
    pub by: Option<By>,
}

/// The symbols report of the live process `pid`.
pub fn symbols_live(pid: u32, select: SymbolsSelect<'_>) -> Result<Symbols, Error> {
    let (mappings, report, mut target) = live_parts(pid)?;
    Ok(of_parts(&mappings, &report, &mut target, select, None))
}

/// The symbols report of a snapshot taken with `snapshot --symbols` (or
/// `--sections`), its files and debug files looked up under `sysroot`.
pub fn symbols_offline(
    snap: Snapshot,
    sysroot: &Path,
    select: SymbolsSelect<'_>,
) -> Result<Symbols, Error> {
    let (mappings, report, mut target, warning) = offline_parts(snap, sysroot)?;
    let select = SymbolsSelect {
        debug_root: sysroot,
        ..select
    };
    Ok(of_parts(&mappings, &report, &mut target, select, warning))
}

fn of_parts(
    mappings: &[Mapping],
    report: &Report,
    target: &mut dyn Source,
    select: SymbolsSelect<'_>,
    warning: Option<crate::report::Warning>,
) -> Symbols {
    let (sections, inputs) = parts(mappings, report, target, select, warning);
    let mut out = symbols(sections, inputs, select.kinds);
    out.by = by_name(select.by);
    out
}

/// `symbols --union`: the selected live processes (as `system` selects them) that
/// map a selected object, each read as `symbols PID` reads it, folded by
/// [`crate::views::symbols::union`]. Each process's symbol tables are read again
/// (a table is the object's, but reading it once per object would need the scan to
/// share open files). Processes that cannot be read are counted in a warning. `Err`
/// when `/proc` cannot be listed.
pub fn symbols_union(
    selection: &super::system::Selection,
    select: SymbolsSelect<'_>,
) -> std::io::Result<SymbolsUnion> {
    let mut runs = Vec::new();
    let mut failed = 0usize;
    let mut sink = |s: super::system::Scanned| {
        if !s.report.objects.iter().any(|o| (select.object)(&o.path)) {
            return;
        }
        match live_parts(s.process.pid) {
            Ok((mappings, report, mut target)) => {
                let (mut x, mut inputs) = parts(&mappings, &report, &mut target, select, None);
                // Objects of no section and no segment (not loaded) are left out.
                let keep: Vec<bool> = x
                    .objects
                    .iter()
                    .map(|o| !o.sections.is_empty() || !o.segments.is_empty())
                    .collect();
                let mut k = keep.iter();
                x.objects.retain(|_| *k.next().unwrap_or(&false));
                let mut k = keep.iter();
                inputs.retain(|_| *k.next().unwrap_or(&false));
                runs.push((x, inputs));
            }
            Err(_) => failed += 1,
        }
    };
    let outcome = super::system::scan(selection, super::system::Mode::Smaps, &mut sink)?;
    let mut warnings = Vec::new();
    if let Some(w) = outcome.skipped.warning() {
        warnings.push(w);
    }
    if failed > 0 {
        warnings.push(crate::report::Warning {
            code: crate::vocab::Code::ProcessSkipped,
            object: None,
            message: format!(
                "{failed} process(es) could not be read again for their symbols (gone in between?)"
            ),
        });
    }
    runs.sort_by_key(|r| r.0.pid);
    let mut out = union(outcome.page_size.get(), runs, warnings, select.kinds);
    out.by = by_name(select.by);
    Ok(out)
}

fn by_name(by: Option<By>) -> &'static str {
    match by {
        None => "symbol",
        Some(By::CompileUnit) => "compile-unit",
        Some(By::File) => "file",
    }
}

/// The sections report (every section's page map) and the symbol inputs of the
/// selected objects of `report`.
fn parts(
    mappings: &[Mapping],
    report: &Report,
    target: &mut dyn Source,
    select: SymbolsSelect<'_>,
    warning: Option<crate::report::Warning>,
) -> (crate::views::sections::Sections, Vec<ObjectInput>) {
    let mut sections = of_report(
        mappings,
        report,
        target,
        Select {
            object: select.object,
            pages_of: None,
            every_page: true,
        },
    );
    sections.warnings.extend(warning);
    let root = SysrootSource::new(select.debug_root).ok();
    let by_line: HashMap<usize, &Mapping> = mappings.iter().map(|m| (m.line, m)).collect();
    let mut inputs = Vec::new();
    for (i, obj) in report.objects.iter().enumerate() {
        if !(select.object)(&obj.path) {
            continue;
        }
        let file = report
            .regions
            .iter()
            .filter(|r| r.instance == Some(i))
            .filter_map(|r| by_line.get(&r.line))
            .find(|m| m.inode != 0)
            .map(|m| target.open(m));
        let mut input = ObjectInput::new(obj.bias, None, SymbolsFrom::None);
        let Some(Opened::Regular { file, .. }) = file else {
            input.why_not = Some("the object's file could not be read".into());
            inputs.push(input);
            continue;
        };
        let table = match elf::read_sections(&*file) {
            Ok(t) => t,
            Err(e) => {
                input.why_not = Some(format!("section headers: {e}"));
                inputs.push(input);
                continue;
            }
        };
        let mut why = Vec::new();
        let id = obj.build_id.as_deref().and_then(unhex);
        let link = read_debuglink(&*file, &table).ok().flatten();
        let debug_file = |why: &mut Vec<String>| {
            let root = root.as_ref()?;
            match debug::find(root, obj.path.as_bytes(), id.as_deref(), link.as_ref()) {
                Ok(d) => d,
                Err(e) => {
                    why.push(e);
                    None
                }
            }
        };
        if let Some(by) = select.by {
            input.wanted_dwarf = true;
            // DWARF of the object, else of its debug file.
            let (got, from, path) = if dwarf::has_dwarf(&table) {
                (
                    Some(dwarf::read_ranges(&*file, &table, by)),
                    SymbolsFrom::Dwarf,
                    None,
                )
            } else {
                match debug_file(&mut why) {
                    Some(d) if dwarf::has_dwarf(&d.sections) => (
                        Some(dwarf::read_ranges(&*d.file, &d.sections, by)),
                        via(d.via),
                        Some(d.path),
                    ),
                    Some(d) => {
                        why.push(format!("{} has no DWARF", d.path));
                        (None, SymbolsFrom::None, None)
                    }
                    None => (None, SymbolsFrom::None, None),
                }
            };
            match got {
                Some(Ok(t)) => {
                    input.table = Some(t);
                    input.from = from;
                    input.debug_file = path;
                }
                Some(Err(e)) => why.push(e),
                None => why.push("no DWARF in the object and no debug file with it".into()),
            }
            input.why_not = (!why.is_empty()).then(|| why.join("; "));
            inputs.push(input);
            continue;
        }
        // 1. The object's own .symtab.
        match read_symbols(&*file, &table, TableKind::Symtab) {
            Ok(Some(t)) if !t.symbols.is_empty() => {
                input.table = Some(t);
                input.from = SymbolsFrom::Symtab;
                inputs.push(input);
                continue;
            }
            Ok(_) => {}
            Err(e) => why.push(format!(".symtab: {e}")),
        }
        // 2. A debug file's .symtab.
        if let Some(d) = debug_file(&mut why) {
            match read_symbols(&*d.file, &d.sections, TableKind::Symtab) {
                Ok(Some(t)) if !t.symbols.is_empty() => {
                    input.table = Some(t);
                    input.from = via(d.via);
                    input.debug_file = Some(d.path);
                    inputs.push(input);
                    continue;
                }
                Ok(_) => why.push(format!("{} has no .symtab", d.path)),
                Err(e) => why.push(format!("{}: {e}", d.path)),
            }
        }
        // 3. The exported symbols.
        match read_symbols(&*file, &table, TableKind::Dynsym) {
            Ok(Some(t)) if !t.symbols.is_empty() => {
                input.table = Some(t);
                input.from = SymbolsFrom::Dynsym;
            }
            Ok(_) => {}
            Err(e) => why.push(format!(".dynsym: {e}")),
        }
        input.why_not = (!why.is_empty()).then(|| why.join("; "));
        inputs.push(input);
    }
    (sections, inputs)
}

fn via(v: DebugVia) -> SymbolsFrom {
    match v {
        DebugVia::BuildId => SymbolsFrom::DebugBuildId,
        DebugVia::Debuglink => SymbolsFrom::DebugLink,
    }
}

/// Bytes of a hex string (a build ID as the report gives it).
fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

//! The pipeline of `elfmaps sections` (issue 12 §1): the map report, then each
//! selected object's section headers (bounded reads of the table and `.shstrtab`
//! only, [`crate::input::elf::read_sections`]) and the residency of every maps line
//! that holds its regions, handed to [`crate::views::sections`]. Live, or offline
//! from a snapshot taken with `snapshot --sections` (which records the residency of
//! every object's lines) and a sysroot.

use std::collections::HashMap;
use std::path::Path;

use super::read::read_mappings;
use super::{Error, analyze};
use crate::input::elf;
use crate::input::maps::{self, Mapping};
use crate::input::snapshot::Snapshot;
use crate::report::{Report, Warning};
use crate::source::proc::{self, Process};
use crate::source::{LiveSource, Opened, Source, SysrootSource};
use crate::views::sections::{ObjectInput, Sections, SectionsUnion, Unread, sections, union};
use crate::vocab::{Code, MapsSource, PageSize, Residency};

/// Which objects and what to show.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct Select<'a> {
    /// Whether an object (by maps path) is wanted.
    pub object: &'a dyn Fn(&str) -> bool,
    /// The section whose page map to fill (`--pages`).
    pub pages_of: Option<&'a str>,
    /// Fill the page map of every section (`--union`).
    pub every_page: bool,
}

/// The sections report of the live process `pid`.
pub fn sections_live(pid: u32, select: Select<'_>) -> Result<Sections, Error> {
    let (mappings, report, mut target) = live_parts(pid)?;
    Ok(of_report(&mappings, &report, &mut target, select))
}

/// The maps lines and map report of the live process `pid`, with its source.
pub(super) fn live_parts(pid: u32) -> Result<(Vec<Mapping>, Report, LiveSource), Error> {
    let mut target = LiveSource(Process::new(pid)?);
    let (mappings, source, _) = read_mappings(&target.0, false)?;
    let report = analyze(
        mappings.clone(),
        source,
        proc::page_size(),
        Some(pid),
        &mut target,
    );
    Ok((mappings, report, target))
}

/// The sections report of a snapshot taken with `snapshot --sections`, its files
/// looked up under `sysroot`.
pub fn sections_offline(
    snap: Snapshot,
    sysroot: &Path,
    select: Select<'_>,
) -> Result<Sections, Error> {
    let (mappings, report, mut target, warning) = offline_parts(snap, sysroot)?;
    let mut out = of_report(&mappings, &report, &mut target, select);
    out.warnings.extend(warning);
    Ok(out)
}

/// The maps lines and map report of a snapshot, with its source (files under
/// `sysroot`), and a warning when the snapshot has the residency of split lines only.
pub(super) fn offline_parts(
    mut snap: Snapshot,
    sysroot: &Path,
) -> Result<(Vec<Mapping>, Report, SysrootSource, Option<Warning>), Error> {
    let text = std::mem::take(&mut snap.smaps);
    let mappings = maps::parse(&text).map_err(|err| Error::Parse {
        input: "snapshot".into(),
        err,
    })?;
    let source = if mappings.iter().any(|m| !m.fields.is_empty()) {
        MapsSource::Smaps
    } else {
        MapsSource::Maps
    };
    let (page, pid) = (snap.page_size, snap.pid);
    // The residency `snapshot --sections` recorded, looked up like the rest.
    let recorded = !snap.sections.is_empty();
    let runs = std::mem::take(&mut snap.sections);
    snap.residency.extend(runs);
    let mut target = SysrootSource::with_snapshot(sysroot, snap);
    let report = analyze(mappings.clone(), source, page, pid, &mut target);
    let warning = (!recorded).then(|| Warning {
        code: Code::ResidencyUnavailable,
        object: None,
        message: "the snapshot was not taken with `snapshot --sections` (or `--symbols`): residency is known only for the lines the analysis split".into(),
    });
    Ok((mappings, report, target, warning))
}

/// Records a snapshot of `pid` as `snapshot` does, plus the residency of every maps
/// line of every ELF object (file mappings and their bss) in
/// [`Snapshot::sections`], for `sections --snapshot`.
pub fn snapshot_sections(pid: u32) -> Result<(Snapshot, Report), Error> {
    let (mut snap, report) = super::snapshot(pid)?;
    let mappings = maps::parse(&snap.smaps).map_err(|err| Error::Parse {
        input: format!("/proc/{pid}/smaps"),
        err,
    })?;
    let by_line: HashMap<usize, &Mapping> = mappings.iter().map(|m| (m.line, m)).collect();
    let mut process = Process::new(pid)?;
    let mut lines: Vec<usize> = report
        .regions
        .iter()
        .filter(|r| r.instance.is_some())
        .map(|r| r.line)
        .collect();
    lines.dedup();
    for line in lines {
        let Some(m) = by_line.get(&line) else {
            continue;
        };
        if let Ok(res) = process.residency(m.start, m.end, snap.page_size) {
            snap.sections.push(res);
        }
    }
    Ok((snap, report))
}

/// `sections --union`: the selected live processes (as `system` selects them) that
/// map a selected object, each read as `sections PID` reads it with the page map of
/// every section, folded by [`crate::views::sections::union`]. Processes that cannot be
/// read (gone, denied, kernel threads) are counted in a warning. `Err` when `/proc`
/// cannot be listed.
pub fn sections_union(
    selection: &super::system::Selection,
    select: Select<'_>,
) -> std::io::Result<SectionsUnion> {
    let select = Select {
        every_page: true,
        ..select
    };
    let mut runs = Vec::new();
    let mut failed = 0usize;
    let mut sink = |s: super::system::Scanned| {
        if !s.report.objects.iter().any(|o| (select.object)(&o.path)) {
            return;
        }
        match sections_live(s.process.pid, select) {
            Ok(mut x) => {
                x.objects
                    .retain(|o| !o.sections.is_empty() || !o.segments.is_empty());
                runs.push(x);
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
        warnings.push(Warning {
            code: Code::ProcessSkipped,
            object: None,
            message: format!(
                "{} could not be read again for their sections (gone in between?)",
                crate::report::scan::processes(failed)
            ),
        });
    }
    runs.sort_by_key(|r| r.pid);
    Ok(union(outcome.page_size.get(), runs, warnings))
}

/// The sections of the selected objects of `report`.
pub(super) fn of_report(
    mappings: &[Mapping],
    report: &Report,
    target: &mut dyn Source,
    select: Select<'_>,
) -> Sections {
    let page = PageSize::new(report.page_size).unwrap_or(PageSize::KIB4);
    let by_line: HashMap<usize, &Mapping> = mappings.iter().map(|m| (m.line, m)).collect();
    let mut inputs = Vec::new();
    let mut residency: HashMap<usize, Option<Residency>> = HashMap::new();
    let mut failed = 0usize;
    for (i, obj) in report.objects.iter().enumerate() {
        if !(select.object)(&obj.path) {
            continue;
        }
        let mut table = Err(Unread::NoFileLine);
        for r in report.regions.iter().filter(|r| r.instance == Some(i)) {
            let Some(m) = by_line.get(&r.line) else {
                continue;
            };
            if table.is_err() && m.inode != 0 {
                table = match target.open(m) {
                    Opened::Regular { file, .. } => elf::read_sections(&*file).map_err(Unread::Elf),
                    Opened::Failed(why) => Err(Unread::NotOpened(why)),
                    other => Err(Unread::NotOpened(format!("not read: {other:?}"))),
                };
            }
            residency.entry(r.line).or_insert_with(|| {
                let got = target.residency(m.start, m.end, page).ok();
                failed += usize::from(got.is_none());
                got
            });
        }
        inputs.push(ObjectInput::new(i, table));
    }
    let mut out = sections(
        report,
        inputs,
        &|line| residency.get(&line).cloned().flatten(),
        select.pages_of,
        select.every_page,
    );
    if failed > 0 {
        out.warnings.push(Warning {
            code: Code::ResidencyUnavailable,
            object: None,
            message: format!(
                "cannot read the residency of {failed} maps line(s): their sections have resident null"
            ),
        });
    }
    out
}

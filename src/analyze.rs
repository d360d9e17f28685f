//! The pipeline of `elfmaps map`: parse the maps text, learn what each mapped file is,
//! attribute, measure split regions, assemble the report.
//!
//! Where the bytes come from is behind [`Target`]: a live process ([`LiveTarget`],
//! through [`crate::proc`]) or, later, saved files and a sysroot. One file that cannot
//! be read becomes a warning and `unknown`/`file` regions; the run goes on.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use crate::attribute::{self, FileFacts, FileKey, Hints};
use crate::elf::{self, ElfError};
use crate::files::{Opened, Via};
use crate::maps::{self, Mapping, NameKind};
use crate::proc::{ProcError, Process};
use crate::report::{self, ObjectExtras, Report, Residency, Warning};

/// Where the files and the residency of a process come from.
pub trait Target {
    /// Opens the file that `m` maps.
    fn open(&mut self, m: &Mapping) -> Opened;
    /// pagemap entries of `[start, end)`.
    fn pagemap(&mut self, start: u64, end: u64, page: u64) -> io::Result<Vec<u64>>;
    /// Facts that help name anonymous memory.
    fn hints(&mut self) -> Hints {
        Hints::default()
    }
}

/// A live process as a [`Target`].
pub struct LiveTarget(pub Process);

impl Target for LiveTarget {
    fn open(&mut self, m: &Mapping) -> Opened {
        self.0.open_mapped(m)
    }
    fn pagemap(&mut self, start: u64, end: u64, page: u64) -> io::Result<Vec<u64>> {
        self.0.pagemap(start, end, page)
    }
    fn hints(&mut self) -> Hints {
        Hints {
            thread_stack_pointers: self.0.thread_stack_pointers(),
        }
    }
}

/// Why `elfmaps map` could not produce a report at all.
#[derive(Debug)]
pub enum Error {
    Proc(ProcError),
    /// A malformed maps/smaps line; `source` names the input.
    Parse {
        source: String,
        err: maps::ParseError,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Proc(e) => e.fmt(f),
            Error::Parse { source, err } => write!(f, "{source}: {err}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ProcError> for Error {
    fn from(e: ProcError) -> Self {
        Error::Proc(e)
    }
}

/// Analyses a live process.
pub fn live(pid: u32) -> Result<Report, Error> {
    let process = Process::new(pid)?;
    let (text, source) = process.read_maps()?;
    let mappings = maps::parse(&text).map_err(|err| Error::Parse {
        source: format!("/proc/{pid}/{source}"),
        err,
    })?;
    let mut target = LiveTarget(process);
    let report = analyze(
        mappings,
        source,
        crate::proc::page_size(),
        Some(pid),
        &mut target,
    );
    if !target.0.alive() {
        return Err(Error::Proc(ProcError::Exited(pid)));
    }
    Ok(report)
}

struct FileRecord {
    facts: FileFacts,
    via: Option<Via>,
}

/// Whether a file-backed mapping names something worth opening as a possible ELF file.
fn worth_opening(m: &Mapping) -> bool {
    match m.name_kind() {
        // SysV segments and shared anonymous memory are never ELF; memfds may be.
        NameKind::Path { path, deleted } => {
            !(path.starts_with(b"/SYSV") || (deleted && path == b"/dev/zero"))
        }
        _ => false,
    }
}

/// Runs the pipeline on parsed mappings.
pub fn analyze(
    mappings: Vec<Mapping>,
    source: &str,
    page_size: u64,
    pid: Option<u32>,
    target: &mut dyn Target,
) -> Report {
    let mut warnings = Vec::new();
    let mut records: HashMap<FileKey, FileRecord> = HashMap::new();
    for m in mappings.iter().filter(|m| m.is_file_backed()) {
        let key = FileKey::of(m);
        if records.contains_key(&key) || !worth_opening(m) {
            continue;
        }
        let name = String::from_utf8_lossy(&m.name).into_owned();
        let record = learn(m, target, &name, &mut warnings);
        records.insert(key, record);
    }
    let facts: HashMap<FileKey, FileFacts> = records
        .iter()
        .map(|(k, r)| (k.clone(), r.facts.clone()))
        .collect();
    let hints = target.hints();
    let attribution = attribute::attribute(&mappings, &facts, page_size, &hints);

    for inst in &attribution.instances {
        if let Some(p) = &inst.problem {
            warnings.push(Warning {
                object: Some(String::from_utf8_lossy(&inst.key.name).into_owned()),
                message: format!("{p}; its regions are labelled unknown"),
            });
        }
    }

    // pagemap for every maps line that was split.
    let mut residency: HashMap<usize, Residency> = HashMap::new();
    let mut pagemap_failed = false;
    for r in attribution.regions.iter().filter(|r| r.split) {
        if residency.contains_key(&r.mapping) || pagemap_failed {
            continue;
        }
        let m = &mappings[r.mapping];
        match target.pagemap(m.start, m.end, page_size) {
            Ok(entries) => {
                residency.insert(r.mapping, Residency { entries });
            }
            Err(e) => {
                pagemap_failed = true;
                warnings.push(Warning {
                    object: None,
                    message: format!(
                        "cannot read pagemap ({e}): rss of the parts of split maps lines is unknown"
                    ),
                });
            }
        }
    }
    let extras: Vec<ObjectExtras> = attribution
        .instances
        .iter()
        .map(|inst| ObjectExtras {
            opened: records
                .get(&inst.key)
                .and_then(|r| r.via)
                .map(|v| v.as_str().to_string()),
        })
        .collect();
    let (regions, objects, totals) = report::build(
        &mappings,
        &attribution,
        page_size,
        &|i| residency.get(&i).cloned(),
        &extras,
    );
    Report {
        schema_version: report::SCHEMA_VERSION,
        pid,
        page_size,
        source: source.to_string(),
        regions,
        objects,
        warnings,
        totals,
    }
}

/// Opens one mapped file and reads what attribution needs from it.
fn learn(
    m: &Mapping,
    target: &mut dyn Target,
    name: &str,
    warnings: &mut Vec<Warning>,
) -> FileRecord {
    let mut warn = |message: String| {
        warnings.push(Warning {
            object: Some(name.to_string()),
            message,
        });
    };
    match target.open(m) {
        Opened::Regular {
            file,
            size,
            via,
            mismatch,
        } => {
            if let Some(w) = mismatch {
                warn(w);
            }
            let facts = match elf::read(&file) {
                Ok(info) => FileFacts::Elf {
                    info: Arc::new(info),
                    size,
                },
                Err(ElfError::NotElf) => FileFacts::NotElf,
                Err(e) => {
                    warn(format!("{e}; its regions are labelled unknown"));
                    FileFacts::Unreadable
                }
            };
            FileRecord {
                facts,
                via: Some(via),
            }
        }
        Opened::Device => FileRecord {
            facts: FileFacts::Device,
            via: None,
        },
        Opened::NotRegular(what) => {
            warn(format!("is {what}, not a regular file; not read"));
            FileRecord {
                facts: FileFacts::Unreadable,
                via: None,
            }
        }
        Opened::Failed(msg) => {
            warn(format!("{msg}; its regions are labelled unknown"));
            FileRecord {
                facts: FileFacts::Unreadable,
                via: None,
            }
        }
    }
}

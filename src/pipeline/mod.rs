//! The pipeline of `elfmaps map`: parse the maps text, learn what each mapped file is,
//! attribute, measure split regions, assemble the report.
//!
//! Where the bytes come from is behind [`Target`]: a live process ([`LiveSource`],
//! through [`crate::source::proc`]), or saved smaps/maps or a snapshot with files from a
//! sysroot ([`crate::source::SysrootSource`]). One file that cannot be read becomes a
//! warning and `unknown`/`file` regions; the run goes on. [`snapshot`] records what
//! the offline analysis needs from a live process.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use crate::input::elf::{self, ElfError};
use crate::input::maps::{self, Mapping, NameKind};
use crate::label::{self, FileFacts, FileKey, Hints};
use crate::report::{self, ObjectExtras, Report, Residency, Warning};
use crate::source::proc::{ProcError, Process};
use crate::source::{LiveSource, Opened, Source, Via};
use crate::vocab::Code;

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
///
/// smaps is parsed as it is read. (Opening the mapped files on a second thread while
/// smaps is still being read was tried: with 420 libraries it cost 6 ms more CPU and
/// saved no wall time, the two contending for the target's mm; see bench/README.md.)
pub fn live(pid: u32) -> Result<Report, Error> {
    let mut target = LiveSource(Process::new(pid)?);
    let (mappings, source, _) = read_mappings(&target.0, false)?;
    let empty = mappings.is_empty();
    let mut report = analyze(
        mappings,
        source,
        crate::source::proc::page_size(),
        Some(pid),
        &mut target,
    );
    if !target.0.alive() {
        return Err(Error::Proc(ProcError::Exited(pid)));
    }
    if empty && target.0.is_kernel_thread() {
        report.warnings.push(Warning {
            code: Code::KernelThread,
            object: None,
            message: format!(
                "PID {pid} is a kernel thread: it has no user address space to describe"
            ),
        });
    }
    Ok(report)
}

/// The page size of a saved maps/smaps: the smallest `KernelPageSize` in it, else the
/// user's, else 4096 (with a warning when the offsets disagree with it, and a hint when
/// every address is a multiple of a larger page size).
pub fn saved_page_size(mappings: &[Mapping], user: Option<u64>) -> (u64, Vec<Warning>) {
    let mut warnings = Vec::new();
    let kernel = mappings
        .iter()
        .filter_map(|m| m.bytes("KernelPageSize"))
        .filter(|p| p.is_power_of_two())
        .min();
    let page = match (kernel, user) {
        (Some(k), Some(u)) if k != u => {
            warnings.push(Warning {
                code: Code::PageSize,
                object: None,
                message: format!("--page-size {u} ignored: the smaps says KernelPageSize {k}"),
            });
            k
        }
        (Some(k), _) => k,
        (None, Some(u)) => u,
        (None, None) => {
            let misaligned = mappings
                .iter()
                .find(|m| m.offset % 4096 != 0 || m.start % 4096 != 0);
            if let Some(m) = misaligned {
                warnings.push(Warning {
                    code: Code::PageSize,
                    object: None,
                    message: format!(
                        "line {}: offsets or addresses are not multiples of the assumed 4096-byte page; pass --page-size",
                        m.line
                    ),
                });
            } else {
                let all = mappings
                    .iter()
                    .fold(0u64, |acc, m| acc | m.start | m.end | m.offset);
                let align = if all == 0 {
                    4096
                } else {
                    1u64 << all.trailing_zeros()
                };
                if mappings.len() > 1 && align > 4096 {
                    warnings.push(Warning {
                        code: Code::PageSize,
                        object: None,
                        message: format!(
                            "no page size in the input: assuming 4096, but every address and offset is a multiple of {align}; if the target uses {align}-byte pages, pass --page-size {align}"
                        ),
                    });
                }
            }
            4096
        }
    };
    (page, warnings)
}

/// Analyses saved smaps or maps text (`name` says where it came from), with files
/// looked up under `sysroot`, or a snapshot's contents.
pub fn offline(
    text: &[u8],
    name: &str,
    sysroot: &std::path::Path,
    user_page_size: Option<u64>,
    snapshot: Option<crate::input::snapshot::Snapshot>,
) -> Result<Report, Error> {
    let mappings = maps::parse(text).map_err(|err| Error::Parse {
        source: name.to_string(),
        err,
    })?;
    let source = if mappings.iter().any(|m| !m.fields.is_empty()) {
        "smaps"
    } else {
        "maps"
    };
    let (page, mut warnings) = match &snapshot {
        Some(s) => (s.page_size, Vec::new()),
        None => saved_page_size(&mappings, user_page_size),
    };
    let mut target = crate::source::SysrootSource {
        root: sysroot.to_path_buf(),
        snapshot,
    };
    let mut report = analyze(mappings, source, page, None, &mut target);
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    Ok(report)
}

/// A [`Target`] that records the pagemap reads of another.
struct Recording<'a> {
    inner: &'a mut LiveSource,
    pages: Vec<crate::input::snapshot::PageBits>,
    hints: Hints,
}

impl Source for Recording<'_> {
    fn open(&self, m: &Mapping) -> Opened {
        self.inner.open(m)
    }
    fn pagemap(&mut self, start: u64, end: u64, page: u64) -> io::Result<Vec<u64>> {
        let entries = self.inner.pagemap(start, end, page)?;
        self.pages
            .push(crate::input::snapshot::PageBits::from_pagemap(
                start, end, &entries,
            ));
        Ok(entries)
    }
    fn hints(&mut self) -> Hints {
        self.hints = self.inner.hints();
        self.hints.clone()
    }
}

/// Records a snapshot of a live process (see [`crate::input::snapshot`]): its smaps, page
/// size, the build ID of every mapped object, and the residency of exactly the lines
/// the analysis splits.
pub fn snapshot(pid: u32) -> Result<(crate::input::snapshot::Snapshot, Report), Error> {
    let process = Process::new(pid)?;
    let (mappings, source, text) = read_mappings(&process, true)?;
    let page = crate::source::proc::page_size();
    let mut live = LiveSource(process);
    let mut rec = Recording {
        inner: &mut live,
        pages: Vec::new(),
        hints: Hints::default(),
    };
    let report = analyze(mappings.clone(), source, page, Some(pid), &mut rec);
    let (pages, hints) = (rec.pages, rec.hints);
    // Build IDs: the kernel's (PROCMAP_QUERY) where it has the ioctl, else the ones
    // read from the files during the analysis.
    let mut build_ids = std::collections::BTreeMap::new();
    let mut query_works = true;
    for m in mappings.iter().filter(|m| m.is_file_backed()) {
        let mut id = None;
        if query_works {
            match live.0.query_build_id(m.start) {
                Ok(found) => id = found,
                Err(_) => query_works = false,
            }
        }
        if id.is_none() {
            id = report
                .regions
                .iter()
                .find(|r| r.start >= m.start && r.start < m.end && r.instance.is_some())
                .and_then(|r| report.objects[r.instance?].build_id.as_deref())
                .and_then(|h| {
                    (0..h.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                        .collect()
                });
        }
        if let Some(id) = id {
            build_ids.insert((m.start, m.end), id);
        }
    }
    if !live.0.alive() {
        return Err(Error::Proc(ProcError::Exited(pid)));
    }
    let mut header = std::collections::BTreeMap::new();
    // SAFETY: uname fills the struct it is given.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } == 0 {
        let field = |f: &[libc::c_char]| {
            let bytes: Vec<u8> = f
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        header.insert("kernel".to_string(), field(&uts.release));
        header.insert("machine".to_string(), field(&uts.machine));
    }
    let snap = crate::input::snapshot::Snapshot {
        pid: Some(pid),
        page_size: page,
        source: source.to_string(),
        header,
        smaps: text,
        build_ids,
        residency: pages,
        thread_sps: hints.thread_stack_pointers,
    };
    Ok((snap, report))
}

struct FileRecord {
    facts: FileFacts,
    via: Option<Via>,
}

/// Whether a file-backed mapping names something worth opening as a possible ELF file.
fn worth_opening(m: &Mapping) -> bool {
    match m.name_kind() {
        // SysV segments and anonymous memory are never ELF; memfds may be.
        NameKind::Path { path, deleted } => {
            !crate::vocab::names::is_kernel_memory_name(&path, deleted)
        }
        _ => false,
    }
}

/// Reads and parses smaps (or maps) of a live process; with `keep_text`, also returns
/// the text. smaps takes several reads; when the process maps or unmaps memory between
/// two of them, lines can come out overlapping: such a read is not used, it is read
/// again (up to 8 times).
fn read_mappings(
    process: &Process,
    keep_text: bool,
) -> Result<(Vec<Mapping>, &'static str, Vec<u8>), Error> {
    const ATTEMPTS: usize = 8;
    let name = |source: &str| format!("/proc/{}/{source}", process.pid);
    let mut attempt = 1;
    loop {
        let mut parser = maps::Parser::default();
        let mut text = Vec::new();
        let read = process.read_maps_with(|chunk| {
            if keep_text {
                text.extend_from_slice(chunk);
            }
            parser.feed(chunk)
        })?;
        match read.and_then(|source| Ok((parser.finish()?, source))) {
            Ok((mappings, source)) => return Ok((mappings, source, text)),
            Err(err) if err.what == maps::OUT_OF_ORDER && attempt < ATTEMPTS => attempt += 1,
            Err(mut err) => {
                if err.what == maps::OUT_OF_ORDER {
                    err.what = "the process changed its maps during each of 8 reads";
                }
                return Err(Error::Parse {
                    source: name("smaps"),
                    err,
                });
            }
        }
    }
}

/// What opening one file taught: its facts and the warnings it gave.
type Learned = Vec<(usize, FileKey, (FileRecord, Vec<Warning>))>;

/// Runs the pipeline on parsed mappings.
pub fn analyze(
    mappings: Vec<Mapping>,
    source: &str,
    page_size: u64,
    pid: Option<u32>,
    target: &mut dyn Source,
) -> Report {
    let mut seen = std::collections::HashSet::new();
    let learned: Learned = mappings
        .iter()
        .enumerate()
        .filter(|(_, m)| m.is_file_backed() && worth_opening(m))
        .filter(|(_, m)| seen.insert(FileKey::of(m)))
        .map(|(i, m)| (i, FileKey::of(m), learn(m, &*target)))
        .collect();
    finish(mappings, source, page_size, pid, target, learned)
}

/// Everything after the files were opened: attribution, residency, the report.
fn finish(
    mappings: Vec<Mapping>,
    source: &str,
    page_size: u64,
    pid: Option<u32>,
    target: &mut dyn Source,
    mut learned: Learned,
) -> Report {
    learned.sort_by_key(|(i, _, _)| *i);
    let mut warnings = Vec::new();
    let mut records: HashMap<FileKey, FileRecord> = HashMap::new();
    for (_, key, (record, mut w)) in learned {
        warnings.append(&mut w);
        records.insert(key, record);
    }
    let facts: HashMap<FileKey, FileFacts> = records
        .iter()
        .map(|(k, r)| (k.clone(), r.facts.clone()))
        .collect();
    let hints = target.hints();
    // page_size was validated where it entered (flag, snapshot, smaps); 4K as elsewhere.
    let page = crate::vocab::PageSize::new(page_size).unwrap_or(crate::vocab::PageSize::KIB4);
    let attribution = label::attribute(&mappings, &facts, page, &hints);

    for (key, why) in &attribution.unexplained {
        warnings.push(Warning {
            code: Code::UnexplainedFile,
            object: Some(String::from_utf8_lossy(&key.name).into_owned()),
            message: format!("{why}; its regions are labelled unknown"),
        });
    }
    let mut warned = std::collections::HashSet::new();
    for inst in &attribution.instances {
        if let Some(p) = &inst.problem
            && warned.insert(&inst.key)
        {
            warnings.push(Warning {
                code: p.code,
                object: Some(String::from_utf8_lossy(&inst.key.name).into_owned()),
                message: format!("{}; its regions are labelled unknown", p.message),
            });
        }
    }
    for (i, p) in &attribution.notes {
        warnings.push(Warning {
            code: p.code,
            object: attribution
                .instances
                .get(*i)
                .map(|x| String::from_utf8_lossy(&x.key.name).into_owned()),
            message: p.message.clone(),
        });
    }

    // pagemap for every maps line that was split.
    let mut residency: HashMap<usize, Residency> = HashMap::new();
    let mut failures: Vec<(String, usize)> = Vec::new();
    let mut tried = std::collections::HashSet::new();
    for r in attribution.regions.iter().filter(|r| r.split) {
        if !tried.insert(r.mapping) {
            continue;
        }
        let m = &mappings[r.mapping];
        match target.pagemap(m.start, m.end, page_size) {
            Ok(entries) => {
                residency.insert(r.mapping, Residency { entries });
            }
            Err(e) => {
                let msg = e.to_string();
                match failures.iter_mut().find(|(f, _)| *f == msg) {
                    Some((_, n)) => *n += 1,
                    None => failures.push((msg, 1)),
                }
            }
        }
    }
    for (msg, n) in failures {
        warnings.push(Warning {
            code: Code::ResidencyUnavailable,
            object: None,
            message: format!(
                "cannot read per-page residency for {n} split maps line(s) ({msg}): their parts have rss null"
            ),
        });
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
fn learn(m: &Mapping, target: &dyn Source) -> (FileRecord, Vec<Warning>) {
    let name = String::from_utf8_lossy(&m.name).into_owned();
    let mut warnings = Vec::new();
    let mut warn = |code: Code, message: String| {
        warnings.push(Warning {
            code,
            object: Some(name.clone()),
            message,
        });
    };
    let record = match target.open(m) {
        Opened::Regular {
            file,
            size,
            via,
            mismatch,
            ..
        } => {
            // The mapped inode itself (device and inode checked, or map_files), as
            // opposed to a file found by path in a sysroot or a replaced file.
            let exact = via != Via::Sysroot && mismatch.is_none();
            if let Some(w) = mismatch {
                warn(Code::FileReplaced, w);
            }
            let facts = match elf::read(&*file) {
                Ok(info) => match (target.expected_build_id(m), &info.build_id) {
                    (Some(want), have) if have.as_ref() != Some(&want) => {
                        warn(
                            Code::BuildIdMismatch,
                            format!(
                                "build ID {} differs from the {} recorded on the target; its regions are labelled unknown",
                                info.build_id_hex().unwrap_or_else(|| "(none)".into()),
                                hex(&want)
                            ),
                        );
                        FileFacts::Unreadable
                    }
                    _ => FileFacts::Elf {
                        info: Arc::new(info),
                        size,
                        exact,
                    },
                },
                Err(ElfError::NotElf) => FileFacts::NotElf,
                Err(e) => {
                    warn(
                        Code::ElfMalformed,
                        format!("{e}; its regions are labelled unknown"),
                    );
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
            warn(
                Code::NotRegularFile,
                format!("is {what}, not a regular file; not read"),
            );
            FileRecord {
                facts: FileFacts::Unreadable,
                via: None,
            }
        }
        Opened::Failed(msg) => {
            // Shared memory names (a memfd offline) keep their kind; see base_kind.
            let label = match m.name_kind() {
                NameKind::Path { path, deleted }
                    if crate::vocab::names::is_shm_name(&path, deleted) =>
                {
                    "shm, with no object"
                }
                _ => "unknown",
            };
            warn(
                Code::FileUnreadable,
                format!("{msg}; its regions are labelled {label}"),
            );
            FileRecord {
                facts: FileFacts::Unreadable,
                via: None,
            }
        }
    };
    (record, warnings)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

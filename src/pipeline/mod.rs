//! The pipeline of `elfmaps map`: parse the maps text, open and read each mapped
//! file, label, read the residency of the lines that were split, build the report.
//!
//! Where the bytes come from is behind [`Source`]: a live process ([`live`], through
//! [`crate::source::proc`]), or saved smaps/maps or a snapshot with files from a
//! sysroot ([`offline`], through [`crate::source::SysrootSource`]). [`snapshot`]
//! records what the offline analysis needs from a live process. One file that cannot
//! be read becomes a warning and `unknown`/`file` regions; the run goes on.
//!
//! The page size is a [`PageSize`], validated once where it enters: the running
//! kernel's ([`live`]), the snapshot header, or smaps' `KernelPageSize` and
//! `--page-size` ([`offline`]). Offline, every file-backed line must agree with it
//! (`page.rs`: [`PageSizeError`] otherwise), and with none of them it is inferred
//! from the lines and the program headers of the files read (docs/offline.md).

mod live;
pub mod memo;
mod offline;
mod page;
mod read;
mod remap;
#[cfg(feature = "cli")]
mod rss;

// The pipelines only the command line runs (`cli` feature): recording snapshots,
// sections and symbols, the scan of every process and the scrapes of `metrics`.
#[cfg(feature = "cli")]
pub mod metrics;
#[cfg(feature = "cli")]
mod sections;
#[cfg(feature = "cli")]
mod snapshot;
#[cfg(feature = "cli")]
mod symbols;
#[cfg(feature = "cli")]
pub mod system;

use std::collections::{HashMap, HashSet};

use crate::input::maps::{self, Mapping, NameKind};
use crate::input::snapshot::SnapshotError;
use crate::label::{self, Attribution, FileFacts, FileKey};
use crate::report::{self, ObjectExtras, Report, Warning};
use crate::source::cache::{Cached, Content, FileCache};
use crate::source::proc::ProcError;
use crate::source::sysroot::SysrootError;
use crate::source::{Opened, Source, Via};
use crate::vocab::{Code, MapsSource, PageSize, Residency};

pub use live::live;
#[cfg(feature = "cli")]
pub use live::live_rss_only;
#[cfg(feature = "cli")]
pub(crate) use offline::offline_with;
pub use offline::{Saved, offline};
pub use page::PageSizeError;
#[cfg(feature = "cli")]
pub use sections::{Select, sections_live, sections_offline, sections_union, snapshot_sections};
#[cfg(feature = "cli")]
pub use snapshot::{snapshot, snapshot_rss_only};
#[cfg(feature = "cli")]
pub use symbols::{SymbolsSelect, symbols_live, symbols_offline, symbols_union};

/// The pipeline layer's error: why no report could be made at all (`map`,
/// `snapshot`, `sections`, a process of `system`). Every error has a stable [`Code`]
/// ([`Error::code`], docs/json.md) and its cause as [`std::error::Error::source`];
/// `input` names the file or `/proc` file it concerns.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The live process could not be read.
    Proc(ProcError),
    /// A malformed maps/smaps line; `input` names the input.
    Parse {
        /// The input: a file name or `/proc/PID/smaps`.
        input: String,
        /// What is wrong, and on which line.
        err: maps::ParseError,
    },
    /// Saved smaps or maps text with no line to read (an empty file, `/dev/null`):
    /// a report of it would be one of no memory, which no process has.
    Empty {
        /// The input: a file name.
        input: String,
    },
    /// A malformed snapshot file.
    Snapshot {
        /// The input: a file name.
        input: String,
        /// What is wrong, and where.
        err: SnapshotError,
    },
    /// The sysroot does not exist or is not a directory.
    Sysroot(SysrootError),
    /// A saved input could not be read, or is larger than the input limit.
    Input(crate::source::saved::InputError),
    /// The page size given or stated contradicts the input.
    PageSize {
        /// The input: a file name.
        input: String,
        /// Which page size, who stated it, and the line that contradicts it.
        err: PageSizeError,
    },
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> Code {
        match self {
            Error::Proc(e) => e.code(),
            Error::Parse { err, .. } => err.code(),
            Error::Empty { .. } => Code::MapsMalformed,
            Error::Snapshot { err, .. } => err.code(),
            Error::Sysroot(e) => e.code(),
            Error::Input(e) => e.code(),
            Error::PageSize { err, .. } => err.code(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Proc(e) => e.fmt(f),
            Error::Parse { input, err } => write!(f, "{input}: {err}"),
            Error::Empty { input } => write!(
                f,
                "{input}: no maps line to read (the input is empty): give a saved /proc/PID/smaps or maps"
            ),
            Error::Snapshot { input, err } => write!(f, "{input}: {err}"),
            Error::Sysroot(e) => e.fmt(f),
            Error::Input(e) => e.fmt(f),
            Error::PageSize { input, err } => write!(f, "{input}: {err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Proc(e) => Some(e),
            Error::Parse { err, .. } => Some(err),
            Error::Empty { .. } => None,
            Error::Snapshot { err, .. } => Some(err),
            Error::Sysroot(e) => Some(e),
            Error::Input(e) => Some(e),
            Error::PageSize { err, .. } => Some(err),
        }
    }
}

impl From<ProcError> for Error {
    fn from(e: ProcError) -> Self {
        Error::Proc(e)
    }
}

impl From<SysrootError> for Error {
    fn from(e: SysrootError) -> Self {
        Error::Sysroot(e)
    }
}

/// Runs the pipeline on parsed mappings: opens the mapped files through `target`,
/// labels, reads the residency of split lines, builds the report. `source` says
/// where the lines came from (`smaps`, `maps`, or `maps+pagemap` when `target`
/// reads residency from a scan of the whole address space).
#[cfg(feature = "cli")]
pub fn analyze(
    mappings: Vec<Mapping>,
    source: MapsSource,
    page_size: PageSize,
    pid: Option<u32>,
    target: &mut dyn Source,
) -> Report {
    analyze_with(mappings, source, page_size, pid, target, None)
}

/// [`analyze`], with the mapped files read through `cache` when there is one: a file
/// another process of the same run mapped is not opened again
/// ([`crate::source::cache`]).
#[cfg(feature = "cli")]
pub fn analyze_with(
    mappings: Vec<Mapping>,
    source: MapsSource,
    page_size: PageSize,
    pid: Option<u32>,
    target: &mut dyn Source,
    cache: Option<&FileCache>,
) -> Report {
    let files = open_files(&mappings, &*target, cache);
    finish(mappings, files, source, page_size, pid, target)
}

/// Phases 2 to 4 on files already opened: label, residency, report.
fn finish(
    mappings: Vec<Mapping>,
    files: Files,
    source: MapsSource,
    page_size: PageSize,
    pid: Option<u32>,
    target: &mut dyn Source,
) -> Report {
    finish_keeping(mappings, files, source, page_size, pid, target).0
}

/// What a report's labels came from: kept by [`memo::Memo`] to make the next report
/// of the same process with the same maps from its new figures alone.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    attribution: Attribution,
    via: HashMap<FileKey, Option<Via>>,
    /// The warnings of opening the files and labelling.
    warnings: Vec<Warning>,
    verified: Vec<Option<bool>>,
}

/// [`finish`], also giving the labels, for [`finish_with_labels`] to reuse.
fn finish_keeping(
    mappings: Vec<Mapping>,
    files: Files,
    source: MapsSource,
    page_size: PageSize,
    pid: Option<u32>,
    target: &mut dyn Source,
) -> (Report, Labels) {
    let Files {
        records,
        mut warnings,
    } = files;
    let mut via = HashMap::with_capacity(records.len());
    let facts: HashMap<FileKey, FileFacts> = records
        .into_iter()
        .map(|(key, r)| {
            via.insert(key.clone(), r.via);
            (key, r.facts)
        })
        .collect();
    let mut attribution = label(&mappings, &facts, page_size, target, &mut warnings);
    // Remapped text that is not the file's text is relabelled before the figures.
    let verified = remap::verify(&mappings, &mut attribution, &*target, &mut warnings);
    let labels = Labels {
        attribution,
        via,
        warnings,
        verified,
    };
    let report = finish_with_labels(mappings, &labels, source, page_size, pid, target);
    (report, labels)
}

/// Phases 3 and 4 with the labels of an earlier report of the same maps lines: the
/// residency of split lines, and the report from the lines' new figures.
fn finish_with_labels(
    mappings: Vec<Mapping>,
    labels: &Labels,
    source: MapsSource,
    page_size: PageSize,
    pid: Option<u32>,
    target: &mut dyn Source,
) -> Report {
    let attribution = &labels.attribution;
    let mut warnings = labels.warnings.clone();
    let residency = read_residency(&mappings, attribution, page_size, target, &mut warnings);
    let extras: Vec<ObjectExtras> = attribution
        .instances
        .iter()
        .map(|inst| ObjectExtras {
            opened: labels.via.get(&inst.key).copied().flatten(),
        })
        .collect();
    let mut built = report::build(
        &mappings,
        attribution,
        page_size,
        &|i| residency.get(&i).cloned(),
        &extras,
    );
    warnings.append(&mut built.warnings);
    // One region per part, in order.
    for (r, v) in built.regions.iter_mut().zip(&labels.verified) {
        if r.remapped.is_some() {
            r.verified = *v;
        }
    }
    Report {
        schema_version: report::SCHEMA_VERSION,
        pid,
        command: None,
        page_size: page_size.get(),
        source,
        regions: built.regions,
        objects: built.objects,
        warnings,
        totals: built.totals,
        split_pss_exact: built.split_pss_exact.filter(|&e| e),
    }
}

/// What opening one mapped file taught.
pub(crate) struct FileRecord {
    facts: FileFacts,
    via: Option<Via>,
}

/// What phase 1 gives: what each distinct file taught, and the warnings opening them
/// gave (in maps order).
pub(crate) struct Files {
    records: HashMap<FileKey, FileRecord>,
    warnings: Vec<Warning>,
}

impl Files {
    /// The facts of every file, for attribution.
    fn facts(&self) -> HashMap<FileKey, FileFacts> {
        self.records
            .iter()
            .map(|(k, r)| (k.clone(), r.facts.clone()))
            .collect()
    }
}

/// Phase 1: opens every distinct mapped file worth opening, in maps order.
/// Through `cache` when there is one, a file already read in the run is not opened
/// again.
fn open_files(mappings: &[Mapping], target: &dyn Source, cache: Option<&FileCache>) -> Files {
    let mut opener = Opener::default();
    opener.advance(mappings, mappings.len(), target, cache);
    opener.finish(mappings, target, cache)
}

/// What opening one file gave: what it taught, and its warnings.
pub(crate) type Learnt = (FileRecord, Vec<Warning>);

/// Phase 1 done as the lines arrive: [`Opener::discover`] finds the files of the
/// lines not seen yet, so a live read can open files while the kernel still prints
/// smaps, here ([`Opener::advance`]) or on other threads ([`Opener::fill`]). The
/// files are numbered, and their warnings given, in maps order however the lines were
/// cut into steps and whichever thread opened them.
#[derive(Default)]
pub(crate) struct Opener {
    /// The distinct files in maps order: key, first line, and what opening it gave.
    files: Vec<(FileKey, usize, Option<Learnt>)>,
    known: HashSet<FileKey>,
    /// Index of the first line not seen yet.
    next: usize,
    /// Index of the last file-backed line seen.
    last: Option<usize>,
}

impl Opener {
    /// Numbers the new files of `mappings[seen..upto]` (the lines up to `upto` are
    /// complete: the files of a live process are opened only once a line's `VmFlags`
    /// is known) and returns their numbers.
    pub(crate) fn discover(&mut self, mappings: &[Mapping], upto: usize) -> std::ops::Range<usize> {
        let first = self.files.len();
        let upto = upto.min(mappings.len());
        for i in self.next..upto {
            let m = &mappings[i];
            if !m.is_file_backed() {
                continue;
            }
            // The lines of one file are usually next to each other: no key is made
            // for them.
            let same = self.last.and_then(|l| mappings.get(l)).is_some_and(|p| {
                (p.dev_major, p.dev_minor, p.inode) == (m.dev_major, m.dev_minor, m.inode)
                    && p.name == m.name
            });
            self.last = Some(i);
            if same || !worth_opening(m) {
                continue;
            }
            let key = FileKey::of(m);
            if !self.known.contains(&key) {
                self.known.insert(key.clone());
                self.files.push((key, i, None));
            }
        }
        self.next = self.next.max(upto);
        first..self.files.len()
    }

    /// The first line of file number `n`.
    pub(crate) fn line_of(&self, n: usize) -> Option<usize> {
        self.files.get(n).map(|f| f.1)
    }

    /// Records what opening file number `n` gave (on whichever thread).
    pub(crate) fn fill(&mut self, n: usize, learnt: Learnt) {
        if let Some(f) = self.files.get_mut(n) {
            f.2 = Some(learnt);
        }
    }

    /// Opens here the new files of `mappings[seen..upto]`.
    pub(crate) fn advance(
        &mut self,
        mappings: &[Mapping],
        upto: usize,
        target: &dyn Source,
        cache: Option<&FileCache>,
    ) {
        for n in self.discover(mappings, upto) {
            let line = self.files[n].1;
            self.files[n].2 = Some(learn(&mappings[line], target, cache));
        }
    }

    /// What the files taught, in maps order; a file not opened yet is opened here.
    pub(crate) fn finish(
        self,
        mappings: &[Mapping],
        target: &dyn Source,
        cache: Option<&FileCache>,
    ) -> Files {
        let mut records = HashMap::with_capacity(self.files.len());
        let mut warnings = Vec::new();
        for (key, line, learnt) in self.files {
            let (record, mut w) = match (learnt, mappings.get(line)) {
                (Some(l), _) => l,
                (None, Some(m)) => learn(m, target, cache),
                (None, None) => continue,
            };
            warnings.append(&mut w);
            records.insert(key, record);
        }
        Files { records, warnings }
    }
}

/// Phase 2: attribution, with a warning for every file or instance labelled unknown.
fn label(
    mappings: &[Mapping],
    facts: &HashMap<FileKey, FileFacts>,
    page_size: PageSize,
    target: &mut dyn Source,
    warnings: &mut Vec<Warning>,
) -> Attribution {
    let hints = target.hints();
    let mut attribution = label::attribute(mappings, facts, page_size, &hints);
    check_phdr_digests(mappings, &mut attribution, &*target, warnings);
    for (key, why) in &attribution.unlabelled {
        warnings.push(Warning {
            code: why.code,
            object: Some(crate::vocab::escape::text(&key.name).into_owned()),
            message: format!("{}; its regions are labelled unknown", why.message),
        });
    }
    let mut warned = HashSet::new();
    for inst in &attribution.instances {
        if let Some(p) = &inst.problem
            && warned.insert(&inst.key)
        {
            warnings.push(Warning {
                code: p.code,
                object: Some(crate::vocab::escape::text(&inst.key.name).into_owned()),
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
                .map(|x| crate::vocab::escape::text(&x.key.name).into_owned()),
            message: p.message.clone(),
        });
    }
    warn_no_inode(mappings, &attribution, page_size, warnings);
    attribution
}

/// Offline, from a snapshot: an object whose file's program header table differs from
/// the one recorded for the mapped file (reordered, as patchelf rewrites it; its build
/// ID and PT_LOADs can be the same) numbers its segments otherwise, so its parts get
/// `segment` null, with a warning. Its kinds stand: the other checks passed.
fn check_phdr_digests(
    mappings: &[Mapping],
    attribution: &mut Attribution,
    target: &dyn Source,
    warnings: &mut Vec<Warning>,
) {
    // The first maps line of each instance, from its parts.
    let mut line_of = vec![None; attribution.instances.len()];
    for p in &attribution.regions {
        if let Some(i) = p.instance {
            line_of[i].get_or_insert(p.mapping);
        }
    }
    let mut differs = vec![false; attribution.instances.len()];
    for (i, inst) in attribution.instances.iter().enumerate() {
        let Some(m) = line_of[i].and_then(|mi| mappings.get(mi)) else {
            continue;
        };
        if inst.problem.is_some() {
            continue;
        }
        let Some(want) = target.expected_phdr_digest(m) else {
            continue;
        };
        let have = inst.info.phdr_digest();
        if want != have {
            differs[i] = true;
            warnings.push(Warning {
                code: Code::PhdrMismatch,
                object: Some(String::from_utf8_lossy(&inst.key.name).into_owned()),
                message: format!(
                    "its program header table (digest {have:016x}) differs from the mapped file's ({want:016x}, recorded in the snapshot): its segments may be numbered otherwise, so segment numbers are null"
                ),
            });
        }
    }
    for p in &mut attribution.regions {
        if p.instance.is_some_and(|i| differs[i]) {
            p.segment = None;
        }
    }
}

/// A warning for every line that names a file but has inode 0 and is labelled
/// `unknown`: the kernel prints the inode of every file it maps, so no file can be
/// proven to be this one, and none is read (Chromium's test input has such a line).
fn warn_no_inode(
    mappings: &[Mapping],
    attribution: &Attribution,
    page_size: PageSize,
    warnings: &mut Vec<Warning>,
) {
    let mut unknown: Vec<usize> = attribution
        .regions
        .iter()
        .filter(|r| r.kind == crate::vocab::Kind::Unknown)
        .map(|r| r.mapping)
        .collect();
    unknown.dedup();
    for m in unknown.into_iter().filter_map(|i| mappings.get(i)) {
        if m.inode != 0 || !matches!(m.name_kind(), NameKind::Path { .. }) {
            continue;
        }
        let odd = if page_size.divides(m.offset) {
            String::new()
        } else {
            format!(
                "; its offset {:#x} is not a multiple of the page size either",
                m.offset
            )
        };
        warnings.push(Warning {
            code: Code::NoInode,
            object: Some(crate::vocab::escape::text(&m.name).into_owned()),
            message: format!(
                "line {} names a file but has inode 0: the kernel prints the inode of every file it maps, so no file can be matched to it and none is read{odd}; its regions are labelled unknown",
                m.line
            ),
        });
    }
}

/// Phase 3: the residency of every maps line that was split, by line index; one
/// warning per distinct reason it could not be read.
fn read_residency(
    mappings: &[Mapping],
    attribution: &Attribution,
    page_size: PageSize,
    target: &mut dyn Source,
    warnings: &mut Vec<Warning>,
) -> HashMap<usize, Residency> {
    let mut residency = HashMap::new();
    let mut failures: Vec<(String, usize)> = Vec::new();
    let mut tried = HashSet::new();
    for r in attribution.regions.iter().filter(|r| r.split) {
        if !tried.insert(r.mapping) {
            continue;
        }
        let m = &mappings[r.mapping];
        match target.residency(m.start, m.end, page_size) {
            Ok(res) => {
                residency.insert(r.mapping, res);
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
    residency
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

/// Opens one mapped file and reads what attribution needs from it; through `cache`,
/// a file already read in this run is not opened again.
fn learn(
    m: &Mapping,
    target: &dyn Source,
    cache: Option<&FileCache>,
) -> (FileRecord, Vec<Warning>) {
    let name = crate::vocab::escape::text(&m.name).into_owned();
    let mut warnings = Vec::new();
    let mut warn = |code: Code, message: String| {
        warnings.push(Warning {
            code,
            object: Some(name.clone()),
            message,
        });
    };
    let stamp = cache.and_then(|_| target.stamp(m));
    if let (Some(cache), Some((stamp, via))) = (cache, &stamp)
        && let Some(hit) = cache.get(stamp)
    {
        // Stamped live files are the mapped inode itself, unchanged since the process
        // started (see Source::stamp).
        let facts = facts_of(hit, *via != Via::Sysroot, None, m, target, &mut warn);
        return (
            FileRecord {
                facts,
                via: Some(*via),
            },
            warnings,
        );
    }
    let record = match target.open(m) {
        Opened::Regular {
            file,
            size,
            via,
            id,
            changed,
        } => {
            // The mapped inode itself (device and inode checked, or map_files), as
            // opposed to a file found by path in a sysroot, and not written since the
            // process started.
            let exact = via != Via::Sysroot && changed.is_none();
            let facts = match Content::read(&*file) {
                Ok(content) => {
                    let read = Cached { size, content };
                    if let (Some(cache), Some((stamp, _))) = (cache, stamp)
                        && stamp.is(id)
                    {
                        cache.insert(stamp, read.clone());
                    }
                    facts_of(read, exact, changed, m, target, &mut warn)
                }
                Err(e) => {
                    // A read past the deadline of a file on a filesystem that may stall.
                    let code = match &e {
                        crate::input::elf::ElfError::Io(io)
                            if io.kind() == std::io::ErrorKind::TimedOut =>
                        {
                            Code::RemoteFs
                        }
                        _ => Code::ElfMalformed,
                    };
                    warn(code, format!("{e}; its regions are labelled unknown"));
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
        Opened::Replaced(msg) => {
            warn(
                Code::FileReplaced,
                format!("{msg}; its regions are labelled unknown"),
            );
            FileRecord {
                facts: FileFacts::Unreadable,
                via: None,
            }
        }
        Opened::Remote(msg) => {
            warn(
                Code::RemoteFs,
                format!("{msg}; its regions are labelled unknown"),
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

/// What attribution learns from a file's headers, for the process that maps it at
/// `m`: a build ID of the mapped file (recorded on the target, or the kernel's live)
/// that the file read does not have makes it unusable; one that it has proves it the
/// mapped file (as map_files does live), except for a file `changed` (written) after the
/// process started: the kernel reads the build ID from the inode as it is now. Asked
/// only for files not already proven (`exact`).
fn facts_of(
    read: Cached,
    exact: bool,
    changed: Option<String>,
    m: &Mapping,
    target: &dyn Source,
    warn: &mut dyn FnMut(Code, String),
) -> FileFacts {
    let info = match read.content {
        Content::Elf(info) => info,
        Content::NotElf => return FileFacts::NotElf,
        Content::Malformed(e) => {
            warn(
                Code::ElfMalformed,
                format!("{e}; its regions are labelled unknown"),
            );
            return FileFacts::Unreadable;
        }
    };
    // A data file written after the process started is ordinary (a database, a
    // memfd): only an ELF object's proof is lost, and only that is worth a warning.
    let written = changed.is_some();
    if let Some(w) = changed {
        warn(Code::FileChanged, w);
    }
    let want = if exact {
        None
    } else {
        target.expected_build_id(m)
    };
    match (want, &info.build_id) {
        (Some(want), have) if have.as_ref() != Some(&want) => {
            warn(
                Code::BuildIdMismatch,
                format!(
                    "build ID {} differs from the mapped file's, {} (recorded on the target, or as the kernel reports it); its regions are labelled unknown",
                    info.build_id_hex().unwrap_or_else(|| "(none)".into()),
                    hex(&want)
                ),
            );
            FileFacts::Unreadable
        }
        (want, have) => {
            let proven =
                !written && want.is_some_and(|w| !w.is_empty() && have.as_ref() == Some(&w));
            FileFacts::Elf {
                exact: exact || proven,
                info,
                size: read.size,
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 8: errors carry stable codes, as warnings do.
    #[test]
    fn errors_have_codes() {
        let e = live(0x7fff_fff0).unwrap_err();
        assert_eq!(e.code(), Code::NoSuchProcess, "{e}");
        assert_eq!(
            Error::Proc(ProcError::Exited(1)).code(),
            Code::ProcessExited
        );
        assert_eq!(
            Error::Proc(ProcError::PermissionDenied {
                path: "/proc/1/smaps".into()
            })
            .code(),
            Code::PermissionDenied
        );
        let mut err = maps::parse(b"zz\n").unwrap_err();
        let parse = |err| Error::Parse {
            input: "x".into(),
            err,
        };
        assert_eq!(parse(err.clone()).code(), Code::MapsMalformed);
        err.kind = maps::ParseErrorKind::Unstable;
        assert_eq!(parse(err).code(), Code::MapsUnstable);
        // Only the command line reads snapshots.
        #[cfg(feature = "cli")]
        {
            let err = crate::input::snapshot::Snapshot::parse(b"").unwrap_err();
            let e = Error::Snapshot {
                input: "x".into(),
                err,
            };
            assert_eq!(e.code(), Code::SnapshotMalformed);
        }
    }

    /// Each layer's error hands its cause on through `source()`, down to the I/O or
    /// parser error that started it; the printed line stays what it was. (System
    /// snapshots and saved reports are read by the command line only.)
    #[test]
    #[cfg(feature = "cli")]
    fn errors_chain_to_their_cause() {
        use crate::input::snapshot::{SnapshotError, SystemSnapshot};
        use std::error::Error as _;
        let err = maps::parse(b"zz\n").unwrap_err();
        let e = Error::Parse {
            input: "app.smaps".into(),
            err: err.clone(),
        };
        let cause = e.source().unwrap().downcast_ref::<maps::ParseError>();
        assert_eq!(cause, Some(&err));
        assert_eq!(e.to_string(), format!("app.smaps: {err}"));
        // A process section of a system snapshot: pipeline -> snapshot -> snapshot.
        let mut sys =
            SystemSnapshot::header_bytes(crate::vocab::PageSize::KIB4, &Default::default());
        sys.extend_from_slice(b"@process 4\nzzz\n\n");
        let err = SystemSnapshot::parse(&sys).unwrap().process(0).unwrap_err();
        assert!(
            matches!(err, SnapshotError::Process { index: 0, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "process section 1: not an elfmaps snapshot (no ELFMAPS-SNAPSHOT header)"
        );
        let e = Error::Snapshot {
            input: "all.snap".into(),
            err,
        };
        let inner = e.source().unwrap().source().unwrap();
        assert_eq!(
            inner.downcast_ref::<SnapshotError>(),
            Some(&SnapshotError::NotSnapshot { system: false })
        );
        // An ELF file that cannot be read: its I/O error.
        let io = crate::input::elf::ElfError::Io(std::io::Error::from_raw_os_error(libc::EIO));
        let cause = io
            .source()
            .unwrap()
            .downcast_ref::<std::io::Error>()
            .unwrap();
        assert_eq!(cause.raw_os_error(), Some(libc::EIO));
        // A saved report that is not JSON: serde_json's error.
        let saved = crate::views::diff::Saved::from_json(b"{").unwrap_err();
        assert!(saved.source().unwrap().is::<serde_json::Error>());
        assert!(saved.to_string().starts_with("not JSON: "), "{saved}");
    }
}

//! The snapshot file: everything `elfmaps map` needs from a live process, saved on a
//! board and analysed elsewhere against a copy of the board's root filesystem.
//!
//! Format (docs/snapshot.md): a text header, then length-prefixed sections whose
//! contents are raw bytes (the smaps text may hold any byte in a path).
//!
//! ```text
//! ELFMAPS-SNAPSHOT 1
//! pid 1234
//! page_size 4096
//! source smaps
//! kernel 6.1.0
//! machine aarch64
//!
//! @smaps 123456
//! <123456 bytes of /proc/PID/smaps>
//! @build-ids 78
//! <lines "START-END HEX" for every file-backed line whose build ID is known>
//! @phdr-digests 40
//! <lines "START-END HEX" for every file-backed line of a labelled object: the
//!  digest of the mapped file's program header table (`ElfInfo::phdr_digest`)>
//! @residency 90
//! <lines "START-END PRESENT SWAPPED": per-page bitmaps in hex, bit i of the
//!  little-endian byte string = page i, for every maps line the analysis splits>
//! @once 40
//! <lines "START-END ONCE": for the lines of @residency where it is known, the bitmap
//!  of their present pages mapped once (pagemap's exclusive bit, or the map counts)>
//! @thread-sps 26
//! <one line per thread other than the main one whose stack pointer was read: "SP">
//! @residency-runs 40
//! <`snapshot --sections` only: lines "START-END PRESENT SWAPPED" for every maps line
//!  of every ELF object, each a comma-separated list of runs "FIRST-END" of page
//!  indices in hex (end exclusive), or "-" for none>
//! ```
//!
//! A **system snapshot** (`elfmaps snapshot --system`) records every process of a
//! machine in one file ([`SystemSnapshot`]): a header of its own, then one `@process`
//! section per process whose body is a whole single-process snapshot as above (with
//! the header keys `comm`, `command` and `uid`), and a `@skipped` section: one line
//! `PID REASON [COMM]` per process not recorded.
//!
//! ```text
//! ELFMAPS-SYSTEM 1
//! page_size 4096
//! kernel 6.1.0
//!
//! @process 4567
//! ELFMAPS-SNAPSHOT 1
//! pid 1234
//! ...
//! @skipped 40
//! 2 kernel_thread kthreadd
//! 812 exited
//! ```
//!
//! Parsing takes bytes and does no I/O; every error names the line or section.
//!
//! This module is the model ([`Snapshot`]) and its error; `format.rs` reads the file
//! (the library's `Saved::snapshot` too) and writes it (the command line only, as
//! system snapshots are: the `cli` feature).

use std::collections::BTreeMap;

use crate::vocab::{MapsSource, PageSize, Residency};

mod format;
#[cfg(feature = "cli")]
pub use format::{SkippedEntry, SystemSnapshot};

/// The format version this reader reads and writes.
pub const VERSION: u32 = 1;

/// A parsed snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The process recorded.
    pub pid: Option<u32>,
    /// The page size of the recording machine.
    pub page_size: PageSize,
    /// Where the recorded lines came from (header `source`: `smaps`, `maps` or
    /// `maps+pagemap`); `None` when the header does not say.
    pub source: Option<MapsSource>,
    /// Other header lines (`kernel`, `machine`, `created`, future keys).
    pub header: BTreeMap<String, String>,
    /// The smaps (or maps) text exactly as read.
    pub smaps: Vec<u8>,
    /// Build IDs by maps line range.
    pub build_ids: BTreeMap<(u64, u64), Vec<u8>>,
    /// Digests of the mapped files' program header tables by maps line range
    /// (section `@phdr-digests`; absent from snapshots of earlier versions).
    pub phdr_digests: BTreeMap<(u64, u64), u64>,
    /// Residency of the maps lines the analysis splits, in the snapshot's page size.
    pub residency: Vec<Residency>,
    /// Stack pointers of the threads other than the main one (names thread stacks).
    pub thread_sps: Vec<u64>,
    /// Residency of every maps line of every ELF object (`snapshot --sections`, for
    /// `sections --snapshot`), as runs: section `@residency-runs`.
    pub sections: Vec<Residency>,
}

impl Default for Snapshot {
    /// An empty snapshot of 4 KiB pages.
    fn default() -> Snapshot {
        Snapshot {
            pid: None,
            page_size: PageSize::KIB4,
            source: None,
            header: BTreeMap::new(),
            smaps: Vec::new(),
            build_ids: BTreeMap::new(),
            phdr_digests: BTreeMap::new(),
            residency: Vec::new(),
            thread_sps: Vec::new(),
            sections: Vec::new(),
        }
    }
}

/// Why a snapshot could not be read: what is wrong, naming the line or the section.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The file is empty.
    Empty,
    /// The first line is not the magic of the snapshot expected (`system`: a system
    /// snapshot was expected).
    NotSnapshot {
        /// Whether a system snapshot was expected.
        system: bool,
    },
    /// A system snapshot given where one process's snapshot was expected.
    IsSystem,
    /// A version this reader does not know.
    Version {
        /// Whether it is a system snapshot.
        system: bool,
        /// The version the file states.
        version: u32,
    },
    /// The header has no blank line after it.
    HeaderUnterminated,
    /// A header line that is not UTF-8.
    HeaderNotUtf8 {
        /// Its 1-based line number.
        line: usize,
    },
    /// A `pid` header line whose value is not a PID.
    BadPid {
        /// Its 1-based line number.
        line: usize,
        /// The value given.
        value: String,
    },
    /// A `source` header line whose value is none of `smaps`, `maps`,
    /// `maps+pagemap`.
    BadSource {
        /// Its 1-based line number.
        line: usize,
        /// The value given.
        value: String,
    },
    /// A `page_size` header line whose value is not a number.
    BadPageSize {
        /// Its 1-based line number.
        line: usize,
        /// The value given.
        value: String,
    },
    /// A `page_size` header line whose value is no page size (`PageSize::new`).
    ImplausiblePageSize {
        /// Its 1-based line number.
        line: usize,
        /// The value given.
        value: u64,
    },
    /// The header has no `page_size`.
    NoPageSize,
    /// A line where a section header `@NAME LENGTH` was expected.
    SectionHeader {
        /// Its 1-based line number.
        line: usize,
    },
    /// A section whose length runs past the end of the address space.
    SectionOverflow,
    /// A section whose body is shorter than its header promises.
    SectionTruncated {
        /// The section's name.
        section: String,
        /// The length its header promises.
        len: usize,
    },
    /// A line of a section that does not parse.
    MalformedLine {
        /// The section's name.
        section: &'static str,
        /// The line (at most 100 bytes of it), escaped.
        text: String,
    },
    /// A `@residency` line whose bitmaps do not hold exactly its pages.
    ResidencyBitmap {
        /// The line's start address.
        start: u64,
        /// The line's end address.
        end: u64,
        /// The pages it claims.
        pages: u64,
        /// The page size.
        page: PageSize,
        /// The bytes of bitmap those pages need.
        need: u64,
        /// The bytes a bitmap holds.
        have: u64,
    },
    /// A `@residency-runs` run that is empty or past its line's pages.
    ResidencyRun {
        /// The line's start address.
        start: u64,
        /// The line's end address.
        end: u64,
        /// The run's first page index.
        first: u64,
        /// The run's end page index.
        last: u64,
        /// The pages of the line.
        pages: u64,
    },
    /// A process section asked for that the system snapshot does not have.
    NoSuchProcess {
        /// Its 0-based index.
        index: usize,
    },
    /// The `index`-th process section of a system snapshot (0-based) is malformed.
    Process {
        /// Its 0-based index.
        index: usize,
        /// What is wrong with it.
        err: Box<SnapshotError>,
    },
}

impl SnapshotError {
    /// The stable code of this error.
    pub fn code(&self) -> crate::vocab::Code {
        crate::vocab::Code::SnapshotMalformed
    }
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::Empty => f.write_str("empty file: not an elfmaps snapshot"),
            SnapshotError::NotSnapshot { system: false } => {
                f.write_str("not an elfmaps snapshot (no ELFMAPS-SNAPSHOT header)")
            }
            SnapshotError::NotSnapshot { system: true } => {
                f.write_str("not an elfmaps system snapshot (no ELFMAPS-SYSTEM header)")
            }
            SnapshotError::IsSystem => f.write_str(
                "a system snapshot (every process of a machine): analyse it with `elfmaps system --snapshot FILE`",
            ),
            SnapshotError::Version { system, version } => write!(
                f,
                "{}snapshot version {version} is not supported (this elfmaps reads {VERSION})",
                if *system { "system " } else { "" }
            ),
            SnapshotError::HeaderUnterminated => {
                f.write_str("the header does not end (no blank line)")
            }
            SnapshotError::HeaderNotUtf8 { line } => {
                write!(f, "line {line}: header line is not UTF-8")
            }
            SnapshotError::BadPid { line, value } => write!(f, "line {line}: bad pid {value:?}"),
            SnapshotError::BadSource { line, value } => {
                write!(f, "line {line}: unknown source {value:?} (known:")?;
                for known in MapsSource::ALL {
                    write!(f, " {known}")?;
                }
                f.write_str(")")
            }
            SnapshotError::BadPageSize { line, value } => {
                write!(f, "line {line}: bad page_size {value:?}")
            }
            SnapshotError::ImplausiblePageSize { line, value } => write!(
                f,
                "line {line}: page_size {value} is not a plausible page size"
            ),
            SnapshotError::NoPageSize => f.write_str("the header has no page_size"),
            SnapshotError::SectionHeader { line } => write!(
                f,
                "line {line}: expected a section header \"@NAME LENGTH\""
            ),
            SnapshotError::SectionOverflow => f.write_str("section length overflows"),
            SnapshotError::SectionTruncated { section, len } => {
                write!(f, "section @{section} is truncated ({len} bytes promised)")
            }
            SnapshotError::MalformedLine { section, text } => {
                write!(f, "section @{section}: malformed line \"{text}\"")
            }
            SnapshotError::ResidencyBitmap {
                start,
                end,
                pages,
                page,
                need,
                have,
            } => write!(
                f,
                "section @residency: {start:x}-{end:x} claims {pages} pages of {page} bytes, which need {need} bytes of bitmap, but a bitmap holds {have}"
            ),
            SnapshotError::ResidencyRun {
                start,
                end,
                first,
                last,
                pages,
            } => write!(
                f,
                "section @residency-runs: run {first:x}-{last:x} of {start:x}-{end:x} is empty or past its {pages} pages"
            ),
            SnapshotError::NoSuchProcess { .. } => f.write_str("no such process section"),
            SnapshotError::Process { index, err } => {
                write!(f, "process section {}: {err}", index + 1)
            }
        }
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SnapshotError::Process { err, .. } => Some(err.as_ref()),
            _ => None,
        }
    }
}

//! Warnings: something elfmaps could not do or is unsure about, with a stable
//! [`Code`] that scripts and tests match (docs/json.md lists them) and a message for
//! people, which may change.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable identifier of a kind of warning or error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Code {
    /// A mapped file could not be opened or read (missing, permission denied, ...).
    FileUnreadable,
    /// A mapped file is a FIFO, socket or directory: never opened for reading.
    NotRegularFile,
    /// The file now at the mapped path is not the mapped one (device or inode differ).
    FileReplaced,
    /// The file's build ID differs from the one recorded on the target (a snapshot),
    /// or, live, from the one the kernel gives for the mapped file (PROCMAP_QUERY).
    BuildIdMismatch,
    /// The file's ELF headers are damaged or hostile.
    ElfMalformed,
    /// The maps lines of an object contradict its program headers (offsets, extents,
    /// permissions).
    LayoutMismatch,
    /// An object of another machine, class or byte order than the rest of the process.
    AbiMismatch,
    /// The program headers of a file explain none of its maps lines.
    UnexplainedFile,
    /// Labelling a file would take more work than elfmaps allows for the size of its
    /// input (hostile program headers or maps; docs/labelling.md §6): its lines
    /// are `unknown`.
    WorkLimit,
    /// Per-page residency of split lines could not be read; their parts' rss is null.
    ResidencyUnavailable,
    /// The page size was assumed or is in doubt.
    PageSize,
    /// The PID is a kernel thread, with no user address space.
    KernelThread,
    /// A budget rule matches no object.
    BudgetUnmatched,
    /// A budget rule's figure is unknown for an object, so it was not checked.
    BudgetUnmeasured,
    /// A budget file with no rules.
    BudgetEmpty,
    /// `check`: the input has no memory to check (no maps line, no ELF file measured).
    InputEmpty,
    /// Error: `check`'s budget file is malformed (the message names the line).
    BudgetMalformed,
    /// A report given to `diff` is not complete (cut with `--top`).
    ReportCut,
    /// `layout`, `sections`: the section headers or their names could not be read
    /// (or there are none).
    SectionsUnreadable,
    /// `layout`: the dynamic section could not be read.
    DynamicUnreadable,
    /// Addresses or offsets overflow 64 bits (`layout`: segment addresses; `map`: the
    /// file offset of a part of a maps line, then null).
    AddressOverflow,
    /// `layout`: a bound on the work done for one file was reached (too many segments,
    /// sections or findings): that part is not computed or not listed in full.
    LimitReached,
    /// A maps line names a file but has inode 0: no file is read for it, its regions
    /// are `unknown`.
    NoInode,
    /// A mapped file is on a network or FUSE filesystem (or one no mount table lists),
    /// which may stall: not read (or not within `--remote-fs-timeout`); its regions are
    /// `unknown`.
    RemoteFs,
    /// Error: there is no process with that PID (or it is not visible).
    NoSuchProcess,
    /// Error: reading the process needs ptrace read access that elfmaps does not have.
    PermissionDenied,
    /// Error: the process exited (or is a zombie) before it could be read.
    ProcessExited,
    /// Error: a maps/smaps line is malformed (or the input is a smaps_rollup).
    MapsMalformed,
    /// Error: the process changed its maps during every read of it.
    MapsUnstable,
    /// Error: a snapshot file is malformed, truncated or of another version.
    SnapshotMalformed,
    /// Error: `--sysroot` does not exist or is not a directory.
    SysrootInvalid,
    /// Error: the page size given or stated contradicts a line of the input.
    PageSizeContradicted,
    /// Error: an input file (or a file of `/proc/PID`) could not be read.
    InputUnreadable,
    /// Error: a saved input is larger than the input limit (`--max-input-size`).
    InputTooLarge,
    /// `system`: processes selected but not read (they exited, access was denied, or
    /// reading failed); their memory is not in the figures.
    ProcessSkipped,
    // Issue 18 §2: files proven by their inode that are not the mapped build.
    /// The mapped inode itself was modified after the process started (`cp` over a
    /// loaded library keeps its inode): its device and inode prove nothing of its
    /// contents, so it is checked as a file found by path.
    FileChanged,
    /// The program header table of the sysroot's file differs from the one a
    /// snapshot recorded for the mapped file (reordered, as patchelf does): segment
    /// numbers are null.
    PhdrMismatch,
    /// Memory the program mapped over an object's text is not its text: its bytes
    /// differ from the file, or it is writable or not executable.
    TextReplaced,
    /// `symbols`: an object has no symbol table of its own and no debug file was
    /// found (or its table is damaged): exported symbols only, or none.
    SymbolsUnavailable,
}

impl Code {
    /// The code as JSON and the terminal print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::FileUnreadable => "file-unreadable",
            Code::NotRegularFile => "not-regular-file",
            Code::FileReplaced => "file-replaced",
            Code::BuildIdMismatch => "build-id-mismatch",
            Code::ElfMalformed => "elf-malformed",
            Code::LayoutMismatch => "layout-mismatch",
            Code::AbiMismatch => "abi-mismatch",
            Code::UnexplainedFile => "unexplained-file",
            Code::WorkLimit => "work-limit",
            Code::ResidencyUnavailable => "residency-unavailable",
            Code::PageSize => "page-size",
            Code::KernelThread => "kernel-thread",
            Code::BudgetUnmatched => "budget-unmatched",
            Code::BudgetUnmeasured => "budget-unmeasured",
            Code::BudgetEmpty => "budget-empty",
            Code::InputEmpty => "input-empty",
            Code::BudgetMalformed => "budget-malformed",
            Code::ReportCut => "report-cut",
            Code::SectionsUnreadable => "sections-unreadable",
            Code::DynamicUnreadable => "dynamic-unreadable",
            Code::AddressOverflow => "address-overflow",
            Code::LimitReached => "limit-reached",
            Code::NoInode => "no-inode",
            Code::RemoteFs => "remote-fs",
            Code::NoSuchProcess => "no-such-process",
            Code::PermissionDenied => "permission-denied",
            Code::ProcessExited => "process-exited",
            Code::MapsMalformed => "maps-malformed",
            Code::MapsUnstable => "maps-unstable",
            Code::SnapshotMalformed => "snapshot-malformed",
            Code::SysrootInvalid => "sysroot-invalid",
            Code::PageSizeContradicted => "page-size-contradicted",
            Code::InputUnreadable => "input-unreadable",
            Code::InputTooLarge => "input-too-large",
            Code::ProcessSkipped => "process-skipped",
            Code::FileChanged => "file-changed",
            Code::PhdrMismatch => "phdr-mismatch",
            Code::TextReplaced => "text-replaced",
            Code::SymbolsUnavailable => "symbols-unavailable",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something elfmaps could not do or is unsure about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Warning {
    /// What kind of warning this is.
    pub code: Code,
    /// The maps path of the file concerned, if any.
    pub object: Option<String>,
    /// What happened, for people.
    pub message: String,
}

impl Warning {
    /// A warning about `object` (or about the whole input).
    pub fn new(code: Code, object: Option<String>, message: impl Into<String>) -> Warning {
        Warning {
            code,
            object,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code, as docs/json.md must list it and JSON writes it.
    #[test]
    fn every_code_is_documented_and_serialised_as_printed() {
        let all = [
            Code::FileUnreadable,
            Code::NotRegularFile,
            Code::FileReplaced,
            Code::BuildIdMismatch,
            Code::ElfMalformed,
            Code::LayoutMismatch,
            Code::AbiMismatch,
            Code::UnexplainedFile,
            Code::WorkLimit,
            Code::ResidencyUnavailable,
            Code::PageSize,
            Code::KernelThread,
            Code::BudgetUnmatched,
            Code::BudgetUnmeasured,
            Code::BudgetEmpty,
            Code::InputEmpty,
            Code::BudgetMalformed,
            Code::ReportCut,
            Code::SectionsUnreadable,
            Code::DynamicUnreadable,
            Code::AddressOverflow,
            Code::LimitReached,
            Code::NoInode,
            Code::RemoteFs,
            Code::NoSuchProcess,
            Code::PermissionDenied,
            Code::ProcessExited,
            Code::MapsMalformed,
            Code::MapsUnstable,
            Code::SnapshotMalformed,
            Code::SysrootInvalid,
            Code::PageSizeContradicted,
            Code::InputUnreadable,
            Code::ProcessSkipped,
            Code::FileChanged,
            Code::PhdrMismatch,
            Code::TextReplaced,
            Code::InputTooLarge,
            Code::SymbolsUnavailable,
        ];
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
        for c in all {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert!(
                doc.contains(&format!("`{}`", c.as_str())),
                "{c} is not in docs/json.md"
            );
        }
    }
}

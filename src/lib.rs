//! elfmaps: what every byte of a Linux process's address space is.
//!
//! The crate is a pipeline in layers, each a folder of `src/` (docs/architecture.md):
//! the words every layer shares (kinds, figures, page sizes, warnings), parsers that
//! take bytes, the sources of bytes (a live process, the one place that touches
//! `/proc`, or a sysroot with saved inputs), attribution, the report, views over
//! reports and the printers. Those layers are internal (`pub(crate)`); what is public
//! is listed in docs/api.md, and `tests/api.rs` keeps the two equal.
//!
//! The facade below is what most callers need: [`label_process`] for a live process,
//! [`label_saved`] for saved smaps, maps or a snapshot with a sysroot, and
//! [`layout_files`] for the static layout of ELF files. Every output of the command
//! line is a view of the [`Report`] they return.
//!
//! ```
//! // Label this very process: its own executable's text is labelled `text`.
//! let report = elfmaps::label_process(std::process::id()).unwrap();
//! let text = report
//!     .regions
//!     .iter()
//!     .find(|r| r.kind == elfmaps::Kind::Text && r.instance == Some(0))
//!     .expect("the executable has a text segment");
//! println!("{:x}-{:x} text of {:?}", text.start, text.end, text.object);
//! ```

#![warn(missing_docs)]

pub(crate) mod input;
pub(crate) mod label;
pub(crate) mod pipeline;
pub mod report;
pub(crate) mod source;
pub(crate) mod views;
pub(crate) mod vocab;

// What only the command line has (the `cli` feature, on by default; docs/api.md):
// the command line itself (`src/main.rs` only calls `cli::main`), a module of the
// library so that it reaches the internals without making them public; the printers
// of every output; and the bodies of the fuzz targets, which run with the command
// line's printers. In each layer, the parts only these reach are gated alike (a
// commented `#[cfg(feature = "cli")]` block in the layer's `mod.rs`). Neither module
// is part of the API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "cli")]
pub(crate) mod render;

// The public API: the facade's functions below, and these (docs/api.md).
pub use pipeline::{Error, PageSizeError, Saved};
pub use report::Report;
pub use vocab::{Code, ElfType, Endian, Figures, Kind, MapsSource, PageSize, Via, Warning};
// The errors an [`Error`] holds.
pub use input::maps::{ParseError, ParseErrorKind};
pub use input::snapshot::SnapshotError;
pub use source::proc::ProcError;
pub use source::saved::InputError;
pub use source::sysroot::SysrootError;
// Options.
pub use source::remote::{RemoteFs, set_policy as set_remote_fs};
pub use source::saved::DEFAULT_LIMIT as DEFAULT_MAX_INPUT_SIZE;
// The building blocks public on purpose: what `layout_files` returns, the summary
// view of a report, and the one escaping rule for names.
pub use views::layout;
pub use views::summary;
pub use vocab::escape;

use std::path::Path;

/// Labels every region of the live process `pid`: reads its smaps, opens each mapped
/// file once (bounded reads), labels every byte from the program headers and measures
/// split regions from pagemap. Needs ptrace-read access to the process. Files on
/// network and FUSE filesystems, which may stall, are not read (their regions are
/// `unknown`, warning `remote-fs`) unless [`set_remote_fs`] allows it.
pub fn label_process(pid: u32) -> Result<Report, Error> {
    pipeline::live(pid)
}

/// Labels saved smaps, maps or a snapshot, with the mapped files looked up under a
/// copy of the target's root filesystem:
///
/// ```no_run
/// # use std::path::Path;
/// let text = std::fs::read("board.smaps").unwrap();
/// let saved = elfmaps::Saved::text(&text, "board.smaps", Path::new("rootfs"))
///     .with_page_size(Some(elfmaps::PageSize::new(16384).unwrap()));
/// let report = elfmaps::label_saved(saved).unwrap();
/// # let _ = report;
/// ```
///
/// A file can also be parsed as it is read, never held whole, and refused past a
/// size (`Saved::file`, as the command line does with `--max-input-size`):
///
/// ```no_run
/// # use std::path::Path;
/// let limit = elfmaps::DEFAULT_MAX_INPUT_SIZE;
/// let saved = elfmaps::Saved::file(Path::new("board.smaps"), limit, "board.smaps", Path::new("rootfs"));
/// let report = elfmaps::label_saved(saved).unwrap();
/// # let _ = report;
/// ```
///
/// A snapshot (`elfmaps snapshot PID -o FILE` on the board) brings the residency of
/// the lines elfmaps splits, the build IDs and the page size with it:
///
/// ```no_run
/// # use std::path::Path;
/// let bytes = std::fs::read("board.snap").unwrap();
/// let saved = elfmaps::Saved::snapshot(&bytes, "board.snap", Path::new("rootfs"));
/// let report = elfmaps::label_saved(saved).unwrap();
/// # let _ = report;
/// ```
pub fn label_saved(saved: Saved<'_>) -> Result<Report, Error> {
    pipeline::offline(saved)
}

/// The static layout of ELF files, from their headers alone: program headers,
/// section-to-segment mapping, memory per kind with pages of `page` bytes, and audit
/// findings. A file that cannot be read is an error for that file only.
pub fn layout_files(paths: &[impl AsRef<Path>], page: PageSize) -> layout::Layouts {
    layout::run(paths, page)
}

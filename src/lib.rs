//! elfmaps: what every byte of a Linux process's address space is.
//!
//! The crate is a pipeline in layers, each a folder (docs/architecture.md):
//! - [`vocab`]: the words every layer shares: [`Kind`], [`Figures`], page sizes, warnings;
//! - [`input`]: parsers that take bytes and do no I/O: maps/smaps, ELF headers,
//!   snapshots, budget files, smem's captures;
//! - [`source`]: where bytes come from: a live process (the one place that touches
//!   `/proc`) or a sysroot with saved inputs;
//! - [`label`]: attribution: from maps lines and program headers to labelled regions;
//! - [`report`]: the report every output is a view of, and its builder;
//! - [`pipeline`]: runs source, label and report in order;
//! - [`views`]: summary, budgets, diff, the machine's rows (system), sections, metrics
//!   and the static layout of ELF files;
//! - [`render`]: every printer (tables, JSON, Prometheus text, the HTML page); names
//!   are escaped for the terminal with the one rule of [`vocab::escape`].
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

#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod label;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod source;
pub mod views;
pub mod vocab;

pub use vocab::{Code, Figures, Kind, PageSize, Warning};

pub use pipeline::{Error, Saved};
pub use report::Report;

use std::path::Path;

/// Labels every region of the live process `pid`: reads its smaps, opens each mapped
/// file once (bounded reads), labels every byte from the program headers and measures
/// split regions from pagemap. Needs ptrace-read access to the process. Files on
/// network and FUSE filesystems, which may stall, are not read (their regions are
/// `unknown`, warning `remote-fs`) unless [`source::remote::set_policy`] allows it.
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
/// let limit = elfmaps::source::saved::DEFAULT_LIMIT;
/// let saved = elfmaps::Saved::file(Path::new("board.smaps"), limit, "board.smaps", Path::new("rootfs"));
/// let report = elfmaps::label_saved(saved).unwrap();
/// # let _ = report;
/// ```
pub fn label_saved(saved: Saved<'_>) -> Result<Report, Error> {
    pipeline::offline(saved)
}

/// The static layout of ELF files, from their headers alone: program headers,
/// section-to-segment mapping, memory per kind with pages of `page` bytes, and audit
/// findings. A file that cannot be read is an error for that file only.
pub fn layout_files(paths: &[impl AsRef<Path>], page: PageSize) -> views::layout::Layouts {
    views::layout::run(paths, page)
}

//! elfmaps: what every byte of a Linux process's address space is.
//!
//! The crate is a pipeline in layers, each a folder (docs/architecture.md):
//! - [`vocab`]: the words every layer shares: [`Kind`], [`Figures`], page sizes, warnings;
//! - [`input`]: parsers that take bytes and do no I/O: maps/smaps, ELF headers,
//!   snapshots, budget files;
//! - [`source`]: where bytes come from: a live process (the one place that touches
//!   `/proc`) or a sysroot with saved inputs;
//! - [`label`]: attribution: from maps lines and program headers to labelled regions;
//! - [`report`]: the report every output is a view of, and its builder;
//! - [`pipeline`]: runs source, label and report in order;
//! - [`views`]: summary, budgets, diff and the static layout of ELF files;
//! - [`render`]: every printer (tables, JSON), and escaping for the terminal.
//!
//! ```no_run
//! let report = elfmaps::pipeline::live(std::process::id()).unwrap();
//! for r in &report.regions {
//!     println!("{:x}-{:x} {} {:?}", r.start, r.end, r.kind, r.object);
//! }
//! ```

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

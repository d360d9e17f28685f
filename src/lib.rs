//! elfmaps: what every byte of a Linux process's address space is.
//!
//! The pipeline, each step in its own module:
//! - [`maps`]: parses `/proc/PID/maps` and `smaps` text (bytes in, no I/O);
//! - [`elf`]: reads an ELF file's header, program headers and build ID with bounded reads;
//! - [`proc`]: the one module that touches `/proc` (smaps, map_files, pagemap, threads);
//! - [`files`]: opens files named by maps without blocking or trusting them;
//! - [`attribute`]: groups mappings into loaded objects, computes load biases and labels
//!   every byte with (object, kind, segment) from program headers and addresses;
//! - [`report`]: the report every output is a view of, and its JSON form;
//! - [`analyze`]: runs the steps in order for a [`analyze::Target`];
//! - [`render`]: the table and JSON printers; [`sanitize`]: escaping for the terminal.
//!
//! ```no_run
//! let report = elfmaps::analyze::live(std::process::id()).unwrap();
//! for r in &report.regions {
//!     println!("{:x}-{:x} {} {:?}", r.start, r.end, r.kind, r.object);
//! }
//! ```

pub mod analyze;
pub mod attribute;
pub mod budget;
pub mod diff;
pub mod elf;
pub mod files;
pub mod layout;
pub mod maps;
pub mod proc;
pub mod render;
pub mod report;
pub mod sanitize;
pub mod snapshot;
pub mod summary;
pub mod sysroot;

//! Parsers: they take bytes and do no I/O, so live reads, saved files from boards and
//! fuzzers all feed the same functions. Every error names where the input is wrong.
//!
//! - [`maps`]: `/proc/PID/maps` and `smaps` text;
//! - [`elf`]: ELF file, program and section headers, build IDs, through bounded reads;
//! - [`snapshot`]: the snapshot file of `elfmaps snapshot`;
//! - [`budget`]: the budget file of `elfmaps check`;
//! - [`mountinfo`]: `/proc/PID/mountinfo`, each device's filesystem type;
//! - [`smemcap`]: captures of smem's `smemcap` (a tar of `/proc`), and the
//!   `/proc/PID/stat` line.

pub mod elf;
pub mod maps;
pub mod mountinfo;
pub mod snapshot;

// The inputs only the command line reads (`cli` feature): budget files, smemcap
// captures, and the symbol tables and DWARF of `symbols`.
#[cfg(feature = "cli")]
pub mod budget;
#[cfg(feature = "cli")]
pub mod dwarf;
#[cfg(feature = "cli")]
pub mod smemcap;
#[cfg(feature = "cli")]
pub mod symbols;

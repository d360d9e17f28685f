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

pub mod budget;
pub mod dwarf;
pub mod elf;
pub mod maps;
pub mod mountinfo;
pub mod smemcap;
pub mod snapshot;
pub mod symbols;

//! Helpers shared by the integration tests, by purpose:
//!
//! - [`cli`]: running the elfmaps binary and reading its output (warnings by code);
//! - [`child`]: child processes to look at ([`child::Running`]: waits for exec, kills
//!   and reaps on drop);
//! - [`build`]: building the C test programs (toolchains, the shapes variants);
//! - [`truth`]: ground truth (the loader's report, /proc maps and pagemap, readelf);
//! - [`report`] and [`checks`]: elfmaps' JSON read into types, and checked against
//!   the truth (coverage, objects, names, merges, rss);
//! - [`elf`]: ELF bytes for hostile-input tests;
//! - [`sysroot`]: sysroots made from a live process's maps, some files replaced;
//! - [`skip`]: notes that show in `cargo test` output, and what CI does not skip.
//!
//! Each test file includes it with `mod common;` and uses a part of it; the rest is
//! compiled in every test crate, hence no dead-code warnings for it here.
#![allow(dead_code)]

pub mod build;
pub mod checks;
pub mod child;
pub mod cli;
pub mod elf;
pub mod report;
pub mod skip;
pub mod sysroot;
pub mod truth;

//! Views of a report or of ELF files: [`summary`] (rows per object and kind),
//! [`budget`] (`check`), [`diff`] (two saved reports), [`layout`] (what a file
//! will look like in memory, from its headers) and [`system`] (the reports of many
//! processes folded into rows across the machine). They compute; [`crate::render`] prints.
//! Their error, [`SavedError`], is why a saved report cannot be read back.

pub mod budget;
pub mod diff;
mod error;
pub mod layout;
pub mod metrics;
pub mod sections;
pub mod summary;
pub mod symbols;
pub mod system;

pub use error::SavedError;

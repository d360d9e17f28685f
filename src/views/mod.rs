//! Views of a report or of ELF files: [`summary`] (rows per object and kind),
//! [`budget`] (`check`), [`diff`] (two saved reports), [`layout`] (what a file
//! will look like in memory, from its headers) and [`system`] (the reports of many
//! processes folded into rows across the machine). They compute; [`crate::render`] prints.
//! Their error, [`SavedError`], is why a saved report cannot be read back.

pub mod layout;
pub mod summary;

// The views only the command line computes (`cli` feature; the library returns
// reports, layouts and summaries).
#[cfg(feature = "cli")]
pub mod budget;
#[cfg(feature = "cli")]
pub mod diff;
#[cfg(feature = "cli")]
mod error;
#[cfg(feature = "cli")]
pub mod metrics;
#[cfg(feature = "cli")]
pub mod sections;
#[cfg(feature = "cli")]
pub mod symbols;
#[cfg(feature = "cli")]
pub mod system;

#[cfg(feature = "cli")]
pub use error::SavedError;

//! The vocabulary shared by every layer: what a region holds ([`Kind`]), memory
//! figures and their one summation rule ([`Figures`]), sizes for people ([`human`]),
//! page arithmetic ([`page`]), which pages are in memory ([`Residency`]), what maps
//! names mean ([`names`]), how objects are matched by name (`matching`: the command
//! line's only), where a report's lines came from and how its files were reached
//! ([`MapsSource`], [`Via`]), the ELF header's type and byte order as outputs name
//! them ([`ElfType`], [`Endian`]) and warnings with stable codes ([`warning`]).
//! It imports nothing else of the crate.

pub mod elf;
pub mod escape;
pub mod figures;
pub mod hints;
pub mod human;
pub mod kind;
pub mod names;
pub mod page;
pub mod residency;
pub mod source;
pub mod warning;
// Objects matched by name: only the command line's views do (`cli` feature).
#[cfg(feature = "cli")]
pub mod matching;

pub use elf::{ElfType, Endian};
pub use figures::Figures;
pub use hints::Hints;
pub use kind::Kind;
pub use page::PageSize;
pub use residency::Residency;
pub use source::{MapsSource, Via};
pub use warning::{Code, Warning};

//! The vocabulary shared by every layer: what a region holds ([`Kind`]), memory
//! figures and their one summation rule ([`Figures`]), sizes for people ([`human`]),
//! page arithmetic ([`page`]), which pages are in memory ([`Residency`]), what maps
//! names mean ([`names`]), how objects are matched by name (`matching`: the command
//! line's only) and warnings with stable codes ([`warning`]).
//! It imports nothing else of the crate.

pub mod escape;
pub mod figures;
pub mod hints;
pub mod human;
pub mod kind;
pub mod names;
pub mod page;
pub mod residency;
pub mod warning;
// Objects matched by name: only the command line's views do (`cli` feature).
#[cfg(feature = "cli")]
pub mod matching;

pub use figures::Figures;
pub use hints::Hints;
pub use kind::Kind;
pub use page::PageSize;
pub use residency::Residency;
pub use warning::{Code, Warning};

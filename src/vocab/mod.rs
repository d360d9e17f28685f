//! The vocabulary shared by every layer: what a region holds ([`Kind`]), memory
//! figures and their one summation rule ([`Figures`]), sizes for people ([`human`]),
//! page arithmetic ([`page`]), which pages are in memory ([`Residency`]), what maps
//! names mean ([`names`]) and warnings with stable codes ([`warning`]).
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

pub use figures::Figures;
pub use hints::Hints;
pub use kind::Kind;
pub use page::PageSize;
pub use residency::Residency;
pub use warning::{Code, Warning};

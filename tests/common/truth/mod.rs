//! Ground truth: what others than elfmaps say about a process or a file.
//!
//! - [`loader`]: the report of a test program (dl_iterate_phdr: every object's bias and
//!   program headers), and the label each page gets from those headers;
//! - [`kernel`]: `/proc/PID/maps` and `/proc/PID/pagemap`;
//! - [`readelf`]: `readelf -lW` (program headers and the section-to-segment mapping).

pub mod kernel;
pub mod loader;
pub mod readelf;

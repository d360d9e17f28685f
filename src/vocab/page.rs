//! Page sizes and page arithmetic, with overflow handled in one place.
//!
//! A [`PageSize`] is validated once, where it enters (a flag, a snapshot header, smaps'
//! `KernelPageSize`, the running kernel): a power of two from 512 bytes to 1 GiB.
//! Rounding up can overflow near the top of the address space, so [`PageSize::up`]
//! returns `None` there and every caller decides what that means.

use std::fmt;

/// A validated page size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageSize(u64);

/// Why a number is not a page size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPageSize(pub u64);

impl fmt::Display for BadPageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not a page size (a power of two from {} to {})",
            self.0,
            PageSize::MIN,
            PageSize::MAX
        )
    }
}

impl std::error::Error for BadPageSize {}

impl PageSize {
    /// The smallest page size accepted (no Linux port has smaller pages).
    pub const MIN: u64 = 512;
    /// The largest page size accepted.
    pub const MAX: u64 = 1 << 30;
    /// 4 KiB, the default where the input does not say.
    pub const KIB4: PageSize = PageSize(4096);

    /// Validates `bytes` as a page size.
    pub fn new(bytes: u64) -> Result<PageSize, BadPageSize> {
        if bytes.is_power_of_two() && (Self::MIN..=Self::MAX).contains(&bytes) {
            Ok(PageSize(bytes))
        } else {
            Err(BadPageSize(bytes))
        }
    }

    /// The size in bytes.
    pub fn get(self) -> u64 {
        self.0
    }

    /// `x` rounded down to a page boundary.
    pub fn down(self, x: u64) -> u64 {
        x & !(self.0 - 1)
    }

    /// `x` rounded up to a page boundary; `None` when that overflows.
    pub fn up(self, x: u64) -> Option<u64> {
        x.checked_add(self.0 - 1).map(|v| v & !(self.0 - 1))
    }

    /// Whether `x` is a multiple of the page size.
    pub fn divides(self, x: u64) -> bool {
        x & (self.0 - 1) == 0
    }

    /// The number of pages in `[start, end)` (both page-aligned).
    pub fn pages(self, start: u64, end: u64) -> u64 {
        end.saturating_sub(start) >> self.0.trailing_zeros()
    }
}

impl fmt::Display for PageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for PageSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PageSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        PageSize::new(n).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_and_rounding() {
        assert!(PageSize::new(3).is_err());
        assert!(PageSize::new(256).is_err());
        assert!(PageSize::new(2 << 30).is_err());
        let p = PageSize::new(4096).unwrap();
        assert_eq!(p.down(0x1fff), 0x1000);
        assert_eq!(p.up(0x1001), Some(0x2000));
        assert_eq!(p.up(u64::MAX - 5), None);
        assert_eq!(p.pages(0x1000, 0x5000), 4);
        assert!(p.divides(0x3000) && !p.divides(0x3001));
    }
}

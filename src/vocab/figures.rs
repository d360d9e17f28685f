//! Memory figures and the one rule for adding them up: [`sum`]. A sum with an
//! unknown term is unknown, and so is a sum that does not fit in 64 bits (a hostile
//! saved smaps can state any figure): it is never wrapped, nor cut to a lower bound
//! passed off as the total. Every sum of figures (the regions of a report, the rows of
//! `summary`, `system`, `diff` and `metrics`) goes through [`Figures::add`] or [`sum`],
//! and the unique set size of every view is [`uss`].

use serde::Serialize;

/// Memory figures in bytes; `None` when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Figures {
    /// Virtual size.
    pub size: u64,
    /// Resident in memory (smaps `Rss`).
    pub rss: Option<u64>,
    /// Proportional set size: each page divided by the number of processes mapping it.
    pub pss: Option<u64>,
    /// Resident, mapped by others too, unmodified.
    pub shared_clean: Option<u64>,
    /// Resident, mapped by others too, modified.
    pub shared_dirty: Option<u64>,
    /// Resident, mapped by this process only, unmodified.
    pub private_clean: Option<u64>,
    /// Resident, mapped by this process only, modified.
    pub private_dirty: Option<u64>,
    /// Resident pages not backed by a file (smaps `Anonymous`).
    pub anonymous: Option<u64>,
    /// Swapped out.
    pub swap: Option<u64>,
    /// Swapped out, proportionally.
    pub swap_pss: Option<u64>,
    /// Locked in memory (`mlock`).
    pub locked: Option<u64>,
    /// Huge pages of hugetlbfs in memory (smaps' Shared_Hugetlb + Private_Hugetlb),
    /// which the kernel leaves out of Rss.
    pub hugetlb: Option<u64>,
}

impl Figures {
    /// Figures of nothing: every figure known and 0.
    pub fn zero() -> Figures {
        Figures {
            size: 0,
            rss: Some(0),
            pss: Some(0),
            shared_clean: Some(0),
            shared_dirty: Some(0),
            private_clean: Some(0),
            private_dirty: Some(0),
            anonymous: Some(0),
            swap: Some(0),
            swap_pss: Some(0),
            locked: Some(0),
            hugetlb: Some(0),
        }
    }

    /// Adds `other` to `self` by the rule of `sum`: a figure that is only partly
    /// known, or whose sum overflows, is null. `size`, always known, saturates at
    /// 2^64 - 1 bytes: the regions of one address space cannot reach it (they do not
    /// overlap), only a sum across processes could.
    pub fn add(&mut self, other: &Figures) {
        fn acc(a: &mut Option<u64>, b: Option<u64>) {
            *a = sum(*a, b);
        }
        self.size = self.size.saturating_add(other.size);
        acc(&mut self.rss, other.rss);
        acc(&mut self.pss, other.pss);
        acc(&mut self.shared_clean, other.shared_clean);
        acc(&mut self.shared_dirty, other.shared_dirty);
        acc(&mut self.private_clean, other.private_clean);
        acc(&mut self.private_dirty, other.private_dirty);
        acc(&mut self.anonymous, other.anonymous);
        acc(&mut self.swap, other.swap);
        acc(&mut self.swap_pss, other.swap_pss);
        acc(&mut self.locked, other.locked);
        acc(&mut self.hugetlb, other.hugetlb);
    }
}

/// The one rule for adding two figures: unknown (`None`) when either is unknown or
/// when the sum does not fit in 64 bits.
pub fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a?.checked_add(b?)
}

/// Unique set size of figures: private clean + private dirty (the `uss` of
/// `summary --sort`, `system`, `diff` and the tables).
pub fn uss(f: &Figures) -> Option<u64> {
    sum(f.private_clean, f.private_dirty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_never_wrap() {
        assert_eq!(sum(Some(1), Some(2)), Some(3));
        assert_eq!(sum(Some(u64::MAX), Some(1)), None);
        assert_eq!(sum(None, Some(1)), None);
        let mut f = Figures::zero();
        f.rss = Some(u64::MAX - 1023);
        f.size = u64::MAX;
        let mut g = Figures::zero();
        g.rss = Some(2 << 20);
        g.size = 4096;
        f.add(&g);
        assert_eq!(f.rss, None);
        assert_eq!(f.pss, Some(0));
        assert_eq!(f.size, u64::MAX);
    }
}

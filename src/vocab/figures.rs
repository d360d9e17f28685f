//! Memory figures and the one rule for adding them up.

use serde::Serialize;

/// Memory figures in bytes; `None` when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
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

    /// Adds `other` to `self`. A sum with an unknown term is unknown: a figure that
    /// is only partly known is null, never a lower bound passed off as the total.
    pub fn add(&mut self, other: &Figures) {
        fn acc(a: &mut Option<u64>, b: Option<u64>) {
            *a = a.zip(b).map(|(a, b)| a + b);
        }
        self.size += other.size;
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

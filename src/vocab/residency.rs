//! Residency: which pages of an address range are in memory and which are swapped
//! out, as sorted runs of pages.
//!
//! Memory follows what was learnt, not the size of the range: a 1 TiB range that is
//! all resident is one run, and a range read from a snapshot holds at most one run per
//! set bit it was given. The kernel's encodings (pagemap entries, `PAGEMAP_SCAN`
//! categories) are decoded where they are read (`source::proc`); a snapshot's bitmaps
//! where they are parsed (`input::snapshot`). Everything else counts from this type.
//!
//! Pages are numbered from the start of the range: page `i` is
//! `[start + i * page, start + (i + 1) * page)`, and the range has
//! `(end - start) / page` whole pages (a partial page at the end is never resident).

use std::ops::Range;

use super::page::PageSize;

/// Which pages of `[start, end)` are present and which are swapped.
///
/// The two sets are independent (the kernel never reports a page as both, but a
/// snapshot could say so; each is counted on its own). Where the kernel shows each
/// page's map count (`/proc/kpagecount`, with CAP_SYS_ADMIN), the residency also holds
/// the map counts of the present pages, and gives the exact PSS of any part of the
/// range ([`Residency::exact_pss`]). Without that privilege, pagemap still says which
/// present pages are mapped once (`PM_MMAP_EXCLUSIVE`), which gives the private bytes
/// of any part ([`Residency::private_bytes`]) but not its PSS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Residency {
    start: u64,
    end: u64,
    page: PageSize,
    present: Runs,
    swapped: Runs,
    /// Runs `(first, last, count)` of pages mapped `count` >= 2 times, sorted; a
    /// present page in none is mapped once. `None`: map counts unknown.
    mapcounts: Option<Vec<(u64, u64, u64)>>,
    /// Present pages mapped once, from pagemap's exclusive bit (no privilege needed);
    /// used where `mapcounts` is unknown. `None`: not read.
    once: Option<Runs>,
}

/// The fixed-point shift of PSS sums, as the kernel's `PSS_SHIFT`: a page mapped `n`
/// times adds `(page << 12) / n`, and the sum is shifted back at the end.
const PSS_SHIFT: u32 = 12;

/// Pages counted in a part of a [`Residency`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// Pages in memory (as smaps' Rss counts them).
    pub present: u64,
    /// Pages swapped out.
    pub swapped: u64,
}

impl Residency {
    /// `[start, end)` with no page present and none swapped (`end < start` is taken
    /// as an empty range).
    pub fn new(start: u64, end: u64, page: PageSize) -> Residency {
        Residency {
            start,
            end: end.max(start),
            page,
            present: Runs::default(),
            swapped: Runs::default(),
            mapcounts: None,
            once: None,
        }
    }

    /// The first address of the range.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The end of the range (exclusive).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The page size the pages are counted in.
    pub fn page_size(&self) -> PageSize {
        self.page
    }

    /// The number of whole pages in the range.
    pub fn pages(&self) -> u64 {
        self.page.pages(self.start, self.end)
    }

    /// Marks pages `pages` (indices from the start of the range) present; indices
    /// past the range are ignored.
    pub fn mark_present(&mut self, pages: Range<u64>) {
        let n = self.pages();
        self.present.add(pages.start, pages.end.min(n));
    }

    /// Marks pages `pages` (indices from the start of the range) swapped; indices
    /// past the range are ignored.
    pub fn mark_swapped(&mut self, pages: Range<u64>) {
        let n = self.pages();
        self.swapped.add(pages.start, pages.end.min(n));
    }

    /// The page indices of `[from, to)` (addresses; pages that start inside it), clipped
    /// to the range, for marking runs reported by address.
    pub fn page_indices(&self, from: u64, to: u64) -> Range<u64> {
        let shift = self.page.get().trailing_zeros();
        let first = from.saturating_sub(self.start) >> shift;
        // Pages whose first address lies before `to`.
        let last = match to.checked_sub(self.start) {
            Some(d) => d.div_ceil(self.page.get()),
            None => 0,
        };
        let n = self.pages();
        first.min(n)..last.min(n)
    }

    /// Pages present and swapped among the pages numbered
    /// `(from - start) / page .. (to - start) / page`: the pages of a part
    /// `[from, to)` of the range (addresses before `start` count from page 0).
    pub fn count(&self, from: u64, to: u64) -> PageCounts {
        let (first, last) = self.part(from, to);
        PageCounts {
            present: self.present.count(first, last),
            swapped: self.swapped.count(first, last),
        }
    }

    /// The page indices `first..last` of a part `[from, to)` (addresses), as
    /// [`Residency::count`] numbers them.
    fn part(&self, from: u64, to: u64) -> (u64, u64) {
        let shift = self.page.get().trailing_zeros();
        let n = self.pages();
        let first = (from.saturating_sub(self.start) >> shift).min(n);
        let last = (to.saturating_sub(self.start) >> shift).min(n);
        (first, last)
    }

    /// The present pages of `first..last` inside `runs` (sorted, disjoint; `span`
    /// gives a run's page indices).
    fn present_within<T>(
        &self,
        runs: &[T],
        span: impl Fn(&T) -> (u64, u64),
        first: u64,
        last: u64,
    ) -> u64 {
        let i = runs.partition_point(|r| span(r).1 <= first);
        runs[i..]
            .iter()
            .map(span)
            .take_while(|r| r.0 < last)
            .map(|(a, b)| self.present.count(a.max(first), b.min(last)))
            .sum()
    }

    /// The runs of present pages, as page indices, in order.
    pub fn present_runs(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.present.iter()
    }

    /// The number of runs held (memory used is proportional to it).
    #[cfg(test)]
    pub fn runs(&self) -> usize {
        self.present.0.len() + self.swapped.0.len() + self.mapcounts.as_ref().map_or(0, Vec::len)
    }

    /// Says that the map counts of the present pages are known: every present page is
    /// mapped once unless [`Residency::set_mapcount`] says otherwise.
    pub fn know_mapcounts(&mut self) {
        self.mapcounts.get_or_insert_with(Vec::new);
    }

    /// Sets the map count of pages `pages` (indices from the start of the range, in
    /// increasing order from one call to the next; a count of 0 or 1 is the default).
    /// Marks the map counts known.
    pub fn set_mapcount(&mut self, pages: Range<u64>, count: u64) {
        let n = self.pages();
        let (first, last) = (pages.start, pages.end.min(n));
        let runs = self.mapcounts.get_or_insert_with(Vec::new);
        if first >= last || count < 2 {
            return;
        }
        match runs.last_mut() {
            Some(r) if r.1 == first && r.2 == count => r.1 = last,
            Some(r) if r.1 > first => {} // out of order: ignored
            _ => runs.push((first, last, count)),
        }
    }

    /// Marks pages `pages` (indices from the start of the range) as mapped once, as
    /// pagemap's exclusive bit says (the map counts themselves unknown); the pages
    /// mapped once are then known, every other present page being shared. Indices
    /// past the range are ignored; an empty range only says they are known.
    pub fn mark_once(&mut self, pages: Range<u64>) {
        let n = self.pages();
        self.once
            .get_or_insert_with(Runs::default)
            .add(pages.start, pages.end.min(n));
    }

    /// The present pages mapped once, as runs of page indices in order, where that is
    /// known (from the map counts, or pagemap's exclusive bit); `None` otherwise.
    #[cfg(any(feature = "cli", test))]
    pub fn once_runs(&self) -> Option<Vec<Range<u64>>> {
        let Some(counts) = &self.mapcounts else {
            return Some(self.once.as_ref()?.iter().collect());
        };
        // The present pages outside the runs of pages mapped twice or more.
        let mut out = Vec::new();
        for r in self.present.iter() {
            let mut at = r.start;
            let i = counts.partition_point(|c| c.1 <= r.start);
            for &(a, b, _) in counts[i..].iter().take_while(|c| c.0 < r.end) {
                if a > at {
                    out.push(at..a);
                }
                at = at.max(b);
            }
            if at < r.end {
                out.push(at..r.end);
            }
        }
        Some(out)
    }

    /// Whether the map counts of the present pages are known.
    pub fn has_mapcounts(&self) -> bool {
        self.mapcounts.is_some()
    }

    /// The exact PSS of the pages of a part `[from, to)` (numbered as in
    /// [`Residency::count`]): each present page's size divided by the number of times
    /// it is mapped, summed with the kernel's precision and rounded down to a byte.
    /// `None` when the map counts are unknown.
    pub fn exact_pss(&self, from: u64, to: u64) -> Option<u64> {
        let counts = self.mapcounts.as_ref()?;
        let (first, last) = self.part(from, to);
        let full = u128::from(self.page.get()) << PSS_SHIFT;
        let mut shared_pages = 0u64;
        let mut sum = 0u128;
        let i = counts.partition_point(|r| r.1 <= first);
        for &(a, b, c) in counts[i..].iter().take_while(|r| r.0 < last) {
            // Only present pages count: a map count is set for present pages only,
            // but a snapshot or a race could say otherwise.
            let k = self.present.count(a.max(first), b.min(last));
            shared_pages += k;
            sum += u128::from(k) * (full / u128::from(c));
        }
        let once = self.present.count(first, last).saturating_sub(shared_pages);
        sum += u128::from(once) * full;
        Some((sum >> PSS_SHIFT) as u64)
    }

    /// Bytes of `[from, to)` present and mapped once (what smaps counts as
    /// `Private_Clean` + `Private_Dirty`: a page of map count 1), where the map counts
    /// are known, or else the pages mapped once ([`Residency::mark_once`]); `None`
    /// otherwise.
    pub fn private_bytes(&self, from: u64, to: u64) -> Option<u64> {
        let (first, last) = self.part(from, to);
        let once = match (&self.mapcounts, &self.once) {
            // The present pages outside the runs mapped twice or more.
            (Some(counts), _) => self
                .present
                .count(first, last)
                .saturating_sub(self.present_within(counts, |r| (r.0, r.1), first, last)),
            // Those marked mapped once that are present (a page that left memory
            // between the two reads is not counted).
            (None, Some(once)) => self.present_within(&once.0, |r| *r, first, last),
            (None, None) => return None,
        };
        once.checked_mul(self.page.get())
    }
}

/// Runs in bulk, as the snapshot file and `sections` read and write them.
impl Residency {
    /// Marks the pages of every run of `runs` present, in any order: sorted and merged
    /// at once (O(n log n)), where [`Residency::mark_present`] one run at a time is
    /// O(n) for each run out of order (issue 19 §10: a snapshot of 400k runs in
    /// descending order took 47 s). Indices past the range are ignored.
    pub fn mark_present_runs(&mut self, runs: impl IntoIterator<Item = Range<u64>>) {
        let n = self.pages();
        self.present.extend(n, runs);
    }

    /// [`Residency::mark_present_runs`] for swapped pages.
    pub fn mark_swapped_runs(&mut self, runs: impl IntoIterator<Item = Range<u64>>) {
        let n = self.pages();
        self.swapped.extend(n, runs);
    }

    /// The runs of present pages that end after page `from`, in order: found by a
    /// binary search, so that a part of a large range costs the runs it holds.
    #[cfg(feature = "cli")]
    pub fn present_runs_from(&self, from: u64) -> impl Iterator<Item = Range<u64>> + '_ {
        let i = self.present.0.partition_point(|r| r.1 <= from);
        self.present.0[i..].iter().map(|&(a, b)| a..b)
    }

    /// The runs of swapped pages, as page indices, in order.
    #[cfg(any(feature = "cli", test))]
    pub fn swapped_runs(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.swapped.iter()
    }
}

/// Sorted, disjoint, non-adjacent runs `[first, last)` of page indices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Runs(Vec<(u64, u64)>);

impl Runs {
    /// Adds `[from, to)`, merging with the runs it touches. Appending in order (the
    /// usual case: the kernel and bitmaps report pages in address order) is O(1).
    fn add(&mut self, from: u64, to: u64) {
        if from >= to {
            return;
        }
        match self.0.last_mut() {
            None => return self.0.push((from, to)),
            Some(last) if last.1 < from => return self.0.push((from, to)),
            Some(last) if last.0 <= from => {
                last.1 = last.1.max(to);
                return;
            }
            Some(_) => {}
        }
        // Out of order: merge with every run it overlaps or touches.
        let i = self.0.partition_point(|r| r.1 < from);
        let j = self.0.partition_point(|r| r.0 <= to);
        if i == j {
            self.0.insert(i, (from, to));
        } else {
            let merged = (from.min(self.0[i].0), to.max(self.0[j - 1].1));
            self.0.splice(i..j, [merged]);
        }
    }

    /// Adds every run of `runs` (clipped to `n` pages) in any order: the runs held and
    /// the new ones are sorted once and merged where they overlap or touch, as
    /// [`Runs::add`] merges them.
    fn extend(&mut self, n: u64, runs: impl IntoIterator<Item = Range<u64>>) {
        let mut all = std::mem::take(&mut self.0);
        all.extend(
            runs.into_iter()
                .map(|r| (r.start, r.end.min(n)))
                .filter(|(a, b)| a < b),
        );
        if !all.is_sorted_by_key(|r| r.0) {
            all.sort_unstable_by_key(|r| r.0);
        }
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged.shrink_to_fit();
        self.0 = merged;
    }

    /// Pages of the runs inside `[from, to)`.
    fn count(&self, from: u64, to: u64) -> u64 {
        if from >= to {
            return 0;
        }
        let i = self.0.partition_point(|r| r.1 <= from);
        self.0[i..]
            .iter()
            .take_while(|r| r.0 < to)
            .map(|r| r.1.min(to) - r.0.max(from))
            .sum()
    }

    fn iter(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.0.iter().map(|&(a, b)| a..b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 4096;

    fn page() -> PageSize {
        PageSize::new(P).unwrap()
    }

    #[test]
    fn runs_merge_in_any_order() {
        let mut r = Residency::new(0x1000, 0x1000 + 20 * P, page());
        r.mark_present(5..7);
        r.mark_present(1..2);
        r.mark_present(9..10);
        r.mark_present(7..9); // joins 5..7 and 9..10
        r.mark_present(2..3); // touches 1..2
        r.mark_present(15..40); // clipped to 20 pages
        assert_eq!(
            r.present_runs().collect::<Vec<_>>(),
            vec![1..3, 5..10, 15..20]
        );
        assert_eq!(r.count(0x1000, 0x1000 + 20 * P).present, 2 + 5 + 5);
        // Parts: pages 0..6 and 6..20.
        let cut = 0x1000 + 6 * P;
        assert_eq!(r.count(0x1000, cut).present, 2 + 1);
        assert_eq!(r.count(cut, 0x1000 + 20 * P).present, 4 + 5);
        assert_eq!(r.count(cut, cut).present, 0);
        assert_eq!(r.count(0x1000, 0x1000 + 20 * P).swapped, 0);
    }

    #[test]
    fn a_terabyte_is_one_run() {
        let tib = 1u64 << 40;
        let mut r = Residency::new(0x7f00_0000_0000, 0x7f00_0000_0000 + tib, page());
        assert_eq!(r.pages(), tib / P);
        r.mark_present(0..u64::MAX);
        r.mark_swapped(3..4);
        assert_eq!(r.runs(), 2);
        let all = r.count(r.start(), r.end());
        assert_eq!((all.present, all.swapped), (tib / P, 1));
    }

    #[test]
    fn page_indices_of_address_runs() {
        let r = Residency::new(0x10000, 0x10000 + 8 * P, page());
        assert_eq!(r.page_indices(0x10000, 0x10000 + 2 * P), 0..2);
        assert_eq!(r.page_indices(0, 0x10000 + P + 1), 0..2);
        assert_eq!(r.page_indices(0x10000 + 3 * P, u64::MAX), 3..8);
        assert_eq!(r.page_indices(0, 0x100), 0..0);
    }

    #[test]
    fn private_bytes_from_pages_mapped_once() {
        let page = PageSize::KIB4;
        let mut r = Residency::new(0x10000, 0x10000 + 16 * 4096, page);
        r.mark_present(0..10);
        assert_eq!(r.private_bytes(0x10000, 0x20000), None, "not read");
        // Pages 2..6 and 8..12 mapped once; 10 and 11 are not present (gone since).
        r.mark_once(2..6);
        r.mark_once(8..12);
        assert_eq!(r.private_bytes(0x10000, 0x20000), Some(6 * 4096));
        // A part: pages 4..9.
        assert_eq!(
            r.private_bytes(0x10000 + 4 * 4096, 0x10000 + 9 * 4096),
            Some(3 * 4096)
        );
        // Known and none mapped once.
        let mut none = Residency::new(0, 4 * 4096, page);
        none.mark_present(0..4);
        none.mark_once(0..0);
        assert_eq!(none.private_bytes(0, 4 * 4096), Some(0));
        assert_eq!(r.once_runs(), Some(vec![2..6, 8..12]));
        // Map counts, where known, decide.
        r.know_mapcounts();
        assert_eq!(r.private_bytes(0x10000, 0x20000), Some(10 * 4096));
        r.set_mapcount(3..5, 2);
        assert_eq!(r.private_bytes(0x10000, 0x20000), Some(8 * 4096));
        assert_eq!(r.once_runs(), Some(vec![0..3, 5..10]));
    }

    #[test]
    fn exact_pss_from_map_counts() {
        let mut r = Residency::new(0x1000, 0x1000 + 10 * P, page());
        r.mark_present(0..6);
        assert_eq!(r.exact_pss(0x1000, 0x1000 + 10 * P), None);
        r.know_mapcounts();
        // Pages 0-1 mapped 3 times, 2 twice, 3-5 once.
        r.set_mapcount(0..1, 3);
        r.set_mapcount(1..2, 3);
        r.set_mapcount(2..3, 2);
        r.set_mapcount(3..4, 1);
        assert_eq!(r.runs(), 1 + 2);
        let third = ((P << 12) / 3) >> 12;
        assert_eq!(r.exact_pss(0x1000, 0x1000 + P), Some(third));
        let all = r.exact_pss(0x1000, 0x1000 + 10 * P).unwrap();
        assert_eq!(all, ((2 * ((P << 12) / 3) + (P << 12) / 2) >> 12) + 3 * P);
        // Parts add up (to rounding).
        let cut = 0x1000 + 2 * P;
        let parts = r.exact_pss(0x1000, cut).unwrap() + r.exact_pss(cut, r.end()).unwrap();
        assert!(all - parts <= 1, "{all} {parts}");
        assert_eq!(r.exact_pss(r.end(), r.end()), Some(0));
        // Private: the present pages mapped once (3-5).
        assert_eq!(r.private_bytes(0x1000, r.end()), Some(3 * P));
        assert_eq!(r.private_bytes(0x1000, cut), Some(0));
        let mut none = Residency::new(0x1000, 0x1000 + 10 * P, page());
        none.mark_present(0..6);
        assert_eq!(none.private_bytes(0x1000, none.end()), None);
    }

    #[test]
    fn hostile_ranges_do_not_panic() {
        let mut r = Residency::new(u64::MAX - P, 5, page());
        assert_eq!(r.pages(), 0);
        r.mark_present(0..10);
        assert_eq!(r.count(0, u64::MAX), PageCounts::default());
        let r = Residency::new(0, u64::MAX, page());
        assert_eq!(r.count(u64::MAX, 0), PageCounts::default());
    }

    /// Issue 19 §10: many runs in descending order were inserted one by one at the
    /// front (quadratic); in bulk they are sorted once, and merge as `add` merges.
    #[test]
    #[cfg(feature = "cli")]
    fn runs_in_bulk_merge_as_one_by_one() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut runs = Vec::new();
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = x % 5000;
            runs.push(a..a + x % 7);
        }
        runs.push(4990..6000);
        let (mut one, mut bulk) = (
            Residency::new(0, 5000 * P, page()),
            Residency::new(0, 5000 * P, page()),
        );
        for r in &runs {
            one.mark_present(r.clone());
        }
        bulk.mark_present(3..4);
        one.mark_present(3..4);
        bulk.mark_present_runs(runs.iter().rev().cloned());
        assert_eq!(one, bulk);
        let descending: Vec<Range<u64>> = (0..400_000u64).rev().map(|i| 2 * i..2 * i + 1).collect();
        let mut r = Residency::new(0, 800_000 * P, page());
        r.mark_swapped_runs(descending);
        assert_eq!(r.runs(), 400_000);
        assert_eq!(r.count(0, 800_000 * P).swapped, 400_000);
    }
}

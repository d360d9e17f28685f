//! Sizes for people: bytes in binary units (`4.0K`, `1.5M`), as the tables and the
//! messages of `layout`'s findings write them.

/// Formats bytes with binary units (`4.0K`, `1.5M`); `-` for unknown.
pub fn human(n: Option<u64>) -> String {
    let mut buf = HumanBuf::new();
    buf.format(n).to_string()
}

/// Bytes with binary units, as [`human`], without allocating: it honours width and
/// alignment (`{:>7}`), for tables of thousands of rows (the command line's printers).
#[cfg(any(feature = "cli", test))]
#[derive(Debug, Clone, Copy)]
pub struct Human(pub Option<u64>);

#[cfg(any(feature = "cli", test))]
impl std::fmt::Display for Human {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(HumanBuf::new().format(self.0))
    }
}

/// Room for the text of one size (the longest, `16384P`, is 6 bytes), so that tables
/// format sizes with neither an allocation nor the `fmt` machinery.
#[derive(Debug, Clone, Copy)]
pub struct HumanBuf {
    bytes: [u8; 24],
}

impl Default for HumanBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl HumanBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        HumanBuf { bytes: [0; 24] }
    }

    /// The text of `n` as [`human`] writes it, in this buffer.
    pub fn format(&mut self, n: Option<u64>) -> &str {
        // Only ASCII digits, '.', 'B', unit letters and '-' are written.
        std::str::from_utf8(self.format_ascii(n)).unwrap_or("?")
    }

    /// [`HumanBuf::format`] as bytes (all ASCII).
    pub fn format_ascii(&mut self, n: Option<u64>) -> &[u8] {
        const UNITS: [u8; 5] = *b"KMGTP";
        let Some(n) = n else {
            return b"-";
        };
        // Written backwards from the end: unit, tenths, units.
        let b = &mut self.bytes;
        let mut i = b.len();
        if n < 1024 {
            i -= 1;
            b[i] = b'B';
            i = digits(b, i, n);
        } else {
            let (u, tenths) = tenths_of_unit(n);
            i -= 1;
            b[i] = UNITS[u];
            if tenths >= 1000 {
                i = digits(b, i, (tenths + 5) / 10);
            } else {
                i -= 2;
                b[i] = b'.';
                b[i + 1] = b'0' + (tenths % 10) as u8;
                i = digits(b, i, tenths / 10);
            }
        }
        &b[i..]
    }
}

/// The unit of `n` (0 for K .. 4 for P: the first at which it shows below 1024) and
/// `n` in tenths of it, rounded half up; `n` is 1024 or more. In integers (float
/// formatting is slow), with shifts (units are powers of two); in 128 bits only when
/// ten times `n` does not fit in 64.
fn tenths_of_unit(n: u64) -> (usize, u64) {
    const LAST: usize = 4;
    match n.checked_mul(10) {
        Some(n10) => {
            let (mut u, mut shift) = (0, 10);
            while (n10 >> shift) >= 1024 * 10 - 5 && u < LAST {
                shift += 10;
                u += 1;
            }
            // (n10 + half) >> shift, without the sum's overflow.
            (u, (n10 >> shift) + ((n10 >> (shift - 1)) & 1))
        }
        None => {
            let n10 = u128::from(n) * 10;
            let (mut u, mut shift) = (0, 10);
            while (n10 >> shift) >= 1024 * 10 - 5 && u < LAST {
                shift += 10;
                u += 1;
            }
            // At most 16384P, in tenths 163840: fits in a u64.
            (u, ((n10 + (1u128 << (shift - 1))) >> shift) as u64)
        }
    }
}

/// Writes the decimal digits of `n` into `b` backwards, ending before `end`; returns
/// where they start. `b` has room: 20 digits and a unit at most (`end` is 20 or more).
pub(crate) fn digits(b: &mut [u8; 24], end: usize, mut n: u64) -> usize {
    let mut i = end;
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(None), "-");
        assert_eq!(human(Some(512)), "512B");
        assert_eq!(human(Some(4096)), "4.0K");
        assert_eq!(human(Some(1536 * 1024)), "1.5M");
        assert_eq!(human(Some(200 << 20)), "200M");
        assert_eq!(human(Some(1023 * 1024 + 1000)), "1.0M");
        assert_eq!(human(Some(99 * 1024 + 1000)), "100K");
        assert_eq!(human(Some(1 << 40)), "1.0T");
        assert_eq!(human(Some(u64::MAX)), "16384P");
        assert_eq!(
            format!("{:>7}|{:<6}|", Human(Some(4096)), Human(None)),
            "   4.0K|-     |"
        );
    }

    /// The integer formatting against the formula it replaced (u128 division,
    /// `(tenths + 5) / 10` above 99.9 of a unit), on edges and a sweep.
    #[test]
    fn the_same_text_as_the_division_formula() {
        fn old(n: u64) -> String {
            const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
            if n < 1024 {
                return format!("{n}B");
            }
            let mut u = 0;
            let mut div: u128 = 1024;
            while u128::from(n) * 10 / div >= 1024 * 10 - 5 && u + 1 < UNITS.len() {
                div *= 1024;
                u += 1;
            }
            let tenths = (u128::from(n) * 10 + div / 2) / div;
            if tenths >= 1000 {
                format!("{}{}", (tenths + 5) / 10, UNITS[u])
            } else {
                format!("{}.{}{}", tenths / 10, tenths % 10, UNITS[u])
            }
        }
        let mut ns: Vec<u64> = (0..70_000).collect();
        for s in 0..64 {
            let p = 1u64 << s;
            for d in [p - 1, p, p + 1, p / 2 * 3, (p / 1000).saturating_mul(9995)] {
                ns.push(d);
            }
        }
        for k in 1..6u32 {
            let unit = 1u64 << (10 * k);
            for t in 995..1030u64 {
                for off in [0, 1, unit / 20, unit / 20 - 1, unit / 20 + 1] {
                    ns.push((t.saturating_mul(unit) / 10).saturating_add(off));
                    ns.push(t.saturating_mul(unit).saturating_add(off));
                }
            }
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ns.push(x >> (x % 64));
        }
        ns.push(u64::MAX);
        for n in ns {
            assert_eq!(human(Some(n)), old(n), "{n}");
        }
    }
}

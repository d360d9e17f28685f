//! Sizes for people: bytes in binary units (`4.0K`, `1.5M`), as the tables and the
//! messages of `layout`'s findings write them.

/// Formats bytes with binary units (`4.0K`, `1.5M`); `-` for unknown.
pub fn human(n: Option<u64>) -> String {
    Human(n).to_string()
}

/// Bytes with binary units, as [`human`], without allocating: it honours width and
/// alignment (`{:>7}`), for tables of thousands of rows.
#[derive(Debug, Clone, Copy)]
pub struct Human(pub Option<u64>);

impl std::fmt::Display for Human {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::io::Write as _;
        const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
        let Some(n) = self.0 else {
            return f.pad("-");
        };
        let mut buf = [0u8; 32];
        let mut cur = std::io::Cursor::new(&mut buf[..]);
        let written = if n < 1024 {
            write!(cur, "{n}B")
        } else {
            // Tenths of the unit, rounded half up, in integers (float formatting is slow).
            let mut u = 0;
            let mut div: u128 = 1024;
            while u128::from(n) * 10 / div >= 1024 * 10 - 5 && u + 1 < UNITS.len() {
                div *= 1024;
                u += 1;
            }
            let tenths = (u128::from(n) * 10 + div / 2) / div;
            if tenths >= 1000 {
                write!(cur, "{}{}", (tenths + 5) / 10, UNITS[u])
            } else {
                write!(cur, "{}.{}{}", tenths / 10, tenths % 10, UNITS[u])
            }
        };
        written.map_err(|_| std::fmt::Error)?;
        let len = cur.position() as usize;
        f.pad(std::str::from_utf8(&buf[..len]).map_err(|_| std::fmt::Error)?)
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
    }
}

//! One table row at a time, without an allocation per cell: [`Line`] is a byte buffer
//! reused for every row, with the padding of `format!`'s `{:<w}` (counted in
//! characters, as `format!` counts them) and `{:>w}`, hex and decimal numbers, sizes
//! for people, colour codes around a cell when colour is on, and the short names of
//! the table with a fast path for the usual plain ASCII name. The row goes to the
//! writer in one `write_all`.

use std::io::{self, Write};

use owo_colors::Style;

use super::display_name;
use crate::vocab::human::{HumanBuf, digits};

/// The bytes of one row, reused for every row of a table.
pub(crate) struct Line {
    buf: Vec<u8>,
    color: bool,
    /// The last sizes formatted for people, and their text: a table repeats a few
    /// sizes (`0B`, `4.0K`) thousands of times.
    humans: [(u64, HumanText); 4],
    /// The entry of `humans` to replace next.
    next_human: usize,
}

/// The text of one size for people: at most 6 bytes (`16384P`); length 0 for an
/// unused entry.
#[derive(Clone, Copy, Default)]
struct HumanText {
    len: u8,
    bytes: [u8; 7],
}

/// Room for a right-aligned number cell: 16 hex digits, the widest, and padding.
const CELL: usize = 24;

/// Two hex digits for each byte value, for [`Line::hex`].
const HEX_PAIRS: [[u8; 2]; 256] = {
    let digits = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [digits[i >> 4], digits[i & 0xf]];
        i += 1;
    }
    t
};

impl Line {
    /// An empty line; colour codes are written only when `color` is on.
    pub(crate) fn new(color: bool) -> Self {
        Line {
            buf: Vec::with_capacity(256),
            color,
            humans: [(0, HumanText::default()); 4],
            next_human: 0,
        }
    }

    /// Appends `s` as it is.
    #[inline]
    pub(crate) fn text(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// Appends `n` spaces.
    #[inline]
    pub(crate) fn spaces(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, b' ');
    }

    /// Appends `s` padded with spaces on the right to `width` characters (`{:<width}`).
    #[inline]
    pub(crate) fn left(&mut self, s: &str, width: usize) {
        self.text(s);
        self.spaces(width.saturating_sub(chars(s)));
    }

    /// Appends `v` in lowercase hex, right-aligned in `width` (`{:>width$x}`).
    pub(crate) fn hex(&mut self, v: u64, width: usize) {
        // Two digits a step, from the last, into a cell of spaces: the padding and
        // the significant digits then go to the line in one copy.
        let mut cell = [b' '; CELL];
        let digits = (64 - v.leading_zeros() as usize).div_ceil(4).max(1);
        let (mut x, mut end) = (v, CELL);
        loop {
            cell[end - 2..end].copy_from_slice(&HEX_PAIRS[(x & 0xff) as usize]);
            x >>= 8;
            end -= 2;
            if x == 0 {
                break;
            }
        }
        if digits % 2 == 1 {
            // The pair wrote a leading zero.
            cell[CELL - digits - 1] = b' ';
        }
        self.cell(&cell, digits, width);
    }

    /// Appends the last `len` bytes of `cell` (text after spaces) right-aligned in
    /// `width`.
    #[inline]
    fn cell(&mut self, cell: &[u8; CELL], len: usize, width: usize) {
        if width <= CELL {
            self.buf.extend_from_slice(&cell[CELL - width.max(len)..]);
        } else {
            self.spaces(width - len);
            self.buf.extend_from_slice(&cell[CELL - len..]);
        }
    }

    /// Appends `v` in decimal, right-aligned in `width` (`{:>width}`).
    pub(crate) fn dec(&mut self, v: u64, width: usize) {
        let mut tmp = [0u8; 24];
        let i = digits(&mut tmp, 24, v);
        self.spaces(width.saturating_sub(24 - i));
        self.buf.extend_from_slice(&tmp[i..]);
    }

    /// Appends a size for people ([`crate::vocab::human::human`]), right-aligned in
    /// `width`.
    pub(crate) fn human(&mut self, n: Option<u64>, width: usize) {
        let Some(v) = n else {
            self.spaces(width.saturating_sub(1));
            self.buf.push(b'-');
            return;
        };
        let at = match self.humans.iter().position(|(k, t)| *k == v && t.len > 0) {
            Some(at) => at,
            None => {
                let mut b = HumanBuf::new();
                let text = b.format_ascii(Some(v));
                let mut t = HumanText::default();
                t.bytes[..text.len()].copy_from_slice(text);
                t.len = text.len() as u8;
                let at = self.next_human;
                self.humans[at] = (v, t);
                self.next_human = (at + 1) % self.humans.len();
                at
            }
        };
        let t = self.humans[at].1;
        let len = usize::from(t.len);
        let mut cell = [b' '; CELL];
        cell[CELL - len..].copy_from_slice(&t.bytes[..len]);
        self.cell(&cell, len, width);
    }

    /// Opens `style` (nothing when colour is off or the style is plain).
    #[inline]
    pub(crate) fn paint(&mut self, style: Style) {
        if self.color {
            // Writing to a Vec cannot fail.
            let _ = write!(self.buf, "{}", style.prefix_formatter());
        }
    }

    /// Closes `style` (what [`Line::paint`] opened).
    #[inline]
    pub(crate) fn unpaint(&mut self, style: Style) {
        if self.color {
            let _ = write!(self.buf, "{}", style.suffix_formatter());
        }
    }

    /// Appends the short name of an object or mapping, as [`super::short_name`]
    /// writes it: copied as it is when it is plain ASCII, escaped otherwise.
    pub(crate) fn short_name(&mut self, name: &str) {
        let b = name.as_bytes();
        let whole =
            b.starts_with(b"/dev/") || b.starts_with(b"/SYSV") || b.starts_with(b"/anon_hugepage");
        let (base, deleted) = if b.first() == Some(&b'/') && !whole {
            // The file name ([`crate::vocab::matching::file_name`]): after the last '/', without " (deleted)".
            let (stem, deleted) = match name.strip_suffix(" (deleted)") {
                Some(stem) => (stem, true),
                None => (name, false),
            };
            match memchr::memrchr(b'/', stem.as_bytes()) {
                Some(i) => (&stem[i + 1..], deleted),
                None => (stem, deleted),
            }
        } else {
            (name, false)
        };
        if is_plain(base) {
            self.text(base);
            if deleted {
                self.text(" (deleted)");
            }
        } else if deleted {
            self.text(&display_name(&format!("{base} (deleted)")));
        } else {
            self.text(&display_name(base));
        }
    }

    /// Ends the row with a newline, writes it, and empties the line for the next.
    pub(crate) fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.buf.push(b'\n');
        let r = out.write_all(&self.buf);
        self.buf.clear();
        r
    }
}

/// Characters in `s`, as `format!` counts them for padding.
#[inline]
fn chars(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Whether `s` prints as it is: printable ASCII and no backslash (nothing for
/// [`crate::vocab::escape::escape`] to escape, no `\012` for the kernel's newline).
pub(crate) fn is_plain(s: &str) -> bool {
    // No early exit: the loop compiles to a vector test of 16 or 32 bytes at a time.
    !s.bytes().fold(false, |bad, b| {
        bad | !(0x20..0x7f).contains(&b) | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(f: impl FnOnce(&mut Line)) -> String {
        let mut l = Line::new(false);
        f(&mut l);
        let mut out = Vec::new();
        l.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_pad_as_format_does() {
        for (v, w) in [(0u64, 8), (0x1234, 8), (u64::MAX, 8), (0xabc, 0)] {
            assert_eq!(one(|l| l.hex(v, w)), format!("{v:>w$x}\n"));
            assert_eq!(one(|l| l.dec(v, w)), format!("{v:>w$}\n"));
        }
        for s in ["", "text", "é\u{202e}x", "a very long text"] {
            assert_eq!(one(|l| l.left(s, 12)), format!("{s:<12}\n"));
        }
    }

    #[test]
    fn sizes_as_human_writes_them_cached_or_not() {
        let mut l = Line::new(false);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut want = String::new();
        for k in 0..5000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct values, so that the cache is hit and replaced.
            let n = match k % 3 {
                0 => Some(x % 7 * 4096),
                1 => Some(x >> (x % 64)),
                _ => (!x.is_multiple_of(5)).then_some(x % 3 * 1000),
            };
            l.human(n, 7);
            want.push_str(&format!("{:>7}", crate::vocab::human::human(n)));
        }
        let mut out = Vec::new();
        l.finish(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), want + "\n");
        for v in [
            0u64,
            1,
            0xf,
            0x10,
            0xff,
            0x100,
            0xabc,
            0x7fff_ffff_f000,
            u64::MAX,
        ] {
            for w in [0, 1, 8, 12, 16, 20, 24, 25, 40] {
                assert_eq!(one(|l| l.hex(v, w)), format!("{v:>w$x}\n"));
            }
        }
    }

    #[test]
    fn short_names_as_the_allocating_version() {
        for n in [
            "/usr/lib/libc.so.6",
            "/tmp/x\u{1b}[2J.so (deleted)",
            "/tmp/plain.so (deleted)",
            "[anon: glibc: malloc arena]",
            "/tmp/a\\012b.so",
            "/dev/zero (deleted)",
            "/SYSV00000000 (deleted)",
            "/tmp/é.so",
            "/tmp/del\u{7f}.so",
            "[heap]",
            "",
            "/",
            "/a/ (deleted)",
            "noslash (deleted)",
            "/dev/shm/x (deleted)",
            "/a/b/c\\d.so (deleted)",
        ] {
            assert_eq!(
                one(|l| l.short_name(n)),
                format!("{}\n", super::super::short_name(n))
            );
        }
    }
}

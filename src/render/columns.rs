//! The figure columns every table chooses from (`--columns`, as `ps -o`): one set,
//! one name and one meaning each, in `map`, `summary`, `system`, `diff` and
//! `sections` (docs/cli.md, "Columns").

use std::fmt;

use crate::vocab::Figures;
use crate::vocab::figures::uss;

/// One figure column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Column {
    /// Virtual size.
    Size,
    /// Resident.
    Rss,
    /// Proportional set size.
    Pss,
    /// Unique set size: private clean + private dirty.
    Uss,
    /// Private dirty: memory only this process has written.
    Dirty,
    /// Swapped out.
    Swap,
}

impl Column {
    /// Every column, in the order tables print them.
    pub const ALL: [Column; 6] = [
        Column::Size,
        Column::Rss,
        Column::Pss,
        Column::Uss,
        Column::Dirty,
        Column::Swap,
    ];

    /// Its header.
    pub fn header(self) -> &'static str {
        match self {
            Column::Size => "SIZE",
            Column::Rss => "RSS",
            Column::Pss => "PSS",
            Column::Uss => "USS",
            Column::Dirty => "DIRTY",
            Column::Swap => "SWAP",
        }
    }

    /// Its figure of `f`; `None` when unknown.
    pub fn of(self, f: &Figures) -> Option<u64> {
        match self {
            Column::Size => Some(f.size),
            Column::Rss => f.rss,
            Column::Pss => f.pss,
            Column::Uss => uss(f),
            Column::Dirty => f.private_dirty,
            Column::Swap => f.swap,
        }
    }

    /// A list as `--columns` takes it: names separated by commas, in any case
    /// (`size,rss,uss`); at least one, each once.
    pub fn parse_list(s: &str) -> Result<Vec<Column>, String> {
        let mut out = Vec::new();
        for name in s.split(',').map(str::trim) {
            let c = Column::ALL
                .into_iter()
                .find(|c| c.header().eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("{name:?} is not a column: one of {}", Names))?;
            if out.contains(&c) {
                return Err(format!("{name:?} is given twice"));
            }
            out.push(c);
        }
        Ok(out)
    }
}

/// The names of every column, for errors and help.
struct Names;

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = Column::ALL
            .iter()
            .map(|c| c.header().to_ascii_lowercase())
            .collect();
        f.write_str(&names.join(", "))
    }
}

/// `map`'s columns by default.
pub const MAP: &[Column] = &[Column::Size, Column::Rss, Column::Pss];

/// `summary`'s columns by default.
pub const SUMMARY: &[Column] = &[
    Column::Size,
    Column::Rss,
    Column::Pss,
    Column::Dirty,
    Column::Swap,
];

/// `diff`'s columns by default.
pub const DIFF: &[Column] = &[Column::Size, Column::Rss, Column::Pss];

/// `sections`' columns by default (the only two it has: a section's size and its
/// resident bytes).
pub const SECTIONS: &[Column] = &[Column::Size, Column::Rss];

/// `system`'s columns by default.
pub const SYSTEM: &[Column] = &[
    Column::Size,
    Column::Rss,
    Column::Pss,
    Column::Uss,
    Column::Swap,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_lists_parse_as_ps_o() {
        assert_eq!(
            Column::parse_list("size,USS, dirty").unwrap(),
            [Column::Size, Column::Uss, Column::Dirty]
        );
        assert!(Column::parse_list("size,size").is_err());
        let e = Column::parse_list("vsz").unwrap_err();
        assert!(e.contains("size, rss, pss, uss, dirty, swap"), "{e}");
        let f = Figures {
            private_clean: Some(1),
            private_dirty: Some(2),
            ..Figures::zero()
        };
        assert_eq!(Column::Uss.of(&f), Some(3));
        assert_eq!(Column::Dirty.of(&f), Some(2));
    }
}

//! The page size of saved input: the rule every line must obey, where the page size
//! is stated (`--page-size`, smaps' `KernelPageSize`, a snapshot's header), and which
//! sizes are possible when nothing states it.
//!
//! The rule: the kernel maps a file in whole pages, so the start address and the file
//! offset of every line that maps a file (inode not 0) are multiples of the page size.
//! Labels are computed from exactly these two numbers (the load bias), so a page size
//! that contradicts them would give wrong labels: it is an error, naming the first
//! line that contradicts it.
//!
//! Ends of lines and anonymous lines are not held to it: under qemu-user a guest with
//! pages larger than the host's (sparc64's 8 KiB on a 4 KiB host,
//! `testdata/cross/sparc64/maps`) shows the zero-filled tail of a file's last page as
//! a 4 KiB line of its own, while every file-backed line still starts on an 8 KiB
//! page. Inode-0 lines are not read as files at all (their offset means nothing to
//! the labels; see [`super`]'s `no-inode` warning).

use std::fmt;

use crate::input::elf::ElfInfo;
use crate::input::maps::Mapping;
use crate::vocab::{Code, PageSize};

/// The page sizes considered when the input does not say: 4 KiB (x86, most boards),
/// 8 KiB (sparc64, alpha), 16 KiB (arm64, mips, loongarch) and 64 KiB (arm64, ppc64).
pub(crate) const CANDIDATES: [u64; 4] = [4096, 8192, 16384, 65536];

/// Who said what the page size is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stated {
    /// The user (`--page-size`).
    User,
    /// smaps' `KernelPageSize` field of this 1-based line (the smallest in the input).
    KernelPageSize {
        /// The line of the mapping whose field it is.
        line: usize,
    },
    /// The header of a snapshot.
    Snapshot,
    /// Nobody: 4096, the smallest page size assumed when nothing says otherwise.
    Default,
}

impl fmt::Display for Stated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stated::User => f.write_str("--page-size"),
            Stated::KernelPageSize { line } => write!(f, "the KernelPageSize of line {line}"),
            Stated::Snapshot => f.write_str("the snapshot's page_size"),
            Stated::Default => f.write_str("the assumed page size"),
        }
    }
}

/// A page size that the input contradicts: a line whose start or offset is not a
/// multiple of it, or another statement of the page size that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageSizeError {
    /// The page size contradicted.
    pub page: PageSize,
    /// Who stated it.
    pub stated: Stated,
    /// The 1-based line that contradicts it, if a line does.
    pub line: Option<usize>,
    /// What contradicts it, for people.
    pub why: String,
}

impl PageSizeError {
    /// The stable code of this error.
    pub fn code(&self) -> Code {
        Code::PageSizeContradicted
    }
}

impl fmt::Display for PageSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} contradicts ", self.stated, self.page)?;
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        f.write_str(&self.why)?;
        if self.stated == Stated::Default {
            f.write_str("; pass --page-size")?;
        }
        Ok(())
    }
}

impl std::error::Error for PageSizeError {}

/// The first file-backed line whose start or file offset is not a multiple of
/// `page`: its line number and why.
pub(crate) fn first_contradiction(mappings: &[Mapping], page: PageSize) -> Option<(usize, String)> {
    mappings.iter().filter(|m| m.inode != 0).find_map(|m| {
        let (what, value) = if !page.divides(m.start) {
            ("start address", m.start)
        } else if !page.divides(m.offset) {
            ("file offset", m.offset)
        } else {
            return None;
        };
        Some((
            m.line,
            format!(
                "{:x}-{:x} {} {:08x} maps a file, and its {what} {value:#x} is not a multiple of {page} (the kernel maps files in whole pages)",
                m.start,
                m.end,
                m.perms_str(),
                m.offset
            ),
        ))
    })
}

/// The page size the input or the user states, checked against every line: `None`
/// when nothing states one (plain maps, or smaps without `KernelPageSize`, and no
/// `--page-size`). A snapshot's header wins over `KernelPageSize`, which wins over
/// nothing; a `--page-size` that differs from either is an error, as is a stated size
/// that a line contradicts.
pub(crate) fn stated(
    mappings: &[Mapping],
    user: Option<PageSize>,
    snapshot: Option<PageSize>,
) -> Result<Option<PageSize>, PageSizeError> {
    let kernel = mappings
        .iter()
        .filter_map(|m| Some((PageSize::new(m.bytes("KernelPageSize")?).ok()?, m.line)))
        .min_by_key(|&(p, line)| (p, line));
    let input = match (snapshot, kernel) {
        (Some(p), _) => Some((p, Stated::Snapshot, None)),
        (None, Some((p, line))) => Some((p, Stated::KernelPageSize { line }, Some(line))),
        (None, None) => None,
    };
    if let (Some(u), Some((p, by, line))) = (user, input)
        && u != p
    {
        return Err(PageSizeError {
            page: u,
            stated: Stated::User,
            line,
            why: format!("{by} is {p}"),
        });
    }
    let Some((page, stated)) = input
        .map(|(p, by, _)| (p, by))
        .or(user.map(|u| (u, Stated::User)))
    else {
        return Ok(None);
    };
    match first_contradiction(mappings, page) {
        Some((line, why)) => Err(PageSizeError {
            page,
            stated,
            line: Some(line),
            why,
        }),
        None => Ok(Some(page)),
    }
}

/// The [`CANDIDATES`] that no line contradicts, smallest first; an error when even
/// 4096 is contradicted (a smaller page size must be given with `--page-size`).
pub(crate) fn possible(mappings: &[Mapping]) -> Result<Vec<PageSize>, PageSizeError> {
    let mut out = Vec::new();
    for p in CANDIDATES.map(|p| PageSize::new(p).expect("a valid page size")) {
        match first_contradiction(mappings, p) {
            None => out.push(p),
            Some((line, why)) if out.is_empty() => {
                return Err(PageSizeError {
                    page: p,
                    stated: Stated::Default,
                    line: Some(line),
                    why,
                });
            }
            // A line that contradicts p contradicts every multiple of it.
            Some(_) => break,
        }
    }
    Ok(out)
}

/// Whether every start and end, and the offset of every file-backed line, is a
/// multiple of `page`: a stricter test than the rule, for hints only.
pub(crate) fn every_address_is_a_multiple(mappings: &[Mapping], page: PageSize) -> bool {
    mappings.iter().all(|m| {
        page.divides(m.start) && page.divides(m.end) && (m.inode == 0 || page.divides(m.offset))
    })
}

/// Whether the program headers of `info` allow pages of `page` bytes: every PT_LOAD's
/// file offset and address agree modulo the page (the only way to map it), and its
/// alignment is a multiple of the page (glibc refuses to load the file otherwise).
pub(crate) fn headers_agree(info: &ElfInfo, page: PageSize) -> bool {
    info.loads().all(|p| {
        page.divides(p.vaddr.wrapping_sub(p.offset)) && (p.align == 0 || page.divides(p.align))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::maps;

    fn page(n: u64) -> PageSize {
        PageSize::new(n).unwrap()
    }

    #[test]
    fn a_stated_page_size_is_checked_against_every_file_backed_line() {
        let smaps = maps::parse(b"10000-20000 r--p 0 08:01 5 /x\nKernelPageSize: 16 kB\n").unwrap();
        assert_eq!(stated(&smaps, None, None), Ok(Some(page(16384))));
        let e = stated(&smaps, Some(page(4096)), None).unwrap_err();
        assert_eq!((e.stated, e.line), (Stated::User, Some(1)));
        assert_eq!(e.code(), Code::PageSizeContradicted);

        let text =
            b"10000-13000 r--p 0 08:01 5 /lib/a.so\n13000-15000 r-xp 3000 08:01 5 /lib/a.so\n";
        let two = maps::parse(text).unwrap();
        assert_eq!(stated(&two, None, None), Ok(None));
        assert_eq!(stated(&two, Some(page(4096)), None), Ok(Some(page(4096))));
        let e = stated(&two, Some(page(16384)), None).unwrap_err();
        assert_eq!((e.stated, e.line), (Stated::User, Some(2)));
        assert!(
            e.to_string()
                .starts_with("--page-size 16384 contradicts line 2: "),
            "{e}"
        );
        let e = stated(&two, None, Some(page(65536))).unwrap_err();
        assert_eq!((e.stated, e.line), (Stated::Snapshot, Some(2)));
        assert_eq!(possible(&two).unwrap(), vec![page(4096)]);
    }

    #[test]
    fn ends_and_anonymous_lines_are_not_held_to_the_page() {
        // qemu-user, 8K guest pages on a 4K host: a file's zero-filled last page.
        let text = b"4000202000-4000203000 rwxp 00102000 fe:00 7 /x\n4000203000-4000204000 rwxp 00000000 00:00 0 \n";
        let m = maps::parse(text).unwrap();
        assert_eq!(stated(&m, Some(page(8192)), None), Ok(Some(page(8192))));
        assert_eq!(possible(&m).unwrap().last(), Some(&page(8192)));
    }

    #[test]
    fn nothing_below_4096_is_assumed() {
        let m = maps::parse(b"1800-2800 r--p 0 08:01 3 /x\n").unwrap();
        let e = possible(&m).unwrap_err();
        assert_eq!((e.stated, e.line), (Stated::Default, Some(1)));
        assert!(e.to_string().ends_with("pass --page-size"), "{e}");
    }
}

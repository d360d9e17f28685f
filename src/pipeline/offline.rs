//! Saved input: smaps or maps text, or a snapshot, with the mapped files looked up
//! under a copy of the target's root filesystem; and the page size of saved text.

use std::path::Path;

use super::{Error, analyze};
use crate::input::maps::{self, Mapping};
use crate::input::snapshot::Snapshot;
use crate::report::{Report, Warning};
use crate::source::SysrootSource;
use crate::vocab::{Code, PageSize};

/// Saved input to analyse offline (`map --smaps/--maps/--snapshot FILE --sysroot DIR`).
///
/// ```no_run
/// # use std::path::Path;
/// use elfmaps::pipeline::{Saved, offline};
/// let text = std::fs::read("app.smaps").unwrap();
/// let saved = Saved::text(&text, "app.smaps", Path::new("/srv/board-root"));
/// let report = offline(saved).unwrap();
/// # let _ = report;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Saved<'a> {
    /// Where the input came from (a file name), for messages.
    pub name: &'a str,
    /// The copy of the target's root filesystem the mapped files are looked up in.
    pub sysroot: &'a Path,
    /// The page size the user gave (`--page-size`), if any. Saved smaps'
    /// `KernelPageSize` wins over it (with a warning); a snapshot's header always does.
    pub page_size: Option<PageSize>,
    input: Input<'a>,
}

/// The lines to analyse.
#[derive(Debug)]
enum Input<'a> {
    /// smaps or maps text.
    Text(&'a [u8]),
    /// A snapshot: its smaps, with its residency, build IDs and page size.
    Snapshot(Snapshot),
}

impl<'a> Saved<'a> {
    /// Saved smaps or maps `text`, read from `name`.
    pub fn text(text: &'a [u8], name: &'a str, sysroot: &'a Path) -> Saved<'a> {
        Saved {
            name,
            sysroot,
            page_size: None,
            input: Input::Text(text),
        }
    }

    /// A snapshot read from `name` (see [`crate::input::snapshot`]).
    pub fn snapshot(snapshot: Snapshot, name: &'a str, sysroot: &'a Path) -> Saved<'a> {
        Saved {
            name,
            sysroot,
            page_size: None,
            input: Input::Snapshot(snapshot),
        }
    }

    /// The same input with the page size the user gave.
    pub fn with_page_size(mut self, page_size: Option<PageSize>) -> Saved<'a> {
        self.page_size = page_size;
        self
    }
}

/// Analyses saved smaps, maps or a snapshot, with files looked up under the sysroot.
pub fn offline(saved: Saved) -> Result<Report, Error> {
    let (text, snapshot) = match saved.input {
        Input::Text(text) => (std::borrow::Cow::Borrowed(text), None),
        Input::Snapshot(mut snap) => {
            let text = std::mem::take(&mut snap.smaps);
            (std::borrow::Cow::Owned(text), Some(snap))
        }
    };
    let mappings = maps::parse(&text).map_err(|err| Error::Parse {
        source: saved.name.to_string(),
        err,
    })?;
    let source = if mappings.iter().any(|m| !m.fields.is_empty()) {
        "smaps"
    } else {
        "maps"
    };
    let (page, mut warnings) = match &snapshot {
        Some(s) => (s.page_size, Vec::new()),
        None => saved_page_size(&mappings, saved.page_size),
    };
    let mut target = SysrootSource {
        root: saved.sysroot.to_path_buf(),
        snapshot,
    };
    let mut report = analyze(mappings, source, page, None, &mut target);
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    Ok(report)
}

/// The page size of a saved maps/smaps: the smallest `KernelPageSize` in it, else the
/// user's, else 4096 (with a warning when the offsets disagree with it, and a hint when
/// every address is a multiple of a larger page size).
pub(crate) fn saved_page_size(
    mappings: &[Mapping],
    user: Option<PageSize>,
) -> (PageSize, Vec<Warning>) {
    let mut warnings = Vec::new();
    let kernel = mappings
        .iter()
        .filter_map(|m| PageSize::new(m.bytes("KernelPageSize")?).ok())
        .min();
    let page = match (kernel, user) {
        (Some(k), Some(u)) if k != u => {
            warnings.push(Warning {
                code: Code::PageSize,
                object: None,
                message: format!("--page-size {u} ignored: the smaps says KernelPageSize {k}"),
            });
            k
        }
        (Some(k), _) => k,
        (None, Some(u)) => u,
        (None, None) => {
            warnings.extend(assumed_page_size_warning(mappings));
            PageSize::KIB4
        }
    };
    (page, warnings)
}

/// With no page size in the input nor from the user, 4096 is assumed: a warning when
/// the input contradicts it, a hint when every address is a multiple of a larger one.
fn assumed_page_size_warning(mappings: &[Mapping]) -> Option<Warning> {
    let assumed = PageSize::KIB4;
    if let Some(m) = mappings
        .iter()
        .find(|m| !assumed.divides(m.offset) || !assumed.divides(m.start))
    {
        return Some(Warning {
            code: Code::PageSize,
            object: None,
            message: format!(
                "line {}: offsets or addresses are not multiples of the assumed 4096-byte page; pass --page-size",
                m.line
            ),
        });
    }
    let all = mappings
        .iter()
        .fold(0u64, |acc, m| acc | m.start | m.end | m.offset);
    let align = if all == 0 {
        4096
    } else {
        1u64 << all.trailing_zeros()
    };
    (mappings.len() > 1 && align > 4096).then(|| Warning {
        code: Code::PageSize,
        object: None,
        message: format!(
            "no page size in the input: assuming 4096, but every address and offset is a multiple of {align}; if the target uses {align}-byte pages, pass --page-size {align}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u64) -> PageSize {
        PageSize::new(n).unwrap()
    }

    #[test]
    fn the_page_size_of_saved_text() {
        let smaps = maps::parse(b"10000-20000 r--p 0 00:00 0 \nKernelPageSize: 16 kB\n").unwrap();
        assert_eq!(saved_page_size(&smaps, None), (page(16384), vec![]));
        let (p, w) = saved_page_size(&smaps, Some(page(4096)));
        assert_eq!((p, w[0].code), (page(16384), Code::PageSize));

        let two =
            maps::parse(b"10000-20000 r--p 0 00:00 0 \n30000-40000 r--p 0 00:00 0 \n").unwrap();
        assert_eq!(
            saved_page_size(&two, Some(page(65536))),
            (page(65536), vec![])
        );
        let (p, w) = saved_page_size(&two, None);
        assert_eq!(p, PageSize::KIB4);
        assert!(w[0].message.contains("multiple of 65536"), "{w:?}");

        let odd = maps::parse(b"1800-2800 r--p 0 00:00 0 \n").unwrap();
        let (_, w) = saved_page_size(&odd, None);
        assert!(w[0].message.starts_with("line 1:"), "{w:?}");
    }
}

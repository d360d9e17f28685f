//! Saved input: smaps or maps text, or a snapshot, with the mapped files looked up
//! under a copy of the target's root filesystem; and the page size of saved text.

use std::path::Path;

use super::{Error, Files, finish, open_files, page};
use crate::input::elf::ElfInfo;
use crate::input::maps::{self, Mapping};
use crate::input::snapshot::Snapshot;
use crate::label::{self, FileFacts};
use crate::report::{Report, Warning};
use crate::source::cache::FileCache;
use crate::source::{Source, SysrootSource};
use crate::vocab::{Code, MapsSource, PageSize};

/// Saved input to analyse offline (`map --smaps/--maps/--snapshot FILE --sysroot DIR`).
///
/// ```no_run
/// # use std::path::Path;
/// use elfmaps::{Saved, label_saved};
/// let text = std::fs::read("app.smaps").unwrap();
/// let saved = Saved::text(&text, "app.smaps", Path::new("/srv/board-root"));
/// let report = label_saved(saved).unwrap();
/// # let _ = report;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Saved<'a> {
    /// Where the input came from (a file name), for messages.
    pub name: &'a str,
    /// The copy of the target's root filesystem the mapped files are looked up in.
    pub sysroot: &'a Path,
    /// The page size the user gave (`--page-size`), if any. It must agree with the
    /// input: with smaps' `KernelPageSize`, a snapshot's header and every line
    /// (an error otherwise).
    pub page_size: Option<PageSize>,
    input: Input<'a>,
    /// The files read by the other processes of the run (a system snapshot or capture).
    cache: Option<&'a FileCache>,
}

/// The lines to analyse.
#[derive(Debug)]
enum Input<'a> {
    /// smaps or maps text.
    Text(&'a [u8]),
    /// A file of smaps or maps text (`-`: standard input), parsed as it is read, never
    /// held whole, and refused past `limit` bytes ([`crate::source::saved`]).
    File { path: &'a Path, limit: u64 },
    /// A snapshot file's bytes, parsed when the input is analysed.
    SnapshotBytes(&'a [u8]),
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
            cache: None,
        }
    }

    /// Saved smaps or maps in the file at `path` (`-`: standard input), read from
    /// `name`: parsed as it is read, in chunks, so the text is never held whole; more
    /// than `limit` bytes are an error ([`crate::source::saved::DEFAULT_LIMIT`] is the
    /// command line's default).
    pub fn file(path: &'a Path, limit: u64, name: &'a str, sysroot: &'a Path) -> Saved<'a> {
        Saved {
            name,
            sysroot,
            page_size: None,
            input: Input::File { path, limit },
            cache: None,
        }
    }

    /// A snapshot of one process (what `elfmaps snapshot PID` writes) in `bytes`,
    /// read from `name`: its smaps with the residency, build IDs and page size
    /// recorded with it. A malformed snapshot is [`Error::Snapshot`] when it is
    /// analysed.
    pub fn snapshot(bytes: &'a [u8], name: &'a str, sysroot: &'a Path) -> Saved<'a> {
        Saved {
            name,
            sysroot,
            page_size: None,
            input: Input::SnapshotBytes(bytes),
            cache: None,
        }
    }

    /// The same input with the page size the user gave.
    pub fn with_page_size(mut self, page_size: Option<PageSize>) -> Saved<'a> {
        self.page_size = page_size;
        self
    }
}

/// What only the command line gives (`cli` feature): a snapshot file, and the cache of
/// a run of many processes.
#[cfg(feature = "cli")]
impl<'a> Saved<'a> {
    /// A snapshot already parsed, read from `name` (see [`crate::input::snapshot`]).
    pub(crate) fn parsed_snapshot(
        snapshot: Snapshot,
        name: &'a str,
        sysroot: &'a Path,
    ) -> Saved<'a> {
        Saved {
            name,
            sysroot,
            page_size: None,
            input: Input::Snapshot(snapshot),
            cache: None,
        }
    }

    /// The same input, its files read through `cache`, shared with the other
    /// processes of a run ([`crate::source::cache`]).
    pub(crate) fn with_cache(mut self, cache: &'a FileCache) -> Saved<'a> {
        self.cache = Some(cache);
        self
    }
}

/// Analyses saved smaps, maps or a snapshot, with files looked up under the sysroot.
///
/// Errors: a sysroot that is not a directory, text with no line to read
/// ([`Error::Empty`]), a malformed line, and a page size that
/// the input contradicts ([`super::PageSizeError`]; with no page size in the input nor from the
/// user, one is chosen as docs/offline.md says).
pub fn offline(mut saved: Saved) -> Result<Report, Error> {
    let root = SysrootSource::new(saved.sysroot)?;
    if let Input::SnapshotBytes(bytes) = saved.input {
        let snap = Snapshot::parse(bytes).map_err(|err| Error::Snapshot {
            input: saved.name.to_string(),
            err,
        })?;
        saved.input = Input::Snapshot(snap);
    }
    // A snapshot of one process recorded who it was: the report says it, as a live
    // one does (issue 20: `map --snapshot` omitted the PID and command).
    let who = match &saved.input {
        Input::Snapshot(snap) => Some((snap.pid, snap.header.get("command").cloned())),
        _ => None,
    };
    let mut report = offline_with(saved, move |snapshot| {
        let mut root = root;
        root.snapshot = snapshot;
        root
    })?;
    if let Some((pid, command)) = who {
        report.pid = report.pid.or(pid);
        report.command = report.command.take().or(command);
    }
    Ok(report)
}

/// [`offline`] with the files from the [`Source`] that `source` makes of the
/// snapshot, if the input is one (the fuzz target `offline` gives files in memory).
pub(crate) fn offline_with<S: Source>(
    saved: Saved,
    source: impl FnOnce(Option<Snapshot>) -> S,
) -> Result<Report, Error> {
    let parse_error = |err| Error::Parse {
        input: saved.name.to_string(),
        err,
    };
    let (mut mappings, snapshot): (_, Option<Snapshot>) = match saved.input {
        Input::Text(text) => (maps::parse(text).map_err(parse_error)?, None),
        Input::File { path, limit } => {
            let mut parser = maps::Parser::default();
            crate::source::saved::stream(path, limit, |chunk| parser.feed(chunk))
                .map_err(Error::Input)?
                .map_err(parse_error)?;
            (parser.finish().map_err(parse_error)?, None)
        }
        Input::SnapshotBytes(bytes) => {
            let mut snap = Snapshot::parse(bytes).map_err(|err| Error::Snapshot {
                input: saved.name.to_string(),
                err,
            })?;
            let text = std::mem::take(&mut snap.smaps);
            (maps::parse(&text).map_err(parse_error)?, Some(snap))
        }
        Input::Snapshot(mut snap) => {
            let text = std::mem::take(&mut snap.smaps);
            (maps::parse(&text).map_err(parse_error)?, Some(snap))
        }
    };
    // No line to read (an empty file, /dev/null, blank lines): an error, not a report
    // of 0 regions that every budget passes. A snapshot of a kernel thread is empty.
    if mappings.is_empty() && snapshot.is_none() {
        return Err(Error::Empty {
            input: saved.name.to_string(),
        });
    }
    let kind = if let Some(snap) = snapshot
        .as_ref()
        .filter(|s| s.source == Some(MapsSource::MapsPagemap))
    {
        rss_from_snapshot(&mut mappings, snap);
        MapsSource::MapsPagemap
    } else if mappings.iter().any(|m| !m.fields.is_empty()) {
        MapsSource::Smaps
    } else {
        MapsSource::Maps
    };
    let page_error = |err| Error::PageSize {
        input: saved.name.to_string(),
        err,
    };
    let stated = page::stated(
        &mappings,
        saved.page_size,
        snapshot.as_ref().map(|s| s.page_size),
    )
    .map_err(page_error)?;
    let possible = match stated {
        Some(_) => Vec::new(),
        None => page::possible(&mappings).map_err(page_error)?,
    };
    let mut target = source(snapshot);
    let files = open_files(&mappings, &target, saved.cache);
    let (page, warning) = match stated {
        Some(p) => (p, None),
        None => infer(&mappings, &files, &possible, &mut target),
    };
    let mut report = finish(mappings, files, kind, page, None, &mut target);
    if let Some(w) = warning {
        report.warnings.insert(0, w);
    }
    Ok(report)
}

/// Gives every line of an RSS-only snapshot the `Rss` and `Swap` its recorded
/// residency counts (lines with none recorded keep them unknown), and no hugetlb.
fn rss_from_snapshot(mappings: &mut [Mapping], snap: &Snapshot) {
    use crate::input::maps::known_key as k;
    let by_line: std::collections::HashMap<(u64, u64), &crate::vocab::Residency> = snap
        .residency
        .iter()
        .filter(|r| r.page_size() == snap.page_size)
        .map(|r| ((r.start(), r.end()), r))
        .collect();
    let page = snap.page_size.get();
    for m in mappings {
        if let Some(r) = by_line.get(&(m.start, m.end)) {
            let c = r.count(m.start, m.end);
            m.fields.set_kb(const { k("Rss") }, c.present * page);
            m.fields.set_kb(const { k("Swap") }, c.swapped * page);
            // The snapshot does not keep hugetlb figures: 0 but for anonymous
            // MAP_HUGETLB memory (unknown; its pages were not recorded as rss).
            if !m.name.starts_with(b"/anon_hugepage") {
                m.fields.set_kb(const { k("Shared_Hugetlb") }, 0);
                m.fields.set_kb(const { k("Private_Hugetlb") }, 0);
            }
        }
    }
}

/// The page size of input that does not state one: the largest of `possible` (the
/// sizes no file-backed line contradicts, smallest first) that the program headers of
/// the files read agree with and at which no object's maps lines contradict its
/// headers; 4096 when no file confirms a larger one. A warning says what was chosen,
/// or, when every address is also a multiple of a larger size, which were possible.
fn infer(
    mappings: &[Mapping],
    files: &Files,
    possible: &[PageSize],
    target: &mut dyn Source,
) -> (PageSize, Option<Warning>) {
    let larger: Vec<PageSize> = possible
        .iter()
        .copied()
        .filter(|&p| p > PageSize::KIB4)
        .collect();
    if larger.is_empty() {
        return (PageSize::KIB4, None);
    }
    let facts = files.facts();
    let infos: Vec<&ElfInfo> = facts
        .values()
        .filter_map(|f| match f {
            FileFacts::Elf { info, .. } if info.is_loadable() => Some(&**info),
            _ => None,
        })
        .collect();
    let hints = target.hints();
    let fits = |p: PageSize| {
        if !infos.iter().all(|info| page::headers_agree(info, p)) {
            return false;
        }
        let a = label::attribute(mappings, &facts, p, &hints);
        a.unlabelled
            .iter()
            .all(|(_, why)| why.code != Code::UnexplainedFile)
            && a.instances.iter().all(|i| {
                i.problem
                    .as_ref()
                    .is_none_or(|pr| pr.code != Code::LayoutMismatch)
            })
    };
    if !infos.is_empty()
        && let Some(&p) = larger.iter().rev().find(|&&p| fits(p))
    {
        let smaller: Vec<PageSize> = possible.iter().copied().filter(|&q| q < p).collect();
        return (
            p,
            Some(Warning {
                code: Code::PageSize,
                object: None,
                message: format!(
                    "no page size in the input: using {p}, the largest that every file-backed line and the program headers of the {} ELF file(s) read agree with (the lines alone also allow {}); pass --page-size if the target uses another",
                    infos.len(),
                    either(&smaller, |q| q.to_string())
                ),
            }),
        );
    }
    // Nothing confirms a larger page, so none decides a label. Worth a word only when
    // every line, ends and anonymous lines too, is also a multiple of a larger size
    // (a 16K or 64K board's maps are; a 4K capture almost never is).
    let aligned: Vec<PageSize> = possible
        .iter()
        .copied()
        .filter(|&p| page::every_address_is_a_multiple(mappings, p))
        .collect();
    let larger: Vec<PageSize> = aligned
        .into_iter()
        .filter(|&p| p > PageSize::KIB4)
        .collect();
    if larger.is_empty() {
        return (PageSize::KIB4, None);
    }
    let why = if infos.is_empty() {
        "no ELF file was read to confirm a larger one"
    } else {
        "the program headers of the files read confirm none of the larger ones"
    };
    (
        PageSize::KIB4,
        Some(Warning {
            code: Code::PageSize,
            object: None,
            message: format!(
                "no page size in the input: every address and file offset is a multiple of {}, and {why}; assuming 4096: pass {} if the target uses larger pages",
                either(&larger, |p| p.to_string()),
                either(&larger, |p| format!("--page-size {p}"))
            ),
        }),
    )
}

/// `a`, `a or b`, `a, b or c`.
fn either(sizes: &[PageSize], show: impl Fn(PageSize) -> String) -> String {
    let shown: Vec<String> = sizes.iter().map(|&p| show(p)).collect();
    match shown.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Kind;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    /// The saved maps of a cross fixture, and its sysroot.
    fn fixture(arch: &str) -> (Vec<u8>, std::path::PathBuf) {
        let dir = Path::new(ROOT).join("testdata/cross").join(arch);
        (std::fs::read(dir.join("maps")).unwrap(), dir.join("root"))
    }

    fn page(n: u64) -> PageSize {
        PageSize::new(n).unwrap()
    }

    /// Issue 9 §1: maps saved on 4 KiB pages, analysed with 16 KiB or 64 KiB pages,
    /// are an error naming the first file-backed line that contradicts the page size
    /// (they used to be labelled, wrongly).
    #[test]
    fn a_page_size_the_maps_contradict_is_an_error() {
        let first = [
            ("aarch64", 3),
            ("armhf", 2),
            ("mips", 3),
            ("ppc", 2),
            ("riscv64", 2),
            ("s390x", 2),
            ("sparc64", 3),
        ];
        for (arch, line) in first {
            let (text, root) = fixture(arch);
            for p in [16384, 65536] {
                let saved = Saved::text(&text, "maps", &root).with_page_size(Some(page(p)));
                let e = offline(saved).unwrap_err();
                assert_eq!(e.code(), Code::PageSizeContradicted, "{arch} {p}: {e}");
                let Error::PageSize { err, .. } = &e else {
                    panic!("{arch} {p}: {e}")
                };
                assert_eq!(err.line, Some(line), "{arch} {p}: {e}");
                assert!(
                    e.to_string()
                        .starts_with(&format!("maps: --page-size {p} contradicts line {line}: ")),
                    "{e}"
                );
            }
        }
    }

    /// With no page size anywhere, sparc64's maps (8 KiB pages, under qemu-user on a
    /// 4 KiB host) allow 4 KiB and 8 KiB pages; the program headers confirm 8 KiB,
    /// which gives the labels of `--page-size 8192`. The 4 KiB fixtures stay at 4096
    /// without a warning.
    #[test]
    fn the_page_size_is_inferred_only_when_the_headers_confirm_it() {
        let (text, root) = fixture("sparc64");
        let inferred = offline(Saved::text(&text, "maps", &root)).unwrap();
        let given =
            offline(Saved::text(&text, "maps", &root).with_page_size(Some(page(8192)))).unwrap();
        assert_eq!(inferred.page_size, 8192);
        assert_eq!(inferred.warnings[0].code, Code::PageSize);
        let kinds = |r: &Report| -> Vec<(u64, Kind)> {
            r.regions.iter().map(|r| (r.start, r.kind)).collect()
        };
        assert_eq!(kinds(&inferred), kinds(&given));
        assert!(inferred.regions.iter().any(|r| r.kind == Kind::Relro));

        // Without the files, nothing confirms 8 KiB: 4096. (qemu's 4 KiB ends and
        // anonymous lines make 8 KiB unlikely enough not to mention.)
        let empty = tempfile::tempdir().unwrap();
        let bare = offline(Saved::text(&text, "maps", empty.path())).unwrap();
        assert_eq!(bare.page_size, 4096);
        assert!(
            bare.warnings.iter().all(|w| w.code != Code::PageSize),
            "{:?}",
            bare.warnings
        );
        // Every address a multiple of 64 KiB, and no file to confirm it: a warning
        // lists the sizes possible; one line ending on a 4 KiB page: nothing to say.
        let aligned = b"10000-20000 rw-p 00000000 00:00 0 \n30000-40000 r--p 00010000 08:01 3 /x\n";
        let r = offline(Saved::text(aligned, "maps", empty.path())).unwrap();
        assert_eq!((r.page_size, r.warnings[0].code), (4096, Code::PageSize));
        assert!(
            r.warnings[0].message.contains("8192, 16384 or 65536"),
            "{:?}",
            r.warnings[0]
        );
        let odd = b"7f0000000000-7f0000003000 rw-p 00000000 00:00 0 \n";
        let r = offline(Saved::text(odd, "maps", empty.path())).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);

        let (text, root) = fixture("aarch64");
        let r = offline(Saved::text(&text, "maps", &root)).unwrap();
        assert_eq!(r.page_size, 4096);
        assert!(
            r.warnings.iter().all(|w| w.code != Code::PageSize),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn kernel_page_size_and_the_user_must_agree() {
        let smaps = b"10000-20000 r--p 00000000 08:01 5 /x\nKernelPageSize: 4 kB\n";
        let dir = tempfile::tempdir().unwrap();
        let saved = Saved::text(smaps, "s", dir.path()).with_page_size(Some(page(65536)));
        let e = offline(saved).unwrap_err();
        assert_eq!(e.code(), Code::PageSizeContradicted);
        assert!(
            e.to_string()
                .contains("the KernelPageSize of line 1 is 4096"),
            "{e}"
        );
        let saved = Saved::text(smaps, "s", dir.path()).with_page_size(Some(page(4096)));
        assert_eq!(offline(saved).unwrap().page_size, 4096);
    }

    /// Issue 9 §4: a sysroot that does not exist or is not a directory is an error at
    /// once, not one warning per file.
    #[test]
    fn a_sysroot_must_be_a_directory() {
        let (text, root) = fixture("aarch64");
        for bad in [
            root.join("nonexistent"),
            root.join("tmp/elfmaps-cross/aarch64/cross"),
        ] {
            let e = offline(Saved::text(&text, "maps", &bad)).unwrap_err();
            assert_eq!(e.code(), Code::SysrootInvalid, "{e}");
            assert!(matches!(e, Error::Sysroot(_)), "{e}");
        }
    }

    /// Issue 9 §3: a line with a path and inode 0 (Chromium's test input) is unknown
    /// with a `no-inode` warning saying why, and keeps its offset in the report.
    #[test]
    fn a_path_with_inode_0_is_unknown_with_a_reason() {
        let text = b"ff000000-ff800000 -w-p 00001080 fc:01 0            /file/name with space\nKernelPageSize: 4 kB\n";
        let dir = tempfile::tempdir().unwrap();
        let r = offline(Saved::text(text, "smaps", dir.path())).unwrap();
        assert_eq!(r.regions.len(), 1);
        assert_eq!(
            (r.regions[0].kind, r.regions[0].offset),
            (Kind::Unknown, Some(0x1080))
        );
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        let w = &r.warnings[0];
        assert_eq!(w.code, Code::NoInode);
        assert_eq!(w.object.as_deref(), Some("/file/name with space"));
        assert!(w.message.starts_with("line 1 "), "{w:?}");
        // Anonymous memory keeps offset 0, and gets no such warning.
        let anon = b"10000-20000 rw-p 00000000 00:00 0 \nKernelPageSize: 4 kB\n";
        let r = offline(Saved::text(anon, "smaps", dir.path())).unwrap();
        assert_eq!(r.regions[0].offset, Some(0));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }
}

//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs`, run by
//! `cargo +nightly fuzz run NAME`), in the library so that they can reach its
//! `pub(crate)` internals; `tests/fuzz_corpus.rs` replays the committed corpus and every
//! crash found so far through the same functions on stable Rust. Not an API: hidden
//! from the docs, and it may change at any time.
//!
//! A body must never panic, whatever the bytes; the asserts in them are invariants
//! that hold for any input.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::input::maps::{self, Mapping, NameKind};
use crate::input::snapshot::Snapshot;
use crate::label::{self, FileFacts, FileKey, Hints};
use crate::pipeline::{Saved, offline_with};
use crate::report::Report;
use crate::source::memory::MemorySource;
use crate::vocab::{Kind, PageSize, Residency};

/// The maps/smaps parser, whole and fed in two pieces.
pub fn maps(data: &[u8]) {
    let whole = maps::parse(data);
    let mut p = maps::Parser::default();
    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let pieces = p.feed(&data[..cut]).and_then(|()| p.feed(&data[cut..]));
    let split = pieces.and_then(|()| p.finish());
    assert_eq!(whole, split, "the parser depends on how its input is cut");
    if let Ok(ms) = whole {
        for m in &ms {
            let _ = m.name_kind();
            let _ = m.fields.iter().count();
        }
    }
}

/// The ELF header reader (header, program headers, PN_XNUM, build ID note).
pub fn elf(data: &[u8]) {
    if let Ok(info) = crate::input::elf::read(data) {
        let _ = (
            crate::vocab::ElfType::from_e_type(info.e_type).name(),
            info.machine_name(),
            info.build_id_hex(),
        );
        for p in &info.phdrs {
            let _ = p.type_name();
        }
    }
}

/// The symbol table reader of `elfmaps symbols` over a hostile ELF file: section
/// headers, `.symtab` and `.dynsym` with their names, `.gnu_debuglink`, every name
/// demangled, and the DWARF ranges of `--by compile-unit` and `--by file`. Memory never exceeds the bounds of `input::symbols`.
pub fn symbols(data: &[u8]) {
    use crate::input::symbols::{self as sym, TableKind};
    let Ok(table) = crate::input::elf::read_sections(data) else {
        return;
    };
    for kind in [TableKind::Symtab, TableKind::Dynsym] {
        if let Ok(Some(t)) = sym::read_symbols(data, &table, kind) {
            assert!(t.symbols.len() <= sym::MAX_SYMBOLS);
            assert!(t.names.len() <= data.len());
            for s in t.symbols.iter().take(4096) {
                let name = t.name(s);
                assert!(name.len() <= sym::MAX_NAME_BYTES);
                let _ = crate::views::symbols::demangle(&String::from_utf8_lossy(name));
            }
        }
    }
    let _ = sym::read_debuglink(data, &table);
    for by in [
        crate::input::dwarf::By::CompileUnit,
        crate::input::dwarf::By::File,
    ] {
        if let Ok(t) = crate::input::dwarf::read_ranges(data, &table, by) {
            assert!(t.symbols.len() <= sym::MAX_SYMBOLS);
        }
    }
}

/// The budget file parser.
pub fn budget(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::input::budget::parse(text);
    }
}

/// The snapshot reader, and a round trip of what it accepts.
pub fn snapshot(data: &[u8]) {
    if let Ok(s) = Snapshot::parse(data) {
        let again = Snapshot::parse(&s.to_bytes()).expect("a written snapshot reads back");
        assert_eq!(s.smaps, again.smaps);
        assert_eq!(s.residency, again.residency);
        for r in &s.residency {
            let all = r.count(r.start(), r.end());
            assert!(all.present <= r.pages() && all.swapped <= r.pages());
        }
    }
}

/// Splits `N` (4 bytes, little-endian), `N bytes of ELF file`, `text`. (A separator
/// byte string would also occur inside ELF files: the first seeds of `attribute` had
/// 0xff 0x00 inside the ELF part, so their maps text never parsed.) `N` larger than
/// what follows takes all of it.
fn elf_and_text(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((n, rest)) = data.split_first_chunk::<4>() else {
        return (&[], data);
    };
    let n = usize::try_from(u32::from_le_bytes(*n)).map_or(rest.len(), |n| n.min(rest.len()));
    rest.split_at(n)
}

/// Thread stack pointers at the start of every other anonymous line (thread stacks
/// and guards).
fn stack_pointers(mappings: &[Mapping]) -> Hints {
    Hints {
        thread_stack_pointers: mappings
            .iter()
            .filter(|m| m.inode == 0)
            .step_by(2)
            .map(|m| m.start)
            .collect(),
    }
}

/// Regions cover exactly the maps lines, in order, without overlap.
fn assert_covers(mappings: &[Mapping], regions: &[(usize, u64, u64)]) {
    let mut at = 0usize;
    for (i, m) in mappings.iter().enumerate() {
        let mut pos = m.start;
        while at < regions.len() && regions[at].0 == i {
            assert_eq!(regions[at].1, pos, "line {}: a hole or an overlap", m.line);
            assert!(regions[at].2 > pos, "line {}: an empty region", m.line);
            pos = regions[at].2;
            at += 1;
        }
        assert_eq!(pos, m.end, "line {} not covered", m.line);
    }
    assert_eq!(at, regions.len(), "regions beyond the maps lines");
}

/// Attribution and the report over hostile maps and program headers: the input is
/// the length of an ELF file (4 bytes, little-endian), its bytes, then maps text;
/// every file-backed line maps that ELF file. Page sizes 4K and 64K.
pub fn attribute(data: &[u8]) {
    let (elf_bytes, text) = elf_and_text(data);
    let Ok(mappings) = maps::parse(text) else {
        return;
    };
    let facts_for = match crate::input::elf::read(elf_bytes) {
        Ok(info) => FileFacts::Elf {
            info: Arc::new(info),
            size: elf_bytes.len() as u64,
            exact: false,
        },
        Err(_) => FileFacts::NotElf,
    };
    let facts: HashMap<FileKey, FileFacts> = mappings
        .iter()
        .filter(|m| m.is_file_backed())
        .map(|m| (FileKey::of(m), facts_for.clone()))
        .collect();
    let hints = stack_pointers(&mappings);
    for page in [4096u64, 65536] {
        let page_size = PageSize::new(page).expect("a page size");
        let a = label::attribute(&mappings, &facts, page_size, &hints);
        let covered: Vec<_> = a
            .regions
            .iter()
            .map(|r| (r.mapping, r.start, r.end))
            .collect();
        assert_covers(&mappings, &covered);
        let _ = crate::report::build(&mappings, &a, page_size, &|_| None, &[]);
        // With residency: every other page present (the first 64K pages of a line),
        // and the last page swapped.
        let residency = |i: usize| {
            let m = &mappings[i];
            let mut r = Residency::new(m.start, m.end, page_size);
            for p in (0..r.pages().min(1 << 16)).step_by(2) {
                r.mark_present(p..p + 1);
            }
            let last = r.pages().saturating_sub(1);
            r.mark_swapped(last..last + 1);
            Some(r)
        };
        let _ = crate::report::build(&mappings, &a, page_size, &residency, &[]);
    }
}

/// The whole offline pipeline (`map --maps/--smaps/--snapshot`) over a hostile maps,
/// smaps or snapshot text and a hostile ELF file: parse, page size, open through a
/// `crate::source::Source` whose files are the given bytes, label, residency, report,
/// JSON and back.
///
/// The input is one byte of flags, then the length of an ELF file (4 bytes,
/// little-endian), its bytes, then the text (a snapshot when it starts with
/// `ELFMAPS-SNAPSHOT`). Flags: bits 0-1 the `--page-size`
/// (none, 4K, 16K, 64K); bit 2 set: paths of odd length are missing from the sysroot.
/// Every other path named in the text is the ELF file.
pub fn offline(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (elf_bytes, text) = elf_and_text(rest);
    let page = [None, Some(4096), Some(16384), Some(65536)][usize::from(flags & 3)]
        .map(|p| PageSize::new(p).expect("a page size"));
    let snapshot = text
        .starts_with(b"ELFMAPS-SNAPSHOT")
        .then(|| Snapshot::parse(text).ok())
        .flatten();
    let lines = match &snapshot {
        Some(s) => &s.smaps[..],
        None => text,
    };
    let mappings = maps::parse(lines).unwrap_or_default();
    let elf: Arc<[u8]> = Arc::from(elf_bytes);
    let mut files = HashMap::new();
    for m in &mappings {
        if let NameKind::Path { path, .. } = m.name_kind()
            && (flags & 4 == 0 || path.len() % 2 == 0)
        {
            files.insert(path.into_owned(), elf.clone());
        }
    }
    let hints = stack_pointers(&mappings);
    let root = Path::new("/");
    let saved = match snapshot {
        Some(s) => Saved::parsed_snapshot(s, "fuzz", root),
        None => Saved::text(text, "fuzz", root),
    }
    .with_page_size(page);
    let source = |snapshot| MemorySource {
        files,
        hints,
        snapshot,
    };
    match offline_with(saved, source) {
        Ok(report) => check_report(&mappings, &report),
        Err(e) => {
            let _ = (e.code(), e.to_string());
        }
    }
}

/// What holds of every report: regions cover the maps lines; every ELF kind belongs to
/// an object that exists; the totals are the lines' sizes; the JSON reads back as
/// written.
fn check_report(mappings: &[Mapping], report: &Report) {
    let covered: Vec<_> = report
        .regions
        .iter()
        .map(|r| (r.line, r.start, r.end))
        .collect();
    // Regions name their line (1-based in the input); map it to the line's index.
    let index: HashMap<usize, usize> = mappings
        .iter()
        .enumerate()
        .map(|(i, m)| (m.line, i))
        .collect();
    let covered: Vec<_> = covered
        .into_iter()
        .map(|(line, s, e)| (index[&line], s, e))
        .collect();
    assert_covers(mappings, &covered);
    for r in &report.regions {
        if let Some(i) = r.instance {
            assert!(i < report.objects.len(), "instance {i} out of range");
        }
        if r.kind.is_file_contents() || matches!(r.kind, Kind::Bss | Kind::Gap) {
            assert!(
                r.instance.is_some(),
                "{:x}: {} without an object",
                r.start,
                r.kind
            );
        }
    }
    let size: u64 = mappings.iter().map(Mapping::size).sum();
    assert_eq!(report.totals.size, size);
    let mut json = Vec::new();
    crate::render::json(report, &mut json).expect("JSON to memory");
    let back: Report = serde_json::from_slice(&json).expect("the JSON reads back");
    let mut again = Vec::new();
    crate::render::json(&back, &mut again).expect("JSON to memory");
    assert!(json == again, "the JSON does not read back as written");
}

/// smem's capture reader (`system --smemcap`): every process once, in PID order, its
/// files slices of the input; the command line and `stat` line of each parsed.
pub fn smemcap(data: &[u8]) {
    use crate::input::smemcap::{Smemcap, command, parse_stat};
    let Ok(cap) = Smemcap::parse(data) else {
        return;
    };
    let whole = data.as_ptr_range();
    let inside = |part: &[u8]| {
        part.is_empty() || (whole.start <= part.as_ptr() && part.as_ptr_range().end <= whole.end)
    };
    let mut last = None;
    for p in &cap.processes {
        assert!(last < Some(p.pid), "PID {} twice or out of order", p.pid);
        last = Some(p.pid);
        assert!(inside(p.smaps) && inside(p.cmdline) && p.stat.is_none_or(inside));
        let _ = command(p.cmdline);
        if let Some(s) = p.stat.and_then(parse_stat) {
            let _ = (s.is_kernel_thread(), s.is_zombie());
        }
    }
    assert!(cap.version.is_none_or(inside));
}

/// The section headers with their names and the dynamic section (`layout`,
/// `sections`): what is read is bounded by the file (no more section headers than
/// the bytes hold), and the dynamic section reads alike from the first bytes read
/// once and from the file.
pub fn sections(data: &[u8]) {
    use crate::input::elf::{self, Head};
    let Ok(info) = elf::read(data) else {
        return;
    };
    if let Ok(t) = elf::read_sections(data) {
        assert!(
            t.sections.len() <= data.len() / 40,
            "more sections than bytes"
        );
        for (i, s) in t.sections.iter().enumerate() {
            assert_eq!(s.index, i);
            let _ = s.name.as_deref().map(elf::known_section_name);
        }
    }
    let head = Head::read(data).expect("reading memory");
    let plain = elf::read_dynamic(data, &info).map_err(|e| e.to_string());
    let shared = elf::read_dynamic_with(data, &head, &info).map_err(|e| e.to_string());
    assert_eq!(plain, shared, "PT_DYNAMIC read two ways");
}

/// `elfmaps layout` of one hostile file at pages of 4 and 64 KiB: its JSON is serde's
/// byte for byte and reads back as written, and its table (no colour) holds no
/// control character but newlines.
pub fn layout(data: &[u8]) {
    use crate::views::layout::{Layouts, SCHEMA_VERSION, inspect};
    for page in [4096u64, 65536] {
        let page_size = PageSize::new(page).expect("a page size");
        let Ok(file) = inspect(data, b"/lib/fuzz \x1b\n.so", page_size) else {
            continue;
        };
        let layouts = Layouts {
            schema_version: SCHEMA_VERSION,
            page_size,
            files: vec![file],
            errors: Vec::new(),
            skipped: Vec::new(),
        };
        let mut mine = Vec::new();
        crate::render::layout::json(&layouts, &mut mine).expect("JSON to memory");
        let mut serde = Vec::new();
        crate::render::json(&layouts, &mut serde).expect("JSON to memory");
        assert!(mine == serde, "the layout JSON is not serde's");
        let back: Layouts = serde_json::from_slice(&mine).expect("the JSON reads back");
        let mut again = Vec::new();
        crate::render::layout::json(&back, &mut again).expect("JSON to memory");
        assert!(
            mine == again,
            "the layout JSON does not read back as written"
        );
        let mut table = Vec::new();
        let _ = crate::render::layout::table(&layouts, &mut table, false);
        assert_escaped(&table);
    }
}

/// Terminal output without colour holds no control character but newlines: names
/// from files are escaped.
fn assert_escaped(text: &[u8]) {
    if let Some(at) = text
        .iter()
        .position(|&b| (b < 0x20 && b != b'\n') || b == 0x7f)
    {
        let from = at.saturating_sub(40);
        panic!(
            "control byte 0x{:02x} in terminal output: {:?}",
            text[at],
            String::from_utf8_lossy(&text[from..(at + 40).min(text.len())])
        );
    }
}

/// A saved JSON report as `diff` and `report --diff` read it (map, summary, layout or
/// system): what it accepts diffs with itself to nothing, its tables (no colour) hold no
/// control character but newlines, and the
/// JSON of map, layout and system through their printers is serde's byte for byte
/// (layout's is written by hand).
pub fn report_json(data: &[u8]) {
    use crate::views::diff::{Saved, diff};
    let Ok(saved) = Saved::from_json(data) else {
        return;
    };
    let d = diff(&saved, &saved);
    assert!(d.is_empty(), "a report differs from itself: {d:?}");
    let mut table = Vec::new();
    let _ = crate::render::diff::table(
        &d,
        crate::render::columns::DIFF,
        &mut table,
        false,
        Some(80),
        false,
    );
    let mut serde = Vec::new();
    let mut mine = Vec::new();
    match &saved {
        Saved::Map(r) => {
            crate::render::json(r, &mut serde).expect("JSON to memory");
            crate::render::map::json(r, &mut mine).expect("JSON to memory");
            let origin = crate::render::map::Origin::Saved {
                file: "fuzz.json",
                what: "saved report",
            };
            let _ = crate::render::map::table(
                r,
                origin,
                &crate::render::columns::Column::ALL,
                &mut table,
                false,
                Some(80),
                false,
            );
            use crate::views::summary::{By, SortBy, summarize};
            for by in [By::Object, By::Kind] {
                let s = summarize(r, by, SortBy::Pss, Some(3));
                let _ = crate::render::summary::table(
                    &s,
                    "fuzz.json",
                    crate::render::columns::SUMMARY,
                    &mut table,
                    false,
                    None,
                    true,
                );
            }
        }
        Saved::Layout(l) => {
            crate::render::json(l, &mut serde).expect("JSON to memory");
            crate::render::layout::json(l, &mut mine).expect("JSON to memory");
            let _ = crate::render::layout::table(l, &mut table, false);
        }
        Saved::System(s) => {
            crate::render::json(s, &mut serde).expect("JSON to memory");
            crate::render::system::json(s, &mut mine).expect("JSON to memory");
            use crate::render::system::{RowsOf, processes, rows};
            let look = crate::render::system::Look {
                columns: crate::render::columns::SYSTEM,
                color: false,
                terminal: Some(80),
                full_path: false,
            };
            let _ = rows(s, &s.rows, RowsOf::ObjectKind, 0, look, &mut table);
            let _ = processes(s, &s.processes, 0, look, &mut table);
        }
        Saved::Summary(s) => {
            let _ = crate::render::summary::table(
                s,
                "fuzz.json",
                crate::render::columns::SUMMARY,
                &mut table,
                false,
                Some(80),
                false,
            );
        }
    }
    assert!(mine == serde, "the hand-written JSON is not serde's");
    assert_escaped(&table);
}

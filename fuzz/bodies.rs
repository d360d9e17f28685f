//! The bodies of the fuzz targets, shared by `fuzz_targets/*.rs` (run by
//! `cargo +nightly fuzz run NAME`) and by `tests/fuzz_corpus.rs`, which replays the
//! committed corpus and every crash found so far on stable Rust in the normal suite.
//! A body must never panic, whatever the bytes.

use std::collections::HashMap;
use std::sync::Arc;

use elfmaps::label::{self, FileFacts, FileKey, Hints};
use elfmaps::vocab::{PageSize, Residency};

/// The maps/smaps parser, whole and fed in two pieces.
pub fn maps(data: &[u8]) {
    let whole = elfmaps::input::maps::parse(data);
    let mut p = elfmaps::input::maps::Parser::default();
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
    if let Ok(info) = elfmaps::input::elf::read(data) {
        let _ = (info.type_name(), info.machine_name(), info.build_id_hex());
        for p in &info.phdrs {
            let _ = p.type_name();
        }
    }
}

/// The budget file parser.
pub fn budget(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = elfmaps::input::budget::parse(text);
    }
}

/// The snapshot reader, and a round trip of what it accepts.
pub fn snapshot(data: &[u8]) {
    if let Ok(s) = elfmaps::input::snapshot::Snapshot::parse(data) {
        let again = elfmaps::input::snapshot::Snapshot::parse(&s.to_bytes())
            .expect("a written snapshot reads back");
        assert_eq!(s.smaps, again.smaps);
        assert_eq!(s.residency, again.residency);
        for r in &s.residency {
            let all = r.count(r.start(), r.end());
            assert!(all.present <= r.pages() && all.swapped <= r.pages());
        }
    }
}

/// Attribution and the report over hostile maps and program headers: the input is
/// `ELF bytes`, a 0xff 0x00 separator, then maps text; every file-backed line maps
/// that ELF file. Page sizes 4K and 64K.
pub fn attribute(data: &[u8]) {
    let sep = data.windows(2).position(|w| w == [0xff, 0x00]);
    let (elf_bytes, text) = match sep {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (&[][..], data),
    };
    let Ok(mappings) = elfmaps::input::maps::parse(text) else {
        return;
    };
    let facts_for = match elfmaps::input::elf::read(elf_bytes) {
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
    // Thread stack pointers in every other anonymous line (thread stacks and guards).
    let hints = Hints {
        thread_stack_pointers: mappings
            .iter()
            .filter(|m| m.inode == 0)
            .step_by(2)
            .map(|m| m.start)
            .collect(),
    };
    for page in [4096u64, 65536] {
        let Ok(size) = elfmaps::vocab::PageSize::new(page) else {
            continue;
        };
        let a = label::attribute(&mappings, &facts, size, &hints);
        // Regions cover exactly the maps lines, in order, without overlap.
        let mut at = 0usize;
        for (i, m) in mappings.iter().enumerate() {
            let mut pos = m.start;
            while at < a.regions.len() && a.regions[at].mapping == i {
                assert_eq!(a.regions[at].start, pos);
                assert!(a.regions[at].end > pos);
                pos = a.regions[at].end;
                at += 1;
            }
            assert_eq!(pos, m.end, "line {} not covered", m.line);
        }
        assert_eq!(at, a.regions.len());
        let page_size = PageSize::new(page).expect("a page size");
        let _ = elfmaps::report::build(&mappings, &a, page_size, &|_| None, &[]);
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
        let _ = elfmaps::report::build(&mappings, &a, page_size, &residency, &[]);
    }
}

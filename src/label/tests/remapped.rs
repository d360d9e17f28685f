//! Text remapped onto other memory (issue 12 §2): anonymous, hugetlb and memfd lines
//! inside the file contents of an executable segment, between lines of the object's
//! own file, are its text with `remapped`; elsewhere they keep their kind.

use super::*;

fn run(maps: &[Mapping], f: &HashMap<FileKey, FileFacts>) -> Attribution {
    attribute(maps, f, P, &Hints::default())
}

/// R (one page), RX (14 pages of file), RW: the shape of an executable whose text a
/// program remaps (in the 16-page file of `facts`).
fn exe() -> Arc<ElfInfo> {
    info(
        3,
        vec![
            load(0, 4, 0, 0, 0x1000, 0x1000),
            load(1, 5, 0x1000, 0x1000, 0xe000, 0xe000),
            load(2, 6, 0xf000, 0xf000, 0x100, 0x100),
        ],
    )
}

const B: u64 = 0x5500_0000_0000;
const SO: &str = "/usr/bin/hot";

/// The exe's lines with `[B + 0x4000, B + 0xc000)` of its text replaced by `hole`.
fn maps_with(hole: Mapping) -> Vec<Mapping> {
    vec![
        line(B, B + 0x1000, "r--p", 0, 9, SO),
        line(B + 0x1000, B + 0x4000, "r-xp", 0x1000, 9, SO),
        hole,
        line(B + 0xc000, B + 0xf000, "r-xp", 0xc000, 9, SO),
        line(B + 0xf000, B + 0x10000, "rw-p", 0xf000, 9, SO),
    ]
}

fn remapped_of(a: &Attribution) -> Vec<(Kind, Option<usize>, Option<Remapped>)> {
    a.regions
        .iter()
        .map(|r| (r.kind, r.instance, r.remapped))
        .collect()
}

#[test]
fn anonymous_hugetlb_and_memfd_text_is_the_objects_text() {
    for (hole, how) in [
        (
            line(B + 0x4000, B + 0xc000, "r-xp", 0, 0, ""),
            Remapped::Anon,
        ),
        (
            line(
                B + 0x4000,
                B + 0xc000,
                "r-xp",
                0,
                77,
                "/anon_hugepage (deleted)",
            ),
            Remapped::Hugetlb,
        ),
        (
            line(
                B + 0x4000,
                B + 0xc000,
                "r-xs",
                0,
                78,
                "/memfd:hugetext (deleted)",
            ),
            Remapped::Memfd,
        ),
    ] {
        let a = run(&maps_with(hole), &facts(SO, 9, exe()));
        let r = &a.regions[2];
        assert_eq!(
            (r.kind, r.instance, r.segment, r.remapped),
            (Kind::Text, Some(0), Some(1), Some(how)),
            "{how:?}"
        );
        // The object's own lines are not remapped.
        assert!(a.regions.iter().filter(|r| r.remapped.is_some()).count() == 1);
    }
}

#[test]
fn only_between_the_objects_own_lines_and_inside_its_text() {
    // The object's text ends where the anonymous line starts: no own line above it
    // within the text, so the rest of the text is unmapped, not remapped.
    let maps = vec![
        line(B, B + 0x1000, "r--p", 0, 9, SO),
        line(B + 0x1000, B + 0x4000, "r-xp", 0x1000, 9, SO),
        line(B + 0x4000, B + 0xc000, "r-xp", 0, 0, ""),
    ];
    let a = run(&maps, &facts(SO, 9, exe()));
    assert_eq!(a.regions[2].remapped, None);
    // Anonymous memory over the data segment is not text.
    let maps = vec![
        line(B, B + 0x1000, "r--p", 0, 9, SO),
        line(B + 0x1000, B + 0xf000, "r-xp", 0x1000, 9, SO),
        line(B + 0xf000, B + 0x10000, "rw-p", 0, 0, ""),
        line(B + 0x10000, B + 0x11000, "rw-p", 0, 0, ""),
    ];
    let a = run(&maps, &facts(SO, 9, exe()));
    assert!(
        a.regions.iter().all(|r| r.remapped.is_none()),
        "{:?}",
        remapped_of(&a)
    );
    // A plain file in the hole is not remapped text.
    let a = run(
        &maps_with(line(B + 0x4000, B + 0xc000, "r--p", 0, 79, "/tmp/data")),
        &facts(SO, 9, exe()),
    );
    assert_eq!(a.regions[2].remapped, None);
}

#[test]
fn writable_or_not_executable_memory_over_text_is_not_text() {
    // Issue 18 §2: text is r-x; other memory over it is not remapped text.
    for perms in ["rw-p", "r--p", "rwxp"] {
        let a = run(
            &maps_with(line(B + 0x4000, B + 0xc000, perms, 0, 0, "")),
            &facts(SO, 9, exe()),
        );
        let r = &a.regions[2];
        assert_eq!(
            (r.kind, r.instance, r.remapped),
            (Kind::Anon, None, None),
            "{perms}"
        );
    }
}

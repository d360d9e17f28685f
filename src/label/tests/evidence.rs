//! The loader's mapping of each PT_LOAD as evidence that the file read is the one
//! mapped (issue 9, section 1): offsets, extents and permissions, with maps lines as
//! glibc, musl and the kernel leave them, and as a stale sysroot contradicts them.

use super::*;

const RELRO: u32 = 0x6474e552;

/// Numbers the lines from 1, as the parser does.
fn numbered(mut maps: Vec<Mapping>) -> Vec<Mapping> {
    for (i, m) in maps.iter_mut().enumerate() {
        m.line = i + 1;
    }
    maps
}

/// Facts for one file, `exact` when it is proven to be the mapped one.
fn facts_of(
    name: &str,
    inode: u64,
    info: Arc<ElfInfo>,
    exact: bool,
) -> HashMap<FileKey, FileFacts> {
    let mut f = facts(name, inode, info);
    for v in f.values_mut() {
        if let FileFacts::Elf { exact: e, size, .. } = v {
            *e = exact;
            *size = 0x100_0000;
        }
    }
    f
}

fn run(maps: &[Mapping], f: &HashMap<FileKey, FileFacts>) -> Attribution {
    attribute(maps, f, P, &Hints::default())
}

fn relro(index: usize, vaddr: u64, memsz: u64) -> Phdr {
    let mut r = load(index, 4, vaddr, vaddr, memsz, memsz);
    r.p_type = RELRO;
    r
}

/// Every line of `name` is unknown, and each instance has a layout-mismatch problem
/// whose message contains all of `words`.
fn all_unknown(a: &Attribution, maps: &[Mapping], name: &str, words: &[&str]) {
    for r in &a.regions {
        if maps[r.mapping].name == name.as_bytes() {
            assert_eq!(r.kind, Kind::Unknown, "{r:?}");
        }
    }
    assert!(!a.instances.is_empty());
    for i in &a.instances {
        let p = i.problem.as_ref().expect("a problem");
        assert_eq!(p.code, Code::LayoutMismatch);
        for w in words {
            assert!(p.message.contains(w), "{w:?} not in {:?}", p.message);
        }
    }
    assert!(a.notes.is_empty());
}

/// The program headers of Debian 12's /usr/bin/bash: a PIE with separate code.
fn bash_pie() -> Arc<ElfInfo> {
    info(
        3,
        vec![
            load(2, 4, 0, 0, 0x2ed48, 0x2ed48),
            load(3, 5, 0x2f000, 0x2f000, 0xc0b9d, 0xc0b9d),
            load(4, 4, 0xf0000, 0xf0000, 0x37f44, 0x37f44),
            load(5, 6, 0x128af0, 0x128af0, 0xbc74, 0x16cf0),
            relro(12, 0x128af0, 0x3510),
        ],
    )
}

#[test]
fn stale_pie_in_the_sysroot_of_an_exec_without_separate_code() {
    // Issue 9: bash built as ET_EXEC at 0x400000 with -z noseparate-code, analysed
    // against a PIE bash. Offsets agree (vaddr == offset in both), permissions do not.
    let bash = "/usr/bin/bash";
    let maps = numbered(vec![
        line(0x400000, 0x4de000, "r-xp", 0, 1, bash),
        line(0x6dd000, 0x6de000, "r--p", 0xdd000, 1, bash),
        line(0x6de000, 0x6e7000, "rw-p", 0xde000, 1, bash),
        line(0x6e7000, 0x6ed000, "rw-p", 0, 0, ""),
        line(0x1e6a000, 0x1f0b000, "rw-p", 0, 0, "[heap]"),
    ]);
    let a = run(&maps, &facts_of(bash, 1, bash_pie(), false));
    all_unknown(&a, &maps, bash, &[]);
    let first = a.instances.iter().find(|i| i.bias == 0x400000).unwrap();
    let msg = &first.problem.as_ref().unwrap().message;
    assert!(
        msg.contains("maps line 1 is r-xp") && msg.contains("r--p"),
        "{msg}"
    );
    // No anonymous memory is claimed by an object that does not fit.
    assert_eq!(a.regions[3].kind, Kind::Anon);
    assert_eq!(a.regions[4].kind, Kind::Heap);
}

/// A library: R, RX, R, RW with RELRO, text of `text` bytes, every segment at
/// `vaddr == offset` (so offsets cannot tell two builds apart).
fn lib(text: u64) -> Arc<ElfInfo> {
    let ro = 0x1000 + text;
    let rw = ro + 0x2000;
    info(
        3,
        vec![
            load(0, 4, 0, 0, 0x800, 0x800),
            load(1, 5, 0x1000, 0x1000, text, text),
            load(2, 4, ro, ro, 0x1800, 0x1800),
            load(3, 6, rw, rw, 0x1800, 0x4000),
            relro(4, rw, 0x1000),
        ],
    )
}

/// The maps lines glibc leaves for [`lib`] at bias `b`.
fn lib_maps(b: u64, text: u64) -> Vec<Mapping> {
    let ro = 0x1000 + text;
    let rw = ro + 0x2000;
    let so = "/lib/libx.so";
    numbered(vec![
        line(b, b + 0x1000, "r--p", 0, 2, so),
        line(b + 0x1000, b + ro, "r-xp", 0x1000, 2, so),
        line(b + ro, b + ro + 0x2000, "r--p", ro, 2, so),
        line(b + rw, b + rw + 0x1000, "r--p", rw, 2, so),
        line(b + rw + 0x1000, b + rw + 0x2000, "rw-p", rw + 0x1000, 2, so),
        line(b + rw + 0x2000, b + rw + 0x4000, "rw-p", 0, 0, ""),
    ])
}

#[test]
fn the_library_that_was_loaded_fits() {
    let b = 0x7f00_0000_0000;
    let maps = lib_maps(b, 0x4000);
    let a = run(&maps, &facts_of("/lib/libx.so", 2, lib(0x4000), false));
    assert_eq!(a.instances.len(), 1);
    assert_eq!(a.instances[0].problem, None);
    let k: Vec<Kind> = a.regions.iter().map(|r| r.kind).collect();
    assert_eq!(
        k,
        [
            Kind::Rodata,
            Kind::Text,
            Kind::Rodata,
            Kind::Relro,
            Kind::Data,
            Kind::Bss
        ]
    );
}

#[test]
fn library_rebuilt_with_more_code() {
    // Same segments, more text: the old rodata line now lies in the new text.
    let b = 0x7f00_0000_0000;
    let maps = lib_maps(b, 0x4000);
    let a = run(&maps, &facts_of("/lib/libx.so", 2, lib(0x8000), false));
    all_unknown(&a, &maps, "/lib/libx.so", &["maps line 3 is r--p", "r-xp"]);
}

#[test]
fn library_rebuilt_with_less_code() {
    let b = 0x7f00_0000_0000;
    let maps = lib_maps(b, 0x8000);
    let a = run(&maps, &facts_of("/lib/libx.so", 2, lib(0x4000), false));
    // The old rodata lies in the new bss: found before the old text's r-xp pages
    // over the new rodata.
    all_unknown(&a, &maps, "/lib/libx.so", &["maps line 3", "bss"]);
}

#[test]
fn library_rebuilt_with_less_data_and_more_bss() {
    // The old data's second file page is bss in the new build: loaders map bss
    // anonymous, so a file-backed page there is not this file.
    let so = "/lib/libd.so";
    let old = info(
        3,
        vec![
            load(0, 5, 0, 0, 0x1000, 0x1000),
            load(1, 6, 0x1000, 0x1000, 0x2000, 0x3000),
        ],
    );
    let new = info(
        3,
        vec![
            load(0, 5, 0, 0, 0x1000, 0x1000),
            load(1, 6, 0x1000, 0x1000, 0x800, 0x3000),
        ],
    );
    let b = 0x7f00_0000_0000;
    let maps = numbered(vec![
        line(b, b + 0x1000, "r-xp", 0, 3, so),
        line(b + 0x1000, b + 0x3000, "rw-p", 0x1000, 3, so),
        line(b + 0x3000, b + 0x4000, "rw-p", 0, 0, ""),
    ]);
    let fits = run(&maps, &facts_of(so, 3, old, false));
    assert_eq!(fits.instances[0].problem, None);
    let a = run(&maps, &facts_of(so, 3, new, false));
    all_unknown(&a, &maps, so, &["maps line 2", "bss"]);
}

/// One RX segment from offset 0 and RW (`-z noseparate-code`), or R, RX, R, RW.
fn code(separate: bool) -> Arc<ElfInfo> {
    if separate {
        info(
            3,
            vec![
                load(0, 4, 0, 0, 0x1000, 0x1000),
                load(1, 5, 0x1000, 0x1000, 0x3000, 0x3000),
                load(2, 4, 0x4000, 0x4000, 0x1000, 0x1000),
                load(3, 6, 0x5000, 0x6000, 0x100, 0x100),
            ],
        )
    } else {
        info(
            3,
            vec![
                load(0, 5, 0, 0, 0x5000, 0x5000),
                load(1, 6, 0x5000, 0x6000, 0x100, 0x100),
            ],
        )
    }
}

fn code_maps(separate: bool, b: u64) -> Vec<Mapping> {
    let so = "/lib/libc0.so";
    let mut maps = if separate {
        vec![
            line(b, b + 0x1000, "r--p", 0, 4, so),
            line(b + 0x1000, b + 0x4000, "r-xp", 0x1000, 4, so),
            line(b + 0x4000, b + 0x5000, "r--p", 0x4000, 4, so),
        ]
    } else {
        vec![line(b, b + 0x5000, "r-xp", 0, 4, so)]
    };
    maps.push(line(b + 0x6000, b + 0x7000, "rw-p", 0x5000, 4, so));
    numbered(maps)
}

#[test]
fn separate_code_build_standing_in_for_noseparate_code() {
    let b = 0x7f00_0000_0000;
    for (mapped, read) in [(false, true), (true, false)] {
        let maps = code_maps(mapped, b);
        let ok = run(&maps, &facts_of("/lib/libc0.so", 4, code(mapped), false));
        assert_eq!(ok.instances[0].problem, None, "{mapped}");
        let a = run(&maps, &facts_of("/lib/libc0.so", 4, code(read), false));
        all_unknown(&a, &maps, "/lib/libc0.so", &["maps line 1"]);
    }
}

#[test]
fn relro_pages_are_read_only_or_not_yet() {
    // cat_like's RW segment: RELRO r--p then data rw-p; before RELRO is applied (or
    // in musl's own libc) the whole segment is rw-p. Data shown r--p is a mismatch.
    let b = 0x5500_0000_0000;
    let cat = "/usr/bin/cat";
    let with = |relro: &str, data: &str| {
        numbered(vec![
            line(b, b + 0x1000, "r--p", 0, 7, cat),
            line(b + 0x2000, b + 0x6000, "r-xp", 0x2000, 7, cat),
            line(b + 0x6000, b + 0x8000, "r--p", 0x6000, 7, cat),
            line(b + 0x8000, b + 0x9000, relro, 0x7000, 7, cat),
            line(b + 0x9000, b + 0xa000, data, 0x8000, 7, cat),
        ])
    };
    for (relro, data, fits) in [
        ("r--p", "rw-p", true),
        ("rw-p", "rw-p", true),
        ("r--p", "r--p", false),
        ("r-xp", "rw-p", false),
    ] {
        let maps = with(relro, data);
        let a = run(&maps, &facts_of(cat, 7, cat_like(), false));
        assert_eq!(a.instances[0].problem.is_none(), fits, "{relro} {data}");
    }
}

#[test]
fn relro_left_writable_only_where_no_loader_applies_it() {
    // Issue 18 §2: lib_maps with its RELRO page rw-p, as another build's data page
    // looks inside a RELRO one page longer. Accepted only without an interpreter
    // (a static process) and for musl's own libc, which skips its RELRO.
    let b = 0x7f00_0000_0000;
    for (interp, name, fits) in [
        (None, "/lib/libx.so", true),
        (Some("/lib64/ld-linux-x86-64.so.2"), "/lib/libx.so", false),
        (Some("/lib/ld-musl-x86_64.so.1"), "/lib/libx.so", false),
        (
            Some("/lib/ld-musl-x86_64.so.1"),
            "/usr/lib/x86_64-linux-musl/libc.so",
            true,
        ),
        (
            Some("/lib/ld-musl-x86_64.so.1"),
            "/lib/ld-musl-x86_64.so.1",
            true,
        ),
    ] {
        let mut maps: Vec<Mapping> = lib_maps(b, 0x4000)
            .into_iter()
            .map(|mut m| {
                if m.inode == 2 {
                    m.name = name.as_bytes().to_vec();
                }
                m
            })
            .collect();
        maps[3].perms = *b"rw-p";
        let mut f = facts_of(name, 2, lib(0x4000), false);
        if let Some(interp) = interp {
            with_exe(interp, b + 0x100000, &mut maps, &mut f);
        }
        let maps = numbered(maps);
        let a = run(&maps, &f);
        assert_eq!(a.instances[0].problem.is_none(), fits, "{interp:?} {name}");
        if let Some(p) = &a.instances[0].problem {
            for w in ["maps line 4 is rw-p", "PT_GNU_RELRO", "r--p"] {
                assert!(p.message.contains(w), "{w:?} not in {:?}", p.message);
            }
            for r in a.regions.iter().filter(|r| r.instance == Some(0)) {
                assert_eq!(r.kind, Kind::Unknown, "{r:?}");
            }
        }
    }
}

#[test]
fn another_files_line_inside_a_segment() {
    // Issue 18 §2: a sysroot build whose bss is longer than the mapped one's reaches
    // into the next object's lines: the loaders map nothing else inside a segment.
    let b = 0x7f00_0000_0000;
    let mut maps = lib_maps(b, 0x4000);
    // The anonymous bss line ends a page early; another file follows.
    maps[5].end -= 0x1000;
    maps.push(line(b + 0xa000, b + 0xb000, "r--p", 0, 3, "/lib/liby.so"));
    let maps = numbered(maps);
    let mut f = facts_of("/lib/libx.so", 2, lib(0x4000), false);
    f.extend(facts_of("/lib/liby.so", 3, lib(0x4000), false));
    let a = run(&maps, &f);
    let x = &a.instances[0];
    assert_eq!(x.key.name, b"/lib/libx.so");
    let p = x.problem.as_ref().expect("a problem");
    assert!(
        p.message.contains("maps line 7 (another file)") && p.message.contains("bss"),
        "{p:?}"
    );
    // Proven to be the mapped file: its headers are right, the other line is the
    // program's own doing.
    let mut f = facts_of("/lib/libx.so", 2, lib(0x4000), true);
    f.extend(facts_of("/lib/liby.so", 3, lib(0x4000), false));
    let a = run(&maps, &f);
    assert_eq!(a.instances[0].problem, None);
}

/// Text, a gap to the next 2 MiB, then data: as linked with max-page-size 2 MiB.
fn gapped() -> Arc<ElfInfo> {
    info(
        3,
        vec![
            load(0, 5, 0, 0, 0x1000, 0x1000),
            load(1, 6, 0x1000, 0x201000, 0x100, 0x100),
        ],
    )
}

#[test]
fn glibc_gap_is_inaccessible_file_memory() {
    let b = 0x7f00_0000_0000;
    let so = "/lib/libgap.so";
    // Not under musl's loader, a gap keeps no segment's protection (issue 18 §2).
    for (gap, fits) in [("---p", true), ("r-xp", false), ("rw-p", false)] {
        let maps = numbered(vec![
            line(b, b + 0x1000, "r-xp", 0, 5, so),
            line(b + 0x1000, b + 0x201000, gap, 0x1000, 5, so),
            line(b + 0x201000, b + 0x202000, "rw-p", 0x1000, 5, so),
        ]);
        let a = run(&maps, &facts_of(so, 5, gapped(), false));
        assert_eq!(a.instances[0].problem.is_none(), fits, "{gap}");
        if fits {
            assert_eq!(a.regions[1].kind, Kind::Gap);
        } else {
            all_unknown(&a, &maps, so, &[&format!("maps line 2 is {gap}"), "---p"]);
        }
    }
}

#[test]
fn musl_gap_and_rodata_in_one_line_with_the_lowest_protection() {
    // musl maps the span r--p (the lowest segment's), never makes gaps PROT_NONE, and
    // maps each other segment over it; where offsets continue, the kernel shows gap +
    // rodata + gap as one r--p line.
    let so = "/lib/libm.so";
    let lib = info(
        3,
        vec![
            load(0, 4, 0, 0, 0x800, 0x800),
            load(1, 5, 0x10000, 0x10000, 0x800, 0x800),
            load(2, 4, 0x20000, 0x20000, 0x800, 0x800),
            load(3, 6, 0x30000, 0x30000, 0x100, 0x100),
        ],
    );
    let b = 0x7f00_0000_0000;
    let mut maps = vec![
        line(b, b + 0x10000, "r--p", 0, 6, so),
        line(b + 0x10000, b + 0x11000, "r-xp", 0x10000, 6, so),
        line(b + 0x11000, b + 0x30000, "r--p", 0x11000, 6, so),
        line(b + 0x30000, b + 0x31000, "rw-p", 0x30000, 6, so),
    ];
    // The same lines where the loader is not musl's: a r--p gap is evidence against
    // the file (issue 18 §2).
    let a = run(
        &numbered(maps.clone()),
        &facts_of(so, 6, lib.clone(), false),
    );
    all_unknown(
        &a,
        &numbered(maps.clone()),
        so,
        &["maps line 1 is r--p", "---p"],
    );
    let mut f = facts_of(so, 6, lib, false);
    with_musl_exe(b + 0x100000, &mut maps, &mut f);
    let maps = numbered(maps);
    let a = run(&maps, &f);
    assert_eq!(a.instances[0].problem, None);
    assert_eq!(
        kinds(&a)[3..6],
        [
            (b + 0x11000, b + 0x20000, Kind::Gap, None),
            (b + 0x20000, b + 0x21000, Kind::Rodata, Some(2)),
            (b + 0x21000, b + 0x30000, Kind::Gap, None),
        ]
    );
}

#[test]
fn live_text_made_writable_is_a_note_not_unknown() {
    // The mapped inode itself: a JIT or hot-patcher may mprotect its own text.
    let b = 0x7f00_0000_0000;
    let mut maps = lib_maps(b, 0x4000);
    maps[1].perms = *b"rwxp";
    let a = run(&maps, &facts_of("/lib/libx.so", 2, lib(0x4000), true));
    assert_eq!(a.instances[0].problem, None);
    assert_eq!(a.regions[1].kind, Kind::Text);
    assert_eq!(a.notes.len(), 1);
    let (i, note) = &a.notes[0];
    assert_eq!(*i, 0);
    assert_eq!(note.code, Code::LayoutMismatch);
    assert!(
        note.message.contains("maps line 2 is rwxp"),
        "{}",
        note.message
    );
    // The same lines with a file found by path: not proven, so unknown.
    let a = run(&maps, &facts_of("/lib/libx.so", 2, lib(0x4000), false));
    all_unknown(&a, &maps, "/lib/libx.so", &["maps line 2 is rwxp"]);
}

#[test]
fn live_offsets_that_differ_stay_unknown() {
    let b = 0x7f00_0000_0000;
    let mut maps = lib_maps(b, 0x4000);
    maps[2].offset += 0x1000;
    let a = run(&maps, &facts_of("/lib/libx.so", 2, lib(0x4000), true));
    assert!(a.instances.iter().all(|i| i.problem.is_some()));
    assert!(a.notes.is_empty());
}

#[test]
fn read_implies_exec_adds_x_to_every_readable_line() {
    // i386 executables without PT_GNU_STACK: the kernel makes every readable mapping
    // executable. One readable line without x rules that out.
    let b = 0x7f00_0000_0000;
    let mut maps = lib_maps(b, 0x4000);
    for m in &mut maps {
        if m.perms[0] == b'r' {
            m.perms[2] = b'x';
        }
    }
    maps.push(line(
        0x7fff_0000_0000,
        0x7fff_0000_1000,
        "r--p",
        0,
        0,
        "[vvar]",
    ));
    let a = run(&maps, &facts_of("/lib/libx.so", 2, lib(0x4000), false));
    assert_eq!(a.instances[0].problem, None);
    maps.push(line(
        0x7fff_1000_0000,
        0x7fff_1000_1000,
        "r--p",
        0,
        9,
        "/etc/x",
    ));
    let a = run(&maps, &facts_of("/lib/libx.so", 2, lib(0x4000), false));
    assert!(a.instances[0].problem.is_some());
}

#[test]
fn file_lines_beyond_the_span() {
    // A line of the file that goes on past the object's span: not what a loader maps.
    // When the file is proven, the rest is the file mapped once more, as data (kind
    // `mapped_file`).
    let b = 0x7f00_0000_0000;
    let so = "/lib/libc0.so";
    let maps = numbered(vec![
        line(b, b + 0x5000, "r-xp", 0, 4, so),
        line(b + 0x6000, b + 0x8000, "rw-p", 0x5000, 4, so),
    ]);
    let a = run(&maps, &facts_of(so, 4, code(false), false));
    all_unknown(&a, &maps, so, &["maps line 2", "span"]);
    let a = run(&maps, &facts_of(so, 4, code(false), true));
    assert_eq!(a.instances[0].problem, None);
    assert_eq!(a.regions.last().map(|r| r.kind), Some(Kind::MappedFile));
}

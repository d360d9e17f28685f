//! The instance rule (issue 18 §1): only lines with the loader's signature make a
//! loaded copy of an ELF file; any other line of the file is the file mapped as data
//! (`mapped_file`), which claims no anonymous memory and never makes a loaded copy of
//! the same file `unknown`.

use super::*;

/// Numbers the lines from 1, as the parser does.
fn numbered(mut maps: Vec<Mapping>) -> Vec<Mapping> {
    for (i, m) in maps.iter_mut().enumerate() {
        m.line = i + 1;
    }
    maps
}

/// Facts for one file of `size` bytes, `exact` when it is proven to be the mapped one.
fn facts_sized(
    name: &str,
    inode: u64,
    info: Arc<ElfInfo>,
    size: u64,
    exact: bool,
) -> HashMap<FileKey, FileFacts> {
    let mut f = facts(name, inode, info);
    for v in f.values_mut() {
        if let FileFacts::Elf {
            exact: e, size: s, ..
        } = v
        {
            *e = exact;
            *s = size;
        }
    }
    f
}

fn run(maps: &[Mapping], f: &HashMap<FileKey, FileFacts>, sps: &[u64]) -> Attribution {
    let hints = Hints {
        thread_stack_pointers: sps.to_vec(),
    };
    attribute(maps, f, P, &hints)
}

/// The regions of line `mi`.
fn of_line(a: &Attribution, mi: usize) -> Vec<&Part> {
    a.regions.iter().filter(|r| r.mapping == mi).collect()
}

/// Line `mi` is one region, the file mapped as data: no instance, no segment.
fn assert_data(a: &Attribution, mi: usize) {
    let parts = of_line(a, mi);
    assert_eq!(parts.len(), 1, "{parts:?}");
    let r = parts[0];
    assert_eq!(
        (r.kind, r.instance, r.segment, r.split),
        (Kind::MappedFile, None, None, false),
        "{r:?}"
    );
}

/// The lines of /usr/bin/cat (cat_like) loaded at `b`, and its bss.
fn cat_maps(b: u64) -> Vec<Mapping> {
    let cat = "/usr/bin/cat";
    vec![
        line(b, b + 0x1000, "r--p", 0, 7, cat),
        line(b + 0x2000, b + 0x6000, "r-xp", 0x2000, 7, cat),
        line(b + 0x6000, b + 0x8000, "r--p", 0x6000, 7, cat),
        line(b + 0x8000, b + 0x9000, "r--p", 0x7000, 7, cat),
        line(b + 0x9000, b + 0xa000, "rw-p", 0x8000, 7, cat),
    ]
}

/// The labels of cat loaded at `b` (tests/mod.rs, cat_shared_page_and_relro).
fn cat_labels(b: u64) -> Vec<(u64, u64, Kind, Option<usize>)> {
    vec![
        (b, b + 0x1000, Kind::Rodata, Some(0)),
        (b + 0x2000, b + 0x6000, Kind::Text, Some(1)),
        (b + 0x6000, b + 0x8000, Kind::Rodata, Some(2)),
        (b + 0x8000, b + 0x9000, Kind::Relro, Some(3)),
        (b + 0x9000, b + 0xa000, Kind::Data, Some(3)),
    ]
}

#[test]
fn whole_file_mapped_for_reading_next_to_the_loaded_executable() {
    // A Rust program that formatted a backtrace maps its own executable read-only,
    // whole, at offset 0. Issue 18: "another copy of the same file does not fit", and
    // the loaded executable became `unknown`.
    let b = 0x5500_0000_0000;
    let data = 0x7f00_0000_0000;
    for exact in [false, true] {
        let mut maps = cat_maps(b);
        maps.push(line(data, data + 0x9000, "r--p", 0, 7, "/usr/bin/cat"));
        let maps = numbered(maps);
        let f = facts_sized("/usr/bin/cat", 7, cat_like(), 0x8500, exact);
        let a = run(&maps, &f, &[]);
        assert_eq!(a.instances.len(), 1, "exact {exact}");
        assert_eq!(a.instances[0].bias, b);
        assert_eq!(a.instances[0].problem, None);
        assert!(a.notes.is_empty() && a.unlabelled.is_empty());
        assert_eq!(kinds(&a)[..5], cat_labels(b)[..]);
        assert!(a.regions[..5].iter().all(|r| r.instance == Some(0)));
        assert_data(&a, 5);
    }
}

#[test]
fn whole_file_mapped_next_to_two_loaded_copies() {
    // dlopen and dlmopen load one library twice; the program maps it once more.
    // A layout with `vaddr == offset` everywhere: the data mapping's offsets fit, its
    // permissions and extent do not.
    let so = "/tmp/libx.so";
    let lib = info(
        3,
        vec![
            load(0, 4, 0, 0, 0x800, 0x800),
            load(1, 5, 0x1000, 0x1000, 0x4000, 0x4000),
            load(2, 4, 0x5000, 0x5000, 0x1800, 0x1800),
            load(3, 6, 0x7000, 0x7000, 0x1800, 0x4000),
        ],
    );
    let copy = |b: u64| {
        vec![
            line(b, b + 0x1000, "r--p", 0, 2, so),
            line(b + 0x1000, b + 0x5000, "r-xp", 0x1000, 2, so),
            line(b + 0x5000, b + 0x7000, "r--p", 0x5000, 2, so),
            line(b + 0x7000, b + 0x9000, "rw-p", 0x7000, 2, so),
            line(b + 0x9000, b + 0xb000, "rw-p", 0, 0, ""),
        ]
    };
    let (b1, b2, data) = (0x7f00_0000_0000, 0x7f00_0010_0000, 0x7f00_0020_0000);
    for exact in [false, true] {
        let mut maps = copy(b1);
        maps.extend(copy(b2));
        maps.push(line(data, data + 0xa000, "r--p", 0, 2, so));
        let maps = numbered(maps);
        let a = run(&maps, &facts_sized(so, 2, lib.clone(), 0x9100, exact), &[]);
        assert_eq!(a.instances.len(), 2, "exact {exact}");
        assert!(a.instances.iter().all(|i| i.problem.is_none()));
        assert_eq!(
            a.instances.iter().map(|i| i.bias).collect::<Vec<_>>(),
            [b1, b2]
        );
        for (k, b) in [(0, b1), (5, b2)] {
            let got: Vec<_> = kinds(&a)
                .into_iter()
                .filter(|r| r.0 >= b && r.1 <= b + 0xb000)
                .collect();
            assert_eq!(
                got,
                [
                    (b, b + 0x1000, Kind::Rodata, Some(0)),
                    (b + 0x1000, b + 0x5000, Kind::Text, Some(1)),
                    (b + 0x5000, b + 0x7000, Kind::Rodata, Some(2)),
                    (b + 0x7000, b + 0x9000, Kind::Data, Some(3)),
                    (b + 0x9000, b + 0xb000, Kind::Bss, Some(3)),
                ],
                "copy at line {k}"
            );
        }
        assert_data(&a, 10);
    }
}

#[test]
fn a_loaded_copy_whose_text_the_program_made_writable_stays_loaded() {
    // Two loaded copies of a proven file; the program mprotects the text of one
    // (a JIT, a hot-patcher): a note, and its labels stay, not data.
    let so = "/tmp/liby.so";
    let lib = info(
        3,
        vec![
            load(0, 4, 0, 0, 0x800, 0x800),
            load(1, 5, 0x1000, 0x1000, 0x4000, 0x4000),
            load(2, 6, 0x5000, 0x5000, 0x800, 0x800),
        ],
    );
    let copy = |b: u64, text: &str| {
        vec![
            line(b, b + 0x1000, "r--p", 0, 2, so),
            line(b + 0x1000, b + 0x5000, text, 0x1000, 2, so),
            line(b + 0x5000, b + 0x6000, "rw-p", 0x5000, 2, so),
        ]
    };
    let (b1, b2) = (0x7f00_0000_0000, 0x7f00_0010_0000);
    let mut maps = copy(b1, "r-xp");
    maps.extend(copy(b2, "rwxp"));
    let maps = numbered(maps);
    let a = run(&maps, &facts_sized(so, 2, lib, 0x5800, true), &[]);
    assert_eq!(a.instances.len(), 2);
    assert_eq!(a.notes.len(), 1);
    assert_eq!(a.notes[0].0, 1);
    assert_eq!(
        kinds(&a)[4],
        (b2 + 0x1000, b2 + 0x5000, Kind::Text, Some(1))
    );
    assert_eq!(a.regions[4].instance, Some(1));
}

/// A library never loaded: R, RX, R, RW.
fn unloaded() -> Arc<ElfInfo> {
    info(
        3,
        vec![
            load(0, 4, 0, 0, 0x800, 0x800),
            load(1, 5, 0x1000, 0x1000, 0x8000, 0x8000),
            load(2, 4, 0x9000, 0x9000, 0x1800, 0x1800),
            load(3, 6, 0xb000, 0xc000, 0x1800, 0x40000),
        ],
    )
}

#[test]
fn a_few_pages_of_an_unloaded_library_claim_nothing() {
    // libbacktrace maps a few pages of a file at an offset inside a PT_LOAD. They fit
    // the headers at some bias, whose span would cover the 1 MiB buffer, the thread
    // stack and its guard placed right after: issue 18 labelled them gap and bss.
    let so = "/tmp/libunloaded.so";
    let x = 0x7f00_0000_0000;
    let buf = x + 0x2000;
    let guard = buf + 0x10_0000;
    let stack = guard + 0x1000;
    let maps = numbered(vec![
        line(x, x + 0x2000, "r--p", 0x3000, 3, so),
        line(buf, guard, "rw-p", 0, 0, ""),
        line(guard, stack, "---p", 0, 0, ""),
        line(stack, stack + 0x8000, "rw-p", 0, 0, ""),
    ]);
    for exact in [false, true] {
        let a = run(
            &maps,
            &facts_sized(so, 3, unloaded(), 0x10000, exact),
            &[stack + 0x7000],
        );
        assert!(a.instances.is_empty(), "exact {exact}: {:?}", a.instances);
        assert!(a.unlabelled.is_empty() && a.notes.is_empty());
        assert_data(&a, 0);
        assert_eq!(
            kinds(&a)[1..],
            [
                (buf, guard, Kind::Anon, None),
                (guard, stack, Kind::Guard, None),
                (stack, stack + 0x8000, Kind::ThreadStack, None),
            ]
        );
        assert!(a.regions[1..].iter().all(|r| r.instance.is_none()));
    }
}

#[test]
fn a_few_pages_of_a_loaded_library_leave_its_bss_alone() {
    // The same pages of a loaded library, mapped where their phantom's span would
    // cover the real object's bss: issue 18 made libc's bss `anon`.
    let so = "/tmp/libloaded.so";
    let b = 0x7f00_0000_0000;
    // The phantom: offset 0x1000 (text) mapped at b - 0x2000, bias b - 0x3000,
    // whose span covers the whole real object, its bss included.
    let x = b - 0x2000;
    let maps = numbered(vec![
        line(x, x + 0x1000, "r--p", 0x1000, 4, so),
        line(b, b + 0x1000, "r--p", 0, 4, so),
        line(b + 0x1000, b + 0x9000, "r-xp", 0x1000, 4, so),
        line(b + 0x9000, b + 0xb000, "r--p", 0x9000, 4, so),
        line(b + 0xc000, b + 0xe000, "rw-p", 0xb000, 4, so),
        line(b + 0xe000, b + 0x4d000, "rw-p", 0, 0, ""),
    ]);
    for exact in [false, true] {
        let a = run(&maps, &facts_sized(so, 4, unloaded(), 0xd000, exact), &[]);
        assert_eq!(a.instances.len(), 1, "exact {exact}");
        assert_eq!((a.instances[0].bias, &a.instances[0].problem), (b, &None));
        assert_data(&a, 0);
        assert_eq!(
            kinds(&a)[5..],
            [
                (b + 0xe000, b + 0x4c000, Kind::Bss, Some(3)),
                (b + 0x4c000, b + 0x4d000, Kind::Anon, None),
            ]
        );
        assert_eq!(a.regions[5].instance, Some(0));
    }
}

#[test]
fn code_a_program_copied_elsewhere_is_data() {
    // node maps part of its own executable PROT_READ|PROT_EXEC elsewhere (its
    // builtins): an r-xp line of the text's file bytes, outside the loaded span.
    let b = 0x5500_0000_0000;
    let moved = 0x7f00_0000_0000;
    for exact in [false, true] {
        let mut maps = cat_maps(b);
        maps.push(line(
            moved,
            moved + 0x2000,
            "r-xp",
            0x3000,
            7,
            "/usr/bin/cat",
        ));
        maps.push(line(moved + 0x2000, moved + 0x40000, "rw-p", 0, 0, ""));
        let maps = numbered(maps);
        let a = run(
            &maps,
            &facts_sized("/usr/bin/cat", 7, cat_like(), 0x8500, exact),
            &[],
        );
        assert_eq!(a.instances.len(), 1, "exact {exact}");
        assert_eq!(a.instances[0].problem, None);
        assert_eq!(kinds(&a)[..5], cat_labels(b)[..]);
        assert_data(&a, 5);
        assert_eq!(
            kinds(&a)[6],
            (moved + 0x2000, moved + 0x40000, Kind::Anon, None)
        );
    }
}

#[test]
fn a_whole_unloaded_elf_file_mapped_for_reading() {
    // libc's separate .debug file, mapped whole by a backtrace: it is never loaded.
    let dbg = "/usr/lib/debug/.build-id/ab/cdef.debug";
    let x = 0x7f00_0000_0000;
    let maps = numbered(vec![line(x, x + 0x10000, "r--p", 0, 5, dbg)]);
    for exact in [false, true] {
        let a = run(&maps, &facts_sized(dbg, 5, unloaded(), 0xf800, exact), &[]);
        assert!(a.instances.is_empty(), "exact {exact}");
        assert!(a.unlabelled.is_empty());
        assert_data(&a, 0);
    }
}

#[test]
fn a_stale_build_is_still_unknown_not_data() {
    // The loader's lines of another build: the signature (the first page at offset
    // 0) is there, the rest contradicts the headers. Not data: unknown, with the
    // problem, and so are the file's other lines.
    let so = "/tmp/libloaded.so";
    let b = 0x7f00_0000_0000;
    let x = 0x7f00_1000_0000;
    let maps = numbered(vec![
        line(b, b + 0x1000, "r--p", 0, 4, so),
        line(b + 0x1000, b + 0x7000, "r-xp", 0x1000, 4, so),
        line(b + 0x7000, b + 0x9000, "r--p", 0x7000, 4, so),
        line(b + 0xa000, b + 0xb000, "rw-p", 0x9000, 4, so),
        line(x, x + 0x1000, "r--p", 0x1000, 4, so),
    ]);
    let a = run(&maps, &facts_sized(so, 4, unloaded(), 0xd000, false), &[]);
    assert!(!a.instances.is_empty());
    assert!(a.instances.iter().all(|i| i.problem.is_some()));
    assert!(a.regions.iter().all(|r| r.kind == Kind::Unknown));
}

#[test]
fn a_small_file_read_in_a_big_librarys_place_is_unknown_not_data() {
    // Offline, a sysroot holds a small library under a big one's name: the big one's
    // first line covers all of the small file at offset 0, but is not exactly the
    // whole file. It is the wrong file, with a warning; its lines are unknown.
    let so = "/lib/libbig.so";
    let small = info(
        3,
        vec![
            load(0, 4, 0, 0, 0x800, 0x800),
            load(1, 5, 0x1000, 0x1000, 0x800, 0x800),
            load(2, 6, 0x2000, 0x3000, 0x100, 0x1000),
        ],
    );
    let b = 0x7f00_0000_0000;
    let maps = numbered(vec![
        line(b, b + 0x20000, "r--p", 0, 6, so),
        line(b + 0x20000, b + 0x80000, "r-xp", 0x20000, 6, so),
        line(b + 0x80000, b + 0x82000, "rw-p", 0x80000, 6, so),
    ]);
    let a = run(&maps, &facts_sized(so, 6, small, 0x2100, false), &[]);
    assert!(!a.instances.is_empty());
    assert!(a.instances.iter().all(|i| i.problem.is_some()));
    assert!(
        a.regions.iter().all(|r| r.kind == Kind::Unknown),
        "{:?}",
        kinds(&a)
    );
}

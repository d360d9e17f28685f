//! Tests of the whole attribution, with synthetic program headers and maps lines.

use super::*;
use crate::input::elf::{ElfInfo, Phdr};

mod anonymous;
mod evidence;
mod limits;
mod mapped;
mod remapped;

const P: PageSize = PageSize::KIB4;

fn load(index: usize, flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Phdr {
    Phdr {
        index,
        p_type: 1,
        flags,
        offset,
        vaddr,
        paddr: vaddr,
        filesz,
        memsz,
        align: P.get(),
    }
}

fn info(e_type: u16, phdrs: Vec<Phdr>) -> Arc<ElfInfo> {
    Arc::new(ElfInfo {
        class: 64,
        little_endian: true,
        e_type,
        machine: 62,
        phdrs,
        build_id: None,
        interp: None,
    })
}

/// The shape of /usr/bin/cat: R, RX, R, RW where the R and RW segments share a file page.
fn cat_like() -> Arc<ElfInfo> {
    let mut relro = load(4, 4, 0x7c30, 0x8c30, 0x3d0, 0x3d0);
    relro.p_type = 0x6474e552;
    info(
        3,
        vec![
            load(0, 4, 0, 0, 0x1000, 0x1000),
            load(1, 5, 0x2000, 0x2000, 0x4000, 0x4000),
            load(2, 4, 0x6000, 0x6000, 0x1e58, 0x1e58),
            load(3, 6, 0x7c30, 0x8c30, 0x468, 0x4a0),
            relro,
        ],
    )
}

fn line(start: u64, end: u64, perms: &str, offset: u64, inode: u64, name: &str) -> Mapping {
    Mapping {
        line: 0,
        start,
        end,
        perms: perms.as_bytes().try_into().unwrap(),
        offset,
        dev_major: 0xfe,
        dev_minor: 0,
        inode,
        name: name.as_bytes().to_vec(),
        fields: Default::default(),
    }
}

fn facts(name: &str, inode: u64, info: Arc<ElfInfo>) -> HashMap<FileKey, FileFacts> {
    let key = FileKey {
        dev_major: 0xfe,
        dev_minor: 0,
        inode,
        name: name.as_bytes().to_vec(),
    };
    HashMap::from([(
        key,
        FileFacts::Elf {
            info,
            size: 0x10000,
            exact: false,
        },
    )])
}

/// Where a process's loader is musl's: its executable, `/bin/prog` (inode 99), one
/// r-xp page at `at` whose PT_INTERP is musl's loader, and its facts added to `f`
/// (docs/labelling.md §4: the loader is decided from PT_INTERP).
fn with_musl_exe(at: u64, maps: &mut Vec<Mapping>, f: &mut HashMap<FileKey, FileFacts>) {
    with_exe("/lib/ld-musl-x86_64.so.1", at, maps, f);
}

/// [`with_musl_exe`] with the interpreter `interp`.
fn with_exe(interp: &str, at: u64, maps: &mut Vec<Mapping>, f: &mut HashMap<FileKey, FileFacts>) {
    let mut exe = ElfInfo::clone(&info(3, vec![load(0, 5, 0, 0, 0x1000, 0x1000)]));
    exe.interp = Some(interp.as_bytes().to_vec());
    maps.push(line(at, at + 0x1000, "r-xp", 0, 99, "/bin/prog"));
    f.extend(facts("/bin/prog", 99, Arc::new(exe)));
}

fn kinds(a: &Attribution) -> Vec<(u64, u64, Kind, Option<usize>)> {
    a.regions
        .iter()
        .map(|r| (r.start, r.end, r.kind, r.segment))
        .collect()
}

#[test]
fn cat_shared_page_and_relro() {
    let b = 0x5500_0000_0000;
    let maps = vec![
        line(b, b + 0x1000, "r--p", 0, 7, "/usr/bin/cat"),
        line(b + 0x2000, b + 0x6000, "r-xp", 0x2000, 7, "/usr/bin/cat"),
        line(b + 0x6000, b + 0x8000, "r--p", 0x6000, 7, "/usr/bin/cat"),
        line(b + 0x8000, b + 0x9000, "r--p", 0x7000, 7, "/usr/bin/cat"),
        line(b + 0x9000, b + 0xa000, "rw-p", 0x8000, 7, "/usr/bin/cat"),
    ];
    let a = attribute(
        &maps,
        &facts("/usr/bin/cat", 7, cat_like()),
        P,
        &Hints::default(),
    );
    assert_eq!(a.instances.len(), 1);
    assert_eq!(a.instances[0].bias, b);
    assert_eq!(a.instances[0].problem, None);
    assert_eq!(
        kinds(&a),
        vec![
            (b, b + 0x1000, Kind::Rodata, Some(0)),
            (b + 0x2000, b + 0x6000, Kind::Text, Some(1)),
            (b + 0x6000, b + 0x8000, Kind::Rodata, Some(2)),
            (b + 0x8000, b + 0x9000, Kind::Relro, Some(3)),
            (b + 0x9000, b + 0xa000, Kind::Data, Some(3)),
        ]
    );
}

#[test]
fn bionic_named_bss_and_anonymous_gap_reservations() {
    // bionic names BSS `[anon:.bss]`; bionic, uClibc and qemu-user leave anonymous
    // `---p` reservations in gaps. Both belong to the object, by address.
    let lib = info(
        3,
        vec![
            load(0, 5, 0, 0, 0x1000, 0x1000),
            load(1, 6, 0x1000, 0x11000, 0x100, 0x3000),
        ],
    );
    let b = 0x7f00_0000_0000;
    let maps = vec![
        line(b, b + 0x1000, "r-xp", 0, 9, "/system/lib64/x.so"),
        line(b + 0x1000, b + 0x11000, "---p", 0, 0, ""),
        line(
            b + 0x11000,
            b + 0x12000,
            "rw-p",
            0x1000,
            9,
            "/system/lib64/x.so",
        ),
        line(b + 0x12000, b + 0x14000, "rw-p", 0, 0, "[anon:.bss]"),
    ];
    let a = attribute(
        &maps,
        &facts("/system/lib64/x.so", 9, lib),
        P,
        &Hints::default(),
    );
    assert_eq!(
        kinds(&a),
        vec![
            (b, b + 0x1000, Kind::Text, Some(0)),
            (b + 0x1000, b + 0x11000, Kind::Gap, None),
            (b + 0x11000, b + 0x12000, Kind::Data, Some(1)),
            (b + 0x12000, b + 0x14000, Kind::Bss, Some(1)),
        ]
    );
    assert!(a.regions.iter().all(|r| r.instance == Some(0)));
}

#[test]
fn bss_merged_with_anonymous_memory_is_split_at_span_end() {
    let lib = info(
        3,
        vec![
            load(0, 5, 0, 0, 0x1800, 0x1800),
            load(1, 6, 0x1800, 0x2800, 0x100, 0x5000),
        ],
    );
    let b = 0x7f00_0000_0000;
    let maps = vec![
        line(b, b + 0x2000, "r-xp", 0, 9, "/lib/x.so"),
        line(b + 0x2000, b + 0x3000, "rw-p", 0x1000, 9, "/lib/x.so"),
        line(b + 0x3000, b + 0x20000, "rw-p", 0, 0, ""),
    ];
    let a = attribute(&maps, &facts("/lib/x.so", 9, lib), P, &Hints::default());
    let k = kinds(&a);
    assert_eq!(k[1], (b + 0x2000, b + 0x3000, Kind::Data, Some(1)));
    assert_eq!(k[2], (b + 0x3000, b + 0x8000, Kind::Bss, Some(1)));
    assert_eq!(k[3], (b + 0x8000, b + 0x20000, Kind::Anon, None));
    assert!(a.regions[2].split && a.regions[3].split && !a.regions[0].split);
    assert_eq!(a.regions[3].instance, None);
}

#[test]
fn musl_span_mapping_is_split_into_gap_and_segments() {
    // 64K-aligned segments loaded by musl: one r--p line over rodata + gap.
    let lib = info(
        3,
        vec![
            load(0, 4, 0, 0, 0x800, 0x800),
            load(1, 5, 0x1000, 0x11000, 0x800, 0x800),
        ],
    );
    let b = 0x7f00_0000_0000;
    let mut maps = vec![
        line(b, b + 0x11000, "r--p", 0, 3, "/lib/m.so"),
        line(b + 0x11000, b + 0x12000, "r-xp", 0x1000, 3, "/lib/m.so"),
    ];
    let mut f = facts("/lib/m.so", 3, lib);
    with_musl_exe(b + 0x100000, &mut maps, &mut f);
    let a = attribute(&maps, &f, P, &Hints::default());
    assert_eq!(
        kinds(&a)[..3],
        vec![
            (b, b + 0x1000, Kind::Rodata, Some(0)),
            (b + 0x1000, b + 0x11000, Kind::Gap, None),
            (b + 0x11000, b + 0x12000, Kind::Text, Some(1)),
        ]
    );
    assert_eq!(a.instances[0].problem, None);
}

#[test]
fn two_instances_of_one_file() {
    let lib = info(
        3,
        vec![
            load(0, 5, 0, 0, 0x1000, 0x1000),
            load(1, 6, 0x1000, 0x1000, 0x10, 0x10),
        ],
    );
    let (b1, b2) = (0x7f00_0000_0000, 0x7f00_1000_0000);
    let maps = vec![
        line(b1, b1 + 0x1000, "r-xp", 0, 4, "/lib/y.so"),
        line(b1 + 0x1000, b1 + 0x2000, "rw-p", 0x1000, 4, "/lib/y.so"),
        line(b2, b2 + 0x1000, "r-xp", 0, 4, "/lib/y.so"),
        line(b2 + 0x1000, b2 + 0x2000, "rw-p", 0x1000, 4, "/lib/y.so"),
    ];
    let a = attribute(&maps, &facts("/lib/y.so", 4, lib), P, &Hints::default());
    let mut biases: Vec<u64> = a.instances.iter().map(|i| i.bias).collect();
    biases.sort();
    assert_eq!(biases, vec![b1, b2]);
    assert!(a.instances.iter().all(|i| i.problem.is_none()));
}

#[test]
fn wrong_file_is_unknown_not_wrong() {
    // The maps say the data page comes from offset 0x5000; the headers say 0x1000.
    let lib = info(
        3,
        vec![
            load(0, 5, 0, 0, 0x1000, 0x1000),
            load(1, 6, 0x1000, 0x1000, 0x10, 0x10),
        ],
    );
    let b = 0x7f00_0000_0000;
    let maps = vec![
        line(b, b + 0x1000, "r-xp", 0, 4, "/lib/y.so"),
        line(b + 0x1000, b + 0x2000, "rw-p", 0x5000, 4, "/lib/y.so"),
    ];
    let a = attribute(&maps, &facts("/lib/y.so", 4, lib), P, &Hints::default());
    assert!(a.instances[0].problem.is_some());
    assert!(
        a.regions
            .iter()
            .all(|r| r.kind == Kind::Unknown && r.instance == Some(0))
    );
}

#[test]
fn exec_gap_is_a_hole_and_anonymous_bss() {
    let exe = info(
        2,
        vec![
            load(0, 5, 0, 0x400000, 0x1000, 0x1000),
            load(1, 6, 0x1000, 0x600000 + 0x1000, 0x100, 0x3000),
        ],
    );
    let maps = vec![
        line(0x400000, 0x401000, "r-xp", 0, 5, "/bin/e"),
        line(0x601000, 0x602000, "rw-p", 0x1000, 5, "/bin/e"),
        line(0x602000, 0x604000, "rw-p", 0, 0, "[heap]"),
    ];
    let a = attribute(&maps, &facts("/bin/e", 5, exe), P, &Hints::default());
    assert_eq!(a.instances[0].bias, 0);
    assert_eq!(
        kinds(&a),
        vec![
            (0x400000, 0x401000, Kind::Text, Some(0)),
            (0x601000, 0x602000, Kind::Data, Some(1)),
            (0x602000, 0x604000, Kind::Bss, Some(1)),
        ]
    );
}

#[test]
fn names_without_objects() {
    let maps = vec![
        line(0x1000, 0x2000, "rw-p", 0, 0, "[heap]"),
        line(0x2000, 0x3000, "rw-s", 0, 12, "/SYSV00000000 (deleted)"),
        line(0x3000, 0x4000, "r--p", 0, 13, "/etc/passwd"),
        line(0x4000, 0x5000, "rw-p", 0, 0, "[anon:x y]"),
        line(0x5000, 0x6000, "rw-p", 0, 0, ""),
        line(0x6000, 0x7000, "---p", 0, 0, ""),
        line(0x7000, 0x9000, "rw-p", 0, 0, ""),
        line(0x9000, 0xa000, "---p", 0, 0, ""),
        line(0xa000, 0xb000, "---p", 0, 0, "[anon:thread stack guard]"),
        line(0xb000, 0xc000, "rw-p", 0, 0, "[anon:stack_and_tls:77]"),
        line(0xc000, 0xd000, "rw-p", 0, 14, "/anon_hugepage (deleted)"),
        line(0xd000, 0xe000, "rw-s", 0, 15, "/anon_hugepage (deleted)"),
        line(0xe000, 0xf000, "rw-p", 0, 4, "/dev/zero"),
    ];
    let mut f = HashMap::new();
    f.insert(FileKey::of(&maps[2]), FileFacts::NotElf);
    // 0x5800 lies in a line with no guard below it: not a thread stack (see
    // anonymous.rs); 0x8ff0 in one above an inaccessible line, its guard.
    let hints = Hints {
        thread_stack_pointers: vec![0x5800, 0x8ff0],
    };
    let a = attribute(&maps, &f, P, &hints);
    let k: Vec<Kind> = a.regions.iter().map(|r| r.kind).collect();
    assert_eq!(
        k,
        vec![
            Kind::Heap,
            Kind::Shm,
            Kind::File,
            Kind::Anon,
            Kind::Anon,
            Kind::Guard,
            Kind::ThreadStack,
            Kind::Reserved,
            Kind::Guard,
            Kind::ThreadStack,
            Kind::Anon,
            Kind::Shm,
            Kind::Anon,
        ]
    );
}

#[test]
fn sixty_five_thousand_loads_in_one_line() {
    // Issue 9: painting was quadratic (27 s for this file and one maps line). Each
    // PT_LOAD spans two pages and the next one maps over the second, as a later
    // MAP_FIXED does; the last keeps both of its pages. All are r-x, so that the one
    // line fits them all (a line over segments of other protections is no loader's:
    // the file mapped as data, docs/labelling.md §1).
    const N: u64 = 65_000;
    let phdrs = (0..N)
        .map(|i| {
            let a = i * 0x1000;
            load(i as usize, 5, a, a, 0x2000, 0x2000)
        })
        .collect();
    let exe = info(3, phdrs);
    let b = 0x7f00_0000_0000;
    let end = (N + 1) * 0x1000;
    let maps = vec![line(b, b + end, "r-xp", 0, 6, "/lib/many.so")];
    let mut f = facts("/lib/many.so", 6, exe);
    for v in f.values_mut() {
        if let FileFacts::Elf { size, .. } = v {
            *size = end;
        }
    }
    let a = attribute(&maps, &f, P, &Hints::default());
    assert_eq!(a.instances.len(), 1);
    assert_eq!(a.instances[0].problem, None);
    assert_eq!(a.notes.len(), 0);
    assert_eq!(a.regions.len(), N as usize);
    for (i, r) in a.regions.iter().enumerate() {
        let start = b + i as u64 * 0x1000;
        let last = i as u64 == N - 1;
        assert_eq!(r.start, start);
        assert_eq!(r.end, start + if last { 0x2000 } else { 0x1000 });
        assert_eq!(r.kind, Kind::Text);
        assert_eq!(r.segment, Some(i));
    }
}

//! Anonymous memory (issue 9, section 3): thread stacks by their shape, bionic's
//! guards and signal stacks, and which pages of an object's span anonymous memory
//! may hold (bionic's `[anon:.bss]` only where the program headers put bss).

use super::*;

fn run(maps: &[Mapping], f: &HashMap<FileKey, FileFacts>, sps: &[u64]) -> Attribution {
    let hints = Hints {
        thread_stack_pointers: sps.to_vec(),
    };
    attribute(maps, f, P, &hints)
}

fn kinds_of(a: &Attribution) -> Vec<Kind> {
    a.regions.iter().map(|r| r.kind).collect()
}

#[test]
fn a_stack_pointer_makes_a_thread_stack_only_with_a_guard_below() {
    let (go, t, hole, open, file) = (
        0xc0_0000_0000u64,
        0x7f00_0000_0000u64,
        0x7f10_0000_0000u64,
        0x7f20_0000_0000u64,
        0x7f30_0000_0000u64,
    );
    let maps = vec![
        // Go: goroutine stacks inside a heap arena, its reservation above.
        line(go, go + 0x40_0000, "rw-p", 0, 0, ""),
        line(go + 0x40_0000, go + 0x400_0000, "---p", 0, 0, ""),
        // glibc/musl: the guard right below the stack.
        line(t, t + 0x1000, "---p", 0, 0, ""),
        line(t + 0x1000, t + 0x80_1000, "rw-p", 0, 0, ""),
        // An inaccessible line, but a hole between.
        line(hole, hole + 0x1000, "---p", 0, 0, ""),
        line(hole + 0x2000, hole + 0x10_0000, "rw-p", 0, 0, ""),
        // Adjacent below, but accessible.
        line(open, open + 0x1000, "r--p", 0, 0, ""),
        line(open + 0x1000, open + 0x10_0000, "rw-p", 0, 0, ""),
        // Adjacent and inaccessible, but a file.
        line(file, file + 0x1000, "---p", 0, 9, "/data/x"),
        line(file + 0x1000, file + 0x10_0000, "rw-p", 0, 0, ""),
    ];
    let mut f = HashMap::new();
    f.insert(FileKey::of(&maps[8]), FileFacts::NotElf);
    let sps = [
        go + 0x1_2340,
        t + 0x7f_0000,
        hole + 0xf_0000,
        open + 0xf_0000,
        file + 0xf_0000,
    ];
    assert_eq!(
        kinds_of(&run(&maps, &f, &sps)),
        [
            Kind::Anon,
            // Issue 20: inaccessible anonymous memory that guards nothing: reserved.
            Kind::Reserved,
            Kind::Guard,
            Kind::ThreadStack,
            Kind::Reserved,
            Kind::Anon,
            Kind::Anon,
            Kind::Anon,
            Kind::File,
            Kind::Anon,
        ]
    );
}

#[test]
fn c_library_names_of_thread_stacks() {
    // glibc 2.40+ with glibc.mem.decorate_maps names the stack (not its guard) and
    // the stacks it keeps cached; bionic names the stack with its TLS.
    let maps = vec![
        line(0x1000, 0x2000, "---p", 0, 0, ""),
        line(
            0x2000,
            0x9000,
            "rw-p",
            0,
            0,
            "[anon: glibc: pthread stack: 77]",
        ),
        line(0x9000, 0xa000, "---p", 0, 0, ""),
        line(
            0xa000,
            0xb000,
            "rw-p",
            0,
            0,
            "[anon: glibc: pthread user stack: 78]",
        ),
        line(0xb000, 0xc000, "rw-p", 0, 0, "[anon: glibc: unused stack]"),
        line(0xc000, 0xd000, "rw-p", 0, 0, "[anon:stack_and_tls:79]"),
        line(0xd000, 0xe000, "rw-p", 0, 0, "[stack:80]"),
    ];
    assert_eq!(
        kinds_of(&run(&maps, &HashMap::new(), &[])),
        [
            Kind::Guard,
            Kind::ThreadStack,
            Kind::Guard,
            Kind::ThreadStack,
            Kind::Anon,
            Kind::ThreadStack,
            Kind::ThreadStack,
        ]
    );
}

#[test]
fn bionic_guards_signal_stacks_and_tls() {
    // As in AOSP's libmeminfo testdata (an Android 10 process).
    let b = 0x7007_585e_6000u64;
    let maps = vec![
        line(
            b,
            b + 0x1000,
            "---p",
            0,
            0,
            "[anon:thread signal stack guard]",
        ),
        line(
            b + 0x1000,
            b + 0x9000,
            "rw-p",
            0,
            0,
            "[anon:thread signal stack]",
        ),
        line(
            b + 0x9000,
            b + 0xa000,
            "---p",
            0,
            0,
            "[anon:bionic TLS guard]",
        ),
        line(b + 0xa000, b + 0xd000, "rw-p", 0, 0, "[anon:bionic TLS]"),
        line(
            b + 0xd000,
            b + 0xe000,
            "---p",
            0,
            0,
            "[anon:bionic TLS guard]",
        ),
        // ART's stack: bionic's named guard, ART's own protected page, the stack.
        line(
            b + 0x10000,
            b + 0x11000,
            "---p",
            0,
            0,
            "[anon:thread stack guard]",
        ),
        line(b + 0x11000, b + 0x12000, "---p", 0, 0, ""),
        line(b + 0x12000, b + 0x20000, "rw-p", 0, 0, ""),
        // A guard's name on accessible memory is not a guard.
        line(
            b + 0x30000,
            b + 0x31000,
            "rw-p",
            0,
            0,
            "[anon:bionic TLS guard]",
        ),
    ];
    let f = HashMap::new();
    let without = kinds_of(&run(&maps, &f, &[]));
    assert_eq!(
        without,
        [
            Kind::Guard,
            Kind::SignalStack,
            Kind::Guard,
            Kind::Anon,
            Kind::Guard,
            Kind::Guard,
            Kind::Reserved,
            Kind::Anon,
            Kind::Anon,
        ]
    );
    // Live, the thread's stack pointer names the stack and its guard.
    let with = kinds_of(&run(&maps, &f, &[b + 0x1f000]));
    assert_eq!(with[5..8], [Kind::Guard, Kind::Guard, Kind::ThreadStack]);
}

/// R+X at 0, RW at 0x11000 with `filesz` bytes of data and bss up to 0x14000.
fn bionic_lib(filesz: u64) -> Arc<ElfInfo> {
    info(
        3,
        vec![
            load(0, 5, 0, 0, 0x1000, 0x1000),
            load(1, 6, 0x1000, 0x11000, filesz, 0x3000),
        ],
    )
}

const SO: &str = "/system/lib64/x.so";

#[test]
fn bionic_bss_where_the_program_headers_agree() {
    let b = 0x7f00_0000_0000u64;
    let maps = vec![
        line(b, b + 0x1000, "r-xp", 0, 9, SO),
        line(b + 0x1000, b + 0x11000, "---p", 0, 0, ""),
        line(b + 0x11000, b + 0x12000, "rw-p", 0x1000, 9, SO),
        line(b + 0x12000, b + 0x13000, "rw-p", 0, 0, "[anon:.bss]"),
        // bionic makes a page of libc's bss read-only (its globals): still bss, as
        // the protection of anonymous memory is not evidence. Longer than the
        // headers' bss: split where it ends, pageup(B + p_vaddr + p_memsz).
        line(b + 0x13000, b + 0x15000, "r--p", 0, 0, "[anon:.bss]"),
    ];
    let a = run(&maps, &facts(SO, 9, bionic_lib(0x100)), &[]);
    assert_eq!(
        kinds(&a),
        [
            (b, b + 0x1000, Kind::Text, Some(0)),
            (b + 0x1000, b + 0x11000, Kind::Gap, None),
            (b + 0x11000, b + 0x12000, Kind::Data, Some(1)),
            (b + 0x12000, b + 0x13000, Kind::Bss, Some(1)),
            (b + 0x13000, b + 0x14000, Kind::Bss, Some(1)),
            (b + 0x14000, b + 0x15000, Kind::Anon, None),
        ]
    );
    assert_eq!(a.regions[4].instance, Some(0));
    assert_eq!(a.regions[5].instance, None);
}

#[test]
fn anonymous_memory_never_takes_a_segments_file_pages() {
    let b = 0x7f00_0000_0000u64;
    // The sysroot's build has two pages of data where the mapped one had one: the
    // anonymous page over the second is not this object's data.
    let maps = vec![
        line(b, b + 0x1000, "r-xp", 0, 9, SO),
        line(b + 0x1000, b + 0x11000, "---p", 0, 0, "[anon:.bss]"),
        line(b + 0x11000, b + 0x12000, "rw-p", 0x1000, 9, SO),
        line(b + 0x12000, b + 0x14000, "rw-p", 0, 0, "[anon:.bss]"),
    ];
    let a = run(&maps, &facts(SO, 9, bionic_lib(0x1100)), &[]);
    assert_eq!(a.instances[0].problem, None);
    assert_eq!(
        kinds(&a),
        [
            (b, b + 0x1000, Kind::Text, Some(0)),
            // bionic names bss `.bss`, never a gap; inaccessible, it is reserved.
            (b + 0x1000, b + 0x11000, Kind::Reserved, None),
            (b + 0x11000, b + 0x12000, Kind::Data, Some(1)),
            (b + 0x12000, b + 0x13000, Kind::Anon, None),
            (b + 0x13000, b + 0x14000, Kind::Bss, Some(1)),
        ]
    );
}

#[test]
fn text_past_its_file_pages_is_anonymous_text() {
    let exe = info(
        3,
        vec![
            load(0, 5, 0, 0, 0x1000, 0x3000),
            load(1, 6, 0x1000, 0x3000, 0x100, 0x100),
        ],
    );
    let b = 0x5500_0000_0000u64;
    let maps = vec![
        line(b, b + 0x1000, "r-xp", 0, 9, SO),
        line(b + 0x1000, b + 0x3000, "r-xp", 0, 0, ""),
        line(b + 0x3000, b + 0x4000, "rw-p", 0x1000, 9, SO),
    ];
    let a = run(&maps, &facts(SO, 9, exe), &[]);
    assert_eq!(
        kinds(&a),
        [
            (b, b + 0x1000, Kind::Text, Some(0)),
            (b + 0x1000, b + 0x3000, Kind::Text, Some(0)),
            (b + 0x3000, b + 0x4000, Kind::Data, Some(1)),
        ]
    );
}

#[test]
fn qemu_maps_the_end_of_a_large_guest_page_anonymously() {
    // sparc64 under qemu-user: 8 KiB guest pages on 4 KiB host pages. The second
    // host page of the guest's last data page is anonymous, and still data.
    let p8 = PageSize::new(8192).unwrap();
    let exe = info(
        3,
        vec![
            load(0, 5, 0, 0, 0x2000, 0x2000),
            load(1, 6, 0x2000, 0x2000, 0x3d8, 0x8000),
        ],
    );
    let b = 0x40_0000_0000u64;
    let maps = vec![
        line(b, b + 0x2000, "r-xp", 0, 9, SO),
        line(b + 0x2000, b + 0x3000, "rw-p", 0x2000, 9, SO),
        line(b + 0x3000, b + 0x4000, "rw-p", 0, 0, ""),
        line(b + 0x4000, b + 0xa000, "rw-p", 0, 0, ""),
    ];
    let a = attribute(&maps, &facts(SO, 9, exe), p8, &Hints::default());
    assert_eq!(
        kinds(&a),
        [
            (b, b + 0x2000, Kind::Text, Some(0)),
            (b + 0x2000, b + 0x3000, Kind::Data, Some(1)),
            (b + 0x3000, b + 0x4000, Kind::Data, Some(1)),
            (b + 0x4000, b + 0xa000, Kind::Bss, Some(1)),
        ]
    );
}

#[test]
fn overlapping_images_give_anonymous_memory_one_label() {
    // A library placed in a hole of an executable the kernel mapped segment by
    // segment: the library's bss wins over the executable's gap.
    let exe = info(
        2,
        vec![
            load(0, 5, 0, 0x40_0000, 0x1000, 0x1000),
            load(1, 6, 0x1000, 0x80_1000, 0x100, 0x100),
        ],
    );
    let lib = bionic_lib(0x100);
    let b = 0x50_0000u64;
    let maps = vec![
        line(0x40_0000, 0x40_1000, "r-xp", 0, 5, "/bin/e"),
        line(b, b + 0x1000, "r-xp", 0, 9, SO),
        line(b + 0x11000, b + 0x12000, "rw-p", 0x1000, 9, SO),
        line(b + 0x12000, b + 0x14000, "rw-p", 0, 0, ""),
        line(b + 0x20000, b + 0x21000, "rw-p", 0, 0, ""),
        line(0x80_1000, 0x80_2000, "rw-p", 0x1000, 5, "/bin/e"),
    ];
    let mut f = facts("/bin/e", 5, exe);
    f.extend(facts(SO, 9, lib));
    let a = run(&maps, &f, &[]);
    assert!(a.instances.iter().all(|i| i.problem.is_none()));
    let k = kinds(&a);
    assert_eq!(k[3], (b + 0x12000, b + 0x14000, Kind::Bss, Some(1)));
    assert_eq!(a.regions[3].instance, Some(1));
    assert_eq!(k[4], (b + 0x20000, b + 0x21000, Kind::Gap, None));
    assert_eq!(a.regions[4].instance, Some(0));
}

//! Offline analysis of other architectures: `elfmaps map --maps FILE --sysroot DIR`
//! on fixtures captured from real processes under qemu-user (testdata/cross, see its
//! README.md), compared with what the loader reported in the same process
//! (dl_iterate_phdr) and the labelling rules (tests/common/checks.rs). Reads only the
//! committed fixtures: no compiler, no qemu.

mod common;

use std::path::{Path, PathBuf};

use common::checks::{Ctx, Failures, check_coverage, check_names, check_object};
use common::cli::{self, Warning};
use common::report::{Elfmaps, JObject, parse_elfmaps};
use common::truth::kernel::parse_maps;
use common::truth::loader::{Report, parse_report, span};

const CROSS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cross");

/// One captured process (testdata/cross/<name>).
struct Arch {
    name: &'static str,
    /// The `-L` prefix qemu ran it with: qemu opens a guest path P as PREFIX/P when
    /// that exists, and the maps show the host path.
    prefix: &'static str,
    machine: &'static str,
    class: u64,
    endian: &'static str,
    /// The executable is ET_EXEC (linked -no-pie).
    exe_is_exec: bool,
}

const AARCH64: Arch = Arch {
    name: "aarch64",
    prefix: "/usr/aarch64-linux-gnu",
    machine: "AARCH64",
    class: 64,
    endian: "little",
    exe_is_exec: false,
};
const S390X: Arch = Arch {
    name: "s390x",
    prefix: "/usr/s390x-linux-gnu",
    machine: "S390",
    class: 64,
    endian: "big",
    exe_is_exec: false,
};
const ARMHF: Arch = Arch {
    name: "armhf",
    prefix: "/usr/arm-linux-gnueabihf",
    machine: "ARM",
    class: 32,
    endian: "little",
    exe_is_exec: true,
};
const PPC: Arch = Arch {
    name: "ppc",
    prefix: "/usr/powerpc-linux-gnu",
    machine: "PPC",
    class: 32,
    endian: "big",
    exe_is_exec: false,
};
const RISCV64: Arch = Arch {
    name: "riscv64",
    prefix: "/usr/riscv64-linux-gnu",
    machine: "RISCV",
    class: 64,
    endian: "little",
    exe_is_exec: false,
};
const MIPS: Arch = Arch {
    name: "mips",
    prefix: "/usr/mips-linux-gnu",
    machine: "MIPS",
    class: 32,
    endian: "big",
    exe_is_exec: true,
};
/// 8 KiB pages.
const SPARC64: Arch = Arch {
    name: "sparc64",
    prefix: "/usr/sparc64-linux-gnu",
    machine: "SPARCV9",
    class: 64,
    endian: "big",
    exe_is_exec: false,
};

impl Arch {
    fn dir(&self) -> PathBuf {
        Path::new(CROSS).join(self.name)
    }
    fn root(&self) -> PathBuf {
        self.dir().join("root")
    }
    fn maps(&self) -> PathBuf {
        self.dir().join("maps")
    }
    /// The ELF type of the truth's object `i` (0 is the executable).
    fn e_type(&self, i: usize) -> &'static str {
        if i == 0 && self.exe_is_exec {
            "EXEC"
        } else {
            "DYN"
        }
    }

    /// The truth, with each object named by the host path qemu opened (as the maps do).
    fn truth(&self) -> Report {
        let text = std::fs::read_to_string(self.dir().join("truth")).unwrap();
        let lines: Vec<String> = text.lines().map(String::from).collect();
        let mut report = parse_report(&lines);
        assert_eq!(report.ptrbits, self.class, "{}: truth ptrbits", self.name);
        let root = self.root();
        for obj in &mut report.objs {
            let host = format!("{}{}", self.prefix, obj.name);
            if root.join(host.trim_start_matches('/')).exists() {
                obj.name = host;
            }
        }
        report
    }
}

/// Runs `elfmaps map --maps MAPS --sysroot ROOT --page-size P --json`.
fn map(maps: &Path, root: &Path, page: u64) -> (Elfmaps, Vec<Warning>) {
    let page_arg = page.to_string();
    let v = cli::json_ok([
        "map".as_ref(),
        "--json".as_ref(),
        "--page-size".as_ref(),
        page_arg.as_ref(),
        "--maps".as_ref(),
        maps.as_os_str(),
        "--sysroot".as_ref(),
        root.as_os_str(),
    ]);
    assert_eq!(v["schema_version"], 1);
    assert!(v["pid"].is_null(), "pid {}", v["pid"]);
    assert_eq!(v["page_size"], page);
    assert_eq!(v["source"], "maps");
    (parse_elfmaps(&v), cli::warnings(&v))
}

/// A saved maps file has no per-page residency: elfmaps says so once, for no object.
fn expected_warning(w: &Warning) -> bool {
    w.object.is_none() && w.code == "residency-unavailable"
}

/// What a wrong file in the sysroot is called: its program headers do not explain the
/// maps lines, or it is of another machine, class or byte order than the process.
const WRONG_FILE: &[&str] = &["layout-mismatch", "unexplained-file", "abi-mismatch"];

fn check_arch(arch: &Arch) {
    let report = arch.truth();
    let maps = parse_maps(&std::fs::read(arch.maps()).unwrap());
    let (em, warnings) = map(&arch.maps(), &arch.root(), report.page);
    let cx = Ctx {
        page: report.page,
        maps: &maps,
        em: &em,
    };
    let mut f = Failures::default();
    check_coverage(&cx, &mut f);
    let mut spans = Vec::new();
    for (i, obj) in report.objs.iter().enumerate() {
        spans.extend(check_object(
            &cx,
            obj,
            arch.e_type(i),
            report.ptrbits,
            &mut f,
        ));
    }
    // Every page inside an object's span belongs to a kind of that object: never unknown.
    for s in &spans {
        for r in em
            .regions
            .iter()
            .filter(|r| r.start < s.end && s.start < r.end)
        {
            f.check(r.kind != "unknown", || {
                format!("{}: region {r:?} is unknown", s.path)
            });
        }
    }
    check_names(&cx, &spans, report.vdso, &mut f);
    f.check(report.objs.len() == 5 && em.objects.len() == 5, || {
        format!(
            "expected 5 objects (cross, libc, ld.so, libbig, libgap): truth has {}, elfmaps {}",
            report.objs.len(),
            em.objects.len()
        )
    });
    for o in &em.objects {
        check_machine(arch, o, &mut f);
        f.check(o.problem.is_none(), || {
            format!("{}: problem {:?}", o.path, o.problem)
        });
    }
    for w in warnings.iter().filter(|w| !expected_warning(w)) {
        f.0.push(format!("unexpected warning {w:?}"));
    }
    if !f.0.is_empty() {
        panic!(
            "{}: {} failures:\n{}\n\nmaps:\n{}",
            arch.name,
            f.0.len(),
            f.0.join("\n"),
            maps.iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

fn check_machine(arch: &Arch, o: &JObject, f: &mut Failures) {
    f.check(
        o.machine.as_deref() == Some(arch.machine)
            && o.class == arch.class
            && o.endian.as_deref() == Some(arch.endian),
        || {
            format!(
                "{}: machine {:?} class {} endian {:?}; expected {} {} {}",
                o.path, o.machine, o.class, o.endian, arch.machine, arch.class, arch.endian
            )
        },
    );
}

#[test]
fn aarch64() {
    check_arch(&AARCH64);
}

#[test]
fn s390x() {
    check_arch(&S390X);
}

#[test]
fn armhf() {
    check_arch(&ARMHF);
}

#[test]
fn ppc() {
    check_arch(&PPC);
}

#[test]
fn riscv64() {
    check_arch(&RISCV64);
}

#[test]
fn mips() {
    check_arch(&MIPS);
}

#[test]
fn sparc64() {
    check_arch(&SPARC64);
}

// ---------------------------------------------------------------- wrong files

/// Copies the directory tree `src` to `dst`.
fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// A file of another fixture's root, by its maps path.
fn file_of(arch: &Arch, path: &str) -> PathBuf {
    arch.root().join(path.trim_start_matches('/'))
}

/// The executable or a library built by gen.sh, by maps path.
fn built(arch: &Arch, name: &str) -> String {
    format!("/tmp/elfmaps-cross/{}/{name}", arch.name)
}

fn libc(arch: &Arch) -> String {
    format!("{}/lib/libc.so.6", arch.prefix)
}

/// The maps of `arch` against a copy of its root where the file at maps path `victim`
/// is replaced by `replacement`. Returns the failures:
/// - every region of the replaced file (its maps lines, and anonymous memory labelled
///   with it) is `unknown` with no segment: never a label taken from the wrong file;
/// - nothing inside the true span of the victim is labelled with another object;
/// - an object of that path has a `problem`, and a warning names it;
/// - every other object is still labelled right.
fn replaced(arch: &Arch, victim: &str, replacement: &Path) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    copy_tree(&arch.root(), &root);
    std::fs::copy(replacement, root.join(victim.trim_start_matches('/'))).unwrap();
    let report = arch.truth();
    let (em, warnings) = map(&arch.maps(), &root, report.page);
    let victim_obj = report
        .objs
        .iter()
        .find(|o| o.name == victim)
        .unwrap_or_else(|| panic!("{victim} is not in the truth of {}", arch.name));
    let (lo, hi) = span(victim_obj, report.page);

    let mut f = Failures::default();
    for r in &em.regions {
        let ours = r.path.as_deref() == Some(victim) || r.object.as_deref() == Some(victim);
        if ours {
            f.check(r.kind == "unknown" && r.segment.is_none(), || {
                format!("region of the replaced file: {r:?}")
            });
        } else if r.start < hi && lo < r.end {
            f.check(r.object.is_none(), || {
                format!("region in the span of the replaced file: {r:?}")
            });
        }
    }
    f.check(
        em.objects
            .iter()
            .any(|o| o.path == victim && o.problem.is_some()),
        || format!("no object {victim} with a problem: {:?}", em.objects),
    );
    f.check(
        warnings
            .iter()
            .any(|w| w.object.as_deref() == Some(victim) && WRONG_FILE.contains(&w.code.as_str())),
        || format!("no warning of a wrong file names {victim}: {warnings:?}"),
    );
    let maps = parse_maps(&std::fs::read(arch.maps()).unwrap());
    let cx = Ctx {
        page: report.page,
        maps: &maps,
        em: &em,
    };
    check_coverage(&cx, &mut f);
    for (i, obj) in report.objs.iter().enumerate() {
        if obj.name != victim {
            check_object(&cx, obj, arch.e_type(i), report.ptrbits, &mut f);
        }
    }
    f.0.iter()
        .map(|m| {
            format!(
                "{} with {victim} replaced by {}: {m}",
                arch.name,
                replacement.display()
            )
        })
        .collect()
}

fn assert_none(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn replaced_library_is_unknown() {
    // Another arch's libc (big-endian s390x) in the aarch64 root.
    assert_none(replaced(
        &AARCH64,
        &libc(&AARCH64),
        &file_of(&S390X, &libc(&S390X)),
    ));
}

/// Wrong files that are harder to catch: another arch's library, another library of
/// the same arch, a bigger library under a smaller one's name. Each was once labelled
/// wrongly (docs/labelling.md §4 now checks every file-backed page, the machine, and
/// marks every copy of a bad file).
#[test]
fn replaced_library_is_unknown_hard_cases() {
    let mut f = Vec::new();
    // A bigger library (libc) under the name of libbig.so: caught, but its bogus span
    // takes libgap's anonymous bss from libgap.
    f.extend(replaced(
        &AARCH64,
        &built(&AARCH64, "libbig.so"),
        &file_of(&AARCH64, &libc(&AARCH64)),
    ));
    // Another arch's build of the same source: similar layout, wrong machine.
    f.extend(replaced(
        &AARCH64,
        &built(&AARCH64, "libbig.so"),
        &file_of(&S390X, &built(&S390X, "libbig.so")),
    ));
    f.extend(replaced(
        &S390X,
        &built(&S390X, "libbig.so"),
        &file_of(&AARCH64, &built(&AARCH64, "libbig.so")),
    ));
    // A 64-bit executable in place of a 32-bit one.
    f.extend(replaced(
        &PPC,
        &built(&PPC, "cross"),
        &file_of(&AARCH64, &built(&AARCH64, "cross")),
    ));
    // Another library of the same arch.
    f.extend(replaced(
        &ARMHF,
        &built(&ARMHF, "libbig.so"),
        &file_of(&ARMHF, &built(&ARMHF, "libgap.so")),
    ));
    f.extend(replaced(
        &AARCH64,
        &built(&AARCH64, "libgap.so"),
        &file_of(&AARCH64, &built(&AARCH64, "libbig.so")),
    ));
    f.extend(replaced(
        &PPC,
        &built(&PPC, "libbig.so"),
        &file_of(&PPC, &built(&PPC, "libgap.so")),
    ));
    f.extend(replaced(
        &AARCH64,
        &libc(&AARCH64),
        &file_of(&AARCH64, &built(&AARCH64, "libgap.so")),
    ));
    f.extend(replaced(&ARMHF, &libc(&ARMHF), &file_of(&PPC, &libc(&PPC))));
    assert_none(f);
}

//! Other projects' smaps and maps (testdata/peers, with their source and licence in its
//! README) give the figures those projects' own tests assert: AOSP's libmeminfo,
//! gometrics (a Firefox process), Chromium's os_metrics, PyPy's bench_mem and Vespa's
//! SystemPoller. Offline, with a sysroot that holds none of their files (an empty
//! directory: every object is `unknown` with a warning, figures are smaps') or, for
//! Vespa's, a PIE bash.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::cli::{codes_for, elfmaps, json_ok, stderr};

const K: u64 = 1024;

fn peer(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/peers")
        .join(name)
}

/// `map --json` of a saved input (`--smaps` or `--maps`) under `sysroot`.
fn map(flag: &str, input: &Path, sysroot: &Path) -> Value {
    json_ok([
        "map",
        "--json",
        flag,
        input.to_str().unwrap(),
        "--sysroot",
        sysroot.to_str().unwrap(),
    ])
}

fn regions(v: &Value) -> &Vec<Value> {
    v["regions"].as_array().expect("regions")
}

/// A figure of the totals in kB, `None` when unknown.
fn total_kb(v: &Value, figure: &str) -> Option<u64> {
    let f = &v["totals"][figure];
    assert!(f.is_null() || f.is_u64(), "{figure}: {f}");
    f.as_u64().map(|b| {
        assert_eq!(b % K, 0, "{figure}: {b} bytes");
        b / K
    })
}

/// libmeminfo's ProcMemInfo test of smaps_short: the sums and the first five names
/// and starts, in order.
#[test]
fn android_libmeminfo_smaps_short() {
    let empty = tempfile::tempdir().unwrap();
    let v = map(
        "--smaps",
        &peer("android-libmeminfo-smaps_short"),
        empty.path(),
    );
    // vss 67192 with [vsyscall] (libmeminfo skips it on x86_64: 67188).
    for (figure, kb) in [
        ("size", 67_192),
        ("rss", 32_900),
        ("pss", 19_119),
        ("private_clean", 260),
        ("private_dirty", 16_932),
        ("shared_clean", 4_212),
        ("shared_dirty", 11_496),
        ("swap", 0),
        ("swap_pss", 0),
    ] {
        assert_eq!(total_kb(&v, figure), Some(kb), "{figure}");
    }
    let uss = total_kb(&v, "private_clean").unwrap() + total_kb(&v, "private_dirty").unwrap();
    assert_eq!(uss, 17_192);
    let vsyscall: u64 = regions(&v)
        .iter()
        .filter(|r| r["kind"] == "vsyscall")
        .map(|r| r["size"].as_u64().unwrap() / K)
        .sum();
    assert_eq!(total_kb(&v, "size").unwrap() - vsyscall, 67_188);
    let first: Vec<(u64, &str)> = regions(&v)
        .iter()
        .take(5)
        .map(|r| (r["start"].as_u64().unwrap(), r["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        first,
        [
            (0x54c0_0000, "[anon:dalvik-zygote-jit-code-cache]"),
            (0x701e_a000, "/system/framework/x86_64/boot-framework.art"),
            (0x7007_4dd8_d000, "[anon:libc_malloc]"),
            (
                0x7007_55a2_d000,
                "/system/priv-app/SettingsProvider/oat/x86_64/SettingsProvider.odex"
            ),
            (0x7007_f85b_0000, "/system/lib64/libhwui.so"),
        ]
    );
    // None of the files is in the sysroot: unknown, each with its warning.
    for f in ["boot-framework.art", "SettingsProvider.odex", "libhwui.so"] {
        assert_eq!(codes_for(&v, f), ["file-unreadable"], "{f}");
    }
}

/// libmeminfo's test of maps_short: plain maps (no figures), the file offsets of the
/// odex and libhwui lines.
#[test]
fn android_libmeminfo_maps_short() {
    let empty = tempfile::tempdir().unwrap();
    let v = map(
        "--maps",
        &peer("android-libmeminfo-maps_short"),
        empty.path(),
    );
    assert_eq!(v["source"], "maps");
    let offset = |start: u64| {
        regions(&v)
            .iter()
            .find(|r| r["start"] == start)
            .unwrap_or_else(|| panic!("no region at 0x{start:x}"))["offset"]
            .as_u64()
    };
    assert_eq!(offset(0x7007_55a2_d000), Some(0x16000));
    assert_eq!(offset(0x7007_f85b_0000), Some(0x1ee000));
    assert_eq!(regions(&v).len(), 6);
    // Maps have no figures but sizes: rss and pss unknown, never 0.
    assert_eq!(total_kb(&v, "rss"), None);
    assert_eq!(total_kb(&v, "pss"), None);
}

/// gometrics' ParseSmaps test: a Firefox process's smaps sums to pss 545531 kB.
#[test]
fn firefox_gometrics_pss() {
    let empty = tempfile::tempdir().unwrap();
    let v = map("--smaps", &peer("firefox-gometrics-smaps"), empty.path());
    assert_eq!(total_kb(&v, "pss"), Some(545_531));
    // Every line is a region: gometrics sums every Pss line.
    let text = fs::read_to_string(peer("firefox-gometrics-smaps")).unwrap();
    let pss_lines: u64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("Pss:"))
        .map(|l| {
            l.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(pss_lines, 545_531);
}

/// The figures of one region in kB: rss, pss, shared clean and dirty, private clean
/// and dirty, swap.
fn figures_kb(r: &Value) -> [Option<u64>; 7] {
    [
        "rss",
        "pss",
        "shared_clean",
        "shared_dirty",
        "private_clean",
        "private_dirty",
        "swap",
    ]
    .map(|f| r[f].as_u64().map(|b| b / K))
}

/// Chromium's ParseProcSmaps test of kTestSmaps1: two mappings with their figures; the
/// second is a path with spaces on an inode-0 line at offset 0x1080 (no file can be
/// matched to inode 0: unknown, with a warning).
#[test]
fn chromium_os_metrics_smaps1() {
    let empty = tempfile::tempdir().unwrap();
    let v = map("--smaps", &peer("chromium-os_metrics-smaps1"), empty.path());
    let r = regions(&v);
    assert_eq!(r.len(), 2);
    assert_eq!(
        (
            r[0]["start"].as_u64(),
            r[0]["end"].as_u64(),
            r[0]["perms"].as_str()
        ),
        (Some(0x40_0000), Some(0x4b_e000), Some("r-xp"))
    );
    assert_eq!(r[0]["path"], "/file/1");
    assert_eq!(
        figures_kb(&r[0]),
        [
            Some(296),
            Some(162),
            Some(228),
            Some(0),
            Some(0),
            Some(68),
            Some(4)
        ]
    );
    // Chromium's size is end - start (its Size: line says 0 kB).
    assert_eq!(
        (
            r[1]["start"].as_u64(),
            r[1]["size"].as_u64(),
            r[1]["perms"].as_str()
        ),
        (Some(0xff00_0000), Some(0x80_0000), Some("-w-p"))
    );
    assert_eq!(r[1]["path"], "/file/name with space");
    assert_eq!(r[1]["offset"].as_u64(), Some(0x1080));
    assert_eq!(r[1]["inode"].as_u64(), Some(0));
    assert_eq!(
        figures_kb(&r[1]),
        [
            Some(192),
            Some(128),
            Some(120),
            Some(4),
            Some(60),
            Some(8),
            Some(0)
        ]
    );
    assert!(r.iter().all(|r| r["kind"] == "unknown"), "{r:?}");
    assert_eq!(codes_for(&v, "/file/name with space"), ["no-inode"]);
    assert_eq!(codes_for(&v, "/file/1"), ["file-unreadable"]);
}

/// Chromium's kTestSmaps2: a zero-length line and a backwards line before one good
/// mapping. Chromium skips the first two; elfmaps refuses a malformed maps line with
/// one line naming the file and the line (exit 2), each of the two in turn, and reads
/// the good mapping alone with Chromium's figures.
#[test]
fn chromium_os_metrics_smaps2() {
    let path = peer("chromium-os_metrics-smaps2");
    let text = fs::read_to_string(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    // The three entries, each a header line and its 15 field lines.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 48);
    let from = |entry: usize| {
        let p = dir.path().join(format!("from-{entry}"));
        fs::write(&p, lines[entry * 16..].join("\n") + "\n").unwrap();
        p
    };
    for (input, why) in [
        (path.clone(), "end address not above start address"),
        (from(1), "end address not above start address"),
    ] {
        let o = elfmaps([
            "map",
            "--smaps",
            input.to_str().unwrap(),
            "--sysroot",
            empty.path().to_str().unwrap(),
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(input.to_str().unwrap()) && err.contains("line 1:") && err.contains(why),
            "{err}"
        );
    }
    let v = map("--smaps", &from(2), empty.path());
    let r = regions(&v);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (
            r[0]["start"].as_u64(),
            r[0]["size"].as_u64(),
            r[0]["perms"].as_str()
        ),
        (Some(0x7fe7_ce79_c000), Some(0xc000), Some("---p"))
    );
    assert_eq!(
        figures_kb(&r[0]),
        [
            Some(40),
            Some(32),
            Some(16),
            Some(12),
            Some(8),
            Some(4),
            Some(0)
        ]
    );
}

/// PyPy's bench_mem test: an old kernel's smaps without `Pss:`. Private 796 + 120 +
/// 924 kB, shared 60 kB (per file as bench_mem's maps), and pss unknown, not 0.
#[test]
fn pypy_old_kernel_without_pss() {
    let empty = tempfile::tempdir().unwrap();
    let v = map("--smaps", &peer("pypy-old-kernel-smaps"), empty.path());
    let private = total_kb(&v, "private_clean").unwrap() + total_kb(&v, "private_dirty").unwrap();
    let shared = total_kb(&v, "shared_clean").unwrap() + total_kb(&v, "shared_dirty").unwrap();
    assert_eq!((private, shared), (796 + 120 + 924, 60));
    assert_eq!(private, 1840);
    assert_eq!(total_kb(&v, "pss"), None);
    assert!(regions(&v).iter().all(|r| r["pss"].is_null()));
    let by_path = |path: &str, figures: &[&str]| -> u64 {
        regions(&v)
            .iter()
            .filter(|r| r["path"] == path)
            .flat_map(|r| figures.iter().map(|f| r[*f].as_u64().unwrap() / K))
            .sum()
    };
    let private_of = |p: &str| by_path(p, &["private_clean", "private_dirty"]);
    let shared_of = |p: &str| by_path(p, &["shared_clean", "shared_dirty"]);
    assert_eq!(private_of("/usr/bin/python2.5"), 796 + 120);
    assert_eq!(private_of("[heap]"), 924);
    assert_eq!(shared_of("/lib/libncurses.so.5.6"), 60);
    assert_eq!(private_of("/lib/libncurses.so.5.6"), 0);
}

/// Whether a kind is one that these permissions contradict: text is executable;
/// rodata and relro are neither writable nor executable (relro after the loader's
/// mprotect); data and bss are writable.
fn contradicts(kind: &str, perms: &str) -> bool {
    let (w, x) = (perms.as_bytes()[1] == b'w', perms.as_bytes()[2] == b'x');
    match kind {
        "text" => !x,
        "rodata" | "relro" => w || x,
        "data" | "bss" => !w,
        _ => false,
    }
}

/// Vespa's SystemPoller input: bash built as ET_EXEC at 0x400000 with its text from
/// offset 0. Against a sysroot whose /usr/bin/bash is a PIE (this machine's bash), the
/// program headers do not explain the lines: no region gets an ELF kind its
/// permissions contradict, and the object's warning says the layout does not match.
#[test]
fn vespa_exec_bash_against_a_pie() {
    let host = ["/usr/bin/bash", "/bin/bash"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .expect("a bash on this machine");
    let bytes = fs::read(host).unwrap();
    // e_type (offset 16, little-endian on x86-64): ET_DYN with a PT_INTERP, a PIE.
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([bytes[16], bytes[17]]),
        3,
        "{host:?} is not a PIE"
    );
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("usr/bin")).unwrap();
    fs::write(root.path().join("usr/bin/bash"), &bytes).unwrap();
    let v = map("--smaps", &peer("vespa-bash-exec-smaps"), root.path());
    let bash: Vec<&Value> = regions(&v)
        .iter()
        .filter(|r| r["path"] == "/usr/bin/bash")
        .collect();
    assert_eq!(bash.len(), 2);
    for r in &bash {
        let (kind, perms) = (r["kind"].as_str().unwrap(), r["perms"].as_str().unwrap());
        assert!(!contradicts(kind, perms), "{kind} on {perms}: {r}");
    }
    assert_eq!(bash[0]["start"].as_u64(), Some(0x40_0000));
    assert_eq!(bash[0]["offset"].as_u64(), Some(0));
    let codes = codes_for(&v, "/usr/bin/bash");
    assert!(
        !codes.is_empty() && codes.iter().all(|c| c == "layout-mismatch"),
        "{codes:?}"
    );
}

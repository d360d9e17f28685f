//! Issue 24: `elfmaps symbols` against ground truth it did not produce.
//! testdata/symbols/libsymbols.c has functions of exact sizes in hot and cold text
//! sections, two read-only tables and a bss array; its program touches a known set and
//! drops the cold ones from its page tables last. Each symbol's range must be
//! `readelf -sW`'s value and size plus the loader's bias (`dl_iterate_phdr`), its
//! resident bytes and pages what this test reads from /proc/PID/pagemap over that
//! range, and the rows of each section (symbols and `[unnamed]`) must sum to what
//! `elfmaps sections` gives for it. Then the library is stripped and its symbols are
//! found in its debug file under a sysroot, by build ID and by `.gnu_debuglink`, live
//! and from a `snapshot --symbols`; and libc's come from Debian's libc6-dbg.

mod common;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::build;
use common::child::Running;
use common::cli::{elfmaps, json, stderr, stdout, warnings};
use common::skip;
use common::truth::kernel::present_pages;
use serde_json::Value;

const PAGE: u64 = 4096;

fn hex(t: &str) -> u64 {
    u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap()
}

/// The library and the program, built in `dir`; the library at `dir/lib/`.
fn build_pair(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let libdir = dir.join("lib");
    std::fs::create_dir_all(&libdir).unwrap();
    let lib = build::build(
        "cc",
        &["-O1", "-g", "-shared", "-fPIC", "-Wl,--build-id"],
        &libdir.join("libsymbols.so"),
        &[build::testdata("symbols/libsymbols.c")],
    )?;
    let rpath = format!("-Wl,-rpath,{}", libdir.display());
    let libflag = format!("-L{}", libdir.display());
    let exe = build::build_linked(
        "cc",
        &["-O1", &rpath, &libflag],
        &dir.join("symbols"),
        &[build::testdata("symbols/symbols.c")],
        &["-lsymbols"],
    )?;
    Some((exe, lib))
}

struct Started {
    child: Running,
    /// What the library printed: name -> (start, end).
    syms: HashMap<String, (u64, u64)>,
    /// The loader's bias per object path.
    bias: HashMap<String, u64>,
}

fn start(exe: &Path) -> Started {
    let mut child = Running::spawn(
        Command::new(exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let (mut syms, mut bias) = (HashMap::new(), HashMap::new());
    for line in child.lines_until("READY") {
        let f: Vec<&str> = line.split(' ').collect();
        match f[0] {
            "SYM" => {
                syms.insert(f[1].to_string(), (hex(f[2]), hex(f[3])));
            }
            "BIAS" => {
                bias.insert(f[1].to_string(), hex(f[2]));
            }
            _ => {}
        }
    }
    Started { child, syms, bias }
}

/// Resident bytes and pages of `[start, end)` by pagemap: each present page counts
/// the bytes of it inside the range.
fn truth(pagemap: &File, start: u64, end: u64) -> (u64, u64) {
    if start >= end {
        return (0, 0);
    }
    let (a, b) = (start / PAGE * PAGE, end.div_ceil(PAGE) * PAGE);
    let (mut bytes, mut pages) = (0, 0);
    for (i, p) in present_pages(pagemap, a, b, PAGE).iter().enumerate() {
        if *p {
            let pa = a + i as u64 * PAGE;
            bytes += end.min(pa + PAGE) - start.max(pa);
            pages += 1;
        }
    }
    (bytes, pages)
}

/// `readelf -sW FILE`'s sized FUNC and OBJECT symbols of `.symtab` (or of `.dynsym`
/// when `dynsym`): name -> (value, size).
fn readelf_symbols(file: &Path, dynsym: bool) -> Option<HashMap<String, (u64, u64)>> {
    if !skip::have_tool("readelf", &["--version"]) {
        return None;
    }
    let out = Command::new("readelf")
        .args(["-sW", if dynsym { "--dyn-syms" } else { "--syms" }])
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut table = None;
    let mut got = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Symbol table '") {
            table = rest.split('\'').next().map(str::to_string);
            continue;
        }
        let want = if dynsym { ".dynsym" } else { ".symtab" };
        if table.as_deref() != Some(want) {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || !f[0].ends_with(':') {
            continue;
        }
        let size: u64 = match f[2].strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).unwrap(),
            None => f[2].parse().unwrap_or(0),
        };
        if !matches!(f[3], "FUNC" | "OBJECT") || size == 0 || f[6] == "UND" || f[6] == "ABS" {
            continue;
        }
        let name = f[7].split('@').next().unwrap().to_string();
        got.insert(name, (hex(f[1]), size));
    }
    Some(got)
}

fn object<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"] == name)
        .unwrap_or_else(|| panic!("no object {name} in {v}"))
}

fn rows(o: &Value) -> &Vec<Value> {
    o["symbols"].as_array().unwrap()
}

fn row<'a>(o: &'a Value, name: &str) -> &'a Value {
    rows(o)
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no symbol {name} in {o}"))
}

/// Per section of `obj` in `sections --json`, the rows of `o` in it sum to its size
/// and resident bytes exactly.
fn rows_sum_to_sections(o: &Value, obj: &Value) -> usize {
    let mut checked = 0;
    for s in obj["sections"].as_array().unwrap() {
        if s["size"] == 0 || s["name"] == ".tbss" {
            continue;
        }
        let mine: Vec<&Value> = rows(o)
            .iter()
            .filter(|r| r["section"] == s["name"])
            .collect();
        let size: u64 = mine.iter().map(|r| r["size"].as_u64().unwrap()).sum();
        let res: u64 = mine.iter().map(|r| r["resident"].as_u64().unwrap()).sum();
        assert_eq!(size, s["size"].as_u64().unwrap(), "size of {s}");
        assert_eq!(res, s["resident"].as_u64().unwrap(), "resident of {s}");
        checked += 1;
    }
    checked
}

#[test]
fn resident_bytes_per_symbol_are_pagemaps() {
    let dir = tempfile::tempdir().unwrap();
    let Some((exe, lib)) = build_pair(dir.path()) else {
        return;
    };
    let Some(truth_syms) = readelf_symbols(&lib, false) else {
        return;
    };
    let s = start(&exe);
    let pid = s.child.pid_arg();
    let lib = std::fs::canonicalize(&lib).unwrap();
    let bias = s.bias[lib.to_str().unwrap()];
    let o = elfmaps(["symbols", "--json", "--object", "libsymbols.so", &pid]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["pid"].as_u64(), Some(u64::from(s.child.pid())));
    assert_eq!(
        v["objects"].as_array().unwrap().len(),
        1,
        "--object selects"
    );
    let me = object(&v, "libsymbols.so");
    assert_eq!(me["symbols_from"], "symtab");
    assert_eq!(me["path"], lib.to_str().unwrap());
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
    // Every sized function and object of readelf's .symtab is a row (or an alias of
    // one), at its value plus the loader's bias, with pagemap's residency.
    for (name, (value, size)) in &truth_syms {
        let r = rows(me)
            .iter()
            .find(|r| {
                r["name"] == name.as_str()
                    || r["aliases"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == name.as_str()))
            })
            .unwrap_or_else(|| panic!("{name} is not in {me}"));
        if r["name"] != name.as_str() {
            continue;
        }
        let (a, e) = (bias + value, bias + value + size);
        assert_eq!(
            (r["start"].as_u64(), r["end"].as_u64(), r["size"].as_u64()),
            (Some(a), Some(e), Some(*size)),
            "{r}"
        );
        let (bytes, pages) = truth(&pagemap, a, e);
        assert_eq!(
            (r["resident"].as_u64(), r["resident_pages"].as_u64()),
            (Some(bytes), Some(pages)),
            "{r}"
        );
    }
    // The program's own addresses agree.
    for (name, (a, e)) in &s.syms {
        let r = row(me, name);
        assert_eq!(
            (r["start"].as_u64(), r["end"].as_u64()),
            (Some(*a), Some(*e))
        );
    }
    // Hot is resident, cold is not (dropped last), bss as written.
    for hot in ["hot_one", "hot_two"] {
        let r = row(me, hot);
        assert_eq!(r["resident"], r["size"], "{r}");
        assert_eq!(r["section"], ".text");
        assert_eq!(r["kind"], "text");
    }
    for cold in ["cold_one", "cold_two", "cold_table"] {
        assert_eq!(row(me, cold)["resident"], 0, "{}", row(me, cold));
    }
    assert!(row(me, "hot_table")["resident"].as_u64().unwrap() >= 4 * PAGE);
    assert_eq!(row(me, "hot_table")["kind"], "rodata");
    let bss = row(me, "bss_buf");
    assert_eq!(
        (
            bss["resident"].as_u64(),
            bss["resident_pages"].as_u64(),
            &bss["kind"]
        ),
        (Some(2 * PAGE), Some(2), &Value::from("bss"))
    );
    // Sorted by resident bytes.
    let res: Vec<u64> = rows(me)
        .iter()
        .map(|r| r["resident"].as_u64().unwrap())
        .collect();
    assert!(res.windows(2).all(|w| w[0] >= w[1]), "{res:?}");
    // Rows sum to sections.
    let sec = json(&elfmaps([
        "sections",
        "--json",
        "--object",
        "libsymbols.so",
        &pid,
    ]));
    let n = rows_sum_to_sections(me, &sec["objects"][0]);
    assert!(n >= 10, "{n} sections checked");
    // --kind keeps the rows of sections of one kind.
    let t = json(&elfmaps([
        "symbols",
        "--json",
        "--kind",
        "text",
        "--object",
        "libsymbols.so",
        &pid,
    ]));
    let t = object(&t, "libsymbols.so");
    assert!(rows(t).iter().all(|r| r["kind"] == "text"), "{t}");
    assert!(rows(t).iter().any(|r| r["name"] == "cold_one"));
    // --by compile-unit and --by file (the object's own DWARF): the unit and the
    // file of libsymbols.c hold symbols_touch; a row made of one range has pagemap's
    // residency; rows still sum to sections.
    let (tv, ts) = truth_syms["symbols_touch"];
    for (by, from) in [("compile-unit", "dwarf"), ("file", "dwarf")] {
        let v = json(&elfmaps([
            "symbols",
            "--json",
            "--by",
            by,
            "--object",
            "libsymbols.so",
            &pid,
        ]));
        assert_eq!(v["by"], by);
        let o = object(&v, "libsymbols.so");
        assert_eq!(o["symbols_from"], from, "{o}");
        let unit = rows(o)
            .iter()
            .find(|r| {
                r["name"].as_str().unwrap().ends_with("libsymbols.c") && r["section"] == ".text"
            })
            .unwrap_or_else(|| panic!("no libsymbols.c row in {o}"));
        let (a, e) = (
            unit["start"].as_u64().unwrap(),
            unit["end"].as_u64().unwrap(),
        );
        assert!(a <= bias + tv && bias + tv + ts <= e, "{unit}");
        if unit["size"].as_u64() == Some(e - a) {
            let (bytes, pages) = truth(&pagemap, a, e);
            assert_eq!(
                (unit["resident"].as_u64(), unit["resident_pages"].as_u64()),
                (Some(bytes), Some(pages)),
                "{unit}"
            );
        }
        assert!(rows_sum_to_sections(o, &sec["objects"][0]) >= 10);
    }
    // The table: names and bars; names escaped.
    let table = stdout(&elfmaps([
        "symbols",
        "--color",
        "never",
        "--object",
        "libsymbols.so",
        "--top",
        "5",
        &pid,
    ]));
    assert!(table.contains("symbols from symtab"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("hot_one") && l.contains('█')),
        "{table}"
    );
    assert!(table.contains("5 of "), "{table}");
}

/// Strips `lib` to `out` with its debug file at `debug`, linked by `.gnu_debuglink`.
fn strip(lib: &Path, out: &Path, debug: &Path) -> bool {
    if !skip::have_tool("objcopy", &["--version"]) {
        return false;
    }
    let run = |args: &[&std::ffi::OsStr]| {
        let o = Command::new("objcopy").args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&[
        "--only-keep-debug".as_ref(),
        lib.as_os_str(),
        debug.as_os_str(),
    ]);
    let link = format!("--add-gnu-debuglink={}", debug.display());
    run(&[
        "--strip-all".as_ref(),
        link.as_ref(),
        lib.as_os_str(),
        out.as_os_str(),
    ]);
    true
}

fn build_id(file: &Path) -> String {
    let out = Command::new("readelf")
        .arg("-n")
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .unwrap_or_else(|| panic!("no build ID in {}", file.display()))
        .trim()
        .to_string()
}

/// Issue 24, Done when: a stripped library with its debug file under a sysroot's
/// /usr/lib/debug/.build-id, live and from a snapshot taken with `--symbols`; by
/// `.gnu_debuglink`; and without a debug file, its exported symbols and a warning.
#[test]
fn a_stripped_library_finds_its_debug_file_by_build_id_and_debuglink() {
    let dir = tempfile::tempdir().unwrap();
    let Some((exe, lib)) = build_pair(dir.path()) else {
        return;
    };
    let Some(truth_syms) = readelf_symbols(&lib, false) else {
        return;
    };
    let lib = std::fs::canonicalize(&lib).unwrap();
    let full = dir.path().join("libsymbols.full");
    std::fs::copy(&lib, &full).unwrap();
    let debug = dir.path().join("libsymbols.so.debug");
    if !strip(&full, &lib, &debug) {
        return;
    }
    assert!(readelf_symbols(&lib, false).unwrap().is_empty(), "stripped");
    let id = build_id(&lib);
    assert_eq!(id, build_id(&debug));
    // A sysroot with the stripped library at its path and the debug file by build ID.
    let root = dir.path().join("root");
    let rel = lib.strip_prefix("/").unwrap();
    let in_root = root.join(rel);
    std::fs::create_dir_all(in_root.parent().unwrap()).unwrap();
    std::fs::copy(&lib, &in_root).unwrap();
    let by_id = root.join(format!(
        "usr/lib/debug/.build-id/{}/{}.debug",
        &id[..2],
        &id[2..]
    ));
    std::fs::create_dir_all(by_id.parent().unwrap()).unwrap();
    std::fs::copy(&debug, &by_id).unwrap();

    let s = start(&exe);
    let pid = s.child.pid_arg();
    let bias = s.bias[lib.to_str().unwrap()];
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
    let root_s = root.to_str().unwrap();
    // Live, debug files under the sysroot.
    let o = elfmaps([
        "symbols",
        "--json",
        "--object",
        "libsymbols.so",
        "--sysroot",
        root_s,
        &pid,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let live = json(&o);
    let me = object(&live, "libsymbols.so");
    assert_eq!(me["symbols_from"], "debug-build-id", "{me}");
    assert_eq!(
        me["debug_file"],
        format!("/usr/lib/debug/.build-id/{}/{}.debug", &id[..2], &id[2..])
    );
    // The local symbols only the debug file has, at readelf's places, with pagemap's
    // residency.
    for name in ["cold_two", "cold_lead", "hot_one", "cold_one"] {
        let (value, size) = truth_syms[name];
        let r = row(me, name);
        let (a, e) = (bias + value, bias + value + size);
        assert_eq!((r["start"].as_u64(), r["end"].as_u64()), (Some(a), Some(e)));
        let (bytes, pages) = truth(&pagemap, a, e);
        assert_eq!(
            (r["resident"].as_u64(), r["resident_pages"].as_u64()),
            (Some(bytes), Some(pages)),
            "{r}"
        );
    }
    let sec = json(&elfmaps([
        "sections",
        "--json",
        "--object",
        "libsymbols.so",
        &pid,
    ]));
    assert!(rows_sum_to_sections(me, &sec["objects"][0]) >= 10);

    // --by compile-unit: the DWARF of the debug file.
    let v = json(&elfmaps([
        "symbols",
        "--json",
        "--by",
        "compile-unit",
        "--object",
        "libsymbols.so",
        "--sysroot",
        root_s,
        &pid,
    ]));
    let o = object(&v, "libsymbols.so");
    assert_eq!(o["symbols_from"], "debug-build-id", "{o}");
    assert!(
        rows(o)
            .iter()
            .any(|r| r["name"].as_str().unwrap().ends_with("libsymbols.c")),
        "{o}"
    );
    // From a snapshot taken with --symbols, offline: the same rows.
    let snap = dir.path().join("snap");
    let o = elfmaps(["snapshot", "--symbols", "-o", snap.to_str().unwrap(), &pid]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = elfmaps([
        "symbols",
        "--json",
        "--object",
        "libsymbols.so",
        "--snapshot",
        snap.to_str().unwrap(),
        "--sysroot",
        root_s,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let off = json(&o);
    assert_eq!(off["objects"], live["objects"]);
    assert!(
        !warnings(&off)
            .iter()
            .any(|w| w.code == "residency-unavailable"),
        "{off}"
    );

    // By .gnu_debuglink: the debug file in the library's .debug/ directory only.
    let root2 = dir.path().join("root2");
    let in_root2 = root2.join(rel);
    std::fs::create_dir_all(in_root2.parent().unwrap().join(".debug")).unwrap();
    std::fs::copy(&lib, &in_root2).unwrap();
    std::fs::copy(
        &debug,
        in_root2
            .parent()
            .unwrap()
            .join(".debug/libsymbols.so.debug"),
    )
    .unwrap();
    let v = json(&elfmaps([
        "symbols",
        "--json",
        "--object",
        "libsymbols.so",
        "--sysroot",
        root2.to_str().unwrap(),
        &pid,
    ]));
    let me2 = object(&v, "libsymbols.so");
    assert_eq!(me2["symbols_from"], "debug-link", "{me2}");
    assert_eq!(me2["symbols"], me["symbols"]);

    // A debug file of another build is not taken.
    let root3 = dir.path().join("root3");
    let other = root3.join(format!(
        "usr/lib/debug/.build-id/{}/{}.debug",
        &id[..2],
        &id[2..]
    ));
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::copy(&exe, &other).unwrap();
    // No debug file: the exported symbols, and a warning naming the package pattern.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for r in [&root3, &empty] {
        let v = json(&elfmaps([
            "symbols",
            "--json",
            "--object",
            "libsymbols.so",
            "--sysroot",
            r.to_str().unwrap(),
            &pid,
        ]));
        let me3 = object(&v, "libsymbols.so");
        assert_eq!(me3["symbols_from"], "dynsym", "{me3}");
        assert!(rows(me3).iter().any(|r| r["name"] == "hot_one"));
        assert!(!rows(me3).iter().any(|r| r["name"] == "cold_two"), "local");
        let w = warnings(&v);
        assert!(
            w.iter().any(|w| w.code == "symbols-unavailable"
                && w.object.as_deref() == lib.to_str()
                && w.message.contains("-dbgsym")),
            "{w:?}"
        );
        let sec = json(&elfmaps([
            "sections",
            "--json",
            "--object",
            "libsymbols.so",
            &pid,
        ]));
        assert!(rows_sum_to_sections(me3, &sec["objects"][0]) >= 10);
    }
}

/// Issue 24, Done when: libc with Debian's libc6-dbg (installed by .ci/run): its
/// symbols come from the debug file found by build ID, at the places readelf gives
/// them in that file.
#[test]
fn libc_symbols_come_from_libc6_dbg() {
    let dir = tempfile::tempdir().unwrap();
    let Some((exe, _)) = build_pair(dir.path()) else {
        return;
    };
    let s = start(&exe);
    let pid = s.child.pid_arg();
    let o = elfmaps(["symbols", "--json", "--object", "libc.so*", &pid]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let libc = &v["objects"][0];
    let id = libc["build_id"].as_str().unwrap();
    let debug = PathBuf::from(format!(
        "/usr/lib/debug/.build-id/{}/{}.debug",
        &id[..2],
        &id[2..]
    ));
    if !debug.exists() {
        skip::missing_tool("libc6-dbg", &format!("{} is missing", debug.display()));
        return;
    }
    assert_eq!(libc["symbols_from"], "debug-build-id", "{}", libc["path"]);
    assert_eq!(libc["debug_file"], debug.to_str().unwrap());
    let Some(truth_syms) = readelf_symbols(&debug, false) else {
        return;
    };
    // The loader's bias of libc.
    let bias = *s
        .bias
        .iter()
        .find(|(p, _)| p.rsplit('/').next() == libc["object"].as_str())
        .unwrap()
        .1;
    let mut checked = 0;
    for r in rows(libc) {
        let Some(name) = r["name"].as_str() else {
            continue;
        };
        let Some((value, size)) = truth_syms.get(name) else {
            continue;
        };
        if r["start"].as_u64() == Some(bias + value) {
            assert_eq!(r["end"].as_u64(), Some(bias + value + size), "{r}");
            checked += 1;
        }
    }
    assert!(
        checked > 1000,
        "only {checked} libc symbols placed as readelf says"
    );
    // --by compile-unit: libc's units from the debug file's DWARF.
    let v = json(&elfmaps([
        "symbols",
        "--json",
        "--by",
        "compile-unit",
        "--object",
        "libc.so*",
        &pid,
    ]));
    let units = &v["objects"][0];
    assert_eq!(units["symbols_from"], "debug-build-id");
    assert!(
        rows(units)
            .iter()
            .any(|r| r["name"].as_str().unwrap().ends_with("malloc.c")),
        "no malloc.c unit"
    );
    // A named function of libc's text (symbol versions are part of .symtab's names).
    let base = |x: &Value| x.as_str().map(|n| n.split('@').next().unwrap().to_string());
    let start_main = rows(libc).iter().find(|r| {
        base(&r["name"]).as_deref() == Some("__libc_start_main")
            || r["aliases"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| base(x).as_deref() == Some("__libc_start_main"))
            })
    });
    let start_main = start_main.expect("__libc_start_main is a row of libc");
    assert_eq!(start_main["kind"], "text");
    assert!(start_main["resident"].as_u64().unwrap() > 0, "{start_main}");
}

/// `symbols --union`: two processes of the test program; per symbol of the library,
/// the union is what pagemap says over both (pages matched by their place in the
/// file) and the sum the sum of each one's pagemap.
#[test]
fn union_over_processes_is_pagemaps_union_and_sum_is_the_sum() {
    let dir = tempfile::tempdir().unwrap();
    let Some((exe, lib)) = build_pair(dir.path()) else {
        return;
    };
    let lib = std::fs::canonicalize(&lib).unwrap();
    let (a, b) = (start(&exe), start(&exe));
    let pids = format!("{},{}", a.child.pid_arg(), b.child.pid_arg());
    let o = elfmaps([
        "symbols",
        "--union",
        "--json",
        "--object",
        "libsymbols.so",
        "--pid",
        &pids,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let u = json(&o);
    assert_eq!(u["kind"], "symbols-union");
    assert_eq!(u["processes"].as_array().unwrap().len(), 2, "{u}");
    let me = object(&u, "libsymbols.so");
    assert_eq!(me["pids"].as_array().unwrap().len(), 2);
    let per: Vec<(u64, File)> = [&a, &b]
        .iter()
        .map(|s| {
            (
                s.bias[lib.to_str().unwrap()],
                File::open(format!("/proc/{}/pagemap", s.child.pid())).unwrap(),
            )
        })
        .collect();
    let mut checked = 0;
    for r in rows(me) {
        if r["name"] == "[unnamed]" {
            continue;
        }
        let (off, size) = (r["offset"].as_u64().unwrap(), r["size"].as_u64().unwrap());
        let (mut sum, mut sum_pages) = (0, 0);
        let mut union: Vec<bool> = Vec::new();
        for (bias, pagemap) in &per {
            let (s0, e0) = (bias + off, bias + off + size);
            let (bytes, pages) = truth(pagemap, s0, e0);
            sum += bytes;
            sum_pages += pages;
            let present = present_pages(pagemap, s0 / PAGE * PAGE, e0.div_ceil(PAGE) * PAGE, PAGE);
            union.resize(present.len(), false);
            for (k, p) in present.iter().enumerate() {
                union[k] |= *p;
            }
        }
        let at = off % PAGE;
        let (mut bytes, mut pages) = (0, 0);
        for (k, _) in union.iter().enumerate().filter(|(_, p)| **p) {
            let k = k as u64;
            bytes += ((k + 1) * PAGE - at).min(at + size) - (k * PAGE).max(at);
            pages += 1;
        }
        assert_eq!(
            (
                r["resident_union"].as_u64(),
                r["resident_pages_union"].as_u64()
            ),
            (Some(bytes), Some(pages)),
            "union of {r}"
        );
        assert_eq!(
            (r["resident_sum"].as_u64(), r["resident_pages_sum"].as_u64()),
            (Some(sum), Some(sum_pages)),
            "sum of {r}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "{checked} symbols checked");
    // Both processes run hot_one: the union is one copy of it, the sum two.
    let hot = row(me, "hot_one");
    assert_eq!(hot["resident_union"].as_u64(), Some(3 * PAGE), "{hot}");
    assert_eq!(hot["resident_sum"].as_u64(), Some(6 * PAGE), "{hot}");
    let t = stdout(&elfmaps([
        "symbols",
        "--union",
        "--color",
        "never",
        "--object",
        "libsymbols.so",
        "--pid",
        &pids,
    ]));
    assert!(
        t.contains("in 2 processes") && t.contains("UNION") && t.contains("SUM"),
        "{t}"
    );
}

/// A library without section headers (stripped to its program headers): no sections
/// to place symbols in, so no rows, and warnings naming it; the run goes on.
#[test]
fn a_library_without_section_headers_has_no_rows_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let Some((exe, lib)) = build_pair(dir.path()) else {
        return;
    };
    let mut bytes = std::fs::read(&lib).unwrap();
    common::elf::strip_section_headers(&mut bytes);
    std::fs::write(&lib, &bytes).unwrap();
    let lib = std::fs::canonicalize(&lib).unwrap();
    let s = start(&exe);
    let o = elfmaps(["symbols", "--json", &s.child.pid_arg()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let me = object(&v, "libsymbols.so");
    assert!(rows(me).is_empty(), "{me}");
    assert_eq!(me["symbols_from"], "none");
    let w = warnings(&v);
    for code in ["sections-unreadable", "symbols-unavailable"] {
        assert!(
            w.iter()
                .any(|w| w.code == code && w.object.as_deref() == lib.to_str()),
            "{code}: {w:?}"
        );
    }
    // The other objects still have their rows.
    assert!(!rows(object(&v, "symbols")).is_empty());
}

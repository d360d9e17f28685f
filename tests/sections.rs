//! Issue 12 §1: `elfmaps sections` against the kernel's pagemap.
//! testdata/sections/sections.c has functions in named, page-aligned text sections,
//! large read-only tables (one in a section of its own, one in .rodata) and a large
//! .bss array, drops its pages of them and touches a known subset; every section's
//! `resident` bytes and pages must be what this test reads from
//! /proc/PID/pagemap for its range, the sections of a segment plus its
//! `unsectioned` bytes must sum to the segment's resident bytes, and those to
//! pagemap's count over the segment's regions in `map`.

mod common;

use std::fs::File;
use std::process::{Command, Stdio};

use common::build;
use common::child::Running;
use common::cli::{elfmaps, json, stderr, stdout, warnings};
use common::truth::kernel::present_pages;
use serde_json::Value;

const PAGE: u64 = 4096;

fn hex(t: &str) -> u64 {
    u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap()
}

struct Started {
    child: Running,
    sections: Vec<(String, u64, u64)>,
    touched: Vec<u64>,
}

fn start(exe: &std::path::Path) -> Started {
    start_with(exe, &[])
}

/// Starts the test program with `args` and reads what it prints until READY.
fn start_with(exe: &std::path::Path, args: &[&str]) -> Started {
    let mut child = Running::spawn(
        Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let (mut sections, mut touched) = (Vec::new(), Vec::new());
    for line in child.lines_until("READY") {
        let f: Vec<&str> = line.split(' ').collect();
        match f[0] {
            "SECTION" => sections.push((f[1].to_string(), hex(f[2]), hex(f[3]))),
            "TOUCHED" => touched.push(hex(f[1])),
            _ => {}
        }
    }
    Started {
        child,
        sections,
        touched,
    }
}

/// Resident bytes and pages of `[start, end)` by pagemap: each present page counts
/// the bytes of it inside the range.
fn truth(pagemap: &File, start: u64, end: u64) -> (u64, u64) {
    if start >= end {
        return (0, 0);
    }
    let (a, b) = (start / PAGE * PAGE, end.div_ceil(PAGE) * PAGE);
    let present = present_pages(pagemap, a, b, PAGE);
    let (mut bytes, mut pages) = (0, 0);
    for (i, p) in present.iter().enumerate() {
        if *p {
            let pa = a + i as u64 * PAGE;
            bytes += end.min(pa + PAGE) - start.max(pa);
            pages += 1;
        }
    }
    (bytes, pages)
}

fn object<'a>(v: &'a Value, path: &str) -> &'a Value {
    v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == path)
        .unwrap_or_else(|| panic!("no object {path} in {v}"))
}

#[test]
fn resident_bytes_per_section_are_pagemaps() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "sections/sections.c", &["-O1"]) else {
        return;
    };
    let s = start(&exe);
    let pid = s.child.pid_arg();
    let o = elfmaps(["sections", "--json", &pid]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
    let path = std::fs::canonicalize(&exe).unwrap();
    let path = path.to_str().unwrap();
    let me = object(&v, path);
    let list = me["sections"].as_array().unwrap();
    let named = |n: &str| {
        list.iter()
            .find(|x| x["name"] == n)
            .unwrap_or_else(|| panic!("no section {n}"))
    };
    // The named sections are where the program says they are.
    for (name, a, e) in &s.sections {
        let x = named(name);
        assert_eq!(
            (x["start"].as_u64(), x["end"].as_u64()),
            (Some(*a), Some(*e)),
            "{x}"
        );
    }
    assert_eq!(named("hot_text")["kind"], "text");
    assert_eq!(named("ro_tables")["kind"], "rodata");
    assert_eq!(named(".bss")["kind"], "bss");
    // Every touched page is resident, and counted in the section that holds it.
    for t in &s.touched {
        assert!(present_pages(&pagemap, *t, t + PAGE, PAGE)[0], "{t:x}");
        let x = list
            .iter()
            .find(|x| x["start"].as_u64().unwrap() < t + PAGE && *t < x["end"].as_u64().unwrap())
            .unwrap();
        assert!(x["resident_pages"].as_u64().unwrap() >= 1, "{x}");
    }
    // Every section of every object: pagemap's figures.
    let mut checked = 0;
    for obj in v["objects"].as_array().unwrap() {
        for x in obj["sections"].as_array().unwrap() {
            if x["name"] == ".tbss" || x["segment"].is_null() {
                continue;
            }
            let (a, e) = (x["start"].as_u64().unwrap(), x["end"].as_u64().unwrap());
            let (bytes, pages) = truth(&pagemap, a, e);
            assert_eq!(
                (x["resident"].as_u64(), x["resident_pages"].as_u64()),
                (Some(bytes), Some(pages)),
                "{}: {x}",
                obj["path"]
            );
            checked += 1;
        }
        // Sections plus what no section covers: the segment's resident bytes.
        for g in obj["segments"].as_array().unwrap() {
            let seg = &g["segment"];
            let sum: u64 = obj["sections"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["segment"] == *seg)
                .map(|x| x["resident"].as_u64().unwrap())
                .sum();
            assert_eq!(
                sum + g["unsectioned"].as_u64().unwrap(),
                g["resident"].as_u64().unwrap(),
                "{}: {g}",
                obj["path"]
            );
        }
    }
    assert!(checked > 20, "only {checked} sections checked");
    // A segment's resident bytes: pagemap over its regions in `map`.
    let m = json(&elfmaps(["map", "--json", &pid]));
    for g in me["segments"].as_array().unwrap() {
        let pages: u64 = m["regions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["object"] == path && r["segment"] == g["segment"])
            .map(|r| {
                let (a, e) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
                present_pages(&pagemap, a, e, PAGE)
                    .iter()
                    .filter(|p| **p)
                    .count() as u64
            })
            .sum();
        assert_eq!(g["resident"].as_u64(), Some(pages * PAGE), "{g}");
    }
    // Some pages of the dropped tables are not resident: the figures are not all or nothing.
    let ro = named("ro_tables");
    assert!(
        ro["resident"].as_u64().unwrap() < ro["size"].as_u64().unwrap(),
        "{ro}"
    );
    // --pages: one character per page, as pagemap says.
    let (a, e) = (ro["start"].as_u64().unwrap(), ro["end"].as_u64().unwrap());
    let want: String = present_pages(&pagemap, a, e, PAGE)
        .iter()
        .map(|p| if *p { '#' } else { '.' })
        .collect();
    let out = stdout(&elfmaps([
        "sections",
        "--object",
        "sections",
        "--pages",
        "ro_tables",
        &pid,
    ]));
    let got: String = out
        .lines()
        .skip(1)
        .filter_map(|l| Some(l.split_once('[')?.1.trim_end_matches(']').to_string()))
        .collect();
    assert_eq!(got, want, "{out}");
    // The table: one line per section, with a bar.
    let table = stdout(&elfmaps([
        "sections", "--color", "never", "--object", "sections", &pid,
    ]));
    assert!(
        table
            .lines()
            .any(|l| l.contains(" hot_text ") && l.contains('█')),
        "{table}"
    );
    assert!(!table.contains("libc"), "--object selects:\n{table}");
}

#[test]
fn an_object_without_section_headers_has_its_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "sections/sections.c", &["-O1"]) else {
        return;
    };
    let mut bytes = std::fs::read(&exe).unwrap();
    common::elf::strip_section_headers(&mut bytes);
    let stripped = dir.path().join("stripped");
    std::fs::write(&stripped, &bytes).unwrap();
    std::fs::set_permissions(
        &stripped,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let s = start(&stripped);
    let v = json(&elfmaps([
        "sections",
        "--json",
        "--object",
        "stripped",
        &s.child.pid_arg(),
    ]));
    let path = std::fs::canonicalize(&stripped).unwrap();
    let me = object(&v, path.to_str().unwrap());
    assert!(me["sections"].as_array().unwrap().is_empty(), "{me}");
    assert!(me["segments"].as_array().unwrap().len() >= 4, "{me}");
    let w = warnings(&v);
    assert!(
        w.iter()
            .any(|w| w.code == "sections-unreadable" && w.object.as_deref() == path.to_str()),
        "{w:?}"
    );
    assert_eq!(
        v["objects"].as_array().unwrap().len(),
        1,
        "--object selects"
    );
}

/// Issue 12 §1, offline: `snapshot --sections` records the residency of every line of
/// every object, and `sections --snapshot FILE --sysroot DIR` makes the live report.
#[test]
fn a_sections_snapshot_gives_the_live_report() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "sections/sections.c", &["-O1"]) else {
        return;
    };
    let s = start(&exe);
    let pid = s.child.pid_arg();
    let snap = dir.path().join("snap");
    let o = elfmaps(["snapshot", "--sections", "-o", snap.to_str().unwrap(), &pid]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let live = json(&elfmaps(["sections", "--json", &pid]));
    let off = json(&elfmaps([
        "sections",
        "--json",
        "--snapshot",
        snap.to_str().unwrap(),
        "--sysroot",
        "/",
    ]));
    assert_eq!(off["pid"], live["pid"]);
    assert_eq!(off["objects"], live["objects"]);
    assert!(
        !warnings(&off)
            .iter()
            .any(|w| w.code == "residency-unavailable"),
        "{off}"
    );
    // A snapshot without --sections: residency unknown, and said.
    let plain = dir.path().join("plain");
    let o = elfmaps(["snapshot", "-o", plain.to_str().unwrap(), &pid]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&elfmaps([
        "sections",
        "--json",
        "--snapshot",
        plain.to_str().unwrap(),
        "--sysroot",
        "/",
    ]));
    assert!(
        warnings(&v)
            .iter()
            .any(|w| w.code == "residency-unavailable"),
        "{v}"
    );
    let path = std::fs::canonicalize(&exe).unwrap();
    let me = object(&v, path.to_str().unwrap());
    let text = me["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == ".text")
        .unwrap();
    assert!(text["resident"].is_null(), "{text}");
}

/// `sections --union`: two processes of the test program that touch different pages;
/// per section of the program, the union is what pagemap says over both (pages matched
/// by their place in the section), and the sum is the sum of each one's pagemap.
#[test]
fn union_over_processes_is_pagemaps_union_and_sum_is_the_sum() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "sections/sections.c", &["-O1"]) else {
        return;
    };
    let a = start(&exe);
    let b = start_with(&exe, &["other"]);
    let path = std::fs::canonicalize(&exe).unwrap();
    let path = path.to_str().unwrap();
    let name = path.rsplit('/').next().unwrap();
    let pids = format!("{},{}", a.child.pid_arg(), b.child.pid_arg());
    let o = elfmaps([
        "sections", "--union", "--json", "--object", name, "--pid", &pids,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let u = json(&o);
    assert_eq!(u["kind"], "sections-union");
    assert_eq!(u["processes"].as_array().unwrap().len(), 2, "{u}");
    let me = object(&u, path);
    assert_eq!(me["pids"].as_array().unwrap().len(), 2);
    // Each process's own sections (their addresses), and its pagemap.
    let per: Vec<(Value, File)> = [&a, &b]
        .iter()
        .map(|s| {
            let pid = s.child.pid_arg();
            let o = elfmaps(["sections", "--json", "--object", name, &pid]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            let v = json(&o);
            (
                object(&v, path).clone(),
                File::open(format!("/proc/{pid}/pagemap")).unwrap(),
            )
        })
        .collect();
    let mut checked = 0;
    let mut shared_less = false;
    for x in me["sections"].as_array().unwrap() {
        if x["name"] == ".tbss" || x["segment"].is_null() {
            continue;
        }
        let (mut sum, mut sum_pages) = (0, 0);
        let mut union: Vec<bool> = Vec::new();
        let mut at = 0;
        for (obj, pagemap) in &per {
            let own = obj["sections"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["index"] == x["index"])
                .unwrap();
            let (s0, e0) = (own["start"].as_u64().unwrap(), own["end"].as_u64().unwrap());
            let (bytes, pages) = truth(pagemap, s0, e0);
            sum += bytes;
            sum_pages += pages;
            let first = s0 / PAGE * PAGE;
            let present = present_pages(pagemap, first, e0.div_ceil(PAGE) * PAGE, PAGE);
            if union.len() < present.len() {
                union.resize(present.len(), false);
            }
            for (k, p) in present.iter().enumerate() {
                union[k] |= *p;
            }
            at = s0 % PAGE;
        }
        let size = x["size"].as_u64().unwrap();
        let (mut bytes, mut pages) = (0, 0);
        for (k, _) in union.iter().enumerate().filter(|(_, p)| **p) {
            let k = k as u64;
            bytes += ((k + 1) * PAGE - at).min(size) - (k * PAGE).saturating_sub(at);
            pages += 1;
        }
        assert_eq!(
            (
                x["resident_union"].as_u64(),
                x["resident_pages_union"].as_u64()
            ),
            (Some(bytes), Some(pages)),
            "union of {x}"
        );
        assert_eq!(
            (x["resident_sum"].as_u64(), x["resident_pages_sum"].as_u64()),
            (Some(sum), Some(sum_pages)),
            "sum of {x}"
        );
        shared_less |= x["name"] == "ro_tables" && pages < sum_pages;
        checked += 1;
    }
    assert!(checked >= 5, "{checked} sections checked");
    // Page 0 of ro_table is touched by both: the union is less than the sum.
    assert!(shared_less, "{me}");
    // The table says the same, with both columns (the sum is the RSS column).
    let o = elfmaps(["sections", "--union", "--object", name, "--pid", &pids]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(
        t.contains("in 2 processes") && t.contains("UNION") && t.contains(" RSS "),
        "{t}"
    );
    assert!(t.contains("ro_tables"), "{t}");
}

/// Issue 19 §10: `sections --union` looked for each section among those met, so it
/// was quadratic in sections (100k sections: 16.8 s, where `sections PID` took 0.1 s).
/// The test program with 100k more sections (copies of its text's header, 16 bytes
/// each), two processes of it: the union takes about 1 s of CPU in a debug build, and
/// must finish within 20 s of CPU and hold every section (the search among the
/// sections met took 46 s of CPU here, and is killed by the limit).
#[test]
fn a_hundred_thousand_sections_in_a_union() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "sections/sections.c", &["-O1"]) else {
        return;
    };
    let many = dir.path().join("many");
    let bytes = common::elf::with_many_sections(&std::fs::read(&exe).unwrap(), 100_000);
    std::fs::write(&many, bytes).unwrap();
    std::fs::set_permissions(&many, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (a, b) = (start(&many), start_with(&many, &["other"]));
    let pids = format!("{},{}", a.child.pid_arg(), b.child.pid_arg());
    let run = common::cli::bounded(
        [
            "sections", "--union", "--json", "--object", "many", "--pid", &pids,
        ],
        Stdio::null(),
        4 << 30,
        20,
    );
    eprintln!(
        "sections --union, 2 processes of 100k sections: {:?} CPU",
        run.cpu
    );
    assert_eq!(run.output.status.code(), Some(0), "{}", stderr(&run.output));
    let u = json(&run.output);
    let path = std::fs::canonicalize(&many).unwrap();
    let me = object(&u, path.to_str().unwrap());
    let sections = me["sections"].as_array().unwrap();
    assert!(sections.len() > 100_000, "{}", sections.len());
    assert_eq!(me["pids"].as_array().unwrap().len(), 2, "{me}");
}

/// A section's page map (for `--union`) covered all it claimed, up to 2^24 pages: a
/// file of 2,000 sections claiming 1 TiB each asked for 32 GB. Now it ends with the
/// segment's regions, and the union runs within 1 GiB of address space.
#[test]
fn sections_claiming_a_terabyte_cost_their_segment() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "sections/sections.c", &["-O1"]) else {
        return;
    };
    let huge = dir.path().join("huge");
    let bytes = common::elf::with_many_sections_of(&std::fs::read(&exe).unwrap(), 2000, 1 << 40);
    std::fs::write(&huge, bytes).unwrap();
    std::fs::set_permissions(&huge, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let s = start(&huge);
    let run = common::cli::bounded(
        [
            "sections",
            "--union",
            "--json",
            "--object",
            "huge",
            "--pid",
            &s.child.pid_arg(),
        ],
        Stdio::null(),
        1 << 30,
        20,
    );
    assert_eq!(run.output.status.code(), Some(0), "{}", stderr(&run.output));
    let u = json(&run.output);
    let path = std::fs::canonicalize(&huge).unwrap();
    let me = object(&u, path.to_str().unwrap());
    let claims = me["sections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["size"] == 1u64 << 40)
        .count();
    assert_eq!(claims, 2000);
}

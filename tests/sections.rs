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
    let mut child = Running::spawn(
        Command::new(exe)
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

//! Compares `elfmaps map --json` with ground truth from the shapes program
//! (testdata/shapes), built in several variants: what the loader (dl_iterate_phdr),
//! the kernel (/proc/PID/maps, /proc/PID/pagemap) and the labelling rules say about
//! the same process (tests/common/truth, tests/common/checks.rs). Then the same
//! process saved and analysed offline, and its summary.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use common::build::Variant;
use common::checks::{
    Ctx, Failures, check_coverage, check_merge, check_names, check_object, check_rss,
};
use common::child::Running;
use common::cli;
use common::report::{map_live, map_live_rss_only, map_offline, parse_elfmaps};
use common::skip::{self, note};
use common::truth::kernel::{present_pages, read_maps, zero_pfn};
use common::truth::loader::{Obj, Report, expected_pages, first_load, pagedown, parse_report};

/// Builds, runs and checks one variant; skips (with a note) when its toolchain is
/// missing, except under CI (see tests/common/skip.rs).
fn run_variant(v: &Variant) {
    if !v.usable() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (exe, libdir) = v.build(tmp.path());
    let mut shapes = Running::start(
        Command::new(&exe)
            .arg(&libdir)
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let lines = shapes.lines_until("READY");
    let pid = shapes.pid();
    let report = parse_report(&lines);
    let em = map_live(pid, report.page);
    let maps = read_maps(pid);
    let cx = Ctx {
        page: report.page,
        maps: &maps,
        em: &em,
    };

    let mut f = Failures::default();
    check_coverage(&cx, &mut f);
    let mut spans = Vec::new();
    let unreadable: Vec<&str> = report
        .objs
        .iter()
        .filter(|obj| !skip::root() && needs_map_files(&cx, obj))
        .map(|obj| obj.name.as_str())
        .collect();
    if !unreadable.is_empty() {
        note(&format!(
            "skipped the checks of {unreadable:?}: a deleted file or a memfd is read through /proc/PID/map_files, which needs root"
        ));
    }
    for (i, obj) in report.objs.iter().enumerate() {
        if unreadable.contains(&obj.name.as_str()) {
            continue;
        }
        let want_type = if i == 0 && v.exe_is_exec {
            "EXEC"
        } else {
            "DYN"
        };
        spans.extend(check_object(&cx, obj, want_type, report.ptrbits, &mut f));
    }
    check_names(&cx, &spans, report.vdso, &mut f);
    match &report.merge {
        Some(m) => check_merge(&cx, m, &spans, &mut f),
        // A static executable's bss end can touch a randomised brk start (rarely).
        None if v.static_exe && report.notes.iter().any(|n| n.contains("File exists")) => {
            note(&format!(
                "variant {}: skipped the merge check: {:?}",
                v.name, report.notes
            ))
        }
        None => {
            f.0.push(format!("shapes reported no MERGE: {:?}", report.notes))
        }
    }
    check_rss(&cx, pid, &report.touches, &mut f);
    check_rss_only(&cx, pid, &report.touches, &mut f);
    check_offline(&cx, pid, tmp.path(), &mut f);
    check_summary(&cx, pid, &report, &unreadable, &mut f);
    let want_objs = if v.static_exe { 1 } else { 8 };
    f.check(report.objs.len() >= want_objs, || {
        format!("only {} objects reported", report.objs.len())
    });
    shapes.finish();

    if !f.0.is_empty() {
        panic!(
            "variant {}: {} failures:\n{}\n\nshapes report:\n{}\n\nmaps:\n{}",
            v.name,
            f.0.len(),
            f.0.join("\n"),
            lines
                .iter()
                .filter(|l| !l.starts_with("PH "))
                .cloned()
                .collect::<Vec<_>>()
                .join("\n"),
            maps.iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// `map --rss-only` (maps + pagemap, no smaps) on the same process: the regions and
/// labels of `map`, and rss per region equal to the present pages pagemap shows
/// (the checks of `map`'s rss, run on its report).
fn check_rss_only(cx: &Ctx, pid: u32, touches: &[common::truth::loader::Touch], f: &mut Failures) {
    let em = map_live_rss_only(pid, cx.page);
    let key = |r: &common::report::JRegion| {
        (
            r.start,
            r.end,
            r.perms.clone(),
            r.path.clone(),
            r.object.clone(),
            r.instance,
            r.kind.clone(),
            r.segment,
            r.split,
        )
    };
    let want: Vec<_> = cx.em.regions.iter().map(key).collect();
    let got: Vec<_> = em.regions.iter().map(key).collect();
    f.check(want == got, || {
        format!(
            "--rss-only: regions and labels differ from map's:
map: {want:?}
--rss-only: {got:?}"
        )
    });
    let rss_cx = Ctx {
        page: cx.page,
        maps: cx.maps,
        em: &em,
    };
    check_rss(&rss_cx, pid, touches, f);
}

/// Offline analysis of the same process (issue: offline analysis for boards) gives the
/// labels of the live run, which the checks above tied to ground truth:
/// - its smaps saved and analysed against a sysroot copy of its files: same labels,
///   smaps' figures for whole lines, rss null for the parts of split lines;
/// - a snapshot (smaps, residency, build IDs) against the same sysroot: same labels and
///   the same rss everywhere.
///
/// The sysroot is built from /proc/PID/map_files, so it holds exactly the mapped
/// files, the deleted library included. A memfd has no path in a sysroot: its lines
/// must come out as shared memory of no object, and its anonymous bss as anon.
fn check_offline(cx: &Ctx, pid: u32, tmp: &Path, f: &mut Failures) {
    let root = tmp.join("sysroot");
    for m in cx.maps.iter().filter(|m| m.inode != 0) {
        let Some(path) = m
            .path
            .as_deref()
            .filter(|p| p.starts_with('/') && !p.starts_with("/memfd:"))
        else {
            continue;
        };
        let dest = root.join(
            path.strip_suffix(" (deleted)")
                .unwrap_or(path)
                .trim_start_matches('/'),
        );
        if dest.exists() {
            continue;
        }
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let src = format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end);
        if let Err(e) = std::fs::copy(&src, &dest) {
            note(&format!(
                "skipped the offline check: reading {src} needs root: {e}"
            ));
            return;
        }
    }
    let smaps = tmp.join("saved.smaps");
    std::fs::write(&smaps, std::fs::read(format!("/proc/{pid}/smaps")).unwrap()).unwrap();
    let snap = tmp.join("saved.snap");
    let out = cli::elfmaps(["snapshot", &pid.to_string(), "-o", snap.to_str().unwrap()]);
    assert!(out.status.success(), "snapshot: {}", cli::stderr(&out));
    let sysroot = root.to_str().unwrap();
    let saved = map_offline(&["--smaps", smaps.to_str().unwrap(), "--sysroot", sysroot]);
    let snapped = map_offline(&["--snapshot", snap.to_str().unwrap(), "--sysroot", sysroot]);
    // The library's facade reads the same snapshot (`Saved::snapshot`), as a library
    // user on a workstation would: the same checks against the loader and pagemap.
    let bytes = std::fs::read(&snap).unwrap();
    let lib = elfmaps::label_saved(elfmaps::Saved::snapshot(&bytes, "saved.snap", &root))
        .expect("the library reads the snapshot");
    let lib = parse_elfmaps(&serde_json::to_value(&lib).unwrap());
    for (what, off) in [
        ("saved smaps", &saved),
        ("snapshot", &snapped),
        ("library snapshot", &lib),
    ] {
        f.check(off.regions.len() >= cx.em.regions.len() - 8, || {
            format!(
                "{what}: {} regions, live {}",
                off.regions.len(),
                cx.em.regions.len()
            )
        });
        for live in &cx.em.regions {
            let Some(r) = off.regions.iter().find(|r| r.start == live.start) else {
                // A memfd object's bss merges back into its anonymous neighbour.
                if !live
                    .object
                    .as_deref()
                    .is_some_and(|o| o.starts_with("/memfd:"))
                {
                    f.0.push(format!(
                        "{what}: no region at 0x{:x} ({})",
                        live.start, live.kind
                    ));
                }
                continue;
            };
            if live
                .object
                .as_deref()
                .is_some_and(|o| o.starts_with("/memfd:"))
            {
                // Its lines are shared memory by name (shm); its bss is plain anon.
                f.check(
                    matches!(r.kind.as_str(), "shm" | "anon") && r.object.is_none(),
                    || {
                        format!(
                            "{what}: memfd region 0x{:x} is {} {:?} (want shm or anon, no object)",
                            r.start, r.kind, r.object
                        )
                    },
                );
                continue;
            }
            let same = (r.end, &r.kind, r.segment, &r.object)
                == (live.end, &live.kind, live.segment, &live.object);
            f.check(same, || {
                format!("{what}: region 0x{:x}: {r:?}\n  live: {live:?}", r.start)
            });
            // A split line's parts have no rss without pagemap, unless the line
            // has none at all.
            let line_rss_is_zero = || {
                let l = cx.line(r.start).unwrap();
                cx.em
                    .regions
                    .iter()
                    .filter(|x| x.start >= l.start && x.end <= l.end)
                    .all(|x| x.rss == Some(0))
            };
            let want_rss = if what == "saved smaps" && r.split && !line_rss_is_zero() {
                None
            } else {
                live.rss
            };
            f.check(r.rss == want_rss, || {
                format!(
                    "{what}: region 0x{:x} {}: rss {:?}, want {want_rss:?}",
                    r.start, r.kind, r.rss
                )
            });
        }
    }
}

/// `elfmaps summary --json` (issue: summaries): for every object the loader reports,
/// the size of each kind is its mapped pages of that kind per the program headers,
/// and the rss is the resident ones among them per pagemap (zero page excluded).
fn check_summary(cx: &Ctx, pid: u32, report: &Report, unreadable: &[&str], f: &mut Failures) {
    let v = cli::json_ok(["summary", "--json", &pid.to_string()]);
    assert_eq!(v["schema_version"], 1);
    let rows = v["rows"].as_array().unwrap();
    let p = cx.page;
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
    for obj in report
        .objs
        .iter()
        .filter(|o| !unreadable.contains(&o.name.as_str()))
    {
        let pages = expected_pages(obj, p);
        let Some(first) = pages.keys().next() else {
            continue;
        };
        // The object's name in elfmaps' output (its maps path).
        let Some(name) = cx.region(*first).and_then(|r| r.object.clone()) else {
            f.0.push(format!("summary: no object at 0x{first:x} ({})", obj.name));
            continue;
        };
        let mut want: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for (&a, label) in &pages {
            if cx.line(a).is_none() {
                continue; // a hole the kernel left unmapped
            }
            let e = want.entry(label.kind).or_default();
            e.0 += p;
            if present_pages(&pagemap, a, a + p, p)[0] {
                e.1 += p;
            }
        }
        for (kind, (size, rss)) in want {
            let row = rows
                .iter()
                .find(|r| r["object"] == name.as_str() && r["kind"] == kind);
            let got = row.map(|r| (r["size"].as_u64(), r["rss"].as_u64()));
            // Without visible PFNs the zero page counts as present here but not in smaps.
            let ok = match got {
                Some((Some(s), Some(r))) if zero_pfn().is_none() => s == size && r <= rss,
                _ => got == Some((Some(size), Some(rss))),
            };
            f.check(ok, || {
                format!("summary: {name} {kind}: got {got:?}, want size {size} rss {rss}")
            });
        }
    }
    // The process total is the sum of the rows.
    let sum: u64 = rows.iter().map(|r| r["size"].as_u64().unwrap()).sum();
    f.check(Some(sum) == v["totals"]["size"].as_u64(), || {
        format!("summary: rows add up to {sum}, totals {}", v["totals"])
    });
}

/// Whether elfmaps can open `obj` only through /proc/PID/map_files (a deleted file
/// or a memfd), which needs CAP_SYS_ADMIN.
fn needs_map_files(cx: &Ctx, obj: &Obj) -> bool {
    let first = pagedown(obj.bias.wrapping_add(first_load(obj).vaddr), cx.page);
    cx.line(first)
        .and_then(|l| l.path.as_deref())
        .is_some_and(|p| p.ends_with(" (deleted)") || p.starts_with("/memfd:"))
}

#[test]
fn glibc_pie() {
    run_variant(&Variant {
        name: "glibc-pie",
        cc: "cc",
        flags: &[],
        exe_flags: &["-fPIE", "-pie"],
        static_exe: false,
        exe_is_exec: false,
    });
}

#[test]
fn glibc_no_pie() {
    run_variant(&Variant {
        name: "glibc-no-pie",
        cc: "cc",
        flags: &[],
        exe_flags: &["-fno-pie", "-no-pie"],
        static_exe: false,
        exe_is_exec: true,
    });
}

#[test]
fn glibc_static() {
    run_variant(&Variant {
        name: "glibc-static",
        cc: "cc",
        flags: &[],
        exe_flags: &["-fno-pie", "-no-pie", "-static"],
        static_exe: true,
        exe_is_exec: true,
    });
}

#[test]
fn glibc_static_pie() {
    run_variant(&Variant {
        name: "glibc-static-pie",
        cc: "cc",
        flags: &[],
        exe_flags: &["-fPIE", "-static-pie"],
        static_exe: true,
        exe_is_exec: false,
    });
}

#[test]
fn musl_pie() {
    run_variant(&Variant {
        name: "musl-pie",
        cc: "musl-gcc",
        flags: &[],
        exe_flags: &["-fPIE", "-pie"],
        static_exe: false,
        exe_is_exec: false,
    });
}

#[test]
fn glibc_m32_pie() {
    run_variant(&Variant {
        name: "glibc-m32-pie",
        cc: "cc",
        flags: &["-m32"],
        exe_flags: &["-fPIE", "-pie"],
        static_exe: false,
        exe_is_exec: false,
    });
}

//! ELF files mapped as data next to loaded ones (issue 18 §1): real programs, built
//! here, checked page by page against what the loader reports (dl_iterate_phdr) and
//! what the kernel says (maps, pagemap).
//!
//! - testdata/mapped/mapped.c loads a library with dlopen and dlmopen, maps it once
//!   more whole and a few pages of it, a few pages of libc's text above libc's bss,
//!   a page of its own text elsewhere with PROT_EXEC (as node does), and a few pages
//!   of a library it never loads, followed by a 1 MiB buffer, a guard and a thread's
//!   stack, all in the span an object guessed from those pages would have.
//! - testdata/mapped/backtrace.rs, built with rustc, formats a backtrace: the
//!   standard library maps the executable whole, read-only (and libc's `.debug`
//!   file where one is installed).
//!
//! Every loaded object keeps the labels its program headers give it, every data
//! mapping is `mapped_file` naming its file (no instance, no segment), and the memory
//! after a data mapping keeps its own kind: live (files proven to be the mapped ones)
//! and offline, from the saved smaps and a sysroot of copies (files found by path).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::build::{build, build_linked, testdata};
use common::checks::{Ctx, Failures, check_loaded, check_no_mismatch};
use common::child::Running;
use common::cli;
use common::report::{Elfmaps, parse_elfmaps};
use common::skip;
use common::sysroot;
use common::truth::kernel::{MapLine, read_maps};
use common::truth::loader::{expected_pages, parse_report, span};

/// Flags of every C build.
const COMMON: &[&str] = &["-O0", "-g0", "-Wall", "-Wextra"];

/// Builds the library (`libmapped.so`; `libunloaded.so` with a 16 MiB bss) and the
/// program in `dir`.
fn build_all(dir: &Path) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let lib_flags = [
        "-fPIC",
        "-shared",
        "-Wl,-z,relro,-z,now",
        "-Wl,-z,separate-code",
    ];
    let src = testdata("mapped/libmapped.c");
    let mut flags = COMMON.to_vec();
    flags.extend_from_slice(&lib_flags);
    let lib = build(
        "cc",
        &flags,
        &dir.join("libmapped.so"),
        std::slice::from_ref(&src),
    )?;
    flags.push("-DMAPPED_BIG_BSS");
    let unloaded = build("cc", &flags, &dir.join("libunloaded.so"), &[src])?;
    let mut flags = COMMON.to_vec();
    flags.extend_from_slice(&["-fPIE", "-pie", "-pthread"]);
    let exe = build_linked(
        "cc",
        &flags,
        &dir.join("mapped"),
        &[testdata("mapped/mapped.c")],
        &["-ldl"],
    )?;
    Some((exe, lib, unloaded))
}

/// One analysis of the process: its name, the report and its warnings.
type Analysis = (&'static str, Elfmaps, Vec<cli::Warning>);

/// `elfmaps map --json PID` (live: the files are proven to be the mapped ones), and
/// `elfmaps map --json --smaps SAVED --sysroot DIR` of its saved smaps with a copy of
/// its files (offline: found by path, not proven), when the files can be copied.
fn analyses(pid: u32, maps: &[MapLine], tmp: &Path) -> Vec<Analysis> {
    let v = cli::json_ok(["map", "--json", &pid.to_string()]);
    let mut out = vec![("live", parse_elfmaps(&v), cli::warnings(&v))];
    let smaps = tmp.join("smaps");
    std::fs::write(&smaps, std::fs::read(format!("/proc/{pid}/smaps")).unwrap()).unwrap();
    let root = tmp.join("root");
    if sysroot::mirror(&root, pid, maps, &[]) {
        let v = cli::json_ok([
            "map".as_ref(),
            "--json".as_ref(),
            "--smaps".as_ref(),
            smaps.as_os_str(),
            "--sysroot".as_ref(),
            root.as_os_str(),
        ]);
        out.push(("offline", parse_elfmaps(&v), cli::warnings(&v)));
    }
    out
}

/// `KIND START END ...` lines of the program's output, as (word after the
/// addresses, start, end).
fn ranges(lines: &[String], kind: &str) -> Vec<(String, u64, u64)> {
    let num = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    lines
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0] == kind).then(|| {
                let what = f.get(3).map_or(String::new(), |s| s.to_string());
                (what, num(f[1]), num(f[2]))
            })
        })
        .collect()
}

/// Every page of `[start, end)` is in regions of `kind` with this object, no
/// instance and no segment.
fn check_kind(
    cx: &Ctx,
    start: u64,
    end: u64,
    kind: &str,
    object: Option<&str>,
    what: &str,
    f: &mut Failures,
) {
    for a in (start..end).step_by(cx.page as usize) {
        let r = cx.region(a);
        f.check(
            r.is_some_and(|r| {
                r.kind == kind
                    && r.object.as_deref() == object
                    && r.instance.is_none()
                    && r.segment.is_none()
            }),
            || format!("{what}: page 0x{a:x}: expected {kind} of {object:?}, got {r:?}"),
        );
    }
}

/// The path of the maps line holding `addr`.
fn path_at(maps: &[MapLine], addr: u64) -> Option<String> {
    maps.iter()
        .find(|l| l.start <= addr && addr < l.end)
        .and_then(|l| l.path.clone())
}

#[test]
fn data_mappings_of_loaded_and_unloaded_libraries() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((exe, lib, unloaded)) = build_all(tmp.path()) else {
        return;
    };
    let (child, lines) = Running::ready_lines(Command::new(&exe).arg(&lib).arg(&unloaded));
    let report = parse_report(&lines);
    let pid = child.pid();
    let maps = read_maps(pid);
    let mut f = Failures::default();
    for n in &report.notes {
        f.0.push(format!("the program could not do everything: {n}"));
    }
    let lib_path = std::fs::canonicalize(&lib).unwrap();
    let copies = report
        .objs
        .iter()
        .filter(|o| Path::new(&o.name) == lib_path)
        .count();
    f.check(copies == 2, || {
        format!(
            "{copies} copies of {} loaded, not 2 (dlopen and dlmopen)",
            lib.display()
        )
    });
    // The premises: the memory after the few pages of the unloaded library lies in
    // the span an object guessed from those pages would have, and so does libc's bss
    // for the pages of libc.
    let phantoms = ranges(&lines, "PHANTOM");
    let span = |what: &str| {
        phantoms
            .iter()
            .find(|p| p.0 == what)
            .map(|p| (p.1, p.2))
            .unwrap_or_else(|| panic!("no PHANTOM {what}"))
    };
    let after = [
        ("ANON", "anon", "the 1 MiB buffer"),
        ("GUARD", "guard", "the thread's guard"),
        ("STACK", "thread_stack", "the thread's stack"),
    ];
    for (key, _, what) in after {
        for (_, start, end) in ranges(&lines, key) {
            let (lo, hi) = span("unloaded");
            f.check(lo <= start && end <= hi, || {
                format!("{what} 0x{start:x}-0x{end:x} is not in the span 0x{lo:x}-0x{hi:x} (the test proves nothing)")
            });
        }
    }
    let libc = report
        .objs
        .iter()
        .find(|o| o.name.contains("/libc.so"))
        .expect("libc");
    let bss: Vec<u64> = expected_pages(libc, report.page)
        .into_iter()
        .filter(|(_, l)| l.kind == "bss")
        .map(|(a, _)| a)
        .collect();
    let (lo, hi) = span("libc");
    f.check(
        !bss.is_empty() && bss.iter().all(|&a| lo <= a && a < hi),
        || {
            format!(
                "libc's bss {bss:x?} is not in the span 0x{lo:x}-0x{hi:x} (the test proves nothing)"
            )
        },
    );
    let data = ranges(&lines, "DATA");
    f.check(data.len() == 5, || format!("data mappings: {data:?}"));

    for (name, em, warnings) in analyses(pid, &maps, tmp.path()) {
        let cx = Ctx {
            page: report.page,
            maps: &maps,
            em: &em,
        };
        let mut g = Failures::default();
        check_loaded(
            &cx,
            &report,
            (name == "live").then_some(pid),
            &|_| "DYN",
            &mut g,
        );
        check_no_mismatch(&warnings, &mut g);
        // Every data mapping is the file mapped as data, named.
        for (what, start, end) in &data {
            let path = path_at(&maps, *start);
            check_kind(
                &cx,
                *start,
                *end,
                "mapped_file",
                path.as_deref(),
                what,
                &mut g,
            );
        }
        // The memory after the pages of the unloaded library keeps its kinds (a
        // saved smaps does not say where threads' stack pointers are: `anon` there,
        // and the guard below the stack `reserved`).
        for (key, kind, what) in after {
            // Offline, an inaccessible guard cannot be told from reserved address
            // space (issue 20).
            let kind = match (name, kind) {
                ("live", k) => k,
                (_, "guard") => "reserved",
                _ => "anon",
            };
            for (_, start, end) in ranges(&lines, key) {
                check_kind(&cx, start, end, kind, None, what, &mut g);
            }
        }
        // One object per loaded copy: the data mappings make none.
        g.check(em.objects.len() == report.objs.len(), || {
            format!(
                "{} objects, the loader reports {}: {:?}",
                em.objects.len(),
                report.objs.len(),
                em.objects
            )
        });
        f.0.extend(g.0.into_iter().map(|m| format!("{name}: {m}")));
    }
    assert!(
        f.0.is_empty(),
        "{} failures:\n{}",
        f.0.len(),
        f.0.join("\n")
    );
    child.finish();
}

#[test]
fn a_rust_backtrace_maps_the_executable_whole() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if !skip::have_tool(&rustc, &["--version"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("backtrace");
    let out = Command::new(&rustc)
        .args(["--edition", "2024", "-g", "-o"])
        .arg(&exe)
        .arg(testdata("mapped/backtrace.rs"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rustc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (child, lines) = Running::ready_lines(&mut Command::new(&exe));
    let report = parse_report(&lines);
    let pid = child.pid();
    let maps = read_maps(pid);
    let page = report.page;
    let mut f = Failures::default();
    // The premise: the executable is mapped once more, read-only, whole, at offset 0.
    let exe_path = std::fs::canonicalize(&exe).unwrap();
    let size = std::fs::metadata(&exe).unwrap().len();
    let whole: Vec<&MapLine> = maps
        .iter()
        .filter(|l| {
            l.path.as_deref() == exe_path.to_str()
                && l.offset == 0
                && l.perms == "r--p"
                && l.end - l.start == size.div_ceil(page) * page
        })
        .collect();
    f.check(whole.len() == 1, || {
        format!("no whole read-only mapping of the executable: {whole:?}")
    });
    for (name, em, warnings) in analyses(pid, &maps, tmp.path()) {
        let cx = Ctx {
            page,
            maps: &maps,
            em: &em,
        };
        let mut g = Failures::default();
        check_loaded(
            &cx,
            &report,
            (name == "live").then_some(pid),
            &|_| "DYN",
            &mut g,
        );
        check_no_mismatch(&warnings, &mut g);
        // The whole mapping, and every other line of a file outside the loaded
        // objects (libc's .debug file), is mapped_file.
        for l in maps.iter().filter(|l| l.inode != 0) {
            let loaded = report.objs.iter().any(|o| {
                let (lo, hi) = span(o, page);
                lo <= l.start && l.end <= hi
            });
            if !loaded {
                check_kind(
                    &cx,
                    l.start,
                    l.end,
                    "mapped_file",
                    l.path.as_deref(),
                    &l.text,
                    &mut g,
                );
            }
        }
        f.0.extend(g.0.into_iter().map(|m| format!("{name}: {m}")));
    }
    assert!(
        f.0.is_empty(),
        "{} failures:\n{}",
        f.0.len(),
        f.0.join("\n")
    );
    child.finish();
}

//! Issue 22: CI gates that real pipelines can write. Each rule form of `check` against
//! ground truth read by this test itself (the target's smaps and pagemap), on a
//! program of testdata/gate with a known, stable memory: the whole process, a kind of
//! memory of no object (the heap), a glob of objects, growth against a saved
//! baseline; each limit one page under the truth (exceeded by exactly one page) and
//! one page over it (passed with a margin of one page). Then several processes of one
//! name (each, summed, and `--system --name`), `--elf` globs, the outputs (Markdown,
//! GitHub annotations, JSON with every result), checks that are not complete (a rule
//! that matches nothing, an empty or unreadable input, a limit that cannot be
//! measured) failing `--strict` in every format, and `diff --threshold`.

mod common;

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::build::{build, build_linked, testdata};
use common::child::Running;
use common::cli::{elfmaps, json, stderr, stdout};
use common::truth::kernel::present_pages;
use serde_json::Value;

/// The gate program and its two libraries, built in `dir`, the program named
/// `gate-PID-TAG`: unique to this test process and to the test (`TAG`), so that
/// `check NAME` finds only the test's own processes (the tests run in parallel).
fn programs_named(dir: &Path, tag: &str) -> Option<PathBuf> {
    for lib in ["libgatea", "libgateb"] {
        build(
            "cc",
            &["-O0", "-g0", "-fPIC", "-shared"],
            &dir.join(format!("{lib}.so")),
            &[testdata(&format!("gate/{lib}.c"))],
        )?;
    }
    let libdir = format!("-L{}", dir.display());
    let rpath = format!("-Wl,-rpath,{}", dir.display());
    build_linked(
        "cc",
        &["-O0", "-g0"],
        &dir.join(format!("gate-{}-{tag}", std::process::id() % 100_000)),
        &[testdata("gate/gate.c")],
        &[&libdir, "-lgatea", "-lgateb", &rpath],
    )
}

/// The gate program, for tests that do not look it up by name.
fn programs(dir: &Path) -> Option<PathBuf> {
    programs_named(dir, "x")
}

fn start(exe: &Path, heap: u64) -> Running {
    Running::ready(Command::new(exe).arg(heap.to_string()))
}

/// One line of smaps, as this test reads it.
#[derive(Debug)]
struct Line {
    start: u64,
    end: u64,
    perms: String,
    path: String,
    rss: u64,
}

/// The target's smaps, read and parsed here (not by elfmaps), and its page size.
fn smaps(pid: u32) -> (Vec<Line>, u64) {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut lines: Vec<Line> = Vec::new();
    let mut page = 0;
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let first = f.next().unwrap_or("");
        if let Some((s, e)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (u64::from_str_radix(s, 16), u64::from_str_radix(e, 16))
        {
            let perms = f.next().unwrap().to_string();
            let path = f.nth(3).unwrap_or("").to_string();
            lines.push(Line {
                start,
                end,
                perms,
                path,
                rss: 0,
            });
        } else if first == "Rss:" {
            lines.last_mut().unwrap().rss = f.next().unwrap().parse::<u64>().unwrap() * 1024;
        } else if first == "KernelPageSize:" {
            page = f.next().unwrap().parse::<u64>().unwrap() * 1024;
        }
    }
    (lines, page)
}

/// Ground truth of the gate program: its total rss (smaps), its heap's rss (pagemap,
/// checked against smaps), and per library the size and rss (pagemap) of its text.
#[derive(Debug, Clone, Copy)]
struct Truth {
    page: u64,
    total_rss: u64,
    heap_rss: u64,
    /// (size, rss) of the text of libgatea.so and libgateb.so.
    text: [(u64, u64); 2],
}

fn truth(pid: u32) -> Truth {
    let (lines, page) = smaps(pid);
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
    let resident = |l: &Line| {
        present_pages(&pagemap, l.start, l.end, page)
            .iter()
            .filter(|&&p| p)
            .count() as u64
            * page
    };
    let heap: Vec<&Line> = lines.iter().filter(|l| l.path == "[heap]").collect();
    assert!(!heap.is_empty(), "no [heap] in {lines:?}");
    let heap_rss: u64 = heap.iter().map(|l| resident(l)).sum();
    let smaps_heap: u64 = heap.iter().map(|l| l.rss).sum();
    assert_eq!(
        heap_rss, smaps_heap,
        "pagemap and smaps disagree on the heap"
    );
    let text = ["libgatea.so", "libgateb.so"].map(|lib| {
        let x: Vec<&Line> = lines
            .iter()
            .filter(|l| l.perms.contains('x') && l.path.ends_with(&format!("/{lib}")))
            .collect();
        assert_eq!(x.len(), 1, "{lib}: {x:?}");
        (x[0].end - x[0].start, resident(x[0]))
    });
    Truth {
        page,
        total_rss: lines.iter().map(|l| l.rss).sum(),
        heap_rss,
        text,
    }
}

fn check(dir: &Path, budget: &str, args: &[&str]) -> Output {
    let b = dir.join("budget.toml");
    fs::write(&b, budget).unwrap();
    let mut all = vec!["check", "--budget", b.to_str().unwrap()];
    all.extend_from_slice(args);
    elfmaps(&all)
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// The results of `check --json` for a rule line, as (object file name, measure,
/// actual, margin, status).
/// A violation: (object file name, kind, measure, actual, over).
type Over<'a> = (Option<&'a str>, Option<&'a str>, &'a str, u64, u64);

fn results(v: &Value, line: u64) -> Vec<(String, String, u64, i64, String)> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule_line"] == line)
        .map(|r| {
            (
                r["object"]
                    .as_str()
                    .map_or("-", |o| o.rsplit('/').next().unwrap())
                    .to_string(),
                r["measure"].as_str().unwrap().to_string(),
                r["actual"].as_u64().unwrap(),
                r["margin"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The rules of every absolute form, each limit `delta` bytes from the truth.
fn budget(t: &Truth, delta: i64) -> String {
    let at = |n: u64| n as i64 + delta;
    let big = t.text[1];
    format!(
        "# the whole process\n[[budget]]\nmax_rss = {}\n\n\
         # all heap memory\n[[budget]]\nkind = \"heap\"\nmax_rss = {}\n\n\
         # each object the glob matches\n[[budget]]\nobject = \"libgate*.so\"\nkind = \"text\"\nmax_size = {}\nmax_rss = {}\n",
        at(t.total_rss),
        at(t.heap_rss),
        at(big.0),
        at(big.1.max(t.text[0].1)),
    )
}

#[test]
fn each_rule_form_against_smaps_and_pagemap() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = programs(dir.path()) else {
        return;
    };
    let app = start(&exe, 1 << 20);
    let pid = app.pid_arg();
    let t = truth(app.pid());
    let page = t.page as i64;
    assert!(t.heap_rss >= 1 << 20, "{t:?}");
    assert!(t.text[1].0 > t.text[0].0, "{t:?}");

    // One page under the truth: every form is exceeded by exactly one page.
    let o = check(dir.path(), &budget(&t, -page), &["--json", &pid]);
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["schema_version"], 3);
    assert_eq!(v["counts"]["exceeded"], 3, "{v}");
    let over: Vec<Over> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["object"].as_str().map(|o| o.rsplit('/').next().unwrap()),
                x["kind"].as_str(),
                x["measure"].as_str().unwrap(),
                x["actual"].as_u64().unwrap(),
                x["over"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut want = vec![
        (None, None, "rss", t.total_rss, t.page),
        (None, Some("heap"), "rss", t.heap_rss, t.page),
        (
            Some("libgateb.so"),
            Some("text"),
            "size",
            t.text[1].0,
            t.page,
        ),
    ];
    // The rss limit of the glob is one page under the larger of the two texts' rss.
    let (a, b) = (t.text[0].1, t.text[1].1);
    for (name, rss) in [("libgatea.so", a), ("libgateb.so", b)] {
        if rss == a.max(b) {
            want.push((Some(name), Some("text"), "rss", rss, t.page));
        }
    }
    want.sort();
    let mut got = over.clone();
    got.sort();
    assert_eq!(got, want, "{t:?}");

    // One page over the truth: every form passes with a margin of one page, and
    // the JSON has every passing rule with its value.
    let o = check(dir.path(), &budget(&t, page), &["--json", &pid]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["counts"]["checked"], 3);
    assert!(v["violations"].as_array().unwrap().is_empty());
    let pass = |s: &str| s.to_string();
    assert_eq!(
        results(&v, 2),
        [("-".into(), "rss".into(), t.total_rss, page, pass("pass"))]
    );
    assert_eq!(
        results(&v, 7),
        [("-".into(), "rss".into(), t.heap_rss, page, pass("pass"))]
    );
    let glob = results(&v, 12);
    assert_eq!(glob.len(), 4, "{glob:?}");
    for (i, lib) in ["libgatea.so", "libgateb.so"].iter().enumerate() {
        let size = glob.iter().find(|r| r.0 == *lib && r.1 == "size").unwrap();
        assert_eq!(size.2, t.text[i].0);
        assert_eq!(size.3, t.text[1].0 as i64 + page - t.text[i].0 as i64);
        let rss = glob.iter().find(|r| r.0 == *lib && r.1 == "rss").unwrap();
        assert_eq!(rss.2, t.text[i].1);
    }

    // The same check as text, GitHub annotations and Markdown.
    let o = check(dir.path(), &budget(&t, -page), &[&pid]);
    let out = stdout(&o);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("(whole target) rss: ")
            && first.contains(&format!("by {} B (", t.page))
            && first.ends_with("budget.toml:2]"),
        "{out}"
    );
    assert_eq!(
        out.lines().last(),
        Some("3 budgets checked, 3 exceeded"),
        "{out}"
    );
    let o = check(
        dir.path(),
        &budget(&t, -page),
        &["--format", "github", &pid],
    );
    let out = stdout(&o);
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(errors.len(), want.len(), "{out}");
    assert!(
        errors[0].contains("line=2,") && errors[0].contains(&format!("by {} B (", t.page)),
        "{out}"
    );
    let o = check(
        dir.path(),
        &budget(&t, -page),
        &["--format", "markdown", &pid],
    );
    assert_eq!(code(&o), Some(1));
    let md = stdout(&o);
    assert_markdown_table(&md, 2 + 4);
    assert!(
        md.contains(&format!("**over by 4.0K ({} B)**", t.page)) || t.page != 4096,
        "{md}"
    );
}

/// The Markdown of `check --format markdown`: a header row, its separator and `rows`
/// rows of six cells.
fn assert_markdown_table(md: &str, rows: usize) {
    let lines: Vec<&str> = md.lines().collect();
    let head = lines
        .iter()
        .position(|l| *l == "| Status | Rule | Measured | Limit | Margin | Growth vs baseline |")
        .unwrap_or_else(|| panic!("no table header in:\n{md}"));
    assert!(lines[head + 1].starts_with("|---|"), "{md}");
    let body: Vec<&&str> = lines[head + 2..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(body.len(), rows, "{md}");
    for l in body {
        assert_eq!(l.matches(" | ").count(), 5, "{l}");
    }
}

#[test]
fn growth_against_a_saved_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = programs(dir.path()) else {
        return;
    };
    let mut app = start(&exe, 1 << 20);
    let pid = app.pid_arg();
    let before = truth(app.pid());
    // The baseline: a map report of the process now, and a summary.
    let base = dir.path().join("base.json");
    let o = elfmaps(["map", "--json", &pid]);
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    fs::write(&base, &o.stdout).unwrap();
    let sum = dir.path().join("base.summary.json");
    let o = elfmaps(["summary", "--json", &pid]);
    fs::write(&sum, &o.stdout).unwrap();
    assert_eq!(truth(app.pid()).heap_rss, before.heap_rss, "the heap moved");

    writeln!(app.stdin().unwrap(), "grow 262144").unwrap();
    assert_eq!(app.next_line(), "GREW");
    let after = truth(app.pid());
    let grew = after.heap_rss - before.heap_rss;
    assert!(grew >= 262144, "{before:?} {after:?}");
    let page = after.page as i64;
    let rule = |delta: i64| {
        format!(
            "[[budget]]\nkind = \"heap\"\nmax_rss_growth = {}\n",
            grew as i64 + delta
        )
    };
    for baseline in [&base, &sum] {
        let b = baseline.to_str().unwrap();
        let o = check(dir.path(), &rule(-page), &["--json", "--baseline", b, &pid]);
        assert_eq!(code(&o), Some(1), "{}", stderr(&o));
        let v = json(&o);
        let x = &v["violations"][0];
        assert_eq!(x["limit_type"], "growth");
        assert_eq!(x["baseline"].as_u64(), Some(before.heap_rss), "{b}");
        assert_eq!(x["actual"].as_u64(), Some(grew));
        assert_eq!(x["over"].as_u64(), Some(after.page));
        let o = check(dir.path(), &rule(page), &["--json", "--baseline", b, &pid]);
        assert_eq!(code(&o), Some(0), "{}", stderr(&o));
        let v = json(&o);
        let r = &v["results"][0];
        assert_eq!(
            (
                r["actual"].as_u64(),
                r["growth"].as_i64(),
                r["margin"].as_i64()
            ),
            (Some(after.heap_rss), Some(grew as i64), Some(page)),
            "{b}"
        );
    }
    // A percentage of the baseline, and the whole process's max_growth.
    let b = base.to_str().unwrap();
    let o = check(
        dir.path(),
        "max_growth = \"12.5%\"\n[[budget]]\nkind = \"heap\"\nmax_rss_growth = \"12.5%\"\n",
        &["--json", "--baseline", b, &pid],
    );
    let v = json(&o);
    let heap = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "heap")
        .unwrap();
    assert_eq!(heap["limit"].as_u64(), Some(before.heap_rss / 8));
    assert_eq!(heap["limit_text"], "12.5%");
    let total = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"].is_null() && r["measure"] == "rss")
        .unwrap();
    assert_eq!(total["baseline"].as_u64(), Some(before.total_rss));
    assert_eq!(total["actual"].as_u64(), Some(after.total_rss));
    // Markdown shows the growth against the baseline.
    let o = check(
        dir.path(),
        &rule(-page),
        &["--format", "markdown", "--baseline", b, &pid],
    );
    let md = stdout(&o);
    assert_markdown_table(&md, 1);
    assert!(md.contains("rss growth"), "{md}");
    // Without a baseline a growth limit is not measurable, and says why.
    let o = check(dir.path(), &rule(page), &[&pid]);
    assert_eq!(code(&o), Some(0));
    assert_eq!(
        stdout(&o),
        "0 budgets checked, none exceeded, 1 not measurable\n"
    );
    assert!(stderr(&o).contains("--baseline"), "{}", stderr(&o));
    let o = check(dir.path(), &rule(page), &["--strict", &pid]);
    assert_eq!(code(&o), Some(2));

    // diff --threshold: this growth is a change above 64 KiB, and fails --exit-code.
    let now = dir.path().join("now.json");
    fs::write(&now, elfmaps(["map", "--json", &pid]).stdout).unwrap();
    let d = elfmaps([
        "diff",
        "--exit-code",
        "--threshold",
        "64 KiB",
        b,
        now.to_str().unwrap(),
    ]);
    assert_eq!(code(&d), Some(1), "{}{}", stdout(&d), stderr(&d));
    assert!(stdout(&d).contains("heap"), "{}", stdout(&d));
}

#[test]
fn several_processes_of_one_name() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = programs_named(dir.path(), "n") else {
        return;
    };
    let name = exe.file_name().unwrap().to_str().unwrap().to_string();
    let small = start(&exe, 1 << 20);
    let large = start(&exe, 3 << 20);
    let (ts, tl) = (truth(small.pid()), truth(large.pid()));
    let page = ts.page as i64;
    assert!(tl.total_rss > ts.total_rss);
    // Each process against the limit: only the larger one exceeds it.
    let rules = format!(
        "[[budget]]\nmax_rss = {}\n[[budget]]\nmax_rss = {}\nprocesses = \"sum\"\n",
        tl.total_rss as i64 - page,
        (ts.total_rss + tl.total_rss) as i64 + page
    );
    let o = check(dir.path(), &rules, &["--json", &name]);
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    let v = json(&o);
    let x = v["violations"].as_array().unwrap();
    assert_eq!(x.len(), 1, "{v}");
    assert_eq!(x[0]["actual"].as_u64(), Some(tl.total_rss));
    assert!(
        x[0]["process"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} (", large.pid())),
        "{}",
        x[0]
    );
    let sum = results(&v, 3);
    assert_eq!(sum.len(), 1);
    assert_eq!(sum[0].2, ts.total_rss + tl.total_rss);
    assert_eq!(sum[0].3, page);
    // The machine, restricted to that name: the heaps summed over the two.
    let heaps = ts.heap_rss + tl.heap_rss;
    for (delta, exit) in [(-page, 1), (page, 0)] {
        let rule = format!(
            "[[budget]]\nkind = \"heap\"\nmax_rss = {}\n",
            heaps as i64 + delta
        );
        let o = check(dir.path(), &rule, &["--json", "--system", "--name", &name]);
        assert_eq!(code(&o), Some(exit), "{}", stderr(&o));
        let v = json(&o);
        assert_eq!(v["results"][0]["actual"].as_u64(), Some(heaps), "{v}");
    }
    // A selection without --system is refused, in the format asked for.
    let o = check(
        dir.path(),
        "[[budget]]\nmax_rss = 1\n",
        &["--json", "--name", &name, &name],
    );
    assert_eq!(code(&o), Some(2));
    assert_eq!(json(&o)["errors"][0]["code"], "input-unreadable");
}

#[test]
fn elf_globs() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_) = programs(dir.path()) else {
        return;
    };
    let glob = format!("{}/libgate*.so", dir.path().display());
    let o = check(
        dir.path(),
        "[[budget]]\nobject = \"libgate*\"\nkind = \"text\"\nmax_size = \"1 MiB\"\n",
        &["--json", "--elf", &glob],
    );
    assert_eq!(code(&o), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let objects: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["object"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(objects, ["libgatea.so", "libgateb.so"]);
    let none = format!("{}/libnothing*.so", dir.path().display());
    let o = check(dir.path(), "[[budget]]\nmax_size = 1\n", &["--elf", &none]);
    assert_eq!(code(&o), Some(2));
    assert!(stderr(&o).contains("no file matches"), "{}", stderr(&o));
}

/// Issue 22 and 18 §3: a check that is not complete fails `--strict`, and says so in
/// every format.
#[test]
fn incomplete_checks_fail_under_strict_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let sleep = Running::sleep();
    let pid = sleep.pid_arg();
    let empty = dir.path().join("empty.smaps");
    fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap().to_string();
    let missing = dir.path().join("missing.smaps");
    let missing = missing.to_str().unwrap().to_string();
    let rule = "[[budget]]\nmax_size = \"1 GiB\"\n";
    let unmatched = "[[budget]]\nobject = \"libnothing.so\"\nmax_size = 1\n";
    let pss = "[[budget]]\nmax_pss = \"1 GiB\"\n";
    // (budget, target, what each format must name)
    let cases: [(&str, Vec<&str>, &[&str]); 4] = [
        (
            rule,
            vec!["--smaps", &empty],
            &["input-empty", "maps-malformed"],
        ),
        (rule, vec!["--smaps", &missing], &["input-unreadable"]),
        (unmatched, vec![&pid], &["budget-unmatched"]),
        (pss, vec!["--rss-only", &pid], &["budget-unmeasured"]),
    ];
    for (budget, target, names) in cases {
        for format in [
            &["--json"][..],
            &["--format", "github"],
            &["--format", "markdown"],
            &[],
        ] {
            let mut args = vec!["--strict"];
            args.extend_from_slice(format);
            args.extend_from_slice(&target);
            let o = check(dir.path(), budget, &args);
            assert_eq!(code(&o), Some(2), "{args:?}: {}{}", stdout(&o), stderr(&o));
            let out = stdout(&o);
            let err = stderr(&o);
            assert!(
                err.contains("elfmaps: error: "),
                "{args:?}: no error on stderr: {err}"
            );
            if format.is_empty() {
                continue;
            }
            assert!(
                names.iter().any(|n| out.contains(n)),
                "{args:?}: the output does not say {names:?}:\n{out}"
            );
            if format == ["--format", "github"] {
                assert!(out.contains("::error "), "{args:?}: {out}");
            }
        }
    }
    // Issue 18 §3: --rss-only with a pss rule is not counted as checked.
    let o = check(dir.path(), pss, &["--rss-only", &pid]);
    assert_eq!(code(&o), Some(0));
    assert_eq!(
        stdout(&o),
        "0 budgets checked, none exceeded, 1 not measurable\n"
    );
}

/// Issue 22: an idle `sleep` compared with itself 2 s later changes by a few KiB (the
/// pss of shared pages as other processes come and go): `diff --threshold` keeps that
/// from failing `--exit-code`.
#[test]
fn an_idle_process_is_within_a_diff_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let sleep = Running::sleep();
    let pid = sleep.pid_arg();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    fs::write(&a, elfmaps(["map", "--json", &pid]).stdout).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    fs::write(&b, elfmaps(["map", "--json", &pid]).stdout).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let o = elfmaps(["diff", "--exit-code", "--threshold", "64 KiB", a, b]);
    assert_eq!(code(&o), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).ends_with("no change\n"), "{}", stdout(&o));
    let o = elfmaps(["diff", "--json", "--threshold", "64 KiB", a, b]);
    assert_eq!(json(&o)["threshold"], "65536 B");
}

/// The fenced blocks of a Markdown text in the language `lang`.
fn blocks(md: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for l in md.lines() {
        match &mut cur {
            None if l == format!("```{lang}") => cur = Some(String::new()),
            Some(b) if l == "```" => {
                out.push(std::mem::take(b));
                cur = None;
            }
            Some(b) => {
                b.push_str(l);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Issue 22: the workflow of docs/ci.md, run as far as it can run here: its steps are
/// docs/ci-steps.sh (the page shows that file byte for byte, and both pipelines run
/// it); run on the gate program, first as on the main branch (no baseline), then as
/// on a pull request that grew the heap, against the first run's baseline.
#[test]
fn the_ci_workflow_runs_here() {
    let root = Path::new(common::build::ROOT);
    let page = fs::read_to_string(root.join("docs/ci.md")).unwrap();
    let script = root.join("docs/ci-steps.sh");
    let steps = fs::read_to_string(&script).unwrap();
    assert_eq!(
        blocks(&page, "sh"),
        std::slice::from_ref(&steps),
        "docs/ci.md shows another script"
    );
    let yaml = blocks(&page, "yaml");
    assert_eq!(yaml.len(), 2, "a GitHub and a GitLab pipeline");
    for y in &yaml {
        assert!(y.contains("sh ci/elfmaps-gate.sh"), "{y}");
        for out in ["check.json", "check.md", "report.html"] {
            assert!(y.contains(&format!("elfmaps-out/{out}")), "{out}: {y}");
        }
        assert!(y.contains("make app") && y.contains("BASELINE"), "{y}");
    }
    assert!(yaml[0].contains("actions/upload-artifact") && yaml[0].contains("gh pr comment"));
    assert!(yaml[1].contains("merge_requests/$CI_MERGE_REQUEST_IID/notes"));
    for cmd in ["snapshot", "check", "report", "map --json"] {
        assert!(steps.contains(&format!("\"$ELFMAPS\" {cmd}")), "{cmd}");
    }

    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = programs(dir.path()) else {
        return;
    };
    let budget = dir.path().join("budget.toml");
    fs::write(
        &budget,
        "[[budget]]\nmax_rss = \"1 GiB\"\n\
         [[budget]]\nkind = \"heap\"\nmax_rss = \"64 MiB\"\nmax_rss_growth = \"64 KiB\"\n\
         [[budget]]\nobject = \"libgate*.so\"\nkind = \"text\"\nmax_size = \"1 MiB\"\n",
    )
    .unwrap();
    let run = |heap: u64, out: &str, baseline: Option<&Path>| {
        let summary = dir.path().join(format!("{out}.summary.md"));
        let mut c = Command::new("sh");
        c.arg(&script)
            .current_dir(dir.path())
            .env("APP", format!("{} {heap}", exe.display()))
            .env("BUDGET", &budget)
            .env("OUT", dir.path().join(out))
            .env("ELFMAPS", common::cli::BIN)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env_remove("BASELINE")
            .env_remove("READY_CMD");
        if let Some(b) = baseline {
            c.env("BASELINE", b);
        }
        let o = c.output().unwrap();
        let md = fs::read_to_string(&summary).unwrap_or_default();
        (o, md)
    };
    // On the main branch: no baseline; everything holds, growth not measurable.
    let (o, md) = run(1 << 20, "main", None);
    assert_eq!(code(&o), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_markdown_table(&md, 5);
    assert!(md.contains("not measurable"), "{md}");
    let main = dir.path().join("main");
    let v: Value = serde_json::from_slice(&fs::read(main.join("check.json")).unwrap()).unwrap();
    assert_eq!(v["counts"]["checked"], 2, "{v}");
    assert_eq!(v["counts"]["not_measurable"], 1, "{v}");
    let html = fs::read_to_string(main.join("report.html")).unwrap();
    assert!(html.contains("<html"), "not a page");
    let baseline = main.join("map.json");
    assert!(json_file(&baseline)["regions"].is_array());
    // A pull request that grows the heap by 192 KiB: over its 64 KiB growth limit.
    let (o, md) = run((1 << 20) + (192 << 10), "pr", Some(&baseline));
    assert_eq!(code(&o), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert_markdown_table(&md, 5);
    let exceeded: Vec<&str> = md.lines().filter(|l| l.contains("**exceeded**")).collect();
    assert_eq!(exceeded.len(), 1, "{md}");
    assert!(
        exceeded[0].contains("heap (all objects) rss growth"),
        "{md}"
    );
    assert!(stdout(&o).contains("::error file="), "{}", stdout(&o));
    let v = json_file(&dir.path().join("pr/check.json"));
    let x = &v["violations"][0];
    assert_eq!(x["limit_type"], "growth");
    assert!(x["actual"].as_u64().unwrap() >= 192 << 10, "{x}");
}

fn json_file(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

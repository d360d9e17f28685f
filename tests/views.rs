//! `summary`, `check` and `diff` through the binary. The figures they fold are tied to
//! ground truth in tests/ground_truth.rs (summary against dl_iterate_phdr and
//! pagemap); here: budgets at a figure pass and one page under fail, exit codes,
//! output formats, malformed budgets, and diffs of saved reports.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::child::Running;
use common::cli::{codes_for, elfmaps, json, warnings};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A snapshot of a sleeping process: a fixed input, so figures do not move between runs.
fn snapshot(dir: &Path) -> String {
    let s = Running::sleep();
    let path = dir.join("sleep.snap");
    let o = elfmaps(["snapshot", &s.pid_arg(), "-o", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    path.to_str().unwrap().to_string()
}

fn summary(snap: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["summary", "--json", "--snapshot", snap];
    args.extend_from_slice(extra);
    let o = elfmaps(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn row<'a>(v: &'a serde_json::Value, object_suffix: &str, kind: &str) -> &'a serde_json::Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["kind"] == kind
                && r["object"]
                    .as_str()
                    .is_some_and(|o| o.ends_with(object_suffix))
        })
        .unwrap_or_else(|| panic!("no {object_suffix} {kind} row"))
}

#[test]
fn summary_sums_the_map_regions() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    let map = elfmaps(["map", "--json", "--snapshot", &snap]);
    let map: serde_json::Value = serde_json::from_slice(&map.stdout).unwrap();
    let s = summary(&snap, &[]);
    let regions = map["regions"].as_array().unwrap();
    for r in s["rows"].as_array().unwrap() {
        let parts: Vec<_> = regions
            .iter()
            .filter(|x| x["object"] == r["object"] && x["kind"] == r["kind"])
            .collect();
        for key in ["size", "rss", "pss"] {
            let sum: u64 = parts.iter().filter_map(|x| x[key].as_u64()).sum();
            assert_eq!(r[key].as_u64(), Some(sum), "{key} of {r}");
        }
        assert_eq!(r["regions"].as_u64(), Some(parts.len() as u64));
    }
    assert_eq!(s["totals"], map["totals"]);
    // --by kind: no objects, totals unchanged; --top keeps the largest rows.
    let k = summary(&snap, &["--by", "kind", "--sort", "rss", "--top", "3"]);
    let rows = k["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["object"].is_null()));
    assert!(
        rows.windows(2)
            .all(|w| w[0]["rss"].as_u64() >= w[1]["rss"].as_u64())
    );
    assert_eq!(k["totals"], map["totals"]);
}

fn check(dir: &Path, budget: &str, target: &[&str], extra: &[&str]) -> Output {
    let b = dir.join("budget.toml");
    fs::write(&b, budget).unwrap();
    let mut args = vec!["check", "--budget", b.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(target);
    elfmaps(&args)
}

#[test]
fn budgets_at_a_figure_pass_and_one_page_under_fail() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    let s = summary(&snap, &[]);
    let text_size = row(&s, "libc.so.6", "text")["size"].as_u64().unwrap();
    let target = ["--snapshot", snap.as_str()];
    let rule = |size: u64| {
        format!("[[budget]]\nobject = \"libc.so*\"\nkind = \"text\"\nmax_size = {size}\n")
    };
    let o = check(dir.path(), &rule(text_size), &target, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    // Issue 9 §4: a passing check printed nothing.
    assert_eq!(text(&o.stdout), "1 budget checked, none exceeded\n");
    let o = check(dir.path(), &rule(text_size), &target, &["--quiet"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty(), "{}", text(&o.stdout));
    let o = check(dir.path(), &rule(text_size - 4096), &target, &[]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("libc.so.6 text size")
            && lines[0].contains(&format!("({} B)", text_size - 4096)),
        "{out}"
    );
    assert!(lines[0].contains("budget.toml:2]"), "{out}");
    assert_eq!(lines[1], "1 budget checked, 1 exceeded");
    // Twelve rules that hold: the line counts them.
    let twelve = rule(text_size).repeat(12);
    let o = check(dir.path(), &twelve, &target, &[]);
    assert_eq!(text(&o.stdout), "12 budgets checked, none exceeded\n");

    // The whole object, by rss (exact from the snapshot), in KiB.
    let whole = s["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"].as_str().unwrap().ends_with("libc.so.6"))
        .unwrap();
    let rss = whole["rss"].as_u64().unwrap();
    let kib = |n: u64| {
        format!(
            "[[budget]]\nobject = \"*/libc.so.6\"\nmax_rss = \"{} KiB\"\n",
            n / 1024
        )
    };
    assert_eq!(
        check(dir.path(), &kib(rss), &target, &[]).status.code(),
        Some(0)
    );
    let o = check(dir.path(), &kib(rss - 4096), &target, &["--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["violations"][0]["measure"], "rss");
    assert_eq!(v["violations"][0]["actual"].as_u64(), Some(rss));
    assert_eq!(v["violations"][0]["kind"], serde_json::Value::Null);

    // GitHub annotations.
    let o = check(
        dir.path(),
        &rule(text_size - 4096),
        &target,
        &["--format", "github"],
    );
    assert!(
        text(&o.stdout).starts_with("::error file="),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn budget_rules_that_match_nothing_and_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    // This machine's snapshot, analysed on it: --sysroot / said (no note about it).
    let target = ["--snapshot", snap.as_str(), "--sysroot", "/"];
    let none = "[[budget]]\nobject = \"libnothing.so\"\nmax_size = 1\n";
    let o = check(dir.path(), none, &target, &[]);
    assert_eq!(o.status.code(), Some(0));
    let err = text(&o.stderr);
    // (After the note that the snapshot's files are this machine's: no --sysroot.)
    assert!(
        err.lines()
            .any(|l| l.starts_with("elfmaps: warning: ") && l.contains("budget.toml:2:")),
        "{err}"
    );
    let o = check(dir.path(), none, &target, &["--json"]);
    let w = warnings(&json(&o));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(
        (w[0].code.as_str(), w[0].object.as_deref()),
        ("budget-unmatched", None)
    );
    // Issue 9 §4: `--strict` exited 2 while its only line said "warning:".
    let o = check(dir.path(), none, &target, &["--strict"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.starts_with("elfmaps: error: "), "{err}");
    assert!(!err.contains("warning"), "{err}");
    let bad = "[[budget]]\nobject = \"x\"\n\nmax_size = \"2 XiB\"\n";
    let o = check(dir.path(), bad, &target, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("budget.toml: line 4:") && err.contains("unknown unit"),
        "{err}"
    );
}

#[test]
fn budgets_on_elf_files() {
    let dir = tempfile::tempdir().unwrap();
    let layout = elfmaps(["layout", "--json", "/bin/sleep"]);
    let v: serde_json::Value = serde_json::from_slice(&layout.stdout).unwrap();
    let text_bytes = v["objects"][0]["memory"]["text"].as_u64().unwrap();
    let rule = |n: u64| {
        format!("[[budget]]\nobject = \"sleep\"\nkind = \"text\"\nmax_size = {n}\nmax_rss = 1\n")
    };
    let o = check(
        dir.path(),
        &rule(text_bytes),
        &[],
        &["--elf", "/bin/sleep", "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        codes_for(&json(&o), "/bin/sleep"),
        ["budget-unmeasured"],
        "{}",
        text(&o.stderr)
    );
    let o = check(
        dir.path(),
        &rule(text_bytes - 4096),
        &[],
        &["--elf", "/bin/sleep"],
    );
    assert_eq!(o.status.code(), Some(1));
    // An unreadable file is an error, after the others are checked.
    let o = check(
        dir.path(),
        &rule(text_bytes - 4096),
        &[],
        &["--elf", "/bin/sleep", "--elf", "/nonexistent"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stdout).contains("sleep text size"));
}

/// Issue 8: `check --elf` measured 4 KiB pages whatever `--page-size` said.
#[test]
fn budgets_on_elf_files_use_the_page_size() {
    let dir = tempfile::tempdir().unwrap();
    let total = |page: &str| {
        let o = elfmaps(["layout", "--json", "--page-size", page, "/bin/sleep"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["objects"][0]["memory"]["total"].as_u64().unwrap()
    };
    let (small, large) = (total("4096"), total("65536"));
    assert!(small < large, "{small} {large}");
    let rule = format!("[[budget]]\nobject = \"sleep\"\nmax_size = {small}\n");
    let elf = ["--elf", "/bin/sleep"];
    let o = check(dir.path(), &rule, &elf, &["--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = check(dir.path(), &rule, &elf, &["--json", "--page-size", "65536"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["violations"][0]["actual"].as_u64(), Some(large));
    assert_eq!(v["violations"][0]["limit"].as_u64(), Some(small));
}

#[test]
fn diff_of_saved_reports() {
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, args: &[&str]| {
        let o = elfmaps(args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let p = dir.path().join(name);
        fs::write(&p, &o.stdout).unwrap();
        p.to_str().unwrap().to_string()
    };
    let a = save("sleep.json", &["layout", "--json", "/bin/sleep"]);
    let b = save("cat.json", &["layout", "--json", "/bin/cat"]);
    let o = elfmaps(["diff", "--json", &a, &b]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["appeared"], serde_json::json!(["/bin/cat"]));
    assert_eq!(d["vanished"], serde_json::json!(["/bin/sleep"]));
    // A report against itself: nothing changed.
    let o = elfmaps(["diff", &a, &a]);
    assert_eq!(text(&o.stdout).lines().last(), Some("no change"));
    // Map reports of two processes running the same program: matched by name.
    let snap_dir = tempfile::tempdir().unwrap();
    let s1 = snapshot(snap_dir.path());
    let m1 = save("m1.json", &["map", "--json", "--snapshot", &s1]);
    let o = elfmaps(["diff", "--json", &m1, &m1]);
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(d["changes"].as_array().unwrap().is_empty());
    // Not a report.
    fs::write(dir.path().join("x.json"), "{\"a\": 1}").unwrap();
    let o = elfmaps(["diff", &a, dir.path().join("x.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("x.json: not an elfmaps JSON report"),
        "{}",
        text(&o.stderr)
    );
}

/// Issue 8: diff summed rss skipping unknown terms, so old rss 8K against new rss
/// 4K plus one unknown printed "RSS -4.0K". A sum with an unknown term is unknown.
#[test]
fn diff_sums_with_an_unknown_term_are_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/armhf.map.json");
    let base: serde_json::Value = serde_json::from_slice(&fs::read(golden).unwrap()).unwrap();
    let region = |start: u64, size: u64, rss: Option<u64>| {
        let mut r = base["regions"][0].clone();
        r["start"] = start.into();
        r["end"] = (start + size).into();
        r["object"] = "/lib/libc.so.6".into();
        r["kind"] = "text".into();
        r["size"] = size.into();
        r["rss"] = rss.into();
        r["pss"] = rss.into();
        r
    };
    let save = |name: &str, regions: Vec<serde_json::Value>| {
        let mut report = base.clone();
        report["regions"] = regions.into();
        report["objects"] = serde_json::json!([]);
        let p = dir.path().join(name);
        fs::write(&p, serde_json::to_vec(&report).unwrap()).unwrap();
        p.to_str().unwrap().to_string()
    };
    let old = save("old.json", vec![region(0x10000, 8192, Some(8192))]);
    let new = save(
        "new.json",
        vec![
            region(0x10000, 4096, Some(4096)),
            region(0x11000, 4096, None),
        ],
    );
    let o = elfmaps(["diff", "--color", "never", &old, &new]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let line = out.lines().find(|l| l.starts_with("libc.so.6")).unwrap();
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols, ["libc.so.6", "text", "0", "-", "-"], "{out}");
    let o = elfmaps(["diff", "--json", &old, &new]);
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["changes"][0]["new"]["rss"], serde_json::Value::Null);
    assert_eq!(d["changes"][0]["rss"], serde_json::Value::Null);
}

#[test]
fn a_sysroot_file_with_another_build_id_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let snap_path = snapshot(dir.path());
    let snap = fs::read(&snap_path).unwrap();
    // The files the snapshot names, copied into a sysroot; libc's build ID altered.
    let text = text(&snap);
    let root = dir.path().join("root");
    let mut libc_id = None;
    for line in text.lines().filter(|l| l.contains(" /") && l.contains('-')) {
        let path = &line[line.find(" /").unwrap() + 1..];
        if path.contains(' ') || !Path::new(path).is_file() {
            continue;
        }
        let dest = root.join(path.trim_start_matches('/'));
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(path, &dest).unwrap();
        if path.ends_with("/libc.so.6") {
            libc_id = Some(dest);
        }
    }
    let libc = libc_id.expect("sleep maps libc.so.6");
    let ids: Vec<&str> = text
        .split("@build-ids")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('@'))
        .filter_map(|l| l.split(' ').nth(1))
        .collect();
    let mut bytes = fs::read(&libc).unwrap();
    let mut patched = false;
    for id in ids {
        let raw: Vec<u8> = (0..id.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&id[i..i + 2], 16).unwrap())
            .collect();
        if let Some(at) = bytes.windows(raw.len()).position(|w| w == raw.as_slice()) {
            bytes[at] ^= 0xff;
            patched = true;
            break;
        }
    }
    assert!(patched, "libc's build ID not found in the file");
    fs::write(&libc, bytes).unwrap();
    let o = elfmaps([
        "map",
        "--json",
        "--snapshot",
        &snap_path,
        "--sysroot",
        root.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(codes_for(&v, "/libc.so.6"), ["build-id-mismatch"]);
    for r in v["regions"].as_array().unwrap() {
        let path = r["path"].as_str().unwrap_or("");
        if path.ends_with("/libc.so.6") {
            assert_eq!(r["kind"], "unknown", "{r}");
        } else if path.ends_with("/sleep") {
            assert_ne!(r["kind"], "unknown", "{r}");
        }
    }
}

#[test]
fn diff_of_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    let s = elfmaps(["summary", "--json", "--snapshot", &snap]);
    let p = dir.path().join("s.json");
    fs::write(&p, &s.stdout).unwrap();
    let o = elfmaps(["diff", "--json", p.to_str().unwrap(), p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["old_format"], "summary");
    assert!(d["changes"].as_array().unwrap().is_empty());
    // A summary --by kind has no objects to match: a clear error.
    let k = elfmaps(["summary", "--json", "--by", "kind", "--snapshot", &snap]);
    let pk = dir.path().join("k.json");
    fs::write(&pk, &k.stdout).unwrap();
    let o = elfmaps(["diff", p.to_str().unwrap(), pk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--by kind"), "{}", text(&o.stderr));
}

/// Issue 9 §4: an empty budget file passed silently.
#[test]
fn an_empty_budget_file_is_a_warning_and_an_error_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let elf = ["--elf", "/bin/sleep"];
    for empty in ["", "# no rules yet\n"] {
        let o = check(dir.path(), empty, &elf, &["--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let w = warnings(&json(&o));
        assert_eq!(
            w.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(),
            ["budget-empty"]
        );
        let err = text(&o.stderr);
        assert!(err.starts_with("elfmaps: warning: "), "{err}");
        let o = check(dir.path(), empty, &elf, &["--strict"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            text(&o.stderr).starts_with("elfmaps: error: "),
            "{}",
            text(&o.stderr)
        );
    }
}

/// Issue 9 §4: `[budget]` instead of `[[budget]]` gave serde's "invalid type: map,
/// expected a sequence".
#[test]
fn a_single_budget_table_says_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let o = check(
        dir.path(),
        "[budget]\nobject = \"sleep\"\nmax_size = 1\n",
        &["--elf", "/bin/sleep"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("budget.toml: line 1:") && err.contains("`[[budget]]`"),
        "{err}"
    );
    assert!(!err.contains("expected a sequence"), "{err}");
}

/// Issue 9 §4: `check --elf FILE 25097` read the PID as a second file. Each `--elf`
/// takes one file: a PID after it is a PID, and clap refuses the two together.
#[test]
fn each_elf_flag_takes_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "[[budget]]\nobject = \"*\"\nmax_size = \"1 GiB\"\n";
    let o = check(dir.path(), rule, &["--elf", "/bin/sleep", "25097"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("'--elf <FILE>' cannot be used with '[PID]'"),
        "{err}"
    );
    assert!(!err.contains("No such file"), "{err}");
    // Two files after one --elf: the second is not a PID, and the error says how.
    let o = check(dir.path(), rule, &["--elf", "/bin/sleep", "/bin/cat"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("one --elf FILE each"),
        "{}",
        text(&o.stderr)
    );
    let o = check(
        dir.path(),
        rule,
        &["--elf", "/bin/sleep", "--elf", "/bin/cat"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "1 budget checked, none exceeded\n");
    // No target at all: the message names --elf too.
    let o = check(dir.path(), rule, &[], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--elf FILE"),
        "{}",
        text(&o.stderr)
    );
}

/// Issue 9 §4: `diff` compared a `summary --top 2` report as if it were complete.
#[test]
fn a_cut_summary_says_so_and_diff_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(dir.path());
    let full = summary(&snap, &[]);
    assert!(full.get("cut").is_none(), "a complete summary has no cut");
    let cut = summary(&snap, &["--top", "2"]);
    let rows = full["rows"].as_array().unwrap().len();
    assert_eq!(cut["cut"]["top"], 2);
    assert_eq!(cut["cut"]["rows_dropped"].as_u64(), Some(rows as u64 - 2));
    let save = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (full, cut) = (save("full.json", &full), save("cut.json", &cut));
    for (old, new) in [(&full, &cut), (&cut, &full)] {
        let o = elfmaps(["diff", old, new]);
        assert_eq!(o.status.code(), Some(2));
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("cut.json: report-cut: ") && err.contains("--top 2"),
            "{err}"
        );
        assert!(o.stdout.is_empty());
    }
}

/// Issue 9 §4: `diff --exit-code` exits 1 when something changed, like
/// `git diff --exit-code`; 0 when nothing did, and always 0 without the flag.
#[test]
fn diff_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, file: &str| {
        let o = elfmaps(["layout", "--json", file]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let p = dir.path().join(name);
        fs::write(&p, &o.stdout).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (a, b) = (
        save("sleep.json", "/bin/sleep"),
        save("cat.json", "/bin/cat"),
    );
    let code = |args: &[&str]| elfmaps(args).status.code();
    assert_eq!(code(&["diff", "--exit-code", &a, &a]), Some(0));
    assert_eq!(code(&["diff", "--exit-code", &a, &b]), Some(1));
    assert_eq!(code(&["diff", "--exit-code", "--json", &a, &b]), Some(1));
    assert_eq!(code(&["diff", &a, &b]), Some(0));
    let o = elfmaps(["diff", "--exit-code", &a, &a]);
    assert_eq!(text(&o.stdout).lines().last(), Some("no change"));
}

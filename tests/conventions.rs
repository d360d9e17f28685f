//! Issue 20: one voice. The conventions of docs/cli.md, held for every subcommand by
//! one table: each row is a subcommand (or a way to call it) and what it must do;
//! each test walks the table.

mod common;

use std::path::{Path, PathBuf};

use common::cli::{elfmaps, json, stderr, stdout};
use common::skip;

/// Every subcommand, with how to call it on an input that works (`{smaps}` is a saved
/// smaps of this machine's own process, `{json}` a saved `map --json` of it).
struct Sub {
    name: &'static str,
    /// Takes one PID (`[PID]` in its usage), several (`[PID]...`), or none.
    pids: Pids,
    /// A run that prints a table (None: no table of figures).
    table: Option<&'static [&'static str]>,
    /// The figure columns its table takes with `--columns` (docs/cli.md,
    /// "Columns"); empty: none, it has no `--columns`.
    columns: &'static [&'static str],
}

/// Every figure column (`render/columns.rs`).
const ALL_COLUMNS: &[&str] = &["size", "rss", "pss", "uss", "dirty", "swap"];

#[derive(Debug, PartialEq)]
enum Pids {
    None,
    One,
    Many,
}

const SUBS: &[Sub] = &[
    Sub {
        name: "map",
        pids: Pids::Many,
        table: Some(&["map", "--smaps", "{smaps}"]),
        columns: ALL_COLUMNS,
    },
    Sub {
        name: "summary",
        pids: Pids::One,
        table: Some(&["summary", "--smaps", "{smaps}"]),
        columns: ALL_COLUMNS,
    },
    Sub {
        name: "check",
        pids: Pids::One,
        table: None,
        columns: &[],
    },
    Sub {
        name: "diff",
        pids: Pids::None,
        table: Some(&["diff", "{json}", "{json}"]),
        columns: ALL_COLUMNS,
    },
    Sub {
        name: "system",
        pids: Pids::None,
        table: Some(&["system", "--pid", "self"]),
        columns: ALL_COLUMNS,
    },
    Sub {
        name: "metrics",
        pids: Pids::None,
        table: None,
        columns: &[],
    },
    Sub {
        name: "report",
        pids: Pids::One,
        table: None,
        columns: &[],
    },
    Sub {
        name: "snapshot",
        pids: Pids::One,
        table: None,
        columns: &[],
    },
    Sub {
        name: "sections",
        pids: Pids::One,
        table: Some(&["sections", "self"]),
        columns: &["size", "rss"],
    },
    Sub {
        name: "layout",
        pids: Pids::None,
        table: Some(&["layout", "/proc/self/exe"]),
        columns: &[],
    },
];

/// The saved inputs the table's runs read, made once per test.
struct Inputs {
    _dir: tempfile::TempDir,
    smaps: PathBuf,
    json: PathBuf,
}

fn inputs() -> Inputs {
    let dir = tempfile::tempdir().unwrap();
    let smaps = dir.path().join("self.smaps");
    std::fs::write(&smaps, std::fs::read("/proc/self/smaps").unwrap()).unwrap();
    let o = elfmaps(["map", "--json", "-q", "--smaps", smaps.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json = dir.path().join("self.json");
    std::fs::write(&json, &o.stdout).unwrap();
    Inputs {
        _dir: dir,
        smaps,
        json,
    }
}

fn args<'a>(run: &[&'a str], i: &'a Inputs) -> Vec<&'a str> {
    run.iter()
        .map(|a| match *a {
            "{smaps}" => i.smaps.to_str().unwrap(),
            "{json}" => i.json.to_str().unwrap(),
            a => a,
        })
        .collect()
}

/// Every subcommand's help shows the global -q and -v, and `[PID]` for one process,
/// `[PID]...` only for map.
#[test]
fn help_follows_the_conventions() {
    let o = elfmaps(["--help"]);
    let top = stdout(&o);
    for sub in SUBS {
        assert!(
            top.contains(&format!("  {}", sub.name)),
            "{} not in --help",
            sub.name
        );
        let o = elfmaps([sub.name, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{}", sub.name);
        let help = stdout(&o);
        assert!(help.contains("-q, --quiet"), "{}: no -q\n{help}", sub.name);
        assert!(
            help.contains("-v, --verbose"),
            "{}: no -v\n{help}",
            sub.name
        );
        let usage = help.lines().find(|l| l.starts_with("Usage:")).unwrap();
        match sub.pids {
            Pids::Many => assert!(usage.contains("[PID]..."), "{usage}"),
            Pids::One => assert!(
                (usage.contains("[PID]") || usage.contains("<PID>")) && !usage.contains("PID]..."),
                "{}: {usage}",
                sub.name
            ),
            Pids::None => assert!(!usage.contains("[PID]..."), "{}: {usage}", sub.name),
        }
        if sub.name != "check" {
            assert!(
                !help.contains("check --elf"),
                "{}'s help mentions check --elf:\n{help}",
                sub.name
            );
        }
    }
}

/// Usage errors are said as every other error: `elfmaps: error:`, exit 2.
#[test]
fn usage_errors_say_elfmaps_error() {
    for sub in SUBS {
        let o = elfmaps([sub.name, "--no-such-flag"]);
        assert_eq!(o.status.code(), Some(2), "{}", sub.name);
        assert!(
            stderr(&o).starts_with("elfmaps: error: "),
            "{}: {}",
            sub.name,
            stderr(&o)
        );
    }
}

/// Every table: no warning line with -q; exit 0; a `(total)` row where the table
/// has figures of several rows.
#[test]
fn tables_follow_the_conventions() {
    let i = inputs();
    for sub in SUBS {
        let Some(run) = sub.table else { continue };
        let mut a = args(run, &i);
        a.push("-q");
        let o = elfmaps(&a);
        assert_eq!(o.status.code(), Some(0), "{a:?}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("warning:"),
            "{a:?} warns under -q: {}",
            stderr(&o)
        );
        assert!(!stdout(&o).is_empty(), "{a:?} printed nothing");
    }
}

/// Issue 20: `--columns` takes the same names in every table of figures: each one a
/// table has shows (its header), each one it has not is an error naming the column
/// and the subcommand, and a table with no figure columns has no `--columns`.
#[test]
fn every_table_takes_the_columns_it_has() {
    let i = inputs();
    for sub in SUBS {
        let Some(run) = sub.table else { continue };
        for col in ALL_COLUMNS {
            let mut a = args(run, &i);
            a.extend(["-q", "--color", "never", "--columns", col]);
            let o = elfmaps(&a);
            let head = col.to_ascii_uppercase();
            if sub.columns.contains(col) {
                assert_eq!(o.status.code(), Some(0), "{a:?}: {}", stderr(&o));
                assert!(
                    stdout(&o)
                        .lines()
                        .any(|l| l.split_whitespace().any(|w| w == head)),
                    "{a:?}: no {head} header:\n{}",
                    stdout(&o)
                );
            } else {
                assert_eq!(o.status.code(), Some(2), "{a:?}: {}", stdout(&o));
                let err = stderr(&o);
                assert!(err.starts_with("elfmaps: error: "), "{a:?}: {err}");
                if !sub.columns.is_empty() {
                    assert_eq!(err.lines().count(), 1, "{a:?}: {err}");
                    assert!(err.contains(col) && err.contains(sub.name), "{a:?}: {err}");
                }
            }
        }
    }
}

/// Other projects' saved smaps, next to the repository (their README says what they
/// are); None (with a note) when absent.
fn peer(name: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in [
        root.join("testdata/peers"),
        root.join("../shared/peers"),
        root.join("../../shared/peers"),
    ] {
        let p = dir.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    skip::skip(&format!("{name}: other projects' inputs are absent"));
    None
}

/// Issue 20: a saved Firefox smaps without --sysroot printed 867 warning lines, an
/// Android one 628. At most 3 lines now (the root used, what is missing); -v lists
/// each, -q none, and JSON keeps every warning with its code.
#[test]
fn saved_inputs_without_sysroot_say_so_once() {
    for name in ["firefox-gometrics-smaps", "android-libmeminfo-smaps"] {
        let Some(smaps) = peer(name) else { return };
        let smaps = smaps.to_str().unwrap();
        for sub in ["map", "summary"] {
            let o = elfmaps([sub, "--smaps", smaps]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            let err = stderr(&o);
            assert!(err.lines().count() <= 3, "{sub} {name}:\n{err}");
            assert!(
                err.contains("no --sysroot") && err.contains("this machine's /"),
                "{err}"
            );
            assert!(err.contains("(file-unreadable)"), "{err}");
            let quiet = elfmaps([sub, "-q", "--smaps", smaps]);
            assert_eq!(stderr(&quiet), "", "{sub} -q {name}");
        }
        let o = elfmaps(["map", "--json", "--smaps", smaps]);
        let all = json(&o)["warnings"].as_array().unwrap().len();
        assert!(all > 600, "{name}: {all} warnings in JSON");
        let o = elfmaps(["map", "-v", "--smaps", smaps]);
        let each = stderr(&o)
            .lines()
            .filter(|l| l.starts_with("elfmaps: warning: "))
            .count();
        assert_eq!(each, all, "{name}: -v lists every warning");
    }
}

/// A selection that matches nothing is an error: one line, exit 2, nothing on
/// stdout (issue 20: `sections --object nomatch` exited 0 silently).
#[test]
fn a_selection_that_matches_nothing_is_an_error() {
    for args in [
        &["sections", "self", "--object", "nomatch"][..],
        &["sections", "self", "--pages", ".nosuch"],
        &["system", "--pid", "self", "--object", "nomatch"],
        &[
            "sections", "--union", "--pid", "self", "--object", "nomatch",
        ],
        &["system", "--pid", "999999999"],
    ] {
        let o = elfmaps(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}: {}", stdout(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("elfmaps: error: "), "{args:?}: {err}");
        assert!(!err.contains("exited"), "{args:?}: {err}");
    }
}

/// Issue 20's messages: no "process(es)" nor "1 processes"; `map NAME` does not
/// hint at check --elf; the first line says what a saved file is, and a snapshot's
/// process.
#[test]
fn messages_say_what_they_mean() {
    let o = elfmaps(["system", "--pid", "self", "--color", "never"]);
    let out = stdout(&o);
    assert!(out.starts_with("1 process (live)"), "{out}");
    assert!(!out.contains("process(es)"), "{out}");
    let o = elfmaps(["map", "notaprocess"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("--elf"), "{}", stderr(&o));
    let dir = tempfile::tempdir().unwrap();
    let maps = dir.path().join("x.maps");
    std::fs::write(&maps, std::fs::read("/proc/self/maps").unwrap()).unwrap();
    let o = elfmaps(["map", "-q", "--smaps", maps.to_str().unwrap()]);
    assert!(
        stdout(&o).lines().next().unwrap().ends_with("saved maps"),
        "{}",
        stdout(&o)
    );
    let snap = dir.path().join("x.snap");
    let o = elfmaps(["snapshot", "self", "-o", snap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for sub in ["map", "summary"] {
        let o = elfmaps([sub, "-q", "--snapshot", snap.to_str().unwrap()]);
        let first = stdout(&o).lines().next().unwrap().to_string();
        assert!(
            first.contains("snapshot of ") && first.contains("elfmaps snapshot self"),
            "{sub}: {first}"
        );
    }
}

/// `--columns` takes the same names in every table; a `(total)` row ends each table
/// of figures; `--top` leaves a note and cuts JSON the same way.
#[test]
fn columns_totals_and_top_are_the_same_everywhere() {
    let i = inputs();
    let smaps = i.smaps.to_str().unwrap();
    let json_in = i.json.to_str().unwrap();
    for args in [
        vec!["map", "--smaps", smaps],
        vec!["summary", "--smaps", smaps],
        vec!["system", "--pid", "self"],
    ] {
        let mut a = args.clone();
        a.extend(["-q", "--color", "never", "--columns", "uss,dirty"]);
        let o = elfmaps(&a);
        assert_eq!(o.status.code(), Some(0), "{a:?}: {}", stderr(&o));
        let head = stdout(&o)
            .lines()
            .find(|l| l.contains("USS"))
            .unwrap_or_else(|| panic!("{a:?}: no USS header:\n{}", stdout(&o)))
            .to_string();
        assert!(
            head.contains("DIRTY") && !head.contains("PSS"),
            "{a:?}: {head}"
        );
        if args[0] != "map" {
            assert!(
                stdout(&o).lines().last().unwrap().starts_with("(total)"),
                "{a:?}:\n{}",
                stdout(&o)
            );
            let mut a = args.clone();
            a.extend(["-q", "--top", "1"]);
            let out = stdout(&elfmaps(&a));
            assert!(out.contains("more rows not shown: --top)"), "{a:?}:\n{out}");
            a.push("--json");
            let v = json(&elfmaps(&a));
            assert_eq!(v["rows"].as_array().unwrap().len(), 1, "{a:?}");
            assert_eq!(v["cut"]["top"], 1, "{a:?}");
        }
    }
    let o = elfmaps(["diff", json_in, json_in]);
    assert!(stdout(&o).contains("(total)"), "{}", stdout(&o));
    let o = elfmaps(["map", "--columns", "vsz", "--smaps", smaps]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("elfmaps: error: "), "{}", stderr(&o));
}

/// Runs elfmaps with `args` under a pseudo-terminal of 80 columns (`script` of
/// util-linux; COLUMNS=80), and returns what it printed, `\r` removed; None (with a
/// note) without `script`.
fn on_terminal(args: &[&str]) -> Option<String> {
    if !skip::have_tool("script", &["--version"]) {
        skip::missing_tool("script", "tables are checked at 80 columns under a pty");
        return None;
    }
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_elfmaps"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let o = std::process::Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env("COLUMNS", "80")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    Some(String::from_utf8_lossy(&o.stdout).replace('\r', ""))
}

/// Issue 20: at 80 columns no line of map, summary, system, sections or diff passes
/// 80 when stdout is a terminal; in a pipe nothing is cut.
#[test]
fn tables_fit_an_80_column_terminal() {
    let i = inputs();
    let smaps = i.smaps.to_str().unwrap();
    let json_in = i.json.to_str().unwrap();
    let firefox = peer("firefox-gometrics-smaps");
    let dir = tempfile::tempdir().unwrap();
    let other = match &firefox {
        Some(f) => {
            let o = elfmaps(["map", "--json", "-q", "--smaps", f.to_str().unwrap()]);
            let p = dir.path().join("firefox.json");
            std::fs::write(&p, &o.stdout).unwrap();
            p.to_str().unwrap().to_string()
        }
        None => json_in.to_string(),
    };
    let runs: Vec<Vec<&str>> = vec![
        vec!["map", "--smaps", smaps],
        vec!["map", "self"],
        vec!["summary", "--smaps", smaps],
        vec!["summary", "--smaps", smaps, "--by", "kind"],
        vec!["system", "--pid", "self,1"],
        vec!["system", "--pid", "self,1", "--by", "process"],
        vec!["system", "--pid", "self,1", "--by", "kind"],
        vec!["sections", "self"],
        vec![
            "sections", "--union", "--pid", "self", "--object", "libc.so*",
        ],
        vec!["diff", json_in, &other],
    ];
    for args in runs {
        let mut a = args.clone();
        a.extend(["-q", "--color", "never"]);
        let Some(out) = on_terminal(&a) else { return };
        assert!(out.lines().count() > 2, "{a:?}:\n{out}");
        for line in out.lines() {
            assert!(
                line.chars().count() <= 80,
                "{a:?}: a line of {} columns:\n{line}",
                line.chars().count()
            );
        }
        // In a pipe: nothing cut (no … that the names do not have).
        let piped = stdout(&elfmaps(&a));
        assert!(!piped.contains('…'), "{a:?} cut in a pipe");
    }
}

/// `-p`/`--full-path` (as pmap -p): objects by their whole path in every table.
#[test]
fn full_paths_on_request() {
    let i = inputs();
    let smaps = i.smaps.to_str().unwrap();
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    let exe = exe.to_str().unwrap();
    for args in [
        vec!["map", "--smaps", smaps],
        vec!["summary", "--smaps", smaps],
    ] {
        let mut a = args.clone();
        a.extend(["-q", "--color", "never"]);
        assert!(
            !stdout(&elfmaps(&a)).contains(exe),
            "{a:?}: a whole path without -p"
        );
        a.push("-p");
        assert!(
            stdout(&elfmaps(&a)).contains(exe),
            "{a:?}: no whole path with -p"
        );
    }
}

/// Issue 20: two objects of one file name (x86_64's and lib32's `libc.so.6`) were
/// one row in `diff` (keyed by file name) and two identical names in `check`'s
/// lines. They are two, named by the directories that tell them apart, or whole with
/// `-p`; an object whose path moved (a sysroot) is still matched across reports.
#[test]
fn two_objects_of_one_file_name_stay_two_in_diff_and_check() {
    let (x86, lib32) = ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib32/libc.so.6");
    if !Path::new(x86).is_file() || !Path::new(lib32).is_file() {
        skip::skip("two libc.so.6 (x86_64 and lib32, gcc-multilib) are absent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let layout = |name: &str, files: &[&str]| -> String {
        let mut a = vec!["layout", "--json", "-q"];
        a.extend(files);
        let o = elfmaps(&a);
        assert_eq!(o.status.code(), Some(0), "{a:?}: {}", stderr(&o));
        let p = dir.path().join(name);
        std::fs::write(&p, &o.stdout).unwrap();
        p.to_str().unwrap().to_string()
    };
    let both = layout("both.json", &[x86, lib32]);
    let one = layout("one.json", &[x86]);
    // The same two files under a sysroot: other paths, the same last directories.
    let root = dir.path().join("sysroot");
    let moved: Vec<String> = [x86, lib32]
        .iter()
        .map(|p| {
            let to = root.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(p, &to).unwrap();
            to.to_str().unwrap().to_string()
        })
        .collect();
    let moved_refs: Vec<&str> = moved.iter().map(String::as_str).collect();
    let in_root = layout("sysroot.json", &moved_refs);

    // One of the two vanished: only it, by the name that tells it apart.
    let o = elfmaps(["diff", "--color", "never", &both, &one]);
    let out = stdout(&o);
    assert!(out.contains("vanished: lib32/libc.so.6"), "{out}");
    assert!(!out.contains("x86_64-linux-gnu/libc.so.6"), "{out}");
    let v = json(&elfmaps(["diff", "--json", &both, &one]));
    assert_eq!(v["vanished"], serde_json::json!([lib32]), "{v}");
    assert!(
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["object"] == lib32),
        "{v}"
    );
    let o = elfmaps(["diff", "-p", "--color", "never", &both, &one]);
    assert!(
        stdout(&o).contains(&format!("vanished: {lib32}")),
        "{}",
        stdout(&o)
    );
    // Both moved under a sysroot: each matched to its own, nothing changed.
    let o = elfmaps(["diff", "--color", "never", &both, &in_root]);
    assert_eq!(
        stdout(&o).trim_end().lines().last(),
        Some("no change"),
        "{}",
        stdout(&o)
    );

    // check: one rule, two objects over it, two lines that tell them apart.
    let budget = dir.path().join("b.toml");
    std::fs::write(
        &budget,
        "[[budget]]\nobject = \"libc.so.6\"\nmax_size = 4096\n",
    )
    .unwrap();
    let budget = budget.to_str().unwrap();
    let check = |extra: &[&str]| -> String {
        let mut a = vec![
            "check", "-q", "--budget", budget, "--elf", x86, "--elf", lib32,
        ];
        a.extend(extra);
        let o = elfmaps(&a);
        assert_eq!(o.status.code(), Some(1), "{a:?}: {}", stderr(&o));
        stdout(&o)
    };
    let out = check(&[]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("x86_64-linux-gnu/libc.so.6 "))
            && out.lines().any(|l| l.starts_with("lib32/libc.so.6 ")),
        "{out}"
    );
    let out = check(&["-p"]);
    assert!(
        out.lines().any(|l| l.starts_with(&format!("{x86} ")))
            && out.lines().any(|l| l.starts_with(&format!("{lib32} "))),
        "{out}"
    );
    let out = check(&["--format", "markdown"]);
    // (Markdown escapes `_`.)
    assert!(
        out.contains("x86\\_64-linux-gnu/libc.so.6") && out.contains(" lib32/libc.so.6"),
        "{out}"
    );
}

/// Issue 20: `sections --snapshot` (and `symbols --snapshot`) without `--sysroot`
/// did not say which root they read the files from, where `map` and `summary` did:
/// the same note in each, once, none with `--sysroot` or `-q`.
#[test]
fn snapshots_without_sysroot_say_the_root_in_every_view() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("self.snap");
    let snap = snap.to_str().unwrap();
    // --sections and --symbols are one flag (docs/sections.md).
    let o = elfmaps(["snapshot", "--sections", "self", "-o", snap]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let notes = |o: &std::process::Output| -> Vec<String> {
        stderr(o)
            .lines()
            .filter(|l| l.starts_with("elfmaps: note: no --sysroot: "))
            .map(str::to_string)
            .collect()
    };
    let mut seen = Vec::new();
    for sub in ["map", "summary", "sections", "symbols"] {
        let o = elfmaps([sub, "--snapshot", snap]);
        assert_eq!(o.status.code(), Some(0), "{sub}: {}", stderr(&o));
        let n = notes(&o);
        assert_eq!(n.len(), 1, "{sub}: {}", stderr(&o));
        assert!(
            n[0].contains("read from this machine's /"),
            "{sub}: {}",
            n[0]
        );
        seen.push(n[0].clone());
        for extra in [&["-q"][..], &["--sysroot", "/"]] {
            let mut a = vec![sub, "--snapshot", snap];
            a.extend(extra);
            assert!(
                notes(&elfmaps(&a)).is_empty(),
                "{a:?}: {}",
                stderr(&elfmaps(&a))
            );
        }
    }
    // One sentence, one count: the same mapped files in each view.
    assert!(seen.iter().all(|n| n == &seen[0]), "{seen:?}");
}

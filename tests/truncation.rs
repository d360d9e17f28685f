//! Silent truncation and silent success (issue 18 §3): an input that ends early, a
//! sum that overflows, a report of a version elfmaps does not know, or a process that
//! exits while it is read is an error or an unknown figure, never a short report with
//! exit 0.

mod common;

use std::fs;

use common::build;
use common::child::Running;
use common::cli::{BIN, elfmaps, json, stderr, stdout};
use common::elf::{Elf64, PF_R, PF_X, Phdr};

/// An anonymous smaps line of one page at `start` with `rss_kb` resident.
fn anon_line(start: u64, rss_kb: u64) -> String {
    format!(
        "{start:x}-{:x} rw-p 00000000 00:00 0 \nSize:                  4 kB\nKernelPageSize:        4 kB\nRss:                   {rss_kb} kB\nPss:                   {rss_kb} kB\nPrivate_Dirty:         {rss_kb} kB\n",
        start + 0x1000
    )
}

/// Asserts exit status 2 and one line on stderr that names `file`.
fn error_naming(o: &std::process::Output, file: &str) -> String {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}\nstderr: {err}",
        stdout(o)
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(file), "{err}");
    err
}

// ---------------------------------------------------------------- exit while read

/// Mappings of the test program: smaps of this many lines takes the kernel long enough
/// to print that the program's exit lands in the middle of the read.
const MAPPINGS: &str = "60000";

/// How long the program waits, in microseconds, between the go and its exit: from at
/// once to well into the read of its smaps (no assertion depends on it: any outcome
/// is checked; these only make a cut read likely).
const DELAYS: [u64; 4] = [0, 5_000, 30_000, 150_000];

/// What one command made of a process that exited while it was read.
enum Outcome {
    /// Exit 0: the report's count of maps lines (0 when it has none to count).
    Read(usize),
    /// Exit 1: a budget was exceeded (`check`).
    Exceeded,
    /// Exit 2 saying the process exited.
    Exited,
}

/// A process of `n` maps lines exits while elfmaps reads it, `DELAYS.len()` times
/// for each of map, map --rss-only, summary, check, snapshot and system: elfmaps either read it whole
/// (every line) or says it exited (exit 2; in `system`, counted as exited). Before,
/// smaps came out cut short (the kernel ends it with a clean end of file once the
/// address space is gone, long before the process is a zombie) and the report of
/// 10,750 of 60,035 lines exited 0.
#[test]
fn a_process_that_exits_while_read_is_never_a_short_report() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "exiting/manymaps.c", &["-O2"]) else {
        return;
    };
    // libc lies above the program's mappings (mapped first, top-down): a budget on it
    // fails only when smaps was read past them.
    let budget = dir.path().join("libc.toml");
    fs::write(
        &budget,
        "[[budget]]\nobject = \"libc.so*\"\nmax_size = \"1 B\"\n",
    )
    .unwrap();
    let snap = dir.path().join("snap");
    let mut sleeper = Running::sleep();
    let mut exited = 0;
    let mut short = Vec::new();
    for command in ["map", "rss-only", "summary", "check", "snapshot", "system"] {
        for delay in DELAYS {
            let mut child = Running::spawn(
                std::process::Command::new(&exe)
                    .arg(MAPPINGS)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped()),
            );
            let lines: usize = child.lines_until("READY")[0]
                .strip_prefix("maps ")
                .and_then(|n| n.parse().ok())
                .expect("maps N");
            let pid = child.pid_arg();
            let args: Vec<String> = match command {
                "map" => vec!["map".into(), "--json".into(), pid.clone()],
                "rss-only" => vec![
                    "map".into(),
                    "--rss-only".into(),
                    "--json".into(),
                    pid.clone(),
                ],
                "summary" => vec!["summary".into(), "--json".into(), pid.clone()],
                "check" => vec![
                    "check".into(),
                    "--budget".into(),
                    budget.display().to_string(),
                    pid.clone(),
                ],
                "snapshot" => vec![
                    "snapshot".into(),
                    pid.clone(),
                    "-o".into(),
                    snap.display().to_string(),
                ],
                _ => vec![
                    "system".into(),
                    "--json".into(),
                    "--pid".into(),
                    format!("{pid},{}", sleeper.pid()),
                ],
            };
            use std::io::Write;
            writeln!(child.stdin().unwrap(), "{delay}").unwrap();
            let o = elfmaps(&args);
            let err = stderr(&o);
            let outcome = match o.status.code() {
                Some(2) if err.contains(&format!("process {pid}")) && err.contains("exited") => {
                    Outcome::Exited
                }
                Some(1) if command == "check" => Outcome::Exceeded,
                Some(0) => Outcome::Read(match command {
                    "map" | "rss-only" => json(&o)["regions"].as_array().unwrap().len(),
                    "summary" => json(&o)["rows"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["regions"].as_u64().unwrap() as usize)
                        .sum(),
                    "snapshot" => {
                        let v = json(&elfmaps([
                            "map",
                            "--json",
                            "--snapshot",
                            snap.to_str().unwrap(),
                        ]));
                        v["regions"].as_array().unwrap().len()
                    }
                    "system" => {
                        let v = json(&o);
                        let row = v["processes"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|p| p["pid"].as_u64() == pid.parse().ok());
                        match row {
                            Some(p) => p["regions"].as_u64().unwrap() as usize,
                            None => {
                                let k = &v["skipped"];
                                assert_eq!(
                                    k["exited"].as_u64().unwrap() + k["zombies"].as_u64().unwrap(),
                                    1,
                                    "{k}"
                                );
                                exited += 1;
                                lines
                            }
                        }
                    }
                    // check passed: libc was not read.
                    _ => 0,
                }),
                _ => panic!("{args:?}: {:?}\n{err}", o.status),
            };
            match outcome {
                Outcome::Read(n) if n < lines => short.push(format!(
                    "{args:?} after {delay} us: exit 0 with {n} of the {lines} maps lines"
                )),
                Outcome::Read(_) => {}
                Outcome::Exceeded => {}
                Outcome::Exited => exited += 1,
            }
            child.kill();
        }
    }
    sleeper.kill();
    assert!(short.is_empty(), "short reports:\n{}", short.join("\n"));
    // The race was run: some reads were cut (delay 0 exits before most reads end).
    assert!(exited > 0, "no process exited while it was read");
}

/// A process that executes another program while elfmaps reads it: the smaps elfmaps
/// opened lists the old address space, which the kernel ends as short as an exited
/// one's. `map` reads all of the old program, or the new one (opened after the exec,
/// with none of the old program's lines), or says the process exited or executed
/// another program.
#[test]
fn a_process_that_executes_another_while_read_is_never_a_short_report() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "exiting/manymaps.c", &["-O2"]) else {
        return;
    };
    let mut short = Vec::new();
    for delay in DELAYS {
        let mut child = Running::spawn(
            std::process::Command::new(&exe)
                .arg(MAPPINGS)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped()),
        );
        let lines: usize = child.lines_until("READY")[0]
            .strip_prefix("maps ")
            .and_then(|n| n.parse().ok())
            .expect("maps N");
        let pid = child.pid_arg();
        use std::io::Write;
        writeln!(child.stdin().unwrap(), "exec {delay}").unwrap();
        let o = elfmaps(["map", "--json", &pid]);
        let err = stderr(&o);
        match o.status.code() {
            Some(2) if err.contains("executed another program") => {}
            Some(0) => {
                let v = json(&o);
                let regions = v["regions"].as_array().unwrap();
                let n = regions.len();
                // The new program's address space (at any point of its exec: at
                // first a stack alone) has none of the old program's lines, which
                // come first in address order.
                let old = regions.iter().any(|r| r["path"].as_str() == exe.to_str());
                if n < lines && old {
                    short.push(format!(
                        "after {delay} us: exit 0 with {n} of {lines} lines"
                    ));
                }
            }
            _ => panic!("{:?}: {err}", o.status),
        }
        child.kill();
    }
    assert!(short.is_empty(), "short reports:\n{}", short.join("\n"));
}

// ---------------------------------------------------------------- totals

/// The figures of `map --json`, `totals` and each region's.
const FIGURES: [&str; 12] = [
    "size",
    "rss",
    "pss",
    "shared_clean",
    "shared_dirty",
    "private_clean",
    "private_dirty",
    "anonymous",
    "swap",
    "swap_pss",
    "locked",
    "hugetlb",
];

/// The sum of figure `key` over `items`, unknown when one is unknown.
fn sum_of<'a>(items: impl IntoIterator<Item = &'a serde_json::Value>, key: &str) -> Option<u64> {
    items
        .into_iter()
        .try_fold(0u64, |a, r| a.checked_add(r[key].as_u64()?))
}

/// `totals` is documented as the sum of the regions, but was the sum of the smaps
/// lines: with the exact pss of split lines' parts (root: /proc/kpagecount), up to a
/// kB apart per split line (the kernel rounds a line's Pss down to a kB). Every figure
/// the regions all know adds up to the total, in `map` and in `system`'s rows.
/// testdata/system/cow.c has a split line whose pages are mapped 2 and 3 times.
#[test]
fn totals_are_the_sums_of_the_regions() {
    if !common::skip::is_root("reading /proc/kpagecount (exact pss of split lines)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "system/cow.c", &["-O0"]) else {
        return;
    };
    let mut cow = Running::ready(&mut std::process::Command::new(&exe));
    let pid = cow.pid_arg();
    let map = json(&elfmaps(["map", "--json", &pid]));
    assert_eq!(map["split_pss"], "exact", "{}", map["split_pss"]);
    let regions = map["regions"].as_array().unwrap();
    assert!(regions.iter().any(|r| r["split"] == true));
    let mut compared = 0;
    for key in FIGURES {
        if let Some(sum) = sum_of(regions, key) {
            assert_eq!(map["totals"][key], sum, "{key}: {}", map["totals"]);
            compared += 1;
        }
    }
    assert!(compared >= 4, "{}", map["totals"]);
    assert!(sum_of(regions, "pss").is_some());
    let sys = json(&elfmaps(["system", "--json", "--pid", &pid]));
    let rows = sys["rows"].as_array().unwrap();
    for key in ["size", "rss", "pss"] {
        assert_eq!(
            sys["totals"][key],
            sum_of(rows, key).unwrap(),
            "{key}: {}",
            sys["totals"]
        );
    }
    cow.kill();
}

// ---------------------------------------------------------------- empty input

/// `map --smaps /dev/null` or an empty file printed "0 regions" with exit 0, and
/// `check --budget` on it "none exceeded": no line to read is an error naming the file.
#[test]
fn empty_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.smaps");
    fs::write(&empty, b"").unwrap();
    let budget = dir.path().join("b.toml");
    fs::write(&budget, "[[budget]]\nobject = \"*\"\nmax_rss = \"1 MiB\"\n").unwrap();
    let empty = empty.to_str().unwrap();
    let budget = budget.to_str().unwrap();
    for file in ["/dev/null", empty] {
        for args in [
            vec!["map", "--smaps", file],
            vec!["map", "--maps", file],
            vec!["map", "--json", "--smaps", file],
            vec!["summary", "--smaps", file],
            vec!["check", "--budget", budget, "--smaps", file],
            vec!["report", "-o", "-", "--smaps", file],
        ] {
            let o = elfmaps(&args);
            let err = error_naming(&o, file);
            assert!(err.contains("no maps line"), "{args:?}: {err}");
        }
    }
}

// ---------------------------------------------------------------- overflow

/// Two lines whose Rss adds up past 2^64 bytes: the sum is unknown (null), not the
/// 2 MiB it wraps to, in the process's totals, in `summary` and in the object's
/// totals, and a `max_rss` budget is not measurable instead of passing.
#[test]
fn sums_that_overflow_are_unknown() {
    let huge = (u64::MAX >> 10) - 1; // kB: 2^64 - 2048 bytes
    let mut text = anon_line(0x7f00_0000_0000, huge);
    text += &anon_line(0x7f00_0000_2000, 2048 + 2);
    let dir = tempfile::tempdir().unwrap();
    let smaps = dir.path().join("wrap.smaps");
    fs::write(&smaps, &text).unwrap();
    let smaps = smaps.to_str().unwrap();
    let map = json(&elfmaps(["map", "--json", "--smaps", smaps]));
    assert_eq!(
        map["totals"]["rss"],
        serde_json::Value::Null,
        "{}",
        map["totals"]
    );
    assert_eq!(
        map["totals"]["pss"],
        serde_json::Value::Null,
        "{}",
        map["totals"]
    );
    assert_eq!(map["totals"]["size"], 0x2000);
    let sum = json(&elfmaps(["summary", "--json", "--smaps", smaps]));
    assert_eq!(
        sum["totals"]["rss"],
        serde_json::Value::Null,
        "{}",
        sum["totals"]
    );
    let table = stdout(&elfmaps(["map", "--smaps", smaps]));
    let last = table.lines().last().unwrap_or_default();
    assert!(last.contains("rss -, pss -"), "{table}");

    // One object whose two lines overflow: its rss is unknown, and a budget on it is
    // not measurable (it passed, on the wrapped 2 MiB).
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("lib")).unwrap();
    let mut elf = Elf64::dyn_with(&[Phdr::load(PF_R | PF_X, 0, 0, 0x2000, 0x2000, 0x1000)]).bytes();
    elf.resize(0x2000, 0);
    fs::write(root.join("lib/libbig.so"), &elf).unwrap();
    let line = |start: u64, offset: u64, rss_kb: u64| {
        format!(
            "{start:x}-{:x} r-xp {offset:08x} 08:01 77 /lib/libbig.so\nSize:                  4 kB\nKernelPageSize:        4 kB\nRss:                   {rss_kb} kB\nPss:                   {rss_kb} kB\n",
            start + 0x1000
        )
    };
    let text = line(0x10000, 0, huge) + &line(0x11000, 0x1000, 2048 + 2);
    let smaps = dir.path().join("lib.smaps");
    fs::write(&smaps, text).unwrap();
    let budget = dir.path().join("b.toml");
    fs::write(
        &budget,
        "[[budget]]\nobject = \"libbig.so\"\nmax_rss = \"1 GiB\"\n",
    )
    .unwrap();
    let args = |json: bool| {
        let mut a = vec![
            "check".to_string(),
            "--budget".into(),
            budget.display().to_string(),
            "--smaps".into(),
            smaps.display().to_string(),
            "--sysroot".into(),
            root.display().to_string(),
        ];
        if json {
            a.push("--json".into());
        }
        a
    };
    let map = json(&elfmaps([
        "map",
        "--json",
        "--smaps",
        smaps.to_str().unwrap(),
        "--sysroot",
        root.to_str().unwrap(),
    ]));
    let objects = map["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{map}");
    assert_eq!(
        objects[0]["totals"]["rss"],
        serde_json::Value::Null,
        "{}",
        objects[0]
    );
    let checked = json(&elfmaps(args(true)));
    let codes: Vec<&str> = checked["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"budget-unmeasured"), "{checked}");
}

// ---------------------------------------------------------------- smemcap

/// A tar header as smemcap writes it (no magic), for `name` of `size` bytes.
fn tar_header(name: &str, size: usize, kind: u8) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let mut put = |at: usize, s: String| h[at..at + s.len()].copy_from_slice(s.as_bytes());
    put(100, format!("{:o}", 0o444));
    put(108, "0".into());
    put(116, "0".into());
    put(124, format!("{size:o}"));
    put(136, "0".into());
    h[156] = kind;
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

fn tar_file(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    out.extend(tar_header(name, data.len(), b'0'));
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// A capture cut inside a tar header was read up to the cut, the processes after it
/// dropped without a word: it is an error naming the file and the offset.
#[test]
fn smemcap_cut_inside_a_header_is_an_error() {
    let mut tar = Vec::new();
    for pid in [100u32, 200] {
        tar.extend(tar_header(&pid.to_string(), 0, b'5'));
        tar_file(
            &mut tar,
            &format!("{pid}/smaps"),
            anon_line(0x7f00_0000_0000, 4).as_bytes(),
        );
        tar_file(&mut tar, &format!("{pid}/cmdline"), b"x\0");
        tar_file(
            &mut tar,
            &format!("{pid}/stat"),
            format!("{pid} (x) S 1 {pid} {pid} 0 -1 4194560 0").as_bytes(),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.tar");
    fs::write(&whole, &tar).unwrap();
    let ok = json(&elfmaps([
        "system",
        "--json",
        "--smemcap",
        whole.to_str().unwrap(),
    ]));
    assert_eq!(ok["processes"].as_array().unwrap().len(), 2, "{ok}");
    // The second process's directory header (after the first's seven blocks), cut
    // after 100 bytes.
    let second = 7 * 512;
    let cut = dir.path().join("cut.tar");
    fs::write(&cut, &tar[..second + 100]).unwrap();
    let cut = cut.to_str().unwrap();
    let err = error_naming(&elfmaps(["system", "--json", "--smemcap", cut]), cut);
    assert!(err.contains("3584"), "{err}");
    // Cut in the padding after an entry's data: the entries after it are lost too.
    fs::write(dir.path().join("cut.tar"), &tar[..second - 100]).unwrap();
    let err = error_naming(&elfmaps(["system", "--json", "--smemcap", cut]), cut);
    assert!(err.contains("2560"), "{err}");
}

// ---------------------------------------------------------------- schema versions

/// `diff` compared reports of any `schema_version` (999) as if it knew them: one of
/// another version is refused, naming the file and the version.
#[test]
fn diff_refuses_schema_versions_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let smaps = dir.path().join("a.smaps");
    fs::write(&smaps, anon_line(0x7f00_0000_0000, 4)).unwrap();
    let smaps = smaps.to_str().unwrap();
    let saved = [
        ("map", json(&elfmaps(["map", "--json", "--smaps", smaps]))),
        (
            "summary",
            json(&elfmaps(["summary", "--json", "--smaps", smaps])),
        ),
        ("layout", json(&elfmaps(["layout", "--json", BIN]))),
    ];
    for (what, v) in saved {
        let good = dir.path().join(format!("{what}.json"));
        fs::write(&good, v.to_string()).unwrap();
        let good = good.to_str().unwrap();
        let o = elfmaps(["diff", good, good]);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
        for version in [
            serde_json::json!(999),
            serde_json::json!(0),
            serde_json::json!("1"),
        ] {
            let mut bad = v.clone();
            bad["schema_version"] = version.clone();
            let file = dir.path().join(format!("{what}-bad.json"));
            fs::write(&file, bad.to_string()).unwrap();
            let file = file.to_str().unwrap();
            for args in [["diff", good, file], ["diff", file, good]] {
                let err = error_naming(&elfmaps(args), file);
                assert!(err.contains("schema_version"), "{what} {version}: {err}");
            }
        }
    }
}

//! `elfmaps system` (issue 11) against ground truth: several processes map one test
//! library (testdata/system); the row of its text says how many, and its pss and rss
//! are the sums of what each process's smaps and pagemap say. Processes that exit
//! during a scan, zombies and kernel threads are counted, never fatal; an
//! unprivileged user gets the processes it may read and the others counted. `map`
//! with several PIDs, a name and `self`.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::child::Running;
use common::cli::{self, json, json_ok, stderr};
use common::truth::kernel::{present_pages, read_maps};
use common::{build, skip};

/// The test programs, built once per test in `dir`.
struct Programs {
    mapper: PathBuf,
    /// A copy of the mapper under another name: another program mapping the library.
    other: PathBuf,
    lib: PathBuf,
}

fn programs(dir: &Path) -> Option<Programs> {
    let (mapper, lib) = build::shared_library_and_mapper(dir)?;
    let other = dir.join("othermapper");
    fs::copy(&mapper, &other).unwrap();
    Some(Programs { mapper, other, lib })
}

/// Starts `exe LIB` and waits for its READY.
fn start(exe: &Path, lib: &Path) -> Running {
    Running::ready(Command::new(exe).arg(lib))
}

/// The text lines (`r-xp`) of `lib` in the maps of `pid`: (start, end).
fn text_lines(pid: u32, lib: &Path) -> Vec<(u64, u64)> {
    let lib = lib.to_str().unwrap();
    read_maps(pid)
        .into_iter()
        .filter(|l| l.path.as_deref() == Some(lib) && l.perms == "r-xp")
        .map(|l| (l.start, l.end))
        .collect()
}

/// The sum of the `Pss:` lines of the smaps entries of `pid` starting at `starts`, in
/// bytes.
fn smaps_pss(pid: u32, starts: &[u64]) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut total = 0;
    let mut current = false;
    for line in text.lines() {
        if line.starts_with(|c: char| c.is_ascii_uppercase()) {
            // A field line: `Key:   value kB`.
            if current && let Some(kb) = line.strip_prefix("Pss:") {
                let kb = kb.trim().trim_end_matches("kB").trim();
                total += kb.parse::<u64>().unwrap() * 1024;
            }
        } else {
            // A mapping's first line: `start-end perms ...`.
            let start = line.split('-').next().unwrap();
            current = starts.contains(&u64::from_str_radix(start, 16).unwrap());
        }
    }
    total
}

/// The row of `kind` of the object whose path is `lib`.
fn row<'a>(sys: &'a Value, lib: &Path, kind: &str) -> &'a Value {
    let lib = lib.to_str().unwrap();
    sys["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["object"] == lib && r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} row of {lib}: {}", sys["rows"]))
}

fn pid_list(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// N copies of one program and another program map the library: the row of its
/// text has processes N + 1, pss the sum of their smaps Pss lines for it, and rss the
/// sum of their present pages.
#[test]
fn the_text_of_a_shared_library_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let Some(p) = programs(dir.path()) else {
        return;
    };
    const N: usize = 3;
    let mut procs: Vec<Running> = (0..N).map(|_| start(&p.mapper, &p.lib)).collect();
    procs.push(start(&p.other, &p.lib));
    // A process that does not map it.
    let mut sleeper = Running::sleep();
    let pids: Vec<u32> = procs.iter().map(Running::pid).collect();

    let mut want_pss = 0;
    let mut want_rss = 0;
    for &pid in &pids {
        let lines = text_lines(pid, &p.lib);
        assert_eq!(lines.len(), 1, "{pid}: {lines:?}");
        let starts: Vec<u64> = lines.iter().map(|l| l.0).collect();
        want_pss += smaps_pss(pid, &starts);
        let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
        for (s, e) in &lines {
            want_rss += present_pages(&pagemap, *s, *e, 4096)
                .iter()
                .filter(|&&b| b)
                .count() as u64
                * 4096;
        }
    }
    assert!(want_rss >= (N as u64 + 1) * 4 * 4096, "rss {want_rss}");
    assert!(want_pss > 0);

    let mut all = pids.clone();
    all.push(sleeper.pid());
    let sys = json_ok(["system", "--json", "--pid", &pid_list(&all)]);
    assert_eq!(sys["kind"], "system");
    assert_eq!(sys["processes"].as_array().unwrap().len(), N + 2);
    let text = row(&sys, &p.lib, "text");
    assert_eq!(text["processes"], N + 1, "{text}");
    assert_eq!(text["regions"], N + 1, "{text}");
    assert_eq!(text["pss"], want_pss, "{text}");
    assert_eq!(text["rss"], want_rss, "{text}");
    assert!(text["inode"].as_u64().unwrap() > 0 && text["dev"].is_string());
    // Every kind of it is there, and its bss in each process.
    for kind in ["rodata", "data", "relro", "bss"] {
        assert_eq!(row(&sys, &p.lib, kind)["processes"], N + 1, "{kind}");
    }
    // The object's total is the sum of its kinds.
    let lib = p.lib.to_str().unwrap();
    let object = sys["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["object"] == lib)
        .unwrap();
    let kinds_pss: u64 = sys["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["object"] == lib)
        .map(|r| r["pss"].as_u64().unwrap())
        .sum();
    assert_eq!(object["pss"], kinds_pss);
    assert!(sys["skipped"]["processes"].is_null());
    assert_eq!(sys["skipped"]["exited"], 0);

    // The whole machine: the same row (no other process maps this library).
    let whole = json_ok(["system", "--json"]);
    let t = row(&whole, &p.lib, "text");
    assert_eq!(t["processes"], N + 1, "{t}");
    assert_eq!(t["pss"], want_pss, "{t}");
    for p in &pids {
        assert!(
            whole["processes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["pid"] == *p)
        );
    }

    // By name: the N copies only (their comm), or with the other program too.
    let named = json_ok(["system", "--json", "--name", "mapper"]);
    assert_eq!(row(&named, &p.lib, "text")["processes"], N);
    let both = json_ok([
        "system",
        "--json",
        "--name",
        "mapper",
        "--name",
        "othermapper",
    ]);
    assert_eq!(row(&both, &p.lib, "text")["processes"], N + 1);
    // By user (root runs them all here, or this user).
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() }.to_string();
    let mine = json_ok(["system", "--json", "--user", &uid, "--name", "mapper"]);
    assert_eq!(row(&mine, &p.lib, "text")["processes"], N);
    let o = cli::elfmaps(["system", "--user", "no-such-user-here"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // By cgroup: this test's own (the deepest path of /proc/self/cgroup).
    let cgroup = fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2).map(str::to_string))
        .max_by_key(String::len)
        .unwrap();
    let cg = json_ok(["system", "--json", "--cgroup", &cgroup, "--name", "mapper"]);
    assert_eq!(row(&cg, &p.lib, "text")["processes"], N);
    let o = cli::elfmaps(["system", "--cgroup", "/no/such/cgroup/here"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no process matches"), "{}", stderr(&o));

    // --object: one line per process, as librank.
    let users = json_ok([
        "system",
        "--json",
        "--object",
        "libshared.so",
        "--pid",
        &pid_list(&all),
    ]);
    assert_eq!(users["kind"], "system-object");
    let objects = users["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1);
    let u = objects[0]["users"].as_array().unwrap();
    assert_eq!(u.len(), N + 1);
    let sum: u64 = u.iter().map(|x| x["pss"].as_u64().unwrap()).sum();
    assert_eq!(objects[0]["pss"], sum);
    let o = cli::elfmaps(["system", "--object", "libshared.so", "--color", "never"]);
    let table = cli::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for pid in &pids {
        assert!(
            table
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{pid} "))),
            "{table}"
        );
    }
    for view in [&["--by", "kind"][..], &["--by", "process"], &["--top", "3"]] {
        let o = cli::elfmaps(["system", "--color", "never"].iter().chain(view));
        assert_eq!(o.status.code(), Some(0), "{view:?}: {}", stderr(&o));
        assert!(cli::stdout(&o).contains("(total)"), "{view:?}");
    }
    for r in &mut procs {
        r.kill();
    }
    sleeper.kill();
}

/// `system --rss-only` reads maps and pagemap, not smaps: the row of the library's
/// text has the same processes and regions, rss the sum of their present pages, and
/// pss null; the JSON says which mode made it.
#[test]
fn rss_only_scan() {
    let dir = tempfile::tempdir().unwrap();
    let Some(p) = programs(dir.path()) else {
        return;
    };
    const N: usize = 3;
    let procs: Vec<Running> = (0..N).map(|_| start(&p.mapper, &p.lib)).collect();
    let pids: Vec<u32> = procs.iter().map(Running::pid).collect();
    let mut want_rss = 0;
    for &pid in &pids {
        let lines = text_lines(pid, &p.lib);
        assert_eq!(lines.len(), 1, "{pid}: {lines:?}");
        let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
        for (s, e) in &lines {
            want_rss += present_pages(&pagemap, *s, *e, 4096)
                .iter()
                .filter(|&&b| b)
                .count() as u64
                * 4096;
        }
    }
    assert!(want_rss >= N as u64 * 4 * 4096, "rss {want_rss}");
    let sys = json_ok(["system", "--rss-only", "--json", "--pid", &pid_list(&pids)]);
    assert_eq!(sys["source"], "live maps+pagemap");
    assert_eq!(sys["processes"].as_array().unwrap().len(), N);
    let text = row(&sys, &p.lib, "text");
    assert_eq!(text["processes"], N, "{text}");
    assert_eq!(text["regions"], N, "{text}");
    assert_eq!(text["rss"], want_rss, "{text}");
    assert!(text["pss"].is_null(), "{text}");
    assert!(text["private_clean"].is_null() && text["shared_clean"].is_null());
    assert_eq!(text["swap"], 0, "{text}");
    // The same rows as the full scan, by object and kind.
    let full = json_ok(["system", "--json", "--pid", &pid_list(&pids)]);
    let keys = |s: &Value| {
        let mut k: Vec<String> = s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{} {} {}", r["object"], r["kind"], r["regions"]))
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&sys), keys(&full));
    drop(procs);
}

/// A process that is gone, a zombie and a kernel thread, named by PID: each counted
/// under its reason, listed with --verbose, and the scan goes on (exit 0); a scan
/// that could read no process at all is an error (exit 2).
#[test]
fn skipped_processes_are_counted() {
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    // A child that exits and is not reaped until the end of the test: a zombie.
    let mut zombie = Command::new("true").spawn().unwrap();
    let zombie_pid = zombie.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(format!("/proc/{zombie_pid}/stat"))
        .unwrap()
        .contains(") Z ")
    {
        assert!(Instant::now() < deadline, "no zombie");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut sleeper = Running::sleep();
    let mut pids = vec![sleeper.pid(), gone_pid, zombie_pid];
    // kthreadd, when this PID namespace shows it.
    let kthread = fs::read_to_string("/proc/2/stat").is_ok_and(|s| s.contains("(kthreadd)"));
    if kthread {
        pids.push(2);
    } else {
        skip::skip("no kernel thread visible here: kernel_threads not checked");
    }
    let o = cli::elfmaps(["system", "--json", "--verbose", "--pid", &pid_list(&pids)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sys = json(&o);
    let s = &sys["skipped"];
    assert_eq!(
        (s["exited"].as_u64(), s["zombies"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(s["kernel_threads"], u64::from(kthread));
    assert_eq!(s["denied"], 0);
    let listed = s["processes"].as_array().unwrap();
    assert_eq!(listed.len(), 2 + usize::from(kthread));
    let reason = |pid: u32| {
        listed
            .iter()
            .find(|p| p["pid"] == pid)
            .map(|p| p["reason"].as_str().unwrap().to_string())
    };
    assert_eq!(reason(gone_pid).as_deref(), Some("exited"));
    assert_eq!(reason(zombie_pid).as_deref(), Some("zombie"));
    assert_eq!(sys["processes"].as_array().unwrap().len(), 1);
    // One process exited: memory is missing, and a warning says so.
    let codes: Vec<String> = cli::warnings(&sys).into_iter().map(|w| w.code).collect();
    assert!(codes.contains(&"process-skipped".to_string()), "{codes:?}");
    assert!(stderr(&o).contains("process-skipped") || stderr(&o).contains("not read"));
    // The table lists them with --verbose.
    let o = cli::elfmaps([
        "system",
        "--verbose",
        "--color",
        "never",
        "--pid",
        &pid_list(&pids),
    ]);
    let out = cli::stdout(&o);
    assert!(out.contains("skipped:") && out.contains("zombie"), "{out}");
    // Nothing readable: exit 2. Issue 20: a PID that is not running is no match,
    // not "1 exited".
    let o = cli::elfmaps(["system", "--pid", &gone_pid.to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no process matches the selection (1 process selected not running)"),
        "{}",
        stderr(&o)
    );
    zombie.wait().unwrap();
    sleeper.kill();
}

/// Processes that come and go during the scan (a loop that forks and reaps): every
/// scan exits 0, each process appears once, and the rows add up to the processes.
#[test]
fn processes_exit_during_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "system/forker.c", &["-O0"]) else {
        return;
    };
    let forker = Running::ready(&mut Command::new(&exe));
    let mut exited = 0;
    for _ in 0..5 {
        let o = cli::elfmaps(["system", "--json", "--verbose"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let sys = json(&o);
        let procs = sys["processes"].as_array().unwrap();
        let mut pids: Vec<u64> = procs.iter().map(|p| p["pid"].as_u64().unwrap()).collect();
        let n = pids.len();
        pids.dedup();
        assert_eq!(pids.len(), n, "a process twice");
        let skipped = &sys["skipped"];
        let listed = skipped["processes"].as_array().unwrap();
        let counted: u64 = ["exited", "denied", "kernel_threads", "zombies", "failed"]
            .iter()
            .map(|k| skipped[k].as_u64().unwrap())
            .sum();
        assert_eq!(counted, listed.len() as u64);
        exited += skipped["exited"].as_u64().unwrap();
        // The rows are the processes' regions, every one once.
        let regions = |v: &Value| -> u64 {
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| r["regions"].as_u64().unwrap())
                .sum()
        };
        assert_eq!(regions(&sys["rows"]), regions(&sys["processes"]));
        assert_eq!(regions(&sys["kinds"]), regions(&sys["processes"]));
        let size: u64 = procs.iter().map(|p| p["size"].as_u64().unwrap()).sum();
        assert_eq!(sys["totals"]["size"], size);
    }
    skip::note(&format!("{exited} processes exited during 5 scans"));
    forker.finish();
}

const NOBODY: [&str; 4] = [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
];

/// As an unprivileged user: its own processes are read, the others counted as denied
/// (exit 0, with a warning).
#[test]
fn unprivileged_scan() {
    if !skip::is_root("switching to an unprivileged user")
        || !skip::have_tool("setpriv", &["--version"])
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("elfmaps");
    fs::copy(cli::BIN, &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    let as_nobody = |args: &[&str]| {
        let mut c = Command::new("setpriv");
        c.args(NOBODY).arg("--").args(args);
        c
    };
    let mut theirs = Running::start(as_nobody(&["sleep", "60"]).stdin(Stdio::null()));
    let mut ours = Running::sleep();
    let pids = pid_list(&[theirs.pid(), ours.pid()]);
    let run = |args: &[&str]| {
        let mut all = vec![bin.to_str().unwrap()];
        all.extend_from_slice(args);
        cli::checked(as_nobody(&all).stdin(Stdio::null()).output().unwrap())
    };
    let o = run(&["system", "--json", "--pid", &pids]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sys = json(&o);
    let procs = sys["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 1);
    assert_eq!(procs[0]["pid"], theirs.pid());
    assert_eq!(procs[0]["uid"], 65534);
    assert_eq!(sys["skipped"]["denied"], 1);
    assert!(
        cli::warnings(&sys)
            .iter()
            .any(|w| w.code == "process-skipped"),
        "{}",
        sys["warnings"]
    );
    // The whole machine: at least its own sleeper read, root's processes denied.
    let o = run(&["system", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sys = json(&o);
    assert!(sys["skipped"]["denied"].as_u64().unwrap() >= 1);
    assert!(
        sys["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == theirs.pid())
    );
    // Only root's processes: nothing readable, exit 2.
    let o = run(&["system", "--pid", &ours.pid().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    theirs.kill();
    ours.kill();
}

/// `map` takes several PIDs, a process name and `self`.
#[test]
fn map_several_processes() {
    let dir = tempfile::tempdir().unwrap();
    let Some(p) = programs(dir.path()) else {
        return;
    };
    // A name of this test's own: other tests of this file start and end `mapper`
    // processes meanwhile, and one that exits between the lookup and the read is an
    // error (exit 2), as any process that exits while it is read.
    let name = format!("msp{}", std::process::id() % 100_000);
    let exe = dir.path().join(&name);
    fs::copy(&p.mapper, &exe).unwrap();
    let mut a = start(&exe, &p.lib);
    let mut b = start(&exe, &p.lib);
    let o = cli::elfmaps(["map", "--json", &a.pid_arg(), &b.pid_arg()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let docs: Vec<Value> = cli::stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["pid"], a.pid());
    assert_eq!(docs[1]["pid"], b.pid());
    // By name: both, in PID order.
    let o = cli::elfmaps(["map", "--color", "never", &name]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = cli::stdout(&o);
    for r in [&a, &b] {
        assert!(out.contains(&format!("{}:   ", r.pid())), "{out}");
    }
    // self: elfmaps itself.
    let me = json_ok(["map", "--json", "self"]);
    assert!(
        me["command"].as_str().unwrap().contains("map --json self"),
        "{}",
        me["command"]
    );
    // A PID that cannot be read is an error after the others.
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id().to_string();
    gone.wait().unwrap();
    let o = cli::elfmaps(["map", "--json", &a.pid_arg(), &gone_pid]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(cli::stdout(&o).lines().count(), 1);
    // summary takes one.
    let o = cli::elfmaps(["summary", &name]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("only map takes several"),
        "{}",
        stderr(&o)
    );
    a.kill();
    b.kill();
}

/// With CAP_SYS_ADMIN, the pss of each part of a split maps line is exact: the sum
/// over its present pages of page_size / kpagecount (as the kernel sums Pss, with 12
/// bits of fraction), and the report says so. testdata/system/cow.c shares its pages
/// with two children, one of which writes some again: map counts 2 and 3.
#[test]
fn exact_pss_of_split_parts() {
    if !skip::is_root("reading /proc/kpagecount") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "system/cow.c", &["-O0"]) else {
        return;
    };
    let mut cow = Running::spawn(
        Command::new(&exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let extra = cow
        .lines_until("READY")
        .iter()
        .find_map(|l| l.strip_prefix("EXTRA 0x"))
        .map(|a| u64::from_str_radix(a, 16).unwrap())
        .expect("no EXTRA");
    let pid = cow.pid();
    let map = json_ok(["map", "--json", &pid.to_string()]);
    assert_eq!(map["split_pss"], "exact", "{}", map["split_pss"]);
    let regions = map["regions"].as_array().unwrap();
    let line = regions
        .iter()
        .find(|r| r["start"] == extra && r["split"] == true)
        .unwrap_or_else(|| panic!("no split part at {extra:#x}"))["line"]
        .clone();
    // The parts of that line: the executable's bss, and the anonymous mapping after it.
    let parts: Vec<&Value> = regions.iter().filter(|r| r["line"] == line).collect();
    assert_eq!(parts.len(), 2);
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
    let kpagecount = File::open("/proc/kpagecount").unwrap();
    let zero = common::truth::kernel::zero_pfn();
    let mut counts_seen = std::collections::BTreeSet::new();
    for r in &parts {
        let (start, end) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
        let mut sum: u128 = 0;
        for page in (start..end).step_by(4096) {
            let mut e = [0u8; 8];
            std::os::unix::fs::FileExt::read_exact_at(&pagemap, &mut e, page / 4096 * 8).unwrap();
            let e = u64::from_ne_bytes(e);
            let pfn = e & ((1 << 55) - 1);
            if e >> 63 == 0 || Some(pfn) == zero {
                continue;
            }
            let mut c = [0u8; 8];
            std::os::unix::fs::FileExt::read_exact_at(&kpagecount, &mut c, pfn * 8).unwrap();
            let count = u64::from_ne_bytes(c);
            counts_seen.insert(count);
            sum += if count <= 1 {
                4096 << 12
            } else {
                (4096u128 << 12) / u128::from(count)
            };
        }
        assert_eq!(r["pss"], (sum >> 12) as u64, "{r}");
    }
    assert!(
        counts_seen.contains(&2) && counts_seen.contains(&3),
        "map counts {counts_seen:?}"
    );
    // The parts add up to the line's smaps Pss, to its rounding down to a kB.
    let line_pss = smaps_pss(pid, &[parts[0]["start"].as_u64().unwrap()]);
    let parts_pss: u64 = parts.iter().map(|r| r["pss"].as_u64().unwrap()).sum();
    assert!(
        parts_pss >= line_pss && parts_pss - line_pss < 1024 + parts.len() as u64,
        "parts {parts_pss}, line {line_pss}"
    );
    // The machine's view says the same.
    let sys = json_ok(["system", "--json", "--pid", &pid.to_string()]);
    assert_eq!(sys["split_pss"], "exact");
    cow.kill();
}

/// A tar header as smemcap writes it (no magic), for `name` of `size` bytes.
fn tar_header(name: &str, size: usize, kind: u8, uid: u32) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let mut put = |at: usize, s: String| h[at..at + s.len()].copy_from_slice(s.as_bytes());
    put(100, format!("{:o}", 0o444));
    put(108, format!("{uid:o}"));
    put(116, "0".into());
    put(124, format!("{size:o}"));
    put(136, "0".into());
    h[156] = kind;
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

/// What smemcap writes for the processes `pids` (smem's smemcap.c): meminfo,
/// version, then per process a directory and its smaps, cmdline and stat, each with
/// the owner of the /proc file; no end-of-archive blocks.
fn smemcap_tar(pids: &[u32]) -> Vec<u8> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let file = |out: &mut Vec<u8>, name: &str, path: &str| {
        let data = fs::read(path).unwrap();
        let uid = fs::metadata(path).unwrap().uid();
        out.extend(tar_header(name, data.len(), b'0', uid));
        out.extend_from_slice(&data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    };
    file(&mut out, "meminfo", "/proc/meminfo");
    file(&mut out, "version", "/proc/version");
    for pid in pids {
        out.extend(tar_header(&pid.to_string(), 0, b'5', 0));
        for f in ["smaps", "cmdline", "stat"] {
            file(&mut out, &format!("{pid}/{f}"), &format!("/proc/{pid}/{f}"));
        }
    }
    out
}

/// Offline, for boards: a system snapshot and an smemcap capture of the processes
/// that map the test library, analysed with the files under a sysroot (here /), give
/// the live scan's row of its text; a split line's residency is recorded.
#[test]
fn system_snapshots_and_smemcap_captures() {
    let dir = tempfile::tempdir().unwrap();
    let Some(p) = programs(dir.path()) else {
        return;
    };
    const N: usize = 3;
    let mut procs: Vec<Running> = (0..N).map(|_| start(&p.mapper, &p.lib)).collect();
    let mut pids: Vec<u32> = procs.iter().map(Running::pid).collect();
    let want_pss: u64 = pids
        .iter()
        .map(|&pid| {
            let starts: Vec<u64> = text_lines(pid, &p.lib).iter().map(|l| l.0).collect();
            smaps_pss(pid, &starts)
        })
        .sum();
    let live = json_ok(["system", "--json", "--pid", &pid_list(&pids)]);
    let live_text = row(&live, &p.lib, "text").clone();
    assert_eq!(live_text["pss"], want_pss);

    // A zombie among them: recorded as skipped.
    let mut zombie = Command::new("true").spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(format!("/proc/{}/stat", zombie.id()))
        .unwrap()
        .contains(") Z ")
    {
        assert!(Instant::now() < deadline, "no zombie");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut with_zombie = pids.clone();
    with_zombie.push(zombie.id());

    // elfmaps snapshot --system, then system --snapshot.
    let snap = dir.path().join("machine.snap");
    let o = cli::elfmaps([
        "snapshot",
        "--system",
        "--pid",
        &pid_list(&with_zombie),
        "-o",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let off = json_ok([
        "system",
        "--json",
        "--verbose",
        "--cmdline",
        "--snapshot",
        snap.to_str().unwrap(),
        "--sysroot",
        "/",
    ]);
    assert_eq!(off["source"], "snapshot");
    assert_eq!(off["skipped"]["zombies"], 1);
    let t = row(&off, &p.lib, "text");
    for k in [
        "processes",
        "regions",
        "size",
        "rss",
        "pss",
        "private_dirty",
    ] {
        assert_eq!(t[k], live_text[k], "{k}: {t} against {live_text}");
    }
    let procs_off = off["processes"].as_array().unwrap();
    assert_eq!(procs_off.len(), N);
    assert_eq!(procs_off[0]["comm"], "mapper");
    assert!(
        procs_off[0]["command"]
            .as_str()
            .unwrap()
            .ends_with("libshared.so")
    );
    // Selection applies to a snapshot too.
    let one = json_ok([
        "system",
        "--json",
        "--snapshot",
        snap.to_str().unwrap(),
        "--pid",
        &pids[0].to_string(),
    ]);
    assert_eq!(row(&one, &p.lib, "text")["processes"], 1);
    // The single-process reader says what the file is.
    let o = cli::elfmaps(["map", "--snapshot", snap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("system --snapshot"), "{}", stderr(&o));

    // An smemcap capture, as smemcap writes it.
    let tar = dir.path().join("capture.tar");
    let cap_pids: Vec<u32> = with_zombie.clone();
    fs::write(&tar, smemcap_tar(&cap_pids)).unwrap();
    let cap = json_ok([
        "system",
        "--json",
        "--smemcap",
        tar.to_str().unwrap(),
        "--sysroot",
        "/",
    ]);
    assert_eq!(cap["source"], "smemcap");
    assert_eq!(cap["skipped"]["zombies"], 1);
    let t = row(&cap, &p.lib, "text");
    for k in ["processes", "regions", "size", "rss", "pss"] {
        assert_eq!(t[k], live_text[k], "{k}: {t} against {live_text}");
    }
    assert_eq!(cap["processes"][0]["uid"], live["processes"][0]["uid"]);
    // The standard layout (tar of a copy of /proc, as smem's capture script does).
    if skip::have_tool("tar", &["--version"]) {
        let copy = dir.path().join("copy");
        for pid in &pids {
            let d = copy.join(pid.to_string());
            fs::create_dir_all(&d).unwrap();
            for f in ["smaps", "cmdline", "stat"] {
                fs::write(d.join(f), fs::read(format!("/proc/{pid}/{f}")).unwrap()).unwrap();
            }
        }
        let tgz = dir.path().join("std.tar");
        let names: Vec<String> = pids.iter().map(u32::to_string).collect();
        let st = Command::new("tar")
            .arg("cf")
            .arg(&tgz)
            .arg("-C")
            .arg(&copy)
            .args(&names)
            .status()
            .unwrap();
        assert!(st.success());
        let std = json_ok([
            "system",
            "--json",
            "--smemcap",
            tgz.to_str().unwrap(),
            "--sysroot",
            "/",
        ]);
        assert_eq!(row(&std, &p.lib, "text")["pss"], live_text["pss"]);
        // Compressed: an error that says what to do.
        let st = Command::new("gzip").arg("-k").arg(&tgz).status();
        if st.is_ok_and(|s| s.success()) {
            let gz = dir.path().join("std.tar.gz");
            let o = cli::elfmaps(["system", "--smemcap", gz.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(2));
            assert!(stderr(&o).contains("decompress"), "{}", stderr(&o));
        }
    }
    zombie.wait().unwrap();
    pids.clear();
    for r in &mut procs {
        r.kill();
    }
}

/// A system snapshot records the residency of split lines: offline, a split part's
/// rss is the live one.
#[test]
fn system_snapshots_record_residency() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "system/cow.c", &["-O0"]) else {
        return;
    };
    let mut cow = Running::ready(&mut Command::new(&exe));
    let pid = cow.pid().to_string();
    let live = json_ok(["map", "--json", &pid]);
    let snap = dir.path().join("m.snap");
    let o = cli::elfmaps([
        "snapshot",
        "--system",
        "--pid",
        &pid,
        "-o",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let off = json_ok([
        "system",
        "--json",
        "--snapshot",
        snap.to_str().unwrap(),
        "--sysroot",
        "/",
    ]);
    let split_rss: u64 = live["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["split"] == true && r["kind"] == "bss")
        .map(|r| r["rss"].as_u64().unwrap())
        .sum();
    assert!(split_rss > 0);
    let exe_name = exe.to_str().unwrap();
    let bss = off["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["object"] == exe_name && r["kind"] == "bss")
        .unwrap_or_else(|| panic!("no bss row: {}", off["rows"]));
    assert_eq!(bss["rss"], split_rss, "{bss}");
    cow.kill();
}

/// `check --budget` measures the whole machine (`--system`, or a system snapshot):
/// a library's text summed over every process that maps it; `diff` compares two
/// system reports: what grew between two scans.
#[test]
fn budgets_and_diffs_of_the_machine() {
    let dir = tempfile::tempdir().unwrap();
    let Some(p) = programs(dir.path()) else {
        return;
    };
    let mut procs: Vec<Running> = (0..2).map(|_| start(&p.mapper, &p.lib)).collect();
    let pids: Vec<u32> = procs.iter().map(Running::pid).collect();
    let before = json_ok(["system", "--json", "--pid", &pid_list(&pids)]);
    let text = row(&before, &p.lib, "text").clone();
    let data = row(&before, &p.lib, "data").clone();
    let total_rss = text["rss"].as_u64().unwrap();
    assert!(total_rss >= 2 * 4 * 4096);

    let budget = |name: &str, rule: &str| {
        let f = dir.path().join(name);
        fs::write(&f, rule).unwrap();
        f
    };
    // The text's rss across both processes is over a limit that one process's holds.
    let tight = budget(
        "tight.toml",
        &format!(
            "[[budget]]\nobject = \"libshared.so\"\nkind = \"text\"\nmax_rss = {}\n",
            total_rss - 1
        ),
    );
    let o = cli::elfmaps([
        "check",
        "--budget",
        tight.to_str().unwrap(),
        "--system",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    let viol = &v["violations"][0];
    assert_eq!(viol["object"], p.lib.to_str().unwrap());
    assert_eq!(
        (viol["measure"].as_str(), viol["actual"].as_u64()),
        (Some("rss"), Some(total_rss))
    );
    let loose = budget(
        "loose.toml",
        "[[budget]]\nobject = \"libshared.so\"\nmax_pss = \"1 GiB\"\n\n\
         [[budget]]\nobject = \"libshared.so\"\nkind = \"bss\"\nmax_size = \"1 MiB\"\n",
    );
    let o = cli::elfmaps(["check", "--budget", loose.to_str().unwrap(), "--system"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        cli::stdout(&o).contains("2 budgets checked"),
        "{}",
        cli::stdout(&o)
    );
    // The same from a system snapshot.
    let snap = dir.path().join("m.snap");
    let o = cli::elfmaps([
        "snapshot",
        "--system",
        "--pid",
        &pid_list(&pids),
        "-o",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cli::elfmaps([
        "check",
        "--budget",
        tight.to_str().unwrap(),
        "--snapshot",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        cli::stdout(&o),
        stderr(&o)
    );

    // One more process maps it: the text's rss and the data grew.
    procs.push(start(&p.mapper, &p.lib));
    let third = procs[2].pid();
    let mut all = pids.clone();
    all.push(third);
    let after = json_ok(["system", "--json", "--pid", &pid_list(&all)]);
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    fs::write(&old, before.to_string()).unwrap();
    fs::write(&new, after.to_string()).unwrap();
    let d = json_ok([
        "diff",
        "--json",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert_eq!(
        (d["old_format"].as_str(), d["new_format"].as_str()),
        (Some("system"), Some("system"))
    );
    let change = |kind: &str| {
        d["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["object"]
                    .as_str()
                    .is_some_and(|o| o.ends_with("/libshared.so"))
                    && c["kind"] == kind
            })
            .unwrap_or_else(|| panic!("no change of {kind}: {}", d["changes"]))
            .clone()
    };
    let third_rss: u64 = text_lines(third, &p.lib)
        .iter()
        .map(|(s, e)| {
            let pagemap = File::open(format!("/proc/{third}/pagemap")).unwrap();
            present_pages(&pagemap, *s, *e, 4096)
                .iter()
                .filter(|&&b| b)
                .count() as u64
                * 4096
        })
        .sum();
    assert_eq!(change("text")["rss"], third_rss as i64);
    let d_data = change("data");
    assert_eq!(d_data["old"]["rss"], data["rss"]);
    assert!(d_data["rss"].as_i64().unwrap() > 0);
    let o = cli::elfmaps([
        "diff",
        "--exit-code",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    for r in &mut procs {
        r.kill();
    }
}

/// Issue 20: `system --by kind` showed USS `-` for anon, relro, data and bss (parts
/// of split maps lines), although the process's total is known. Where the map count
/// of every page is known (root: /proc/kpagecount), a part's private bytes are its
/// pages mapped once: every kind's USS is known, and the kinds add up to the total
/// the kernel's smaps gives for the whole lines.
#[test]
fn uss_per_kind_is_known_where_map_counts_are() {
    if !skip::is_root("USS of split lines (map counts from /proc/kpagecount)") {
        return;
    }
    let mut s = Running::sleep();
    s.settle();
    let v = json_ok(["system", "--pid", &s.pid_arg(), "--json"]);
    let uss = |r: &Value| -> Option<u64> {
        Some(r["private_clean"].as_u64()? + r["private_dirty"].as_u64()?)
    };
    let total = uss(&v["totals"]).expect("the total USS (smaps' whole lines)");
    let mut sum = 0;
    for k in v["kinds"].as_array().unwrap() {
        let u = uss(k).unwrap_or_else(|| panic!("USS unknown for {k}"));
        sum += u;
    }
    assert_eq!(sum, total, "kinds' USS against the smaps total");
    for kind in ["bss", "data", "relro"] {
        assert!(
            v["kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"] == kind && uss(k).is_some()),
            "{kind}: {v}"
        );
    }
}

//! Privilege: elfmaps run as an unprivileged user on its own process gets the labels
//! and exact rss through the fallbacks (no `map_files`: `/proc/PID/root/PATH` with the
//! device and inode checked; pagemap without PFNs), and on another user's process
//! says in one line which permission is missing.
//!
//! Needs root to switch users (`setpriv`); skipped with a note otherwise.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::child::Running;
use common::report::{JRegion, parse_elfmaps};
use common::truth::kernel::{present_pages, resident_pages};
use common::{build, cli, skip};

const NOBODY: [&str; 4] = [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
];

/// A directory and an elfmaps binary that the unprivileged user can reach.
fn setup() -> Option<(tempfile::TempDir, PathBuf)> {
    if !skip::is_root("switching to an unprivileged user")
        || !skip::have_tool("setpriv", &["--version"])
    {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("elfmaps");
    fs::copy(cli::BIN, &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    Some((dir, bin))
}

fn as_nobody(cmd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args(NOBODY).arg("--").arg(cmd).args(args);
    c
}

/// testdata/privilege/merged.c, running as nobody, and the start of its extra mapping.
struct Target {
    child: Running,
    extra: u64,
}

fn start_merged(dir: &Path) -> Option<Target> {
    let exe = build::build_testdata(dir, "privilege/merged.c", &["-O0"])?;
    let mut child = Running::spawn(
        as_nobody(&exe, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let extra = child
        .lines_until("READY")
        .iter()
        .find_map(|l| l.strip_prefix("EXTRA 0x"))
        .map(|a| u64::from_str_radix(a, 16).unwrap())
        .expect("merged did not print EXTRA");
    Some(Target { child, extra })
}

fn run(c: &mut Command) -> Output {
    cli::checked(c.stdin(Stdio::null()).output().unwrap())
}

#[test]
fn unprivileged_on_its_own_process() {
    let Some((dir, bin)) = setup() else { return };
    let Some(t) = start_merged(dir.path()) else {
        return;
    };
    let pid = t.child.pid_arg();
    let o = run(&mut as_nobody(&bin, &["map", "--json", &pid]));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let em = parse_elfmaps(&v);
    // No map_files without CAP_SYS_ADMIN: every object was opened by its path (or under
    // /proc/PID/root) and was the mapped file (no warnings).
    assert!(
        em.objects.iter().all(|o| matches!(
            v["objects"][o.index]["opened"].as_str(),
            Some("path" | "root")
        )),
        "{}",
        v["objects"]
    );
    assert!(
        v["warnings"].as_array().unwrap().is_empty(),
        "{}",
        v["warnings"]
    );

    // The same labels as root's run through map_files.
    let root = run(Command::new(&bin).args(["map", "--json", &pid]));
    let rv: serde_json::Value = serde_json::from_slice(&root.stdout).unwrap();
    let re = parse_elfmaps(&rv);
    let key = |r: &JRegion| (r.start, r.end, r.kind.clone(), r.segment, r.object.clone());
    assert_eq!(
        em.regions.iter().map(key).collect::<Vec<_>>(),
        re.regions.iter().map(key).collect::<Vec<_>>()
    );

    // The executable's bss and the extra mapping: one maps line, cut at the span end.
    let bss = em
        .regions
        .iter()
        .find(|r| r.end == t.extra)
        .expect("a region ends where the extra mapping starts");
    assert_eq!(bss.kind, "bss");
    assert!(bss.split);
    let extra = em.regions.iter().find(|r| r.start == t.extra).unwrap();
    assert_eq!(
        (extra.kind.as_str(), extra.object.as_deref(), extra.split),
        ("anon", None, true)
    );
    // Exact rss of each part, against the pagemap read here (as root, so the zero page
    // is recognised by its PFN).
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
    for r in [bss, extra] {
        let present = present_pages(&pagemap, r.start, r.end, 4096)
            .iter()
            .filter(|&&b| b)
            .count() as u64;
        assert_eq!(r.rss, Some(present * 4096), "{r:?}");
    }
    assert_eq!(extra.rss, Some(8 * 4096));
    assert!(bss.rss.unwrap() >= 16 * 4096);
    // Each part's private bytes, without privilege, against the pages pagemap says are
    // mapped once (half of each part's touched pages were copied after a fork; the
    // others are shared with the child): the line's private memory is neither none
    // nor all of it, so only pagemap's exclusive bit can say the parts'.
    for r in [bss, extra] {
        let once = resident_pages(&pagemap, r.start, r.end, 4096)
            .iter()
            .filter(|&&p| p == Some(true))
            .count() as u64;
        let private = r.private_clean.zip(r.private_dirty).map(|(c, d)| c + d);
        assert_eq!(private, Some(once * 4096), "{r:?}");
        assert!(
            once > 0 && once * 4096 < r.rss.unwrap(),
            "{r:?}: {once} pages mapped once"
        );
        // And root's, from the map counts.
        let rr = re.regions.iter().find(|x| x.start == r.start).unwrap();
        assert_eq!(
            rr.private_clean.zip(rr.private_dirty).map(|(c, d)| c + d),
            private
        );
    }
    // A snapshot taken as nobody keeps them: offline, the same private bytes.
    let writable = dir.path().join("w");
    fs::create_dir(&writable).unwrap();
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o777)).unwrap();
    let snap = writable.join("nobody.snap");
    let o = run(&mut as_nobody(
        &bin,
        &["snapshot", &pid, "-o", snap.to_str().unwrap()],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(Command::new(&bin).args([
        "map",
        "--json",
        "--snapshot",
        snap.to_str().unwrap(),
        "--sysroot",
        "/",
    ]));
    let off = parse_elfmaps(&serde_json::from_slice(&o.stdout).unwrap());
    for r in [bss, extra] {
        let o = off.regions.iter().find(|x| x.start == r.start).unwrap();
        assert_eq!(
            o.private_clean.zip(o.private_dirty).map(|(c, d)| c + d),
            r.private_clean.zip(r.private_dirty).map(|(c, d)| c + d),
            "offline {o:?}"
        );
    }
}

#[test]
fn unprivileged_on_another_users_process() {
    let Some((_dir, bin)) = setup() else { return };
    let mut sleeper = Running::sleep();
    let pid = sleeper.pid_arg();
    let o = run(&mut as_nobody(&bin, &["map", &pid]));
    sleeper.kill();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("permission denied reading /proc/{pid}/smaps")),
        "{err}"
    );
    assert!(err.contains("CAP_SYS_PTRACE"), "{err}");
}

/// Issue 10: `map` reads smaps on a second thread (and `--rss-only` opens files and
/// scans pagemap on more). Where no thread can be started (here a limit of one
/// process for the user), the same report comes out of one thread.
#[test]
fn without_threads_the_same_report() {
    let Some((dir, bin)) = setup() else { return };
    if !skip::have_tool("prlimit", &["--version"]) {
        return;
    }
    let Some(t) = start_merged(dir.path()) else {
        return;
    };
    let pid = t.child.pid_arg();
    for mode in [&["map", "--json"][..], &["map", "--rss-only", "--json"]] {
        let args: Vec<&str> = mode.iter().copied().chain([pid.as_str()]).collect();
        let threads = run(&mut as_nobody(&bin, &args));
        let mut limited: Vec<&str> = vec!["--nproc=1:1", "--"];
        limited.push(bin.to_str().unwrap());
        limited.extend(&args);
        let one = run(&mut as_nobody(Path::new("prlimit"), &limited));
        for o in [&threads, &one] {
            assert_eq!(o.status.code(), Some(0), "{mode:?}: {}", cli::stderr(o));
        }
        let (a, b) = (
            parse_elfmaps(&serde_json::from_slice(&threads.stdout).unwrap()),
            parse_elfmaps(&serde_json::from_slice(&one.stdout).unwrap()),
        );
        let key = |r: &JRegion| {
            (
                r.start,
                r.end,
                r.kind.clone(),
                r.segment,
                r.object.clone(),
                r.rss,
            )
        };
        assert_eq!(
            a.regions.iter().map(key).collect::<Vec<_>>(),
            b.regions.iter().map(key).collect::<Vec<_>>(),
            "{mode:?}"
        );
    }
}

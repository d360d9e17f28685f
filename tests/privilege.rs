//! Privilege: elfmaps run as an unprivileged user on its own process gets the labels
//! and exact rss through the fallbacks (no `map_files`: `/proc/PID/root/PATH` with the
//! device and inode checked; pagemap without PFNs), and on another user's process
//! says in one line which permission is missing.
//!
//! Needs root to switch users (`setpriv`); skipped with a note otherwise.

mod common;

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const NOBODY: [&str; 4] = [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
];

fn note(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: {msg}");
}

/// A directory and an elfmaps binary that the unprivileged user can reach.
fn setup() -> Option<(tempfile::TempDir, PathBuf)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || Command::new("setpriv").arg("--version").output().is_err()
    {
        note("privilege tests skipped: they need root and setpriv");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("elfmaps");
    fs::copy(env!("CARGO_BIN_EXE_elfmaps"), &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    Some((dir, bin))
}

fn as_nobody(cmd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args(NOBODY).arg("--").arg(cmd).args(args);
    c
}

struct Target {
    child: Child,
    extra: u64,
}

impl Drop for Target {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_merged(dir: &Path) -> Target {
    let exe = dir.join("merged");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/privilege/merged.c");
    let st = Command::new("cc")
        .args(["-O0", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    let mut child = as_nobody(&exe, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut extra = 0;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("EXTRA 0x") {
            extra = u64::from_str_radix(a, 16).unwrap();
        }
        if line == "READY" {
            break;
        }
    }
    assert_ne!(extra, 0, "merged did not start");
    Target { child, extra }
}

fn run(c: &mut Command) -> Output {
    let o = c.stdin(Stdio::null()).output().unwrap();
    assert_ne!(
        o.status.code(),
        Some(101),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn unprivileged_on_its_own_process() {
    let Some((dir, bin)) = setup() else { return };
    let t = start_merged(dir.path());
    let pid = t.child.id().to_string();
    let o = run(&mut as_nobody(&bin, &["map", "--json", &pid]));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let em = common::parse_elfmaps(&v);
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
    let re = common::parse_elfmaps(&rv);
    let key = |r: &common::JRegion| (r.start, r.end, r.kind.clone(), r.segment, r.object.clone());
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
        let present = common::present_pages(&pagemap, r.start, r.end, 4096)
            .iter()
            .filter(|&&b| b)
            .count() as u64;
        assert_eq!(r.rss, Some(present * 4096), "{r:?}");
    }
    assert_eq!(extra.rss, Some(8 * 4096));
    assert!(bss.rss.unwrap() >= 16 * 4096);
}

#[test]
fn unprivileged_on_another_users_process() {
    let Some((_dir, bin)) = setup() else { return };
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = sleeper.id().to_string();
    let o = run(&mut as_nobody(&bin, &["map", &pid]));
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("permission denied reading /proc/{pid}/smaps")),
        "{err}"
    );
    assert!(err.contains("CAP_SYS_PTRACE"), "{err}");
}

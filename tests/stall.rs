//! Issue 19 §7: a FUSE filesystem that stops answering. A test program maps a shared
//! library from a FUSE filesystem (testdata/stall/stallfs.py, on Debian's
//! python3-fuse), then the filesystem stalls. Before the fix, `map` opened the library
//! and waited forever (in an uninterruptible wait: SIGKILL did not end it). Now every
//! live command (`map`, `map --rss-only`, `system`, `snapshot`, `metrics`) finishes by
//! itself within a bound, with the library `unknown` and warning `remote-fs`, and
//! `--remote-fs` reads it while it answers and gives up after its deadline when it
//! does not; the exporter answers from its last scan while a scan waits for it. The filesystem is unmounted and its server killed by a guard, also when
//! an assertion fails. Needs root and /dev/fuse (skipped with a note otherwise).

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::child::Running;
use common::cli::{self, codes_for, warnings};
use common::{build, skip};

/// How long one elfmaps run may take here before the test calls it hung (it takes
/// well under a second when it does not wait for the filesystem).
const BOUND: Duration = Duration::from_secs(20);

/// The FUSE filesystem of testdata/stall/stallfs.py, mounted on `mnt` and serving
/// the files of `root`; unmounted (lazily) and its server killed on drop.
struct StallFs {
    server: Child,
    mnt: PathBuf,
    flag: PathBuf,
}

impl StallFs {
    /// Mounts it in `dir` (`dir/root` served at `dir/mnt`); `None` with a note when
    /// this machine cannot (not root, no /dev/fuse, no fusermount3 or python3-fuse).
    fn mount(dir: &Path) -> Option<StallFs> {
        if !skip::is_root("a FUSE mount") {
            return None;
        }
        if !Path::new("/dev/fuse").exists() {
            skip::skip("no /dev/fuse: no FUSE filesystem can be mounted here");
            return None;
        }
        if !skip::have_tool("fusermount3", &["--version"]) {
            return None;
        }
        let python = "/usr/bin/python3";
        if !skip::have_tool(python, &["-c", "import fuse"]) {
            return None;
        }
        let (root, mnt, flag) = (dir.join("root"), dir.join("mnt"), dir.join("stall"));
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&mnt).unwrap();
        let server = Command::new(python)
            .arg(build::testdata("stall/stallfs.py"))
            .arg(&mnt)
            .args(["-f", "-o", "ro"])
            .env("STALLFS_ROOT", &root)
            .env("STALLFS_FLAG", &flag)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut fs = StallFs { server, mnt, flag };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fs.mounted() {
            if let Some(status) = fs.server.try_wait().unwrap() {
                let mut err = String::new();
                let _ = fs.server.stderr.take().unwrap().read_to_string(&mut err);
                skip::missing_tool("python3-fuse", &format!("stallfs.py {status}: {err}"));
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "stallfs.py did not mount in 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(fs)
    }

    /// Whether the mount shows in this process's mountinfo.
    fn mounted(&self) -> bool {
        let want = format!(" {} ", self.mnt.display());
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.contains(&want) && l.contains(" - fuse"))
    }

    /// The directory whose files it serves.
    fn root(&self) -> PathBuf {
        self.mnt.parent().unwrap().join("root")
    }

    /// From now on every request is taken from the kernel and never answered: a
    /// thread that asks waits uninterruptibly (SIGKILL does not end it).
    fn stall_taken(&self) {
        fs::write(&self.flag, b"").unwrap();
    }

    /// Stops the server: requests are left unread (a thread that asks can be killed).
    fn stall_stopped(&self) {
        // SAFETY: kill has no memory preconditions; the server is our child.
        unsafe { libc::kill(self.server.id() as i32, libc::SIGSTOP) };
    }
}

impl Drop for StallFs {
    fn drop(&mut self) {
        // Killing the server (stopped or not) aborts the connection: every request
        // still waiting fails, so nothing stays blocked on it.
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = Command::new("fusermount3")
            .arg("-u")
            .arg("-z")
            .arg(&self.mnt)
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs `cmd` (its output read on threads) and waits for it at most [`BOUND`]:
/// `Err` with what it wrote so far if it did not exit by itself (it is then sent
/// SIGKILL, which a thread in an uninterruptible wait ignores until the filesystem
/// is gone).
fn bounded(cmd: &mut Command) -> Result<Output, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Ok(cli::checked(Output {
                status,
                stdout: out.join().unwrap(),
                stderr: err.join().unwrap(),
            }));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            return Err(format!("{cmd:?} did not finish within {BOUND:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `bounded`, exit 0 expected; standard output as text.
fn finishes(args: &[&str]) -> String {
    let mut c = cli::command(args);
    let o = bounded(&mut c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(0), "{c:?}: {}", cli::stderr(&o));
    cli::stdout(&o)
}

/// The kinds of the regions of the object whose path is `path` in a `map --json`.
fn kinds_of(report: &Value, path: &str) -> Vec<String> {
    let objects = report["objects"].as_array().unwrap();
    report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["path"].as_str() == Some(path)
                || r["instance"]
                    .as_u64()
                    .and_then(|i| objects.get(i as usize))
                    .is_some_and(|o| o["path"].as_str() == Some(path))
        })
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The test library copied onto the filesystem and a program that maps it from
/// there, started: (program, the library's path on the mount).
fn mapped_from(fs: &StallFs, dir: &Path) -> Option<(Running, String)> {
    let (mapper, lib) = build::shared_library_and_mapper(dir)?;
    fs::copy(&lib, fs.root().join("libstall.so")).unwrap();
    let on_fuse = fs.mnt.join("libstall.so");
    let running = Running::ready(Command::new(mapper).arg(&on_fuse));
    Some((running, on_fuse.to_str().unwrap().to_string()))
}

/// A filesystem that takes requests and never answers: every live command finishes
/// by itself, the library on it `unknown` with `remote-fs`, without touching it (one
/// touch would hang the run: the test would fail on its bound).
#[test]
fn a_stalled_fuse_filesystem_does_not_hang_any_command() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = StallFs::mount(dir.path()) else {
        return;
    };
    let Some((program, lib)) = mapped_from(&fs, dir.path()) else {
        return;
    };
    let pid = program.pid_arg();
    fs.stall_taken();

    for rss_only in [false, true] {
        let mut args = vec!["map", &pid, "--json"];
        if rss_only {
            args.push("--rss-only");
        }
        let report: Value = serde_json::from_str(&finishes(&args)).unwrap();
        assert_eq!(codes_for(&report, &lib), ["remote-fs"], "{args:?}");
        let w = warnings(&report)
            .into_iter()
            .find(|w| w.code == "remote-fs")
            .unwrap();
        assert!(w.message.contains("FUSE filesystem"), "{}", w.message);
        let kinds = kinds_of(&report, &lib);
        assert!(!kinds.is_empty(), "{args:?}: no region of {lib}");
        assert!(kinds.iter().all(|k| k == "unknown"), "{args:?}: {kinds:?}");
        // The program's own executable, on a local filesystem, is still labelled.
        assert!(
            report["regions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["kind"] == "text"),
            "{args:?}"
        );
    }

    let system: Value =
        serde_json::from_str(&finishes(&["system", "--pid", &pid, "--json"])).unwrap();
    assert!(
        system.to_string().contains("remote-fs"),
        "system --json has no remote-fs warning: {system}"
    );
    finishes(&["system", "--pid", &pid, "--rss-only"]);

    let snap = dir.path().join("snap");
    finishes(&["snapshot", &pid, "-o", snap.to_str().unwrap()]);
    assert!(fs::metadata(&snap).unwrap().len() > 0);

    let metrics = finishes(&["metrics", "--pid", &pid, "--top", "1000"]);
    // Its memory is there, of no object and kind unknown; the library is not named.
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("elfmaps_virtual_bytes{")
                && l.contains("object=\"[none]\",kind=\"unknown\"")),
        "{metrics}"
    );
    assert!(!metrics.contains(&lib), "{metrics}");
    drop(program);
}

/// A FUSE filesystem unmounted with `umount -l` while the library stays mapped is in
/// no mount table any more, but still served (and here stalled): its device is
/// unknown, so the library is not read either.
#[test]
fn a_lazily_unmounted_filesystem_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = StallFs::mount(dir.path()) else {
        return;
    };
    let Some((program, _)) = mapped_from(&fs, dir.path()) else {
        return;
    };
    let status = Command::new("fusermount3")
        .arg("-u")
        .arg("-z")
        .arg(&fs.mnt)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(!fs.mounted());
    fs.stall_taken();
    let report: Value =
        serde_json::from_str(&finishes(&["map", &program.pid_arg(), "--json"])).unwrap();
    // Detached, the mount's files show their path inside it.
    assert_eq!(
        codes_for(&report, "/libstall.so"),
        ["remote-fs"],
        "{report}"
    );
    let w = warnings(&report)
        .into_iter()
        .find(|w| w.code == "remote-fs")
        .unwrap();
    assert!(w.message.contains("no mount table lists"), "{}", w.message);
    assert!(
        kinds_of(&report, "/libstall.so")
            .iter()
            .all(|k| k == "unknown")
    );
    drop(program);
}

/// `--remote-fs` reads a FUSE filesystem that answers (the library labelled from its
/// program headers), and gives up on one that does not after its deadline: the run
/// finishes by itself with the library `remote-fs`.
#[test]
fn remote_fs_reads_with_a_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = StallFs::mount(dir.path()) else {
        return;
    };
    let Some((program, lib)) = mapped_from(&fs, dir.path()) else {
        return;
    };
    let pid = program.pid_arg();
    // A generous deadline while the server answers: a loaded CI machine (python's
    // server, tests in parallel) can take seconds for the reads of one file.
    let answering: Value = serde_json::from_str(&finishes(&[
        "map",
        &pid,
        "--json",
        "--remote-fs",
        "--remote-fs-timeout",
        "30s",
    ]))
    .unwrap();
    assert!(codes_for(&answering, &lib).is_empty(), "{answering}");
    let kinds = kinds_of(&answering, &lib);
    assert!(kinds.iter().any(|k| k == "text"), "{kinds:?}");

    // Requests left unread: the thread that asked is abandoned after 1 s, and the
    // process exits (the wait is killable).
    fs.stall_stopped();
    let args = [
        "map",
        &pid,
        "--json",
        "--remote-fs",
        "--remote-fs-timeout",
        "1s",
    ];
    let mut c = cli::command(args);
    let o = bounded(&mut c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(0), "{}", cli::stderr(&o));
    let report = cli::json(&o);
    assert_eq!(codes_for(&report, &lib), ["remote-fs"], "{report}");
    let kinds = kinds_of(&report, &lib);
    assert!(kinds.iter().all(|k| k == "unknown"), "{kinds:?}");
    drop(program);
}

/// `--remote-fs` on a filesystem that took the request and never answers: the
/// thread that asked cannot be killed, so the process cannot be reaped until the
/// filesystem goes; but elfmaps gives up on the file after the deadline, writes its
/// whole report and closes its output, so its reader is not kept waiting.
#[test]
fn remote_fs_output_ends_though_a_thread_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = StallFs::mount(dir.path()) else {
        return;
    };
    let Some((program, lib)) = mapped_from(&fs, dir.path()) else {
        return;
    };
    let pid = program.pid_arg();
    fs.stall_taken();
    let mut child = cli::command([
        "map",
        &pid,
        "--json",
        "--remote-fs",
        "--remote-fs-timeout",
        "1s",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        let _ = tx.send(v);
    });
    let got = rx.recv_timeout(BOUND);
    // Whatever happened: the server goes first (which ends the wait), then the child.
    drop(fs);
    let _ = child.kill();
    let _ = child.wait();
    let bytes = got.unwrap_or_else(|_| panic!("the output did not end within {BOUND:?}"));
    let report: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    assert_eq!(codes_for(&report, &lib), ["remote-fs"], "{report}");
    drop(program);
}

/// The exporter with `--remote-fs`, a library on a FUSE filesystem that then stops
/// answering: the scan under way waits for it (up to its deadline), and scrapes
/// meanwhile are answered from the last good scan, with its age, instead of waiting.
#[test]
fn the_exporter_serves_the_last_scan_while_one_waits() {
    // Declared first, dropped last: the filesystem goes first, which ends the wait of
    // the exporter's thread, so that the exporter can then be killed and reaped.
    let exporter: Running;
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = StallFs::mount(dir.path()) else {
        return;
    };
    let Some((program, lib)) = mapped_from(&fs, dir.path()) else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    exporter = Running::spawn(
        cli::command([
            "metrics",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--pid",
            &program.pid_arg(),
            "--min-interval",
            "0",
            "--top",
            "1000",
            "--remote-fs",
            "--remote-fs-timeout",
            "60s",
        ])
        .stderr(Stdio::null()),
    );
    // One scrape that the answering filesystem lets finish: the library is read.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        if let Some(a) = scrape(port, "") {
            break a;
        }
        assert!(Instant::now() < deadline, "the exporter never answered");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(first.0.contains(" 200 "), "{first:?}");
    assert!(
        first.2.contains(&format!("object=\"{lib}\",kind=\"text\"")),
        "{}",
        first.2
    );
    let stamp = |body: &str| {
        body.lines()
            .find(|l| l.starts_with("elfmaps_last_scan_timestamp_seconds "))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no scan time: {body}"))
    };
    fs.stall_taken();
    // Each of these asks for a new scan, which waits for the filesystem; each is
    // answered after half a second from the first scan.
    for i in 0..3 {
        let (status, head, body) = scrape(port, "X-Prometheus-Scrape-Timeout-Seconds: 1\r\n")
            .unwrap_or_else(|| panic!("scrape {i} got no answer"));
        assert!(status.contains(" 200 "), "{status}");
        assert!(head.to_ascii_lowercase().contains("\r\nage: "), "{head}");
        assert_eq!(stamp(&body), stamp(&first.2));
    }
    drop(fs);
    drop(exporter);
    drop(program);
}

/// `GET /metrics` with headers `extra`, bounded by 10 s timeouts: (status line, head,
/// body), or `None` when nothing answers.
fn scrape(port: u16, extra: &str) -> Option<(String, String, String)> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"
    )
    .ok()?;
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((
        head.lines().next()?.to_string(),
        head.to_string(),
        body.to_string(),
    ))
}

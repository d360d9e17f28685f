//! Real programs, as users run them: node, Python with numpy, Chromium and a Go HTTP
//! server. For each process, every page of every object the dynamic loader reports
//! is checked against that report, and every region's rss against pagemap (the
//! checks of tests/common/checks.rs that the crafted programs pass).
//!
//! The loader's report comes from inside the program: testdata/real/truth.c, loaded
//! with LD_PRELOAD, calls dl_iterate_phdr when the test asks (a file in a directory
//! the test owns). The Go server is static (no loader): its truth is its program
//! headers as `readelf -lW` prints them, at bias 0 (ET_EXEC).
//!
//! While elfmaps, maps and pagemap are read the process is stopped (SIGSTOP), so the
//! three see one address space; the loader's report is taken before and after, and
//! the round is taken again when an object came or went in between.
//!
//! The smaps saved then, with a sysroot of the mapped files, is labelled offline
//! and checked alike (not for Chromium: its files are hundreds of megabytes).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::build::{build_linked, testdata};
use common::checks::{Ctx, Failures, check_loaded, check_no_mismatch};
use common::child::Running;
use common::cli;
use common::report::parse_elfmaps;
use common::skip::{self, note};
use common::sysroot;
use common::truth::kernel::read_maps;
use common::truth::loader::{Obj, Ph, Report, parse_report};
use common::truth::readelf;

/// Builds truth.so into `dir`.
fn truth_library(dir: &Path) -> Option<PathBuf> {
    build_linked(
        "cc",
        &["-O1", "-fPIC", "-shared", "-pthread", "-Wall", "-Wextra"],
        &dir.join("truth.so"),
        &[testdata("real/truth.c")],
        &["-ldl"],
    )
}

/// `cmd` with truth.so preloaded, reporting into `dir`.
fn with_truth(cmd: &mut Command, lib: &Path, dir: &Path) {
    cmd.env("LD_PRELOAD", lib).env("ELFMAPS_TRUTH", dir);
}

/// The loader's report of `pid`, asked for through `dir` (see truth.c); `None` when
/// it did not come (the process is gone).
fn ask(dir: &Path, pid: u32) -> Option<Vec<String>> {
    let report = dir.join(format!("{pid}.report"));
    let _ = std::fs::remove_file(&report);
    std::fs::write(dir.join(format!("{pid}.want")), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(&report) {
            return Some(text.lines().map(str::to_string).collect());
        }
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// `EXEC` or `DYN`, from the file's ELF header.
fn elf_type(path: &str) -> &'static str {
    let mut head = [0u8; 18];
    let ok = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head));
    match (ok, u16::from_le_bytes([head[16], head[17]])) {
        (Ok(()), 2) => "EXEC",
        _ => "DYN",
    }
}

/// The objects of a report, to tell whether two reports saw the same ones.
fn objects(r: &Report) -> BTreeSet<(u64, String)> {
    r.objs.iter().map(|o| (o.bias, o.name.clone())).collect()
}

/// Stops `pid` (every thread) until dropped.
struct Stopped(i32);

impl Stopped {
    fn new(pid: u32) -> Stopped {
        let pid = pid as i32;
        // SAFETY: plain kill(2).
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        // Stopped once every thread shows state T.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !all_stopped(pid) {
            std::thread::sleep(Duration::from_millis(2));
        }
        Stopped(pid)
    }
}

fn all_stopped(pid: i32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['T', 't', 'Z', 'X']))
        })
    })
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: plain kill(2).
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

/// One round on `pid`, stopped: elfmaps live, maps and pagemap, checked against
/// `report`; with `offline`, also its smaps saved then and a sysroot of its mapped
/// files (the board's workflow), labelled alike. Returns the failures.
fn check_stopped(pid: u32, report: &Report, offline: Option<&Path>) -> Failures {
    let stopped = Stopped::new(pid);
    let maps = read_maps(pid);
    let v = cli::json_ok(["map", "--json", &pid.to_string()]);
    let mut f = Failures::default();
    let em = parse_elfmaps(&v);
    let cx = Ctx {
        page: report.page,
        maps: &maps,
        em: &em,
    };
    let type_of = |o: &Obj| elf_type(&o.name);
    check_loaded(&cx, report, Some(pid), &type_of, &mut f);
    check_no_mismatch(&cli::warnings(&v), &mut f);
    if let Some(tmp) = offline {
        let smaps = tmp.join("saved.smaps");
        std::fs::write(&smaps, std::fs::read(format!("/proc/{pid}/smaps")).unwrap()).unwrap();
        let root = tmp.join("sysroot");
        let mirrored = sysroot::mirror(&root, pid, &maps, &[]);
        drop(stopped);
        if mirrored {
            let v = cli::json_ok([
                "map".as_ref(),
                "--json".as_ref(),
                "--smaps".as_ref(),
                smaps.as_os_str(),
                "--sysroot".as_ref(),
                root.as_os_str(),
            ]);
            let em = parse_elfmaps(&v);
            let cx = Ctx {
                page: report.page,
                maps: &maps,
                em: &em,
            };
            let mut g = Failures::default();
            check_loaded(&cx, report, None, &type_of, &mut g);
            check_no_mismatch(&cli::warnings(&v), &mut g);
            f.0.extend(g.0.into_iter().map(|e| format!("offline: {e}")));
        }
    }
    f
}

/// Checks the process `pid` of `what` against the loader's report through `dir`:
/// up to three rounds, until the loader reports the same objects before and after
/// the stopped reading. Returns the number of objects checked; `None` when the
/// process exited before it was checked. With `offline`, see [`check_stopped`].
fn check_process(what: &str, dir: &Path, pid: u32, offline: Option<&Path>) -> Option<usize> {
    for round in 0..3 {
        let before = ask(dir, pid)?;
        let report = parse_report(&before);
        let f = check_stopped(pid, &report, offline);
        let after = ask(dir, pid)?;
        if objects(&parse_report(&after)) != objects(&report) {
            note(&format!(
                "{what} ({pid}): objects loaded or unloaded during round {round}: again"
            ));
            continue;
        }
        assert!(
            f.0.is_empty(),
            "{what} ({pid}), {} objects: {} failures:\n{}",
            report.objs.len(),
            f.0.len(),
            f.0.join("\n")
        );
        return Some(report.objs.len());
    }
    panic!("{what} ({pid}): objects came and went in three rounds");
}

#[test]
fn node() {
    if !skip::have_tool("node", &["--version"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(lib) = truth_library(tmp.path()) else {
        return;
    };
    let mut cmd = Command::new("node");
    cmd.args([
        "-e",
        "const z = require('zlib'); const b = z.gzipSync(Buffer.alloc(1 << 22, 'elfmaps')); \
         globalThis.keep = [b, new Float64Array(1 << 20).fill(1)]; \
         console.log('READY'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));",
    ]);
    with_truth(&mut cmd, &lib, tmp.path());
    let child = Running::ready(&mut cmd);
    let n = check_process("node", tmp.path(), child.pid(), Some(tmp.path())).expect("node exited");
    assert!(n >= 5, "{n} objects");
    child.finish();
}

#[test]
fn python_with_numpy() {
    // Debian's python3 (the one python3-numpy is for), not a python3 earlier in PATH.
    let python = "/usr/bin/python3";
    let ok = Command::new(python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip::missing_tool("python3-numpy", "/usr/bin/python3 cannot import numpy");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(lib) = truth_library(tmp.path()) else {
        return;
    };
    let mut cmd = Command::new(python);
    cmd.args([
        "-c",
        "import sys, numpy\n\
         a = numpy.random.default_rng(1).random((512, 512))\n\
         b = a @ a.T\n\
         print('READY', flush=True)\n\
         sys.stdin.read()\n",
    ]);
    with_truth(&mut cmd, &lib, tmp.path());
    let child = Running::ready(&mut cmd);
    let n = check_process(
        "python3 with numpy",
        tmp.path(),
        child.pid(),
        Some(tmp.path()),
    )
    .expect("python exited");
    // numpy's extension modules and its BLAS among them.
    assert!(n >= 10, "{n} objects");
    child.finish();
}

/// Chromium's processes, killed as a group when dropped.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) of the process group the child leads.
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

#[test]
fn chromium() {
    if !skip::have_tool("chromium", &["--version"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(lib) = truth_library(tmp.path()) else {
        return;
    };
    let reports = tmp.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--remote-debugging-port=0",
    ])
    .arg(format!(
        "--user-data-dir={}",
        tmp.path().join("profile").display()
    ))
    .arg("data:text/html,<p>elfmaps</p>")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .process_group(0);
    with_truth(&mut cmd, &lib, &reports);
    let mut group = Group(cmd.spawn().unwrap());
    // Ready once DevTools listens (the browser has started its other processes).
    let stderr = group.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("DevTools listening") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("chromium did not start DevTools in 60 s");
    let pids: Vec<u32> = std::fs::read_dir(&reports)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".alive")?.parse().ok())
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    let browser = group.0.id();
    assert!(
        pids.contains(&browser),
        "the browser did not load truth.so: {pids:?}"
    );
    let (mut checked, mut processes) = (0, 0);
    for &pid in &pids {
        match check_process("chromium", &reports, pid, None) {
            Some(n) => {
                checked += n;
                processes += 1;
            }
            // A helper process may finish its work and exit; the browser may not.
            None => assert_ne!(pid, browser, "the browser exited"),
        }
    }
    note(&format!(
        "{processes} processes with the loader's report checked, {checked} objects"
    ));
    drop(group);
}

#[test]
fn go_http_server() {
    if !skip::have_tool("go", &["version"]) || !readelf::available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("server");
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&exe)
        .arg(testdata("real/server.go"))
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", tmp.path().join("gocache"))
        .env("GOPATH", tmp.path().join("gopath"))
        .env("HOME", tmp.path())
        .env("GO111MODULE", "off")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (child, lines) = Running::ready_lines(&mut Command::new(&exe));
    let port: u16 = lines
        .iter()
        .find_map(|l| l.strip_prefix("PORT ")?.parse().ok())
        .expect("no PORT line");
    // Some work: a few requests, so that goroutines and the heap grow.
    for _ in 0..8 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut body = Vec::new();
        s.read_to_end(&mut body).unwrap();
        assert!(body.len() > 1 << 15, "{} bytes", body.len());
    }
    // The truth: readelf's program headers at bias 0.
    let path = std::fs::canonicalize(&exe).unwrap();
    let re = readelf::readelf(std::slice::from_ref(&path));
    let phdrs = re[&path]
        .phdrs
        .iter()
        .enumerate()
        .map(|(index, p)| Ph {
            index,
            p_type: match p.type_name.as_str() {
                "LOAD" => 1,
                "GNU_RELRO" => 0x6474_e552,
                _ => 0,
            },
            flags: u64::from(p.flags.contains('R')) * 4
                + u64::from(p.flags.contains('W')) * 2
                + u64::from(p.flags.contains('E')),
            vaddr: p.vaddr,
            filesz: p.filesz,
            memsz: p.memsz,
        })
        .collect();
    // SAFETY: plain sysconf(3).
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    let report = Report {
        ptrbits: 64,
        page,
        objs: vec![Obj {
            bias: 0,
            name: path.display().to_string(),
            phdrs,
        }],
        ..Report::default()
    };
    assert_eq!(elf_type(&report.objs[0].name), "EXEC", "a static Go binary");
    let f = check_stopped(child.pid(), &report, Some(tmp.path()));
    assert!(
        f.0.is_empty(),
        "go server: {} failures:\n{}",
        f.0.len(),
        f.0.join("\n")
    );
    child.finish();
}

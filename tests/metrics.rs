//! `elfmaps metrics` (issue 14) against the real thing: `promtool check metrics`
//! accepts its output (hostile process names included), `-o FILE` replaces the file
//! whole, the server negotiates OpenMetrics, and a real Prometheus server on loopback
//! scrapes `elfmaps metrics --listen` every second: what its HTTP API returns for a
//! group of C test programs equals their smaps (`smaps_rollup` Rss and Pss) and what
//! `system --json` says of the test library's text. Every process started is killed
//! and reaped on drop, also when an assertion fails. Without `prometheus` or
//! `promtool` the tests say so and skip (under CI=true they fail: .ci/run installs them).

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::child::Running;
use common::cli::{self, json_ok, stdout};
use common::{build, skip};

/// Waits until the standard error of `child`, written to `log`, has a line that
/// `port_of` reads a port from: servers started on port 0 bind one the kernel chooses
/// and say which. (A port found free first and given to the server could be taken by
/// another process in between: the server would fail, or the test talk to another.)
/// Fails when the child exits first, or after 60 s without the line.
fn port_in_log(child: &mut Running, log: &Path, port_of: impl Fn(&str) -> Option<u16>) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = fs::read_to_string(log).unwrap_or_default();
        if let Some(port) = text.lines().find_map(&port_of) {
            return port;
        }
        if let Some(status) = child.wait_for(Duration::ZERO) {
            panic!("the server exited ({status}) before it listened:\n{text}");
        }
        assert!(
            Instant::now() < deadline,
            "the server never listened:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `elfmaps metrics --listen 127.0.0.1:0 ARGS`, its standard error in `dir`: the server
/// and the port it bound (from its line `elfmaps: serving http://ADDR/metrics`).
fn serve(dir: &Path, args: &[&str]) -> (Running, u16) {
    serve_with(dir, args, |_| {})
}

/// [`serve`], with the command prepared by `prep` before it is started.
fn serve_with(dir: &Path, args: &[&str], prep: impl FnOnce(&mut Command)) -> (Running, u16) {
    serve_on(dir, "127.0.0.1:0", args, prep)
}

/// [`serve_with`] on the address `listen` (port 0: the kernel chooses).
fn serve_on(
    dir: &Path,
    listen: &str,
    args: &[&str],
    prep: impl FnOnce(&mut Command),
) -> (Running, u16) {
    let log = dir.join("elfmaps-metrics.log");
    let mut all = vec!["metrics", "--listen", listen];
    all.extend_from_slice(args);
    let mut cmd = cli::command(all);
    cmd.stderr(fs::File::create(&log).unwrap());
    prep(&mut cmd);
    let mut server = Running::spawn(&mut cmd);
    let port = port_in_log(&mut server, &log, |l| {
        let addr = l
            .strip_prefix("elfmaps: serving http://")?
            .strip_suffix("/metrics")?;
        addr.rsplit_once(':')?.1.parse().ok()
    });
    (server, port)
}

/// A Prometheus on 127.0.0.1 (a port it chooses) that scrapes elfmaps on `port` every
/// second, its data and log in `dir`: the server and the port it listens on.
fn prometheus(dir: &Path, port: u16) -> (Running, u16) {
    let config = dir.join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: elfmaps\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let log = dir.join("prometheus.log");
    let mut prometheus = Running::spawn(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg("--web.listen-address=127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap()),
    );
    // Its log says where it listens: `msg="Listening on" address=127.0.0.1:PORT`.
    let prom_port = port_in_log(&mut prometheus, &log, |l| {
        let (_, after) = l.split_once("msg=\"Listening on\" address=")?;
        let addr = after.split_whitespace().next()?;
        addr.rsplit_once(':')?.1.parse().ok().filter(|&p| p != 0)
    });
    (prometheus, prom_port)
}

/// `GET path` from 127.0.0.1:port with headers `extra`: (status line, head, body), or
/// `None` when nothing answers. Bounded by 10 s timeouts.
fn get(port: u16, path: &str, extra: &str) -> Option<(String, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{extra}\r\n"
    )
    .ok()?;
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.lines().next()?.to_string();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, head.to_string(), body))
}

/// The body of a chunked HTTP answer.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Whether promtool is here (else a note, or a failure under CI).
fn have_promtool() -> bool {
    skip::have_tool("promtool", &["--version"])
}

/// `promtool check metrics` on `text`: its findings, or `Err` when it fails.
fn promtool_check(text: &str) -> Result<String, String> {
    let mut c = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if o.status.success() {
        Ok(said)
    } else {
        Err(said)
    }
}

/// The test library and a program that maps it, built in `dir`; the program copied
/// under the name `comm` so that its processes are a group of their own.
fn programs(dir: &Path, comm: &str) -> Option<(PathBuf, PathBuf)> {
    let (mapper, lib) = build::shared_library_and_mapper(dir)?;
    let named = dir.join(comm);
    fs::copy(&mapper, &named).unwrap();
    Some((named, lib))
}

/// Starts `exe LIB` and waits for its READY.
fn start(exe: &Path, lib: &Path) -> Running {
    Running::ready(Command::new(exe).arg(lib))
}

/// A field of `/proc/PID/smaps_rollup` in bytes (its `kB` figure times 1024).
fn rollup(pid: u32, field: &str) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    let prefix = format!("{field}:");
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in smaps_rollup of {pid}"))
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

/// The number of maps lines of `pid`.
fn maps_lines(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap()
        .lines()
        .count() as u64
}

#[test]
fn promtool_accepts_the_output_and_names_are_escaped() {
    if !have_promtool() {
        return;
    }
    // A process whose name has every character the format escapes, and ESC and BEL
    // (issue 19 §9: they reached the label values raw).
    let dir = tempfile::tempdir().unwrap();
    let comm = "ev\"il\\na\nme\x1b\x07";
    let exe = dir.path().join(comm);
    fs::copy("/bin/sleep", &exe).unwrap();
    // (Not `Running::start`: maps writes the newline of its path as `\012`.)
    let _evil = Running::spawn(Command::new(&exe).arg("60"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while fs::read_to_string(format!("/proc/{}/comm", _evil.pid())).ok()
        != Some(format!("{comm}\n"))
    {
        assert!(Instant::now() < deadline, "{comm:?} did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let me = Running::sleep();
    let args = |format: &str| {
        vec![
            "metrics".to_string(),
            "--pid".into(),
            format!("{},{}", _evil.pid(), me.pid()),
            "--format".into(),
            format.into(),
            "--top".into(),
            "3".into(),
        ]
    };
    let out = cli::checked(cli::command(args("prometheus")).output().unwrap());
    assert!(out.status.success(), "{}", cli::stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains(['\x1b', '\x07']), "{text:?}");
    let found = promtool_check(&text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
    assert!(found.trim().is_empty(), "promtool says: {found}");
    assert!(
        text.contains(r#"group="ev\"il\\na\\nme\\e\\x07""#),
        "escaped name missing:\n{text}"
    );
    assert!(
        text.contains("elfmaps_processes{state=\"scanned\"} 2"),
        "{text}"
    );
    for family in [
        "elfmaps_resident_bytes",
        "elfmaps_proportional_resident_bytes",
        "elfmaps_private_bytes",
        "elfmaps_swap_bytes",
        "elfmaps_virtual_bytes",
        "elfmaps_object_info",
        "elfmaps_series_dropped",
        "elfmaps_scrape_duration_seconds",
    ] {
        assert!(text.contains(&format!("\n{family}")), "no {family}");
    }
    // Folding by --top moves memory to object="[other]" and loses none: each
    // family's sum per group is the same with one object kept as with all. (Not pss:
    // other processes of the machine that start or exit between the two runs move
    // the idle programs' share of libc.)
    let sums = |top: &str| -> Vec<(String, u64)> {
        let mut a = args("prometheus");
        a.splice(5..7, ["--top".to_string(), top.to_string()]);
        let t = stdout(&cli::checked(cli::command(a).output().unwrap()));
        let mut out: Vec<(String, u64)> = Vec::new();
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, rest)) = line.split_once('{') else {
                continue;
            };
            // Proportional and private bytes depend on which other processes map the
            // same pages, and other tests start and stop processes between the two
            // scans: only figures of the process alone are compared.
            if !name.ends_with("_bytes")
                || name.contains("proportional")
                || name.contains("private")
            {
                continue;
            }
            let group = rest.split("\",object=").next().unwrap();
            let value: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            let key = format!("{name} {group}");
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => *v += value,
                None => out.push((key, value)),
            }
        }
        out.sort();
        out
    };
    let (one, all) = (sums("1"), sums("1000"));
    assert!(one.len() >= 2 * 3, "{one:?}");
    assert_eq!(one, all);
    assert!(text.contains("elfmaps_series_dropped 0") || text.contains("object=\"[other]\""));

    // OpenMetrics: units, the info family, the end marker. (promtool's `check
    // metrics` reads the Prometheus text format only; the Prometheus server of the
    // test below parses OpenMetrics.)
    let om = stdout(&cli::checked(
        cli::command(args("openmetrics")).output().unwrap(),
    ));
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# UNIT elfmaps_resident_bytes bytes\n"), "{om}");
    assert!(om.contains("# TYPE elfmaps_object info\n"), "{om}");
    // -o FILE: written whole, no temporary file left beside it.
    let file = dir.path().join("elfmaps.prom");
    fs::write(&file, "old").unwrap();
    let mut a = args("prometheus");
    a.extend(["-o".into(), file.to_str().unwrap().into()]);
    let o = cli::checked(cli::command(a).output().unwrap());
    assert!(o.status.success(), "{}", cli::stderr(&o));
    let written = fs::read_to_string(&file).unwrap();
    assert!(written.contains("elfmaps_resident_bytes{"), "{written}");
    promtool_check(&written).unwrap();
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The server negotiates the format on Accept, answers 404 elsewhere, and reuses a
/// scan within --min-interval.
/// Issue 19 §9: two copies of the test library whose names differ only in a byte that
/// is not UTF-8 were one series (both names were `lib\u{fffd}.so`). Now each has its
/// own, labelled with the byte as `\xNN`.
#[test]
fn names_that_differ_in_invalid_bytes_are_two_series() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let Some((exe, lib)) = programs(dir.path(), "twonames") else {
        return;
    };
    let names: [&[u8]; 2] = [b"lib\xfe.so", b"lib\xff.so"];
    let running: Vec<Running> = names
        .iter()
        .map(|n| {
            let copy = dir.path().join(OsStr::from_bytes(n));
            fs::copy(&lib, &copy).unwrap();
            start(&exe, &copy)
        })
        .collect();
    let pids = format!("{},{}", running[0].pid(), running[1].pid());
    let out = cli::checked(
        cli::command(["metrics", "--pid", &pids, "--format", "prometheus"])
            .output()
            .unwrap(),
    );
    assert!(out.status.success(), "{}", cli::stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains('\u{fffd}'), "{text}");
    let dir = dir.path().to_str().unwrap();
    for label in [r#"lib\\xfe.so""#, r#"lib\\xff.so""#] {
        let series = format!(
            "elfmaps_resident_bytes{{group=\"twonames\",object=\"{dir}/{label},kind=\"text\"}}"
        );
        assert!(text.contains(&series), "no {series} in:\n{text}");
    }
    if have_promtool() {
        let found = promtool_check(&text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
        assert!(found.trim().is_empty(), "promtool says: {found}");
    }
}

#[test]
fn the_server_negotiates_and_reuses_a_scan() {
    let sleeper = Running::sleep();
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(
        dir.path(),
        &["--pid", &sleeper.pid_arg(), "--min-interval", "60"],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, head, body) = loop {
        if let Some(r) = get(port, "/metrics", "") {
            break r;
        }
        assert!(Instant::now() < deadline, "the server never answered");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.contains("200"), "{status}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let accept =
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n";
    let (_, head_om, body_om) = get(port, "/metrics", accept).unwrap();
    assert!(
        head_om
            .to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head_om}"
    );
    assert!(body_om.ends_with("# EOF\n"), "{body_om}");
    // One scan for both answers: the same duration.
    let duration = |b: &str| {
        b.lines()
            .find(|l| l.starts_with("elfmaps_scrape_duration_seconds "))
            .map(str::to_string)
    };
    assert_eq!(duration(&body), duration(&body_om));
    assert!(get(port, "/nothing", "").unwrap().0.contains("404"));
}

/// A Prometheus server scrapes `elfmaps metrics --listen`; its API gives the group of
/// test programs the Rss and Pss their smaps_rollup say, and the library's text the
/// rss of `system --json`.
#[test]
fn a_real_prometheus_scrapes_it() {
    if !skip::have_tool("prometheus", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let comm = format!("emtest{}", std::process::id() % 1_000_000);
    let Some((exe, lib)) = programs(dir.path(), &comm) else {
        return;
    };
    let procs: Vec<Running> = (0..3).map(|_| start(&exe, &lib)).collect();
    let pids: Vec<u32> = procs.iter().map(Running::pid).collect();

    let (_elfmaps, port) = serve(
        dir.path(),
        &["--name", &comm, "--min-interval", "0.5", "--top", "50"],
    );
    let (_prometheus, prom_port) = prometheus(dir.path(), port);
    let query = |q: &str| -> Option<Vec<Value>> {
        let enc: String = q
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"_.-".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let (status, _, body) = get(prom_port, &format!("/api/v1/query?query={enc}"), "")?;
        if !status.contains("200") {
            return None;
        }
        let v: Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"].as_array().cloned()
    };
    let value =
        |r: &Value| -> u64 { r["value"][1].as_str().unwrap().parse::<f64>().unwrap() as u64 };
    let group = format!("group=\"{comm}\"");
    let rss_q = format!("sum(elfmaps_resident_bytes{{{group}}})");
    // Wait for the first scrape that holds the group.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if query(&rss_q).is_some_and(|r| !r.is_empty()) {
            break;
        }
        let plog = fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "no elfmaps_resident_bytes of {comm} through Prometheus in 90 s; its log:\n{plog}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // The scrapes are healthy (OpenMetrics negotiated by Prometheus, parsed by it).
    let up = query("up{job=\"elfmaps\"}").unwrap();
    assert_eq!(value(&up[0]), 1, "{up:?}");
    let info = query("count(elfmaps_object_info)").unwrap();
    assert!(value(&info[0]) >= 2, "{info:?}");

    // Rss of the group = the sum of their smaps_rollup Rss (idle programs: stable).
    let truth_rss: u64 = pids.iter().map(|&p| rollup(p, "Rss")).sum();
    let got = value(&query(&rss_q).unwrap()[0]);
    assert_eq!(got, truth_rss, "sum of elfmaps_resident_bytes of {comm}");

    // Pss: the same within kB rounding (1 KiB per maps line). Other processes that map
    // libc come and go, and move its share: up to 20 scrapes to agree.
    let pss_q = format!("sum(elfmaps_proportional_resident_bytes{{{group}}})");
    let slack: u64 = pids.iter().map(|&p| maps_lines(p)).sum::<u64>() * 1024;
    let mut tries = Vec::new();
    for _ in 0..20 {
        let before: u64 = pids.iter().map(|&p| rollup(p, "Pss")).sum();
        let got = value(&query(&pss_q).unwrap()[0]);
        if got.abs_diff(before) <= slack {
            tries.clear();
            break;
        }
        tries.push((got, before));
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert!(
        tries.is_empty(),
        "pss (prometheus, smaps_rollup), slack {slack}: {tries:?}"
    );

    // The library's text series = the rss of its row in `system --json`.
    let pid_list = pids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let sys = json_ok(["system", "--json", "--pid", &pid_list]);
    let lib_s = lib.to_str().unwrap();
    let row = sys["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["object"] == lib_s && r["kind"] == "text")
        .unwrap_or_else(|| panic!("no text row of {lib_s}"));
    let text_q = format!("elfmaps_resident_bytes{{{group},object=\"{lib_s}\",kind=\"text\"}}");
    let got = value(&query(&text_q).unwrap()[0]);
    assert_eq!(got, row["rss"].as_u64().unwrap(), "{row}");
    drop(procs);
}

/// A field of `/proc/PID/status` (`VmRSS` in kB, `Threads`), as a number.
fn status_field(pid: u32, field: &str) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in status of {pid}"))
}

/// Bad scrapes: clients that connect and send nothing, a huge request head, 100
/// scrapes at once. The server answers or drops them, its threads and memory stay
/// bounded, and it keeps serving.
#[test]
fn bad_scrapes_do_not_stop_the_server() {
    let sleeper = Running::sleep();
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = serve(
        dir.path(),
        &["--pid", &sleeper.pid_arg(), "--min-interval", "60"],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(port, "/metrics", "").is_none() {
        assert!(Instant::now() < deadline, "the server never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let rss_before = status_field(server.pid(), "VmRSS");
    let ok = || {
        let (status, _, body) = get(port, "/metrics", "").expect("no answer");
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("elfmaps_resident_bytes{"));
    };

    // Silent clients hold a connection each, and the server still answers.
    let silent: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    ok();

    // A head that never ends: answered 431 (or cut), not read without bound.
    let mut huge = TcpStream::connect(("127.0.0.1", port)).unwrap();
    huge.set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    huge.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let line = format!("GET /metrics HTTP/1.1\r\nX-Big: {}", "a".repeat(64 * 1024));
    let mut sent = 0;
    for _ in 0..64 {
        match huge.write(line.as_bytes()) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let mut answer = String::new();
    let _ = huge.read_to_string(&mut answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer:?} after {sent} bytes"
    );
    ok();

    // 200 scrapes at once: each answered, none reset or left hanging.
    let answers = at_once(port, 200);
    assert_all_answered(&answers);
    drop(silent);
    ok();
    let threads = status_field(server.pid(), "Threads");
    assert!(threads <= 20, "{threads} threads");
    let rss_after = status_field(server.pid(), "VmRSS");
    assert!(
        rss_after < rss_before + 16 * 1024,
        "VmRSS {rss_before} kB -> {rss_after} kB"
    );
}

/// `n` scrapes of `/metrics` at once, each on its own connection: (status line,
/// head) of each, `None` where nothing (or a reset) came back.
fn at_once(port: u16, n: usize) -> Vec<Option<(String, String)>> {
    let start = std::sync::Arc::new(std::sync::Barrier::new(n));
    (0..n)
        .map(|_| {
            let start = std::sync::Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                get(port, "/metrics", "").map(|a| (a.0, a.1))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect()
}

/// Every answer is 200, or 503 with `Retry-After`; none is missing (a reset).
fn assert_all_answered(answers: &[Option<(String, String)>]) {
    for a in answers {
        let Some((status, head)) = a else {
            panic!("a scrape got no answer: {answers:?}");
        };
        let retry = head.to_ascii_lowercase().contains("\r\nretry-after: ");
        assert!(
            status.contains(" 200 ") || (status.contains(" 503 ") && retry),
            "{status}\n{head}"
        );
    }
}

/// Issue 19 §8: idle connections (more than the 16 slots of the old server) and
/// slowloris clients (a header line now and then, never the end of the head,
/// reconnecting when cut) are held open while real scrapes are made: every real
/// scrape is answered 200. Then 200 scrapes at once, each asking for a new scan
/// (`--min-interval 0`): each is answered 200 (they share the scan under way) or 503
/// with Retry-After, none reset.
#[test]
fn idle_and_slow_clients_do_not_starve_scrapes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let sleeper = Running::sleep();
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(
        dir.path(),
        &["--pid", &sleeper.pid_arg(), "--min-interval", "0"],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(port, "/metrics", "").is_none() {
        assert!(Instant::now() < deadline, "the server never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let idle: Vec<TcpStream> = (0..48)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let cut = Arc::new(AtomicUsize::new(0));
    let slow: Vec<_> = (0..24)
        .map(|_| {
            let (stop, cut) = (Arc::clone(&stop), Arc::clone(&cut));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                        continue;
                    };
                    let mut line: &[u8] = b"GET /metrics HTTP/1.1\r\n";
                    while !stop.load(Ordering::SeqCst) && s.write_all(line).is_ok() {
                        line = b"X-Slow: 1\r\n";
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    cut.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..30 {
        let (status, head, body) =
            get(port, "/metrics", "").unwrap_or_else(|| panic!("scrape {i}: no answer"));
        assert!(status.contains(" 200 "), "scrape {i}: {status}\n{head}");
        assert!(
            body.contains("elfmaps_last_scan_timestamp_seconds "),
            "{body}"
        );
        assert!(head.to_ascii_lowercase().contains("\r\nage: "), "{head}");
    }
    assert_all_answered(&at_once(port, 200));
    stop.store(true, Ordering::SeqCst);
    for t in slow {
        t.join().unwrap();
    }
    drop(idle);
}

/// Beyond the connection limit (here 16: the server's limit on open files is set to
/// 100, which it cannot raise), a connection is answered 503 with `Retry-After`, and
/// its request is read before the socket is closed: the client gets the answer, not
/// a reset.
#[test]
fn beyond_the_connection_limit_is_503_with_retry_after() {
    use std::os::unix::process::CommandExt;

    let sleeper = Running::sleep();
    let dir = tempfile::tempdir().unwrap();
    let pid = sleeper.pid_arg();
    let (_server, port) = serve_with(
        dir.path(),
        &["--pid", &pid, "--min-interval", "60"],
        |cmd| {
            // SAFETY: setrlimit is async-signal-safe; the struct lives through the call.
            unsafe {
                cmd.pre_exec(|| {
                    let lim = libc::rlimit {
                        rlim_cur: 100,
                        rlim_max: 100,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        },
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(port, "/metrics", "").is_none() {
        assert!(Instant::now() < deadline, "the server never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let idle: Vec<TcpStream> = (0..16)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..5 {
        let (status, head, _) =
            get(port, "/metrics", "").unwrap_or_else(|| panic!("scrape {i}: reset"));
        assert!(status.contains(" 503 "), "{status}");
        assert!(
            head.to_ascii_lowercase().contains("\r\nretry-after: 5"),
            "{head}"
        );
    }
    drop(idle);
    // The slots are free again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = get(port, "/metrics", "").map(|a| a.0).unwrap_or_default();
        if status.contains(" 200 ") {
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `--rss-only` scans maps and pagemap: resident and swap series, no proportional or
/// private ones (their figures are unknown without smaps), and promtool accepts it.
/// The resident bytes of a sleeping process equal its smaps_rollup Rss.
#[test]
fn rss_only_scrapes_have_resident_series_only() {
    if !have_promtool() {
        return;
    }
    let me = Running::sleep();
    let out = cli::checked(
        cli::command([
            "metrics",
            "--rss-only",
            "--pid",
            &me.pid().to_string(),
            "--top",
            "1000",
        ])
        .output()
        .unwrap(),
    );
    assert!(out.status.success(), "{}", cli::stderr(&out));
    let text = stdout(&out);
    let found = promtool_check(&text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
    assert!(found.trim().is_empty(), "promtool says: {found}");
    assert!(
        !text.contains("elfmaps_proportional_resident_bytes{"),
        "{text}"
    );
    assert!(!text.contains("elfmaps_private_bytes{"), "{text}");
    let resident: u64 = text
        .lines()
        .filter(|l| l.starts_with("elfmaps_resident_bytes{group=\"sleep\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(resident, rollup(me.pid(), "Rss"), "{text}");
}

/// `Private_Clean + Private_Dirty` summed over every line of `/proc/PID/smaps`, in
/// bytes: the process's unique memory as the kernel counts it.
fn smaps_private(pid: u32) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    text.lines()
        .filter(|l| l.starts_with("Private_Clean:") || l.starts_with("Private_Dirty:"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024)
        .sum()
}

/// The PIDs whose comm is `comm`.
fn pids_of(comm: &str) -> Vec<u32> {
    let mut pids: Vec<u32> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim_end() == comm)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// The sum of the samples of `family` with label `group="GROUP"` in `text`.
fn group_sum(text: &str, family: &str, group: &str) -> u64 {
    let prefix = format!("{family}{{group=\"{group}\",");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Issue 21: each group's elfmaps_private_bytes is its processes' unique memory as
/// their smaps say (Private_Clean + Private_Dirty, read here), or the group says its
/// family is incomplete. testdata/system/cow.c shares a split maps line (its bss and
/// the anonymous mapping merged after it) copy-on-write with two children: the parts'
/// clean/dirty breakdown is not forced by the line, so before, their private bytes
/// were unknown, left out, and the group's sum came out low with nothing said. As
/// root they are exact (each page's map count, /proc/kpagecount).
#[test]
fn private_bytes_of_each_group_are_its_smaps_private() {
    if !skip::is_root("reading /proc/kpagecount") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "system/cow.c", &["-O0"]) else {
        return;
    };
    let comm = format!("emcow{}", std::process::id() % 1_000_000);
    let named = dir.path().join(&comm);
    fs::copy(&exe, &named).unwrap();
    let mut cow = Running::spawn(
        Command::new(&named)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    cow.lines_until("READY");
    let pids = pids_of(&comm);
    assert_eq!(pids.len(), 3, "{pids:?}");
    let run = |extra: &[&str]| -> String {
        let mut args = vec!["metrics", "--name", &comm, "--top", "1000"];
        args.extend_from_slice(extra);
        let out = cli::checked(cli::command(args).output().unwrap());
        assert!(out.status.success(), "{}", cli::stderr(&out));
        stdout(&out)
    };
    // Idle programs: their smaps do not change between the two reads.
    let text = run(&[]);
    let truth: u64 = pids.iter().map(|&p| smaps_private(p)).sum();
    let got = group_sum(&text, "elfmaps_private_bytes", &comm);
    let incomplete =
        format!("elfmaps_incomplete{{group=\"{comm}\",family=\"elfmaps_private_bytes\"}} 0");
    assert!(text.contains(&incomplete), "no {incomplete} in:\n{text}");
    assert_eq!(got, truth, "elfmaps_private_bytes of {comm} against smaps");
    let processes = format!("elfmaps_group_processes{{group=\"{comm}\"}} 3");
    assert!(text.contains(&processes), "{text}");
    // Read from maps and pagemap (over a budget of 1 byte): the private and
    // proportional families say they are incomplete for the group, and the resident
    // bytes stay whole.
    let spared = run(&["--target-max-rss", "1"]);
    for family in [
        "elfmaps_private_bytes",
        "elfmaps_proportional_resident_bytes",
    ] {
        let line = format!("elfmaps_incomplete{{group=\"{comm}\",family=\"{family}\"}} 1");
        assert!(spared.contains(&line), "no {line} in:\n{spared}");
    }
    let rss: u64 = pids.iter().map(|&p| rollup(p, "Rss")).sum();
    assert_eq!(group_sum(&spared, "elfmaps_resident_bytes", &comm), rss);
    if have_promtool() {
        for t in [&text, &spared] {
            let found = promtool_check(t).unwrap_or_else(|e| panic!("promtool: {e}\n{t}"));
            assert!(found.trim().is_empty(), "promtool says: {found}");
        }
    }
    cow.finish();
}

/// The series budget of docs/metrics.md ("Series budget"), per day, for `top`
/// objects and `groups` groups: (groups + 2) x (5 x ((2 top + 1) x 7 + 16) + 8) +
/// (groups + 2) x 2 top + 13.
fn series_budget_per_day(top: usize, groups: usize) -> usize {
    let objects = 2 * top;
    (groups + 2) * (5 * ((objects + 1) * 7 + 16) + 8) + (groups + 2) * objects + 13
}

/// Issue 21, done when: a real Prometheus scrapes `elfmaps metrics --listen` every
/// second for 10 scrape intervals while 200 short-lived commands of distinct names
/// start and end; the distinct series it stores (asked through its API, over the
/// whole time) stay under the documented budget, the commands do not become 200
/// groups, and the exposition under churn passes `promtool check metrics`.
#[test]
fn series_stay_bounded_under_churn() {
    if !skip::have_tool("prometheus", &["--version"]) || !have_promtool() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_source(
        dir.path(),
        "nap",
        "#include <stdlib.h>\n#include <unistd.h>\n\
         int main(int c, char **v) { usleep(c > 1 ? atoi(v[1]) * 1000 : 500000); return 0; }\n",
        &["-O0"],
    ) else {
        return;
    };
    let tag = std::process::id() % 10_000;
    let names: Vec<String> = (0..200).map(|i| format!("ch{tag}x{i:03}")).collect();
    for n in &names {
        fs::copy(&exe, dir.path().join(n)).unwrap();
    }
    let (top, groups) = (5usize, 10usize);
    let mut args: Vec<String> = [
        "--min-interval",
        "0.5",
        "--min-age",
        "2",
        "--min-group-size",
        "0",
        "--top",
        &top.to_string(),
        "--max-groups",
        &groups.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // One long-lived process among them: the dashboard's panels have its data at
    // the end, when the short ones are gone.
    let steady = format!("ch{tag}steady");
    fs::copy(&exe, dir.path().join(&steady)).unwrap();
    let _steady = Running::spawn(Command::new(dir.path().join(&steady)).arg("120000"));
    for n in names.iter().chain([&steady]) {
        args.push("--name".into());
        args.push(n.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_elfmaps, port) = serve(dir.path(), &args);
    let (_prometheus, prom_port) = prometheus(dir.path(), port);
    let api = |path: &str| -> Option<Value> {
        let (status, _, body) = get(prom_port, path, "")?;
        if !status.contains("200") {
            return None;
        }
        serde_json::from_str(&body).ok()
    };
    // Wait for the first good scrape.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !api("/api/v1/query?query=up").is_some_and(|v| {
        v["data"]["result"]
            .as_array()
            .is_some_and(|r| r.iter().any(|s| s["value"][1] == "1"))
    }) {
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped elfmaps"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    // 200 commands over about 10 scrape intervals: 20 a second, each living 0.3 to
    // 3 s (some outlive --min-age), at most about 40 at once.
    let mut running: Vec<std::process::Child> = Vec::new();
    let mut texts = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let ms = 300 + (i % 10) * 300;
        running.push(
            Command::new(dir.path().join(n))
                .arg(ms.to_string())
                .spawn()
                .unwrap(),
        );
        std::thread::sleep(Duration::from_millis(50));
        if i % 50 == 25 {
            let (status, _, body) = get(port, "/metrics", "").unwrap();
            assert!(status.contains("200"), "{status}");
            texts.push(body);
        }
        running.retain_mut(|c| c.try_wait().ok().flatten().is_none());
    }
    for mut c in running {
        let _ = c.wait();
    }
    std::thread::sleep(Duration::from_millis(2500));
    let end = start + 14.0;
    // The exposition under churn: promtool finds nothing.
    for text in &texts {
        let found = promtool_check(text).unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
        assert!(found.trim().is_empty(), "promtool says: {found}");
    }
    // Every series Prometheus stored over the whole time.
    let q = format!(
        "/api/v1/series?match%5B%5D=%7B__name__%3D~%22elfmaps_.%2A%22%7D&start={start}&end={end}"
    );
    let series = api(&q).expect("series API")["data"]
        .as_array()
        .unwrap()
        .clone();
    let budget = series_budget_per_day(top, groups);
    assert!(
        series.len() <= budget,
        "{} series stored, budget {budget}",
        series.len()
    );
    let groups_seen: std::collections::BTreeSet<&str> =
        series.iter().filter_map(|s| s["group"].as_str()).collect();
    assert!(
        groups_seen.len() <= groups + 2,
        "{} groups: {groups_seen:?}",
        groups_seen.len()
    );
    assert!(
        groups_seen.contains("[short-lived]"),
        "no [short-lived] group: {groups_seen:?}"
    );
    eprintln!(
        "note: {} series stored under churn (budget {budget}), groups {groups_seen:?}",
        series.len()
    );
    // Every query of the dashboard, and every alert's expression, runs against what
    // this Prometheus stored; the memory panels have data.
    let enc = |q: &str| -> String {
        q.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"_.-".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    for (title, expr) in dashboard_queries() {
        let q = expr.replace("$instance", ".*").replace("$group", ".*");
        let v = api(&format!("/api/v1/query?query={}&time={end}", enc(&q)))
            .unwrap_or_else(|| panic!("panel {title:?}: {q} failed"));
        assert_eq!(v["status"], "success", "panel {title:?}: {q}: {v}");
        let empty = v["data"]["result"].as_array().is_none_or(Vec::is_empty);
        let may_be_empty = title.contains("Incomplete") || title.contains("not read");
        assert!(!empty || may_be_empty, "panel {title:?}: no data for {q}");
    }
    for expr in alert_exprs() {
        let v = api(&format!("/api/v1/query?query={}&time={end}", enc(&expr)))
            .unwrap_or_else(|| panic!("alert expression failed: {expr}"));
        assert_eq!(v["status"], "success", "{expr}: {v}");
    }
}

/// The folder of the dashboard and the alerting rules.
fn monitoring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring")
}

/// The dashboard: monitoring/elfmaps-dashboard.json.
fn dashboard() -> Value {
    let text = fs::read_to_string(monitoring().join("elfmaps-dashboard.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// (panel title, expression) of every query of the dashboard.
fn dashboard_queries() -> Vec<(String, String)> {
    let d = dashboard();
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            out.push((
                p["title"].as_str().unwrap().to_string(),
                t["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// The `expr` of each rule of monitoring/elfmaps-alerts.yml, as `promtool check
/// rules` read them (YAML block scalars: the indented lines after `expr: |`).
fn alert_exprs() -> Vec<String> {
    let text = fs::read_to_string(monitoring().join("elfmaps-alerts.yml")).unwrap();
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let t = l.trim_start();
        let Some(rest) = t.strip_prefix("expr:") else {
            continue;
        };
        let rest = rest.trim();
        if rest != "|" {
            out.push(rest.to_string());
            continue;
        }
        let indent = l.len() - t.len();
        let mut expr = String::new();
        while let Some(next) = lines.peek() {
            let n = next.trim_start();
            if !n.is_empty() && next.len() - n.len() <= indent {
                break;
            }
            expr.push_str(n);
            expr.push(' ');
            lines.next();
        }
        out.push(expr.trim().to_string());
    }
    assert_eq!(out.len(), 3, "{out:?}");
    out
}

/// Issue 21: the alerting rules pass `promtool check rules` and their unit tests
/// (`promtool test rules`: a library's text grown 20% in a day, a unit's unique
/// memory above 8 GiB, a stale scan; and the cases that must not fire).
#[test]
fn alert_rules_pass_their_unit_tests() {
    if !have_promtool() {
        return;
    }
    for args in [
        ["check", "rules", "elfmaps-alerts.yml"],
        ["test", "rules", "elfmaps-alerts.test.yml"],
    ] {
        let o = Command::new("promtool")
            .args(args)
            .current_dir(monitoring())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Issue 21: the Grafana dashboard has what Grafana's import needs: a title, a uid,
/// an integer schemaVersion, a datasource input, template variables, and panels each
/// with an id, a type Grafana ships, a title, a grid position inside the 24-column
/// grid, and targets with a refId and a PromQL expression (run against a real
/// Prometheus in `series_stay_bounded_under_churn`).
#[test]
fn the_dashboard_is_importable() {
    let d = dashboard();
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        d["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty() && u.len() <= 40)
    );
    assert!(
        d["schemaVersion"].as_u64().is_some_and(|v| v >= 30),
        "schemaVersion"
    );
    assert!(d["time"]["from"].is_string() && d["time"]["to"].is_string());
    assert_eq!(d["__inputs"][0]["type"], "datasource");
    let vars = d["templating"]["list"].as_array().unwrap();
    let names: Vec<&str> = vars.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["datasource", "instance", "group"]);
    for v in vars {
        assert!(
            ["datasource", "query"].contains(&v["type"].as_str().unwrap()),
            "{v}"
        );
    }
    let panels = d["panels"].as_array().unwrap();
    assert!(panels.len() >= 8);
    let mut ids = std::collections::BTreeSet::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate id: {p}");
        let kind = p["type"].as_str().unwrap();
        assert!(
            ["timeseries", "stat", "table", "bargauge", "gauge"].contains(&kind),
            "{kind}"
        );
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()));
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64().unwrap(), g["w"].as_u64().unwrap());
        assert!(
            x + w <= 24 && g["h"].as_u64().unwrap() > 0 && g["y"].is_u64(),
            "{g}"
        );
        assert_eq!(p["datasource"]["type"], "prometheus");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty());
        for t in targets {
            assert!(t["refId"].as_str().is_some_and(|r| !r.is_empty()));
            let expr = t["expr"].as_str().unwrap();
            assert!(expr.contains("elfmaps_"), "{expr}");
            // Balanced brackets: a broken expression is caught here before Prometheus.
            for (open, close) in [('(', ')'), ('{', '}')] {
                assert_eq!(
                    expr.matches(open).count(),
                    expr.matches(close).count(),
                    "{expr}"
                );
            }
        }
    }
}

/// Issue 21: `--listen :PORT` serves on every address; a scrape that accepts gzip gets
/// the same text compressed (`gzip -dc` gives it back byte for byte); an
/// `--rss-only` exposition has no `# HELP` or `# TYPE` line of the families it leaves
/// out, and says its mode in `elfmaps_build_info`.
#[test]
fn gzip_answers_any_address_and_rss_only_headers() {
    let sleeper = Running::sleep();
    let dir = tempfile::tempdir().unwrap();
    let pid = sleeper.pid_arg();
    let (_server, port) = serve_on(
        dir.path(),
        ":0",
        &["--pid", &pid, "--min-interval", "60", "--rss-only"],
        |_| {},
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let (_, _, plain) = loop {
        if let Some(r) = get(port, "/metrics", "") {
            break r;
        }
        assert!(Instant::now() < deadline, "the server never answered");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        !plain.contains("elfmaps_proportional_resident_bytes")
            && !plain.contains("elfmaps_private_bytes"),
        "{plain}"
    );
    assert!(plain.contains("elfmaps_build_info{version=\""), "{plain}");
    assert!(plain.contains("mode=\"rss-only\"} 1"), "{plain}");
    // Raw bytes: the gzip body is binary.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Encoding: gzip\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).unwrap();
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&bytes[..split]).to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
    let body = &bytes[split + 4..];
    assert!(
        body.len() < plain.len(),
        "{} >= {}",
        body.len(),
        plain.len()
    );
    let mut gz = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    gz.stdin.take().unwrap().write_all(body).unwrap();
    let out = gz.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), plain);
}

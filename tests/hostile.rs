//! Hostile inputs and races: elfmaps must never panic (exit 101), die of a signal,
//! hang, or say something wrong without saying it is unsure. Each case checks the
//! exit code, that stderr has one clear line naming the culprit, and that the other
//! results are kept.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::build;
use common::child::Running;
use common::cli::{self, codes_for, elfmaps, json, stderr};
use common::elf::{Elf64, PF_R, PF_X, Phdr, ehdr};
use common::skip;

/// An ELF64 shared object whose one PT_LOAD is `[offset, vaddr, filesz, memsz]` (R E,
/// 4 KiB aligned), with `phnum` and `phentsize` as given.
fn elf64(phnum: u16, phentsize: u16, loads: &[[u64; 4]]) -> Vec<u8> {
    let phdrs: Vec<Phdr> = loads
        .iter()
        .map(|l| Phdr::load(PF_R | PF_X, l[0], l[1], l[2], l[3], 0x1000))
        .collect();
    Elf64 {
        phnum,
        phentsize,
        ..Elf64::dyn_with(&phdrs)
    }
    .bytes()
}

/// Runs elfmaps with `args` in at most `bytes` of address space (`RLIMIT_AS`): work
/// bounded by a count, not by a clock. An allocation past the limit aborts the run
/// (a signal, which [`cli::checked`] reports) or is an out-of-memory error. How fast
/// it goes is bench/'s question (the `scale` part: time per maps line, linearity).
fn elfmaps_within<const N: usize>(args: [&str; N], bytes: u64) -> Output {
    let mut c = cli::command(args);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    cli::checked(c.output().expect("run elfmaps"))
}

#[test]
fn hostile_elf_files_are_one_warning_each() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let good = elf64(1, 56, &[[0, 0, 0x1000, 0x1000]]);
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    // Truncated at every header boundary.
    for cut in [0usize, 1, 4, 5, 6, 16, 52, 63, 64, 65, 64 + 55] {
        cases.push((format!("cut{cut}.so"), good[..cut].to_vec()));
    }
    cases.push(("magic.so".into(), b"\x7fELF".to_vec()));
    cases.push(("phnum.so".into(), elf64(0xfffe, 56, &[])));
    cases.push(("xnum.so".into(), elf64(0xffff, 56, &[])));
    cases.push((
        "phentsize.so".into(),
        elf64(1, 32, &[[0, 0, 0x1000, 0x1000]]),
    ));
    let mut far = good.clone();
    far[ehdr::PHOFF..ehdr::PHOFF + 8].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
    cases.push(("phoff.so".into(), far));
    cases.push((
        "filesz.so".into(),
        elf64(1, 56, &[[u64::MAX - 4096, 0, u64::MAX, u64::MAX]]),
    ));
    cases.push((
        "vaddr.so".into(),
        elf64(1, 56, &[[0, u64::MAX - 4096, 0x1000, 0x10000]]),
    ));
    // Program headers that cannot explain the mapping: the file is only 0x1000 long.
    cases.push((
        "offset.so".into(),
        elf64(1, 56, &[[0x100000, 0x100000, 0x1000, 0x1000]]),
    ));
    let mut maps = String::new();
    for (i, (name, bytes)) in cases.iter().enumerate() {
        fs::write(root.join(name), bytes).unwrap();
        let start = 0x10_0000 + (i as u64) * 0x1_0000;
        let off = if name == "offset.so" { 0x100000 } else { 0 };
        maps.push_str(&format!(
            "{start:x}-{:x} r-xp {off:08x} 08:01 {} /{name}\n",
            start + 0x1000,
            100 + i
        ));
    }
    maps.push_str("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n");
    fs::write(root.join("maps"), &maps).unwrap();
    // -v: every warning on its own line (by default one line per code over more
    // than three objects: issue 20).
    let o = elfmaps([
        "map",
        "-v",
        "--json",
        "--maps",
        root.join("maps").to_str().unwrap(),
        "--sysroot",
        root.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let regions = v["regions"].as_array().unwrap();
    assert_eq!(regions.len(), cases.len() + 1);
    let err = stderr(&o);
    for (i, (name, _)) in cases.iter().enumerate() {
        let kind = regions[i]["kind"].as_str().unwrap();
        // Too short to hold the magic: not ELF, a plain file. Otherwise unknown.
        let want = if name == "cut0.so" || name == "cut1.so" {
            "file"
        } else {
            "unknown"
        };
        assert_eq!(kind, want, "{name}: {}", regions[i]);
        if want == "unknown" {
            // Headers that do not parse, or parse but cannot explain the maps line.
            let code = if name == "offset.so" {
                "layout-mismatch"
            } else {
                "elf-malformed"
            };
            assert_eq!(codes_for(&v, &format!("/{name}")), [code], "{name}");
            let lines = err
                .lines()
                .filter(|l| l.contains(&format!("/{name}:")))
                .count();
            assert_eq!(lines, 1, "one warning line for {name}:\n{err}");
        } else {
            assert_eq!(
                codes_for(&v, &format!("/{name}")),
                [] as [&str; 0],
                "{name}"
            );
        }
    }
    assert_eq!(regions[cases.len()]["kind"], "anon");
}

#[test]
fn malformed_maps_lines_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        "00402000-00401000 r--p 00000000 08:01 1 /x",
        "00401000-1ffffffffffffffff r--p 00000000 08:01 1 /x",
        "0040g000-00402000 r--p 00000000 08:01 1 /x",
        "00401000-00402000 r--p 00000000 08:01",
        "00401000-00402000 r--p",
        "00401000-00402000 r--p 00000000 08:01 1 /x\0y",
        "00401000-00402000 rwxq 00000000 08:01 1 /x",
        "00401000-00402000 r--p 0000zz00 08:01 1 /x",
        "just garbage",
    ];
    for line in bad {
        let p = dir.path().join("maps");
        fs::write(
            &p,
            format!("00400000-00401000 r--p 00000000 00:00 0 \n{line}\n"),
        )
        .unwrap();
        let o = elfmaps(["map", "--maps", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{line:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{line:?}: {err}");
        assert!(err.contains("maps: line 2:"), "{line:?}: {err}");
    }
}

#[test]
fn a_65530_line_maps_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("maps");
    let mut f = std::io::BufWriter::new(fs::File::create(&p).unwrap());
    for i in 0..65_530u64 {
        let start = 0x1000_0000 + i * 0x2000;
        let perms = if i % 2 == 0 { "rw-p" } else { "r--p" };
        writeln!(
            f,
            "{start:x}-{:x} {perms} 00000000 00:00 0 ",
            start + 0x1000
        )
        .unwrap();
    }
    drop(f);
    // 4 KiB of address space a line (256 MiB), binary and threads included: the debug
    // build peaks at about 56 MB of RSS here and runs in 48 MiB of address space.
    let o = elfmaps_within(["map", "--json", "--maps", p.to_str().unwrap()], 256 << 20);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["regions"].as_array().unwrap().len(), 65_530);
}

#[test]
fn processes_that_exit_while_being_read() {
    // Short-lived processes, read at random points of their exit.
    for i in 0..40 {
        // Not settled: read at any point of exec, run or exit.
        let child = Running::spawn(Command::new("sleep").arg(format!("0.0{}", i % 10)));
        let pid = child.pid_arg();
        let o = elfmaps(["map", "--json", &pid]);
        match o.status.code() {
            Some(0) => {
                json(&o);
            }
            Some(2) => {
                let err = stderr(&o);
                assert_eq!(err.lines().count(), 1, "{err}");
                assert!(
                    err.contains(&format!("process {pid} exited"))
                        || err.contains(&format!("process {pid} has exited (a zombie"))
                        || err.contains(&format!("no process with PID {pid}")),
                    "{err}"
                );
            }
            other => panic!("exit {other:?}: {}", stderr(&o)),
        }
        drop(child);
    }
    // A process killed while elfmaps runs.
    for _ in 0..10 {
        let mut child = Running::spawn(Command::new("sleep").arg("10"));
        let run = cli::command(["map", &child.pid_arg()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.kill();
        let o = cli::checked(run.wait_with_output().unwrap());
        assert!(matches!(o.status.code(), Some(0) | Some(2)), "{o:?}");
    }
}

/// Copies the libc that `sleep` uses into `dir` and starts `sleep` with it; None (after
/// a note) when that cannot be done here.
fn sleep_with_private_libc(dir: &Path) -> Option<Running> {
    let started = private_libc(dir);
    if started.is_none() {
        skip::skip("could not run sleep with a private copy of its libc");
    }
    started
}

fn private_libc(dir: &Path) -> Option<Running> {
    let ldd = Command::new("ldd").arg("/bin/sleep").output().ok()?;
    let text = String::from_utf8_lossy(&ldd.stdout).into_owned();
    let libc = text.lines().find_map(|l| {
        let l = l.trim();
        l.starts_with("libc.so")
            .then(|| l.split("=> ").nth(1)?.split(' ').next().map(str::to_string))?
    })?;
    fs::copy(&libc, dir.join("libc.so.6")).ok()?;
    let child = Running::start(
        Command::new("/bin/sleep")
            .arg("30")
            .env("LD_LIBRARY_PATH", dir),
    );
    let maps = fs::read_to_string(format!("/proc/{}/maps", child.pid())).ok()?;
    maps.contains(dir.to_str()?).then_some(child)
}

fn libc_regions<'a>(v: &'a serde_json::Value, dir: &Path) -> Vec<&'a serde_json::Value> {
    let d = dir.to_str().unwrap();
    v["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with(d)))
        .collect()
}

#[test]
fn library_truncated_on_disk_while_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let Some(child) = sleep_with_private_libc(dir.path()) else {
        return;
    };
    // The process keeps running (it does not touch the lost pages while asleep).
    fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("libc.so.6"))
        .unwrap()
        .set_len(100)
        .unwrap();
    let o = elfmaps(["map", "--json", &child.pid_arg()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    // Truncated after the process started: written in place, so its inode proves
    // nothing (issue 18 §2: `file-changed`, unless the truncation fell in the clock
    // tick the process started in), and what is left is not ELF.
    let codes = codes_for(&v, "/libc.so.6");
    assert!(
        codes == ["elf-malformed"] || codes == ["file-changed", "elf-malformed"],
        "{codes:?}"
    );
    let regions = libc_regions(&v, dir.path());
    assert!(!regions.is_empty());
    assert!(
        regions.iter().all(|r| r["kind"] == "unknown"),
        "{regions:?}"
    );
}

#[test]
fn library_replaced_on_disk_while_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let Some(child) = sleep_with_private_libc(dir.path()) else {
        return;
    };
    // An upgrade: a different file renamed over the library.
    let new = dir.path().join("new");
    fs::copy("/bin/sleep", &new).unwrap();
    fs::rename(&new, dir.path().join("libc.so.6")).unwrap();
    let o = elfmaps(["map", "--json", &child.pid_arg()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let regions = libc_regions(&v, dir.path());
    assert!(
        regions
            .iter()
            .all(|r| r["path"].as_str().unwrap().ends_with(" (deleted)"))
    );
    let via_map_files = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["opened"] == "map_files");
    if via_map_files {
        // The mapped inode itself was read: right labels, no doubt.
        assert!(regions.iter().any(|r| r["kind"] == "text"), "{regions:?}");
        assert!(
            regions.iter().all(|r| r["kind"] != "unknown"),
            "{regions:?}"
        );
    } else {
        // Only the new file could be read: it does not explain the maps.
        assert!(
            regions.iter().all(|r| r["kind"] == "unknown"),
            "{regions:?}"
        );
        let w = cli::warnings(&v);
        assert!(
            w.iter().any(|w| w.code == "file-replaced"
                && w.object
                    .as_deref()
                    .is_some_and(|o| o.contains("/libc.so.6"))),
            "{w:?}"
        );
    }
}

#[test]
fn maps_that_change_between_reads() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) =
        build::build_testdata(dir.path(), "churn/churn.c", &["-O0", "-pthread", "-ldl"])
    else {
        return;
    };
    // Its threads never rest: READY (after exec and setup), not settled.
    let mut child = Running::spawn(
        Command::new(&exe)
            .arg("libm.so.6")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    assert!(child.lines_until("READY").is_empty());
    let pid = child.pid_arg();
    // Both reads run on a second thread while the lines are parsed (issue 10); the
    // RSS-only one scans pagemap on a third.
    for i in 0..30 {
        let o = if i % 3 == 2 {
            elfmaps(["map", "--rss-only", "--json", &pid])
        } else {
            elfmaps(["map", "--json", &pid])
        };
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        let mut last = 0;
        for r in v["regions"].as_array().unwrap() {
            let (s, e) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
            assert!(s >= last && e > s, "{r}");
            last = e;
        }
    }
    for _ in 0..5 {
        let o = elfmaps(["snapshot", &pid, "-o", "-"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(o.stdout.starts_with(b"ELFMAPS-SNAPSHOT 1\n"));
    }
}

/// Issue 9 §2: a ~200-byte snapshot that declares residency for a 1 TiB split line
/// (2^28 pages) once aborted allocating a word per page. Its bitmaps hold 8 pages: a
/// claim larger than the input, refused at once with exit 2.
#[test]
fn a_snapshot_claiming_a_terabyte_of_residency() {
    let dir = tempfile::tempdir().unwrap();
    let smaps = "7e0000000000-7f0000000000 rw-p 00000000 00:00 0 \nRss: 4 kB\n";
    let res = "7e0000000000-7f0000000000 ff 00\n";
    let snap = format!(
        "ELFMAPS-SNAPSHOT 1\npage_size 4096\nsource smaps\n\n@smaps {}\n{smaps}\n@residency {}\n{res}\n",
        smaps.len(),
        res.len()
    );
    assert!(snap.len() < 220);
    let path = dir.path().join("tib.snap");
    fs::write(&path, &snap).unwrap();
    // A word per page would be 2 GiB; the refusal fits in 256 MiB of address space.
    let o = elfmaps_within(
        [
            "map",
            "--snapshot",
            path.to_str().unwrap(),
            "--sysroot",
            dir.path().to_str().unwrap(),
        ],
        256 << 20,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("268435456 pages"), "{err}");
}

/// Address space limits (`RLIMIT_AS`): a run that grew without bound, or held its input
/// more times over than allowed, fails an allocation (and aborts, or says out of
/// memory) under them. A debug build needs about 100 MiB to start.
const MIB: u64 = 1 << 20;
const ONE_GIB: u64 = 1 << 30;

/// Issue 19 §10: saved inputs were read whole, so `/dev/zero` (or a pipe that never
/// ends) grew elfmaps until memory ran out. A line that never ends is an error at
/// 64 KiB; every input stops at the input limit with its error (`input-too-large`).
#[test]
fn saved_inputs_that_never_end_stop_at_a_limit() {
    // smaps and maps are parsed as they are read: the first line never ends.
    for flag in ["--smaps", "--maps"] {
        let b = cli::bounded(["map", flag, "/dev/zero"], Stdio::null(), 256 * MIB, 60);
        eprintln!("map {flag} /dev/zero: {:?} CPU", b.cpu);
        assert_eq!(b.output.status.code(), Some(2));
        let err = stderr(&b.output);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("elfmaps: error: /dev/zero: line 1: line longer than 65536 bytes"),
            "{err}"
        );
    }
    // A snapshot is read whole: up to the limit, the default one (256 MiB) included,
    // and in no more memory than the limit (read_to_end doubled its buffer to 512 MiB,
    // and said out of memory under this limit).
    for limit in [None, Some("16MiB")] {
        let mut args = vec!["map", "--snapshot", "/dev/zero"];
        args.extend(limit.iter().flat_map(|l| ["--max-input-size", l]));
        let b = cli::bounded(&args, Stdio::null(), 512 * MIB, 60);
        eprintln!("{args:?}: {:?} CPU", b.cpu);
        assert_eq!(b.output.status.code(), Some(2));
        let err = stderr(&b.output);
        let bytes = if limit.is_some() { 16 << 20 } else { 256 << 20 };
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "elfmaps: error: /dev/zero: larger than the input limit of {bytes} bytes"
            )),
            "{err}"
        );
        assert!(err.contains("--max-input-size"), "{err}");
    }
    // An endless stream of empty lines on standard input: the limit ends it.
    let Ok(mut yes) = Command::new("yes").arg("").stdout(Stdio::piped()).spawn() else {
        skip::note("yes(1) missing: the endless standard input is not tested");
        return;
    };
    let stdin = Stdio::from(yes.stdout.take().unwrap());
    let b = cli::bounded(
        ["map", "--maps", "-", "--max-input-size", "4MiB"],
        stdin,
        ONE_GIB,
        60,
    );
    let _ = yes.kill();
    let _ = yes.wait();
    assert_eq!(b.output.status.code(), Some(2));
    let err = stderr(&b.output);
    assert!(
        err.starts_with("elfmaps: error: -: larger than the input limit of 4194304 bytes"),
        "{err}"
    );
    // A regular file over the limit is refused by its size, before it is read.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.smaps");
    fs::write(&big, "10000-11000 r--p 00000000 00:00 0 \n".repeat(100)).unwrap();
    let o = elfmaps([
        "map",
        "--smaps",
        big.to_str().unwrap(),
        "--max-input-size",
        "1KiB",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("big.smaps: larger than the input limit of 1024 bytes"),
        "{}",
        stderr(&o)
    );
}

/// Issue 19 §10: residency runs in descending order were inserted one by one at the
/// front of a sorted list: 400k of them took 47 s. Sorted once, 800k take 0.25 s of
/// CPU in a debug build; the limit of 10 s of CPU is 40 times that, and the insertion
/// one by one is killed by it (measured: SIGKILL at 10 s; 400k took 16 s of CPU).
#[test]
fn a_snapshot_of_800k_runs_in_descending_order() {
    let dir = tempfile::tempdir().unwrap();
    let runs = 800_000u64;
    let (start, end) = (0x1000_0000u64, 0x1000_0000 + 2 * runs * 0x1000);
    let smaps = format!("{start:x}-{end:x} r-xp 00000000 08:01 77 /lib/x.so\n");
    let list: Vec<String> = (0..runs)
        .rev()
        .map(|i| format!("{:x}-{:x}", 2 * i, 2 * i + 1))
        .collect();
    let res = format!("{start:x}-{end:x} {} -\n", list.join(","));
    let snap = format!(
        "ELFMAPS-SNAPSHOT 1\npage_size 4096\nsource smaps\n\n@smaps {}\n{smaps}\n@residency-runs {}\n{res}\n",
        smaps.len(),
        res.len()
    );
    let path = dir.path().join("runs.snap");
    fs::write(&path, &snap).unwrap();
    let b = cli::bounded(
        [
            "map",
            "--json",
            "--snapshot",
            path.to_str().unwrap(),
            "--sysroot",
            dir.path().to_str().unwrap(),
        ],
        Stdio::null(),
        ONE_GIB,
        10,
    );
    eprintln!(
        "800k descending runs ({} bytes): {:?} CPU",
        snap.len(),
        b.cpu
    );
    assert_eq!(b.output.status.code(), Some(0), "{}", stderr(&b.output));
    let v = json(&b.output);
    assert_eq!(v["regions"][0]["start"].as_u64(), Some(start));
}

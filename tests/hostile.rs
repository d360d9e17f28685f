//! Hostile inputs and races: elfmaps must never panic (exit 101), die of a signal,
//! hang, or say something wrong without saying it is unsure. Each case checks the
//! exit code, that stderr has one clear line naming the culprit, and that the other
//! results are kept.

use std::fs;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn elfmaps(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_elfmaps"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run elfmaps");
    assert_eq!(o.status.signal(), None, "killed by a signal: {o:?}");
    assert_ne!(
        o.status.code(),
        Some(101),
        "panicked: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stderr(o)))
}

/// A minimal ELF64 little-endian DYN header with `phnum` program headers at 64.
fn elf64(phnum: u16, phentsize: u16, loads: &[[u64; 6]]) -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2;
    f[5] = 1;
    f[6] = 1;
    f[16..18].copy_from_slice(&3u16.to_le_bytes());
    f[18..20].copy_from_slice(&62u16.to_le_bytes());
    f[32..40].copy_from_slice(&64u64.to_le_bytes());
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[54..56].copy_from_slice(&phentsize.to_le_bytes());
    f[56..58].copy_from_slice(&phnum.to_le_bytes());
    for l in loads {
        // flags, offset, vaddr, filesz, memsz, align
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&(l[0] as u32).to_le_bytes());
        for v in [l[1], l[2], l[2], l[3], l[4], l[5]] {
            f.extend_from_slice(&v.to_le_bytes());
        }
    }
    f
}

#[test]
fn hostile_elf_files_are_one_warning_each() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let good = elf64(1, 56, &[[5, 0, 0, 0x1000, 0x1000, 0x1000]]);
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
        elf64(1, 32, &[[5, 0, 0, 0x1000, 0x1000, 0x1000]]),
    ));
    let mut far = good.clone();
    far[32..40].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
    cases.push(("phoff.so".into(), far));
    cases.push((
        "filesz.so".into(),
        elf64(
            1,
            56,
            &[[5, u64::MAX - 4096, 0, u64::MAX, u64::MAX, 0x1000]],
        ),
    ));
    cases.push((
        "vaddr.so".into(),
        elf64(1, 56, &[[5, 0, u64::MAX - 4096, 0x1000, 0x10000, 0x1000]]),
    ));
    // Program headers that cannot explain the mapping: the file is only 0x1000 long.
    cases.push((
        "offset.so".into(),
        elf64(1, 56, &[[5, 0x100000, 0x100000, 0x1000, 0x1000, 0x1000]]),
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
    let o = elfmaps(&[
        "map",
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
            let lines = err
                .lines()
                .filter(|l| l.contains(&format!("/{name}:")))
                .count();
            assert_eq!(lines, 1, "one warning for {name}:\n{err}");
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
        let o = elfmaps(&["map", "--maps", p.to_str().unwrap()]);
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
    let t = Instant::now();
    let o = elfmaps(&["map", "--json", "--maps", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["regions"].as_array().unwrap().len(), 65_530);
    // Generous: a hang or a quadratic blow-up, not a benchmark (see bench/).
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn processes_that_exit_while_being_read() {
    // Short-lived processes, read at random points of their exit.
    for i in 0..40 {
        let child = Kill(
            Command::new("sleep")
                .arg(format!("0.0{}", i % 10))
                .spawn()
                .unwrap(),
        );
        let pid = child.0.id().to_string();
        let o = elfmaps(&["map", "--json", &pid]);
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
        let mut child = Kill(Command::new("sleep").arg("10").spawn().unwrap());
        let pid = child.0.id().to_string();
        let run = Command::new(env!("CARGO_BIN_EXE_elfmaps"))
            .args(["map", &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.0.kill();
        let _ = child.0.wait();
        let o = run.wait_with_output().unwrap();
        assert!(matches!(o.status.code(), Some(0) | Some(2)), "{o:?}");
    }
}

/// Copies the libc that `sleep` uses into `dir` and starts `sleep` with it.
fn sleep_with_private_libc(dir: &Path) -> Option<Kill> {
    let ldd = Command::new("ldd").arg("/bin/sleep").output().ok()?;
    let text = String::from_utf8_lossy(&ldd.stdout).into_owned();
    let libc = text.lines().find_map(|l| {
        let l = l.trim();
        l.starts_with("libc.so")
            .then(|| l.split("=> ").nth(1)?.split(' ').next().map(str::to_string))?
    })?;
    fs::copy(&libc, dir.join("libc.so.6")).ok()?;
    let mut child = Command::new("/bin/sleep")
        .arg("30")
        .env("LD_LIBRARY_PATH", dir)
        .spawn()
        .ok()?;
    // Wait until the copy is mapped.
    let maps = format!("/proc/{}/maps", child.id());
    for _ in 0..200 {
        if fs::read_to_string(&maps).is_ok_and(|m| m.contains(dir.to_str().unwrap_or("\0"))) {
            return Some(Kill(child));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    None
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
        eprintln!("note: skipped: could not run sleep with a private libc");
        return;
    };
    // The process keeps running (it does not touch the lost pages while asleep).
    fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("libc.so.6"))
        .unwrap()
        .set_len(100)
        .unwrap();
    let o = elfmaps(&["map", "--json", &child.0.id().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let err = stderr(&o);
    assert!(
        err.contains("libc.so.6") && err.contains("truncated"),
        "{err}"
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
        eprintln!("note: skipped: could not run sleep with a private libc");
        return;
    };
    // An upgrade: a different file renamed over the library.
    let new = dir.path().join("new");
    fs::copy("/bin/sleep", &new).unwrap();
    fs::rename(&new, dir.path().join("libc.so.6")).unwrap();
    let o = elfmaps(&["map", "--json", &child.0.id().to_string()]);
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
        assert!(stderr(&o).contains("not the mapped one"), "{}", stderr(&o));
    }
}

#[test]
fn maps_that_change_between_reads() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("churn");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/churn/churn.c");
    let st = Command::new("cc")
        .args(["-O0", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .arg("-ldl")
        .status()
        .unwrap();
    assert!(st.success());
    let mut child = Kill(
        Command::new(&exe)
            .arg("libm.so.6")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "READY");
    let pid = child.0.id().to_string();
    for _ in 0..20 {
        let o = elfmaps(&["map", "--json", &pid]);
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
        let o = elfmaps(&["snapshot", &pid, "-o", "-"]);
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
    let t = Instant::now();
    let o = elfmaps(&[
        "map",
        "--snapshot",
        path.to_str().unwrap(),
        "--sysroot",
        dir.path().to_str().unwrap(),
    ]);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("268435456 pages"), "{err}");
}

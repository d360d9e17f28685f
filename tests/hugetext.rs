//! Issue 12 §2: text a program remapped onto other memory, as iodlr and friends do
//! (testdata/sections/hugetext.c): anonymous memory with MADV_HUGEPAGE, a memfd, and
//! MAP_HUGETLB (where huge pages can be reserved: as root, restoring the setting).
//! Every remapped byte is `text` of the program, with the right `remapped`, verified
//! against the file where /proc/PID/mem is readable; the object's `huge_text` equals
//! the huge page figures smaps gives for its text lines.

mod common;

use std::process::{Command, Stdio};

use common::build;
use common::child::Running;
use common::cli::{elfmaps, json, stderr, stdout};
use common::skip;

/// Reserves `n` huge pages when none are (as root), and gives them back on drop,
/// also when the test fails.
struct HugePages(Option<String>);

impl HugePages {
    fn reserve(n: u32) -> HugePages {
        const NR: &str = "/proc/sys/vm/nr_hugepages";
        let before = std::fs::read_to_string(NR).unwrap_or_default();
        if before.trim() == "0" && std::fs::write(NR, n.to_string()).is_ok() {
            HugePages(Some(before))
        } else {
            HugePages(None)
        }
    }
}

impl Drop for HugePages {
    fn drop(&mut self) {
        if let Some(before) = &self.0 {
            let _ = std::fs::write("/proc/sys/vm/nr_hugepages", before.trim());
        }
    }
}

fn hex(t: &str) -> u64 {
    u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap()
}

/// The sum of smaps' huge page figures (kB keys, in bytes) of the lines in `[s, e)`.
fn smaps_huge(pid: u32, s: u64, e: u64) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut inside = false;
    let mut sum = 0;
    for line in text.lines() {
        if let Some((range, _)) = line.split_once(' ')
            && let Some((a, b)) = range.split_once('-')
            && let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16))
        {
            inside = s <= a && b <= e;
            continue;
        }
        let mut f = line.split_whitespace();
        let (Some(key), Some(v)) = (f.next(), f.next()) else {
            continue;
        };
        if inside
            && matches!(
                key,
                "AnonHugePages:" | "FilePmdMapped:" | "Shared_Hugetlb:" | "Private_Hugetlb:"
            )
        {
            sum += v.parse::<u64>().unwrap() * 1024;
        }
    }
    sum
}

fn check_mode(exe: &std::path::Path, mode: &str) {
    let mut child = Running::spawn(
        Command::new(exe)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let (mut text, mut remap) = (None, None);
    loop {
        let line = child.next_line();
        let f: Vec<&str> = line.split(' ').collect();
        match f[0] {
            "NOHUGE" => {
                skip::skip(&format!("{mode}: {line}"));
                return;
            }
            "TEXT" => text = Some((hex(f[1]), hex(f[2]))),
            "REMAP" => remap = Some((hex(f[2]), hex(f[3]))),
            "READY" => break,
            _ => panic!("unexpected line {line:?}"),
        }
    }
    let ((ts, te), (a, b)) = (text.unwrap(), remap.unwrap());
    let o = elfmaps(["map", "--json", &child.pid_arg()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let exe_path = std::fs::canonicalize(exe).unwrap();
    let exe_path = exe_path.to_str().unwrap();
    let mem_readable = std::fs::File::open(format!("/proc/{}/mem", child.pid())).is_ok();
    let regions = v["regions"].as_array().unwrap();
    // Every byte of the executable segment is the program's text; the remapped
    // bytes (and only they) say how they were remapped.
    let mut covered = 0;
    for r in regions {
        let (s, e) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
        if e <= ts || s >= te.next_multiple_of(4096) {
            continue;
        }
        assert_eq!(r["kind"], "text", "{mode}: {r}");
        assert_eq!(r["object"], exe_path, "{mode}: {r}");
        if s < b && a < e {
            assert!(a <= s && e <= b, "{mode}: {r} crosses the remapped range");
            assert_eq!(r["remapped"], mode, "{mode}: {r}");
            let want = if mem_readable {
                serde_json::json!(true)
            } else {
                serde_json::Value::Null
            };
            assert_eq!(r["verified"], want, "{mode}: {r}");
            covered += e - s;
        } else {
            assert!(r.get("remapped").is_none(), "{mode}: {r}");
        }
    }
    assert_eq!(covered, b - a, "{mode}: remapped bytes labelled");
    // huge_text of the program: smaps' figures of its text lines.
    let obj = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == exe_path)
        .unwrap();
    let want = smaps_huge(child.pid(), ts & !4095, te.next_multiple_of(4096));
    assert_eq!(obj["huge_text"].as_u64(), Some(want), "{mode}");
    if mode == "hugetlb" {
        assert_eq!(want, b - a, "hugetlb: every remapped byte on huge pages");
        let table = stdout(&elfmaps(["summary", "--color", "never", &child.pid_arg()]));
        assert!(table.contains("text on huge pages"), "{table}");
    }
    let table = stdout(&elfmaps(["map", "--color", "never", &child.pid_arg()]));
    assert!(
        table.contains(&format!("[remapped: {mode}")),
        "{mode}: no mark in the table:\n{table}"
    );
    let s = json(&elfmaps(["summary", "--json", &child.pid_arg()]));
    assert!(s["huge_text"].as_u64().unwrap() >= want, "{mode}: {s}");
}

/// Issue 18 §2: memory the program mapped over its text that is not its text: data
/// (anonymous memory filled with other bytes, made r-x; it fails the comparison with
/// the file) or a writable line. Its bytes are never `text` (`anon` or `unknown`),
/// a warning (`text-replaced`) names the object, and they do not count in the
/// object's `huge_text`.
fn check_not_text(exe: &std::path::Path, mode: &str) {
    let mut child = Running::spawn(
        Command::new(exe)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let (mut text, mut remap) = (None, None);
    loop {
        let line = child.next_line();
        let f: Vec<&str> = line.split(' ').collect();
        match f[0] {
            "NOHUGE" => {
                skip::skip(&format!("{mode}: {line}"));
                return;
            }
            "TEXT" => text = Some((hex(f[1]), hex(f[2]))),
            "REMAP" => remap = Some((hex(f[2]), hex(f[3]))),
            "READY" => break,
            _ => panic!("unexpected line {line:?}"),
        }
    }
    let ((ts, te), (a, b)) = (text.unwrap(), remap.unwrap());
    if mode == "data" && std::fs::File::open(format!("/proc/{}/mem", child.pid())).is_err() {
        skip::skip("data over text: /proc/PID/mem is not readable, nothing tells it from text");
        return;
    }
    let o = elfmaps(["map", "--json", &child.pid_arg()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let exe_path = std::fs::canonicalize(exe).unwrap();
    let exe_path = exe_path.to_str().unwrap();
    let mut covered = 0;
    for r in v["regions"].as_array().unwrap() {
        let (s, e) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
        if e <= a || s >= b {
            continue;
        }
        assert!(a <= s && e <= b, "{mode}: {r} crosses the remapped range");
        assert!(
            r["kind"] == "anon" || r["kind"] == "unknown",
            "{mode}: memory over the text that is not the text is labelled {r}"
        );
        assert!(r.get("remapped").is_none(), "{mode}: {r}");
        covered += e - s;
    }
    assert_eq!(covered, b - a, "{mode}: remapped bytes");
    let warned = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["code"] == "text-replaced" && w["object"] == exe_path);
    assert!(
        warned,
        "{mode}: no text-replaced warning: {}",
        v["warnings"]
    );
    let obj = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == exe_path)
        .unwrap();
    let want = smaps_huge(child.pid(), ts & !4095, a)
        + smaps_huge(child.pid(), b, te.next_multiple_of(4096));
    assert_eq!(obj["huge_text"].as_u64(), Some(want), "{mode}: huge_text");
}

#[test]
fn memory_over_text_that_is_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "sections/hugetext.c", &["-O1"]) else {
        return;
    };
    check_not_text(&exe, "data");
    check_not_text(&exe, "rw");
}

#[test]
fn remapped_text_is_the_objects_text() {
    let dir = tempfile::tempdir().unwrap();
    let Some(exe) = build::build_testdata(dir.path(), "sections/hugetext.c", &["-O1"]) else {
        return;
    };
    check_mode(&exe, "anon");
    check_mode(&exe, "memfd");
    let _pages = HugePages::reserve(4);
    check_mode(&exe, "hugetlb");
}

//! The command line as a user meets it: exit codes, error lines, colour, escaping,
//! bad input in saved maps and sysroots. Ground truth for labels is in
//! tests/ground_truth.rs; here the checks are about behaviour at the edges.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};

use common::build;
use common::child::Running;
use common::cli::{self, codes_for, elfmaps, json, stderr, stdout, warnings};
use common::skip;

#[test]
fn missing_process_is_one_line_and_exit_2() {
    let o = elfmaps(["map", "999999999"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no process with PID 999999999"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn live_json_contract() {
    let s = Running::sleep();
    let o = elfmaps(["map", "--json", &s.pid_arg()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["pid"].as_u64(), Some(u64::from(s.pid())));
    let regions = v["regions"].as_array().unwrap();
    let mut last_end = 0;
    for r in regions {
        let (start, end) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
        assert!(start >= last_end && end > start, "{r}");
        last_end = end;
        assert_eq!(r["size"].as_u64(), Some(end - start));
    }
    // sleep's own text, libc's bss, the stack: all there and labelled.
    let kinds: Vec<&str> = regions
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    for k in ["text", "rodata", "data", "relro", "stack", "vdso"] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }
    let objects = v["objects"].as_array().unwrap();
    assert!(
        objects
            .iter()
            .any(|o| o["path"].as_str().unwrap().ends_with("/sleep"))
    );
    for o in objects {
        assert_eq!(o["class"], 64);
        assert_eq!(o["endian"], "little");
        assert!(o["build_id"].is_string() || o["build_id"].is_null());
    }
}

#[test]
fn colour_follows_flag_and_no_color() {
    let s = Running::sleep();
    let pid = s.pid_arg();
    let always = elfmaps(["map", "--color", "always", &pid]);
    assert!(stdout(&always).contains("\x1b["));
    let never = elfmaps(["map", "--color", "never", &pid]);
    assert!(!stdout(&never).contains('\x1b'));
    // auto: stdout is a pipe here, so no colour either way.
    let auto = elfmaps(["map", &pid]);
    assert!(!stdout(&auto).contains('\x1b'));
    let o = cli::checked(
        cli::command(["map", "--color", "auto", &pid])
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    );
    assert!(!stdout(&o).contains('\x1b'));
}

/// A sysroot with an ELF library, a truncated ELF, a text file, a FIFO, a directory,
/// and a symlink that points out of it.
fn sysroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("lib")).unwrap();
    let libc = fs::read("/proc/self/exe").unwrap();
    fs::write(root.join("lib/good.so"), &libc).unwrap();
    fs::write(root.join("lib/trunc.so"), &libc[..100]).unwrap();
    fs::write(root.join("lib/text.txt"), b"hello\n").unwrap();
    fs::create_dir_all(root.join("lib/dir")).unwrap();
    let fifo = std::ffi::CString::new(root.join("lib/fifo").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    symlink("../../../../../../etc/passwd", root.join("lib/escape.so")).unwrap();
    dir
}

fn write_maps(dir: &Path, text: &str) -> String {
    let p = dir.join("maps.txt");
    fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn hostile_files_in_a_sysroot_are_warnings_not_failures() {
    let root = sysroot();
    let maps = write_maps(
        root.path(),
        "00400000-00401000 r--p 00000000 08:01 11 /lib/trunc.so\n\
         00401000-00402000 r--p 00000000 08:01 12 /lib/text.txt\n\
         00402000-00403000 r--p 00000000 08:01 13 /lib/fifo\n\
         00403000-00404000 r--p 00000000 08:01 14 /lib/dir\n\
         00404000-00405000 r--p 00000000 08:01 15 /lib/escape.so\n\
         00405000-00406000 r--p 00000000 08:01 16 /lib/missing.so\n\
         00406000-00407000 rw-p 00000000 00:00 0 \n",
    );
    let o = elfmaps([
        "map",
        "--json",
        "--maps",
        &maps,
        "--sysroot",
        root.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let kinds: Vec<&str> = v["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "unknown", "file", "unknown", "unknown", "unknown", "unknown", "anon"
        ]
    );
    // One warning for each file, with the code of what is wrong with it, and one line
    // of stderr naming it.
    let err = stderr(&o);
    for (name, code) in [
        ("trunc.so", "elf-malformed"),
        ("fifo", "not-regular-file"),
        ("dir", "not-regular-file"),
        ("escape.so", "file-unreadable"),
        ("missing.so", "file-unreadable"),
    ] {
        assert_eq!(
            codes_for(&v, &format!("/lib/{name}")),
            [code],
            "{name}: {:?}",
            warnings(&v)
        );
        assert_eq!(
            err.lines()
                .filter(|l| l.contains(&format!("/lib/{name}:")))
                .count(),
            1,
            "one warning line naming {name}:\n{err}"
        );
    }
    assert_eq!(warnings(&v).len(), 5, "{:?}", warnings(&v));
    assert!(
        !err.contains("/lib/text.txt"),
        "a non-ELF file is not a problem: {err}"
    );
}

/// Counts the opens (inotify's `IN_OPEN`) of each of `paths` while `run` runs: what
/// the kernel saw, not what elfmaps says it did. (`stat` and `O_PATH` are not opens:
/// neither reaches a device's driver, and inotify reports neither.)
fn opens_during(paths: &[&Path], run: impl FnOnce()) -> Vec<usize> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: plain system calls on a descriptor this function owns and closes.
    unsafe {
        let fd = libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC);
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        let watches: Vec<i32> = paths
            .iter()
            .map(|p| {
                let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
                let wd = libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_OPEN);
                assert!(wd >= 0, "{p:?}: {}", std::io::Error::last_os_error());
                wd
            })
            .collect();
        run();
        let mut counts = vec![0; paths.len()];
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                break;
            }
            let mut at = 0;
            while at + 16 <= n as usize {
                let wd = i32::from_ne_bytes(buf[at..at + 4].try_into().unwrap());
                let mask = u32::from_ne_bytes(buf[at + 4..at + 8].try_into().unwrap());
                let len = u32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap());
                if mask & libc::IN_OPEN != 0
                    && let Some(i) = watches.iter().position(|&w| w == wd)
                {
                    counts[i] += 1;
                }
                at += 16 + len as usize;
            }
        }
        libc::close(fd);
        counts
    }
}

#[test]
fn a_character_device_named_in_maps_is_never_read() {
    if !skip::is_root("mknod of a character device") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("dev")).unwrap();
    // The console's device numbers: opening it could block or touch a terminal. With
    // plain maps (no VmFlags) elfmaps must stat first and never open it.
    let dev = std::ffi::CString::new(root.path().join("dev/console").to_str().unwrap()).unwrap();
    // SAFETY: mknod with a valid C string.
    let rc = unsafe { libc::mknod(dev.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(5, 1)) };
    if rc != 0 {
        skip::skip(&format!(
            "mknod failed: {}",
            std::io::Error::last_os_error()
        ));
        return;
    }
    // A regular file beside it, which elfmaps opens: the count sees elfmaps' opens.
    fs::create_dir_all(root.path().join("lib")).unwrap();
    fs::write(root.path().join("lib/plain.so"), "not ELF\n").unwrap();
    let maps = write_maps(
        root.path(),
        "00400000-00401000 rw-s 00000000 00:05 7 /dev/console\n\
         00500000-00501000 r--p 00000000 fe:00 9 /lib/plain.so\n",
    );
    let mut o = None;
    let opens = opens_during(
        &[
            &root.path().join("dev/console"),
            &root.path().join("lib/plain.so"),
        ],
        || {
            o = Some(elfmaps([
                "map",
                "--json",
                "--maps",
                &maps,
                "--sysroot",
                root.path().to_str().unwrap(),
            ]));
        },
    );
    let o = o.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["regions"][0]["kind"], "device");
    assert_eq!(json(&o)["regions"][1]["kind"], "file");
    assert_eq!(opens[0], 0, "the device was opened");
    assert!(opens[1] >= 1, "no open of the regular file seen: {opens:?}");
}

#[test]
fn saved_maps_from_standard_input() {
    let mut child = cli::command(["map", "--json", "--maps", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"7f0000000000-7f0000003000 rw-p 00000000 00:00 0 \n7f0000003000-7f0000004000 r--p 00000000 00:00 0 [anon:x]\n").unwrap();
    }
    let o = cli::checked(child.wait_with_output().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert!(v["pid"].is_null());
    assert_eq!(v["source"], "maps");
    assert_eq!(v["regions"][1]["path"], "[anon:x]");
    assert_eq!(v["regions"][0]["rss"], serde_json::Value::Null);
}

#[test]
fn malformed_maps_line_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let maps = write_maps(
        dir.path(),
        "00400000-00401000 r--p 00000000 08:01 11 /bin/x\n00402000-00401000 r--p 00000000 08:01 11 /bin/x\n",
    );
    let o = elfmaps(["map", "--maps", &maps]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("maps.txt: line 2:"), "{err}");
    assert!(err.contains("end address not above start address"), "{err}");
}

#[test]
fn control_characters_in_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let maps = write_maps(
        dir.path(),
        "00400000-00401000 r--p 00000000 08:01 11 /tmp/evil\x1b[2J\\012name (deleted)\n\
         00401000-00402000 rw-p 00000000 00:00 0 [anon:a\x07b]\n",
    );
    let o = elfmaps([
        "map",
        "--color",
        "never",
        "--maps",
        &maps,
        "--sysroot",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(out.contains("evil\\e[2J"), "{out}");
    assert!(out.contains("[anon:a\\x07b]"), "{out}");
    // Issue 9 §4: the kernel's `\012` (a newline) showed as `\\012`, escaped twice.
    assert!(out.contains("evil\\e[2J\\nname (deleted)"), "{out}");
    assert!(!out.contains("\\\\012"), "{out}");
    // JSON keeps the name exactly as maps printed it.
    let o = elfmaps([
        "map",
        "--json",
        "--maps",
        &maps,
        "--sysroot",
        dir.path().to_str().unwrap(),
    ]);
    let v = json(&o);
    assert_eq!(
        v["regions"][0]["path"],
        "/tmp/evil\x1b[2J\\012name (deleted)"
    );
}

/// Issue 19 §9: names that are not UTF-8 printed as U+FFFD (two files looked alike),
/// error lines escaped twice (`\\x00`), and U+2028 reached the terminal raw. One rule
/// now: invalid bytes as `\xNN` in every output, escaped once.
#[test]
fn names_follow_one_escaping_rule_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let maps = dir.path().join("maps.txt");
    fs::write(
        &maps,
        b"00400000-00401000 r--p 00000000 08:01 11 /tmp/lib\xfe.so\n\
          00401000-00402000 r--p 00000000 08:01 12 /tmp/lib\xff.so\n\
          00402000-00403000 rw-p 00000000 00:00 0 [anon:a\xe2\x80\xa8b\xe2\x80\xaec]\n",
    )
    .unwrap();
    let maps = maps.to_str().unwrap();
    let root = dir.path().to_str().unwrap();
    let o = elfmaps(["map", "--color", "never", "--maps", maps, "--sysroot", root]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (out, err) = (stdout(&o), stderr(&o));
    for text in [&out, &err] {
        assert!(
            !text.contains(['\u{fffd}', '\u{2028}', '\u{202e}']),
            "{text}"
        );
    }
    assert!(
        out.contains("lib\\xfe.so") && out.contains("lib\\xff.so"),
        "{out}"
    );
    assert!(out.contains("[anon:a\\u{2028}b\\u{202e}c]"), "{out}");
    assert!(
        err.contains("lib\\xfe.so") && !err.contains("\\\\x"),
        "{err}"
    );
    // JSON: the text form in `path` (still valid JSON, the two names apart), the exact
    // bytes in `path_bytes`.
    let o = elfmaps(["map", "--json", "--maps", maps, "--sysroot", root]);
    let v = json(&o);
    assert_eq!(v["regions"][0]["path"], "/tmp/lib\\xfe.so");
    assert_eq!(v["regions"][1]["path"], "/tmp/lib\\xff.so");
    let bytes: Vec<u8> = serde_json::from_value(v["regions"][1]["path_bytes"].clone()).unwrap();
    assert_eq!(bytes, b"/tmp/lib\xff.so");
    // An error line holding a NUL and an invalid byte: escaped once.
    fs::write(dir.path().join("bad.txt"), b"00400000-zz\x00\xff r--p\n").unwrap();
    let bad = dir.path().join("bad.txt");
    let o = elfmaps(["map", "--maps", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("zz\\x00\\xff"), "{err}");
    assert!(!err.contains("\\\\"), "{err}");
}

#[test]
fn saved_maps_without_page_size_warns_on_large_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let maps = write_maps(
        dir.path(),
        "00410000-00420000 rw-p 00000000 00:00 0 \n00430000-00440000 rw-p 00000000 00:00 0 \n",
    );
    let o = elfmaps(["map", "--json", "--maps", &maps]);
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    let w = warnings(&v);
    assert!(
        w.len() == 1 && w[0].code == "page-size" && w[0].message.contains("65536"),
        "one page-size warning that names 65536: {w:?}"
    );
    assert_eq!(v["page_size"], 4096);
    let o = elfmaps(["map", "--json", "--maps", &maps, "--page-size", "65536"]);
    assert_eq!(json(&o)["page_size"], 65536);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let o = elfmaps(["map", "--maps", &maps, "--page-size", "3000"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn broken_pipe_is_not_an_error() {
    let s = Running::sleep();
    let mut child = cli::command(["map", &s.pid_arg()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = cli::checked(child.wait_with_output().unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Builds the C program `src` (relative to testdata/) in `dir` with `cc FLAGS` and
/// starts it with piped stdin and stdout; None when there is no C toolchain (see
/// tests/common/skip.rs).
fn build_and_start(dir: &Path, src: &str, flags: &[&str]) -> Option<Running> {
    let exe = build::build_testdata(dir, src, flags)?;
    Some(Running::spawn(
        Command::new(&exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    ))
}

#[test]
fn thread_stacks_are_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut child) = build_and_start(dir.path(), "threads/threads.c", &["-O0", "-pthread"])
    else {
        return;
    };
    // (local, low, high, guard size) per thread, as the C library reports them.
    let hex = |t: &str| u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap();
    let stacks: Vec<(u64, u64, u64, u64)> = child
        .lines_until("READY")
        .iter()
        .filter_map(|line| line.strip_prefix("STACK "))
        .map(|rest| {
            let f: Vec<u64> = rest.split(' ').map(hex).collect();
            (f[0], f[1], f[2], f[3])
        })
        .collect();
    assert_eq!(stacks.len(), 3);
    // The threads printed before the barrier: wait until all of them sleep (in pause()).
    child.settle();
    let pid = child.pid_arg();
    let live = json(&elfmaps(["map", "--json", &pid]));
    // The same, recorded on the "board" and analysed on the "host" (sysroot /).
    let snap = dir.path().join("snap");
    let o = elfmaps(["snapshot", &pid, "-o", snap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let offline = json(&elfmaps([
        "map",
        "--json",
        "--snapshot",
        snap.to_str().unwrap(),
        "--sysroot",
        "/",
    ]));
    for v in [&live, &offline] {
        let regions = v["regions"].as_array().unwrap();
        // Every byte of [from, to) has `kind`.
        let covered = |from: u64, to: u64, kind: &str| {
            let mut at = from;
            for r in regions {
                let (s, e) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
                if s <= at && at < e {
                    assert_eq!(r["kind"], kind, "0x{at:x}: {r}");
                    at = e.min(to);
                    if at == to {
                        return;
                    }
                }
            }
            panic!("0x{at:x}..0x{to:x} is not covered");
        };
        for &(local, low, high, guard) in &stacks {
            assert!(low <= local && local < high);
            covered(low, high, "thread_stack");
            assert!(guard > 0, "glibc gives threads a guard by default");
            covered(low - guard, low, "guard");
        }
        let count = |k: &str| regions.iter().filter(|r| r["kind"] == k).count();
        assert_eq!(count("thread_stack"), 3);
        assert_eq!(count("guard"), 3);
    }
}

#[test]
fn kernel_thread_is_said_to_have_no_address_space() {
    // Any kernel thread visible here (PF_KTHREAD in /proc/PID/stat); none in some
    // containers.
    let kthread = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(6)?.parse::<u64>().ok())
                .is_some_and(|flags| flags & 0x0020_0000 != 0)
        });
    let Some(pid) = kthread else {
        skip::skip("no kernel thread is visible here");
        return;
    };
    let o = elfmaps(["map", "--json", &pid.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert!(v["regions"].as_array().unwrap().is_empty(), "{v}");
    let w = warnings(&v);
    assert!(
        w.len() == 1 && w[0].code == "kernel-thread" && w[0].object.is_none(),
        "{w:?}"
    );
}

/// Reserves `n` huge pages for the test when none are (as root), and gives them back.
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

#[test]
fn hugetlb_memory_is_anonymous_or_shared_with_its_own_figure() {
    let _pages = HugePages::reserve(2);
    let dir = tempfile::tempdir().unwrap();
    let Some(mut child) = build_and_start(dir.path(), "hugetlb/huge.c", &[]) else {
        return;
    };
    let line = child.next_line();
    if line.starts_with("NOHUGE") {
        skip::skip(&format!("no huge pages available ({line})"));
        return;
    }
    let f: Vec<u64> = line
        .split(' ')
        .skip(1)
        .map(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap())
        .collect();
    let (private, shared, len) = (f[0], f[1], f[2]);
    let v = json(&elfmaps(["map", "--json", &child.pid_arg()]));
    let region = |addr: u64| {
        v["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["start"] == addr)
            .unwrap_or_else(|| panic!("no region at 0x{addr:x}"))
            .clone()
    };
    let (p, s) = (region(private), region(shared));
    assert_eq!(
        (p["kind"].as_str(), s["kind"].as_str()),
        (Some("anon"), Some("shm"))
    );
    assert_eq!(
        (p["end"].as_u64(), s["end"].as_u64()),
        (Some(private + len), Some(shared + len))
    );
    // One huge page touched in each; smaps leaves them out of Rss.
    assert_eq!(
        (p["hugetlb"].as_u64(), s["hugetlb"].as_u64()),
        (Some(len), Some(len))
    );
    assert_eq!(p["rss"], 0);
    assert!(v["totals"]["hugetlb"].as_u64().unwrap() >= 2 * len);
}

/// Issue 9 §4: the table never said which process it describes, and anonymous rows
/// had an empty name. pmap's first line is `PID:   COMMAND`, its anonymous rows
/// `[ anon ]`; for a saved input the first line names the file.
#[test]
fn the_table_says_what_it_describes() {
    let s = Running::sleep();
    let pid = s.pid_arg();
    let o = elfmaps(["map", "--color", "never", &pid]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines().next(),
        Some(format!("{pid}:   sleep 60").as_str())
    );
    let v = json(&elfmaps(["map", "--json", &pid]));
    assert_eq!(v["command"], "sleep 60");

    let dir = tempfile::tempdir().unwrap();
    let maps = write_maps(
        dir.path(),
        "7f0000000000-7f0000003000 rw-p 00000000 00:00 0 \n7f0000003000-7f0000004000 r--p 00000000 00:00 0 [anon:x]\n",
    );
    let o = elfmaps(["map", "--color", "never", "--maps", &maps]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("{maps}:   saved maps"));
    assert!(lines[1].trim_start().starts_with("START"), "{out}");
    assert!(lines[2].ends_with("anon           -  [ anon ]"), "{out}");
    assert!(lines[3].ends_with("[anon:x]"), "{out}");
    // Offline there is no command: the JSON has none.
    let v = json(&elfmaps(["map", "--json", "--maps", &maps]));
    assert!(v.get("command").is_none(), "{v}");
}

/// Runs `elfmaps ARGS` on a pseudo-terminal (through script(1)) with `TERM` set;
/// None when script is not here.
fn on_a_terminal(term: &str, args: &str) -> Option<String> {
    let o = Command::new("script")
        .args(["-qec", &format!("{} {args}", cli::BIN), "/dev/null"])
        .env("TERM", term)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output();
    match o {
        Ok(o) if o.status.success() => Some(stdout(&o)),
        Ok(o) => {
            skip::skip(&format!("script(1) failed: {}", stderr(&o)));
            None
        }
        Err(e) => {
            skip::skip(&format!("no script(1) for a pseudo-terminal: {e}"));
            None
        }
    }
}

/// Issue 9 §4: `TERM=dumb` still got colour with `--color auto`.
#[test]
fn a_dumb_terminal_gets_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let maps = write_maps(
        dir.path(),
        "7f0000000000-7f0000003000 rw-p 00000000 00:00 0 \n",
    );
    let args = format!("map --maps {maps}");
    let Some(xterm) = on_a_terminal("xterm", &args) else {
        return;
    };
    assert!(xterm.contains("\x1b["), "a terminal gets colour: {xterm:?}");
    let dumb = on_a_terminal("dumb", &args).unwrap();
    assert!(dumb.contains("[ anon ]"), "{dumb:?}");
    assert!(!dumb.contains('\x1b'), "TERM=dumb: {dumb:?}");
    // --color always still colours a dumb terminal: the user asked for it.
    let always = on_a_terminal("dumb", &format!("--color always {args}")).unwrap();
    assert!(always.contains("\x1b["), "{always:?}");
}

/// Issue 9 §4: a full disk gave `No space left on device (os error 28)` without
/// saying that it was the output that could not be written.
#[test]
fn write_errors_say_they_were_writing_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let maps = write_maps(
        dir.path(),
        "7f0000000000-7f0000003000 rw-p 00000000 00:00 0 \n",
    );
    for args in [
        vec!["map", "--maps", &maps],
        vec!["map", "--json", "--maps", &maps],
        vec!["layout", "/bin/sleep"],
    ] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = cli::checked(cli::command(&args).stdout(full).output().unwrap());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(
            err, "elfmaps: error writing the output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

/// Issue 9 §4: shell completions and a man page, generated from the clap definitions.
#[test]
fn completions_and_man_page() {
    let subcommands = ["map", "summary", "check", "diff", "snapshot", "layout"];
    for shell in ["bash", "zsh", "fish"] {
        let o = elfmaps(["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        for sub in subcommands {
            assert!(out.contains(sub), "{shell} completion lacks {sub}");
        }
        assert!(out.contains("budget") && out.contains("sysroot"), "{shell}");
    }
    let bash = stdout(&elfmaps(["completions", "bash"]));
    assert!(bash.contains("complete -F _elfmaps"), "{bash}");
    assert_eq!(elfmaps(["completions", "tcsh"]).status.code(), Some(2));

    for page in [None, Some("check"), Some("map")] {
        let mut args = vec!["man"];
        args.extend(page);
        let o = elfmaps(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let roff = stdout(&o);
        let name = page.map_or("elfmaps".to_string(), |p| format!("elfmaps-{p}"));
        assert!(roff.contains(&format!("\n.TH {name} 1 ")), "{roff}");
        assert_eq!(roff.matches(".ds Aq").count(), 2, "one preamble: {roff}");
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION"] {
            assert!(roff.contains(section), "{name}: no {section}");
        }
        if page.is_none() {
            for s in [
                "SUBCOMMANDS",
                "\"EXIT STATUS\"",
                "\"ENVIRONMENT\"",
                "\"SEE ALSO\"",
            ] {
                assert!(roff.contains(&format!(".SH {s}")), "elfmaps(1): no {s}");
            }
        }
        // Rendered by man(1) where it is installed: no warnings, the text is there.
        let man = Command::new("man")
            .args(["-l", "-"])
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut man) = man else {
            skip::skip("man(1) is not installed: the roff was checked, not rendered");
            continue;
        };
        {
            use std::io::Write;
            man.stdin
                .take()
                .unwrap()
                .write_all(roff.as_bytes())
                .unwrap();
        }
        let r = man.wait_with_output().unwrap();
        assert!(r.status.success(), "man -l -: {}", stderr(&r));
        // Without a terminal man overstrikes for bold (`S\bS`): keep the last char.
        let mut text = String::new();
        for c in stdout(&r).chars() {
            if c == '\x08' {
                text.pop();
            } else {
                text.push(c);
            }
        }
        assert!(text.contains("SYNOPSIS"), "{text}");
        if page == Some("check") {
            assert!(text.contains("[[budget]]"), "{text}");
        }
        assert!(stderr(&r).trim().is_empty(), "man warns: {}", stderr(&r));
    }
    let o = elfmaps(["man", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("map, summary, check"), "{}", stderr(&o));
}

/// Issue 9 §4: `--help` pointed to docs/*.md, which an installed binary does not have.
#[test]
fn help_names_no_files_an_installed_binary_lacks() {
    let mut pages = vec![vec!["--help"]];
    for sub in [
        "map",
        "summary",
        "check",
        "diff",
        "snapshot",
        "layout",
        "completions",
        "man",
    ] {
        pages.push(vec![sub, "--help"]);
    }
    for args in pages {
        let o = elfmaps(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        let out = stdout(&o);
        assert!(
            !out.contains("docs/") && !out.contains(".md"),
            "{args:?}: {out}"
        );
    }
    let man = stdout(&elfmaps(["man"]));
    assert!(!man.contains("docs/") && !man.contains(".md"), "{man}");
}

/// `--rss-only` (maps + pagemap): the regions and labels of `map`, the figures smaps
/// alone knows null, rss never above smaps' (the zero page), and a snapshot taken
/// with it gives the same report offline.
#[test]
fn rss_only_matches_map_and_round_trips_through_a_snapshot() {
    let s = Running::sleep();
    let pid = s.pid_arg();
    let full = cli::json_ok(["map", "--json", &pid]);
    let live = cli::json_ok(["map", "--json", "--rss-only", &pid]);
    assert_eq!(live["source"], "maps+pagemap");
    let (a, b) = (
        full["regions"].as_array().unwrap(),
        live["regions"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        for k in ["start", "end", "kind", "object", "segment", "instance"] {
            assert_eq!(x[k], y[k], "{k}: {x} / {y}");
        }
        assert!(y["pss"].is_null() && y["private_dirty"].is_null(), "{y}");
        assert_eq!(x["rss"], y["rss"], "a sleeping process: {x} / {y}");
    }
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("s.snap");
    let o = elfmaps(["snapshot", "--rss-only", "-o", snap.to_str().unwrap(), &pid]);
    assert!(o.status.success(), "{}", stderr(&o));
    let off = cli::json_ok(["map", "--json", "--snapshot", snap.to_str().unwrap()]);
    assert_eq!(off["source"], "maps+pagemap");
    assert_eq!(off["regions"], live["regions"]);
    let o = elfmaps(["map", "--rss-only", "--smaps", "-"]);
    assert_eq!(o.status.code(), Some(2), "--rss-only needs a PID");
}

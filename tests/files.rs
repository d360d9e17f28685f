//! Issue 19 §1-6: elfmaps runs as root among hostile users. What it writes (`-o FILE`
//! of every subcommand) never goes through a link or over a device, and what holds
//! layouts is 0600; what it opens for a process's maps is a regular file with the maps
//! line's device and inode, never a FIFO or device behind a name (the backslash case);
//! a sysroot walk never leaves the sysroot, even while a directory is swapped for a
//! link. Each test reproduces the attack; each run is bounded in time.

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::cli::{self, stderr};
use common::skip;

/// Runs elfmaps with `args`, killing it if it has not finished within 60 s (an open
/// of a FIFO with no reader would block forever): `None` then.
fn bounded(args: &[&str]) -> Option<Output> {
    let mut child = cli::command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run elfmaps");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Some(cli::checked(child.wait_with_output().unwrap()))
}

/// The `-o` of every subcommand that writes a file, for the process `pid`.
fn writers(pid: &str) -> Vec<Vec<String>> {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        v(&["metrics", "--pid", pid, "-o"]),
        v(&["snapshot", pid, "-o"]),
        v(&["snapshot", "--system", "--pid", pid, "-o"]),
        v(&["report", pid, "-o"]),
        v(&["report", "--system", "--pid", pid, "-o"]),
    ]
}

fn run_with(args: &[String], target: &Path) -> Option<Output> {
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = target.to_str().unwrap();
    a.push(t);
    bounded(&a)
}

/// §1: a user who can write the output directory plants a symlink to a root-only file
/// at every name the temporary file could have had (`.NAME.PID.tmp` for every PID up
/// to pid_max): the root-only file is untouched, the output is written.
#[test]
fn planted_links_for_every_pid_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, b"root-only secret\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let pid_max: u32 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768)
        .min(1 << 22);
    let names = [
        "elfmaps.prom",
        "snap",
        "system.snap",
        "page.html",
        "sys.html",
    ];
    // The old name of metrics' temporary file, for every PID.
    for pid in 1..=pid_max {
        symlink(&victim, out.join(format!(".{}.{pid}.tmp", names[0]))).unwrap();
    }
    let me = std::process::id().to_string();
    for (args, name) in writers(&me).iter().zip(names) {
        let target = out.join(name);
        let o = run_with(args, &target).expect("elfmaps finished");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let md = fs::symlink_metadata(&target).unwrap();
        assert!(md.is_file(), "{args:?}");
        if name != "elfmaps.prom" {
            // Layouts of processes: owner only.
            assert_eq!(md.mode() & 0o777, 0o600, "{args:?}");
        }
        assert_eq!(
            fs::read(&victim).unwrap(),
            b"root-only secret\n",
            "{args:?}"
        );
    }
    // Every planted link is still a link to the victim, and no temporary file is left.
    let mut links = 0;
    for e in fs::read_dir(&out).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            links += 1;
        } else {
            let n = e.file_name();
            assert!(names.contains(&n.to_str().unwrap()), "left behind: {n:?}");
        }
    }
    assert_eq!(links, pid_max);
}

/// §1: a symlink at the target itself (to a root-only file) is refused: nothing is
/// written through it and it stays a link.
#[test]
fn a_link_as_target_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, b"root-only secret\n").unwrap();
    let link = dir.path().join("link");
    symlink(&victim, &link).unwrap();
    let me = std::process::id().to_string();
    for args in writers(&me) {
        let o = run_with(&args, &link).expect("elfmaps finished");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&victim).unwrap(), b"root-only secret\n");
    }
}

/// §2: a device (root: a `/dev/null` made with mknod in a temporary directory; else the
/// system's `/dev/null`, whose directory elfmaps cannot write) and a FIFO as target:
/// refused with one line, left as they were, nothing blocks.
#[test]
fn a_device_or_fifo_as_target_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut targets = vec![fifo.clone()];
    let null = dir.path().join("null");
    let cn = std::ffi::CString::new(null.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; makedev has no preconditions.
    let made = skip::root()
        && unsafe { libc::mknod(cn.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) } == 0;
    if made {
        targets.push(null.clone());
    } else {
        skip::skip(
            "a device node in a temporary directory needs root (CAP_MKNOD): /dev/null itself is the target instead",
        );
        targets.push("/dev/null".into());
    }
    let me = std::process::id().to_string();
    for target in &targets {
        for args in writers(&me) {
            let o = run_with(&args, target)
                .unwrap_or_else(|| panic!("{args:?} {target:?} blocked for 60 s"));
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            let err = stderr(&o);
            assert!(
                err.contains("a device") || err.contains("a FIFO"),
                "{args:?} {target:?}: {err}"
            );
            let ft = fs::symlink_metadata(target).unwrap().file_type();
            assert!(ft.is_fifo() || ft.is_char_device(), "{target:?} replaced");
        }
    }
    // Nothing but the FIFO and the device in the directory: no temporary file left.
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1 + usize::from(made)
    );
}

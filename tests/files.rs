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
    // Read as it comes: a page on standard output is larger than a pipe holds.
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Some(cli::checked(Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }))
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

/// Watches files for opens with inotify (`IN_OPEN`): an `O_PATH` descriptor raises no
/// event, any open for reading or writing does.
struct OpenWatch {
    fd: i32,
}

impl OpenWatch {
    fn new(paths: &[&Path]) -> OpenWatch {
        // SAFETY: flags only; checked.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0);
        for p in paths {
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: a valid descriptor and C string.
            let wd = unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_OPEN) };
            assert!(wd >= 0, "{p:?}");
        }
        OpenWatch { fd }
    }

    /// How many opens were seen since the last call.
    fn opens(&self) -> usize {
        let mut n = 0;
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: a buffer of that length.
            let r = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if r <= 0 {
                return n;
            }
            // Events of a watch on a file carry no name: 16 bytes each.
            n += r as usize / 16;
        }
    }
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        // SAFETY: our descriptor.
        unsafe { libc::close(self.fd) };
    }
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Makes a character device like /dev/null at `path` (root only): whether it could.
fn mknull(path: &Path) -> bool {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string; makedev has no preconditions.
    skip::root()
        && unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) } == 0
}

/// Every command that opens the files `pid` maps.
fn readers(pid: &str, out: &Path) -> Vec<Vec<String>> {
    let o = |n: &str| out.join(n).to_str().unwrap().to_string();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        v(&["map", "--json", pid]),
        v(&["map", "--rss-only", "--json", pid]),
        v(&["system", "--json", "--pid", pid]),
        v(&["metrics", "--pid", pid]),
        v(&["sections", "--json", pid]),
        v(&["snapshot", pid, "-o", &o("one.snap")]),
        v(&["snapshot", "--system", "--pid", pid, "-o", &o("sys.snap")]),
        v(&["report", pid, "-o", &o("page.html")]),
    ]
}

/// §4: testdata/system's mapper maps a library whose name holds a literal backslash
/// sequence, `lib\012x.so`; maps prints it as is, which also reads as `lib<newline>x.so`,
/// where a user put a link to a FIFO (then to a device). Every command that opens
/// mapped files runs against it: the FIFO's writer never sees a reader (its
/// non-blocking open keeps failing with ENXIO), inotify sees no open of the FIFO or the
/// device, and the library itself is still read (by its literal name).
#[test]
fn a_backslash_name_never_opens_the_fifo_or_device_it_also_names() {
    let dir = tempfile::tempdir().unwrap();
    let Some((mapper, lib)) = common::build::shared_library_and_mapper(dir.path()) else {
        return;
    };
    let literal = dir.path().join("lib\\012x.so");
    fs::rename(&lib, &literal).unwrap();
    let decoded = dir.path().join("lib\nx.so");
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let dev = dir.path().join("dev");
    let have_dev = mknull(&dev);
    if !have_dev {
        skip::skip("a device node needs root: only the FIFO is planted");
    }
    symlink(&fifo, &decoded).unwrap();
    let child = common::child::Running::ready(std::process::Command::new(&mapper).arg(&literal));
    let pid = child.pid_arg();
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    assert!(maps.contains("lib\\012x.so"), "{maps}");
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let mut watched = vec![fifo.as_path()];
    if have_dev {
        watched.push(dev.as_path());
    }
    let watch = OpenWatch::new(&watched);
    // A writer that tries, all the time, to find a reader.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let (stop, fifo) = (stop.clone(), fifo.clone());
        std::thread::spawn(move || {
            let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
            let (mut tries, mut seen) = (0u64, 0u64);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: a valid C string.
                let fd = unsafe { libc::open(c.as_ptr(), libc::O_WRONLY | libc::O_NONBLOCK) };
                if fd >= 0 {
                    seen += 1;
                    unsafe { libc::close(fd) };
                }
                tries += 1;
                std::thread::yield_now();
            }
            (tries, seen)
        })
    };
    let targets: &[&Path] = if have_dev { &[&fifo, &dev] } else { &[&fifo] };
    for target in targets {
        let _ = fs::remove_file(&decoded);
        symlink(target, &decoded).unwrap();
        for args in readers(&pid, &out) {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = bounded(&a).unwrap_or_else(|| panic!("{args:?} blocked for 60 s"));
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
            assert_eq!(watch.opens(), 0, "{args:?} opened {target:?}");
            if args[0] == "map" {
                // The library is read by its literal name: its text is labelled.
                let v = cli::json(&o);
                let text = v["regions"].as_array().unwrap().iter().any(|r| {
                    r["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with("lib\\012x.so"))
                        && r["kind"] == "text"
                });
                assert!(text, "{args:?}: {}", cli::stdout(&o));
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (tries, seen) = prober.join().unwrap();
    assert_eq!(
        seen, 0,
        "the FIFO's writer found a reader in {seen} of {tries} tries"
    );
    assert!(tries > 0);
    child.finish();
}

/// The build ID `readelf -n` prints for `file`.
fn build_id(file: &Path) -> Option<String> {
    let o = std::process::Command::new("readelf")
        .arg("-n")
        .arg(file)
        .output()
        .ok()?;
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_string))
}

/// §5: the exporter's documented setup (root without CAP_SYS_ADMIN, so no
/// `map_files`): a mapped library is deleted and a link to a root-only ELF (then a
/// device node) put at its path. The ELF is never read (its build ID is nowhere in the
/// output), the device is never opened nor labelled `device`: the library's regions
/// are `unknown` with a `file-replaced` warning.
#[test]
fn a_deleted_library_replaced_by_a_link_or_device_is_not_read() {
    if !skip::is_root("dropping CAP_SYS_ADMIN with setpriv")
        || !skip::have_tool("setpriv", &["--version"])
        || !skip::have_tool("readelf", &["--version"])
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((mapper, lib)) = common::build::shared_library_and_mapper(dir.path()) else {
        return;
    };
    let secret = dir.path().join("secret");
    fs::create_dir(&secret).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
    let elf = secret.join("root-only.so");
    fs::copy("/proc/self/exe", &elf).unwrap();
    fs::set_permissions(&elf, fs::Permissions::from_mode(0o600)).unwrap();
    let secret_id = build_id(&elf).expect("the test binary has a build ID");
    let child = common::child::Running::ready(std::process::Command::new(&mapper).arg(&lib));
    let pid = child.pid_arg();
    fs::remove_file(&lib).unwrap();
    symlink(&elf, &lib).unwrap();
    let dev = dir.path().join("dev");
    let have_dev = mknull(&dev);
    let watch = have_dev.then(|| OpenWatch::new(&[dev.as_path()]));
    let exporter = |args: &[&str]| {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--bounding-set=-sys_admin,-checkpoint_restore", "--"])
            .arg(cli::BIN)
            .args(args)
            .stdin(Stdio::null());
        cli::checked(c.output().unwrap())
    };
    let mut runs = 0;
    for round in 0..2 {
        if round == 1 {
            if !have_dev {
                skip::skip("a device node needs CAP_MKNOD");
                break;
            }
            fs::remove_file(&lib).unwrap();
            fs::rename(&dev, &lib).unwrap();
        }
        for args in [
            vec!["map", "--json", &pid],
            vec!["system", "--json", "--pid", &pid],
            vec!["metrics", "--pid", &pid],
        ] {
            let o = exporter(&args);
            runs += 1;
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
            let all = format!("{}{}", cli::stdout(&o), stderr(&o));
            assert!(
                !all.contains(&secret_id),
                "{args:?} read the root-only ELF (its build ID is in the output)"
            );
            if args[0] == "map" {
                let v = cli::json(&o);
                let mine: Vec<_> = v["regions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| {
                        r["path"]
                            .as_str()
                            .is_some_and(|p| p.contains("libshared.so"))
                    })
                    .collect();
                assert!(!mine.is_empty());
                assert!(mine.iter().all(|r| r["kind"] == "unknown"), "{mine:?}");
                let codes = cli::codes_for(&v, "libshared.so (deleted)");
                assert_eq!(codes, ["file-replaced"], "round {round}");
            }
            if let Some(w) = &watch {
                assert_eq!(w.opens(), 0, "{args:?} opened the device");
            }
        }
    }
    assert!(runs >= 3);
    child.finish();
}

/// §6: a sysroot whose directory `d` is swapped, again and again, for a link to a
/// directory outside the sysroot (an atomic `renameat2(RENAME_EXCHANGE)` on a second
/// thread) while elfmaps looks up `/d/lib/libx.so` in it, 300 times: the file outside
/// (its own build ID) is never opened (inotify) nor reported; the one inside is.
#[test]
fn a_directory_swapped_for_a_link_never_leads_out_of_the_sysroot() {
    if !skip::have_tool("readelf", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    fs::create_dir_all(root.join("d/lib")).unwrap();
    fs::create_dir_all(outside.join("lib")).unwrap();
    let inside_lib = root.join("d/lib/libx.so");
    let outside_lib = outside.join("lib/libx.so");
    fs::copy("/bin/true", &inside_lib).unwrap();
    fs::copy("/proc/self/exe", &outside_lib).unwrap();
    let (inside_id, outside_id) = (build_id(&inside_lib), build_id(&outside_lib));
    let (Some(inside_id), Some(outside_id)) = (inside_id, outside_id) else {
        skip::skip("/bin/true or the test binary has no build ID");
        return;
    };
    assert_ne!(inside_id, outside_id);
    // `d` and `d.link` trade places on every exchange.
    symlink(&outside, root.join("d.link")).unwrap();
    let maps = dir.path().join("maps");
    fs::write(
        &maps,
        "7f0000000000-7f0000001000 r--p 00000000 fe:00 123 /d/lib/libx.so\n",
    )
    .unwrap();
    let watch = OpenWatch::new(&[outside_lib.as_path()]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, root) = (stop.clone(), root.clone());
        std::thread::spawn(move || {
            let a = std::ffi::CString::new(root.join("d").as_os_str().as_encoded_bytes()).unwrap();
            let b =
                std::ffi::CString::new(root.join("d.link").as_os_str().as_encoded_bytes()).unwrap();
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: valid C strings.
                let r = unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        b.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
                swaps += 1;
            }
            // Leave `d` a directory.
            if fs::symlink_metadata(root.join("d"))
                .unwrap()
                .file_type()
                .is_symlink()
            {
                // SAFETY: as above.
                unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        b.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
            }
            swaps
        })
    };
    let (mut inside_seen, mut opens) = (0, 0);
    let mut out_seen = 0;
    for _ in 0..300 {
        let o = bounded(&[
            "map",
            "--json",
            "--maps",
            maps.to_str().unwrap(),
            "--sysroot",
            root.to_str().unwrap(),
        ])
        .expect("elfmaps finished");
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = cli::stdout(&o);
        inside_seen += usize::from(text.contains(&inside_id));
        out_seen += usize::from(text.contains(&outside_id));
        opens += watch.opens();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert_eq!(
        (out_seen, opens),
        (0, 0),
        "the file outside the sysroot was reported {out_seen} and opened {opens} times in 300 runs ({swaps} swaps)"
    );
    assert!(inside_seen > 0 && swaps > 0, "{inside_seen} {swaps}");
}

/// §3: a command line holds secrets. `system` (JSON and `--by process`), its page
/// (`report --system`) and a system snapshot analysed later show the command name
/// only, unless `--cmdline` is given.
#[test]
fn command_lines_only_with_cmdline() {
    let dir = tempfile::tempdir().unwrap();
    let Some((mapper, lib)) = common::build::shared_library_and_mapper(dir.path()) else {
        return;
    };
    let secret = "--token=s3cr3t-elfmaps-test";
    let child =
        common::child::Running::ready(std::process::Command::new(&mapper).arg(&lib).arg(secret));
    let pid = child.pid_arg();
    let snap = dir.path().join("sys.snap");
    let o = bounded(&[
        "snapshot",
        "--system",
        "--pid",
        &pid,
        "-o",
        snap.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let snap = snap.to_str().unwrap();
    let runs: [&[&str]; 4] = [
        &["system", "--json", "--pid", &pid],
        &["system", "--by", "process", "--pid", &pid],
        &["report", "--system", "--pid", &pid, "-o", "-"],
        &["system", "--json", "--snapshot", snap],
    ];
    for args in runs {
        let o = bounded(args).unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(
            !cli::stdout(&o).contains("s3cr3t"),
            "{args:?} shows the command line"
        );
        let mut with = args.to_vec();
        with.push("--cmdline");
        let o = bounded(&with).unwrap();
        assert_eq!(o.status.code(), Some(0), "{with:?}: {}", stderr(&o));
        assert!(
            cli::stdout(&o).contains("s3cr3t"),
            "{with:?} hides the command line"
        );
    }
    let v = cli::json(&bounded(&["system", "--json", "--pid", &pid]).unwrap());
    let p = &v["processes"][0];
    assert_eq!(p["command"], p["comm"], "{p}");
    assert_eq!(p["comm"], "mapper");
    child.finish();
}

//! Running the elfmaps binary: one way to start it, the checks every run gets (no
//! signal, no panic), and readers of its output, warnings by their stable code.

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_elfmaps");

/// The binary with `args`, standard input empty and `NO_COLOR` removed (colour is then
/// decided by `--color` and the terminal alone).
pub fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(BIN);
    c.args(args).env_remove("NO_COLOR").stdin(Stdio::null());
    c
}

/// Runs elfmaps with `args` and returns what it did, whatever the exit code.
pub fn elfmaps<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    checked(command(args).output().expect("run elfmaps"))
}

/// Asserts that elfmaps was neither killed by a signal nor panicked (exit 101).
pub fn checked(o: Output) -> Output {
    assert_eq!(o.status.signal(), None, "killed by a signal: {o:?}");
    assert_ne!(o.status.code(), Some(101), "panicked: {}", stderr(&o));
    o
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output as JSON.
pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

/// Runs elfmaps with `args`, asserts exit 0, and returns its standard output as JSON.
pub fn json_ok<I, S>(args: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = command(args);
    let o = checked(c.output().expect("run elfmaps"));
    assert_eq!(o.status.code(), Some(0), "{c:?}: {}", stderr(&o));
    json(&o)
}

/// One entry of `warnings[]` in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Its stable code (`file-unreadable`, `build-id-mismatch`, ...).
    pub code: String,
    /// The maps path it is about, if any.
    pub object: Option<String>,
    /// The text for people.
    pub message: String,
}

/// The `warnings[]` of a report; each must have a code and a message.
pub fn warnings(v: &Value) -> Vec<Warning> {
    v["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("no warnings array: {v}"))
        .iter()
        .map(|w| Warning {
            code: w["code"]
                .as_str()
                .unwrap_or_else(|| panic!("warning without code: {w}"))
                .to_string(),
            object: w["object"].as_str().map(String::from),
            message: w["message"]
                .as_str()
                .unwrap_or_else(|| panic!("warning without message: {w}"))
                .to_string(),
        })
        .collect()
}

/// The codes of the warnings about an object whose path ends with `suffix`.
pub fn codes_for(v: &Value, suffix: &str) -> Vec<String> {
    warnings(v)
        .into_iter()
        .filter(|w| w.object.as_deref().is_some_and(|o| o.ends_with(suffix)))
        .map(|w| w.code)
        .collect()
}

/// What a run under [`bounded`] cost.
#[derive(Debug)]
pub struct Bounded {
    /// What it did.
    pub output: Output,
    /// CPU time, user and system. (Not its peak memory: `ru_maxrss` counts the pages
    /// of the test process it was forked from, before exec; `RLIMIT_AS` bounds it.)
    pub cpu: std::time::Duration,
}

/// Runs elfmaps with `args` and `stdin` (none: empty) under hard limits that a
/// quadratic or unbounded run would break: at most `address_space` bytes of virtual
/// memory (`RLIMIT_AS`: an allocation past it fails, which Rust reports by aborting)
/// and `cpu_seconds` of CPU time (`RLIMIT_CPU`: SIGXCPU, then SIGKILL). Returns what
/// it did and what it cost (its own rusage, from `wait4`), after the checks of
/// [`checked`]: neither limit is a signal it may die of.
// The child is reaped by wait4 (for its rusage), which clippy does not see.
#[allow(clippy::zombie_processes)]
pub fn bounded<I, S>(args: I, stdin: Stdio, address_space: u64, cpu_seconds: u64) -> Bounded
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut c = command(args);
    c.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the parent.
    unsafe {
        c.pre_exec(move || {
            for (resource, limit) in [
                (libc::RLIMIT_AS, address_space),
                (libc::RLIMIT_CPU, cpu_seconds),
            ] {
                let r = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(resource, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = c.spawn().expect("run elfmaps");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut stdout = Vec::new();
    let _ = out.read_to_end(&mut stdout);
    let stderr = reader.join().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the child is ours and not yet
    // reaped (std reaps only in wait, which is not called).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    let time = |t: libc::timeval| {
        std::time::Duration::from_secs(t.tv_sec as u64)
            + std::time::Duration::from_micros(t.tv_usec as u64)
    };
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout,
        stderr,
    };
    let b = Bounded {
        cpu: time(ru.ru_utime) + time(ru.ru_stime),
        output,
    };
    assert_eq!(
        b.output.status.signal(),
        None,
        "killed by a signal (a limit?): {b:?}"
    );
    assert_ne!(
        b.output.status.code(),
        Some(134),
        "aborted (out of memory?): {}",
        stderr_of(&b)
    );
    checked(b.output.clone());
    b
}

fn stderr_of(b: &Bounded) -> String {
    stderr(&b.output)
}

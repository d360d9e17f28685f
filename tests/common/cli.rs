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

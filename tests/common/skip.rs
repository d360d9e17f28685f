//! Cases that cannot run here say so where `cargo test` shows it, and CI does not let
//! them skip.
//!
//! libtest captures what the `print!` and `eprint!` macros write inside a test and
//! shows it only when the test fails, so `eprintln!("skipped")` is never seen. [`note`]
//! writes straight to the process's standard error (`std::io::stderr().write_all`),
//! which libtest does not capture: the line shows in plain `cargo test` output.
//!
//! Under `CI=true` (set by .ci/run, as by most CI services) a tool that .ci/run installs
//! (cc and the C library, musl-gcc, the -m32 multilib, readelf, setpriv, chromium,
//! node, Debian's python3 with numpy, go) must
//! be here: [`missing_tool`] fails the test instead of skipping it. What no package provides
//! (root, huge pages, a visible kernel thread) skips with a note everywhere.

use std::io::Write;
use std::process::Command;

/// Prints `note: TEST: MSG` on standard error, past the harness's capture.
pub fn note(msg: &str) {
    let thread = std::thread::current();
    let line = match thread.name() {
        Some(test) if test != "main" => format!("note: {test}: {msg}\n"),
        _ => format!("note: {msg}\n"),
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Whether missing tools are failures: `CI` is `true` or `1`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A tool that .ci/run installs is missing or cannot do what the test needs: under CI
/// the test fails here; elsewhere a note says what was skipped, and the caller returns.
pub fn missing_tool(tool: &str, why: &str) {
    assert!(
        !in_ci(),
        "{tool} is needed (.ci/run installs it, and CI=true makes its absence a failure): {why}"
    );
    note(&format!("skipped: {tool} is not usable here: {why}"));
}

/// Whether `tool ARGS` runs; if not, see [`missing_tool`].
pub fn have_tool(tool: &str, args: &[&str]) -> bool {
    match Command::new(tool).args(args).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            missing_tool(
                tool,
                &format!("`{tool} {}` exited with {}", args.join(" "), o.status),
            );
            false
        }
        Err(e) => {
            missing_tool(tool, &e.to_string());
            false
        }
    }
}

/// Whether this process runs as root.
pub fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether this process runs as root; if not, a note says what was skipped.
pub fn is_root(what: &str) -> bool {
    let root = root();
    if !root {
        note(&format!("skipped: {what} needs root"));
    }
    root
}

/// Something of this machine that no package provides is missing: a note, everywhere.
pub fn skip(why: &str) {
    note(&format!("skipped: {why}"));
}

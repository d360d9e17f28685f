//! Exit codes, colour, and writing to stdout and stderr.

use super::*;
use crate::render::warnings::Verbosity;

/// Exit statuses (documented in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Everything worked.
    Ok = 0,
    /// A check failed: a budget was exceeded, or `diff --exit-code` found a change.
    CheckFailed = 1,
    /// An error: no report could be produced (or some input could not be read).
    Error = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Colour, decided once: `--color`; for `auto`, stdout must be a terminal that can
/// show it: not when `NO_COLOR` is set (not empty) or `TERM` is `dumb`.
pub(crate) fn use_color(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => auto_color(
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var_os("TERM").as_deref(),
            io::stdout().is_terminal(),
        ),
    }
}

/// `--color auto` from the environment and whether stdout is a terminal.
pub(crate) fn auto_color(
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
    terminal: bool,
) -> bool {
    no_color.is_none_or(|v| v.is_empty()) && term.is_none_or(|t| t != "dumb") && terminal
}

/// The width tables fit (docs/cli.md, "Width"), decided once: `None` when stdout
/// is not a terminal (a pipe or a file: nothing is cut); else `COLUMNS` when set,
/// the terminal's own width, or 80.
pub(crate) fn terminal_width() -> Option<usize> {
    if !io::stdout().is_terminal() {
        return None;
    }
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    columns.or_else(window_width).or(Some(80))
}

/// The terminal's width from TIOCGWINSZ on stdout; `None` when unknown (0).
fn window_width() -> Option<usize> {
    // SAFETY: winsize is plain data; the ioctl fills it or fails.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

/// Writes one line to stderr. A failure to write it is ignored (`eprintln!` would
/// panic): the exit status still tells.
pub(crate) fn say(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Prints an error line (names may come from hostile files: escaped).
pub(crate) fn error(msg: &str) -> Exit {
    say(&format!("elfmaps: error: {}", escape(msg.as_bytes())));
    Exit::Error
}

/// `-q`, default or `-v`: set once by main from the global flags.
static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);

/// Sets how much of the warnings every subcommand prints (`-q`: none, `-v`: each).
pub(crate) fn set_verbosity(quiet: bool, verbose: bool) {
    let v = match (quiet, verbose) {
        (true, _) => 0,
        (false, false) => 1,
        (false, true) => 2,
    };
    VERBOSITY.store(v, std::sync::atomic::Ordering::Relaxed);
}

/// `-p`/`--full-path`: set once by main.
static FULL_PATH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets whether tables show objects by their whole path (`-p`).
pub(crate) fn set_full_path(on: bool) {
    FULL_PATH.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether tables show objects by their whole path (`-p`).
pub(crate) fn full_path() -> bool {
    FULL_PATH.load(std::sync::atomic::Ordering::Relaxed)
}

/// How much of the warnings to print.
pub(crate) fn verbosity() -> Verbosity {
    match VERBOSITY.load(std::sync::atomic::Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Summary,
        _ => Verbosity::Each,
    }
}

/// Whether `-v` was given.
pub(crate) fn verbose() -> bool {
    verbosity() == Verbosity::Each
}

/// Whether `-q` was given.
pub(crate) fn quiet() -> bool {
    verbosity() == Verbosity::Quiet
}

/// The one place warnings are printed, for every subcommand (docs/cli.md,
/// "Warnings"): grouped per code and object by default, each with `-v`, none with `-q`.
pub(crate) fn warn_all(warnings: &[crate::vocab::Warning]) {
    for line in crate::render::warnings::lines(warnings, verbosity()) {
        say(&format!("elfmaps: warning: {line}"));
    }
}

/// A note (not a warning: something the user should know to read the output right),
/// printed unless `-q`.
pub(crate) fn note(line: &str) {
    if !quiet() {
        say(&format!("elfmaps: note: {}", escape(line.as_bytes())));
    }
}

/// Prints the warnings of a report.
pub(crate) fn warn(report: &Report) {
    warn_all(&report.warnings);
}

/// Standard output, buffered: the one writer every printer writes to.
pub(crate) type Out = io::BufWriter<RawStdout>;

/// Writes to stdout through a buffer.
pub(crate) fn print(f: impl FnOnce(&mut Out) -> io::Result<()>) -> io::Result<()> {
    let mut out = stdout();
    f(&mut out)?;
    out.flush()
}

/// Standard output, buffered in 64 KiB writes.
pub(crate) fn stdout() -> Out {
    io::BufWriter::with_capacity(64 * 1024, RawStdout::new())
}

/// File descriptor 1 written directly, under std's stdout lock. std's own `Stdout`
/// is line-buffered: each 64 KiB block passed through it is searched for its last
/// newline and its tail copied into a second buffer (about 5% of `layout --json`'s
/// instructions). Nothing else writes to stdout while one is alive (the lock is
/// held), and std's buffer is flushed first, so nothing is reordered. As std does, a
/// closed descriptor 1 (EBADF) swallows the output instead of failing.
pub(crate) struct RawStdout {
    _lock: io::StdoutLock<'static>,
}

impl RawStdout {
    fn new() -> RawStdout {
        let mut lock = io::stdout().lock();
        // Whatever std buffered goes out first.
        let _ = lock.flush();
        RawStdout { _lock: lock }
    }
}

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.len().min(isize::MAX as usize);
        // SAFETY: buf is valid for reads of len bytes; descriptor 1 is not owned by
        // anything that could close it during the call.
        let n = unsafe { libc::write(1, buf.as_ptr().cast(), len) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EBADF) => Ok(buf.len()),
            _ => Err(e),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    /// Issue 9 §4: `TERM=dumb` still got colour.
    #[test]
    fn auto_colour_needs_a_terminal_that_shows_it() {
        let dumb = Some(OsStr::new("dumb"));
        let xterm = Some(OsStr::new("xterm-256color"));
        assert!(auto_color(None, xterm, true));
        assert!(auto_color(None, None, true));
        assert!(auto_color(Some(OsStr::new("")), xterm, true));
        assert!(!auto_color(None, xterm, false));
        assert!(!auto_color(Some(OsStr::new("1")), xterm, true));
        assert!(!auto_color(None, dumb, true));
    }

    #[test]
    fn roff_lines_are_literal() {
        assert_eq!(roff_line(".x --a \\b"), "\\&.x \\-\\-a \\eb");
        assert_eq!(roff_line("'q"), "\\&'q");
    }

    #[test]
    fn the_clap_definitions_are_consistent() {
        command().debug_assert();
    }
}

//! The `elfmaps` command line: clap types and dispatch. It parses flags into a
//! `Target` once, calls the library (pipeline, views), hands the results to the
//! printers of `elfmaps::render`, and maps the outcome to an exit code. No analysis
//! and no JSON building happen here. Built only with the `cli` feature (default).

mod cli;

use std::io;
use std::process::ExitCode;

use cli::{Exit, run, say, use_color};

fn main() -> ExitCode {
    let cli = cli::parse();
    cli::set_max_input_size(cli.max_input_size);
    cli::set_verbosity(cli.quiet, cli.verbose);
    cli::set_full_path(cli.full_path);
    let color = use_color(cli.color);
    if cli.remote_fs {
        elfmaps::source::remote::set_policy(elfmaps::source::remote::RemoteFs::Read {
            deadline: cli.remote_fs_timeout,
        });
    }
    let exit = match run(cli.command, color) {
        Ok(exit) => exit.into(),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Ok.into(),
        Err(e) => {
            say(&format!("elfmaps: error writing the output: {e}"));
            Exit::Error.into()
        }
    };
    let waiting = elfmaps::source::remote::threads_waiting();
    if waiting > 0 {
        // A thread waiting for a FUSE server that took its request cannot be killed:
        // the kernel reaps this process only when that server answers or its
        // connection is aborted. The output is complete: close it, so that whoever
        // reads it is not kept waiting too (docs/design.md, "Filesystems that stall").
        say(&format!(
            "elfmaps: {waiting} thread(s) still wait for a stalled filesystem; the process ends when it answers"
        ));
        // SAFETY: nothing uses these descriptors after this point.
        unsafe {
            libc::close(0);
            libc::close(1);
            libc::close(2);
        }
    }
    exit
}

//! The `elfmaps` command line, behind the `cli` feature: clap types (`args`), inputs
//! read once and handed to the library (`input`), dispatch (`run`), the man pages
//! (`man`), exit codes, colour and output (`out`) the `/metrics` server (`serve`) and the one way to write an output file (`write`). No analysis and no JSON
//! building happen here: the library computes, `render` prints.

mod args;
mod input;
mod man;
mod out;
mod run;
mod serve;
mod write;

use crate::render::map::Origin;
use crate::report::Report;
use crate::vocab::PageSize;
use crate::vocab::escape::escape;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) use args::*;
pub(crate) use input::*;
pub(crate) use man::*;
pub(crate) use out::*;
pub(crate) use run::*;

/// The command line's entry point: `src/main.rs` calls it and nothing else.
pub fn main() -> ExitCode {
    let cli = parse();
    set_max_input_size(cli.max_input_size);
    set_verbosity(cli.quiet, cli.verbose);
    set_full_path(cli.full_path);
    let color = use_color(cli.color);
    if cli.remote_fs {
        crate::source::remote::set_policy(crate::source::remote::RemoteFs::Read {
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
    let waiting = crate::source::remote::threads_waiting();
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

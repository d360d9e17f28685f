//! The `elfmaps` command line: clap types and dispatch. It parses flags into a
//! `Target` once, calls the library (pipeline, views), hands the results to the
//! printers of `elfmaps::render`, and maps the outcome to an exit code. No analysis
//! and no JSON building happen here. Built only with the `cli` feature (default).

mod cli;

use std::io;
use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Exit, run, say, use_color};

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::set_max_input_size(cli.max_input_size);
    let color = use_color(cli.color);
    match run(cli.command, color) {
        Ok(exit) => exit.into(),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Ok.into(),
        Err(e) => {
            say(&format!("elfmaps: error writing the output: {e}"));
            Exit::Error.into()
        }
    }
}

//! The `elfmaps` command line: parses flags, calls the library, prints, and maps the
//! outcome to an exit code. No analysis happens here.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit statuses (documented in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// Everything worked.
    Ok = 0,
    /// A check failed (budgets, later).
    #[allow(dead_code)]
    CheckFailed = 1,
    /// An error: no report could be produced.
    Error = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

#[derive(Parser)]
#[command(
    name = "elfmaps",
    version,
    about = "What every byte of a Linux process's address space is"
)]
struct Cli {
    /// When to colour the output (NO_COLOR disables it for `auto`).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Label every region of a live process with its ELF object, kind and segment.
    Map {
        /// The process to read.
        pid: u32,
        /// Print JSON (schema in docs/json.md) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn use_color(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = use_color(cli.color);
    match run(cli.command, color) {
        Ok(exit) => exit.into(),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Ok.into(),
        Err(e) => {
            eprintln!("elfmaps: error: {e}");
            Exit::Error.into()
        }
    }
}

fn run(command: Command, color: bool) -> io::Result<Exit> {
    match command {
        Command::Map { pid, json } => {
            let report = match elfmaps::analyze::live(pid) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("elfmaps: error: {e}");
                    return Ok(Exit::Error);
                }
            };
            for w in &report.warnings {
                eprintln!("elfmaps: warning: {w}");
            }
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            if json {
                elfmaps::render::json(&report, &mut out)?;
            } else {
                elfmaps::render::table(&report, &mut out, color)?;
            }
            out.flush()?;
            Ok(Exit::Ok)
        }
    }
}

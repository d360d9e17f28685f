//! The `elfmaps` command line: parses flags, calls the library, prints, and maps the
//! outcome to an exit code. No analysis happens here.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
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
    /// Label every region of a process with its ELF object, kind and segment.
    #[command(group(clap::ArgGroup::new("input").required(true).args(["pid", "smaps", "maps", "snapshot"])))]
    Map {
        /// A live process to read.
        pid: Option<u32>,
        /// A saved /proc/PID/smaps (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        smaps: Option<PathBuf>,
        /// A saved /proc/PID/maps (`-` for standard input); figures other than size are unknown.
        #[arg(long, value_name = "FILE")]
        maps: Option<PathBuf>,
        /// A file written by `elfmaps snapshot` on the target.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
        /// The target's root filesystem: saved inputs' paths are looked up under it.
        #[arg(long, value_name = "DIR", default_value = "/")]
        sysroot: PathBuf,
        /// The target's page size in bytes, when the input does not say it.
        #[arg(long, value_name = "BYTES", value_parser = parse_page_size)]
        page_size: Option<u64>,
        /// Print JSON (schema in docs/json.md) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Record a process for analysis on another machine (`map --snapshot FILE --sysroot DIR`).
    Snapshot {
        /// The process to record.
        pid: u32,
        /// Where to write the snapshot (`-` for standard output).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Program headers, section-to-segment mapping, memory per kind and audit findings
    /// of ELF files, from their headers alone (no process needed).
    Layout {
        /// ELF files to read.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The page size in bytes for the memory figures.
        #[arg(long, value_name = "BYTES", value_parser = parse_page_size, default_value_t = 4096)]
        page_size: u64,
        /// Print JSON (schema in docs/layout.md) instead of tables.
        #[arg(long)]
        json: bool,
    },
}

fn parse_page_size(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of bytes"))?;
    if n.is_power_of_two() && (1024..=(1 << 30)).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is not a page size (a power of two from 1024)"))
    }
}

/// Reads a named input file, or standard input for `-`.
fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let res = if path == Path::new("-") {
        io::stdin().lock().read_to_end(&mut buf).map(|_| ())
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map(|_| ())
    };
    res.map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(buf)
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
        Command::Map {
            pid,
            smaps,
            maps,
            snapshot,
            sysroot,
            page_size,
            json,
        } => {
            let result = if let Some(pid) = pid {
                elfmaps::analyze::live(pid).map_err(|e| e.to_string())
            } else if let Some(path) = snapshot {
                read_input(&path).and_then(|bytes| {
                    let snap = elfmaps::snapshot::Snapshot::parse(&bytes)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    let text = snap.smaps.clone();
                    elfmaps::analyze::offline(
                        &text,
                        &path.display().to_string(),
                        &sysroot,
                        page_size,
                        Some(snap),
                    )
                    .map_err(|e| e.to_string())
                })
            } else {
                let path = smaps.or(maps).expect("clap requires one input");
                read_input(&path).and_then(|text| {
                    elfmaps::analyze::offline(
                        &text,
                        &path.display().to_string(),
                        &sysroot,
                        page_size,
                        None,
                    )
                    .map_err(|e| e.to_string())
                })
            };
            let report = match result {
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
        Command::Layout {
            files,
            page_size,
            json,
        } => run_layout(&files, page_size, json, color),
        Command::Snapshot { pid, output } => {
            let (snap, report) = match elfmaps::analyze::snapshot(pid) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("elfmaps: error: {e}");
                    return Ok(Exit::Error);
                }
            };
            for w in &report.warnings {
                eprintln!("elfmaps: warning: {w}");
            }
            let bytes = snap.to_bytes();
            let written = if output == Path::new("-") {
                io::stdout().lock().write_all(&bytes)
            } else {
                std::fs::write(&output, &bytes)
            };
            if let Err(e) = written {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return Err(e);
                }
                eprintln!("elfmaps: error: {}: {e}", output.display());
                return Ok(Exit::Error);
            }
            Ok(Exit::Ok)
        }
    }
}

/// `elfmaps layout`: every file is reported or named in one line on stderr; any
/// unreadable file makes the exit status 2, after all the others are printed.
fn run_layout(files: &[PathBuf], page_size: u64, json: bool, color: bool) -> io::Result<Exit> {
    let report = elfmaps::layout::run(files, page_size);
    for e in &report.errors {
        eprintln!("elfmaps: error: {}", e.line());
    }
    for o in &report.objects {
        for w in &o.warnings {
            eprintln!(
                "elfmaps: warning: {}: {}",
                elfmaps::sanitize::escape(o.path_bytes.as_deref().unwrap_or(o.path.as_bytes())),
                elfmaps::sanitize::escape(w.as_bytes())
            );
        }
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if json {
        elfmaps::layout::json(&report, &mut out)?;
    } else {
        elfmaps::layout::table(&report, &mut out, color)?;
    }
    out.flush()?;
    Ok(if report.errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Error
    })
}

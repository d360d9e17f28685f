//! The `elfmaps` command line: clap types and dispatch. It parses flags into a
//! [`Target`] once, calls the library (pipeline, views), hands the results to the
//! printers of `elfmaps::render`, and maps the outcome to an exit code. No analysis
//! and no JSON building happen here. Built only with the `cli` feature (default).

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use elfmaps::report::Report;
use elfmaps::vocab::PageSize;
use elfmaps::vocab::escape::escape;

/// Exit statuses (documented in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// Everything worked.
    Ok = 0,
    /// A check failed: a budget was exceeded.
    CheckFailed = 1,
    /// An error: no report could be produced (or some input could not be read).
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

/// `--color`.
#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// What to analyse: a live process or saved files (at most one; [`Target`] is what
/// the rest of the CLI sees).
#[derive(Args)]
#[group(multiple = false)]
struct SourceArgs {
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
}

/// A process to analyse, and how to read saved inputs.
#[derive(Args)]
struct InputArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The target's root filesystem: saved inputs' paths are looked up under it.
    #[arg(long, value_name = "DIR", default_value = "/")]
    sysroot: PathBuf,
    /// The target's page size in bytes, when the input does not say it (with
    /// `check --elf`: the pages static sizes are counted in, default 4096).
    #[arg(long, value_name = "BYTES", value_parser = parse_page_size)]
    page_size: Option<PageSize>,
}

/// The subcommands.
#[derive(Subcommand)]
enum Command {
    /// Label every region of a process with its ELF object, kind and segment.
    Map {
        #[command(flatten)]
        input: InputArgs,
        /// Print JSON (schema in docs/json.md) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One row per (object, kind) with size, rss, pss, private dirty and swap.
    Summary {
        #[command(flatten)]
        input: InputArgs,
        /// Group rows by object and kind, or by kind across objects.
        #[arg(long, value_enum, default_value_t = ByArg::Object)]
        by: ByArg,
        /// Largest first by this figure.
        #[arg(long, value_enum, default_value_t = SortArg::Size)]
        sort: SortArg,
        /// Keep only the first N rows.
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        /// Print JSON (docs/budgets.md) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check memory budgets (TOML, docs/budgets.md): exit 1 when one is exceeded.
    Check {
        /// The budget file.
        #[arg(long, value_name = "FILE")]
        budget: PathBuf,
        /// ELF files to check by their static sizes per kind, instead of a process.
        #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["pid", "smaps", "maps", "snapshot"])]
        elf: Vec<PathBuf>,
        #[command(flatten)]
        input: InputArgs,
        /// A rule that matches no object is an error, not a warning.
        #[arg(long)]
        strict: bool,
        /// Print the violations as JSON.
        #[arg(long)]
        json: bool,
        /// How to print violations.
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
    },
    /// Compare two JSON reports saved from `map`, `summary` or `layout`.
    Diff {
        /// The older report.
        old: PathBuf,
        /// The newer report.
        new: PathBuf,
        /// Print JSON instead of a table.
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
        #[arg(long, value_name = "BYTES", value_parser = parse_page_size, default_value = "4096")]
        page_size: PageSize,
        /// Print JSON (schema in docs/layout.md) instead of tables.
        #[arg(long)]
        json: bool,
    },
}

/// `summary --by`.
#[derive(Clone, Copy, ValueEnum)]
enum ByArg {
    Object,
    Kind,
}

/// `summary --sort`.
#[derive(Clone, Copy, ValueEnum)]
enum SortArg {
    Size,
    Rss,
    Pss,
}

/// `check --format`.
#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Github,
}

/// `--page-size`: a number of bytes, validated as a page size once, by [`PageSize`].
fn parse_page_size(s: &str) -> Result<PageSize, String> {
    let n: u64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of bytes"))?;
    PageSize::new(n).map_err(|e| e.to_string())
}

/// What to analyse, built once from the flags.
enum Target {
    /// A live process.
    Pid(u32),
    /// A saved /proc/PID/smaps (`-`: standard input).
    Smaps(PathBuf),
    /// A saved /proc/PID/maps (`-`: standard input).
    Maps(PathBuf),
    /// A file written by `elfmaps snapshot`.
    Snapshot(PathBuf),
    /// ELF files, by their static layout (`check --elf`).
    Elf(Vec<PathBuf>),
}

/// The input of `map`, `summary` and `check`: the target and how to read it.
struct Input {
    target: Target,
    sysroot: PathBuf,
    page_size: Option<PageSize>,
}

impl InputArgs {
    /// The input the flags name; `elf` are `check --elf`'s files (clap makes them
    /// exclusive with the other targets). `targets` lists the choices for the error.
    fn into_input(self, elf: Vec<PathBuf>, targets: &str) -> Result<Input, String> {
        let s = self.source;
        let target = if !elf.is_empty() {
            Target::Elf(elf)
        } else if let Some(pid) = s.pid {
            Target::Pid(pid)
        } else if let Some(p) = s.smaps {
            Target::Smaps(p)
        } else if let Some(p) = s.maps {
            Target::Maps(p)
        } else if let Some(p) = s.snapshot {
            Target::Snapshot(p)
        } else {
            return Err(format!("no target: give {targets}"));
        };
        Ok(Input {
            target,
            sysroot: self.sysroot,
            page_size: self.page_size,
        })
    }
}

/// The targets of `map` and `summary`, for the error that names them.
const TARGETS: &str = "a PID, --smaps FILE, --maps FILE or --snapshot FILE";
/// The targets of `check`.
const CHECK_TARGETS: &str = "a PID, --smaps FILE, --maps FILE, --snapshot FILE or --elf FILE...";

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

/// Colour, decided once: `--color`, `NO_COLOR` for `auto`, and whether stdout is a
/// terminal.
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

/// Prints an error line (names may come from hostile files: escaped).
fn error(msg: &str) -> Exit {
    eprintln!("elfmaps: error: {}", escape(msg.as_bytes()));
    Exit::Error
}

/// Runs the pipeline on a process or saved input and prints its warnings.
fn load(input: &Input) -> Result<Report, String> {
    let (path, snapshot) = match &input.target {
        Target::Pid(pid) => {
            return elfmaps::pipeline::live(*pid)
                .map_err(|e| e.to_string())
                .inspect(warn);
        }
        Target::Smaps(p) | Target::Maps(p) => (p, None),
        Target::Snapshot(p) => {
            let snap = elfmaps::input::snapshot::Snapshot::parse(&read_input(p)?)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            (p, Some(snap))
        }
        Target::Elf(_) => return Err("ELF files have no process to label".into()),
    };
    let name = path.display().to_string();
    let text;
    let saved = match snapshot {
        Some(snap) => elfmaps::pipeline::Saved::snapshot(snap, &name, &input.sysroot),
        None => {
            text = read_input(path)?;
            elfmaps::pipeline::Saved::text(&text, &name, &input.sysroot)
        }
    };
    elfmaps::pipeline::offline(saved.with_page_size(input.page_size))
        .map_err(|e| e.to_string())
        .inspect(warn)
}

/// Prints the warnings of a report.
fn warn(report: &Report) {
    for w in &report.warnings {
        eprintln!("elfmaps: warning: {}", elfmaps::render::warning_text(w));
    }
}

/// Standard output, buffered: the one writer every printer writes to.
type Out = io::BufWriter<io::StdoutLock<'static>>;

/// Writes to stdout through a buffer.
fn print(f: impl FnOnce(&mut Out) -> io::Result<()>) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    f(&mut out)?;
    out.flush()
}

/// Runs one subcommand; `Err` only for failures to write the output.
fn run(command: Command, color: bool) -> io::Result<Exit> {
    match command {
        Command::Map { input, json } => {
            let report = match input.into_input(Vec::new(), TARGETS).and_then(|i| load(&i)) {
                Ok(r) => r,
                Err(e) => return Ok(error(&e)),
            };
            print(|out| {
                if json {
                    elfmaps::render::json(&report, out)
                } else {
                    elfmaps::render::map::table(&report, out, color)
                }
            })?;
            Ok(Exit::Ok)
        }
        Command::Summary {
            input,
            by,
            sort,
            top,
            json,
        } => {
            let report = match input.into_input(Vec::new(), TARGETS).and_then(|i| load(&i)) {
                Ok(r) => r,
                Err(e) => return Ok(error(&e)),
            };
            let by = match by {
                ByArg::Object => elfmaps::views::summary::By::Object,
                ByArg::Kind => elfmaps::views::summary::By::Kind,
            };
            let sort = match sort {
                SortArg::Size => elfmaps::views::summary::SortBy::Size,
                SortArg::Rss => elfmaps::views::summary::SortBy::Rss,
                SortArg::Pss => elfmaps::views::summary::SortBy::Pss,
            };
            let summary = elfmaps::views::summary::summarize(&report, by, sort, top);
            print(|out| {
                if json {
                    elfmaps::render::json(&summary, out)
                } else {
                    elfmaps::render::summary::table(&summary, out, color)
                }
            })?;
            Ok(Exit::Ok)
        }
        Command::Check {
            budget,
            elf,
            input,
            strict,
            json,
            format,
        } => match input.into_input(elf, CHECK_TARGETS) {
            Ok(input) => run_check(&budget, &input, strict, json, format),
            Err(e) => Ok(error(&e)),
        },
        Command::Diff { old, new, json } => {
            let side = |p: &Path| -> Result<elfmaps::views::diff::Saved, String> {
                let bytes = read_input(p)?;
                elfmaps::views::diff::Saved::from_json(&bytes)
                    .map_err(|e| format!("{}: {e}", p.display()))
            };
            let (a, b) = match (side(&old), side(&new)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return Ok(error(&e)),
            };
            let d = elfmaps::views::diff::diff(&a, &b);
            print(|out| {
                if json {
                    elfmaps::render::json(&d, out)
                } else {
                    elfmaps::render::diff::table(&d, out, color)
                }
            })?;
            Ok(Exit::Ok)
        }
        Command::Layout {
            files,
            page_size,
            json,
        } => run_layout(&files, page_size, json, color),
        Command::Snapshot { pid, output } => {
            let (snap, report) = match elfmaps::pipeline::snapshot(pid) {
                Ok(r) => r,
                Err(e) => return Ok(error(&e.to_string())),
            };
            warn(&report);
            let bytes = snap.to_bytes();
            let written = if output == Path::new("-") {
                io::stdout().lock().write_all(&bytes)
            } else {
                std::fs::write(&output, &bytes)
            };
            match written {
                Ok(()) => Ok(Exit::Ok),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(e),
                Err(e) => Ok(error(&format!("{}: {e}", output.display()))),
            }
        }
    }
}

/// `elfmaps check`: measure the target, check the rules, print the violations.
fn run_check(
    budget: &Path,
    input: &Input,
    strict: bool,
    json: bool,
    format: FormatArg,
) -> io::Result<Exit> {
    use elfmaps::views::budget;
    let name = budget.display().to_string();
    let rules = match read_input(budget)
        .and_then(|b| elfmaps::input::budget::parse_bytes(&b).map_err(|e| format!("{name}: {e}")))
    {
        Ok(r) => r,
        Err(e) => return Ok(error(&e)),
    };
    let mut exit = Exit::Ok;
    let measured = if let Target::Elf(files) = &input.target {
        // Static sizes per kind of each file, as it takes once loaded.
        let page_size = input.page_size.unwrap_or(PageSize::KIB4);
        let layout = elfmaps::views::layout::run(files, page_size);
        for e in &layout.errors {
            eprintln!(
                "elfmaps: error: {}",
                elfmaps::render::layout::file_error_text(e)
            );
            exit = Exit::Error;
        }
        for e in &layout.skipped {
            eprintln!(
                "elfmaps: warning: {} (skipped)",
                elfmaps::render::layout::file_error_text(e)
            );
        }
        budget::measure_layouts(&layout)
    } else {
        match load(input) {
            Ok(report) => budget::measure_report(&report),
            Err(e) => return Ok(error(&e)),
        }
    };
    let checked = budget::check(&rules, &measured, &name);
    for w in &checked.warnings {
        eprintln!("elfmaps: warning: {}", elfmaps::render::warning_text(w));
    }
    if json {
        print(|out| elfmaps::render::json(&checked, out))?;
    } else {
        let f = match format {
            FormatArg::Text => elfmaps::render::check::ViolationFormat::Text,
            FormatArg::Github => elfmaps::render::check::ViolationFormat::Github,
        };
        print(|out| elfmaps::render::check::violations(&checked.violations, &name, f, out))?;
    }
    if exit == Exit::Error || (strict && checked.unmatched > 0) {
        return Ok(Exit::Error);
    }
    Ok(if checked.violations.is_empty() {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}

/// `elfmaps layout`: every file is reported or named in one line on stderr; any
/// unreadable file makes the exit status 2, after all the others are printed. Files
/// that are not ELF are skipped with a warning.
fn run_layout(files: &[PathBuf], page_size: PageSize, json: bool, color: bool) -> io::Result<Exit> {
    use elfmaps::render::layout::{file_error_text, file_warning_text};
    let report = elfmaps::views::layout::run(files, page_size);
    for e in &report.errors {
        eprintln!("elfmaps: error: {}", file_error_text(e));
    }
    for e in &report.skipped {
        eprintln!("elfmaps: warning: {} (skipped)", file_error_text(e));
    }
    for o in &report.files {
        for w in &o.warnings {
            eprintln!("elfmaps: warning: {}", file_warning_text(o, w));
        }
    }
    print(|out| {
        if json {
            elfmaps::render::json(&report, out)
        } else {
            elfmaps::render::layout::table(&report, out, color)
        }
    })?;
    Ok(if report.errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Error
    })
}

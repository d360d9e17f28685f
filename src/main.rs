//! The `elfmaps` command line: parses flags, calls the library, prints, and maps the
//! outcome to an exit code. No analysis happens here.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use elfmaps::report::Report;
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

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// What to analyse: a live process or saved files (exactly one).
#[derive(Args)]
#[group(multiple = false)]
struct Source {
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
struct Input {
    #[command(flatten)]
    source: Source,
    /// The target's root filesystem: saved inputs' paths are looked up under it.
    #[arg(long, value_name = "DIR", default_value = "/", conflicts_with = "pid")]
    sysroot: PathBuf,
    /// The target's page size in bytes, when the input does not say it.
    #[arg(long, value_name = "BYTES", value_parser = parse_page_size, conflicts_with = "pid")]
    page_size: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Label every region of a process with its ELF object, kind and segment.
    Map {
        #[command(flatten)]
        input: Input,
        /// Print JSON (schema in docs/json.md) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One row per (object, kind) with size, rss, pss, private dirty and swap.
    Summary {
        #[command(flatten)]
        input: Input,
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
        input: Input,
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
        #[arg(long, value_name = "BYTES", value_parser = parse_page_size, default_value_t = 4096)]
        page_size: u64,
        /// Print JSON (schema in docs/layout.md) instead of tables.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ByArg {
    Object,
    Kind,
}

#[derive(Clone, Copy, ValueEnum)]
enum SortArg {
    Size,
    Rss,
    Pss,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Github,
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

/// Prints an error line (names may come from hostile files: escaped).
fn error(msg: &str) -> Exit {
    eprintln!("elfmaps: error: {}", escape(msg.as_bytes()));
    Exit::Error
}

/// Runs the analysis of `input` and prints its warnings.
fn load(input: &Input) -> Result<Report, String> {
    let (sysroot, page_size) = (&input.sysroot, input.page_size);
    let page_size = page_size
        .map(elfmaps::PageSize::new)
        .transpose()
        .map_err(|e| e.to_string())?;
    let s = &input.source;
    if s.pid.is_none() && s.smaps.is_none() && s.maps.is_none() && s.snapshot.is_none() {
        return Err("no target: give a PID, --smaps FILE, --maps FILE or --snapshot FILE".into());
    }
    let report = if let Some(pid) = s.pid {
        elfmaps::pipeline::live(pid).map_err(|e| e.to_string())
    } else if let Some(path) = &s.snapshot {
        let bytes = read_input(path)?;
        let snap = elfmaps::input::snapshot::Snapshot::parse(&bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.display().to_string();
        let saved =
            elfmaps::pipeline::Saved::snapshot(snap, &name, sysroot).with_page_size(page_size);
        elfmaps::pipeline::offline(saved).map_err(|e| e.to_string())
    } else {
        let path = s.smaps.as_ref().or(s.maps.as_ref()).expect("checked above");
        let text = read_input(path)?;
        let name = path.display().to_string();
        let saved = elfmaps::pipeline::Saved::text(&text, &name, sysroot).with_page_size(page_size);
        elfmaps::pipeline::offline(saved).map_err(|e| e.to_string())
    }?;
    for w in &report.warnings {
        eprintln!("elfmaps: warning: {}", elfmaps::render::warning_text(w));
    }
    Ok(report)
}

/// Writes to stdout through a buffer.
fn print(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    f(&mut out)?;
    out.flush()
}

fn run(command: Command, color: bool) -> io::Result<Exit> {
    match command {
        Command::Map { input, json } => {
            let report = match load(&input) {
                Ok(r) => r,
                Err(e) => return Ok(error(&e)),
            };
            print(|out| {
                if json {
                    elfmaps::render::json(&report, out)
                } else {
                    elfmaps::render::table(&report, out, color)
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
            let report = match load(&input) {
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
                    elfmaps::render::summary_table(&summary, out, color)
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
        } => run_check(&budget, &elf, &input, strict, json, format),
        Command::Diff { old, new, json } => {
            let side = |p: &Path| -> Result<elfmaps::views::diff::Side, String> {
                let bytes = read_input(p)?;
                let v: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("{}: not JSON: {e}", p.display()))?;
                elfmaps::views::diff::side(&v).map_err(|e| format!("{}: {e}", p.display()))
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
                    elfmaps::render::diff_table(&d, out, color)
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
            for w in &report.warnings {
                eprintln!("elfmaps: warning: {}", elfmaps::render::warning_text(w));
            }
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
    elf: &[PathBuf],
    input: &Input,
    strict: bool,
    json: bool,
    format: FormatArg,
) -> io::Result<Exit> {
    use elfmaps::views::budget::{self, Measured};
    let name = budget.display().to_string();
    let rules = match read_input(budget).and_then(|b| {
        let text = String::from_utf8(b).map_err(|_| format!("{name}: not UTF-8"))?;
        budget::parse(&text).map_err(|e| format!("{name}: {e}"))
    }) {
        Ok(r) => r,
        Err(e) => return Ok(error(&e)),
    };
    let mut measured = Vec::new();
    let mut exit = Exit::Ok;
    if !elf.is_empty() {
        // Static sizes per kind of each file, as it takes once loaded.
        let layout = elfmaps::views::layout::run(elf, 4096);
        for e in &layout.errors {
            eprintln!("elfmaps: error: {}", e.line());
            exit = Exit::Error;
        }
        for o in &layout.objects {
            let Some(mem) = &o.memory else { continue };
            let figures = |size| elfmaps::report::Figures {
                size,
                ..Default::default()
            };
            for (kind, bytes) in mem.rows() {
                measured.push(Measured {
                    object: o.path.clone(),
                    kind: Some(kind),
                    figures: figures(bytes),
                });
            }
            measured.push(Measured {
                object: o.path.clone(),
                kind: None,
                figures: figures(mem.total),
            });
        }
    } else {
        let report = match load(input) {
            Ok(r) => r,
            Err(e) => return Ok(error(&e)),
        };
        let s = elfmaps::views::summary::summarize(
            &report,
            elfmaps::views::summary::By::Object,
            elfmaps::views::summary::SortBy::Size,
            None,
        );
        for r in s.rows.iter().chain(&s.objects) {
            if let Some(object) = &r.object {
                measured.push(Measured {
                    object: object.clone(),
                    kind: r.kind,
                    figures: r.figures.clone(),
                });
            }
        }
    }
    let outcome = budget::check(&rules, &measured);
    let mut warnings = Vec::new();
    for &ri in &outcome.unmatched {
        let r = &rules[ri];
        warnings.push(format!(
            "{name}:{}: rule for {:?} matches no object",
            r.line, r.object
        ));
    }
    for (ri, object, measure) in &outcome.unmeasured {
        warnings.push(format!(
            "{name}:{}: {} of {object} is unknown here; not checked",
            rules[*ri].line,
            measure.as_str()
        ));
    }
    for w in &warnings {
        eprintln!("elfmaps: warning: {}", escape(w.as_bytes()));
    }
    if json {
        let doc = serde_json::json!({
            "schema_version": 1,
            "violations": outcome.violations,
            "warnings": warnings,
        });
        print(|out| elfmaps::render::json(&doc, out))?;
    } else {
        let f = match format {
            FormatArg::Text => elfmaps::render::ViolationFormat::Text,
            FormatArg::Github => elfmaps::render::ViolationFormat::Github,
        };
        print(|out| elfmaps::render::violations(&outcome.violations, &name, f, out))?;
    }
    if exit == Exit::Error || (strict && !outcome.unmatched.is_empty()) {
        return Ok(Exit::Error);
    }
    Ok(if outcome.violations.is_empty() {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}

/// `elfmaps layout`: every file is reported or named in one line on stderr; any
/// unreadable file makes the exit status 2, after all the others are printed.
fn run_layout(files: &[PathBuf], page_size: u64, json: bool, color: bool) -> io::Result<Exit> {
    let report = elfmaps::views::layout::run(files, page_size);
    for e in &report.errors {
        eprintln!("elfmaps: error: {}", e.line());
    }
    for o in &report.objects {
        for w in &o.warnings {
            eprintln!(
                "elfmaps: warning: {}: {}",
                escape(o.path_bytes.as_deref().unwrap_or(o.path.as_bytes())),
                escape(w.as_bytes())
            );
        }
    }
    print(|out| {
        if json {
            elfmaps::views::layout::json(&report, out)
        } else {
            elfmaps::views::layout::table(&report, out, color)
        }
    })?;
    Ok(if report.errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Error
    })
}

//! The `elfmaps` command line: clap types and dispatch. It parses flags into a
//! [`Target`] once, calls the library (pipeline, views), hands the results to the
//! printers of `elfmaps::render`, and maps the outcome to an exit code. No analysis
//! and no JSON building happen here. Built only with the `cli` feature (default).

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use elfmaps::render::map::Origin;
use elfmaps::report::Report;
use elfmaps::vocab::PageSize;
use elfmaps::vocab::escape::escape;

/// Exit statuses (documented in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
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

#[derive(Parser)]
#[command(
    name = "elfmaps",
    version,
    about = "What every byte of a Linux process's address space is",
    long_about = "What every byte of a Linux process's address space is: elfmaps opens each \
                  ELF file a process maps, matches every mapping to the program headers and \
                  labels each region with its object and kind (text, rodata, data, relro, bss, \
                  heap, stack, ...). `elfmaps man` prints the manual page."
)]
struct Cli {
    /// When to colour the output (`auto`: on a terminal, unless NO_COLOR is set or
    /// TERM is `dumb`).
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
    #[arg(value_parser = parse_pid)]
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
        /// Print JSON instead of a table (with `schema_version`; warnings carry stable
        /// codes).
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
        /// Keep only the first N rows (the JSON then says `cut`, and `diff` refuses it).
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check memory budgets (a TOML file of `[[budget]]` rules): exit 1 when one is
    /// exceeded.
    #[command(after_long_help = CHECK_HELP)]
    Check {
        /// The budget file.
        #[arg(long, value_name = "FILE")]
        budget: PathBuf,
        /// An ELF file to check by its static sizes per kind, instead of a process.
        /// One file per `--elf`; repeat it for more (`--elf a.so --elf b.so`).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["pid", "smaps", "maps", "snapshot"])]
        elf: Vec<PathBuf>,
        #[command(flatten)]
        input: InputArgs,
        /// A budget file that checks nothing (no rules, or a rule that matches no
        /// object) is an error, not a warning.
        #[arg(long)]
        strict: bool,
        /// Print nothing when every rule holds (no `N budgets checked` line).
        #[arg(short, long)]
        quiet: bool,
        /// Print the violations and warnings as JSON.
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
        /// Exit 1 when something changed, 0 when nothing did (as `git diff
        /// --exit-code`).
        #[arg(long)]
        exit_code: bool,
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
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_long_help = "bash: elfmaps completions bash > /etc/bash_completion.d/elfmaps\n\
                                 zsh:  elfmaps completions zsh > \"${fpath[1]}/_elfmaps\"\n\
                                 fish: elfmaps completions fish > ~/.config/fish/completions/elfmaps.fish"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `elfmaps man | man -l -`; `elfmaps man check` for
    /// the page of one subcommand.
    Man {
        /// A subcommand whose page to print (`map`, `check`, ...); none: elfmaps(1).
        #[arg(value_name = "SUBCOMMAND")]
        page: Option<String>,
    },
}

/// The long help of `check`, also in its manual page.
const CHECK_HELP: &str = "\
The budget file has one [[budget]] table per rule:

    [[budget]]
    object = \"libfoo.so*\"  # glob on the file name (the path if it has a /)
    kind = \"text\"          # optional: one kind; none: the whole object
    max_size = \"2 MiB\"     # or max_rss, max_pss, max_private_dirty, max_swap

Sizes are bytes, or strings with a unit: B, KiB, MiB, GiB, kB, MB, GB.

TARGET is a PID, --smaps FILE, --maps FILE or --snapshot FILE (with --sysroot), or
one --elf FILE per ELF file (static sizes, only max_size measurable).

Exit status: 0 every rule holds (one line says how many were checked, unless
--quiet), 1 a rule is exceeded (one line per violation), 2 an error, or with
--strict a budget file that checks nothing.";

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

/// A PID. A path in its place is most often a second ELF file after `check --elf`:
/// the error says how to give several.
fn parse_pid(s: &str) -> Result<u32, String> {
    s.parse().map_err(|_| {
        format!("{s:?} is not a process ID (ELF files for check: one --elf FILE each)")
    })
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
const CHECK_TARGETS: &str =
    "a PID, --smaps FILE, --maps FILE, --snapshot FILE or --elf FILE (once per file)";

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

/// Colour, decided once: `--color`; for `auto`, stdout must be a terminal that can
/// show it: not when `NO_COLOR` is set (not empty) or `TERM` is `dumb`.
fn use_color(choice: Color) -> bool {
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
fn auto_color(
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
    terminal: bool,
) -> bool {
    no_color.is_none_or(|v| v.is_empty()) && term.is_none_or(|t| t != "dumb") && terminal
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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

/// Writes one line to stderr. A failure to write it is ignored (`eprintln!` would
/// panic): the exit status still tells.
fn say(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Prints an error line (names may come from hostile files: escaped).
fn error(msg: &str) -> Exit {
    say(&format!("elfmaps: error: {}", escape(msg.as_bytes())));
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
        say(&format!(
            "elfmaps: warning: {}",
            elfmaps::render::warning_text(w)
        ));
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
            let input = match input.into_input(Vec::new(), TARGETS) {
                Ok(i) => i,
                Err(e) => return Ok(error(&e)),
            };
            let report = match load(&input) {
                Ok(r) => r,
                Err(e) => return Ok(error(&e)),
            };
            print(|out| {
                if json {
                    elfmaps::render::map::json(&report, out)
                } else {
                    let file;
                    let origin = match &input.target {
                        Target::Smaps(p) | Target::Maps(p) | Target::Snapshot(p) => {
                            file = p.display().to_string();
                            let what = match &input.target {
                                Target::Smaps(_) => "saved smaps",
                                Target::Maps(_) => "saved maps",
                                _ => "snapshot",
                            };
                            Origin::Saved { file: &file, what }
                        }
                        Target::Pid(_) | Target::Elf(_) => Origin::Live,
                    };
                    elfmaps::render::map::table(&report, origin, out, color)
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
            quiet,
            json,
            format,
        } => match input.into_input(elf, CHECK_TARGETS) {
            Ok(input) => run_check(
                &budget,
                &input,
                CheckFlags {
                    strict,
                    quiet,
                    json,
                    format,
                },
            ),
            Err(e) => Ok(error(&e)),
        },
        Command::Diff {
            old,
            new,
            json,
            exit_code,
        } => {
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
            Ok(if exit_code && !d.is_empty() {
                Exit::CheckFailed
            } else {
                Exit::Ok
            })
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
            if output == Path::new("-") {
                // A failure here is one to write the output, said as such by main.
                print(|out| out.write_all(&bytes))?;
                return Ok(Exit::Ok);
            }
            match std::fs::write(&output, &bytes) {
                Ok(()) => Ok(Exit::Ok),
                Err(e) => Ok(error(&format!("writing {}: {e}", output.display()))),
            }
        }
        Command::Completions { shell } => {
            print(|out| {
                clap_complete::generate(shell, &mut Cli::command(), "elfmaps", out);
                Ok(())
            })?;
            Ok(Exit::Ok)
        }
        Command::Man { page } => {
            let mut cmd = Cli::command().disable_help_subcommand(true);
            cmd.build();
            let cmd = match &page {
                None => cmd,
                Some(name) => match cmd.find_subcommand(name) {
                    Some(sub) => sub.clone(),
                    None => {
                        let names: Vec<&str> =
                            cmd.get_subcommands().map(|c| c.get_name()).collect();
                        return Ok(error(&format!(
                            "no manual page for {name:?}: one of {}",
                            names.join(", ")
                        )));
                    }
                },
            };
            print(|out| man_page(cmd, page.as_deref(), out))?;
            Ok(Exit::Ok)
        }
    }
}

/// Writes the manual page of `cmd` (elfmaps itself, or one of its subcommands
/// `page`) in roff: clap_mangen's sections from the clap definitions, then the
/// sections of [`MAN_SECTIONS`] for that page.
fn man_page(cmd: clap::Command, page: Option<&str>, out: &mut Out) -> io::Result<()> {
    let man =
        clap_mangen::Man::new(cmd.clone()).source(concat!("elfmaps ", env!("CARGO_PKG_VERSION")));
    // Each part clap_mangen renders starts with the same two-line preamble (the
    // definition of a quote string): written once, before the title.
    let mut parts: Vec<u8> = Vec::new();
    man.render_title(&mut parts)?;
    man.render_name_section(&mut parts)?;
    man.render_synopsis_section(&mut parts)?;
    man.render_description_section(&mut parts)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut parts)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut parts)?;
    }
    let key = page.unwrap_or("");
    for (_, title, text) in MAN_SECTIONS.iter().filter(|(p, _, _)| *p == key) {
        writeln!(parts, ".SH \"{title}\"")?;
        for para in text.split("\n\n") {
            // An indented paragraph is an example: kept as written (no fill).
            let literal = para.starts_with(' ');
            writeln!(parts, "{}", if literal { ".PP\n.nf" } else { ".PP" })?;
            for line in para.lines() {
                writeln!(parts, "{}", roff_line(line))?;
            }
            if literal {
                writeln!(parts, ".fi")?;
            }
        }
    }
    if page.is_none() {
        man.render_version_section(&mut parts)?;
    }
    let mut seen = Vec::new();
    for line in String::from_utf8_lossy(&parts).lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if preamble {
            if seen.contains(&line) {
                continue;
            }
            seen.push(line);
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A line of plain text for roff: backslashes as `\e`, `-` as `\-` (a minus, so that
/// `--flags` can be searched and copied), and a leading `.` or `'` made literal.
fn roff_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    if line.starts_with(['.', '\'']) {
        out.push_str("\\&");
    }
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c => out.push(c),
        }
    }
    out
}

/// Sections of the manual pages beyond clap's: (page: "" for elfmaps(1) or a
/// subcommand, title, text; paragraphs separated by blank lines).
const MAN_SECTIONS: &[(&str, &str, &str)] = &[
    (
        "",
        "INPUTS",
        "map, summary and check read a live process (PID) or saved inputs: --smaps FILE, \
--maps FILE (a saved /proc/PID/smaps or maps, - for standard input) or --snapshot FILE \
(written by elfmaps snapshot on the target), with --sysroot DIR, the target's root \
filesystem in which the mapped files are looked up, and --page-size BYTES when the \
input does not say it. snapshot records a live process only. layout and check --elf \
read ELF files named on the command line; diff reads JSON reports saved from map, \
summary (without --top) or layout.",
    ),
    (
        "",
        "EXIT STATUS",
        "0: success (warnings may have been printed on stderr).\n\n\
1: check: a budget is exceeded; diff --exit-code: something changed.\n\n\
2: an error: no such process, permission denied, the process exited while being read, \
a malformed input or budget file, an unreadable file given to layout. One line on \
stderr says which file (and line) and what was wrong.",
    ),
    (
        "",
        "ENVIRONMENT",
        "NO_COLOR: when set and not empty, --color auto does not colour.\n\n\
TERM: when dumb, --color auto does not colour.",
    ),
    (
        "",
        "WARNINGS",
        "Whatever elfmaps could not do or is unsure about is a warning: one line on stderr, \
and in JSON an entry of warnings with a stable code (file-unreadable, build-id-mismatch, \
layout-mismatch, page-size, budget-unmatched, ...) that scripts should match rather \
than the message. A region elfmaps cannot label for certain is unknown, never a guess.",
    ),
    (
        "",
        "SEE ALSO",
        "pmap(1), readelf(1), proc(5) (/proc/PID/smaps and maps), ld.so(8); the pages of \
the subcommands: elfmaps man map, elfmaps man check, ... The documentation that comes \
with elfmaps' source (its docs folder) gives every labelling rule, the JSON contract \
and the snapshot format.",
    ),
    ("check", "BUDGET FILE AND EXIT STATUS", CHECK_HELP),
];

/// How `check` prints.
struct CheckFlags {
    strict: bool,
    quiet: bool,
    json: bool,
    format: FormatArg,
}

/// `elfmaps check`: measure the target, check the rules, print the violations.
fn run_check(budget: &Path, input: &Input, flags: CheckFlags) -> io::Result<Exit> {
    use elfmaps::views::budget::{self, Check};
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
            say(&format!(
                "elfmaps: error: {}",
                elfmaps::render::layout::file_error_text(e)
            ));
            exit = Exit::Error;
        }
        for e in &layout.skipped {
            say(&format!(
                "elfmaps: warning: {} (skipped)",
                elfmaps::render::layout::file_error_text(e)
            ));
        }
        budget::measure_layouts(&layout)
    } else {
        match load(input) {
            Ok(report) => budget::measure_report(&report),
            Err(e) => return Ok(error(&e)),
        }
    };
    let checked = budget::check(&rules, &measured, &name);
    // Under --strict, a budget file that checks nothing is an error: say so.
    for w in &checked.warnings {
        let what = if flags.strict && Check::is_strict_error(w.code) {
            "error"
        } else {
            "warning"
        };
        say(&format!(
            "elfmaps: {what}: {}",
            elfmaps::render::warning_text(w)
        ));
    }
    if flags.json {
        print(|out| elfmaps::render::json(&checked, out))?;
    } else {
        let f = match flags.format {
            FormatArg::Text => elfmaps::render::check::ViolationFormat::Text,
            FormatArg::Github => elfmaps::render::check::ViolationFormat::Github,
        };
        print(|out| {
            elfmaps::render::check::violations(&checked.violations, &name, f, out)?;
            if !flags.quiet {
                writeln!(out, "{}", elfmaps::render::check::outcome(&checked))?;
            }
            Ok(())
        })?;
    }
    if exit == Exit::Error || (flags.strict && checked.fails_strict()) {
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
        say(&format!("elfmaps: error: {}", file_error_text(e)));
    }
    for e in &report.skipped {
        say(&format!(
            "elfmaps: warning: {} (skipped)",
            file_error_text(e)
        ));
    }
    for o in &report.files {
        for w in &o.warnings {
            say(&format!("elfmaps: warning: {}", file_warning_text(o, w)));
        }
    }
    print(|out| {
        if json {
            elfmaps::render::layout::json(&report, out)
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
        Cli::command().debug_assert();
    }
}

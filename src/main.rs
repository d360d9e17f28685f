//! The `elfmaps` command line: clap types and dispatch. It parses flags into a
//! [`Target`] once, calls the library (pipeline, views), hands the results to the
//! printers of `elfmaps::render`, and maps the outcome to an exit code. No analysis
//! and no JSON building happen here. Built only with the `cli` feature (default).

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod serve;

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
    /// A live process to read: a PID, `self` (elfmaps itself) or a process name (every
    /// process of that name, as pidof finds them). `map` takes several.
    #[arg(value_name = "PID", value_parser = parse_process)]
    pid: Vec<ProcessArg>,
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
    /// `check --system` (set by the subcommand, not a flag here).
    #[arg(skip)]
    system: bool,
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
        /// Check the whole machine: each object's kinds summed over every process that
        /// maps it (a system snapshot given with --snapshot is checked so without it).
        #[arg(long, conflicts_with_all = ["pid", "smaps", "maps", "snapshot", "elf"])]
        system: bool,
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
    /// Compare two JSON reports saved from `map`, `summary`, `layout` or `system`.
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
    /// Every process of the machine (or a selection) in one pass: memory per object
    /// and kind across processes, per kind, or per process.
    System {
        #[command(flatten)]
        args: SystemArgs,
    },
    /// Memory per group of processes, object and kind for Prometheus: print the text
    /// exposition (or OpenMetrics), write it for node_exporter's textfile collector
    /// (-o FILE), or serve /metrics (--listen ADDR).
    Metrics {
        #[command(flatten)]
        args: serve::MetricsArgs,
    },
    /// Write an HTML report to look at: one self-contained page (an address-space
    /// strip, a treemap, a table of objects and kinds) of a process or saved input, or
    /// of what changed between two saved JSON reports (`--diff OLD NEW`).
    Report {
        #[command(flatten)]
        input: InputArgs,
        /// Show what changed between two JSON reports saved from `map`, `summary` or
        /// `layout`, instead of a process.
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"],
              conflicts_with_all = ["pid", "smaps", "maps", "snapshot"])]
        diff: Option<Vec<PathBuf>>,
        /// Where to write the page (`-` for standard output).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Record a process for analysis on another machine (`map --snapshot FILE --sysroot
    /// DIR`), or with --system every process (`system --snapshot FILE --sysroot DIR`).
    Snapshot {
        /// The process to record.
        #[arg(required_unless_present = "system", conflicts_with = "system")]
        pid: Option<u32>,
        /// Record every process of the machine (or those --pid, --name, --user, --cgroup
        /// select) in one file.
        #[arg(long)]
        system: bool,
        #[command(flatten)]
        select: SelectArgs,
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
one --elf FILE per ELF file (static sizes, only max_size measurable), or --system:
the whole machine, each object's kinds summed over every process that maps it (a
system snapshot given with --snapshot is checked the same way).

Exit status: 0 every rule holds (one line says how many were checked, unless
--quiet), 1 a rule is exceeded (one line per violation), 2 an error, or with
--strict a budget file that checks nothing.";

/// Which processes `system` and `snapshot --system` read.
#[derive(Args)]
struct SelectArgs {
    /// Only these processes: PIDs separated by commas (`self` is elfmaps itself).
    #[arg(long = "pid", value_name = "LIST", value_delimiter = ',', value_parser = parse_pid_or_self)]
    pids: Vec<u32>,
    /// Only processes of this name (comm, or the file name of the executable or of the
    /// first argument, as pidof); repeat for more names.
    #[arg(long, value_name = "NAME")]
    name: Vec<String>,
    /// Only processes of this user (a name or a UID; the effective UID).
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Only processes in this cgroup or below it (the path of /proc/PID/cgroup, e.g.
    /// /system.slice/foo.service; live only).
    #[arg(long, value_name = "PATH")]
    cgroup: Option<String>,
}

impl SelectArgs {
    /// Whether any selection flag was given.
    fn any(&self) -> bool {
        !self.pids.is_empty()
            || !self.name.is_empty()
            || self.user.is_some()
            || self.cgroup.is_some()
    }

    /// The selection the flags say (a user name looked up in the password database).
    fn selection(&self) -> Result<elfmaps::pipeline::system::Selection, String> {
        use elfmaps::pipeline::system::Selection;
        let user = match &self.user {
            None => None,
            Some(u) => {
                Some(elfmaps::source::proc::user_id(u).ok_or_else(|| format!("no user {u:?}"))?)
            }
        };
        let selection = if self.pids.is_empty() {
            Selection::all()
        } else {
            Selection::pids(self.pids.clone())
        };
        Ok(selection
            .with_names(self.name.clone())
            .with_user(user)
            .with_cgroup(self.cgroup.clone()))
    }
}

/// The flags of `system`.
#[derive(Args)]
struct SystemArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// A system snapshot written by `elfmaps snapshot --system` on the target, analysed
    /// with the files under --sysroot.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["smemcap", "cgroup"])]
    snapshot: Option<PathBuf>,
    /// A capture of smem's smemcap (a tar of /proc; `-` for standard input; decompress
    /// it first), analysed with the files under --sysroot.
    #[arg(long, value_name = "FILE", conflicts_with = "cgroup")]
    smemcap: Option<PathBuf>,
    /// The target's root filesystem, for --snapshot and --smemcap.
    #[arg(long, value_name = "DIR", default_value = "/")]
    sysroot: PathBuf,
    /// The target's page size in bytes, for an smemcap capture whose smaps does not
    /// say it.
    #[arg(long, value_name = "BYTES", value_parser = parse_page_size)]
    page_size: Option<PageSize>,
    /// Rows per object and kind, per kind across objects, or per process.
    #[arg(long, value_enum, default_value_t = SystemBy::Object)]
    by: SystemBy,
    /// One line per process for each object whose file name (or path, with a /)
    /// matches GLOB, as librank prints.
    #[arg(long, value_name = "GLOB")]
    object: Option<String>,
    /// Largest first by this figure.
    #[arg(long, value_enum, default_value_t = SystemSort::Pss)]
    sort: SystemSort,
    /// Keep only the first N rows of the table (JSON is always whole).
    #[arg(long, value_name = "N")]
    top: Option<usize>,
    /// Print JSON instead of a table (the whole machine: rows, objects, kinds,
    /// processes, skipped, warnings).
    #[arg(long)]
    json: bool,
    /// List the processes skipped and why.
    #[arg(short, long)]
    verbose: bool,
}

/// `system --by`.
#[derive(Clone, Copy, ValueEnum)]
enum SystemBy {
    Object,
    Kind,
    Process,
}

/// `system --sort`.
#[derive(Clone, Copy, ValueEnum)]
enum SystemSort {
    Size,
    Rss,
    Pss,
    Uss,
    Swap,
}

/// A PID, or `self`.
fn parse_pid_or_self(s: &str) -> Result<u32, String> {
    if s == "self" {
        return Ok(elfmaps::source::proc::own_pid());
    }
    s.parse()
        .map_err(|_| format!("{s:?} is not a process ID (or self)"))
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

/// A live process as the command line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ProcessArg {
    /// A PID.
    Pid(u32),
    /// `self`: elfmaps itself.
    Own,
    /// A process name: every process of that name.
    Name(String),
}

/// A PID, `self` or a process name. A path in its place is most often a second ELF
/// file after `check --elf`: the error says how to give several.
fn parse_process(s: &str) -> Result<ProcessArg, String> {
    if let Ok(pid) = s.parse() {
        return Ok(ProcessArg::Pid(pid));
    }
    if s == "self" {
        return Ok(ProcessArg::Own);
    }
    if s.is_empty() || s.contains('/') {
        return Err(format!(
            "{s:?} is not a process ID or name (ELF files for check: one --elf FILE each)"
        ));
    }
    Ok(ProcessArg::Name(s.to_string()))
}

/// A process named on the command line, resolved: its PID, and whether it was found
/// by name (then one that exits before it is read is skipped with a warning, not an
/// error).
#[derive(Debug, Clone, Copy)]
struct Resolved {
    pid: u32,
    by_name: bool,
}

/// The PIDs of the processes named on the command line, in order.
fn resolve(args: &[ProcessArg]) -> Result<Vec<Resolved>, String> {
    let mut out = Vec::new();
    for a in args {
        match a {
            ProcessArg::Pid(pid) => out.push(Resolved {
                pid: *pid,
                by_name: false,
            }),
            ProcessArg::Own => out.push(Resolved {
                pid: elfmaps::source::proc::own_pid(),
                by_name: false,
            }),
            ProcessArg::Name(name) => {
                let pids = elfmaps::pipeline::system::pids_named(name)
                    .map_err(|e| format!("/proc: {e}"))?;
                if pids.is_empty() {
                    return Err(format!(
                        "no process named {name:?} (ELF files for check: one --elf FILE each)"
                    ));
                }
                out.extend(pids.into_iter().map(|pid| Resolved { pid, by_name: true }));
            }
        }
    }
    Ok(out)
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
    /// Live processes (`map` takes several; the others one).
    Pids(Vec<Resolved>),
    /// A saved /proc/PID/smaps (`-`: standard input).
    Smaps(PathBuf),
    /// A saved /proc/PID/maps (`-`: standard input).
    Maps(PathBuf),
    /// A file written by `elfmaps snapshot`.
    Snapshot(PathBuf),
    /// ELF files, by their static layout (`check --elf`).
    Elf(Vec<PathBuf>),
    /// The whole live machine (`check --system`).
    System,
}

/// The input of `map`, `summary` and `check`: the target and how to read it.
struct Input {
    target: Target,
    sysroot: PathBuf,
    page_size: Option<PageSize>,
}

impl InputArgs {
    /// With `check --system` and no other target: the live machine.
    fn into_system(mut self, system: bool) -> InputArgs {
        self.system = system;
        self
    }

    /// The input the flags name; `elf` are `check --elf`'s files (clap makes them
    /// exclusive with the other targets). `targets` lists the choices for the error.
    fn into_input(self, elf: Vec<PathBuf>, targets: &str) -> Result<Input, String> {
        let s = self.source;
        let target = if !elf.is_empty() {
            Target::Elf(elf)
        } else if self.system {
            Target::System
        } else if !s.pid.is_empty() {
            Target::Pids(resolve(&s.pid)?)
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
    "a PID, --smaps FILE, --maps FILE, --snapshot FILE, --system or --elf FILE (once per file)";

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
    load_with(input, None)
}

/// [`load`], with the bytes of a snapshot already read (`pre`).
fn load_with(input: &Input, pre: Option<Vec<u8>>) -> Result<Report, String> {
    let (path, snapshot) = match &input.target {
        Target::Pids(pids) => {
            let [one] = pids.as_slice() else {
                return Err(format!(
                    "{} processes given: only map takes several (or see `elfmaps system`)",
                    pids.len()
                ));
            };
            return elfmaps::pipeline::live(one.pid)
                .map_err(|e| e.to_string())
                .inspect(warn);
        }
        Target::Smaps(p) | Target::Maps(p) => (p, None),
        Target::Snapshot(p) => {
            let bytes = match pre {
                Some(b) => b,
                None => read_input(p)?,
            };
            let snap = elfmaps::input::snapshot::Snapshot::parse(&bytes)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            (p, Some(snap))
        }
        Target::Elf(_) => return Err("ELF files have no process to label".into()),
        Target::System => return Err("the whole machine is not one process".into()),
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
            if let Target::Pids(pids) = &input.target
                && pids.len() > 1
            {
                return run_map_many(pids, json, color);
            }
            let report = match load(&input) {
                Ok(r) => r,
                Err(e) => return Ok(error(&e)),
            };
            print(|out| {
                if json {
                    elfmaps::render::json(&report, out)
                } else {
                    let mut file = String::new();
                    let origin = origin(&input.target, &mut file);
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
            system,
            input,
            strict,
            quiet,
            json,
            format,
        } => match input.into_system(system).into_input(elf, CHECK_TARGETS) {
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
            let d = match load_diff(&old, &new) {
                Ok(d) => d,
                Err(e) => return Ok(error(&e)),
            };
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
        Command::Report {
            input,
            diff,
            output,
        } => run_report(input, diff, &output),
        Command::System { args } => run_system(args, color),
        Command::Metrics { args } => serve::run(args),
        Command::Snapshot {
            pid,
            system,
            select,
            output,
        } => {
            if system {
                return run_snapshot_system(&select, &output);
            }
            if select.any() {
                return Ok(error(
                    "--pid, --name, --user and --cgroup select processes for --system",
                ));
            }
            let Some(pid) = pid else {
                return Ok(error("no process: give a PID, or --system"));
            };
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

/// What a table or page describes, for its first line: the saved file (whose name is
/// put in `file`) and what it is, or the live process.
fn origin<'a>(target: &Target, file: &'a mut String) -> Origin<'a> {
    let what = match target {
        Target::Smaps(_) => "saved smaps",
        Target::Maps(_) => "saved maps",
        Target::Snapshot(_) => "snapshot",
        Target::Pids(_) | Target::Elf(_) | Target::System => return Origin::Live,
    };
    if let Target::Smaps(p) | Target::Maps(p) | Target::Snapshot(p) = target {
        *file = p.display().to_string();
    }
    Origin::Saved { file, what }
}

/// Reads two saved JSON reports and compares them (`diff`, `report --diff`).
fn load_diff(old: &Path, new: &Path) -> Result<elfmaps::views::diff::Diff, String> {
    let side = |p: &Path| -> Result<elfmaps::views::diff::Saved, String> {
        let bytes = read_input(p)?;
        elfmaps::views::diff::Saved::from_json(&bytes).map_err(|e| format!("{}: {e}", p.display()))
    };
    Ok(elfmaps::views::diff::diff(&side(old)?, &side(new)?))
}

/// `elfmaps report`: the HTML page of a target's map report, or of the diff of two
/// saved reports, written to `output` (`-`: standard output).
fn run_report(input: InputArgs, diff: Option<Vec<PathBuf>>, output: &Path) -> io::Result<Exit> {
    use elfmaps::render::html;
    // The page, in memory: nothing is written when the analysis fails.
    let mut page = Vec::new();
    let made = match diff.as_deref() {
        Some([old, new]) => load_diff(old, new).map(|d| {
            let title = format!("elfmaps diff: {} \u{2192} {}", old.display(), new.display());
            html::diff(&d, &title, &mut page)
        }),
        Some(_) => Err("--diff takes two files: OLD NEW".to_string()),
        None => input
            .into_input(
                Vec::new(),
                "a PID, --smaps FILE, --maps FILE, --snapshot FILE or --diff OLD NEW",
            )
            .and_then(|input| {
                let report = load(&input)?;
                let mut file = String::new();
                let title = elfmaps::render::map::title(&report, origin(&input.target, &mut file));
                Ok(html::map(&report, &format!("elfmaps: {title}"), &mut page))
            }),
    };
    match made {
        Ok(written) => written?,
        Err(e) => return Ok(error(&e)),
    }
    if output == Path::new("-") {
        print(|out| out.write_all(&page))?;
        return Ok(Exit::Ok);
    }
    match std::fs::write(output, &page) {
        Ok(()) => Ok(Exit::Ok),
        Err(e) => Ok(error(&format!("writing {}: {e}", output.display()))),
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
        "map, summary, check and report read a live process (PID) or saved inputs: --smaps FILE, \
--maps FILE (a saved /proc/PID/smaps or maps, - for standard input) or --snapshot FILE \
(written by elfmaps snapshot on the target), with --sysroot DIR, the target's root \
filesystem in which the mapped files are looked up, and --page-size BYTES when the \
input does not say it. snapshot records a live process only. layout and check --elf \
read ELF files named on the command line; diff and report --diff read JSON reports \
saved from map, summary (without --top), layout or system (diff). system reads every \
process of the machine, or a system snapshot (--snapshot FILE, written by snapshot \
--system) or an smemcap capture (--smemcap FILE) with --sysroot DIR.",
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

/// `elfmaps map PID PID...`: one report per process, the mapped files read once for
/// all of them; tables one after the other, or one JSON document per line. A process
/// named by PID that cannot be read is an error (exit 2, after the others); one found
/// by name that exited meanwhile is a warning.
fn run_map_many(pids: &[Resolved], json: bool, color: bool) -> io::Result<Exit> {
    use elfmaps::pipeline::system::{Mode, process_report};
    let cache = elfmaps::source::cache::FileCache::new();
    let mut exit = Exit::Ok;
    let mut first = true;
    for r in pids {
        let report = elfmaps::source::proc::Process::new(r.pid)
            .map_err(elfmaps::Error::from)
            .and_then(|p| process_report(p, Mode::Smaps, Some(&cache)));
        let report = match report {
            Ok(report) => report,
            Err(elfmaps::Error::Proc(e @ elfmaps::source::proc::ProcError::Exited(_)))
                if r.by_name =>
            {
                say(&format!(
                    "elfmaps: warning: {}",
                    escape(e.to_string().as_bytes())
                ));
                continue;
            }
            Err(e) => {
                exit = error(&e.to_string());
                continue;
            }
        };
        warn(&report);
        print(|out| {
            if json {
                elfmaps::render::json(&report, out)
            } else {
                if !first {
                    writeln!(out)?;
                }
                elfmaps::render::map::table(&report, Origin::Live, out, color)
            }
        })?;
        first = false;
    }
    Ok(exit)
}

/// Where the processes of `system` (and `check --system`) come from.
enum SystemFrom<'a> {
    /// This machine.
    Live,
    /// A system snapshot (its bytes, its file's name).
    Snapshot(&'a [u8], &'a Path),
    /// An smemcap capture (its bytes, its file's name).
    Smemcap(&'a [u8], &'a Path),
}

/// How `system` (and `check --system`) read the processes.
struct SystemLoad<'a> {
    from: SystemFrom<'a>,
    selection: elfmaps::pipeline::system::Selection,
    sysroot: &'a Path,
    page_size: Option<PageSize>,
    keep_uses: bool,
    verbose: bool,
}

/// Scans and folds the machine, and prints its warnings. `Err` when nothing could be
/// read (or the input is not what it should be).
fn load_system(l: SystemLoad) -> Result<elfmaps::views::system::System, String> {
    use elfmaps::pipeline::system::{self, Mode};
    let mut builder = elfmaps::views::system::Builder::new();
    if l.keep_uses {
        builder = builder.keep_uses();
    }
    let mut sink = |s: system::Scanned| builder.add(&s.process, &s.report);
    let (outcome, source) = match l.from {
        SystemFrom::Snapshot(bytes, file) => {
            let snap = elfmaps::input::snapshot::SystemSnapshot::parse(bytes)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let o = system::scan_snapshot(&snap, l.sysroot, &l.selection, &mut sink);
            (o, "snapshot")
        }
        SystemFrom::Smemcap(bytes, file) => {
            let cap = elfmaps::input::smemcap::Smemcap::parse(bytes)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let o = system::scan_smemcap(&cap, l.sysroot, l.page_size, &l.selection, &mut sink);
            (o, "smemcap")
        }
        SystemFrom::Live => {
            let o = system::scan(&l.selection, Mode::Smaps, &mut sink)
                .map_err(|e| format!("cannot list /proc: {e}"))?;
            (o, "live")
        }
    };
    if outcome.read == 0 {
        let k = &outcome.skipped;
        return Err(if k.total() == 0 {
            "no process matches the selection".to_string()
        } else {
            format!(
                "no process could be read: {} exited, {} denied, {} kernel threads, {} zombies, {} failed",
                k.exited, k.denied, k.kernel_threads, k.zombies, k.failed
            )
        });
    }
    if l.verbose {
        say(&format!(
            "elfmaps: {} processes read; {} distinct mapped files read, found {} times in the cache instead of being opened again",
            outcome.read, outcome.files, outcome.cache_hits
        ));
    }
    let sys = builder.finish(outcome, source, l.verbose);
    for w in &sys.warnings {
        say(&format!(
            "elfmaps: warning: {}",
            elfmaps::render::warning_text(w)
        ));
    }
    Ok(sys)
}

/// `elfmaps system`: scan (live, a system snapshot or an smemcap capture), fold,
/// print. Exit 0 (with a warning when processes were skipped), 2 when no process
/// could be read.
fn run_system(a: SystemArgs, color: bool) -> io::Result<Exit> {
    use elfmaps::views::system::{ObjectGlob, Sort, object_users, sort_processes, sort_rows};
    let selection = match a.select.selection() {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let glob = match a.object.as_deref().map(ObjectGlob::new).transpose() {
        Ok(g) => g,
        Err(e) => return Ok(error(&e)),
    };
    let file = a.snapshot.as_ref().or(a.smemcap.as_ref());
    let bytes = match file.map(|f| read_input(f)).transpose() {
        Ok(b) => b,
        Err(e) => return Ok(error(&e)),
    };
    let from = match (&bytes, &a.snapshot, &a.smemcap) {
        (Some(b), Some(f), _) => SystemFrom::Snapshot(b, f),
        (Some(b), None, Some(f)) => SystemFrom::Smemcap(b, f),
        _ => SystemFrom::Live,
    };
    let sys = match load_system(SystemLoad {
        from,
        selection,
        sysroot: &a.sysroot,
        page_size: a.page_size,
        keep_uses: glob.is_some(),
        verbose: a.verbose,
    }) {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let sort = match a.sort {
        SystemSort::Size => Sort::Size,
        SystemSort::Rss => Sort::Rss,
        SystemSort::Pss => Sort::Pss,
        SystemSort::Uss => Sort::Uss,
        SystemSort::Swap => Sort::Swap,
    };
    print(|out| {
        if let Some(glob) = &glob {
            let groups = object_users(&sys, glob, sort);
            if a.json {
                return elfmaps::render::json(
                    &elfmaps::views::system::Users::new(
                        &a.object.clone().unwrap_or_default(),
                        &groups,
                    ),
                    out,
                );
            }
            return elfmaps::render::system::users(&sys, &groups, out, color);
        }
        if a.json {
            return elfmaps::render::json(&sys, out);
        }
        let top = a.top.unwrap_or(usize::MAX);
        match a.by {
            SystemBy::Process => {
                let mut procs = sys.processes.clone();
                sort_processes(&mut procs, sort);
                let dropped = procs.len().saturating_sub(top);
                procs.truncate(top);
                elfmaps::render::system::processes(&sys, &procs, dropped, out, color)
            }
            SystemBy::Object | SystemBy::Kind => {
                let (mut rows, of) = match a.by {
                    SystemBy::Kind => (sys.kinds.clone(), elfmaps::render::system::RowsOf::Kind),
                    _ => (
                        sys.rows.clone(),
                        elfmaps::render::system::RowsOf::ObjectKind,
                    ),
                };
                sort_rows(&mut rows, sort);
                let dropped = rows.len().saturating_sub(top);
                rows.truncate(top);
                elfmaps::render::system::rows(&sys, &rows, of, dropped, out, color)
            }
        }
    })?;
    Ok(Exit::Ok)
}

/// `elfmaps snapshot --system -o FILE`: every selected process in one file.
fn run_snapshot_system(select: &SelectArgs, output: &Path) -> io::Result<Exit> {
    let selection = match select.selection() {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let to_stdout = output == Path::new("-");
    let written = if to_stdout {
        let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
        let r = elfmaps::pipeline::system::snapshot_system(&selection, &mut out);
        out.flush()?;
        r
    } else {
        match std::fs::File::create(output) {
            Ok(f) => {
                let mut out = io::BufWriter::with_capacity(64 * 1024, f);
                let r = elfmaps::pipeline::system::snapshot_system(&selection, &mut out);
                match out.flush() {
                    Ok(()) => r,
                    Err(e) => Err(e),
                }
            }
            Err(e) => return Ok(error(&format!("writing {}: {e}", output.display()))),
        }
    };
    let outcome = match written {
        Ok(o) => o,
        // Writing standard output failed: main says so (a broken pipe exits 0).
        Err(e) if to_stdout => return Err(e),
        Err(e) => return Ok(error(&format!("writing {}: {e}", output.display()))),
    };
    if let Some(w) = outcome.skipped.warning() {
        say(&format!(
            "elfmaps: warning: {}",
            elfmaps::render::warning_text(&w)
        ));
    }
    if outcome.read == 0 {
        return Ok(error("no process could be recorded"));
    }
    Ok(Exit::Ok)
}

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
        // A snapshot is read once: it may be standard input.
        let pre = match &input.target {
            Target::Snapshot(p) => match read_input(p) {
                Ok(b) => Some(b),
                Err(e) => return Ok(error(&e)),
            },
            _ => None,
        };
        match system_target(input, pre.as_deref()) {
            Ok(Some(sys)) => budget::measure_system(&sys),
            Ok(None) => match load_with(input, pre) {
                Ok(report) => budget::measure_report(&report),
                Err(e) => return Ok(error(&e)),
            },
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

/// The machine `check` measures: live with `--system`, or a system snapshot given
/// with `--snapshot`; `None` for the other targets.
fn system_target(
    input: &Input,
    snapshot: Option<&[u8]>,
) -> Result<Option<elfmaps::views::system::System>, String> {
    let base = SystemLoad {
        from: SystemFrom::Live,
        selection: elfmaps::pipeline::system::Selection::all(),
        sysroot: &input.sysroot,
        page_size: input.page_size,
        keep_uses: false,
        verbose: false,
    };
    match &input.target {
        Target::System => load_system(base).map(Some),
        Target::Snapshot(p) => {
            let Some(bytes) =
                snapshot.filter(|b| elfmaps::input::snapshot::SystemSnapshot::is_system(b))
            else {
                return Ok(None);
            };
            load_system(SystemLoad {
                from: SystemFrom::Snapshot(bytes, p),
                ..base
            })
            .map(Some)
        }
        _ => Ok(None),
    }
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

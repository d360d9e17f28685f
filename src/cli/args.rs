//! The clap definitions: every flag and subcommand, and the parsers of their values.

use super::*;

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
pub(crate) struct Cli {
    /// When to colour the output (`auto`: on a terminal, unless NO_COLOR is set or
    /// TERM is `dumb`).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub(crate) color: Color,
    /// Print no warning (errors still print; `check`: nothing when every rule holds).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print every warning, not one line per code and object (`system`: and each
    /// process skipped and why).
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Show objects by their whole path in tables (as pmap -p), not by their file
    /// name (which two objects of one file name extend with their directories).
    #[arg(short = 'p', long, global = true)]
    pub(crate) full_path: bool,
    /// The largest saved input read (smaps, maps, snapshot, smemcap capture, budget,
    /// JSON report): a larger one is an error (`input-too-large`) after at most this
    /// many bytes. A size: bytes, or with a unit (`512MiB`, `1GiB`, `2GB`).
    #[arg(long, value_name = "SIZE", global = true, default_value = "256MiB", value_parser = parse_input_size)]
    pub(crate) max_input_size: u64,
    /// Read mapped files on network and FUSE filesystems (nfs, cifs, fuse.sshfs, ...),
    /// which are otherwise `unknown` (code remote-fs): a stalled server would make
    /// reading them wait forever, so each is read on a thread that is abandoned after
    /// --remote-fs-timeout (live processes only).
    #[arg(long, global = true)]
    pub(crate) remote_fs: bool,
    /// With --remote-fs: how long one file may take (opening and reading it), as
    /// seconds (`2`, `0.5`) or with a unit (`2s`, `500ms`).
    #[arg(long, value_name = "TIME", global = true, value_parser = parse_timeout,
          default_value = "2s", requires = "remote_fs")]
    pub(crate) remote_fs_timeout: std::time::Duration,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The command line as every entry point sees it (parsing, completions, man pages):
/// the derived definitions, with what differs between subcommands that share
/// [`InputArgs`] (docs/cli.md): only `map` takes several PIDs (`[PID]...`), the
/// others one (`[PID]`); only `check` has `--elf`, which `--page-size` mentions.
pub(crate) fn command() -> clap::Command {
    let mut cmd = Cli::command();
    // `mut_subcommand` moves the subcommand it changes last: keep the order written.
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for (i, name) in names.iter().enumerate() {
        cmd = cmd.mut_subcommand(name, |c| c.display_order(i));
    }
    for name in ["summary", "check", "report"] {
        cmd = cmd.mut_subcommand(name, |c| {
            c.mut_arg("pid", |a| {
                a.num_args(0..=1).action(clap::ArgAction::Set).help(
                    "A live process to read: a PID, `self` (elfmaps itself) or a process name",
                )
            })
        });
    }
    for name in ["map", "summary", "report"] {
        cmd = cmd.mut_subcommand(name, |c| {
            c.mut_arg("page_size", |a| {
                a.help("The target's page size in bytes, when the input does not say it")
            })
        });
    }
    cmd
}

/// Parses the command line; a usage error is said as every other error is,
/// `elfmaps: error: ...`, exit 2 (help and version print as clap prints them).
pub(crate) fn parse() -> Cli {
    use clap::FromArgMatches;
    let parsed = command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    match parsed {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            say(&format!("elfmaps: error: {}", text.trim_end()));
            std::process::exit(Exit::Error as i32);
        }
    }
}

/// `--columns`: the figure columns of a table (docs/cli.md).
#[derive(Clone)]
pub(crate) struct Columns(pub(crate) Vec<crate::render::columns::Column>);

/// `--columns LIST`.
fn parse_columns(s: &str) -> Result<Columns, String> {
    crate::render::columns::Column::parse_list(s).map(Columns)
}

/// `--max-input-size`: a size as budget files write them, at least one byte.
fn parse_input_size(s: &str) -> Result<u64, String> {
    match crate::input::budget::parse_size(s).map_err(|e| e.to_string())? {
        0 => Err("the input limit must be at least one byte".into()),
        n => Ok(n),
    }
}

/// `--remote-fs-timeout`: seconds, or a number with `s` or `ms`; more than 0.
pub(crate) fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let (number, scale) = match s.strip_suffix("ms") {
        Some(n) => (n, 0.001),
        None => (s.strip_suffix('s').unwrap_or(s), 1.0),
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * scale <= 86_400.0 => {
            Ok(std::time::Duration::from_secs_f64(v * scale))
        }
        _ => Err(format!(
            "{s:?} is not a time (seconds, or with s or ms: 2s, 500ms; at most a day)"
        )),
    }
}

/// `--color`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}

/// What to analyse: a live process or saved files (at most one; [`Target`] is what
/// the rest of the CLI sees).
#[derive(Args)]
#[group(multiple = false)]
pub(crate) struct SourceArgs {
    /// A live process to read: a PID, `self` (elfmaps itself) or a process name (every
    /// process of that name, as pidof finds them). `map` takes several.
    #[arg(value_name = "PID", value_parser = parse_process)]
    pub(crate) pid: Vec<ProcessArg>,
    /// A saved /proc/PID/smaps (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub(crate) smaps: Option<PathBuf>,
    /// A saved /proc/PID/maps (`-` for standard input); figures other than size are unknown.
    #[arg(long, value_name = "FILE")]
    pub(crate) maps: Option<PathBuf>,
    /// A file written by `elfmaps snapshot` on the target.
    #[arg(long, value_name = "FILE")]
    pub(crate) snapshot: Option<PathBuf>,
}

/// A process to analyse, and how to read saved inputs.
#[derive(Args)]
pub(crate) struct InputArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// The target's root filesystem: saved inputs' paths are looked up under it
    /// (without it, this machine's `/`, said once on stderr).
    #[arg(long, value_name = "DIR", conflicts_with = "pid")]
    pub(crate) sysroot: Option<PathBuf>,
    /// The target's page size in bytes, when the input does not say it (with
    /// `check --elf`: the pages static sizes are counted in, default 4096).
    #[arg(long, value_name = "BYTES", value_parser = parse_page_size, conflicts_with = "pid")]
    pub(crate) page_size: Option<PageSize>,
    /// Read /proc/PID/maps and pagemap instead of smaps: rss and swap exact, pss and
    /// the clean/dirty figures unknown; spares the target's mmap lock (no PSS walk).
    #[arg(long, conflicts_with_all = ["smaps", "maps", "snapshot"])]
    pub(crate) rss_only: bool,
    /// `check --system` (set by the subcommand, not a flag here).
    #[arg(skip)]
    pub(crate) system: bool,
}

/// The subcommands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Label every region of a process with its ELF object, kind and segment.
    Map {
        #[command(flatten)]
        input: InputArgs,
        /// Print JSON instead of a table (with `schema_version`; warnings carry stable
        /// codes).
        #[arg(long)]
        json: bool,
        /// The figure columns, as `ps -o`: some of size, rss, pss, uss, dirty, swap
        /// (default size,rss,pss).
        #[arg(long, value_name = "LIST", value_parser = parse_columns)]
        columns: Option<Columns>,
    },
    /// One row per (object, kind) with size, rss, pss, private dirty and swap.
    Summary {
        #[command(flatten)]
        input: InputArgs,
        /// Group rows by object and kind, or by kind across objects.
        #[arg(long, value_enum, default_value_t = ByArg::Object)]
        by: ByArg,
        /// Largest first by this figure (default: pss, or rss where pss is unknown).
        #[arg(long, value_enum)]
        sort: Option<SystemSort>,
        /// Keep only the first N rows; a note says how many were cut (the JSON is cut
        /// the same way and says `cut`; `diff` refuses it).
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The figure columns, as `ps -o`: some of size, rss, pss, uss, dirty, swap
        /// (default size,rss,pss,dirty,swap).
        #[arg(long, value_name = "LIST", value_parser = parse_columns)]
        columns: Option<Columns>,
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
        /// With --system: only these processes (--pid LIST, --name NAME, --user,
        /// --cgroup), their objects summed over them.
        #[command(flatten)]
        select: SelectArgs,
        /// A JSON report saved from `map`, `summary`, `layout` or `system` (on the
        /// main branch): growth limits (`max_rss_growth`, `max_growth`, ...) compare
        /// with it, and every result shows the growth.
        #[arg(long, value_name = "OLD.json")]
        baseline: Option<PathBuf>,
        /// A check that is not complete is an error, not a warning: a budget file that
        /// checks nothing (no rules, or a rule that matches nothing), a limit that
        /// cannot be measured, an input with no memory.
        #[arg(long)]
        strict: bool,
        /// Print every result, the violations and the warnings as JSON.
        #[arg(long)]
        json: bool,
        /// How to print: text lines, GitHub Actions annotations (violations as
        /// ::error, warnings as ::warning), or a Markdown table of every result (for
        /// $GITHUB_STEP_SUMMARY).
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
        /// Changes of at most this much are not listed and not counted: bytes
        /// (`64 KiB`) or a share of the old value (`5%`); objects that appear,
        /// vanish or are rebuilt always count.
        #[arg(long, value_name = "SIZE|PCT", value_parser = parse_threshold)]
        threshold: Option<crate::input::budget::Growth>,
        /// The figure columns whose changes are shown, as `ps -o`: some of size,
        /// rss, pss, uss, dirty, swap (default size,rss,pss).
        #[arg(long, value_name = "LIST", value_parser = parse_columns)]
        columns: Option<Columns>,
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
    /// strip, a treemap, a table of objects and kinds) of a process or saved input, of
    /// what changed between two saved JSON reports (`--diff OLD NEW`), or of the whole
    /// machine (`--system`, as `system` scans it, or `--system-json FILE`).
    Report {
        #[command(flatten)]
        input: InputArgs,
        /// Show what changed between two JSON reports saved from `map`, `summary` or
        /// `layout`, instead of a process.
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"],
              conflicts_with_all = ["pid", "smaps", "maps", "snapshot", "system", "system_json"])]
        diff: Option<Vec<PathBuf>>,
        /// The whole machine, as `system` reads it: every process (or those --pid,
        /// --name, --user, --cgroup select), or a system snapshot given with
        /// --snapshot FILE (and --sysroot DIR).
        #[arg(long, conflicts_with_all = ["pid", "smaps", "maps"])]
        system: bool,
        #[command(flatten)]
        select: SelectArgs,
        /// A system report saved from `system --json`, shown as it is.
        #[arg(long, value_name = "FILE",
              conflicts_with_all = ["pid", "smaps", "maps", "snapshot", "system"])]
        system_json: Option<PathBuf>,
        /// Where to write the page (`-` for standard output).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// With --system: show each process's whole command line (it may hold
        /// secrets), not only its command name.
        #[arg(long, requires = "system")]
        cmdline: bool,
        /// Embed the process's symbols (as `symbols` reads them, the most resident
        /// rows of each section, within the page-size bound) so that the page drills
        /// down from an object to its sections and their symbols. A PID or a
        /// --snapshot taken with `snapshot --symbols`.
        #[arg(long, conflicts_with_all = ["smaps", "maps", "diff", "system", "system_json"])]
        symbols: bool,
    },
    /// Record a process for analysis on another machine (`map --snapshot FILE --sysroot
    /// DIR`), or with --system every process (`system --snapshot FILE --sysroot DIR`).
    Snapshot {
        /// The process to record: a PID or `self`.
        #[arg(required_unless_present = "system", conflicts_with = "system",
              value_parser = parse_pid_or_self)]
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
        /// Also record the residency of every page of every object's lines, for
        /// `sections --snapshot FILE` and `symbols --snapshot FILE` (`--symbols` is
        /// the same flag).
        #[arg(long, alias = "symbols")]
        sections: bool,
        /// Record /proc/PID/maps and pagemap instead of smaps (see `map --rss-only`).
        #[arg(long, conflicts_with_all = ["system", "sections"])]
        rss_only: bool,
    },
    /// Which sections of each ELF object are resident: per allocated section, its
    /// address range, kind, segment and resident bytes and pages.
    Sections {
        /// A live process to read.
        #[arg(value_parser = parse_pid_or_self, required_unless_present_any = ["snapshot", "union"], conflicts_with = "snapshot")]
        pid: Option<u32>,
        /// Across processes: per section, the union of its resident pages over every
        /// process that maps the object (all processes, or those --pid, --name, --user,
        /// --cgroup select), beside their sum.
        #[arg(long, conflicts_with_all = ["pid", "snapshot", "pages"])]
        union: bool,
        #[command(flatten)]
        select: SelectArgs,
        /// A file written by `elfmaps snapshot --sections` on the target.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
        /// The target's root filesystem, for `--snapshot` (default: this machine's
        /// /, which is said in a note).
        #[arg(long, value_name = "DIR")]
        sysroot: Option<PathBuf>,
        /// Only objects matching this glob (on the file name; on the path if it has a /).
        #[arg(long, value_name = "GLOB")]
        object: Option<String>,
        /// Print the page map of this section (one character per page: # resident).
        #[arg(long, value_name = "SECTION")]
        pages: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The figure columns, as `ps -o`: size and rss, the two a section has
        /// (default size,rss); another is an error.
        #[arg(long, value_name = "LIST", value_parser = parse_columns)]
        columns: Option<Columns>,
    },
    /// Resident bytes per symbol: per symbol of each ELF object (from .symtab, a debug
    /// file found by build ID or .gnu_debuglink, else .dynsym), its address range,
    /// section, kind and resident bytes and pages, by resident bytes.
    Symbols {
        /// A live process to read.
        #[arg(value_parser = parse_pid_or_self, required_unless_present_any = ["snapshot", "union"], conflicts_with = "snapshot")]
        pid: Option<u32>,
        /// Across processes: per symbol, its resident bytes in at least one of the
        /// processes that map its object (all processes, or those --pid, --name,
        /// --user, --cgroup select), beside their sum.
        #[arg(long, conflicts_with_all = ["pid", "snapshot"])]
        union: bool,
        #[command(flatten)]
        select: SelectArgs,
        /// A file written by `elfmaps snapshot --symbols` on the target.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
        /// The target's root filesystem: files of `--snapshot`, and where debug files
        /// are looked for (DIR/usr/lib/debug/.build-id/...), live too (default: this
        /// machine's /, which a note says for --snapshot).
        #[arg(long, value_name = "DIR")]
        sysroot: Option<PathBuf>,
        /// Only objects matching this glob (on the file name; on the path if it has a /).
        #[arg(long, value_name = "GLOB")]
        object: Option<String>,
        /// Only symbols of sections of this kind (data includes relro).
        #[arg(long, value_enum)]
        kind: Option<SymbolKind>,
        /// Rows by compile unit or by source file (from DWARF: the object's or its
        /// debug file's) instead of by symbol.
        #[arg(long, value_enum)]
        by: Option<SymbolsBy>,
        /// Print only the first N rows of each object (the table; JSON has them all).
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
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
pub(crate) const CHECK_HELP: &str = "\
The budget file has one [[budget]] table per rule:

    [[budget]]
    object = \"libfoo.so*\"  # glob on the file name (the path if it has a /)
    kind = \"text\"          # optional: one kind; none: the whole object
    max_size = \"2 MiB\"     # or max_rss, max_pss, max_uss, max_private_dirty, max_swap
    max_rss_growth = \"5%\"  # against --baseline OLD.json; or bytes; max_growth: any

Without object: kind = \"heap\" alone limits all memory of that kind; neither
object nor kind limits the whole target. processes = \"sum\" checks the sum of
the processes a name matches (default \"each\").

Sizes are bytes, or strings with a unit: B, KiB, MiB, GiB, kB, MB, GB.

TARGET is a PID or a process name (each process of that name), --smaps FILE,
--maps FILE or --snapshot FILE (with --sysroot), or one --elf FILE (or GLOB) per
ELF file (static sizes, only max_size measurable), or --system (with --name ...):
the whole machine, each object's kinds summed over every process that maps it (a
system snapshot given with --snapshot is checked the same way).

Exit status: 0 every rule holds (one line says how many were checked, unless
--quiet), 1 a rule is exceeded (one line per violation), 2 an error, or with
--strict a check that is not complete (a rule matching nothing, a limit not
measurable, an empty input).";

/// Which processes `system` and `snapshot --system` read.
#[derive(Args)]
pub(crate) struct SelectArgs {
    /// Only these processes: PIDs separated by commas (`self` is elfmaps itself).
    #[arg(long = "pid", value_name = "LIST", value_delimiter = ',', value_parser = parse_pid_or_self)]
    pub(crate) pids: Vec<u32>,
    /// Only processes of this name (comm, or the file name of the executable or of the
    /// first argument, as pidof); repeat for more names.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Vec<String>,
    /// Only processes of this user (a name or a UID; the effective UID).
    #[arg(long, value_name = "USER")]
    pub(crate) user: Option<String>,
    /// Only processes in this cgroup or below it (the path of /proc/PID/cgroup, e.g.
    /// /system.slice/foo.service; live only).
    #[arg(long, value_name = "PATH")]
    pub(crate) cgroup: Option<String>,
}

impl SelectArgs {
    /// Whether any selection flag was given.
    pub(crate) fn any(&self) -> bool {
        !self.pids.is_empty()
            || !self.name.is_empty()
            || self.user.is_some()
            || self.cgroup.is_some()
    }

    /// The selection the flags say (a user name looked up in the password database).
    pub(crate) fn selection(&self) -> Result<crate::pipeline::system::Selection, String> {
        use crate::pipeline::system::Selection;
        let user = match &self.user {
            None => None,
            Some(u) => {
                Some(crate::source::proc::user_id(u).ok_or_else(|| format!("no user {u:?}"))?)
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
pub(crate) struct SystemArgs {
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// A system snapshot written by `elfmaps snapshot --system` on the target, analysed
    /// with the files under --sysroot.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["smemcap", "cgroup"])]
    pub(crate) snapshot: Option<PathBuf>,
    /// A capture of smem's smemcap (a tar of /proc; `-` for standard input; decompress
    /// it first), analysed with the files under --sysroot.
    #[arg(long, value_name = "FILE", conflicts_with = "cgroup")]
    pub(crate) smemcap: Option<PathBuf>,
    /// The target's root filesystem, for --snapshot and --smemcap (without it, this
    /// machine's `/`, said once on stderr).
    #[arg(long, value_name = "DIR")]
    pub(crate) sysroot: Option<PathBuf>,
    /// The target's page size in bytes, for an smemcap capture whose smaps does not
    /// say it.
    #[arg(long, value_name = "BYTES", value_parser = parse_page_size)]
    pub(crate) page_size: Option<PageSize>,
    /// Rows per object and kind, per kind across objects, or per process.
    #[arg(long, value_enum, default_value_t = SystemBy::Object)]
    pub(crate) by: SystemBy,
    /// One line per process for each object whose file name (or path, with a /)
    /// matches GLOB, as librank prints.
    #[arg(long, value_name = "GLOB")]
    pub(crate) object: Option<String>,
    /// Largest first by this figure (default: pss, or rss where pss is unknown).
    #[arg(long, value_enum)]
    pub(crate) sort: Option<SystemSort>,
    /// Keep only the first N rows; a note says how many were cut (the JSON is cut
    /// the same way and says `cut`).
    #[arg(long, value_name = "N")]
    pub(crate) top: Option<usize>,
    /// Print JSON instead of a table (the whole machine: rows, objects, kinds,
    /// processes, skipped, warnings).
    #[arg(long)]
    pub(crate) json: bool,
    /// The figure columns, as `ps -o`: some of size, rss, pss, uss, dirty, swap
    /// (default size,rss,pss,uss,swap).
    #[arg(long, value_name = "LIST", value_parser = parse_columns)]
    pub(crate) columns: Option<Columns>,
    /// Read each process's maps and pagemap instead of its smaps (as `map
    /// --rss-only`): rss and swap exact, pss and the clean/dirty figures null.
    #[arg(long, conflicts_with_all = ["snapshot", "smemcap"])]
    pub(crate) rss_only: bool,
    /// Show each process's whole command line (`--by process`, JSON), not only its
    /// command name: command lines may hold secrets.
    #[arg(long)]
    pub(crate) cmdline: bool,
}

/// `system --by`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SystemBy {
    Object,
    Kind,
    Process,
}

/// `--sort` of `summary` and `system`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SystemSort {
    Size,
    Rss,
    Pss,
    Uss,
    Swap,
}

/// A PID, or `self`.
pub(crate) fn parse_pid_or_self(s: &str) -> Result<u32, String> {
    if s == "self" {
        return Ok(crate::source::proc::own_pid());
    }
    s.parse()
        .map_err(|_| format!("{s:?} is not a process ID (or self)"))
}

/// `summary --by`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ByArg {
    Object,
    Kind,
}

/// `check --format`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    Text,
    Github,
    Markdown,
}

/// `diff --threshold`: bytes or a percentage, as a budget's growth limit.
pub(crate) fn parse_threshold(s: &str) -> Result<crate::input::budget::Growth, String> {
    crate::input::budget::parse_growth(s).map_err(|e| e.to_string())
}

/// A live process as the command line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProcessArg {
    /// A PID.
    Pid(u32),
    /// `self`: elfmaps itself.
    Own,
    /// A process name: every process of that name.
    Name(String),
}

/// A PID, `self` or a process name. A path in its place is most often a second ELF
/// file after `check --elf`: the error says how to give several.
pub(crate) fn parse_process(s: &str) -> Result<ProcessArg, String> {
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

/// `--page-size`: a number of bytes, validated as a page size once, by [`PageSize`].
pub(crate) fn parse_page_size(s: &str) -> Result<PageSize, String> {
    let n: u64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of bytes"))?;
    PageSize::new(n).map_err(|e| e.to_string())
}

/// The targets of `map` and `summary`, for the error that names them.
pub(crate) const TARGETS: &str = "a PID, --smaps FILE, --maps FILE or --snapshot FILE";

/// The targets of `check`.
pub(crate) const CHECK_TARGETS: &str =
    "a PID, --smaps FILE, --maps FILE, --snapshot FILE, --system or --elf FILE (once per file)";

/// `symbols --kind`: the kinds of memory symbols lie in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SymbolKind {
    /// Code.
    Text,
    /// Read-only data.
    Rodata,
    /// Writable data, relro included.
    Data,
    /// Zero-initialised data.
    Bss,
}

/// `symbols --by`: what a row is, from DWARF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SymbolsBy {
    /// A compile unit (its DW_AT_name).
    CompileUnit,
    /// The source file of each line table row.
    File,
}

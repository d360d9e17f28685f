//! From flags to inputs: which process or saved file, read once, and the calls into
//! the library that turn them into reports.

use super::*;
use crate::vocab::MapsSource;

/// A process named on the command line, resolved: its PID, and whether it was found
/// by name (then one that exits before it is read is skipped with a warning, not an
/// error).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved {
    pub(crate) pid: u32,
    pub(crate) by_name: bool,
}

/// The PIDs of the processes named on the command line, in order.
pub(crate) fn resolve(args: &[ProcessArg]) -> Result<Vec<Resolved>, String> {
    let mut out = Vec::new();
    for a in args {
        match a {
            ProcessArg::Pid(pid) => out.push(Resolved {
                pid: *pid,
                by_name: false,
            }),
            ProcessArg::Own => out.push(Resolved {
                pid: crate::source::proc::own_pid(),
                by_name: false,
            }),
            ProcessArg::Name(name) => {
                let pids =
                    crate::pipeline::system::pids_named(name).map_err(|e| format!("/proc: {e}"))?;
                if pids.is_empty() {
                    return Err(format!("no process named {name:?}"));
                }
                out.extend(pids.into_iter().map(|pid| Resolved { pid, by_name: true }));
            }
        }
    }
    Ok(out)
}

/// What to analyse, built once from the flags.
pub(crate) enum Target {
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
pub(crate) struct Input {
    pub(crate) target: Target,
    pub(crate) sysroot: PathBuf,
    /// Whether `--sysroot` was given (else `/`, said once: [`root_note`]).
    pub(crate) sysroot_given: bool,
    pub(crate) page_size: Option<PageSize>,
    /// `--rss-only`: maps and pagemap instead of smaps.
    pub(crate) rss_only: bool,
}

impl InputArgs {
    /// With `check --system` and no other target: the live machine.
    pub(crate) fn into_system(mut self, system: bool) -> InputArgs {
        self.system = system;
        self
    }

    /// The input the flags name; `elf` are `check --elf`'s files (clap makes them
    /// exclusive with the other targets). `targets` lists the choices for the error.
    pub(crate) fn into_input(self, elf: Vec<PathBuf>, targets: &str) -> Result<Input, String> {
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
            sysroot_given: self.sysroot.is_some(),
            sysroot: self.sysroot.unwrap_or_else(|| PathBuf::from("/")),
            page_size: self.page_size,
            rss_only: self.rss_only,
        })
    }
}

/// `--max-input-size`, set once by `main` before anything is read.
static MAX_INPUT_SIZE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// Sets the input limit (`--max-input-size`); the first call wins.
pub(crate) fn set_max_input_size(limit: u64) {
    let _ = MAX_INPUT_SIZE.set(limit);
}

/// The input limit: `--max-input-size`, 256 MiB by default.
pub(crate) fn max_input_size() -> u64 {
    MAX_INPUT_SIZE
        .get()
        .copied()
        .unwrap_or(crate::source::saved::DEFAULT_LIMIT)
}

/// Reads a named input file, or standard input for `-`, whole, up to the input limit
/// ([`max_input_size`]). smaps and maps are not read here: they are parsed as they
/// are read ([`crate::pipeline::Saved::file`]).
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    crate::source::saved::read(path, max_input_size()).map_err(|e| e.to_string())
}

/// Runs the pipeline on a process or saved input and prints its warnings.
pub(crate) fn load(input: &Input) -> Result<Report, String> {
    load_with(input, None)
}

/// [`load`], with the bytes of a snapshot already read (`pre`).
pub(crate) fn load_with(input: &Input, pre: Option<Vec<u8>>) -> Result<Report, String> {
    load_coded(input, pre).map_err(|(_, e)| e)
}

/// [`load_with`], with the stable code of the error (`check` prints it in every
/// format).
pub(crate) fn load_coded(
    input: &Input,
    pre: Option<Vec<u8>>,
) -> Result<Report, (crate::vocab::warning::Code, String)> {
    use crate::vocab::warning::Code;
    let unreadable = |e: String| (Code::InputUnreadable, e);
    let (path, snapshot) = match &input.target {
        Target::Pids(pids) => {
            let [one] = pids.as_slice() else {
                return Err(unreadable(format!(
                    "{} processes given: only map takes several (or see `elfmaps system`)",
                    pids.len()
                )));
            };
            let live = if input.rss_only {
                crate::pipeline::live_rss_only
            } else {
                crate::pipeline::live
            };
            return live(one.pid)
                .map_err(|e| (e.code(), e.to_string()))
                .inspect(warn);
        }
        Target::Smaps(p) | Target::Maps(p) => (p, None),
        Target::Snapshot(p) => {
            let bytes = match pre {
                Some(b) => b,
                None => read_input(p).map_err(unreadable)?,
            };
            let snap = crate::input::snapshot::Snapshot::parse(&bytes)
                .map_err(|e| unreadable(format!("{}: {e}", crate::vocab::escape::path_text(p))))?;
            (p, Some(snap))
        }
        Target::Elf(_) => return Err(unreadable("ELF files have no process to label".into())),
        Target::System => return Err(unreadable("the whole machine is not one process".into())),
    };
    let name = crate::vocab::escape::path_text(path).into_owned();
    let saved = match snapshot {
        Some(snap) => crate::pipeline::Saved::parsed_snapshot(snap, &name, &input.sysroot),
        None => crate::pipeline::Saved::file(path, max_input_size(), &name, &input.sysroot),
    };
    let report = crate::pipeline::offline(saved.with_page_size(input.page_size))
        .map_err(|e| (e.code(), e.to_string()))?;
    if !input.sysroot_given {
        root_note(&report);
    }
    warn(&report);
    Ok(report)
}

/// A saved input read without `--sysroot`: its files are this machine's, which is
/// said once, with how many of them are missing (issue 20: 867 warnings for a
/// Firefox smaps read against a desktop's `/`).
pub(crate) fn root_note(report: &Report) {
    let files: std::collections::HashSet<&str> = report
        .regions
        .iter()
        .filter(|r| r.inode != 0)
        .filter_map(|r| r.path.as_deref())
        .collect();
    files_root_note(files.len(), &report.warnings);
}

/// How many files a snapshot maps (distinct names of lines with an inode), for
/// [`files_root_note`]; `None` when its maps text does not parse (the view reading
/// it says so).
pub(crate) fn snapshot_files(snap: &crate::input::snapshot::Snapshot) -> Option<usize> {
    let maps = crate::input::maps::parse(&snap.smaps).ok()?;
    let files: std::collections::HashSet<&[u8]> = maps
        .iter()
        .filter(|m| m.inode != 0)
        .map(|m| m.name.as_slice())
        .collect();
    Some(files.len())
}

/// [`root_note`] of `of` mapped files, those that `warnings` say could not be read
/// missing (`sections --snapshot`, whose report is not the CLI's).
pub(crate) fn files_root_note(of: usize, warnings: &[crate::vocab::Warning]) {
    use crate::vocab::Code;
    let missing: std::collections::HashSet<&str> = warnings
        .iter()
        .filter(|w| w.code == Code::FileUnreadable)
        .filter_map(|w| w.object.as_deref())
        .collect();
    let n = missing.len();
    if of == 0 {
        // No file to read: the root does not matter.
        return;
    }
    let (files, are) = if of == 1 {
        ("file", "is")
    } else {
        ("files", "are")
    };
    note(&format!(
        "no --sysroot: the {of} mapped {files} of the saved input {are} read from this machine's / \
         ({n} missing or unreadable); give --sysroot DIR, the target's root filesystem"
    ));
}

/// [`root_note`] for a saved machine (a system snapshot, an smemcap capture): how
/// many objects are missing, over every process.
pub(crate) fn system_root_note(sys: &crate::views::system::System) {
    use crate::vocab::Code;
    let missing: std::collections::HashSet<&str> = sys
        .warnings
        .iter()
        .filter(|w| w.code == Code::FileUnreadable)
        .filter_map(|w| w.object.as_deref())
        .collect();
    note(&format!(
        "no --sysroot: the mapped files of the saved processes are read from this machine's / \
         ({} missing or unreadable); give --sysroot DIR, the target's root filesystem",
        missing.len()
    ));
}

/// What a table or page describes, for its first line: the saved file (whose name is
/// put in `file`) and what it is, or the live process.
pub(crate) fn origin<'a>(target: &Target, report: &Report, file: &'a mut String) -> Origin<'a> {
    // What the file is, as the parser found it: `--smaps` of a maps file is a maps.
    let what = match target {
        Target::Smaps(_) | Target::Maps(_) if report.source == MapsSource::Maps => "saved maps",
        Target::Smaps(_) | Target::Maps(_) => "saved smaps",
        Target::Snapshot(_) => "snapshot",
        Target::Pids(_) | Target::Elf(_) | Target::System => return Origin::Live,
    };
    if let Target::Smaps(p) | Target::Maps(p) | Target::Snapshot(p) = target {
        *file = crate::vocab::escape::path_text(p).into_owned();
    }
    Origin::Saved { file, what }
}

/// Reads two saved JSON reports and compares them (`diff`, `report --diff`).
pub(crate) fn load_diff(old: &Path, new: &Path) -> Result<crate::views::diff::Diff, String> {
    let side = |p: &Path| -> Result<crate::views::diff::Saved, String> {
        let bytes = read_input(p)?;
        crate::views::diff::Saved::from_json(&bytes)
            .map_err(|e| format!("{}: {e}", crate::vocab::escape::path_text(p)))
    };
    Ok(crate::views::diff::diff(&side(old)?, &side(new)?))
}

/// Where the processes of `system` (and `check --system`) come from.
pub(crate) enum SystemFrom<'a> {
    /// This machine.
    Live,
    /// A system snapshot (its bytes, its file's name).
    Snapshot(&'a [u8], &'a Path),
    /// An smemcap capture (its bytes, its file's name).
    Smemcap(&'a [u8], &'a Path),
}

/// How `system` (and `check --system`) read the processes.
pub(crate) struct SystemLoad<'a> {
    pub(crate) from: SystemFrom<'a>,
    pub(crate) selection: crate::pipeline::system::Selection,
    pub(crate) sysroot: &'a Path,
    /// Whether `--sysroot` was given (else `/`, said once for saved inputs).
    pub(crate) sysroot_given: bool,
    pub(crate) page_size: Option<PageSize>,
    pub(crate) keep_uses: bool,
    pub(crate) verbose: bool,
    /// A live scan reads maps and pagemap, not smaps (`--rss-only`).
    pub(crate) rss_only: bool,
    /// Keep whole command lines (`--cmdline`); else the command name.
    pub(crate) cmdline: bool,
}

/// Scans and folds the machine, and prints its warnings. `Err` when nothing could be
/// read (or the input is not what it should be).
pub(crate) fn load_system(l: SystemLoad) -> Result<crate::views::system::System, String> {
    use crate::pipeline::system::{self, Mode};
    let mut builder = crate::views::system::Builder::new();
    if l.keep_uses {
        builder = builder.keep_uses();
    }
    if l.cmdline {
        builder = builder.command_lines();
    }
    let mut sink = |s: system::Scanned| builder.add(&s.process, &s.report);
    let (outcome, source) = match l.from {
        SystemFrom::Snapshot(bytes, file) => {
            let snap = crate::input::snapshot::SystemSnapshot::parse(bytes)
                .map_err(|e| format!("{}: {e}", crate::vocab::escape::path_text(file)))?;
            let o = system::scan_snapshot(&snap, l.sysroot, &l.selection, &mut sink);
            (o, "snapshot")
        }
        SystemFrom::Smemcap(bytes, file) => {
            let cap = crate::input::smemcap::Smemcap::parse(bytes)
                .map_err(|e| format!("{}: {e}", crate::vocab::escape::path_text(file)))?;
            let o = system::scan_smemcap(&cap, l.sysroot, l.page_size, &l.selection, &mut sink);
            (o, "smemcap")
        }
        SystemFrom::Live => {
            let mode = if l.rss_only {
                Mode::RssOnly
            } else {
                Mode::Smaps
            };
            let o = system::scan(&l.selection, mode, &mut sink)
                .map_err(|e| format!("cannot list /proc: {e}"))?;
            (
                o,
                if l.rss_only {
                    "live maps+pagemap"
                } else {
                    "live"
                },
            )
        }
    };
    if outcome.read == 0 {
        let k = &outcome.skipped;
        return Err(if k.total() == 0 {
            "no process matches the selection".to_string()
        } else if k.total() == k.exited {
            format!(
                "no process matches the selection ({} selected not running)",
                crate::report::scan::processes(k.exited)
            )
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
    if !l.sysroot_given && !matches!(l.from, SystemFrom::Live) {
        system_root_note(&sys);
    }
    warn_all(&sys.warnings);
    Ok(sys)
}

/// The machine `check` measures: live with `--system` (the processes `selection`
/// selects), or a system snapshot given with `--snapshot`; `None` for the other
/// targets.
pub(crate) fn system_target(
    input: &Input,
    snapshot: Option<&[u8]>,
    selection: crate::pipeline::system::Selection,
) -> Result<Option<crate::views::system::System>, String> {
    let base = SystemLoad {
        from: SystemFrom::Live,
        selection,
        sysroot: &input.sysroot,
        sysroot_given: input.sysroot_given,
        page_size: input.page_size,
        keep_uses: false,
        verbose: false,
        rss_only: false,
        // `check --system` prints no process rows.
        cmdline: false,
    };
    match &input.target {
        Target::System => load_system(base).map(Some),
        Target::Snapshot(p) => {
            let Some(bytes) =
                snapshot.filter(|b| crate::input::snapshot::SystemSnapshot::is_system(b))
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

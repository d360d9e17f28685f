//! Dispatch: one function per subcommand, from parsed flags to printed output and an
//! exit code.

use super::write;
use super::*;
use crate::vocab::matching::ObjectGlob;
use crate::vocab::{Code, Warning};

/// The glob of `--object`, when given.
fn object_glob(object: Option<&str>) -> Result<Option<ObjectGlob>, String> {
    object
        .map(ObjectGlob::new)
        .transpose()
        .map_err(|e| format!("--object: {e}"))
}

/// `elfmaps sections --union`: per section of the selected objects, the union over
/// the selected processes of its resident pages, beside their sum.
pub(crate) fn run_sections_union(
    select: &SelectArgs,
    object: Option<String>,
    json: bool,
    cols: &[crate::render::columns::Column],
    color: bool,
) -> io::Result<Exit> {
    let selection = match select.selection() {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let glob = match object_glob(object.as_deref()) {
        Ok(g) => g,
        Err(e) => return Ok(error(&e)),
    };
    let wanted = |path: &str| glob.as_ref().is_none_or(|g| g.matches(path));
    let select = crate::pipeline::Select {
        object: &wanted,
        pages_of: None,
        every_page: true,
    };
    let u = match crate::pipeline::sections_union(&selection, select) {
        Ok(u) => u,
        Err(e) => return Ok(error(&format!("cannot list /proc: {e}"))),
    };
    warn_all(&u.warnings);
    if u.processes.is_empty() {
        return Ok(error("no process read maps a selected object"));
    }
    print(|out| {
        if json {
            crate::render::json(&u, out)
        } else {
            crate::render::sections::union_table(&u, cols, out, color, terminal_width())
        }
    })?;
    Ok(Exit::Ok)
}

/// `elfmaps sections`: live or from a snapshot; a table, JSON, or a page map.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_sections(
    pid: Option<u32>,
    snapshot: Option<PathBuf>,
    sysroot: Option<&Path>,
    object: Option<String>,
    pages: Option<String>,
    json: bool,
    cols: &[crate::render::columns::Column],
    color: bool,
) -> io::Result<Exit> {
    let glob = match object_glob(object.as_deref()) {
        Ok(g) => g,
        Err(e) => return Ok(error(&e)),
    };
    let wanted = |path: &str| glob.as_ref().is_none_or(|g| g.matches(path));
    let select = crate::pipeline::Select {
        object: &wanted,
        pages_of: pages.as_deref(),
        every_page: false,
    };
    // Read without --sysroot: how many files the snapshot maps (else none to say).
    let mut files = None;
    let got = match (pid, &snapshot) {
        (Some(pid), _) => crate::pipeline::sections_live(pid, select).map_err(|e| e.to_string()),
        (None, Some(p)) => read_input(p)
            .and_then(|b| {
                crate::input::snapshot::Snapshot::parse(&b)
                    .map_err(|e| format!("{}: {e}", p.display()))
            })
            .and_then(|snap| {
                if sysroot.is_none() {
                    // The mapped files, for the note on the root (docs/cli.md).
                    files = snapshot_files(&snap);
                }
                let root = sysroot.unwrap_or(Path::new("/"));
                crate::pipeline::sections_offline(snap, root, select).map_err(|e| e.to_string())
            }),
        (None, None) => Err("no target: give a PID or --snapshot FILE".into()),
    };
    let s = match got {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    if let Some(of) = files {
        files_root_note(of, &s.warnings);
    }
    warn_all(&s.warnings);
    // A selection that matches nothing is an error (docs/cli.md, "Selection").
    if let Some(o) = &object
        && s.objects.is_empty()
    {
        return Ok(error(&format!("no object matches {o:?}")));
    }
    if let Some(name) = &pages
        && !s
            .objects
            .iter()
            .any(|o| o.sections.iter().any(|x| &x.name == name))
    {
        return Ok(error(&format!(
            "no section named {name:?} in the objects selected"
        )));
    }
    print(|out| match (&pages, json) {
        (_, true) => crate::render::json(&s, out),
        (Some(name), false) => crate::render::sections::pages(&s, name, s.page_size, out),
        (None, false) => crate::render::sections::table(&s, cols, out, color, terminal_width()),
    })?;
    Ok(Exit::Ok)
}

/// `elfmaps symbols`: live or from a snapshot; a table or JSON.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_symbols(
    pid: Option<u32>,
    union: Option<&SelectArgs>,
    snapshot: Option<PathBuf>,
    sysroot_given: Option<&Path>,
    object: Option<String>,
    kind: Option<SymbolKind>,
    by: Option<SymbolsBy>,
    top: Option<usize>,
    json: bool,
    color: bool,
) -> io::Result<Exit> {
    use crate::input::dwarf::By;
    use crate::vocab::Kind;
    let sysroot = sysroot_given.unwrap_or(Path::new("/"));
    let glob = match object_glob(object.as_deref()) {
        Ok(g) => g,
        Err(e) => return Ok(error(&e)),
    };
    let wanted = |path: &str| glob.as_ref().is_none_or(|g| g.matches(path));
    let kinds: Option<&[Kind]> = kind.map(|k| match k {
        SymbolKind::Text => &[Kind::Text][..],
        SymbolKind::Rodata => &[Kind::Rodata][..],
        SymbolKind::Data => &[Kind::Data, Kind::Relro][..],
        SymbolKind::Bss => &[Kind::Bss][..],
    });
    let select = crate::pipeline::SymbolsSelect {
        object: &wanted,
        kinds,
        debug_root: sysroot,
        by: by.map(|b| match b {
            SymbolsBy::CompileUnit => By::CompileUnit,
            SymbolsBy::File => By::File,
        }),
    };
    if let Some(args) = union {
        let selection = match args.selection() {
            Ok(s) => s,
            Err(e) => return Ok(error(&e)),
        };
        let u = match crate::pipeline::symbols_union(&selection, select) {
            Ok(u) => u,
            Err(e) => return Ok(error(&format!("cannot list /proc: {e}"))),
        };
        warn_all(&u.warnings);
        if u.processes.is_empty() {
            return Ok(error("no process read maps a selected object"));
        }
        print(|out| {
            if json {
                crate::render::json(&u, out)
            } else {
                crate::render::symbols::union_table(&u, out, color, top)
            }
        })?;
        return Ok(Exit::Ok);
    }
    // Read without --sysroot: how many files the snapshot maps (else none to say).
    let mut files = None;
    let got = match (pid, &snapshot) {
        (Some(pid), _) => crate::pipeline::symbols_live(pid, select).map_err(|e| e.to_string()),
        (None, Some(p)) => read_input(p)
            .and_then(|b| {
                crate::input::snapshot::Snapshot::parse(&b)
                    .map_err(|e| format!("{}: {e}", p.display()))
            })
            .and_then(|snap| {
                if sysroot_given.is_none() {
                    // The mapped files, for the note on the root (docs/cli.md).
                    files = snapshot_files(&snap);
                }
                crate::pipeline::symbols_offline(snap, sysroot, select).map_err(|e| e.to_string())
            }),
        (None, None) => Err("no target: give a PID or --snapshot FILE".into()),
    };
    let s = match got {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    if let Some(of) = files {
        files_root_note(of, &s.warnings);
    }
    warn_all(&s.warnings);
    print(|out| {
        if json {
            crate::render::json(&s, out)
        } else {
            crate::render::symbols::table(&s, out, color, top)
        }
    })?;
    Ok(Exit::Ok)
}

/// Runs one subcommand; `Err` only for failures to write the output.
pub(crate) fn run(command: Command, color: bool) -> io::Result<Exit> {
    match command {
        Command::Map {
            input,
            json,
            columns,
        } => {
            use crate::render::columns;
            let cols = columns.map_or_else(|| columns::MAP.to_vec(), |c| c.0);
            let input = match input.into_input(Vec::new(), TARGETS) {
                Ok(i) => i,
                Err(e) => return Ok(error(&e)),
            };
            if let Target::Pids(pids) = &input.target
                && pids.len() > 1
            {
                return run_map_many(pids, json, &cols, color);
            }
            let report = match load(&input) {
                Ok(r) => r,
                Err(e) => return Ok(error(&e)),
            };
            print(|out| {
                if json {
                    crate::render::map::json(&report, out)
                } else {
                    let mut file = String::new();
                    let origin = origin(&input.target, &report, &mut file);
                    crate::render::map::table(
                        &report,
                        origin,
                        &cols,
                        out,
                        color,
                        terminal_width(),
                        full_path(),
                    )
                }
            })?;
            // The process ends next: the kernel takes the memory back at once, where
            // freeing the report piece by piece costs ~5% of a run on a large process.
            std::mem::forget(report);
            Ok(Exit::Ok)
        }
        Command::Summary {
            input,
            by,
            sort,
            top,
            json,
            columns,
        } => {
            let cols = columns.map_or_else(|| crate::render::columns::SUMMARY.to_vec(), |c| c.0);
            let (input, report) = match input
                .into_input(Vec::new(), TARGETS)
                .and_then(|i| load(&i).map(|r| (i, r)))
            {
                Ok(r) => r,
                Err(e) => return Ok(error(&e)),
            };
            let by = match by {
                ByArg::Object => crate::views::summary::By::Object,
                ByArg::Kind => crate::views::summary::By::Kind,
            };
            use crate::views::summary::SortBy;
            let sort = match sort {
                None => SortBy::default_for(&report.totals),
                Some(SystemSort::Size) => SortBy::Size,
                Some(SystemSort::Rss) => SortBy::Rss,
                Some(SystemSort::Pss) => SortBy::Pss,
                Some(SystemSort::Uss) => SortBy::Uss,
                Some(SystemSort::Swap) => SortBy::Swap,
            };
            let summary = crate::views::summary::summarize(&report, by, sort, top);
            print(|out| {
                if json {
                    crate::render::json(&summary, out)
                } else {
                    let mut file = String::new();
                    let title = crate::render::map::title(
                        &report,
                        origin(&input.target, &report, &mut file),
                    );
                    crate::render::summary::table(
                        &summary,
                        &title,
                        &cols,
                        out,
                        color,
                        terminal_width(),
                        full_path(),
                    )
                }
            })?;
            Ok(Exit::Ok)
        }
        Command::Check {
            budget,
            elf,
            system,
            input,
            select,
            baseline,
            strict,
            json,
            format,
        } => {
            let flags = CheckFlags {
                strict,
                quiet: quiet(),
                json,
                format,
                baseline,
                select,
            };
            if flags.select.any() && !system {
                return Ok(check_error(
                    &flags,
                    &budget,
                    Code::InputUnreadable,
                    "--pid, --name, --user and --cgroup select processes for --system (a process name alone: check NAME)",
                ));
            }
            match expand_elf(elf)
                .and_then(|elf| input.into_system(system).into_input(elf, CHECK_TARGETS))
            {
                Ok(input) => run_check(&budget, &input, flags),
                Err(e) => Ok(check_error(&flags, &budget, Code::InputUnreadable, &e)),
            }
        }
        Command::Diff {
            old,
            new,
            json,
            exit_code,
            threshold,
            columns,
        } => {
            let cols = columns.map_or_else(|| crate::render::columns::DIFF.to_vec(), |c| c.0);
            let d = match load_diff(&old, &new) {
                Ok(d) => match threshold {
                    Some(t) => d.above(t),
                    None => d,
                },
                Err(e) => return Ok(error(&e)),
            };
            print(|out| {
                if json {
                    crate::render::json(&d, out)
                } else {
                    crate::render::diff::table(&d, &cols, out, color, terminal_width(), full_path())
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
            system,
            select,
            system_json,
            output,
            cmdline,
            symbols,
        } => {
            if system || system_json.is_some() {
                run_report_system(&input, &select, system_json.as_deref(), &output, cmdline)
            } else if select.any() {
                Ok(error(
                    "--pid, --name, --user and --cgroup select processes for --system",
                ))
            } else {
                run_report(input, diff, &output, symbols)
            }
        }
        Command::Sections {
            pid,
            snapshot,
            sysroot,
            object,
            pages,
            json,
            union,
            select,
            columns,
        } => {
            let cols = columns.map_or_else(|| crate::render::columns::SECTIONS.to_vec(), |c| c.0);
            let view = if union {
                "sections --union"
            } else {
                "sections"
            };
            if let Err(e) = crate::render::sections::columns(&cols, view) {
                return Ok(error(&e));
            }
            if union {
                run_sections_union(&select, object, json, &cols, color)
            } else if select.any() {
                Ok(error(
                    "--pid, --name, --user and --cgroup select processes for --union",
                ))
            } else {
                run_sections(
                    pid,
                    snapshot,
                    sysroot.as_deref(),
                    object,
                    pages,
                    json,
                    &cols,
                    color,
                )
            }
        }
        Command::Symbols {
            pid,
            union,
            select,
            snapshot,
            sysroot,
            object,
            kind,
            by,
            top,
            json,
        } => {
            if !union && select.any() {
                return Ok(error(
                    "--pid, --name, --user and --cgroup select processes for --union",
                ));
            }
            let union = union.then_some(&select);
            run_symbols(
                pid,
                union,
                snapshot,
                sysroot.as_deref(),
                object,
                kind,
                by,
                top,
                json,
                color,
            )
        }
        Command::System { args } => run_system(args, color),
        Command::Metrics { args } => serve::run(args),
        Command::Snapshot {
            pid,
            system,
            select,
            output,
            sections,
            rss_only,
        } => {
            if system {
                if sections {
                    return Ok(error(
                        "--sections records one process: give a PID, not --system",
                    ));
                }
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
            let taken = if sections {
                crate::pipeline::snapshot_sections(pid)
            } else if rss_only {
                crate::pipeline::snapshot_rss_only(pid)
            } else {
                crate::pipeline::snapshot(pid)
            };
            let (snap, report) = match taken {
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
            match write::write_bytes(&output, write::Mode::Private, &bytes) {
                Ok(()) => Ok(Exit::Ok),
                Err(e) => Ok(error(&format!("writing {}: {e}", output.display()))),
            }
        }
        Command::Completions { shell } => {
            print(|out| {
                clap_complete::generate(shell, &mut super::args::command(), "elfmaps", out);
                Ok(())
            })?;
            Ok(Exit::Ok)
        }
        Command::Man { page } => {
            let mut cmd = super::args::command().disable_help_subcommand(true);
            cmd.build();
            let cmd = match &page {
                None => cmd,
                Some(name) => match cmd.find_subcommand(name) {
                    Some(sub) => sub.clone(),
                    None => {
                        let mut subs: Vec<&clap::Command> = cmd.get_subcommands().collect();
                        subs.sort_by_key(|c| c.get_display_order());
                        let names: Vec<&str> = subs.iter().map(|c| c.get_name()).collect();
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

/// `elfmaps report --system` (live, or `--snapshot FILE` of `snapshot --system`) and
/// `report --system-json FILE` (a saved `system --json`): the page of the whole
/// machine, its data exactly what `system --json` prints for the same input.
pub(crate) fn run_report_system(
    input: &InputArgs,
    select: &SelectArgs,
    saved: Option<&Path>,
    output: &Path,
    cmdline: bool,
) -> io::Result<Exit> {
    use crate::render::html;
    let made: Result<(Vec<u8>, String), String> = if let Some(file) = saved {
        if select.any() {
            return Ok(error(
                "--pid, --name, --user and --cgroup select processes of a scan, not of a saved report",
            ));
        }
        read_input(file).and_then(|bytes| {
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
            if v.get("kind").and_then(|k| k.as_str()) != Some("system") {
                return Err(format!(
                    "{}: not a report of `elfmaps system --json` (its \"kind\" is not \"system\")",
                    file.display()
                ));
            }
            Ok((bytes, format!("elfmaps system: {}", file.display())))
        })
    } else {
        let selection = match select.selection() {
            Ok(s) => s,
            Err(e) => return Ok(error(&e)),
        };
        let snapshot = input.source.snapshot.as_deref();
        let bytes = match snapshot.map(read_input).transpose() {
            Ok(b) => b,
            Err(e) => return Ok(error(&e)),
        };
        let from = match (&bytes, snapshot) {
            (Some(b), Some(f)) => SystemFrom::Snapshot(b, f),
            _ => SystemFrom::Live,
        };
        let title = match snapshot {
            Some(f) => format!("elfmaps system: {}", f.display()),
            None => "elfmaps system: this machine".to_string(),
        };
        load_system(SystemLoad {
            from,
            selection,
            sysroot: input.sysroot.as_deref().unwrap_or(Path::new("/")),
            sysroot_given: input.sysroot.is_some(),
            page_size: input.page_size,
            keep_uses: false,
            verbose: false,
            rss_only: false,
            cmdline,
        })
        .and_then(|sys| {
            let mut data = Vec::new();
            crate::render::json(&sys, &mut data).map_err(|e| e.to_string())?;
            Ok((data, title))
        })
    };
    let (data, title) = match made {
        Ok(m) => m,
        Err(e) => return Ok(error(&e)),
    };
    let mut page = Vec::new();
    html::page(html::Page::System, &title, &data, &mut page)?;
    if output == Path::new("-") {
        print(|out| out.write_all(&page))?;
        return Ok(Exit::Ok);
    }
    match write::write_bytes(output, write::Mode::Private, &page) {
        Ok(()) => Ok(Exit::Ok),
        Err(e) => Ok(error(&format!("writing {}: {e}", output.display()))),
    }
}

/// `elfmaps report`: the HTML page of a target's map report, or of the diff of two
/// saved reports, written to `output` (`-`: standard output).
pub(crate) fn run_report(
    input: InputArgs,
    diff: Option<Vec<PathBuf>>,
    output: &Path,
    symbols: bool,
) -> io::Result<Exit> {
    use crate::render::html;
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
                let title =
                    crate::render::map::title(&report, origin(&input.target, &report, &mut file));
                let title = format!("elfmaps: {title}");
                if !symbols {
                    return Ok(html::map(&report, &title, &mut page));
                }
                let s = report_symbols(&input.target, &input.sysroot)?;
                warn_all(&s.warnings);
                Ok(html::map_with_symbols(&report, &s, &title, &mut page).map(|cut| {
                    match cut {
                        None => eprintln!(
                            "elfmaps: note: the symbols do not fit in the page's {} bytes: the page has none",
                            html::PAGE_LIMIT
                        ),
                        Some((_, 0)) => {}
                        Some((top, left)) => eprintln!(
                            "elfmaps: note: the page holds the symbols of the {} most resident objects ({top} rows per section); {left} left out to stay under {} bytes",
                            s.objects.len() - left,
                            html::PAGE_LIMIT
                        ),
                    }
                }))
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
    match write::write_bytes(output, write::Mode::Private, &page) {
        Ok(()) => Ok(Exit::Ok),
        Err(e) => Ok(error(&format!("writing {}: {e}", output.display()))),
    }
}

/// The symbols `report --symbols` embeds: of the live process, or of the snapshot
/// (its debug files under `sysroot`), every object and kind, as `symbols` reads them.
fn report_symbols(target: &Target, root: &Path) -> Result<crate::views::symbols::Symbols, String> {
    let all = |_: &str| true;
    let select = crate::pipeline::SymbolsSelect {
        object: &all,
        kinds: None,
        debug_root: root,
        by: None,
    };
    match target {
        Target::Pids(pids) if pids.len() == 1 => {
            crate::pipeline::symbols_live(pids[0].pid, select).map_err(|e| e.to_string())
        }
        Target::Snapshot(p) => read_input(p)
            .and_then(|b| {
                crate::input::snapshot::Snapshot::parse(&b)
                    .map_err(|e| format!("{}: {e}", p.display()))
            })
            .and_then(|snap| {
                crate::pipeline::symbols_offline(snap, root, select).map_err(|e| e.to_string())
            }),
        _ => Err("--symbols needs a PID or a --snapshot taken with snapshot --symbols".into()),
    }
}

/// `elfmaps map PID PID...`: one report per process, the mapped files read once for
/// all of them; tables one after the other, or one JSON document per line. A process
/// named by PID that cannot be read is an error (exit 2, after the others); one found
/// by name that exited meanwhile is a warning.
pub(crate) fn run_map_many(
    pids: &[Resolved],
    json: bool,
    cols: &[crate::render::columns::Column],
    color: bool,
) -> io::Result<Exit> {
    use crate::pipeline::system::{Mode, process_report};
    let cache = crate::source::cache::FileCache::new();
    let mut exit = Exit::Ok;
    let mut first = true;
    for r in pids {
        let report = crate::source::proc::Process::new(r.pid)
            .map_err(crate::Error::from)
            .and_then(|p| process_report(p, Mode::Smaps, Some(&cache)));
        let report = match report {
            Ok(report) => report,
            Err(crate::Error::Proc(e @ crate::source::proc::ProcError::Exited(_))) if r.by_name => {
                warn_all(&[Warning::new(Code::ProcessExited, None, e.to_string())]);
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
                crate::render::map::json(&report, out)
            } else {
                if !first {
                    writeln!(out)?;
                }
                crate::render::map::table(
                    &report,
                    Origin::Live,
                    cols,
                    out,
                    color,
                    terminal_width(),
                    full_path(),
                )
            }
        })?;
        first = false;
    }
    Ok(exit)
}

/// `elfmaps system`: scan (live, a system snapshot or an smemcap capture), fold,
/// print. Exit 0 (with a warning when processes were skipped), 2 when no process
/// could be read.
pub(crate) fn run_system(a: SystemArgs, color: bool) -> io::Result<Exit> {
    use crate::views::system::{Sort, object_users, sort_processes, sort_rows};
    let selection = match a.select.selection() {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let glob = match a.object.as_deref().map(ObjectGlob::new).transpose() {
        Ok(g) => g,
        Err(e) => return Ok(error(&e.to_string())),
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
    let mut sys = match load_system(SystemLoad {
        from,
        selection,
        sysroot: a.sysroot.as_deref().unwrap_or(Path::new("/")),
        sysroot_given: a.sysroot.is_some(),
        page_size: a.page_size,
        keep_uses: glob.is_some(),
        verbose: verbose(),
        rss_only: a.rss_only,
        cmdline: a.cmdline,
    }) {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let sort = match a.sort {
        None => Sort::default_for(&sys.totals),
        Some(SystemSort::Size) => Sort::Size,
        Some(SystemSort::Rss) => Sort::Rss,
        Some(SystemSort::Pss) => Sort::Pss,
        Some(SystemSort::Uss) => Sort::Uss,
        Some(SystemSort::Swap) => Sort::Swap,
    };
    let cols = a
        .columns
        .clone()
        .map_or_else(|| crate::render::columns::SYSTEM.to_vec(), |c| c.0);
    // A selection that matches nothing is an error (docs/cli.md, "Selection").
    if let Some(glob) = &glob
        && object_users(&sys, glob, sort).is_empty()
    {
        return Ok(error(&format!(
            "no object matches {:?}",
            a.object.as_deref().unwrap_or_default()
        )));
    }
    let look = crate::render::system::Look {
        columns: &cols,
        color,
        terminal: terminal_width(),
        full_path: full_path(),
    };
    print(|out| {
        if let Some(glob) = &glob {
            let groups = object_users(&sys, glob, sort);
            if a.json {
                return crate::render::json(
                    &crate::views::system::Users::new(
                        &a.object.clone().unwrap_or_default(),
                        &groups,
                    ),
                    out,
                );
            }
            return crate::render::system::users(&sys, &groups, look, out);
        }
        if a.json {
            if let Some(top) = a.top {
                sys.cut_to(sort, top);
            }
            return crate::render::system::json(&sys, out);
        }
        let top = a.top.unwrap_or(usize::MAX);
        match a.by {
            SystemBy::Process => {
                let mut procs = sys.processes.clone();
                sort_processes(&mut procs, sort);
                let dropped = procs.len().saturating_sub(top);
                procs.truncate(top);
                crate::render::system::processes(&sys, &procs, dropped, look, out)
            }
            SystemBy::Object | SystemBy::Kind => {
                let (mut rows, of) = match a.by {
                    SystemBy::Kind => (
                        std::mem::take(&mut sys.kinds),
                        crate::render::system::RowsOf::Kind,
                    ),
                    _ => (
                        std::mem::take(&mut sys.rows),
                        crate::render::system::RowsOf::ObjectKind,
                    ),
                };
                sort_rows(&mut rows, sort);
                let dropped = rows.len().saturating_sub(top);
                rows.truncate(top);
                crate::render::system::rows(&sys, &rows, of, dropped, look, out)
            }
        }
    })?;
    Ok(Exit::Ok)
}

/// `elfmaps snapshot --system -o FILE`: every selected process in one file.
pub(crate) fn run_snapshot_system(select: &SelectArgs, output: &Path) -> io::Result<Exit> {
    let selection = match select.selection() {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let to_stdout = output == Path::new("-");
    let written = if to_stdout {
        let mut out = stdout();
        let r = crate::pipeline::system::snapshot_system(&selection, &mut out);
        out.flush()?;
        r
    } else {
        write::write_file(output, write::Mode::Private, |out| {
            crate::pipeline::system::snapshot_system(&selection, out)
        })
    };
    let outcome = match written {
        Ok(o) => o,
        // Writing standard output failed: main says so (a broken pipe exits 0).
        Err(e) if to_stdout => return Err(e),
        Err(e) => return Ok(error(&format!("writing {}: {e}", output.display()))),
    };
    if let Some(w) = outcome.skipped.warning() {
        warn_all(&[w]);
    }
    if outcome.read == 0 {
        return Ok(error("no process could be recorded"));
    }
    Ok(Exit::Ok)
}

/// How `check` prints, and what else it reads.
pub(crate) struct CheckFlags {
    pub(crate) strict: bool,
    pub(crate) quiet: bool,
    pub(crate) json: bool,
    pub(crate) format: FormatArg,
    pub(crate) baseline: Option<PathBuf>,
    pub(crate) select: SelectArgs,
}

/// `check --elf` values: a file, or a glob (`build/*.so`) when no file has that
/// name; a glob that matches nothing is an error.
fn expand_elf(elf: Vec<PathBuf>) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::with_capacity(elf.len());
    for p in elf {
        let text = p.to_string_lossy();
        let is_glob = text.contains(['*', '?', '[']);
        if !is_glob || p.symlink_metadata().is_ok() {
            out.push(p);
            continue;
        }
        let paths = glob::glob(&text).map_err(|e| format!("--elf {text:?}: {e}"))?;
        let mut found: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|f| f.is_file())
            .collect();
        if found.is_empty() {
            return Err(format!("--elf {text:?}: no file matches"));
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Prints a check that could not be done in the format asked for (JSON, GitHub
/// annotations, Markdown or text: an error is said in every one), and its line on
/// stderr; exit 2.
fn check_error(flags: &CheckFlags, budget: &Path, code: Code, message: &str) -> Exit {
    let exit = error(message);
    let failed = crate::views::budget::Check::failed(Warning::new(code, None, message));
    let _ = print_check(&failed, &budget.display().to_string(), flags);
    exit
}

/// Prints a check: JSON, or the violations (and in Markdown every result) and the
/// line that sums up.
fn print_check(
    checked: &crate::views::budget::Check,
    name: &str,
    flags: &CheckFlags,
) -> io::Result<()> {
    use crate::render::check::{Options, ViolationFormat, write};
    if flags.json {
        return print(|out| crate::render::json(checked, out));
    }
    let format = match flags.format {
        FormatArg::Text => ViolationFormat::Text,
        FormatArg::Github => ViolationFormat::Github,
        FormatArg::Markdown => ViolationFormat::Markdown,
    };
    let options = Options {
        budget_file: name,
        format,
        strict: flags.strict,
        quiet: flags.quiet,
        full_path: full_path(),
    };
    print(|out| write(checked, options, out))
}

/// The units a live target measures: one per process (several for a name that
/// matches several; each labelled `PID (NAME)` then). A process found by name that
/// exits before it is read is skipped with a warning.
fn measure_processes(
    pids: &[Resolved],
    rss_only: bool,
) -> Result<Vec<crate::views::budget::Unit>, (Code, String)> {
    use crate::views::budget::{Unit, measure_report};
    let live = if rss_only {
        crate::pipeline::live_rss_only
    } else {
        crate::pipeline::live
    };
    let mut units = Vec::new();
    for r in pids {
        let report = match live(r.pid) {
            Ok(report) => report,
            Err(crate::Error::Proc(e @ crate::source::proc::ProcError::Exited(_)))
                if r.by_name && pids.len() > 1 =>
            {
                warn_all(&[Warning::new(Code::ProcessExited, None, e.to_string())]);
                continue;
            }
            Err(e) => return Err((e.code(), e.to_string())),
        };
        warn(&report);
        let process = (pids.len() > 1).then(|| {
            let name = report
                .command
                .as_deref()
                .and_then(|c| c.split(' ').next())
                .map(crate::vocab::matching::file_name)
                .unwrap_or("?");
            format!("{} ({name})", r.pid)
        });
        units.push(Unit {
            process,
            rows: measure_report(&report),
        });
    }
    if units.is_empty() {
        return Err((
            Code::ProcessExited,
            "every process of that name exited before it was read".into(),
        ));
    }
    Ok(units)
}

/// `elfmaps check`: measure the target, check the rules (growth against the
/// baseline), print every result in the format asked for.
pub(crate) fn run_check(budget: &Path, input: &Input, flags: CheckFlags) -> io::Result<Exit> {
    use crate::views::budget::{self, Check, Unit};
    let name = budget.display().to_string();
    let fail = |code, msg: &str| Ok(check_error(&flags, budget, code, msg));
    let rules = match read_input(budget) {
        Ok(b) => match crate::input::budget::parse_bytes(&b) {
            Ok(r) => r,
            Err(e) => return fail(Code::BudgetMalformed, &format!("{name}: {e}")),
        },
        Err(e) => return fail(Code::InputUnreadable, &e),
    };
    let baseline = match &flags.baseline {
        None => None,
        Some(p) => match read_input(p).and_then(|b| {
            crate::views::diff::Saved::from_json(&b)
                .map_err(|e| format!("--baseline {}: {e}", p.display()))
        }) {
            Ok(saved) => Some(budget::measure_saved(&saved)),
            Err(e) => return fail(Code::InputUnreadable, &e),
        },
    };
    let mut exit = Exit::Ok;
    let one = |rows| {
        vec![Unit {
            process: None,
            rows,
        }]
    };
    let units = match &input.target {
        Target::Elf(files) => {
            // Static sizes per kind of each file, as it takes once loaded.
            let page_size = input.page_size.unwrap_or(PageSize::KIB4);
            let layout = crate::views::layout::run(files, page_size);
            for e in &layout.errors {
                say(&format!(
                    "elfmaps: error: {}",
                    crate::render::layout::file_error_text(e)
                ));
                exit = Exit::Error;
            }
            for e in layout.skipped.iter().filter(|_| !quiet()) {
                say(&format!(
                    "elfmaps: warning: {} (skipped)",
                    crate::render::layout::file_error_text(e)
                ));
            }
            one(budget::measure_layouts(&layout))
        }
        Target::Pids(pids) => match measure_processes(pids, input.rss_only) {
            Ok(units) => units,
            Err((code, e)) => return fail(code, &e),
        },
        _ => {
            // A snapshot is read once: it may be standard input.
            let pre = match &input.target {
                Target::Snapshot(p) => match read_input(p) {
                    Ok(b) => Some(b),
                    Err(e) => return fail(Code::InputUnreadable, &e),
                },
                _ => None,
            };
            let selection = match flags.select.selection() {
                Ok(s) => s,
                Err(e) => return fail(Code::InputUnreadable, &e),
            };
            match system_target(input, pre.as_deref(), selection) {
                Ok(Some(sys)) => one(budget::measure_system(&sys)),
                Ok(None) => match crate::cli::input::load_coded(input, pre) {
                    Ok(report) => one(budget::measure_report(&report)),
                    Err((code, e)) => return fail(code, &e),
                },
                Err(e) => return fail(Code::InputUnreadable, &e),
            }
        }
    };
    let checked = budget::check(&rules, &units, baseline.as_deref(), &name);
    // Under --strict, a check that is not complete is an error: say so (always).
    let (errors, warnings): (Vec<Warning>, Vec<Warning>) = checked
        .warnings
        .iter()
        .cloned()
        .partition(|w| flags.strict && Check::is_strict_error(w.code));
    for w in &errors {
        say(&format!(
            "elfmaps: error: {}",
            crate::render::warning_text(w)
        ));
    }
    warn_all(&warnings);
    print_check(&checked, &name, &flags)?;
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
pub(crate) fn run_layout(
    files: &[PathBuf],
    page_size: PageSize,
    json: bool,
    color: bool,
) -> io::Result<Exit> {
    use crate::render::layout::{file_error_text, file_warning_text};
    let report = crate::views::layout::run(files, page_size);
    for e in &report.errors {
        say(&format!("elfmaps: error: {}", file_error_text(e)));
    }
    // Each file is its own object: its warnings are already one line per code and
    // file (docs/cli.md, "Warnings").
    for e in report.skipped.iter().filter(|_| !quiet()) {
        say(&format!(
            "elfmaps: warning: {} (skipped)",
            file_error_text(e)
        ));
    }
    for o in report.files.iter().filter(|_| !quiet()) {
        for w in &o.warnings {
            say(&format!("elfmaps: warning: {}", file_warning_text(o, w)));
        }
    }
    print(|out| {
        if json {
            crate::render::layout::json(&report, out)
        } else {
            crate::render::layout::table(&report, out, color)
        }
    })?;
    Ok(if report.errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Error
    })
}

//! Offline labels that must not be silently wrong (issue 9 §1): a sysroot that holds
//! another build than the one the process ran, and saved maps of 4 KiB pages analysed
//! with a larger `--page-size`.
//!
//! The test program of testdata/stale is built in the flavours below, run, and its
//! maps, smaps and a snapshot are saved while it waits. Each is analysed with
//! `elfmaps map --json --sysroot DIR`, DIR mirroring the process's files at their
//! absolute paths (tests/common/sysroot.rs):
//! - control: DIR holds the very files the process ran. Every page has the label the
//!   loader's report (dl_iterate_phdr) gives it, and no warning says a file is wrong.
//! - stale: DIR holds another build of the executable or of the library at its path.
//!   Every byte is then either right (against the loader's report) or not an ELF kind
//!   (`unknown`, `anon`, ...): never a wrong text/rodata/data/relro/bss label. The other
//!   build is refused: the lines of its path get no label from it, and a warning
//!   (`layout-mismatch`; from a snapshot, which records build IDs, `build-id-mismatch`
//!   will do) names it and one of its lines. Every other object keeps its labels.
//! - a `--page-size` that the saved maps contradict: exit 2, naming the first line
//!   whose start, end or offset is not a multiple of it.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::build::{build_linked, testdata};
use common::checks::{
    Ctx, ELF_KINDS, Failures, Span, check_coverage, check_names, check_object,
    check_right_or_not_elf,
};
use common::child::Running;
use common::cli::{self, Warning};
use common::report::{Elfmaps, parse_elfmaps};
use common::sysroot;
use common::truth::kernel::{MapLine, parse_maps};
use common::truth::loader::{Report, parse_report, span};
use common::truth::readelf;

// ---------------------------------------------------------------- builds

/// How one file of the test program is built.
#[derive(Clone, Copy, Debug)]
struct Flavour {
    /// Name in failures.
    name: &'static str,
    /// Compiler and linker flags, besides [`COMMON`].
    flags: &'static [&'static str],
    /// The file is ET_EXEC (an executable linked `-no-pie`).
    exec: bool,
}

const COMMON: &[&str] = &["-O0", "-g0", "-Wall", "-Wextra"];

const EXE_NO_PIE_NOSEP: Flavour = Flavour {
    name: "executable -no-pie -z noseparate-code",
    flags: &[
        "-fno-pie",
        "-no-pie",
        "-Wl,-z,relro",
        "-Wl,-z,noseparate-code",
    ],
    exec: true,
};
const EXE_NO_PIE_SEP: Flavour = Flavour {
    name: "executable -no-pie -z separate-code",
    flags: &[
        "-fno-pie",
        "-no-pie",
        "-Wl,-z,relro",
        "-Wl,-z,separate-code",
    ],
    exec: true,
};
const EXE_PIE: Flavour = Flavour {
    name: "executable -pie -z separate-code",
    flags: &["-fPIE", "-pie", "-Wl,-z,relro", "-Wl,-z,separate-code"],
    exec: false,
};
const LIB_SEP: Flavour = Flavour {
    name: "library -z separate-code",
    flags: &[
        "-fPIC",
        "-shared",
        "-Wl,-z,relro,-z,now",
        "-Wl,-z,separate-code",
    ],
    exec: false,
};
const LIB_NOSEP: Flavour = Flavour {
    name: "library -z noseparate-code",
    flags: &[
        "-fPIC",
        "-shared",
        "-Wl,-z,relro,-z,now",
        "-Wl,-z,noseparate-code",
    ],
    exec: false,
};
/// [`LIB_SEP`] with more code and read-only data: the same segments, other sizes.
const LIB_MORE: Flavour = Flavour {
    name: "library -z separate-code, more code",
    flags: &[
        "-DSTALE_MORE",
        "-fPIC",
        "-shared",
        "-Wl,-z,relro,-z,now",
        "-Wl,-z,separate-code",
    ],
    exec: false,
};

/// The size of the read-only data when not tuned (testdata/stale/body.h's default).
const RODATA_PAD: u64 = 0x6000;

/// [`LIB_SEP`] with a bss 64 pages longer: its span reaches past the anonymous line
/// that holds the original's bss, into the next mapping.
const LIB_MORE_BSS: Flavour = Flavour {
    name: "library -z separate-code, 64 more pages of bss",
    flags: &[
        "-DSTALE_BSS_PAGES=68",
        "-fPIC",
        "-shared",
        "-Wl,-z,relro,-z,now",
        "-Wl,-z,separate-code",
    ],
    exec: false,
};

/// [`LIB_SEP`] with a bss 2 pages longer: its span ends inside the anonymous line
/// that holds the original's bss (glibc's memory follows it), so no offset, extent or
/// permission tells the two apart; only a build ID does.
const LIB_BIT_MORE_BSS: Flavour = Flavour {
    name: "library -z separate-code, 2 more pages of bss",
    flags: &[
        "-DSTALE_BSS_PAGES=6",
        "-fPIC",
        "-shared",
        "-Wl,-z,relro,-z,now",
        "-Wl,-z,separate-code",
    ],
    exec: false,
};

/// Builds `dir/NAME`, the executable (`stale`) or the library (`libstale.so`), with
/// `rodata` bytes of read-only data.
fn build(dir: &Path, flavour: &Flavour, lib: bool, rodata: u64) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let pad = format!("-DSTALE_RODATA_PAD={rodata:#x}");
    let mut flags = COMMON.to_vec();
    flags.extend_from_slice(flavour.flags);
    flags.push(&pad);
    let (src, out, libs): (_, _, &[&str]) = if lib {
        ("libstale.c", "libstale.so", &[])
    } else {
        ("stale.c", "stale", &["-ldl"])
    };
    build_linked(
        "cc",
        &flags,
        &dir.join(out),
        &[testdata("stale").join(src)],
        libs,
    )
}

/// The page size of this machine.
fn host_page() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

/// The PT_LOADs of a file, as readelf prints them.
fn loads(file: &Path) -> Vec<readelf::RePhdr> {
    let files = [file.to_path_buf()];
    readelf::readelf(&files)
        .remove(file)
        .unwrap_or_else(|| panic!("readelf printed nothing for {}", file.display()))
        .phdrs
        .into_iter()
        .filter(|ph| ph.type_name == "LOAD")
        .collect()
}

/// Where a file's segments lie, as far as the offset check of its maps lines goes.
#[derive(Debug)]
struct Facts {
    /// The lowest `p_vaddr`.
    first_vaddr: u64,
    /// The end in the file of the last read-only (not writable) PT_LOAD.
    end_ro: u64,
    /// `p_offset` and `p_vaddr` of the writable PT_LOAD.
    rw_offset: u64,
    rw_vaddr: u64,
}

fn facts(file: &Path) -> Facts {
    let l = loads(file);
    let rw = l
        .iter()
        .find(|ph| ph.flags.contains('W'))
        .unwrap_or_else(|| panic!("{}: no writable PT_LOAD: {l:?}", file.display()));
    Facts {
        first_vaddr: l.iter().map(|ph| ph.vaddr).min().unwrap(),
        end_ro: l
            .iter()
            .filter(|ph| !ph.flags.contains('W'))
            .map(|ph| ph.offset + ph.filesz)
            .max()
            .unwrap(),
        rw_offset: rw.offset,
        rw_vaddr: rw.vaddr,
    }
}

/// Builds `flavour` into `dir` as a twin of `ran`: its read-only data tuned so that,
/// loaded where `ran` was (the same address for file offset 0), every file page that
/// `ran`'s maps lines show lands at the same address. Its writable PT_LOAD then starts
/// in the same file page, at the same distance between address and offset, and its
/// read-only segments end in the same page: the offsets of the maps lines cannot tell
/// the two files apart, only permissions and extents can.
///
/// The linker puts the writable segment (which starts with RELRO) at an address whose
/// page offset X is fixed by the size of RELRO; its file offset is the first one with
/// that page offset after the read-only segments end (`end_ro`). So with `end_ro`'s page
/// offset at most X the writable segment starts in `end_ro`'s page and its address is
/// one page further; above X, one page later in the file, at no distance.
fn build_twin(dir: &Path, flavour: &Flavour, lib: bool, ran: &Path) -> Option<PathBuf> {
    let p = host_page();
    let want = facts(ran);
    let page = want.rw_offset & !(p - 1);
    let mut rodata = RODATA_PAD;
    let mut tries = Vec::new();
    for _ in 0..5 {
        let file = build(dir, flavour, lib, rodata)?;
        let got = facts(&file);
        // The distance between address and offset that puts ran's pages where they were.
        let delta = (want.rw_vaddr & !(p - 1))
            .wrapping_sub(page)
            .wrapping_add(got.first_vaddr)
            .wrapping_sub(want.first_vaddr);
        let got_delta = (got.rw_vaddr & !(p - 1)).wrapping_sub(got.rw_offset & !(p - 1));
        if got.rw_offset & !(p - 1) == page && got_delta == delta {
            return Some(file);
        }
        let x = got.rw_vaddr & (p - 1);
        // The same distance within the stand-in: address less its lowest p_vaddr.
        let rel = delta.wrapping_sub(got.first_vaddr);
        let target = if rel == p {
            page + ((x / 2) & !0x3f)
        } else if rel == 0 {
            page - p + (((x + p) / 2) & !0x3f)
        } else {
            panic!(
                "{}: cannot be a twin of {}: its pages are {rel:#x} from their offsets",
                flavour.name,
                ran.display()
            );
        };
        tries.push((rodata, got));
        rodata = (rodata + target)
            .checked_sub(tries.last().unwrap().1.end_ro)
            .filter(|&r| r >= 0x40)
            .unwrap_or_else(|| panic!("{}: no room to tune: {tries:?}", flavour.name));
    }
    panic!(
        "{} as a twin of {} ({want:?}): not found after {tries:?}",
        flavour.name,
        ran.display()
    );
}

/// Whether the PT_LOADs of `file` explain the file offset of every page of the maps
/// lines of `path`, at one load bias: the address of the line with offset 0 less the
/// lowest `p_vaddr` (0 for an ET_EXEC `file`). Returns the first page they do not.
fn offsets_explain(lines: &[MapLine], path: &str, file: &Path, exec: bool) -> Result<(), String> {
    let p = host_page();
    let l = loads(file);
    let ours: Vec<&MapLine> = lines
        .iter()
        .filter(|m| m.inode != 0 && m.path.as_deref() == Some(path))
        .collect();
    let first = ours
        .iter()
        .find(|m| m.offset == 0)
        .ok_or("no line with offset 0")?;
    let lowest = l.iter().map(|ph| ph.vaddr).min().unwrap();
    let bias = if exec {
        0
    } else {
        first.start.wrapping_sub(lowest)
    };
    for m in &ours {
        for o in (m.offset..m.offset + (m.end - m.start)).step_by(p as usize) {
            let at = m.start + (o - m.offset);
            let explained = l.iter().any(|ph| {
                ph.offset & !(p - 1) <= o
                    && o < ph.offset + ph.filesz
                    && bias
                        .wrapping_add(ph.vaddr)
                        .wrapping_sub(ph.offset)
                        .wrapping_add(o)
                        == at
            });
            if !explained {
                return Err(format!(
                    "file page {o:#x} at {at:#x} (maps line {}) is not where {} puts it at bias {bias:#x}",
                    m.text,
                    file.display()
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- the process

/// The test program, running and saved.
struct Run {
    tmp: tempfile::TempDir,
    /// Kept running until the analyses are done (killed on drop).
    _child: Running,
    pid: u32,
    /// What the loader reported.
    report: Report,
    /// The flavours it ran.
    exe_flavour: Flavour,
    lib_flavour: Flavour,
    /// The maps paths of the executable and of the library.
    exe: String,
    lib: String,
    /// Its maps, as saved.
    lines: Vec<MapLine>,
    /// The saved inputs.
    maps: PathBuf,
    smaps: PathBuf,
    snapshot: PathBuf,
    /// The line number of each mapping in the saved smaps.
    smaps_line_numbers: Vec<usize>,
}

/// Builds the executable and the library in `TMP/run`, runs them until the loader's
/// report, and saves the maps, smaps and a snapshot. `None` when the toolchain is
/// missing (a note; a failure under CI).
fn start(exe: Flavour, lib: Flavour) -> Option<Run> {
    start_as(exe, lib, None)
}

/// [`start`], the program run through `user` (`setpriv` and its arguments) when given;
/// its directories are then open to every user.
fn start_as(exe: Flavour, lib: Flavour, user: Option<&[&str]>) -> Option<Run> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let exe_file = build(&dir, &exe, false, RODATA_PAD)?;
    let lib_file = build(&dir, &lib, true, RODATA_PAD)?;
    let mut cmd = match user {
        Some(setpriv) => {
            use std::os::unix::fs::PermissionsExt;
            for d in [tmp.path(), &dir] {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            let mut c = Command::new(setpriv[0]);
            c.args(&setpriv[1..]).arg("--").arg(&exe_file);
            c
        }
        None => Command::new(&exe_file),
    };
    let mut child = Running::start(
        cmd.arg(&lib_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let report = parse_report(&child.lines_until("READY"));
    let pid = child.pid();
    let exe_path = report.objs[0].name.clone();
    let lib_path = report
        .objs
        .iter()
        .map(|o| o.name.clone())
        .find(|n| n.ends_with("/libstale.so"))
        .unwrap_or_else(|| panic!("libstale.so is not in the report: {:?}", report.objs));
    let maps_text = std::fs::read(format!("/proc/{pid}/maps")).unwrap();
    let smaps_text = std::fs::read(format!("/proc/{pid}/smaps")).unwrap();
    let maps = tmp.path().join("saved.maps");
    let smaps = tmp.path().join("saved.smaps");
    let snapshot = tmp.path().join("saved.snap");
    std::fs::write(&maps, &maps_text).unwrap();
    std::fs::write(&smaps, &smaps_text).unwrap();
    let o = cli::elfmaps([
        "snapshot".as_ref(),
        pid.to_string().as_ref(),
        "-o".as_ref(),
        snapshot.as_os_str(),
    ]);
    assert!(o.status.success(), "snapshot: {}", cli::stderr(&o));
    let lines = parse_maps(&maps_text);
    let smaps_line_numbers = header_line_numbers(&smaps_text);
    assert_eq!(
        smaps_line_numbers.len(),
        lines.len(),
        "the saved maps and smaps differ (the process was not idle)"
    );
    Some(Run {
        tmp,
        _child: child,
        pid,
        report,
        exe_flavour: exe,
        lib_flavour: lib,
        exe: exe_path,
        lib: lib_path,
        lines,
        maps,
        smaps,
        snapshot,
        smaps_line_numbers,
    })
}

/// The line numbers (from 1) of the header lines of an smaps text: `START-END ...`.
fn header_line_numbers(text: &[u8]) -> Vec<usize> {
    String::from_utf8_lossy(text)
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            l.split(' ')
                .next()
                .and_then(|w| w.split_once('-'))
                .is_some_and(|(a, b)| {
                    !a.is_empty()
                        && !b.is_empty()
                        && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_hexdigit())
                })
        })
        .map(|(i, _)| i + 1)
        .collect()
}

impl Run {
    /// A sysroot `TMP/NAME` with the process's files, those of `replace` (maps path,
    /// file) instead of the mapped ones. `None` after a note when a mapped file cannot
    /// be read.
    fn sysroot(&self, name: &str, replace: &[(String, PathBuf)]) -> Option<PathBuf> {
        let root = self.tmp.path().join(name);
        sysroot::mirror(&root, self.pid, &self.lines, replace).then_some(root)
    }

    /// The maps text, for failures.
    fn maps_text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The ELF type elfmaps should give the loader's object `i` (0 is the executable).
    fn e_type(&self, i: usize) -> &'static str {
        if i == 0 && self.exe_flavour.exec {
            "EXEC"
        } else {
            "DYN"
        }
    }
}

// ---------------------------------------------------------------- analyses

/// A saved input of the process.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Input {
    Smaps,
    Maps,
    Snapshot,
}

impl Input {
    const ALL: [Input; 3] = [Input::Smaps, Input::Maps, Input::Snapshot];

    fn args(self, run: &Run) -> Vec<OsString> {
        let (flag, file) = match self {
            Input::Smaps => ("--smaps", &run.smaps),
            Input::Maps => ("--maps", &run.maps),
            Input::Snapshot => ("--snapshot", &run.snapshot),
        };
        vec![flag.into(), file.into()]
    }

    /// The line number of mapping `i` in this input's text (none for a snapshot).
    fn line_number(self, run: &Run, i: usize) -> Option<usize> {
        match self {
            Input::Smaps => Some(run.smaps_line_numbers[i]),
            Input::Maps => Some(i + 1),
            Input::Snapshot => None,
        }
    }
}

/// `elfmaps map --json INPUT --sysroot ROOT [--page-size P]`, whatever it exits with.
fn map(run: &Run, input: Input, root: &Path, page: Option<u64>) -> (Command, Output) {
    let mut args: Vec<OsString> = vec!["map".into(), "--json".into()];
    args.extend(input.args(run));
    args.extend(["--sysroot".into(), root.into()]);
    if let Some(p) = page {
        args.extend(["--page-size".into(), p.to_string().into()]);
    }
    let mut c = cli::command(&args);
    let o = cli::checked(c.output().expect("run elfmaps"));
    (c, o)
}

/// Warnings that say a file is not the one the process mapped, or could not be used.
const WRONG_FILE: &[&str] = &[
    "layout-mismatch",
    "unexplained-file",
    "abi-mismatch",
    "build-id-mismatch",
    "elf-malformed",
    "file-unreadable",
];

/// The report of one analysis, with its warnings.
struct Analysis {
    em: Elfmaps,
    warnings: Vec<Warning>,
}

/// Runs one analysis that must succeed; `None` (after a failure) when it did not.
fn analyse(run: &Run, input: Input, root: &Path, f: &mut Failures) -> Option<Analysis> {
    let (c, o) = map(run, input, root, None);
    if o.status.code() != Some(0) {
        f.0.push(format!(
            "{c:?} exited with {}: {}",
            o.status,
            cli::stderr(&o)
        ));
        return None;
    }
    let v = cli::json(&o);
    // A snapshot says which process it recorded (issue 20); saved smaps do not.
    if !matches!(input, Input::Snapshot) {
        assert!(v["pid"].is_null(), "offline output has a pid");
    }
    Some(Analysis {
        em: parse_elfmaps(&v),
        warnings: cli::warnings(&v),
    })
}

/// Checks one analysis of `input` against the loader's report. `victims` are the maps
/// paths whose file in the sysroot is another build: they must be refused; every
/// other object must be labelled right.
fn check(run: &Run, input: Input, root: &Path, victims: &[&str], f: &mut Failures) {
    let Some(a) = analyse(run, input, root, f) else {
        return;
    };
    check_analysis(run, Some(input), &a, victims, f);
}

/// The checks of [`check`] on an analysis made (`input`: none for a live one).
fn check_analysis(
    run: &Run,
    input: Option<Input>,
    a: &Analysis,
    victims: &[&str],
    f: &mut Failures,
) {
    let report = &run.report;
    let cx = Ctx {
        page: report.page,
        maps: &run.lines,
        em: &a.em,
    };
    check_coverage(&cx, f);
    check_right_or_not_elf(&cx, &report.objs, f);
    let mut spans = Vec::new();
    for (i, obj) in report.objs.iter().enumerate() {
        if victims.contains(&obj.name.as_str()) {
            let (start, end) = span(obj, report.page);
            spans.push(Span {
                path: obj.name.clone(),
                start,
                end,
            });
            check_refused(run, input, a, &obj.name, f);
            continue;
        }
        let Some(s) = check_object(&cx, obj, run.e_type(i), report.ptrbits, f) else {
            continue;
        };
        for r in
            a.em.regions
                .iter()
                .filter(|r| r.start < s.end && s.start < r.end)
        {
            f.check(r.kind != "unknown", || {
                format!("{}: region {r:?} is unknown", s.path)
            });
        }
        for w in a
            .warnings
            .iter()
            .filter(|w| w.object.as_deref() == Some(s.path.as_str()))
        {
            f.check(!WRONG_FILE.contains(&w.code.as_str()), || {
                format!("{}: the right file, but warning {w:?}", s.path)
            });
        }
        spans.push(s);
    }
    check_names(&cx, &spans, report.vdso, f);
}

/// The object at maps path `victim` (another build in the sysroot) is refused: no line
/// of its path, and no region labelled with it, has an ELF kind or a segment; a
/// warning says so, and names one of its lines (by line number or address).
fn check_refused(run: &Run, input: Option<Input>, a: &Analysis, victim: &str, f: &mut Failures) {
    // A live maps line of a deleted file ends in " (deleted)".
    let of_victim =
        |p: Option<&str>| p.is_some_and(|p| p.strip_suffix(" (deleted)").unwrap_or(p) == victim);
    for r in &a.em.regions {
        if of_victim(r.path.as_deref()) || of_victim(r.object.as_deref()) {
            f.check(
                !ELF_KINDS.contains(&r.kind.as_str()) && r.segment.is_none(),
                || {
                    format!(
                        "{victim} is another build, but region 0x{:x}-0x{:x} {} is labelled {} segment {:?} from it",
                        r.start, r.end, r.perms, r.kind, r.segment
                    )
                },
            );
        }
    }
    // `unexplained-file`: the stronger form, no line of it explained at all. Live, a
    // file at the path with another inode than the mapped one is not read at all
    // (`file-replaced`, docs/design.md "Threat model").
    let codes: &[&str] = if input.is_none() {
        &[
            "layout-mismatch",
            "unexplained-file",
            "build-id-mismatch",
            "file-replaced",
        ]
    } else if input == Some(Input::Snapshot) {
        &["layout-mismatch", "unexplained-file", "build-id-mismatch"]
    } else {
        &["layout-mismatch", "unexplained-file"]
    };
    let ours: Vec<&Warning> = a
        .warnings
        .iter()
        .filter(|w| of_victim(w.object.as_deref()) && codes.contains(&w.code.as_str()))
        .collect();
    if ours.is_empty() {
        f.0.push(format!(
            "{victim} is another build, but no {codes:?} warning names it: {:?}",
            a.warnings
        ));
        return;
    }
    if ours
        .iter()
        .any(|w| w.code == "build-id-mismatch" || w.code == "file-replaced")
    {
        // Names the file, not a line: the build ID (or the inode) proves it.
        return;
    }
    let names_line = |w: &Warning| {
        run.lines.iter().enumerate().any(|(i, l)| {
            of_victim(l.path.as_deref())
                && (input
                    .and_then(|input| input.line_number(run, i))
                    .is_some_and(|n| names_number(&w.message, &format!("line {n}")))
                    || w.message.contains(&format!("{:x}", l.start)))
        })
    };
    f.check(ours.iter().any(|w| names_line(w)), || {
        format!("{victim}: no warning names one of its maps lines: {ours:?}")
    });
}

/// Whether `text` holds `what` not followed by another digit (`line 1` is not in
/// `line 12`).
fn names_number(text: &str, what: &str) -> bool {
    text.match_indices(what).any(|(i, _)| {
        !text[i + what.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

// ---------------------------------------------------------------- the cases

/// How the stand-in differs from the file the process ran, as readelf sees them.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Change {
    /// The same PT_LOADs (count and flags), some of other sizes.
    OtherSizes,
    /// Other PT_LOADs (count or flags), or at another address.
    OtherSegments,
}

/// A build that stands in a sysroot for the file the process ran.
#[derive(Clone, Copy, Debug)]
struct StandIn {
    flavour: Flavour,
    /// How it differs.
    change: Change,
    /// Tuned by [`build_twin`]: the offsets of the maps lines cannot tell it apart.
    twin: bool,
}

const fn stand_in(flavour: Flavour, change: Change) -> StandIn {
    StandIn {
        flavour,
        change,
        twin: false,
    }
}

const fn twin(flavour: Flavour, change: Change) -> StandIn {
    StandIn {
        flavour,
        change,
        twin: true,
    }
}

/// Asserts that `stand_in` differs from `ran` as `change` says: the test's inputs are
/// what it claims.
fn assert_change(ran: &Path, stand_in: &Path, change: Change) {
    let key = |ph: &readelf::RePhdr| (ph.flags.clone(), ph.vaddr, ph.filesz, ph.memsz);
    let a: Vec<_> = loads(ran).iter().map(key).collect();
    let b: Vec<_> = loads(stand_in).iter().map(key).collect();
    let same_flags = a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.0 == y.0);
    let ok = match change {
        Change::OtherSizes => same_flags && a != b,
        Change::OtherSegments => !same_flags || a[0].1 != b[0].1,
    };
    assert!(
        ok,
        "{} does not differ from {} by {change:?}: PT_LOADs (flags, vaddr, filesz, memsz) {a:?} and {b:?}",
        stand_in.display(),
        ran.display()
    );
}

/// Runs the program built as `exe` + `lib`, and analyses its saved inputs with the right
/// sysroot (control) and with one where `stale_exe` / `stale_lib` stand in for the files
/// it ran.
fn stale_case(exe: Flavour, lib: Flavour, stale_exe: Option<StandIn>, stale_lib: Option<StandIn>) {
    if !readelf::available() {
        return;
    }
    let Some(run) = start(exe, lib) else { return };
    let alt = run.tmp.path().join("alt");
    let mut replace = Vec::new();
    let mut what = Vec::new();
    for (stale, path, ran, is_lib) in [
        (stale_exe, &run.exe, run.exe_flavour, false),
        (stale_lib, &run.lib, run.lib_flavour, true),
    ] {
        let Some(st) = stale else { continue };
        let file = if st.twin {
            build_twin(&alt, &st.flavour, is_lib, Path::new(path))
        } else {
            build(&alt, &st.flavour, is_lib, RODATA_PAD)
        };
        let Some(file) = file else { return };
        assert_change(Path::new(path), &file, st.change);
        if st.twin {
            // The case the offset check cannot catch (issue 9 §1).
            if let Err(e) = offsets_explain(&run.lines, path, &file, st.flavour.exec) {
                panic!("{} is not a twin of {path}: {e}", st.flavour.name);
            }
        }
        what.push(format!(
            "a {}{} standing in for a {}",
            st.flavour.name,
            if st.twin { " (twin)" } else { "" },
            ran.name
        ));
        replace.push((path.clone(), file));
    }
    let Some(right) = run.sysroot("right", &[]) else {
        return;
    };
    let Some(stale) = run.sysroot("stale", &replace) else {
        return;
    };
    let victims: Vec<&str> = replace.iter().map(|(p, _)| p.as_str()).collect();
    let mut all = Vec::new();
    for input in Input::ALL {
        for (name, root, victims) in [("control", &right, &[][..]), ("stale", &stale, &victims)] {
            let mut f = Failures::default();
            check(&run, input, root, victims, &mut f);
            all.extend(f.0.into_iter().map(|m| format!("{input:?}, {name}: {m}")));
        }
    }
    assert!(
        all.is_empty(),
        "process of a {} and a {}, sysroot with {}: {} failures:\n{}\n\nmaps:\n{}",
        run.exe_flavour.name,
        run.lib_flavour.name,
        what.join(" and "),
        all.len(),
        all.join("\n"),
        run.maps_text()
    );
}

/// The issue's bash: an ET_EXEC at 0x400000 with text and rodata in one `r-xp` line,
/// analysed with a PIE of the same program at its path, whose writable segment lies at
/// the same offsets: every offset is consistent, the permissions are not.
#[test]
fn non_pie_noseparate_code_executable_with_a_pie_twin_in_the_sysroot() {
    stale_case(
        EXE_NO_PIE_NOSEP,
        LIB_SEP,
        Some(twin(EXE_PIE, Change::OtherSegments)),
        None,
    );
}

/// The same with the PIE as built: its writable segment elsewhere in the file.
#[test]
fn non_pie_noseparate_code_executable_with_a_pie_in_the_sysroot() {
    stale_case(
        EXE_NO_PIE_NOSEP,
        LIB_SEP,
        Some(stand_in(EXE_PIE, Change::OtherSegments)),
        None,
    );
}

/// The reverse: an ET_EXEC sits at 0x400000 (bias 0), nowhere near the PIE's lines.
#[test]
fn pie_executable_with_a_non_pie_noseparate_code_build_in_the_sysroot() {
    stale_case(
        EXE_PIE,
        LIB_SEP,
        Some(stand_in(EXE_NO_PIE_NOSEP, Change::OtherSegments)),
        None,
    );
}

/// Both ET_EXEC, so both at bias 0: only the segments' extents and permissions differ.
#[test]
fn separate_code_executable_for_a_noseparate_code_one() {
    stale_case(
        EXE_NO_PIE_NOSEP,
        LIB_SEP,
        Some(twin(EXE_NO_PIE_SEP, Change::OtherSegments)),
        None,
    );
}

#[test]
fn noseparate_code_executable_for_a_separate_code_one() {
    stale_case(
        EXE_NO_PIE_SEP,
        LIB_SEP,
        Some(twin(EXE_NO_PIE_NOSEP, Change::OtherSegments)),
        None,
    );
}

/// More code, as much less read-only data: text ends pages later, in what was the
/// original's rodata, and the writable segment has not moved.
#[test]
fn library_rebuilt_with_more_code() {
    stale_case(
        EXE_PIE,
        LIB_SEP,
        None,
        Some(twin(LIB_MORE, Change::OtherSizes)),
    );
}

#[test]
fn library_rebuilt_with_less_code() {
    stale_case(
        EXE_NO_PIE_NOSEP,
        LIB_MORE,
        None,
        Some(twin(LIB_SEP, Change::OtherSizes)),
    );
}

/// More code as built: every later segment moved.
#[test]
fn library_rebuilt_with_more_code_untuned() {
    stale_case(
        EXE_PIE,
        LIB_SEP,
        None,
        Some(stand_in(LIB_MORE, Change::OtherSizes)),
    );
}

#[test]
fn separate_code_library_for_a_noseparate_code_one() {
    stale_case(
        EXE_PIE,
        LIB_NOSEP,
        None,
        Some(twin(LIB_SEP, Change::OtherSegments)),
    );
}

#[test]
fn noseparate_code_library_for_a_separate_code_one() {
    stale_case(
        EXE_PIE,
        LIB_SEP,
        None,
        Some(twin(LIB_NOSEP, Change::OtherSegments)),
    );
}

/// Only the bss is longer: every file-backed line is explained, offsets, extents and
/// permissions alike. The stand-in's span claims the anonymous pages the kernel merged
/// into the original's bss line (glibc's, right above it) and reaches into the next
/// object's first line. That overlap is the only evidence offline: glibc reserves an
/// object's whole span when it loads it, so no other file can be mapped inside it.
/// (A bss only a few pages longer, ending inside the merged anonymous line, leaves no
/// evidence at all; only a build ID, as in a snapshot, tells.)
#[test]
fn library_rebuilt_with_more_bss() {
    stale_case(
        EXE_PIE,
        LIB_SEP,
        None,
        Some(stand_in(LIB_MORE_BSS, Change::OtherSizes)),
    );
}

/// [`LIB_SEP`] with a RELRO one page longer (512 more relocated pointers): loaded
/// where [`LIB_SEP`] was, as a twin, its RELRO covers the first page of the
/// original's data, which maps shows `rw-p`.
const LIB_MORE_RELRO: Flavour = Flavour {
    name: "library -z separate-code, RELRO one page longer",
    flags: &[
        "-DSTALE_RELRO_PTRS=512",
        "-fPIC",
        "-shared",
        "-Wl,-z,relro,-z,now",
        "-Wl,-z,separate-code",
    ],
    exec: false,
};

/// Issue 18 §2: a RELRO one page longer than the mapped build's. The loader makes
/// RELRO `r--` once relocated, so the original's first data page, `rw-p` in maps,
/// inside the stand-in's RELRO is evidence against the stand-in, not `relro`.
#[test]
fn library_rebuilt_with_relro_one_page_longer() {
    stale_case(
        EXE_PIE,
        LIB_SEP,
        None,
        Some(twin(LIB_MORE_RELRO, Change::OtherSizes)),
    );
}

/// A library linked for 64 KiB pages (`-z max-page-size=0x10000`), its first
/// segment grown by a long `-soname` (its `.dynstr`), or not: the rest of the
/// layout is the same, at the same addresses.
fn lib_64k(long_soname: bool) -> Flavour {
    let mut flags = vec![
        "-fPIC".to_string(),
        "-shared".into(),
        "-Wl,-z,relro,-z,now".into(),
        "-Wl,-z,separate-code".into(),
        "-Wl,-z,max-page-size=0x10000".into(),
    ];
    if long_soname {
        flags.push(format!("-Wl,-soname,lib{}.so", "s".repeat(12 * 1024)));
    }
    let flags: Vec<&'static str> = flags
        .into_iter()
        .map(|f| &*Box::leak(f.into_boxed_str()))
        .collect();
    Flavour {
        name: if long_soname {
            "library 64 KiB-aligned, 12 KiB soname"
        } else {
            "library 64 KiB-aligned"
        },
        flags: Box::leak(flags.into_boxed_slice()),
        exec: false,
    }
}

/// Issue 18 §2: a 64 KiB-aligned rebuild whose first segment shrank. The original's
/// first segment pages (`r--p`) lie in the stand-in's gap, at the offsets glibc's
/// mapping of the whole span gives gap pages. glibc makes gaps `---p`; only musl's
/// loader leaves them with the lowest segment's protection, and this process's
/// loader is glibc's.
#[test]
fn library_rebuilt_with_a_smaller_first_segment() {
    stale_case(
        EXE_PIE,
        lib_64k(true),
        None,
        Some(stand_in(lib_64k(false), Change::OtherSizes)),
    );
}

/// `elfmaps map --json PID` run by `cmd`: the live analysis of the running program.
fn analyse_live(mut cmd: Command, f: &mut Failures) -> Option<Analysis> {
    let o = cli::checked(cmd.stdin(Stdio::null()).output().expect("run elfmaps"));
    if o.status.code() != Some(0) {
        f.0.push(format!(
            "{cmd:?} exited with {}: {}",
            o.status,
            cli::stderr(&o)
        ));
        return None;
    }
    let v = cli::json(&o);
    Some(Analysis {
        em: parse_elfmaps(&v),
        warnings: cli::warnings(&v),
    })
}

/// Issue 18 §2: `cp new.so old.so` over a loaded library keeps its inode, so the
/// file at the path has the mapped device and inode, but the headers read are the
/// new build's and the mappings the old one's. The file changed after the process
/// started: its inode proves nothing, and its lines are checked as any file found by
/// path (then refused).
fn overwritten_in_place(stand_in: Flavour) {
    use std::os::unix::fs::MetadataExt;
    if !readelf::available() {
        return;
    }
    let Some(run) = start(EXE_PIE, LIB_SEP) else {
        return;
    };
    let alt = run.tmp.path().join("alt");
    let Some(file) = build_twin(&alt, &stand_in, true, Path::new(&run.lib)) else {
        return;
    };
    assert_change(Path::new(&run.lib), &file, Change::OtherSizes);
    let inode = std::fs::metadata(&run.lib).unwrap().ino();
    std::fs::copy(&file, &run.lib).unwrap();
    assert_eq!(
        std::fs::metadata(&run.lib).unwrap().ino(),
        inode,
        "copied in place"
    );
    let mut f = Failures::default();
    let pid = run.pid.to_string();
    if let Some(a) = analyse_live(cli::command(["map", "--json", pid.as_str()]), &mut f) {
        check_analysis(&run, None, &a, &[run.lib.as_str()], &mut f);
    }
    assert!(
        f.0.is_empty(),
        "{} copied over the loaded {}: {} failures:\n{}\n\nmaps:\n{}",
        stand_in.name,
        run.lib,
        f.0.len(),
        f.0.join("\n"),
        run.maps_text()
    );
}

#[test]
fn library_overwritten_in_place_with_more_code() {
    overwritten_in_place(LIB_MORE);
}

#[test]
fn library_overwritten_in_place_with_a_longer_relro() {
    overwritten_in_place(LIB_MORE_RELRO);
}

/// `setpriv` to nobody, without capabilities.
const NOBODY: &[&str] = &[
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
];

/// Issue 18 §2: live as the process's own (unprivileged) user after an upgrade: the
/// library was replaced by `mv` (maps says `(deleted)`), `map_files` cannot be
/// opened, so the file read is the new one at the path. The kernel still knows the
/// mapped file's build ID (PROCMAP_QUERY): it differs from the new file's, so the
/// library is `unknown` with `build-id-mismatch`, never labelled from the new file.
#[test]
fn library_upgraded_under_an_unprivileged_user() {
    use std::os::unix::fs::PermissionsExt;
    if !readelf::available()
        || !common::skip::is_root("switching to an unprivileged user")
        || !common::skip::have_tool("setpriv", &["--version"])
    {
        return;
    }
    let Some(mut run) = start_as(EXE_PIE, LIB_SEP, Some(NOBODY)) else {
        return;
    };
    let alt = run.tmp.path().join("alt");
    let Some(file) = build(&alt, &LIB_BIT_MORE_BSS, true, RODATA_PAD) else {
        return;
    };
    std::fs::rename(&file, &run.lib).unwrap();
    // Its maps lines now name the library "... (deleted)".
    run.lines = parse_maps(&std::fs::read(format!("/proc/{}/maps", run.pid)).unwrap());
    let bin = run.tmp.path().join("elfmaps");
    std::fs::copy(cli::BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(NOBODY[0]);
    cmd.args(&NOBODY[1..])
        .arg("--")
        .arg(&bin)
        .args(["map", "--json", &run.pid.to_string()]);
    let mut f = Failures::default();
    if let Some(a) = analyse_live(cmd, &mut f) {
        check_analysis(&run, None, &a, &[run.lib.as_str()], &mut f);
        // The file now at the path has another inode: it is not read at all
        // (file-replaced); were it read, the kernel's build ID would refute it.
        let proven = a.warnings.iter().any(|w| {
            (w.code == "build-id-mismatch" || w.code == "file-replaced")
                && w.object.as_deref().is_some_and(|o| o.starts_with(&run.lib))
        });
        f.check(proven, || {
            format!(
                "no build-id-mismatch or file-replaced warning names {}: {:?}",
                run.lib, a.warnings
            )
        });
    }
    // The same process in a scan of the machine: no row of the library has a kind
    // taken from the new file.
    let mut cmd = Command::new(NOBODY[0]);
    cmd.args(&NOBODY[1..]).arg("--").arg(&bin).args([
        "system",
        "--json",
        "--pid",
        &run.pid.to_string(),
    ]);
    let o = cli::checked(cmd.stdin(Stdio::null()).output().unwrap());
    if o.status.code() == Some(0) {
        let v = cli::json(&o);
        let rows = v["rows"].as_array().cloned().unwrap_or_default();
        f.check(
            rows.iter()
                .any(|r| r["kind"] == "text" && r["object"].as_str().is_some()),
            || format!("system: no text row at all: {rows:?}"),
        );
        for r in &rows {
            let of_lib = r["object"]
                .as_str()
                .is_some_and(|o| o.starts_with(&run.lib));
            f.check(
                !of_lib || !ELF_KINDS.contains(&r["kind"].as_str().unwrap_or("")),
                || format!("system: {} has a row {r} from the new file", run.lib),
            );
        }
    } else {
        f.0.push(format!(
            "system exited with {}: {}",
            o.status,
            cli::stderr(&o)
        ));
    }
    assert!(
        f.0.is_empty(),
        "{} replaced under a running process of nobody: {} failures:\n{}\n\nmaps:\n{}",
        run.lib,
        f.0.len(),
        f.0.join("\n"),
        run.maps_text()
    );
}

/// `file` with its program header table rotated by one entry (the last first), as
/// patchelf may rewrite it: the same PT_LOADs in the same order and the same build
/// ID, every PT_LOAD one index further. An ELF64 little-endian file.
fn rotate_phdrs(file: &Path, out: &Path) {
    let mut b = std::fs::read(file).unwrap();
    assert_eq!(
        &b[..6],
        b"\x7fELF\x02\x01",
        "{}: not ELF64 LE",
        file.display()
    );
    let u = |b: &[u8], at: usize, n: usize| {
        b[at..at + n]
            .iter()
            .rev()
            .fold(0u64, |a, &x| (a << 8) | u64::from(x)) as usize
    };
    let (off, ent, num) = (u(&b, 0x20, 8), u(&b, 0x36, 2), u(&b, 0x38, 2));
    b[off..off + ent * num].rotate_right(ent);
    std::fs::write(out, b).unwrap();
}

/// Issue 18 §2: a sysroot file whose program header table was reordered keeps the
/// build ID the snapshot recorded and its PT_LOADs, so every kind is right, but its
/// segment numbers are not those of the mapped file. The snapshot records a digest of
/// each object's program header table; the sysroot's differs, so the object's
/// `segment` is null, with a warning (`phdr-mismatch`).
#[test]
fn library_with_reordered_program_headers_from_a_snapshot() {
    use common::truth::loader::expected_pages;
    if !readelf::available() {
        return;
    }
    let Some(run) = start(EXE_PIE, LIB_SEP) else {
        return;
    };
    let alt = run.tmp.path().join("alt");
    std::fs::create_dir_all(&alt).unwrap();
    let reordered = alt.join("libstale.so");
    rotate_phdrs(Path::new(&run.lib), &reordered);
    let Some(root) = run.sysroot("reordered", &[(run.lib.clone(), reordered)]) else {
        return;
    };
    let mut f = Failures::default();
    if let Some(a) = analyse(&run, Input::Snapshot, &root, &mut f) {
        let report = &run.report;
        let cx = Ctx {
            page: report.page,
            maps: &run.lines,
            em: &a.em,
        };
        check_coverage(&cx, &mut f);
        for (i, obj) in report.objs.iter().enumerate() {
            if obj.name != run.lib {
                check_object(&cx, obj, run.e_type(i), report.ptrbits, &mut f);
                continue;
            }
            for (addr, want) in expected_pages(obj, report.page) {
                let Some(r) = cx.region(addr) else { continue };
                if cx.line(addr).is_none() {
                    continue;
                }
                f.check(
                    r.kind == want.kind
                        && r.segment.is_none()
                        && r.object.as_deref() == Some(run.lib.as_str()),
                    || {
                        format!(
                            "{}: page 0x{addr:x}: expected kind {} segment null, got {} segment {:?} object {:?}",
                            run.lib, want.kind, r.kind, r.segment, r.object
                        )
                    },
                );
            }
        }
        f.check(
            a.warnings.iter().any(|w| {
                w.code == "phdr-mismatch" && w.object.as_deref() == Some(run.lib.as_str())
            }),
            || {
                format!(
                    "no phdr-mismatch warning names {}: {:?}",
                    run.lib, a.warnings
                )
            },
        );
    }
    assert!(
        f.0.is_empty(),
        "{} with its program headers reordered in the sysroot: {} failures:\n{}\n\nmaps:\n{}",
        run.lib,
        f.0.len(),
        f.0.join("\n"),
        run.maps_text()
    );
}

/// Both files stale at once.
#[test]
fn executable_and_library_both_stale() {
    stale_case(
        EXE_NO_PIE_NOSEP,
        LIB_SEP,
        Some(twin(EXE_PIE, Change::OtherSegments)),
        Some(twin(LIB_MORE, Change::OtherSizes)),
    );
}

// ---------------------------------------------------------------- page size

/// The first line of a saved maps or smaps text that contradicts `page`, by the rule
/// of docs/offline.md: a line that maps a file (inode not 0) whose start address or
/// file offset is not a multiple of it, or (smaps) a mapping whose `KernelPageSize`
/// differs. Its number (from 1; the mapping's first line in smaps) and text.
///
/// Ends and anonymous lines are exempt, unlike issue 9's "every start, end and file
/// offset": qemu-user shows the zero-filled tail of a larger-page guest's file page as
/// a host-page line (testdata/cross/sparc64/maps, lines 4-5: 4 KiB lines of an 8 KiB
/// guest), so a real input would break the stricter rule.
fn first_contradiction(text: &[u8], page: u64) -> Option<(usize, String)> {
    let text = String::from_utf8_lossy(text);
    let mut header: Option<(usize, &str)> = None;
    for (i, l) in text.lines().enumerate() {
        if let Some(v) = l.strip_prefix("KernelPageSize:") {
            let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap();
            if kb * 1024 != page {
                return header.map(|(n, h)| (n, h.to_string()));
            }
        } else if header_line_numbers(l.as_bytes()) == [1] {
            header = Some((i + 1, l));
            let m = &parse_maps(l.as_bytes())[0];
            if m.inode != 0 && (!m.start.is_multiple_of(page) || !m.offset.is_multiple_of(page)) {
                return Some((i + 1, l.to_string()));
            }
        }
    }
    None
}

/// Maps and smaps saved on 4 KiB pages, analysed with `--page-size PAGE` and the right
/// sysroot. The input contradicts it: exit 2, and standard error names the first line
/// that does (`line N`). Should elfmaps go on instead, every byte must still be right
/// or not an ELF kind, and the failure says which are not.
fn wrong_page_size(page: u64) {
    let Some(run) = start(EXE_NO_PIE_NOSEP, LIB_SEP) else {
        return;
    };
    assert_eq!(
        run.report.page, 4096,
        "this test needs a 4 KiB-page machine"
    );
    let Some(right) = run.sysroot("right", &[]) else {
        return;
    };
    let mut all = Vec::new();
    for (input, file) in [(Input::Maps, &run.maps), (Input::Smaps, &run.smaps)] {
        let mut f = Failures::default();
        let (n, line) =
            first_contradiction(&std::fs::read(file).unwrap(), page).unwrap_or_else(|| {
                panic!(
                    "no line of {} contradicts {page}-byte pages",
                    file.display()
                )
            });
        let (c, o) = map(&run, input, &right, Some(page));
        let err = cli::stderr(&o);
        match o.status.code() {
            Some(2) => f.check(names_number(&err, &format!("line {n}")), || {
                format!("exit 2, but standard error does not name line {n} ({line}): {err}")
            }),
            code => {
                f.0.push(format!(
                    "{c:?} exited with {code:?}, not 2; line {n} ({line}) contradicts {page}-byte pages. stderr: {err}"
                ));
                if code == Some(0) {
                    let em = parse_elfmaps(&cli::json(&o));
                    let cx = Ctx {
                        page: run.report.page,
                        maps: &run.lines,
                        em: &em,
                    };
                    check_right_or_not_elf(&cx, &run.report.objs, &mut f);
                }
            }
        }
        all.extend(f.0.into_iter().map(|m| format!("{input:?}: {m}")));
    }
    assert!(
        all.is_empty(),
        "--page-size {page}: {} failures:\n{}\n\nmaps:\n{}",
        all.len(),
        all.join("\n"),
        run.maps_text()
    );
}

#[test]
fn maps_of_4k_pages_with_page_size_16k() {
    wrong_page_size(16384);
}

#[test]
fn maps_of_4k_pages_with_page_size_64k() {
    wrong_page_size(65536);
}

/// A data file that the process maps and someone writes after it started (a database,
/// a log) is ordinary: `file`, with no `file-changed` warning. Only an ELF object's
/// proof is lost by a write (the library copied over in place above).
#[test]
fn data_file_written_after_start_gives_no_warning() {
    let dir = tempfile::tempdir().unwrap();
    let Some(prog) = common::build::build_source(
        dir.path(),
        "mapdata",
        r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0 || mmap(0, 8192, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) return 1;
    printf("READY\n");
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
"#,
        &[],
    ) else {
        return;
    };
    let data = dir.path().join("data.db");
    std::fs::write(&data, vec![b'x'; 8192]).unwrap();
    let run = Running::ready(Command::new(&prog).arg(&data));
    // Past the clock tick the process started in, then written in place.
    std::thread::sleep(std::time::Duration::from_millis(50));
    std::fs::write(&data, vec![b'y'; 8192]).unwrap();
    let v = cli::json_ok(["map", "--json", &run.pid_arg()]);
    let name = data.to_str().unwrap();
    let regions: Vec<_> = v["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str() == Some(name))
        .collect();
    assert!(!regions.is_empty(), "{v}");
    for r in &regions {
        assert_eq!(r["kind"], "file", "{r}");
    }
    let noisy: Vec<_> = cli::warnings(&v)
        .into_iter()
        .filter(|w| w.code == "file-changed")
        .collect();
    assert!(noisy.is_empty(), "{noisy:?}");
}

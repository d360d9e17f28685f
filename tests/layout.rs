//! `elfmaps layout` against readelf, the ground truth: every program header field and
//! the section-to-segment mapping of hundreds of real files of this machine (ELF64
//! and ELF32), hostile inputs, and findings of small programs built with odd flags.
//!
//! `ELFMAPS_LAYOUT_ALL=1` compares every candidate file instead of a sample.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use common::build::{build_source, build_testdata};
use common::checks::{Ctx, Failures, check_object};
use common::child::Running;
use common::elf::{self, Tables, ehdr};
use common::report::parse_elfmaps;
use common::truth::kernel::read_maps;
use common::truth::loader::{Obj, Ph};
use common::truth::readelf::{self, ReFile, RePhdr, flag_chars};
use common::{cli, skip};

const SAMPLE: usize = 600;

/// `elfmaps layout ARGS FILES`.
fn layout(args: &[&str], files: &[PathBuf]) -> Output {
    let mut all: Vec<OsString> = vec!["layout".into()];
    all.extend(args.iter().map(OsString::from));
    all.extend(files.iter().map(OsString::from));
    cli::elfmaps(all)
}

fn is_elf(p: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
        && std::fs::File::open(p)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
        && &magic == b"\x7fELF"
}

/// ELF files in `dir` whose names pass `keep`, sorted, at most `max` spread evenly.
fn elf_files(dir: &str, keep: impl Fn(&str) -> bool, max: usize) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .filter(|p| is_elf(p))
        .collect();
    v.sort();
    v.dedup();
    if std::env::var_os("ELFMAPS_LAYOUT_ALL").is_some() || v.len() <= max {
        return v;
    }
    let step = v.len() as f64 / max as f64;
    (0..max)
        .map(|i| v[(i as f64 * step) as usize].clone())
        .collect()
}

/// Builds the C program `text` with `cc FLAGS` into `dir/NAME`; None when the
/// toolchain cannot (a note, or a failure under CI: tests/common/skip.rs).
fn cc(dir: &Path, name: &str, text: &str, flags: &[&str]) -> Option<PathBuf> {
    build_source(dir, name, text, flags)
}

// ---------------------------------------------------------------- readelf

/// Compares elfmaps with readelf on `files`; returns how many were compared.
fn compare(files: &[PathBuf]) -> usize {
    assert!(!files.is_empty());
    let (em, re) = std::thread::scope(|s| {
        let re = s.spawn(|| readelf::readelf(files));
        let em = layout(&["--json"], files);
        (em, re.join().unwrap())
    });
    assert!(
        em.status.success(),
        "elfmaps failed: {}",
        String::from_utf8_lossy(&em.stderr)
    );
    let v: Value = serde_json::from_slice(&em.stdout).unwrap();
    // 2: warnings are objects with a code (issue 9 §4).
    assert_eq!(v["schema_version"], 2);
    let objects = v["objects"].as_array().unwrap();
    assert_eq!(objects.len(), files.len());
    let mut failures = Vec::new();
    for (o, path) in objects.iter().zip(files) {
        assert_eq!(o["path"].as_str().unwrap(), path.to_str().unwrap());
        let Some(r) = re.get(path) else {
            failures.push(format!("{}: readelf printed nothing", path.display()));
            continue;
        };
        let segs = o["segments"].as_array().unwrap();
        if segs.len() != r.phdrs.len() {
            failures.push(format!(
                "{}: {} segments, readelf {}",
                path.display(),
                segs.len(),
                r.phdrs.len()
            ));
            continue;
        }
        let names: BTreeMap<u64, &str> = o["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["index"].as_u64().unwrap(),
                    s["name"].as_str().unwrap_or("?"),
                )
            })
            .collect();
        for (i, (s, p)) in segs.iter().zip(&r.phdrs).enumerate() {
            let ty: String = s["type"].as_str().unwrap().chars().take(14).collect();
            let got = RePhdr {
                type_name: ty,
                offset: s["offset"].as_u64().unwrap(),
                vaddr: s["vaddr"].as_u64().unwrap(),
                paddr: s["paddr"].as_u64().unwrap(),
                filesz: s["filesz"].as_u64().unwrap(),
                memsz: s["memsz"].as_u64().unwrap(),
                flags: flag_chars(s["flags"].as_u64().unwrap()),
                align: s["align"].as_u64().unwrap(),
            };
            if s["index"] != i || got != *p {
                failures.push(format!(
                    "{} segment {i}: elfmaps {got:?}, readelf {p:?}",
                    path.display()
                ));
            }
            let load = p.type_name == "LOAD" && p.memsz > 0;
            if load != s["kind"].is_string() {
                failures.push(format!(
                    "{} segment {i}: kind {}",
                    path.display(),
                    s["kind"]
                ));
            }
            let ours: Vec<&str> = s["sections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| names[&x.as_u64().unwrap()])
                .collect();
            if let Some(m) = &r.mapping
                && ours != m[i]
            {
                failures.push(format!(
                    "{} segment {i} ({}): sections {ours:?}, readelf {:?}",
                    path.display(),
                    p.type_name,
                    m[i]
                ));
            }
        }
        if r.mapping.is_none() && segs.iter().any(|s| s["sections"] != Value::Array(vec![])) {
            failures.push(format!(
                "{}: readelf has no mapping, elfmaps has one",
                path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences from readelf:\n{}",
        failures.len(),
        failures.join("\n")
    );
    files.len()
}

#[test]
fn matches_readelf_on_system_files() {
    if !readelf::available() {
        return;
    }
    let mut files = elf_files("/usr/bin", |_| true, SAMPLE / 2);
    files.extend(elf_files(
        "/usr/lib/x86_64-linux-gnu",
        |n| n.contains(".so"),
        SAMPLE / 2,
    ));
    assert!(files.len() >= 50, "only {} ELF files found", files.len());
    compare(&files);
}

#[test]
fn matches_readelf_on_elf32_files() {
    if !readelf::available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for dir in ["/usr/lib32", "/usr/libx32", "/usr/lib/i386-linux-gnu"] {
        files.extend(elf_files(dir, |n| n.contains(".so"), 100));
    }
    let src = "int v = 1; __thread int t; int main(void) { return v + t - 1; }\n";
    files.extend(cc(tmp.path(), "m32pie", src, &["-m32", "-fPIE", "-pie"]));
    files.extend(cc(
        tmp.path(),
        "m32exec",
        src,
        &["-m32", "-fno-pie", "-no-pie"],
    ));
    files.extend(cc(tmp.path(), "m32static", src, &["-m32", "-static"]));
    if files.is_empty() {
        skip::skip("no ELF32 files here and no cc -m32");
        return;
    }
    compare(&files);
    let out = layout(&["--json"], &files);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for o in v["objects"].as_array().unwrap() {
        assert_eq!(o["class"], 32, "{}", o["path"]);
    }
}

#[test]
fn matches_readelf_on_other_architectures() {
    if !readelf::available() {
        return;
    }
    // The files captured in testdata/cross: seven machines, both byte orders, ELF32
    // and ELF64, 8 KiB-page sparc64 (GNU readelf reads every machine).
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cross");
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from(root)];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if is_elf(&p) {
                files.push(p);
            }
        }
    }
    assert!(
        files.len() >= 35,
        "only {} ELF files in testdata/cross",
        files.len()
    );
    compare(&files);
}

#[test]
fn built_variants_match_readelf() {
    if !readelf::available() {
        return;
    }
    // Layouts that system files rarely have: static, static-pie, 2 MiB alignment, no
    // separate code, TLS, RWX, no section headers.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let src = "int v = 1; __thread int t; static char big[100000]; int main(void) { return v + t + big[v] - 1; }\n";
    let mut files = Vec::new();
    for (name, flags) in [
        ("pie", &["-fPIE", "-pie"][..]),
        ("nopie", &["-fno-pie", "-no-pie"]),
        ("static", &["-static"]),
        ("staticpie", &["-static-pie", "-fPIE"]),
        ("align2m", &["-Wl,-z,max-page-size=0x200000"]),
        ("nosep", &["-Wl,-z,noseparate-code"]),
        ("norelro", &["-Wl,-z,norelro"]),
        ("now", &["-Wl,-z,now"]),
    ] {
        files.extend(cc(d, name, src, flags));
    }
    // W+X from the linker's -N layout (testdata/wx; see omagic_w_and_x_in_one_segment).
    files.extend(build_wx(d));
    // No section headers at all: readelf prints no mapping.
    if let Some(p) = files.first() {
        let mut bytes = std::fs::read(p).unwrap();
        elf::strip_section_headers(&mut bytes);
        let q = d.join("noshdr");
        std::fs::write(&q, bytes).unwrap();
        files.push(q);
    }
    // Empty sections at the start of PT_NOTE and PT_DYNAMIC (readelf leaves them out
    // of those segments, not of the PT_LOAD around them).
    if let Some(p) = files.first() {
        let mut bytes = std::fs::read(p).unwrap();
        let n = elf::zero_section_sizes(&mut bytes, &[".note.gnu.build-id", ".dynamic"]);
        assert_eq!(n, 2, "{} lacks the sections", p.display());
        let q = d.join("empty-edges");
        std::fs::write(&q, bytes).unwrap();
        files.push(q);
    }
    assert!(files.len() >= 3, "cc cannot build the variants");
    compare(&files);
}

/// testdata/wx/wx.c built with `-Wl,-N` (see its header): one RWX PT_LOAD.
fn build_wx(dir: &Path) -> Option<PathBuf> {
    build_testdata(
        dir,
        "wx/wx.c",
        &[
            "-O0",
            "-g0",
            "-nostdlib",
            "-static",
            "-fno-pie",
            "-no-pie",
            "-fno-stack-protector",
            "-Wl,-N",
            "-Wl,--no-warn-rwx-segments",
        ],
    )
}

/// The loader's view of a file with no load bias, from readelf's program headers.
fn obj_from_readelf(name: &str, r: &ReFile) -> Obj {
    let p_type = |t: &str| match t {
        "LOAD" => 1,
        "GNU_RELRO" => 0x6474_e552,
        _ => 0,
    };
    let flags = |f: &str| {
        f.chars()
            .map(|c| match c {
                'R' => 4,
                'W' => 2,
                'E' => 1,
                _ => 0,
            })
            .sum()
    };
    Obj {
        bias: 0,
        name: name.to_string(),
        phdrs: r
            .phdrs
            .iter()
            .enumerate()
            .map(|(index, p)| Ph {
                index,
                p_type: p_type(&p.type_name),
                flags: flags(&p.flags),
                vaddr: p.vaddr,
                filesz: p.filesz,
                memsz: p.memsz,
            })
            .collect(),
    }
}

/// The W+X linker-script case: `-Wl,-N` (omagic) puts text, rodata, data and bss in
/// one RWX PT_LOAD at a file offset that is not page aligned. readelf says so; elfmaps'
/// layout agrees with readelf field by field and flags the segment; and the program,
/// loaded by the kernel, is labelled page by page as those headers say.
#[test]
fn omagic_w_and_x_in_one_segment() {
    if !readelf::available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(wx) = build_wx(tmp.path()) else {
        return;
    };
    let wx = std::fs::canonicalize(wx).unwrap();
    let re = readelf::readelf(std::slice::from_ref(&wx));
    let r = &re[&wx];
    let loads: Vec<(usize, &RePhdr)> = r
        .phdrs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.type_name == "LOAD")
        .collect();
    assert_eq!(loads.len(), 1, "{:?}", r.phdrs);
    let (seg, load) = loads[0];
    assert_eq!(load.flags, "RWE", "{load:?}");
    assert_ne!(
        load.offset % 4096,
        0,
        "an omagic segment is not page aligned: {load:?}"
    );
    assert!(
        load.memsz > load.filesz + 4096,
        "bss past the file: {load:?}"
    );
    let sections = &r.mapping.as_ref().expect("readelf printed no mapping")[seg];
    for s in [".text", ".rodata", ".data", ".bss"] {
        assert!(sections.iter().any(|x| x == s), "{s} not in {sections:?}");
    }

    compare(std::slice::from_ref(&wx));
    let f = findings(&wx);
    assert!(
        f.iter()
            .any(|x| x.0 == "wx_segment" && x.1 == Some(seg as u64) && x.2.is_some_and(|b| b > 0)),
        "{f:?}"
    );

    // Run it: the kernel maps the one segment rwxp; its file page is data, the rest bss.
    let mut child = Running::spawn(
        Command::new(&wx)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    assert!(child.lines_until("READY").is_empty());
    child.settle();
    let v = cli::json_ok(["map", "--json", &child.pid_arg()]);
    let em = parse_elfmaps(&v);
    let maps = read_maps(child.pid());
    let cx = Ctx {
        page: v["page_size"].as_u64().unwrap(),
        maps: &maps,
        em: &em,
    };
    let obj = obj_from_readelf(wx.to_str().unwrap(), r);
    let mut fails = Failures::default();
    let span = check_object(&cx, &obj, "EXEC", 64, &mut fails).expect("no span");
    let kinds: Vec<&str> = em
        .regions
        .iter()
        .filter(|r| r.start < span.end && span.start < r.end)
        .map(|r| {
            assert_eq!(r.perms, "rwxp", "{r:?}");
            r.kind.as_str()
        })
        .collect();
    assert_eq!(kinds, ["data", "bss"]);
    assert!(fails.0.is_empty(), "{}", fails.0.join("\n"));
    child.finish();
}

// ---------------------------------------------------------------- hostile inputs

#[test]
fn unreadable_files_are_one_line_each_and_the_rest_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let good = PathBuf::from("/usr/bin/cat");
    let bytes = std::fs::read(&good).unwrap();
    let Tables {
        phoff,
        phnum,
        shoff,
        ..
    } = Tables::of(&bytes);

    let mut bad: Vec<PathBuf> = Vec::new();
    let mut write = |name: &str, b: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, b).unwrap();
        bad.push(p);
    };
    write("magic-only", b"\x7fELF");
    write("ident-only", &bytes[..16]);
    write("header-cut", &bytes[..63]);
    write("header-only", &bytes[..64]);
    write("phdrs-cut", &bytes[..phoff + 56 * phnum - 1]);
    let mut bad_class = bytes[..4096].to_vec();
    bad_class[4] = 9;
    write("bad-class", &bad_class);
    let mut bad_phent = bytes.clone();
    bad_phent[ehdr::PHENTSIZE] = 40;
    write("bad-phentsize", &bad_phent);
    let mut names = bad.clone();
    names.push(d.to_path_buf()); // a directory
    names.push(PathBuf::from("/dev/null"));
    names.push(d.join("does-not-exist"));
    // Files that are not ELF at all: skipped with a warning, not errors.
    let mut not_elf = Vec::new();
    for (name, bytes) in [
        ("empty", &b""[..]),
        ("text", b"#!/bin/sh\necho hi\n"),
        ("evil\x1b[2J", b"nope"),
    ] {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        not_elf.push(p);
    }
    let evil = d.join("evil\x1b[2J-elf");
    std::fs::write(&evil, &bytes[..20]).unwrap();
    names.push(evil);

    // Files that are still reported, with a warning.
    let sections_cut = d.join("sections-cut");
    std::fs::write(&sections_cut, &bytes[..shoff + 10]).unwrap();
    let mut huge_shnum = bytes.clone();
    // e_shnum 0: the count is section 0's sh_size, here far over the cap.
    elf::set_extended_shnum(&mut huge_shnum, 1 << 40);
    let huge = d.join("huge-shnum");
    std::fs::write(&huge, huge_shnum).unwrap();

    let mut all = vec![good.clone()];
    all.extend(names.iter().cloned());
    all.extend(not_elf.iter().cloned());
    all.push(sections_cut.clone());
    all.push(huge.clone());
    all.push(good.clone());

    for json in [false, true] {
        let out = layout(if json { &["--json"] } else { &[] }, &all);
        assert_eq!(out.status.code(), Some(2), "exit status");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("elfmaps: error: "))
            .collect();
        assert_eq!(errors.len(), names.len(), "stderr:\n{stderr}");
        for (line, name) in errors.iter().zip(&names) {
            let shown = name.to_str().unwrap().replace('\x1b', "\\e");
            assert!(
                line.starts_with(&format!("elfmaps: error: {shown}: ")),
                "{line:?} does not name {shown:?}"
            );
        }
        let skipped: Vec<&str> = stderr
            .lines()
            .filter(|l| l.ends_with("not an ELF file (skipped)"))
            .collect();
        assert_eq!(skipped.len(), not_elf.len(), "stderr:\n{stderr}");
        for (line, name) in skipped.iter().zip(&not_elf) {
            let shown = name.to_str().unwrap().replace('\x1b', "\\e");
            assert_eq!(
                *line,
                format!("elfmaps: warning: {shown}: not an ELF file (skipped)")
            );
        }
        assert!(
            !stderr.contains('\x1b'),
            "escape sequence printed: {stderr:?}"
        );
        for p in [&sections_cut, &huge] {
            let name = p.to_str().unwrap();
            assert_eq!(
                stderr
                    .lines()
                    .filter(|l| l.starts_with(&format!("elfmaps: warning: {name}: section headers")))
                    .count(),
                1,
                "no single warning for {name}:\n{stderr}"
            );
        }
        let stdout = String::from_utf8(out.stdout).unwrap();
        if json {
            let v: Value = serde_json::from_str(&stdout).unwrap();
            let objs = v["objects"].as_array().unwrap();
            let paths: Vec<&str> = objs.iter().map(|o| o["path"].as_str().unwrap()).collect();
            assert_eq!(
                paths,
                [
                    "/usr/bin/cat",
                    sections_cut.to_str().unwrap(),
                    huge.to_str().unwrap(),
                    "/usr/bin/cat"
                ]
            );
            // The truncated file's segments are all there, without sections.
            let strip = |o: &Value| -> Vec<Value> {
                let mut segs = o["segments"].as_array().unwrap().clone();
                for seg in &mut segs {
                    seg.as_object_mut().unwrap().remove("sections");
                }
                segs
            };
            assert_eq!(strip(&objs[0]), strip(&objs[1]));
            assert!(
                objs[1]["segments"][2]["sections"]
                    .as_array()
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(objs[1]["sections"], Value::Array(vec![]));
            // The warnings of the files still reported, by their code.
            for (o, path) in [(&objs[1], &sections_cut), (&objs[2], &huge)] {
                assert_eq!(
                    cli::warnings(o)
                        .iter()
                        .map(|w| (w.code.as_str(), w.object.as_deref()))
                        .collect::<Vec<_>>(),
                    [("sections-unreadable", path.to_str())],
                    "{o}"
                );
            }
            assert!(cli::warnings(&objs[0]).is_empty());
            assert_eq!(v["errors"].as_array().unwrap().len(), names.len());
            assert_eq!(v["skipped"].as_array().unwrap().len(), not_elf.len());
        } else {
            assert_eq!(stdout.matches("/usr/bin/cat: DYN").count(), 2, "{stdout}");
            assert!(!stdout.contains('\x1b'));
        }
    }
}

/// Issue 9 §4: `layout /usr/lib/x86_64-linux-gnu/*.so*` (docs/layout.md's example)
/// exited 2 on Debian, whose libc.so is a linker script. A file that is not ELF is
/// skipped with one warning; the others are reported and the exit status is 0.
#[test]
fn files_that_are_not_elf_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("libc.so");
    std::fs::write(
        &script,
        "/* GNU ld script */\nOUTPUT_FORMAT(elf64-x86-64)\nGROUP ( /lib/x86_64-linux-gnu/libc.so.6 )\n",
    )
    .unwrap();
    let files = [PathBuf::from("/usr/bin/cat"), script.clone()];
    for json in [false, true] {
        let out = layout(if json { &["--json"][..] } else { &[][..] }, &files);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert_eq!(
            stderr,
            format!(
                "elfmaps: warning: {}: not an ELF file (skipped)\n",
                script.display()
            )
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        if json {
            let v: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(v["objects"].as_array().unwrap().len(), 1);
            assert_eq!(v["errors"], Value::Array(vec![]));
            assert_eq!(v["skipped"][0]["path"], script.to_str().unwrap());
            assert_eq!(v["skipped"][0]["message"], "not an ELF file");
        } else {
            assert!(stdout.starts_with("/usr/bin/cat: DYN"), "{stdout}");
            assert!(!stdout.contains("libc.so"), "{stdout}");
        }
    }
}

/// docs/layout.md's example, as a shell expands it.
#[test]
fn the_documented_example_works() {
    let dir = "/usr/lib/x86_64-linux-gnu";
    let Ok(rd) = std::fs::read_dir(dir) else {
        println!("note: no {dir} here: docs/layout.md's example not run");
        return;
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".so"))
        })
        .collect();
    files.sort();
    files.insert(0, PathBuf::from("/usr/bin/cat"));
    let out = layout(&["--json"], &files);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reported = v["objects"].as_array().unwrap().len();
    let skipped = v["skipped"].as_array().map_or(0, Vec::len);
    assert_eq!(reported + skipped, files.len());
    assert!(reported > skipped, "{reported} reported, {skipped} skipped");
}

/// An ELF64 little-endian DYN file of `machine` with nothing but program headers of
/// the given types (each 16 bytes at offset 0).
fn phdrs_only(machine: u16, types: &[u32]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    f.extend_from_slice(&3u16.to_le_bytes()); // e_type DYN
    f.extend_from_slice(&machine.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [64u16, 56, types.len() as u16, 64, 0, 0] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    for (i, &t) in types.iter().enumerate() {
        f.extend_from_slice(&t.to_le_bytes());
        f.extend_from_slice(&4u32.to_le_bytes()); // PF_R
        let at = 0x1000 * i as u64;
        for v in [0, at, at, 0x10, 0x10, 8] {
            f.extend_from_slice(&v.to_le_bytes());
        }
    }
    f.resize(4096, 0);
    f
}

/// Issue 9 §3: processor-specific segment types are named as readelf names them,
/// on every machine: files of machines 0 to 299 (and two beyond) with the first six
/// processor-specific types, the last one and some OS-specific ones, against readelf.
#[test]
fn processor_specific_segment_types_match_readelf() {
    let tmp = tempfile::tempdir().unwrap();
    let mut types: Vec<u32> = (0x7000_0000..0x7000_0006).collect();
    types.extend([
        0x7fff_ffff,
        0x6000_0000,
        0x6474_e553,
        0x6474_e554,
        0x6474_e555,
    ]);
    let mut files = Vec::new();
    for machine in (0..300).chain([0x9026, 0xa390]) {
        let p = tmp.path().join(format!("m{machine}"));
        std::fs::write(&p, phdrs_only(machine, &types)).unwrap();
        files.push(p);
    }
    compare(&files);
    // readelf cuts names at 14 characters; the JSON has them whole.
    let out = layout(&["--json"], &files);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = |machine: usize| -> Vec<String> {
        v["objects"][machine]["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(15)[2], "PARISC_WEAKORDER");
    assert_eq!(names(50)[1], "IA_64_UNWIND");
    assert_eq!(names(40)[1], "EXIDX");
    assert_eq!(names(8)[3], "ABIFLAGS");
    assert_eq!(names(243)[3], "RISCV_ATTRIBUTES");
    assert_eq!(names(183)[2], "AARCH64_MEMTAG_MTE");
}

/// Issue 9 §3: a machine `elf.h` has no name for keeps its number, instead of an
/// `UNKNOWN` shared by Alpha and C-SKY.
#[test]
fn machines_without_a_name_keep_their_number() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for machine in [62u16, 0x9026, 252, 0x1234, 41] {
        let p = tmp.path().join(format!("m{machine}"));
        std::fs::write(&p, phdrs_only(machine, &[1])).unwrap();
        files.push(p);
    }
    let out = layout(&["--json"], &files);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let machines: Vec<&str> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["machine"].as_str().unwrap())
        .collect();
    assert_eq!(
        machines,
        ["X86_64", "ALPHA", "CSKY", "EM_4660", "FAKE_ALPHA"]
    );
}

// ---------------------------------------------------------------- findings

fn findings(path: &Path) -> Vec<(String, Option<u64>, Option<u64>)> {
    let out = layout(&["--json"], &[path.to_path_buf()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = &v["objects"][0];
    o["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(f["message"].is_string());
            (
                f["kind"].as_str().unwrap().to_string(),
                f["segment"].as_u64(),
                f["bytes"].as_u64(),
            )
        })
        .collect()
}

fn kinds(f: &[(String, Option<u64>, Option<u64>)]) -> Vec<&str> {
    let mut k: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
    k.dedup();
    k
}

/// Index of the first program header of readelf type `ty`.
fn phdr_index(path: &Path, ty: &str) -> Option<u64> {
    let out = layout(&["--json"], &[path.to_path_buf()]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["objects"][0]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == ty)
        .map(|s| s["index"].as_u64().unwrap())
}

#[test]
fn findings_of_built_programs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let main = "int v = 1; int main(void) { return v - 1; }\n";
    let Some(now) = cc(d, "now", main, &["-Wl,-z,relro,-z,now"]) else {
        return;
    };
    // Full RELRO, non-executable stack: at most informational findings.
    for (k, ..) in findings(&now) {
        assert!(
            k == "shared_page" || k == "alignment_waste",
            "unexpected {k} for {}",
            now.display()
        );
    }

    if let Some(lazy) = cc(d, "lazy", main, &["-Wl,-z,relro,-z,lazy"]) {
        let f = findings(&lazy);
        let relro = phdr_index(&lazy, "GNU_RELRO");
        assert!(
            f.iter().any(|x| x.0 == "partial_relro" && x.1 == relro),
            "{f:?}"
        );
    }
    if let Some(nr) = cc(d, "norelro", main, &["-Wl,-z,norelro"]) {
        let f = findings(&nr);
        assert!(
            f.iter().any(|x| x.0 == "no_relro" && x.1.is_none()),
            "{f:?}"
        );
        assert!(!kinds(&f).contains(&"partial_relro"));
    }
    if let Some(es) = cc(d, "execstack", main, &["-z", "execstack"]) {
        let f = findings(&es);
        let stack = phdr_index(&es, "GNU_STACK");
        assert!(stack.is_some());
        assert!(
            f.iter().any(|x| x.0 == "exec_stack" && x.1 == stack),
            "{f:?}"
        );
    }
    let wx_src = "__attribute__((section(\".wxsec,\\\"awx\\\",@progbits #\"))) int wx = 1;\nint main(void) { return wx - 1; }\n";
    if let Some(wx) = cc(d, "wx", wx_src, &["-Wl,--no-warn-rwx-segments"]) {
        let f = findings(&wx);
        let w: Vec<_> = f.iter().filter(|x| x.0 == "wx_segment").collect();
        assert_eq!(w.len(), 1, "{f:?}");
        assert!(w[0].1.is_some() && w[0].2.unwrap() > 0);
    }
    let lib = "extern int ext_var; int get(void) { return ext_var; }\n";
    for (name, flags) in [
        (
            "textrel64.so",
            &["-fno-PIC", "-mcmodel=large", "-shared", "-Wl,-z,notext"][..],
        ),
        (
            "textrel32.so",
            &["-m32", "-fno-PIC", "-shared", "-Wl,-z,notext"],
        ),
    ] {
        if let Some(tr) = cc(d, name, lib, flags) {
            let f = findings(&tr);
            let dynamic = phdr_index(&tr, "DYNAMIC");
            assert!(
                f.iter().any(|x| x.0 == "textrel" && x.1 == dynamic),
                "{name}: {f:?}"
            );
        }
    }
    if let Some(pic) = cc(d, "pic.so", lib, &["-fPIC", "-shared"]) {
        assert!(!kinds(&findings(&pic)).contains(&"textrel"));
    }
    // Static: no PT_DYNAMIC, RELRO is partial unless .got.plt is inside it.
    if let Some(st) = cc(d, "static", main, &["-static"]) {
        let f = findings(&st);
        assert!(kinds(&f).contains(&"partial_relro"), "{f:?}");
    }
    if let Some(st) = cc(d, "static-now", main, &["-static", "-Wl,-z,now"]) {
        assert!(!kinds(&findings(&st)).contains(&"partial_relro"));
    }
    // 2 MiB alignment: address gaps and file padding between segments.
    if let Some(al) = cc(d, "align2m", main, &["-Wl,-z,max-page-size=0x200000"]) {
        let f = findings(&al);
        let waste: Vec<_> = f.iter().filter(|x| x.0 == "alignment_waste").collect();
        assert!(waste.iter().any(|x| x.2.unwrap() >= 0x100000), "{f:?}");
    }
    // The default layout shares the file page between rodata and data segments.
    let f = findings(&now);
    if let Some(sp) = f.iter().find(|x| x.0 == "shared_page") {
        assert_eq!(sp.2, Some(4096));
    }
}

#[test]
fn memory_per_kind_adds_up() {
    let files: Vec<PathBuf> = elf_files("/usr/bin", |_| true, 40);
    let out = layout(&["--json", "--page-size", "16384"], &files);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["page_size"], 16384);
    for o in v["objects"].as_array().unwrap() {
        let m = &o["memory"];
        let sum: u64 = ["text", "rodata", "data", "relro", "bss", "gap"]
            .iter()
            .map(|k| {
                let b = m[k].as_u64().unwrap();
                assert_eq!(b % 16384, 0, "{}: {k} {b}", o["path"]);
                b
            })
            .sum();
        assert_eq!(m["total"].as_u64(), Some(sum), "{}", o["path"]);
        // The span covers every PT_LOAD.
        let loads = o["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["type"] == "LOAD" && s["memsz"].as_u64() > Some(0));
        let lo = loads
            .clone()
            .map(|s| s["vaddr"].as_u64().unwrap() & !16383)
            .min()
            .unwrap();
        let hi = loads
            .map(|s| (s["vaddr"].as_u64().unwrap() + s["memsz"].as_u64().unwrap() + 16383) & !16383)
            .max()
            .unwrap();
        assert_eq!(sum, hi - lo, "{}", o["path"]);
    }
}

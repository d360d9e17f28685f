//! Golden JSON: every offline input in testdata through every view, compared byte for
//! byte with the output committed in tests/golden/. These are no ground truth (the
//! cross tests tie the same inputs to the loader's report); they guard refactoring:
//! a change that moves one byte of output shows here. After a deliberate change of
//! output, regenerate with `ELFMAPS_BLESS=1 cargo test --test golden` and review the diff.

use std::path::Path;
use std::process::{Command, Stdio};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ARCHES: [(&str, u64); 7] = [
    ("aarch64", 4096),
    ("armhf", 4096),
    ("mips", 4096),
    ("ppc", 4096),
    ("riscv64", 4096),
    ("s390x", 4096),
    ("sparc64", 8192),
];

/// Runs elfmaps in the repository root (so that paths in the output are relative and
/// the same in every clone) and returns stdout, whatever the exit code.
fn run(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_elfmaps"))
        .args(args)
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run elfmaps");
    assert_ne!(out.status.code(), Some(101), "elfmaps panicked: {args:?}");
    out.stdout
}

fn golden(name: &str, got: &[u8], failures: &mut Vec<String>) {
    let path = Path::new(ROOT).join("tests/golden").join(name);
    if std::env::var_os("ELFMAPS_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    match std::fs::read(&path) {
        Ok(want) if want == got => {}
        Ok(_) => failures.push(format!("{name}: output differs from tests/golden/{name}")),
        Err(e) => failures.push(format!("{name}: {e}")),
    }
}

fn elf_files(dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            elf_files(&p, out);
        } else {
            out.push(p.strip_prefix(ROOT).unwrap().to_str().unwrap().to_string());
        }
    }
}

#[test]
fn offline_inputs_give_the_committed_json() {
    let mut failures = Vec::new();
    for (arch, page) in ARCHES {
        let maps = format!("testdata/cross/{arch}/maps");
        let root = format!("testdata/cross/{arch}/root");
        let page = page.to_string();
        let base = [
            "--maps",
            &maps,
            "--sysroot",
            &root,
            "--page-size",
            &page,
            "--json",
        ];
        let map = run(&[&["map"][..], &base].concat());
        golden(&format!("{arch}.map.json"), &map, &mut failures);
        let summary = run(&[&["summary"][..], &base].concat());
        golden(&format!("{arch}.summary.json"), &summary, &mut failures);
        let by_kind = run(&[&["summary", "--by", "kind"][..], &base].concat());
        golden(
            &format!("{arch}.summary-kind.json"),
            &by_kind,
            &mut failures,
        );
        // Without --page-size and without a sysroot: the defaults and their warnings.
        let bare = run(&["map", "--maps", &maps, "--json"]);
        golden(&format!("{arch}.bare.json"), &bare, &mut failures);
        // The tables too: a refactor must not move them either.
        let table = run(&[&["map", "--color", "never"][..], &base[..6]].concat());
        golden(&format!("{arch}.map.txt"), &table, &mut failures);
        let budget = ["check", "--budget", "tests/golden/budget.toml", "--json"];
        let check = run(&[&budget[..], &base[..6]].concat());
        golden(&format!("{arch}.check.json"), &check, &mut failures);
        let mut files = Vec::new();
        elf_files(&Path::new(ROOT).join(&root), &mut files);
        let mut args = vec!["layout", "--json"];
        args.extend(files.iter().map(String::as_str));
        args.extend(["--page-size", &page]);
        golden(&format!("{arch}.layout.json"), &run(&args), &mut failures);
        args[1] = "--color=never";
        golden(&format!("{arch}.layout.txt"), &run(&args), &mut failures);
        let mut elf = vec!["check", "--budget", "tests/golden/budget.toml", "--json"];
        // One file per --elf (issue 9 §4: `--elf FILE...` swallowed a PID after it).
        for f in &files {
            elf.extend(["--elf", f.as_str()]);
        }
        golden(&format!("{arch}.check-elf.json"), &run(&elf), &mut failures);
    }
    // diff of two saved reports: two architectures' summaries and maps.
    let dir = tempfile::tempdir().unwrap();
    for view in ["map", "summary"] {
        let old = dir.path().join(format!("old.{view}.json"));
        let new = dir.path().join(format!("new.{view}.json"));
        std::fs::copy(
            Path::new(ROOT).join(format!("tests/golden/armhf.{view}.json")),
            &old,
        )
        .unwrap();
        std::fs::copy(
            Path::new(ROOT).join(format!("tests/golden/mips.{view}.json")),
            &new,
        )
        .unwrap();
        let d = run(&[
            "diff",
            "--json",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
        ]);
        golden(&format!("diff.{view}.json"), &d, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every saved report reads back as the library's typed model and writes out again
/// byte for byte: a map report as `Report`, a summary as `Summary`, a layout as
/// `Layouts` (what `diff` and `report --diff` rely on).
#[test]
fn saved_reports_read_back_byte_for_byte() {
    fn again<T: serde::Serialize + serde::de::DeserializeOwned>(bytes: &[u8]) -> Vec<u8> {
        let typed: T = serde_json::from_slice(bytes).unwrap();
        let mut out = serde_json::to_vec(&typed).unwrap();
        out.push(b'\n');
        out
    }
    let mut n = 0;
    for e in std::fs::read_dir(Path::new(ROOT).join("tests/golden")).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let written = if name.starts_with("diff.") {
            continue;
        } else if name.ends_with(".map.json") || name.ends_with(".bare.json") {
            again::<elfmaps::Report>(&bytes)
        } else if name.ends_with(".summary.json") || name.ends_with(".summary-kind.json") {
            again::<elfmaps::summary::Summary>(&bytes)
        } else if name.ends_with(".layout.json") {
            again::<elfmaps::layout::Layouts>(&bytes)
        } else {
            continue;
        };
        assert!(written == bytes, "{name} does not read back as written");
        n += 1;
    }
    assert_eq!(n, 7 * 5, "golden reports read back");
}

//! examples/text_rss.rs runs and prints the text RSS of every shared library of its
//! process. The truth is the kernel's maps: a Rust program linked as the test binary
//! is maps the same libraries executable (`r-xp`), so the libraries the example
//! prints are those of this process's own `/proc/self/maps`, and each figure is at
//! most the size of that library's executable lines.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// The example's binary: built by `cargo test` next to the tests (target/PROFILE/
/// examples/), or built here when a filtered run (`cargo test --test example`) did not.
fn example() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let profile = deps.parent().unwrap().parent().unwrap();
    let bin = profile.join("examples/text_rss");
    if !bin.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut c = Command::new(cargo);
        c.args(["build", "--example", "text_rss"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile.file_name().is_some_and(|p| p == "release") {
            c.arg("--release");
        }
        let status = c.status().expect("run cargo");
        assert!(status.success(), "cargo build --example text_rss: {status}");
    }
    bin
}

#[test]
fn text_rss_of_every_library() {
    let o = Command::new(example()).output().expect("run the example");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let printed: BTreeMap<String, u64> = out
        .lines()
        .map(|l| {
            let (rss, path) = l.trim_start().split_once(' ').expect("RSS PATH");
            (path.to_string(), rss.parse().expect("a known rss"))
        })
        .collect();
    // The executable lines of shared libraries in this process: size per path.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut truth: BTreeMap<String, u64> = BTreeMap::new();
    for l in maps.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 6 || !f[1].starts_with("r-x") || !f[5].starts_with('/') {
            continue;
        }
        if f[5] == exe.to_str().unwrap() {
            continue;
        }
        let (s, e) = f[0].split_once('-').unwrap();
        let size = u64::from_str_radix(e, 16).unwrap() - u64::from_str_radix(s, 16).unwrap();
        *truth.entry(f[5].to_string()).or_default() += size;
    }
    assert_eq!(
        printed.keys().collect::<Vec<_>>(),
        truth.keys().collect::<Vec<_>>(),
        "{out}"
    );
    for (path, rss) in &printed {
        assert!(
            *rss > 0 && *rss <= truth[path],
            "{path}: {rss} of {}",
            truth[path]
        );
        assert_eq!(rss % 4096, 0, "{path}: {rss}");
    }
}

//! What README.md says that follows from Cargo.toml and the binary: the minimum Rust
//! version is Cargo.toml's `rust-version` (which .ci/run checks every target with),
//! and the man-page loop names every subcommand that has a page.

mod common;

use common::cli::{elfmaps, stdout};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn the_readme_gives_the_minimum_rust_version() {
    let msrv = env!("CARGO_PKG_RUST_VERSION");
    assert!(!msrv.is_empty(), "Cargo.toml has no rust-version");
    let line = format!("Rust {msrv} or newer (`rust-version` in Cargo.toml)");
    assert!(readme().contains(&line), "README.md should say: {line}");
}

#[test]
fn the_man_page_loop_names_every_subcommand() {
    let help = stdout(&elfmaps(["--help"]));
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| !["completions", "man", "help"].contains(c))
        .collect();
    assert!(commands.len() >= 10, "{help}");
    let readme = readme();
    let looped = readme
        .lines()
        .find(|l| l.starts_with("for c in ") && l.ends_with("; do"))
        .expect("the man-page loop of README.md");
    let mut listed: Vec<&str> = looped["for c in ".len()..looped.len() - "; do".len()]
        .split_whitespace()
        .collect();
    let mut want = commands.clone();
    listed.sort_unstable();
    want.sort_unstable();
    assert_eq!(listed, want, "README.md's man-page loop");
    for c in commands {
        let page = elfmaps(["man", c]);
        assert_eq!(page.status.code(), Some(0), "elfmaps man {c}");
        assert!(
            stdout(&page).starts_with(".ie") || stdout(&page).contains(".TH"),
            "{c}"
        );
    }
}

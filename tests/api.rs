//! The library's public API is the list in docs/api.md: this test compares it with
//! rustdoc's own list of all items (`target/doc/elfmaps/all.html`), so that an item
//! made public by accident fails here and growth is deliberate.
//!
//! Why that page: it is what rustdoc says is public (re-exports, `doc(hidden)` and
//! private modules resolved by rustdoc itself), on stable Rust, and CI builds it
//! (`cargo doc --no-deps --lib`) before `cargo test`. Running rustdoc from the test
//! would cost a second documentation build; when the page is missing or older than a
//! source file, the test skips with a note (and fails under `CI=true`).

mod common;

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use common::skip::{in_ci, note};

/// At most this many items (issue 23: 255 before the internals became `pub(crate)`).
const MAX_ITEMS: usize = 120;

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> SystemTime {
    let mut t = SystemTime::UNIX_EPOCH;
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        let u = if m.is_dir() {
            newest(&e.path())
        } else {
            m.modified().unwrap()
        };
        t = t.max(u);
    }
    t
}

/// `kind path` of every item of rustdoc's all.html: the kind from its section
/// (`structs` gives `struct`), the path from each entry's text.
fn rustdoc_items(html: &str) -> Vec<String> {
    let mut items = Vec::new();
    for section in html.split("<h3 id=\"").skip(1) {
        let id = &section[..section.find('"').unwrap()];
        let kind = id.strip_suffix('s').unwrap_or(id);
        for entry in section.split("<li><a href=\"").skip(1) {
            let text = &entry[entry.find("\">").unwrap() + 2..];
            let text = &text[..text.find("</a>").unwrap()];
            items.push(format!("{kind} {text}"));
        }
    }
    items
}

/// `kind path` of every line `- kind `path`` of docs/api.md's "Every public item".
fn listed_items(md: &str) -> Vec<String> {
    md.lines()
        .skip_while(|l| *l != "## Every public item")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("- "))
        .map(|l| l.replace('`', ""))
        .collect()
}

#[test]
fn the_public_items_are_those_of_docs_api_md() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let md = fs::read_to_string(root.join("docs/api.md")).unwrap();
    let listed = listed_items(&md);
    assert!(!listed.is_empty(), "docs/api.md lists no item");
    let page = root.join("target/doc/elfmaps/all.html");
    let fresh = fs::metadata(&page)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= newest(&root.join("src")));
    if !fresh {
        let why = "target/doc/elfmaps/all.html is missing or older than src/: run `cargo doc --no-deps --lib` first";
        assert!(!in_ci(), "{why}");
        note(&format!("skipped: {why}"));
        return;
    }
    let documented = rustdoc_items(&fs::read_to_string(&page).unwrap());
    assert!(
        documented.len() <= MAX_ITEMS,
        "{} public items, at most {MAX_ITEMS}",
        documented.len()
    );
    let extra: Vec<_> = documented.iter().filter(|i| !listed.contains(i)).collect();
    let gone: Vec<_> = listed.iter().filter(|i| !documented.contains(i)).collect();
    assert!(
        extra.is_empty() && gone.is_empty(),
        "public but not in docs/api.md: {extra:?}; in docs/api.md but not public: {gone:?}"
    );
}

#[test]
fn the_page_parser_reads_kinds_and_paths() {
    let html = "<h3 id=\"structs\">Structs</h3><ul class=\"all-items\">\
        <li><a href=\"struct.Saved.html\">Saved</a></li>\
        <li><a href=\"layout/struct.Layouts.html\">layout::Layouts</a></li></ul>\
        <h3 id=\"functions\">Functions</h3><ul class=\"all-items\">\
        <li><a href=\"fn.label_process.html\">label_process</a></li></ul>";
    assert_eq!(
        rustdoc_items(html),
        [
            "struct Saved",
            "struct layout::Layouts",
            "function label_process"
        ]
    );
    let md = "# API\n## Every public item\n\n- struct `Saved`\n- function `label_process`\n\n## Left to do\n- not an item\n";
    assert_eq!(listed_items(md), ["struct Saved", "function label_process"]);
}

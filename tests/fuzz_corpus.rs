//! Replays the fuzz corpus (fuzz/corpus/TARGET/*) and every crash the fuzzers found
//! (fuzz/regressions/TARGET/*) through the same bodies the fuzz targets run
//! (`elfmaps::fuzzing`), so the normal suite on stable Rust keeps them fixed. See
//! fuzz/README.md.

use elfmaps::fuzzing as bodies;
use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).unwrap();
            let name = e.path().display().to_string();
            let r = std::panic::catch_unwind(|| body(&data));
            assert!(r.is_ok(), "{target}: {name} panics");
            n += 1;
        }
    }
    assert!(n > 0, "no corpus for {target}");
}

#[test]
fn maps() {
    replay("maps", bodies::maps);
}

#[test]
fn elf() {
    replay("elf", bodies::elf);
}

#[test]
fn budget() {
    replay("budget", bodies::budget);
}

#[test]
fn snapshot() {
    replay("snapshot", bodies::snapshot);
}

#[test]
fn attribute() {
    replay("attribute", bodies::attribute);
}

#[test]
fn offline() {
    replay("offline", bodies::offline);
}

#[test]
fn smemcap() {
    replay("smemcap", bodies::smemcap);
}

#[test]
fn sections() {
    replay("sections", bodies::sections);
}

#[test]
fn layout() {
    replay("layout", bodies::layout);
}

#[test]
fn report_json() {
    replay("report_json", bodies::report_json);
}

#[test]
fn symbols() {
    replay("symbols", bodies::symbols);
}

//! Work bounded by the input (issue 9, section 2): hostile maps and program headers
//! whose candidate biases and images would cost lines x PT_LOADs. No timing asserts;
//! each case prints its time (`cargo test -- --nocapture`).

use std::time::Instant;

use super::*;
use crate::label::instances::{MAX_LOADS_PER_OFFSET, file_budget, total_budget};

const N: u64 = 65_000;

/// `N` text PT_LOADs of one page each: load `j` at file offset and vaddr `j` pages
/// (`stacked`: all at file offset 0, so that every one covers offset 0).
fn many_loads(stacked: bool) -> Arc<ElfInfo> {
    let phdrs = (0..N)
        .map(|j| {
            let at = j * 0x1000;
            let offset = if stacked { 0 } else { at };
            load(j as usize, 5, offset, at, 0x1000, 0x1000)
        })
        .collect();
    info(3, phdrs)
}

fn with_size(mut f: HashMap<FileKey, FileFacts>) -> HashMap<FileKey, FileFacts> {
    for v in f.values_mut() {
        if let FileFacts::Elf { size, .. } = v {
            *size = N * 0x1000;
        }
    }
    f
}

fn timed(what: &str, run: impl FnOnce() -> Attribution) -> Attribution {
    let t = Instant::now();
    let a = run();
    eprintln!("{what}: {:?}", t.elapsed());
    a
}

/// No instance; every line unknown; one work-limit problem for the file.
fn limited(a: &Attribution, words: &[&str]) {
    assert!(a.instances.is_empty());
    assert!(a.regions.iter().all(|r| r.kind == Kind::Unknown));
    assert_eq!(a.unlabelled.len(), 1);
    let p = &a.unlabelled[0].1;
    assert_eq!(p.code, Code::WorkLimit);
    for w in words {
        assert!(p.message.contains(w), "{w:?} not in {:?}", p.message);
    }
}

#[test]
fn every_load_covering_the_offset_of_every_line() {
    let so = "/lib/stacked.so";
    let b = 0x7f00_0000_0000u64;
    let maps: Vec<Mapping> = (0..N)
        .map(|i| {
            let mut m = line(b + i * 0x2000, b + i * 0x2000 + 0x1000, "r-xp", 0, 6, so);
            m.line = i as usize + 1;
            m
        })
        .collect();
    let f = with_size(facts(so, 6, many_loads(true)));
    let a = timed("65,000 lines x 65,000 PT_LOADs over one offset", || {
        attribute(&maps, &f, P, &Hints::default())
    });
    limited(
        &a,
        &[
            "maps line 1",
            &format!("more than {MAX_LOADS_PER_OFFSET} PT_LOADs"),
        ],
    );
}

#[test]
fn every_line_at_another_bias() {
    // Line i maps the page of PT_LOAD i, 1 MiB after line i - 1: 65,000 candidate
    // biases, each an image of 65,000 PT_LOADs.
    let so = "/lib/spread.so";
    let b = 0x7000_0000_0000u64;
    let maps: Vec<Mapping> = (0..N)
        .map(|i| {
            line(
                b + (i << 20),
                b + (i << 20) + 0x1000,
                "r-xp",
                i * 0x1000,
                6,
                so,
            )
        })
        .collect();
    let f = with_size(facts(so, 6, many_loads(false)));
    let a = timed("65,000 lines at 65,000 biases, 65,000 PT_LOADs", || {
        attribute(&maps, &f, P, &Hints::default())
    });
    let most = file_budget(N as usize, N as usize) / (N as usize + 1);
    assert_eq!(most, 8);
    limited(&a, &[&format!("more than {most} instances")]);
}

#[test]
fn one_instance_of_many_loads_over_many_lines() {
    // The shape glibc would leave: one line per PT_LOAD, all at one bias. Labelled,
    // in time that follows lines + PT_LOADs (checks once per instance, not per line).
    let so = "/lib/many.so";
    let b = 0x7f00_0000_0000u64;
    let maps: Vec<Mapping> = (0..N)
        .map(|i| {
            line(
                b + i * 0x1000,
                b + (i + 1) * 0x1000,
                "r-xp",
                i * 0x1000,
                6,
                so,
            )
        })
        .collect();
    let f = with_size(facts(so, 6, many_loads(false)));
    let a = timed("65,000 lines at one bias, 65,000 PT_LOADs", || {
        attribute(&maps, &f, P, &Hints::default())
    });
    assert_eq!(a.instances.len(), 1);
    assert_eq!(a.instances[0].problem, None);
    assert!(a.unlabelled.is_empty());
    assert_eq!(a.regions.len(), N as usize);
    for (i, r) in a.regions.iter().enumerate() {
        assert_eq!((r.kind, r.segment), (Kind::Text, Some(i)));
    }
}

#[test]
fn one_hostile_file_under_many_names() {
    // 100 maps lines, each naming the same 65,000-PT_LOAD file under another inode:
    // each name is a file of its own, and all of them together stay within
    // total_budget: 16 instances, the rest unknown.
    let b = 0x7000_0000_0000u64;
    let shared = many_loads(false);
    let maps: Vec<Mapping> = (0..100u64)
        .map(|i| {
            let s = b + (i << 32);
            line(s, s + 0x1000, "r-xp", 0, 1000 + i, "/lib/spread.so")
        })
        .collect();
    let f: HashMap<FileKey, FileFacts> = maps
        .iter()
        .map(|m| {
            let facts = FileFacts::Elf {
                info: shared.clone(),
                size: N * 0x1000,
                exact: false,
            };
            (FileKey::of(m), facts)
        })
        .collect();
    let a = timed("100 names of one 65,000-PT_LOAD file", || {
        attribute(&maps, &f, P, &Hints::default())
    });
    let fit = total_budget(maps.len()) / (N as usize + 1);
    assert_eq!(fit, 16);
    assert_eq!(a.instances.len(), fit);
    assert_eq!(a.unlabelled.len(), 100 - fit);
    assert!(a.unlabelled.iter().all(|(_, p)| p.code == Code::WorkLimit));
    for (r, m) in a.regions.iter().zip(&maps) {
        let labelled = a.instances.iter().any(|i| i.key == FileKey::of(m));
        assert_eq!(r.kind == Kind::Text, labelled, "{r:?}");
    }
}

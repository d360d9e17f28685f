//! What readelf says: `readelf -lW` parsed into program headers and the
//! section-to-segment mapping, for comparison with `elfmaps layout --json`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::common::skip;

/// One program header as readelf prints it.
#[derive(Debug, Default, PartialEq)]
pub struct RePhdr {
    /// The type name, cut to readelf's 14 columns.
    pub type_name: String,
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// `RWE`, with spaces for missing flags.
    pub flags: String,
    /// `p_align`.
    pub align: u64,
}

/// One file as readelf prints it.
#[derive(Debug, Default)]
pub struct ReFile {
    /// Its program headers.
    pub phdrs: Vec<RePhdr>,
    /// Section names per segment; None when readelf printed no mapping (no section
    /// headers or names).
    pub mapping: Option<Vec<Vec<String>>>,
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// `RWE` flags of `p_flags` as readelf prints them.
pub fn flag_chars(flags: u64) -> String {
    let f = |bit, c| if flags & bit != 0 { c } else { ' ' };
    [f(4, 'R'), f(2, 'W'), f(1, 'E')].iter().collect()
}

/// Whether readelf runs here (see [`skip::have_tool`]).
pub fn available() -> bool {
    skip::have_tool("readelf", &["--version"])
}

/// `readelf -lW FILES`, parsed.
pub fn readelf(files: &[PathBuf]) -> BTreeMap<PathBuf, ReFile> {
    let out = Command::new("readelf")
        .arg("-lW")
        .args(files)
        .output()
        .expect("run readelf");
    parse(&String::from_utf8_lossy(&out.stdout), files)
}

/// Parses `readelf -lW` output for several files (each after `File: PATH`).
pub fn parse(text: &str, files: &[PathBuf]) -> BTreeMap<PathBuf, ReFile> {
    let mut out = BTreeMap::new();
    let mut cur: Option<PathBuf> = if files.len() == 1 {
        Some(files[0].clone())
    } else {
        None
    };
    let mut f = ReFile::default();
    let mut in_phdrs = false;
    let mut in_map = false;
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("File: ") {
            if let Some(c) = cur.take() {
                out.insert(c, std::mem::take(&mut f));
            }
            cur = Some(PathBuf::from(p));
            (in_phdrs, in_map) = (false, false);
            continue;
        }
        if line.starts_with("  Type ") {
            in_phdrs = true;
            continue;
        }
        if line.starts_with(" Section to Segment mapping:") {
            in_phdrs = false;
            in_map = true;
            f.mapping = Some(Vec::new());
            continue;
        }
        if in_phdrs {
            if line.is_empty() {
                in_phdrs = false;
                continue;
            }
            if line.trim_start().starts_with("[Requesting") {
                continue;
            }
            // "  %-14.14s " type, then offset vaddr paddr filesz memsz, "%c%c%c ", align.
            let type_name = line[2..16].trim_end().to_string();
            let rest = &line[17..];
            let nums: Vec<&str> = rest.split_whitespace().take(5).collect();
            // The flags start one space after the fifth number.
            let mut pos = 0;
            for n in &nums {
                pos = rest[pos..].find(n).unwrap() + pos + n.len();
            }
            let flags = rest[pos + 1..pos + 4].to_string();
            let align = rest[pos + 4..].trim();
            f.phdrs.push(RePhdr {
                type_name,
                offset: hex(nums[0]),
                vaddr: hex(nums[1]),
                paddr: hex(nums[2]),
                filesz: hex(nums[3]),
                memsz: hex(nums[4]),
                flags,
                align: hex(align),
            });
        } else if in_map {
            if line.starts_with("  Segment Sections") {
                continue;
            }
            if line.is_empty() {
                in_map = false;
                continue;
            }
            let mut words = line.split_whitespace();
            let idx: usize = words.next().unwrap().parse().unwrap();
            let m = f.mapping.as_mut().unwrap();
            assert_eq!(idx, m.len(), "{line}");
            m.push(words.map(str::to_string).collect());
        }
    }
    if let Some(c) = cur {
        out.insert(c, f);
    }
    out
}

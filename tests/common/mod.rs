//! Ground truth for `elfmaps map --json`: builds the C program in testdata/shapes
//! (see its README.md) in one of several variants, runs it, and compares what
//! elfmaps says about the process with what the loader (dl_iterate_phdr), the
//! kernel (/proc/PID/maps, /proc/PID/pagemap) and the labelling rules say.

// Shared by several test crates (ground_truth.rs, cross.rs); each uses a part.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

const SHAPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/shapes");

const PT_LOAD: u64 = 1;
const PT_GNU_RELRO: u64 = 0x6474_e552;
const PF_X: u64 = 1;
const PF_W: u64 = 2;

/// How one variant of the shapes program is built.
pub struct Variant {
    pub name: &'static str,
    /// Compiler command.
    pub cc: &'static str,
    /// Flags for every compile (libraries and executable), e.g. `-m32`.
    pub flags: &'static [&'static str],
    /// Flags for the executable only.
    pub exe_flags: &'static [&'static str],
    /// Static executable: built with -DSHAPES_STATIC and libbigbss.c linked in, no libraries.
    pub static_exe: bool,
    /// The executable is ET_EXEC (not PIE).
    pub exe_is_exec: bool,
}

/// Shape libraries and their extra link flags (testdata/shapes/README.md).
const LIBS: &[(&str, &[&str])] = &[
    ("bigbss", &[]),
    ("gap", &["-Wl,-z,max-page-size=0x200000"]),
    ("nosep", &["-Wl,-z,noseparate-code"]),
    ("deleted", &[]),
    ("memfd", &[]),
    ("merge", &[]),
];
const COMMON_FLAGS: &[&str] = &["-O0", "-g0", "-Wall", "-Wextra"];
const LIB_FLAGS: &[&str] = &["-fPIC", "-shared", "-Wl,-z,relro,-z,now"];

// ---------------------------------------------------------------- building

fn cc(v: &Variant, extra: &[&str], out: &Path, inputs: &[PathBuf]) -> Command {
    let mut c = Command::new(v.cc);
    c.args(v.flags)
        .args(COMMON_FLAGS)
        .args(extra)
        .arg("-o")
        .arg(out)
        .args(inputs);
    c
}

fn run_all(cmds: Vec<Command>) {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| {
            let child = c
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{c:?}: {e}"));
            (c, child)
        })
        .collect();
    for (c, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{c:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Whether the variant's toolchain can build and run a trivial program.
fn toolchain_works(v: &Variant, dir: &Path) -> Result<(), String> {
    let src = dir.join("probe.c");
    let exe = dir.join("probe");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let out = cc(v, v.exe_flags, &exe, &[src])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", v.cc))?;
    if !out.status.success() {
        return Err(format!(
            "{} {:?} {:?} cannot build a trivial program: {}",
            v.cc,
            v.flags,
            v.exe_flags,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    match Command::new(&exe).status() {
        Ok(s) if s.success() => Ok(()),
        r => Err(format!(
            "a trivial {:?} program does not run: {r:?}",
            v.flags
        )),
    }
}

/// Builds the variant in `dir`; returns the program and its argument (the library directory).
fn build(v: &Variant, dir: &Path) -> (PathBuf, PathBuf) {
    let src = |f: &str| Path::new(SHAPES).join(f);
    let libdir = dir.join("libs");
    std::fs::create_dir_all(&libdir).unwrap();
    let exe = dir.join("shapes");
    let mut cmds = Vec::new();
    if v.static_exe {
        let mut flags = v.exe_flags.to_vec();
        flags.push("-DSHAPES_STATIC");
        cmds.push(cc(v, &flags, &exe, &[src("shapes.c"), src("libbigbss.c")]));
    } else {
        for (name, extra) in LIBS {
            let flags: Vec<&str> = LIB_FLAGS.iter().chain(extra.iter()).copied().collect();
            let out = libdir.join(format!("lib{name}.so"));
            cmds.push(cc(v, &flags, &out, &[src(&format!("lib{name}.c"))]));
        }
        let mut c = cc(v, v.exe_flags, &exe, &[src("shapes.c")]);
        c.arg("-ldl");
        cmds.push(c);
    }
    run_all(cmds);
    (exe, libdir)
}

// ---------------------------------------------------------------- the child

/// The running shapes program; killed when dropped.
struct Shapes {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Shapes {
    fn start(exe: &Path, arg: &Path, tmp: &Path) -> (Shapes, Vec<String>) {
        let mut child = Command::new(exe)
            .arg(arg)
            .env("TMPDIR", tmp)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let guard = Shapes { child, stdin };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l == "READY" => break,
                Ok(l) => lines.push(l),
                Err(e) => panic!(
                    "shapes: no READY ({e:?}); output so far:\n{}",
                    lines.join("\n")
                ),
            }
        }
        (guard, lines)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes stdin and expects a clean exit.
    fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "shapes exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "shapes did not exit after EOF on stdin"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Shapes {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- the report

#[derive(Debug)]
struct Ph {
    index: usize,
    p_type: u64,
    flags: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

#[derive(Debug)]
pub struct Obj {
    pub bias: u64,
    /// As the loader reports it (dl_iterate_phdr), or the executable's realpath.
    pub name: String,
    phdrs: Vec<Ph>,
}

#[derive(Debug)]
struct Touch {
    label: String,
    start: u64,
    pages: u64,
    stride: u64,
}

#[derive(Debug)]
struct Merge {
    start: u64,
    len: u64,
    line_start: u64,
    line_end: u64,
}

#[derive(Debug, Default)]
pub struct Report {
    pub ptrbits: u64,
    pub page: u64,
    pub objs: Vec<Obj>,
    touches: Vec<Touch>,
    merge: Option<Merge>,
    pub vdso: Option<u64>,
    pub notes: Vec<String>,
}

fn num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .unwrap_or_else(|e| panic!("bad number {s:?}: {e}"))
}

/// Parses the report of shapes (testdata/shapes/README.md) or of testdata/cross/cross.c.
pub fn parse_report(lines: &[String]) -> Report {
    let mut r = Report::default();
    for line in lines {
        let f: Vec<&str> = line.split(' ').collect();
        match f[0] {
            "INFO" => {
                for kv in &f[1..] {
                    match kv.split_once('=') {
                        Some(("ptrbits", v)) => r.ptrbits = num(v),
                        Some(("page", v)) => r.page = num(v),
                        _ => {}
                    }
                }
            }
            "OBJ" => {
                assert_eq!(num(f[1]) as usize, r.objs.len(), "{line}");
                r.objs.push(Obj {
                    bias: num(f[2]),
                    name: f[4..].join(" "),
                    phdrs: Vec::new(),
                });
            }
            "PH" => {
                let obj = &mut r.objs[num(f[1]) as usize];
                obj.phdrs.push(Ph {
                    index: num(f[2]) as usize,
                    p_type: num(f[3]),
                    flags: num(f[4]),
                    vaddr: num(f[6]),
                    filesz: num(f[7]),
                    memsz: num(f[8]),
                });
            }
            "TOUCH" => r.touches.push(Touch {
                label: f[1].to_string(),
                start: num(f[2]),
                pages: num(f[3]),
                stride: num(f[4]),
            }),
            "MERGE" => {
                r.merge = Some(Merge {
                    start: num(f[1]),
                    len: num(f[2]),
                    line_start: num(f[3]),
                    line_end: num(f[4]),
                })
            }
            "VDSO" => r.vdso = Some(num(f[1])),
            "NOTE" => r.notes.push(line.clone()),
            _ => {}
        }
    }
    assert!(
        r.page > 0 && !r.objs.is_empty(),
        "incomplete report:\n{}",
        lines.join("\n")
    );
    r
}

// ---------------------------------------------------------------- /proc

#[derive(Debug)]
pub struct MapLine {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub dev: String,
    pub inode: u64,
    pub path: Option<String>,
    pub text: String,
}

fn read_maps(pid: u32) -> Vec<MapLine> {
    parse_maps(&std::fs::read(format!("/proc/{pid}/maps")).unwrap())
}

/// Parses the text of a maps file (names with spaces kept; trailing padding dropped).
pub fn parse_maps(text: &[u8]) -> Vec<MapLine> {
    String::from_utf8_lossy(text)
        .lines()
        .map(|l| {
            // start-end perms offset dev inode [spaces name]
            let mut rest = l;
            let mut field = || {
                let t = rest.trim_start_matches(' ');
                let n = t.find(' ').unwrap_or(t.len());
                rest = &t[n..];
                &t[..n]
            };
            let (s, e) = field().split_once('-').unwrap();
            let perms = field().to_string();
            let offset = u64::from_str_radix(field(), 16).unwrap();
            let dev = field().to_string();
            let inode = field().parse().unwrap();
            let name = rest.trim_start_matches(' ');
            MapLine {
                start: u64::from_str_radix(s, 16).unwrap(),
                end: u64::from_str_radix(e, 16).unwrap(),
                perms,
                offset,
                dev,
                inode,
                path: (!name.is_empty()).then(|| name.to_string()),
                text: l.to_string(),
            }
        })
        .collect()
}

/// Whether each page of [start, end) is resident as smaps counts Rss: present (bit
/// 63) and not the shared zero page, which smaps leaves out of Rss. The zero page is
/// recognised by its PFN (bits 0-54), visible only with CAP_SYS_ADMIN; without it,
/// `None` says the zero page could not be told apart.
pub fn present_pages(pagemap: &File, start: u64, end: u64, page: u64) -> Vec<bool> {
    resident_pages(pagemap, start, end, page)
        .iter()
        .map(|p| p.is_some())
        .collect()
}

/// Like [`present_pages`], with for each resident page whether it is mapped by this
/// process only (bit 56, "exclusively mapped": what smaps counts as private).
pub fn resident_pages(pagemap: &File, start: u64, end: u64, page: u64) -> Vec<Option<bool>> {
    let zero = zero_pfn();
    let n = ((end - start) / page) as usize;
    let mut buf = vec![0u8; n * 8];
    pagemap.read_exact_at(&mut buf, start / page * 8).unwrap();
    buf.chunks_exact(8)
        .map(|c| {
            let e = u64::from_le_bytes(c.try_into().unwrap());
            let resident = e >> 63 == 1 && zero.is_none_or(|z| e & ((1 << 55) - 1) != z);
            resident.then_some(e & (1 << 56) != 0)
        })
        .collect()
}

/// PFN of the shared zero page (read a fresh anonymous page of this test process and
/// look it up in /proc/self/pagemap), or None when PFNs are hidden (not root).
pub fn zero_pfn() -> Option<u64> {
    static ZERO: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *ZERO.get_or_init(|| {
        let page = 4096usize;
        // SAFETY: one private anonymous page, read once and unmapped.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            let _ = std::ptr::read_volatile(p as *const u8);
            let mut e = [0u8; 8];
            File::open("/proc/self/pagemap")
                .unwrap()
                .read_exact_at(&mut e, (p as u64 / page as u64) * 8)
                .unwrap();
            libc::munmap(p, page);
            let pfn = u64::from_le_bytes(e) & ((1 << 55) - 1);
            (pfn != 0).then_some(pfn)
        }
    })
}

// ---------------------------------------------------------------- elfmaps

#[derive(Debug, Deserialize)]
pub struct JRegion {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub dev: String,
    pub inode: u64,
    pub path: Option<String>,
    pub object: Option<String>,
    pub instance: Option<usize>,
    pub kind: String,
    pub segment: Option<usize>,
    pub size: u64,
    pub rss: Option<u64>,
    pub shared_clean: Option<u64>,
    pub shared_dirty: Option<u64>,
    pub private_clean: Option<u64>,
    pub private_dirty: Option<u64>,
    pub split: bool,
}

#[derive(Debug, Deserialize)]
pub struct JObject {
    pub index: usize,
    pub path: String,
    pub bias: u64,
    #[serde(rename = "type")]
    pub e_type: String,
    pub machine: Option<String>,
    pub class: u64,
    pub endian: Option<String>,
    pub dev: String,
    pub inode: u64,
    pub span_start: u64,
    pub span_end: u64,
    pub problem: Option<String>,
}

pub struct Elfmaps {
    pub regions: Vec<JRegion>,
    pub objects: Vec<JObject>,
}

const REGION_KEYS: &[&str] = &[
    "start",
    "end",
    "perms",
    "offset",
    "dev",
    "inode",
    "path",
    "object",
    "instance",
    "kind",
    "segment",
    "size",
    "rss",
    "pss",
    "swap",
    "shared_clean",
    "shared_dirty",
    "private_clean",
    "private_dirty",
    "split",
];
const OBJECT_KEYS: &[&str] = &[
    "index",
    "path",
    "build_id",
    "bias",
    "type",
    "machine",
    "class",
    "endian",
    "dev",
    "inode",
    "span_start",
    "span_end",
];

fn run_elfmaps(pid: u32, page: u64) -> Elfmaps {
    let v = elfmaps_value(&["map", "--json", &pid.to_string()]);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["pid"], pid);
    assert_eq!(v["page_size"], page);
    assert_eq!(v["source"], "smaps");
    parse_elfmaps(&v)
}

/// Checks the keys every `elfmaps map --json` document has, and reads its regions and objects.
pub fn parse_elfmaps(v: &Value) -> Elfmaps {
    assert!(v["totals"].is_object(), "no totals");
    for w in v["warnings"].as_array().expect("no warnings array") {
        assert!(w["message"].is_string() && (w["object"].is_null() || w["object"].is_string()));
    }
    let has_keys = |kind: &str, keys: &[&str], list: &Value| {
        for item in list.as_array().unwrap_or_else(|| panic!("no {kind} array")) {
            for k in keys {
                assert!(item.get(k).is_some(), "{kind} without {k:?}: {item}");
            }
        }
    };
    has_keys("regions", REGION_KEYS, &v["regions"]);
    has_keys("objects", OBJECT_KEYS, &v["objects"]);
    Elfmaps {
        regions: serde_json::from_value(v["regions"].clone()).unwrap(),
        objects: serde_json::from_value(v["objects"].clone()).unwrap(),
    }
}

// ---------------------------------------------------------------- checks

/// Collected failures, so one run reports all of them.
#[derive(Default)]
pub struct Failures(pub Vec<String>);

impl Failures {
    pub fn check(&mut self, ok: bool, msg: impl FnOnce() -> String) {
        if !ok {
            self.0.push(msg());
        }
    }
}

fn pagedown(a: u64, p: u64) -> u64 {
    a & !(p - 1)
}
fn pageup(a: u64, p: u64) -> u64 {
    pagedown(a + p - 1, p)
}

fn find<T>(items: &[T], addr: u64, range: impl Fn(&T) -> (u64, u64)) -> Option<&T> {
    let i = items.partition_point(|x| range(x).1 <= addr);
    items.get(i).filter(|x| range(x).0 <= addr)
}

pub struct Ctx<'a> {
    pub page: u64,
    pub maps: &'a [MapLine],
    pub em: &'a Elfmaps,
}

impl Ctx<'_> {
    pub fn line(&self, addr: u64) -> Option<&MapLine> {
        find(self.maps, addr, |l| (l.start, l.end))
    }
    pub fn region(&self, addr: u64) -> Option<&JRegion> {
        find(&self.em.regions, addr, |r| (r.start, r.end))
    }
}

/// 1. Regions are sorted, non-overlapping, and tile exactly the maps lines.
pub fn check_coverage(cx: &Ctx, f: &mut Failures) {
    let regions = &cx.em.regions;
    for w in regions.windows(2) {
        f.check(w[0].end <= w[1].start, || {
            format!("regions overlap or unsorted: {:?} {:?}", w[0], w[1])
        });
    }
    let mut j = 0;
    for l in cx.maps {
        let mut pos = l.start;
        while pos < l.end {
            let Some(r) = regions
                .get(j)
                .filter(|r| r.start == pos && r.end <= l.end && r.start < r.end)
            else {
                f.0.push(format!(
                    "no region starts at 0x{pos:x} inside maps line {}: {:?}",
                    l.text,
                    regions.get(j)
                ));
                return;
            };
            let offset = if l.inode != 0 {
                l.offset + (r.start - l.start)
            } else {
                l.offset
            };
            let split = r.start != l.start || r.end != l.end;
            f.check(
                r.perms == l.perms
                    && r.offset == offset
                    && r.dev == l.dev
                    && r.inode == l.inode
                    && r.path == l.path
                    && r.size == r.end - r.start
                    && r.split == split,
                || format!("region {r:?} does not match maps line {} (offset 0x{offset:x}, split {split})", l.text),
            );
            pos = r.end;
            j += 1;
        }
    }
    f.check(j == regions.len(), || {
        format!("regions past the maps lines: {:?}", &regions[j..])
    });
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Label {
    kind: &'static str,
    segment: Option<usize>,
}

/// Expected label of every page in the object's span, from its program headers.
fn layout(obj: &Obj, p: u64) -> BTreeMap<u64, Label> {
    let mut pages = BTreeMap::new();
    for ph in obj
        .phdrs
        .iter()
        .filter(|ph| ph.p_type == PT_LOAD && ph.memsz > 0)
    {
        let b = obj.bias.wrapping_add(ph.vaddr);
        let file_end = pageup(b + ph.filesz, p);
        for a in (pagedown(b, p)..pageup(b + ph.memsz, p)).step_by(p as usize) {
            let kind = if ph.flags & PF_W != 0 {
                if a < file_end { "data" } else { "bss" }
            } else if ph.flags & PF_X != 0 {
                "text"
            } else {
                "rodata"
            };
            pages.insert(
                a,
                Label {
                    kind,
                    segment: Some(ph.index),
                },
            );
        }
    }
    for ph in obj.phdrs.iter().filter(|ph| ph.p_type == PT_GNU_RELRO) {
        let b = obj.bias.wrapping_add(ph.vaddr);
        for (_, l) in pages.range_mut(pagedown(b, p)..pagedown(b + ph.memsz, p)) {
            if l.kind == "data" || l.kind == "bss" {
                l.kind = "relro";
            }
        }
    }
    let (&lo, _) = pages.first_key_value().expect("object without PT_LOAD");
    let hi = pages.last_key_value().map(|(a, _)| a + p).unwrap();
    for a in (lo..hi).step_by(p as usize) {
        pages.entry(a).or_insert(Label {
            kind: "gap",
            segment: None,
        });
    }
    pages
}

/// The span of an object: from its first PT_LOAD's page to the page end of its last.
pub fn span(obj: &Obj, p: u64) -> (u64, u64) {
    let pages = layout(obj, p);
    let lo = *pages.keys().next().unwrap();
    (lo, pages.keys().last().unwrap() + p)
}

/// Pages with a problem, in address order: consecutive pages with the same
/// problem are reported as one range.
fn push_ranges(f: &mut Failures, prefix: &str, bad: &[(u64, String)], p: u64) {
    let mut i = 0;
    while i < bad.len() {
        let mut j = i;
        while j + 1 < bad.len() && bad[j + 1].1 == bad[i].1 && bad[j + 1].0 == bad[j].0 + p {
            j += 1;
        }
        f.0.push(format!(
            "{prefix}: pages 0x{:x}-0x{:x}: {}",
            bad[i].0,
            bad[j].0 + p,
            bad[i].1
        ));
        i = j + 1;
    }
}

pub struct Span {
    pub path: String,
    pub start: u64,
    pub end: u64,
}

/// 2. Every page of every reported object's span has the expected kind, segment and
///    object; its entry in `objects` has the expected bias, span, `type` (`want_type`)
///    and class.
pub fn check_object(
    cx: &Ctx,
    obj: &Obj,
    want_type: &str,
    ptrbits: u64,
    f: &mut Failures,
) -> Option<Span> {
    let p = cx.page;
    let pages = layout(obj, p);
    let (lo, hi) = (
        *pages.keys().next().unwrap(),
        pages.keys().last().unwrap() + p,
    );
    let first = obj
        .phdrs
        .iter()
        .filter(|ph| ph.p_type == PT_LOAD)
        .min_by_key(|ph| ph.vaddr)
        .unwrap();
    let Some(line) = cx.line(pagedown(obj.bias.wrapping_add(first.vaddr), p)) else {
        f.0.push(format!(
            "{}: first PT_LOAD page 0x{lo:x} is not mapped",
            obj.name
        ));
        return None;
    };
    let path = line.path.clone().unwrap_or_default();
    let same_file = if obj.name.starts_with("/proc/self/fd/") {
        path.starts_with("/memfd:")
    } else {
        path.strip_suffix(" (deleted)").unwrap_or(&path) == obj.name
    };
    f.check(same_file && line.inode != 0, || {
        format!("{}: its first page is in maps line {}", obj.name, line.text)
    });
    let mut bad = Vec::new();
    let mut instances = BTreeSet::new();
    for (&a, want) in &pages {
        let Some(l) = cx.line(a) else {
            f.check(want.kind == "gap", || {
                format!("{path}: page 0x{a:x} ({want:?}) is not mapped")
            });
            continue;
        };
        let Some(r) = cx.region(a) else { continue }; // reported by check_coverage
        if r.kind != want.kind
            || r.segment != want.segment
            || r.object.as_deref() != Some(path.as_str())
        {
            bad.push((
                a,
                format!(
                    "expected kind {} segment {:?}, got kind {} segment {:?} object {:?} (region 0x{:x}-0x{:x}, maps line {})",
                    want.kind, want.segment, r.kind, r.segment, r.object, r.start, r.end, l.text
                ),
            ));
        }
        instances.insert(r.instance);
    }
    push_ranges(f, &path, &bad, p);
    f.check(instances.len() == 1, || {
        format!("{path}: pages of the span have instances {instances:?}")
    });
    if let Some(&Some(i)) = instances.iter().next() {
        match cx.em.objects.get(i) {
            Some(o) => {
                f.check(
                    o.index == i
                        && o.path == path
                        && o.bias == obj.bias
                        && o.dev == line.dev
                        && o.inode == line.inode
                        && o.span_start == lo
                        && o.span_end == hi
                        && o.e_type == want_type
                        && o.class == ptrbits,
                    || {
                        format!(
                            "{path}: objects[{i}] = {o:?}; expected bias 0x{:x} dev {} inode {} span 0x{lo:x}-0x{hi:x} type {want_type} class {ptrbits}",
                            obj.bias, line.dev, line.inode
                        )
                    },
                );
            }
            None => f.0.push(format!("{path}: instance {i} is not in objects")),
        }
    } else {
        f.0.push(format!("{path}: no instance on its pages: {instances:?}"));
    }
    Some(Span {
        path,
        start: lo,
        end: hi,
    })
}

/// Regions outside every object span get their kind from the maps name.
pub fn check_names(cx: &Ctx, spans: &[Span], vdso: Option<u64>, f: &mut Failures) {
    for r in &cx.em.regions {
        if spans.iter().any(|s| r.start < s.end && s.start < r.end) {
            continue;
        }
        let want = match (r.path.as_deref(), r.inode) {
            (Some("[heap]"), _) => "heap",
            (Some("[stack]"), _) => "stack",
            (Some("[vdso]"), _) => "vdso",
            (Some("[vvar]" | "[vvar_vclock]"), _) => "vvar",
            (Some("[vsyscall]"), _) => "vsyscall",
            (None, 0) => "anon",
            _ => continue,
        };
        f.check(
            r.kind == want && r.object.is_none() && r.instance.is_none() && r.segment.is_none(),
            || format!("region {r:?}: expected kind {want}, no object"),
        );
    }
    if let Some(a) = vdso {
        let kind = cx.region(a).map(|r| r.kind.as_str());
        f.check(kind == Some("vdso"), || {
            format!("vdso at 0x{a:x} has kind {kind:?}")
        });
    }
}

/// 3. The anonymous pages merged with an object's bss are split off at the span end.
fn check_merge(cx: &Ctx, m: &Merge, spans: &[Span], f: &mut Failures) {
    let Some(span) = spans.iter().find(|s| s.end == m.start) else {
        f.0.push(format!(
            "MERGE at 0x{:x}: no object span ends there",
            m.start
        ));
        return;
    };
    let line = cx.line(m.start - 1);
    f.check(
        line.is_some_and(|l| {
            l.start == m.line_start
                && l.end == m.line_end
                && l.start < m.start
                && l.end >= m.start + m.len
        }),
        || {
            format!(
                "MERGE {m:?}: maps line at the span end is {:?}",
                line.map(|l| &l.text)
            )
        },
    );
    let before = cx.region(m.start - 1);
    f.check(
        before.is_some_and(|r| {
            r.end == m.start
                && r.kind == "bss"
                && r.object.as_deref() == Some(&span.path)
                && r.split
        }),
        || {
            format!(
                "MERGE: region before the span end 0x{:x}: {before:?}",
                m.start
            )
        },
    );
    let after = cx.region(m.start);
    f.check(
        after.is_some_and(|r| r.start == m.start && r.end == m.line_end && r.split),
        || {
            format!(
                "MERGE: region after the span end 0x{:x}: {after:?}",
                m.start
            )
        },
    );
    for a in (m.start..m.line_end).step_by(cx.page as usize) {
        let r = cx.region(a);
        f.check(
            r.is_some_and(|r| {
                r.kind == "anon"
                    && r.object.is_none()
                    && r.instance.is_none()
                    && r.segment.is_none()
            }),
            || format!("MERGE: page 0x{a:x} after the span end: {r:?}"),
        );
    }
    // Both parts hold only pages this process wrote and maps alone: the line is all
    // private dirty, and so is each part (check_rss ties the figure to pagemap).
    for r in [before, after].into_iter().flatten() {
        f.check(
            r.private_dirty.is_some() && r.private_dirty == r.rss,
            || format!("MERGE: part {r:?} has no private_dirty equal to its rss"),
        );
    }
}

/// 4. rss of each region == pages present in pagemap.  5. Touched pages are counted.
/// 6. A known clean/dirty breakdown adds up to rss; for the parts of a split line
///    (where elfmaps derives it, smaps having it only per line) its private part is
///    the pages pagemap says are mapped by this process only.
fn check_rss(cx: &Ctx, pid: u32, touches: &[Touch], f: &mut Failures) {
    let p = cx.page;
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
    for r in &cx.em.regions {
        if matches!(r.kind.as_str(), "vvar" | "vdso" | "vsyscall") {
            continue;
        }
        let pages = resident_pages(&pagemap, r.start, r.end, p);
        let present = pages.iter().filter(|b| b.is_some()).count() as u64;
        if let (Some(sc), Some(sd), Some(pc), Some(pd), Some(rss)) = (
            r.shared_clean,
            r.shared_dirty,
            r.private_clean,
            r.private_dirty,
            r.rss,
        ) {
            f.check(sc + sd + pc + pd == rss, || {
                format!(
                    "region 0x{:x} {}: breakdown {sc}+{sd}+{pc}+{pd} != rss {rss}",
                    r.start, r.kind
                )
            });
            let exclusive = pages.iter().filter(|b| **b == Some(true)).count() as u64;
            f.check(!r.split || zero_pfn().is_none() || pc + pd == exclusive * p, || {
                format!(
                    "split region 0x{:x} {}: private {} != {exclusive} exclusive pages in pagemap",
                    r.start,
                    r.kind,
                    pc + pd
                )
            });
        }
        // Without visible PFNs the zero page counts as present here but not in smaps.
        let ok = if zero_pfn().is_some() {
            r.rss == Some(present * p)
        } else {
            r.rss.is_some_and(|rss| rss <= present * p)
        };
        f.check(ok, || {
            format!(
                "region 0x{:x}-0x{:x} {} {:?}: rss {:?}, pagemap has {present} pages present ({} bytes)",
                r.start, r.end, r.kind, r.path, r.rss, present * p
            )
        });
    }
    for t in touches {
        let want = if t.label == "merge" { "anon" } else { "bss" };
        // touched pages per region, by region start
        let mut regions: BTreeMap<u64, (&JRegion, u64)> = BTreeMap::new();
        for a in (0..t.pages).map(|i| t.start + i * t.stride) {
            let present = present_pages(&pagemap, a, a + p, p)[0];
            f.check(present, || {
                format!("touched page 0x{a:x} ({}) not present", t.label)
            });
            match cx.region(a) {
                Some(r) if r.kind == want => regions.entry(r.start).or_insert((r, 0)).1 += 1,
                r => f.0.push(format!(
                    "touched page 0x{a:x} ({}): expected kind {want}, got {r:?}",
                    t.label
                )),
            }
        }
        for (r, n) in regions.values() {
            f.check(r.rss.unwrap_or(0) >= n * p, || {
                format!(
                    "region 0x{:x}-0x{:x}: rss {:?} < {n} touched pages ({})",
                    r.start, r.end, r.rss, t.label
                )
            });
        }
    }
}

/// Runs elfmaps and parses its JSON output, asserting success.
fn elfmaps_value(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_elfmaps"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "elfmaps {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("elfmaps printed invalid JSON")
}

/// An offline `elfmaps map --json`: no pid.
fn elfmaps_json(args: &[&str]) -> Elfmaps {
    let v = elfmaps_value(args);
    assert!(v["pid"].is_null(), "offline output has a pid");
    parse_elfmaps(&v)
}

/// Offline analysis of the same process (issue: offline analysis for boards) gives the
/// labels of the live run, which the checks above tied to ground truth:
/// - its smaps saved and analysed against a sysroot copy of its files: same labels,
///   smaps' figures for whole lines, rss null for the parts of split lines;
/// - a snapshot (smaps, residency, build IDs) against the same sysroot: same labels and
///   the same rss everywhere.
///
/// The sysroot is built from /proc/PID/map_files, so it holds exactly the mapped
/// files, the deleted library included. A memfd has no path in a sysroot: its lines
/// must come out as shared memory of no object, and its anonymous bss as anon.
fn check_offline(cx: &Ctx, pid: u32, tmp: &Path, f: &mut Failures) {
    let root = tmp.join("sysroot");
    for m in cx.maps.iter().filter(|m| m.inode != 0) {
        let Some(path) = m
            .path
            .as_deref()
            .filter(|p| p.starts_with('/') && !p.starts_with("/memfd:"))
        else {
            continue;
        };
        let dest = root.join(
            path.strip_suffix(" (deleted)")
                .unwrap_or(path)
                .trim_start_matches('/'),
        );
        if dest.exists() {
            continue;
        }
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let src = format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end);
        if let Err(e) = std::fs::copy(&src, &dest) {
            note(&format!(
                "offline check skipped (needs root for map_files): {src}: {e}"
            ));
            return;
        }
    }
    let smaps = tmp.join("saved.smaps");
    std::fs::write(&smaps, std::fs::read(format!("/proc/{pid}/smaps")).unwrap()).unwrap();
    let snap = tmp.join("saved.snap");
    let out = Command::new(env!("CARGO_BIN_EXE_elfmaps"))
        .args(["snapshot", &pid.to_string(), "-o", snap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "snapshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sysroot = root.to_str().unwrap();
    let saved = elfmaps_json(&[
        "map",
        "--json",
        "--smaps",
        smaps.to_str().unwrap(),
        "--sysroot",
        sysroot,
    ]);
    let snapped = elfmaps_json(&[
        "map",
        "--json",
        "--snapshot",
        snap.to_str().unwrap(),
        "--sysroot",
        sysroot,
    ]);
    for (what, off) in [("saved smaps", &saved), ("snapshot", &snapped)] {
        f.check(off.regions.len() >= cx.em.regions.len() - 8, || {
            format!(
                "{what}: {} regions, live {}",
                off.regions.len(),
                cx.em.regions.len()
            )
        });
        for live in &cx.em.regions {
            let Some(r) = off.regions.iter().find(|r| r.start == live.start) else {
                // A memfd object's bss merges back into its anonymous neighbour.
                if !live
                    .object
                    .as_deref()
                    .is_some_and(|o| o.starts_with("/memfd:"))
                {
                    f.0.push(format!(
                        "{what}: no region at 0x{:x} ({})",
                        live.start, live.kind
                    ));
                }
                continue;
            };
            if live
                .object
                .as_deref()
                .is_some_and(|o| o.starts_with("/memfd:"))
            {
                // Its lines are shared memory by name (shm); its bss is plain anon.
                f.check(
                    matches!(r.kind.as_str(), "shm" | "anon") && r.object.is_none(),
                    || {
                        format!(
                            "{what}: memfd region 0x{:x} is {} {:?} (want shm or anon, no object)",
                            r.start, r.kind, r.object
                        )
                    },
                );
                continue;
            }
            let same = (r.end, &r.kind, r.segment, &r.object)
                == (live.end, &live.kind, live.segment, &live.object);
            f.check(same, || {
                format!("{what}: region 0x{:x}: {r:?}\n  live: {live:?}", r.start)
            });
            // A split line's parts have no rss without pagemap, unless the line
            // has none at all.
            let line_rss_is_zero = || {
                let l = cx.line(r.start).unwrap();
                cx.em
                    .regions
                    .iter()
                    .filter(|x| x.start >= l.start && x.end <= l.end)
                    .all(|x| x.rss == Some(0))
            };
            let want_rss = if what == "saved smaps" && r.split && !line_rss_is_zero() {
                None
            } else {
                live.rss
            };
            f.check(r.rss == want_rss, || {
                format!(
                    "{what}: region 0x{:x} {}: rss {:?}, want {want_rss:?}",
                    r.start, r.kind, r.rss
                )
            });
        }
    }
}

/// `elfmaps summary --json` (issue: summaries): for every object the loader reports,
/// the size of each kind is its mapped pages of that kind per the program headers,
/// and the rss is the resident ones among them per pagemap (zero page excluded).
fn check_summary(cx: &Ctx, pid: u32, report: &Report, f: &mut Failures) {
    let out = Command::new(env!("CARGO_BIN_EXE_elfmaps"))
        .args(["summary", "--json", &pid.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "summary: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    let rows = v["rows"].as_array().unwrap();
    let p = cx.page;
    let pagemap = File::open(format!("/proc/{pid}/pagemap")).unwrap();
    for obj in &report.objs {
        let pages = layout(obj, p);
        let Some(first) = pages.keys().next() else {
            continue;
        };
        // The object's name in elfmaps' output (its maps path).
        let Some(name) = cx.region(*first).and_then(|r| r.object.clone()) else {
            f.0.push(format!("summary: no object at 0x{first:x} ({})", obj.name));
            continue;
        };
        let mut want: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for (&a, label) in &pages {
            if cx.line(a).is_none() {
                continue; // a hole the kernel left unmapped
            }
            let e = want.entry(label.kind).or_default();
            e.0 += p;
            if present_pages(&pagemap, a, a + p, p)[0] {
                e.1 += p;
            }
        }
        for (kind, (size, rss)) in want {
            let row = rows
                .iter()
                .find(|r| r["object"] == name.as_str() && r["kind"] == kind);
            let got = row.map(|r| (r["size"].as_u64(), r["rss"].as_u64()));
            f.check(got == Some((Some(size), Some(rss))), || {
                format!("summary: {name} {kind}: got {got:?}, want size {size} rss {rss}")
            });
        }
    }
    // The process total is the sum of the rows.
    let sum: u64 = rows.iter().map(|r| r["size"].as_u64().unwrap()).sum();
    f.check(Some(sum) == v["totals"]["size"].as_u64(), || {
        format!("summary: rows add up to {sum}, totals {}", v["totals"])
    });
}

/// Prints past the test harness's output capture.
pub fn note(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: {msg}");
}

/// Builds, runs and checks one variant; skips (with a note) when its toolchain is missing.
pub fn run_variant(v: &Variant) {
    let tmp = tempfile::tempdir().unwrap();
    if let Err(why) = toolchain_works(v, tmp.path()) {
        note(&format!("skipping variant {}: {why}", v.name));
        return;
    }
    let (exe, libdir) = build(v, tmp.path());
    let (shapes, lines) = Shapes::start(&exe, &libdir, tmp.path());
    let pid = shapes.pid();
    let report = parse_report(&lines);
    let em = run_elfmaps(pid, report.page);
    let maps = read_maps(pid);
    let cx = Ctx {
        page: report.page,
        maps: &maps,
        em: &em,
    };

    let mut f = Failures::default();
    check_coverage(&cx, &mut f);
    let mut spans = Vec::new();
    for (i, obj) in report.objs.iter().enumerate() {
        let want_type = if i == 0 && v.exe_is_exec {
            "EXEC"
        } else {
            "DYN"
        };
        spans.extend(check_object(&cx, obj, want_type, report.ptrbits, &mut f));
    }
    check_names(&cx, &spans, report.vdso, &mut f);
    match &report.merge {
        Some(m) => check_merge(&cx, m, &spans, &mut f),
        // A static executable's bss end can touch a randomised brk start (rarely).
        None if v.static_exe && report.notes.iter().any(|n| n.contains("File exists")) => {
            note(&format!(
                "variant {}: merge check skipped: {:?}",
                v.name, report.notes
            ))
        }
        None => {
            f.0.push(format!("shapes reported no MERGE: {:?}", report.notes))
        }
    }
    check_rss(&cx, pid, &report.touches, &mut f);
    check_offline(&cx, pid, tmp.path(), &mut f);
    check_summary(&cx, pid, &report, &mut f);
    let want_objs = if v.static_exe { 1 } else { 8 };
    f.check(report.objs.len() >= want_objs, || {
        format!("only {} objects reported", report.objs.len())
    });
    shapes.finish();

    if !f.0.is_empty() {
        panic!(
            "variant {}: {} failures:\n{}\n\nshapes report:\n{}\n\nmaps:\n{}",
            v.name,
            f.0.len(),
            f.0.join("\n"),
            lines
                .iter()
                .filter(|l| !l.starts_with("PH "))
                .cloned()
                .collect::<Vec<_>>()
                .join("\n"),
            maps.iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

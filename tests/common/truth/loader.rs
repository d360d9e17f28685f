//! What the loader says: the report that testdata/shapes/shapes.c and
//! testdata/cross/cross.c print from dl_iterate_phdr (testdata/shapes/README.md), and
//! the label each page of an object gets from its program headers
//! (docs/labelling.md), worked out here independently of elfmaps.

use std::collections::BTreeMap;

const PT_LOAD: u64 = 1;
const PT_GNU_RELRO: u64 = 0x6474_e552;
const PF_X: u64 = 1;
const PF_W: u64 = 2;

/// One program header of a loaded object.
#[derive(Debug)]
pub struct Ph {
    /// Its index in the program header table.
    pub index: usize,
    /// `p_type`.
    pub p_type: u64,
    /// `p_flags`.
    pub flags: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
}

/// One loaded object.
#[derive(Debug)]
pub struct Obj {
    /// Load bias.
    pub bias: u64,
    /// As the loader reports it (dl_iterate_phdr), or the executable's realpath.
    pub name: String,
    /// Its program headers.
    pub phdrs: Vec<Ph>,
}

/// Pages the program touched in a bss (or, label `merge`, in anonymous memory).
#[derive(Debug)]
pub struct Touch {
    /// What was touched.
    pub label: String,
    /// First page.
    pub start: u64,
    /// How many pages.
    pub pages: u64,
    /// Distance between touched pages.
    pub stride: u64,
}

/// Anonymous pages the program mapped right after an object's bss.
#[derive(Debug)]
pub struct Merge {
    /// Their start (the end of the object's span).
    pub start: u64,
    /// Their length.
    pub len: u64,
    /// The maps line they were merged into.
    pub line_start: u64,
    /// Its end.
    pub line_end: u64,
}

/// The whole report.
#[derive(Debug, Default)]
pub struct Report {
    /// 32 or 64.
    pub ptrbits: u64,
    /// The page size.
    pub page: u64,
    /// Loaded objects; the executable first.
    pub objs: Vec<Obj>,
    /// Touched pages.
    pub touches: Vec<Touch>,
    /// The merge experiment, if it was done.
    pub merge: Option<Merge>,
    /// Address of the vDSO.
    pub vdso: Option<u64>,
    /// `NOTE` lines (things the program could not do).
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

/// `a` rounded down to a multiple of the page size `p`.
pub fn pagedown(a: u64, p: u64) -> u64 {
    a & !(p - 1)
}

/// `a` rounded up to a multiple of the page size `p`.
pub fn pageup(a: u64, p: u64) -> u64 {
    pagedown(a + p - 1, p)
}

/// The label of one page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    /// `text`, `rodata`, `data`, `relro`, `bss` or `gap`.
    pub kind: &'static str,
    /// The program header it comes from (none for a gap).
    pub segment: Option<usize>,
}

/// The expected label of every page in the object's span, from its program headers.
pub fn expected_pages(obj: &Obj, p: u64) -> BTreeMap<u64, Label> {
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
    let pages = expected_pages(obj, p);
    let lo = *pages.keys().next().unwrap();
    (lo, pages.keys().last().unwrap() + p)
}

/// The first PT_LOAD (by address) of an object.
pub fn first_load(obj: &Obj) -> &Ph {
    obj.phdrs
        .iter()
        .filter(|ph| ph.p_type == PT_LOAD)
        .min_by_key(|ph| ph.vaddr)
        .expect("object without PT_LOAD")
}

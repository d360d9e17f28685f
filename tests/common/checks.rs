//! Checks of an `elfmaps map --json` report against ground truth (tests/common/truth):
//! coverage of the maps lines, the labels of every object's pages, the kinds of
//! named and anonymous regions, the split of merged lines, rss against pagemap, and
//! that every byte is either right or not an ELF kind (offline, with stale files).
//! Each check adds to [`Failures`], so one run reports all that is wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;

use super::cli::Warning;
use super::report::{Elfmaps, JRegion};
use super::truth::kernel::{MapLine, present_pages, resident_pages, zero_pfn};
use super::truth::loader::{
    Label, Merge, Obj, Report, Touch, expected_pages, first_load, pagedown,
};

/// Collected failures, so one run reports all of them.
#[derive(Default)]
pub struct Failures(pub Vec<String>);

impl Failures {
    /// Adds `msg()` when `ok` is false.
    pub fn check(&mut self, ok: bool, msg: impl FnOnce() -> String) {
        if !ok {
            self.0.push(msg());
        }
    }
}

fn find<T>(items: &[T], addr: u64, range: impl Fn(&T) -> (u64, u64)) -> Option<&T> {
    let i = items.partition_point(|x| range(x).1 <= addr);
    items.get(i).filter(|x| range(x).0 <= addr)
}

/// What the checks compare: the page size, the maps, elfmaps' report.
pub struct Ctx<'a> {
    pub page: u64,
    pub maps: &'a [MapLine],
    pub em: &'a Elfmaps,
}

impl Ctx<'_> {
    /// The maps line holding `addr`.
    pub fn line(&self, addr: u64) -> Option<&MapLine> {
        find(self.maps, addr, |l| (l.start, l.end))
    }
    /// The region holding `addr`.
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

/// The span of one object, named by its maps path.
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
    let pages = expected_pages(obj, p);
    let (lo, hi) = (
        *pages.keys().next().unwrap(),
        pages.keys().last().unwrap() + p,
    );
    let first = first_load(obj);
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
            // Inaccessible: the guard right below a stack, else reserved address
            // space (issue 20).
            (None, 0) if r.perms.starts_with("---") && r.perms.ends_with('p') => {
                let below_a_stack = cx.em.regions.iter().any(|s| {
                    s.start == r.end
                        && (s.path.as_deref() == Some("[stack]") || s.kind == "thread_stack")
                });
                if below_a_stack { "guard" } else { "reserved" }
            }
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
pub fn check_merge(cx: &Ctx, m: &Merge, spans: &[Span], f: &mut Failures) {
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
pub fn check_rss(cx: &Ctx, pid: u32, touches: &[Touch], f: &mut Failures) {
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

/// Every object the loader reported has its labels on every page (and the objects'
/// list its bias, span and type, `type_of` it), after the coverage of every maps
/// line; no other byte has an ELF kind it should not. Live (`Some(pid)`), every
/// region's rss is also checked against pagemap.
pub fn check_loaded(
    cx: &Ctx,
    report: &Report,
    live: Option<u32>,
    type_of: &dyn Fn(&Obj) -> &'static str,
    f: &mut Failures,
) {
    check_coverage(cx, f);
    for obj in &report.objs {
        check_object(cx, obj, type_of(obj), report.ptrbits, f);
    }
    check_right_or_not_elf(cx, &report.objs, f);
    if let Some(pid) = live {
        check_rss(cx, pid, &[], f);
    }
}

/// No warning says that a file does not fit its maps (or that its text was replaced).
pub fn check_no_mismatch(warnings: &[Warning], f: &mut Failures) {
    for w in warnings {
        f.check(
            !matches!(
                w.code.as_str(),
                "layout-mismatch" | "unexplained-file" | "abi-mismatch" | "text-replaced"
            ),
            || format!("warning {w:?}"),
        );
    }
}

/// The kinds that come from an object's program headers. Every other kind (`unknown`,
/// `anon`, `file`, ...) says less, but never something false about an object.
pub const ELF_KINDS: &[&str] = &["text", "rodata", "data", "relro", "bss", "gap"];

/// The maps path of the object: that of the line holding its first PT_LOAD page.
pub fn object_path(cx: &Ctx, obj: &Obj) -> Option<String> {
    let first = pagedown(obj.bias.wrapping_add(first_load(obj).vaddr), cx.page);
    cx.line(first)?.path.clone()
}

/// 7. Every byte is either right or not an ELF kind: each page of a region labelled
///    with an [`ELF_KINDS`] kind lies in the span of an object the loader reported
///    (`objs`), and has the kind and segment its program headers give it there, and
///    that object's maps path as `object`. Pages labelled with other kinds are not
///    checked here.
pub fn check_right_or_not_elf(cx: &Ctx, objs: &[Obj], f: &mut Failures) {
    let p = cx.page;
    let mut truth: BTreeMap<u64, (Label, String)> = BTreeMap::new();
    for obj in objs {
        let path = object_path(cx, obj).unwrap_or_else(|| obj.name.clone());
        for (a, l) in expected_pages(obj, p) {
            truth.insert(a, (l, path.clone()));
        }
    }
    let mut bad = Vec::new();
    for r in cx
        .em
        .regions
        .iter()
        .filter(|r| ELF_KINDS.contains(&r.kind.as_str()))
    {
        for a in (pagedown(r.start, p)..r.end).step_by(p as usize) {
            let got = format!(
                "{} segment {:?} of {:?} (region 0x{:x}-0x{:x} {})",
                r.kind, r.segment, r.object, r.start, r.end, r.perms
            );
            match truth.get(&a) {
                None => bad.push((a, format!("labelled {got}, but no loaded object is there"))),
                Some((want, path))
                    if want.kind != r.kind
                        || want.segment != r.segment
                        || r.object.as_deref() != Some(path.as_str()) =>
                {
                    bad.push((
                        a,
                        format!(
                            "labelled {got}; the loader says {} segment {:?} of {path}",
                            want.kind, want.segment
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    push_ranges(f, "wrong label", &bad, p);
}

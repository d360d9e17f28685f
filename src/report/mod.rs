//! The report: the one data structure every output (table, JSON, later summaries,
//! budgets and diffs) is a view of, and its JSON wire form.
//!
//! Built from the parsed mappings and the [`Attribution`] by [`build`], with no I/O.
//! Figures are bytes. A region that is a whole maps line keeps smaps' figures
//! exactly; a part of a split line gets rss and swap counted from pagemap (exact), pss
//! prorated by that rss (the parts add up to the line's pss). pagemap cannot tell clean
//! from dirty, so a part's clean/dirty breakdown is given only where the line's own
//! figures force it: a category that is 0 on the line is 0 in every part, and a
//! category that holds all of the line's rss (an anonymous line is usually all
//! `private_dirty`) holds all of each part's rss. Otherwise it is null. The same goes
//! for `anonymous` (against rss), `locked` (against pss) and `swap_pss` (against swap);
//! a line with no rss (or no swap) gives 0 to every part even without pagemap.

use serde::{Deserialize, Serialize};

use crate::input::maps::Mapping;
use crate::label::{Attribution, Kind};
use crate::vocab::names::lossy;
pub use crate::vocab::{Figures, Warning};

/// Bumped on any incompatible change of the JSON below.
pub const SCHEMA_VERSION: u32 = 1;

/// One region of the report. Serialised by hand (below) as one flat object:
/// `#[serde(flatten)]` would go through a map serializer, measurably slower over
/// thousands of regions.
#[derive(Debug, Clone)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    /// File offset of `start` (0 for anonymous memory).
    pub offset: u64,
    pub dev: String,
    pub inode: u64,
    /// The maps name as printed (lossy UTF-8), or null.
    pub path: Option<String>,
    /// The name's bytes, only when it is not valid UTF-8.
    pub path_bytes: Option<Vec<u8>>,
    /// The maps path of the owning ELF object.
    pub object: Option<String>,
    /// Index into [`Report::objects`].
    pub instance: Option<usize>,
    pub kind: Kind,
    /// Program header index of the PT_LOAD, as `readelf -l` numbers it.
    pub segment: Option<usize>,
    /// True when this region is a part of a maps line cut in several.
    pub split: bool,
    /// 1-based line of the maps line in the input.
    pub line: usize,
    pub figures: Figures,
}

impl Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let f = &self.figures;
        let mut m = s.serialize_struct("Region", 27)?;
        m.serialize_field("start", &self.start)?;
        m.serialize_field("end", &self.end)?;
        m.serialize_field("perms", &self.perms)?;
        m.serialize_field("offset", &self.offset)?;
        m.serialize_field("dev", &self.dev)?;
        m.serialize_field("inode", &self.inode)?;
        m.serialize_field("path", &self.path)?;
        if let Some(b) = &self.path_bytes {
            m.serialize_field("path_bytes", b)?;
        }
        m.serialize_field("object", &self.object)?;
        m.serialize_field("instance", &self.instance)?;
        m.serialize_field("kind", &self.kind)?;
        m.serialize_field("segment", &self.segment)?;
        m.serialize_field("split", &self.split)?;
        m.serialize_field("line", &self.line)?;
        m.serialize_field("size", &f.size)?;
        m.serialize_field("rss", &f.rss)?;
        m.serialize_field("pss", &f.pss)?;
        m.serialize_field("shared_clean", &f.shared_clean)?;
        m.serialize_field("shared_dirty", &f.shared_dirty)?;
        m.serialize_field("private_clean", &f.private_clean)?;
        m.serialize_field("private_dirty", &f.private_dirty)?;
        m.serialize_field("anonymous", &f.anonymous)?;
        m.serialize_field("swap", &f.swap)?;
        m.serialize_field("swap_pss", &f.swap_pss)?;
        m.serialize_field("locked", &f.locked)?;
        m.serialize_field("hugetlb", &f.hugetlb)?;
        m.end()
    }
}

/// The flat JSON form of a [`Region`], for reading saved reports back.
#[derive(Deserialize)]
struct RegionWire {
    start: u64,
    end: u64,
    perms: String,
    offset: u64,
    dev: String,
    inode: u64,
    path: Option<String>,
    #[serde(default)]
    path_bytes: Option<Vec<u8>>,
    object: Option<String>,
    instance: Option<usize>,
    kind: Kind,
    segment: Option<usize>,
    split: bool,
    line: usize,
    size: u64,
    rss: Option<u64>,
    pss: Option<u64>,
    shared_clean: Option<u64>,
    shared_dirty: Option<u64>,
    private_clean: Option<u64>,
    private_dirty: Option<u64>,
    anonymous: Option<u64>,
    swap: Option<u64>,
    swap_pss: Option<u64>,
    locked: Option<u64>,
    #[serde(default)]
    hugetlb: Option<u64>,
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = RegionWire::deserialize(d)?;
        Ok(Region {
            start: w.start,
            end: w.end,
            perms: w.perms,
            offset: w.offset,
            dev: w.dev,
            inode: w.inode,
            path: w.path,
            path_bytes: w.path_bytes,
            object: w.object,
            instance: w.instance,
            kind: w.kind,
            segment: w.segment,
            split: w.split,
            line: w.line,
            figures: Figures {
                size: w.size,
                rss: w.rss,
                pss: w.pss,
                shared_clean: w.shared_clean,
                shared_dirty: w.shared_dirty,
                private_clean: w.private_clean,
                private_dirty: w.private_dirty,
                anonymous: w.anonymous,
                swap: w.swap,
                swap_pss: w.swap_pss,
                locked: w.locked,
                hugetlb: w.hugetlb,
            },
        })
    }
}

/// One loaded ELF object (an instance: the same file loaded twice is two objects).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Object {
    pub index: usize,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    pub build_id: Option<String>,
    pub bias: u64,
    #[serde(rename = "type")]
    pub e_type: String,
    pub machine: String,
    pub class: u8,
    /// `little` or `big`.
    pub endian: String,
    pub dev: String,
    pub inode: u64,
    pub span_start: u64,
    pub span_end: u64,
    /// How the file was opened (`map_files`, `root`, `sysroot`), when known.
    pub opened: Option<String>,
    /// Why this object's regions are labelled `unknown`, if they are.
    pub problem: Option<String>,
    /// Figures of all the object's regions.
    pub totals: Figures,
}

/// The whole report of `elfmaps map`. It reads back what it writes
/// (`serde_json::from_slice::<Report>` of `map --json`), so saved reports are typed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub pid: Option<u32>,
    pub page_size: u64,
    /// `smaps` or `maps`: where the lines came from.
    pub source: String,
    pub regions: Vec<Region>,
    pub objects: Vec<Object>,
    pub warnings: Vec<Warning>,
    pub totals: Figures,
}

/// The figures smaps gives for one whole maps line.
fn figures_of(m: &Mapping) -> Figures {
    use crate::input::maps::known_key as k;
    let f = &m.fields;
    Figures {
        size: m.size(),
        rss: f.kb(const { k("Rss") }),
        pss: f.kb(const { k("Pss") }),
        shared_clean: f.kb(const { k("Shared_Clean") }),
        shared_dirty: f.kb(const { k("Shared_Dirty") }),
        private_clean: f.kb(const { k("Private_Clean") }),
        private_dirty: f.kb(const { k("Private_Dirty") }),
        anonymous: f.kb(const { k("Anonymous") }),
        swap: f.kb(const { k("Swap") }),
        swap_pss: f.kb(const { k("SwapPss") }),
        locked: f.kb(const { k("Locked") }),
        hugetlb: f
            .kb(const { k("Shared_Hugetlb") })
            .zip(f.kb(const { k("Private_Hugetlb") }))
            .map(|(a, b)| a + b),
    }
}

/// Per-page residency of one split maps line, from pagemap.
#[derive(Debug, Clone)]
pub struct Residency {
    /// Raw pagemap entries, one per page of the line.
    pub entries: Vec<u64>,
}

const PM_PRESENT: u64 = 1 << 63;
const PM_SWAPPED: u64 = 1 << 62;

/// Extra facts about each object for the report, in instance order.
#[derive(Debug, Clone, Default)]
pub struct ObjectExtras {
    pub opened: Option<String>,
}

/// Assembles the report. `residency(i)` gives the pagemap entries of maps line `i`
/// when it was split (`None` when they could not be read).
pub fn build(
    mappings: &[Mapping],
    attribution: &Attribution,
    page_size: u64,
    residency: &dyn Fn(usize) -> Option<Residency>,
    extras: &[ObjectExtras],
) -> (Vec<Region>, Vec<Object>, Figures) {
    let mut regions = Vec::with_capacity(attribution.regions.len());
    // The process's totals are the lines' own figures: known even where a split
    // line's parts are not. (The regions cover every maps line.)
    let mut totals = Figures::zero();
    let mut i = 0;
    let attr = &attribution.regions;
    while i < attr.len() {
        // All the regions cut from one maps line.
        let mi = attr[i].mapping;
        let mut j = i;
        while j < attr.len() && attr[j].mapping == mi {
            j += 1;
        }
        let m = &mappings[mi];
        let parts = &attr[i..j];
        let whole = figures_of(m);
        totals.add(&whole);
        let figures: Vec<Figures> = if parts.len() == 1 {
            vec![whole]
        } else {
            split_figures(m, parts, page_size, residency(mi), &whole)
        };
        let (path, path_bytes) = if m.name.is_empty() {
            (None, None)
        } else {
            let (s, b) = lossy(&m.name);
            (Some(s), b)
        };
        for (r, fig) in parts.iter().zip(figures) {
            let object = r
                .instance
                .map(|k| lossy(&attribution.instances[k].key.name).0);
            regions.push(Region {
                start: r.start,
                end: r.end,
                perms: m.perms_str(),
                offset: if m.inode != 0 {
                    m.offset + (r.start - m.start)
                } else {
                    0
                },
                dev: m.dev_str(),
                inode: m.inode,
                path: path.clone(),
                path_bytes: path_bytes.clone(),
                object,
                instance: r.instance,
                kind: r.kind,
                segment: r.segment,
                split: r.split,
                line: m.line,
                figures: fig,
            });
        }
        i = j;
    }

    let mut objects: Vec<Object> = attribution
        .instances
        .iter()
        .enumerate()
        .map(|(index, inst)| {
            let (path, path_bytes) = lossy(&inst.key.name);
            Object {
                index,
                path,
                path_bytes,
                build_id: inst.info.build_id_hex(),
                bias: inst.bias,
                e_type: inst.info.type_name(),
                machine: inst.info.machine_name(),
                class: inst.info.class,
                endian: if inst.info.little_endian {
                    "little"
                } else {
                    "big"
                }
                .to_string(),
                dev: format!("{:02x}:{:02x}", inst.key.dev_major, inst.key.dev_minor),
                inode: inst.key.inode,
                span_start: inst.span_start,
                span_end: inst.span_end,
                opened: extras.get(index).and_then(|e| e.opened.clone()),
                problem: inst.problem.as_ref().map(|p| p.message.clone()),
                totals: Figures::zero(),
            }
        })
        .collect();
    for r in &regions {
        if let Some(k) = r.instance {
            objects[k].totals.add(&r.figures);
        }
    }
    (regions, objects, totals)
}

/// Figures of the parts of one split maps line (see module docs).
fn split_figures(
    m: &Mapping,
    parts: &[crate::label::Part],
    page: u64,
    residency: Option<Residency>,
    whole: &Figures,
) -> Vec<Figures> {
    let counts: Option<Vec<(u64, u64)>> = residency.map(|res| {
        parts
            .iter()
            .map(|r| {
                let from = ((r.start - m.start) / page) as usize;
                let to = ((r.end - m.start) / page) as usize;
                let entries = res
                    .entries
                    .get(from..to.min(res.entries.len()))
                    .unwrap_or(&[]);
                let present = entries.iter().filter(|e| *e & PM_PRESENT != 0).count() as u64;
                let swapped = entries.iter().filter(|e| *e & PM_SWAPPED != 0).count() as u64;
                (present, swapped)
            })
            .collect()
    });
    let total_present: u64 = counts.iter().flatten().map(|c| c.0).sum();
    let mut out: Vec<Figures> = parts
        .iter()
        .map(|r| Figures {
            size: r.end - r.start,
            ..Figures::default()
        })
        .collect();
    if let Some(counts) = &counts {
        for (f, &(present, swapped)) in out.iter_mut().zip(counts) {
            f.rss = Some(present * page);
            f.swap = Some(swapped * page);
            f.pss = whole.pss.map(|pss| {
                if total_present == 0 {
                    0
                } else {
                    ((u128::from(pss) * u128::from(present)) / u128::from(total_present)) as u64
                }
            });
        }
        // Give the rounding remainder to the most resident part, so the parts add up
        // to the line's pss.
        if let Some(pss) = whole.pss
            && total_present > 0
        {
            let given: u64 = out.iter().filter_map(|f| f.pss).sum();
            let most = (0..counts.len()).max_by_key(|&k| counts[k].0).unwrap_or(0);
            if let Some(p) = out[most].pss.as_mut() {
                *p += pss.saturating_sub(given);
            }
        }
    }
    for f in &mut out {
        // A line with nothing resident (or swapped) has nothing in any part.
        if whole.rss == Some(0) {
            f.rss = Some(0);
        }
        if whole.pss == Some(0) {
            f.pss = Some(0);
        }
        if whole.swap == Some(0) {
            f.swap = Some(0);
        }
        let (rss, pss, swap) = (f.rss, f.pss, f.swap);
        f.shared_clean = forced(whole.shared_clean, whole.rss, rss);
        f.shared_dirty = forced(whole.shared_dirty, whole.rss, rss);
        f.private_clean = forced(whole.private_clean, whole.rss, rss);
        f.private_dirty = forced(whole.private_dirty, whole.rss, rss);
        f.anonymous = forced(whole.anonymous, whole.rss, rss);
        f.locked = forced(whole.locked, whole.pss, pss);
        f.swap_pss = forced(whole.swap_pss, whole.swap, swap);
        f.hugetlb = forced(whole.hugetlb, None, None);
    }
    out
}

/// A part's share of a figure of its line that the line forces: none when the line
/// has none, all of the part's `total` when the line's figure is all of the line's
/// `total`; unknown otherwise.
fn forced(line: Option<u64>, line_total: Option<u64>, part_total: Option<u64>) -> Option<u64> {
    match (line, line_total) {
        (Some(0), _) => Some(0),
        (Some(v), Some(t)) if v == t => part_total,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn saved_reports_read_back_byte_for_byte() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.starts_with("diff.")
                || !(name.ends_with(".map.json") || name.ends_with(".bare.json"))
            {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let report: super::Report = serde_json::from_slice(&bytes).unwrap();
            let mut again = serde_json::to_vec(&report).unwrap();
            again.push(b'\n');
            assert!(again == bytes, "{name} does not read back as written");
            n += 1;
        }
        assert!(n >= 14, "only {n} golden reports");
    }

    use super::*;
    use crate::label::Part;

    fn part(start: u64, end: u64) -> Part {
        Part {
            start,
            end,
            mapping: 0,
            kind: Kind::Anon,
            instance: None,
            segment: None,
            split: true,
        }
    }

    fn line(fields: &str) -> Mapping {
        let text = format!("1000-5000 rw-p 00000000 00:00 0 \n{fields}");
        crate::input::maps::parse(text.as_bytes())
            .unwrap()
            .remove(0)
    }

    const P: u64 = 4096;
    const PRESENT: u64 = 1 << 63;

    /// Figures of `m` (0x1000-0x5000) cut into 0x1000-0x2000 and 0x2000-0x5000.
    fn split_in_two(m: &Mapping, residency: Option<Vec<u64>>) -> Vec<Figures> {
        let whole = figures_of(m);
        let parts = [part(0x1000, 0x2000), part(0x2000, 0x5000)];
        let res = residency.map(|entries| Residency { entries });
        split_figures(m, &parts, P, res, &whole)
    }

    #[test]
    fn split_parts_get_the_breakdown_the_line_forces() {
        // All of the line's rss is private dirty: so is each part's.
        let m = line(
            "Rss: 12 kB\nPss: 12 kB\nShared_Clean: 0 kB\nShared_Dirty: 0 kB\n\
             Private_Clean: 0 kB\nPrivate_Dirty: 12 kB\nAnonymous: 12 kB\nSwap: 0 kB\n\
             SwapPss: 0 kB\nLocked: 0 kB\n",
        );
        let f = split_in_two(&m, Some(vec![PRESENT, 0, PRESENT, PRESENT]));
        assert_eq!(f[0].rss, Some(P));
        assert_eq!(f[0].private_dirty, Some(P));
        assert_eq!(f[1].private_dirty, Some(2 * P));
        assert_eq!(f[1].anonymous, Some(2 * P));
        assert_eq!((f[0].shared_clean, f[1].private_clean), (Some(0), Some(0)));
        assert_eq!((f[0].pss, f[1].pss), (Some(P), Some(2 * P)));
        assert_eq!((f[0].swap_pss, f[1].locked), (Some(0), Some(0)));
    }

    #[test]
    fn mixed_lines_leave_the_breakdown_unknown() {
        let m = line(
            "Rss: 12 kB\nPss: 8 kB\nShared_Clean: 4 kB\nShared_Dirty: 0 kB\n\
             Private_Clean: 0 kB\nPrivate_Dirty: 8 kB\n",
        );
        let f = split_in_two(&m, Some(vec![PRESENT, PRESENT, PRESENT, 0]));
        assert_eq!((f[0].shared_clean, f[0].private_dirty), (None, None));
        assert_eq!((f[1].shared_dirty, f[1].private_clean), (Some(0), Some(0)));
        assert_eq!(f[0].pss.unwrap() + f[1].pss.unwrap(), 8 * 1024);
    }

    #[test]
    fn without_pagemap_only_empty_lines_are_known() {
        let m = line("Rss: 0 kB\nPss: 0 kB\nPrivate_Dirty: 0 kB\nSwap: 0 kB\n");
        let f = split_in_two(&m, None);
        assert_eq!((f[1].rss, f[1].pss, f[1].swap), (Some(0), Some(0), Some(0)));
        assert_eq!(f[1].private_dirty, Some(0));
        let m = line("Rss: 4 kB\nPss: 4 kB\nPrivate_Dirty: 4 kB\nSwap: 0 kB\n");
        let f = split_in_two(&m, None);
        assert_eq!((f[0].rss, f[0].pss, f[0].private_dirty), (None, None, None));
        assert_eq!(f[0].swap, Some(0));
    }
}

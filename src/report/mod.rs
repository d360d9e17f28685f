//! The report: the one data structure every output (table, JSON, summaries, budgets,
//! diffs) is a view of, and its JSON wire form, which reads back as written.
//!
//! `build` assembles it from the parsed mappings and the attribution, with no I/O;
//! `build.rs` says where the figures of each region come from. Figures are bytes.

mod build;
#[cfg(feature = "cli")]
pub(crate) mod scan;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::label::Remapped;
use crate::vocab::{ElfType, Endian, Kind, MapsSource, Via};
pub(crate) use crate::vocab::{Figures, Warning};
pub(crate) use build::{ObjectExtras, build};

/// Bumped on any incompatible change of the JSON below.
pub const SCHEMA_VERSION: u32 = 1;

/// One region of the report. Serialised by hand (below) as one flat object:
/// `#[serde(flatten)]` would go through a map serializer, measurably slower over
/// thousands of regions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Region {
    /// First address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Permissions as maps prints them (`r-xp`). Shared: the regions of a process
    /// have a handful of distinct permissions, devices and names, and a string per
    /// region was most of what building a report cost (issue 10).
    pub perms: Arc<str>,
    /// File offset of `start`: 0 for anonymous memory; `None` when it does not fit in
    /// 64 bits (the line's offset plus the distance to `start` overflows, which no
    /// kernel writes: the builder warns).
    pub offset: Option<u64>,
    /// Device of the mapped file, `major:minor` in hex as maps prints it.
    pub dev: Arc<str>,
    /// Inode of the mapped file (0 for anonymous memory).
    pub inode: u64,
    /// The maps name as printed (its text form: invalid bytes as `\xNN`, [`crate::vocab::escape::text`]), or null.
    pub path: Option<Arc<str>>,
    /// The name's bytes, only when it is not valid UTF-8.
    pub path_bytes: Option<Vec<u8>>,
    /// The maps path of the owning ELF object.
    pub object: Option<Arc<str>>,
    /// Index into [`Report::objects`].
    pub instance: Option<usize>,
    /// What the region holds.
    pub kind: Kind,
    /// Program header index of the PT_LOAD, as `readelf -l` numbers it.
    pub segment: Option<usize>,
    /// True when this region is a part of a maps line cut in several.
    pub split: bool,
    /// 1-based line of the maps line in the input.
    pub line: usize,
    /// Memory figures (JSON: flat fields `size`, `rss`, ...).
    pub figures: Figures,
    /// Unique bytes, `private_clean + private_dirty`, also where that breakdown is
    /// unknown: a part of a split line gets it from each resident page's map count
    /// (pages mapped once; live, with CAP_SYS_ADMIN: `/proc/kpagecount`), as the
    /// kernel counts smaps' Private. `None` when unknown. Not in JSON (there it is
    /// the sum of the two fields, where known); read back as that sum.
    pub private: Option<u64>,
    /// The object's text, remapped onto other memory by the program (issue 12 §2);
    /// `None` (absent in JSON) otherwise.
    pub remapped: Option<Remapped>,
    /// For remapped text: whether a sample of its pages read through
    /// `/proc/PID/mem` equals the file's bytes at the computed offset; `None` when
    /// that could not be read (offline, no permission). In JSON only with `remapped`.
    pub verified: Option<bool>,
}

impl Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let f = &self.figures;
        let mut m = s.serialize_struct("Region", 29)?;
        m.serialize_field("start", &self.start)?;
        m.serialize_field("end", &self.end)?;
        m.serialize_field("perms", &*self.perms)?;
        m.serialize_field("offset", &self.offset)?;
        m.serialize_field("dev", &*self.dev)?;
        m.serialize_field("inode", &self.inode)?;
        m.serialize_field("path", &self.path.as_deref())?;
        if let Some(b) = &self.path_bytes {
            m.serialize_field("path_bytes", b)?;
        }
        m.serialize_field("object", &self.object.as_deref())?;
        m.serialize_field("instance", &self.instance)?;
        m.serialize_field("kind", &self.kind)?;
        m.serialize_field("segment", &self.segment)?;
        m.serialize_field("split", &self.split)?;
        m.serialize_field("line", &self.line)?;
        if let Some(how) = self.remapped {
            m.serialize_field("remapped", &how)?;
            m.serialize_field("verified", &self.verified)?;
        }
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
    offset: Option<u64>,
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
    #[serde(default)]
    remapped: Option<Remapped>,
    #[serde(default)]
    verified: Option<bool>,
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
            perms: w.perms.into(),
            offset: w.offset,
            dev: w.dev.into(),
            inode: w.inode,
            path: w.path.map(Arc::from),
            path_bytes: w.path_bytes,
            object: w.object.map(Arc::from),
            instance: w.instance,
            kind: w.kind,
            segment: w.segment,
            split: w.split,
            line: w.line,
            remapped: w.remapped,
            verified: w.verified,
            private: crate::vocab::figures::sum(w.private_clean, w.private_dirty),
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
#[non_exhaustive]
pub struct Object {
    /// Its index in [`Report::objects`] (what [`Region::instance`] points to).
    pub index: usize,
    /// The maps path (its text form: invalid bytes as `\xNN`, [`crate::vocab::escape::text`]).
    pub path: String,
    /// The path's bytes, only when it is not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<Vec<u8>>,
    /// The GNU build ID in hex, when the file has one.
    pub build_id: Option<String>,
    /// Load bias: where the object's vaddr 0 is in memory.
    pub bias: u64,
    /// ELF type (`DYN` or `EXEC`: the types the loaders map).
    #[serde(rename = "type")]
    pub e_type: ElfType,
    /// ELF machine (`X86_64`, `AARCH64`, ...).
    pub machine: String,
    /// ELF class: 32 or 64.
    pub class: u8,
    /// Byte order (`little` or `big`).
    pub endian: Endian,
    /// Device of the file, `major:minor` in hex.
    pub dev: String,
    /// Inode of the file.
    pub inode: u64,
    /// First address of the object's regions.
    pub span_start: u64,
    /// End (exclusive) of the object's regions.
    pub span_end: u64,
    /// How the file was reached, when it was opened.
    pub opened: Option<Via>,
    /// Why this object's regions are labelled `unknown`, if they are.
    pub problem: Option<String>,
    /// Figures of all the object's regions.
    pub totals: Figures,
    /// Bytes of the object's text on huge pages: smaps' `AnonHugePages` (text remapped
    /// onto transparent huge pages), `FilePmdMapped` (file THP: `MADV_COLLAPSE`,
    /// read-only THP for files) and hugetlb figures of its `text` regions. Null when a
    /// term is unknown (maps without smaps; a split line with huge pages).
    #[serde(default)]
    pub huge_text: Option<u64>,
}

/// The whole report of `elfmaps map`. It reads back what it writes
/// (`serde_json::from_slice::<Report>` of `map --json`), so saved reports are typed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The process described; `None` offline, when the input does not say.
    pub pid: Option<u32>,
    /// The live process's command line (`/proc/PID/cmdline`, arguments joined by
    /// spaces; `[comm]` when it has none); `None` offline. In JSON only when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The page size the analysis used, in bytes.
    pub page_size: u64,
    /// Where the lines and their figures came from: `smaps`, `maps`, or
    /// `maps+pagemap` (`--rss-only`).
    pub source: MapsSource,
    /// Every region, in address order: together they cover every maps line.
    pub regions: Vec<Region>,
    /// Every loaded ELF object.
    pub objects: Vec<Object>,
    /// What elfmaps could not do or is unsure about.
    pub warnings: Vec<Warning>,
    /// The figures of the whole process: the sums of the regions' figures; a figure
    /// that a part of a split line does not know is the sum of the maps lines' own
    /// (smaps knows it for the whole line).
    pub totals: Figures,
    /// `Some(true)` when the pss of every part of a split maps line is exact (each
    /// page's map count from `/proc/kpagecount`; JSON: `"split_pss": "exact"`); absent
    /// otherwise, when it is prorated by the parts' rss (docs/labelling.md §5).
    #[serde(
        default,
        rename = "split_pss",
        skip_serializing_if = "Option::is_none",
        with = "split_pss"
    )]
    pub split_pss_exact: Option<bool>,
}

/// `split_pss` in JSON: `"exact"` or absent.
mod split_pss {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *v == Some(true) {
            "exact"
        } else {
            "prorated"
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        Ok(s.map(|s| s == "exact"))
    }
}

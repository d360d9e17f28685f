//! Attribution: from maps lines and program headers to labelled parts of lines.
//!
//! Pure computation, no I/O. Inputs are the parsed mappings, what was learnt about each
//! mapped file ([`FileFacts`]) and the target's page size; the output is a list of
//! [`Part`]s in address order that covers exactly the bytes of the maps lines, each
//! with one (object instance, kind, segment).
//!
//! [`attribute`] runs the phases in order, one module each (docs/labelling.md explains
//! the loader facts behind them), after numbering the mapped files once (`files.rs`):
//! 1. `instances.rs`: the file-backed mappings of one file are grouped into
//!    *instances* by a vote on the load bias, within limits on the work that keep
//!    time and memory in proportion to the input.
//! 2. `image.rs` ([`image()`]): each instance's image (text, rodata, data, relro, bss, gap in
//!    absolute addresses) is computed from program headers alone.
//! 3. `consistency.rs`: the maps lines of each instance must be what the loader maps
//!    for those program headers (the process's loader, decided once from PT_INTERP);
//!    if not (wrong file, wrong build, bias conflict), the
//!    instance gets a problem and its lines are `unknown`: never a wrong label. Then
//!    `instances.rs` keeps only the instances with the loader's signature: the
//!    others are the file mapped as data (`mapped_file`), unless the file itself is
//!    wrong.
//! 4. `regions.rs`: every maps line is cut into parts: a file-backed line takes labels
//!    from its own instance, anonymous memory from any instance whose span it
//!    overlaps; thread stack guards are marked last.
//! 5. `kinds.rs`: memory that no object owns gets a kind from its name.

use std::collections::HashMap;
use std::sync::Arc;

use crate::input::elf::ElfInfo;
use crate::input::maps::Mapping;
use crate::vocab::Code;
pub use crate::vocab::Kind;
use crate::vocab::PageSize;

mod consistency;
mod files;
mod image;
mod instances;
mod kinds;
mod regions;
#[cfg(test)]
mod tests;

pub use image::image;

/// Identity of a mapped file as the maps line names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileKey {
    /// Major number of the device that holds the file.
    pub dev_major: u32,
    /// Minor number of that device.
    pub dev_minor: u32,
    /// Inode number (0 for memory that no file backs).
    pub inode: u64,
    /// The name as printed in maps.
    pub name: Vec<u8>,
}

/// Hashes the device and inode only (equality still compares the name): names are
/// long and hashing them showed in profiles; two names on one inode are rare.
impl std::hash::Hash for FileKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // One word: the tuple's three writes cost more than the rest of a lookup.
        let dev = (u64::from(self.dev_major) << 32) | u64::from(self.dev_minor);
        state.write_u64(self.inode ^ dev.rotate_left(40));
    }
}

impl FileKey {
    /// The key of a maps line.
    pub fn of(m: &Mapping) -> FileKey {
        FileKey {
            dev_major: m.dev_major,
            dev_minor: m.dev_minor,
            inode: m.inode,
            name: m.name.clone(),
        }
    }
}

/// What opening a mapped file told us.
#[derive(Debug, Clone)]
pub enum FileFacts {
    /// An ELF file (loadable or not).
    Elf {
        /// Its headers.
        info: Arc<ElfInfo>,
        /// Its size in bytes.
        size: u64,
        /// It is proven to be the mapped inode itself (read through
        /// `/proc/PID/map_files`, or its device and inode match the maps line), not a
        /// file found by path in a sysroot.
        exact: bool,
    },
    /// A regular file that is not ELF (or whose headers could not be read as ELF).
    NotElf,
    /// A character or block device.
    Device,
    /// Could not be opened or read: nothing is known about its contents.
    Unreadable,
}

/// One loaded copy of an ELF file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Instance {
    /// The mapped file.
    pub key: FileKey,
    /// Its headers.
    pub info: Arc<ElfInfo>,
    /// The load bias: where vaddr 0 of the file lies (0 for ET_EXEC).
    pub bias: u64,
    /// `[span_start, span_end)`: from the first PT_LOAD's page to the last one's end.
    pub span_start: u64,
    /// End of the span (exclusive).
    pub span_end: u64,
    /// The object's image in absolute addresses, sorted, covering the span.
    pub image: Vec<Label>,
    /// Set when the maps cannot be explained by the program headers.
    pub problem: Option<Problem>,
}

impl Instance {
    /// The labels of the image that overlap `[start, end)`, by binary search.
    pub(crate) fn labels_in(&self, start: u64, end: u64) -> &[Label] {
        let from = self.image.partition_point(|l| l.end <= start);
        let to = from + self.image[from..].partition_point(|l| l.start < end);
        &self.image[from..to]
    }
}

/// A contradiction between maps lines and program headers: why an instance's lines
/// are labelled `unknown` or, in [`Attribution::notes`], what differs although the
/// labels stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind of contradiction it is.
    pub code: Code,
    /// What maps says and what the file says.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(code: Code, message: String) -> Problem {
        Problem { code, message }
    }
}

/// A labelled address range of an object's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Label {
    /// First address (page-aligned).
    pub start: u64,
    /// End address (exclusive, page-aligned).
    pub end: u64,
    /// What the pages hold.
    pub kind: Kind,
    /// Program header index of the PT_LOAD (none for gaps).
    pub segment: Option<usize>,
}

/// A part (or the whole) of one maps line, with one label.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Part {
    /// First address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Index of the maps line in the input.
    pub mapping: usize,
    /// What the bytes hold.
    pub kind: Kind,
    /// Index into [`Attribution::instances`] of the owning object.
    pub instance: Option<usize>,
    /// Program header index of the PT_LOAD (none for gaps and memory of no object).
    pub segment: Option<usize>,
    /// True when the maps line was cut into more than one region.
    pub split: bool,
    /// Set when the part is an object's text that the program moved onto other
    /// memory (huge pages, a memfd): see [`Remapped`].
    pub remapped: Option<Remapped>,
}

/// What memory an object's text was remapped onto (issue 12 §2): programs copy their
/// hot text and map other memory over it (Intel's iodlr, HHVM, Chrome's
/// hugepage_text), to put it on huge pages. The bytes are still the object's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Remapped {
    /// Anonymous memory (`MAP_ANONYMOUS`, usually with `MADV_HUGEPAGE`).
    Anon,
    /// `MAP_HUGETLB` memory: `/anon_hugepage (deleted)` in maps.
    Hugetlb,
    /// A memfd: `/memfd:NAME (deleted)` in maps.
    Memfd,
}

impl Remapped {
    /// The word of JSON and the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Remapped::Anon => "anon",
            Remapped::Hugetlb => "hugetlb",
            Remapped::Memfd => "memfd",
        }
    }
}

/// The result of [`attribute`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Attribution {
    /// Every loaded copy of an ELF file, including those with a problem (not the
    /// lines of a file mapped as data: those are `mapped_file` parts of no instance).
    pub instances: Vec<Instance>,
    /// The parts of every maps line, in address order.
    pub regions: Vec<Part>,
    /// Loadable ELF files none of whose maps lines are labelled, with why (their lines
    /// are `unknown`): their program headers explain none of their lines
    /// ([`Code::UnexplainedFile`]), or labelling them would take more work than the
    /// limits allow ([`Code::WorkLimit`], docs/labelling.md).
    pub unlabelled: Vec<(FileKey, Problem)>,
    /// Contradictions that leave the labels standing, with the index into
    /// [`Attribution::instances`] of the object: a permission that differs from the
    /// program headers in a file proven to be the mapped one (a JIT or hot-patcher may
    /// `mprotect` its own pages). At most one per instance.
    pub notes: Vec<(usize, Problem)>,
}

pub use crate::vocab::Hints;

/// Attributes every byte of `mappings` (sorted, non-overlapping, as parsed).
/// `facts` maps each file-backed mapping's [`FileKey`] to what is known of the file;
/// `page` is the target's page size.
pub fn attribute(
    mappings: &[Mapping],
    facts: &HashMap<FileKey, FileFacts>,
    page: PageSize,
    hints: &Hints,
) -> Attribution {
    let files = files::Files::new(mappings, facts);
    let mut grouping = instances::group(mappings, &files, page);
    let mut notes = consistency::check_instances(
        mappings,
        &grouping.owner,
        &mut grouping.instances,
        &grouping.file_of,
        &files,
        page,
    );
    // Files none of whose lines any candidate instance explains; before the lines
    // mapped as data leave their instances (they are explained).
    let mut unlabelled = consistency::unexplained(
        mappings,
        &files,
        &grouping.owner,
        &grouping.file_of,
        &grouping.limited,
    );
    instances::separate_data(mappings, &files, page, &mut grouping, &mut notes);
    let instances::Grouping {
        mut instances,
        owner,
        file_of,
        limited,
    } = grouping;
    consistency::check_consistency(&mut instances, &owner, &file_of, files.len());
    notes.retain(|(i, _)| instances[*i].problem.is_none());
    unlabelled.extend(limited);
    let mut unlabelled_file = vec![false; files.len()];
    for (f, _) in &unlabelled {
        unlabelled_file[*f] = true;
    }
    let regions = regions::parts(
        mappings,
        &files,
        &owner,
        &instances,
        &file_of,
        &unlabelled_file,
        hints,
    );
    let unlabelled = unlabelled
        .into_iter()
        .map(|(f, why)| (files.keys[f].clone(), why))
        .collect();
    Attribution {
        instances,
        regions,
        unlabelled,
        notes,
    }
}

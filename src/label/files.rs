//! Phase 0: the mapped files of a process, numbered once. Every phase after it knows a
//! file by its number: its key is copied and its facts looked up once per file, not
//! once per maps line (names are long, and a process maps each file several times),
//! and what is known per file (its lines, its first instance with a problem, whether
//! it is left unlabelled) sits in a `Vec` indexed by that number.
//!
//! The lines of one file are usually next to each other, so a line is compared with
//! the previous file-backed line first; only a line of another file is looked up in
//! the table of names.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::input::maps::Mapping;

use super::{FileFacts, FileKey};

/// The files of a process's maps lines, numbered in the order of their first line.
pub(crate) struct Files<'a> {
    /// For each maps line, its file's number, or [`Files::NONE`] (no file backs it).
    of_line: Vec<usize>,
    /// Each file's key, made once.
    pub(crate) keys: Vec<FileKey>,
    /// What is known of each file (none when the caller knows nothing of it).
    pub(crate) facts: Vec<Option<&'a FileFacts>>,
    /// The lines of every file, file after file, each file's in address order:
    /// `lines[starts[f]..starts[f + 1]]`.
    lines: Vec<usize>,
    starts: Vec<usize>,
}

/// A maps line's file identity, borrowed from the line (see [`FileKey`]).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Ident<'a> {
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    name: &'a [u8],
}

/// As [`FileKey`]'s: the device and inode only, in one word.
impl Hash for Ident<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let dev = (u64::from(self.dev_major) << 32) | u64::from(self.dev_minor);
        state.write_u64(self.inode ^ dev.rotate_left(40));
    }
}

impl<'a> Ident<'a> {
    fn of(m: &'a Mapping) -> Ident<'a> {
        Ident {
            inode: m.inode,
            dev_major: m.dev_major,
            dev_minor: m.dev_minor,
            name: &m.name,
        }
    }
}

impl<'a> Files<'a> {
    /// The number of a line that no file backs.
    pub(crate) const NONE: usize = usize::MAX;

    /// Numbers the files of the file-backed lines of `mappings`, with their facts.
    pub(crate) fn new(mappings: &[Mapping], facts: &'a HashMap<FileKey, FileFacts>) -> Files<'a> {
        let mut of_line = vec![Files::NONE; mappings.len()];
        let mut keys: Vec<FileKey> = Vec::new();
        let mut found: Vec<Option<&'a FileFacts>> = Vec::new();
        let mut index: HashMap<Ident, usize> = HashMap::new();
        let mut last: Option<(Ident, usize)> = None;
        for (i, m) in mappings.iter().enumerate() {
            if !m.is_file_backed() {
                continue;
            }
            let id = Ident::of(m);
            let f = match last {
                Some((l, f)) if l == id => f,
                _ => {
                    let next = keys.len();
                    let f = *index.entry(id).or_insert(next);
                    if f == next {
                        let key = FileKey::of(m);
                        found.push(facts.get(&key));
                        keys.push(key);
                    }
                    f
                }
            };
            last = Some((id, f));
            of_line[i] = f;
        }
        // The lines of each file, by counting: no Vec per file.
        let mut starts = vec![0usize; keys.len() + 1];
        for &f in of_line.iter().filter(|&&f| f != Files::NONE) {
            starts[f + 1] += 1;
        }
        for f in 0..keys.len() {
            starts[f + 1] += starts[f];
        }
        let mut lines = vec![0usize; starts[keys.len()]];
        let mut fill = starts.clone();
        for (i, &f) in of_line.iter().enumerate() {
            if f != Files::NONE {
                lines[fill[f]] = i;
                fill[f] += 1;
            }
        }
        Files {
            of_line,
            keys,
            facts: found,
            lines,
            starts,
        }
    }

    /// How many files there are.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The number of the file of maps line `mi`, if a file backs it.
    pub(crate) fn of(&self, mi: usize) -> Option<usize> {
        self.of_line.get(mi).copied().filter(|&f| f != Files::NONE)
    }

    /// The facts of the file of maps line `mi`.
    pub(crate) fn facts_of(&self, mi: usize) -> Option<&'a FileFacts> {
        self.of(mi).and_then(|f| self.facts[f])
    }

    /// The maps lines of file `f`, in address order.
    pub(crate) fn lines(&self, f: usize) -> &[usize] {
        &self.lines[self.starts[f]..self.starts[f + 1]]
    }
}

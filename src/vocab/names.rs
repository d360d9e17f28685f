//! Names: what a maps name means before any file is opened, and how names are carried
//! into JSON (which cannot hold bytes that are not UTF-8: [`lossy`], with the text form
//! of [`crate::vocab::escape`]).

/// Names of shared memory: System V segments, POSIX shm, memfds, shared anonymous
/// memory (see [`is_kernel_memory_name`]).
pub fn is_shm_name(path: &[u8], deleted: bool) -> bool {
    is_kernel_memory_name(path, deleted)
        || path.starts_with(b"/dev/shm/")
        || path.starts_with(b"/memfd:")
}

/// Names of memory the kernel itself backs with a file, never an ELF file to open:
/// System V segments, and anonymous memory (a deleted `/dev/zero` for shared
/// mappings, a deleted `/anon_hugepage` for `MAP_HUGETLB` ones).
pub fn is_kernel_memory_name(path: &[u8], deleted: bool) -> bool {
    path.starts_with(b"/SYSV") || (deleted && (path == b"/dev/zero" || path == b"/anon_hugepage"))
}

/// A name as a string, with its bytes when it was not UTF-8: the string is the text
/// form ([`crate::vocab::escape::text`]: each invalid byte as `\xNN`, never U+FFFD,
/// so two names that differ only in such bytes stay two); the bytes keep the exact
/// name (JSON strings cannot hold them), and identities compare them.
pub fn lossy(name: &[u8]) -> (String, Option<Vec<u8>>) {
    match std::str::from_utf8(name) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (
            crate::vocab::escape::text(name).into_owned(),
            Some(name.to_vec()),
        ),
    }
}

/// A glob on object paths, as budget files, `system --object` and `sections --object`
/// write it: on the file name, or on the whole path when it has a `/` (the kernel's
/// ` (deleted)` suffix ignored either way).
#[derive(Debug, Clone)]
pub struct ObjectGlob {
    pattern: glob::Pattern,
    full_path: bool,
}

/// A glob that does not parse: which glob, and what `glob` says of it.
#[derive(Debug)]
#[non_exhaustive]
pub struct GlobError {
    /// The glob given.
    pub glob: String,
    /// What is wrong with it.
    pub err: glob::PatternError,
}

impl std::fmt::Display for GlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad glob {:?}: {}", self.glob, self.err)
    }
}

impl std::error::Error for GlobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.err)
    }
}

impl ObjectGlob {
    /// Parses `glob`; the error says which glob and what is wrong with it.
    pub fn new(glob: &str) -> Result<ObjectGlob, GlobError> {
        Ok(ObjectGlob {
            pattern: glob::Pattern::new(glob).map_err(|err| GlobError {
                glob: glob.to_string(),
                err,
            })?,
            full_path: glob.contains('/'),
        })
    }

    /// Whether the object at `path` (a maps path) matches.
    pub fn matches(&self, path: &str) -> bool {
        if self.full_path {
            self.pattern
                .matches(path.strip_suffix(" (deleted)").unwrap_or(path))
        } else {
            self.pattern.matches(file_name(path))
        }
    }
}

/// The name an object is matched by across reports: the last path component, with
/// the kernel's ` (deleted)` suffix removed.
pub fn file_name(path: &str) -> &str {
    let p = path.strip_suffix(" (deleted)").unwrap_or(path);
    p.rsplit('/').next().unwrap_or(p)
}

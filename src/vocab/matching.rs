//! Objects matched by name: the name an object is matched by across reports
//! ([`file_name`]: `diff`, `system`, the budgets and the tables), and the globs on
//! object paths of budget files, `system --object` and `sections --object`
//! ([`ObjectGlob`]). Only the command line's views and printers match objects: this
//! module is compiled with the `cli` feature.

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

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

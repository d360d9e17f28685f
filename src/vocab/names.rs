//! Names: what a maps name means before any file is opened, and how names are carried
//! into JSON (which cannot hold bytes that are not UTF-8).

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

/// A name as a lossy UTF-8 string, with its bytes when it was not UTF-8 (JSON strings
/// cannot hold other bytes; the bytes keep the exact name).
pub fn lossy(name: &[u8]) -> (String, Option<Vec<u8>>) {
    match std::str::from_utf8(name) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (
            String::from_utf8_lossy(name).into_owned(),
            Some(name.to_vec()),
        ),
    }
}

/// The name an object is matched by across reports: the last path component, with
/// the kernel's ` (deleted)` suffix removed.
pub fn file_name(path: &str) -> &str {
    let p = path.strip_suffix(" (deleted)").unwrap_or(path);
    p.rsplit('/').next().unwrap_or(p)
}

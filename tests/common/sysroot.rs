//! Sysroots for offline analysis, made from a live process: every file its maps name,
//! at the same absolute path under a temporary root, as `elfmaps map --sysroot DIR`
//! looks them up (DIR + the maps path). Some files can be replaced by other builds, to
//! stand in for the one the process loaded.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::skip;
use super::truth::kernel::MapLine;

/// Where `path` (absolute, as maps print it) lies inside the sysroot `root`.
pub fn in_root(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// `MAJOR:MINOR` of a device number, as maps print it (hex, minor at least 2 digits).
pub fn dev_text(dev: u64) -> String {
    // The kernel's encoding of dev_t (new_encode_dev).
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("{major:02x}:{minor:02x}")
}

/// Builds the sysroot `root` for the maps of process `pid`: each file-backed line's path
/// gets the file `replace` gives for it (maps path, file), or else a copy of the mapped
/// file. The mapped file is read from its path when that still has the line's device
/// and inode, else through `/proc/PID/map_files` (which needs root). Returns false after
/// a note when a mapped file cannot be read. Paths that are not absolute or are a memfd
/// have no place in a sysroot and are left out.
pub fn mirror(root: &Path, pid: u32, maps: &[MapLine], replace: &[(String, PathBuf)]) -> bool {
    for m in maps.iter().filter(|m| m.inode != 0) {
        let Some(path) = m
            .path
            .as_deref()
            .filter(|p| p.starts_with('/') && !p.starts_with("/memfd:"))
        else {
            continue;
        };
        let dest = in_root(root, path);
        if dest.exists() {
            continue;
        }
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        if let Some((_, file)) = replace.iter().find(|(p, _)| p == path) {
            std::fs::copy(file, &dest)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", file.display(), dest.display()));
            continue;
        }
        let same = std::fs::metadata(path)
            .is_ok_and(|md| md.ino() == m.inode && dev_text(md.dev()) == m.dev);
        let src = if same {
            PathBuf::from(path)
        } else {
            PathBuf::from(format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end))
        };
        if let Err(e) = std::fs::copy(&src, &dest) {
            skip::skip(&format!(
                "{path} on disk is not the mapped file, and reading {} needs root: {e}",
                src.display()
            ));
            return false;
        }
    }
    true
}

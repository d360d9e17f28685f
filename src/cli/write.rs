//! The one way elfmaps writes an output file (`-o FILE` of `snapshot`, `report` and
//! `metrics`): never through a link, never over something that is not a regular file,
//! never readable by others when it holds the layout of processes.
//!
//! elfmaps runs as root in directories other users may write (a textfile collector's
//! directory, `/tmp`), so every step assumes a hostile neighbour:
//!
//! - the target, if it exists, must be a regular file: a symbolic link (even to a
//!   regular file), a device (`-o /dev/null` as root must not replace the system's
//!   `/dev/null`), a FIFO or a directory is refused with an error naming it (`-`
//!   means standard output);
//! - the contents go to a temporary file created in the target's directory under a
//!   random name with `O_CREAT | O_EXCL` (the `tempfile` crate), which never follows
//!   a link a neighbour planted and never opens a file that already exists, with the
//!   mode of [`Mode`];
//! - the temporary file is synced, then renamed over the target: `rename` replaces the
//!   directory entry and never writes through what was there, and a reader sees the
//!   old file or the new one, never half of one. On any error the temporary file is
//!   removed and the target is untouched.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

/// Who may read an output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Owner only (0600): anything with addresses of processes (snapshots, report
    /// pages). `/proc/PID/maps` shows a process's layout only to privileged readers,
    /// and a layout defeats its address-space randomisation.
    Private,
    /// 0644 less the umask, as any new file: figures without addresses (the metrics
    /// exposition, which node_exporter reads as another user).
    Shared,
}

/// Why a target is refused before anything is written, if it is.
fn refused(path: &Path) -> io::Result<()> {
    let md = match fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let ft = md.file_type();
    let what = if ft.is_file() {
        return Ok(());
    } else if ft.is_symlink() {
        "a symbolic link (elfmaps never writes through a link; name the file itself, or `-` for standard output)"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device (elfmaps writes only regular files; `-` is standard output)"
    } else if ft.is_fifo() {
        "a FIFO (elfmaps writes only regular files; `-` is standard output)"
    } else if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it exists and is {what}: refused"),
    ))
}

/// Writes the output file `path`: `fill` writes the contents into a temporary file
/// beside it, which then replaces `path` (see the module's rules). `fill`'s value is
/// returned; its error, or any error writing, leaves `path` as it was.
pub(crate) fn write_file<T>(
    path: &Path,
    mode: Mode,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<T>,
) -> io::Result<T> {
    refused(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    // Not ending in `.prom`: node_exporter's textfile collector ignores it.
    let tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(match mode {
            Mode::Private => 0o600,
            Mode::Shared => 0o644,
        }))
        .tempfile_in(dir)?;
    let mut out = io::BufWriter::with_capacity(64 * 1024, tmp);
    let value = fill(&mut out)?;
    let tmp = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    tmp.as_file().sync_all()?;
    // Checked again just before the rename: something other than a regular file that
    // appeared meanwhile is not replaced either.
    refused(path)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(value)
}

/// [`write_file`] of bytes already made.
pub(crate) fn write_bytes(path: &Path, mode: Mode, bytes: &[u8]) -> io::Result<()> {
    write_file(path, mode, |out| out.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, symlink};

    #[test]
    fn writes_a_new_file_and_replaces_a_regular_one() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        write_bytes(&target, Mode::Private, b"one").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"one");
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
        write_bytes(&target, Mode::Private, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        // Nothing else is left in the directory.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_links_and_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"secret").unwrap();
        let link = dir.path().join("link");
        symlink(&victim, &link).unwrap();
        let e = write_bytes(&link, Mode::Private, b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read(&victim).unwrap(), b"secret");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let e = write_bytes(dir.path(), Mode::Private, b"x").unwrap_err();
        assert!(e.to_string().contains("not a file name") || e.to_string().contains("directory"));
        let e = write_bytes(Path::new("/dev/null"), Mode::Private, b"x").unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn an_error_while_filling_leaves_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::write(&target, b"old").unwrap();
        let r: io::Result<()> = write_file(&target, Mode::Shared, |out| {
            out.write_all(b"half")?;
            Err(io::Error::other("failed"))
        });
        assert!(r.is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

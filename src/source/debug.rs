//! Separate debug files (`elfmaps symbols`, docs/symbols.md): where the symbols of a
//! stripped object are, found as GDB finds them, under a root directory (`/` live,
//! the sysroot offline), every lookup through [`SysrootSource`]'s checked open
//! (`openat2` with `RESOLVE_IN_ROOT`: links stay inside the root; regular files only).
//!
//! 1. by build ID: `/usr/lib/debug/.build-id/xx/rest.debug`, accepted only when the
//!    file's own `.note.gnu.build-id` holds the same ID;
//! 2. by `.gnu_debuglink`: the name it gives, in the object's directory, its
//!    `.debug/` subdirectory, then under `/usr/lib/debug` plus the object's directory;
//!    accepted when its build ID is the object's, or, for an object without a build
//!    ID, when the CRC-32 of the whole file is the one the link records.

use std::path::Path;

use super::{Opened, SysrootSource};
use crate::input::elf::{self, ReadAt, SectionTable};
use crate::input::symbols::crc32;

/// Largest debug file whose CRC-32 is computed for a `.gnu_debuglink` without a build
/// ID to check.
const MAX_CRC_BYTES: u64 = 4 << 30;

/// How a debug file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugVia {
    /// Under `/usr/lib/debug/.build-id/` by the object's build ID.
    BuildId,
    /// By the name in the object's `.gnu_debuglink`.
    Debuglink,
}

/// A debug file, open, with its section headers read.
#[allow(missing_debug_implementations)]
pub struct DebugFile {
    /// The open file.
    pub file: Box<dyn ReadAt + Send + Sync>,
    /// Its path inside the root.
    pub path: String,
    /// How it was found.
    pub via: DebugVia,
    /// Its section headers.
    pub sections: SectionTable,
}

/// Looks for the debug file of the object at `object_path` (a maps path) with build
/// ID `build_id` and debug link `debuglink`, under `root`. `Ok(None)` when there is
/// none; the `Err` says why a file that was there was not taken (another build ID, a
/// CRC that differs, unreadable headers).
pub fn find(
    root: &SysrootSource,
    object_path: &[u8],
    build_id: Option<&[u8]>,
    debuglink: Option<&(Vec<u8>, u32)>,
) -> Result<Option<DebugFile>, String> {
    let mut refused = None;
    if let Some(id) = build_id.filter(|id| id.len() >= 2) {
        let hex = hex(id);
        let path = format!("/usr/lib/debug/.build-id/{}/{}.debug", &hex[..2], &hex[2..]);
        match take(root, &path, DebugVia::BuildId, Some(id), None) {
            Ok(Some(d)) => return Ok(Some(d)),
            Ok(None) => {}
            Err(e) => refused = Some(e),
        }
    }
    if let Some((name, crc)) = debuglink {
        if name.contains(&b'/') {
            return refused.map_or(Ok(None), Err);
        }
        let name = String::from_utf8_lossy(name);
        let dir =
            Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(object_path))
                .parent()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default();
        let dir = dir.trim_end_matches('/');
        for path in [
            format!("{dir}/{name}"),
            format!("{dir}/.debug/{name}"),
            format!("/usr/lib/debug{dir}/{name}"),
        ] {
            if path.as_bytes() == object_path {
                continue;
            }
            match take(root, &path, DebugVia::Debuglink, build_id, Some(*crc)) {
                Ok(Some(d)) => return Ok(Some(d)),
                Ok(None) => {}
                Err(e) => refused = Some(e),
            }
        }
    }
    refused.map_or(Ok(None), Err)
}

/// The file at `path` under `root` if it is the debug file wanted: `Ok(None)` when
/// there is no regular file there.
fn take(
    root: &SysrootSource,
    path: &str,
    via: DebugVia,
    build_id: Option<&[u8]>,
    crc: Option<u32>,
) -> Result<Option<DebugFile>, String> {
    let (file, size) = match root.open_path(path.as_bytes(), true) {
        Opened::Regular { file, size, .. } => (file, size),
        _ => return Ok(None),
    };
    let sections = elf::read_sections(&*file).map_err(|e| format!("{path}: {e}"))?;
    let theirs = note_build_id(&*file, &sections);
    match (build_id, theirs) {
        (Some(ours), Some(theirs)) if ours == theirs.as_slice() => {}
        (Some(ours), theirs) => {
            return Err(format!(
                "{path} has build ID {} where the object has {}",
                theirs.as_deref().map_or("none".into(), hex),
                hex(ours)
            ));
        }
        (None, _) => {
            let want = crc.ok_or_else(|| format!("{path}: nothing to check it against"))?;
            if size > MAX_CRC_BYTES {
                return Err(format!("{path}: too large to check its CRC"));
            }
            let mut c = 0u32;
            let mut at = 0u64;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = file
                    .read_at(&mut buf, at)
                    .map_err(|e| format!("{path}: {e}"))?;
                if n == 0 || at >= size {
                    break;
                }
                c = crc32(c, &buf[..n]);
                at += n as u64;
            }
            if c != want {
                return Err(format!(
                    "{path}: CRC-32 {c:08x}, the debug link says {want:08x}"
                ));
            }
        }
    }
    Ok(Some(DebugFile {
        file,
        path: path.to_string(),
        via,
        sections,
    }))
}

/// The build ID in the file's `.note.gnu.build-id` section (debug files keep it).
pub fn note_build_id(
    file: &(dyn ReadAt + Send + Sync),
    sections: &SectionTable,
) -> Option<Vec<u8>> {
    let s = sections.sections.iter().find(|s| {
        s.sh_type == elf::SHT_NOTE && s.name.as_deref() == Some(b".note.gnu.build-id".as_slice())
    })?;
    if s.size > 4096 {
        return None;
    }
    let id = elf::read_ident(file).ok()?;
    let notes = elf::read_upto(file, s.offset, s.size as usize).ok()?;
    elf::find_build_id(&notes, id, 4)
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

//! Saved inputs (smaps, maps, snapshots, smemcap captures, budgets, JSON reports),
//! read from a file or standard input (`-`) in bounded chunks and never past a limit
//! (issue 19 §10).
//!
//! A saved input is chosen by whoever gives it: `/dev/zero` or a FIFO that never ends
//! would otherwise grow elfmaps until memory runs out. Text that can be parsed line by
//! line (smaps, maps) is [`stream`]ed, so it is never held whole; the formats that
//! need their bytes at once (a snapshot's length-prefixed sections, a tarball, JSON)
//! are [`read`] whole, up to the limit. Either way, an input larger than the limit is
//! an error ([`InputError::TooLarge`], code `input-too-large`) after at most `limit`
//! bytes were read; a regular file is refused by its size, before any read.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::vocab::Code;
use crate::vocab::escape::path_text;

/// The input limit unless the user says otherwise (`--max-input-size`): 256 MiB, four
/// times the smaps of a process with `vm.max_map_count` (65,530) mappings.
pub const DEFAULT_LIMIT: u64 = 256 << 20;

/// The size of one read of a streamed input.
pub const CHUNK: usize = 64 << 10;

/// Why a saved input could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum InputError {
    /// More than `limit` bytes.
    TooLarge {
        /// The input, for messages.
        name: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Opening or reading it failed.
    Io {
        /// The input, for messages.
        name: String,
        /// What failed.
        err: io::Error,
    },
}

impl InputError {
    /// The stable code of this error.
    pub fn code(&self) -> Code {
        match self {
            InputError::TooLarge { .. } => Code::InputTooLarge,
            InputError::Io { .. } => Code::InputUnreadable,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::TooLarge { name, limit } => write!(
                f,
                "{name}: larger than the input limit of {limit} bytes ({}); --max-input-size SIZE raises it",
                crate::vocab::human::human(Some(*limit))
            ),
            InputError::Io { name, err } => write!(f, "{name}: {err}"),
        }
    }
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InputError::TooLarge { .. } => None,
            InputError::Io { err, .. } => Some(err),
        }
    }
}

/// Opens `path` (`-`: standard input), refusing a regular file larger than `limit`
/// by its size. Returns the reader and the size when known.
fn open(path: &Path, limit: u64) -> Result<(Box<dyn Read>, Option<u64>), InputError> {
    let name = || path_text(path).into_owned();
    if path == Path::new("-") {
        return Ok((Box::new(io::stdin().lock()), None));
    }
    let io_err = |err| InputError::Io { name: name(), err };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    let size = meta.is_file().then_some(meta.len());
    if size.is_some_and(|s| s > limit) {
        return Err(InputError::TooLarge {
            name: name(),
            limit,
        });
    }
    Ok((Box::new(file), size))
}

/// Reads `path` chunk by chunk (at most [`CHUNK`] bytes each) and hands each to
/// `each`, which may stop the reading with its own error (the outer `Ok(Err(..))`).
/// Past `limit` bytes it stops with [`InputError::TooLarge`]: no more than `limit`
/// bytes are ever handed over, and one chunk is held at a time.
pub fn stream<E>(
    path: &Path,
    limit: u64,
    mut each: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<Result<(), E>, InputError> {
    let (mut r, _) = open(path, limit)?;
    let mut buf = vec![0u8; CHUNK];
    let mut total: u64 = 0;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(Ok(())),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                return Err(InputError::Io {
                    name: path_text(path).into_owned(),
                    err,
                });
            }
        };
        total = total.saturating_add(n as u64);
        if total > limit {
            return Err(InputError::TooLarge {
                name: path_text(path).into_owned(),
                limit,
            });
        }
        if let Err(e) = each(&buf[..n]) {
            return Ok(Err(e));
        }
    }
}

/// Reads `path` whole, up to `limit` bytes ([`InputError::TooLarge`] past it). A
/// regular file gets room for its size at once; an input of unknown size grows by
/// doubling, but never past `limit`: it costs at most the limit, not twice it. (The
/// command line's inputs read whole; the library's facade streams, [`stream`].)
#[cfg(any(feature = "cli", test))]
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let (mut r, size) = open(path, limit)?;
    let name = || path_text(path).into_owned();
    let io_err = |err| InputError::Io { name: name(), err };
    let max = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut out: Vec<u8> = Vec::new();
    let first = size
        .map_or(CHUNK, |s| usize::try_from(s).unwrap_or(max))
        .min(max);
    out.try_reserve_exact(first)
        .map_err(|_| io_err(io::ErrorKind::OutOfMemory.into()))?;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(io_err(err)),
        };
        if n > max - out.len() {
            return Err(InputError::TooLarge {
                name: name(),
                limit,
            });
        }
        if out.capacity() - out.len() < n {
            let grow = out.len().max(CHUNK).min(max - out.len()).max(n);
            out.try_reserve_exact(grow)
                .map_err(|_| io_err(io::ErrorKind::OutOfMemory.into()))?;
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_input_stops_at_the_limit() {
        let zero = Path::new("/dev/zero");
        let e = read(zero, 100_000).unwrap_err();
        assert_eq!(e.code(), Code::InputTooLarge);
        assert!(
            e.to_string()
                .starts_with("/dev/zero: larger than the input limit of 100000 bytes"),
            "{e}"
        );
        let mut seen = 0u64;
        let e = stream(zero, 1 << 20, |c| {
            seen += c.len() as u64;
            Ok::<(), ()>(())
        })
        .unwrap_err();
        assert_eq!(e.code(), Code::InputTooLarge);
        assert!(seen <= 1 << 20, "{seen}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_by_its_size_and_one_within_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'x'; 1000]).unwrap();
        assert_eq!(read(&p, 1000).unwrap().len(), 1000);
        assert_eq!(read(&p, 999).unwrap_err().code(), Code::InputTooLarge);
        assert_eq!(
            stream(&p, 999, |_| -> Result<(), ()> {
                panic!("read past the size check")
            })
            .unwrap_err()
            .code(),
            Code::InputTooLarge
        );
        let mut all = Vec::new();
        stream(&p, 1000, |c| {
            all.extend_from_slice(c);
            Ok::<(), ()>(())
        })
        .unwrap()
        .unwrap();
        assert_eq!(all.len(), 1000);
        let missing = read(&dir.path().join("none"), 10).unwrap_err();
        assert_eq!(missing.code(), Code::InputUnreadable);
    }
}

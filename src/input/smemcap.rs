//! Captures of smem's `smemcap`: a tar archive of `/proc` that boards already record
//! (`smemcap > capture.tar`), analysed by `elfmaps system --smemcap FILE --sysroot DIR`.
//!
//! smemcap (smem's `smemcap.c`, also a busybox applet) writes, with no end-of-archive
//! blocks and no `ustar` magic: `meminfo`, `version`, then for each process a directory
//! entry `PID` (type `5`) and the files `PID/smaps`, `PID/cmdline` and `PID/stat`, each
//! with the owner of the `/proc` file as its uid (the process's effective UID). The
//! shell capture of smem's documentation (`cp -a --parents /proc/[0-9]*/{smaps,cmdline,stat}`,
//! then `tar czf` in the copied `proc`) gives the same names in a standard ustar
//! archive; `proc/` or `./` before the names is accepted too. A compressed archive must
//! be decompressed first (`zcat capture.tgz | elfmaps system --smemcap - ...`).
//!
//! Parsing takes bytes and does no I/O; the files are slices of the input. Every
//! header's checksum is checked; sizes are checked against the input. An archive cut
//! inside a header, an entry's data or its padding is an error (the entries after the
//! cut would be lost without a word); one cut at the end of an entry is whole, since
//! smemcap writes no end-of-archive blocks.
//!
//! The `/proc/PID/stat` line is parsed here too ([`parse_stat`]), for captures and live
//! processes alike.

use std::collections::BTreeMap;

/// One process of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capture<'a> {
    /// The PID (the directory's name).
    pub pid: u32,
    /// `/proc/PID/smaps` as captured (empty when it could not be read).
    pub smaps: &'a [u8],
    /// `/proc/PID/cmdline`: NUL-separated arguments.
    pub cmdline: &'a [u8],
    /// `/proc/PID/stat`, when captured.
    pub stat: Option<&'a [u8]>,
    /// The owner of the captured smaps: the process's effective UID.
    pub uid: Option<u32>,
}

/// A parsed capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Smemcap<'a> {
    /// The processes, by PID.
    pub processes: Vec<Capture<'a>>,
    /// `/proc/version`, when captured.
    pub version: Option<&'a [u8]>,
}

/// The fields of a `/proc/PID/stat` line that name and classify a process.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stat {
    /// The comm, between the first `(` and the last `)` (its text form: invalid bytes as `\xNN`, [`crate::vocab::escape::text`]).
    pub comm: String,
    /// The state letter.
    pub state: char,
    /// The parent's PID.
    pub ppid: u32,
    /// The kernel's flags (`PF_*`).
    pub flags: u64,
}

impl Stat {
    /// Whether the process is a kernel thread (`PF_KTHREAD`).
    pub fn is_kernel_thread(&self) -> bool {
        const PF_KTHREAD: u64 = 0x0020_0000;
        self.flags & PF_KTHREAD != 0
    }

    /// Whether it has exited and holds no memory (a zombie or a dead task).
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Parses a `/proc/PID/stat` line: `PID (COMM) STATE PPID PGRP SESSION TTY TPGID
/// FLAGS ...`; COMM may hold anything (the last `)` ends it).
pub fn parse_stat(s: &[u8]) -> Option<Stat> {
    let open = s.iter().position(|&b| b == b'(')?;
    let close = s.iter().rposition(|&b| b == b')')?;
    let comm = crate::vocab::escape::text(s.get(open + 1..close)?).into_owned();
    let rest = std::str::from_utf8(s.get(close + 1..)?).ok()?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().take(7).collect();
    Some(Stat {
        comm,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        flags: fields.get(6)?.parse().ok()?,
    })
}

const BLOCK: usize = 512;

/// A number of a tar header: octal digits, ended by NUL or space (leading spaces
/// allowed), or base-256 (first byte with the high bit set).
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        let mut n: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            n = n.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(n);
    }
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ')
        .collect();
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(&digits).ok()?, 8).ok()
}

/// A NUL-terminated field.
fn text(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// Whether `block` is a header with a right checksum (the sum of its bytes with the
/// checksum field taken as spaces; unsigned, or signed as some old tars wrote it).
fn checksum_ok(block: &[u8]) -> bool {
    let Some(want) = number(&block[148..156]) else {
        return false;
    };
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    want == unsigned || i64::try_from(want).is_ok_and(|w| w == signed)
}

/// The name of an entry relative to `/proc`: `./` and `proc/` before it dropped.
fn proc_relative(mut name: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = name.strip_prefix(b"./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix(b"/") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix(b"proc/") {
            name = rest;
        } else {
            return name;
        }
    }
}

/// Why a capture could not be read; `at` is the offset of the tar header concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmemcapError {
    /// A gzip-compressed file (smemcap's output piped through gzip).
    Gzip,
    /// No valid tar header at the start: not an smemcap capture.
    NotTar,
    /// Fewer than 512 bytes left at `at`, not all zero: a header cut short.
    CutHeader {
        /// The offset of the header.
        at: usize,
        /// The bytes of it there are.
        len: usize,
    },
    /// A tar header whose checksum does not match.
    Checksum {
        /// The offset of the header.
        at: usize,
    },
    /// A tar header whose size field is not a number.
    Size {
        /// The offset of the header.
        at: usize,
    },
    /// An entry whose data runs past the end of the input.
    Truncated {
        /// The offset of its header.
        at: usize,
        /// The size its header promises.
        size: usize,
    },
    /// An entry whose padding to the next 512 bytes runs past the end of the input.
    CutPadding {
        /// The offset of its header.
        at: usize,
    },
}

impl SmemcapError {
    /// Whether the capture is cut short (as opposed to not a capture, or damaged).
    #[cfg(test)]
    pub fn is_truncated(&self) -> bool {
        matches!(
            self,
            SmemcapError::CutHeader { .. }
                | SmemcapError::Truncated { .. }
                | SmemcapError::CutPadding { .. }
        )
    }
}

impl std::fmt::Display for SmemcapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmemcapError::Gzip => f.write_str(
                "a gzip-compressed file: decompress it first (zcat FILE | elfmaps system --smemcap - ...)",
            ),
            SmemcapError::NotTar => f.write_str(
                "not a tar archive (no valid header at its start): not an smemcap capture",
            ),
            SmemcapError::CutHeader { at, len } => write!(
                f,
                "cut inside the tar header at offset {at} ({len} of its {BLOCK} bytes): the capture is truncated, the entries after it are lost"
            ),
            SmemcapError::Checksum { at } => write!(f, "bad tar header checksum at offset {at}"),
            SmemcapError::Size { at } => write!(f, "bad size in the tar header at offset {at}"),
            SmemcapError::Truncated { at, size } => write!(
                f,
                "the entry at offset {at} is truncated ({size} bytes promised)"
            ),
            SmemcapError::CutPadding { at } => write!(
                f,
                "the entry at offset {at} is cut in the padding after its data: the capture is truncated, the entries after it are lost"
            ),
        }
    }
}

impl std::error::Error for SmemcapError {}

impl<'a> Smemcap<'a> {
    /// Parses a capture. Errors say where (the offset of the header) and what is wrong.
    pub fn parse(input: &'a [u8]) -> Result<Smemcap<'a>, SmemcapError> {
        if input.starts_with(&[0x1f, 0x8b]) {
            return Err(SmemcapError::Gzip);
        }
        let mut out = Smemcap::default();
        let mut by_pid: BTreeMap<u32, Capture<'a>> = BTreeMap::new();
        let mut at = 0usize;
        let mut long_name: Option<&'a [u8]> = None;
        while at < input.len() {
            let Some(block) = input.get(at..at + BLOCK) else {
                // Less than a header left: zeros are the end-of-archive blocks cut
                // short; anything else is a header cut, and what followed it lost.
                let rest = &input[at..];
                if rest.iter().all(|&b| b == 0) {
                    break;
                }
                return Err(SmemcapError::CutHeader {
                    at,
                    len: rest.len(),
                });
            };
            if block.iter().all(|&b| b == 0) {
                break; // End of archive.
            }
            if !checksum_ok(block) {
                return Err(if at == 0 {
                    SmemcapError::NotTar
                } else {
                    SmemcapError::Checksum { at }
                });
            }
            let size = number(&block[124..136])
                .and_then(|s| usize::try_from(s).ok())
                .ok_or(SmemcapError::Size { at })?;
            let data_at = at + BLOCK;
            let data = data_at
                .checked_add(size)
                .and_then(|end| input.get(data_at..end))
                .ok_or(SmemcapError::Truncated { at, size })?;
            at = data_at + size.div_ceil(BLOCK) * BLOCK;
            if at > input.len() {
                return Err(SmemcapError::CutPadding {
                    at: data_at - BLOCK,
                });
            }
            let kind = block[156];
            let mut name = text(&block[0..100]).to_vec();
            if &block[257..262] == b"ustar" && block[345] != 0 {
                let mut full = text(&block[345..500]).to_vec();
                full.push(b'/');
                full.extend_from_slice(&name);
                name = full;
            }
            if let Some(l) = long_name.take() {
                name = text(l).to_vec();
            }
            match kind {
                // GNU long name: the next entry's name.
                b'L' => {
                    long_name = Some(data);
                    continue;
                }
                b'0' | 0 | b'7' => {}
                _ => continue, // directories, links, pax headers, ...
            }
            let name = proc_relative(&name);
            if name == b"version" {
                out.version = Some(data);
                continue;
            }
            let Some(slash) = name.iter().position(|&b| b == b'/') else {
                continue;
            };
            let Some(pid) = std::str::from_utf8(&name[..slash])
                .ok()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            let entry = by_pid.entry(pid).or_insert_with(|| Capture {
                pid,
                smaps: &[],
                cmdline: &[],
                stat: None,
                uid: None,
            });
            match &name[slash + 1..] {
                b"smaps" => {
                    entry.smaps = data;
                    entry.uid = number(&block[108..116]).and_then(|u| u32::try_from(u).ok());
                }
                b"cmdline" => entry.cmdline = data,
                b"stat" => entry.stat = Some(data),
                _ => {}
            }
        }
        out.processes = by_pid.into_values().collect();
        Ok(out)
    }
}

/// The command line of a capture: the NUL-separated arguments joined by spaces, in
/// the text form ([`crate::vocab::escape::text`]); `None` when empty (kernel threads).
pub fn command(cmdline: &[u8]) -> Option<String> {
    let args: Vec<&[u8]> = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .collect();
    (!args.is_empty()).then(|| crate::vocab::escape::text(&args.join(&b' ')).into_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tar header as smemcap writes it (no magic), for `name` of `size` bytes.
    pub(crate) fn header(name: &str, size: usize, kind: u8, uid: u32) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let put = |h: &mut Vec<u8>, at: usize, s: String| {
            h[at..at + s.len()].copy_from_slice(s.as_bytes());
        };
        put(&mut h, 100, format!("{:o}", 0o444));
        put(&mut h, 108, format!("{uid:o}"));
        put(&mut h, 116, format!("{:o}", 0));
        put(&mut h, 124, format!("{size:o}"));
        put(&mut h, 136, format!("{:o}", 0));
        h[156] = kind;
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        put(&mut h, 148, format!("{sum:06o}\0"));
        h
    }

    /// An archive of `files` as smemcap writes it.
    pub(crate) fn archive(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data, uid) in files {
            if !name.contains('/') && name.bytes().all(|b| b.is_ascii_digit()) {
                out.extend(header(name, 0, b'5', 0));
                continue;
            }
            out.extend(header(name, data.len(), b'0', *uid));
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        out
    }

    #[test]
    fn reads_what_smemcap_writes() {
        let smaps = b"00400000-00401000 r-xp 00000000 08:01 12 /bin/x\nRss: 4 kB\n";
        let tar = archive(&[
            ("meminfo", b"MemTotal: 1 kB\n", 0),
            ("version", b"Linux version 6.1.0\n", 0),
            ("42", b"", 0),
            ("42/smaps", smaps, 1000),
            ("42/cmdline", b"/bin/x\0-v\0", 1000),
            ("42/stat", b"42 (x) S 1 42 42 0 -1 4194560 0", 1000),
            ("2", b"", 0),
            ("2/smaps", b"", 0),
            ("2/cmdline", b"", 0),
            ("2/stat", b"2 (kthreadd) S 0 0 0 0 -1 2129984 0", 0),
        ]);
        let cap = Smemcap::parse(&tar).unwrap();
        assert_eq!(cap.version, Some(&b"Linux version 6.1.0\n"[..]));
        assert_eq!(cap.processes.len(), 2);
        let k = &cap.processes[0];
        assert_eq!(k.pid, 2);
        assert!(parse_stat(k.stat.unwrap()).unwrap().is_kernel_thread());
        let x = &cap.processes[1];
        assert_eq!((x.pid, x.smaps, x.uid), (42, &smaps[..], Some(1000)));
        assert_eq!(command(x.cmdline).as_deref(), Some("/bin/x -v"));
        assert_eq!(parse_stat(x.stat.unwrap()).unwrap().comm, "x");
    }

    #[test]
    fn hostile_archives_are_errors() {
        let tar = archive(&[("42/smaps", b"0-1000 r--p 0 0:0 0\n", 0)]);
        for cut in 0..tar.len() {
            let _ = Smemcap::parse(&tar[..cut]);
        }
        assert_eq!(
            Smemcap::parse(&tar[..520]).unwrap_err(),
            SmemcapError::Truncated { at: 0, size: 20 }
        );
        let gzip = Smemcap::parse(b"\x1f\x8b\x08").unwrap_err();
        assert_eq!(gzip, SmemcapError::Gzip);
        assert!(gzip.to_string().contains("zcat FILE"), "{gzip}");
        assert_eq!(
            Smemcap::parse(&[b'x'; 1024]).unwrap_err(),
            SmemcapError::NotTar
        );
        let mut bad = tar.clone();
        bad[124] = b'9';
        assert!(Smemcap::parse(&bad).is_err());
        // A size that does not fit the input.
        let mut huge = header("42/smaps", 0, b'0', 0);
        huge[124..136].copy_from_slice(b"77777777777\0");
        let sum: u32 = huge
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(b)
                }
            })
            .sum();
        huge[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        assert!(Smemcap::parse(&huge).unwrap_err().is_truncated());
        assert_eq!(Smemcap::parse(&[]).unwrap(), Smemcap::default());
    }

    /// Every cut of a capture is an error but one at the end of an entry (smemcap
    /// writes no end-of-archive blocks: the end of an entry may be the end).
    #[test]
    fn cut_captures_are_errors() {
        let tar = archive(&[
            ("42", b"", 0),
            ("42/smaps", b"0-1000 r--p 0 0:0 0\n", 0),
            ("42/cmdline", b"x\0", 0),
        ]);
        let ends = [512, 1536, 2560];
        for cut in 1..tar.len() {
            let got = Smemcap::parse(&tar[..cut]);
            if ends.contains(&cut) {
                assert!(got.is_ok(), "cut at {cut}: {got:?}");
            } else {
                let e = got.unwrap_err();
                assert!(
                    e.is_truncated() && e.to_string().contains("truncated"),
                    "cut at {cut}: {e}"
                );
            }
        }
        // End-of-archive blocks cut short are not a cut entry.
        let mut ended = tar.clone();
        ended.extend([0u8; 700]);
        assert_eq!(Smemcap::parse(&ended).unwrap().processes.len(), 1);
    }

    #[test]
    fn stat_lines() {
        let s = parse_stat(b"42 (a) b (c)) S 7 42 42 0 -1 4194560 0 0").unwrap();
        assert_eq!((s.comm.as_str(), s.state, s.ppid), ("a) b (c)", 'S', 7));
        assert!(!s.is_kernel_thread() && !s.is_zombie());
        assert!(
            parse_stat(b"9 (x) Z 1 9 9 0 -1 4227084 0")
                .unwrap()
                .is_zombie()
        );
        assert!(parse_stat(b"1 no comm").is_none());
        assert!(parse_stat(b"1 (x)").is_none());
    }
}

//! Reader of the few parts of an ELF file that elfmaps needs: the file header, the
//! program headers and the GNU build-id note ([`read`], for attribution), and for
//! `elfmaps layout` the section headers with their names ([`read_sections`]) and the
//! dynamic section's flags ([`read_dynamic`]).
//!
//! Only bounded reads through [`ReadAt`] at the offsets the headers name; never the
//! whole file (a 100 MB libLLVM costs the same as a 10 kB library), never the
//! relocation tables (a whole-file parse such as `object`'s `ElfFile` or goblin's
//! `Elf::parse` validates those and fails on problems this tool does not care
//! about); symbol tables only for `elfmaps symbols`, in
//! [`crate::input::symbols`], with bounds of their own. ELF32 and ELF64, either byte
//! order, any machine.
//!
//! The `object` crate decodes every structure (its low-level `read::elf` API: file
//! header, program and section headers with `PN_XNUM`, `e_shnum == 0` and
//! `SHN_XINDEX`, notes, dynamic entries; docs/design.md says why it and not goblin).
//! It reads through [`ReadRef`], which is implemented here over [`ReadAt`] by
//! [`Head`]: the first [`HEAD_BYTES`] read once, and every further read bounded by
//! the caps below, held for the life of the `Head` and never longer than the bytes
//! the file has. Hostile headers give an [`ElfError`], never a panic or a huge
//! allocation.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::mem::size_of;
use std::ops::Range;

use object::elf::{self as consts, FileHeader32, FileHeader64};
use object::read::elf::{
    Dyn as _, FileHeader, NoteIterator, ProgramHeader as _, SectionHeader as _,
};
use object::{Endianness, ReadRef, StringTable};

/// Positional reads, as `pread(2)` does: a file, or bytes in memory.
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many (0 at end of file).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl ReadAt for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let Ok(off) = usize::try_from(offset) else {
            return Ok(0);
        };
        if off >= self.len() {
            return Ok(0);
        }
        let n = buf.len().min(self.len() - off);
        buf[..n].copy_from_slice(&self[off..off + n]);
        Ok(n)
    }
}

/// Reads exactly `len` bytes at `offset`, or fewer when the file ends first.
pub fn read_upto<R: ReadAt + ?Sized>(src: &R, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let Some(at) = offset.checked_add(done as u64) else {
            break;
        };
        match src.read_at(&mut buf[done..], at) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(done);
    Ok(buf)
}

/// Largest program header table accepted (65535 entries of 64 bytes fit easily).
const MAX_PHDR_BYTES: u64 = 8 << 20;
/// A PT_INTERP larger than this (a path of the loader) is not read.
const MAX_INTERP_BYTES: u64 = 4096;
/// A PT_NOTE larger than this is not searched for a build ID.
const MAX_NOTE_BYTES: u64 = 1 << 20;
/// The first read of every file: 1 KiB holds the file header, the program headers
/// and the build-ID note of every library of a Debian system (at most 948 bytes); a
/// file that needs more is read where it needs it.
pub const HEAD_BYTES: usize = 1024;
/// Largest single read a [`Head`] makes for the parser (every table has a smaller
/// cap of its own; this one bounds what a caller forgot).
const MAX_READ_BYTES: u64 = 16 << 20;
/// Most bytes a [`Head`] reads and holds beyond the first [`HEAD_BYTES`]: the caps of
/// the tables it reads add up to less (program headers 8 MiB, section headers 16 MiB,
/// their names 4 MiB, notes and dynamic entries 1 MiB each). Headers that ask for
/// more (the same table at many offsets) make the file malformed.
const MAX_HELD_BYTES: u64 = 48 << 20;
/// Most ranges a [`Head`] holds (a real file needs a handful: the table of section
/// headers, the names, a note or a dynamic segment beyond the first bytes).
const MAX_HELD_RANGES: usize = 256;
/// Most PT_NOTE segments searched for the build ID (real files have one to four).
const MAX_NOTE_SEGMENTS: usize = 16;
/// Reads of large ranges go in chunks of this size, so that memory grows with the
/// bytes the file really has, not with the size its headers claim.
const CHUNK: usize = 1 << 20;

/// Why an ELF file could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ElfError {
    /// The first bytes are not `\x7fELF` (or the file is shorter than that).
    NotElf,
    /// The file ends before a structure that the headers promise.
    Truncated(String),
    /// The headers contradict themselves or the format.
    Malformed(String),
    /// I/O error reading the file.
    Io(io::Error),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf => f.write_str("not an ELF file"),
            ElfError::Truncated(s) => write!(f, "truncated ELF file: {s}"),
            ElfError::Malformed(s) => write!(f, "malformed ELF file: {s}"),
            ElfError::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

impl std::error::Error for ElfError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ElfError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ElfError {
    fn from(e: io::Error) -> Self {
        ElfError::Io(e)
    }
}

/// One program header, with its index as `readelf -l` numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Phdr {
    /// Its index in the program header table, as `readelf -l` numbers it.
    pub index: usize,
    /// `p_type` (PT_LOAD, PT_GNU_RELRO, ...).
    pub p_type: u32,
    /// `p_flags`: PF_R, PF_W, PF_X.
    pub flags: u32,
    /// `p_offset`: where the segment starts in the file.
    pub offset: u64,
    /// `p_vaddr`: where it is linked to start in memory.
    pub vaddr: u64,
    /// `p_paddr`.
    pub paddr: u64,
    /// `p_filesz`: its bytes in the file.
    pub filesz: u64,
    /// `p_memsz`: its bytes in memory (more than `filesz` for bss).
    pub memsz: u64,
    /// `p_align`.
    pub align: u64,
}

/// Segment flag: executable.
pub const PF_X: u32 = consts::PF_X.0;
/// Segment flag: writable.
pub const PF_W: u32 = consts::PF_W.0;
/// Segment flag: readable.
pub const PF_R: u32 = consts::PF_R.0;
/// `PT_LOAD`.
pub const PT_LOAD: u32 = consts::PT_LOAD.0;
/// `PT_DYNAMIC`.
pub const PT_DYNAMIC: u32 = consts::PT_DYNAMIC.0;
/// `PT_GNU_STACK`.
pub const PT_GNU_STACK: u32 = consts::PT_GNU_STACK.0;
/// `PT_GNU_RELRO`.
pub const PT_GNU_RELRO: u32 = consts::PT_GNU_RELRO.0;
/// `SHF_ALLOC`: the section occupies memory of the image.
pub const SHF_ALLOC: u64 = consts::SHF_ALLOC.0;
/// `SHF_TLS`: the section is thread-local (its memory is each thread's).
pub const SHF_TLS: u64 = consts::SHF_TLS.0;
/// `SHF_COMPRESSED`: the section's bytes are a compression header and compressed data.
#[cfg(feature = "cli")]
pub const SHF_COMPRESSED: u64 = consts::SHF_COMPRESSED.0;
/// `SHT_NOBITS`: the section has no bytes in the file (`.bss`, `.tbss`).
pub const SHT_NOBITS: u32 = consts::SHT_NOBITS.0;
/// `SHT_NOTE`.
#[cfg(feature = "cli")]
pub const SHT_NOTE: u32 = consts::SHT_NOTE.0;

impl Phdr {
    /// Whether this is a PT_LOAD.
    pub fn is_load(&self) -> bool {
        self.p_type == PT_LOAD
    }
    /// Whether this is a PT_GNU_RELRO.
    pub fn is_relro(&self) -> bool {
        self.p_type == PT_GNU_RELRO
    }
    /// Whether PF_W is set.
    pub fn writable(&self) -> bool {
        self.flags & PF_W != 0
    }
    /// Whether PF_X is set.
    pub fn executable(&self) -> bool {
        self.flags & PF_X != 0
    }
    /// readelf's name of the segment type (`LOAD`, `GNU_RELRO`, ...), or its number
    /// in hex when it has no name.
    pub fn type_name(&self) -> String {
        match consts::ProgramType(self.p_type)
            .name()
            .and_then(|s| s.strip_prefix("PT_"))
        {
            Some(name) => name.to_string(),
            None => format!("0x{:x}", self.p_type),
        }
    }
}

/// What attribution needs to know about one ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// 32 or 64.
    pub class: u8,
    /// Little-endian (else big-endian).
    pub little_endian: bool,
    /// `e_type` (2 = EXEC, 3 = DYN).
    pub e_type: u16,
    /// `e_machine`.
    pub machine: u16,
    /// The program headers, in file order.
    pub phdrs: Vec<Phdr>,
    /// The GNU build ID, when a PT_NOTE carries one.
    pub build_id: Option<Vec<u8>>,
    /// The program interpreter PT_INTERP names (without its NUL), when the file has
    /// one: the dynamic loader of a process whose executable this is.
    pub interp: Option<Vec<u8>>,
}

impl ElfInfo {
    /// The machine's name in `elf.h` without the `EM_` prefix (`X86_64`, `AARCH64`,
    /// ...); for a machine `elf.h` does not name, `EM_` and its number (`EM_4660`),
    /// never a bare `UNKNOWN` that two machines would share.
    pub fn machine_name(&self) -> String {
        self.machine_str().into_owned()
    }

    /// [`ElfInfo::machine_name`] without an allocation for a named machine.
    pub fn machine_str(&self) -> Cow<'static, str> {
        match consts::Machine(self.machine)
            .name()
            .and_then(|s| s.strip_prefix("EM_"))
        {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(format!("EM_{}", self.machine)),
        }
    }

    /// The PT_LOAD headers, in file order.
    pub fn loads(&self) -> impl Iterator<Item = &Phdr> {
        self.phdrs.iter().filter(|p| p.is_load() && p.memsz > 0)
    }

    /// Whether the loaders map this file (EXEC or DYN with at least one PT_LOAD).
    pub fn is_loadable(&self) -> bool {
        matches!(self.e_type, 2 | 3) && self.loads().next().is_some()
    }

    /// A digest of the program header table (every field of every entry, in table
    /// order; FNV-1a, 64 bits): two files with the same digest number their segments
    /// alike. A snapshot records it, so that an offline analysis can tell a sysroot
    /// file whose table was rewritten (patchelf) although its build ID is the same.
    pub fn phdr_digest(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |v: u64| {
            for b in v.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        for p in &self.phdrs {
            for v in [
                u64::from(p.p_type),
                u64::from(p.flags),
                p.offset,
                p.vaddr,
                p.paddr,
                p.filesz,
                p.memsz,
                p.align,
            ] {
                eat(v);
            }
        }
        h
    }

    /// The build ID in lowercase hex, if the file has one.
    pub fn build_id_hex(&self) -> Option<String> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.build_id.as_ref().map(|b| {
            let mut s = String::with_capacity(2 * b.len());
            for &x in b {
                s.push(char::from(HEX[usize::from(x >> 4)]));
                s.push(char::from(HEX[usize::from(x & 0xf)]));
            }
            s
        })
    }
}

/// The class and byte order of an ELF file, from `e_ident`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident {
    /// ELFCLASS64 (else ELFCLASS32).
    pub is64: bool,
    /// ELFDATA2LSB (else ELFDATA2MSB).
    pub little: bool,
}

impl Ident {
    /// ELF64, little-endian (x86-64's): for tests.
    #[cfg(test)]
    pub(crate) const LE64: Ident = Ident {
        is64: true,
        little: true,
    };

    /// The byte order as `object` names it.
    pub fn endian(self) -> Endianness {
        if self.little {
            Endianness::Little
        } else {
            Endianness::Big
        }
    }
}

/// Checks the identification bytes of an ELF file (at least 52 or 64 bytes: the
/// whole file header must be there) and gives its class and byte order.
pub fn ident(bytes: &[u8]) -> Result<Ident, ElfError> {
    if bytes.len() < 4 || bytes[..4] != consts::ELFMAG {
        return Err(ElfError::NotElf);
    }
    if bytes.len() < 6 {
        return Err(ElfError::Truncated("file header".into()));
    }
    const CLASS32: u8 = consts::ELFCLASS32.0;
    const CLASS64: u8 = consts::ELFCLASS64.0;
    const LSB: u8 = consts::ELFDATA2LSB.0;
    const MSB: u8 = consts::ELFDATA2MSB.0;
    let (is64, need) = match bytes[4] {
        CLASS32 => (false, size_of::<FileHeader32<Endianness>>()),
        CLASS64 => (true, size_of::<FileHeader64<Endianness>>()),
        c => return Err(ElfError::Malformed(format!("unknown class {c}"))),
    };
    let little = match bytes[5] {
        LSB => true,
        MSB => false,
        d => return Err(ElfError::Malformed(format!("unknown data encoding {d}"))),
    };
    if bytes.len() < need {
        return Err(ElfError::Truncated(format!(
            "file header needs {need} bytes, file has {}",
            bytes.len()
        )));
    }
    Ok(Ident { is64, little })
}

/// The class and byte order of the ELF file behind `src` ([`ident`] of its first
/// bytes).
#[cfg(feature = "cli")]
pub fn read_ident<R: ReadAt + ?Sized>(src: &R) -> Result<Ident, ElfError> {
    ident(&read_upto(src, 0, size_of::<FileHeader64<Endianness>>())?)
}

/// Reads exactly `len` bytes at `offset` (fewer when the file ends first) in chunks
/// of at most 1 MiB: memory grows with the bytes the file really has, not with `len`.
pub(crate) fn read_chunked<R: ReadAt + ?Sized>(
    src: &R,
    offset: u64,
    len: u64,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while (out.len() as u64) < len {
        let want = (len - out.len() as u64).min(CHUNK as u64) as usize;
        let Some(at) = offset.checked_add(out.len() as u64) else {
            break;
        };
        let got = read_upto(src, at, want)?;
        let short = got.len() < want;
        out.extend_from_slice(&got);
        if short {
            break;
        }
    }
    Ok(out)
}

/// The bytes of one file that its readers have read: the first [`HEAD_BYTES`] (one
/// `pread`), then whatever the parser asked for, each range read once and held as
/// long as the `Head` lives. Shared by the readers of one file's headers
/// ([`read_with`], [`read_sections_with`], [`read_dynamic_with`]): each reads only
/// what the others have not.
pub struct Head {
    /// The ranges read, in the order they were read; the first is the file's start.
    held: elsa::FrozenVec<Box<[u8]>>,
    /// Where each of `held` starts in the file.
    at: RefCell<Vec<u64>>,
    /// The file ends within the first range: nothing lies beyond it.
    whole: bool,
    /// Bytes read after the first range.
    read: Cell<u64>,
    /// A read was refused: [`MAX_HELD_BYTES`] or [`MAX_HELD_RANGES`] reached.
    over: Cell<bool>,
}

impl fmt::Debug for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Head")
            .field("ranges", &self.at.borrow().len())
            .field("whole", &self.whole)
            .finish()
    }
}

impl Head {
    /// Reads the first bytes of the file behind `src` (one `pread`).
    pub fn read<R: ReadAt + ?Sized>(src: &R) -> io::Result<Head> {
        let bytes = read_upto(src, 0, HEAD_BYTES)?;
        let whole = bytes.len() < HEAD_BYTES;
        let held = elsa::FrozenVec::new();
        held.push(bytes.into_boxed_slice());
        Ok(Head {
            held,
            at: RefCell::new(vec![0]),
            whole,
            read: Cell::new(0),
            over: Cell::new(false),
        })
    }

    /// The first bytes of the file.
    pub fn bytes(&self) -> &[u8] {
        self.held.get(0).unwrap_or(&[])
    }

    /// The held bytes from `offset` on, to the end of the range that holds the most
    /// of them.
    fn from(&self, offset: u64) -> Option<&[u8]> {
        let at = self.at.borrow();
        (0..at.len())
            .filter_map(|i| {
                let b = self.held.get(i)?;
                let skip = usize::try_from(offset.checked_sub(at[i])?).ok()?;
                b.get(skip..).filter(|rest| !rest.is_empty())
            })
            .max_by_key(|rest| rest.len())
    }

    /// `len` held bytes at `offset`, when one range holds them all.
    fn get(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let len = usize::try_from(len).ok()?;
        self.from(offset).and_then(|b| b.get(..len))
    }

    /// Whether `len` bytes at `offset` are held, or known to lie past the end.
    fn holds(&self, offset: u64, len: u64) -> bool {
        self.whole || len == 0 || self.get(offset, len).is_some()
    }

    /// Reads `len` bytes at `offset` (fewer when the file ends first) unless they are
    /// held, and holds them. At most [`MAX_READ_BYTES`] at once and
    /// [`MAX_HELD_BYTES`] in all (past it nothing more is read, and `over` is set);
    /// memory grows with the bytes read. Returns how many bytes from `offset` are now
    /// held.
    fn fill<R: ReadAt + ?Sized>(&self, src: &R, offset: u64, len: u64) -> io::Result<u64> {
        if let Some(b) = self.from(offset) {
            if b.len() as u64 >= len || self.whole {
                return Ok((b.len() as u64).min(len));
            }
        } else if self.whole {
            return Ok(0);
        }
        let want = len.min(MAX_READ_BYTES);
        let read = self.read.get();
        if read.saturating_add(want) > MAX_HELD_BYTES || self.at.borrow().len() >= MAX_HELD_RANGES {
            self.over.set(true);
            return Ok(0);
        }
        let bytes = read_chunked(src, offset, want)?;
        let n = bytes.len() as u64;
        self.read.set(read + n);
        if n > 0 {
            self.held.push(bytes.into_boxed_slice());
            self.at.borrow_mut().push(offset);
        }
        Ok(n)
    }
}

/// A file as `object` reads it: its [`Head`] and the file behind it. A failed read
/// cannot carry its cause through [`ReadRef`]; it is kept here, so that an I/O error
/// is reported as one and a file that ends early as truncated.
struct Bytes<'h, 'r, R: ?Sized> {
    src: &'r R,
    head: &'h Head,
    /// The first I/O error met since the last [`Bytes::check`].
    io: RefCell<Option<io::Error>>,
    /// A read ran past the end of the file since the last [`Bytes::check`].
    short: Cell<bool>,
}

impl<'h, 'r, R: ReadAt + ?Sized> Bytes<'h, 'r, R> {
    fn new(src: &'r R, head: &'h Head) -> Self {
        Bytes {
            src,
            head,
            io: RefCell::new(None),
            short: Cell::new(false),
        }
    }

    /// Holds `len` bytes at `offset` ahead of the parser's reads (fewer when the file
    /// ends first; an I/O error is the only error).
    fn prefetch(&self, offset: u64, len: u64) -> Result<u64, ElfError> {
        let n = self.head.fill(self.src, offset, len)?;
        if self.head.over.replace(false) {
            return Err(ElfError::Malformed(format!(
                "the headers ask for more than {} MiB of reads",
                MAX_HELD_BYTES >> 20
            )));
        }
        Ok(n)
    }

    /// The result of one step of parsing, `what`, with the cause of a failure found:
    /// an I/O error, a read past the end (truncated) or bad contents (malformed).
    fn check<T, E: fmt::Display>(
        &self,
        what: impl fmt::Display,
        r: Result<T, E>,
    ) -> Result<T, ElfError> {
        let io = self.io.borrow_mut().take();
        let short = self.short.replace(false);
        let over = self.head.over.replace(false);
        match (r, io) {
            (Ok(v), _) => Ok(v),
            (Err(_), Some(e)) => Err(ElfError::Io(e)),
            (Err(_), None) if over => Err(ElfError::Malformed(format!(
                "{what}: the headers ask for more than {} MiB of reads",
                MAX_HELD_BYTES >> 20
            ))),
            (Err(_), None) if short => Err(ElfError::Truncated(format!(
                "{what} end past the end of the file"
            ))),
            (Err(e), None) => Err(ElfError::Malformed(format!("{what}: {e}"))),
        }
    }

    /// After a step whose failure is tolerated: the I/O error it met, if any.
    fn io_error(&self) -> Result<(), ElfError> {
        self.short.set(false);
        self.head.over.set(false);
        match self.io.borrow_mut().take() {
            Some(e) => Err(ElfError::Io(e)),
            None => Ok(()),
        }
    }

    /// Holds and gives `size` bytes at `offset`; `Err` when the file has fewer.
    fn bytes_at(&self, offset: u64, size: u64) -> Result<&'h [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        if let Some(b) = self.head.get(offset, size) {
            return Ok(b);
        }
        match self.head.fill(self.src, offset, size) {
            Ok(n) if n >= size => self.head.get(offset, size).ok_or(()),
            Ok(_) => {
                if !self.head.over.get() {
                    self.short.set(true);
                }
                Err(())
            }
            Err(e) => {
                self.io.borrow_mut().get_or_insert(e);
                Err(())
            }
        }
    }
}

impl<'a, 'h: 'a, 'r, R: ReadAt + ?Sized> ReadRef<'a> for &'a Bytes<'h, 'r, R> {
    fn len(self) -> Result<u64, ()> {
        // Not needed by the parts of `object` used here, and a file's size is not
        // trusted (it can change while it is read): every read is checked instead.
        Err(())
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        self.bytes_at(offset, size)
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'a [u8], ()> {
        let len = range.end.checked_sub(range.start).ok_or(())?;
        let b = self.bytes_at(range.start, len)?;
        memchr::memchr(delimiter, b).map(|n| &b[..n]).ok_or(())
    }
}

/// Reads the header, program headers and build ID of the ELF file behind `src`.
pub fn read<R: ReadAt + ?Sized>(src: &R) -> Result<ElfInfo, ElfError> {
    read_with(src, &Head::read(src)?)
}

/// [`read`] with the file's first bytes already read: one read of the first
/// [`HEAD_BYTES`] holds the header, the program headers and the build ID note in
/// almost every file; anything beyond is read where it is.
pub fn read_with<R: ReadAt + ?Sized>(src: &R, head: &Head) -> Result<ElfInfo, ElfError> {
    let id = ident(head.bytes())?;
    let data = Bytes::new(src, head);
    if id.is64 {
        info_of::<FileHeader64<Endianness>, R>(&data, id)
    } else {
        info_of::<FileHeader32<Endianness>, R>(&data, id)
    }
}

fn info_of<Elf, R>(data: &Bytes<'_, '_, R>, id: Ident) -> Result<ElfInfo, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadAt + ?Sized,
{
    let header = data.check("file header", Elf::parse(data))?;
    let endian = id.endian();
    let phnum = data.check("program header count", header.phnum(endian, data))?;
    let entsize = size_of::<Elf::ProgramHeader>() as u64;
    if u64::from(phnum) * entsize > MAX_PHDR_BYTES {
        return Err(ElfError::Malformed(format!("{phnum} program headers")));
    }
    let phoff: u64 = header.e_phoff(endian).into();
    let table = data.check(
        format_args!("{phnum} program headers at offset 0x{phoff:x}"),
        header.program_headers(endian, data),
    )?;
    let phdrs: Vec<Phdr> = table
        .iter()
        .enumerate()
        .map(|(index, p)| Phdr {
            index,
            p_type: p.p_type(endian).0,
            flags: p.p_flags(endian).0,
            offset: p.p_offset(endian).into(),
            vaddr: p.p_vaddr(endian).into(),
            paddr: p.p_paddr(endian).into(),
            filesz: p.p_filesz(endian).into(),
            memsz: p.p_memsz(endian).into(),
            align: p.p_align(endian).into(),
        })
        .collect();
    for p in phdrs.iter().filter(|p| p.is_load()) {
        if p.filesz > p.memsz {
            return Err(ElfError::Malformed(format!(
                "PT_LOAD [{}] has p_filesz 0x{:x} > p_memsz 0x{:x}",
                p.index, p.filesz, p.memsz
            )));
        }
        if p.vaddr.checked_add(p.memsz).is_none() || p.offset.checked_add(p.filesz).is_none() {
            return Err(ElfError::Malformed(format!(
                "PT_LOAD [{}] overflows the address space",
                p.index
            )));
        }
    }

    // The first GNU build-ID note of a PT_NOTE; bad or cut notes are skipped.
    let mut build_id = None;
    let notes = table
        .iter()
        .zip(&phdrs)
        .filter(|(_, ph)| ph.p_type == consts::PT_NOTE.0)
        .take(MAX_NOTE_SEGMENTS);
    for (p, ph) in notes {
        if ph.filesz == 0 || ph.filesz > MAX_NOTE_BYTES {
            continue;
        }
        let notes = p.notes(endian, data);
        data.io_error()?;
        if let Ok(Some(notes)) = notes
            && let Some(id) = gnu_build_id(notes, endian)
        {
            build_id = Some(id);
            break;
        }
    }

    let mut interp = None;
    if let Some((p, _)) = table
        .iter()
        .zip(&phdrs)
        .find(|(_, ph)| ph.p_type == consts::PT_INTERP.0 && ph.filesz <= MAX_INTERP_BYTES)
    {
        let path = p.data(endian, data);
        data.io_error()?;
        if let Ok(path) = path {
            let end = memchr::memchr(0, path).unwrap_or(path.len());
            interp = Some(path[..end].to_vec());
        }
    }

    Ok(ElfInfo {
        class: if id.is64 { 64 } else { 32 },
        little_endian: id.little,
        e_type: header.e_type(endian).0,
        machine: header.e_machine(endian).0,
        phdrs,
        build_id,
        interp,
    })
}

/// The descriptor of the first GNU build-ID note of `notes`; a bad note ends the walk.
fn gnu_build_id<Elf: FileHeader>(
    mut notes: NoteIterator<'_, Elf>,
    endian: Elf::Endian,
) -> Option<Vec<u8>> {
    while let Ok(Some(note)) = notes.next() {
        if note.n_type(endian) == consts::NT_GNU_BUILD_ID && note.name() == consts::ELF_NOTE_GNU {
            return Some(note.desc().to_vec());
        }
    }
    None
}

/// The GNU build ID in the bytes of a note section or segment of a file of byte order
/// `id` (`align` from its header: 8, else 4), when one of its notes is one.
#[cfg(any(feature = "cli", test))]
pub fn find_build_id(notes: &[u8], id: Ident, align: u64) -> Option<Vec<u8>> {
    let endian = id.endian();
    let align = if align == 8 { 8 } else { 4 };
    let it = NoteIterator::<FileHeader64<Endianness>>::new(endian, align, notes).ok()?;
    gnu_build_id(it, endian)
}

// ---------------------------------------------------------------- section headers

/// Largest section header table [`read_sections`] reads (a million sections).
pub const MAX_SHDR_BYTES: u64 = 16 << 20;
/// Largest section name string table [`read_sections`] reads.
pub const MAX_SHSTRTAB_BYTES: u64 = 4 << 20;
/// Bytes read before the section header table with it, where linkers put the section
/// name table: 398 of the 400 first libraries of a Debian system have it there.
const NAMES_BEFORE_TABLE: u64 = 512;
/// Largest PT_DYNAMIC [`read_dynamic`] reads (real ones are under 1 KiB).
pub const MAX_DYNAMIC_BYTES: u64 = 1 << 20;

/// One section header, with its name from the section name string table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shdr {
    /// Its index in the section header table.
    pub index: usize,
    /// The name's bytes; `None` when the string table or the name is missing. The
    /// names almost every file has ([`known_section_name`]) are borrowed, not copied.
    pub name: Option<Cow<'static, [u8]>>,
    /// `sh_type`.
    pub sh_type: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addr`.
    pub addr: u64,
    /// `sh_offset`.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
    /// `sh_link` (of a symbol table: its string table's index).
    pub link: u32,
}

/// The section header table of a file (section 0 included, as it is in the file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionTable {
    /// The section headers, in file order.
    pub sections: Vec<Shdr>,
    /// Why names are missing (no, truncated or oversized string table), if they are.
    pub names_problem: Option<String>,
}

/// Reads the section headers and their names with bounded reads: one read of the
/// table with the 512 bytes before it, where the name string table almost always
/// is, one more of the names where they are not. Handles `e_shnum == 0` with the
/// count in section 0's `sh_size` and `e_shstrndx == SHN_XINDEX` with the index in
/// its `sh_link`. A file without section headers gives an empty table; a table that
/// is larger than [`MAX_SHDR_BYTES`] or runs past the end of the file is an error;
/// a missing or oversized name table leaves the names `None` and says why.
#[cfg(any(feature = "cli", test))]
pub fn read_sections<R: ReadAt + ?Sized>(src: &R) -> Result<SectionTable, ElfError> {
    read_sections_with(src, &Head::read(src)?)
}

/// [`read_sections`] with the file's first bytes already read. One read of the table
/// (section 0 with it, and the bytes before it) when `e_shnum` gives the count; two
/// when the count is in section 0; one more of the name table when it is not in the
/// bytes read.
pub fn read_sections_with<R: ReadAt + ?Sized>(
    src: &R,
    head: &Head,
) -> Result<SectionTable, ElfError> {
    let id = ident(head.bytes())?;
    let data = Bytes::new(src, head);
    if id.is64 {
        sections_of::<FileHeader64<Endianness>, R>(&data, id)
    } else {
        sections_of::<FileHeader32<Endianness>, R>(&data, id)
    }
}

fn sections_of<Elf, R>(data: &Bytes<'_, '_, R>, id: Ident) -> Result<SectionTable, ElfError>
where
    Elf: FileHeader<Endian = Endianness>,
    R: ReadAt + ?Sized,
{
    let header = data.check("file header", Elf::parse(data))?;
    let endian = id.endian();
    let shoff: u64 = header.e_shoff(endian).into();
    if shoff == 0 {
        return Ok(SectionTable::default());
    }
    let entsize = size_of::<Elf::SectionHeader>() as u64;
    if u64::from(header.e_shentsize(endian)) != entsize {
        return Err(ElfError::Malformed(format!(
            "e_shentsize is {}, expected {entsize}",
            header.e_shentsize(endian)
        )));
    }
    // One read of the table (of section 0 alone when the count is in it) with the
    // bytes before it, where linkers put the section name table.
    let known = u64::from(header.e_shnum(endian));
    let want = entsize * known.max(1);
    let before = if known == 0 || data.head.holds(shoff, want) {
        0
    } else {
        shoff.min(NAMES_BEFORE_TABLE)
    };
    data.prefetch(shoff - before, want + before)?;
    let count = data.check(
        format_args!("section header 0 at offset 0x{shoff:x}"),
        header.shnum(endian, data),
    )?;
    if count == 0 {
        return Ok(SectionTable::default());
    }
    if u64::from(count) * entsize > MAX_SHDR_BYTES {
        return Err(ElfError::Malformed(format!(
            "{count} section headers are more than {} MiB",
            MAX_SHDR_BYTES >> 20
        )));
    }
    let table = data.check(
        format_args!("{count} section headers at offset 0x{shoff:x}"),
        header.section_headers(endian, data),
    )?;

    // The names: the string table read once, whole.
    let mut names_problem = None;
    let strings: Option<StringTable<'_, &[u8]>> = if header.e_shstrndx(endian) == consts::SHN_UNDEF
    {
        names_problem = Some("no section name string table (e_shstrndx is 0)".into());
        None
    } else {
        match header
            .shstrndx(endian, data)
            .map(|i| (i, table.get(i as usize)))
        {
            Err(e) => {
                names_problem = Some(format!("section name string table: {e}"));
                None
            }
            Ok((i, None)) => {
                names_problem = Some(format!(
                    "section name string table index {i} is not below the {count} sections"
                ));
                None
            }
            Ok((_, Some(s))) => {
                let (offset, size): (u64, u64) =
                    (s.sh_offset(endian).into(), s.sh_size(endian).into());
                if size > MAX_SHSTRTAB_BYTES {
                    names_problem = Some(format!(
                        "section name string table of {size} bytes is over the {} MiB cap",
                        MAX_SHSTRTAB_BYTES >> 20
                    ));
                    None
                } else if data.prefetch(offset, size)? < size {
                    names_problem = Some(format!(
                        "section name string table at offset 0x{offset:x} ends past the end of the file"
                    ));
                    None
                } else {
                    let bytes = data.bytes_at(offset, size).unwrap_or(&[]);
                    Some(StringTable::new(bytes, 0, bytes.len() as u64))
                }
            }
        }
    };
    let sections = table
        .iter()
        .enumerate()
        .map(|(index, s)| Shdr {
            index,
            name: strings.as_ref().and_then(|t| {
                let name = t.get(s.sh_name(endian)).ok()?;
                Some(match known_section_name(name) {
                    Some(k) => Cow::Borrowed(k.as_bytes()),
                    None => Cow::Owned(name.to_vec()),
                })
            }),
            sh_type: s.sh_type(endian).0,
            flags: s.sh_flags(endian).0,
            addr: s.sh_addr(endian).into(),
            offset: s.sh_offset(endian).into(),
            size: s.sh_size(endian).into(),
            link: s.sh_link(endian),
        })
        .collect();
    Ok(SectionTable {
        sections,
        names_problem,
    })
}

/// The section names that almost every file of a Linux system has (what GNU ld,
/// gold, lld and mold emit), as static strings: a section named so costs no
/// allocation. Any other name is `None`, and is copied.
pub fn known_section_name(name: &[u8]) -> Option<&'static str> {
    // By length first: most lengths hold one to six names.
    let same_length: &[&'static str] = match name.len() {
        4 => &[".bss", ".got", ".plt"],
        5 => &[".text", ".data", ".init", ".fini", ".hash", ".tbss"],
        6 => &[".tdata"],
        7 => &[
            ".rodata", ".dynsym", ".dynstr", ".interp", ".symtab", ".strtab",
        ],
        8 => &[
            ".dynamic", ".comment", ".got.plt", ".plt.got", ".plt.sec", ".rel.dyn", ".rel.plt",
        ],
        9 => &[
            ".gnu.hash",
            ".rela.dyn",
            ".rela.plt",
            ".relr.dyn",
            ".eh_frame",
            ".shstrtab",
        ],
        11 => &[".init_array", ".fini_array"],
        12 => &[".data.rel.ro", ".gnu.version"],
        13 => &[".eh_frame_hdr", ".note.ABI-tag"],
        14 => &[".gnu.version_r", ".gnu.version_d", ".gnu_debuglink"],
        15 => &[".tm_clone_table"],
        17 => &[".gnu_debugaltlink", ".gcc_except_table"],
        18 => &[".note.gnu.build-id", ".note.gnu.property"],
        _ => return None,
    };
    same_length.iter().copied().find(|k| k.as_bytes() == name)
}

// ---------------------------------------------------------------- PT_DYNAMIC

/// What the dynamic section says about relocation of read-only memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DynamicFlags {
    /// `DT_TEXTREL`, or `DF_TEXTREL` in `DT_FLAGS`: relocations write to read-only segments.
    pub textrel: bool,
    /// `DT_BIND_NOW`, `DF_BIND_NOW` in `DT_FLAGS` or `DF_1_NOW` in `DT_FLAGS_1`:
    /// every symbol is bound at load time, so the loader can make all of RELRO read-only.
    pub bind_now: bool,
}

/// Reads the first PT_DYNAMIC's entries (up to `DT_NULL`) with one bounded read.
/// `Ok(None)` when the file has no PT_DYNAMIC.
#[cfg(any(feature = "cli", test))]
pub fn read_dynamic<R: ReadAt + ?Sized>(
    src: &R,
    info: &ElfInfo,
) -> Result<Option<DynamicFlags>, ElfError> {
    read_dynamic_with(src, &Head::read(src)?, info)
}

/// [`read_dynamic`] with the file's first bytes already read.
pub fn read_dynamic_with<R: ReadAt + ?Sized>(
    src: &R,
    head: &Head,
    info: &ElfInfo,
) -> Result<Option<DynamicFlags>, ElfError> {
    let Some(p) = info.phdrs.iter().find(|p| p.p_type == PT_DYNAMIC) else {
        return Ok(None);
    };
    if p.filesz > MAX_DYNAMIC_BYTES {
        return Err(ElfError::Malformed(format!(
            "PT_DYNAMIC [{}] of {} bytes is over the {} MiB cap",
            p.index,
            p.filesz,
            MAX_DYNAMIC_BYTES >> 20
        )));
    }
    let data = Bytes::new(src, head);
    let raw = data.check(
        format_args!("PT_DYNAMIC [{}] at offset 0x{:x}", p.index, p.offset),
        data.bytes_at(p.offset, p.filesz).map_err(|()| "cut short"),
    )?;
    let endian = Ident {
        is64: info.class == 64,
        little: info.little_endian,
    }
    .endian();
    Ok(Some(if info.class == 64 {
        dynamic_flags::<FileHeader64<Endianness>>(raw, endian)
    } else {
        dynamic_flags::<FileHeader32<Endianness>>(raw, endian)
    }))
}

/// The flags of the dynamic entries in `raw`, up to `DT_NULL`.
fn dynamic_flags<Elf: FileHeader>(raw: &[u8], endian: Elf::Endian) -> DynamicFlags {
    let count = raw.len() / size_of::<Elf::Dyn>();
    let entries: &[Elf::Dyn] = object::pod::slice_from_bytes(raw, count)
        .map(|(s, _)| s)
        .unwrap_or(&[]);
    let mut out = DynamicFlags::default();
    for d in entries {
        let val: u64 = d.d_val(endian).into();
        match d.d_tag(endian) {
            consts::DT_NULL => break,
            consts::DT_TEXTREL => out.textrel = true,
            consts::DT_BIND_NOW => out.bind_now = true,
            consts::DT_FLAGS => {
                out.textrel |= val & consts::DF_TEXTREL.0 != 0;
                out.bind_now |= val & consts::DF_BIND_NOW.0 != 0;
            }
            consts::DT_FLAGS_1 => out.bind_now |= val & consts::DF_1_NOW.0 != 0,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 LE file with the given program headers.
    pub(crate) fn elf64(phdrs: &[[u64; 7]], phentsize: u16, phnum: u16) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[6] = 1;
        f[16..18].copy_from_slice(&3u16.to_le_bytes());
        f[18..20].copy_from_slice(&62u16.to_le_bytes());
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[54..56].copy_from_slice(&phentsize.to_le_bytes());
        f[56..58].copy_from_slice(&phnum.to_le_bytes());
        for p in phdrs {
            // p_type, p_flags, offset, vaddr, filesz, memsz, align
            f.extend_from_slice(&(p[0] as u32).to_le_bytes());
            f.extend_from_slice(&(p[1] as u32).to_le_bytes());
            f.extend_from_slice(&p[2].to_le_bytes());
            f.extend_from_slice(&p[3].to_le_bytes());
            f.extend_from_slice(&p[3].to_le_bytes());
            f.extend_from_slice(&p[4].to_le_bytes());
            f.extend_from_slice(&p[5].to_le_bytes());
            f.extend_from_slice(&p[6].to_le_bytes());
        }
        f
    }

    #[test]
    fn reads_program_headers() {
        let f = elf64(
            &[
                [1, 5, 0, 0, 0x1000, 0x1000, 0x1000],
                [1, 6, 0x1000, 0x2000, 0x10, 0x3000, 0x1000],
            ],
            56,
            2,
        );
        let info = read(&f[..]).unwrap();
        assert_eq!(info.class, 64);
        assert_eq!(
            crate::vocab::ElfType::from_e_type(info.e_type).name(),
            "DYN"
        );
        assert_eq!(info.machine_name(), "X86_64");
        assert_eq!(info.phdrs.len(), 2);
        assert_eq!(info.phdrs[1].memsz, 0x3000);
        assert_eq!(info.phdrs[1].type_name(), "LOAD");
    }

    #[test]
    fn hostile_headers_are_errors() {
        let good = elf64(&[[1, 5, 0, 0, 0x1000, 0x1000, 0x1000]], 56, 1);
        for cut in 0..good.len() {
            assert!(read(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(read(&b"\x7fELF"[..]), Err(ElfError::Truncated(_))));
        assert!(matches!(read(&b""[..]), Err(ElfError::NotElf)));
        assert!(matches!(
            read(&elf64(&[], 40, 1)[..]),
            Err(ElfError::Malformed(_))
        ));
        // A huge e_phnum with nothing behind it.
        assert!(read(&elf64(&[], 56, 0xfffe)[..]).is_err());
        // PN_XNUM without section headers.
        assert!(read(&elf64(&[], 56, 0xffff)[..]).is_err());
        // Huge e_phoff.
        let mut f = good.clone();
        f[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(read(&f[..]).is_err());
        // filesz > memsz.
        assert!(read(&elf64(&[[1, 5, 0, 0, 0x2000, 0x1000, 0x1000]], 56, 1)[..]).is_err());
        // Overflowing vaddr + memsz.
        assert!(read(&elf64(&[[1, 5, 0, u64::MAX - 1, 0, 0x1000, 0x1000]], 56, 1)[..]).is_err());
    }

    /// The section table as `object` reads it from the whole file in memory (its
    /// `ElfFile`: no caps, no windows, no held ranges), to check the bounded reads
    /// against: same sections, same names, an error where it fails.
    /// Type, flags, offset, size and name of a section.
    type Fields = (u32, u64, u64, u64, Option<Vec<u8>>);

    fn whole_file_sections(src: &[u8]) -> Option<Vec<Fields>> {
        use object::read::elf::{FileHeader as _, SectionHeader as _};
        let header = object::elf::FileHeader64::<Endianness>::parse(src).ok()?;
        let endian = header.endian().ok()?;
        let table = header.sections(endian, src).ok()?;
        Some(
            table
                .iter()
                .map(|s| {
                    (
                        s.sh_type(endian).0,
                        s.sh_flags(endian).0,
                        s.sh_offset(endian),
                        s.sh_size(endian),
                        table.section_name(endian, s).ok().map(<[u8]>::to_vec),
                    )
                })
                .collect(),
        )
    }

    fn ours(t: &SectionTable) -> Vec<Fields> {
        t.sections
            .iter()
            .map(|s| {
                (
                    s.sh_type,
                    s.flags,
                    s.offset,
                    s.size,
                    s.name.as_deref().map(<[u8]>::to_vec),
                )
            })
            .collect()
    }

    /// Issue 10: the section table read with section 0 and through the first bytes
    /// gives what `object` reads from the whole file in memory, on a real file cut at
    /// every place that matters and with its offsets moved; where one fails, so does
    /// the other (or ours keeps the sections and says why the names are missing).
    #[test]
    fn section_reads_as_separate_ones() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let shoff = u64::from_le_bytes(exe[40..48].try_into().unwrap()) as usize;
        let t = read_sections(&exe[..]).unwrap();
        let names = t
            .sections
            .iter()
            .find(|s| s.name.as_deref() == Some(b".shstrtab"));
        let names = names.unwrap().offset as usize;
        let mut cuts: Vec<usize> = vec![0, 10, 63, 64, 65, 1023, 1024, 1025, exe.len()];
        for at in [shoff, shoff - 512, names, exe.len()] {
            for d in 0..80 {
                cuts.extend([at.saturating_sub(d), (at + d).min(exe.len())]);
            }
        }
        let same = |f: &[u8], what: &str| {
            let (a, b) = (read_sections(f), whole_file_sections(f));
            match (a, b) {
                (Ok(a), Some(b)) => assert_eq!(ours(&a), b, "{what}"),
                (Ok(a), None) => assert!(
                    a.sections.is_empty() || a.names_problem.is_some(),
                    "{what}: object fails, ours gives {a:?}"
                ),
                (Err(e), Some(b)) => panic!("{what}: ours fails ({e}), object reads {b:?}"),
                (Err(_), None) => {}
            }
        };
        for &cut in &cuts {
            same(&exe[..cut], &format!("cut at {cut}"));
        }
        // The table moved (e_shoff), its count changed (e_shnum 0: the count in section
        // 0), the name table's index changed.
        for (field, at, width) in [
            ("e_shoff", 40, 8),
            ("e_shnum", 60, 2),
            ("e_shstrndx", 62, 2),
        ] {
            for v in [
                0u64,
                1,
                2,
                64,
                500,
                511,
                512,
                513,
                1000,
                1535,
                0xffff,
                names as u64 + 100,
                shoff as u64 - 2048,
                shoff as u64 - 512,
                shoff as u64 + 64,
                exe.len() as u64 - 64,
            ] {
                let mut f = exe.clone();
                f[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
                same(&f, &format!("{field} = {v}"));
            }
        }
        // The name table moved and resized around the bytes read before the table.
        let strndx = usize::from(u16::from_le_bytes([exe[62], exe[63]]));
        let at = shoff + 64 * strndx;
        let size = u64::from_le_bytes(exe[at + 32..at + 40].try_into().unwrap());
        for off in [
            shoff - 513,
            shoff - 512,
            shoff - 511,
            shoff - 300,
            shoff - 1,
            shoff,
            shoff + 8,
        ] {
            for sz in [0, 1, size, 511, 512, 513, 4096] {
                let mut f = exe.clone();
                f[at + 24..at + 32].copy_from_slice(&(off as u64).to_le_bytes());
                f[at + 32..at + 40].copy_from_slice(&sz.to_le_bytes());
                same(&f, &format!("names at {off} size {sz}"));
                same(&f[..shoff + 100], &format!("names at {off} size {sz}, cut"));
            }
        }
    }

    /// Every name of the table is found, at its length; any other name is not.
    #[test]
    fn known_section_names() {
        for n in [
            ".text",
            ".bss",
            ".note.gnu.build-id",
            ".gnu_debugaltlink",
            ".got.plt",
        ] {
            assert_eq!(known_section_name(n.as_bytes()), Some(n));
        }
        for n in [
            "",
            ".",
            ".tex",
            ".texts",
            "text.",
            ".TEXT",
            ".debug_info",
            "wtext",
        ] {
            assert_eq!(known_section_name(n.as_bytes()), None, "{n}");
        }
        // The names of the running test binary: each known one is borrowed, with the
        // same bytes.
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let t = read_sections(&exe[..]).unwrap();
        let mut borrowed = 0;
        for s in &t.sections {
            let Some(name) = &s.name else { continue };
            let known = known_section_name(name);
            assert_eq!(
                known.map(str::as_bytes),
                matches!(name, Cow::Borrowed(_)).then_some(&name[..])
            );
            borrowed += usize::from(known.is_some());
        }
        assert!(borrowed >= 5, "{borrowed}");
    }

    /// A file whose 65,535 program headers are all PT_NOTEs of 1 MiB, each at its own
    /// offset: the reader searches the first 16 and holds at most 48 MiB beyond the
    /// first bytes (it held 1 MiB for each before: 64 GiB), and counts what it reads.
    #[test]
    fn many_large_notes_cost_bounded_reads() {
        struct Counting<'a>(&'a [u8], Cell<u64>);
        impl ReadAt for Counting<'_> {
            fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
                let n = ReadAt::read_at(self.0, buf, offset)?;
                self.1.set(self.1.get() + n as u64);
                Ok(n)
            }
        }
        let n = 0xfffe_u64;
        let data_at = 64 + 56 * n;
        let notes: Vec<[u64; 7]> = (0..n)
            .map(|i| [4, 4, data_at + 4 * i, 0, 1 << 20, 1 << 20, 4])
            .collect();
        let mut f = elf64(&notes, 56, n as u16);
        f.resize(f.len() + (2 << 20), 0);
        let src = Counting(&f, Cell::new(0));
        let info = read(&src).unwrap();
        assert_eq!(
            (info.phdrs.len(), info.build_id.as_ref()),
            (n as usize, None)
        );
        let table = 56 * n;
        assert!(
            src.1.get() <= HEAD_BYTES as u64 + table + 16 * (1 << 20),
            "{} bytes read",
            src.1.get()
        );
        // Held ranges past the cap: refused, and the file is malformed, not truncated.
        let head = Head::read(&f[..]).unwrap();
        for i in 0..64u64 {
            let _ = head.fill(&f[..], data_at + i, 1 << 20);
        }
        assert!(head.read.get() <= MAX_HELD_BYTES, "{}", head.read.get());
        assert!(head.over.get());
    }

    #[test]
    fn build_id_in_hex() {
        let mut info = read(&elf64(&[], 56, 0)[..]).unwrap();
        assert_eq!(info.build_id_hex(), None);
        let id: Vec<u8> = (0..=255).collect();
        info.build_id = Some(id.clone());
        let want: String = id.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(info.build_id_hex(), Some(want));
    }

    #[test]
    fn build_id_note() {
        let mut n = Vec::new();
        n.extend_from_slice(&4u32.to_le_bytes());
        n.extend_from_slice(&3u32.to_le_bytes());
        n.extend_from_slice(&3u32.to_le_bytes());
        n.extend_from_slice(b"GNU\0");
        n.extend_from_slice(&[0xab, 0xcd, 0xef, 0]);
        assert_eq!(
            find_build_id(&n, Ident::LE64, 4),
            Some(vec![0xab, 0xcd, 0xef])
        );
        // A descsz that runs past the end.
        n[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(find_build_id(&n, Ident::LE64, 4), None);
    }
}

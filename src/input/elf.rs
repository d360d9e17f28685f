//! Reader of the few parts of an ELF file that elfmaps needs: the file header, the
//! program headers and the GNU build-id note ([`read`], for attribution), and for
//! `elfmaps layout` the section headers with their names ([`read_sections`]) and the
//! dynamic section's flags ([`read_dynamic`]).
//!
//! Only bounded reads through [`ReadAt`] at the offsets the headers name; never the
//! whole file (a 100 MB libLLVM costs the same as a 10 kB library), never the
//! relocation tables (goblin's full `Elf::parse` validates those and fails on problems
//! this tool does not care about); symbol tables only for `elfmaps symbols`, in
//! [`crate::input::symbols`], with bounds of their own. ELF32 and ELF64, either byte order, any machine.
//! goblin parses the file header; program headers (hundreds of files for `map`) and
//! section headers (by the thousand for `layout`) are decoded here field by field; the
//! checks goblin omits (`e_phentsize`, `PN_XNUM`, sizes against the file) are made
//! here. Hostile headers give an
//! [`ElfError`], never a panic or a huge allocation.

use std::borrow::Cow;
use std::fmt;
use std::io;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::program_header::{PT_GNU_RELRO, PT_INTERP, PT_LOAD, PT_NOTE};
use goblin::elf::{Elf, Header, SectionHeader};

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
const PN_XNUM: u16 = 0xffff;
/// The first read of every file: 1 KiB holds the file header, the program headers
/// and the build-ID note of every library of a Debian system (at most 948 bytes); a
/// file that needs more is read where it needs it.
pub const HEAD_BYTES: usize = 1024;
const NT_GNU_BUILD_ID: u32 = 3;

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
pub const PF_X: u32 = 1;
/// Segment flag: writable.
pub const PF_W: u32 = 2;
/// Segment flag: readable.
pub const PF_R: u32 = 4;

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
    /// readelf's name of the segment type (`LOAD`, `GNU_RELRO`, ...).
    pub fn type_name(&self) -> String {
        let s = goblin::elf::program_header::pt_to_str(self.p_type);
        match s.strip_prefix("PT_") {
            Some(name) if s != "UNKNOWN_PT" => name.to_string(),
            _ => format!("0x{:x}", self.p_type),
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
    /// `EXEC`, `DYN`, `REL`, `CORE` or the number.
    pub fn type_name(&self) -> String {
        self.type_str().into_owned()
    }

    /// [`ElfInfo::type_name`] without an allocation for the four named types.
    pub fn type_str(&self) -> Cow<'static, str> {
        match self.e_type {
            1 => Cow::Borrowed("REL"),
            2 => Cow::Borrowed("EXEC"),
            3 => Cow::Borrowed("DYN"),
            4 => Cow::Borrowed("CORE"),
            t => Cow::Owned(format!("0x{t:x}")),
        }
    }

    /// goblin's machine name without the `EM_` prefix (`X86_64`, `AARCH64`, ...);
    /// for a machine goblin does not name, `EM_` and its number (`EM_4660`), never a
    /// bare `UNKNOWN` that two machines would share.
    pub fn machine_name(&self) -> String {
        self.machine_str().into_owned()
    }

    /// [`ElfInfo::machine_name`] without an allocation for a machine goblin names.
    pub fn machine_str(&self) -> Cow<'static, str> {
        match self.machine {
            // Linux ports goblin has no name for.
            252 => return Cow::Borrowed("CSKY"),
            0x9026 => return Cow::Borrowed("ALPHA"),
            _ => {}
        }
        match goblin::elf::header::machine_to_str(self.machine) {
            "EM_UNKNOWN" => Cow::Owned(format!("EM_{}", self.machine)),
            s => Cow::Borrowed(s.strip_prefix("EM_").unwrap_or(s)),
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

/// Parses the ELF file header from the first bytes of a file (at least 52 or 64).
pub fn parse_header(bytes: &[u8]) -> Result<Header, ElfError> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    if bytes.len() < 6 {
        return Err(ElfError::Truncated("file header".into()));
    }
    let need = match bytes[4] {
        1 => 52,
        2 => 64,
        c => return Err(ElfError::Malformed(format!("unknown class {c}"))),
    };
    if !matches!(bytes[5], 1 | 2) {
        return Err(ElfError::Malformed(format!(
            "unknown data encoding {}",
            bytes[5]
        )));
    }
    if bytes.len() < need {
        return Err(ElfError::Truncated(format!(
            "file header needs {need} bytes, file has {}",
            bytes.len()
        )));
    }
    Elf::parse_header(bytes).map_err(|e| ElfError::Malformed(format!("file header: {e}")))
}

fn ctx_of(header: &Header) -> Ctx {
    let container = if header.e_ident[4] == 2 {
        Container::Big
    } else {
        Container::Little
    };
    let le = if header.e_ident[5] == 2 {
        Endian::Big
    } else {
        Endian::Little
    };
    Ctx::new(container, le)
}

/// The first [`HEAD_BYTES`] of a file, read once and shared by the readers of its
/// headers ([`read_with`], [`read_sections_with`], [`read_dynamic_with`]): each takes
/// what it needs from these bytes and reads only the rest, where it is.
#[derive(Debug, Clone)]
pub struct Head {
    bytes: Vec<u8>,
    /// The file ends within these bytes: nothing lies beyond them.
    whole: bool,
}

impl Head {
    /// Reads the first bytes of the file behind `src` (one `pread`).
    pub fn read<R: ReadAt + ?Sized>(src: &R) -> io::Result<Head> {
        let bytes = read_upto(src, 0, HEAD_BYTES)?;
        let whole = bytes.len() < HEAD_BYTES;
        Ok(Head { bytes, whole })
    }

    /// No bytes read: every fetch reads the file.
    #[cfg(any(feature = "cli", test))]
    fn none() -> Head {
        Head {
            bytes: Vec::new(),
            whole: false,
        }
    }

    /// The bytes read.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether [`Head::fetch`] gives `len` bytes at `offset` without a read.
    fn holds(&self, offset: u64, len: usize) -> bool {
        self.whole
            || usize::try_from(offset)
                .ok()
                .and_then(|start| start.checked_add(len))
                .is_some_and(|end| end <= self.bytes.len())
    }

    /// `len` bytes at `offset`, or fewer when the file ends first, as [`read_upto`]
    /// reads them: from these bytes when they hold them, else from `src`.
    fn fetch<'a, R: ReadAt + ?Sized>(
        &'a self,
        src: &R,
        offset: u64,
        len: usize,
    ) -> io::Result<Cow<'a, [u8]>> {
        match usize::try_from(offset) {
            Ok(start) if start <= self.bytes.len() => {
                if let Some(r) = start
                    .checked_add(len)
                    .and_then(|end| self.bytes.get(start..end))
                {
                    return Ok(Cow::Borrowed(r));
                }
                if self.whole {
                    return Ok(Cow::Borrowed(&self.bytes[start..]));
                }
            }
            _ if self.whole => return Ok(Cow::Borrowed(&[])),
            _ => {}
        }
        read_upto(src, offset, len).map(Cow::Owned)
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
    let fetch = |offset: u64, len: usize| head.fetch(src, offset, len);
    let header = parse_header(head.bytes())?;
    let ctx = ctx_of(&header);
    let is64 = ctx.container.is_big();
    let entsize: u16 = if is64 { 56 } else { 32 };

    let mut phnum = u64::from(header.e_phnum);
    if header.e_phnum == PN_XNUM {
        // The real count is in sh_info of section header 0.
        let shsize = if is64 { 64 } else { 40 };
        let sh0 = fetch(header.e_shoff, shsize)?;
        if header.e_shoff == 0 || sh0.len() < shsize {
            return Err(ElfError::Truncated(
                "e_phnum is PN_XNUM but section header 0 is missing".into(),
            ));
        }
        let sh = SectionHeader::parse_from(&sh0, 0, 1, ctx)
            .map_err(|e| ElfError::Malformed(format!("section header 0: {e}")))?;
        phnum = u64::from(sh[0].sh_info);
    }
    if phnum > 0 && header.e_phentsize != entsize {
        return Err(ElfError::Malformed(format!(
            "e_phentsize is {}, expected {entsize}",
            header.e_phentsize
        )));
    }
    let table = phnum * u64::from(entsize);
    if table > MAX_PHDR_BYTES {
        return Err(ElfError::Malformed(format!("{phnum} program headers")));
    }
    let raw = fetch(header.e_phoff, table as usize)?;
    if (raw.len() as u64) < table {
        return Err(ElfError::Truncated(format!(
            "{phnum} program headers at offset 0x{:x} end past the end of the file",
            header.e_phoff
        )));
    }
    // The table's bytes are all there: decoding cannot fail.
    let decode = Decoder {
        is64,
        little: ctx.le.is_little(),
    };
    let phdrs: Vec<Phdr> = raw[..table as usize]
        .chunks_exact(usize::from(entsize))
        .enumerate()
        .map(|(index, b)| decode.phdr(b, index))
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

    let mut build_id = None;
    for p in phdrs.iter().filter(|p| p.p_type == PT_NOTE) {
        if p.filesz == 0 || p.filesz > MAX_NOTE_BYTES {
            continue;
        }
        let notes = fetch(p.offset, p.filesz as usize)?;
        if let Some(id) = find_build_id(&notes, ctx.le, p.align) {
            build_id = Some(id);
            break;
        }
    }

    let mut interp = None;
    if let Some(p) = phdrs.iter().find(|p| p.p_type == PT_INTERP)
        && p.filesz > 0
        && p.filesz <= MAX_INTERP_BYTES
    {
        let path = fetch(p.offset, p.filesz as usize)?;
        let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
        interp = Some(path[..end].to_vec());
    }

    Ok(ElfInfo {
        class: if is64 { 64 } else { 32 },
        little_endian: header.e_ident[5] == 1,
        e_type: header.e_type,
        machine: header.e_machine,
        phdrs,
        build_id,
        interp,
    })
}

/// Walks the notes in a PT_NOTE's bytes and returns the GNU build ID. Hand-written
/// because it is twenty bounded lines, where goblin's iterator needs a whole `Elf`
/// (and looped forever on bad notes before 0.10.7).
pub fn find_build_id(notes: &[u8], endian: Endian, align: u64) -> Option<Vec<u8>> {
    let align = if align == 8 { 8 } else { 4 };
    let word = |b: &[u8]| -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if endian.is_little() {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let up = |n: usize| n.checked_add(align - 1).map(|v| v & !(align - 1));
    let mut pos = 0usize;
    while notes.len().saturating_sub(pos) >= 12 {
        let namesz = word(&notes[pos..]) as usize;
        let descsz = word(&notes[pos + 4..]) as usize;
        let ntype = word(&notes[pos + 8..]);
        let name_at = pos + 12;
        let desc_at = name_at.checked_add(up(namesz)?)?;
        let end = desc_at.checked_add(up(descsz)?)?;
        if desc_at.checked_add(descsz)? > notes.len() {
            return None;
        }
        if ntype == NT_GNU_BUILD_ID && notes[name_at..name_at + namesz].starts_with(b"GNU") {
            return Some(notes[desc_at..desc_at + descsz].to_vec());
        }
        if end <= pos {
            return None;
        }
        pos = end;
    }
    None
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
    use goblin::elf::section_header::SHN_XINDEX;

    let header = parse_header(head.bytes())?;
    if header.e_shoff == 0 {
        return Ok(SectionTable::default());
    }
    let ctx = ctx_of(&header);
    let entsize: u64 = if ctx.container.is_big() { 64 } else { 40 };
    if u64::from(header.e_shentsize) != entsize {
        return Err(ElfError::Malformed(format!(
            "e_shentsize is {}, expected {entsize}",
            header.e_shentsize
        )));
    }
    let sh0_missing = || {
        ElfError::Truncated(format!(
            "section header 0 at offset 0x{:x} is past the end of the file",
            header.e_shoff
        ))
    };
    // With e_shnum 0 the count is section 0's sh_size: read section 0 first. Else
    // the table is read at once (at most 65535 entries, under MAX_SHDR_BYTES) and
    // section 0 is its first entry.
    let known = u64::from(header.e_shnum);
    let want = entsize as usize * known.max(1) as usize;
    // Linkers put the section name table just before the section headers: when the
    // table is read (its count known, not in the first bytes), the bytes before it
    // come with it, and the names are taken from them when they are there.
    let before = if known == 0 || head.holds(header.e_shoff, want) {
        0
    } else {
        header.e_shoff.min(NAMES_BEFORE_TABLE)
    };
    let window_at = header.e_shoff - before;
    let window = head.fetch(src, window_at, want + before as usize)?;
    let first = window.get(before as usize..).unwrap_or(&[]);
    if (first.len() as u64) < entsize {
        return Err(sh0_missing());
    }
    let sh0 = SectionHeader::parse_from(first, 0, 1, ctx)
        .map_err(|e| ElfError::Malformed(format!("section header 0: {e}")))?;
    let count = match header.e_shnum {
        0 => sh0[0].sh_size,
        n => u64::from(n),
    };
    if count == 0 {
        return Ok(SectionTable::default());
    }
    let strndx = match u32::from(header.e_shstrndx) {
        SHN_XINDEX => u64::from(sh0[0].sh_link),
        n => u64::from(n),
    };
    let table = count
        .checked_mul(entsize)
        .filter(|&t| t <= MAX_SHDR_BYTES)
        .ok_or_else(|| {
            ElfError::Malformed(format!(
                "{count} section headers are more than {} MiB",
                MAX_SHDR_BYTES >> 20
            ))
        })?;
    let raw = if known == 0 {
        head.fetch(src, header.e_shoff, table as usize)?
    } else {
        Cow::Borrowed(first)
    };
    if (raw.len() as u64) < table {
        return Err(ElfError::Truncated(format!(
            "{count} section headers at offset 0x{:x} end past the end of the file",
            header.e_shoff
        )));
    }
    let decode = Decoder {
        is64: ctx.container.is_big(),
        little: ctx.le.is_little(),
    };
    let entsize = entsize as usize;
    let at = |i: usize| decode.at(&raw[i * entsize..(i + 1) * entsize]);

    let mut names_problem = None;
    let strtab: Option<Cow<'_, [u8]>> = match (strndx < count).then(|| at(strndx as usize)) {
        _ if strndx == 0 => {
            names_problem = Some("no section name string table (e_shstrndx is 0)".into());
            None
        }
        None => {
            names_problem = Some(format!(
                "section name string table index {strndx} is not below the {count} sections"
            ));
            None
        }
        Some(s) if s.size > MAX_SHSTRTAB_BYTES => {
            names_problem = Some(format!(
                "section name string table of {} bytes is over the {} MiB cap",
                s.size,
                MAX_SHSTRTAB_BYTES >> 20
            ));
            None
        }
        Some(s) => {
            let in_window = s
                .offset
                .checked_sub(window_at)
                .and_then(|at| usize::try_from(at).ok())
                .and_then(|at| window.get(at..at.checked_add(s.size as usize)?));
            let bytes = match in_window {
                Some(b) => Cow::Borrowed(b),
                None => head.fetch(src, s.offset, s.size as usize)?,
            };
            if (bytes.len() as u64) < s.size {
                names_problem = Some(format!(
                    "section name string table at offset 0x{:x} ends past the end of the file",
                    s.offset
                ));
                None
            } else {
                Some(bytes)
            }
        }
    };
    let sections = (0..count as usize)
        .map(|index| {
            let s = at(index);
            Shdr {
                index,
                name: strtab.as_ref().and_then(|t| {
                    let rest = t.get(s.name as usize..)?;
                    let name = &rest[..memchr::memchr(0, rest).unwrap_or(rest.len())];
                    Some(match known_section_name(name) {
                        Some(k) => Cow::Borrowed(k.as_bytes()),
                        None => Cow::Owned(name.to_vec()),
                    })
                }),
                sh_type: s.sh_type,
                flags: s.flags,
                addr: s.addr,
                offset: s.offset,
                size: s.size,
                link: s.link,
            }
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

/// The fields of a section header that [`read_sections_with`] uses.
struct RawShdr {
    name: u32,
    sh_type: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
}

/// Decodes program and section headers (`Elf32_Phdr`, `Elf64_Phdr`, `Elf32_Shdr`,
/// `Elf64_Shdr`) of either byte order: fixed fields at fixed places, read directly
/// (a table of thousands of sections; hundreds of files for `map`).
#[derive(Clone, Copy)]
struct Decoder {
    is64: bool,
    little: bool,
}

impl Decoder {
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.little {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    }

    fn u64(self, b: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        if self.little {
            u64::from_le_bytes(w)
        } else {
            u64::from_be_bytes(w)
        }
    }

    /// One program header from its bytes (32 or 56 of them), numbered `index`.
    fn phdr(self, b: &[u8], index: usize) -> Phdr {
        if self.is64 {
            Phdr {
                index,
                p_type: self.u32(b, 0),
                flags: self.u32(b, 4),
                offset: self.u64(b, 8),
                vaddr: self.u64(b, 16),
                paddr: self.u64(b, 24),
                filesz: self.u64(b, 32),
                memsz: self.u64(b, 40),
                align: self.u64(b, 48),
            }
        } else {
            let word = |at| u64::from(self.u32(b, at));
            Phdr {
                index,
                p_type: self.u32(b, 0),
                offset: word(4),
                vaddr: word(8),
                paddr: word(12),
                filesz: word(16),
                memsz: word(20),
                flags: self.u32(b, 24),
                align: word(28),
            }
        }
    }

    /// One section header from its bytes (40 or 64 of them).
    fn at(self, b: &[u8]) -> RawShdr {
        if self.is64 {
            RawShdr {
                name: self.u32(b, 0),
                sh_type: self.u32(b, 4),
                flags: self.u64(b, 8),
                addr: self.u64(b, 16),
                offset: self.u64(b, 24),
                size: self.u64(b, 32),
                link: self.u32(b, 40),
            }
        } else {
            RawShdr {
                name: self.u32(b, 0),
                sh_type: self.u32(b, 4),
                flags: u64::from(self.u32(b, 8)),
                addr: u64::from(self.u32(b, 12)),
                offset: u64::from(self.u32(b, 16)),
                size: u64::from(self.u32(b, 20)),
                link: self.u32(b, 24),
            }
        }
    }
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
    read_dynamic_with(src, &Head::none(), info)
}

/// [`read_dynamic`] with the file's first bytes already read.
pub fn read_dynamic_with<R: ReadAt + ?Sized>(
    src: &R,
    head: &Head,
    info: &ElfInfo,
) -> Result<Option<DynamicFlags>, ElfError> {
    use goblin::elf::dynamic::{
        DF_1_NOW, DF_BIND_NOW, DF_TEXTREL, DT_BIND_NOW, DT_FLAGS, DT_FLAGS_1, DT_NULL, DT_TEXTREL,
    };
    use goblin::elf::program_header::PT_DYNAMIC;

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
    let raw = head.fetch(src, p.offset, p.filesz as usize)?;
    if (raw.len() as u64) < p.filesz {
        return Err(ElfError::Truncated(format!(
            "PT_DYNAMIC [{}] at offset 0x{:x} ends past the end of the file",
            p.index, p.offset
        )));
    }
    let decode = Decoder {
        is64: info.class == 64,
        little: info.little_endian,
    };
    let word = if decode.is64 { 8 } else { 4 };
    let get = |b: &[u8], at: usize| -> u64 {
        if decode.is64 {
            decode.u64(b, at)
        } else {
            u64::from(decode.u32(b, at))
        }
    };
    let mut out = DynamicFlags::default();
    for entry in raw.chunks_exact(2 * word) {
        let (tag, val) = (get(entry, 0), get(entry, word));
        match tag {
            DT_NULL => break,
            DT_TEXTREL => out.textrel = true,
            DT_BIND_NOW => out.bind_now = true,
            DT_FLAGS => {
                out.textrel |= val & DF_TEXTREL != 0;
                out.bind_now |= val & DF_BIND_NOW != 0;
            }
            DT_FLAGS_1 => out.bind_now |= val & DF_1_NOW != 0,
            _ => {}
        }
    }
    Ok(Some(out))
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
        assert_eq!(info.type_name(), "DYN");
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

    /// The section reader before issue 10 (separate reads of the header, section 0,
    /// the table and the names), kept to check the windowed reads against.
    fn old_read_sections(src: &[u8]) -> Result<SectionTable, ElfError> {
        use goblin::elf::section_header::SHN_XINDEX;

        let head = read_upto(src, 0, 64)?;
        let header = parse_header(&head)?;
        if header.e_shoff == 0 {
            return Ok(SectionTable::default());
        }
        let ctx = ctx_of(&header);
        let entsize: u64 = if ctx.container.is_big() { 64 } else { 40 };
        if u64::from(header.e_shentsize) != entsize {
            return Err(ElfError::Malformed(format!(
                "e_shentsize is {}, expected {entsize}",
                header.e_shentsize
            )));
        }
        let sh0_raw = read_upto(src, header.e_shoff, entsize as usize)?;
        if (sh0_raw.len() as u64) < entsize {
            return Err(ElfError::Truncated(format!(
                "section header 0 at offset 0x{:x} is past the end of the file",
                header.e_shoff
            )));
        }
        let sh0 = SectionHeader::parse_from(&sh0_raw, 0, 1, ctx)
            .map_err(|e| ElfError::Malformed(format!("section header 0: {e}")))?;
        let count = match header.e_shnum {
            0 => sh0[0].sh_size,
            n => u64::from(n),
        };
        if count == 0 {
            return Ok(SectionTable::default());
        }
        let strndx = match u32::from(header.e_shstrndx) {
            SHN_XINDEX => u64::from(sh0[0].sh_link),
            n => u64::from(n),
        };
        let table = count
            .checked_mul(entsize)
            .filter(|&t| t <= MAX_SHDR_BYTES)
            .ok_or_else(|| {
                ElfError::Malformed(format!(
                    "{count} section headers are more than {} MiB",
                    MAX_SHDR_BYTES >> 20
                ))
            })?;
        let raw = read_upto(src, header.e_shoff, table as usize)?;
        if (raw.len() as u64) < table {
            return Err(ElfError::Truncated(format!(
                "{count} section headers at offset 0x{:x} end past the end of the file",
                header.e_shoff
            )));
        }
        let parsed = SectionHeader::parse_from(&raw, 0, count as usize, ctx)
            .map_err(|e| ElfError::Malformed(format!("section headers: {e}")))?;

        let mut names_problem = None;
        let strtab: Option<Vec<u8>> = match parsed.get(strndx as usize) {
            _ if strndx == 0 => {
                names_problem = Some("no section name string table (e_shstrndx is 0)".into());
                None
            }
            None => {
                names_problem = Some(format!(
                    "section name string table index {strndx} is not below the {count} sections"
                ));
                None
            }
            Some(s) if s.sh_size > MAX_SHSTRTAB_BYTES => {
                names_problem = Some(format!(
                    "section name string table of {} bytes is over the {} MiB cap",
                    s.sh_size,
                    MAX_SHSTRTAB_BYTES >> 20
                ));
                None
            }
            Some(s) => {
                let bytes = read_upto(src, s.sh_offset, s.sh_size as usize)?;
                if (bytes.len() as u64) < s.sh_size {
                    names_problem = Some(format!(
                        "section name string table at offset 0x{:x} ends past the end of the file",
                        s.sh_offset
                    ));
                    None
                } else {
                    Some(bytes)
                }
            }
        };
        let sections = parsed
            .iter()
            .enumerate()
            .map(|(index, s)| Shdr {
                index,
                name: strtab.as_ref().and_then(|t| {
                    let rest = t.get(s.sh_name..)?;
                    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                    Some(Cow::Owned(rest[..end].to_vec()))
                }),
                sh_type: s.sh_type,
                flags: s.sh_flags,
                addr: s.sh_addr,
                offset: s.sh_offset,
                size: s.sh_size,
                link: s.sh_link,
            })
            .collect();
        Ok(SectionTable {
            sections,
            names_problem,
        })
    }

    /// Issue 10: the section table read with section 0 and through the first bytes
    /// gives what separate reads gave, on a real file cut at every place that matters
    /// and with its offsets moved.
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
            let (a, b) = (read_sections(f), old_read_sections(f));
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{what}");
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

    /// Program headers decoded field by field are goblin's, in both classes and byte
    /// orders, on arbitrary bytes.
    #[test]
    fn phdrs_as_goblin_decodes_them() {
        use goblin::elf::ProgramHeader;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let bytes: Vec<u8> = (0..56 * 40)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        for (is64, little) in [(true, true), (true, false), (false, true), (false, false)] {
            let ctx = Ctx::new(
                if is64 {
                    Container::Big
                } else {
                    Container::Little
                },
                if little { Endian::Little } else { Endian::Big },
            );
            let size = if is64 { 56 } else { 32 };
            let n = bytes.len() / size;
            let theirs = ProgramHeader::parse(&bytes, 0, n, ctx).unwrap();
            let decode = Decoder { is64, little };
            for (i, p) in theirs.iter().enumerate() {
                let mine = decode.phdr(&bytes[i * size..(i + 1) * size], i);
                let want = Phdr {
                    index: i,
                    p_type: p.p_type,
                    flags: p.p_flags,
                    offset: p.p_offset,
                    vaddr: p.p_vaddr,
                    paddr: p.p_paddr,
                    filesz: p.p_filesz,
                    memsz: p.p_memsz,
                    align: p.p_align,
                };
                assert_eq!(mine, want, "is64 {is64} little {little} [{i}]");
            }
        }
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
            find_build_id(&n, Endian::Little, 4),
            Some(vec![0xab, 0xcd, 0xef])
        );
        // A descsz that runs past the end.
        n[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(find_build_id(&n, Endian::Little, 4), None);
    }
}

//! Reader of an ELF file's symbol table (`.symtab`, else `.dynsym`) and of its
//! `.gnu_debuglink`, for `elfmaps symbols` (docs/symbols.md).
//!
//! Like the rest of [`crate::input::elf`], bytes come through [`ReadAt`] with bounded,
//! checked reads at the offsets the section headers name; nothing here opens a file.
//! A hostile table costs bounded time and memory:
//!
//! - the symbol table is read up to [`MAX_SYMTAB_BYTES`] and its string table up to
//!   [`MAX_STRTAB_BYTES`], in chunks of at most 1 MiB, so a table that claims more
//!   bytes than the file has costs only the bytes the file has;
//! - at most [`MAX_SYMBOLS`] symbols are kept (the rest are counted in
//!   [`SymbolTable::dropped`]);
//! - names are found with one pass over the string table whatever the symbols'
//!   offsets (they are visited in offset order, and a NUL found once serves every
//!   offset before it), and cut at [`MAX_NAME_BYTES`].
//!
//! Only symbols that name memory of the image are kept: functions, objects, GNU
//! indirect functions and untyped symbols, of non-zero size, defined in a section
//! (not undefined, absolute or common). Thread-local symbols are left out (their
//! value is an offset in each thread's block, not an address).

use object::Endianness;
use object::elf::{self as consts, FileHeader32, FileHeader64};
use object::read::elf::{FileHeader, Sym as _};

use super::elf::{ElfError, Ident, ReadAt, SectionTable, Shdr, read_chunked, read_ident};

/// Largest symbol table read (about 5.6 million 64-bit entries).
pub const MAX_SYMTAB_BYTES: u64 = 128 << 20;
/// Largest symbol string table read.
pub const MAX_STRTAB_BYTES: u64 = 128 << 20;
/// Most symbols kept from one table.
pub const MAX_SYMBOLS: usize = 4 << 20;
/// Longest name kept, in bytes (longer ones are cut).
pub const MAX_NAME_BYTES: usize = 4096;
/// Largest `.gnu_debuglink` section read.
const MAX_DEBUGLINK_BYTES: u64 = 4096;

/// Which table the symbols come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// `.symtab` (`SHT_SYMTAB`): every symbol the linker kept.
    Symtab,
    /// `.dynsym` (`SHT_DYNSYM`): the exported and imported symbols only.
    Dynsym,
    /// Address ranges of DWARF compile units or source files ([`crate::input::dwarf`]).
    Dwarf,
}

/// One symbol of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol {
    /// Where its name lies in [`SymbolTable::names`].
    pub name_at: u32,
    /// Its name's length in bytes.
    pub name_len: u32,
    /// `st_value`: its address in the file's address space.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// Its binding (`STB_*`: 0 local, 1 global, 2 weak).
    pub bind: u8,
    /// Its type (`STT_*`).
    pub kind: u8,
}

/// The symbols of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolTable {
    /// The table they came from.
    pub from: TableKind,
    /// Their names' bytes (the string table as read).
    pub names: Vec<u8>,
    /// The symbols kept, in table order.
    pub symbols: Vec<Symbol>,
    /// Symbols past [`MAX_SYMBOLS`], not kept.
    pub dropped: u64,
    /// Why names are missing or the table is short, if they are.
    pub problem: Option<String>,
}

impl SymbolTable {
    /// The name of `s` (empty when unreadable).
    pub fn name(&self, s: &Symbol) -> &[u8] {
        let at = s.name_at as usize;
        self.names
            .get(at..at.saturating_add(s.name_len as usize))
            .unwrap_or(&[])
    }
}

/// Reads the table of kind `want` of the file behind `src`, whose section headers
/// are `sections`; `Ok(None)` when the file has no such table.
pub fn read_symbols<R: ReadAt + ?Sized>(
    src: &R,
    sections: &SectionTable,
    want: TableKind,
) -> Result<Option<SymbolTable>, ElfError> {
    let id = read_ident(src)?;
    let sh_type = match want {
        TableKind::Symtab => consts::SHT_SYMTAB.0,
        TableKind::Dynsym => consts::SHT_DYNSYM.0,
        TableKind::Dwarf => return Ok(None),
    };
    let Some(table) = sections
        .sections
        .iter()
        .find(|s| s.sh_type == sh_type && s.size > 0)
    else {
        return Ok(None);
    };
    if table.size > MAX_SYMTAB_BYTES {
        return Err(ElfError::Malformed(format!(
            "symbol table of {} bytes is over the {} MiB cap",
            table.size,
            MAX_SYMTAB_BYTES >> 20
        )));
    }
    let raw = read_chunked(src, table.offset, table.size)?;
    let mut problem = None;
    if (raw.len() as u64) < table.size {
        problem = Some(format!(
            "symbol table at offset 0x{:x} ends past the end of the file",
            table.offset
        ));
    }
    let strtab: Option<&Shdr> = sections.sections.get(table.link as usize);
    let names = match strtab {
        None => {
            problem.get_or_insert_with(|| {
                format!("string table index {} is not a section", table.link)
            });
            Vec::new()
        }
        Some(s) if s.size > MAX_STRTAB_BYTES => {
            problem.get_or_insert_with(|| {
                format!(
                    "string table of {} bytes is over the {} MiB cap",
                    s.size,
                    MAX_STRTAB_BYTES >> 20
                )
            });
            Vec::new()
        }
        Some(s) => {
            let b = read_chunked(src, s.offset, s.size)?;
            if (b.len() as u64) < s.size {
                problem.get_or_insert_with(|| {
                    format!(
                        "string table at offset 0x{:x} ends past the end of the file",
                        s.offset
                    )
                });
            }
            b
        }
    };
    Ok(Some(parse_symbols(&raw, names, id, want, problem)))
}

/// Decodes the symbol entries `raw` (64-bit when `is64`) with string table `names`.
pub fn parse_symbols(
    raw: &[u8],
    names: Vec<u8>,
    id: Ident,
    from: TableKind,
    problem: Option<String>,
) -> SymbolTable {
    let (mut symbols, dropped) = if id.is64 {
        keep::<FileHeader64<Endianness>>(raw, id.endian())
    } else {
        keep::<FileHeader32<Endianness>>(raw, id.endian())
    };
    // Names: visited in offset order, each byte of the string table scanned once.
    let mut order: Vec<u32> = (0..symbols.len() as u32).collect();
    order.sort_unstable_by_key(|&i| symbols[i as usize].name_at);
    let mut nul: Option<usize> = None;
    for i in order {
        let s = &mut symbols[i as usize];
        let at = s.name_at as usize;
        if at >= names.len() {
            s.name_len = 0;
            continue;
        }
        let end = match nul {
            Some(n) if n >= at => n,
            _ => {
                let n = memchr::memchr(0, &names[at..]).map_or(names.len(), |k| at + k);
                nul = Some(n);
                n
            }
        };
        s.name_len = (end - at).min(MAX_NAME_BYTES) as u32;
    }
    SymbolTable {
        from,
        names,
        symbols,
        dropped,
        problem,
    }
}

/// The symbols of the entries `raw` that name memory of the image (see the module
/// docs), at most [`MAX_SYMBOLS`], and how many more there were; names not yet found.
fn keep<Elf: FileHeader>(raw: &[u8], endian: Elf::Endian) -> (Vec<Symbol>, u64) {
    let count = raw.len() / std::mem::size_of::<Elf::Sym>();
    let entries: &[Elf::Sym] = object::pod::slice_from_bytes(raw, count)
        .map(|(s, _)| s)
        .unwrap_or(&[]);
    let mut symbols = Vec::new();
    let mut dropped = 0u64;
    // Entry 0 is the null symbol.
    for e in entries.iter().skip(1) {
        let shndx = e.st_shndx(endian);
        let kind = e.st_type();
        let size: u64 = e.st_size(endian).into();
        let defined = shndx != consts::SHN_UNDEF
            && (shndx.0 < consts::SHN_LORESERVE || shndx == consts::SHN_XINDEX);
        let wanted = matches!(
            kind,
            consts::STT_NOTYPE | consts::STT_OBJECT | consts::STT_FUNC | consts::STT_GNU_IFUNC
        );
        if !defined || !wanted || size == 0 {
            continue;
        }
        if symbols.len() >= MAX_SYMBOLS {
            dropped += 1;
            continue;
        }
        symbols.push(Symbol {
            name_at: e.st_name(endian),
            name_len: 0,
            value: e.st_value(endian).into(),
            size,
            bind: e.st_bind().0,
            kind: kind.0,
        });
    }
    (symbols, dropped)
}

/// The `.gnu_debuglink` of the file: the debug file's name and its CRC-32, when the
/// section is there and well formed.
pub fn read_debuglink<R: ReadAt + ?Sized>(
    src: &R,
    sections: &SectionTable,
) -> Result<Option<(Vec<u8>, u32)>, ElfError> {
    let Some(s) = sections
        .sections
        .iter()
        .find(|s| s.name.as_deref() == Some(b".gnu_debuglink".as_slice()))
    else {
        return Ok(None);
    };
    if s.size > MAX_DEBUGLINK_BYTES {
        return Ok(None);
    }
    let b = super::elf::read_upto(src, s.offset, s.size as usize)?;
    Ok(parse_debuglink(&b, read_ident(src)?.little))
}

/// Decodes a `.gnu_debuglink`: a NUL-terminated name, padding to 4 bytes, a CRC-32.
pub fn parse_debuglink(b: &[u8], little: bool) -> Option<(Vec<u8>, u32)> {
    let n = memchr::memchr(0, b)?;
    if n == 0 {
        return None;
    }
    let at = (n + 1).next_multiple_of(4);
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    let crc = if little {
        u32::from_le_bytes(w)
    } else {
        u32::from_be_bytes(w)
    };
    Some((b[..n].to_vec(), crc))
}

/// The CRC-32 (IEEE, as zlib and `.gnu_debuglink` use it) of `bytes`, continuing
/// from `crc` (0 to start).
pub fn crc32(crc: u32, bytes: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }
    static TABLE: [u32; 256] = table();
    let mut c = !crc;
    for &b in bytes {
        c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym64(name: u32, info: u8, shndx: u16, value: u64, size: u64) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&name.to_le_bytes());
        v.push(info);
        v.push(0);
        v.extend_from_slice(&shndx.to_le_bytes());
        v.extend_from_slice(&value.to_le_bytes());
        v.extend_from_slice(&size.to_le_bytes());
        v
    }

    #[test]
    fn keeps_defined_sized_symbols_of_memory_and_finds_their_names() {
        let names = b"\0main\0tls\0undef\0abs\0big_object\0".to_vec();
        let mut raw = sym64(0, 0, 0, 0, 0);
        raw.extend(sym64(1, 0x12, 14, 0x1000, 0x20)); // global func
        raw.extend(sym64(6, 0x16, 20, 0x10, 8)); // TLS: left out
        raw.extend(sym64(10, 0x12, 0, 0, 0)); // undefined
        raw.extend(sym64(16, 0x11, 0xfff1, 5, 4)); // absolute
        raw.extend(sym64(20, 0x21, 22, 0x4000, 100)); // weak object
        raw.extend(sym64(24, 0x02, 14, 0x1100, 0)); // size 0
        raw.extend(sym64(24, 0x01, 22, 0x5000, 8)); // local, a suffix of a name
        let t = parse_symbols(&raw, names, Ident::LE64, TableKind::Symtab, None);
        let got: Vec<(&[u8], u64, u64, u8)> = t
            .symbols
            .iter()
            .map(|s| (t.name(s), s.value, s.size, s.bind))
            .collect();
        assert_eq!(
            got,
            vec![
                (b"main".as_slice(), 0x1000, 0x20, 1),
                (b"big_object".as_slice(), 0x4000, 100, 2),
                (b"object".as_slice(), 0x5000, 8, 0),
            ]
        );
    }

    #[test]
    fn names_without_nul_are_cut_and_offsets_past_the_table_are_empty() {
        let names = vec![b'a'; MAX_NAME_BYTES * 2];
        let mut raw = sym64(0, 0, 0, 0, 0);
        raw.extend(sym64(0, 0x12, 1, 0x10, 1));
        raw.extend(sym64(5, 0x12, 1, 0x20, 1));
        raw.extend(sym64(u32::MAX, 0x12, 1, 0x30, 1));
        let t = parse_symbols(&raw, names, Ident::LE64, TableKind::Dynsym, None);
        let lens: Vec<u32> = t.symbols.iter().map(|s| s.name_len).collect();
        assert_eq!(lens, vec![MAX_NAME_BYTES as u32, MAX_NAME_BYTES as u32, 0]);
    }

    #[test]
    fn debuglink_and_crc() {
        let mut b = b"libfoo.so.debug\0".to_vec();
        b.extend_from_slice(&0xdead_beefu32.to_le_bytes());
        assert_eq!(
            parse_debuglink(&b, true),
            Some((b"libfoo.so.debug".to_vec(), 0xdead_beef))
        );
        assert_eq!(parse_debuglink(b"x\0\0", true), None);
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(0, b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(crc32(0, b"1234"), b"56789"), 0xcbf4_3926);
    }
}

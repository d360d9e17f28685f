//! Address ranges by compile unit and by source file, from an ELF file's DWARF
//! (`.debug_info`, `.debug_abbrev`, `.debug_line`, `.debug_rnglists`, ... read through
//! gimli), for `elfmaps symbols --by compile-unit|file` (docs/symbols.md).
//!
//! The result is a [`SymbolTable`] whose "symbols" are the ranges, named by their unit
//! or file, so that `views::symbols` places them and counts their residency as it does
//! symbols. Bytes come through [`ReadAt`] with bounded reads of the sections the
//! section headers name, each at most [`MAX_DWARF_SECTION`] bytes read and as much
//! once decompressed (`SHF_COMPRESSED` with zlib, as Debian's debug files have them);
//! at most [`MAX_SYMBOLS`] ranges are kept. Hostile DWARF is an error from gimli,
//! never a panic; the work is bounded by the section sizes (a line table row costs at
//! least one byte of `.debug_line`).

use std::collections::HashMap;

use gimli::{EndianSlice, RunTimeEndian};
use object::Endianness;
use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::{CompressionHeader as _, FileHeader};

use super::elf::{Ident, ReadAt, SHF_COMPRESSED, SHT_NOBITS, SectionTable, read_ident};
use super::symbols::{MAX_SYMBOLS, Symbol, SymbolTable, TableKind};

/// Largest DWARF section read, and largest once decompressed.
pub const MAX_DWARF_SECTION: u64 = 256 << 20;
/// `ELFCOMPRESS_ZLIB`.
const ELFCOMPRESS_ZLIB: u32 = object::elf::ELFCOMPRESS_ZLIB.0;

/// What to name ranges by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The compile unit (its `DW_AT_name`: the main source file it was compiled from).
    CompileUnit,
    /// The source file of each line table row (headers' inline code counts to them).
    File,
}

/// Whether the file has DWARF to read (a `.debug_info` section with bytes).
pub fn has_dwarf(sections: &SectionTable) -> bool {
    sections
        .sections
        .iter()
        .any(|s| s.name.as_deref() == Some(b".debug_info".as_slice()) && s.sh_type != 8)
}

/// The ranges of the file's code by compile unit or source file.
pub fn read_ranges<R: ReadAt + ?Sized>(
    src: &R,
    sections: &SectionTable,
    by: By,
) -> Result<SymbolTable, String> {
    let file = read_ident(src).map_err(|e| e.to_string())?;
    let endian = if file.little {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let mut owned: HashMap<&'static str, Vec<u8>> = HashMap::new();
    for id in [
        gimli::SectionId::DebugAbbrev,
        gimli::SectionId::DebugAddr,
        gimli::SectionId::DebugInfo,
        gimli::SectionId::DebugLine,
        gimli::SectionId::DebugLineStr,
        gimli::SectionId::DebugRanges,
        gimli::SectionId::DebugRngLists,
        gimli::SectionId::DebugStr,
        gimli::SectionId::DebugStrOffsets,
    ] {
        if let Some(b) = section(src, sections, id.name(), file)? {
            owned.insert(id.name(), b);
        }
    }
    let dwarf = gimli::Dwarf::load(|id| -> Result<_, String> {
        let b: &[u8] = owned.get(id.name()).map_or(&[], |v| v.as_slice());
        Ok(EndianSlice::new(b, endian))
    })?;
    let mut out = Ranges::default();
    let mut units = dwarf.units();
    while let Some(header) = units.next().map_err(|e| format!("DWARF: {e}"))? {
        let unit = dwarf.unit(header).map_err(|e| format!("DWARF: {e}"))?;
        match by {
            By::CompileUnit => {
                let mut entries = unit.entries();
                let name = match entries.next_dfs().map_err(|e| format!("DWARF: {e}"))? {
                    Some(root) => match root.attr_value(gimli::DW_AT_name) {
                        Some(v) => dwarf
                            .attr_string(&unit, v)
                            .map(|s| s.slice().to_vec())
                            .unwrap_or_default(),
                        None => Vec::new(),
                    },
                    None => Vec::new(),
                };
                let id = out.name(&name);
                let mut ranges = dwarf
                    .unit_ranges(&unit)
                    .map_err(|e| format!("DWARF: {e}"))?;
                while let Some(r) = ranges.next().map_err(|e| format!("DWARF: {e}"))? {
                    out.push(r.begin, r.end, id);
                }
            }
            By::File => {
                let Some(program) = unit.line_program.clone() else {
                    continue;
                };
                let mut files: HashMap<u64, u32> = HashMap::new();
                let mut rows = program.rows();
                let mut cur: Option<(u64, u32)> = None;
                while let Some((header, row)) =
                    rows.next_row().map_err(|e| format!("DWARF: {e}"))?
                {
                    if let Some((at, id)) = cur
                        && row.address() > at
                    {
                        out.push(at, row.address(), id);
                    }
                    if row.end_sequence() {
                        cur = None;
                        continue;
                    }
                    let index = row.file_index();
                    let id = match files.get(&index) {
                        Some(&id) => id,
                        None => {
                            let path = file_path(&dwarf, &unit, header, index);
                            let id = out.name(&path);
                            files.insert(index, id);
                            id
                        }
                    };
                    cur = Some((row.address(), id));
                }
            }
        }
    }
    Ok(out.finish())
}

/// The path of file `index` of a line program: its directory and name.
fn file_path<R: gimli::Reader>(
    dwarf: &gimli::Dwarf<R>,
    unit: &gimli::Unit<R>,
    header: &gimli::LineProgramHeader<R>,
    index: u64,
) -> Vec<u8> {
    let Some(file) = header.file(index) else {
        return Vec::new();
    };
    let text = |v| {
        dwarf
            .attr_string(unit, v)
            .ok()
            .and_then(|r| r.to_slice().ok().map(|c| c.into_owned()))
            .unwrap_or_default()
    };
    let name = text(file.path_name());
    if name.first() == Some(&b'/') {
        return name;
    }
    let mut dir = file.directory(header).map(text).unwrap_or_default();
    if dir.is_empty() {
        return name;
    }
    if dir.last() != Some(&b'/') {
        dir.push(b'/');
    }
    dir.extend_from_slice(&name);
    dir
}

/// The ranges found so far, their names interned.
#[derive(Default)]
struct Ranges {
    names: Vec<u8>,
    index: HashMap<Vec<u8>, u32>,
    spans: Vec<(u32, u32)>,
    symbols: Vec<Symbol>,
    dropped: u64,
}

impl Ranges {
    /// The id of `name`, added once.
    fn name(&mut self, name: &[u8]) -> u32 {
        let name = &name[..name.len().min(super::symbols::MAX_NAME_BYTES)];
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let at = self.names.len() as u32;
        self.names.extend_from_slice(name);
        let id = self.spans.len() as u32;
        self.spans.push((at, name.len() as u32));
        self.index.insert(name.to_vec(), id);
        id
    }

    /// Adds `[begin, end)` named `id`; contiguous with the last range of the same
    /// name, extends it.
    fn push(&mut self, begin: u64, end: u64, id: u32) {
        if end <= begin {
            return;
        }
        let (at, len) = self.spans[id as usize];
        if let Some(last) = self.symbols.last_mut()
            && last.name_at == at
            && last.value.checked_add(last.size) == Some(begin)
        {
            last.size += end - begin;
            return;
        }
        if self.symbols.len() >= MAX_SYMBOLS {
            self.dropped += 1;
            return;
        }
        self.symbols.push(Symbol {
            name_at: at,
            name_len: len,
            value: begin,
            size: end - begin,
            bind: 1,
            kind: 2,
        });
    }

    fn finish(self) -> SymbolTable {
        SymbolTable {
            from: TableKind::Dwarf,
            names: self.names,
            symbols: self.symbols,
            dropped: self.dropped,
            problem: None,
        }
    }
}

/// The bytes of the section `name`, decompressed; `None` when the file has no such
/// section (or it has no bytes in the file).
fn section<R: ReadAt + ?Sized>(
    src: &R,
    sections: &SectionTable,
    name: &str,
    file: Ident,
) -> Result<Option<Vec<u8>>, String> {
    let Some(s) = sections
        .sections
        .iter()
        .find(|s| s.name.as_deref() == Some(name.as_bytes()) && s.sh_type != SHT_NOBITS)
    else {
        return Ok(None);
    };
    if s.size > MAX_DWARF_SECTION {
        return Err(format!(
            "{name} of {} bytes is over the {} MiB cap",
            s.size,
            MAX_DWARF_SECTION >> 20
        ));
    }
    let raw = super::elf::read_chunked(src, s.offset, s.size).map_err(|e| e.to_string())?;
    if (raw.len() as u64) < s.size {
        return Err(format!("{name} ends past the end of the file"));
    }
    if s.flags & SHF_COMPRESSED == 0 {
        return Ok(Some(raw));
    }
    Ok(Some(
        decompress(&raw, file).map_err(|e| format!("{name}: {e}"))?,
    ))
}

/// A compressed section's bytes (an `Elf32_Chdr` or `Elf64_Chdr`, then zlib data) of
/// a file of class and byte order `file`.
pub fn decompress(raw: &[u8], file: Ident) -> Result<Vec<u8>, String> {
    let header = if file.is64 {
        chdr::<FileHeader64<Endianness>>(raw, file.endian())
    } else {
        chdr::<FileHeader32<Endianness>>(raw, file.endian())
    };
    let Some((kind, size, data)) = header else {
        return Err("compression header cut short".into());
    };
    if kind != ELFCOMPRESS_ZLIB {
        return Err(format!("compression type {kind} is not zlib"));
    }
    if size > MAX_DWARF_SECTION {
        return Err(format!(
            "{size} bytes once decompressed: over the {} MiB cap",
            MAX_DWARF_SECTION >> 20
        ));
    }
    let out = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(
        raw.get(data..).unwrap_or(&[]),
        size as usize,
    )
    .map_err(|e| format!("zlib: {e:?}"))?;
    Ok(out)
}

/// The type, decompressed size and header length of the compression header at the
/// start of `raw`.
fn chdr<Elf: FileHeader>(raw: &[u8], endian: Elf::Endian) -> Option<(u32, u64, usize)> {
    let (h, rest) = object::pod::from_bytes::<Elf::CompressionHeader>(raw).ok()?;
    Some((
        h.ch_type(endian).0,
        h.ch_size(endian).into(),
        raw.len() - rest.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small library built with `cc -g -gz=zlib` (fuzz/corpus/symbols/tinyg.so) and
    /// without compression: the same unit and files, its one unit named tiny.c.
    #[test]
    fn units_and_files_of_compressed_and_plain_dwarf() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/symbols/");
        let mut seen = Vec::new();
        for f in ["tinyg.so", "tinyg-plain.so"] {
            let bytes = std::fs::read(format!("{dir}{f}")).unwrap();
            let table = crate::input::elf::read_sections(bytes.as_slice()).unwrap();
            assert!(has_dwarf(&table));
            let names = |t: &SymbolTable| -> Vec<(String, u64)> {
                t.symbols
                    .iter()
                    .map(|s| (String::from_utf8_lossy(t.name(s)).into_owned(), s.size))
                    .collect()
            };
            let units = read_ranges(bytes.as_slice(), &table, By::CompileUnit).unwrap();
            let files = read_ranges(bytes.as_slice(), &table, By::File).unwrap();
            let u = names(&units);
            assert!(
                !u.is_empty() && u.iter().all(|(n, _)| n.ends_with("tiny.c")),
                "{u:?}"
            );
            let fl = names(&files);
            assert!(fl.iter().any(|(n, _)| n.ends_with("tiny.c")), "{fl:?}");
            // The line table's ranges cover the unit's.
            let total = |v: &[(String, u64)]| v.iter().map(|x| x.1).sum::<u64>();
            assert_eq!(total(&u), total(&fl), "{u:?} {fl:?}");
            seen.push((u, fl));
        }
        assert_eq!(seen[0], seen[1]);
    }

    #[test]
    fn compressed_sections_are_checked() {
        let data = miniz_oxide::deflate::compress_to_vec_zlib(b"hello dwarf", 6);
        let mut raw = Vec::new();
        raw.extend_from_slice(&1u32.to_le_bytes());
        raw.extend_from_slice(&0u32.to_le_bytes());
        raw.extend_from_slice(&11u64.to_le_bytes());
        raw.extend_from_slice(&1u64.to_le_bytes());
        raw.extend_from_slice(&data);
        assert_eq!(decompress(&raw, Ident::LE64).unwrap(), b"hello dwarf");
        // Another type, a size over the cap, a short header.
        let mut zstd = raw.clone();
        zstd[0] = 2;
        assert!(decompress(&zstd, Ident::LE64).is_err());
        let mut huge = raw.clone();
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decompress(&huge, Ident::LE64).is_err());
        assert!(decompress(&raw[..5], Ident::LE64).is_err());
    }
}

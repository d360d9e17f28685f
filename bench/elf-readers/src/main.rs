//! Decode-only comparison of three ELF header readers on the files of this system,
//! all from memory: the hand decoder elfmaps had, goblin's header parsers, object's
//! low-level read::elf. Prints the median over rounds of the time for all files.
use std::hint::black_box;
use std::time::Instant;

use goblin::container::{Container, Ctx, Endian};
use object::read::elf::{FileHeader, ProgramHeader as _, SectionHeader as _, Sym as _};
use object::{elf::FileHeader64, Endianness};

fn u32le(b: &[u8], at: usize) -> u32 { u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) }
fn u64le(b: &[u8], at: usize) -> u64 { u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) }

// Hand: 64-bit LE only (all files here), as elfmaps's Decoder did, field by field.
fn hand(f: &[u8]) -> u64 {
    let phoff = u64le(f, 32) as usize; let phnum = u16::from_le_bytes([f[56], f[57]]) as usize;
    let shoff = u64le(f, 40) as usize; let shnum = u16::from_le_bytes([f[60], f[61]]) as usize;
    let strndx = u16::from_le_bytes([f[62], f[63]]) as usize;
    let mut acc = 0u64;
    for i in 0..phnum { let b = &f[phoff + i * 56..phoff + (i + 1) * 56];
        acc = acc.wrapping_add(u32le(b, 0) as u64 ^ u32le(b, 4) as u64 ^ u64le(b, 8) ^ u64le(b, 16) ^ u64le(b, 24) ^ u64le(b, 32) ^ u64le(b, 40) ^ u64le(b, 48)); }
    if shoff == 0 || shnum == 0 { return acc; }
    let st = &f[shoff + strndx * 64..]; let (soff, ssz) = (u64le(st, 24) as usize, u64le(st, 32) as usize);
    let strtab = &f[soff..soff + ssz];
    for i in 0..shnum { let b = &f[shoff + i * 64..shoff + (i + 1) * 64];
        let name = u32le(b, 0) as usize; let rest = &strtab[name.min(strtab.len())..];
        let n = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        acc = acc.wrapping_add(n as u64 ^ u32le(b, 4) as u64 ^ u64le(b, 8) ^ u64le(b, 16) ^ u64le(b, 24) ^ u64le(b, 32) ^ u32le(b, 40) as u64); }
    acc
}

fn gob(f: &[u8]) -> u64 {
    use goblin::elf::{Elf, ProgramHeader, SectionHeader};
    let h = Elf::parse_header(f).unwrap();
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let mut acc = 0u64;
    for p in ProgramHeader::parse(f, h.e_phoff as usize, h.e_phnum as usize, ctx).unwrap() {
        acc = acc.wrapping_add(p.p_type as u64 ^ p.p_flags as u64 ^ p.p_offset ^ p.p_vaddr ^ p.p_paddr ^ p.p_filesz ^ p.p_memsz ^ p.p_align); }
    if h.e_shoff == 0 || h.e_shnum == 0 { return acc; }
    let sh = SectionHeader::parse_from(f, h.e_shoff as usize, h.e_shnum as usize, ctx).unwrap();
    let st = &sh[h.e_shstrndx as usize]; let strtab = &f[st.sh_offset as usize..(st.sh_offset + st.sh_size) as usize];
    for s in &sh { let rest = &strtab[(s.sh_name).min(strtab.len())..];
        let n = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        acc = acc.wrapping_add(n as u64 ^ s.sh_type as u64 ^ s.sh_flags ^ s.sh_addr ^ s.sh_offset ^ s.sh_size ^ s.sh_link as u64); }
    acc
}

fn obj(f: &[u8]) -> u64 {
    let h = FileHeader64::<Endianness>::parse(f).unwrap(); let e = h.endian().unwrap();
    let mut acc = 0u64;
    for p in h.program_headers(e, f).unwrap() {
        acc = acc.wrapping_add(p.p_type(e).0 as u64 ^ p.p_flags(e).0 as u64 ^ p.p_offset(e) ^ p.p_vaddr(e) ^ p.p_paddr(e) ^ p.p_filesz(e) ^ p.p_memsz(e) ^ p.p_align(e)); }
    let t = h.sections(e, f).unwrap();
    for s in t.iter() { let n = t.section_name(e, s).map(|n| n.len()).unwrap_or(0);
        acc = acc.wrapping_add(n as u64 ^ s.sh_type(e).0 as u64 ^ s.sh_flags(e).0 ^ s.sh_addr(e) ^ s.sh_offset(e) ^ s.sh_size(e) ^ s.sh_link(e) as u64); }
    acc
}

// Symbols of the largest table (.symtab else .dynsym).
fn sym_hand(f: &[u8], off: usize, size: usize) -> u64 {
    let mut acc = 0u64;
    for e in f[off..off + size].chunks_exact(24) { acc = acc.wrapping_add(u32le(e, 0) as u64 ^ e[4] as u64 ^ u16::from_le_bytes([e[6], e[7]]) as u64 ^ u64le(e, 8) ^ u64le(e, 16)); }
    acc
}
fn sym_gob(f: &[u8], off: usize, size: usize) -> u64 {
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let t = goblin::elf::Symtab::parse(f, off, size / 24, ctx).unwrap();
    let mut acc = 0u64;
    for s in t.iter() { acc = acc.wrapping_add(s.st_name as u64 ^ s.st_info as u64 ^ s.st_shndx as u64 ^ s.st_value ^ s.st_size); }
    acc
}
fn sym_obj(f: &[u8], off: usize, size: usize) -> u64 {
    let (t, _) = object::pod::slice_from_bytes::<object::elf::Sym64<Endianness>>(&f[off..off + size], size / 24).unwrap();
    let e = Endianness::Little; let mut acc = 0u64;
    for s in t { acc = acc.wrapping_add(s.st_name(e) as u64 ^ s.st_info().0 as u64 ^ s.st_shndx(e).0 as u64 ^ s.st_value(e) ^ s.st_size(e)); }
    acc
}

fn median(mut v: Vec<f64>) -> f64 { v.sort_by(|a, b| a.partial_cmp(b).unwrap()); v[v.len() / 2] }

fn main() {
    let mut files = Vec::new();
    for d in std::fs::read_dir("/usr/lib/x86_64-linux-gnu").unwrap() {
        let p = d.unwrap().path();
        if p.is_symlink() || !p.is_file() { continue; }
        let Ok(b) = std::fs::read(&p) else { continue };
        if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 { continue; }
        // Only files all three read without error (the comparison is of speed).
        if std::panic::catch_unwind(|| (hand(&b), gob(&b), obj(&b))).is_err() { continue; }
        files.push(b);
    }
    let (mut nph, mut nsh) = (0usize, 0usize);
    for f in &files { nph += u16::from_le_bytes([f[56], f[57]]) as usize; nsh += u16::from_le_bytes([f[60], f[61]]) as usize; }
    println!("{} files, {} program headers, {} section headers", files.len(), nph, nsh);
    let rounds = 31;
    for (name, fun) in [("hand", hand as fn(&[u8]) -> u64), ("goblin", gob), ("object", obj)] {
        let mut t = Vec::new();
        for _ in 0..rounds { let s = Instant::now(); let mut a = 0u64; for f in &files { a = a.wrapping_add(fun(black_box(f))); } black_box(a); t.push(s.elapsed().as_secs_f64()); }
        let m = median(t);
        println!("headers+sections {name:7} {:8.3} ms  {:6.1} ns/header", m * 1e3, m * 1e9 / (nph + nsh) as f64);
    }
    // Symbols: the largest .symtab/.dynsym in the set.
    let mut best = (0usize, 0usize, 0usize);
    for (i, f) in files.iter().enumerate() {
        let h = FileHeader64::<Endianness>::parse(&f[..]).unwrap(); let e = h.endian().unwrap();
        for s in h.section_headers(e, &f[..]).unwrap() { let ty = s.sh_type(e).0; if (ty == 2 || ty == 11) && s.sh_size(e) as usize > best.2 && s.sh_size(e) as usize % 24 == 0 { best = (i, s.sh_offset(e) as usize, s.sh_size(e) as usize); } }
    }
    let f = &files[best.0];
    println!("symbols: {} entries", best.2 / 24);
    for (name, fun) in [("hand", sym_hand as fn(&[u8], usize, usize) -> u64), ("goblin", sym_gob), ("object", sym_obj)] {
        let mut t = Vec::new();
        for _ in 0..rounds { let s = Instant::now(); black_box(fun(black_box(f), best.1, best.2)); t.push(s.elapsed().as_secs_f64()); }
        let m = median(t);
        println!("symbols {name:7} {:8.3} ms  {:6.2} ns/symbol", m * 1e3, m * 1e9 / (best.2 / 24) as f64);
    }
}

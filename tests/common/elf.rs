//! ELF bytes for hostile-input tests: a builder of small ELF64 files with the program
//! headers a test wants (sane or not), and patches of real ELF64 little-endian files.

/// Field offsets in an ELF64 file header.
pub mod ehdr {
    /// `e_phoff`.
    pub const PHOFF: usize = 0x20;
    /// `e_shoff`.
    pub const SHOFF: usize = 0x28;
    /// `e_phentsize`.
    pub const PHENTSIZE: usize = 0x36;
    /// `e_phnum`.
    pub const PHNUM: usize = 0x38;
    /// `e_shnum`.
    pub const SHNUM: usize = 0x3c;
    /// `e_shstrndx`.
    pub const SHSTRNDX: usize = 0x3e;
}

/// `PT_LOAD`.
pub const PT_LOAD: u32 = 1;
/// `PF_X`.
pub const PF_X: u32 = 1;
/// `PF_R`.
pub const PF_R: u32 = 4;

/// One ELF64 program header.
#[derive(Debug, Clone, Copy)]
pub struct Phdr {
    /// `p_type`.
    pub p_type: u32,
    /// `p_flags`.
    pub flags: u32,
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`, also written as `p_paddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
    /// `p_align`.
    pub align: u64,
}

impl Phdr {
    /// A `PT_LOAD` of `filesz` file bytes at `offset`, `memsz` bytes at `vaddr`.
    pub fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64, align: u64) -> Phdr {
        Phdr {
            p_type: PT_LOAD,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align,
        }
    }
}

/// An ELF64 little-endian x86-64 file: the 64-byte header, then `phdrs` at offset 64.
/// `phnum`, `phentsize` and `phoff` are written as given, so they may lie.
#[derive(Debug, Clone)]
pub struct Elf64 {
    /// `e_type` (3: DYN).
    pub e_type: u16,
    /// `e_phoff` (64).
    pub phoff: u64,
    /// `e_phentsize` (56).
    pub phentsize: u16,
    /// `e_phnum` (the number of `phdrs`).
    pub phnum: u16,
    /// The program headers written after the file header.
    pub phdrs: Vec<Phdr>,
}

impl Elf64 {
    /// A shared object with these program headers, every header field true.
    pub fn dyn_with(phdrs: &[Phdr]) -> Elf64 {
        Elf64 {
            e_type: 3,
            phoff: 64,
            phentsize: 56,
            phnum: phdrs.len() as u16,
            phdrs: phdrs.to_vec(),
        }
    }

    /// The file.
    pub fn bytes(&self) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // ELFCLASS64
        f[5] = 1; // ELFDATA2LSB
        f[6] = 1; // EV_CURRENT
        f[16..18].copy_from_slice(&self.e_type.to_le_bytes());
        f[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        f[ehdr::PHOFF..ehdr::PHOFF + 8].copy_from_slice(&self.phoff.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        f[ehdr::PHENTSIZE..ehdr::PHENTSIZE + 2].copy_from_slice(&self.phentsize.to_le_bytes());
        f[ehdr::PHNUM..ehdr::PHNUM + 2].copy_from_slice(&self.phnum.to_le_bytes());
        for p in &self.phdrs {
            f.extend_from_slice(&p.p_type.to_le_bytes());
            f.extend_from_slice(&p.flags.to_le_bytes());
            for v in [p.offset, p.vaddr, p.vaddr, p.filesz, p.memsz, p.align] {
                f.extend_from_slice(&v.to_le_bytes());
            }
        }
        f
    }
}

// ---------------------------------------------------------------- patches

fn u16_at(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}

fn u64_at(b: &[u8], o: usize) -> usize {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize
}

/// Where the tables of a real ELF64 little-endian file are.
#[derive(Debug, Clone, Copy)]
pub struct Tables {
    /// `e_phoff`.
    pub phoff: usize,
    /// `e_phnum`.
    pub phnum: usize,
    /// `e_shoff`.
    pub shoff: usize,
    /// `e_shnum`.
    pub shnum: usize,
    /// `e_shstrndx`.
    pub shstrndx: usize,
}

impl Tables {
    /// Reads the header of `b`.
    pub fn of(b: &[u8]) -> Tables {
        Tables {
            phoff: u64_at(b, ehdr::PHOFF),
            phnum: u16_at(b, ehdr::PHNUM),
            shoff: u64_at(b, ehdr::SHOFF),
            shnum: u16_at(b, ehdr::SHNUM),
            shstrndx: u16_at(b, ehdr::SHSTRNDX),
        }
    }
}

/// Removes every trace of the section headers from the file header (`e_shoff`,
/// `e_shnum`, `e_shstrndx` zeroed): readelf then prints no section mapping.
pub fn strip_section_headers(b: &mut [u8]) {
    b[ehdr::SHOFF..ehdr::SHOFF + 8].fill(0);
    b[ehdr::SHNUM..ehdr::SHSTRNDX + 2].fill(0);
}

/// Makes `e_shnum` 0 and puts `count` in section 0's `sh_size`, where the ELF
/// extended numbering says the real count is.
pub fn set_extended_shnum(b: &mut [u8], count: u64) {
    let t = Tables::of(b);
    b[ehdr::SHNUM..ehdr::SHNUM + 2].fill(0);
    b[t.shoff + 0x20..t.shoff + 0x28].copy_from_slice(&count.to_le_bytes());
}

/// Sets `sh_size` to 0 for the named sections; returns how many were found.
pub fn zero_section_sizes(b: &mut [u8], names: &[&str]) -> usize {
    let t = Tables::of(b);
    let strtab = u64_at(b, t.shoff + 64 * t.shstrndx + 24);
    let mut found = 0;
    for i in 0..t.shnum {
        let sh = t.shoff + 64 * i;
        let name_at = strtab + u32::from_le_bytes(b[sh..sh + 4].try_into().unwrap()) as usize;
        let end = name_at + b[name_at..].iter().position(|&c| c == 0).unwrap();
        if names.iter().any(|n| n.as_bytes() == &b[name_at..end]) {
            b[sh + 32..sh + 40].fill(0);
            found += 1;
        }
    }
    found
}

/// `b` (an ELF64 file with section headers) with `n` more SHF_ALLOC sections: copies of
/// its largest executable section's header, each 16 bytes of it in turn, in a new
/// section header table appended to the file (extended numbering: `e_shnum` 0 and the
/// count in section 0's `sh_size`). The loaded image is unchanged: the file still runs.
pub fn with_many_sections(b: &[u8], n: usize) -> Vec<u8> {
    with_many_sections_of(b, n, 16)
}

/// [`with_many_sections`] with each new section claiming `claim` bytes (at most the
/// executable section's size when `claim` is 16 or less; hostile claims reach far past
/// the segment).
pub fn with_many_sections_of(b: &[u8], n: usize, claim: u64) -> Vec<u8> {
    const SHF_ALLOC_EXEC: u64 = 0x2 | 0x4;
    let t = Tables::of(b);
    let table = &b[t.shoff..t.shoff + 64 * t.shnum];
    let text = (0..t.shnum)
        .map(|i| &table[64 * i..64 * (i + 1)])
        .filter(|sh| u64_at(sh, 8) as u64 & SHF_ALLOC_EXEC == SHF_ALLOC_EXEC)
        .max_by_key(|sh| u64_at(sh, 32))
        .expect("an executable section");
    let (addr, off, size) = (
        u64_at(text, 16) as u64,
        u64_at(text, 24) as u64,
        u64_at(text, 32) as u64,
    );
    let slots = (size / 16).max(1);
    let mut out = b.to_vec();
    out.resize(out.len().next_multiple_of(8), 0);
    let shoff = out.len();
    out.extend_from_slice(table);
    for i in 0..n as u64 {
        let mut sh = text.to_vec();
        let at = (i % slots) * 16;
        sh[16..24].copy_from_slice(&(addr + at).to_le_bytes());
        sh[24..32].copy_from_slice(&(off + at).to_le_bytes());
        let claim = if claim <= 16 { claim.min(size) } else { claim };
        sh[32..40].copy_from_slice(&claim.to_le_bytes());
        out.extend_from_slice(&sh);
    }
    out[ehdr::SHOFF..ehdr::SHOFF + 8].copy_from_slice(&(shoff as u64).to_le_bytes());
    set_extended_shnum(&mut out, (t.shnum + n) as u64);
    out
}

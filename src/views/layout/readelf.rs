//! readelf's view of program headers: the names `readelf -lW` gives segment types,
//! and its rule for which sections a segment holds. Both are compared with GNU readelf
//! itself in tests/layout.rs.

use std::borrow::Cow;

use object::elf as consts;

use crate::input::elf::{
    PT_DYNAMIC, PT_GNU_RELRO, PT_GNU_STACK, PT_LOAD, Phdr, SHF_ALLOC, SHF_TLS, SHT_NOBITS, Shdr,
};

// The numbers match on: object's typed constants as the `u32` and `u16` of `Phdr`
// and `ElfInfo`.
const PT_NOTE: u32 = consts::PT_NOTE.0;
const PT_PHDR: u32 = consts::PT_PHDR.0;
const PT_TLS: u32 = consts::PT_TLS.0;
const PT_GNU_EH_FRAME: u32 = consts::PT_GNU_EH_FRAME.0;
const EM_AARCH64: u16 = consts::EM_AARCH64.0;
const EM_ARM: u16 = consts::EM_ARM.0;
const EM_MIPS: u16 = consts::EM_MIPS.0;
const EM_MIPS_RS3_LE: u16 = consts::EM_MIPS_RS3_LE.0;
const EM_RISCV: u16 = consts::EM_RISCV.0;

const PT_GNU_SFRAME: u32 = 0x6474_e554;
const PT_GNU_MBIND_LO: u32 = 0x6474_e555;
const PT_GNU_MBIND_HI: u32 = PT_GNU_MBIND_LO + 4095;
const PT_LOPROC: u32 = 0x7000_0000;

/// More e_machine values readelf decodes processor-specific segment types for.
const EM_PARISC: u16 = 15;
const EM_S390: u16 = 22;
const EM_IA_64: u16 = 50;
const EM_TI_C6000: u16 = 140;
const EM_S390_OLD: u16 = 0xa390;

/// readelf's name of a processor-specific segment type (`p_type - PT_LOPROC` is
/// `offset`) on `machine`: binutils 2.40's `get_*_segment_type`, checked against
/// readelf for every machine number in tests/layout.rs. readelf names ARM's and MIPS's
/// without the machine prefix (`EXIDX`, `ABIFLAGS`), the others with it.
fn processor_type_name(machine: u16, offset: u32) -> Option<&'static str> {
    Some(match (machine, offset) {
        (EM_AARCH64, 0) => "AARCH64_ARCHEXT",
        (EM_AARCH64, 2) => "AARCH64_MEMTAG_MTE",
        (EM_ARM, 1) => "EXIDX",
        (EM_MIPS | EM_MIPS_RS3_LE, 0) => "REGINFO",
        (EM_MIPS | EM_MIPS_RS3_LE, 1) => "RTPROC",
        (EM_MIPS | EM_MIPS_RS3_LE, 2) => "OPTIONS",
        (EM_MIPS | EM_MIPS_RS3_LE, 3) => "ABIFLAGS",
        (EM_PARISC, 0) => "PARISC_ARCHEXT",
        (EM_PARISC, 1) => "PARISC_UNWIND",
        (EM_PARISC, 2) => "PARISC_WEAKORDER",
        (EM_IA_64, 0) => "IA_64_ARCHEXT",
        (EM_IA_64, 1) => "IA_64_UNWIND",
        (EM_S390 | EM_S390_OLD, 0) => "S390_PGSTE",
        (EM_TI_C6000, 0) => "C6000_PHATTR",
        (EM_RISCV, 3) => "RISCV_ATTRIBUTES",
        _ => return None,
    })
}

/// readelf's name of a segment type (binutils `get_segment_type`). The OS-specific
/// names readelf gives only under an HP-UX or Solaris `EI_OSABI` are not decoded and
/// print as `LOOS+...`, as readelf prints them for every other OS ABI.
pub fn readelf_type_name(p_type: u32, machine: u16) -> Cow<'static, str> {
    let known = match p_type {
        0 => Some("NULL"),
        PT_LOAD => Some("LOAD"),
        PT_DYNAMIC => Some("DYNAMIC"),
        3 => Some("INTERP"),
        PT_NOTE => Some("NOTE"),
        5 => Some("SHLIB"),
        PT_PHDR => Some("PHDR"),
        PT_TLS => Some("TLS"),
        PT_GNU_EH_FRAME => Some("GNU_EH_FRAME"),
        PT_GNU_STACK => Some("GNU_STACK"),
        PT_GNU_RELRO => Some("GNU_RELRO"),
        0x6474_e553 => Some("GNU_PROPERTY"),
        PT_GNU_SFRAME => Some("GNU_SFRAME"),
        0x65a3_dbe5 => Some("OPENBSD_MUTABLE"),
        0x65a3_dbe6 => Some("OPENBSD_RANDOMIZE"),
        0x65a3_dbe7 => Some("OPENBSD_WXNEEDED"),
        0x65a3_dbe8 => Some("OPENBSD_NOBTCFI"),
        0x65a4_1be6 => Some("OPENBSD_BOOTDATA"),
        PT_LOPROC..=0x7fff_ffff => processor_type_name(machine, p_type - PT_LOPROC),
        _ => None,
    };
    if let Some(k) = known {
        return Cow::Borrowed(k);
    }
    // C's "%#lx": no 0x for zero.
    let hex = |v: u32| {
        if v == 0 {
            "0".to_string()
        } else {
            format!("{v:#x}")
        }
    };
    Cow::Owned(match p_type {
        0x7000_0000..=0x7fff_ffff => format!("LOPROC+{}", hex(p_type - 0x7000_0000)),
        0x6000_0000..=0x6fff_ffff => format!("LOOS+{}", hex(p_type - 0x6000_0000)),
        _ => format!("<unknown>: {p_type:x}"),
    })
}

/// Whether readelf's section-to-segment mapping puts `s` in `p`: binutils'
/// `ELF_SECTION_IN_SEGMENT_STRICT` (include/elf/internal.h) after its
/// `!ELF_TBSS_SPECIAL` test, in the same wrapping 64-bit arithmetic.
#[inline]
pub fn section_in_segment(s: &Shdr, p: &Phdr) -> bool {
    let tls = s.flags & SHF_TLS != 0;
    let alloc = s.flags & SHF_ALLOC != 0;
    let nobits = s.sh_type == SHT_NOBITS;
    let pt = p.p_type;
    let size = s.size;
    // All of the conditions below must hold; the ones that most pairs fail (the
    // section's bytes and addresses outside the segment's) come first.
    // Sections with file contents lie inside the segment's file bytes (strict: a
    // zero-size section may not sit at the end unless the segment is empty).
    let off = s.offset.wrapping_sub(p.offset);
    let file_ok = nobits
        || (s.offset >= p.offset
            && off <= p.filesz.wrapping_sub(1)
            && off.wrapping_add(size) <= p.filesz);
    if !file_ok {
        return false;
    }
    // Allocated sections lie inside the segment's memory.
    let va = s.addr.wrapping_sub(p.vaddr);
    let vma_ok = !alloc
        || (s.addr >= p.vaddr && va <= p.memsz.wrapping_sub(1) && va.wrapping_add(size) <= p.memsz);
    if !vma_ok {
        return false;
    }
    // .tbss takes no space in segments other than PT_TLS.
    if tls && nobits && pt != PT_TLS {
        return false;
    }
    // Only PT_LOAD, PT_GNU_RELRO and PT_TLS hold TLS sections; PT_TLS holds only
    // them, PT_PHDR none.
    let tls_ok = if tls {
        matches!(pt, PT_TLS | PT_GNU_RELRO | PT_LOAD)
    } else {
        pt != PT_TLS && pt != PT_PHDR
    };
    // Loadable and similar segments hold only SHF_ALLOC sections.
    let alloc_only = matches!(
        pt,
        PT_LOAD | PT_DYNAMIC | PT_GNU_EH_FRAME | PT_GNU_STACK | PT_GNU_RELRO | PT_GNU_SFRAME
    ) || (PT_GNU_MBIND_LO..=PT_GNU_MBIND_HI).contains(&pt);
    let alloc_ok = alloc || !alloc_only;
    // No empty sections at the start or end of PT_DYNAMIC or PT_NOTE.
    let edge_ok = (pt != PT_DYNAMIC && pt != PT_NOTE)
        || s.size != 0
        || p.memsz == 0
        || ((nobits || (s.offset > p.offset && off < p.filesz))
            && (!alloc || (s.addr > p.vaddr && va < p.memsz)));
    tls_ok && alloc_ok && edge_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::layout::tests::{A, phdr, shdr};

    const T: u64 = SHF_TLS;

    #[test]
    fn readelf_segment_type_names() {
        assert_eq!(readelf_type_name(PT_LOAD, 62), "LOAD");
        assert_eq!(readelf_type_name(0x6474_e553, 62), "GNU_PROPERTY");
        assert_eq!(readelf_type_name(0x7000_0001, 40), "EXIDX");
        assert_eq!(readelf_type_name(0x7000_0001, 62), "LOPROC+0x1");
        assert_eq!(readelf_type_name(0x6000_0000, 62), "LOOS+0");
        assert_eq!(readelf_type_name(0x1234, 62), "<unknown>: 1234");
    }

    #[test]
    fn tbss_only_in_pt_tls() {
        let load = phdr(0, PT_LOAD, 6, 0x1000, 0x1000, 0x100, 0x200);
        let tls = phdr(1, PT_TLS, 4, 0x1000, 0x1000, 0x10, 0x40);
        let tdata = shdr(1, ".tdata", 1, A | T | 2, 0x1000, 0x1000, 0x10);
        let tbss = shdr(2, ".tbss", SHT_NOBITS, A | T | 2, 0x1010, 0x1010, 0x30);
        let bss = shdr(3, ".bss", SHT_NOBITS, A | 2, 0x1100, 0x1100, 0x100);
        assert!(section_in_segment(&tdata, &load) && section_in_segment(&tdata, &tls));
        assert!(!section_in_segment(&tbss, &load) && section_in_segment(&tbss, &tls));
        assert!(section_in_segment(&bss, &load) && !section_in_segment(&bss, &tls));
    }

    #[test]
    fn zero_size_sections_at_segment_ends() {
        let load = phdr(0, PT_LOAD, 4, 0, 0, 0x100, 0x100);
        let dynamic = phdr(1, PT_DYNAMIC, 4, 0x40, 0x40, 0x40, 0x40);
        // Strict: not at the end of a loadable segment.
        assert!(!section_in_segment(
            &shdr(1, ".e", 1, A, 0x100, 0x100, 0),
            &load
        ));
        assert!(section_in_segment(
            &shdr(1, ".e", 1, A, 0x80, 0x80, 0),
            &load
        ));
        // Not at the start of PT_DYNAMIC either.
        assert!(!section_in_segment(
            &shdr(1, ".e", 1, A, 0x40, 0x40, 0),
            &dynamic
        ));
        assert!(section_in_segment(
            &shdr(1, ".e", 1, A, 0x50, 0x50, 0),
            &dynamic
        ));
        // Non-alloc sections are never in a PT_LOAD, but may be in a PT_NOTE.
        let note = phdr(2, PT_NOTE, 4, 0x40, 0x40, 0x20, 0x20);
        assert!(!section_in_segment(
            &shdr(1, ".c", 1, 0, 0, 0x10, 0x10),
            &load
        ));
        assert!(section_in_segment(
            &shdr(1, ".n", 7, 0, 0, 0x40, 0x20),
            &note
        ));
        // An empty segment holds an empty section at its address.
        let empty = phdr(3, PT_LOAD, 4, 0x100, 0x100, 0, 0);
        assert!(section_in_segment(
            &shdr(1, ".e", 1, A, 0x100, 0x100, 0),
            &empty
        ));
    }
}

//! backtrace: a Rust program that formats one backtrace, which makes the standard
//! library map its own executable read-only, whole (and libc's separate `.debug`
//! file, where one is installed), then prints what the loader says
//! (dl_iterate_phdr: INFO, OBJ, PH as testdata/shapes prints them), READY, and
//! blocks on stdin until EOF. tests/mapped.rs builds it with rustc. No crates: the
//! loader is called through its C interface.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::io::{Read, Write};

/// `struct dl_phdr_info` of glibc and musl (64-bit), its first four fields.
#[repr(C)]
struct DlPhdrInfo {
    addr: u64,
    name: *const c_char,
    phdr: *const Phdr,
    phnum: u16,
}

/// `Elf64_Phdr`.
#[repr(C)]
struct Phdr {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

type Callback = extern "C" fn(*mut DlPhdrInfo, usize, *mut c_void) -> c_int;

unsafe extern "C" {
    fn dl_iterate_phdr(cb: Callback, data: *mut c_void) -> c_int;
    fn getauxval(kind: u64) -> u64;
    fn sysconf(name: c_int) -> i64;
}

const AT_PHDR: u64 = 3;
const AT_SYSINFO_EHDR: u64 = 33;
const SC_PAGESIZE: c_int = 30;

extern "C" fn report(info: *mut DlPhdrInfo, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: the loader passes a valid info and the `String` given below.
    let (info, out) = unsafe { (&*info, &mut *(data as *mut (usize, String))) };
    // SAFETY: the vDSO's address, when there is one, is an ELF header.
    let vdso = unsafe { getauxval(AT_SYSINFO_EHDR) };
    if vdso != 0 {
        // SAFETY: as above; e_phoff is at offset 32 of an Elf64_Ehdr.
        let phoff = unsafe { *((vdso + 32) as *const u64) };
        if info.phdr as u64 == vdso + phoff {
            return 0;
        }
    }
    let name = if info.phdr as u64 == unsafe { getauxval(AT_PHDR) } {
        std::fs::canonicalize("/proc/self/exe").unwrap().display().to_string()
    } else {
        // SAFETY: the loader's names are C strings.
        let n = unsafe { CStr::from_ptr(info.name) }.to_string_lossy().into_owned();
        std::fs::canonicalize(&n).map_or(n, |p| p.display().to_string())
    };
    let (index, text) = out;
    text.push_str(&format!("OBJ {index} {:#x} {} {name}\n", info.addr, info.phnum));
    for i in 0..usize::from(info.phnum) {
        // SAFETY: phnum program headers at phdr.
        let p = unsafe { &*info.phdr.add(i) };
        text.push_str(&format!(
            "PH {index} {i} {:#x} {:#x} {:#x} {:#x} {:#x} {:#x}\n",
            p.p_type, p.flags, p.offset, p.vaddr, p.filesz, p.memsz
        ));
    }
    *index += 1;
    0
}

fn main() {
    let bt = std::backtrace::Backtrace::force_capture();
    let formatted = format!("{bt}");
    assert!(!formatted.is_empty());
    // SAFETY: plain libc calls.
    let page = unsafe { sysconf(SC_PAGESIZE) };
    let mut out = (0usize, format!("INFO ptrbits=64 page={page}\n"));
    // SAFETY: `report` gets `out` back as its data.
    unsafe { dl_iterate_phdr(report, &mut out as *mut _ as *mut c_void) };
    out.1.push_str("READY\n");
    let mut stdout = std::io::stdout();
    stdout.write_all(out.1.as_bytes()).unwrap();
    stdout.flush().unwrap();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}

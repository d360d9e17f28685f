//! Reading a process's smaps (or maps) as a stream, and the build IDs the kernel
//! reports for mapped files (`PROCMAP_QUERY` on the maps file).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use super::ioctl::{ioctl_rw, iowr};
use super::{ProcError, Process, classify_io};
use crate::vocab::MapsSource;

/// Bytes asked for per read of smaps: fewer reads leave the process less room to
/// change between them (only one read of the file is consistent).
const CHUNK: usize = 256 * 1024;

impl Process {
    /// Reads smaps (or maps, when smaps cannot be opened for a reason other than
    /// permission; only maps with `plain`) and hands each chunk to `sink` as it
    /// arrives, so that a large file is parsed while it is read instead of being held
    /// whole. Stops at the first error of `sink`, which is returned inside.
    ///
    /// A read that did not reach the end of the file is [`ProcError::Exited`], never
    /// a short text: the kernel ends smaps (and maps) early, with a clean end of file,
    /// when the address space it lists is gone (the process exited, or executed
    /// another program), and with `ESRCH` once the process is reaped. So after the
    /// end of file the same open file is read again from its start: an address space
    /// that is gone gives nothing (the kernel never takes back its end), one that is
    /// still there gives its first line, and then the end read was the real one. Only
    /// a kernel thread has no line at all.
    pub(crate) fn read_maps_with<E>(
        &self,
        plain: bool,
        mut sink: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Result<MapsSource, E>, ProcError> {
        let smaps = self.dir.join(if plain { "maps" } else { "smaps" });
        self.note_start();
        let opened = File::open(&smaps);
        let (path, mut file, source) = match opened {
            Ok(f) if plain => (smaps, f, MapsSource::Maps),
            Err(e) if plain => return Err(classify_io(smaps, e, self.pid)),
            Ok(f) => (smaps, f, MapsSource::Smaps),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
                return Err(ProcError::PermissionDenied { path: smaps });
            }
            Err(_) if !self.dir.exists() => return Err(ProcError::NoSuchProcess(self.pid)),
            Err(_) => {
                let maps = self.dir.join("maps");
                match File::open(&maps) {
                    Ok(f) => (maps, f, MapsSource::Maps),
                    Err(e) => return Err(classify_io(maps, e, self.pid)),
                }
            }
        };
        let mut buf = Buffer::take();
        let buf = &mut buf.0;
        let mut total = 0usize;
        loop {
            match file.read(buf) {
                Ok(0) => break,
                Ok(n) => {
                    total += n;
                    if let Err(e) = sink(&buf[..n]) {
                        return Ok(Err(e));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Reaped while it was read.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                    return Err(ProcError::Exited(self.pid));
                }
                Err(e) => return Err(classify_io(path, e, self.pid)),
            }
        }
        let whole = if total == 0 {
            // No line: a kernel thread (no address space at all), or a process whose
            // address space was gone before the first read.
            self.is_kernel_thread()
        } else {
            still_mapped(&mut file)
        };
        if !whole {
            // Read in part: it exited while it was read. Nothing read: it may have
            // been a zombie from the start.
            return Err(if total == 0 && self.is_zombie() {
                ProcError::Zombie(self.pid)
            } else {
                ProcError::Exited(self.pid)
            });
        }
        Ok(Ok(source))
    }

    /// The build ID of the file mapped at `addr`, from the PROCMAP_QUERY ioctl (Linux
    /// 6.11+), which reports the build ID of the mapped inode even after the file was
    /// replaced on disk. `Err` when the kernel has no such ioctl (or it failed).
    pub(crate) fn query_build_id(&self, addr: u64) -> io::Result<Option<Vec<u8>>> {
        procmap_query_build_id(self.maps_fd()?, addr)
    }

    /// `/proc/PID/maps`, opened once, for PROCMAP_QUERY.
    fn maps_fd(&self) -> io::Result<&File> {
        self.maps_fd
            .get_or_init(|| File::open(self.dir.join("maps")))
            .as_ref()
            .map_err(|e| io::Error::new(e.kind(), e.to_string()))
    }
}

impl Process {
    /// The page size the kernel maps the mapping at `addr` with (`KernelPageSize`:
    /// larger than the base page for hugetlb), from the PROCMAP_QUERY ioctl (Linux
    /// 6.11+); `Err` when the kernel has no such ioctl.
    #[cfg(feature = "cli")]
    pub(crate) fn query_page_size(&mut self, addr: u64) -> io::Result<Option<u64>> {
        Ok(procmap_query(self.maps_fd()?, addr, &mut [])?.map(|q| q.vma_page_size))
    }

    /// Reads `/proc/PID/maps` whole (the labels of an RSS-only scan: no smaps, so the
    /// target's mmap lock is not held while PSS is computed).
    #[cfg(feature = "cli")]
    pub(crate) fn read_plain_maps(&self) -> Result<Vec<u8>, ProcError> {
        let mut text = Vec::with_capacity(16 * 1024);
        let read = self.read_maps_with(true, |chunk| {
            text.extend_from_slice(chunk);
            Ok::<(), ()>(())
        })?;
        debug_assert!(read.is_ok(), "the sink never fails");
        Ok(text)
    }
}

thread_local! {
    /// This thread's read buffer, between two reads.
    static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The read buffer of this thread, reused from one process to the next (a scan reads
/// hundreds): [`CHUNK`] bytes zeroed and faulted in once per thread, not once per
/// process. Given back when dropped.
struct Buffer(Vec<u8>);

impl Buffer {
    fn take() -> Buffer {
        let mut v = BUFFER.with(std::cell::Cell::take);
        if v.len() < CHUNK {
            v = vec![0u8; CHUNK];
        }
        Buffer(v)
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        let _ = BUFFER.try_with(|b| b.set(v));
    }
}

/// Whether the address space an open smaps (or maps) file lists is still there: its
/// first line can be read again from the start. The kernel lists nothing, with a clean
/// end of file, once the address space is torn down (exit, exec), and its count of
/// users never comes back from 0; so a file whose end was read before this succeeds
/// was read to its real end. Costs one line: the kernel prints one record for a read
/// of one byte.
fn still_mapped(file: &mut File) -> bool {
    if file.seek(SeekFrom::Start(0)).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    loop {
        match file.read(&mut byte) {
            Ok(n) => return n == 1,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

/// `struct procmap_query` of linux/fs.h (6.11).
#[repr(C)]
#[derive(Default)]
struct ProcmapQuery {
    size: u64,
    query_flags: u64,
    query_addr: u64,
    vma_start: u64,
    vma_end: u64,
    vma_flags: u64,
    vma_page_size: u64,
    vma_offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    vma_name_size: u32,
    build_id_size: u32,
    vma_name_addr: u64,
    build_id_addr: u64,
}

/// `_IOWR('f', 17, struct procmap_query)` (linux/fs.h).
const PROCMAP_QUERY: u32 = iowr::<ProcmapQuery>(b'f', 17);

/// The one PROCMAP_QUERY call: the mapping that contains `addr` (`None`: no mapping
/// does), with its build ID written to `build_id` when the buffer is not empty (at
/// most its length; `build_id_size` says how much). `Err` when the kernel has no such
/// ioctl (before 6.11) or it failed.
fn procmap_query(maps: &File, addr: u64, build_id: &mut [u8]) -> io::Result<Option<ProcmapQuery>> {
    let mut q = ProcmapQuery {
        size: std::mem::size_of::<ProcmapQuery>() as u64,
        query_addr: addr,
        build_id_size: u32::try_from(build_id.len()).unwrap_or(u32::MAX),
        build_id_addr: if build_id.is_empty() {
            0
        } else {
            build_id.as_mut_ptr() as u64
        },
        ..ProcmapQuery::default()
    };
    // SAFETY: q is a procmap_query of its own size that asks for no name, and for a
    // build ID only into `build_id`, writable for build_id_size bytes during the call.
    unsafe { ioctl_rw(maps, PROCMAP_QUERY, &mut q) }?;
    Ok((q.vma_start <= addr && addr < q.vma_end).then_some(q))
}

fn procmap_query_build_id(maps: &File, addr: u64) -> io::Result<Option<Vec<u8>>> {
    let mut id = [0u8; 64];
    let Some(q) = procmap_query(maps, addr, &mut id)? else {
        return Ok(None);
    };
    let n = (q.build_id_size as usize).min(id.len());
    Ok((n > 0).then(|| id[..n].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request number the kernel documents for PROCMAP_QUERY (linux/fs.h:
    /// `_IOWR('f', 17, struct procmap_query)`, 104 bytes).
    #[test]
    fn the_request_number_is_the_kernels() {
        assert_eq!(std::mem::size_of::<ProcmapQuery>(), 104);
        assert_eq!(PROCMAP_QUERY, 0xc068_6611);
    }

    /// The kernel's answer for an address of a mapping of our own is that mapping,
    /// and for an address past it, none that contains it.
    #[test]
    fn the_query_finds_a_mapping_of_our_own() {
        let p = super::super::page_size().get() as usize;
        // SAFETY: a private anonymous mapping of 4 pages, queried, then unmapped; the
        // page after it is made inaccessible so that no neighbour joins it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                5 * p,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        // SAFETY: the last page of the mapping made above.
        assert_eq!(
            unsafe { libc::mprotect((base as *mut u8).add(4 * p).cast(), p, libc::PROT_NONE) },
            0
        );
        let start = base as u64;
        let maps = File::open("/proc/self/maps").unwrap();
        let inside = procmap_query(&maps, start + p as u64, &mut []);
        let next = procmap_query(&maps, start + 4 * p as u64, &mut []);
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(base, 5 * p) };
        match inside {
            Ok(q) => {
                let q = q.expect("a mapping contains it");
                assert_eq!((q.vma_start, q.vma_end), (start, start + 4 * p as u64));
                assert_eq!(q.vma_page_size, p as u64);
                let next = next.unwrap().expect("a mapping contains it");
                assert_eq!(next.vma_start, start + 4 * p as u64);
            }
            // Kernels before 6.11 have no PROCMAP_QUERY.
            Err(e) => assert!(
                matches!(e.raw_os_error(), Some(libc::ENOTTY) | Some(libc::EINVAL)),
                "{e}"
            ),
        }
    }
}

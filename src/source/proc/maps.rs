//! Reading a process's smaps (or maps) as a stream, and the build IDs the kernel
//! reports for mapped files (`PROCMAP_QUERY` on the maps file).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use super::{ProcError, Process, classify_io};

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
    ) -> Result<Result<&'static str, E>, ProcError> {
        let smaps = self.dir.join(if plain { "maps" } else { "smaps" });
        self.note_start();
        let opened = File::open(&smaps);
        let (path, mut file, source) = match opened {
            Ok(f) if plain => (smaps, f, "maps"),
            Err(e) if plain => return Err(classify_io(smaps, e, self.pid)),
            Ok(f) => (smaps, f, "smaps"),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
                return Err(ProcError::PermissionDenied { path: smaps });
            }
            Err(_) if !self.dir.exists() => return Err(ProcError::NoSuchProcess(self.pid)),
            Err(_) => {
                let maps = self.dir.join("maps");
                match File::open(&maps) {
                    Ok(f) => (maps, f, "maps"),
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
    pub(crate) fn query_page_size(&mut self, addr: u64) -> io::Result<Option<u64>> {
        use std::os::fd::AsRawFd;
        let f = self.maps_fd()?;
        let mut q = ProcmapQuery {
            size: std::mem::size_of::<ProcmapQuery>() as u64,
            query_addr: addr,
            ..ProcmapQuery::default()
        };
        // SAFETY: q is a properly sized, initialised procmap_query that asks for no
        // name and no build ID.
        let rc = unsafe {
            libc::ioctl(
                f.as_raw_fd(),
                PROCMAP_QUERY as _,
                &mut q as *mut ProcmapQuery,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((q.vma_start <= addr && addr < q.vma_end).then_some(q.vma_page_size))
    }

    /// Reads `/proc/PID/maps` whole (the labels of an RSS-only scan: no smaps, so the
    /// target's mmap lock is not held while PSS is computed).
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

/// `_IOWR('f', 17, struct procmap_query)`.
const PROCMAP_QUERY: u64 =
    (3 << 30) | ((std::mem::size_of::<ProcmapQuery>() as u64) << 16) | ((b'f' as u64) << 8) | 17;

fn procmap_query_build_id(maps: &File, addr: u64) -> io::Result<Option<Vec<u8>>> {
    use std::os::fd::AsRawFd;
    let mut id = [0u8; 64];
    let mut q = ProcmapQuery {
        size: std::mem::size_of::<ProcmapQuery>() as u64,
        query_addr: addr,
        build_id_size: id.len() as u32,
        build_id_addr: id.as_mut_ptr() as u64,
        ..ProcmapQuery::default()
    };
    // SAFETY: q is a properly sized, initialised procmap_query whose build_id_addr
    // points to a writable buffer of build_id_size bytes that outlives the call.
    let rc = unsafe {
        libc::ioctl(
            maps.as_raw_fd(),
            PROCMAP_QUERY as _,
            &mut q as *mut ProcmapQuery,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if q.vma_start > addr || addr >= q.vma_end {
        return Ok(None);
    }
    let n = (q.build_id_size as usize).min(id.len());
    Ok((n > 0).then(|| id[..n].to_vec()))
}

//! `/proc/PID/mem`: reading a live process's memory, to check that text a program
//! remapped onto other memory still holds the file's bytes (issue 12 §2). Reading
//! needs ptrace read access, as pagemap does; a failure is a `None` verdict, never an
//! error of the run.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::Process;

impl Process {
    /// Reads `buf.len()` bytes of the process's memory at `addr`; an error when the
    /// memory cannot be read whole (no permission, unmapped since).
    pub fn read_memory(&self, addr: u64, buf: &mut [u8]) -> io::Result<()> {
        let f = File::open(self.dir.join("mem"))?;
        f.read_exact_at(buf, addr)
    }
}

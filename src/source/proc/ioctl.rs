//! The ioctls elfmaps makes on `/proc` files (PAGEMAP_SCAN on pagemap, PROCMAP_QUERY on
//! maps): their request numbers, computed once from the argument's size as the
//! kernel's `_IOWR` does, and the one `ioctl` call that turns the result into an
//! [`io::Result`]. Each ioctl has one wrapper next to its argument struct
//! (`pagemap.rs`, `maps.rs`).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// `_IOWR(ty, nr, T)` of `<asm-generic/ioctl.h>`: direction read|write in the top two
/// bits, the size of `T` in the 14 bits from bit 16, the type and the number in the
/// low 16 bits. The architectures with another layout (powerpc, mips, sparc: three
/// direction bits from bit 29, 13 size bits) give the same number for read|write
/// and a size under 8 KiB, which the assertion holds every argument to.
pub(super) const fn iowr<T>(ty: u8, nr: u8) -> u32 {
    let size = std::mem::size_of::<T>();
    assert!(size < 1 << 13, "an ioctl argument of 8 KiB or more");
    (3 << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr as u32
}

/// Calls the read-write ioctl `request` on `f` with `arg`: the non-negative count it
/// returns, or the error the kernel set.
///
/// # Safety
/// `arg` must be the argument `request` takes, and every address in it must point to
/// memory that stays valid and writable for the length it gives during the call.
pub(super) unsafe fn ioctl_rw<T>(f: &File, request: u32, arg: &mut T) -> io::Result<usize> {
    // SAFETY: the caller's contract; `request as _` is the C cast the libc's
    // prototype takes (an unsigned long on glibc, an int on musl).
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), request as _, arg as *mut T) };
    usize::try_from(rc).map_err(|_| io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A known `_IOWR` of the kernel headers this machine has: `FS_IOC_FIEMAP` is
    /// `_IOWR('f', 11, struct fiemap)`, and `struct fiemap` is 32 bytes.
    #[test]
    fn iowr_is_the_kernel_encoding() {
        assert_eq!(iowr::<[u64; 4]>(b'f', 11), 0xc020660b);
        assert_eq!(iowr::<()>(0, 0), 0xc0000000);
    }
}

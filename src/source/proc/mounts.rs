//! Which filesystem a mapped file is on, known from its maps line's device and
//! `/proc/PID/mountinfo` alone: nothing on that filesystem is touched (a `stat` or
//! an open of a path on a stalled FUSE or NFS mount blocks; mountinfo and smaps do
//! not). [`crate::source::remote`] decides from it whether the file is read.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex, OnceLock};

use super::Process;
use super::read_small;
use crate::input::maps::Mapping;
use crate::input::mountinfo::{self, Mount};
use crate::source::remote::Place;

/// The mounts of a process's mount namespace by device, read once per process; and
/// elfmaps' own, read only when the process's do not know a device.
#[derive(Debug, Default)]
pub(crate) struct Mounts {
    theirs: HashMap<(u32, u32), Mount>,
    ours: OnceLock<HashMap<(u32, u32), Mount>>,
}

/// The mounts of `text` by device (the first of several mounts of one device: they
/// share its type).
fn by_dev(text: &[u8]) -> HashMap<(u32, u32), Mount> {
    let mut map = HashMap::new();
    for m in mountinfo::parse(text) {
        map.entry(m.dev).or_insert(m);
    }
    map
}

/// The devices of the kernel's internal mounts that back memory of no filesystem:
/// shared memory (memfd, SysV shared memory, shared anonymous memory) and hugetlbfs
/// (memfds of huge pages, of the default and the 1 GiB size), which no mountinfo
/// lists: those of memfds made here (one of each kind, once; one that cannot be made
/// is left out).
fn internal() -> &'static [(u32, u32)] {
    static DEVS: OnceLock<Vec<(u32, u32)>> = OnceLock::new();
    DEVS.get_or_init(|| {
        let kinds = [0, libc::MFD_HUGETLB, libc::MFD_HUGETLB | libc::MFD_HUGE_1GB];
        let mut devs = Vec::new();
        for flags in kinds {
            // SAFETY: a NUL-terminated name and valid flags; the descriptor is ours
            // and closed below.
            let fd =
                unsafe { libc::memfd_create(c"elfmaps-probe".as_ptr(), libc::MFD_CLOEXEC | flags) };
            if fd < 0 {
                continue;
            }
            // SAFETY: fd is open; st is written by fstat.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstat(fd, &mut st) } == 0 {
                devs.push((libc::major(st.st_dev), libc::minor(st.st_dev)));
            }
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
        }
        devs
    })
}

/// The mount tables of a run of many processes (a scan of the machine), one per
/// mount namespace: most processes share elfmaps' own, whose table is then read once
/// instead of once per process. A table is read again when the kernel says the
/// namespace's mounts changed since (`poll` on its open mountinfo gives `POLLPRI`), so
/// a device number freed by an unmount and given to a new filesystem is never looked
/// up in an old table.
#[derive(Debug, Default)]
pub struct MountTables {
    by_ns: Mutex<HashMap<u64, (File, Arc<Mounts>)>>,
}

impl MountTables {
    /// The table of `process`'s mount namespace.
    fn of(&self, process: &Process) -> Arc<Mounts> {
        let Ok(ns) = std::fs::metadata(process.dir.join("ns/mnt")) else {
            return Arc::new(Mounts::read(process));
        };
        let mut by_ns = self.by_ns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((file, table)) = by_ns.get(&ns.ino())
            && !changed(file)
        {
            return Arc::clone(table);
        }
        let Ok(mut file) = File::open(process.dir.join("mountinfo")) else {
            return Arc::new(Mounts::default());
        };
        let mut text = Vec::new();
        if file.read_to_end(&mut text).is_err() {
            return Arc::new(Mounts::default());
        }
        let table = Arc::new(Mounts {
            theirs: by_dev(&text),
            ours: OnceLock::new(),
        });
        by_ns.insert(ns.ino(), (file, Arc::clone(&table)));
        table
    }
}

/// Whether the mounts of the namespace of an open mountinfo changed since it was
/// opened (or since the last call that said so).
fn changed(file: &File) -> bool {
    let mut fd = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one valid pollfd; a zero timeout.
    let n = unsafe { libc::poll(&mut fd, 1, 0) };
    // An error is taken as a change: the table is read again.
    n < 0 || fd.revents & (libc::POLLPRI | libc::POLLERR) != 0
}

impl Mounts {
    /// The table of `process`'s namespace, read now (empty if it cannot be read).
    fn read(process: &Process) -> Mounts {
        Mounts {
            theirs: read_small(&process.dir.join("mountinfo"))
                .map(|t| by_dev(&t))
                .unwrap_or_default(),
            ours: OnceLock::new(),
        }
    }
}

impl Process {
    fn mounts(&self) -> &Mounts {
        self.mounts.get_or_init(|| Arc::new(Mounts::read(self)))
    }

    /// Takes its mount table from `tables` (shared by the processes of one run)
    /// instead of reading its own.
    pub(crate) fn share_mounts(&self, tables: &MountTables) {
        let _ = self.mounts.get_or_init(|| tables.of(self));
    }

    /// Where the file that `m` maps is, from its device alone: on a filesystem that
    /// may stall (network, FUSE), on one no mount table lists, or local.
    ///
    /// The process's own mount table first (its namespace); then, for a device it
    /// does not list, a block device (major number not 0) is local (the lower layer
    /// of an overlay shows the device of the filesystem below, which a container's
    /// table does not list), the kernel's internal mounts of shared memory and huge pages are local, and
    /// elfmaps' own mount table is asked; a device none of them knows is
    /// [`Place::Unknown`] (a filesystem unmounted with `umount -l` while the file
    /// stays mapped, for one).
    pub(crate) fn place_of(&self, m: &Mapping) -> Place {
        let dev = (m.dev_major, m.dev_minor);
        let mounts = self.mounts();
        let known = mounts.theirs.get(&dev).or_else(|| {
            if dev.0 != 0 || internal().contains(&dev) {
                return None;
            }
            mounts
                .ours
                .get_or_init(|| {
                    read_small(std::path::Path::new("/proc/self/mountinfo"))
                        .map(|t| by_dev(&t))
                        .unwrap_or_default()
                })
                .get(&dev)
        });
        match known {
            Some(mount) if mountinfo::may_stall(&mount.fstype) => Place::MayStall {
                fstype: String::from_utf8_lossy(&mount.fstype).into_owned(),
                mount_point: String::from_utf8_lossy(&mount.mount_point).into_owned(),
            },
            Some(_) => Place::Local,
            None if dev.0 != 0 || internal().contains(&dev) => Place::Local,
            None => Place::Unknown { dev },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files of this test's own process: its executable (on a local filesystem here)
    /// is local; a memfd is local though no mountinfo lists it.
    #[test]
    fn own_files_are_local() {
        let me = Process::new(std::process::id()).unwrap();
        let text = std::fs::read("/proc/self/maps").unwrap();
        let maps = crate::input::maps::parse(&text).unwrap();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let line = maps
            .iter()
            .find(|m| m.name == exe.as_os_str().as_encoded_bytes())
            .unwrap();
        let on =
            String::from_utf8_lossy(&std::fs::read("/proc/self/mountinfo").unwrap()).into_owned();
        if !on.contains(" - fuse") && !on.contains(" - nfs") {
            assert_eq!(me.place_of(line), Place::Local);
        }
        assert!(!internal().is_empty());
        let mut shm = line.clone();
        (shm.dev_major, shm.dev_minor) = internal()[0];
        assert_eq!(me.place_of(&shm), Place::Local);
        // A device of no mount table, with major 0: unknown, never local.
        (shm.dev_major, shm.dev_minor) = (0, 0xfffff);
        assert_eq!(me.place_of(&shm), Place::Unknown { dev: (0, 0xfffff) });
    }

    /// A run's processes of one namespace share its table, read again only once the
    /// namespace's mounts changed.
    #[test]
    fn tables_are_shared_until_mounts_change() {
        let tables = MountTables::default();
        let me = Process::new(std::process::id()).unwrap();
        let a = tables.of(&me);
        let b = tables.of(&me);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!a.theirs.is_empty());
        let (file, _) = tables
            .by_ns
            .lock()
            .unwrap()
            .values()
            .next()
            .map(|(f, t)| (f.try_clone().unwrap(), Arc::clone(t)))
            .unwrap();
        assert!(!changed(&file));
    }
}

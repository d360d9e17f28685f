//! Files on filesystems that may stall: network filesystems (NFS, CIFS, Ceph, 9p,
//! ...) and FUSE (sshfs, rclone, ...), whose answers come from a server or a process
//! that may stop answering. One `stat`, `open` or `read` of such a file then waits
//! without bound, and a thread waiting for a FUSE server that took the request
//! cannot even be killed (docs/design.md, "Filesystems that stall").
//!
//! So a live process's mapped file is first placed from its maps line's device and
//! the process's `/proc/PID/mountinfo` ([`Place`], `proc::mounts`), before anything
//! touches its path. Local files are opened as always. The others are not read by
//! default ([`RemoteFs::Skip`]: [`Opened::Remote`], code `remote-fs`, regions
//! `unknown`). With [`RemoteFs::Read`] (`--remote-fs`), the file is opened and read on
//! a worker thread, and every step must finish within the deadline counted from the
//! open; past it the thread is abandoned (it may wait forever, and a thread in an
//! uninterruptible wait cannot be killed), the file is `remote-fs`, and every later
//! file of the same filesystem is refused at once while that thread still waits: at
//! most one thread is ever left behind per stalled filesystem, whatever the number of
//! files, processes and scans.
//!
//! The policy is process-wide ([`set_policy`]), as the threads it may leave behind
//! are: the command line sets it once; a library caller that never sets it never
//! reads a file on such a filesystem.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::Opened;
use super::proc::Process;
use crate::input::elf::ReadAt;
use crate::input::maps::Mapping;

/// Where a mapped file is, as far as stalling goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// On a local filesystem (or kernel memory): read as always.
    Local,
    /// On a network or FUSE filesystem
    /// ([`crate::input::mountinfo::may_stall`]).
    MayStall {
        /// Its type (`nfs4`, `fuse.sshfs`, ...).
        fstype: String,
        /// Where it is mounted.
        mount_point: String,
    },
    /// On a device no mount table lists (major 0: not a block device): a filesystem
    /// unmounted with `umount -l` while the file stays mapped, or one elfmaps cannot
    /// see; it may be remote.
    Unknown {
        /// The device (major, minor), as maps shows it.
        dev: (u32, u32),
    },
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Local => f.write_str("on a local filesystem"),
            Place::MayStall {
                fstype,
                mount_point,
            } => write!(
                f,
                "on a {} filesystem ({fstype} mounted at {mount_point}), which may stop answering",
                if fstype.starts_with("fuse") {
                    "FUSE"
                } else {
                    "network"
                }
            ),
            Place::Unknown { dev } => write!(
                f,
                "on device {:02x}:{:02x}, which no mount table lists (unmounted with umount -l, or out of sight), so it may be a network or FUSE filesystem",
                dev.0, dev.1
            ),
        }
    }
}

/// Whether files on network and FUSE filesystems are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteFs {
    /// Not read: `unknown`, code `remote-fs` (the default).
    Skip,
    /// Read on a worker thread; the open and every read of one file must be done
    /// within `deadline` of the open.
    Read {
        /// How long one file may take.
        deadline: Duration,
    },
}

/// The policy in milliseconds; `u64::MAX` for [`RemoteFs::Skip`].
static POLICY: AtomicU64 = AtomicU64::new(u64::MAX);

/// Sets the policy of this process for files on network and FUSE filesystems.
pub fn set_policy(p: RemoteFs) {
    let ms = match p {
        RemoteFs::Skip => u64::MAX,
        RemoteFs::Read { deadline } => {
            u64::try_from(deadline.as_millis()).map_or(u64::MAX - 1, |m| m.min(u64::MAX - 1))
        }
    };
    POLICY.store(ms, Ordering::Relaxed);
}

/// The policy of this process (default [`RemoteFs::Skip`]).
pub fn policy() -> RemoteFs {
    match POLICY.load(Ordering::Relaxed) {
        u64::MAX => RemoteFs::Skip,
        ms => RemoteFs::Read {
            deadline: Duration::from_millis(ms),
        },
    }
}

/// Filesystems (by device) on which a thread was abandoned, each with whether that
/// thread still waits.
static STALLED: Mutex<Option<Stalled>> = Mutex::new(None);

/// Device to whether the thread abandoned on it still waits.
type Stalled = HashMap<(u32, u32), Arc<AtomicBool>>;

fn stalled() -> std::sync::MutexGuard<'static, Option<Stalled>> {
    STALLED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a thread abandoned on `dev` still waits (one that came back is forgotten).
fn still_waiting(dev: (u32, u32)) -> bool {
    let mut g = stalled();
    let map = g.get_or_insert_with(HashMap::new);
    match map.get(&dev) {
        Some(w) if w.load(Ordering::SeqCst) => true,
        Some(_) => {
            map.remove(&dev);
            false
        }
        None => false,
    }
}

/// Records that the thread whose `waiting` flag this is was abandoned on `dev`.
fn abandon(dev: (u32, u32), waiting: &Arc<AtomicBool>) {
    stalled()
        .get_or_insert_with(HashMap::new)
        .insert(dev, Arc::clone(waiting));
}

/// How many abandoned threads still wait for a filesystem (`metrics` exports it).
#[cfg(any(feature = "cli", test))]
pub fn threads_waiting() -> usize {
    stalled().as_ref().map_or(0, |m| {
        m.values().filter(|w| w.load(Ordering::SeqCst)).count()
    })
}

/// Opens the file that `m` maps in `process`, following the policy: local files as
/// always, the others refused or read with a deadline.
pub(crate) fn open(process: &Process, m: &Mapping) -> Opened {
    let place = process.place_of(m);
    if place == Place::Local {
        return process.open_mapped(m);
    }
    match policy() {
        RemoteFs::Skip => Opened::Remote(format!(
            "is {place}: not read (--remote-fs reads it, with a deadline)"
        )),
        RemoteFs::Read { deadline } => with_deadline(process.pid, m, &place, deadline),
    }
}

/// A read for the worker thread: offset and length.
type Job = (u64, usize);

/// What the worker thread says.
enum Reply {
    /// The file is open, as [`Opened::Regular`] says (the file stays with the worker).
    Regular {
        size: u64,
        id: (u32, u32, u64),
        via: super::Via,
        changed: Option<String>,
    },
    /// Nothing to read: the outcome as it is.
    Other(Opened),
    /// The bytes of a read.
    Read(io::Result<Vec<u8>>),
}

/// Opens the file of `m` in process `pid` on a worker thread, waiting at most
/// `deadline`; its reads go to the same thread ([`Deadlined`]).
fn with_deadline(pid: u32, m: &Mapping, place: &Place, deadline: Duration) -> Opened {
    let dev = (m.dev_major, m.dev_minor);
    if still_waiting(dev) {
        return Opened::Remote(format!(
            "is {place}: it did not answer within {deadline:?} earlier in this run and a thread still waits for it; not read"
        ));
    }
    let until = Instant::now() + deadline;
    let waiting = Arc::new(AtomicBool::new(true));
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (reply_tx, reply_rx) = mpsc::channel::<Reply>();
    let (m2, w2) = (m.clone(), Arc::clone(&waiting));
    let spawned = std::thread::Builder::new()
        .name("elfmaps-remote".into())
        .spawn(move || {
            let opened = match Process::new(pid) {
                Ok(p) => p.open_mapped(&m2),
                Err(e) => Opened::Failed(e.to_string()),
            };
            w2.store(false, Ordering::SeqCst);
            let file = match opened {
                Opened::Regular {
                    file,
                    size,
                    id,
                    via,
                    changed,
                } => {
                    let reply = Reply::Regular {
                        size,
                        id,
                        via,
                        changed,
                    };
                    if reply_tx.send(reply).is_err() {
                        return;
                    }
                    file
                }
                other => {
                    let _ = reply_tx.send(Reply::Other(other));
                    return;
                }
            };
            for (offset, len) in job_rx {
                w2.store(true, Ordering::SeqCst);
                let mut buf = vec![0u8; len];
                let got = file.read_at(&mut buf, offset).map(|n| {
                    buf.truncate(n);
                    buf
                });
                w2.store(false, Ordering::SeqCst);
                if reply_tx.send(Reply::Read(got)).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        return Opened::Remote(format!(
            "is {place}: no thread to read it with a deadline ({e}); not read"
        ));
    }
    match reply_rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
        Ok(Reply::Regular {
            size,
            id,
            via,
            changed,
        }) => Opened::Regular {
            file: Box::new(Deadlined {
                channel: Mutex::new((job_tx, reply_rx)),
                until,
                deadline,
                dev,
                waiting,
                gave_up: AtomicBool::new(false),
            }),
            size,
            id,
            via,
            changed,
        },
        Ok(Reply::Other(o)) => o,
        Ok(Reply::Read(_)) => Opened::Failed("an answer out of turn".into()),
        Err(_) => {
            abandon(dev, &waiting);
            Opened::Remote(format!(
                "is {place}: opening it did not finish within {deadline:?}; given up (a thread is left waiting for the filesystem)"
            ))
        }
    }
}

/// A file open on a worker thread: each read is handed to it and waited for until
/// the file's deadline; past it, the read fails with [`io::ErrorKind::TimedOut`] and
/// so does every later one.
struct Deadlined {
    /// Reads to do (offset, length), and their answers.
    channel: Mutex<(mpsc::Sender<Job>, mpsc::Receiver<Reply>)>,
    until: Instant,
    deadline: Duration,
    dev: (u32, u32),
    waiting: Arc<AtomicBool>,
    gave_up: AtomicBool,
}

impl Deadlined {
    fn timed_out(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "its filesystem did not answer within {:?} (--remote-fs-timeout); given up",
                self.deadline
            ),
        )
    }
}

impl ReadAt for Deadlined {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if self.gave_up.load(Ordering::SeqCst) {
            return Err(self.timed_out());
        }
        let channel = self.channel.lock().unwrap_or_else(|e| e.into_inner());
        let (jobs, replies) = &*channel;
        jobs.send((offset, buf.len()))
            .map_err(|_| io::Error::other("the reading thread is gone"))?;
        match replies.recv_timeout(self.until.saturating_duration_since(Instant::now())) {
            Ok(Reply::Read(Ok(bytes))) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                Ok(n)
            }
            Ok(Reply::Read(Err(e))) => Err(e),
            Ok(_) => Err(io::Error::other("an answer out of turn")),
            Err(_) => {
                self.gave_up.store(true, Ordering::SeqCst);
                abandon(self.dev, &self.waiting);
                Err(self.timed_out())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_round_trips() {
        assert_eq!(policy(), RemoteFs::Skip);
        let p = RemoteFs::Read {
            deadline: Duration::from_millis(1500),
        };
        set_policy(p);
        assert_eq!(policy(), p);
        set_policy(RemoteFs::Skip);
        assert_eq!(policy(), RemoteFs::Skip);
        let unknown = Place::Unknown { dev: (0, 0x35) }.to_string();
        assert!(unknown.contains("00:35"), "{unknown}");
        let fuse = Place::MayStall {
            fstype: "fuse.sshfs".into(),
            mount_point: "/mnt".into(),
        };
        assert!(
            fuse.to_string()
                .contains("FUSE filesystem (fuse.sshfs mounted at /mnt)")
        );
    }

    /// A thread abandoned on a device makes later opens on it refused at once, until
    /// it comes back.
    #[test]
    fn a_stalled_filesystem_is_not_waited_for_twice() {
        let dev = (0, 0xfffffe);
        let waiting = Arc::new(AtomicBool::new(true));
        abandon(dev, &waiting);
        assert!(still_waiting(dev));
        assert!(threads_waiting() >= 1);
        waiting.store(false, Ordering::SeqCst);
        assert!(!still_waiting(dev));
    }
}

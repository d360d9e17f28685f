//! `/proc/PID/mountinfo`: which filesystem each device number of a mount namespace
//! is, so that a mapped file's filesystem is known from its maps line's device alone,
//! without touching the file (a `stat` of a path on a stalled FUSE or NFS mount
//! blocks; reading mountinfo does not).
//!
//! A line is `ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE
//! SOURCE SUPER-OPTIONS` (proc(5)); only the device, the mount point and the type are
//! kept. The kernel escapes space, tab, newline and backslash in paths as `\ooo`. A
//! line that does not have this shape is skipped: the table then does not know that
//! device, and a mapping on it is treated as on an unknown filesystem
//! (`source::remote`), never as local.
//!
//! [`may_stall`] is the one list of filesystem types whose files elfmaps does not
//! read by default (docs/design.md, "Filesystems that stall").

/// One mount: the device its files report, where it is mounted, and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The device number (major, minor) of its superblock, as maps prints a mapped
    /// file's device.
    pub dev: (u32, u32),
    /// Where it is mounted, unescaped (bytes: any path).
    pub mount_point: Vec<u8>,
    /// Its type (`ext4`, `nfs4`, `fuse.sshfs`, ...).
    pub fstype: Vec<u8>,
}

/// The mounts of `text`, in order; lines of another shape are left out.
pub fn parse(text: &[u8]) -> Vec<Mount> {
    text.split(|&b| b == b'\n').filter_map(parse_line).collect()
}

fn parse_line(line: &[u8]) -> Option<Mount> {
    let mut fields = line.split(|&b| b == b' ');
    let _id = fields.next()?;
    let _parent = fields.next()?;
    let dev = fields.next()?;
    let _root = fields.next()?;
    let mount_point = fields.next()?;
    // Options, then optional fields up to the lone "-".
    fields.by_ref().find(|f| *f == b"-")?;
    let fstype = fields.next()?;
    let (major, minor) = dev.split_at(dev.iter().position(|&b| b == b':')?);
    let number = |b: &[u8]| std::str::from_utf8(b).ok()?.parse::<u32>().ok();
    if fstype.is_empty() {
        return None;
    }
    Some(Mount {
        dev: (number(major)?, number(&minor[1..])?),
        mount_point: unescape(mount_point),
        fstype: unescape(fstype),
    })
}

/// A path of mountinfo with its `\ooo` escapes undone.
fn unescape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| {
            b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)) && d[0] <= b'3'
        });
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// Network filesystem types: a read waits for a server that may not answer.
pub const NETWORK: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ncpfs",
    "ceph",
    "9p",
    "afs",
    "coda",
    "lustre",
    "gpfs",
    "beegfs",
    "orangefs",
    "pvfs2",
    "ocfs2",
    "gfs2",
    "glusterfs",
    "virtiofs",
    "davfs",
];

/// Whether files on a filesystem of type `fstype` may make a reader wait without
/// bound: every network filesystem of [`NETWORK`], and every FUSE filesystem (`fuse`,
/// `fuseblk`, `fuse.NAME` such as `fuse.sshfs`, `fuse.rclone`, `fuse.s3fs`), whose
/// answers come from a process that may stop answering.
pub fn may_stall(fstype: &[u8]) -> bool {
    fstype == b"fuse"
        || fstype == b"fuseblk"
        || fstype.starts_with(b"fuse.")
        || fstype.starts_with(b"fuseblk.")
        || NETWORK.iter().any(|n| n.as_bytes() == fstype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_types_and_escaped_mount_points() {
        let text = b"22 27 0:21 / /proc rw,relatime - proc proc rw\n\
27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
40 27 0:53 / /mnt/my\\040files rw,nosuid,nodev master:3 shared:9 - fuse.sshfs u@h:/ rw,user_id=0\n\
41 27 0:54 / /n rw - nfs4 srv:/x rw,vers=4.2\n\
garbage line\n\
42 27 x:1 / /bad rw - ext4 /dev/x rw\n\
43 27 0:9 / /no-separator rw ext4\n";
        let m = parse(text);
        assert_eq!(m.len(), 4, "{m:?}");
        assert_eq!(m[1].dev, (8, 1));
        assert_eq!(m[1].fstype, b"ext4");
        assert_eq!(m[2].mount_point, b"/mnt/my files");
        assert_eq!(m[2].fstype, b"fuse.sshfs");
        assert_eq!(m[3].dev, (0, 54));
        assert!(may_stall(&m[2].fstype) && may_stall(&m[3].fstype));
        assert!(!may_stall(&m[0].fstype) && !may_stall(&m[1].fstype));
        for t in ["fuse", "fuseblk", "cifs", "smb3", "9p", "ceph", "glusterfs"] {
            assert!(may_stall(t.as_bytes()), "{t}");
        }
        for t in ["tmpfs", "overlay", "btrfs", "xfs", "fusectl", "nfsd"] {
            assert!(!may_stall(t.as_bytes()), "{t}");
        }
        // A trailing backslash or a short escape is kept as it is.
        assert_eq!(unescape(b"a\\04"), b"a\\04");
        assert_eq!(unescape(b"\\134x"), b"\\x");
        assert!(parse(b"").is_empty());
    }
}

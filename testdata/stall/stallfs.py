#!/usr/bin/python3
"""A read-only FUSE filesystem that can stop answering (tests/stall.rs).

Usage: stallfs.py MOUNTPOINT -f  with STALLFS_ROOT=DIR (the files it serves, read
from DIR) and STALLFS_FLAG=FILE: once FILE exists, every request is taken from the
kernel and never answered (the handler sleeps), as a FUSE server whose backend stopped
answering (sshfs over a dead link) does. Stopping the process (SIGSTOP) instead leaves
requests unread. Built on Debian's python3-fuse (libfuse 2 API).
"""
import errno
import os
import sys
import time

import fuse

fuse.fuse_python_api = (0, 2)

ROOT = os.environ["STALLFS_ROOT"]
FLAG = os.environ["STALLFS_FLAG"]


def stall():
    """Takes the request and never answers while the flag file exists."""
    while os.path.exists(FLAG):
        time.sleep(0.2)


class StallFS(fuse.Fuse):
    def getattr(self, path):
        stall()
        try:
            return os.lstat(ROOT + path)
        except OSError as e:
            return -e.errno

    def readdir(self, path, offset):
        stall()
        for name in [".", ".."] + os.listdir(ROOT + path):
            yield fuse.Direntry(name)

    def open(self, path, flags):
        stall()
        if flags & (os.O_WRONLY | os.O_RDWR):
            return -errno.EROFS
        return 0 if os.path.isfile(ROOT + path) else -errno.ENOENT

    def read(self, path, size, offset):
        stall()
        fd = os.open(ROOT + path, os.O_RDONLY)
        try:
            return os.pread(fd, size, offset)
        finally:
            os.close(fd)


def main():
    server = StallFS(usage="stallfs.py MOUNTPOINT -f", dash_s_do="setsingle")
    server.parse(errex=1)
    server.main()


if __name__ == "__main__":
    sys.exit(main())

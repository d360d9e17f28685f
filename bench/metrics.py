#!/usr/bin/env python3
"""elfmaps metrics: the CPU of a steady-state scrape beside a cold one and the floor.

Issue 21: between two scrapes most processes' maps do not change, so a scrape of
`metrics --listen` keeps each process's labels (pipeline::memo) and the file cache,
and redoes only what changed. This measures, for 200 idle processes (bench/floor.c
`idle`: each maps 1 to 8 libraries and a heap of 256 KiB to 1 MiB), in both modes
(smaps, and --rss-only):

  cold     user+sys of `elfmaps metrics --pid LIST` (one scrape, nothing kept;
           exec and output included), median of --rounds runs
  steady   user+sys of `elfmaps metrics --listen --pid LIST --min-interval 0` per
           scrape, from /proc/PID/stat over --scrapes scrapes after two warm ones
  floor    user+sys of bench/floor.c reading each process's smaps (or its maps and
           one PAGEMAP_SCAN): the kernel's part, which no cache saves

and the target: steady - floor <= 0.25 x (cold - floor). Then the series of a scrape
of the whole machine at the defaults, and an estimate of the series a day creates:
the distinct series of --scrapes scrapes plus the new series per scrape after the
first, times the scrapes of a day at a 30 s interval.

usage: python3 bench/metrics.py [--elfmaps PATH] [--rounds N] [--scrapes N] [--procs N]
Exit status 0 when the target holds in both modes, 1 otherwise.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cpu_of_run(argv):
    """user+sys seconds of one run of argv (output discarded)."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(argv[:4])}... status {status}")
    return ru.ru_utime + ru.ru_stime


def proc_cpu(pid):
    """user+sys seconds of process pid so far (its threads, ended ones included)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return (int(rest[11]) + int(rest[12])) / hz


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(port):
    """One GET /metrics: the body."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    return body.decode("utf-8", "replace")


def serve(elfmaps, args):
    port = free_port()
    p = subprocess.Popen([elfmaps, "metrics", "--listen", f"127.0.0.1:{port}",
                          "--min-interval", "0"] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return p, port


def series_keys(text):
    return {l.rsplit(" ", 1)[0] for l in text.splitlines() if l and not l.startswith("#")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--elfmaps", default=os.path.join(ROOT, "target/release/elfmaps"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--procs", type=int, default=200)
    a = ap.parse_args()
    if not os.path.exists(a.elfmaps):
        subprocess.run(["cargo", "build", "--release", "--offline"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="elfmaps-bench-metrics-")
    floor = os.path.join(tmp, "floor")
    subprocess.run(["cc", "-O2", "-o", floor, os.path.join(HERE, "floor.c"), "-ldl"], check=True)
    idle = subprocess.Popen([floor, "idle", str(a.procs), "0"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    pids = idle.stdout.readline().strip()
    n = len(pids.split(","))
    print(f"elfmaps metrics: {n} idle processes (bench/floor.c idle), "
          f"{a.rounds} cold runs, {a.scrapes} steady scrapes; {a.elfmaps}")
    print(f"load average before: {open('/proc/loadavg').read().split()[:3]}")
    ok = True
    print(f"{'mode':<9} {'floor ms':>9} {'cold ms':>9} {'steady ms':>10} "
          f"{'cold-floor':>11} {'steady-floor':>13} {'ratio':>6}  target <= 0.25")
    for mode, extra, floor_mode in (("smaps", [], "smaps"), ("rss-only", ["--rss-only"], "rss")):
        f = statistics.median(cpu_of_run([floor, floor_mode] + pids.split(","))
                              for _ in range(a.rounds))
        cold = statistics.median(cpu_of_run([a.elfmaps, "metrics", "--pid", pids] + extra)
                                 for _ in range(a.rounds))
        server, port = serve(a.elfmaps, ["--pid", pids] + extra)
        try:
            scrape(port)
            scrape(port)
            before = proc_cpu(server.pid)
            for _ in range(a.scrapes):
                scrape(port)
            steady = (proc_cpu(server.pid) - before) / a.scrapes
        finally:
            server.kill()
            server.wait()
        ratio = (steady - f) / (cold - f) if cold > f else float("nan")
        good = ratio <= 0.25
        ok &= good
        print(f"{mode:<9} {f*1e3:9.1f} {cold*1e3:9.1f} {steady*1e3:10.1f} "
              f"{(cold-f)*1e3:11.1f} {(steady-f)*1e3:13.1f} {ratio:6.2f}  "
              f"{'PASS' if good else 'FAIL'}")
    idle.stdin.close()
    idle.wait()
    # The whole machine, at the defaults.
    server, port = serve(a.elfmaps, [])
    try:
        seen = set()
        first = None
        for i in range(a.scrapes):
            keys = series_keys(scrape(port))
            if first is None:
                first = len(keys)
            seen |= keys
            time.sleep(0.2)
    finally:
        server.kill()
        server.wait()
    new_per_scrape = (len(seen) - first) / max(1, a.scrapes - 1)
    # docs/metrics.md, "Series budget", at the defaults (T = 20, 2T a day, G = 50).
    t, g = 40, 50
    bound = (g + 2) * (5 * ((t + 1) * 7 + 16) + 8) + (g + 2) * t + 13
    per_day = min(len(seen) + new_per_scrape * 2880, bound)
    print(f"whole machine, defaults: {first} series in a scrape, {len(seen)} distinct over "
          f"{a.scrapes} scrapes ({new_per_scrape:.1f} new per scrape): about "
          f"{per_day:,.0f} series per host per day at a 30 s interval, the new ones "
          f"extrapolated, at most the bound {bound:,} (docs/metrics.md, Series budget)")
    print(f"overall: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

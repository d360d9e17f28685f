#!/usr/bin/env python3
"""Benchmark elfmaps against pmap -XX and cat /proc/PID/smaps.

Default mode: start bench/manylibs.c (~420 loaded objects incl. libLLVM,
~2,200 maps lines) and time, in interleaved rounds,
    elfmaps map PID, elfmaps map --json PID, pmap -XX PID, cat /proc/PID/smaps
reporting medians, ratios and elfmaps peak RSS with PASS/FAIL per target.

--scale [N]: start bench/manymaps.c with N/4, N/2 and N anonymous mappings
and report elfmaps time and RSS per maps line, to show it scales linearly.

Python 3 stdlib only; needs cc, pmap and (to build elfmaps) cargo.  No network.
See bench/README.md.
"""

import argparse
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_ELFMAPS = REPO / "target" / "release" / "elfmaps"

# Targets (see README.md).
MAX_RATIO_PMAP = 0.5
MAX_RATIO_CAT = 2.0
STRETCH_RATIO_CAT = 1.3
MAX_RSS_MIB = 20.0
MAX_SCALE_NONLINEARITY = 1.5  # marginal cost per line, upper half vs lower half

_children = []  # Popen objects to clean up on exit


def die(msg, code=2):
    print(f"run.py: {msg}", file=sys.stderr)
    sys.exit(code)


def cleanup():
    for p in _children:
        if p.poll() is not None:
            continue
        try:
            if p.stdin:
                p.stdin.close()  # targets and the launcher exit at stdin EOF
        except OSError:
            pass
        try:
            p.wait(timeout=3)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    _children.clear()


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def compile_c(name, outdir):
    src = BENCH / name
    exe = Path(outdir) / Path(name).stem
    cmd = ["cc", "-O2", "-Wall", "-o", str(exe), str(src), "-ldl"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        die(f"compiling {src} failed:\n{r.stderr}")
    return exe


def ensure_elfmaps(path, explicit):
    path = Path(path)
    if path.is_file() and os.access(path, os.X_OK):
        return path.resolve()
    if explicit:
        die(f"elfmaps binary not found: {path}")
    print(f"{path} missing; running cargo build --release --offline", file=sys.stderr)
    r = subprocess.run(["cargo", "build", "--release", "--offline"], cwd=REPO)
    if r.returncode != 0 or not path.is_file():
        die("cargo build --release failed (is the dependency cache populated? "
            "run `cargo build --release` once, or pass --elfmaps PATH)")
    return path.resolve()


def start_target(argv, timeout=300):
    """Start a target program; return (Popen, {key: value}) once it prints READY."""
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=errf)
    _children.append(p)
    fd = p.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while b"READY\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            die(f"{argv[0]} did not print READY within {timeout}s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            p.wait()
            errf.seek(0)
            die(f"{argv[0]} exited ({p.returncode}) before READY:\n"
                f"{errf.read().decode(errors='replace')[-2000:]}")
        buf += chunk
    info = {}
    for line in buf.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            info[parts[0]] = int(parts[1])
    if "pid" not in info:
        die(f"{argv[0]} printed no pid")
    return p, info


def maps_lines(pid):
    with open(f"/proc/{pid}/maps", "rb") as f:
        return sum(1 for _ in f)


class Launcher:
    """Runs one command; returns (wait_status, wall_s, maxrss_KiB, user_s, sys_s).

    Default: through the small C program bench/spawn.c (see there for why:
    a child spawned by Python inherits Python's high-water RSS in ru_maxrss).
    direct=True: subprocess.Popen + os.wait4 + time.perf_counter in Python;
    its RSS figures then include Python's own peak RSS.
    """

    def __init__(self, spawn_exe=None, direct=False):
        self.direct = direct
        self.proc = None
        if not direct:
            self.proc = subprocess.Popen([str(spawn_exe)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True,
                                         bufsize=1)
            _children.append(self.proc)

    def run(self, argv):
        argv = [str(a) for a in argv]
        if self.direct:
            t0 = time.perf_counter()
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            t1 = time.perf_counter()
            p.returncode = os.waitstatus_to_exitcode(status)  # already reaped
            return status, t1 - t0, ru.ru_maxrss, ru.ru_utime, ru.ru_stime
        if any("\t" in a or "\n" in a for a in argv):
            die(f"argument with tab/newline not supported: {argv}")
        self.proc.stdin.write("\t".join(argv) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            die("spawn launcher died")
        status, ns, rss, user, sys_ = (int(x) for x in line.split())
        return status, ns / 1e9, rss, user / 1e6, sys_ / 1e6


def status_ok(status):
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def verify(name, argv, want_json=False):
    """Run once with output captured; abort with a clear message if broken."""
    try:
        r = subprocess.run([str(a) for a in argv], capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        die(f"{name}: timed out after 120s")
    if r.returncode != 0 or not r.stdout:
        die(f"{name}: exit {r.returncode}, {len(r.stdout)} bytes of output\n"
            f"{r.stderr.decode(errors='replace')[-2000:]}")
    if want_json:
        try:
            json.loads(r.stdout)
        except ValueError as e:
            die(f"{name}: output is not valid JSON: {e}")
    return r.stdout


def measure(launcher, commands, rounds, warmup=1):
    """commands: list of (name, argv), run in interleaved rounds.

    Returns name -> [(wall_s, maxrss_KiB)] and name -> [(user_s, sys_s)]."""
    res = {name: [] for name, _ in commands}
    cpu = {name: [] for name, _ in commands}
    failures = {name: 0 for name, _ in commands}
    for i in range(warmup + rounds):
        for name, argv in commands:
            status, wall, rss, user, sys_ = launcher.run(argv)
            if not status_ok(status):
                failures[name] += 1
            if i >= warmup:
                res[name].append((wall, rss))
                cpu[name].append((user, sys_))
    for name, n in failures.items():
        if n:
            print(f"WARNING: {name} exited non-zero in {n} runs", file=sys.stderr)
    return res, cpu


def med_ms(samples):
    return statistics.median(w for w, _ in samples) * 1e3


def mib(kib):
    return kib / 1024.0


def verdict(ok):
    return "PASS" if ok else "FAIL"


def bench_main(args, tmp, elfmaps, launcher):
    manylibs = compile_c("manylibs.c", tmp)
    target_argv = [manylibs, str(args.objects)] + ([args.libdir] if args.libdir else [])
    t0 = time.monotonic()
    proc, info = start_target(target_argv)
    pid = info["pid"]
    load_s = time.monotonic() - t0
    nlines = maps_lines(pid)
    with open(f"/proc/{pid}/maps") as f:
        llvm = sorted({l.split()[-1].rsplit("/", 1)[-1] for l in f if "libLLVM" in l})

    commands = [
        ("elfmaps map", [elfmaps, "map", pid]),
        ("elfmaps map --json", [elfmaps, "map", "--json", pid]),
        ("pmap -XX", ["pmap", "-XX", pid]),
        ("cat smaps", ["cat", f"/proc/{pid}/smaps"]),
    ]
    out_text = verify(*commands[0][:2])
    out_json = verify(*commands[1][:2], want_json=True)
    verify(*commands[2][:2])
    verify(*commands[3][:2])

    res, cpu = measure(launcher, commands, args.rounds)
    nlines_after = maps_lines(pid)

    print("elfmaps benchmark")
    print(f"  target       manylibs pid {pid}: {nlines} maps lines, "
          f"{info.get('objects', '?')} loaded objects (load {load_s:.1f}s, "
          f"{info.get('skipped', 0)} candidates skipped)")
    print(f"  libLLVM      {', '.join(llvm) if llvm else 'NOT LOADED'}")
    if nlines_after != nlines:
        print(f"  note         maps lines changed during run: {nlines} -> {nlines_after}")
    print(f"  elfmaps      {elfmaps}")
    print(f"  output       text {len(out_text.splitlines())} lines, "
          f"json {len(out_json)} bytes")
    print(f"  rounds       {args.rounds} (+1 warmup), interleaved; launcher: "
          f"{'python subprocess+os.wait4 (RSS includes python baseline)' if args.direct else 'bench/spawn.c (posix_spawn+wait4)'}")
    print()
    print(f"  {'command':<20} {'median ms':>10} {'min ms':>8} {'max ms':>8} "
          f"{'user ms':>8} {'sys ms':>8} {'RSS med MiB':>12} {'RSS max MiB':>12}")
    for name, _ in commands:
        s = res[name]
        walls = [w * 1e3 for w, _ in s]
        rss = [r for _, r in s]
        print(f"  {name:<20} {statistics.median(walls):>10.2f} {min(walls):>8.2f} "
              f"{max(walls):>8.2f} "
              f"{statistics.median(u for u, _ in cpu[name]) * 1e3:>8.2f} "
              f"{statistics.median(k for _, k in cpu[name]) * 1e3:>8.2f} "
              f"{mib(statistics.median(rss)):>12.1f} "
              f"{mib(max(rss)):>12.1f}")
    print()

    checks = []
    pm, ct = med_ms(res["pmap -XX"]), med_ms(res["cat smaps"])
    for name in ("elfmaps map", "elfmaps map --json"):
        e = med_ms(res[name])
        r = e / pm
        checks.append((f"{name} / pmap -XX", f"{r:.2f}", f"<= {MAX_RATIO_PMAP}",
                       r <= MAX_RATIO_PMAP, ""))
        r = e / ct
        stretch = f"stretch <= {STRETCH_RATIO_CAT}: {verdict(r <= STRETCH_RATIO_CAT)}"
        checks.append((f"{name} / cat smaps", f"{r:.2f}", f"<= {MAX_RATIO_CAT}",
                       r <= MAX_RATIO_CAT, stretch))
    for name in ("elfmaps map", "elfmaps map --json"):
        rss = [r for _, r in res[name]]
        m, x = mib(statistics.median(rss)), mib(max(rss))
        checks.append((f"{name} peak RSS median", f"{m:.1f} MiB", f"<= {MAX_RSS_MIB:g} MiB",
                       m <= MAX_RSS_MIB, ""))
        checks.append((f"{name} peak RSS max", f"{x:.1f} MiB", f"<= {MAX_RSS_MIB:g} MiB",
                       x <= MAX_RSS_MIB, ""))
    print("  checks")
    for label, val, tgt, ok, extra in checks:
        print(f"    {label:<34} {val:>10}  {tgt:<12} {verdict(ok)}"
              + (f"   ({extra})" if extra else ""))
    return all(ok for *_, ok, _ in checks)


def bench_scale(args, tmp, elfmaps, launcher):
    try:
        max_maps = int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
        max_maps = 65530
    n = args.scale
    if n > max_maps - 1000:
        print(f"note: --scale {n} lowered to {max_maps - 1000} "
              f"(vm.max_map_count = {max_maps})")
        n = max_maps - 1000
    manymaps = compile_c("manymaps.c", tmp)
    rows = []
    for count in (n // 4, n // 2, n):
        proc, info = start_target([manymaps, str(count)])
        pid = info["pid"]
        lines = maps_lines(pid)
        commands = [
            ("map", [elfmaps, "map", pid]),
            ("json", [elfmaps, "map", "--json", pid]),
            ("cat", ["cat", f"/proc/{pid}/smaps"]),
        ]
        verify("elfmaps map", commands[0][1])
        verify("elfmaps map --json", commands[1][1], want_json=True)
        res, _ = measure(launcher, commands, args.rounds)
        rows.append((lines, {k: (med_ms(v), statistics.median(r for _, r in v),
                                 max(r for _, r in v)) for k, v in res.items()}))
        proc.stdin.close()
        proc.wait(timeout=10)
        _children.remove(proc)

    print(f"elfmaps scale test (anonymous mappings; {args.rounds} rounds per level, "
          f"medians)")
    print(f"  elfmaps      {elfmaps}")
    print()
    print(f"  {'maps lines':>10}  {'map ms':>8} {'us/line':>8} {'RSS MiB':>8} "
          f"{'B/line':>7}  {'json ms':>8} {'us/line':>8} {'RSS MiB':>8} {'B/line':>7}"
          f"  {'cat ms':>7} {'us/line':>8}")
    for lines, d in rows:
        m, j, c = d["map"], d["json"], d["cat"]
        print(f"  {lines:>10}  {m[0]:>8.2f} {m[0] * 1e3 / lines:>8.3f} {mib(m[1]):>8.1f} "
              f"{m[1] * 1024 / lines:>7.0f}  {j[0]:>8.2f} {j[0] * 1e3 / lines:>8.3f} "
              f"{mib(j[1]):>8.1f} {j[1] * 1024 / lines:>7.0f}  {c[0]:>7.2f} "
              f"{c[0] * 1e3 / lines:>8.3f}")
    print()
    # Linearity: marginal cost per added line, lower half vs upper half.
    (l1, d1), (l2, d2), (l3, d3) = rows
    ok_all = True
    print("  marginal cost per added line (N/4->N/2 vs N/2->N; linear => ratio ~1)")
    for key, label in (("map", "elfmaps map"), ("json", "elfmaps map --json")):
        for idx, unit, scale, fmt in ((0, "us", 1e3, "{:.3f}"), (1, "B", 1024, "{:.0f}")):
            a = (d2[key][idx] - d1[key][idx]) * scale / (l2 - l1)
            b = (d3[key][idx] - d2[key][idx]) * scale / (l3 - l2)
            what = "time" if idx == 0 else "RSS"
            if idx == 0:
                ratio = b / a if a > 0 else float("inf")
                ok = ratio <= MAX_SCALE_NONLINEARITY
                ok_all &= ok
                print(f"    {label:<20} {what:<5} {fmt.format(a):>8} -> {fmt.format(b):>8} "
                      f"{unit}/line  ratio {ratio:.2f} (<= {MAX_SCALE_NONLINEARITY}) "
                      f"{verdict(ok)}")
            else:
                print(f"    {label:<20} {what:<5} {fmt.format(a):>8} -> {fmt.format(b):>8} "
                      f"{unit}/line  (peak RSS at {l3} lines: {mib(d3[key][1]):.1f} MiB, "
                      f"info only)")
    return ok_all


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=15, help="measured rounds (default 15)")
    ap.add_argument("--elfmaps", help=f"elfmaps binary (default {DEFAULT_ELFMAPS}, "
                    "built with cargo build --release if missing)")
    ap.add_argument("--scale", type=int, nargs="?", const=30000, metavar="N",
                    help="scale mode: N/4, N/2, N anonymous mappings (default 30000)")
    ap.add_argument("--objects", type=int, default=420,
                    help="objects for manylibs to load (default 420 => ~2,200 maps lines)")
    ap.add_argument("--libdir", help="library directory for manylibs "
                    "(default /usr/lib/x86_64-linux-gnu)")
    ap.add_argument("--direct", action="store_true",
                    help="launch with python subprocess + os.wait4 instead of "
                    "bench/spawn.c (RSS then includes python's ~10 MiB)")
    args = ap.parse_args()
    if args.rounds < 1:
        die("--rounds must be >= 1")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    elfmaps = ensure_elfmaps(args.elfmaps or DEFAULT_ELFMAPS, args.elfmaps is not None)
    try:
        with tempfile.TemporaryDirectory(prefix="elfmaps-bench-") as tmp:
            spawn = None if args.direct else compile_c("spawn.c", tmp)
            launcher = Launcher(spawn, direct=args.direct)
            if args.scale is not None:
                ok = bench_scale(args, tmp, elfmaps, launcher)
            else:
                ok = bench_main(args, tmp, elfmaps, launcher)
            cleanup()
    finally:
        cleanup()
    print()
    print(f"overall: {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

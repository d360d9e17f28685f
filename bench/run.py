#!/usr/bin/env python3
"""Benchmark elfmaps against cat /proc/PID/smaps, pmap -XX and readelf -lW.

One run measures every ratio of issue 10 and prints PASS/FAIL per target,
with the machine and its load described (see bench/README.md):

  main    bench/manylibs.c (~420 loaded objects incl. libLLVM, ~2,200 maps
          lines); interleaved rounds of elfmaps map, map --json, map --rss-only
          (when the binary has it), pmap -XX, cat /proc/PID/smaps and a few
          reference commands, and elfmaps symbols of libLLVM (issue 24);
          medians, ratios, peak RSS, page faults.
  layout  elfmaps layout --json on ~400 system ELF files in one call against
          readelf -lW on the same files in one call.
  scale   bench/manymaps.c with N/4, N/2 and N anonymous mappings: time and RSS
          per maps line, marginal cost per added line, linearity.
  system  the whole machine with the bench process running (issue 11):
          elfmaps system (table, --json, --rss-only when present) against cat
          of every readable smaps of the same processes, and smem -t when
          installed (--install installs it with apt-get); peak RSS.

Python 3 stdlib only; needs cc, pmap, readelf and (to build elfmaps) cargo.
No network.
"""

import argparse
import hashlib
import json
import os
import platform
import select
import shutil
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
DEFAULT_LIBDIR = "/usr/lib/x86_64-linux-gnu"
PARTS = ("main", "layout", "scale", "system")

# Targets (issue 10; see README.md).
MAX_MAP_OVER_CAT = 1.5          # map, map --json: median / median(cat smaps)
MAX_MAP_OVER_PMAP = 0.35        # map, map --json: median / median(pmap -XX)
MAX_RSS_MIB = 8.0               # map, map --json: peak RSS, median and max
MAX_RSS_ONLY_OVER_CAT = 0.9     # map --rss-only (--json): median / median(cat smaps)
MAX_LAYOUT_OVER_READELF = 0.5   # layout --json FILES / readelf -lW FILES
MAX_US_PER_LINE = 1.5           # scale: marginal time per added maps line, N/2 -> N
MAX_SCALE_NONLINEARITY = 1.5    # scale: marginal cost upper half / lower half
# Targets (issue 11).
MAX_SYSTEM_OVER_CAT = 1.5       # system (--json): median / median(cat of the same smaps)
MIN_SMEM_OVER_SYSTEM = 5.0      # median(smem -t) / median(system): at least 5x faster
MAX_SYSTEM_RSS_ONLY_OVER_CAT = 1.0  # system --rss-only / cat of the same smaps
MAX_SYSTEM_RSS_MIB = 32.0       # system, system --json: peak RSS
# Targets (issue 24).
MAX_SYMBOLS_LLVM_MS = 1000.0    # symbols --object 'libLLVM*' --json: "well under a second"

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


def system_has_rss_only(elfmaps):
    """Whether this binary's `system` accepts --rss-only (from `system --help`)."""
    r = subprocess.run([str(elfmaps), "system", "--help"], capture_output=True, text=True)
    return r.returncode == 0 and "--rss-only" in r.stdout


def has_rss_only(elfmaps):
    """Whether this binary's `map` accepts --rss-only (from `map --help`)."""
    r = subprocess.run([str(elfmaps), "map", "--help"], capture_output=True, text=True)
    return r.returncode == 0 and "--rss-only" in r.stdout


# ---------------------------------------------------------------- machine


def _read(path, default=""):
    try:
        return Path(path).read_text()
    except OSError:
        return default


def _cmd_out(argv, cwd=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return r.stdout.strip() if r.returncode == 0 else ""


def loadavg():
    return " ".join(_read("/proc/loadavg").split()[:3]) or "?"


def proc_stat_cpu():
    """System-wide CPU seconds: (busy, steal) from the `cpu` line of /proc/stat."""
    hz = os.sysconf("SC_CLK_TCK")
    for line in _read("/proc/stat").splitlines():
        if line.startswith("cpu "):
            v = [int(x) for x in line.split()[1:]]
            v += [0] * (8 - len(v))
            user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
            return (user + nice + system + irq + softirq) / hz, steal / hz
    return 0.0, 0.0


class LoadMeter:
    """CPU time the rest of the machine used while commands were being timed.

    Over every timed window: system-wide busy CPU time (/proc/stat) minus the
    CPU time of the timed commands (their rusage) and of this script. What is
    left is other load; steal is time the hypervisor gave to someone else."""

    def __init__(self):
        self.wall = self.busy = self.steal = self.ours = 0.0

    def start(self):
        self._t = time.monotonic()
        self._stat = proc_stat_cpu()
        t = os.times()
        self._self = t.user + t.system

    def stop(self, commands_cpu_s):
        busy, steal = proc_stat_cpu()
        t = os.times()
        self.wall += time.monotonic() - self._t
        self.busy += busy - self._stat[0]
        self.steal += steal - self._stat[1]
        self.ours += commands_cpu_s + (t.user + t.system - self._self)

    def describe(self):
        if self.wall <= 0:
            return "no timed rounds"
        other = max(0.0, self.busy - self.ours) / self.wall
        return (f"{other:.2f} CPUs busy with other work on average (of {os.cpu_count()}), "
                f"steal {self.steal / self.wall:.2f} CPUs, over {self.wall:.1f} s of "
                f"timed rounds")


LOAD = LoadMeter()


def machine_lines(elfmaps):
    cpuinfo = _read("/proc/cpuinfo")
    model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines()
                  if l.startswith("model name")), platform.processor() or "?")
    flags = next((l for l in cpuinfo.splitlines() if l.startswith("flags")), "")
    virt = "virtual machine (hypervisor flag)" if " hypervisor" in flags else "bare metal?"
    mhz = sorted(float(l.split(":", 1)[1]) for l in cpuinfo.splitlines()
                 if l.startswith("cpu MHz"))
    try:
        allowed = len(os.sched_getaffinity(0))
    except OSError:
        allowed = os.cpu_count()
    meminfo = {l.split(":")[0]: l.split(":")[1].strip()
               for l in _read("/proc/meminfo").splitlines() if ":" in l}

    def gib(key):
        try:
            return f"{int(meminfo[key].split()[0]) / 2**20:.1f} GiB"
        except (KeyError, ValueError, IndexError):
            return "?"

    osname = next((l.split("=", 1)[1].strip('"') for l in _read("/etc/os-release").splitlines()
                   if l.startswith("PRETTY_NAME=")), "?")
    gov = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").strip() or "n/a"
    procs_running = next((l.split()[1] for l in _read("/proc/stat").splitlines()
                          if l.startswith("procs_running")), "?")
    git = _cmd_out(["git", "describe", "--always", "--dirty"], cwd=REPO) or "?"
    version = _cmd_out([str(elfmaps), "--version"]) or "?"
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(elfmaps.stat().st_mtime))
    return [
        f"  date         {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"  cpu          {model}; {os.cpu_count()} online, {allowed} usable; {virt}; "
        f"MHz {mhz[0]:.0f}-{mhz[-1]:.0f}; governor {gov}" if mhz else
        f"  cpu          {model}; {os.cpu_count()} online, {allowed} usable; {virt}; "
        f"governor {gov}",
        f"  memory       {gib('MemTotal')} total, {gib('MemAvailable')} available",
        f"  system       {osname}; kernel {platform.release()} {platform.machine()}",
        f"  load before  loadavg {loadavg()}; {procs_running} running; "
        f"our nice {os.getpriority(os.PRIO_PROCESS, 0)}",
        f"  elfmaps      {elfmaps} ({version}, built {built}; repo at {git})",
    ]


# ---------------------------------------------------------------- running


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


def stop_target(proc):
    proc.stdin.close()
    proc.wait(timeout=10)
    _children.remove(proc)


def maps_lines(pid):
    with open(f"/proc/{pid}/maps", "rb") as f:
        return sum(1 for _ in f)


class Run:
    """One timed run of one command."""
    __slots__ = ("status", "wall", "rss", "user", "sys", "minflt", "majflt")

    def __init__(self, status, wall, rss, user, sys_, minflt, majflt):
        self.status, self.wall, self.rss = status, wall, rss
        self.user, self.sys, self.minflt, self.majflt = user, sys_, minflt, majflt


class Launcher:
    """Runs one command and returns a Run (wall s, peak RSS KiB, CPU s, faults).

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
            return Run(status, t1 - t0, ru.ru_maxrss, ru.ru_utime, ru.ru_stime,
                       ru.ru_minflt, ru.ru_majflt)
        if any("\t" in a or "\n" in a for a in argv):
            die(f"argument with tab/newline not supported: {argv}")
        self.proc.stdin.write("\t".join(argv) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            die("spawn launcher died")
        status, ns, rss, user, sys_, minflt, majflt = (int(x) for x in line.split())
        return Run(status, ns / 1e9, rss, user / 1e6, sys_ / 1e6, minflt, majflt)


def status_ok(status):
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def verify(name, argv, want_json=False, want_output=True):
    """Run once with output captured; abort with a clear message if broken."""
    try:
        r = subprocess.run([str(a) for a in argv], capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        die(f"{name}: timed out after 120s")
    if r.returncode != 0 or (want_output and not r.stdout):
        die(f"{name}: exit {r.returncode}, {len(r.stdout)} bytes of output\n"
            f"{r.stderr.decode(errors='replace')[-2000:]}")
    if want_json:
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            die(f"{name}: output is not valid JSON: {e}")
    return r.stdout


def measure(launcher, commands, rounds, warmup=1):
    """commands: list of (name, argv), run in interleaved rounds (one warm-up
    round first, not counted). Returns name -> [Run]."""
    res = {name: [] for name, _ in commands}
    failures = {name: 0 for name, _ in commands}
    LOAD.start()
    cpu = 0.0
    for i in range(warmup + rounds):
        for name, argv in commands:
            r = launcher.run(argv)
            cpu += r.user + r.sys
            if not status_ok(r.status):
                failures[name] += 1
            if i >= warmup:
                res[name].append(r)
    LOAD.stop(cpu)
    for name, n in failures.items():
        if n:
            print(f"WARNING: {name} exited non-zero in {n} runs", file=sys.stderr)
    return res


def med(runs, attr="wall"):
    return statistics.median(getattr(r, attr) for r in runs)


def med_ms(runs):
    return med(runs) * 1e3


def mib(kib):
    return kib / 1024.0


def verdict(ok):
    return "PASS" if ok else "FAIL"


class Checks:
    """Every target of the run, printed together at the end."""

    def __init__(self):
        self.rows = []  # (part, label, value, target, status)

    def ratio(self, part, label, value, limit):
        self.rows.append((part, label, f"{value:.2f}", f"<= {limit:g}",
                          verdict(value <= limit)))

    def add(self, part, label, value, target, ok):
        self.rows.append((part, label, value, target, verdict(ok)))

    def unavailable(self, part, label, why):
        self.rows.append((part, label, "-", why, "n/a"))

    def ok(self):
        return all(s != "FAIL" for *_, s in self.rows)

    def print(self):
        for part, label, value, target, status in self.rows:
            if status == "n/a":
                print(f"  {part:<7} {label:<42} {'not available':>13}  ({target})")
            else:
                print(f"  {part:<7} {label:<42} {value:>13}  {target:<10} {status}")


def print_table(res, reference, extra_cols=()):
    """Per-command medians; `reference` is the command ratios are taken against."""
    ref = med_ms(res[reference])
    print(f"  {'command':<30} {'median ms':>9} {'min ms':>8} {'max ms':>8} "
          f"{'user ms':>8} {'sys ms':>8} {'minflt':>7} {'RSS med':>8} {'RSS max':>8} "
          f"{'x ' + reference:>14}")
    for name, runs in res.items():
        walls = [r.wall * 1e3 for r in runs]
        print(f"  {name:<30} {statistics.median(walls):>9.2f} {min(walls):>8.2f} "
              f"{max(walls):>8.2f} {med(runs, 'user') * 1e3:>8.2f} "
              f"{med(runs, 'sys') * 1e3:>8.2f} {med(runs, 'minflt'):>7.0f} "
              f"{mib(med(runs, 'rss')):>7.1f}M {mib(max(r.rss for r in runs)):>7.1f}M "
              f"{statistics.median(walls) / ref:>14.2f}")


# ---------------------------------------------------------------- parts


def bench_main(args, tmp, elfmaps, launcher, checks, rss_only):
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
        ("elfmaps map", [elfmaps, "map", pid], "text"),
        ("elfmaps map --json", [elfmaps, "map", "--json", pid], "json"),
    ]
    if rss_only:
        commands += [
            ("elfmaps map --rss-only", [elfmaps, "map", "--rss-only", pid], "text"),
            ("elfmaps map --rss-only --json",
             [elfmaps, "map", "--rss-only", "--json", pid], "json"),
        ]
    # Issue 24: resident bytes per symbol of libLLVM (its .dynsym, or its .symtab from
    # a debug file when one is installed).
    if llvm:
        commands += [
            ("elfmaps symbols libLLVM --json",
             [elfmaps, "symbols", "--object", "libLLVM*", "--json", pid], "json"),
        ]
    commands += [
        ("pmap -XX", ["pmap", "-XX", pid], "text"),
        ("cat smaps", ["cat", f"/proc/{pid}/smaps"], "text"),
        # References, no target: the maps file alone, and the cost of exec.
        ("cat maps", ["cat", f"/proc/{pid}/maps"], "text"),
        ("elfmaps --version", [elfmaps, "--version"], "text"),
        ("true", ["true"], "none"),
    ]
    outputs = {name: verify(name, argv, want_json=(kind == "json"),
                            want_output=(kind != "none"))
               for name, argv, kind in commands}

    res = measure(launcher, [(n, a) for n, a, _ in commands], args.rounds)
    nlines_after = maps_lines(pid)
    stop_target(proc)

    text = outputs["elfmaps map"]
    print(f"[main] manylibs pid {pid}: {nlines} maps lines, "
          f"{info.get('objects', '?')} loaded objects (load {load_s:.1f}s, "
          f"{info.get('skipped', 0)} candidates skipped); "
          f"libLLVM: {', '.join(llvm) if llvm else 'NOT LOADED'}")
    if nlines_after != nlines:
        print(f"  note: maps lines changed during run: {nlines} -> {nlines_after}")
    print(f"  output: map {len(text.splitlines())} lines, map --json "
          f"{len(json.dumps(outputs['elfmaps map --json']))} bytes (re-serialised); "
          f"--rss-only: {'measured' if rss_only else 'not available in this binary'}")
    print()
    print_table(res, "cat smaps")
    print()

    cat, pmap = med_ms(res["cat smaps"]), med_ms(res["pmap -XX"])
    for name in ("elfmaps map", "elfmaps map --json"):
        e = med_ms(res[name])
        checks.ratio("main", f"{name} / cat smaps", e / cat, MAX_MAP_OVER_CAT)
        checks.ratio("main", f"{name} / pmap -XX", e / pmap, MAX_MAP_OVER_PMAP)
    for name in ("elfmaps map", "elfmaps map --json"):
        rss = [r.rss for r in res[name]]
        m, x = mib(statistics.median(rss)), mib(max(rss))
        checks.add("main", f"{name} peak RSS median", f"{m:.1f} MiB",
                   f"<= {MAX_RSS_MIB:g} MiB", m <= MAX_RSS_MIB)
        checks.add("main", f"{name} peak RSS max", f"{x:.1f} MiB",
                   f"<= {MAX_RSS_MIB:g} MiB", x <= MAX_RSS_MIB)
    name = "elfmaps symbols libLLVM --json"
    if name in res:
        out = outputs[name]
        rows = sum(len(o["symbols"]) for o in out["objects"])
        named = sum(1 for o in out["objects"] for r in o["symbols"] if r["name"] != "[unnamed]")
        froms = ", ".join(sorted({o["symbols_from"] for o in out["objects"]}))
        rss = [r.rss for r in res[name]]
        ms = med_ms(res[name])
        print(f"  symbols: libLLVM {rows} rows ({named} symbols, from {froms}): "
              f"median {ms:.0f} ms, peak RSS median {mib(statistics.median(rss)):.1f} MiB, "
              f"max {mib(max(rss)):.1f} MiB")
        checks.add("symbols", "elfmaps symbols libLLVM --json median", f"{ms:.0f} ms",
                   f"< {MAX_SYMBOLS_LLVM_MS:g} ms", ms < MAX_SYMBOLS_LLVM_MS)
    else:
        checks.unavailable("symbols", "elfmaps symbols libLLVM", "libLLVM is not loaded")
    for name in ("elfmaps map --rss-only", "elfmaps map --rss-only --json"):
        if rss_only:
            checks.ratio("rss", f"{name} / cat smaps", med_ms(res[name]) / cat,
                         MAX_RSS_ONLY_OVER_CAT)
        else:
            checks.unavailable("rss", f"{name} / cat smaps",
                               "`elfmaps map --help` lists no --rss-only")


def layout_files(libdir, count):
    """The first `count` distinct ELF files among sorted libdir/*.so*.

    Deterministic for a given system: names sorted, resolved to their real
    path, duplicates (symlinks to one file) and non-ELF files (linker scripts
    such as libc.so) dropped; the real paths are what both tools get."""
    seen, out = set(), []
    for p in sorted(Path(libdir).iterdir()):
        n = p.name
        if not (n.endswith(".so") or ".so." in n):
            continue
        try:
            real = p.resolve(strict=True)
            if real in seen or not real.is_file():
                continue
            with open(real, "rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
        except OSError:
            continue
        seen.add(real)
        out.append(str(real))
        if len(out) == count:
            break
    return out


def bench_layout(args, elfmaps, launcher, checks):
    libdir = args.libdir or DEFAULT_LIBDIR
    files = layout_files(libdir, args.layout_files)
    if not files:
        die(f"no ELF files found in {libdir}")
    size = sum(os.path.getsize(f) for f in files)
    commands = [
        ("elfmaps layout --json", [elfmaps, "layout", "--json", *files]),
        ("readelf -lW", ["readelf", "-lW", *files]),
    ]
    report = verify(*commands[0], want_json=True)
    got = len(report.get("objects", []))
    if got != len(files) or report.get("errors"):
        die(f"elfmaps layout --json reported {got} of {len(files)} files, "
            f"errors: {report.get('errors')}")
    verify(*commands[1])
    res = measure(launcher, commands, args.rounds)

    digest = hashlib.sha256("\n".join(files).encode()).hexdigest()[:12]
    print(f"[layout] {len(files)} ELF files in one call: the first of sorted "
          f"{libdir}/*.so* (real paths, deduplicated), {size / 2**20:.0f} MiB in all, "
          f"{Path(files[0]).name} .. {Path(files[-1]).name}; set {digest}")
    print()
    print_table(res, "readelf -lW")
    print()
    if len(files) < args.layout_files:
        print(f"  note: only {len(files)} ELF files found (asked for {args.layout_files})")
    checks.ratio("layout", f"layout --json / readelf -lW ({len(files)} files)",
                 med_ms(res["elfmaps layout --json"]) / med_ms(res["readelf -lW"]),
                 MAX_LAYOUT_OVER_READELF)


def bench_scale(args, tmp, elfmaps, launcher, checks, rss_only):
    try:
        max_maps = int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
        max_maps = 65530
    n = args.lines
    if n > max_maps - 1000:
        print(f"note: scale N {n} lowered to {max_maps - 1000} "
              f"(vm.max_map_count = {max_maps})")
        n = max_maps - 1000
    manymaps = compile_c("manymaps.c", tmp)
    keys = [("map", "elfmaps map", []), ("json", "elfmaps map --json", ["--json"])]
    if rss_only:
        keys.append(("rss", "elfmaps map --rss-only", ["--rss-only"]))
    # All three targets run at once and their commands are interleaved in the
    # same rounds, so a change of machine load cannot fall between two levels.
    levels = []
    for count in (n // 4, n // 2, n):
        proc, info = start_target([manymaps, str(count)])
        levels.append((proc, info["pid"], maps_lines(info["pid"])))
    commands = []
    for i, (_, pid, _) in enumerate(levels):
        for k, label, flags in keys:
            argv = [elfmaps, "map", *flags, pid]
            verify(label, argv, want_json="--json" in flags)
            commands.append(((i, k), argv))
        commands.append(((i, "cat"), ["cat", f"/proc/{pid}/smaps"]))
    res = measure(launcher, commands, args.rounds)
    rows = []
    for i, (proc, _, lines) in enumerate(levels):
        rows.append((lines, {k: (med_ms(v), med(v, "rss"))
                             for (j, k), v in res.items() if j == i}))
        stop_target(proc)

    cols = [(k, label) for k, label, _ in keys] + [("cat", "cat smaps")]
    print(f"[scale] manymaps: N/4, N/2, N one-page anonymous mappings, all three "
          f"interleaved (time and peak RSS per maps line, medians)")
    print()
    print(f"  {'maps lines':>10}" + "".join(f"  {k + ' ms':>9} {'us/line':>7} {'B/line':>6}"
                                          for k, _ in cols))
    for lines, d in rows:
        print(f"  {lines:>10}" + "".join(
            f"  {d[k][0]:>9.2f} {d[k][0] * 1e3 / lines:>7.3f} {d[k][1] * 1024 / lines:>6.0f}"
            for k, _ in cols))
    print()
    (l1, d1), (l2, d2), (l3, d3) = rows
    print("  marginal cost per added line (N/4->N/2, N/2->N; linear => ratio ~1)")
    cat_b = (d3["cat"][0] - d2["cat"][0]) * 1e3 / (l3 - l2)
    for k, label in cols:
        a = (d2[k][0] - d1[k][0]) * 1e3 / (l2 - l1)
        b = (d3[k][0] - d2[k][0]) * 1e3 / (l3 - l2)
        ra = (d2[k][1] - d1[k][1]) * 1024 / (l2 - l1)
        rb = (d3[k][1] - d2[k][1]) * 1024 / (l3 - l2)
        ratio = b / a if a > 0 else float("inf")
        above = f"   {b - cat_b:>+6.3f} us/line over cat" if k != "cat" else ""
        print(f"    {label:<24} {a:>7.3f} -> {b:>7.3f} us/line (ratio {ratio:.2f})   "
              f"RSS {ra:>5.0f} -> {rb:>5.0f} B/line{above}")
        if k in ("map", "json"):
            checks.ratio("scale", f"{label} us per added line", b, MAX_US_PER_LINE)
            checks.ratio("scale", f"{label} linearity (upper/lower)", ratio,
                         MAX_SCALE_NONLINEARITY)
    print()


def readable_user_pids():
    """PIDs whose smaps this user may read, kernel threads and zombies left out:
    what `elfmaps system --pid LIST` and `cat` are both given."""
    pids = []
    for name in sorted(os.listdir("/proc"), key=lambda n: (len(n), n)):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
            fields = stat[stat.rindex(b")") + 2:].split()
            if fields[0] in (b"Z", b"X") or int(fields[6]) & 0x00200000:
                continue  # zombie, or a kernel thread (PF_KTHREAD)
            with open(f"/proc/{name}/smaps", "rb"):
                pass  # the ptrace check is made at open
        except (OSError, ValueError, IndexError):
            continue
        pids.append(name)
    return pids


def ensure_smem(install):
    """Whether `smem` can be run. The benchmark installs it (with apt-get, as root)
    only when asked with --install; otherwise it says how, and the smem check is
    reported as not measured."""
    if shutil.which("smem"):
        return True
    if not install:
        print("[system] smem is not installed: the smem -t comparison is skipped. "
              "Install it with `apt-get install -y smem` (or rerun with --install, "
              "which runs it without the recommended plotting packages).")
        return False
    print("[system] --install: apt-get install -y --no-install-recommends smem")
    r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "smem"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0 or not shutil.which("smem"):
        print(f"[system] apt-get install smem failed ({r.returncode}): "
              f"{r.stderr.strip()[-300:]}")
        return False
    return True


def bench_system(args, tmp, elfmaps, launcher, checks):
    manylibs = compile_c("manylibs.c", tmp)
    target_argv = [manylibs, str(args.objects)] + ([args.libdir] if args.libdir else [])
    proc, info = start_target(target_argv)
    pids = readable_user_pids()
    pid_list = ",".join(pids)
    smaps = [f"/proc/{p}/smaps" for p in pids]
    rss_only = system_has_rss_only(elfmaps)
    commands = [
        ("elfmaps system --pid LIST", [elfmaps, "system", "--pid", pid_list], "text"),
        ("elfmaps system --json --pid LIST",
         [elfmaps, "system", "--json", "--pid", pid_list], "json"),
        ("elfmaps system", [elfmaps, "system"], "text"),
    ]
    if rss_only:
        commands.append(("elfmaps system --rss-only --pid LIST",
                         [elfmaps, "system", "--rss-only", "--pid", pid_list], "text"))
    # `cat` exits non-zero when a process of the list exits during the run; its
    # time still counts.
    commands.append(("cat the same smaps", ["cat", *smaps], "none"))
    smem = ensure_smem(args.install)
    if smem:
        commands.append(("smem -t", ["smem", "-t"], "text"))
    for name, argv, kind in commands:
        if kind != "none":
            verify(name, argv, want_json=(kind == "json"))
    res = measure(launcher, [(n, a) for n, a, _ in commands], args.rounds)
    stop_target(proc)
    nlines = sum(maps_lines(p) for p in pids if Path(f"/proc/{p}").exists())
    print(f"[system] {len(pids)} readable processes (kernel threads and zombies left "
          f"out), manylibs among them, about {nlines} maps lines in all; smem -t: "
          f"{'measured' if smem else 'not installed'}; --rss-only: "
          f"{'measured' if rss_only else 'not available in this binary'}")
    print()
    print_table(res, "cat the same smaps")
    print()
    cat = med_ms(res["cat the same smaps"])
    for name in ("elfmaps system --pid LIST", "elfmaps system --json --pid LIST"):
        checks.ratio("system", f"{name} / cat", med_ms(res[name]) / cat, MAX_SYSTEM_OVER_CAT)
    for name in ("elfmaps system --pid LIST", "elfmaps system --json --pid LIST"):
        x = mib(max(r.rss for r in res[name]))
        checks.add("system", f"{name} peak RSS max", f"{x:.1f} MiB",
                   f"<= {MAX_SYSTEM_RSS_MIB:g} MiB", x <= MAX_SYSTEM_RSS_MIB)
    if rss_only:
        checks.ratio("system", "elfmaps system --rss-only / cat",
                     med_ms(res["elfmaps system --rss-only --pid LIST"]) / cat,
                     MAX_SYSTEM_RSS_ONLY_OVER_CAT)
    else:
        checks.unavailable("system", "elfmaps system --rss-only / cat",
                           "`elfmaps system --help` lists no --rss-only")
    if smem:
        ratio = med_ms(res["smem -t"]) / med_ms(res["elfmaps system"])
        checks.add("system", "smem -t / elfmaps system", f"{ratio:.2f}",
                   f">= {MIN_SMEM_OVER_SYSTEM:g}", ratio >= MIN_SMEM_OVER_SYSTEM)
    else:
        checks.unavailable("system", "smem -t / elfmaps system", "smem is not installed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=15, help="measured rounds (default 15)")
    ap.add_argument("--elfmaps", help=f"elfmaps binary (default {DEFAULT_ELFMAPS}, "
                    "built with cargo build --release if missing)")
    ap.add_argument("--only", metavar="PARTS",
                    help=f"comma-separated parts to run, of {','.join(PARTS)} (default all)")
    ap.add_argument("--lines", type=int, default=30000, metavar="N",
                    help="scale part: N/4, N/2, N anonymous mappings (default 30000)")
    ap.add_argument("--scale", type=int, nargs="?", const=30000, metavar="N",
                    help="shorthand for --only scale --lines N (default 30000)")
    ap.add_argument("--objects", type=int, default=420,
                    help="objects for manylibs to load (default 420 => ~2,200 maps lines)")
    ap.add_argument("--layout-files", type=int, default=400, metavar="N",
                    help="ELF files for the layout part (default 400)")
    ap.add_argument("--libdir", help="library directory for manylibs and the layout "
                    f"part (default {DEFAULT_LIBDIR})")
    ap.add_argument("--install", action="store_true",
                    help="system part: install smem with `apt-get install -y smem` "
                    "when it is missing (needs root; without it the smem check is "
                    "skipped and the command to install it printed)")
    ap.add_argument("--direct", action="store_true",
                    help="launch with python subprocess + os.wait4 instead of "
                    "bench/spawn.c (RSS then includes python's ~10 MiB)")
    args = ap.parse_args()
    if args.rounds < 1:
        die("--rounds must be >= 1")
    parts = set(PARTS)
    if args.scale is not None:
        args.lines = args.scale
        parts = {"scale"}
    if args.only:
        parts = set(p.strip() for p in args.only.split(","))
        if not parts <= set(PARTS):
            die(f"--only: unknown part(s) {sorted(parts - set(PARTS))}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    elfmaps = ensure_elfmaps(args.elfmaps or DEFAULT_ELFMAPS, args.elfmaps is not None)
    rss_only = has_rss_only(elfmaps)
    checks = Checks()
    print("elfmaps benchmark")
    for line in machine_lines(elfmaps):
        print(line)
    print(f"  rounds       {args.rounds} measured (+1 warm-up), interleaved per part; "
          f"medians; launcher "
          f"{'python subprocess+os.wait4 (RSS includes python)' if args.direct else 'bench/spawn.c'}")
    print()
    try:
        with tempfile.TemporaryDirectory(prefix="elfmaps-bench-") as tmp:
            spawn = None if args.direct else compile_c("spawn.c", tmp)
            launcher = Launcher(spawn, direct=args.direct)
            if "main" in parts:
                bench_main(args, tmp, elfmaps, launcher, checks, rss_only)
            if "layout" in parts:
                bench_layout(args, elfmaps, launcher, checks)
            if "scale" in parts:
                bench_scale(args, tmp, elfmaps, launcher, checks, rss_only)
            if "system" in parts:
                bench_system(args, tmp, elfmaps, launcher, checks)
            cleanup()
    finally:
        cleanup()
    print(f"summary ({args.rounds} interleaved rounds, medians; "
          f"parts: {', '.join(p for p in PARTS if p in parts)})")
    print(f"  load after   loadavg {loadavg()}; {LOAD.describe()}")
    checks.print()
    ok = checks.ok()
    print(f"overall: {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A/B benchmark of two elfmaps binaries on the commands that read ELF headers.

    python3 bench/ab.py --a OLD_BINARY --b NEW_BINARY [--rounds 21]

Written to choose the ELF reader (docs/design.md "ELF reading"): the same
commands run with both binaries, interleaved (A, B, A, B, ...) so that a change
of machine load hits both alike; it prints per command the median wall time and
peak RSS of each binary and the ratio B/A, and checks that both print the same
labels (a reader must not change a result; the figures of a live process that
other processes share pages with are left out of that comparison). Cases:

- layout: `layout --json` over the first 400 shared libraries of the system
  (program headers, section headers and names, dynamic entries of each);
- map: `map --json` of bench/manylibs.c's process (about 420 objects with
  libLLVM among them: program headers and build IDs);
- sections: `sections --json` of that process (section tables of every object);
- symbols: `symbols --json --top 50` of that process (symbol tables, libLLVM's
  the largest on a Debian system).

Needs python3 (stdlib only), `cc` and GNU time (`/usr/bin/time`). Not a test: nothing in `cargo test` depends on speed.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# The file choice, the C target and its start and stop are bench/run.py's.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import DEFAULT_LIBDIR, cleanup, compile_c, layout_files, start_target  # noqa: E402


# Figures that change between two reads of a live process (another process maps or
# unmaps a shared page): left out when the outputs of A and B are compared.
VOLATILE = {"pss", "pss_anon", "pss_file", "pss_dirty", "swap_pss", "rss", "uss",
            "referenced", "private_clean", "private_dirty", "shared_clean",
            "shared_dirty", "resident", "resident_pages"}


def labels(out):
    """The output without its volatile figures."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in VOLATILE}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    try:
        return json.dumps(strip(json.loads(out)), sort_keys=True)
    except ValueError:
        return out


def run(cmd):
    """Wall time, peak RSS in KiB and stdout of `cmd`. The peak RSS comes from GNU
    time (`/usr/bin/time -f %M`): the rusage of a child Python starts with vfork
    counts Python's own pages, which hides anything smaller."""
    t = time.perf_counter()
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.communicate()
    dt = time.perf_counter() - t
    if p.returncode not in (0, 1):
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd[:4])} ...")
    return dt, int(err.decode().strip().splitlines()[-1]), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="the binary to compare against")
    ap.add_argument("--b", default="target/release/elfmaps", help="the binary measured")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--only", default="layout,map,sections,symbols")
    args = ap.parse_args()
    only = set(args.only.split(","))

    libs = layout_files(DEFAULT_LIBDIR, 400)
    tmp = tempfile.mkdtemp()
    many = None
    if only & {"map", "sections", "symbols"}:
        many, _ = start_target([str(compile_c("manylibs.c", tmp))])
    cases = []
    if "layout" in only:
        cases.append(("layout (400 files)", ["layout", "--json", "--color", "never", *libs]))
    if many and "map" in only:
        cases.append(("map (many libraries)", ["map", "--json", str(many.pid)]))
    if many and "sections" in only:
        cases.append(("sections (many libraries)", ["sections", "--json", str(many.pid)]))
    if many and "symbols" in only:
        cases.append(("symbols (many libraries)", ["symbols", "--json", "--top", "50", str(many.pid)]))
    try:
        print(f"A = {args.a}\nB = {args.b}\nrounds = {args.rounds}, medians\n")
        print(f"{'command':28} {'A ms':>8} {'B ms':>8} {'B/A':>6} {'A MiB':>7} {'B MiB':>7}")
        for name, cmd in cases:
            ta, tb, ma, mb = [], [], [], []
            outs = set()
            for r in range(args.rounds + 1):
                for bin_, t, m in ((args.a, ta, ma), (args.b, tb, mb)):
                    dt, rss, out = run([bin_, *cmd])
                    if r:  # round 0 warms the caches
                        t.append(dt)
                        m.append(rss)
                    if r == 0:
                        outs.add(labels(out))
            a, b = statistics.median(ta) * 1e3, statistics.median(tb) * 1e3
            same = "" if len(outs) == 1 else "  OUTPUTS DIFFER"
            print(
                f"{name:28} {a:8.1f} {b:8.1f} {b / a:6.2f} "
                f"{statistics.median(ma) / 1024:7.1f} {statistics.median(mb) / 1024:7.1f}{same}"
            )
    finally:
        cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

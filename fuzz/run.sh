#!/usr/bin/env bash
# Runs every fuzz target for a bounded number of executions with a fixed seed, so the
# run is repeatable (CI uses it). New inputs go to fuzz/work/ (not committed); crashes
# to fuzz/artifacts/. Usage: fuzz/run.sh [RUNS_PER_TARGET]   (default 20000)
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-20000}
for t in maps elf budget snapshot attribute offline smemcap sections layout report_json symbols; do
    mkdir -p "work/$t"
    echo "fuzz: $t ($runs runs)"
    cargo +nightly fuzz run -O "$t" "work/$t" "corpus/$t" -- \
        -runs="$runs" -seed=1 -rss_limit_mb=2048 -max_len=65536 2>&1 | grep -E "^#[0-9]+ +DONE|Done|ERROR|panicked|SUMMARY" || true
    test ! -e "artifacts/$t" || test -z "$(ls -A "artifacts/$t")" || { echo "fuzz: $t found a crash in fuzz/artifacts/$t" >&2; exit 1; }
done

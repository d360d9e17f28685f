#!/bin/sh
# The memory gate of docs/ci.md: start the application, wait until it is ready, record
# it once, check the budget (against a baseline when there is one) and write what the
# pipeline keeps. The GitHub Actions workflow and the GitLab CI job of docs/ci.md both
# run this script; tests/gates.rs runs it too.
#
# Environment:
#   APP       the command that starts the application (required); it must print a
#             line READY on its standard output when it is ready (or set READY_CMD)
#   READY_CMD a command that succeeds once the application is ready (instead)
#   BUDGET    the budget file (default: budget.toml)
#   BASELINE  a map report saved by this script on the main branch (optional)
#   OUT       where to write the outputs (default: elfmaps-out)
#   ELFMAPS   the elfmaps binary (default: elfmaps)
#   GITHUB_STEP_SUMMARY  where GitHub Actions takes the job's summary (optional)
#
# Writes OUT/app.snap (the recording), OUT/check.json (every result), OUT/check.md (the
# Markdown table, also appended to $GITHUB_STEP_SUMMARY), OUT/report.html (the page to
# look at) and OUT/map.json (the baseline of the next runs); prints the check as GitHub
# annotations. Exits with the status of `elfmaps check` (0 every budget holds, 1 one is
# exceeded, 2 an error or, with --strict, a check that is not complete).
set -eu

: "${APP:?APP: the command that starts the application}"
BUDGET=${BUDGET:-budget.toml}
BASELINE=${BASELINE:-}
OUT=${OUT:-elfmaps-out}
ELFMAPS=${ELFMAPS:-elfmaps}
mkdir -p "$OUT"

# Start the application; its standard input stays open (a FIFO) until the end.
rm -f "$OUT/app.in"
mkfifo "$OUT/app.in"
$APP <"$OUT/app.in" >"$OUT/app.log" 2>&1 &
pid=$!
exec 3>"$OUT/app.in"
stop() {
    exec 3>&-
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
trap stop EXIT

# Wait until it is ready: at most 60 s.
tries=0
until if [ -n "${READY_CMD:-}" ]; then sh -c "$READY_CMD"; else grep -qx READY "$OUT/app.log"; fi; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "the application exited before it was ready:" >&2
        cat "$OUT/app.log" >&2
        exit 2
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 600 ]; then
        echo "the application was not ready after 60 s" >&2
        exit 2
    fi
    sleep 0.1
done

# Record it once: every output below is of the same memory.
"$ELFMAPS" snapshot "$pid" -o "$OUT/app.snap"
stop
trap - EXIT

# --strict: a rule that matches nothing or a limit that cannot be measured fails the
# job. Without a baseline (the first run on the main branch) growth limits cannot be
# measured: then they are reported as such, without failing.
set -- --budget "$BUDGET" --snapshot "$OUT/app.snap"
if [ -n "$BASELINE" ]; then
    set -- "$@" --strict --baseline "$BASELINE"
else
    echo "no baseline: growth limits are not checked" >&2
fi
status=0
"$ELFMAPS" check "$@" --format github || status=$?
"$ELFMAPS" check "$@" --json >"$OUT/check.json" 2>/dev/null || true
"$ELFMAPS" check "$@" --format markdown >"$OUT/check.md" 2>/dev/null || true
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$OUT/check.md" >>"$GITHUB_STEP_SUMMARY"
fi
"$ELFMAPS" report --snapshot "$OUT/app.snap" -o "$OUT/report.html"
"$ELFMAPS" map --json --snapshot "$OUT/app.snap" >"$OUT/map.json"
exit "$status"

#!/usr/bin/env bash
# HoldStats on one log, two builds in the same window, calls alternating (BENCHMARKS.md,
# "HoldStats at the issue's size").
#
#   benches/hold_stats.sh BEFORE_BIN AFTER_BIN LOG_DIR [RUNS]     (default 5)
#
# LOG_DIR holds audit.sqlite and audit-hmac.key as examples/hold_stats_log.rs writes them. Each
# build serves its own copy (LOG_DIR/before, LOG_DIR/after: a build that knows migration 0011
# fills its tables on the first open, and the build before it would not open that file again),
# made here if missing; the after build's first start (the fill) is timed. Then, after one
# warm-up call each, RUNS pairs of calls of `holds stats --json` over the whole log, before then
# after, each timed as a whole client process, with the server's CPU time (utime + stime) read
# around it. Prints one line per call, the load average, and whether the two answers are the
# same byte for byte (asOf removed).
set -euo pipefail
before=$(realpath "$1"); after=$(realpath "$2"); dir=$(realpath "$3"); runs=${4:-5}
insurer=32130011
for side in before after; do
  if [ ! -f "$dir/$side/audit.sqlite" ]; then
    mkdir -p "$dir/$side"
    cp "$dir/audit.sqlite" "$dir/$side/audit.sqlite"
  fi
done
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
serve() { # side bin port
  VERIFY_IDENTITY_LOG=warn "$2" serve --database "sqlite:$dir/$1/audit.sqlite" \
    --hmac-key-file "$dir/audit-hmac.key" --listen "127.0.0.1:$3" 2>"$dir/$1/serve.log" &
  pids+=($!)
  local start; start=$(date +%s.%N)
  until "$2" holds --server "http://127.0.0.1:$3" stats --insurer $insurer \
      --from 2000-01-01 --to 2000-01-02 --json >/dev/null 2>&1; do sleep 0.2; done
  echo "$1: serving after $(echo "$(date +%s.%N) - $start" | bc) s"
}
serve before "$before" 50177; pid_before=${pids[0]}
serve after "$after" 50178; pid_after=${pids[1]}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
call() { # side bin port pid
  local t0 c0 t1 c1
  c0=$(ticks "$4"); t0=$(date +%s.%N)
  "$2" holds --server "http://127.0.0.1:$3" stats --insurer $insurer --from 2000-01-01 \
    --json > "$dir/$1.json"
  t1=$(date +%s.%N); c1=$(ticks "$4")
  printf '%s wall %.2f s, server CPU %.2f s, load %s\n' "$1" "$(echo "$t1 - $t0" | bc)" \
    "$(echo "scale=2; ($c1 - $c0) / $hz" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
}
call before "$before" 50177 "$pid_before" >/dev/null
call after "$after" 50178 "$pid_after" >/dev/null
for _ in $(seq "$runs"); do
  call before "$before" 50177 "$pid_before"
  call after "$after" 50178 "$pid_after"
done
for side in before after; do
  grep -v '"asOf"' "$dir/$side.json" > "$dir/$side.cmp"
done
if cmp -s "$dir/before.cmp" "$dir/after.cmp"; then
  echo "answers: identical ($(wc -c < "$dir/after.cmp") bytes, asOf removed)"
else
  echo "answers: DIFFER"; diff "$dir/before.cmp" "$dir/after.cmp" | head -20
fi

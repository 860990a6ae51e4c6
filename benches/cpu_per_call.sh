#!/usr/bin/env bash
# Server CPU time per durable Verify at a fixed rate (BENCHMARKS.md): steadier than latency,
# because a slow disk changes how long a call waits much more than how much work it costs.
#
#   benches/cpu_per_call.sh BINARY [RATE] [SECONDS] [sqlite|postgres]
#
# Fresh SQLite file in a temporary directory (or a fresh schema `bench` in the local
# PostgreSQL), server pinned to core 0, load generator to core 1; prints the rate reached, the
# server's user+system CPU over the measured window (from /proc/PID/stat, after the 2 s warmup)
# and the quotient in µs per call; with PostgreSQL also the CPU of all its processes.
set -euo pipefail
bin=$(realpath "$1"); rate=${2:-2000}; secs=${3:-10}; backend=${4:-sqlite}
dir=$(mktemp -d); cd "$dir"; port=29792
db="sqlite:var/audit.sqlite"
keyargs=()
if [ "$backend" = postgres ]; then
  PGOPTIONS='-c client_min_messages=warning' psql -q -h 127.0.0.1 -U postgres test \
    -c 'DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench'
  db="postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dbench"
  # PostgreSQL has no default key file; a fresh schema gets a fresh key there.
  keyargs=(--hmac-key-file "$dir/audit-hmac.key")
fi
VERIFY_IDENTITY_LOG=warn taskset -c 0 "$bin" serve --listen 127.0.0.1:$port \
  --database "$db" ${keyargs[@]+"${keyargs[@]}"} 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  "$bin" loadgen --server http://127.0.0.1:$port --duration 100ms --warmup 0s --concurrency 1 \
    --connections 1 --json >/dev/null 2>&1 && break
  sleep 0.2
done
ticks() { awk '{print $14 + $15}' /proc/$server/stat; }
# Every PostgreSQL process's CPU (0 with SQLite): the database's share of a call.
pg_ticks() {
  for pid in $(pgrep -x postgres || true); do cat "/proc/$pid/stat" 2>/dev/null || true; done |
    awk '{t += $14 + $15} END {print t + 0}'
}
taskset -c 1 "$bin" loadgen --server http://127.0.0.1:$port --rate "$rate" --concurrency 1024 \
  --duration "${secs}s" --warmup 2s --json > summary.json &
lg=$!
sleep 2.3; t0=$(ticks); p0=$(pg_ticks); sleep "$(python3 -c "print($secs - 0.6)")"
t1=$(ticks); p1=$(pg_ticks)
wait $lg
python3 - "$t0" "$t1" "$secs" "$backend" "$p0" "$p1" <<'PY'
import json, os, sys
t0, t1, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
backend, p0, p1 = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
s = json.load(open("summary.json"))["verify"]
cpu = (t1 - t0) / os.sysconf("SC_CLK_TCK")
calls = s["rps"] * (secs - 0.6)
print(f"rate {s['rps']:.0f}/s  server CPU {cpu:.2f} s over {secs - 0.6:.1f} s  "
      f"= {cpu / calls * 1e6:.1f} µs per Verify  (p50 {s['latency_ms']['p50']:.2f} ms)")
if backend == "postgres":
    pg = (p1 - p0) / os.sysconf("SC_CLK_TCK")
    print(f"PostgreSQL CPU {pg:.2f} s = {pg / calls * 1e6:.1f} µs per Verify")
PY

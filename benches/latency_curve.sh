#!/usr/bin/env bash
# The latency curve of a durable Verify (BENCHMARKS.md, "Latency against load").
#
#   benches/latency_curve.sh BINARY OUT_DIR [sqlite|postgres] [PERCENTS...]
#
# Starts BINARY's server pinned to core 0 on a fresh store (a SQLite file in OUT_DIR/run, or a
# fresh schema `bench` in the local PostgreSQL), measures saturation with the load generator
# pinned to core 1 (closed loop, concurrency 64 over 4 connections, with the health
# comparison), then runs the open model at each percentage of that saturation (default 10 25 50
# 75 90), each with the disk probe beside it on the database's file system. Every loadgen
# summary is kept as JSON in OUT_DIR; the server's resident size after each step goes to
# OUT_DIR/rss.txt. benches/latency_curve.py turns OUT_DIR into the table and the SVG.
set -euo pipefail
bin=$(realpath "$1"); out=$(realpath -m "$2"); backend=${3:-sqlite}; shift 3 || shift $#
percents=${*:-10 25 50 75 90}
duration=${DURATION:-10s}
windows=${WINDOWS:-1}   # measured windows per step, each with its own disk figure
mkdir -p "$out"; rm -rf "$out/run"; mkdir -p "$out/run/var"
cd "$out/run"
port=29791
db="sqlite:var/audit.sqlite"
keyargs=()
if [ "$backend" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres test -c 'DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench'
  db="postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dbench"
  # PostgreSQL has no default key file; a fresh schema gets a fresh key there.
  keyargs=(--hmac-key-file "$out/run/audit-hmac.key")
fi
VERIFY_IDENTITY_LOG=warn taskset -c 0 "$bin" serve --listen 127.0.0.1:$port --database "$db" \
  ${keyargs[@]+"${keyargs[@]}"} &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "$bin" loadgen --server http://127.0.0.1:$port --duration 100ms --warmup 0s --concurrency 1 \
    --connections 1 --json >/dev/null 2>&1 && break
  sleep 0.2
done
rss() { echo "$1 $(awk '/VmRSS/ {print $2}' /proc/$server/status) kB" >> "$out/rss.txt"; }
: > "$out/rss.txt"; rss start
lg() { taskset -c 1 "$bin" loadgen --server http://127.0.0.1:$port --seed 7 --json "$@"; }
lg --concurrency 64 --connections 4 --duration "$duration" --warmup 2s --compare-health \
  > "$out/saturation.json"
rss saturation
sat=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verify"]["rps"])' "$out/saturation.json")
echo "saturation: $sat Verify/s" >&2
for p in $percents; do
  rate=$(python3 -c "print(int($sat*$p/100))")
  lg --rate "$rate" --concurrency 1024 --connections 4 --duration "$duration" --warmup 2s --windows "$windows" \
    --disk-probe "$out/run/var" > "$out/rate-$p.json"
  rss "rate-$p"
  echo "$p % ($rate/s) done" >&2
done
kill -TERM $server; wait $server
trap - EXIT

#!/usr/bin/env bash
# The server's resident size over a long run at a fixed rate (BENCHMARKS.md, "Memory").
#
#   benches/memory_soak.sh BINARY RATE MINUTES OUT_FILE
#
# Fresh SQLite file in a temporary directory; server pinned to core 0, load generator to core 1.
# Writes one line per 10 s: seconds since the load started, VmRSS, RssAnon and RssFile in kB
# (the file part is SQLite's memory map of the database, up to 256 MiB, which grows with the
# file and is given back under memory pressure), and the sizes of the audit file and of its
# write-ahead log in bytes; the load generator's summary follows at the end.
set -euo pipefail
bin=$(realpath "$1"); rate=$2; minutes=$3; out=$(realpath -m "$4")
dir=$(mktemp -d); cd "$dir"; port=29794
VERIFY_IDENTITY_LOG=warn taskset -c 0 "$bin" serve --listen 127.0.0.1:$port \
  --database sqlite:var/audit.sqlite 2>server.log &
server=$!
trap 'kill $server 2>/dev/null || true; tail -3 server.log >&2; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  "$bin" loadgen --server http://127.0.0.1:$port --duration 100ms --warmup 0s --concurrency 1 \
    --connections 1 --json >/dev/null 2>&1 && break
  sleep 0.2
done
taskset -c 1 "$bin" loadgen --server http://127.0.0.1:$port --rate "$rate" --concurrency 1024 \
  --duration "$((minutes * 60))s" --warmup 0s --json > summary.json &
lg=$!
: > "$out"
for t in $(seq 10 10 $((minutes * 60))); do
  sleep 10
  rss=$(awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s ", $2}' /proc/$server/status)
  echo "$t $rss$(stat -c %s var/audit.sqlite) $(stat -c %s var/audit.sqlite-wal)" >> "$out"
done
wait $lg
cat summary.json >> "$out"

#!/usr/bin/env bash
# What the managers' holds gauges cost with many open holds (BENCHMARKS.md, "Holds gauges").
#
#   benches/hold_gauges.sh BINARY [OPEN_HOLDS]     (default 100000)
#
# Builds a SQLite audit log holding about OPEN_HOLDS open holds the way an insurer would: a
# synthetic registration roster in the realistic mix (about 4.8 % of rows are held) decided by
# `bulk --database`, so the log also holds the ~20 times as many other decisions a real one
# would. Then starts `serve --metrics-listen` on it and prints: the holds counted, what one
# pass over them took (verify_holds_refresh_seconds, the first pass at start and the next 15 s
# later), the server's CPU time over 31 s of idling (two passes), and the time and size of a
# scrape of /metrics (the mean of 20).
set -euo pipefail
bin=$(realpath "$1"); holds=${2:-100000}
dir=$(mktemp -d); cd "$dir"; port=29793; metrics=29794
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
server=
rows=$(( holds * 1000 / 48 ))
start=$(date +%s.%N)
"$bin" gen-roster --rows "$rows" --kind registration --seed 30 --output roster.csv 2>/dev/null
"$bin" bulk roster.csv --output results.csv --database sqlite:audit.sqlite --quiet \
  > bulk.txt 2>&1 || { cat bulk.txt; exit 1; }
echo "log built: $rows rows decided in $(echo "$(date +%s.%N) - $start" | bc) s; $(du -h audit.sqlite | cut -f1)"
grep -E "^  (register|hold|return) " bulk.txt
VERIFY_IDENTITY_LOG=warn "$bin" serve --listen 127.0.0.1:$port --database sqlite:audit.sqlite \
  --metrics-listen 127.0.0.1:$metrics 2>serve.log &
server=$!
scrape() { curl -sf "http://127.0.0.1:$metrics/metrics"; }
for _ in $(seq 600); do
  scrape 2>/dev/null | grep -q '^verify_holds_refresh_seconds' && break
  sleep 0.1
done
first=$(scrape | awk '/^verify_holds_refresh_seconds/ {print $2}')
counted=$(scrape | awk '/^verify_holds_open\{/ {n += $2} END {print n}')
ticks() { awk '{print $14 + $15}' /proc/$server/stat; }
t0=$(ticks); sleep 31; t1=$(ticks)
second=$(scrape | awk '/^verify_holds_refresh_seconds/ {print $2}')
hz=$(getconf CLK_TCK)
echo "open holds counted: $counted"
echo "one pass over them: first $first s, later $second s"
echo "server CPU over 31 s idle (two passes): $(echo "scale=3; ($t1 - $t0) / $hz" | bc) s"
size=$(scrape | wc -c)
total=0
for _ in $(seq 20); do
  t=$(curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:$metrics/metrics")
  total=$(echo "$total + $t" | bc -l)
done
echo "scrape: $(echo "scale=2; $total * 1000 / 20" | bc -l) ms, $size bytes"

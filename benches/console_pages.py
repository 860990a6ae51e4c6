#!/usr/bin/env python3
"""How long the clerks' console takes to answer its pages with many open holds (BENCHMARKS.md,
"The console's pages").

    benches/console_pages.py BINARY OUT_DIR [HOLDS] [REQUESTS]

Generates a synthetic roster of HOLDS rows (default 10,000) with `gen-roster`, changes one field
of each row's J-LIS record (the field rotates, so the risk classes mix) and its receipt date (a
third overdue), decides it embedded with `bulk --database` (every row a hold), then serves the
store with the console on loopback, signs in, and times REQUESTS (default 50) answers each of:
the first queue page (triage order, 50 holds, with the counts), the queue filtered to one risk
class, a case page, and the case page of a subject decided ten times (its history and the
re-query picker list all ten). Times are wall-clock at the client over loopback, one request at a
time, the first (warm-up) answer left out; printed as median, p90 and max in ms.
"""

import csv
import http.cookiejar
import os
import pathlib
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

binary = os.path.realpath(sys.argv[1])
out = pathlib.Path(sys.argv[2]).resolve()
holds = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
requests = int(sys.argv[4]) if len(sys.argv) > 4 else 50
out.mkdir(parents=True, exist_ok=True)
for f in out.glob("audit.sqlite*"):
    f.unlink()
roster, held = out / "roster.csv", out / "held.csv"
subprocess.run([binary, "gen-roster", "--rows", str(holds), "--kind", "registration",
                "--output", str(roster), "--seed", "7"], check=True, capture_output=True)
with open(roster, encoding="utf-8", newline="") as src, open(held, "w", encoding="utf-8", newline="") as dst:
    rows = csv.reader(src)
    w = csv.writer(dst)
    header = next(rows)
    w.writerow(header)
    col = {name: i for i, name in enumerate(header)}
    fields = ["kanji_name", "kana_name", "birth_date", "address", "sex"]
    first_row = None
    for n, row in enumerate(rows):
        field = fields[n % len(fields)]
        i = col[f"candidate1_{field}"]
        row[i] = {"kanji_name": "別人 太郎", "kana_name": "ベツジン タロウ", "birth_date": "1901-01-01",
                  "address": "北海道札幌市中央区北一条西1-1", "sex": "9"}[field]
        if n % 3 == 0:
            row[col["received_at"]] = "2026-01-05"
        w.writerow(row)
        if first_row is None:
            first_row = list(row)
    # The first row's subject decided nine more times (re-queries that held again): its case
    # page shows a history of ten decisions and a picker of nine.
    for k in range(1, 10):
        again = list(first_row)
        again[col["request_id"]] = f"{first_row[col['request_id']]}-again-{k}"
        w.writerow(again)
started = time.time()
subprocess.run([binary, "bulk", str(held), "--database", f"sqlite:{out}/audit.sqlite",
                "--output", str(out / "result.csv")], check=True, capture_output=True)
print(f"decided {holds} rows embedded in {time.time() - started:.1f} s")
config = out / "settings.toml"
config.unlink(missing_ok=True)
subprocess.run([binary, "console-user", "add", "--config", str(config), "--name", "bench",
                "--insurer", "32130011", "--role", "operator", "--password-stdin"],
               input="benchmark password\n", text=True, check=True, capture_output=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


grpc, web = free_port(), free_port()
server = subprocess.Popen([binary, "serve", "--config", str(config), "--database",
                           f"sqlite:{out}/audit.sqlite", "--listen", f"127.0.0.1:{grpc}",
                           "--console-listen", f"127.0.0.1:{web}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env={**os.environ, "VERIFY_IDENTITY_LOG": "warn"})
try:
    base = f"http://127.0.0.1:{web}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", web), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(urllib.request.Request(
        base + "/signin", data=urllib.parse.urlencode({"name": "bench", "password": "benchmark password"}).encode(),
        headers={"Origin": base}))
    first = opener.open(base + "/holds").read().decode()
    open_count = re.search(r'class="n">(\d+)</span>件 保留中', first)
    case = re.search(r'href="(/holds/32130011/[0-9a-f-]+)"', first).group(1)
    second = re.search(r'<a rel="next"[^>]* href="([^"]+)"', first).group(1).replace("&amp;", "&")
    # The last decision about the first row's subject (bulk's result names subjects, not
    # request ids).
    with open(out / "result.csv", encoding="utf-8", newline="") as f:
        same = [r for r in csv.DictReader(f) if r["subject_id"] == first_row[col["subject_id"]]]
    assert len(same) == 10, len(same)
    repeated = same[-1]["verification_id"]

    def timed(path):
        times = []
        for i in range(requests + 1):
            t = time.perf_counter()
            body = opener.open(base + path).read()
            if i:
                times.append((time.perf_counter() - t) * 1000)
        assert b"<html" in body
        times.sort()
        return times

    print(f"open holds at the insurer: {open_count.group(1) if open_count else '?'}")
    print(f"{'page':<34} {'median':>8} {'p90':>8} {'max':>8}  (ms, {requests} requests)")
    for name, path in [("queue, first page (triage, 50)", "/holds"),
                       ("queue, second page", second),
                       ("queue, one risk class", "/holds?risk=address_only"),
                       ("queue, unassigned", "/holds?assigned=none"),
                       ("case page", case),
                       ("case page, 10 decisions of its subject", f"/holds/32130011/{repeated}")]:
        t = timed(path)
        print(f"{name:<34} {statistics.median(t):8.1f} {t[int(len(t) * 0.9) - 1]:8.1f} {t[-1]:8.1f}")
finally:
    server.terminate()
    server.wait(timeout=30)

#!/usr/bin/env python3
"""The table and the plot of benches/latency_curve.sh runs.

    benches/latency_curve.py OUT_DIR [OUT_DIR ...] [--svg FILE] [--labels A,B,...]

Prints, per run directory, a Markdown table: saturation (Verify/s, health/s, ratio), then per
load step the offered and achieved rate, p50/p90/p99/p99.9 latency, the disk probe's share of
time in syncs over 5 ms and whether the window's p99 is judged (share under 0.5 %). With
--svg, draws p50 and p99 against the share of saturation, one colour per run. Standard
library only.
"""
import json, os, sys


def load(d):
    sat = json.load(open(os.path.join(d, "saturation.json")))
    steps = []
    for name in os.listdir(d):
        if name.startswith("rate-") and name.endswith(".json"):
            pct = int(name[5:-5])
            steps.append((pct, json.load(open(os.path.join(d, name)))))
    steps.sort(key=lambda s: s[0])
    return sat, steps


def table(d, label):
    sat, steps = load(d)
    v, h = sat["verify"], sat["health"]
    print(f"**{label}**: saturation {v['rps']:,.0f} Verify/s (p50 {v['latency_ms']['p50']:.2f} ms), "
          f"health {h['rps']:,.0f}/s, ratio **{sat['verify_health_ratio']:.2f}**\n")
    print("| load | offered /s | achieved /s | p50 ms | p90 ms | p99 ms | p99.9 ms | disk: time in syncs > 5 ms | p99 judged |")
    print("|---|---|---|---|---|---|---|---|---|")
    for pct, run in steps:
        for w in run["windows"]:
            lat, disk = w["verify"]["latency_ms"], w["disk"] or {}
            share = disk.get("slow_sync_share")
            print(f"| {pct} % | {run['rate']:,.0f} | {w['verify']['rps']:,.0f} | {lat['p50']:.2f} | "
                  f"{lat['p90']:.2f} | {lat['p99']:.2f} | {lat['p99_9']:.2f} | "
                  f"{'' if share is None else f'{share * 100:.2f} %'} | "
                  f"{'yes' if disk.get('p99_judged') else 'no'} |")
    print()


def svg(dirs, labels, path):
    colours = ["#888888", "#d08000", "#1060c0", "#20a040", "#a02080"]
    width, height, left, bottom, top, right = 720, 360, 60, 40, 30, 230
    runs = [(labels[i], load(d)[1]) for i, d in enumerate(dirs)]
    ymax = max(r["windows"][0]["verify"]["latency_ms"]["p99"] for _, steps in runs for _, r in steps)
    # A log scale: p50 and p99 differ by an order of magnitude or more.
    import math
    lo, hi = 0.1, 10 ** math.ceil(math.log10(max(ymax, 1)))
    def x(p): return left + (width - left - right) * p / 100
    def y(ms): return top + (height - top - bottom) * (1 - (math.log10(max(ms, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="13">Verify latency against load (SQLite, synchronous=FULL; log scale)</text>']
    for p in (0, 25, 50, 75, 100):
        out.append(f'<line x1="{x(p)}" y1="{top}" x2="{x(p)}" y2="{height - bottom}" stroke="#eee"/>')
        out.append(f'<text x="{x(p)}" y="{height - bottom + 14}" text-anchor="middle">{p} %</text>')
    ms = lo
    while ms <= hi:
        out.append(f'<line x1="{left}" y1="{y(ms)}" x2="{width - right}" y2="{y(ms)}" stroke="#eee"/>')
        out.append(f'<text x="{left - 4}" y="{y(ms) + 4}" text-anchor="end">{ms:g} ms</text>')
        ms *= 10
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">offered load, share of the measured saturation</text>')
    for i, (label, steps) in enumerate(runs):
        c = colours[i % len(colours)]
        for key, dash in (("p50", ""), ("p99", ' stroke-dasharray="5,3"')):
            pts = " ".join(f"{x(p):.1f},{y(r['windows'][0]['verify']['latency_ms'][key]):.1f}" for p, r in steps)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
        # p99 markers: filled where the window's disk stayed fast (judged), hollow where not.
        for p, r in steps:
            w = r["windows"][0]
            judged = (w["disk"] or {}).get("p99_judged")
            out.append(f'<circle cx="{x(p):.1f}" cy="{y(w["verify"]["latency_ms"]["p99"]):.1f}" r="3.5" '
                       f'stroke="{c}" stroke-width="1.5" fill="{c if judged else "white"}"/>')
        ly = top + 16 * i
        out.append(f'<line x1="{width - right + 10}" y1="{ly + 6}" x2="{width - right + 30}" y2="{ly + 6}" stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{width - right + 34}" y="{ly + 10}">{label}</text>')
    ly = top + 16 * len(runs) + 10
    out.append(f'<text x="{width - right + 10}" y="{ly}">solid: p50, dashed: p99</text>')
    out.append(f'<text x="{width - right + 10}" y="{ly + 16}">p99 dot filled: disk fast in</text>')
    out.append(f'<text x="{width - right + 10}" y="{ly + 30}">that window (judged), hollow: not</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


def main(argv):
    svg_path, labels, dirs = None, None, []
    it = iter(argv)
    for a in it:
        if a == "--svg":
            svg_path = next(it)
        elif a == "--labels":
            labels = next(it).split(",")
        else:
            dirs.append(a)
    labels = labels or [os.path.basename(d.rstrip("/")) for d in dirs]
    for d, label in zip(dirs, labels):
        table(d, label)
    if svg_path:
        svg(dirs, labels, svg_path)


if __name__ == "__main__":
    main(sys.argv[1:])

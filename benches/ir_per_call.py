#!/usr/bin/env python3
# Instructions per call of one function in a callgrind output (BENCHMARKS.md, "The domain core
# before and after"): usage: ir_per_call.py CALLGRIND_OUT FUNCTION_NAME
# Instructions per call of a function from a callgrind output: the inclusive cost recorded on
# every call edge into it (calls=N, then the edge's cost line) summed, divided by the calls.
import re, sys
path, name = sys.argv[1], sys.argv[2]
names = {}
calls = cost = 0
lines = open(path, errors="replace").read().splitlines()
target = set()
for l in lines:
    m = re.match(r"(?:fn|cfn|cfi|fl|fi|fe|ob|cob)=\((\d+)\)(?: (.*))?", l)
    if m and l.startswith(("fn=", "cfn=")) and m.group(2):
        names[m.group(1)] = m.group(2)
        if m.group(2) == name:
            target.add(m.group(1))
i = 0
current_cfn = None
while i < len(lines):
    l = lines[i]
    m = re.match(r"cfn=\((\d+)\)", l)
    if m:
        current_cfn = m.group(1)
    if l.startswith("calls=") and current_cfn in target:
        calls += int(l.split("=")[1].split()[0])
        nxt = lines[i + 1].split()
        cost += int(nxt[1])
    i += 1
print(f"{name}: {calls} calls, {cost} Ir, {cost / max(calls, 1):.0f} Ir per call")

#!/usr/bin/env python3
"""Summarises a JFR recording of the worker: the hottest frames by CPU sample and by sampled
allocation, both where the time is spent (top frame) and which worker or library code
leads there (the first frame of a named package, walking down from the top).

usage: jfr_top.py RECORDING.jfr [N] [PACKAGE_PREFIX ...]

Needs `jfr` from the same JDK on PATH (it prints the recording as JSON).
"""
import collections
import json
import subprocess
import sys


def events(recording, name):
    out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "64", "--events", name,
                          recording], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["recording"]["events"]


def frame_name(frame):
    m = frame["method"]
    return m["type"]["name"] + "." + m["name"]


def summarise(recording, name, weight, n, prefixes):
    top = collections.Counter()
    owned = collections.Counter()
    total = 0
    for e in events(recording, name):
        frames = (e["values"].get("stackTrace") or {}).get("frames") or []
        if not frames:
            continue
        w = weight(e["values"])
        total += w
        top[frame_name(frames[0])] += w
        for f in frames:
            if any(frame_name(f).startswith(p) for p in prefixes):
                owned[frame_name(f)] += w
                break
    print(f"## {name}: top frames (self)")
    for k, v in top.most_common(n):
        print(f"{100 * v / total:5.1f} %  {k}")
    print(f"## {name}: first frame in {', '.join(prefixes)}")
    for k, v in owned.most_common(n):
        print(f"{100 * v / total:5.1f} %  {k}")


def main():
    recording = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    prefixes = sys.argv[3:] or ["io.kvw."]
    summarise(recording, "jdk.ExecutionSample", lambda v: 1, n, prefixes)
    summarise(recording, "jdk.ObjectAllocationSample", lambda v: v.get("weight", 1), n,
              prefixes)


if __name__ == "__main__":
    main()

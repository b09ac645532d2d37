#!/usr/bin/env python3
"""Summarises a JFR recording of the worker: the hottest frames by CPU sample and by sampled
allocation, both where the time is spent (top frame) and which worker or library code
leads there (the first frame of a named package, walking down from the top).

usage: jfr_top.py RECORDING.jfr [N] [PACKAGE_PREFIX ...] [--between START END]

--between keeps only events whose start time is within [START, END] (ISO 8601 instants, such
as the "warm window (UTC): START to END" line the overhead scenario prints), so a profile of
the warm worker leaves out its start-up and JIT warm-up.

Needs `jfr` from the same JDK on PATH (it prints the recording as JSON).
"""
import collections
import datetime
import json
import subprocess
import sys


def events(recording, name):
    out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "64", "--events", name,
                          recording], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["recording"]["events"]


def instant(text):
    """An ISO 8601 UTC instant ("...Z", "+00:00" or none; any fraction) as a datetime."""
    text = text.replace("Z", "").replace("+00:00", "")
    whole, _, fraction = text.partition(".")
    return datetime.datetime.fromisoformat(whole + "." + (fraction + "000000")[:6])


def frame_name(frame):
    m = frame["method"]
    return m["type"]["name"] + "." + m["name"]


def summarise(recording, name, weight, n, prefixes, between=None):
    top = collections.Counter()
    owned = collections.Counter()
    total = 0
    for e in events(recording, name):
        if between and not between[0] <= instant(e["values"]["startTime"]) <= between[1]:
            continue
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
    args = sys.argv[1:]
    between = None
    if "--between" in args:
        i = args.index("--between")
        between = (instant(args[i + 1]), instant(args[i + 2]))
        del args[i:i + 3]
    recording = args[0]
    n = int(args[1]) if len(args) > 1 else 25
    prefixes = args[2:] or ["io.kvw."]
    summarise(recording, "jdk.ExecutionSample", lambda v: 1, n, prefixes, between)
    summarise(recording, "jdk.ObjectAllocationSample", lambda v: v.get("weight", 1), n,
              prefixes, between)


if __name__ == "__main__":
    main()

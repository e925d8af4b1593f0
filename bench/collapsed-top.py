#!/usr/bin/env python3
"""Summarises a collapsed-stack profile (bench/profile.sh stop ... FILE): the frames with the most samples,
by self time and inclusive of what they call, as percentages of all samples.

    bench/collapsed-top.py /tmp/p32.collapsed [N]
"""
import collections
import sys

if len(sys.argv) < 2:
    sys.exit(__doc__)
n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
total = 0
own = collections.Counter()
inclusive = collections.Counter()
with open(sys.argv[1]) as f:
    for line in f:
        stack, _, count = line.rstrip().rpartition(" ")
        count = int(count)
        total += count
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
print(f"{total} samples")
for title, counter in (("self", own), ("inclusive", inclusive)):
    print(f"== {title}")
    for frame, count in counter.most_common(n):
        print(f"{count * 100 / total:5.1f}% {frame[:160]}")

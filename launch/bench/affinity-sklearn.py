#!/usr/bin/env python3
"""Time scikit-learn's AffinityPropagation on the matrices `chain-bench affinity --dump PREFIX`
wrote, and check that its labels equal chain-bench's.

Usage: chain-bench affinity --dump /tmp/ap && python3 launch/bench/affinity-sklearn.py /tmp/ap [--videos 128 --frames 25]
Needs numpy and scikit-learn (benchmark only; not a project dependency).
"""
import argparse
import statistics
import time

import numpy as np
from sklearn.cluster import AffinityPropagation

ap = argparse.ArgumentParser()
ap.add_argument("prefix")
ap.add_argument("--videos", type=int, default=128)
ap.add_argument("--frames", type=int, default=25)
ap.add_argument("--runs", type=int, default=5)
a = ap.parse_args()
s = np.fromfile(a.prefix + ".similarities.f64", dtype=np.float64).reshape(a.videos, a.frames, a.frames)
ours = np.fromfile(a.prefix + ".labels.i32", dtype=np.int32).reshape(a.videos, a.frames)
times, labels = [], None
for _ in range(a.runs):
    t = time.perf_counter()
    labels = [AffinityPropagation(affinity="precomputed", random_state=0).fit(m).labels_ for m in s]
    times.append(time.perf_counter() - t)
same = sum(int(np.array_equal(l, o)) for l, o in zip(labels, ours))
med = statistics.median(times)
print(f"scikit-learn AffinityPropagation, {a.videos} problems of {a.frames}x{a.frames}: median {med*1e3:.1f} ms per batch "
      f"({med/a.videos*1e6:.0f} us per problem); labels equal to chain-bench's on {same}/{a.videos} problems")

#!/usr/bin/env python3
"""Generates affinity_propagation.json: scikit-learn AffinityPropagation results on
similarity matrices shaped like CHAIN's per-video problems (frames grouped in scenes).

Run once with scikit-learn installed (not a project dependency):
    python3 make_affinity_propagation_fixtures.py > affinity_propagation.json

Each case stores integer points p; coordinates are x = p / 10000 (a correctly rounded
division, identical in any language, so no decimal parsing is involved). The similarity
matrix is S[i][j] = -sum_k (x_ik - x_jk)^2, summed left to right in float64; the Swift
test computes it in the same order, so both sides see bitwise-identical matrices.

Ties: scikit-learn adds noise of relative size 2e-16 to S (random_state=0 here). Besides
exact ties in S, that noise decides exact ties *in the messages*, which symmetric
similarities create (two mutually nearest frames). Every case has a tie-free S; each also
records `noise_free_agrees`: whether scikit-learn's own routine, run without the noise,
gives the same result (the Swift implementation must match those cases without noise too,
and all cases with scikit-learn's noise reproduced).
"""
import json
import sys
import warnings

import numpy as np
import sklearn
from sklearn.cluster import AffinityPropagation
from sklearn.cluster._affinity_propagation import _affinity_propagation
from sklearn.exceptions import ConvergenceWarning


class _NoNoise:
    def standard_normal(self, size):
        return np.zeros(size)


def noise_insensitive(s, plan, labels, centers, n_iter):
    """Whether scikit-learn's result is the same without its tie-breaking noise."""
    pref = np.median(s) if plan["preference"] is None else plan["preference"]
    cen, lab, it = _affinity_propagation(np.array(s), preference=np.asarray(pref),
                                       convergence_iter=plan["convergence_iter"], max_iter=plan["max_iter"],
                                       damping=plan["damping"], verbose=False, return_n_iter=True,
                                       random_state=_NoNoise())
    return list(lab) == list(labels) and list(cen) == list(centers) and it == n_iter


def coordinates(ints):
    return [[v / 10000 for v in row] for row in ints]


def similarity(points):
    n = len(points)
    s = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for a, b in zip(points[i], points[j]):
                t = a - b
                acc += t * t
            s[i][j] = -acc
    return s


def tie_free(s):
    n = len(s)
    values = [s[i][j] for i in range(n) for j in range(i + 1, n)]
    return len(set(values)) == len(values)


def scene_points(rng, n, dim, scenes, spread):
    """Frames of a video: `scenes` contiguous segments, each around its own centre."""
    cuts = np.sort(rng.choice(np.arange(1, n), size=scenes - 1, replace=False)) if scenes > 1 else []
    centres = rng.normal(size=(scenes, dim))
    labels = np.searchsorted(cuts, np.arange(n), side="right")
    pts = centres[labels] + spread * rng.normal(size=(n, dim))
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)   # CHAIN clusters L2-normalised codes
    return [[int(v) for v in row] for row in np.round(pts * 10000)]


def main():
    rng = np.random.default_rng(2026)
    cases = []
    plans = []
    for n in list(range(5, 61, 1)):                      # 56 sizes, default parameters
        plans.append(dict(n=n, damping=0.5, max_iter=200, convergence_iter=15, preference=None))
    for n, d in [(12, 0.7), (25, 0.9), (40, 0.6), (25, 0.75)]:
        plans.append(dict(n=n, damping=d, max_iter=200, convergence_iter=15, preference=None))
    for n, p in [(20, -0.5), (25, -3.0), (30, -0.05)]:
        plans.append(dict(n=n, damping=0.5, max_iter=200, convergence_iter=15, preference=p))
    for n in [25, 33, 47, 60]:                           # too few iterations: not converged
        plans.append(dict(n=n, damping=0.5, max_iter=8, convergence_iter=15, preference=None))
    plans.append(dict(n=25, damping=0.5, max_iter=200, convergence_iter=5, preference=None))
    for n in [10, 30]:                                   # one iteration: typically no exemplar yet
        plans.append(dict(n=n, damping=0.5, max_iter=1, convergence_iter=15, preference=None))
    for plan in plans:
        while True:
            n = plan["n"]
            ints = scene_points(rng, n, 6, int(rng.integers(1, min(6, n // 3) + 1)), float(rng.uniform(0.05, 0.6)))
            s = similarity(coordinates(ints))
            if not tie_free(s):
                continue
            ap = AffinityPropagation(affinity="precomputed", damping=plan["damping"], max_iter=plan["max_iter"],
                                     convergence_iter=plan["convergence_iter"], preference=plan["preference"],
                                     random_state=0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                ap.fit(np.array(s))
            break
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        cases.append(dict(points=ints, damping=plan["damping"], max_iter=plan["max_iter"],
                          convergence_iter=plan["convergence_iter"], preference=plan["preference"],
                          labels=[int(x) for x in ap.labels_],
                          centers=[int(x) for x in ap.cluster_centers_indices_],
                          n_iter=int(ap.n_iter_), converged=converged,
                          noise_free_agrees=bool(noise_insensitive(s, plan, ap.labels_, ap.cluster_centers_indices_,
                                                                   ap.n_iter_))))
    json.dump(dict(generator="make_affinity_propagation_fixtures.py", sklearn=sklearn.__version__,
                   numpy=np.__version__, cases=cases), sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()

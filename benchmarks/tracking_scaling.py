"""Tracking speed and accuracy against Stone Soup, and iamd's scaling with target count.

Runs ``iamd bench tracking``'s comparison (same detections into both trackers, in one
process, pinned to one core) at 100 and 1,000 targets, then iamd alone at 100, 1,000
and 10,000 targets (Stone Soup at 10,000 would take hours), and prints each row and
the growth of ms per scan against n log n.

    python benchmarks/tracking_scaling.py [--scans 20] [--clutter 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import math
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from iamd.tracking.bench import bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--clutter", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for n in (100, 1000):
        row = bench(n, args.scans, args.clutter, args.seed, stonesoup=True)
        print(json.dumps(row), flush=True)
    ms = {}
    for n in (100, 1000, 10000):
        row = bench(n, args.scans, args.clutter, args.seed, stonesoup=False)
        ms[n] = float(row["iamd_ms_per_scan"] or 0.0)
        print(json.dumps(row), flush=True)
    for lo, hi in ((100, 1000), (1000, 10000)):
        growth = ms[hi] / ms[lo]
        nlogn = hi * math.log(hi) / (lo * math.log(lo))
        print(f"{lo} -> {hi} targets: ms/scan x{growth:.1f}, n log n x{nlogn:.1f}")


if __name__ == "__main__":
    main()

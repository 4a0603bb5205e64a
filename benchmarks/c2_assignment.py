"""One C2 cycle's assignment at scale: 300 threats, 50 fire units, weighted WTA.

Times ``greedy`` and ``auto`` (:mod:`iamd.c2.wta.weighted`) on random pictures (Pk
U(0.3, 0.9) where feasible, 60 % of pairs feasible, 6 engagements per unit, values
U(1, 100), no cost) and compares the value they save with the proven optimum of the
same picture as a static WTA solved by ``iamd.c2.wta.solve(method="exact")`` (which may
also give one unit several engagements on one threat, so its optimum bounds the
cycle's from above).

    python benchmarks/c2_assignment.py [--seeds 3]

Target: at most 50 ms per cycle.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from iamd.c2.wta.instance import WtaInstance
from iamd.c2.wta.solve import solve
from iamd.c2.wta.weighted import assign_weighted, net_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--threats", type=int, default=300)
    args = parser.parse_args()
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        u, k = args.units, args.threats
        value = rng.uniform(1, 100, k)
        p = np.where(rng.random((u, k)) < 0.6, rng.uniform(0.3, 0.9, (u, k)), 0.0)
        cost = np.zeros((u, k))
        cap = np.full(u, 6)
        row = []
        for method in ("greedy", "auto"):
            t0 = time.perf_counter()
            uu, jj = assign_weighted(value, p, cost, cap, method)
            ms = 1e3 * (time.perf_counter() - t0)
            x = np.zeros((u, k), bool)
            x[uu, jj] = True
            row.append((method, ms, net_value(value, p, cost, x)))
        ref = solve(WtaInstance(value=value, p=p, mu=6), "exact", time_limit_s=120)
        bound = float(value.sum()) - ref.lower_bound
        cells = ", ".join(
            f"{m} {ms:.1f} ms saves {v:,.2f} ({100 * v / bound:.3f} % of the bound)"
            for m, ms, v in row
        )
        print(
            f"seed {seed}: {cells}; exact static bound {bound:,.2f} "
            f"(proven {ref.proven_optimal}, {ref.time_s:.1f} s)"
        )


if __name__ == "__main__":
    main()

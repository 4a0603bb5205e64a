"""Monte Carlo throughput: serial, the local process pool and Dask on one machine.

Runs the same replications of a scenario three ways in one process and prints the per-run
cost, the parallel efficiency from 1 to 2 local workers (serial time / (2 x pool time)),
the Dask overhead over the pool (Dask time / pool time - 1, on a LocalCluster of two
worker processes), and the time 1,000 replications would take on two cores. The per-run
rows of the three are checked identical.

    python benchmarks/montecarlo.py [--scenario regional-raid] [--runs 4]

Targets: 1,000 regional-raid replications in at most 15 minutes on 2 cores (issue 16;
issue 5 asked 5 minutes);
parallel efficiency at least 85 %; Dask overhead at most 10 %.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from distributed import LocalCluster

from iamd.analysis.montecarlo import NONDETERMINISTIC, Job, run_mc
from iamd.analysis.store import Store
from iamd.scenario.load import load_scenario_changed


def rows(directory: Path) -> list[dict[str, object]]:
    table = Store(directory).table().to_pylist()
    return [{k: v for k, v in r.items() if k not in NONDETERMINISTIC} for r in table]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="regional-raid")
    parser.add_argument("--runs", type=int, default=4, help="replications per executor (even)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scenario, doc = load_scenario_changed(args.scenario)
    job = Job(scenario, doc, seed=args.seed)
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        run_mc(Store(root / "serial"), job, args.runs, workers=1, batch_size=1)
        times["serial"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_mc(Store(root / "pool"), job, args.runs, workers=2, batch_size=1)
        times["pool"] = time.perf_counter() - t0
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            t0 = time.perf_counter()
            run_mc(
                Store(root / "dask"),
                job,
                args.runs,
                scheduler=cluster.scheduler_address,
                batch_size=1,
            )
            times["dask"] = time.perf_counter() - t0
        same = rows(root / "serial") == rows(root / "pool") == rows(root / "dask")
    per_run = times["serial"] / args.runs
    eff = times["serial"] / (2 * times["pool"])
    overhead = times["dask"] / times["pool"] - 1
    projected = 1000 * times["pool"] / args.runs
    print(f"scenario {scenario.name}, {args.runs} replications per executor")
    for name, t in times.items():
        print(f"  {name:6s} {t:8.1f} s  ({args.runs / t:.3f} runs/s)")
    print(f"per-run cost (serial):               {per_run:.2f} s")
    print(f"parallel efficiency 1 -> 2 workers:  {100 * eff:.0f} %  (target >= 85 %)")
    print(f"Dask overhead over the local pool:   {100 * overhead:+.1f} %  (target <= 10 %)")
    print(f"1,000 replications on 2 cores:       {projected / 60:.1f} min  (target <= 15 min)")
    print(f"per-run rows identical across executors: {same}")


if __name__ == "__main__":
    main()

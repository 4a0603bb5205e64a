"""Two designs compared run by run: paired differences under common random numbers.

Both stores must come from the same root seed, so replication i of each saw the same raid
(launch times, aim points, failures): the difference ``B_i - A_i`` then removes the
raid-to-raid variation that dominates either design's spread, and its 95 % t interval
says whether B beats A beyond noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from iamd.analysis.stats import paired
from iamd.analysis.store import Store, StoreError, batch_files, column, metric_columns

NOT_COMPARED = ("seed", "wall_time_s", "sim_duration_s")


def compare(dir_a: Path, dir_b: Path) -> dict[str, Any]:
    """Paired differences ``B - A`` of every metric over the runs both stores hold.

    Raises
    ------
    StoreError
        When a directory is not a store, the seeds differ, or no run index is in both.
    """
    stores = []
    for d in (dir_a, dir_b):
        if not Path(d).is_dir() or not batch_files(Path(d)):
            raise StoreError(f"{d} is not a Monte Carlo directory with stored runs (iamd mc)")
        stores.append(Store(Path(d)))
    job_a, job_b = (s.job() or {} for s in stores)
    if job_a.get("seed") != job_b.get("seed"):
        raise StoreError(
            f"seeds differ ({job_a.get('seed')} and {job_b.get('seed')}): runs are not paired; "
            "rerun one design with the other's --seed"
        )
    ta, tb = (s.table() for s in stores)
    runs_a, runs_b = np.asarray(ta["run"]), np.asarray(tb["run"])
    common = np.intersect1d(runs_a, runs_b)
    if common.size == 0:
        raise StoreError("the two directories share no run index")
    ia = np.searchsorted(runs_a, common)
    ib = np.searchsorted(runs_b, common)
    names = sorted(set(metric_columns(ta)) | set(metric_columns(tb)))
    metrics = {
        n: paired(column(ta, n)[ia], column(tb, n)[ib]) for n in names if n not in NOT_COMPARED
    }
    return {
        "a": str(dir_a),
        "b": str(dir_b),
        "seed": job_a.get("seed"),
        "paired_runs": int(common.size),
        "metrics": metrics,
    }

"""Monte Carlo replications of a scenario, in batches, on any executor.

Replication ``i`` of a job with seed ``S`` draws every random number from
``SeedSequence(S, spawn_key=(i,))`` (the i-th child of ``SeedSequence(S)``), so its result
does not depend on the executor, the number of workers, the batch it falls in or the order
batches complete in: serial, a local process pool and a Dask cluster give identical rows.

Executors
---------
serial
    In this process (``workers=1`` without a scheduler).
local pool
    ``concurrent.futures.ProcessPoolExecutor`` on ``workers`` processes (spawned).

Each batch is stored as soon as it completes, so a killed job loses only batches in flight.
Dask
    ``distributed.Client(scheduler)`` on an existing cluster; workers need iamd installed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import numpy as np
import pyarrow as pa

from iamd import __version__
from iamd.analysis.stats import describe, halfwidth
from iamd.analysis.store import Store, column, metric_columns
from iamd.errors import IamdError
from iamd.scenario.load import Scenario

Row = dict[str, Any]
NONDETERMINISTIC = ("wall_time_s", "c2.mean_solve_ms", "c2.max_solve_ms")
"""Metrics that measure the machine, not the fight (left out of identity checks)."""


KEY_METRICS = (
    ("threats.launched", "threats launched"),
    ("threats.intercepted", "intercepted"),
    ("threats.impacted_asset", "leakers on assets"),
    ("threats.impacted_open", "impacts in the open"),
    ("threats.failed", "failed in flight"),
    ("totals.interceptors_fired", "interceptors fired"),
    ("cost_usd.interceptors", "interceptor cost, US$"),
    ("cost_usd.exchange_ratio", "cost-exchange ratio"),
    ("totals.asset_value_lost", "asset value lost"),
)
"""Headline metrics of the tables: stored column and label."""


def flatten(summary: dict[str, Any], prefix: str = "") -> Row:
    """Every number of a run's ``summary.json`` under a dotted name.

    Strings (scenario name, solver, version) are left out; ``None`` stays (a null).
    """
    row: Row = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flatten(value, name + "."))
        elif isinstance(value, bool):
            row[name] = int(value)
        elif isinstance(value, int | float) or value is None:
            row[name] = value
    return row


def run_batch(scenario: Scenario, seed: int, runs: list[int]) -> list[Row]:
    """Run replications ``runs`` of ``scenario``; one flat row each.

    A row holds the run index, the root seed, every number of the run's summary under its
    dotted name, and two totals: ``totals.interceptors_fired`` and
    ``totals.asset_value_lost``.
    """
    from iamd.sim.run import simulate

    rows = []
    for i in runs:  # one replication each (seconds of work): not a hot loop
        result = simulate(scenario, seed, replication=i)
        sm = result.summary
        row = {"run": i, "seed": seed}
        row.update(flatten(sm))
        row["totals.interceptors_fired"] = sum(v["fired"] for v in sm["interceptors"].values())
        row["totals.asset_value_lost"] = sum(v["value_lost"] for v in sm["assets"].values())
        rows.append(row)
    return rows


@dataclass(frozen=True, slots=True)
class Job:
    """What a Monte Carlo job runs.

    Attributes
    ----------
    scenario : the validated scenario, with changes applied.
    document : the changed scenario document that was validated (its fingerprint).
    seed : the root seed.
    sets, without : the ``--set`` and ``--without`` changes, as typed.
    """

    scenario: Scenario
    document: Any
    seed: int
    sets: tuple[str, ...] = ()
    without: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """The ``job.json`` of a store."""
        text = json.dumps(self.document, sort_keys=True, default=str)
        return {
            "scenario": self.scenario.name,
            "source": self.scenario.source,
            "scenario_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "seed": self.seed,
            "set": list(self.sets),
            "without": list(self.without),
            "iamd_version": __version__,
        }


@dataclass(slots=True)
class JobResult:
    """What a call of :func:`run_mc` did."""

    requested: int
    stored: int
    ran: int
    skipped: int
    stopped_by_ci: bool = False
    summary: dict[str, Any] = field(default_factory=dict)


def default_batch_size(n_runs: int, workers: int) -> int:
    """About four batches per worker, at most 25 runs each (what a kill can lose)."""
    return max(1, min(25, math.ceil(n_runs / (4 * max(workers, 1)))))


def batches_of(todo: list[int], size: int) -> list[list[int]]:
    return [todo[k : k + size] for k in range(0, len(todo), size)]


class _Pool:
    def __init__(self, workers: int) -> None:
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))

    def submit(self, fn: Callable[..., list[Row]], *args: Any) -> Future[list[Row]]:
        return self.pool.submit(fn, *args)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    def __init__(self, address: str) -> None:
        from distributed import Client

        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise IamdError(f"cannot reach the Dask scheduler at {address}: {exc}") from None

    def submit(self, fn: Callable[..., list[Row]], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def shutdown(self) -> None:
        self.client.close()


def _results(
    executor: _Pool | _Dask | None, job: Job, wave: list[list[int]]
) -> Iterator[list[Row]]:
    """Rows of each batch of ``wave`` as it completes (in this process when no executor)."""
    if executor is None:
        for runs in wave:
            yield run_batch(job.scenario, job.seed, runs)
        return
    futures = [executor.submit(run_batch, job.scenario, job.seed, runs) for runs in wave]
    if isinstance(executor, _Dask):
        from distributed import as_completed

        for fut in as_completed(futures):
            yield fut.result()
        return
    left: set[Future[list[Row]]] = set(futures)
    while left:
        done, left = wait(left, return_when=FIRST_COMPLETED)
        for fut in done:
            yield fut.result()


def summarise_store(store: Store, requested: int) -> dict[str, Any]:
    """Statistics of every metric over the stored runs (``DIR/summary.json``)."""
    table = store.table()
    job = store.job() or {}
    return {
        "scenario": job.get("scenario"),
        "seed": job.get("seed"),
        "set": job.get("set", []),
        "without": job.get("without", []),
        "runs": table.num_rows,
        "requested": requested,
        "metrics": {name: describe(column(table, name)) for name in metric_columns(table)},
    }


MIN_RUNS_FOR_STOP = 10
"""Runs needed before ``--until-ci`` may stop (a few equal values give a zero width)."""


def ci_reached(table: pa.Table, metric: str, target: float) -> tuple[bool, float]:
    """Whether the 95 % interval of ``metric`` over the stored runs is ``target`` wide.

    Never before ``MIN_RUNS_FOR_STOP`` runs are stored.
    """
    x = column(table, metric)
    h = halfwidth(x)
    return int(np.isfinite(x).sum()) >= MIN_RUNS_FOR_STOP and h <= target, h


def check_metric(table: pa.Table, metric: str) -> None:
    """Refuse a stopping metric the stored runs do not have (with the nearest names)."""
    names = metric_columns(table)
    if metric not in names:
        near = difflib.get_close_matches(metric, names, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise IamdError(f"--until-ci: no metric {metric!r} in the runs{hint}")


def run_mc(
    store: Store,
    job: Job,
    runs: int,
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    until: tuple[str, float] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> JobResult:
    """Run the replications ``0 .. runs - 1`` that ``store`` does not hold yet.

    Parameters
    ----------
    store : the results directory (its job must match ``job``).
    job : the scenario, changes and seed.
    runs : replications wanted in all (a resumed job runs only the missing ones).
    workers : local processes (default: every core); 1 runs in this process.
    scheduler : a Dask scheduler address; ``workers`` is then ignored.
    batch_size : runs per stored batch (default :func:`default_batch_size`).
    until : ``(METRIC, HALFWIDTH)``: stop adding batches once the 95 % interval of
        METRIC is that narrow (checked after each round of batches, one per worker, and
        from ``MIN_RUNS_FOR_STOP`` runs on).
    progress : called with (runs stored, runs wanted) after each batch.

    Raises
    ------
    StoreError
        When the store holds another job, or cannot be written.
    """
    if runs < 1:
        raise IamdError(f"--runs must be at least 1, got {runs}")
    store.claim(job.record(), job.document)
    done = store.done()
    todo = [i for i in range(runs) if i not in done]
    n_workers = workers or os.cpu_count() or 1
    size = batch_size or default_batch_size(len(todo) or runs, n_workers)
    queue = batches_of(todo, size)
    stored = len(done & set(range(runs)))
    outcome = JobResult(requested=runs, stored=stored, ran=0, skipped=stored)
    if progress:
        progress(stored, runs)
    if until and ci_reached(store.table(), *until)[0]:
        queue, outcome.stopped_by_ci = [], True
    executor: _Pool | _Dask | None = None
    if scheduler:
        executor = _Dask(scheduler)
    elif n_workers > 1 and queue:
        executor = _Pool(n_workers)
    round_size = max(n_workers, 1) if until else len(queue)
    try:
        while queue:
            wave, queue = queue[:round_size], queue[round_size:]
            for rows in _results(executor, job, wave):
                store.write_batch(rows)
                outcome.ran += len(rows)
                outcome.stored += len(rows)
                if progress:
                    progress(outcome.stored, runs)
            if until:
                table = store.table()
                check_metric(table, until[0])
                if ci_reached(table, *until)[0]:
                    outcome.stopped_by_ci = True
                    break
    finally:
        if executor is not None:
            executor.shutdown()
        outcome.summary = summarise_store(store, runs)
        store.write_summary(outcome.summary)
    return outcome

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
    ``concurrent.futures.ProcessPoolExecutor`` on ``workers`` processes (spawned); a
    worker ends when the job process dies, however it dies (:func:`iamd.lifetime.exit_with_parent`).
Dask
    ``distributed.Client(scheduler)`` on an existing cluster; workers need iamd installed.

Each batch is stored as soon as it completes, so a killed job loses only batches in flight.
The job holds its store's lock throughout (:meth:`iamd.analysis.store.Store.writing`).
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import numpy as np
import pyarrow as pa

from iamd.analysis.job import Job, resumed_record
from iamd.analysis.metrics import Row, summary_metrics, summary_row
from iamd.analysis.stats import describe, halfwidth
from iamd.analysis.store import Store, StoreError, column, metric_columns
from iamd.errors import IamdError
from iamd.lifetime import exit_with_parent
from iamd.scenario.load import Scenario
from iamd.scenario.schema import check_seed

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


def run_batch(scenario: Scenario, seed: int, runs: list[int]) -> list[Row]:
    """Run replications ``runs`` of ``scenario``; one flat row each.

    A row holds the run index, the root seed and the run's
    :func:`iamd.analysis.metrics.summary_row`.
    """
    from iamd.sim.run import simulate

    rows = []
    for i in runs:  # one replication each (seconds of work): not a hot loop
        result = simulate(scenario, seed, replication=i)
        rows.append({"run": i, "seed": seed, **summary_row(result.summary)})
    return rows


@dataclass(slots=True)
class JobResult:
    """What a call of :func:`run_mc` did.

    ``model_changes`` lists what changed in the model since the store was started, when
    the resume was allowed with ``allow_model_change``.
    """

    requested: int
    stored: int
    ran: int
    skipped: int
    stopped_by_ci: bool = False
    summary: dict[str, Any] = field(default_factory=dict)
    model_changes: list[str] = field(default_factory=list)


def default_batch_size(n_runs: int, workers: int) -> int:
    """About four batches per worker, at most 25 runs each (what a kill can lose)."""
    return max(1, min(25, math.ceil(n_runs / (4 * max(workers, 1)))))


def batches_of(todo: list[int], size: int) -> list[list[int]]:
    return [todo[k : k + size] for k in range(0, len(todo), size)]


def start_worker(parent_pid: int, tracking: str | None = None) -> None:
    """A pool worker's start: end with the parent, and load the compiled kernels its
    replications run (in ``tracking`` mode) from the cache before the first one arrives."""
    from iamd.warmup import warm_kernels

    exit_with_parent(parent_pid)
    warm_kernels(tracking=tracking)


class _Pool:
    def __init__(self, workers: int, tracking: str | None = None) -> None:
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=start_worker,
            initargs=(os.getpid(), tracking),
        )

    def submit(self, fn: Callable[..., list[Row]], *args: Any) -> Future[list[Row]]:
        return self.pool.submit(fn, *args)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    def __init__(self, address: str, tracking: str | None = None) -> None:
        from distributed import Client

        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise IamdError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        from iamd.warmup import warm_kernels

        # each worker loads (or compiles) the kernels once
        self.client.run(warm_kernels, False, tracking)

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
            try:
                rows = fut.result()
            except BrokenProcessPool:
                raise IamdError(WORKER_DIED) from None
            yield rows


WORKER_DIED = (
    "a worker process died (killed, or out of memory: try fewer --workers); "
    "the batches stored so far are kept, and the same command resumes from them"
)


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


def check_metric(scenario: Scenario, metric: str) -> None:
    """Refuse a stopping metric the runs of ``scenario`` will not have (nearest names given).

    Raises
    ------
    IamdError
        For an unknown name, before anything is run.
    """
    names = summary_metrics(scenario)
    if metric not in names:
        near = difflib.get_close_matches(metric, names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise IamdError(f"--until-ci: the runs of {scenario.name} have no metric {metric!r}{hint}")


def _claim(store: Store, job: Job, allow_model_change: bool) -> list[str]:
    """Start a new store for ``job`` or check an existing one; return model changes accepted."""
    record, old = job.record(), store.job()
    if old is None:
        if store.files():
            raise StoreError(f"{store.root} holds batches but no job.json; use a new --out")
        store.write_job(record, job.document)
        return []
    updated, changes = resumed_record(str(store.root), old, record, allow_model_change)
    if updated is not None:
        store.write_job(updated)
    return changes


def run_mc(
    store: Store,
    job: Job,
    runs: int,
    workers: int | None = None,
    scheduler: str | None = None,
    batch_size: int | None = None,
    until: tuple[str, float] | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_model_change: bool = False,
    command: str = "iamd mc",
) -> JobResult:
    """Run the replications ``0 .. runs - 1`` that ``store`` does not hold yet.

    The store is locked for the whole job: a second writer is refused.

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
    allow_model_change : resume although the iamd version, the catalog or the resolved
        scenario changed since the store was started.
    command : names this job to a second writer that is refused.

    Raises
    ------
    StoreError
        When the store holds another job, is in use, is damaged or cannot be written.
    IamdError
        For a bad ``runs``, seed or stopping metric (before anything is run).
    """
    if runs < 1:
        raise IamdError(f"--runs must be at least 1, got {runs}")
    check_seed(job.seed)
    if until:
        check_metric(job.scenario, until[0])
    with store.writing(command):
        changes = _claim(store, job, allow_model_change)
        outcome = _run_locked(store, job, runs, workers, scheduler, batch_size, until, progress)
    outcome.model_changes = changes
    return outcome


def _run_locked(
    store: Store,
    job: Job,
    runs: int,
    workers: int | None,
    scheduler: str | None,
    batch_size: int | None,
    until: tuple[str, float] | None,
    progress: Callable[[int, int], None] | None,
) -> JobResult:
    """:func:`run_mc` once the store is held and claimed."""
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
    tracking = job.scenario.spec.tracking.mode
    if scheduler:
        executor = _Dask(scheduler, tracking)
    elif n_workers > 1 and queue:
        executor = _Pool(n_workers, tracking)
    round_size = max(n_workers, 1) if until else len(queue)
    provenance = job.provenance()
    try:
        while queue:
            wave, queue = queue[:round_size], queue[round_size:]
            for rows in _results(executor, job, wave):
                store.write_batch(rows, provenance)
                outcome.ran += len(rows)
                outcome.stored += len(rows)
                if progress:
                    progress(outcome.stored, runs)
            if until and ci_reached(store.table(), *until)[0]:
                outcome.stopped_by_ci = True
                break
    except BaseException:
        # the summary of what was stored is still wanted, but the error that stopped the
        # job is what the user must see (a full disk fails the summary write too)
        with contextlib.suppress(StoreError):
            _finish(store, executor, outcome, runs)
        raise
    _finish(store, executor, outcome, runs)
    return outcome


def _finish(store: Store, executor: _Pool | _Dask | None, outcome: JobResult, runs: int) -> None:
    if executor is not None:
        executor.shutdown()
    outcome.summary = summarise_store(store, runs)
    store.write_summary(outcome.summary)

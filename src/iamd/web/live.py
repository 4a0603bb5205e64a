"""Runs started from the browser: one spawned process each, events streamed back.

A run is a child process (``spawn``: nothing of the server is inherited) that validates
the scenario, simulates it and writes a normal run directory. While it runs it puts
messages on a queue: ``progress`` (simulation time and the notable events up to it, in
time order), then ``done`` (the run directory's name and headline) or ``error``. A thread
of the server moves them to the job, where WebSocket clients read them from the start,
so a client that connects late still sees the whole run.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import threading
import uuid
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import numpy as np

from iamd.errors import IamdError, ScenarioError
from iamd.geo import ecef2geodetic
from iamd.web.replay import EVENT_KINDS

LIVE_KINDS = EVENT_KINDS
"""Event kinds streamed live: those the replay shows."""


def problem_dicts(exc: ScenarioError) -> list[dict[str, Any]]:
    """A scenario's problems as JSON: ``[{"line", "col", "message"}, ...]``."""
    return [{"line": p.line, "col": p.col, "message": p.message} for p in exc.problems]


class _Stream:
    """Turns the growing event log into time-ordered batches of notable events."""

    def __init__(self) -> None:
        self.seen = 0
        self.pending: list[tuple[float, str, int, float, float]] = []

    def take(self, t_s: float, log: Any) -> list[list[Any]]:
        for k in range(self.seen, len(log.t_s)):  # new chunks of the log since the last call
            kinds = log.kind[k]
            if not kinds or kinds[0] not in LIVE_KINDS:
                continue
            lat, lon, _ = ecef2geodetic(log.ecef_m[k])
            for t, th, la, lo in zip(
                log.t_s[k], log.threat[k], np.degrees(lat), np.degrees(lon), strict=True
            ):
                self.pending.append((float(t), kinds[0], int(th), float(la), float(lo)))
        self.seen = len(log.t_s)
        self.pending.sort(key=lambda r: r[0])
        cut = 0
        while cut < len(self.pending) and self.pending[cut][0] <= t_s:
            cut += 1
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        return [
            [
                round(t, 1),
                kind,
                th,
                round(la, 4) if np.isfinite(la) else None,
                round(lo, 4) if np.isfinite(lo) else None,
            ]
            for t, kind, th, la, lo in ready
        ]


def _worker(source: dict[str, Any], seed: int | None, out_dir: str, queue: Queue[Any]) -> None:
    """Child process: validate, simulate with a streamed log, write the run directory."""
    try:
        from iamd.scenario.load import load_scenario, load_scenario_text
        from iamd.sim.run import simulate, write_run_dir

        if "yaml" in source:
            scenario = load_scenario_text(source["yaml"], source.get("file", "upload.yaml"))
        else:
            scenario = load_scenario(source["scenario"])
        stream = _Stream()
        duration = float(scenario.spec.duration_s)
        queue.put({"type": "start", "scenario": scenario.name, "duration_s": duration})

        def watch(t_s: float, log: Any) -> None:
            queue.put({"type": "progress", "t_s": round(t_s, 1), "events": stream.take(t_s, log)})

        result = simulate(scenario, seed, watch=watch)
        write_run_dir(result, Path(out_dir), with_map=False)
        threats = result.summary["threats"]
        queue.put(
            {
                "type": "done",
                "run": Path(out_dir).name,
                "threats": {k: threats[k] for k in ("launched", "intercepted", "impacted_asset")},
            }
        )
    except ScenarioError as exc:
        queue.put(
            {
                "type": "error",
                "message": f"{len(exc.problems)} problem(s) found",
                "problems": problem_dicts(exc),
            }
        )
    except IamdError as exc:
        queue.put({"type": "error", "message": str(exc)})
    except Exception as exc:  # the server must hear of any failure of the child
        queue.put({"type": "error", "message": f"internal error: {type(exc).__name__}: {exc}"})


@dataclass
class Job:
    """A run started from the browser and every message it has sent."""

    id: str
    run: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] in ("done", "error"):
            self.finished = True
        self.changed.set()


class Runner:
    """Starts runs in child processes, at most ``max_runs`` at a time."""

    def __init__(self, runs_dir: Path, max_runs: int) -> None:
        self.runs_dir = runs_dir
        self.max_runs = max_runs
        self.jobs: dict[str, Job] = {}
        self.active = 0
        self.lock = threading.Lock()
        self.ctx = mp.get_context("spawn")

    def start(self, source: dict[str, Any], seed: int | None, label: str) -> Job | None:
        """Start a run, or None when ``max_runs`` are already running."""
        with self.lock:
            if self.active >= self.max_runs:
                return None
            self.active += 1
        try:
            job_id = uuid.uuid4().hex[:12]
            run = f"web-{label}-{job_id}"
            job = Job(job_id, run)
            self.jobs[job_id] = job
            loop = asyncio.get_running_loop()
            queue: Queue[Any] = self.ctx.Queue()
            proc = self.ctx.Process(
                target=_worker,
                args=(source, seed, str(self.runs_dir / run), queue),
                daemon=True,
            )
            proc.start()
        except BaseException:
            with self.lock:
                self.active -= 1
            raise
        threading.Thread(target=self._pump, args=(job, proc, queue, loop), daemon=True).start()
        return job

    def _pump(
        self, job: Job, proc: Any, queue: Queue[Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        """Server thread: move the child's messages to the job until it ends.

        The run's slot is released before its last message is delivered, so a client that
        starts the next run on hearing ``done`` is not refused.
        """
        released = False
        try:
            while True:
                try:
                    msg = queue.get(timeout=1.0)
                except Exception:  # queue.Empty: is the child still alive?
                    if proc.is_alive():
                        continue
                    msg = {"type": "error", "message": "the run stopped unexpectedly"}
                last = msg["type"] in ("done", "error")
                if last:
                    proc.join(timeout=30)
                    self._release()
                    released = True
                try:
                    loop.call_soon_threadsafe(job.add, msg)
                except RuntimeError:  # the server's loop is closed: it is shutting down
                    break
                if last:
                    break
        finally:
            if not released:
                self._release()

    def _release(self) -> None:
        with self.lock:
            self.active -= 1

    def shutdown(self) -> None:
        for child in mp.active_children():
            child.terminate()

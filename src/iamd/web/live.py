"""Runs started from the browser: one spawned process each, events streamed back.

A run is a child process (``spawn``: nothing of the server is inherited) that validates
the scenario, simulates it and writes a normal run directory. While it runs it sends
messages down a pipe: ``start``, ``progress`` (simulation time and the notable events up
to it, in time order), then ``done`` (the run directory's name and headline) or
``error``. A thread of the server moves them to the job, where WebSocket clients read
them from the start, so a client that connects late still sees the whole run.

A run is bounded: its address space by ``RLIMIT_AS`` (set in the child once its modules
are loaded; an allocation past it raises ``MemoryError``, reported as "stopped: needed
more than N MB"), its wall time by the server thread, which kills it past the limit
("stopped: ran longer than N s"). A user can cancel it (``cancelled``). The child writes
into a hidden ``.partial-RUN`` directory that it renames to ``RUN`` when complete; a run
that does not finish leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import pickle
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from iamd.errors import IamdError, ScenarioError
from iamd.geo import ecef2geodetic
from iamd.lifetime import exit_with_parent
from iamd.web.redact import redact_paths
from iamd.web.replay import EVENT_KINDS

LIVE_KINDS = EVENT_KINDS
"""Event kinds streamed live: those the replay shows."""
FINAL = ("done", "error", "cancelled")
"""Message types that end a job."""
PARTIAL_PREFIX = ".partial-"
"""Name prefix of a run directory being written (hidden: never listed or served)."""
POLL_S = 0.2
"""How often the server thread looks at a silent child (cancel, wall time, death)."""
KEPT_JOBS = 32
"""Ended jobs whose messages are kept for late WebSocket clients (the oldest go first)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one run started from the browser may use.

    Attributes
    ----------
    timeout_s : float
        Wall time from start to finish, s.
    memory_mb : int
        Address space of the child process, MiB.
    """

    timeout_s: float = 600.0
    memory_mb: int = 4096


def problem_dicts(exc: ScenarioError) -> list[dict[str, Any]]:
    """A scenario's problems as JSON: ``[{"line", "col", "message"}, ...]``."""
    return [
        {"line": p.line, "col": p.col, "message": redact_paths(p.message)} for p in exc.problems
    ]


class _Stream:
    """Turns the growing event log into time-ordered batches of notable events.

    Each event is ``[t_s, kind, threat, lat_deg, lon_deg, rounds]``; ``rounds`` is the
    salvo of a ``launch_interceptor`` (1 for other kinds).
    """

    def __init__(self) -> None:
        self.seen = 0
        self.pending: list[tuple[float, str, int, float, float, int]] = []

    def take(self, t_s: float, log: Any) -> list[list[Any]]:
        log.flush()
        for k in range(self.seen, len(log.t_s)):  # new chunks of the log since the last call
            kinds = log.kind[k]
            if not kinds or kinds[0] not in LIVE_KINDS:
                continue
            lat, lon, _ = ecef2geodetic(log.ecef_m[k])
            value = np.asarray(log.value[k], dtype=np.float64)
            rounds = np.where(np.isfinite(value) & (value >= 1), np.round(value), 1)
            if kinds[0] != "launch_interceptor":
                rounds = np.ones_like(rounds)
            for t, th, la, lo, n in zip(
                log.t_s[k], log.threat[k], np.degrees(lat), np.degrees(lon), rounds, strict=True
            ):
                self.pending.append((float(t), kinds[0], int(th), float(la), float(lo), int(n)))
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
                n,
            ]
            for t, kind, th, la, lo, n in ready
        ]


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space of this process at ``memory_mb`` MiB (``RLIMIT_AS``).

    Numerical libraries allocate their buffers on first use; a tiny product first makes
    OpenBLAS allocate its own before the cap, so a run past the cap fails with a clean
    ``MemoryError`` rather than inside BLAS.
    """
    import resource

    np.dot(np.ones((4, 4)), np.ones((4, 4)))
    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _bundled(name: str) -> tuple[str, str]:
    """Text and file name of the bundled scenario ``name``."""
    from importlib import resources

    entry = resources.files("iamd.scenario").joinpath("library", f"{name}.yaml")
    return entry.read_text("utf-8"), f"{name}.yaml"


def _worker(
    source: dict[str, Any],
    seed: int | None,
    partial_dir: str,
    memory_mb: int,
    conn: Connection,
    server_pid: int,
) -> None:
    """Child process: validate, simulate with a streamed log, write the run directory.

    The child ends with the server, however the server ends
    (:func:`iamd.lifetime.exit_with_parent`).
    """
    exit_with_parent(server_pid)
    out_of_memory = pickle.dumps(
        {
            "type": "error",
            "reason": "memory",
            "message": f"stopped: needed more than {memory_mb} MB",
        }
    )  # made before the cap: sending it needs no memory the cap could refuse
    partial = Path(partial_dir)
    final = partial.with_name(partial.name.removeprefix(PARTIAL_PREFIX))
    try:
        from iamd.scenario.load import load_scenario_text
        from iamd.sim.run import simulate, write_run_dir
        from iamd.warmup import warm_kernels

        if "yaml" in source:
            scenario = load_scenario_text(source["yaml"], source.get("file", "upload.yaml"))
        else:  # a bundled name, read from the package (never a path on the server)
            scenario = load_scenario_text(*_bundled(source["scenario"]))
        stream = _Stream()
        duration = float(scenario.spec.duration_s)
        conn.send({"type": "start", "scenario": scenario.name, "duration_s": duration})

        def watch(t_s: float, log: Any) -> None:
            conn.send({"type": "progress", "t_s": round(t_s, 1), "events": stream.take(t_s, log)})

        warm_kernels(everything=True)  # compiled code is mapped before the cap, never refused by it
        _limit_memory(memory_mb)
        result = simulate(scenario, seed, watch=watch)
        write_run_dir(result, partial, with_map=False)
        os.replace(partial, final)
        threats = result.summary["threats"]
        conn.send(
            {
                "type": "done",
                "run": final.name,
                "threats": {k: threats[k] for k in ("launched", "intercepted", "impacted_asset")},
            }
        )
    except MemoryError:
        conn.send_bytes(out_of_memory)
    except ScenarioError as exc:
        conn.send(
            {
                "type": "error",
                "message": f"{len(exc.problems)} problem(s) found",
                "problems": problem_dicts(exc),
            }
        )
    except IamdError as exc:
        conn.send({"type": "error", "message": redact_paths(str(exc))})
    except Exception as exc:  # the server must hear of any failure of the child
        message = f"internal error: {type(exc).__name__}: {exc}"
        conn.send({"type": "error", "message": redact_paths(message)})


@dataclass
class Job:
    """A run started from the browser and every message it has sent."""

    id: str
    run: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    cancel: threading.Event = field(default_factory=threading.Event)

    def add(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] in FINAL:
            self.finished = True
        self.changed.set()


def _stop(proc: Any) -> None:
    """Terminate a child, then kill it if it has not ended within a grace period."""
    if proc.is_alive():
        proc.terminate()
        proc.join(timeout=2.0)
    if proc.is_alive():
        proc.kill()
    proc.join(timeout=10.0)


def _remove(path: Path) -> None:
    """Remove a run directory this server created (a symlink put in its place is unlinked)."""
    if path.is_symlink():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


class Runner:
    """Starts runs in child processes, at most ``max_runs`` at a time, within ``limits``."""

    def __init__(self, runs_dir: Path, max_runs: int, limits: Limits | None = None) -> None:
        self.runs_dir = runs_dir
        self.max_runs = max_runs
        self.limits = limits or Limits()
        self.jobs: dict[str, Job] = {}
        self.procs: dict[str, Any] = {}
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
            job = Job(job_id, f"web-{label}-{job_id}")
            loop = asyncio.get_running_loop()
            receive, send = self.ctx.Pipe(duplex=False)
            partial = self.runs_dir / f"{PARTIAL_PREFIX}{job.run}"
            proc = self.ctx.Process(
                target=_worker,
                args=(source, seed, str(partial), self.limits.memory_mb, send, os.getpid()),
                daemon=True,
            )
            proc.start()
            send.close()  # the child holds the sending end: EOF here when it ends
            self._forget_ended()
            self.jobs[job_id] = job
            self.procs[job_id] = proc
        except BaseException:
            self._release()
            raise
        threading.Thread(target=self._pump, args=(job, proc, receive, loop), daemon=True).start()
        return job

    def _forget_ended(self) -> None:
        """Drop the oldest ended jobs beyond ``KEPT_JOBS`` (a long-lived server stays small)."""
        ended = [k for k, job in self.jobs.items() if job.finished]
        for job_id in ended[: max(0, len(ended) - KEPT_JOBS + 1)]:
            del self.jobs[job_id]

    def cancel(self, job_id: str) -> bool | None:
        """Ask job ``job_id`` to stop: True when asked, False when it has ended, None if unknown."""
        job = self.jobs.get(job_id)
        if job is None:
            return None
        if job.finished:
            return False
        job.cancel.set()
        return True

    def _next(self, job: Job, proc: Any, conn: Connection, deadline_s: float) -> dict[str, Any]:
        """The child's next message, or the message that ends it (cancel, wall time, death)."""
        while True:
            # before each message, not only when the child is silent: a child that talks
            # without pause is still cancelled and still stopped at its wall time
            if job.cancel.is_set():
                _stop(proc)
                return {"type": "cancelled", "message": "cancelled"}
            if time.monotonic() > deadline_s:
                _stop(proc)
                limit = self.limits.timeout_s
                return {
                    "type": "error",
                    "reason": "timeout",
                    "message": f"stopped: ran longer than {limit:g} s",
                }
            try:
                if conn.poll(POLL_S):
                    msg: dict[str, Any] = conn.recv()
                    return msg
            except (EOFError, OSError):  # the child has ended without a last message
                proc.join(timeout=5.0)
                return self._ended(proc, job)
            except Exception:  # a message that does not unpickle: the child is broken
                _stop(proc)
                return {"type": "error", "message": "internal error: unreadable message"}
            if not proc.is_alive() and not conn.poll(0):
                return self._ended(proc, job)

    def _ended(self, proc: Any, job: Job) -> dict[str, Any]:
        if job.cancel.is_set():
            return {"type": "cancelled", "message": "cancelled"}
        code = proc.exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        hint = f"; it may have needed more than {self.limits.memory_mb} MB" if code else ""
        return {"type": "error", "message": f"the run stopped unexpectedly ({how}){hint}"}

    def _pump(self, job: Job, proc: Any, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        """Server thread: move the child's messages to the job until it ends.

        The run's slot is released (and a partial run directory removed) before its last
        message is delivered, so a client that starts the next run on hearing the end is
        not refused.
        """
        deadline_s = time.monotonic() + self.limits.timeout_s
        try:
            while True:
                msg = self._next(job, proc, conn, deadline_s)
                last = msg["type"] in FINAL
                if last:
                    self._finish(job, proc, done=msg["type"] == "done")
                try:
                    loop.call_soon_threadsafe(job.add, msg)
                except RuntimeError:  # the server's loop is closed: it is shutting down
                    break
                if last:
                    break
        finally:
            conn.close()
            if self.procs.pop(job.id, None) is not None:  # not finished above
                _stop(proc)
                self._cleanup(job)
                self._release()

    def _finish(self, job: Job, proc: Any, done: bool) -> None:
        proc.join(timeout=30.0)
        _stop(proc)
        if not done:
            self._cleanup(job)
        self.procs.pop(job.id, None)
        self._release()

    def _cleanup(self, job: Job) -> None:
        _remove(self.runs_dir / f"{PARTIAL_PREFIX}{job.run}")
        _remove(self.runs_dir / job.run)

    def _release(self) -> None:
        with self.lock:
            self.active -= 1

    def shutdown(self) -> None:
        """Stop every run still going and remove what it had written."""
        for job_id, proc in list(self.procs.items()):
            job = self.jobs[job_id]
            job.cancel.set()
            _stop(proc)
            self._cleanup(job)

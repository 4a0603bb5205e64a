"""Runs started from the browser are bounded: wall time, memory, cancel.

Each test starts a real child process and checks what the WebSocket says, that nothing
of the run is left in ``--runs`` and that its slot is free again (``max_runs=1``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import alive, spawned_children
from fastapi.testclient import TestClient

from iamd.web.app import Settings, create_app

BASE = "http://127.0.0.1:8000"
WS = "ws://127.0.0.1:8000"
JSON = {"Content-Type": "application/json"}


def client_for(runs: Path, **kw: Any) -> TestClient:
    return TestClient(create_app(Settings(runs_dir=runs, max_runs=1, **kw)), base_url=BASE)


def start(client: TestClient, seed: int = 4) -> dict[str, str]:
    r = client.post("/api/runs", content=json.dumps({"scenario": "northern-front", "seed": seed}),
                    headers=JSON)  # fmt: skip
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


def messages(client: TestClient, job: str, on_start: Any = None) -> list[dict[str, Any]]:
    """Every message of ``job`` up to its last; ``on_start()`` once the child has started."""
    out = []
    with client.websocket_connect(f"{WS}/api/live/{job}") as ws:
        while True:
            msg = ws.receive_json()
            out.append(msg)
            if msg["type"] == "start" and on_start is not None:
                on_start()
            if msg["type"] in ("done", "error", "cancelled"):
                return out


def left_behind(runs: Path) -> list[str]:
    return sorted(p.name for p in runs.iterdir())


def test_a_run_past_its_wall_time_is_stopped(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    with client_for(runs, run_timeout_s=0.5) as client:
        job = start(client)
        last = messages(client, job["job"])[-1]
        assert last == {
            "type": "error",
            "reason": "timeout",
            "message": "stopped: ran longer than 0.5 s",
        }
        assert left_behind(runs) == []
        assert client.get(f"/api/runs/{job['run']}/replay").status_code == 404
        start(client)  # the slot is free


def test_a_run_past_its_memory_is_stopped(tmp_path: Path) -> None:
    """The cap (RLIMIT_AS) is below what the loaded interpreter already maps, so the
    simulation's first large allocation fails."""
    runs = tmp_path / "runs"
    runs.mkdir()
    with client_for(runs, run_memory_mb=100) as client:
        job = start(client)
        last = messages(client, job["job"])[-1]
        assert last == {
            "type": "error",
            "reason": "memory",
            "message": "stopped: needed more than 100 MB",
        }
        assert left_behind(runs) == []
        start(client)


def test_a_cancelled_run_stops_and_leaves_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    with client_for(runs) as client:
        job = start(client)
        assert start_refused(client)

        def cancel() -> None:
            r = client.post(f"/api/live/{job['job']}/cancel", content="{}", headers=JSON)
            assert r.status_code == 202 and r.json() == {"job": job["job"], "state": "cancelling"}

        got = messages(client, job["job"], on_start=cancel)
        assert got[0]["type"] == "start"
        assert got[-1] == {"type": "cancelled", "message": "cancelled"}
        assert all(m["type"] != "done" for m in got)
        assert left_behind(runs) == []
        # cancelling what has ended is a conflict; the slot is free for the next run
        r = client.post(f"/api/live/{job['job']}/cancel", content="{}", headers=JSON)
        assert r.status_code == 409
        start(client)


def start_refused(client: TestClient) -> bool:
    r = client.post("/api/runs", content=json.dumps({"scenario": "northern-front"}), headers=JSON)
    return r.status_code == 429


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {**JSON, "Origin": "http://attacker.example"},
     {**JSON, "Sec-Fetch-Site": "cross-site"}, {**JSON, "Host": "attacker.example:8000"}],
)  # fmt: skip
def test_cancel_from_elsewhere_is_refused(tmp_path: Path, headers: dict[str, str]) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    with client_for(runs, run_timeout_s=60) as client:
        job = start(client)
        r = client.post(f"/api/live/{job['job']}/cancel", content="{}", headers=headers)
        assert r.status_code in (403, 415, 421)
        runner = client.app.state.runner  # type: ignore[attr-defined]
        assert not runner.jobs[job["job"]].cancel.is_set()


@pytest.mark.parametrize("limit", [{"run_timeout_s": 0}, {"run_memory_mb": 8}])
def test_nonsense_limits_are_refused(tmp_path: Path, limit: dict[str, float]) -> None:
    from iamd.errors import IamdError

    with pytest.raises(IamdError, match="--run-"):
        create_app(Settings(runs_dir=tmp_path, **limit))  # type: ignore[arg-type]


def test_a_child_that_never_pauses_is_still_cancelled(tmp_path: Path) -> None:
    """Cancel and the wall time are looked at before every message, not only when the
    child is silent: a real child process, and a thread that floods its pipe."""
    import multiprocessing as mp
    import threading
    import time

    from iamd.web.live import Job, Runner

    runner = Runner(tmp_path, max_runs=1)
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=time.sleep, args=(60,), daemon=True)
    proc.start()
    receive, send = ctx.Pipe(duplex=False)
    stop = threading.Event()

    def flood() -> None:
        while not stop.is_set():
            try:
                send.send({"type": "progress", "t_s": 0.0, "events": []})
            except OSError:  # the test has closed the reading end
                return

    flooding = threading.Thread(target=flood, daemon=True)
    flooding.start()
    job = Job("j", "web-j")
    try:
        for _ in range(100):  # the child is talking
            assert runner._next(job, proc, receive, time.monotonic() + 60)["type"] == "progress"
        job.cancel.set()
        for _ in range(1000):
            msg = runner._next(job, proc, receive, time.monotonic() + 60)
            if msg["type"] != "progress":
                break
        assert msg == {"type": "cancelled", "message": "cancelled"}
        assert not proc.is_alive()
        past = runner._next(Job("k", "web-k"), proc, receive, time.monotonic() - 1)
        assert past["reason"] == "timeout"
    finally:
        stop.set()
        receive.close()  # a send blocked on a full pipe fails now
        flooding.join(timeout=10)
        send.close()
        proc.kill()
        proc.join()


def test_ended_jobs_are_forgotten_beyond_a_bound(tmp_path: Path) -> None:
    from iamd.web.live import KEPT_JOBS, Job, Runner

    runner = Runner(tmp_path, max_runs=1)
    for k in range(KEPT_JOBS + 10):
        job = Job(f"{k}", f"web-{k}")
        job.add({"type": "done", "run": job.run})
        runner._forget_ended()
        runner.jobs[job.id] = job
    running = Job("live", "web-live")
    runner.jobs[running.id] = running
    runner._forget_ended()
    assert "live" in runner.jobs  # a job still going is never dropped
    ended = [k for k, job in runner.jobs.items() if job.finished]
    assert ended == [f"{k}" for k in range(11, KEPT_JOBS + 10)]  # the newest, in order


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc")
def test_a_run_ends_when_the_server_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    runs = tmp_path / "runs"
    runs.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = Path(__file__).resolve().parents[1] / "src"
    server = subprocess.Popen(
        [sys.executable, "-m", "iamd", "serve", "--runs", str(runs), "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(src)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    try:
        body = json.dumps({"scenario": "regional-raid", "seed": 1}).encode()
        end = time.monotonic() + 120
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/runs", data=body, headers=JSON
                )
                with urllib.request.urlopen(request, timeout=10) as r:
                    assert r.status == 202
                break
            except OSError:
                assert time.monotonic() < end, "the server did not start"
                time.sleep(0.2)
        while not children:
            assert time.monotonic() < end, "no run started"
            children = spawned_children(server.pid)
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    end = time.monotonic() + 10  # a regional-raid run takes far longer
    while any(alive(c) for c in children):
        assert time.monotonic() < end, "the run went on without its server"
        time.sleep(0.1)

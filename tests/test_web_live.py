"""Runs started from the browser are bounded: wall time, memory, cancel.

Each test starts a real child process and checks what the WebSocket says, that nothing
of the run is left in ``--runs`` and that its slot is free again (``max_runs=1``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
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

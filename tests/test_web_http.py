"""The web server over HTTP: what it serves, what it refuses, live runs over a WebSocket."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from iamd.web.app import Settings, create_app
from iamd.web.live import LIVE_KINDS


@pytest.fixture
def runs(tmp_path: Path, northern_run: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    shutil.copytree(northern_run, root / "north")
    return root


@pytest.fixture
def client(runs: Path):
    with TestClient(create_app(Settings(runs_dir=runs, max_runs=1, max_upload_bytes=8192))) as c:
        yield c


def test_index_static_and_runs(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "maplibre-gl.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/vendor/maplibre-gl.js").status_code == 200
    assert client.get("/api/runs").json() == [
        {"name": "north", "kind": "run", "scenario": "northern-front", "seed": 5}
    ]
    assert "regional-raid" in client.get("/api/scenarios").json()


def test_replay_document_matches_the_run(client: TestClient, runs: Path) -> None:
    doc = client.get("/api/runs/north/replay").json()
    truth = pq.read_table(runs / "north" / "truth.parquet")
    assert len(doc["samples"]["t"]) == truth.num_rows
    assert doc["threats"]["offset"][-1] == truth.num_rows
    ev = pq.read_table(runs / "north" / "events.parquet")
    kinds = ev["kind"].cast("string")
    n_fire = pc.sum(pc.equal(kinds, "launch_interceptor")).as_py()
    assert len(doc["flyouts"]["t0"]) == n_fire
    summary = json.loads((runs / "north" / "summary.json").read_text())
    assert doc["events"]["kind"].count("launch") == summary["threats"]["launched"]
    assert doc["events"]["kind"].count("intercept") == summary["threats"]["intercepted"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/runs/../replay",
        "/api/runs/..%2F..%2Fetc/replay",
        "/api/runs/%2Fetc/files/summary.json",
        "/api/runs/north/files/..%2Fnorth%2Fsummary.json",
        "/api/runs/north/files/truth.parquet",  # not a file the browser may fetch
        "/api/runs/.hidden/replay",
        "/static/../../../../etc/passwd",
        "/static/%2e%2e/%2e%2e/app.py",
        "/api/mc/..%2F..",
    ],
)
def test_path_traversal_is_refused(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404, (url, r.status_code)
    assert "root:" not in r.text and "import" not in r.text


def test_symlink_out_of_runs_is_refused(client: TestClient, runs: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(runs / "north", outside)
    os.symlink(outside, runs / "escape")
    os.symlink(outside / "summary.json", runs / "north" / "report.html")
    assert client.get("/api/runs/escape/replay").status_code == 404
    assert client.get("/api/runs/north/files/report.html").status_code == 404
    assert all(r["name"] != "escape" for r in client.get("/api/runs").json())


def test_oversize_upload_is_refused(client: TestClient) -> None:
    big = "# " + "x" * 9000 + "\n"
    assert client.post("/api/validate", content=big).status_code == 413
    body = json.dumps({"yaml": big})
    assert client.post("/api/runs", content=body).status_code == 413


def test_malformed_json_and_bad_requests(client: TestClient) -> None:
    r = client.post("/api/runs", content=b"{not json")
    assert r.status_code == 400 and "malformed JSON" in r.json()["detail"]
    assert client.post("/api/runs", content=b"[1, 2]").status_code == 400
    assert (
        client.post("/api/runs", content=json.dumps({"scenario": "x", "yaml": "y"})).status_code
        == 400
    )
    assert (
        client.post(
            "/api/runs", content=json.dumps({"scenario": "northern-front", "seed": -1})
        ).status_code
        == 400
    )
    # a scenario name is never a path on the server
    r = client.post("/api/runs", content=json.dumps({"scenario": "/etc/passwd"}))
    assert r.status_code == 404


def test_invalid_scenario_reports_line_numbers_and_runs_nothing(
    client: TestClient, runs: Path
) -> None:
    text = "name: bad\nduration_s: -5\nowners: []\n"
    r = client.post("/api/validate", content=text)
    assert r.status_code == 200 and r.json()["valid"] is False
    assert any(p["line"] == 2 for p in r.json()["problems"])
    r = client.post("/api/runs", content=json.dumps({"yaml": text}))
    assert r.status_code == 422 and r.json()["problems"]
    assert sorted(p.name for p in runs.iterdir()) == ["north"]


def test_yaml_tags_that_build_objects_are_refused(client: TestClient, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"name: !!python/object/apply:os.system ['touch {marker}']\n"
    r = client.post("/api/validate", content=text)
    assert r.status_code == 200 and r.json()["valid"] is False
    assert not marker.exists()


def test_live_run_streams_events_then_replays(client: TestClient, runs: Path) -> None:
    r = client.post("/api/runs", content=json.dumps({"scenario": "northern-front", "seed": 11}))
    assert r.status_code == 202
    job, run = r.json()["job"], r.json()["run"]
    # one run at a time here: a second request is refused while the first runs
    second = client.post("/api/runs", content=json.dumps({"scenario": "northern-front"}))
    assert second.status_code == 429
    messages = []
    with client.websocket_connect(f"/api/live/{job}") as ws:
        while True:
            msg = ws.receive_json()
            messages.append(msg)
            if msg["type"] in ("done", "error"):
                break
    assert messages[0]["type"] == "start" and messages[-1] == {
        "type": "done",
        "run": run,
        "threats": messages[-1]["threats"],
    }
    streamed = [e for m in messages if m["type"] == "progress" for e in m["events"]]
    times = [e[0] for e in streamed]
    assert times == sorted(times)
    # every notable event of the stored log was streamed, once
    ev = pq.read_table(runs / run / "events.parquet")
    kinds = ev["kind"].cast("string").to_pylist()
    stored = sorted(k for k in kinds if k in LIVE_KINDS)
    assert sorted(e[1] for e in streamed) == stored
    assert client.get(f"/api/runs/{run}/replay").status_code == 200
    # and the slot is free again
    r = client.post("/api/runs", content=json.dumps({"scenario": "northern-front", "seed": 12}))
    assert r.status_code == 202


def test_unknown_job(client: TestClient) -> None:
    with client.websocket_connect("/api/live/nope") as ws:
        assert ws.receive_json()["type"] == "error"

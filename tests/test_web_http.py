"""The web server over HTTP: what it serves, what it refuses, live runs over a WebSocket."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from fastapi.testclient import TestClient
from flights import flights as flights_of

from iamd.web.app import Settings, create_app
from iamd.web.live import LIVE_KINDS

BASE = "http://127.0.0.1:8000"
WS = "ws://127.0.0.1:8000"  # Starlette's test client does not apply base_url to WebSockets
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def runs(tmp_path: Path, northern_run: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    shutil.copytree(northern_run, root / "north")
    return root


@pytest.fixture
def client(runs: Path):
    settings = Settings(runs_dir=runs, max_runs=1, max_upload_bytes=8192)
    with TestClient(create_app(settings), base_url=BASE) as c:
        yield c


def post(client: TestClient, url: str, data: object) -> object:
    return client.post(url, content=json.dumps(data), headers=JSON)


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


def test_replay_counts_rounds_like_the_summary(client: TestClient, runs: Path) -> None:
    """Rounds fired and their cost, summed over the replay's flyouts, are summary.json's."""
    doc = client.get("/api/runs/north/replay").json()
    fly, cost = doc["flyouts"], doc["layout"]["interceptor_cost_usd"]
    summary = json.loads((runs / "north" / "summary.json").read_text())
    # the run has salvos: counting launch events would fall short of the summary
    assert len(fly["rounds"]) < sum(v["fired"] for v in summary["interceptors"].values())
    assert sum(fly["rounds"]) == sum(v["fired"] for v in summary["interceptors"].values())
    spent = sum(n * cost[k] for n, k in zip(fly["rounds"], fly["interceptor"], strict=True))
    assert spent == summary["cost_usd"]["interceptors"]
    for name, rec in summary["interceptors"].items():
        fired = sum(n for n, k in zip(fly["rounds"], fly["interceptor"], strict=True) if k == name)
        assert fired == rec["fired"], name
    # and they are the events' values, one engagement per launch event
    ev = pq.read_table(runs / "north" / "events.parquet")
    launch = ev.filter(pc.equal(ev["kind"].cast("string"), "launch_interceptor"))
    assert fly["rounds"] == launch["value"].to_numpy().astype(int).tolist()


def test_replay_of_an_old_run_without_values_counts_one_round(
    client: TestClient, runs: Path
) -> None:
    ev = pq.read_table(runs / "north" / "events.parquet")
    pq.write_table(ev.drop_columns(["value"]), runs / "north" / "events.parquet")
    fly = client.get("/api/runs/north/replay").json()["flyouts"]
    assert fly["rounds"] == [1] * len(fly["t0"])
    # a missing (NaN) value is one round too; the others keep theirs
    value = ev["value"].to_numpy().copy()
    launch = np.flatnonzero(np.array(ev["kind"].cast("string").to_pylist()) == "launch_interceptor")
    salvo = launch[value[launch] > 1]
    value[salvo[0]] = np.nan
    ev = ev.set_column(ev.column_names.index("value"), "value", pa.array(value))
    pq.write_table(ev, runs / "north" / "events.parquet")
    fly = client.get("/api/runs/north/replay").json()["flyouts"]
    expect = [1 if k == salvo[0] else int(value[k]) for k in launch]
    assert fly["rounds"] == expect and 1 < max(expect)


def _samples(doc: dict, i: int) -> np.ndarray:
    """Flyout ``i``'s samples in the replay document: (t, lat, lon, alt) rows."""
    a, b = doc["flyouts"]["offset"][i : i + 2]
    fs = doc["flyout_samples"]
    return np.column_stack([fs[k][a:b] for k in ("t", "lat", "lon", "alt")])


ROUNDED = (0.051, 5.1e-5, 5.1e-5, 0.51)  # the replay's rounding of t, lat, lon, alt


def test_replay_flyouts_follow_the_flown_paths(client: TestClient, runs: Path) -> None:
    """Each flyout carries the samples of interceptors.parquet (its launch first, its end
    last); the launch and end points stay where older pages read them."""
    doc = client.get("/api/runs/north/replay").json()
    fly, flights = doc["flyouts"], flights_of(runs / "north")
    assert len(fly["offset"]) == len(fly["t0"]) + 1 == len(fly["flown"]) + 1
    assert fly["offset"][-1] == len(doc["flyout_samples"]["t"])
    assert {e for e, f in zip(fly["engagement"], fly["flown"], strict=True) if f} == set(flights)
    n = 0
    for i, eng in enumerate(fly["engagement"]):
        got = _samples(doc, i)
        start = [fly["t0"][i], fly["lat0"][i], fly["lon0"][i]]
        end = [fly["t1"][i], fly["lat1"][i], fly["lon1"][i]]
        assert np.allclose(got[0, :3], start, rtol=0, atol=1e-9)
        assert np.allclose(got[-1, :3], end, rtol=0, atol=1e-9)
        if eng in flights:
            assert np.all(np.abs(got - flights[eng]) <= ROUNDED)
            n += len(got)
        else:
            assert len(got) == 2
    assert n == sum(len(f) for f in flights.values()) > 1000


def test_replay_of_an_old_run_without_flights_draws_straight_flyouts(
    client: TestClient, runs: Path
) -> None:
    """A run directory written before interceptors were flown (no interceptors.parquet, no
    event details) still replays: each flyout is its launch and its end."""
    (runs / "north" / "interceptors.parquet").unlink()
    ev = pq.read_table(runs / "north" / "events.parquet")
    pq.write_table(ev.drop_columns(["detail"]), runs / "north" / "events.parquet")
    r = client.get("/api/runs/north/replay")
    assert r.status_code == 200
    doc = r.json()
    fly = doc["flyouts"]
    assert not any(fly["flown"]) and len(fly["t0"]) > 50
    assert fly["offset"] == list(range(0, 2 * len(fly["t0"]) + 1, 2))
    for i in range(len(fly["t0"])):
        expect = [[fly["t0"][i], fly["lat0"][i], fly["lon0"][i]],
                  [fly["t1"][i], fly["lat1"][i], fly["lon1"][i]]]  # fmt: skip
        assert np.allclose(_samples(doc, i)[:, :3], expect, rtol=0, atol=1e-9)


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


def test_no_redirect_echoes_the_host(client: TestClient) -> None:
    for url in ("/api/runs/", "/static", "/api/runs/north/replay/"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 404, url
        assert "location" not in r.headers


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
    assert post(client, "/api/validate", {"yaml": big}).status_code == 413
    assert post(client, "/api/runs", {"yaml": big}).status_code == 413


def test_malformed_json_and_bad_requests(client: TestClient) -> None:
    r = client.post("/api/runs", content=b"{not json", headers=JSON)
    assert r.status_code == 400 and "malformed JSON" in r.json()["detail"]
    assert client.post("/api/runs", content=b"[1, 2]", headers=JSON).status_code == 400
    assert post(client, "/api/runs", {"scenario": "x", "yaml": "y"}).status_code == 400
    assert post(client, "/api/runs", {"scenario": "northern-front", "seed": -1}).status_code == 400
    # a scenario name is never a path on the server
    r = post(client, "/api/runs", {"scenario": "/etc/passwd"})
    assert r.status_code == 404 and "/etc/passwd" not in r.text
    assert post(client, "/api/validate", {"file": "a.yaml"}).status_code == 400
    assert post(client, "/api/validate", ["name: x"]).status_code == 400


@pytest.mark.parametrize("route", ["/api/runs", "/api/validate"])
@pytest.mark.parametrize("nest", ["[", '{"a":'])
def test_deeply_nested_json_is_a_400(runs: Path, route: str, nest: str) -> None:
    settings = Settings(runs_dir=runs, max_upload_bytes=1024 * 1024)
    with TestClient(create_app(settings), base_url=BASE) as client:
        r = client.post(route, content=(nest * 100_000).encode(), headers=JSON)
    assert r.status_code == 400 and "nested too deep" in r.json()["detail"]


def test_invalid_scenario_reports_line_numbers_and_runs_nothing(
    client: TestClient, runs: Path
) -> None:
    text = "name: bad\nduration_s: -5\nowners: []\n"
    r = post(client, "/api/validate", {"yaml": text, "file": "bad.yaml"})
    assert r.status_code == 200 and r.json()["valid"] is False
    assert any(p["line"] == 2 for p in r.json()["problems"])
    r = post(client, "/api/runs", {"yaml": text})
    assert r.status_code == 422 and r.json()["problems"]
    assert sorted(p.name for p in runs.iterdir()) == ["north"]


def test_a_valid_scenario_validates(client: TestClient) -> None:
    from iamd.scenario.load import resolve_scenario_path

    text, _ = resolve_scenario_path("northern-front")
    r = post(client, "/api/validate", {"yaml": text, "file": "mine.yaml"})
    assert r.json() == {"valid": True, "problems": []}


def test_yaml_tags_that_build_objects_are_refused(client: TestClient, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"name: !!python/object/apply:os.system ['touch {marker}']\n"
    r = post(client, "/api/validate", {"yaml": text})
    assert r.status_code == 200 and r.json()["valid"] is False
    assert not marker.exists()


def test_live_run_streams_events_then_replays(client: TestClient, runs: Path) -> None:
    r = post(client, "/api/runs", {"scenario": "northern-front", "seed": 11})
    assert r.status_code == 202
    job, run = r.json()["job"], r.json()["run"]
    # one run at a time here: a second request is refused while the first runs
    assert post(client, "/api/runs", {"scenario": "northern-front"}).status_code == 429
    messages = []
    with client.websocket_connect(f"{WS}/api/live/{job}") as ws:
        while True:
            msg = ws.receive_json()
            messages.append(msg)
            if msg["type"] in ("done", "error", "cancelled"):
                break
    assert messages[0]["type"] == "start" and messages[-1] == {
        "type": "done",
        "run": run,
        "threats": messages[-1]["threats"],
    }
    streamed = [e for m in messages if m["type"] == "progress" for e in m["events"]]
    times = [e[0] for e in streamed]
    assert times == sorted(times)
    # every notable event of the stored log was streamed, once, with its rounds
    ev = pq.read_table(runs / run / "events.parquet")
    kinds = ev["kind"].cast("string").to_pylist()
    stored = sorted(k for k in kinds if k in LIVE_KINDS)
    assert sorted(e[1] for e in streamed) == stored
    summary = json.loads((runs / run / "summary.json").read_text())
    fired = sum(e[5] for e in streamed if e[1] == "launch_interceptor")
    assert fired == sum(v["fired"] for v in summary["interceptors"].values())
    assert client.get(f"/api/runs/{run}/replay").status_code == 200
    # nothing half-written is left, and the slot is free again
    assert not [p for p in runs.iterdir() if p.name.startswith(".")]
    r = post(client, "/api/runs", {"scenario": "northern-front", "seed": 12})
    assert r.status_code == 202


def test_unknown_job(client: TestClient) -> None:
    with client.websocket_connect(f"{WS}/api/live/nope") as ws:
        assert ws.receive_json()["type"] == "error"
    assert post(client, "/api/live/nope/cancel", {}).status_code == 404


def test_owner_colours_that_are_not_hex_are_replaced(client: TestClient, runs: Path) -> None:
    path = runs / "north" / "scenario.yaml"
    sc = yaml.safe_load(path.read_text())
    sc["owners"][0]["colour"] = 'red;background:url(https://evil.example/x)"><img src=x>'
    path.write_text(yaml.safe_dump(sc))
    doc = client.get("/api/runs/north/replay").json()
    colours = [o["colour"] for o in doc["layout"]["owners"]]
    colours += list(doc["class_colours"].values()) + list(doc["layout"]["fate_colours"].values())
    assert colours and all(re.fullmatch(r"#[0-9a-fA-F]{6}", c) for c in colours)
    assert "evil" not in json.dumps(doc["layout"])


def test_class_colours_are_the_same_in_every_run(client: TestClient, runs: Path) -> None:
    """A class keeps its colour when another run has other classes (no per-run order)."""
    shutil.copytree(runs / "north", runs / "fewer")
    truth = pq.read_table(runs / "fewer" / "truth.parquet")
    classes = sorted(set(truth["class"].cast("string").to_pylist()))
    assert len(classes) >= 2
    keep = pc.not_equal(truth["class"].cast("string"), classes[0])
    pq.write_table(truth.filter(keep), runs / "fewer" / "truth.parquet")
    full = client.get("/api/runs/north/replay").json()["class_colours"]
    fewer = client.get("/api/runs/fewer/replay").json()["class_colours"]
    assert set(fewer) == set(classes[1:])
    assert all(fewer[c] == full[c] for c in fewer)
    assert len(set(full.values())) == len(full)
    fates = client.get("/api/runs/north/replay").json()["layout"]["fate_colours"]
    assert not set(full.values()) & set(fates.values())


def test_a_served_report_opens_sandboxed(client: TestClient, runs: Path) -> None:
    """A report.html that anyone wrote into --runs runs no script as the application:
    its response is sandboxed (an origin of its own) and may load no script at all."""
    (runs / "north" / "report.html").write_text(
        "<html><body><script>fetch('/api/runs', {method: 'POST'})</script></body></html>"
    )
    r = client.get("/api/runs/north/files/report.html")
    assert r.status_code == 200
    policy = [p.strip() for p in r.headers["content-security-policy"].split(";")]
    assert policy[0] == "sandbox"  # no allow-scripts, no allow-same-origin
    assert (
        "default-src 'none'" in policy and "script-src" not in r.headers["content-security-policy"]
    )
    assert "frame-ancestors 'none'" in policy
    # the application's own pages keep their policy
    page = client.get("/").headers["content-security-policy"]
    assert "sandbox" not in page and "script-src 'self'" in page

"""Run and Monte Carlo directories the server must not trust: symlinks out of ``--runs``,
dangling links, malformed JSON and Parquet; and no server path in any answer."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from iamd.web.app import Settings, create_app

BASE = "http://127.0.0.1:8000"
PARQUET = ["events.parquet", "truth.parquet", "tracks.parquet", "interceptors.parquet"]
RUN_FILES = [*PARQUET, "scenario.yaml", "summary.json"]


@pytest.fixture
def runs(tmp_path: Path, northern_run: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    shutil.copytree(northern_run, root / "north")
    return root


@pytest.fixture
def outside(tmp_path: Path, northern_run: Path) -> Path:
    """A run directory outside ``--runs`` (what a symlink would point at)."""
    out = tmp_path / "secret"
    shutil.copytree(northern_run, out)
    return out


@pytest.fixture
def client(runs: Path):
    with TestClient(create_app(Settings(runs_dir=runs)), base_url=BASE) as c:
        yield c


def no_server_path(text: str, tmp_path: Path) -> bool:
    return str(tmp_path) not in text and str(tmp_path.resolve()) not in text


def write_store(root: Path, metrics: dict[str, list[float]]) -> None:
    """A Monte Carlo store: one batch file of ``metrics`` per run, job.json, summary.json."""
    (root / "batches").mkdir(parents=True)
    n = len(next(iter(metrics.values())))
    for k in range(n):
        cols = {"run": [k], **{m: [v[k]] for m, v in metrics.items()}}
        pq.write_table(pa.table(cols), root / "batches" / f"runs-{k:07d}-{k:07d}-n1.parquet")
    (root / "job.json").write_text(json.dumps({"scenario": "x"}))
    (root / "summary.json").write_text(json.dumps({"runs": n, "metrics": {}}))


@pytest.mark.parametrize("name", RUN_FILES)
def test_a_run_file_linked_out_of_runs_is_not_read(
    client: TestClient, runs: Path, outside: Path, tmp_path: Path, name: str
) -> None:
    """Each file of a run directory, made a symlink out of ``--runs``, is never read."""
    (runs / "north" / name).unlink()
    os.symlink(outside / name, runs / "north" / name)
    # the outside copy is marked: if it were read, the mark would show
    if name == "summary.json":
        (outside / name).write_text(json.dumps({"scenario": "SECRET", "seed": 99}))
    r = client.get("/api/runs/north/replay")
    listing = client.get("/api/runs")
    assert listing.status_code == 200 and "SECRET" not in listing.text
    if name == "tracks.parquet":  # optional: the replay goes on without it
        assert r.status_code == 200 and r.json()["tracks"]["t"] == []
    elif name == "interceptors.parquet":  # optional: flyouts are straight lines without it
        assert r.status_code == 200 and not any(r.json()["flyouts"]["flown"])
    else:
        assert r.status_code in (404, 422), (name, r.status_code)
        assert "SECRET" not in r.text and no_server_path(r.text, tmp_path)


def test_a_run_linked_in_whole_is_not_listed_or_read(
    client: TestClient, runs: Path, outside: Path
) -> None:
    os.symlink(outside, runs / "linked")
    assert [r["name"] for r in client.get("/api/runs").json()] == ["north"]
    assert client.get("/api/runs/linked/replay").status_code == 404
    assert client.get("/api/runs/linked/files/summary.json").status_code == 404


@pytest.mark.parametrize(
    "damage",
    ["dangling", "loop", "not-an-object", "invalid-json", "a-directory", "binary", "deep"],
)
def test_a_bad_entry_leaves_the_listing_working(
    client: TestClient, runs: Path, tmp_path: Path, damage: str
) -> None:
    bad = runs / "bad"
    shutil.copytree(runs / "north", bad)
    summary = bad / "summary.json"
    summary.unlink()
    if damage == "dangling":
        os.symlink(tmp_path / "nowhere.json", summary)
        os.symlink(tmp_path / "nowhere", runs / "dangling-run")
    elif damage == "loop":
        os.symlink(bad / "loop.json", summary)
        os.symlink(summary, bad / "loop.json")
    elif damage == "not-an-object":
        summary.write_text("[1, 2, 3]")
    elif damage == "invalid-json":
        summary.write_text('{"scenario": ')
    elif damage == "a-directory":
        summary.mkdir()
    elif damage == "binary":
        summary.write_bytes(b"\xff\xfe\x00garbage")
    elif damage == "deep":
        summary.write_text("[" * 100_000)
    r = client.get("/api/runs")
    assert r.status_code == 200, damage
    assert [row["name"] for row in r.json()] == ["north"]
    replay = client.get("/api/runs/bad/replay")
    assert replay.status_code in (404, 422), damage
    assert no_server_path(replay.text, tmp_path)


@pytest.mark.parametrize("name", PARQUET)
@pytest.mark.parametrize("content", [b"not parquet at all", b"PAR1" + b"\0" * 64 + b"PAR1", b""])
def test_malformed_parquet_is_a_clear_422(
    client: TestClient, runs: Path, tmp_path: Path, name: str, content: bytes
) -> None:
    (runs / "north" / name).write_bytes(content)
    r = client.get("/api/runs/north/replay")
    assert r.status_code == 422
    assert r.json()["detail"] == f"north/{name} is not a readable Parquet file"
    assert no_server_path(r.text, tmp_path)


def test_parquet_without_the_columns_is_a_clear_422(
    client: TestClient, runs: Path, tmp_path: Path
) -> None:
    pq.write_table(pa.table({"t_s": [1.0]}), runs / "north" / "events.parquet")
    r = client.get("/api/runs/north/replay")
    assert r.status_code == 422 and "north/events.parquet lacks column(s) kind" in r.text
    assert no_server_path(r.text, tmp_path)


def test_flown_paths_of_the_wrong_content_are_a_clear_422(
    client: TestClient, runs: Path, tmp_path: Path
) -> None:
    path = runs / "north" / "interceptors.parquet"
    pq.write_table(pa.table({"t_s": [1.0]}), path)
    r = client.get("/api/runs/north/replay")
    assert (
        r.status_code == 422 and "north/interceptors.parquet lacks column(s) engagement" in r.text
    )
    flown = pa.table({"engagement": [0], "t_s": ["soon"], "lat_deg": [1.0], "lon_deg": [2.0],
                      "alt_m": [3.0]})  # fmt: skip
    pq.write_table(flown, path)
    r = client.get("/api/runs/north/replay")
    assert r.status_code == 422 and "cannot be replayed" in r.text
    assert no_server_path(r.text, tmp_path)


@pytest.mark.parametrize(
    "text", ["- a\n- b\n", "name: [unclosed\n", "!!python/object/apply:os.system ['true']\n"]
)
def test_a_bad_scenario_yaml_is_a_clear_422(
    client: TestClient, runs: Path, tmp_path: Path, text: str
) -> None:
    (runs / "north" / "scenario.yaml").write_text(text)
    r = client.get("/api/runs/north/replay")
    assert r.status_code == 422 and r.json()["detail"].startswith("north/scenario.yaml ")
    assert no_server_path(r.text, tmp_path)


def test_a_scenario_of_the_wrong_shape_is_a_422(
    client: TestClient, runs: Path, tmp_path: Path
) -> None:
    (runs / "north" / "scenario.yaml").write_text("assets: 3\nowners: {a: 1}\n")
    r = client.get("/api/runs/north/replay")
    assert r.status_code == 422 and "cannot be replayed" in r.text
    assert no_server_path(r.text, tmp_path)


def test_monte_carlo_batches_and_summary_linked_out_are_not_read(
    client: TestClient, runs: Path, tmp_path: Path
) -> None:
    write_store(runs / "mc", {"threats.impacted_asset": [1.0, 2.0, 3.0]})
    secret = tmp_path / "secret-store"
    write_store(secret, {"threats.impacted_asset": [7.0, 7.0, 7.0, 7.0]})
    (secret / "summary.json").write_text(json.dumps({"runs": 4, "note": "SECRET"}))
    os.symlink(secret / "batches" / "runs-0000003-0000003-n1.parquet",
               runs / "mc" / "batches" / "runs-0000003-0000003-n1.parquet")  # fmt: skip
    (runs / "mc" / "summary.json").unlink()
    os.symlink(secret / "summary.json", runs / "mc" / "summary.json")
    doc = client.get("/api/mc/mc").json()
    assert doc["runs"] == [0, 1, 2]
    assert doc["metrics"]["threats.impacted_asset"] == [1.0, 2.0, 3.0]
    assert doc["summary"] is None and "SECRET" not in json.dumps(doc)


def test_a_monte_carlo_store_whose_marker_is_linked_out_is_not_listed(
    client: TestClient, runs: Path, tmp_path: Path
) -> None:
    (runs / "fake").mkdir()
    (tmp_path / "job.json").write_text("{}")
    os.symlink(tmp_path / "job.json", runs / "fake" / "job.json")
    assert [r["name"] for r in client.get("/api/runs").json()] == ["north"]
    assert client.get("/api/mc/fake").status_code == 404


def test_a_malformed_batch_is_a_clear_422(client: TestClient, runs: Path, tmp_path: Path) -> None:
    write_store(runs / "mc", {"threats.impacted_asset": [1.0, 2.0]})
    (runs / "mc" / "batches" / "runs-0000001-0000001-n1.parquet").write_bytes(b"garbage")
    r = client.get("/api/mc/mc")
    assert r.status_code == 422
    assert (
        r.json()["detail"]
        == "mc/batches/runs-0000001-0000001-n1.parquet is not a readable Parquet file"
    )
    assert no_server_path(r.text, tmp_path)


@pytest.mark.parametrize("text", ["[1]", "{", '{"points": 3, "paths": "x"}'])
def test_a_malformed_sweep_json_does_not_break_the_view(
    client: TestClient, runs: Path, text: str
) -> None:
    (runs / "sw").mkdir()
    (runs / "sw" / "sweep.json").write_text(text)
    r = client.get("/api/mc/sw")
    if text == "{":
        assert r.status_code == 422 and r.json()["detail"] == "sw/sweep.json is not valid JSON"
    else:
        assert r.status_code == 200 and r.json()["sweep"] is None


def test_first_metric_varies(client: TestClient, runs: Path) -> None:
    """The view opens on a metric that varies, leakers on assets first."""
    write_store(
        runs / "a", {"threats.launched": [5.0] * 3, "threats.impacted_asset": [0.0, 1.0, 0.0]}
    )
    write_store(runs / "b", {"threats.launched": [5.0] * 3, "threats.impacted_asset": [1.0] * 3,
                             "threats.intercepted": [3.0, 4.0, 4.0]})  # fmt: skip
    assert client.get("/api/mc/a").json()["first_metric"] == "threats.impacted_asset"
    assert client.get("/api/mc/b").json()["first_metric"] == "threats.intercepted"


def test_a_missing_runs_directory_is_refused(tmp_path: Path) -> None:
    from iamd.errors import IamdError

    with pytest.raises(IamdError, match="does not exist; create it"):
        create_app(Settings(runs_dir=tmp_path / "TYPO"))
    assert not (tmp_path / "TYPO").exists()


@pytest.mark.parametrize(
    "message,expected",
    [
        ("cannot read /srv/runs/north/events.parquet: bad", "cannot read events.parquet: bad"),
        ("No such file: '/home/a b/runs/x.yaml'", "No such file: 'x.yaml'"),
        ("[Errno 28] No space left on device: /var/runs/.partial-web-x", "[Errno 28] No space"
         " left on device: .partial-web-x"),
        ("C:\\Users\\me\\runs\\x.json broke", "x.json broke"),
        ("ratio 1/2, km/h, see http://example.org/a/b", "ratio 1/2, km/h, see http://example.org/a/b"),
    ],
)  # fmt: skip
def test_messages_lose_their_server_paths(message: str, expected: str) -> None:
    from iamd.web.redact import redact_paths

    assert redact_paths(message) == expected

"""A run directory reproduces itself, and never mixes two runs."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import without_timings
from typer.testing import CliRunner

from iamd.cli import app

runner = CliRunner()
TABLES = (
    "events.parquet",
    "truth.parquet",
    "tracks.parquet",
    "interceptors.parquet",
    "scenario.yaml",
)


def _run(*args: str) -> None:
    res = runner.invoke(app, ["run", *args, "-q", "--no-map"])
    assert res.exit_code == 0, res.output


def test_a_run_directory_reruns_to_the_same_outputs(tmp_path: Path):
    """``iamd run DIR/scenario.yaml`` validates and, with its own seed, repeats the run
    byte for byte, changes from --set and --without included."""
    first, again = tmp_path / "first", tmp_path / "again"
    _run(
        "regional-raid",
        "--seed",
        "11",
        "--set",
        "duration_s=3000",
        "--set",
        "fire_units.sr-capital.rounds=5",
        "--without",
        "neighbour",
        "--out",
        str(first),
    )
    assert runner.invoke(app, ["validate", str(first / "scenario.yaml")]).exit_code == 0
    _run(str(first / "scenario.yaml"), "--out", str(again))
    for name in TABLES:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    a, b = (json.loads((d / "summary.json").read_text()) for d in (first, again))
    assert without_timings(a) == without_timings(b)
    assert a["seed"] == 11 and "neighbour" not in a["by_owner"]


def test_writing_over_a_run_directory_leaves_nothing_of_the_old_run(tmp_path: Path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", "northern-front", "--out", str(out), "-q"])
    assert res.exit_code == 0 and (out / "map.png").exists()
    (out / "run.czml").write_text("{}")  # an export of the old run
    _run("northern-front", "--seed", "4", "--out", str(out))
    assert sorted(p.name for p in out.iterdir()) == sorted(["summary.json", *TABLES])
    assert json.loads((out / "summary.json").read_text())["seed"] == 4
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_a_directory_that_is_not_a_run_directory_is_left_alone(tmp_path: Path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    res = runner.invoke(app, ["run", "northern-front", "--out", str(out), "-q", "--no-map"])
    assert res.exit_code == 2
    assert "is not a run directory" in res.stderr and "Traceback" not in res.output
    assert (out / "notes.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1


def test_run_takes_set_and_without_like_mc(tmp_path: Path):
    out = tmp_path / "run"
    _run(
        "regional-raid", "--set", "duration_s=1200", "--without", "coalition-air", "--out", str(out)
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sim_duration_s"] == 1200 and "coalition-air" not in summary["by_owner"]
    res = runner.invoke(app, ["run", "northern-front", "--set", "doctrine.salvo=9", "-q"])
    assert res.exit_code == 2 and "--set doctrine.salvo=9" in res.stderr


def test_version_and_seed_bounds():
    from iamd import __version__

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"iamd {__version__}"
    res = runner.invoke(app, ["run", "northern-front", "--seed", str(2**64), "-q"])
    assert res.exit_code == 2 and "--seed must be" in res.stderr


def test_a_wrong_out_is_refused_before_anything_is_simulated(tmp_path: Path, monkeypatch):
    import iamd.sim.run as run_mod

    monkeypatch.setattr(run_mod, "simulate", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    store = tmp_path / "store"
    (store / "batches").mkdir(parents=True)
    (store / "job.json").write_text("{}")
    res = runner.invoke(app, ["run", "northern-front", "--out", str(store), "-q", "--no-map"])
    assert res.exit_code == 2 and "is not a run directory" in res.stderr
    res = runner.invoke(app, ["run", "northern-front", "--out", "/", "-q", "--no-map"])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_a_failed_swap_puts_the_earlier_run_back(tmp_path: Path, monkeypatch):
    import os

    import iamd.sim.run as run_mod

    out = tmp_path / "run"
    _run("northern-front", "--out", str(out))
    before = (out / "events.parquet").read_bytes()
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the new run into place
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(run_mod.os, "replace", flaky)
    res = runner.invoke(app, ["run", "northern-front", "--seed", "3", "--out", str(out), "-q",
                              "--no-map"])  # fmt: skip
    assert res.exit_code == 2 and "cannot write run directory" in res.stderr
    assert (out / "events.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_hand_edited_run_directory_is_a_clear_error(tmp_path: Path):
    import shutil

    import yaml

    out = tmp_path / "run"
    _run("northern-front", "--out", str(out))
    edited = tmp_path / "edited"
    shutil.copytree(out, edited)
    data = yaml.safe_load((edited / "scenario.yaml").read_text())
    del data["assets"][0]["name"]
    data["duration_s"] = "an hour"
    (edited / "scenario.yaml").write_text(yaml.safe_dump(data))
    for fmt in ("czml", "kml"):
        res = runner.invoke(app, ["export", fmt, str(edited)])
        assert res.exit_code == 2 and "is not a valid scenario" in res.stderr, res.output
        assert "missing required key 'name'" in res.stderr and "Traceback" not in res.output

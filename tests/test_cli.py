"""The command line as a user types it (in-process typer runner and a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from iamd.cli import app

runner = CliRunner()


def test_run_writes_a_complete_run_directory(tmp_path: Path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", "southern-front", "--seed", "2", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    for name in (
        "summary.json",
        "events.parquet",
        "truth.parquet",
        "tracks.parquet",
        "scenario.yaml",
        "map.png",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 2 and summary["scenario"] == "southern-front"
    assert (out / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "threat fates" in res.output


def test_resolved_scenario_reloads(tmp_path: Path):
    out = tmp_path / "run"
    assert (
        runner.invoke(app, ["run", "southern-front", "--out", str(out), "-q", "--no-map"]).exit_code
        == 0
    )
    import yaml

    data = yaml.safe_load((out / "scenario.yaml").read_text())
    assert "short_range" in data["catalog"]["interceptors"]


def test_scenarios_and_schema():
    res = runner.invoke(app, ["scenarios"])
    assert res.exit_code == 0
    for name in ("regional-raid", "northern-front", "southern-front"):
        assert name in res.output
    res = runner.invoke(app, ["schema"])
    assert res.exit_code == 0
    assert json.loads(res.output)["title"] == "iamd scenario"


def test_validate_reports_problems_with_exit_2_and_no_traceback(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\norigin: {lat_deg: 100, lon_deg: 0}\nraid: []\n")
    proc = subprocess.run(
        [sys.executable, "-m", "iamd.cli", "validate", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(str(bad))]
    assert any(":2:" in ln and "lat_deg" in ln for ln in lines)
    assert any("raid: is empty" in ln for ln in lines)
    ok = subprocess.run(
        [sys.executable, "-m", "iamd.cli", "validate", "northern-front"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "valid" in ok.stdout


def test_bad_arguments_are_clear():
    res = runner.invoke(app, ["run", "no-such-scenario", "-q"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["run", "southern-front", "--seed", "-1", "-q"])
    assert res.exit_code == 2


def test_unwritable_run_directory_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = runner.invoke(
        app, ["run", "southern-front", "--out", str(blocker / "sub"), "-q", "--no-map"]
    )
    assert res.exit_code == 2


def test_bench_tracking_prints_one_json_object():
    res = runner.invoke(
        app, ["bench", "tracking", "--targets", "20", "--scans", "8", "--clutter", "5", "--json"]
    )
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(row) == {
        "targets",
        "scans",
        "iamd_ms_per_scan",
        "stonesoup_ms_per_scan",
        "speedup",
        "iamd_ospa_m",
        "stonesoup_ospa_m",
    }
    assert row["targets"] == 20 and row["scans"] == 8
    # same detections, same tracker semantics: the same accuracy
    assert row["iamd_ospa_m"] == row["stonesoup_ospa_m"]
    skip = runner.invoke(app, ["bench", "tracking", "--targets", "20", "--no-stonesoup", "--json"])
    assert skip.exit_code == 0, skip.output
    assert json.loads(skip.stdout.strip().splitlines()[-1])["stonesoup_ms_per_scan"] is None
    bad = runner.invoke(app, ["bench", "tracking", "--targets", "0"])
    assert bad.exit_code == 2


def test_bench_tracking_without_stonesoup_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "stonesoup", None)  # import fails as if not installed
    res = runner.invoke(app, ["bench", "tracking", "--targets", "5"])
    assert res.exit_code == 2
    assert "pip install iamd[bench]" in res.output and "--no-stonesoup" in res.output

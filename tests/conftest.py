"""Shared fixtures: small scenarios written as YAML text."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from iamd.scenario.load import Scenario, load_scenario_text

WALL_CLOCK_C2 = ("mean_solve_ms", "max_solve_ms")


def without_timings(summary: dict) -> dict:
    """A summary without its wall-clock fields, for determinism comparisons."""
    out = {k: v for k, v in summary.items() if k != "wall_time_s"}
    out["c2"] = {k: v for k, v in summary["c2"].items() if k not in WALL_CLOCK_C2}
    return out


BASE = """
name: test
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 600
seed: 3
owners:
  - name: blue
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: radar, type: fire_control_radar, owner: blue, lat_deg: 31.95, lon_deg: 35.0, alt_m: 100}
c2_nodes:
  - {name: bmc, owner: blue, lat_deg: 31.95, lon_deg: 35.0, cycle_s: 1}
"""


@pytest.fixture
def make_scenario() -> Callable[[str], Scenario]:
    """Build a scenario from the shared header plus the given YAML (units and raid)."""

    def build(extra: str) -> Scenario:
        return load_scenario_text(BASE + textwrap.dedent(extra), "test.yaml")

    return build


@pytest.fixture(scope="session")
def northern_run(tmp_path_factory: pytest.TempPathFactory):
    """A run directory of the bundled northern-front scenario (seed 5), written once."""
    from iamd.scenario.load import load_scenario
    from iamd.sim.run import simulate, write_run_dir

    out = tmp_path_factory.mktemp("runs") / "north"
    write_run_dir(simulate(load_scenario("northern-front"), seed=5), out, with_map=False)
    return out


LONGEST_FIRST = (
    "test_readme.py",
    "test_kill_audit_regional.py",
    "test_web_browser.py",
    "test_fuzz_inputs.py",
)
"""Test files that take minutes on one worker: collected first, so that pytest-xdist
(``--dist loadfile`` hands out files in collection order) starts them at once instead of
leaving one of them running alone at the end."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within each file is kept


def spawned_children(pid: int) -> list[int]:
    """Live pool workers (spawned children) of process ``pid``, from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in cmdline:
            out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"

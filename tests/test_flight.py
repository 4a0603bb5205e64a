"""Interceptors flown in the engine: guided by the node's track, their end game against the
real object, and the paths they leave in the run directory."""

from __future__ import annotations

import numpy as np

from iamd.geo import geodetic2ecef
from iamd.sim.run import interceptors_table, simulate

UNITS = """
fire_units:
  - {name: sr, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 31.98, lon_deg: 35.0}
raid:
  - threat: rocket_medium
    count: 20
    launch_area: {lat_deg: 32.9, lon_deg: 35.0, radius_km: 5}
    start_s: 10
    interval_s: 6
    targets: [Town]
doctrine: {shoot_look_shoot: true, salvo: 1, kill_assessment_s: 3}
%s
"""
NOISY = """
catalog:
  sensors:
    fire_control_radar: {sigma_range_m: 3000, sigma_angle_mrad: 40}
"""


def ends(result) -> list[dict]:
    table = result.outcome.events.table().to_pylist()
    return [e for e in table if e["kind"] in ("intercept", "miss", "miss_target_gone")]


def test_a_poor_track_makes_the_end_game_miss(make_scenario):
    """The same raid with a radar 100 times noisier: the interceptors fly at tracks kilometres
    off, their closest approaches fall beyond the 1 km divert, and kills drop."""
    good = simulate(make_scenario(UNITS % ""), seed=4)
    poor = simulate(make_scenario(UNITS % NOISY), seed=4)
    g, p = ends(good), ends(poor)
    assert g and p
    divert = good.world.units[0].ic.divert_m
    miss_good = np.array([e["value"] for e in g if e["detail"] == "end_game"])
    miss_poor = np.array([e["value"] for e in p if e["detail"] == "end_game"])
    assert np.median(miss_good) < 0.5 * divert < np.median(miss_poor)
    kills = [r.summary["threats"]["intercepted"] for r in (good, poor)]
    assert kills[0] > kills[1]
    for e in p:
        if e["kind"] == "intercept":
            assert e["value"] <= divert


def test_flown_paths_start_at_the_launcher_and_end_at_the_event(make_scenario):
    r = simulate(make_scenario(UNITS % ""), seed=1)
    paths = interceptors_table(r).to_pydict()
    ev = r.outcome.events.table().to_pylist()
    launches = {e["engagement"]: e for e in ev if e["kind"] == "launch_interceptor"}
    done = {e["engagement"]: e for e in ends(r)}
    e_col = np.asarray(paths["engagement"])
    unit = r.world.units[0]
    assert set(e_col.tolist()) == set(launches)
    for e, launch in launches.items():
        rows = np.flatnonzero(e_col == e)
        t = np.asarray(paths["t_s"])[rows]
        assert np.all(np.diff(t) >= 0)
        assert t[0] == launch["t_s"]
        first = geodetic2ecef(
            np.radians(paths["lat_deg"][rows[0]]),
            np.radians(paths["lon_deg"][rows[0]]),
            paths["alt_m"][rows[0]],
        )
        assert np.linalg.norm(first - unit.ecef_m) < 1.0
        if e in done:
            end = done[e]
            assert t[-1] == end["t_s"]
            assert paths["lat_deg"][rows[-1]] == end["lat_deg"]
            assert t[-1] - t[0] <= unit.ic.max_tof_s + 1e-6
        speeds = np.asarray(paths["speed_m_s"])[rows[1:]]
        assert (speeds > 0).all()
        assert speeds.max() <= unit.ic.burnout_speed_m_s + 100.0

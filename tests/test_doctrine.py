"""Battle-management behaviour in small scenarios, and the assignment kernel."""

from __future__ import annotations

import itertools
import textwrap

import numpy as np
import pytest

from iamd.c2.doctrine import Candidates, assign
from iamd.c2.envelope import laser_dwell_s
from iamd.sim.run import simulate

SR = "{name: sr, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 31.98, lon_deg: 35.0%s}"


def raid(target: str, count: int = 12, extra: str = "") -> str:
    body = f"""
    raid:
      - threat: rocket_short
        count: {count}
        launch_area: {{lat_deg: 32.25, lon_deg: 35.0, radius_km: 2}}
        start_s: 10
        interval_s: 8
        {target}
    """
    return "\n" + textwrap.dedent(body) + textwrap.dedent(extra)


def events(result, kind: str) -> list[dict]:
    table = result.outcome.events.table().to_pylist()
    return [row for row in table if row["kind"] == kind]


def test_rocket_bound_for_open_ground_is_not_engaged(make_scenario):
    open_ground = "aimpoints: [{lat_deg: 32.10, lon_deg: 35.10}]"
    s = make_scenario("fire_units:\n  - " + SR % "" + raid(open_ground))
    r = simulate(s)
    t = r.summary["threats"]
    assert t["engaged"] == 0
    assert t["impacted_open"] == t["launched"] - t["failed"]
    assert t["not_engaged_open_area"] == t["impacted_open"] > 0
    # the same unit told to engage everything does shoot
    s_all = make_scenario("fire_units:\n  - " + SR % ", engage: all" + raid(open_ground))
    assert simulate(s_all).summary["threats"]["engaged"] > 0


def test_threat_outside_every_envelope_is_never_engaged(make_scenario):
    far = "{name: sr, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 30.5, lon_deg: 35.0}"
    r = simulate(make_scenario("fire_units:\n  - " + far + raid("targets: [Town]")))
    assert r.summary["threats"]["engaged"] == 0
    assert r.summary["interceptors"]["short_range"]["fired"] == 0
    assert r.summary["threats"]["impacted_asset"] > 0


def test_rockets_on_the_town_are_engaged_and_mostly_killed(make_scenario):
    r = simulate(make_scenario("fire_units:\n  - " + SR % "" + raid("targets: [Town]", 20)))
    t = r.summary["threats"]
    assert t["engaged"] >= t["launched"] - t["failed"] - 1
    assert t["intercepted"] >= 0.7 * (t["launched"] - t["failed"])


def test_empty_magazine_leads_to_leakers(make_scenario):
    r = simulate(
        make_scenario(
            "fire_units:\n  - " + SR % ", rounds: 0, reloads: 0" + raid("targets: [Town]")
        )
    )
    assert r.summary["interceptors"]["short_range"]["fired"] == 0
    assert r.summary["threats"]["impacted_asset"] > 0
    r3 = simulate(
        make_scenario(
            "fire_units:\n  - " + SR % ", rounds: 3, reloads: 0" + raid("targets: [Town]")
        )
    )
    assert r3.summary["interceptors"]["short_range"]["fired"] == 3
    assert r3.summary["threats"]["impacted_asset"] > 0


SLS_CATALOG = """
    catalog:
      interceptors:
        short_range: {pk: {rocket_short: 0.35}}
    doctrine:
      {shoot_look_shoot: %s, salvo: %d, last_look_salvo: 1, kill_assessment_s: 3, cover_pk: 0}
"""


def test_shoot_look_shoot_fires_again_only_after_a_failed_kill_assessment(make_scenario):
    s = make_scenario(
        "fire_units:\n  - " + SR % "" + raid("targets: [Town]", 20, SLS_CATALOG % ("true", 1))
    )
    r = simulate(s)
    engs = r.outcome.engagements
    ends = events(r, "intercept") + events(r, "miss")
    outcomes = {row["engagement"]: row["kind"] for row in ends}
    ended_s = {row["engagement"]: row["t_s"] for row in ends}  # the closest approach
    seen_second = 0
    for threat in {e.threat for e in engs}:
        mine = [(k, e) for k, e in enumerate(engs) if e.threat == threat]
        for (k1, _), (_, e2) in itertools.pairwise(mine):
            assert outcomes[k1] == "miss"
            assert e2.t_decided_s >= ended_s[k1] + 3.0 - 1e-9
            seen_second += 1
    assert seen_second > 0
    assert all(e.shots == 1 for e in engs)


def test_salvo_without_look_fires_pairs_once(make_scenario):
    s = make_scenario(
        "fire_units:\n  - " + SR % "" + raid("targets: [Town]", 20, SLS_CATALOG % ("false", 2))
    )
    r = simulate(s)
    engs = r.outcome.engagements
    assert engs and all(e.shots == 2 for e in engs)
    threats = [e.threat for e in engs]
    assert len(threats) == len(set(threats))
    assert r.summary["interceptors"]["short_range"]["fired"] == 2 * len(engs)


def test_cheap_layer_preferred_for_drones(make_scenario):
    units = """
    fire_units:
      - {name: mid, interceptor: mid_tier, owner: blue, c2: bmc, lat_deg: 31.9, lon_deg: 35.0}
      - {name: sr, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 31.98, lon_deg: 35.0}
    raid:
      - threat: owa_drone
        count: 6
        launch_area: {lat_deg: 32.8, lon_deg: 35.0, radius_km: 3}
        interval_s: 30
        targets: [Town]
    doctrine: {prefer_cheap: %s}
    """
    r = simulate(make_scenario(units.replace("%s", "true")))
    fired = r.summary["interceptors"]
    assert fired["short_range"]["fired"] > 0
    assert fired["mid_tier"]["fired"] == 0
    r = simulate(make_scenario(units.replace("%s", "false")))
    assert r.summary["interceptors"]["mid_tier"]["fired"] > 0


def brute_force_is_feasible(
    cand: Candidates, units: np.ndarray, rows: np.ndarray, cap: np.ndarray
) -> bool:
    if len(set(rows.tolist())) != rows.size:
        return False
    pairs = set(zip(cand.unit.tolist(), cand.row.tolist(), strict=True))
    if not all((u, r) in pairs for u, r in zip(units.tolist(), rows.tolist(), strict=True)):
        return False
    return bool(np.all(np.bincount(units, minlength=cap.size) <= cap))


def test_assign_respects_capacity_and_serves_priority_first():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n_units, n_rows = 3, 6
        pairs = [(u, r) for u in range(n_units) for r in range(n_rows) if rng.uniform() < 0.6]
        if not pairs:
            continue
        uu, rr = (np.array(x) for x in zip(*pairs, strict=True))
        cand = Candidates(uu, rr, rng.uniform(0.5, 0.9, uu.size), np.full(uu.size, 1.0), uu + 1)
        cap = rng.integers(0, 3, n_units)
        priority = rng.permutation(n_rows)
        au, ar = assign(cand, priority, np.ones(n_rows, bool), cap, True)
        assert brute_force_is_feasible(cand, au, ar, cap)
        # greedy by priority: no unserved threat could have taken a unit with spare capacity
        spare = cap - np.bincount(au, minlength=n_units)
        served = set(ar.tolist())
        for u, r in pairs:
            assert r in served or spare[u] == 0


def test_assign_prefers_upper_layer_for_ballistic_and_cheapest_for_drones():
    cand = Candidates(
        np.array([0, 1, 0, 1]),
        np.array([0, 0, 1, 1]),
        np.full(4, 0.8),
        np.array([3e6, 1e6, 3e6, 1e6]),
        np.array([1, 3, 1, 3]),
    )
    au, ar = assign(cand, np.array([0, 1]), np.array([True, False]), np.array([5, 5]), True)
    chosen = dict(zip(ar.tolist(), au.tolist(), strict=True))
    assert chosen == {0: 0, 1: 1}


def test_laser_dwell_scales_with_range_squared_and_transmission():
    d1 = float(laser_dwell_s(np.array(1000.0), 1e5, 1e-5, 0.0, np.array(1e7)))
    assert d1 == pytest.approx(1e7 * np.pi * (1e-5 * 1000) ** 2 / 1e5)
    d2 = float(laser_dwell_s(np.array(2000.0), 1e5, 1e-5, 0.0, np.array(1e7)))
    assert d2 == pytest.approx(4 * d1)
    d3 = float(laser_dwell_s(np.array(2000.0), 1e5, 1e-5, 1e-4, np.array(1e7)))
    assert d3 == pytest.approx(d2 * np.exp(0.2))


def test_rockets_go_to_the_cheapest_layer_not_the_highest():
    # a rocket (ballistic, no upper tier can take it): laser (layer 5, 2 USD) before
    # short range (layer 4); a ballistic missile an upper tier can take: layer 1 first
    cand = Candidates(
        np.array([0, 1, 2, 3]),
        np.array([0, 0, 1, 1]),
        np.full(4, 0.9),
        np.array([45e3, 2.0, 3.5e6, 3e6]),
        np.array([4, 5, 1, 2]),
    )
    au, ar = assign(cand, np.array([0, 1]), np.array([True, True]), np.ones(4, np.int64), True)
    assert dict(zip(ar.tolist(), au.tolist(), strict=True)) == {0: 1, 1: 2}


def test_laser_takes_rockets_when_both_layers_can(make_scenario):
    # rockets from 10 km: laser and short range can both engage from the start, the
    # laser (2 USD a shot) is preferred and the battery takes what the busy laser cannot
    units = """
    fire_units:
      - {name: sr, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 31.98, lon_deg: 35.0}
      - {name: beam, interceptor: laser, owner: blue, c2: bmc, lat_deg: 32.01, lon_deg: 35.0}
    raid:
      - threat: rocket_short
        count: 12
        launch_area: {lat_deg: 32.09, lon_deg: 35.0, radius_km: 1}
        start_s: 10
        interval_s: 20
        targets: [Town]
    """
    r = simulate(make_scenario(textwrap.dedent(units)))
    laser = r.summary["interceptors"]["laser"]
    assert laser["fired"] > 0 and laser["cost_usd"] < 100

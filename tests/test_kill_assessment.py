"""Kill assessment with error: judgements wrong at their configured rate, and what a wrong
judgement does (a live threat judged destroyed is left alone; a destroyed one judged alive
may draw another shot)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import binom

from iamd.scenario.load import Scenario
from iamd.sim.events import ALIVE, INTERCEPTED
from iamd.sim.run import simulate

UNITS = """
fire_units:
  - {name: sr, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 31.98, lon_deg: 35.0}
raid:
  - threat: rocket_short
    count: %d
    launch_area: {lat_deg: 32.25, lon_deg: 35.0, radius_km: 2}
    start_s: 10
    interval_s: 4
    targets: [Town]
catalog:
  interceptors:
    short_range: {pk: {rocket_short: 0.6}}
  sensors:
    fire_control_radar: {kill_assessment_pc: %g}
doctrine: {shoot_look_shoot: true, salvo: 1, last_look_salvo: 1, kill_assessment_s: 3, cover_pk: 0}
"""


def judgements(
    make: Callable[[str], Scenario], pc: float, count: int, seed: int, picture: str = "system"
) -> dict:
    """Every kill assessment of a run: the judgement, the truth at that time, the threat."""
    r = simulate(make(UNITS % (count, pc) + f"tracking: {{picture: {picture}}}\n"), seed)
    ev = r.outcome.events.table().to_pydict()
    rows = [k for k, kind in enumerate(ev["kind"]) if kind == "kill_assessment"]
    threat = np.array([ev["threat"][k] for k in rows])
    t = np.array([ev["t_s"][k] for k in rows])
    judged = np.array([ev["value"][k] for k in rows]) == 1.0
    gone = (r.outcome.fate[threat] != ALIVE) & (r.outcome.t_fate_s[threat] <= t)
    return {"judged": judged, "gone": gone, "threat": threat, "t": t, "r": r, "ev": ev}


@pytest.mark.parametrize("pc", [0.7, 0.9])
def test_judgements_are_wrong_at_their_configured_rate(make_scenario, pc: float) -> None:
    wrong = n = 0
    for seed in range(4):
        j = judgements(make_scenario, pc, 40, seed)
        wrong += int((j["judged"] != j["gone"]).sum())
        n += j["judged"].size
    assert n > 100
    lo, hi = binom.ppf([0.0005, 0.9995], n, 1.0 - pc)  # a 99.9 % interval
    assert lo <= wrong <= hi, (wrong, n)


def test_perfect_assessment_is_the_default_and_never_wrong(make_scenario) -> None:
    j = judgements(make_scenario, 1.0, 20, 1)
    assert j["judged"].size > 0 and bool((j["judged"] == j["gone"]).all())


def test_what_a_wrong_judgement_does(make_scenario) -> None:
    """Always wrong, with one row per threat (``tracking.picture: by_threat``): every miss
    is judged a kill, so its threat is never shot at again; every kill is judged a miss, so
    the dead threat may draw a shot at nothing."""
    j = judgements(make_scenario, 0.0, 40, 2, picture="by_threat")
    ev, r = j["ev"], j["r"]
    assert bool((j["judged"] != j["gone"]).all())
    launches = [(ev["t_s"][k], ev["threat"][k]) for k, kind in enumerate(ev["kind"])
                if kind == "launch_interceptor"]  # fmt: skip
    fooled = j["judged"] & ~j["gone"]  # a miss judged a kill
    judged_dead_alive = list(zip(j["t"][fooled], j["threat"][fooled], strict=True))
    assert judged_dead_alive, "no miss to judge"
    for t_judged, i in judged_dead_alive:
        assert not any(ti == i and tl > t_judged for tl, ti in launches)
    # the survivors of a miss that was judged a kill fly on unopposed
    missed = {i for _, i in judged_dead_alive}
    assert any(r.outcome.fate[i] != INTERCEPTED for i in missed)
    # a perfect judge would have shot again at some of those
    perfect = judgements(make_scenario, 1.0, 40, 2, picture="by_threat")
    assert perfect["r"].summary["threats"]["intercepted"] > r.summary["threats"]["intercepted"]


def test_a_live_track_judged_destroyed_is_engaged_again_once_it_shows_alive(
    make_scenario,
) -> None:
    """On system tracks, a miss judged a kill leaves its track alone only until the track
    gathers ``confirm_m`` (3) more detections (the 2 s radar: 6 s at least): then the node
    takes it for alive and may engage it again."""
    j = judgements(make_scenario, 0.0, 40, 2)
    ev = j["ev"]
    launches = [(ev["t_s"][k], ev["threat"][k]) for k, kind in enumerate(ev["kind"])
                if kind == "launch_interceptor"]  # fmt: skip
    fooled = j["judged"] & ~j["gone"]
    again = 0
    for t_judged, i in zip(j["t"][fooled], j["threat"][fooled], strict=True):
        later = [tl - t_judged for tl, ti in launches if ti == i and tl > t_judged]
        assert all(dt >= 3 * 2.0 for dt in later), later
        again += bool(later)
    assert again > 0, "no live track judged destroyed was engaged again"


def test_a_shot_at_a_destroyed_threat_misses_where_its_interceptor_flew(make_scenario) -> None:
    """Kills judged misses draw shots at nothing: each such interceptor flies out and ends
    'miss_target_gone', at its own position, never killing anything."""
    j = judgements(make_scenario, 0.0, 40, 2)
    ev, r = j["ev"], j["r"]
    killed_at = {
        ev["threat"][k]: ev["t_s"][k] for k, kind in enumerate(ev["kind"]) if kind == "intercept"
    }
    late = [
        ev["engagement"][k]
        for k, kind in enumerate(ev["kind"])
        if kind == "launch_interceptor" and ev["t_s"][k] > killed_at.get(ev["threat"][k], np.inf)
    ]
    assert late, "no shot at a destroyed threat"
    ends = {
        ev["engagement"][k]: k
        for k, kind in enumerate(ev["kind"])
        if kind in ("intercept", "miss", "miss_target_gone")
    }
    for e in late:
        k = ends[e]
        assert ev["kind"][k] == "miss_target_gone"
        assert np.isfinite([ev["lat_deg"][k], ev["lon_deg"][k], ev["alt_m"][k]]).all()
    assert r.summary["threats"]["intercepted"] == sum(kind == "intercept" for kind in ev["kind"])

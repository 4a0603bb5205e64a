"""Engagement coordination between owners (:mod:`iamd.sim.coordination`): double
engagements under each architecture and link latency, and the status each owner acts on."""

from __future__ import annotations

import heapq
from pathlib import Path

import numpy as np
import pytest
from conftest import without_timings

from iamd import simulate
from iamd.errors import IamdError
from iamd.physics.truth import fly
from iamd.scenario.load import load_scenario_text
from iamd.sim import coordination
from iamd.sim.engine import Engine
from iamd.sim.events import Kind
from iamd.sim.world import build_world

TWO_OWNERS = """
name: two-owners
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 2400
seed: 5
c2: {architecture: %(arch)s}
owners:
  - {name: west, shares_with: [east], share_link: {latency_s: %(latency)s}}
  - {name: east, shares_with: [west], share_link: {latency_s: %(latency)s}%(east)s}
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: aew-west, type: airborne_radar, owner: west, lat_deg: 33.0, lon_deg: 34.9}
  - {name: aew-east, type: airborne_radar, owner: east, lat_deg: 33.0, lon_deg: 35.1}
c2_nodes:
  - {name: west-bmc, owner: west, lat_deg: 32.0, lon_deg: 34.95, cycle_s: 2}
  - {name: east-bmc, owner: east, lat_deg: 32.0, lon_deg: 35.05, cycle_s: 3}
fire_units:
  - {name: west-mid, interceptor: mid_tier, owner: west, c2: west-bmc, lat_deg: 32, lon_deg: 34.97}
  - {name: east-mid, interceptor: mid_tier, owner: east, c2: east-bmc, lat_deg: 32, lon_deg: 34.97}
raid:
  - threat: cruise_missile
    count: %(count)s
    launch_area: {lat_deg: 33.6, lon_deg: 35.0, radius_km: 40}
    interval_s: 90
    targets: [Town]
"""


def run(
    arch: str = "coordinated", latency: float = 2.0, count: int = 1, east: str = "", seed: int = 5
) -> dict:
    text = TWO_OWNERS % {"arch": arch, "latency": latency, "count": count, "east": east}
    return simulate(
        load_scenario_text(text.replace("seed: 5", f"seed: {seed}"), "two.yaml")
    ).summary


def test_one_threat_two_owners_autonomous_double_engage_coordinated_do_not() -> None:
    """Two overlapping batteries of two owners, one cruise missile: without status
    exchange both fire at it; with status at once, the second sees it covered."""
    alone = run("autonomous")
    assert alone["decisions"]["double_engagements"] >= 1
    assert alone["by_owner"]["west"]["fired"] >= 1 and alone["by_owner"]["east"]["fired"] >= 1
    assert alone["decisions"]["status_messages"] == 0
    together = run("coordinated", latency=0.0)
    assert together["decisions"]["double_engagements"] == 0
    assert together["decisions"]["status_messages"] >= 2  # the start and the assessment
    fired = [sum(o["fired"] for o in s["by_owner"].values()) for s in (alone, together)]
    assert fired[1] < fired[0]


def test_an_autonomous_owner_ignores_a_coordinated_partner() -> None:
    """East opts out (an owner's own architecture overrides the coalition's): no status
    goes either way, as with both autonomous."""
    mixed = run("coordinated", latency=0.0, east=", architecture: autonomous")
    assert mixed["decisions"]["double_engagements"] > 0
    assert mixed["decisions"]["status_messages"] == 0
    assert without_timings(mixed) == without_timings(run("autonomous", latency=0.0))


def test_double_engagements_rise_with_latency() -> None:
    """Ten missiles, two co-located batteries whose nodes cycle every 2 and 3 s, each
    owner with its own radar forward: the later a partner hears of an engagement, the more
    often it takes the same missile (mean over six seeds; the links carry the tracks too,
    so single runs are noisy)."""

    def doubles(arch: str, latency: float) -> float:
        runs = [run(arch, latency, count=10, seed=s) for s in range(6)]
        return float(np.mean([r["decisions"]["double_engagements"] for r in runs]))

    assert doubles("coordinated", 0.0) == 0.0
    sweep = [doubles("coordinated", s) for s in (0.5, 12.0)]
    assert 0.0 < sweep[0] < sweep[1] < doubles("autonomous", 12.0), sweep


def test_status_is_lost_with_the_link() -> None:
    lossy = TWO_OWNERS.replace("latency_s: %(latency)s}", "latency_s: %(latency)s, loss: 1.0}")
    text = lossy % {"arch": "coordinated", "latency": 0.0, "count": 1, "east": ""}
    summary = simulate(load_scenario_text(text, "two-owners.yaml")).summary
    dec = summary["decisions"]
    assert dec["status_lost"] == dec["status_messages"] > 0
    assert dec["double_engagements"] >= 1  # as if autonomous (the tracks are lost too)


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("c2: {architecture: %(arch)s}", "c2: {architecture: centralized}", "autonomous"),
        ("%(east)s}", ", architecture: chaos}", "coordinated"),
    ],
)
def test_an_unknown_architecture_is_an_error_at_its_line(
    tmp_path: Path, where: str, value: str, message: str
) -> None:
    text = TWO_OWNERS.replace(where, value)
    text = text.replace("%(arch)s", "coordinated").replace("%(east)s", "")
    text = text % {"latency": 1.0, "count": 1}
    with pytest.raises(IamdError) as err:
        load_scenario_text(text, "two-owners.yaml")
    line = next(k for k, row in enumerate(text.splitlines(), 1) if value.split("}")[0] in row)
    assert f"two-owners.yaml:{line}:" in str(err.value)
    assert message in str(err.value)


def _engine(latency: float = 2.0) -> Engine:
    """A fresh engine of the two-owner scenario (coordinated, three missiles), whose
    picture rows are the threats (``tracking.picture: by_threat``): a status about row i
    is about threat i for both owners, with no picture built."""
    text = TWO_OWNERS % {"arch": "coordinated", "latency": latency, "count": 3, "east": ""}
    text = text.replace("seed: 5\n", "seed: 5\ntracking: {picture: by_threat}\n")
    scenario = load_scenario_text(text, "two-owners.yaml")
    truth = fly(scenario, np.random.default_rng(0))
    return Engine(build_world(scenario, truth), np.random.SeedSequence(0))


def _deliver(eng: Engine) -> float:
    """Handle the next scheduled status message; its time."""
    t, kind, _, payload = heapq.heappop(eng.heap)
    assert kind == Kind.STATUS
    coordination.on_status(eng, t, payload)
    return float(t)


def test_a_partners_engagement_times_out_when_its_assessment_is_lost() -> None:
    eng = _engine(latency=2.0)
    west, east = eng.w.owners.index("west"), eng.w.owners.index("east")
    ids, st = np.array([0]), eng.status
    coordination.started(eng, 100.0, west, 0, 0, 0.15, 150.0)
    assert st.covered(west, ids, 100.0, 0.7)[0] and not st.covered(east, ids, 100.0, 0.7)[0]
    assert _deliver(eng) == 102.0
    end = 150.0 + 2.0 + coordination.STATUS_TIMEOUT_S
    assert st.covered(east, ids, end - 1.0, 0.7)[0]  # still in flight as far as east knows
    assert not st.covered(east, ids, end + 1.0, 0.7)[0]  # its assessment never came
    assert st.covered(west, ids, end + 1.0, 0.7)[0]  # its own: until assessed
    coordination.assessed(eng, 151.0, west, 0, 0, destroyed=False)
    assert not st.covered(west, ids, 151.0, 0.7)[0]
    assert _deliver(eng) == 153.0
    assert not st.covered(east, ids, 153.0, 0.7)[0]


def test_the_yardstick_keeps_each_engagement_in_flight_until_its_own_assessment() -> None:
    """Two engagements on one missile; the first assessed: the second still covers it, in
    truth and as each owner knows (an owner holds each engagement until its own
    assessment: a node that started a third now would double-engage)."""
    eng = _engine(latency=0.0)
    west, east = eng.w.owners.index("west"), eng.w.owners.index("east")
    ids, st = np.array([0]), eng.status
    coordination.started(eng, 100.0, west, 0, 0, 0.15, 150.0)
    coordination.started(eng, 101.0, east, 0, 1, 0.15, 160.0)
    assert st.truly_covered(ids, 101.0, 0.7)[0]
    assert st.true_miss[0] == pytest.approx(0.15 * 0.15)
    coordination.assessed(eng, 151.0, west, 0, 0, destroyed=False)
    assert st.truly_covered(ids, 151.0, 0.7)[0] and st.true_miss[0] == pytest.approx(0.15)
    assert st.covered(west, ids, 151.0, 0.7)[0] and st.miss[west, 0] == pytest.approx(0.15)
    coordination.assessed(eng, 161.0, east, 0, 1, destroyed=False)
    assert not st.truly_covered(ids, 161.0, 0.7)[0]
    assert not st.covered(west, ids, 161.0, 0.7)[0] and not st.covered(east, ids, 161.0, 0.7)[0]


def test_a_timed_out_engagement_stops_covering_while_another_is_held() -> None:
    """West holds its own engagement (until assessed) and east's (until it times out):
    after the time-out only west's own kill chance counts."""
    eng = _engine(latency=2.0)
    west, east = eng.w.owners.index("west"), eng.w.owners.index("east")
    ids, st = np.array([0]), eng.status
    coordination.started(eng, 100.0, east, 0, 0, 0.5, 150.0)
    assert _deliver(eng) == 102.0  # east's engagement reaches west
    coordination.started(eng, 103.0, west, 0, 1, 0.5, 160.0)
    assert st.covered(west, ids, 110.0, 0.7)[0]  # 1 - 0.5 * 0.5 = 0.75
    end = 150.0 + 2.0 + coordination.STATUS_TIMEOUT_S
    assert st.covered(west, ids, end - 1.0, 0.7)[0]
    assert not st.covered(west, ids, end + 1.0, 0.7)[0]  # west's own alone: 0.5
    assert st.miss[west, 0] == pytest.approx(0.5) and st.until[west, 0] == np.inf

"""Track slots (:mod:`iamd.sim.slots`): the battle manager engages the tracks its picture
holds beyond one per threat (false tracks, a threat's second track), and truth enters only
at the end game."""

from __future__ import annotations

import numpy as np
import pytest

from iamd import simulate
from iamd.scenario.load import load_scenario_text
from iamd.sim.run import RunResult
from iamd.sim.slots import Slots

CLUTTER = """
name: false-tracks
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 900
seed: %(seed)s
tracking: {classification: %(cls)s}
catalog:
  sensors:
    clutter_radar: {base: fire_control_radar, false_alarms_per_scan: 20, max_range_km: 40,
                    ref_range_km: 60, sector_deg: 60, max_el_deg: 10, scan_s: 1}
owners:
  - {name: home}
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: clutter, type: clutter_radar, owner: home, lat_deg: 32.0, lon_deg: 35.0}
c2_nodes:
  - {name: bmc, owner: home, lat_deg: 32.0, lon_deg: 35.0, cycle_s: 2}
fire_units:
  - {name: srd, interceptor: short_range, owner: home, c2: bmc, lat_deg: 32.0, lon_deg: 35.0,
     engage: all}
raid:
  - threat: owa_drone
    count: 1
    launch_area: {lat_deg: 32.2, lon_deg: 35.0, radius_km: 1}
    targets: [Town]
"""


def _run(cls: str, seed: int = 1) -> RunResult:
    return simulate(load_scenario_text(CLUTTER % {"cls": cls, "seed": seed}, "clutter.yaml"))


def _events(result: RunResult) -> dict[str, np.ndarray]:
    t = result.outcome.events.table()
    return {c: np.asarray(t.column(c).to_numpy(zero_copy_only=False)) for c in t.column_names}


def test_a_false_track_can_be_engaged_under_kinematic_and_the_shot_misses() -> None:
    """A radar in heavy clutter, a unit told to engage everything. Under ``kinematic``
    classification a confirmed false track looks like a threat and draws a shot; the shot
    meets nothing and misses (logged with ``detail: false_track``, threat -1). Under
    ``perfect`` the same seed's false tracks (there are some) are never engaged."""
    kin = _run("kinematic")
    dec = kin.summary["decisions"]
    assert dec["false_track_engagements"] >= 1
    assert dec["shots_at_false_tracks"] >= dec["false_track_engagements"]
    ev = _events(kin)
    launch = ev["kind"] == "launch_interceptor"
    at_false = launch & (ev["detail"] == "false_track")
    assert (ev["threat"][at_false] == -1).all()
    assert int(at_false.sum()) == dec["false_track_engagements"]
    ended = np.isin(ev["kind"], ["intercept", "miss", "miss_target_gone"])
    false_jobs = set(ev["engagement"][at_false].tolist())
    for e in false_jobs:  # every shot at a false track ended in a miss at nothing
        ends = ended & (ev["engagement"] == e)
        if ends.any():
            assert set(ev["kind"][ends].tolist()) == {"miss"}
            assert set(ev["detail"][ends].tolist()) == {"false_track"}
    # a kill is always of a real threat
    assert (ev["threat"][ev["kind"] == "intercept"] >= 0).all()
    pairs = dec["misclassified_by_pair"]
    assert sum(v for k, v in pairs.items() if k.startswith("false_track>")) >= 1

    perfect = _run("perfect")
    assert perfect.summary["tracking"]["spurious_tracks"] > 0  # false tracks were confirmed
    assert perfect.summary["decisions"]["false_track_engagements"] == 0
    ev = _events(perfect)
    assert (ev["threat"][ev["kind"] == "launch_interceptor"] >= 0).all()


def test_rounds_are_conserved_with_shots_at_false_tracks() -> None:
    """Every round fired is a launch event's, every engagement ends at most once."""
    kin = _run("kinematic", seed=2)
    ev = _events(kin)
    launch = ev["kind"] == "launch_interceptor"
    assert int(ev["value"][launch].sum()) == int(kin.outcome.fired.sum())
    ends = np.isin(ev["kind"], ["intercept", "miss", "miss_target_gone"])
    _, counts = np.unique(ev["engagement"][ends], return_counts=True)
    assert (counts == 1).all()
    assert set(ev["engagement"][ends].tolist()) <= set(ev["engagement"][launch].tolist())


def test_a_track_keeps_its_row_while_its_number_lives() -> None:
    """Rows by system number: a number keeps its row from build to build; a gone number
    frees its row, which the next new number takes with a new generation; a track that
    finds every row taken is counted and shown nowhere; owners' rows are disjoint."""
    sl = Slots.of(n=4, n_owners=2, gnn=True)
    assert sl.base == 0 and sl.per >= 4 + 16 and sl.rows == 2 * sl.per
    first = sl.first(1)
    rows, taken, freed = sl.place(1, np.array([7, 9]), 12)
    assert rows.tolist() == [first, first + 1] and taken.tolist() == [first, first + 1]
    assert freed.size == 0
    assert sl.generation(1, rows).tolist() == [1, 1]
    rows2, taken2, _ = sl.place(1, np.array([9, 7]), 12)
    assert rows2.tolist() == [first + 1, first] and taken2.size == 0  # the numbers stay
    rows3, taken3, freed3 = sl.place(1, np.array([9, 11]), 12)
    assert rows3.tolist() == [first + 1, first]  # 11 takes 7's row, as a new generation
    assert taken3.tolist() == [first] and freed3.size == 0
    assert sl.generation(1, np.array([first])).tolist() == [2]
    _, _, freed4 = sl.place(1, np.array([11]), 12)
    assert freed4.tolist() == [first + 1]
    assert sl.generation(1, freed4).tolist() == [2]  # its track gone: a new generation
    many = np.arange(100, 100 + sl.per + 3)
    rows5, _, _ = sl.place(0, many, 200)
    assert (rows5 >= 0).sum() == sl.per and sl.full == 3
    assert (rows5[rows5 >= 0] < sl.first(1)).all()  # owner 0's rows only
    ideal = Slots.of(n=4, n_owners=2, gnn=False)
    assert ideal.rows == 4 and ideal.real[1].tolist() == [0, 1, 2, 3]  # rows are threats


def test_a_partner_correlates_a_track_by_its_source() -> None:
    """Owner 1 names its track of number 11 at some row; owner 0's fusion bound owner 1's
    tracker track 5 to its own number 3, which it holds at a row of its own: a status
    about owner 1's row, carrying source (1, 5), lands on that row; an unbound source and
    a number owner 0 holds nowhere are not correlated."""
    stride = 1000
    sl = Slots.of(n=4, n_owners=2, gnn=True, stride=stride)
    theirs, _, _ = sl.place(1, np.array([11]), 12)
    sl.source[1, theirs] = 1 * stride + 5
    mine, _, _ = sl.place(0, np.array([3, 4]), 12)
    bind = np.full((2, 8), -1, np.int64)  # owner 0's bindings: (source owner, track) -> number
    bind[1, 5] = 3
    bind[1, 6] = 9  # a number owner 0 holds in no row
    got = sl.correlate(bind, 0, np.array([1 * stride + 5, 1 * stride + 6, 1 * stride + 7, -1]))
    assert got.tolist() == [mine[0], -1, -1, -1]


@pytest.mark.parametrize("cls", ["perfect", "kinematic"])
def test_the_same_seed_gives_the_same_events(cls: str) -> None:
    a, b = _events(_run(cls, seed=3)), _events(_run(cls, seed=3))
    for col in ("t_s", "kind", "threat", "engagement", "detail"):
        assert a[col].tolist() == b[col].tolist()


def _two_owner_engine(latency: float = 0.0):  # type: ignore[no-untyped-def]
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_coordination import TWO_OWNERS

    from iamd.physics.truth import fly
    from iamd.sim.engine import Engine
    from iamd.sim.world import build_world

    text = TWO_OWNERS % {"arch": "coordinated", "latency": latency, "count": 2, "east": ""}
    scenario = load_scenario_text(text, "two.yaml")
    world = build_world(scenario, fly(scenario, np.random.default_rng(0)))
    return Engine(world, np.random.SeedSequence(0))


def _show(eng, o: int, number: int, x: np.ndarray, source: int) -> int:  # type: ignore[no-untyped-def]
    """Put a track of system number ``number`` at state ``x`` into owner ``o``'s picture."""
    sl, pics = eng.slots, eng.pictures
    held = sl.held[o][sl.held[o] >= 0].tolist()
    rows, _, _ = sl.place(o, np.array([*held, number]), 100)
    row = int(rows[-1])
    pics.x[o, row], pics.p[o, row] = x, np.eye(6) * 100.0**2
    pics.t_s[o, row], pics.active[o, row], pics.updates[o, row] = 100.0, True, 5
    sl.source[o, row], sl.real[o, row] = source, 0
    return row


def test_a_partner_learns_an_engagement_on_the_track_it_correlates() -> None:
    """West engages its track; east takes the status for its own track of the same object:
    by the binding its fusion made of west's tracker track, or else by the track data in
    the message; with neither it holds the status until a track turns up that correlates."""
    from iamd.sim import coordination
    from iamd.sim.network import ID_STRIDE

    eng = _two_owner_engine()
    west, east = eng.w.owners.index("west"), eng.w.owners.index("east")
    x = np.array([6.4e6, 0.0, 0.0, 0.0, 200.0, 0.0])
    w_row = _show(eng, west, 3, x, west * ID_STRIDE + 5)
    e_row = _show(eng, east, 7, x + np.array([30.0, 0, 0, 0, 0, 0]), east * ID_STRIDE + 2)
    st = eng.status
    assert eng.net is not None
    eng.net.numbers[east].reserve(8)
    eng.net.numbers[east].bind[west, 5] = 7  # east's fusion joined west's track 5 to its 7
    coordination.started(eng, 100.0, west, w_row, 0, 0.2, 150.0, real=0)
    assert st.count[west, w_row] == 1 and st.count[east, e_row] == 1  # by the binding
    # unbound, but the message's track data lie within the gate of east's track
    w2 = _show(eng, west, 4, x + np.array([0, 5e3, 0, 0, 0, 0]), west * ID_STRIDE + 6)
    e2 = _show(eng, east, 8, x + np.array([0, 5e3 + 50.0, 0, 0, 0, 0]), east * ID_STRIDE + 3)
    coordination.started(eng, 100.0, west, w2, 1, 0.2, 150.0, real=0)
    assert st.count[east, e2] == 1 and st.count[east, e_row] == 1
    # nothing of east's near: held, then applied once east holds a track there
    w3 = _show(eng, west, 5, x + np.array([0, -40e3, 0, 0, 0, 0]), west * ID_STRIDE + 7)
    coordination.started(eng, 100.0, west, w3, 2, 0.2, 150.0, real=0)
    assert len(st.pending[east]) == 1 and st.uncorrelated == 0
    e3 = _show(eng, east, 9, x + np.array([0, -40e3 + 20.0, 0, 0, 0, 0]), east * ID_STRIDE + 4)
    coordination.retry(eng, east, 101.0)
    assert st.pending[east] == [] and st.count[east, e3] == 1
    # a pending start nothing ever correlates is dropped when its engagement times out
    w4 = _show(eng, west, 6, x + np.array([0, 90e3, 0, 0, 0, 0]), west * ID_STRIDE + 8)
    coordination.started(eng, 100.0, west, w4, 3, 0.2, 150.0, real=0)
    coordination.retry(eng, east, 150.0 + coordination.STATUS_TIMEOUT_S + 1.0)
    assert st.pending[east] == [] and st.uncorrelated == 1


def test_an_engagement_moves_to_the_track_that_replaced_its_own() -> None:
    """A node's track ends under an interceptor in flight; the nearest track within the
    gate takes its place, and the engagement the node holds moves with it."""
    from iamd.sim import coordination

    eng = _two_owner_engine()
    west = eng.w.owners.index("west")
    x = np.array([6.4e6, 0.0, 0.0, 0.0, 200.0, 0.0])
    old = _show(eng, west, 3, x, -1)
    coordination.started(eng, 100.0, west, old, 0, 0.2, 150.0, real=0)
    new = _show(eng, west, 4, x + np.array([40.0, 0, 0, 0, 0, 0]), -1)
    far = _show(eng, west, 5, x + np.array([0, 30e3, 0, 0, 0, 0]), -1)
    assert coordination.nearest_track(eng, west, 101.0, 100.0, x, 0.0) in (old, new)
    eng.pictures.active[west, old] = False  # its track ends
    assert coordination.nearest_track(eng, west, 101.0, 100.0, x, 0.0) == new
    coordination.moved(eng, west, 0, old, new, 101.0)
    st = eng.status
    assert 0 in st.held[west][new] and 0 not in st.held[west].get(old, {})
    assert st.covered(west, np.array([new]), 101.0, 0.5)[0]
    assert not st.covered(west, np.array([old, far]), 101.0, 0.5).any()

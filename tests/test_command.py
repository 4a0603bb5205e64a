"""Centralised command (:mod:`iamd.sim.command`) and remote engagement: who assigns which
unit, what an order's latency costs, the fallback when the orders' link is down, and the
fire control a unit needs (``engage_on_remote``, ``launch_on_remote``)."""

from __future__ import annotations

import numpy as np
import pytest
from test_coordination import TWO_OWNERS

from iamd import simulate
from iamd.errors import IamdError
from iamd.physics.truth import fly
from iamd.scenario.load import load_scenario_text
from iamd.scenario.schema import Link
from iamd.sim import battle, command, engagement, links
from iamd.sim.engine import Engine
from iamd.sim.network import ID_STRIDE
from iamd.sim.run import RunResult
from iamd.sim.world import build_world

CENTRAL = ", node: west-bmc, fallback_s: 30"


def scenario_text(
    arch: str = "centralised",
    latency: float = 0.0,
    count: int = 3,
    east: str = "",
    c2: str = CENTRAL,
    outages: str = "",
) -> str:
    text = TWO_OWNERS % {"arch": arch, "latency": latency, "count": count, "east": east}
    text = text.replace(f"c2: {{architecture: {arch}}}", f"c2: {{architecture: {arch}{c2}}}")
    if outages:  # west's share link (its tracks, its status and its orders) goes down
        old = f"- {{name: west, shares_with: [east], share_link: {{latency_s: {latency}}}}}"
        new = old.replace(f"{latency}}}", f"{latency}, outages: {outages}}}")
        assert old in text
        text = text.replace(old, new)
    return text


def run(text: str, seed: int = 5) -> RunResult:
    return simulate(load_scenario_text(text, "two.yaml"), seed=seed)


def rows(result: RunResult, kind: str) -> list[dict]:
    return [r for r in result.outcome.events.table().to_pylist() if r["kind"] == kind]


def launches(result: RunResult, unit: str) -> list[dict]:
    return [r for r in rows(result, "launch_interceptor") if r["unit"] == unit]


def test_the_central_node_assigns_and_guides_every_unit_of_the_owners_under_it() -> None:
    """West's node assigns both owners' batteries: east's node never does, the flights of
    east's interceptors are guided by west's node, and one node deciding for both never
    takes a missile twice (the autonomous pair does)."""
    result = run(scenario_text(latency=12.0))
    eng_units = [u.name for u in result.world.units]
    fl = result.outcome.flights
    assert fl is not None
    east_flights = [f for f in range(fl.n) if eng_units[int(fl.unit[f])] == "east-mid"]
    assert east_flights, "the central node used east's battery"
    nodes = [name for name, _, _ in result.world.nodes]
    assert {nodes[int(fl.node[f])] for f in range(fl.n)} == {"west-bmc"}
    assert rows(result, "c2_fallback") == []
    assert result.summary["decisions"]["double_engagements"] == 0
    alone = run(scenario_text("autonomous", latency=12.0, c2=""))
    assert alone.summary["decisions"]["double_engagements"] > 0


def test_an_order_reaches_another_owners_unit_after_the_links_latency() -> None:
    """An engagement the central node gives east's battery launches no earlier than the
    order's arrival plus the battery's reaction; one of its own owner's, at once. (Rows are
    threats here, ``tracking.picture: by_threat``: no picture is built.)"""
    text = scenario_text(latency=7.0)
    text = text.replace("duration_s:", "tracking: {picture: by_threat}\nduration_s:", 1)
    assert "by_threat" in text
    scenario = load_scenario_text(text, "two.yaml")
    eng = Engine(
        build_world(scenario, fly(scenario, np.random.default_rng(0))), np.random.SeedSequence(0)
    )
    west_bmc = 0
    east_mid, west_mid = ([u.name for u in eng.w.units].index(n) for n in ("east-mid", "west-mid"))
    assert eng.command.node == west_bmc
    assert eng.node_units[west_bmc] == [0, 1] and eng.node_delay_s[west_bmc].tolist() == [0.0, 7.0]
    ic = eng.w.units[east_mid].ic
    # the envelope plans with the order's latency
    assert eng.node_env[west_bmc].reaction_s[east_mid] == pytest.approx(ic.reaction_s + 7.0)
    pip = eng.w.units[east_mid].ecef_m + np.array([0.0, 0.0, 5e3])
    for u in (east_mid, west_mid):
        engagement.start_engagement(eng, 100.0, west_bmc, u, 0, 100.5, pip, 0.7, 0.1)
    east_job, west_job = eng.engagements
    assert east_job.t_launch_s == pytest.approx(100.0 + 7.0 + ic.reaction_s)
    assert west_job.t_launch_s == pytest.approx(100.0 + ic.reaction_s)
    # west knows at once and waits for east's assessment (over east's link, with timeout);
    # east knows its own battery's engagement from the order (not from a status message
    # that could be lost), and holds it until its own assessment; west's comes over the link
    assert eng.status.count[0, 0] == 2 and eng.status.count[1, 0] == 1
    ((miss, end),) = eng.status.held[1][0].values()
    assert miss == pytest.approx(0.3**east_job.shots) and end == np.inf
    ends = {e: end for e, (_, end) in eng.status.held[0][0].items()}
    assert ends[1] == np.inf  # west's own battery: its own assessment always comes
    assert ends[0] == pytest.approx(100.5 + eng.doctrine.kill_assessment_s + 7.0 + 60.0)
    assert eng.status.miss[0, 0] == pytest.approx(0.3**east_job.shots * 0.3**west_job.shots)


def test_a_unit_whose_orders_link_is_down_falls_back_after_the_timeout() -> None:
    """West's share link is down for the whole run: east's node takes its battery back 30 s
    in (logged), and every launch of it comes after; with the link up it never does."""
    cut = run(scenario_text(outages="[[0, 2400]]"))
    back = rows(cut, "c2_fallback")
    assert [(r["unit"], r["value"]) for r in back] == [("east-bmc", 1.0)]
    t_back = back[0]["t_s"]
    assert 30.0 <= t_back < 30.0 + 3.0 + 1e-9  # east's node cycles every 3 s
    east = launches(cut, "east-mid")
    assert east and min(r["t_s"] for r in east) >= t_back
    # an outage shorter than the timeout: no fallback; the central node orders nothing
    # through the link while it is down
    never = run(scenario_text(outages="[[0, 2400]]", c2=CENTRAL.replace("30", "3000")))
    assert rows(never, "c2_fallback") == [] and launches(never, "east-mid") == []
    assert launches(never, "west-mid")
    short = run(scenario_text(outages="[[0, 20]]"))
    assert rows(short, "c2_fallback") == []
    assert all(r["t_s"] >= 20.0 for r in launches(short, "east-mid"))


def test_the_link_comes_back_and_the_central_node_takes_the_units_again() -> None:
    result = run(scenario_text(outages="[[0, 100]]"))
    changes = [(r["unit"], r["value"], r["t_s"]) for r in rows(result, "c2_fallback")]
    assert [c[:2] for c in changes] == [("east-bmc", 1.0), ("east-bmc", 0.0)]
    assert changes[1][2] >= 100.0


def test_outages_of_a_link() -> None:
    link = Link(latency_s=1.0, outages=[(10.0, 20.0), (20.0, 30.0), (50.0, 60.0)])
    assert not links.is_down(link, 9.9) and links.is_down(link, 10.0)
    assert links.down_for_s(link, 25.0) == pytest.approx(15.0)  # two that touch are one
    assert links.down_for_s(link, 30.0) == 0.0 and links.down_for_s(link, 55.0) == 5.0
    rng = np.random.default_rng(0)
    assert links.lost(link, 15.0, rng) and not links.lost(link, 35.0, rng)


def test_a_resent_order_waits_one_latency_per_loss() -> None:
    cmd = command.Command(0, 0, np.array([True, True]), Link(latency_s=2.0, loss=0.5), 30.0)
    delays = np.array([cmd.order_delay_s(1, np.random.default_rng(s)) for s in range(2000)])
    assert set(np.unique(delays / 2.0).astype(int)) >= {1, 2, 3}
    assert delays.mean() == pytest.approx(4.0, rel=0.1)  # latency / (1 - loss)
    assert cmd.order_delay_s(0, np.random.default_rng(0)) == 0.0


RADAR_WEST_UNIT_EAST = """
name: remote
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 2400
seed: 5
owners:
  - {name: west, shares_with: [east], share_link: {latency_s: 1}}
  - {name: east, share_link: {latency_s: 1}}
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: aew-west, type: airborne_radar, owner: west, lat_deg: 33.0, lon_deg: 34.9}
c2_nodes:
  - {name: east-bmc, owner: east, lat_deg: 32.0, lon_deg: 35.05, cycle_s: 2}
fire_units:
  - {name: east-mid, interceptor: mid_tier, owner: east, c2: east-bmc, lat_deg: 32,
     lon_deg: 34.97%s}
raid:
  - threat: cruise_missile
    count: 3
    launch_area: {lat_deg: 33.6, lon_deg: 35.0, radius_km: 40}
    interval_s: 90
    targets: [Town]
"""


@pytest.mark.parametrize(
    ("option", "fires"),
    [("", False), (", launch_on_remote: true", False), (", engage_on_remote: true", True)],
)
def test_a_unit_without_a_radar_engages_only_on_remote(option: str, fires: bool) -> None:
    """East has a battery and no radar, west the radar: east engages on west's tracks and
    radar only with engage_on_remote (launch_on_remote still needs its own radar on the
    intercept point)."""
    result = run(RADAR_WEST_UNIT_EAST % option)
    assert bool(launches(result, "east-mid")) is fires


BAD_CENTRAL = [  # (old, new), the text on the line the error names, the message
    (("node: west-bmc", "node: nowhere"), "node: nowhere", "unknown C2 node 'nowhere'"),
    ((CENTRAL, ""), "architecture: centralised", "'centralised' needs c2.node"),
    (("[east], share_link: {latency_s: 0.0}}", "[], share_link: {latency_s: 0.0}}"),
     "node: west-bmc", "shares with nobody"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "where", "message"), BAD_CENTRAL)
def test_a_bad_central_node_is_an_error_at_its_line(
    change: tuple[str, str], where: str, message: str
) -> None:
    text = scenario_text()
    assert change[0] in text
    text = text.replace(*change, 1)
    with pytest.raises(IamdError) as err:
        load_scenario_text(text, "two.yaml")
    assert message in str(err.value)
    line = next(k for k, row in enumerate(text.splitlines(), 1) if where in row)
    assert f"two.yaml:{line}:" in str(err.value)


def test_engage_on_remote_needs_tracks_from_a_partner() -> None:
    text = (RADAR_WEST_UNIT_EAST % ", engage_on_remote: true").replace("shares_with: [east], ", "")
    with pytest.raises(IamdError) as err:
        load_scenario_text(text, "remote.yaml")
    line = next(k for k, row in enumerate(text.splitlines(), 1) if "engage_on_remote" in row)
    assert f"remote.yaml:{line}:" in str(err.value)
    assert "receives no partner's tracks" in str(err.value)


@pytest.mark.parametrize(
    ("option", "radars", "tracks"),
    [
        ("", [False, True], [True, False]),
        (", launch_on_remote: true", [False, True], [True, True]),
        (", engage_on_remote: true", [True, True], [True, True]),
    ],
)
def test_fire_control_by_remote_option(option: str, radars: list[bool], tracks: list[bool]) -> None:
    """East's battery: which radars (west's, east's) it may use at the intercept point, and
    which of two tracks (east's picture rows, on threats 0 and 1) it may launch on when only
    threat 0 is in east's radars' recent detections."""
    text = TWO_OWNERS % {"arch": "coordinated", "latency": 1.0, "count": 2, "east": ""}
    text = text.replace("lon_deg: 34.97}\nraid", f"lon_deg: 34.97{option}}}\nraid")
    assert option in text
    scenario = load_scenario_text(text, "two.yaml")
    eng = Engine(
        build_world(scenario, fly(scenario, np.random.default_rng(0))), np.random.SeedSequence(0)
    )
    east, east_bmc = eng.w.owners.index("east"), 1
    assert [r.owner for r in eng.w.radars] == ["west", "east"]
    eng.radar_seen[east, 0] = 90.0  # within the track drop time of t = 100 s
    eng.radar_seen[east, 1] = 100.0 - scenario.spec.tracking.drop_after_s - 1.0
    rows = eng.slots.first(east) + np.array([0, 1])
    eng.slots.real[east, rows] = [0, 1]  # the threats the tracks follow
    allowed, own_track = battle.fire_control(eng, east_bmc, (0, 1), rows, 100.0)
    assert allowed.tolist() == [radars] and own_track.tolist() == [tracks]
    # a false track (no real object): east's own when east's tracker holds it
    west = eng.w.owners.index("west")
    eng.slots.real[east, rows] = -1
    eng.slots.source[east, rows] = [east * ID_STRIDE + 4, west * ID_STRIDE + 4]
    _, own_track = battle.fire_control(eng, east_bmc, (0, 1), rows, 100.0)
    assert own_track.tolist() == [[True, tracks[1]]]
    # a partner whose data do not reach the node lends no radar
    allowed, _ = battle.fire_control(eng, east_bmc, (east,), rows[:1], 100.0)
    assert allowed.tolist() == [[False, True]]


def test_a_star_sets_every_item_even_items_named_like_indices(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``fire_units.*.X`` reaches every unit, whatever their names (a unit named '1' is
    not taken for index 1), and says so when the path does not lead to a list."""
    from iamd.scenario.load import load_scenario_changed

    text = (RADAR_WEST_UNIT_EAST % "").replace("name: east-mid", "name: '1'")
    text = text.replace(
        "fire_units:\n",
        "fire_units:\n  - {name: b, interceptor: mid_tier, owner: east, c2: east-bmc, "
        "lat_deg: 32, lon_deg: 35}\n",
    )
    path = tmp_path / "remote.yaml"
    path.write_text(text)
    s, _ = load_scenario_changed(str(path), ["fire_units.*.rounds=9"])
    assert [u.rounds for u in s.spec.fire_units] == [9, 9]
    with pytest.raises(IamdError, match="'\\*' stands for every item of a list"):
        load_scenario_changed(str(path), ["doctrine.*.salvo=2"])


BAD_SHARES = [  # owners' lines changed, the message
    (
        "  - {name: east, shares_with: [west], share_link: {latency_s: 0.0}}",
        "  - {name: east, shares_with: [], share_link: {latency_s: 0.0}}",
        "does not share with 'west'",
    ),
    (
        "c2: {architecture: centralised, node: west-bmc, fallback_s: 30}",
        "c2: {architecture: coordinated, node: west-bmc, fallback_s: 30}",
        "no owner is under 'centralised'",
    ),
    (
        "  - {name: west, shares_with: [east], share_link: {latency_s: 0.0}}",
        "  - {name: west, shares_with: [east], share_link: {latency_s: 0.0}, "
        "architecture: coordinated}",
        "which is not under 'centralised'",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_SHARES)
def test_owners_under_a_central_node_must_be_linked_to_it(old: str, new: str, message: str) -> None:
    text = scenario_text()
    assert old in text
    text = text.replace(old, new)
    with pytest.raises(IamdError) as err:
        load_scenario_text(text, "two.yaml")
    assert message in str(err.value) and "two.yaml:" in str(err.value)


def test_the_summary_counts_orders_and_fallbacks() -> None:
    """Orders: the engagements west's node gave east's battery, each late by the link's
    latency; fallbacks: one, when west's link went down for good."""
    result = run(scenario_text(latency=3.0))
    dec = result.summary["decisions"]
    names = [u.name for u in result.world.units]
    east = [j for j in result.outcome.engagements if names[j.unit] == "east-mid"]
    assert dec["orders"] == len(east) > 0 and dec["order_delay_s"] == pytest.approx(3.0)
    assert dec["fallbacks"] == 0
    cut = run(scenario_text(outages="[[0, 2400]]"))
    assert cut.summary["decisions"]["fallbacks"] == 1 and cut.summary["decisions"]["orders"] == 0


def test_no_midcourse_update_reaches_another_owners_interceptor_through_a_link_down() -> None:
    """The central node guides both batteries' interceptors; while its link is down, only
    its own owner's get new estimates (the other flies on its last one)."""
    text = scenario_text(latency=0.0, outages="[[110, 2400]]", c2=CENTRAL.replace("30", "3000"))
    scenario = load_scenario_text(text, "two.yaml")
    eng = Engine(
        build_world(scenario, fly(scenario, np.random.default_rng(0))), np.random.SeedSequence(0)
    )
    names = [u.name for u in eng.w.units]
    east_mid, west_mid = names.index("east-mid"), names.index("west-mid")
    tr = eng.w.truth
    t0 = float(tr.t_launch_s[0]) + 200.0
    x = tr.state_at(np.array([0]), np.array([t0]))[0]
    eng.pictures.x[0, 0], eng.pictures.t_s[0, 0], eng.pictures.active[0, 0] = x, t0, True
    pip = x[:3] + x[3:] * 60.0
    for u in (east_mid, west_mid):
        engagement.start_engagement(eng, t0 - 10.0, 0, u, 0, t0 + 60.0, pip, 0.7, 40.0)
    fl = eng.flights
    flights = {int(fl.unit[f]): f for f in range(fl.n)}
    assert eng.command.reaches(1, t0) is False  # east is behind the outage from 110 s
    from iamd.sim import flight

    t_up = max(float(fl.t_launch_s[f]) for f in flights.values()) + 2.0
    flight.uplink(eng, 0, t_up)
    assert fl.t_est_s[flights[west_mid]] == t_up
    assert fl.t_est_s[flights[east_mid]] == t0 - 10.0


def test_the_kill_is_drawn_against_the_real_class() -> None:
    """A mid-tier shot credited with its kill chance against an SRBM (0.7) at what is
    really a cruise missile (0.85) kills with the credited chance scaled by 0.85 / 0.7; at
    a class it cannot kill, never; with the class right, as credited."""
    text = TWO_OWNERS % {"arch": "coordinated", "latency": 1.0, "count": 1, "east": ""}
    scenario = load_scenario_text(text, "two.yaml")
    eng = Engine(
        build_world(scenario, fly(scenario, np.random.default_rng(0))), np.random.SeedSequence(0)
    )
    names = eng.w.truth.class_names
    assert names[int(eng.w.truth.class_idx[0])] == "cruise_missile"
    job = engagement.Engagement(0, 0, 0.0, 1.0, 2.0, np.zeros(3), 0.5, 1)
    job.est_class = names.index("srbm")
    assert engagement.real_pk(eng, job) == pytest.approx(0.5 * 0.85 / 0.7)
    job.est_class = names.index("cruise_missile")
    assert engagement.real_pk(eng, job) == 0.5
    job.est_class = names.index("rocket_medium")  # mid-tier 0.8; cruise really: 0.85
    assert engagement.real_pk(eng, job) == pytest.approx(0.5 * 0.85 / 0.8)


def test_a_link_given_in_part_keeps_its_default_latency() -> None:
    """An outage (or a loss) given alone leaves a link's default latency as it is."""
    text = RADAR_WEST_UNIT_EAST % ""
    text = text.replace(
        "share_link: {latency_s: 1}}\n  - {name: east",
        "share_link: {outages: [[10, 20]]}, sensor_link: {loss: 0.1}}\n  - {name: east",
    )
    west = load_scenario_text(text, "remote.yaml").spec.owners[0]
    assert west.share_link.latency_s == 2.0 and west.share_link.outages == [(10.0, 20.0)]
    assert west.sensor_link.latency_s == 0.5 and west.sensor_link.loss == 0.1

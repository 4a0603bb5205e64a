"""Combat air patrols: aircraft that fly their station within their endurance, are relieved,
launch from ground alert when cued, fire from their launch point, and rearm at base."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iamd.errors import ScenarioError
from iamd.export import dis
from iamd.export.czml import build_czml
from iamd.export.kml import KML_NS, build_kml
from iamd.geo import geodetic2ecef
from iamd.scenario.load import load_scenario_text
from iamd.sim.run import simulate
from iamd.web.replay import replay_document

PATROL = """
name: patrols
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 21600
seed: 5
owners:
  - name: blue
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: radar, type: airborne_radar, owner: blue, lat_deg: 32.1, lon_deg: 35.6}
c2_nodes:
  - {name: bmc, owner: blue, lat_deg: 31.95, lon_deg: 35.0, cycle_s: 2}
air_patrols:
  - name: cap
    owner: blue
    c2: bmc
    base: {lat_deg: 31.5, lon_deg: 35.0}
    station: %s
    on_station: %d
    ground_alert: %d
raid:
  - threat: owa_drone
    count: %d
    launch_area: {lat_deg: 32.5, lon_deg: 37.5, radius_km: 10}
    start_s: 0
    interval_s: 400
    targets: [Town]
"""
STATION = "{lat_deg: 32.2, lon_deg: 35.8}"
LOCATION = slice(30, 33)  # fields of an unpacked Entity State PDU: world location, m


def run(on_station: int, alert: int, count: int = 40):
    r = simulate(load_scenario_text(PATROL % (STATION, on_station, alert, count), "p.yaml"))
    return r, r.outcome.events.table().to_pylist()


def sorties(events: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """Take-off and landing times of every sortie of every aircraft (inf: still flying)."""
    out: dict[str, list[tuple[float, float]]] = {}
    for e in events:
        if e["kind"] == "aircraft_takeoff":
            out.setdefault(e["unit"], []).append((e["t_s"], np.inf))
        elif e["kind"] == "aircraft_landed":
            legs = out.setdefault(e["unit"], [(-np.inf, np.inf)])
            legs[-1] = (legs[-1][0], e["t_s"])
    return out


def test_a_patrol_keeps_its_station_within_its_endurance_and_rearms():
    r, ev = run(on_station=2, alert=2)
    ac = r.scenario.catalog.aircraft["fighter"]
    flown = sorties(ev)
    landed = [leg for legs in flown.values() for leg in legs if np.isfinite(leg[1])]
    assert len(landed) >= 4  # six hours: every aircraft lands at least once
    # the aircraft on station at the start took off one transit before it
    patrol = r.world.patrols[0]
    transit = np.linalg.norm(patrol.station_m - patrol.base_m) / ac.cruise_speed_m_s
    for unit, legs in flown.items():
        for take_off, land in legs:
            start = take_off if np.isfinite(take_off) else -transit
            end = land if np.isfinite(land) else r.scenario.spec.duration_s
            assert end - start <= ac.endurance_h * 3600.0 + 1e-6, (unit, start, end)
    # while the raid lasts, two aircraft are on station nearly all the time (reliefs
    # take off so as to arrive as the aircraft they relieve leaves)
    covered = 0.0
    changes = sorted(
        (e["t_s"], +1 if e["kind"] == "aircraft_on_station" else -1)
        for e in ev
        if e["kind"] in ("aircraft_on_station", "aircraft_home")
    )
    t_prev, on = 0.0, 2
    for t, step in changes:
        if t > 4 * 3600:
            break
        covered += (t - t_prev) * (on >= 2)
        on, t_prev = on + step, t
    assert covered >= 0.8 * min(t_prev, 4 * 3600)
    # missiles: more were fired than one load, so aircraft rearmed at base
    fired = int(r.outcome.fired.sum())
    assert fired > (2 + 2) * ac.missiles or any(len(v) > 1 for v in flown.values())
    assert r.summary["air_patrols"]["cap"]["sorties"] >= 5
    assert r.summary["air_patrols"]["cap"]["missiles_fired"] == fired


def test_aircraft_on_ground_alert_launch_when_cued_and_fire_from_their_launch_point():
    r, ev = run(on_station=0, alert=2, count=6)
    ac = r.scenario.catalog.aircraft["fighter"]
    takeoffs = [e for e in ev if e["kind"] == "aircraft_takeoff"]
    launches = [e for e in ev if e["kind"] == "launch_interceptor"]
    assert takeoffs and launches
    engagements = r.outcome.engagements
    for e in launches:
        job = engagements[e["engagement"]]
        # it took off after the alert delay from the decision, then flew to fire
        assert job.t_launch_s >= job.t_decided_s + ac.alert_launch_s - 1e-6 or any(
            t["t_s"] < job.t_decided_s for t in takeoffs if t["unit"] == e["unit"]
        )
        launcher = geodetic2ecef(np.radians(e["lat_deg"]), np.radians(e["lon_deg"]), e["alt_m"])
        up = launcher / np.linalg.norm(launcher)
        d = job.pip_m - launcher
        ground = np.linalg.norm(d - (d @ up) * up)
        assert ground <= 1.01 * ac.launch_range_km * 1e3  # (measured on the curved Earth)
        assert abs(e["alt_m"] - ac.cruise_alt_km * 1e3) < 600.0


@pytest.mark.parametrize(
    ("station", "extra", "expect"),
    [
        ("{lat_deg: 40.0, lon_deg: 45.0}", "", "beyond 'fighter''s endurance"),
        (STATION, "    missile: laser\n", "is a laser, not a missile"),
        (STATION, "    aircraft: figther\n", "did you mean 'fighter'"),
    ],
)
def test_impossible_patrols_are_refused_at_their_place(station, extra, expect):
    text = (PATROL % (station, 1, 1, 4)).replace("    on_station:", extra + "    on_station:")
    with pytest.raises(ScenarioError) as exc:
        load_scenario_text(text, "p.yaml")
    found = [str(p) for p in exc.value.problems if not p.warning]
    assert any(expect in m for m in found), found
    assert all(p.line > 0 for p in exc.value.problems)


def test_aircraft_paths_from_the_events_are_where_the_engine_flew_them(tmp_path, monkeypatch):
    """The run directory's aircraft paths (straight legs between logged events) put every
    aircraft where the engine's own fleet state had it at every C2 cycle, and no leg is
    flown faster than the aircraft's dash speed."""
    import iamd.sim.battle as battle
    from iamd.export.paths import along
    from iamd.export.rundir import load_run
    from iamd.sim.run import write_run_dir

    seen: list[tuple[float, np.ndarray]] = []
    original = battle.on_cycle

    def spy(eng, t_s, node):
        fl = eng.fleet
        seen.append((t_s, np.array([fl.position(a, t_s) for a in range(fl.unit.size)])))
        original(eng, t_s, node)

    monkeypatch.setattr(battle, "on_cycle", spy)
    r = simulate(load_scenario_text(PATROL % (STATION, 2, 2, 40), "p.yaml"))
    write_run_dir(r, tmp_path / "run", with_map=False)
    run = load_run(tmp_path / "run")
    paths = run.aircraft_paths()
    names = [r.world.units[int(u)].name for u in r.outcome.fleet.unit]
    assert paths.name == names and len(names) == 4
    xyz = geodetic2ecef(np.radians(paths.lla[:, 0]), np.radians(paths.lla[:, 1]), paths.lla[:, 2])
    t_q = np.array([t for t, _ in seen for _ in names])
    a_q = np.tile(np.arange(len(names)), len(seen))
    got, _ = along(paths.offset, paths.t_s, xyz, a_q, t_q, lift=True)
    want = np.concatenate([p for _, p in seen])
    assert len(seen) > 1000
    # the engine moves an aircraft on the chord lifted to the leg's altitude, and so does
    # DIS between the same ends (the events hold geodetic positions, converted both ways;
    # without the lift, the chord of a 200 km leg sags 800 m below it)
    assert np.max(np.linalg.norm(got - want, axis=1)) < 1.0
    ac = r.scenario.catalog.aircraft["fighter"]
    for i in range(len(names)):
        rows = slice(paths.offset[i], paths.offset[i + 1])
        step = np.linalg.norm(np.diff(xyz[rows], axis=0), axis=1)
        dt = np.diff(paths.t_s[rows])
        assert np.all(step <= ac.dash_speed_m_s * dt * (1 + 1e-9) + 1.0), names[i]
    # every launch of an aircraft is a point of its path
    ev = r.outcome.events.table().to_pylist()
    launches = [e for e in ev if e["kind"] == "launch_interceptor" and e["unit"] in names]
    assert launches
    for e in launches:
        i = names.index(e["unit"])
        rows = slice(paths.offset[i], paths.offset[i + 1])
        k = np.flatnonzero(paths.t_s[rows] == e["t_s"])
        assert k.size == 1
        assert np.allclose(paths.lla[rows][k[0]], [e["lat_deg"], e["lon_deg"], e["alt_m"]])
    # the exports carry the same flights: DIS entity states every heartbeat, CZML and
    # KML tracks, the browser replay's samples
    hb = 30.0
    sched = dis.build_schedule(run, heartbeat_s=hb)
    states = [dis.ESPDU.unpack(p) for p in sched.pdus if p[2] == dis.ENTITY_STATE]
    numbers = dis.unit_numbers(run.scenario)
    craft = {numbers[n] + 1: i for i, n in enumerate(names)}
    t_states = sched.t_s[[p[2] == dis.ENTITY_STATE for p in sched.pdus]]
    mine = [
        (f, t)
        for f, t in zip(states, t_states.tolist(), strict=True)
        if f[9] == dis.APP_UNIT and f[10] in craft
    ]
    ticks = int(r.scenario.spec.duration_s // hb) + 1
    assert len(mine) == ticks * len(names)
    for f, t in mine[:: max(1, len(mine) // 400)]:
        i = craft[f[10]]
        want_pos, _ = along(paths.offset, paths.t_s, xyz, np.array([i]), np.array([t]), lift=True)
        assert np.allclose(f[LOCATION], want_pos[0], atol=1e-3), (i, t)
        assert f[11] == dis.FRIENDLY
    doc = replay_document(run, "p")["aircraft"]
    assert doc["name"] == names and doc["offset"] == paths.offset.tolist()
    assert np.allclose(doc["lat"], paths.lla[:, 0], atol=5.1e-5)
    czml = {p["id"] for p in json.loads(build_czml(run).dumps())}
    assert {f"aircraft/{n}" for n in names} <= czml
    kml = {pm.get("id") for pm in build_kml(run).getroot().iter(f"{{{KML_NS}}}Placemark")}
    assert {f"aircraft-{n}" for n in names} <= kml

"""Combat air patrols: aircraft that fly to a station, patrol it for as long as their fuel
lasts, dash to intercepts, fire their air-to-air missiles, and return to base to rearm and
refuel; more wait on ground alert and launch when cued.

Each aircraft is a fire unit of its patrol's C2 node whose position moves. It flies one
straight leg at a time at constant speed (``cruise_speed_m_s`` in transit and back,
``dash_speed_m_s`` to an intercept), at its class's cruise altitude. Its fuel is its
airborne time: it leaves its station for base when what is left of ``endurance_h`` is
what the flight home takes (bingo), and a relief takes off early enough to arrive as it
leaves. Tasked by the battle manager, it flies from where it is (or, on ground alert,
takes off after ``alert_launch_s``) to the point ``launch_range_km`` short of the
predicted intercept point, fires, and goes back to its station, or home when it has no
missile or too little fuel left.

Aircraft events (``Kind.AIRCRAFT``) are their transitions; a transition replanned before it
came due leaves a stale event, which is ignored. Every leg starts and ends at a logged event
(``aircraft_on_station`` at the start and on arrival, ``aircraft_takeoff``,
``aircraft_dash``, the ``launch_interceptor`` at the launch point, ``aircraft_return``,
``aircraft_home``, ``aircraft_landed``, ``aircraft_ready``, and ``aircraft_at_end`` for one
in flight when the run ends), each at the aircraft's position, so the straight line between
consecutive events of an aircraft is its flight
(:meth:`~iamd.export.rundir.RunData.aircraft_paths`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from iamd.sim.events import Kind

if TYPE_CHECKING:
    from iamd.scenario.catalog import AircraftClass
    from iamd.sim.engine import Engine
    from iamd.sim.world import PatrolSpec, World

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

GROUND, TRANSIT, STATION, DASH, RETURN, HOME, TURNAROUND = range(7)
"""Aircraft states: ready on the ground; flying to its station; on station; flying to an
intercept's launch point; flying back to its station; flying home; rearming."""
STATE_NAMES = ("ground", "transit", "station", "dash", "return", "home", "turnaround")
FUEL_MARGIN_S = 600.0
"""An aircraft is not tasked when less than this is left beyond its flight home."""


@dataclass(slots=True)
class Fleet:
    """Every aircraft's state (struct of arrays, indexed by aircraft).

    Attributes
    ----------
    unit, patrol : (m,) its fire unit and patrol.
    state : (m,) one of ``GROUND`` ... ``TURNAROUND``.
    t0_s, t1_s : (m,) the current leg's start and end times, s.
    p0_m, p1_m : (m, 3) the leg's end points, ECEF, m.
    airborne_since_s : (m,) take-off time of the current sortie, s.
    due_s : (m,) when its next transition falls due (its event), s.
    relief_sent : (m,) on station, its relief has taken off.
    sorties, airborne_s : (m,) sorties flown and time airborne so far.
    """

    unit: I64
    patrol: I64
    state: I64
    t0_s: F64
    t1_s: F64
    p0_m: F64
    p1_m: F64
    airborne_since_s: F64
    due_s: F64
    relief_sent: NDArray[np.bool_]
    sorties: I64
    airborne_s: F64

    @staticmethod
    def of(patrols: tuple[PatrolSpec, ...]) -> Fleet:
        unit = np.array([u for p in patrols for u in p.units], dtype=np.int64)
        patrol = np.array([k for k, p in enumerate(patrols) for _ in p.units], dtype=np.int64)
        m = unit.size
        base = np.array([patrols[k].base_m for k in patrol]).reshape(m, 3)
        return Fleet(
            unit=unit,
            patrol=patrol,
            state=np.full(m, GROUND, dtype=np.int64),
            t0_s=np.zeros(m),
            t1_s=np.zeros(m),
            p0_m=base.copy(),
            p1_m=base.copy(),
            airborne_since_s=np.zeros(m),
            due_s=np.full(m, np.inf),
            relief_sent=np.zeros(m, dtype=bool),
            sorties=np.zeros(m, dtype=np.int64),
            airborne_s=np.zeros(m),
        )

    def position(self, a: int, t_s: float) -> F64:
        """Aircraft ``a``'s position at ``t_s`` (3,): along its leg, at an altitude that
        changes linearly between the leg's ends."""
        t0, t1 = self.t0_s[a], self.t1_s[a]
        f = 0.0 if t1 <= t0 else min(max((t_s - t0) / (t1 - t0), 0.0), 1.0)
        p0, p1 = self.p0_m[a], self.p1_m[a]
        p = p0 + f * (p1 - p0)
        # |v| as numpy.linalg.norm computes it for a vector, without its checks
        r = (1.0 - f) * math.sqrt(p0.dot(p0)) + f * math.sqrt(p1.dot(p1))
        return np.asarray(p * r / math.sqrt(p.dot(p)))


def _patrol_of(world: World, u: int) -> PatrolSpec | None:
    a = world.units[u].aircraft
    if a < 0:
        return None
    return next(p for p in world.patrols if u in p.units)


def dash_m_s(world: World, u: int) -> float:
    """Unit ``u``'s dash speed if it is an aircraft, else 0."""
    p = _patrol_of(world, u)
    return 0.0 if p is None else p.ac.dash_speed_m_s


def launch_range_m(world: World, u: int) -> float:
    """Unit ``u``'s missile launch range if it is an aircraft, else 0."""
    p = _patrol_of(world, u)
    return 0.0 if p is None else p.ac.launch_range_km * 1e3


def refresh_units(eng: Engine, k: int, t_s: float) -> None:
    """Node ``k``'s aircraft where they are at ``t_s`` in its envelopes, with the reaction
    of their state (a ground alert's launch before the missile's own)."""
    env, fig = eng.node_env[k], eng.node_fig[k]
    for j in fig.air_rows.tolist():  # the node's aircraft (a few)
        a = int(fig.aircraft[j])
        env.ecef_m[j] = eng.fleet.position(a, t_s)
        env.reaction_s[j] = (
            eng.w.units[int(fig.unit[j])].ic.reaction_s + reaction_s(eng, a) + fig.delay_s[j]
        )


def _leg(eng: Engine, a: int, t_s: float, to_m: F64, speed_m_s: float, state: int) -> float:
    """Start aircraft ``a`` on a leg from where it is to ``to_m``; returns its arrival."""
    fl = eng.fleet
    here = fl.position(a, t_s)
    t1 = t_s + float(np.linalg.norm(to_m - here)) / speed_m_s
    fl.t0_s[a], fl.t1_s[a] = t_s, t1
    fl.p0_m[a], fl.p1_m[a] = here, to_m
    fl.state[a] = state
    return t1


def _due(eng: Engine, a: int, t_s: float) -> None:
    eng.fleet.due_s[a] = t_s
    eng.push(t_s, Kind.AIRCRAFT, a)


def _log(eng: Engine, a: int, t_s: float, kind: str) -> None:
    spec = eng.w.units[int(eng.fleet.unit[a])]
    eng.log.add(t_s, kind, -1, unit=spec.name, owner=spec.owner, ecef_m=eng.fleet.position(a, t_s))


def _ac(eng: Engine, a: int) -> AircraftClass:
    return eng.w.patrols[int(eng.fleet.patrol[a])].ac


def home_time_s(eng: Engine, a: int, t_s: float) -> float:
    """How long aircraft ``a`` would take to fly home from where it is at ``t_s``."""
    p = eng.w.patrols[int(eng.fleet.patrol[a])]
    return float(np.linalg.norm(eng.fleet.position(a, t_s) - p.base_m)) / p.ac.cruise_speed_m_s


def fuel_left_s(eng: Engine, a: int, t_s: float) -> float:
    """Airborne time left to aircraft ``a`` beyond its flight home, s (inf on the ground)."""
    fl = eng.fleet
    if fl.state[a] in (GROUND, TURNAROUND):
        return np.inf
    end = fl.airborne_since_s[a] + _ac(eng, a).endurance_h * 3600.0
    return float(end - t_s - home_time_s(eng, a, t_s))


def start(eng: Engine) -> None:
    """Each patrol's first ``on_station`` aircraft on their station at the start (they took
    off one transit earlier), the others ready on the ground."""
    fl = eng.fleet
    for k, p in enumerate(eng.w.patrols):
        transit = float(np.linalg.norm(p.station_m - p.base_m)) / p.ac.cruise_speed_m_s
        for j, a in enumerate(np.flatnonzero(fl.patrol == k).tolist()):
            if j < p.on_station:
                fl.airborne_since_s[a] = -transit
                fl.sorties[a] = 1
                _arrive_on_station(eng, a, 0.0, p.station_m)
                _log(eng, a, 0.0, "aircraft_on_station")


def _arrive_on_station(eng: Engine, a: int, t_s: float, station_m: F64) -> None:
    fl = eng.fleet
    fl.t0_s[a] = fl.t1_s[a] = t_s
    fl.p0_m[a] = fl.p1_m[a] = station_m
    fl.state[a] = STATION
    fl.relief_sent[a] = False
    p = eng.w.patrols[int(fl.patrol[a])]
    transit = float(np.linalg.norm(p.station_m - p.base_m)) / p.ac.cruise_speed_m_s
    bingo = t_s + fuel_left_s(eng, a, t_s)
    _due(eng, a, max(t_s, bingo - transit))  # the relief takes off first


def on_aircraft(eng: Engine, t_s: float, a: int) -> None:
    """Aircraft ``a``'s transition due at ``t_s`` (stale events are ignored)."""
    fl = eng.fleet
    if fl.due_s[a] != t_s:
        return
    fl.due_s[a] = np.inf
    p = eng.w.patrols[int(fl.patrol[a])]
    ac, state = p.ac, int(fl.state[a])
    if state == STATION and not fl.relief_sent[a]:
        fl.relief_sent[a] = True
        _send_relief(eng, int(fl.patrol[a]), t_s)
        _due(eng, a, max(t_s, t_s + fuel_left_s(eng, a, t_s)))
    elif state in (STATION, RETURN, DASH) and fuel_left_s(eng, a, t_s) <= 0.0:
        _go_home(eng, a, t_s)
    elif state == TRANSIT or state == RETURN:
        _arrive_on_station(eng, a, t_s, p.station_m)
        _log(eng, a, t_s, "aircraft_on_station")
    elif state == DASH:
        after_launch(eng, a, t_s)
    elif state == STATION:
        _go_home(eng, a, t_s)
    elif state == HOME:
        fl.airborne_s[a] += t_s - fl.airborne_since_s[a]
        fl.t0_s[a] = fl.t1_s[a] = t_s
        fl.p0_m[a] = fl.p1_m[a] = p.base_m
        fl.state[a] = TURNAROUND
        _log(eng, a, t_s, "aircraft_landed")
        _due(eng, a, t_s + ac.turnaround_min * 60.0)
    elif state == TURNAROUND:
        fl.state[a] = GROUND
        u = int(fl.unit[a])
        eng.rounds[u] = ac.missiles
        _log(eng, a, t_s, "aircraft_ready")
        on_station = np.sum((fl.patrol == fl.patrol[a]) & np.isin(fl.state, (TRANSIT, STATION)))
        if on_station < p.on_station:
            _take_off(eng, a, t_s, p.station_m, ac.cruise_speed_m_s, TRANSIT)


def _send_relief(eng: Engine, k: int, t_s: float) -> None:
    """Launch a ready aircraft of patrol ``k`` to its station, if it has one."""
    fl = eng.fleet
    ready = np.flatnonzero((fl.patrol == k) & (fl.state == GROUND))
    if ready.size:
        p = eng.w.patrols[k]
        _take_off(eng, int(ready[0]), t_s, p.station_m, p.ac.cruise_speed_m_s, TRANSIT)


def _take_off(eng: Engine, a: int, t_s: float, to_m: F64, speed: float, state: int) -> float:
    fl = eng.fleet
    fl.airborne_since_s[a] = t_s
    fl.sorties[a] += 1
    _log(eng, a, t_s, "aircraft_takeoff")
    t1 = _leg(eng, a, t_s, to_m, speed, state)
    _due(eng, a, t1)
    return t1


def _go_home(eng: Engine, a: int, t_s: float) -> None:
    p = eng.w.patrols[int(eng.fleet.patrol[a])]
    _log(eng, a, t_s, "aircraft_home")
    _due(eng, a, _leg(eng, a, t_s, p.base_m, p.ac.cruise_speed_m_s, HOME))


def available(eng: Engine, a: int, t_s: float) -> bool:
    """Whether aircraft ``a`` can be tasked now: on the ground ready, or airborne on its
    way to or on its station with missiles and fuel to spare."""
    fl, state = eng.fleet, int(eng.fleet.state[a])
    if eng.rounds[int(fl.unit[a])] <= 0:
        return False
    if state == GROUND:
        return True
    return state in (TRANSIT, STATION, RETURN) and fuel_left_s(eng, a, t_s) > FUEL_MARGIN_S


def reaction_s(eng: Engine, a: int) -> float:
    """Time before aircraft ``a`` can head for a target: its alert launch on the ground."""
    return _ac(eng, a).alert_launch_s if eng.fleet.state[a] == GROUND else 0.0


def launch_point(eng: Engine, a: int, t_s: float, pip_m: F64) -> tuple[F64, float]:
    """Where aircraft ``a`` fires at an intercept at ``pip_m`` (3,): the point at its
    launch range short of it, along the ground track from where the aircraft is, at its
    cruise altitude (where it is, if it is within range already); and the time its dash
    takes, s."""
    ac = _ac(eng, a)
    here = eng.fleet.position(a, t_s)
    up = here / np.linalg.norm(here)
    d = pip_m - here
    horizontal = d - (d @ up) * up
    ground = float(np.linalg.norm(horizontal))
    reach = ac.launch_range_km * 1e3
    if ground <= reach:
        point = here
    else:
        point = here + horizontal * (ground - reach) / ground
    r = float(np.linalg.norm(eng.w.patrols[int(eng.fleet.patrol[a])].station_m))  # cruise radius
    if eng.fleet.state[a] in (GROUND, TURNAROUND):
        r = float(np.linalg.norm(here)) + ac.cruise_alt_km * 1e3
    point = point * r / np.linalg.norm(point)
    return np.asarray(point), max(ground - reach, 0.0) / ac.dash_speed_m_s


def task(eng: Engine, a: int, t_s: float, launch_m: F64, t_launch_s: float) -> None:
    """Send aircraft ``a`` to fire from ``launch_m`` (3,) at ``t_launch_s``: it takes off
    first if it is on the ground, and is back at its station's business after the shot."""
    fl, ac = eng.fleet, _ac(eng, a)
    if fl.state[a] == GROUND:
        fl.t0_s[a] = fl.t1_s[a] = t_s + ac.alert_launch_s
        _take_off(eng, a, t_s + ac.alert_launch_s, launch_m, ac.dash_speed_m_s, DASH)
    else:
        _log(eng, a, t_s, "aircraft_dash")
        _leg(eng, a, t_s, launch_m, ac.dash_speed_m_s, DASH)
    # it reaches the launch point at the launch (slower than its dash speed when the
    # launch comes later than the dash would), so its flight stays one straight leg
    fl.t1_s[a] = max(fl.t1_s[a], t_launch_s)
    _due(eng, a, t_launch_s)


def after_launch(eng: Engine, a: int, t_s: float) -> None:
    """Aircraft ``a`` has fired: back to its station, or home without missiles or fuel."""
    fl = eng.fleet
    p = eng.w.patrols[int(fl.patrol[a])]
    if eng.rounds[int(fl.unit[a])] <= 0 or fuel_left_s(eng, a, t_s) <= FUEL_MARGIN_S:
        _go_home(eng, a, t_s)
    else:
        _log(eng, a, t_s, "aircraft_return")
        _due(eng, a, _leg(eng, a, t_s, p.station_m, p.ac.cruise_speed_m_s, RETURN))


def finish(eng: Engine, t_s: float) -> None:
    """Log where each aircraft in flight is when the run ends at ``t_s``."""
    fl = eng.fleet
    moving = np.isin(fl.state, (TRANSIT, DASH, RETURN, HOME))
    for a in np.flatnonzero(moving).tolist():  # aircraft (tens)
        if fl.t0_s[a] <= t_s:  # a take-off still to come has not left the ground
            _log(eng, a, t_s, "aircraft_at_end")

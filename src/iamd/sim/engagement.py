"""Engagements: a unit committed to a threat, its shot's end, the kill assessment, reloads.

Functions over one :class:`~iamd.sim.engine.Engine`'s state, called by the battle
manager (:mod:`iamd.sim.battle`) and by the event loop. A kinetic engagement's
interceptor is flown by :mod:`iamd.sim.flight`; this module decides what its end game
means (a kill needs a live target, the kill vehicle on it inside the unit's documented
bands, then one of the salvo's kill draws) and what the firing partner believes of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from iamd.physics.ballistic import altitude_m
from iamd.physics.flyout import CA_ESTIMATE, GONE, INFO_MISS, INFO_T, INFO_X, STATUS_NAMES
from iamd.sensors import radar as radar_mod
from iamd.sim import aircraft, coordination, flight
from iamd.sim.events import ALIVE, INTERCEPTED, Kind

if TYPE_CHECKING:
    from iamd.sim.engine import Engine
    from iamd.sim.world import UnitSpec

F64 = NDArray[np.float64]

LOOK_AGAIN_S = 20.0
"""Least time between a kill assessment and impact in which a second engagement can act."""


@dataclass(slots=True)
class Engagement:
    """One engagement in progress.

    ``row`` is the deciding owner's picture row it engaged (:mod:`iamd.sim.slots`) and
    ``gen`` that row's generation; ``threat`` the real object that row's track followed at
    the decision (-1: a false track), for scoring.
    """

    unit: int
    threat: int
    t_decided_s: float
    t_launch_s: float
    t_intercept_s: float
    pip_m: F64
    pk: float
    shots: int
    flight: int = -1
    launcher_m: F64 | None = None
    """Where its interceptor left from (an aircraft's launch point; None: the unit's site)."""
    order_s: float = -1.0
    """How long a central node's order took to reach the unit of another owner, s (-1:
    decided by the unit's own owner)."""
    est_class: int = -1
    """The class the deciding owner took the threat for (index into the raid's classes)."""
    row: int = -1
    gen: int = 0
    owner: int = -1
    """The deciding owner."""
    detail: str = ""
    """``false_track``, ``dual_track`` or empty (:func:`track_detail`)."""


def start_engagement(
    eng: Engine,
    t_s: float,
    k: int,
    u: int,
    i: int,
    t_int: float,
    pip: F64,
    pk: float,
    flyout_s: float,
) -> None:
    """C2 node ``k`` commits unit ``u`` to the track of row ``i`` of its owner's picture:
    rounds, channel, the launch and its flight.

    The interceptor leaves so as to arrive at ``t_int`` after ``flyout_s`` of flight (not
    before the reaction time, nor before the order reaches a unit of another owner under
    a central node: :mod:`iamd.sim.command`), and is flown and guided by node ``k`` from
    then on (:mod:`iamd.sim.flight`); a laser's shot ends at ``t_int``. When no time
    would be left after the kill assessment to engage again before the predicted impact,
    ``last_look_salvo`` interceptors go instead of ``salvo``.
    """
    spec_u, doc = eng.w.units[u], eng.doctrine
    ic = spec_u.ic
    kinetic = ic.kind == "kinetic"
    o = eng.w.nodes[k][1]  # the deciding owner
    firing = int(eng.unit_owner[u])
    cmd = eng.command
    order_s = cmd.order_delay_s(firing, eng.rng.status) if k == cmd.node else 0.0
    t_order = t_s + order_s  # when the unit has its order
    shots = 1
    if kinetic:
        time_left = eng.cache_impact_t[o][i] - (t_int + doc.kill_assessment_s)
        look_possible = doc.shoot_look_shoot and time_left > LOOK_AGAIN_S
        cd = eng.unit_doctrine[u]
        salvo, last_look = cd.salvo or 1, cd.last_look_salvo or 1
        shots = salvo if look_possible else max(salvo, last_look)
        shots = int(min(shots, eng.rounds[u]))
    ready = t_order + ic.reaction_s
    t_launch = max(ready, t_int - flyout_s) if kinetic else ready
    if not kinetic:  # a laser's dwell starts late by the resends the node did not plan
        t_int += max(order_s - (cmd.latency_s(firing) if k == cmd.node else 0.0), 0.0)
    launcher = spec_u.ecef_m
    if spec_u.aircraft >= 0:  # the aircraft flies to its launch point first
        launcher, fly_s = aircraft.launch_point(eng, spec_u.aircraft, t_order, pip)
        t_launch = max(
            t_order + aircraft.reaction_s(eng, spec_u.aircraft) + fly_s,
            t_int - (flyout_s - fly_s),
        )
        aircraft.task(eng, spec_u.aircraft, t_order, launcher, t_launch)
    e = len(eng.engagements)
    real = int(eng.slots.real[o, i])
    job = Engagement(u, real, t_s, t_launch, t_int, pip, pk, shots, launcher_m=launcher)
    if firing != o:
        job.order_s = order_s
    job.est_class = int(eng.classes.class_idx[o, i])
    job.row, job.owner = i, o
    job.detail = track_detail(eng, o, real)
    job.gen = int(eng.slots.generation(o, np.array([i]))[0])
    eng.engagements.append(job)
    if real >= 0:
        eng.engaged[real] = True
    assess_s = t_int + doc.kill_assessment_s
    coordination.started(eng, t_s, o, i, e, (1.0 - pk) ** shots, assess_s, firing, real)
    eng.busy[u] += 1
    eng.fired[u] += shots
    if kinetic:
        eng.rounds[u] -= shots
        eng.next_launch[u] = t_s + ic.launch_interval_s * shots
        if eng.rounds[u] < salvo and eng.reloads[u] > 0 and not eng.reloading[u]:
            eng.reloading[u] = True
            eng.push(t_s + ic.reload_s, Kind.RELOAD, u)
    eng.log.add(
        t_launch,
        "launch_interceptor",
        real,
        unit=spec_u.name,
        owner=spec_u.owner,
        interceptor=spec_u.interceptor,
        engagement=e,
        value=float(shots),
        ecef_m=launcher,
        detail=job.detail,
    )
    if kinetic:
        job.flight = flight.launch(eng, t_s, e, k, u, i, t_launch, t_int, pip, launcher)
    else:
        eng.push(t_int, Kind.INTERCEPT, e)


def on_intercept(eng: Engine, t_s: float, e: int) -> None:
    """The end of engagement ``e``: its interceptor's closest approach (or its end in
    flight), or a laser's dwell. A kill needs a live target, the kill vehicle on it
    (:func:`iamd.sim.flight.end_game_kill_possible`) and one of the salvo's kill draws;
    the event carries the miss distance and where the interceptor was, at the time of the
    closest approach (which an end game flown at a node's cycle may put a little before
    the cycle that resolves it)."""
    job = eng.engagements[e]
    u = job.unit
    i = met_object(eng, job)
    spec_u = eng.w.units[u]
    draws = eng.rng.intercept.uniform(0.0, 1.0, job.shots)
    eng.busy[u] -= 1
    t_now = t_s
    if job.flight >= 0 and np.isfinite(eng.flights.ending[job.flight, INFO_T]):
        t_s = min(t_s, float(eng.flights.ending[job.flight, INFO_T]))
    gone = i < 0 or eng.fate[i] != ALIVE or t_s >= eng.t_dead[i]
    if i < 0:  # a false track: nothing where it was guided
        detail = "false_track"
        kind, miss_m = "miss", np.nan
        pos = job.pip_m if job.flight < 0 else _end_point(eng, job.flight)
    elif job.flight < 0:  # a laser: its beam follows the target
        detail = "dwell"
        if gone:
            kind, miss_m, pos = "miss_target_gone", np.nan, job.pip_m
        else:
            pos = eng.w.truth.state_at(np.array([i]), np.array([t_s]))[0, :3]
            inside = np.linalg.norm(pos - spec_u.ecef_m) <= spec_u.ic.max_range_km * 1e3
            miss_m = 0.0 if inside else float("inf")
            kind = "intercept" if inside and bool((draws < real_pk(eng, job, i)).any()) else "miss"
    else:
        fl = eng.flights
        f = job.flight
        status = int(fl.status[f])
        detail = STATUS_NAMES[status]
        pos = _end_point(eng, f)
        on_target, miss_m = flight.end_game_kill_possible(eng, f)
        if gone or status in (GONE, CA_ESTIMATE):
            kind, miss_m = "miss_target_gone", float(fl.ending[f, INFO_MISS])
        else:
            target = eng.w.truth.state_at(np.array([i]), np.array([t_s]))[0, :3]
            if on_target and not inside_envelope(spec_u, target, job.launcher_m):
                on_target, detail = False, "outside_envelope"
            hit = on_target and bool((draws < real_pk(eng, job, i)).any())
            kind = "intercept" if hit else "miss"
    if kind == "intercept":
        eng.end_threat(i, t_s, INTERCEPTED)
        eng.kills[u] += 1
    eng.log.add(
        t_s,
        kind,
        i,
        unit=spec_u.name,
        owner=spec_u.owner,
        interceptor=spec_u.interceptor,
        engagement=e,
        value=miss_m,
        ecef_m=pos,
        detail=detail,
    )
    eng.push(t_now + eng.doctrine.kill_assessment_s, Kind.KILL_ASSESSMENT, e)


def met_object(eng: Engine, job: Engagement) -> int:
    """The real object engagement ``job``'s shot meets (-1: none): for a kinetic shot, the
    one its end game was flown against; a laser's beam, the one it was started on."""
    return job.threat if job.flight < 0 else int(eng.flights.real[job.flight])


def _end_point(eng: Engine, f: int) -> F64:
    """Where flight ``f`` ended: its closest approach, else its last state (3,)."""
    fl = eng.flights
    pos = fl.ending[f, INFO_X : INFO_X + 3].copy()
    return pos if np.isfinite(pos).all() else fl.y[f, :3].copy()


def track_detail(eng: Engine, o: int, real: int) -> str:
    """The ``detail`` of a launch by owner ``o`` at a track following threat ``real``:
    ``false_track`` (no real object), ``dual_track`` (the owner's picture held the threat
    under two tracks or more), else empty (:mod:`iamd.sim.slots`)."""
    if real < 0:
        return "false_track"
    sl = eng.slots
    if sl.per == 0:  # ideal tracking: one track per threat
        return ""
    lo = sl.first(o)
    held = eng.pictures.active[o, lo : lo + sl.per] & (sl.real[o, lo : lo + sl.per] == real)
    return "dual_track" if int(held.sum()) > 1 else ""


def real_pk(eng: Engine, job: Engagement, real: int | None = None) -> float:
    """The kill probability of one of engagement ``job``'s interceptors against the real
    object ``real`` (a threat; default the one it was started on): the probability it was
    credited with (for the class the threat was taken for, and the track's quality),
    scaled by the unit's kill probabilities against the real class and the class it was
    taken for."""
    true_c = int(eng.w.truth.class_idx[job.threat if real is None else real])
    if job.est_class < 0 or job.est_class == true_c:
        return job.pk
    pk = eng.w.units[job.unit].ic.pk
    names = eng.w.truth.class_names
    taken = pk.get(names[job.est_class], 0.0)
    return job.pk * pk.get(names[true_c], 0.0) / taken if taken > 0 else 0.0


def inside_envelope(spec_u: UnitSpec, point_m: F64, launcher_m: F64 | None = None) -> bool:
    """Whether ``point_m`` (3,) lies inside the unit's documented envelope: its slant range
    (from ``launcher_m``, default the unit's site) and altitude bands (the fire-control
    limits that hold beyond what it can fly)."""
    ic = spec_u.ic
    site = spec_u.ecef_m if launcher_m is None else launcher_m
    rng = float(np.linalg.norm(point_m - site))
    alt = float(altitude_m(point_m[None])[0])
    return (
        ic.min_range_km * 1e3 <= rng <= ic.max_range_km * 1e3
        and ic.min_alt_km * 1e3 <= alt <= ic.max_alt_km * 1e3
    )


def assessment_pc(eng: Engine, o: int, point_m: F64, t_s: float) -> float:
    """Probability that owner ``o`` judges an intercept at ``point_m`` (3,) rightly.

    The best ``kill_assessment_pc`` of the radars feeding ``o``'s picture that cover the
    point; when none covers it, the best of them all (the judgement then rests on what
    reports ``o`` has); 1 for an owner without radars.
    """
    owners = eng.live_owners(o, t_s)
    sites = [s for p in owners for s in eng.owner_radars[p]]
    pcs = np.array([eng.w.radars[s].kill_assessment_pc for s in sites])
    if not sites or bool((pcs >= 1.0).all()):
        return 1.0
    bank = eng.radar_bank(owners)
    assert bank is not None  # sites is not empty
    seen = radar_mod.bank_coverage(bank, point_m[None])[0][:, 0]
    return float(pcs[seen].max() if seen.any() else pcs.max())


def on_kill_assessment(eng: Engine, t_s: float, e: int) -> None:
    """The firing owner judges its shot: rightly with the probability
    :func:`assessment_pc`. A threat judged destroyed is not engaged again (a live one so
    judged flies on unopposed); one judged alive may draw another shot (at nothing, if it
    was destroyed). The event's value is the judgement: 1 destroyed, 0 alive."""
    job = eng.engagements[e]
    i = met_object(eng, job)
    o = eng.w.owners.index(eng.w.units[job.unit].owner)
    point = job.pip_m
    if job.flight >= 0 and np.isfinite(eng.flights.ending[job.flight, INFO_X]):
        point = eng.flights.ending[job.flight, INFO_X : INFO_X + 3]
    pc = assessment_pc(eng, o, point, t_s)
    right = pc >= 1.0 or bool(eng.rng.assess.uniform() < pc)
    # what the shot did: the object it was flown against destroyed (by it or before)
    killed = i >= 0 and eng.fate[i] == INTERCEPTED
    row = job.row
    current = bool(eng.slots.generation(job.owner, np.array([row]))[0] == job.gen)
    # judged destroyed or not
    coordination.assessed(eng, t_s, o, row, e, killed == right, job.threat, job.owner, current)
    gone = i < 0 or eng.fate[i] != ALIVE
    eng.log.add(t_s, "kill_assessment", i, engagement=e, value=float(gone == right))


def on_reload(eng: Engine, t_s: float, u: int) -> None:
    spec_u = eng.w.units[u]
    load = min(spec_u.ic.launchers * spec_u.ic.rounds_per_launcher - eng.rounds[u], eng.reloads[u])
    eng.rounds[u] += load
    eng.reloads[u] -= load
    eng.reloading[u] = False
    eng.log.add(t_s, "reload", -1, unit=spec_u.name, owner=spec_u.owner, value=float(load))

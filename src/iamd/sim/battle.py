"""Battle-management handlers: C2 cycles, engagements, intercepts, kill assessment, reloads.

Functions over one :class:`~iamd.sim.engine.Engine`'s state, called by its event loop.
Each C2 cycle assesses the node's eligible tracks, finds every fire unit's opportunities,
and assigns them with the layered greedy doctrine of :mod:`iamd.c2.doctrine`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from iamd.c2.assess import assess
from iamd.c2.doctrine import UPPER_TIER, Candidates, assign, hold_for_cheaper
from iamd.c2.envelope import opportunities
from iamd.c2.wta.weighted import assign_weighted
from iamd.physics.ballistic import altitude_m
from iamd.physics.flyout import CA_ESTIMATE, GONE, INFO_MISS, INFO_X, STATUS_NAMES
from iamd.sensors import radar as radar_mod
from iamd.sim import flight, network
from iamd.sim.events import ALIVE, INTERCEPTED, Kind
from iamd.tracking.ideal import drop_stale

if TYPE_CHECKING:
    from iamd.sim.engine import Engine
    from iamd.sim.world import UnitSpec

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

LOOK_AGAIN_S = 20.0
"""Least time between a kill assessment and impact in which a second engagement can act."""


@dataclass(slots=True)
class Engagement:
    """One engagement in progress."""

    unit: int
    threat: int
    t_decided_s: float
    t_launch_s: float
    t_intercept_s: float
    pip_m: F64
    pk: float
    shots: int
    flight: int = -1


BALLISTIC_REASSESS_S = 6.0
"""Least time between two re-flights of a ballistic track's predicted path."""


def refresh_assessment(eng: Engine, o: int, ids: I64) -> None:
    """Bring owner ``o``'s assessments of threats ``ids`` up to date with its tracks.

    Route threats are re-assessed whenever their track changed. A ballistic track's path
    is re-flown at most every ``BALLISTIC_REASSESS_S`` of track time, so that the updates
    of several scans share one vectorised integration instead of one each; fire units
    are guided by the live track in any case (:mod:`iamd.sim.flight`).
    """
    pics, w = eng.pictures, eng.w
    stale = ids[eng.cache_updates[o][ids] != pics.updates[o, ids]]
    if stale.size == 0:
        return
    age = pics.t_s[o, stale] - eng.cache_path_t[o][stale, 0]
    fresh_enough = (
        w.motion.ballistic[stale]
        & (eng.cache_updates[o][stale] >= 0)
        & (age < BALLISTIC_REASSESS_S)
    )
    stale = stale[~fresh_enough]
    if stale.size == 0:
        return
    ta = assess(
        stale,
        pics.x[o, stale],
        pics.t_s[o, stale],
        w.motion.ballistic[stale],
        w.motion.beta_kg_m2[stale],
        w.damage[stale],
        w.assets,
        eng.doctrine.asset_margin_km * 1e3,
        pics.p[o, stale],
    )
    eng.cache_updates[o][stale] = pics.updates[o, stale]
    eng.cache_path_t[o][stale] = ta.path_t_s
    eng.cache_path[o][stale] = ta.path_m
    eng.cache_impact_t[o][stale] = ta.t_impact_s
    eng.cache_value[o][stale] = ta.value_at_risk
    eng.cache_p_hit[o][stale] = ta.p_hit


def covered(eng: Engine, o: int, points_m: F64, t_s: float) -> NDArray[np.bool_]:
    """Which points (k, 3) some radar feeding picture ``o`` covers (fire-control support).

    The radars are owner ``o``'s and those of the partners whose data reach it now.
    """
    bank = eng.radar_bank(eng.live_owners(o, t_s))
    if points_m.shape[0] == 0 or bank is None:
        return np.zeros(points_m.shape[0], dtype=bool)
    return np.asarray(radar_mod.bank_coverage(bank, points_m)[0].any(axis=0))


def capacity(eng: Engine, units: list[int], t_s: float, cycle_s: float) -> I64:
    salvo = eng.doctrine.salvo
    cap = []
    for u in units:  # loop over fire units (tens)
        ic = eng.w.units[u].ic
        per_cycle = int(cycle_s // ic.launch_interval_s) if ic.launch_interval_s > 0 else 10**6
        rounds = (eng.rounds[u] - eng.doctrine.reserve) // salvo if ic.kind == "kinetic" else 10**6
        ready = t_s >= eng.next_launch[u]
        cap.append(min(ic.channels - eng.busy[u], rounds, max(per_cycle, 1)) if ready else 0)
    return np.maximum(np.array(cap, dtype=np.int64), 0)


def on_cycle(eng: Engine, t_s: float, k: int) -> None:
    """One battle-management cycle of C2 node ``k``: assess, find opportunities, assign."""
    w, doc = eng.w, eng.doctrine
    _, o, cycle_s = w.nodes[k]
    if eng.net is None:
        dropped = drop_stale(eng.pictures, o, t_s, w.scenario.spec.tracking.drop_after_s)
        eng.log.add(t_s, "track_drop", dropped, owner=w.owners[o])
    else:
        network.refresh_picture(eng, o, t_s)
    flight.uplink(eng, k, t_s)
    firm = eng.pictures.firm(o)
    firm = firm[~eng.known_dead[firm]]
    units = eng.node_units[k]
    busy = bool(eng.busy[units].sum()) if units else False
    if firm.size == 0 and not busy:
        eng.node_awake[k] = False
        return
    eng.push(t_s + cycle_s, Kind.C2_CYCLE, k)
    eng.c2_cycles += 1
    well_covered = (eng.engaged_until[firm] > t_s) & (1.0 - eng.miss_prob[firm] >= doc.cover_pk)
    eligible = firm[~well_covered]
    if not doc.shoot_look_shoot:
        eligible = eligible[eng.engage_count[eligible] == 0]
    if eligible.size == 0 or not units:
        return
    refresh_assessment(eng, o, eligible)
    # skip threats whose launch cannot fall due yet on the path this node last saw
    quiet = (eng.due_stamp[k][eligible] == eng.cache_updates[o][eligible]) & (
        eng.next_due[k][eligible] > t_s
    )
    eligible = eligible[~quiet]
    if eligible.size == 0:
        return
    t_imp = eng.cache_impact_t[o][eligible]
    t_decide = time.perf_counter()
    opp = opportunities(
        eng.node_env[k],
        t_s,
        eng.cache_path_t[o][eligible],
        eng.cache_path[o][eligible],
        t_imp,
        w.fluence_j_m2[eligible],
        cycle_s,
    )
    eng.next_due[k][eligible] = t_s + opp.due_in_s.min(axis=0)
    eng.due_stamp[k][eligible] = eng.cache_updates[o][eligible]
    pk = eng.node_pk[k][:, w.truth.class_idx[eligible]] * track_quality_factor(
        eng.pictures.p[o, eligible], eng.node_divert_m[k]
    )  # (u, k)
    usable = pk >= max(doc.min_pk, 1e-9)
    engage_all = np.array([w.units[u].engage_all for u in units])
    threatening = eng.cache_p_hit[o][eligible] >= max(doc.min_hit_probability, 1e-12)
    usable &= engage_all[:, None] | threatening[None, :]
    cap = capacity(eng, units, t_s, cycle_s)
    feasible = opp.feasible & usable & (cap > 0)[:, None]
    uu, rr = np.nonzero(feasible)
    fc = covered(eng, o, opp.pip_m[uu, rr], t_s)
    uu, rr = uu[fc], rr[fc]
    if uu.size == 0:
        return
    cost = np.array([w.units[u].ic.cost_usd for u in units])
    layer = np.array([w.units[u].ic.layer for u in units], dtype=np.int64)
    cand = Candidates(unit=uu, row=rr, pk=pk[uu, rr], cost_usd=cost[uu], layer=layer[uu])
    ammo = np.array(
        [eng.rounds[u] + eng.reloads[u] > 0 or w.units[u].ic.kind == "laser" for u in units]
    )
    later_ok = opp.later & usable & ammo[:, None]
    if doc.prefer_cheap:
        lu, lr = np.nonzero(later_ok)
        hold = hold_for_cheaper(cand, lr, cost[lu], eligible.size)
        keep = ~(hold & ~w.motion.ballistic[eligible][rr])
        cand = Candidates(uu[keep], rr[keep], cand.pk[keep], cand.cost_usd[keep], cand.layer[keep])
    value = eng.cache_value[o][eligible]
    if doc.solver == "layered":
        priority = np.empty(eligible.size, dtype=np.int64)
        priority[np.lexsort((t_imp, -value))] = np.arange(eligible.size)
        au, ar = assign(cand, priority, w.motion.ballistic[eligible], cap, doc.prefer_cheap)
    else:
        later_kill = 1.0 - np.prod(np.where(later_ok, 1.0 - pk, 1.0), axis=0)
        au, ar = assign_wta(eng, cand, value, later_kill, eligible, engage_all, cap, units)
    eng.c2_solve_ms.append(1e3 * (time.perf_counter() - t_decide))
    for j, r in zip(au.tolist(), ar.tolist(), strict=True):  # the engagements started
        start_engagement(
            eng,
            t_s,
            units[j],
            int(eligible[r]),
            float(opp.t_intercept_s[j, r]),
            opp.pip_m[j, r],
            float(pk[j, r]),
            float(opp.flyout_s[j, r]),
        )


def track_quality_factor(cov: F64, divert_m: F64) -> F64:
    """Chance (u, k) that the guidance error falls inside each kill vehicle's divert basket.

    With the track's position error isotropic Gaussian of per-axis sigma ``s`` (from the
    covariance trace), the chance that its component across the line of sight (two
    axes) is within the divert ``d`` is ``1 - exp(-d^2 / (2 s^2))`` (Rayleigh). Lasers
    follow their target (``divert_m`` inf): 1.

    Parameters
    ----------
    cov : (k, 6, 6) track covariances; divert_m : (u,) divert basket of each unit, m.
    """
    var = np.trace(cov[:, :3, :3], axis1=1, axis2=2) / 3.0
    with np.errstate(divide="ignore", over="ignore"):
        ratio = divert_m[:, None] ** 2 / (2.0 * np.maximum(var, 1e-6)[None, :])
    return np.asarray(-np.expm1(-ratio))


def assign_wta(
    eng: Engine,
    cand: Candidates,
    value: F64,
    later_kill: F64,
    eligible: I64,
    engage_all: NDArray[np.bool_],
    cap: I64,
    units: list[int],
) -> tuple[I64, I64]:
    """Weighted WTA over the cycle's candidates (:mod:`iamd.c2.wta.weighted`).

    Value per threat is its value at risk (one value unit for a threat to open ground,
    offered only to units that engage everything), less the share later layers are
    credited with (``later_credit``). Cost is ``cost_weight`` value units per US$ million
    of interceptors. With ``upper_first``, a ballistic threat that an upper tier can take
    now is offered only to that tier: the lower layers are held for its leakers.
    """
    doc, w = eng.doctrine, eng.w
    ballistic = w.motion.ballistic[eligible]
    keep = np.ones(cand.unit.size, dtype=bool)
    if doc.upper_first:
        top = np.full(eligible.size, np.iinfo(np.int64).max)
        np.minimum.at(top, cand.row, cand.layer)
        upper = ballistic & (top <= UPPER_TIER)
        keep &= ~upper[cand.row] | (cand.layer == top[cand.row])
    keep &= (value[cand.row] > 0) | engage_all[cand.unit]
    uu, rr = cand.unit[keep], cand.row[keep]
    kinetic = np.array([w.units[u].ic.kind == "kinetic" for u in units], dtype=bool)
    shots = np.where(kinetic[uu], doc.salvo, 1)
    p = np.zeros((len(units), eligible.size))
    p[uu, rr] = 1.0 - (1.0 - cand.pk[keep]) ** shots
    cost = np.zeros_like(p)
    cost[uu, rr] = doc.cost_weight * cand.cost_usd[keep] * shots / 1e6
    worth = np.where(value > 0, value, 1.0) * (1.0 - doc.later_credit * later_kill)
    return assign_weighted(worth, p, cost, cap, doc.solver)


def start_engagement(
    eng: Engine, t_s: float, u: int, i: int, t_int: float, pip: F64, pk: float, flyout_s: float
) -> None:
    """Commit unit ``u`` to threat ``i``: rounds, channel, the launch and its flight.

    The interceptor leaves so as to arrive at ``t_int`` after ``flyout_s`` of flight (not
    before the reaction time), and is flown and guided from then on
    (:mod:`iamd.sim.flight`); a laser's shot ends at ``t_int``. When no time would be left
    after the kill assessment to engage again before the predicted impact,
    ``last_look_salvo`` interceptors go instead of ``salvo``.
    """
    spec_u, doc = eng.w.units[u], eng.doctrine
    ic = spec_u.ic
    kinetic = ic.kind == "kinetic"
    shots = 1
    if kinetic:
        o = eng.w.owners.index(spec_u.owner)
        time_left = eng.cache_impact_t[o][i] - (t_int + doc.kill_assessment_s)
        look_possible = doc.shoot_look_shoot and time_left > LOOK_AGAIN_S
        shots = doc.salvo if look_possible else max(doc.salvo, doc.last_look_salvo)
        shots = int(min(shots, eng.rounds[u]))
    t_launch = max(t_s + ic.reaction_s, t_int - flyout_s) if kinetic else t_s + ic.reaction_s
    e = len(eng.engagements)
    job = Engagement(u, i, t_s, t_launch, t_int, pip, pk, shots)
    eng.engagements.append(job)
    eng.engaged[i] = True
    for due in eng.next_due:  # its picture changes for every node: look again
        due[i] = -np.inf
    eng.engage_count[i] += 1
    eng.engaged_until[i] = np.inf
    eng.miss_prob[i] *= (1.0 - pk) ** shots
    eng.busy[u] += 1
    eng.fired[u] += shots
    if kinetic:
        eng.rounds[u] -= shots
        eng.next_launch[u] = t_s + ic.launch_interval_s * shots
        if eng.rounds[u] < doc.salvo and eng.reloads[u] > 0 and not eng.reloading[u]:
            eng.reloading[u] = True
            eng.push(t_s + ic.reload_s, Kind.RELOAD, u)
    eng.log.add(
        t_launch,
        "launch_interceptor",
        i,
        unit=spec_u.name,
        owner=spec_u.owner,
        interceptor=spec_u.interceptor,
        engagement=e,
        value=float(shots),
        ecef_m=spec_u.ecef_m,
    )
    if kinetic:
        job.flight = flight.launch(eng, t_s, e, u, i, t_launch, t_int, pip)
    else:
        eng.push(t_int, Kind.INTERCEPT, e)


def on_intercept(eng: Engine, t_s: float, e: int) -> None:
    """The end of engagement ``e``: its interceptor's closest approach (or its end in
    flight), or a laser's dwell. A kill needs a live target, the kill vehicle on it
    (:func:`iamd.sim.flight.end_game_kill_possible`) and one of the salvo's kill draws;
    the event carries the miss distance and where the interceptor was."""
    job = eng.engagements[e]
    u, i = job.unit, job.threat
    spec_u = eng.w.units[u]
    draws = eng.rng.intercept.uniform(0.0, 1.0, job.shots)
    eng.busy[u] -= 1
    gone = eng.fate[i] != ALIVE or t_s >= eng.t_dead[i]
    if job.flight < 0:  # a laser: its beam follows the target
        detail = "dwell"
        if gone:
            kind, miss_m, pos = "miss_target_gone", np.nan, job.pip_m
        else:
            pos = eng.w.truth.state_at(np.array([i]), np.array([t_s]))[0, :3]
            inside = np.linalg.norm(pos - spec_u.ecef_m) <= spec_u.ic.max_range_km * 1e3
            miss_m = 0.0 if inside else float("inf")
            kind = "intercept" if inside and bool((draws < job.pk).any()) else "miss"
    else:
        fl = eng.flights
        f = job.flight
        status = int(fl.status[f])
        detail = STATUS_NAMES[status]
        pos = fl.ending[f, INFO_X : INFO_X + 3].copy()
        if not np.isfinite(pos).all():
            pos = fl.y[f, :3].copy()
        on_target, miss_m = flight.end_game_kill_possible(eng, f)
        if gone or status in (GONE, CA_ESTIMATE):
            kind, miss_m = "miss_target_gone", float(fl.ending[f, INFO_MISS])
        else:
            target = eng.w.truth.state_at(np.array([i]), np.array([t_s]))[0, :3]
            if on_target and not inside_envelope(spec_u, target):
                on_target, detail = False, "outside_envelope"
            kind = "intercept" if on_target and bool((draws < job.pk).any()) else "miss"
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
    eng.push(t_s + eng.doctrine.kill_assessment_s, Kind.KILL_ASSESSMENT, e)


def inside_envelope(spec_u: UnitSpec, point_m: F64) -> bool:
    """Whether ``point_m`` (3,) lies inside the unit's documented envelope: its slant range
    and altitude bands (the fire-control limits that hold beyond what it can fly)."""
    ic = spec_u.ic
    rng = float(np.linalg.norm(point_m - spec_u.ecef_m))
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
    i = job.threat
    o = eng.w.owners.index(eng.w.units[job.unit].owner)
    point = job.pip_m
    if job.flight >= 0 and np.isfinite(eng.flights.ending[job.flight, INFO_X]):
        point = eng.flights.ending[job.flight, INFO_X : INFO_X + 3]
    pc = assessment_pc(eng, o, point, t_s)
    right = pc >= 1.0 or bool(eng.rng.assess.uniform() < pc)
    killed = eng.fate[i] == INTERCEPTED
    if killed == right:  # judged destroyed
        eng.known_dead[i] = True
    eng.engaged_until[i] = t_s
    eng.miss_prob[i] = 1.0
    gone = eng.fate[i] != ALIVE
    eng.log.add(t_s, "kill_assessment", i, engagement=e, value=float(gone == right))


def on_reload(eng: Engine, t_s: float, u: int) -> None:
    spec_u = eng.w.units[u]
    load = min(spec_u.ic.launchers * spec_u.ic.rounds_per_launcher - eng.rounds[u], eng.reloads[u])
    eng.rounds[u] += load
    eng.reloads[u] -= load
    eng.reloading[u] = False
    eng.log.add(t_s, "reload", -1, unit=spec_u.name, owner=spec_u.owner, value=float(load))

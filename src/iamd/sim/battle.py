"""The battle manager: each C2 node's cycle of assessment, opportunities and assignment.

Functions over one :class:`~iamd.sim.engine.Engine`'s state, called by its event loop.
Each C2 cycle assesses the node's eligible tracks, finds every fire unit's opportunities,
and assigns them with the layered greedy doctrine of :mod:`iamd.c2.doctrine`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.c2.assess import assess
from iamd.c2.doctrine import (
    UPPER_TIER,
    Candidates,
    assign,
    hold_for_cheaper,
    screen,
    self_threats,
)
from iamd.c2.envelope import opportunities
from iamd.c2.wta.weighted import assign_weighted
from iamd.sensors import radar as radar_mod
from iamd.sim import aircraft, engagement, flight, network
from iamd.sim.events import Kind
from iamd.tracking.ideal import drop_stale

if TYPE_CHECKING:
    from iamd.sim.engine import Engine

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

LATER_PK_FRESH_S = 10.0
"""How long another node's word on who can still engage a threat counts."""
ASSESS_ENGAGEABLE_ONLY = True
"""A node assesses only tracks of classes that some unit of its owner's nodes can engage
(Pk above 0). The others can never be assigned, and the assessment cache is the owner's,
so skipping them changes no output (a test runs both ways); a fighter-only partner no
longer flies the 13 sigma-point trajectories of every ballistic track."""
BALLISTIC_REASSESS_S = 6.0
"""Least time between two re-flights of a ballistic track's predicted path."""


@dataclass(frozen=True, slots=True)
class NodeUnits:
    """The fixed figures of one C2 node's u fire units, as arrays (u,), built once.

    Attributes
    ----------
    engage_all : engages every threat, not only those at a defended asset.
    kinetic, laser : interceptor kind.
    salvo : interceptors per engagement (1 for lasers).
    cost_usd : one interceptor's cost; layer : its layer (1 the upper tier).
    value : the unit's own value to the defence.
    channels : engagements it can hold at once.
    per_cycle : launches that fit in one of the node's cycles (at least 1).
    aircraft : the unit's aircraft (-1: a ground or ship unit).
    unit : the units' indices in the world.
    air_rows : the rows of the aircraft units.
    """

    engage_all: BOOL
    kinetic: BOOL
    laser: BOOL
    salvo: I64
    cost_usd: F64
    layer: I64
    value: F64
    channels: I64
    per_cycle: I64
    aircraft: I64
    unit: I64
    air_rows: I64

    @staticmethod
    def of(eng: Engine, k: int) -> NodeUnits:
        us, cycle_s = eng.node_units[k], eng.w.nodes[k][2]
        units = [eng.w.units[u] for u in us]
        per_cycle = [
            int(cycle_s // x.ic.launch_interval_s) if x.ic.launch_interval_s > 0 else 10**6
            for x in units
        ]
        return NodeUnits(
            engage_all=np.array([x.engage_all for x in units], dtype=bool),
            kinetic=np.array([x.ic.kind == "kinetic" for x in units], dtype=bool),
            laser=np.array([x.ic.kind == "laser" for x in units], dtype=bool),
            salvo=np.array([eng.unit_doctrine[u].salvo or 1 for u in us], dtype=np.int64),
            cost_usd=np.array([x.ic.cost_usd for x in units], dtype=np.float64),
            layer=np.array([x.ic.layer for x in units], dtype=np.int64),
            value=np.array([x.value for x in units], dtype=np.float64),
            channels=np.array([x.ic.channels for x in units], dtype=np.int64),
            per_cycle=np.maximum(np.array(per_cycle, dtype=np.int64), 1),
            aircraft=np.array([x.aircraft for x in units], dtype=np.int64),
            unit=np.array(us, dtype=np.int64),
            air_rows=np.array([j for j, x in enumerate(units) if x.aircraft >= 0], dtype=np.int64),
        )


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
        w.defended[o],
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


def capacity(eng: Engine, k: int, t_s: float) -> I64:
    """Engagements each of node ``k``'s units can start this cycle, (u,): free channels,
    rounds beyond the reserve (in salvos), launches per cycle; 0 before its next launch or
    for an aircraft that cannot be tasked."""
    f = eng.node_fig[k]
    cap = capacity_kernel(
        f.unit, f.kinetic, f.salvo, f.channels, f.per_cycle, eng.rounds, eng.busy,
        eng.next_launch, int(eng.doctrine.reserve), float(t_s),
    )  # fmt: skip
    for j in f.air_rows.tolist():  # aircraft units (a few)
        if not aircraft.available(eng, int(f.aircraft[j]), t_s):
            cap[j] = 0
    return cap


@njit(cache=True)
def capacity_kernel(
    unit: I64,
    kinetic: BOOL,
    salvo: I64,
    channels: I64,
    per_cycle: I64,
    rounds: I64,
    busy: I64,
    next_launch_s: F64,
    reserve: int,
    t_s: float,
) -> I64:
    """Kernel of :func:`capacity` for units ``unit`` (u,) with the figures of
    :class:`NodeUnits` (u,) and the engine's per-unit ``rounds``, ``busy`` and
    ``next_launch_s`` (all units): (u,) engagements, aircraft not yet checked."""
    cap = np.empty(unit.shape[0], dtype=np.int64)
    for j in range(unit.shape[0]):
        i = unit[j]
        salvos = (rounds[i] - reserve) // salvo[j] if kinetic[j] else 10**6
        c = min(min(channels[j] - busy[i], salvos), per_cycle[j])
        cap[j] = max(c, 0) if t_s >= next_launch_s[i] else 0
    return cap


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
    busy = bool(eng.busy[eng.node_fig[k].unit].sum())  # an index array: no list conversion
    if firm.size == 0 and not busy:
        eng.node_awake[k] = False
        return
    eng.push(t_s + cycle_s, Kind.C2_CYCLE, k)
    eng.c2_cycles += 1
    well_covered = (eng.engaged_until[firm] > t_s) & (1.0 - eng.miss_prob[firm] >= doc.cover_pk)
    eligible = firm[~well_covered]
    if ASSESS_ENGAGEABLE_ONLY:
        eligible = eligible[eng.owner_engages[o][w.truth.class_idx[eligible]]]
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
    aircraft.refresh_units(eng, k, t_s)
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
    fig = eng.node_fig[k]
    idx = fig.unit
    at_me = self_threats(
        eng.node_env[k].ecef_m, eng.cache_path[o][eligible], w.motion.ballistic[eligible]
    )
    fresh = (eng.later_pk_t[:, eligible] >= t_s - LATER_PK_FRESH_S) & (
        np.arange(len(w.nodes)) != k
    )[:, None]
    ammo = (eng.rounds[idx] + eng.reloads[idx] > 0) | fig.laser
    # a better layer out of loaded rounds takes nothing before its reload
    loaded = (eng.rounds[idx] > doc.reserve) | fig.laser
    cap = capacity(eng, k, t_s)
    scr = screen(
        eng.node_pk[k],
        w.truth.class_idx[eligible],
        eng.pictures.p[o, eligible],
        eng.node_divert_m[k],
        fig.engage_all,
        eng.cache_p_hit[o][eligible] >= max(doc.min_hit_probability, 1e-12),
        at_me,
        opp.later,
        opp.feasible,
        loaded,
        ammo,
        cap,
        doc.min_pk,
        eng.node_yield_pk[k],
        eng.node_last_ditch[k],
        np.where(fresh, eng.later_pk[:, eligible], 0.0).max(axis=0),
    )
    eng.later_pk[k, eligible] = scr.could_pk
    eng.later_pk_t[k, eligible] = t_s
    pk, later_ok = scr.pk, scr.later_ok
    uu, rr = np.nonzero(scr.feasible)
    fc = covered(eng, o, opp.pip_m[uu, rr], t_s)
    uu, rr = uu[fc], rr[fc]
    if uu.size == 0:
        return
    cost, layer = fig.cost_usd, fig.layer
    cand = Candidates(unit=uu, row=rr, pk=pk[uu, rr], cost_usd=cost[uu], layer=layer[uu])
    if doc.prefer_cheap:
        lu, lr = np.nonzero(later_ok)
        hold = hold_for_cheaper(cand, lr, cost[lu], eligible.size)
        keep = ~(hold & ~w.motion.ballistic[eligible][rr])
        cand = Candidates(uu[keep], rr[keep], cand.pk[keep], cand.cost_usd[keep], cand.layer[keep])
    # a threat coming at a unit is worth that unit's value to it (times the threat's damage)
    value = eng.cache_value[o][eligible] + w.damage[eligible] * (at_me * fig.value[:, None]).max(
        axis=0
    )
    if doc.solver == "layered":
        priority = np.empty(eligible.size, dtype=np.int64)
        priority[np.lexsort((t_imp, -value))] = np.arange(eligible.size)
        au, ar = assign(cand, priority, w.motion.ballistic[eligible], cap, doc.prefer_cheap)
    else:
        later_kill = 1.0 - np.prod(np.where(later_ok, 1.0 - pk, 1.0), axis=0)
        au, ar = assign_wta(
            eng, cand, value, later_kill, eligible, fig.engage_all | at_me.any(axis=1), cap, k
        )
    eng.c2_solve_ms.append(1e3 * (time.perf_counter() - t_decide))
    for j, r in zip(au.tolist(), ar.tolist(), strict=True):  # the engagements started
        engagement.start_engagement(
            eng,
            t_s,
            units[j],
            int(eligible[r]),
            float(opp.t_intercept_s[j, r]),
            opp.pip_m[j, r],
            float(pk[j, r]),
            float(opp.flyout_s[j, r]),
        )


def assign_wta(
    eng: Engine,
    cand: Candidates,
    value: F64,
    later_kill: F64,
    eligible: I64,
    engage_all: NDArray[np.bool_],
    cap: I64,
    k: int,
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
    fig = eng.node_fig[k]
    shots = np.where(fig.kinetic[uu], fig.salvo[uu], 1)
    p = np.zeros((fig.salvo.size, eligible.size))
    p[uu, rr] = 1.0 - (1.0 - cand.pk[keep]) ** shots
    cost = np.zeros_like(p)
    cost[uu, rr] = doc.cost_weight * cand.cost_usd[keep] * shots / 1e6
    worth = np.where(value > 0, value, 1.0) * (1.0 - doc.later_credit * later_kill)
    return assign_weighted(worth, p, cost, cap, doc.solver)

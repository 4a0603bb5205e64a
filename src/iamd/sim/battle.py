"""The battle manager: each C2 node's cycle of assessment, opportunities and assignment.

Functions over one :class:`~iamd.sim.engine.Engine`'s state, called by its event loop.
Each C2 cycle classifies the node's tracks (:mod:`iamd.sim.classification`), assesses the
eligible ones on their estimated class, finds every fire unit's opportunities, keeps the
pairs with fire control (:func:`fire_control`), and assigns them with the doctrine of
:mod:`iamd.c2.doctrine`. A node under a central node assigns nothing while that node
directs its units (:mod:`iamd.sim.command`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.c2.assess import assess, assess_routes_into
from iamd.c2.doctrine import (
    SELF_DEFENCE_RADIUS_M,
    UPPER_TIER,
    Candidates,
    assign,
    hold_for_cheaper,
    screen_kernel,
    self_threats_kernel,
)
from iamd.c2.envelope import opportunities
from iamd.c2.wta.weighted import assign_weighted
from iamd.sensors import radar as radar_mod
from iamd.sensors.radar import covered_allowed
from iamd.sim import aircraft, classification, engagement, flight, network
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
    unit : the units' indices in the world; owner : their owners'.
    air_rows : the rows of the aircraft units.
    remote_radar : may use a partner's radar at the intercept point (``engage_on_remote``).
    remote_track : may launch on a partner's track (``engage_on_remote`` or
        ``launch_on_remote``).
    delay_s : an order's least time from the node to the unit, s (:mod:`iamd.sim.command`).
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
    owner: I64
    remote_radar: BOOL
    remote_track: BOOL
    delay_s: F64

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
            owner=eng.unit_owner[us],
            remote_radar=np.array([x.engage_on_remote for x in units], dtype=bool),
            remote_track=np.array(
                [x.engage_on_remote or x.launch_on_remote for x in units], dtype=bool
            ),
            delay_s=eng.node_delay_s[k],
        )


def refresh_assessment(eng: Engine, o: int, ids: I64) -> None:
    """Bring owner ``o``'s assessments of threats ``ids`` up to date with its tracks.

    Route threats are re-assessed whenever their track changed. A ballistic track's path
    is re-flown at most every ``BALLISTIC_REASSESS_S`` of track time, so that the updates
    of several scans share one vectorised integration instead of one each; fire units
    are guided by the live track in any case (:mod:`iamd.sim.flight`).
    """
    pics, w, est = eng.pictures, eng.w, eng.classes
    stale = ids[eng.cache_updates[o][ids] != pics.updates[o, ids]]
    if stale.size == 0:
        return
    age = pics.t_s[o, stale] - eng.cache_path_t[o][stale, 0]
    fresh_enough = (
        est.ballistic[o, stale] & (eng.cache_updates[o][stale] >= 0) & (age < BALLISTIC_REASSESS_S)
    )
    stale = stale[~fresh_enough]
    if stale.size == 0:
        return
    eng.cache_updates[o][stale] = pics.updates[o, stale]
    margin_m = eng.doctrine.asset_margin_km * 1e3
    ballistic = est.ballistic[o, stale]
    routes = stale[~ballistic]
    if routes.size:  # route threats: one compiled call (rows do not depend on each other)
        caches = (eng.cache_path_t[o], eng.cache_path[o], eng.cache_impact_t[o],
                  eng.cache_value[o], eng.cache_p_hit[o])  # fmt: skip
        a = w.assets
        assess_routes_into(
            routes, pics.x[o], pics.p[o], pics.t_s[o], est.damage[o], eng.defended_value[o],
            (a.centre_en_m, a.extent_m, a.origin_m, a.rot), margin_m, caches,
        )  # fmt: skip
    stale = stale[ballistic]
    if stale.size == 0:
        return
    ta = assess(
        stale,
        pics.x[o, stale],
        pics.t_s[o, stale],
        est.ballistic[o, stale],
        est.beta_kg_m2[o, stale],
        est.damage[o, stale],
        w.assets,
        margin_m,
        pics.p[o, stale],
        w.defended[o],
    )
    eng.cache_path_t[o][stale] = ta.path_t_s
    eng.cache_path[o][stale] = ta.path_m
    eng.cache_impact_t[o][stale] = ta.t_impact_s
    eng.cache_value[o][stale] = ta.value_at_risk
    eng.cache_p_hit[o][stale] = ta.p_hit


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
    st = eng.status
    # a track judged destroyed that goes on gathering detections is alive to the node
    # (system tracks; a row that is a threat stays judged)
    revive = w.scenario.spec.tracking.confirm_m if eng.slots.per else 0
    firm = firm[~st.judged_dead(o, firm, eng.pictures.updates[o], revive)]
    classification.update(eng, o, firm)
    est = eng.classes
    units = eng.node_units[k]
    busy = bool(eng.busy[eng.node_fig[k].unit].sum())  # an index array: no list conversion
    if firm.size == 0 and not busy:
        eng.node_awake[k] = False
        return
    eng.push(t_s + cycle_s, Kind.C2_CYCLE, k)
    if not assigns(eng, k, o, t_s):
        return
    eng.c2_cycles += 1
    eligible = firm[~st.covered(o, firm, t_s, doc.cover_pk)]
    if ASSESS_ENGAGEABLE_ONLY:
        eligible = eligible[eng.owner_engages[o][est.class_idx[o, eligible]]]
    if not doc.shoot_look_shoot:
        eligible = eligible[st.count[o][eligible] == 0]
    if eligible.size == 0 or not units:
        return
    refresh_assessment(eng, o, eligible)
    # skip threats whose launch cannot fall due yet on the path this node last saw
    quiet = (eng.due_stamp[k][eligible] == eng.cache_updates[o][eligible]) & (
        eng.next_due[k][eligible] > t_s
    )
    eligible = eligible[~quiet]
    if doc.min_class_confidence > 0.0 and est.kinematic:  # wait for a surer class
        sure = est.confidence[o, eligible] >= doc.min_class_confidence
        near = eng.cache_impact_t[o][eligible] - t_s <= doc.class_wait_s
        eligible = eligible[sure | near]
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
        est.fluence_j_m2[o, eligible],
        cycle_s,
    )
    eng.next_due[k][eligible] = t_s + opp.due_in_s.min(axis=0)
    eng.due_stamp[k][eligible] = eng.cache_updates[o][eligible]
    fig = eng.node_fig[k]
    grounded = np.zeros(len(units), dtype=bool)
    for j in fig.air_rows.tolist():  # aircraft units (a few)
        grounded[j] = not aircraft.available(eng, int(fig.aircraft[j]), t_s)
    if k == eng.command.node:  # no order would reach units behind a link that is down
        grounded |= ~eng.command.reach(len(w.owners), t_s)[fig.owner]
    allowed, own_track = fire_control(eng, k, eng.live_owners(o, t_s), eligible, t_s)
    if eng.slots.per:
        partners_later(eng, k, o, eligible)
    pk, later_ok, at_me, cap, uu, rr = screen_cycle(
        k, t_s, eligible, eng.node_env[k].ecef_m, eng.cache_path[o], est.ballistic[o],
        eng.later_pk, eng.later_pk_t, t_s - LATER_PK_FRESH_S, eng.status.node_reads[k],
        (fig.unit, fig.kinetic, fig.laser, fig.salvo, fig.channels, fig.per_cycle, grounded),
        (eng.rounds, eng.reloads, eng.busy, eng.next_launch), int(doc.reserve),
        eng.node_pk[k], est.class_idx[o], eng.pictures.p[o], eng.node_divert_m[k],
        fig.engage_all, eng.cache_p_hit[o], max(doc.min_hit_probability, 1e-12),
        opp.later, opp.feasible, float(doc.min_pk), eng.node_yield_pk[k], eng.node_last_ditch[k],
        eng.all_radars, allowed, own_track, opp.pip_m,
    )  # fmt: skip
    if uu.size == 0:
        return
    cost, layer = fig.cost_usd, fig.layer
    cand = Candidates(unit=uu, row=rr, pk=pk[uu, rr], cost_usd=cost[uu], layer=layer[uu])
    if doc.prefer_cheap:
        lu, lr = np.nonzero(later_ok)
        hold = hold_for_cheaper(cand, lr, cost[lu], eligible.size)
        keep = ~(hold & ~est.ballistic[o, eligible][rr])
        cand = Candidates(uu[keep], rr[keep], cand.pk[keep], cand.cost_usd[keep], cand.layer[keep])
    # a threat coming at a unit is worth that unit's value to it (times the threat's damage)
    at_me_value = (at_me * fig.value[:, None]).max(axis=0)
    value = eng.cache_value[o][eligible] + est.damage[o, eligible] * at_me_value
    if doc.solver == "layered":
        priority = np.empty(eligible.size, dtype=np.int64)
        priority[np.lexsort((t_imp, -value))] = np.arange(eligible.size)
        au, ar = assign(cand, priority, est.ballistic[o, eligible], cap, doc.prefer_cheap)
    else:
        later_kill = 1.0 - np.prod(np.where(later_ok, 1.0 - pk, 1.0), axis=0)
        au, ar = assign_wta(
            eng, cand, value, later_kill, eligible, fig.engage_all | at_me.any(axis=1), cap, k
        )
    eng.c2_solve_ms.append(1e3 * (time.perf_counter() - t_decide))
    # engagements the coalition's engagements in flight made needless, whether known or not
    st.double_engagements += int(
        st.truly_covered(eng.slots.real[o, eligible[ar]], t_s, doc.cover_pk).sum()
    )
    for j, r in zip(au.tolist(), ar.tolist(), strict=True):  # the engagements started
        engagement.start_engagement(
            eng,
            t_s,
            k,
            units[j],
            int(eligible[r]),
            float(opp.t_intercept_s[j, r]),
            opp.pip_m[j, r],
            float(pk[j, r]),
            float(opp.flyout_s[j, r]),
        )


def partners_later(eng: Engine, k: int, o: int, eligible: I64) -> None:
    """What node ``k`` (of owner ``o``) knows of its coordinated partners' nodes' later
    kill chances on its tracks ``eligible``: each partner node's figure for the track its
    owner's fusion correlated with each (:meth:`iamd.sim.slots.Slots.correlate`; none: 0),
    written in that node's row of ``later_pk`` at ``o``'s rows (which the partner's own
    rows never are)."""
    sl, net = eng.slots, eng.net
    assert net is not None
    reads = eng.status.node_reads[k]
    source = sl.source[o, eligible]
    for j, (_, p, _) in enumerate(eng.w.nodes):  # C2 nodes (a few)
        if p == o or not reads[j]:
            continue
        theirs = sl.correlate(net.numbers[p].bind, p, source)
        known = theirs >= 0
        at = np.maximum(theirs, 0)
        eng.later_pk[j, eligible] = np.where(known, eng.later_pk[j, at], 0.0)
        eng.later_pk_t[j, eligible] = np.where(known, eng.later_pk_t[j, at], -np.inf)


def assigns(eng: Engine, k: int, o: int, t_s: float) -> bool:
    """Whether node ``k`` (of owner ``o``) assigns its units at ``t_s``: not while a
    central node directs them (:mod:`iamd.sim.command`). A change either way is logged
    (``c2_fallback``, value 1: the node takes its units back; 0: the central node does)."""
    cmd = eng.command
    if k == cmd.node or not cmd.under[o]:
        return True
    alone = not cmd.directs(o, t_s)
    if alone != eng.fallen_back[k]:
        eng.fallen_back[k] = alone
        eng.status.fallbacks += alone
        name = eng.w.nodes[k][0]
        eng.log.add(t_s, "c2_fallback", -1, unit=name, owner=eng.w.owners[o], value=float(alone))
    return alone


@njit(cache=True)
def screen_cycle(
    k: int,
    t_s: float,
    eligible: I64,
    unit_m: F64,
    path_m: F64,
    ballistic: BOOL,
    later_pk: F64,
    later_pk_t_s: F64,
    fresh_after_s: float,
    reads: BOOL,
    units: tuple[I64, BOOL, BOOL, I64, I64, I64, BOOL],
    stocks: tuple[I64, I64, I64, F64],
    reserve: int,
    pk_class: F64,
    class_idx: I64,
    cov: F64,
    divert_m: F64,
    engage_all: BOOL,
    p_hit: F64,
    min_hit: float,
    later: BOOL,
    feasible_now: BOOL,
    min_pk: float,
    yield_below_pk: F64,
    last_ditch: BOOL,
    bank: radar_mod.BankFigures,
    allowed: BOOL,
    own_track: BOOL,
    pip_m: F64,
) -> tuple[F64, BOOL, BOOL, I64, I64, I64]:
    """The screening of node ``k``'s cycle at ``t_s`` in one call: which of its u units
    come under which of its k ``eligible`` threats (:func:`self_threats`), what the other
    nodes could still get (fresh since ``fresh_after_s``), ammunition, reserve and
    capacity (:func:`capacity_kernel`, zero for ``grounded`` aircraft), the doctrine's
    screen (:func:`iamd.c2.doctrine.screen_kernel`), and the feasible pairs that have
    fire control (:func:`fire_control`): a track the unit may launch on, and a radar of
    ``bank`` that it may use covering the predicted intercept point.

    Parameters
    ----------
    eligible : (k,) the threats; ``path_m`` (n, s, 3), ``ballistic``, ``class_idx``,
        ``cov`` (n, 6, 6) and ``p_hit`` (n,) are indexed by threat.
    unit_m : (u, 3) the units' sites, ECEF m.
    later_pk, later_pk_t_s : (nodes, n) the best kill probability each node could still
        get and when it said so; row ``k`` is written with this node's.
    reads : (nodes,) the nodes whose figures this node knows (its owner's, and with
        coordination its partners').
    units : the units' world indices, kinetic, laser, salvo, channels, launches per cycle
        and grounded flags (u,) (:class:`NodeUnits`).
    stocks : the rounds, reloads, engagements held and next launch time s of every unit.
    min_hit : a threat whose asset hit probability reaches this threatens a defended asset.
    later, feasible_now : (u, k) from :func:`iamd.c2.envelope.opportunities`; pip_m
        (u, k, 3) its predicted intercept points, ECEF m.
    bank, allowed, own_track : every radar's figures (:func:`iamd.sensors.radar.bank_figures`),
        the radars (u, r) each unit may use, and the threats (u, k) it may launch on.
    pk_class, divert_m, engage_all, min_pk, yield_below_pk, last_ditch : as
        :func:`iamd.c2.doctrine.screen` takes them.

    Returns
    -------
    pk (u, k), later_ok (u, k) and at_me (u, k) of the screen, the units' capacity (u,),
    and the unit and threat rows of the supported feasible pairs, in row-major order.
    """
    unit, kinetic, laser, salvo, channels, per_cycle, grounded = units
    rounds, reloads, busy, next_launch_s = stocks
    n_u, n_k = unit.shape[0], eligible.shape[0]
    path = np.empty((n_k, path_m.shape[1], 3))
    ballistic_k = np.empty(n_k, dtype=np.bool_)
    class_k = np.empty(n_k, dtype=np.int64)
    cov_k = np.empty((n_k, 6, 6))
    threatening = np.empty(n_k, dtype=np.bool_)
    elsewhere = np.empty(n_k)
    for j in range(n_k):
        e = eligible[j]
        path[j] = path_m[e]
        ballistic_k[j] = ballistic[e]
        class_k[j] = class_idx[e]
        cov_k[j] = cov[e]
        threatening[j] = p_hit[e] >= min_hit
        best = -np.inf
        for r in range(later_pk.shape[0]):
            fresh = later_pk_t_s[r, e] >= fresh_after_s and r != k and reads[r]
            v = later_pk[r, e] if fresh else 0.0
            best = max(best, v)
        elsewhere[j] = best
    if n_u and n_k:
        at_me = self_threats_kernel(unit_m, path, ballistic_k, SELF_DEFENCE_RADIUS_M)
    else:
        at_me = np.zeros((n_u, n_k), dtype=np.bool_)
    ammo = np.empty(n_u, dtype=np.bool_)
    loaded = np.empty(n_u, dtype=np.bool_)
    for j in range(n_u):
        i = unit[j]
        ammo[j] = rounds[i] + reloads[i] > 0 or laser[j]
        # a better layer out of loaded rounds takes nothing before its reload
        loaded[j] = rounds[i] > reserve or laser[j]
    cap = capacity_kernel(
        unit, kinetic, salvo, channels, per_cycle, rounds, busy, next_launch_s, reserve, t_s
    )
    for j in range(n_u):
        if grounded[j]:
            cap[j] = 0
    pk, _, later_ok, feasible, could_pk = screen_kernel(
        pk_class, class_k, cov_k, divert_m, engage_all, threatening, at_me, later,
        feasible_now, loaded, ammo, cap, min_pk, yield_below_pk, last_ditch, elsewhere,
    )  # fmt: skip
    for j in range(n_k):
        later_pk[k, eligible[j]] = could_pk[j]
        later_pk_t_s[k, eligible[j]] = t_s
    uu, rr = np.nonzero(feasible)
    m = uu.shape[0]
    points = np.empty((m, 3))
    for q in range(m):
        points[q] = pip_m[uu[q], rr[q]]
    keep = covered_allowed(bank, points, uu, allowed)
    for q in range(m):
        keep[q] = keep[q] and own_track[uu[q], rr[q]]
    return pk, later_ok, at_me, cap, uu[keep], rr[keep]


def fire_control(
    eng: Engine, k: int, live: tuple[int, ...], eligible: I64, t_s: float
) -> tuple[BOOL, BOOL]:
    """What fire control each of node ``k``'s u units has on threats ``eligible`` (k,):
    the world's radars (u, r) it may use at the predicted intercept point (kept per node
    and set of ``live`` owners), and the threats (u, k) it may launch on.

    A unit with ``engage_on_remote`` uses any radar of the owners ``live`` (those whose
    data reach the deciding node's picture) and launches on any track; one with
    ``launch_on_remote`` launches on any track but needs its own owner's radar at the
    intercept point; one with neither needs its owner's radar there, and its owner's
    radars to have detected the object the track follows within the track drop time (its
    own track: a sensor's detection, not the node's knowledge); a false track
    (:mod:`iamd.sim.slots`) is a unit's own when its owner's tracker holds it.
    """
    fig = eng.node_fig[k]
    allowed = eng.fire_radars.get((k, live))
    if allowed is None:
        r_owner = eng.radar_owner
        mine = r_owner[None, :] == fig.owner[:, None]
        allowed = np.ascontiguousarray(
            np.where(fig.remote_radar[:, None], np.isin(r_owner, live)[None, :], mine)
        )
        eng.fire_radars[(k, live)] = allowed
    if fig.remote_track.all():
        return allowed, np.ones((fig.owner.size, eligible.size), dtype=bool)
    drop_s = eng.w.scenario.spec.tracking.drop_after_s
    real = eng.slots.real[eng.w.nodes[k][1], eligible]
    seen = eng.radar_seen[fig.owner[:, None], np.maximum(real, 0)[None, :]] >= t_s - drop_s
    if (real < 0).any():  # a false track: the unit's own if its owner's tracker holds it
        home = eng.slots.home(eng.w.nodes[k][1], eligible)
        seen = np.where(real[None, :] >= 0, seen, home[None, :] == fig.owner[:, None])
    return allowed, np.ascontiguousarray(seen | fig.remote_track[:, None])


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
    doc = eng.doctrine
    ballistic = eng.classes.ballistic[eng.w.nodes[k][1], eligible]
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

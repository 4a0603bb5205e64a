"""Interceptors in flight: launched, guided on their node's picture, and their end game.

A kinetic engagement launches one interceptor path (a salvo's rounds fly it together) from
the unit toward the predicted intercept point. From then on it is guided by midcourse
updates: at every cycle of the firing C2 node, the interceptor is flown to that instant
(:func:`iamd.physics.flyout.fly_many`) on the estimate it was last given, and takes the
node's latest track of its target as its new estimate (tracks reach the node over its
links, with their latency and loss; a lost track leaves the last estimate in place).

An interceptor whose node has held no track of its target for ``TRACK_LOST_AFTER_S``
self-destructs. When the closest approach falls before the node's next cycle, the end game is flown:
the interceptor on its last estimate, against the real object's trajectory, to their
closest approach. Its seeker acquires the object at its acquisition range, which leaves
the kill vehicle ``seeker_range / V_c`` seconds to divert; it takes out a miss up to

.. math:: d = \\min(d_{divert},\\ \\tfrac12 a_{lat} (R_{seeker} / V_c)^2)

A kill needs the miss within ``d``, then the kill probability. The outcome is resolved at
the time of the closest approach; a target destroyed or landed by then, an interceptor
that fell, slowed below its least speed or ran out of time of flight, or one that passed
its aim point with nothing there (a wrong track: it self-destructs) misses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from iamd.c2.kinematics import kin_row
from iamd.physics import flyout
from iamd.physics.flyout import (
    CA_ESTIMATE,
    CA_REAL,
    FLYING,
    INFO_CLOSING,
    INFO_MISS,
    INFO_T,
    INFO_T_EST,
    INFO_X,
    KIN_DIVERT_M,
    KIN_LAT_M_S2,
    KIN_LOFT,
    KIN_SEEKER_M,
    N_INFO,
    TRACK_LOST,
    fly_many,
    launch_state,
)
from iamd.sim import coordination
from iamd.sim.events import Kind
from iamd.tracking.ideal import extrapolate

if TYPE_CHECKING:
    from iamd.sim.engine import Engine

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

TRACK_LOST_AFTER_S = 20.0
"""An interceptor whose node has held no track of its target for this long self-destructs
(until then it flies on its last estimate)."""
END_GAME_LOOKAHEAD_S = 5.0
"""The end game is flown ahead once the straight-line time to go is within this of the
node's next cycle (it is committed only if it ends before that cycle)."""
WAITING, GUIDED, ENDED = 0, 1, 2
"""A flight waits for its launch, flies on midcourse updates, or has its end game."""


@dataclass(slots=True)
class Flights:
    """Interceptors in flight (struct of arrays, grown as engagements launch).

    Attributes
    ----------
    y : (m, 12) interceptor ECEF position and velocity, then its target estimate's, at
        ``t_s``.
    t_s, t_launch_s, t_aim_s : (m,) time of ``y``, launch time and planned intercept
        time, s.
    t_est_s : (m,) when its estimate last came from a track, s.
    closing : (m,) it has closed on its estimate.
    engagement, unit, node : (m,) what it belongs to.
    threat : (m,) the row of its node's picture it is guided on (a threat's row or a
        track slot, :mod:`iamd.sim.slots`); gen : (m,) that slot's generation at launch.
    real : (m,) the real object its end game was last flown against (-1: none, a false
        track's), truth.
    kin : (m, N_KIN) kinematic rows.
    state : (m,) ``WAITING``, ``GUIDED`` or ``ENDED``.
    status : (m,) how its end game ended (``flyout.STATUS_NAMES``).
    ending : (m, N_INFO) its end game (``flyout.INFO_*``).
    by_node : each node's flights in launch order, those seen ended dropped (a superset
        of its flights not ended: each use checks ``state``).
    """

    y: F64
    t_s: F64
    t_launch_s: F64
    t_aim_s: F64
    t_est_s: F64
    closing: BOOL
    engagement: I64
    unit: I64
    threat: I64
    node: I64
    kin: F64
    gen: I64
    real: I64
    state: NDArray[np.int8]
    status: I64
    ending: F64
    n: int = 0
    by_node: dict[int, list[int]] = field(default_factory=dict)
    path_t_s: list[float] = field(default_factory=list)
    path_flight: list[int] = field(default_factory=list)
    path_x: list[F64] = field(default_factory=list)

    @staticmethod
    def empty(capacity: int = 64) -> Flights:
        m = capacity
        return Flights(
            y=np.zeros((m, 12)),
            t_s=np.zeros(m),
            t_launch_s=np.zeros(m),
            t_aim_s=np.zeros(m),
            t_est_s=np.zeros(m),
            closing=np.zeros(m, dtype=bool),
            engagement=np.zeros(m, dtype=np.int64),
            unit=np.zeros(m, dtype=np.int64),
            threat=np.zeros(m, dtype=np.int64),
            node=np.zeros(m, dtype=np.int64),
            kin=np.zeros((m, flyout.N_KIN)),
            gen=np.zeros(m, dtype=np.int64),
            real=np.full(m, -1, dtype=np.int64),
            state=np.zeros(m, dtype=np.int8),
            status=np.full(m, FLYING, dtype=np.int64),
            ending=np.full((m, N_INFO), np.nan),
        )

    def _grow(self) -> None:
        for name in ("y", "t_s", "t_launch_s", "t_aim_s", "t_est_s", "closing", "engagement"):
            self._double(name)
        for name in ("unit", "threat", "node", "kin", "gen", "real", "state", "status", "ending"):
            self._double(name)

    def _double(self, name: str) -> None:
        old = getattr(self, name)
        new = np.zeros((2 * old.shape[0], *old.shape[1:]), dtype=old.dtype)
        new[: old.shape[0]] = old
        setattr(self, name, new)

    def log(self, idx: I64) -> None:
        """Record flights ``idx`` at their current state (the interceptor trajectories)."""
        for f in idx.tolist():  # the flights of one cycle (a few)
            self.path_t_s.append(float(self.t_s[f]))
            self.path_flight.append(f)
            self.path_x.append(self.y[f, :6].copy())


def unit_kin(eng: Engine, u: int) -> F64:
    """The kinematic row of unit ``u``'s interceptor class (cached per class)."""
    name = eng.w.units[u].interceptor
    row = eng.kin_rows.get(name)
    if row is None:
        row = np.asarray(kin_row(eng.w.units[u].ic), dtype=np.float64)
        eng.kin_rows[name] = row
    return row


def launch(
    eng: Engine,
    t_decided_s: float,
    e: int,
    k: int,
    u: int,
    i: int,
    t_launch_s: float,
    t_aim_s: float,
    pip_m: F64,
    launcher_m: F64 | None = None,
) -> int:
    """Start the flight of engagement ``e`` (unit ``u`` at threat ``i``, guided by C2
    node ``k``), leaving at ``t_launch_s`` toward ``pip_m``, planned to get there at
    ``t_aim_s``; its first estimate is the node's track of ``i`` predicted to the launch;
    it leaves from ``launcher_m`` (3,) (default: the unit's site). Returns the flight's
    index."""
    fl = eng.flights
    if fl.n == fl.y.shape[0]:
        fl._grow()
    f = fl.n
    fl.n += 1
    spec = eng.w.units[u]
    kin = unit_kin(eng, u)
    o = eng.w.nodes[k][1]
    site = spec.ecef_m if launcher_m is None else launcher_m
    fl.y[f, :6] = launch_state(site, pip_m, float(kin[KIN_LOFT]), 0.0)
    x, _ = extrapolate(
        eng.pictures, np.array([o]), np.array([i]), t_launch_s, eng.classes.motion[o]
    )
    fl.y[f, 6:] = x[0]
    fl.t_s[f] = t_launch_s
    fl.t_launch_s[f] = t_launch_s
    fl.t_aim_s[f] = t_aim_s
    fl.t_est_s[f] = t_decided_s
    fl.closing[f] = False
    fl.engagement[f] = e
    fl.unit[f] = u
    fl.threat[f] = i
    fl.gen[f] = eng.slots.generation(o, np.array([i]))[0]
    fl.real[f] = eng.slots.real[o, i]
    fl.node[f] = k
    fl.by_node.setdefault(k, []).append(f)
    fl.kin[f] = kin
    fl.state[f] = WAITING
    fl.status[f] = FLYING
    fl.log(np.array([f]))
    # the node's first cycle after the launch brings the first update: an end game that
    # comes before it is flown now
    cycle_s = eng.w.nodes[k][2]
    t_next = t_decided_s + cycle_s * max(np.ceil((t_launch_s - t_decided_s) / cycle_s), 1.0)
    _maybe_end(eng, np.array([f]), t_launch_s, float(t_next))
    return f


def uplink(eng: Engine, k: int, t_s: float) -> None:
    """Node ``k``'s midcourse updates at ``t_s``: fly its interceptors in the air to now,
    give them its latest tracks, and fly the end game of those that reach their target
    before the node's next cycle."""
    fl = eng.flights
    launched = fl.by_node.get(k)
    if not launched:
        return
    launched = fl.by_node[k] = [f for f in launched if fl.state[f] != ENDED]
    mine = np.array([f for f in launched if fl.t_launch_s[f] <= t_s], dtype=np.int64)
    if mine.size == 0:
        return
    fl.state[mine] = GUIDED
    tr = eng.w.truth
    o = eng.w.nodes[k][1]
    est = eng.classes
    y, t, status, closing, _ = fly_many(
        fl.y[mine],
        fl.t_s[mine],
        fl.t_launch_s[mine],
        t_s,
        fl.t_aim_s[mine],
        fl.closing[mine],
        est.ballistic[o, fl.threat[mine]],
        est.beta_kg_m2[o, fl.threat[mine]],
        fl.kin[mine],
        tr.t_s,
        tr.state,
        np.zeros(mine.size, dtype=np.int64),
        np.full(mine.size, -1, dtype=np.int64),
        np.zeros(mine.size),
        False,
    )
    fl.y[mine], fl.t_s[mine], fl.closing[mine] = y, t, closing
    fl.log(mine)
    down = status != FLYING  # fell, slowed, ran out of time, or passed its estimate
    if down.any():
        _end_now(eng, mine[down], status[down], t_s)
        mine = mine[~down]
    # new estimates from the node's picture; an interceptor whose track has been lost
    # too long self-destructs
    ids = fl.threat[mine]
    # a row whose track has gone (or gone to another track) holds no track of this one
    held = eng.pictures.active[o, ids] & (eng.slots.generation(o, ids) == fl.gen[mine])
    if not held.all() and eng.slots.per:
        for j in np.flatnonzero(~held).tolist():  # flights whose track went (a few)
            held[j] = _reassociate(eng, int(mine[j]), o, t_s)
        ids = fl.threat[mine]
    cmd = eng.command
    if k == cmd.node:  # no update reaches another owner's interceptor through a link down
        held &= cmd.reach(len(eng.w.owners), t_s)[eng.unit_owner[fl.unit[mine]]]
    fl.t_est_s[mine[held]] = t_s
    lost = t_s - fl.t_est_s[mine] > TRACK_LOST_AFTER_S
    if lost.any():
        _end_now(eng, mine[lost], np.full(int(lost.sum()), TRACK_LOST), t_s)
        mine, ids, held = mine[~lost], ids[~lost], held[~lost]
    if held.any():
        x, _ = extrapolate(eng.pictures, np.full(int(held.sum()), o), ids[held], t_s, est.motion[o])
        fl.y[mine[held], 6:] = x
    _maybe_end(eng, mine, t_s, t_s + eng.w.nodes[k][2])


def _reassociate(eng: Engine, f: int, o: int, t_s: float) -> bool:
    """Flight ``f``'s track (of owner ``o``'s picture) has gone: its node takes the track
    nearest its estimate, within the fusion gate, for the one it was guided on (a track
    re-numbered, or re-started), and moves the engagement there. Whether one was found."""
    fl = eng.flights
    row = coordination.nearest_track(eng, o, t_s, float(fl.t_s[f]), fl.y[f, 6:12], 0.0)
    if row < 0:
        return False
    e = int(fl.engagement[f])
    job = eng.engagements[e]
    gen = int(eng.slots.generation(o, np.array([row]))[0])
    coordination.moved(eng, o, e, job.row, row, t_s)
    fl.threat[f], fl.gen[f] = row, gen
    job.row, job.gen = row, gen
    return True


def _maybe_end(eng: Engine, idx: I64, t_s: float, t_next_s: float) -> None:
    """Fly the end game of flights ``idx`` (at ``t_s``) whose closest approach may come
    before ``t_next_s``; commit those that end before it."""
    fl = eng.flights
    rel = fl.y[idx, 6:9] - fl.y[idx, :3]
    rel_v = fl.y[idx, 9:] - fl.y[idx, 3:6]
    dist = np.linalg.norm(rel, axis=1)
    closing_speed = -np.einsum("ij,ij->i", rel, rel_v) / np.maximum(dist, 1e-9)
    t_go = dist / np.maximum(closing_speed, 1.0)
    near = idx[t_s + t_go <= t_next_s + END_GAME_LOOKAHEAD_S]
    if near.size == 0:
        return
    y, t, status, _, ending = _end_game(eng, near)
    ends = np.minimum(ending[:, INFO_T], ending[:, INFO_T_EST])
    ends = np.where(np.isnan(ends), t, ends)
    commit = ends <= t_next_s
    for j in np.flatnonzero(commit).tolist():  # the flights ending before the next cycle
        _commit(eng, int(near[j]), int(status[j]), ending[j], y[j], t_s)


def _end_game(eng: Engine, idx: I64) -> tuple[F64, F64, I64, BOOL, F64]:
    """Fly flights ``idx`` to the closest approach with their real targets: the objects
    their tracks follow (:mod:`iamd.sim.slots`; a track slot gone to another track since
    the launch: the object it last followed). A false track's flight meets nothing: it
    flies on to its aim point."""
    fl, tr = eng.flights, eng.w.truth
    row = fl.threat[idx]
    o = np.array([eng.w.nodes[k][1] for k in fl.node[idx].tolist()], dtype=np.int64)
    same = eng.slots.generation_of(o, row) == fl.gen[idx]
    fl.real[idx] = np.where(same, eng.slots.real[o, row], fl.real[idx])
    real = fl.real[idx]
    i = np.maximum(real, 0)
    none = real < 0
    t_dead = np.where(none, -np.inf, np.where(eng.fate[i] == 0, eng.t_dead[i], -np.inf))
    return fly_many(
        fl.y[idx],
        fl.t_s[idx],
        fl.t_launch_s[idx],
        np.inf,
        fl.t_aim_s[idx],
        fl.closing[idx],
        eng.classes.ballistic[o, row],
        eng.classes.beta_kg_m2[o, row],
        fl.kin[idx],
        tr.t_s,
        tr.state,
        tr.offset[i],
        tr.offset[i + 1] - 1,
        t_dead,
        True,
    )


def _end_now(eng: Engine, idx: I64, status: I64, t_s: float) -> None:
    """Flights ``idx`` ended in midcourse (``status``): resolve them now."""
    fl = eng.flights
    y, _, st, _, ending = _end_game(eng, idx)  # where it is, and the object's distance
    for j, f in enumerate(idx.tolist()):
        if status[j] == CA_ESTIMATE:  # passed its aim point between two cycles
            _commit(eng, f, int(st[j]), ending[j], y[j], t_s)
        else:
            ending[j, INFO_T] = fl.t_s[f]
            ending[j, INFO_X : INFO_X + 3] = fl.y[f, :3]
            _commit(eng, f, int(status[j]), ending[j], fl.y[f], t_s)


def _commit(eng: Engine, f: int, status: int, ending: F64, y_end: F64, t_s: float) -> None:
    """Record flight ``f``'s end game (``ending``; ``y_end`` (12,) its state at the end of
    the last step) and schedule its resolution."""
    fl = eng.flights
    fl.state[f] = ENDED
    fl.status[f] = status
    fl.ending[f] = ending
    t_end = float(ending[INFO_T]) if np.isfinite(ending[INFO_T]) else t_s
    end = y_end[:6].copy()
    if np.isfinite(ending[INFO_X : INFO_X + 3]).all():
        end[:3] = ending[INFO_X : INFO_X + 3]
    # the interceptor's last point at its closest approach, which an end game flown when
    # it had passed its aim point puts before now (the outcome is resolved now)
    fl.path_t_s.append(max(t_end, float(fl.t_s[f])))
    fl.path_flight.append(f)
    fl.path_x.append(end)
    eng.push(max(t_end, t_s), Kind.INTERCEPT, int(fl.engagement[f]))


def divert_available_m(kin: F64, closing_m_s: float) -> float:
    """How far the kill vehicle can move across its path between seeker acquisition and
    the closest approach, m: its divert, or less if the seeker leaves too little time."""
    t_go = kin[KIN_SEEKER_M] / max(closing_m_s, 1.0)
    return float(min(kin[KIN_DIVERT_M], 0.5 * kin[KIN_LAT_M_S2] * t_go * t_go))


def end_game_kill_possible(eng: Engine, f: int) -> tuple[bool, float]:
    """Whether flight ``f``'s end game puts its kill vehicle on the real object (its
    miss within what it can divert), and the miss distance, m."""
    fl = eng.flights
    miss = float(fl.ending[f, INFO_MISS])
    if fl.status[f] != CA_REAL:
        return False, miss
    return miss <= divert_available_m(fl.kin[f], float(fl.ending[f, INFO_CLOSING])), miss

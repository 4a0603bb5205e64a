"""Engagement coordination: what each owner's C2 nodes know of the coalition's engagements.

An owner's nodes share one picture and one engagement status: an engagement one of them
starts, or assesses, is known to all of them at once. Between owners, status travels
over the links (``c2.architecture``, overridable per owner):

``coordinated``
    An owner sends each engagement's status to the partners it shares tracks with, over
    its share link (its latency and loss): when an interceptor is committed (the threat,
    the share of the kill chance left, ``(1 - pk) ^ shots``) and when the firing owner has
    assessed the shot (judged destroyed or not). A coordinated receiver acts on what has
    arrived: it does not take a threat a partner reports engaged with enough kill chance
    (the doctrine's ``cover_pk``), unless a second layer is called for.
``autonomous``
    No status leaves the owner or is taken in: its nodes know only their own engagements,
    and may fire at what a partner already engages.

``centralised``
    Status flows as under ``coordinated``; the central node knows the engagements it
    orders at once (:mod:`iamd.sim.command`).

An owner holds each engagement it knows of until that engagement's assessment: its own
until it assesses it, a partner's until the assessment arrives, or until
``STATUS_TIMEOUT_S`` after the kill assessment was planned (plus the link's latency) when
it never does: a lost assessment does not hold the threat covered for good. A threat is
covered by the product of the miss chances of the engagements held on it; when several
are held, their cover lasts until the last of them ends.

A double engagement is an engagement started on a threat that the coalition's
engagements in flight already covered (kill chance at least ``cover_pk``): one the
doctrine would not have asked for had the deciding node known what every node knew. It
is measured against the engagements as they are, each in flight from its start to its
own assessment, whoever knows of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from iamd.sim import links
from iamd.sim.events import Kind

if TYPE_CHECKING:
    from iamd.sim.engine import Engine
    from iamd.sim.world import World

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

STARTED, ASSESSED = 0, 1
"""Kinds of status message."""
STATUS_TIMEOUT_S = 60.0
"""A partner's engagement whose assessment has not arrived this long after it was planned
(plus the link's latency) is taken to be over."""


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """One engagement's status on its way from ``sender`` to ``receiver`` (owners)."""

    sender: int
    receiver: int
    threat: int
    kind: int
    engagement: int
    miss_factor: float = 1.0
    """STARTED: the chance the new engagement fails, ``(1 - pk) ^ shots``."""
    assess_s: float = math.inf
    """STARTED: when its kill assessment is planned (intercept plus assessment time), s."""
    destroyed: bool = False
    """ASSESSED: the firing owner judged the threat destroyed."""
    firing: int = -1
    """STARTED: the owner of the firing unit, whose assessment will come (-1: the
    sender)."""
    origin: int = -1
    """The owner whose picture's row ``threat`` is (-1: the sender)."""
    source: int = -1
    """The identity of that row's track to partners (:attr:`iamd.sim.slots.Slots.source`),
    which a receiver correlates to a row of its own."""
    track: tuple[float, F64, float] | None = None
    """That track's data: its time, state (6,) and position variance (the trace), for a
    receiver that cannot correlate the source."""


@dataclass(slots=True)
class Status:
    """Each owner's knowledge of engagements, (owners, n) per threat, and the coalition's
    actual engagements in flight (n,).

    Attributes
    ----------
    until : when the engagements in flight the owner knows of end (inf while one of its own
        flies; the time of the last assessment after).
    miss : the chance that all of them fail.
    held : per owner, the engagements it knows are in flight, by threat: each one's miss
        chance and end (inf: until its assessment arrives).
    count : engagements the owner knows were started.
    dead : tracks the owner knows were judged destroyed (see :meth:`judged_dead`).
    true_until, true_miss : over every owner's engagements, each in flight from its start
        to its own assessment (known to no node): the yardstick of double engagements.
    in_flight : every engagement not yet assessed, by threat: its chance of failing.
    coordinated : (owners,) the owner exchanges status.
    node_reads : (nodes, nodes) which nodes' later kill chances a node knows (its owner's,
        and a coordinated partner's that sends to it).
    """

    until: F64
    miss: F64
    count: I64
    dead: BOOL
    true_until: F64
    true_miss: F64
    coordinated: BOOL
    node_reads: BOOL
    in_flight: dict[int, dict[int, float]] = field(default_factory=dict)
    held: list[dict[int, dict[int, tuple[float, float]]]] = field(default_factory=list)
    dead_at: I64 = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    """(owners, n) the detections behind the track when it was judged destroyed."""
    expiry: F64 = field(default_factory=lambda: np.zeros((0, 0)))
    """(owners, n) when the first engagement held on the threat times out (inf: none)."""
    mail: dict[int, StatusMessage] = field(default_factory=dict)
    next_mail: int = 0
    sent: int = 0
    lost: int = 0
    uncorrelated: int = 0
    """Status messages about a track the receiver never correlated with one of its own."""
    pending: list[list[tuple[float, StatusMessage]]] = field(default_factory=list)
    """Per owner, the messages it could not yet correlate, with their arrival times."""
    double_engagements: int = 0
    fallbacks: int = 0
    """Times a node took its units back from a central node it was cut off from."""

    @staticmethod
    def of(world: World, rows: int | None = None) -> Status:
        """No engagement yet; knowledge of ``rows`` picture rows per owner (default: one
        per threat)."""
        spec = world.scenario.spec
        n_o, n = len(world.owners), world.truth.n if rows is None else rows
        coordinated = np.array(
            [(o.architecture or spec.c2.architecture) != "autonomous" for o in spec.owners]
        )
        owner_of = np.array([o for _, o, _ in world.nodes], dtype=np.int64)
        sends = np.eye(n_o, dtype=bool)  # sends[a, b]: b learns a's status
        for a in range(n_o):  # owners (a few)
            for b in world.share_to[a]:
                sends[a, b] = coordinated[a] and coordinated[b]
        return Status(
            until=np.zeros((n_o, n)),
            miss=np.ones((n_o, n)),
            count=np.zeros((n_o, n), dtype=np.int64),
            dead=np.zeros((n_o, n), dtype=bool),
            true_until=np.zeros(world.truth.n),
            true_miss=np.ones(world.truth.n),
            coordinated=coordinated,
            node_reads=sends[owner_of][:, owner_of].T.copy(),
            held=[{} for _ in range(n_o)],
            pending=[[] for _ in range(n_o)],
            dead_at=np.zeros((n_o, n), dtype=np.int64),
            expiry=np.full((n_o, n), np.inf),
        )

    def forget(self, o: int, rows: I64) -> None:
        """Owner ``o``'s rows ``rows`` hold new tracks: it knows of no engagement on them."""
        for r in rows.tolist():  # slots taken afresh (a few)
            self.held[o].pop(r, None)
        self.until[o, rows] = 0.0
        self.miss[o, rows] = 1.0
        self.count[o, rows] = 0
        self.dead[o, rows] = False
        self.dead_at[o, rows] = 0
        self.expiry[o, rows] = np.inf

    def judged_dead(self, o: int, ids: I64, updates: I64, revive: int) -> BOOL:
        """Tracks ``ids`` owner ``o`` holds judged destroyed; with ``revive`` > 0, unless
        the track has since gathered that many more detections (``updates`` (rows,): it
        follows something alive, a live object judged destroyed or another it moved to)."""
        dead = self.dead[o][ids]
        if revive > 0:
            dead &= updates[ids] - self.dead_at[o][ids] < revive
        return np.asarray(dead)

    def covered(self, o: int, ids: I64, t_s: float, cover_pk: float) -> BOOL:
        """Threats ``ids`` owner ``o`` knows are covered by engagements in flight."""
        expired = ids[self.expiry[o][ids] <= t_s]
        for i in expired.tolist():  # a partner's engagement timed out (rare)
            self.recount(o, i, t_s)
        until, miss = self.until[o], self.miss[o]  # row views: cheaper than [o, ids]
        return np.asarray((until[ids] > t_s) & (1.0 - miss[ids] >= cover_pk))

    def recount(self, o: int, i: int, t_s: float) -> None:
        """Owner ``o``'s cover of threat ``i`` from the engagements it holds that have
        not timed out by ``t_s``."""
        live = {e: v for e, v in self.held[o].get(i, {}).items() if v[1] > t_s}
        self.held[o][i] = live
        ends = [v[1] for v in live.values()]
        self.until[o, i] = max(ends) if live else t_s
        self.miss[o, i] = math.prod(v[0] for v in live.values()) if live else 1.0
        self.expiry[o, i] = min((x for x in ends if math.isfinite(x)), default=math.inf)

    def truly_covered(self, ids: I64, t_s: float, cover_pk: float) -> BOOL:
        """Threats ``ids`` the coalition's engagements in flight cover, known or not (-1:
        no threat, never covered)."""
        i = np.maximum(ids, 0)
        cover = (self.true_until[i] > t_s) & (1.0 - self.true_miss[i] >= cover_pk)
        return np.asarray(cover & (ids >= 0))


def started(
    eng: Engine,
    t_s: float,
    o: int,
    i: int,
    e: int,
    miss_factor: float,
    assess_s: float,
    firing: int = -1,
    real: int | None = None,
) -> None:
    """Owner ``o`` committed engagement ``e`` to the track of its picture's row ``i`` (its
    interceptors failing together with chance ``miss_factor``, its assessment planned at
    ``assess_s``) with a unit of owner ``firing`` (default ``o``; another owner's under a
    central node, whose assessment reaches ``o`` over its link): its nodes know it now,
    its coordinated partners when the status arrives. ``real`` is the threat the track
    follows (default ``i``; -1: none), for the yardstick of double engagements only."""
    st = eng.status
    firing = o if firing < 0 else firing
    real = i if real is None else real
    if firing != o:
        assess_s += eng.w.scenario.spec.owners[firing].share_link.latency_s
    if real >= 0:
        st.in_flight.setdefault(real, {})[e] = miss_factor
        _true_cover(st, real, t_s)
    msg = StatusMessage(
        o, o, i, STARTED, e, miss_factor, assess_s, firing=firing, origin=o,
        source=int(eng.slots.source[o, i]), track=_track(eng, o, i),
    )  # fmt: skip
    if firing != o:  # the unit's owner knows its own engagement from the order itself
        _apply(eng, t_s, replace(msg, receiver=firing))
    _send(eng, t_s, msg, skip=firing)


def assessed(
    eng: Engine,
    t_s: float,
    o: int,
    i: int,
    e: int,
    destroyed: bool,
    real: int | None = None,
    origin: int = -1,
    current: bool = True,
) -> None:
    """Owner ``o`` assessed engagement ``e`` on the track of row ``i`` of owner
    ``origin``'s picture (default ``o``; the deciding owner), judged destroyed or not;
    ``real`` is the threat it was started on (default ``i``; -1: none). When the row has
    since gone to another track (not ``current``), the judgement applies to no track."""
    st = eng.status
    real = i if real is None else real
    origin = o if origin < 0 else origin
    if real >= 0:
        st.in_flight[real].pop(e, None)
        _true_cover(st, real, t_s)
    if current:
        source = int(eng.slots.source[origin, i])
        msg = StatusMessage(
            o, o, i, ASSESSED, e, destroyed=destroyed, origin=origin, source=source,
            track=_track(eng, origin, i),
        )  # fmt: skip
        _send(eng, t_s, msg)


def _track(eng: Engine, o: int, i: int) -> tuple[float, F64, float] | None:
    """Owner ``o``'s track data of row ``i`` for a status message (None: ideal tracking,
    whose rows are threats)."""
    if eng.slots.per == 0:
        return None
    pics = eng.pictures
    p = pics.p[o, i]
    return float(pics.t_s[o, i]), pics.x[o, i].copy(), float(p[0, 0] + p[1, 1] + p[2, 2])


def _true_cover(st: Status, i: int, t_s: float) -> None:
    """Threat ``i``'s cover by the engagements actually in flight."""
    flying = st.in_flight.get(i, {})
    st.true_until[i] = math.inf if flying else t_s
    st.true_miss[i] = math.prod(flying.values()) if flying else 1.0


def _send(eng: Engine, t_s: float, own: StatusMessage, skip: int = -1) -> None:
    """Apply ``own`` to its owner, and send it to the partners that take it (but
    ``skip``)."""
    st = eng.status
    o = own.sender
    _apply(eng, t_s, own)
    if not st.coordinated[o]:
        return
    link = eng.w.scenario.spec.owners[o].share_link
    for p in eng.w.share_to[o]:  # partners (a few)
        if not st.coordinated[p] or p == skip:
            continue
        msg = replace(own, receiver=p, assess_s=own.assess_s + link.latency_s)
        st.sent += 1
        if links.lost(link, t_s, eng.rng.status):
            st.lost += 1
        elif link.latency_s == 0.0:
            _apply(eng, t_s, msg)
        else:
            k = st.next_mail
            st.mail[k] = msg
            st.next_mail += 1
            eng.push(t_s + link.latency_s, Kind.STATUS, k)


def retry(eng: Engine, o: int, t_s: float) -> None:
    """Owner ``o`` built its picture: correlate the status it holds pending again; a
    message that stays uncorrelated is dropped when its engagement has timed out (a start)
    or after the track drop time (an assessment)."""
    st = eng.status
    held, st.pending[o] = st.pending[o], []
    drop_s = eng.w.scenario.spec.tracking.drop_after_s
    for t_in, msg in held:  # pending messages, in arrival order (a few)
        if _row(eng, t_s, msg) >= 0:
            _apply(eng, t_s, msg)
            continue
        end = msg.assess_s + STATUS_TIMEOUT_S if msg.kind == STARTED else t_in + drop_s
        if t_s < end:
            st.pending[o].append((t_in, msg))
        else:
            st.uncorrelated += 1


def on_status(eng: Engine, t_s: float, k: int) -> None:
    """A status message arrives."""
    _apply(eng, t_s, eng.status.mail.pop(k))


def _row(eng: Engine, t_s: float, msg: StatusMessage) -> int:
    """The receiver's row of the track a message speaks of (-1: none): the origin's own
    row; else the row the receiver's fusion bound to the track's source; else the row
    whose track lies nearest the message's track data within the fusion gate (both
    carried on at constant velocity to ``t_s``). In ideal tracking, the threat's row."""
    sl = eng.slots
    if msg.receiver == msg.origin or msg.origin < 0 or sl.per == 0:
        return msg.threat
    net = eng.net
    assert net is not None
    o = msg.receiver
    row = int(sl.correlate(net.numbers[o].bind, o, np.array([msg.source]))[0])
    if row >= 0 or msg.track is None:
        return row
    t_msg, x_msg, var_msg = msg.track
    return nearest_track(eng, o, t_s, t_msg, x_msg, var_msg)


def nearest_track(eng: Engine, o: int, t_s: float, t_x: float, x: F64, var_m2: float) -> int:
    """Owner ``o``'s row whose track lies nearest the state ``x`` (6,) of time ``t_x``, of
    position variance ``var_m2`` (the trace), within the fusion gate, both carried on at
    constant velocity to ``t_s`` (-1: none)."""
    sl, pics = eng.slots, eng.pictures
    lo = sl.first(o)
    rows = np.flatnonzero(pics.active[o, lo : lo + sl.per]) + lo
    if rows.size == 0:
        return -1
    pos = pics.x[o, rows, :3] + pics.x[o, rows, 3:] * (t_s - pics.t_s[o, rows])[:, None]
    theirs = x[:3] + x[3:] * (t_s - t_x)
    dist = np.linalg.norm(pos - theirs, axis=1)
    p = pics.p[o, rows]
    radius = eng.w.scenario.spec.tracking.gate * np.sqrt(
        p[:, 0, 0] + p[:, 1, 1] + p[:, 2, 2] + var_m2
    )
    near = int(np.argmin(dist))
    return int(rows[near]) if dist[near] <= radius[near] else -1


def moved(eng: Engine, o: int, e: int, old: int, new: int, t_s: float) -> None:
    """Owner ``o`` re-associated its engagement ``e`` from row ``old`` (whose track went)
    to row ``new``: what it holds of the engagement moves with it."""
    st = eng.status
    held = st.held[o].get(old, {}).pop(e, None)
    if held is not None:
        st.held[o].setdefault(new, {})[e] = held
        st.count[o, new] += 1
        st.recount(o, old, t_s)
        st.recount(o, new, t_s)


def _apply(eng: Engine, t_s: float, msg: StatusMessage) -> None:
    st, o = eng.status, msg.receiver
    i = _row(eng, t_s, msg)
    if i < 0:  # the receiver holds the track under no number of its own: yet
        st.pending[o].append((t_s, msg))
        return
    held = st.held[o].setdefault(i, {})
    if msg.kind == STARTED:
        st.count[o, i] += 1
        # one's own assessment always comes; a partner's may be lost: time it out
        mine = msg.firing == o if msg.firing >= 0 else msg.sender == o
        held[msg.engagement] = (
            msg.miss_factor,
            math.inf if mine else msg.assess_s + STATUS_TIMEOUT_S,
        )
        for k, (_, node_owner, _) in enumerate(eng.w.nodes):  # its picture changed: look again
            if node_owner == o:
                eng.next_due[k][i] = -np.inf
    else:
        if msg.destroyed:
            st.dead[o, i] = True
            st.dead_at[o, i] = eng.pictures.updates[o, i]
        held.pop(msg.engagement, None)
    st.recount(o, i, t_s)

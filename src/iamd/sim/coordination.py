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
    dead : threats the owner knows were judged destroyed.
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
    expiry: F64 = field(default_factory=lambda: np.zeros((0, 0)))
    """(owners, n) when the first engagement held on the threat times out (inf: none)."""
    mail: dict[int, StatusMessage] = field(default_factory=dict)
    next_mail: int = 0
    sent: int = 0
    lost: int = 0
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
        self.expiry[o, rows] = np.inf

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
    msg = StatusMessage(o, o, i, STARTED, e, miss_factor, assess_s, firing=firing)
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
    to: int = -1,
    current: bool = True,
) -> None:
    """Owner ``o`` assessed engagement ``e`` on the track of row ``i`` (judged destroyed or
    not); ``real`` is the threat it was started on (default ``i``; -1: none), ``to`` the
    deciding owner. When the row's track slot has since gone to another track (not
    ``current``), the judgement applies to no track of the picture."""
    st = eng.status
    real = i if real is None else real
    if real >= 0:
        st.in_flight[real].pop(e, None)
        _true_cover(st, real, t_s)
    if current:
        _send(eng, t_s, StatusMessage(o, o, i, ASSESSED, e, destroyed=destroyed), to=to)


def _true_cover(st: Status, i: int, t_s: float) -> None:
    """Threat ``i``'s cover by the engagements actually in flight."""
    flying = st.in_flight.get(i, {})
    st.true_until[i] = math.inf if flying else t_s
    st.true_miss[i] = math.prod(flying.values()) if flying else 1.0


def _send(eng: Engine, t_s: float, own: StatusMessage, skip: int = -1, to: int = -1) -> None:
    """Apply ``own`` to its owner, and send it to the partners that take it (but
    ``skip``). A track slot's status goes only to owner ``to`` (the deciding owner, when
    another owner's unit fired; :mod:`iamd.sim.slots`): other partners cannot correlate
    it."""
    st = eng.status
    o = own.sender
    _apply(eng, t_s, own)
    slot = own.threat >= eng.slots.base
    if not st.coordinated[o] and not (slot and to >= 0 and to != o):
        return
    link = eng.w.scenario.spec.owners[o].share_link
    for p in eng.w.share_to[o]:  # partners (a few)
        if p == skip or (slot and p != to) or not (st.coordinated[p] or slot):
            continue
        msg = StatusMessage(
            o, p, own.threat, own.kind, own.engagement, own.miss_factor,
            own.assess_s + link.latency_s, own.destroyed, own.firing,
        )  # fmt: skip
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


def on_status(eng: Engine, t_s: float, k: int) -> None:
    """A status message arrives."""
    _apply(eng, t_s, eng.status.mail.pop(k))


def _apply(eng: Engine, t_s: float, msg: StatusMessage) -> None:
    st, o, i = eng.status, msg.receiver, msg.threat
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
        held.pop(msg.engagement, None)
    st.recount(o, i, t_s)

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

A receiver takes a partner's engagement to be in flight until its assessment arrives, or
until ``STATUS_TIMEOUT_S`` after the kill assessment was planned (plus the link's latency)
when it never does: a lost assessment does not hold the threat covered for good. As in the
single-owner engine, an assessment ends the cover of every engagement the owner knows on
that threat (its nodes then look again), not only of the one assessed.

A double engagement is an engagement started on a threat that the coalition's
engagements in flight already covered (kill chance at least ``cover_pk``): one the
doctrine would not have asked for had the deciding node known what every node knew. It
is measured against the engagements as they are, each in flight from its start to its
own assessment, whoever knows of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

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
    miss_factor: float = 1.0
    """STARTED: the chance the new engagement fails, ``(1 - pk) ^ shots``."""
    assess_s: float = math.inf
    """STARTED: when its kill assessment is planned (intercept plus assessment time), s."""
    destroyed: bool = False
    """ASSESSED: the firing owner judged the threat destroyed."""


@dataclass(slots=True)
class Status:
    """Each owner's knowledge of engagements, (owners, n) per threat, and the coalition's
    actual engagements in flight (n,).

    Attributes
    ----------
    until : when the engagements in flight the owner knows of end (inf while one flies; the
        time of the last assessment after).
    miss : the chance that all of them fail.
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
    mail: dict[int, StatusMessage] = field(default_factory=dict)
    next_mail: int = 0
    sent: int = 0
    lost: int = 0
    double_engagements: int = 0

    @staticmethod
    def of(world: World) -> Status:
        spec = world.scenario.spec
        n_o, n = len(world.owners), world.truth.n
        coordinated = np.array(
            [(o.architecture or spec.c2.architecture) == "coordinated" for o in spec.owners]
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
            true_until=np.zeros(n),
            true_miss=np.ones(n),
            coordinated=coordinated,
            node_reads=sends[owner_of][:, owner_of].T.copy(),
        )

    def covered(self, o: int, ids: I64, t_s: float, cover_pk: float) -> BOOL:
        """Threats ``ids`` owner ``o`` knows are covered by engagements in flight."""
        until, miss = self.until[o], self.miss[o]  # row views: cheaper than [o, ids]
        return np.asarray((until[ids] > t_s) & (1.0 - miss[ids] >= cover_pk))

    def truly_covered(self, ids: I64, t_s: float, cover_pk: float) -> BOOL:
        """Threats ``ids`` the coalition's engagements in flight cover, known or not."""
        return np.asarray((self.true_until[ids] > t_s) & (1.0 - self.true_miss[ids] >= cover_pk))


def started(
    eng: Engine, t_s: float, o: int, i: int, e: int, miss_factor: float, assess_s: float
) -> None:
    """Owner ``o`` committed engagement ``e`` to threat ``i`` (its interceptors failing
    together with chance ``miss_factor``, its assessment planned at ``assess_s``): its
    nodes know it now, its coordinated partners when the status arrives."""
    st = eng.status
    st.in_flight.setdefault(i, {})[e] = miss_factor
    _true_cover(st, i, t_s)
    _send(eng, t_s, StatusMessage(o, o, i, STARTED, miss_factor=miss_factor, assess_s=assess_s))


def assessed(eng: Engine, t_s: float, o: int, i: int, e: int, destroyed: bool) -> None:
    """Owner ``o`` assessed engagement ``e`` on threat ``i`` (judged destroyed or not)."""
    st = eng.status
    st.in_flight[i].pop(e, None)
    _true_cover(st, i, t_s)
    _send(eng, t_s, StatusMessage(o, o, i, ASSESSED, destroyed=destroyed))


def _true_cover(st: Status, i: int, t_s: float) -> None:
    """Threat ``i``'s cover by the engagements actually in flight."""
    flying = st.in_flight.get(i, {})
    st.true_until[i] = math.inf if flying else t_s
    st.true_miss[i] = math.prod(flying.values()) if flying else 1.0


def _send(eng: Engine, t_s: float, own: StatusMessage) -> None:
    """Apply ``own`` to its owner, and send it to the partners that take it."""
    st = eng.status
    o = own.sender
    _apply(eng, t_s, own)
    if not st.coordinated[o]:
        return
    link = eng.w.scenario.spec.owners[o].share_link
    for p in eng.w.share_to[o]:  # partners (a few)
        if not st.coordinated[p]:
            continue
        msg = StatusMessage(
            o, p, own.threat, own.kind, own.miss_factor, own.assess_s + link.latency_s,
            own.destroyed,
        )  # fmt: skip
        st.sent += 1
        if link.loss and eng.rng.status.uniform() < link.loss:
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
    if msg.kind == STARTED:
        st.count[o, i] += 1
        # one's own assessment always comes; a partner's may be lost: time it out
        end = math.inf if msg.sender == o else msg.assess_s + STATUS_TIMEOUT_S
        st.until[o, i] = max(st.until[o, i], end) if st.until[o, i] > t_s else end
        st.miss[o, i] *= msg.miss_factor
        for k, (_, node_owner, _) in enumerate(eng.w.nodes):  # its picture changed: look again
            if node_owner == o:
                eng.next_due[k][i] = -np.inf
    else:
        if msg.destroyed:
            st.dead[o, i] = True
        st.until[o, i] = t_s
        st.miss[o, i] = 1.0

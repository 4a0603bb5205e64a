"""Networked tracking (``gnn`` mode): sensor links, trackers, track sharing, fused pictures.

Each owner runs one multi-target tracker (:mod:`iamd.tracking.tracker`) fed by its own
sensors over its ``sensor_link`` (late by the link's latency; a lost report is a
lost scan; a report older than the tracker's picture is dropped, not retrodicted).
Every ``share_period_s`` an owner sends its confirmed tracks over its ``share_link``
to the partners it shares with; a receiving node fuses them with its own
(:mod:`iamd.tracking.fusion`) when it builds its picture. The battle manager reads
that fused picture in the engine's stacked :class:`~iamd.tracking.ideal.Pictures`, one
row per system track (:mod:`iamd.sim.slots`); with ``tracking.picture: by_threat``, one
row per threat holding the most certain track whose last detection came from it (the
scoring label; tracks on false alarms are not engaged).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from iamd.scenario.schema import Tracking
from iamd.sensors.radar import RadarBank
from iamd.sim import classification, coordination, links
from iamd.sim.events import Kind
from iamd.tracking.fusion import (
    NO_ROWS,
    Fused,
    PartnerStack,
    fuse_own_and_partners,
    stack_partners,
)
from iamd.tracking.system import SystemNumbers
from iamd.tracking.tracker import MeasurementModel, TrackerConfig, Tracks, motion_figures, step

if TYPE_CHECKING:
    from iamd.sim.engine import Engine

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

ROUTE_Q_M2_S3 = 25.0
"""Process noise of slow (air-breathing) tracks: manoeuvres of a few m/s^2."""
INIT_SPEED_SIGMA_M_S = 2000.0
"""Velocity uncertainty of a new track: anything from a drone to a ballistic missile."""
BALLISTIC_SPEED_M_S = 700.0
"""Tracks faster than this are predicted under gravity."""
DELETE_SIGMA_M = 20e3
"""A track whose position uncertainty grows past this (per axis) is deleted."""
ID_STRIDE = 10**9
"""Track identities are owner index times this plus the owner's own track number."""
REBUILD_S = 5.0
"""A picture nothing new reached is rebuilt this often, to drop tracks gone stale."""
PICTURE_PERIOD_S = 4.0
"""A node's fused picture is rebuilt at most this often (its display and decision rate)."""


def tracker_config(tk: Tracking) -> TrackerConfig:
    """The simulation's tracker parameters from the scenario's ``tracking`` block."""
    cfg = TrackerConfig(
        q_m2_s3=ROUTE_Q_M2_S3,
        q_fast_m2_s3=tk.process_noise_m_s2**2,
        init_speed_sigma_m_s=INIT_SPEED_SIGMA_M_S,
        gate_radius_m=None,
        missed_distance=tk.gate,
        confirm_m=tk.confirm_m,
        confirm_n=tk.confirm_n,
        delete_pos_var_m2=3 * DELETE_SIGMA_M**2,
        max_misses=tk.max_misses,
        ballistic_speed_m_s=BALLISTIC_SPEED_M_S,
    )
    cfg.check()
    return cfg


@dataclass(frozen=True, slots=True)
class Report:
    """One sensor scan on its way to its owner's tracker."""

    owner: int
    sensor: str
    t_s: float
    z: F64
    labels: I64
    model: MeasurementModel
    view: RadarBank
    """The sensor's coverage: the tracks it could have seen count a miss (none for a
    launch warning: a bank of no radar)."""


@dataclass(frozen=True, slots=True)
class TrackMessage:
    """One owner's confirmed tracks on their way to a partner."""

    sender: int
    receiver: int
    tracks: Fused


@dataclass(slots=True)
class NetState:
    """The networked-tracking state of one replication (gnn mode)."""

    cfg: TrackerConfig
    local: list[Tracks]
    inbox: list[dict[int, Fused]]
    built_t_s: list[float]
    dirty: list[bool]
    sharing: list[bool]
    mail: dict[int, Report | TrackMessage]
    stacked: list[tuple[list[Fused], PartnerStack] | None]
    numbers: list[SystemNumbers]
    next_mail: int = 0
    reports_lost: int = 0
    reports_late: int = 0
    shares_lost: int = 0

    @staticmethod
    def of(n_owners: int, tk: Tracking) -> NetState:
        return NetState(
            cfg=tracker_config(tk),
            local=[Tracks.empty() for _ in range(n_owners)],
            inbox=[{} for _ in range(n_owners)],
            built_t_s=[-np.inf] * n_owners,
            dirty=[True] * n_owners,
            sharing=[False] * n_owners,
            mail={},
            stacked=[None] * n_owners,
            numbers=[SystemNumbers.empty(n_owners) for _ in range(n_owners)],
        )

    def post(self, item: Report | TrackMessage) -> int:
        k = self.next_mail
        self.mail[k] = item
        self.next_mail += 1
        return k


def send_report(eng: Engine, rep: Report) -> None:
    """Send a scan over its owner's sensor link (lost, late, or straight to the tracker)."""
    link = eng.w.scenario.spec.owners[rep.owner].sensor_link
    net = eng.net
    assert net is not None
    if links.lost(link, rep.t_s, eng.rng.link):
        net.reports_lost += 1
        return
    if link.latency_s == 0.0:
        absorb(eng, rep.t_s, rep)
    else:
        eng.push(rep.t_s + link.latency_s, Kind.REPORT, net.post(rep))


def on_report(eng: Engine, t_s: float, k: int) -> None:
    net = eng.net
    assert net is not None
    rep = net.mail.pop(k)
    assert isinstance(rep, Report)
    absorb(eng, t_s, rep)


def absorb(eng: Engine, t_s: float, rep: Report) -> None:
    """Step owner ``rep.owner``'s tracker with a report that arrived at ``t_s``."""
    net = eng.net
    assert net is not None
    o = rep.owner
    prune(eng, o, rep.t_s)
    tr = net.local[o]
    if len(tr) and rep.t_s < float(tr.t_s.max()):
        net.reports_late += 1  # out of sequence: dropped
        return
    motion = eng.classes.by_threat[o]
    new, report = step(tr, rep.t_s, rep.z, rep.model, net.cfg, rep.labels, rep.view, motion)
    net.local[o] = new
    net.dirty[o] = True
    owner = eng.w.owners[o]
    if report.confirmed_ids.size:
        rows = np.isin(new.track_id, report.confirmed_ids)
        eng.log.add(t_s, "track_init", new.label[rows], unit=rep.sensor, owner=owner)
    if report.deleted_ids.size:
        rows = np.isin(tr.track_id, report.deleted_ids)
        eng.log.add(t_s, "track_drop", tr.label[rows], unit=rep.sensor, owner=owner)
    hit = new.confirmed & (new.t_hit_s == rep.t_s)
    if hit.any():
        h = np.flatnonzero(hit)  # the four columns logged, not the whole table
        eng.pictures.log.add(
            rep.t_s,
            np.array(o),
            new.label[h],
            new.x[h],
            new.p[h],
            track=o * ID_STRIDE + new.track_id[h],
        )
    if new.confirmed.any():
        wake(eng, t_s, o)
        if not net.sharing[o] and eng.w.share_to[o]:
            net.sharing[o] = True
            eng.push(t_s + 1e-6, Kind.SHARE, o)


def wake(eng: Engine, t_s: float, o: int) -> None:
    """Start the C2 cycles of owner ``o``'s nodes if they sleep."""
    for k, (_, node_owner, cycle_s) in enumerate(eng.w.nodes):
        if node_owner == o and not eng.node_awake[k]:
            eng.node_awake[k] = True
            eng.push(float(np.ceil(t_s / cycle_s) * cycle_s), Kind.C2_CYCLE, k)


def on_share(eng: Engine, t_s: float, o: int) -> None:
    """Owner ``o`` sends its confirmed tracks to its partners; again every share period."""
    net = eng.net
    assert net is not None
    spec_o = eng.w.scenario.spec.owners[o]
    prune(eng, o, t_s)
    tr = net.local[o]
    if not tr.confirmed.any():
        net.sharing[o] = False
        return
    mine = Fused.of(tr, t_s, net.cfg, eng.classes.by_threat[o])
    mine = replace(mine, track_id=o * ID_STRIDE + mine.track_id)
    link = spec_o.share_link
    for p in eng.w.share_to[o]:  # loop over partners (a few)
        if links.lost(link, t_s, eng.rng.link):
            net.shares_lost += 1
            continue
        eng.push(t_s + link.latency_s, Kind.DELIVER, net.post(TrackMessage(o, p, mine)))
    eng.push(t_s + spec_o.share_period_s, Kind.SHARE, o)


def on_deliver(eng: Engine, t_s: float, k: int) -> None:
    net = eng.net
    assert net is not None
    msg = net.mail.pop(k)
    assert isinstance(msg, TrackMessage)
    held = net.inbox[msg.receiver].get(msg.sender)
    if held is None or held.t_s <= msg.tracks.t_s:
        net.inbox[msg.receiver][msg.sender] = msg.tracks
        net.dirty[msg.receiver] = True
        if msg.tracks.x.shape[0]:
            wake(eng, t_s, msg.receiver)


def numbered_picture(eng: Engine, o: int, t_s: float) -> tuple[Fused, I64]:
    """Owner ``o``'s own confirmed tracks fused with its partners' latest reports, at
    ``t_s``, and its tracks' system numbers (n,) (:mod:`iamd.tracking.system`).

    Every picture is predicted to ``t_s`` in one batch, then the partners' are fused in
    one by one (in owner order, so the result is reproducible): one compiled call
    (:func:`iamd.tracking.fusion.fuse_own_and_partners`). The partners' pictures are
    stacked once per change of what the node holds (:func:`_partners`).
    """
    n, x, p, t_hit, track_id, label, sources, updates, numbers = _fuse(eng, o, t_s, NO_ROWS, False)
    fused = Fused(x[:n], p[:n], t_s, t_hit[:n], track_id[:n], label[:n], sources[:n], updates[:n])
    return fused, numbers


def _fuse(
    eng: Engine, o: int, t_s: float, rows: tuple[F64, F64, F64, BOOL, I64], adopt: bool
) -> tuple[int, F64, F64, F64, I64, I64, I64, I64, I64]:
    """:func:`numbered_picture`'s kernel call; with ``adopt``, also writing each threat's
    most certain track into ``rows`` (:func:`iamd.tracking.fusion.adopt_best`). Every
    build numbers the picture's tracks (:mod:`iamd.tracking.system`)."""
    net = eng.net
    assert net is not None
    tr = net.local[o]
    numbering = net.numbers[o]
    numbering.reserve(max(t.next_id for t in net.local))
    return fuse_own_and_partners(
        (tr.x, tr.p, tr.t_s, tr.confirmed, tr.t_hit_s, tr.track_id, tr.label, tr.updates),
        _partners(eng, o, t_s),
        float(t_s),
        motion_figures(net.cfg, eng.classes.by_threat[o]),
        float(net.cfg.missed_distance),
        rows,
        adopt,
        (o, ID_STRIDE, numbering.bind, numbering.next_number),
    )


def _partners(eng: Engine, o: int, t_s: float) -> PartnerStack:
    """The partners' pictures owner ``o`` holds and that are not older than the track drop
    time, in owner order, stacked (:func:`iamd.tracking.fusion.stack_partners`); restacked
    only when that list changes."""
    net = eng.net
    assert net is not None
    drop_s = eng.w.scenario.spec.tracking.drop_after_s
    box = net.inbox[o]
    held = [box[k] for k in sorted(box) if t_s - box[k].t_s <= drop_s]
    last = net.stacked[o]
    if (
        last is not None
        and len(last[0]) == len(held)
        and all(a is b for a, b in zip(last[0], held, strict=True))
    ):
        return last[1]
    stacked = stack_partners(held)
    net.stacked[o] = (held, stacked)
    return stacked


def prune(eng: Engine, o: int, t_s: float) -> None:
    """Delete owner ``o``'s tracks with no detection for the track drop time.

    The drop is logged at the time the track went stale, not when it is noticed, so
    the log does not depend on when pictures happen to be built.
    """
    net = eng.net
    assert net is not None
    tr = net.local[o]
    drop_s = eng.w.scenario.spec.tracking.drop_after_s
    stale = t_s - tr.t_hit_s > drop_s
    if stale.any():
        gone = stale & tr.confirmed
        eng.log.add(tr.t_hit_s[gone] + drop_s, "track_drop", tr.label[gone], owner=eng.w.owners[o])
        net.local[o] = tr.take(~stale)
        net.dirty[o] = True


def refresh_picture(eng: Engine, o: int, t_s: float) -> None:
    """Rebuild owner ``o``'s rows of the engine's stacked pictures from its fused picture.

    Each system track keeps its row (:mod:`iamd.sim.slots`); with ``tracking.picture:
    by_threat``, each threat's row takes the most certain track labelled with it. The
    row's update count is the detections behind its track, so assessments are redone only
    when it changes.
    """
    net = eng.net
    assert net is not None
    age = t_s - net.built_t_s[o]
    if age < PICTURE_PERIOD_S if net.dirty[o] else age < REBUILD_S:
        return
    sl, pics = eng.slots, eng.pictures
    if sl.per == 0:  # one row per threat: its most certain track (tracking.picture by_threat)
        _fuse(
            eng, o, t_s, (pics.x[o], pics.p[o], pics.t_s[o], pics.active[o], pics.updates[o]), True
        )
        net.dirty[o] = False
        net.built_t_s[o] = t_s
        return
    m, x, p, _, track_id, label, _, updates, numbers = _fuse(eng, o, t_s, NO_ROWS, False)
    net.dirty[o] = False
    net.built_t_s[o] = t_s
    x, p, track_id, label, updates, numbers = (
        x[:m], p[:m], track_id[:m], label[:m], updates[:m], numbers[:m]
    )  # fmt: skip
    if not eng.classes.kinematic:  # a track born of false alarms known for one
        lookup = sl.lookup[o]
        known = np.zeros(numbers.size, dtype=bool)
        inside = numbers < lookup.size
        known[inside] = lookup[numbers[inside]] >= 0
        keep = (label >= 0) | known
        x, p, track_id, label, updates, numbers = (
            x[keep], p[keep], track_id[keep], label[keep], updates[keep], numbers[keep]
        )  # fmt: skip
    rows, taken, freed = sl.place(o, numbers, int(net.numbers[o].next_number[0]))
    pics.active[o, freed] = False
    if taken.size:
        eng.restart_rows(o, taken)
    shown = rows >= 0
    rows, idx = rows[shown], np.flatnonzero(shown)
    pics.x[o, rows] = x[idx]
    pics.p[o, rows] = p[idx]
    pics.t_s[o, rows] = t_s
    pics.active[o, rows] = True
    pics.updates[o, rows] = updates[idx]
    # the object a track follows: the source of its last detection; a track that kept its
    # row and last took a false alarm still follows the object it did
    real = label[idx]
    clutter = (real < 0) & ~np.isin(rows, taken)
    real[clutter] = sl.real[o, rows[clutter]]
    sl.real[o, rows] = real
    sl.source[o, rows] = track_id[idx]
    if not eng.classes.kinematic:
        on = real >= 0
        classification.know(eng, o, rows[on], real[on])
    if eng.status.pending[o]:
        coordination.retry(eng, o, t_s)

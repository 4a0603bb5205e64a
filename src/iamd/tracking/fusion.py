"""Track-to-track fusion between coalition partners: association and covariance intersection.

A partner sends its confirmed tracks, not its measurements. The receiving node
predicts its own tracks and the received ones to a common time, associates them
(Mahalanobis distance of the position difference under the sum of the two
position covariances, gated, then global nearest neighbour as in
:mod:`iamd.tracking.association`) and fuses each associated pair by covariance
intersection (Julier and Uhlmann, ACC 1997), which stays consistent whatever the
unknown correlation between the two estimates (both may have seen the same
radar). Received tracks that match none of the node's own are added as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.tracking.association import assign, gate, mahalanobis_one
from iamd.tracking.filters import invert, invert_into, predict_kernel
from iamd.tracking.ideal import MotionModel
from iamd.tracking.system import NO_NUMBERING, number_rows
from iamd.tracking.tracker import (
    MotionFigures,
    TrackerConfig,
    Tracks,
    motion_figures,
    motion_kernel,
    predict_tracks,
)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]


@njit(cache=True)
def log_abs_det(a: F64) -> float:
    """``log |det A|`` of a square matrix (d, d), by LU with partial pivoting
    (``-inf`` when singular), as ``numpy.linalg.slogdet`` computes it."""
    return log_abs_det_into(a, np.empty_like(a))


@njit(cache=True)
def log_abs_det_into(a: F64, w: F64) -> float:
    """:func:`log_abs_det` with ``w`` (d, d) as scratch."""
    d = a.shape[0]
    w[:, :] = a
    out = 0.0
    for c in range(d):
        piv = c
        for r in range(c + 1, d):
            if abs(w[r, c]) > abs(w[piv, c]):
                piv = r
        if w[piv, c] == 0.0:
            return -np.inf
        if piv != c:
            for k in range(d):
                w[c, k], w[piv, k] = w[piv, k], w[c, k]
        out += math.log(abs(w[c, c]))
        for r in range(c + 1, d):
            f = w[r, c] / w[c, c]
            for k in range(c, d):
                w[r, k] -= f * w[c, k]
    return out


@njit(cache=True)
def intersect(xa: F64, pa: F64, xb: F64, pb: F64, x: F64, p: F64) -> float:
    """Covariance intersection of one pair of estimates (d,), (d, d) into ``x``, ``p``;
    returns the weight ``w`` (see :func:`covariance_intersection`)."""
    d = xa.shape[0]
    scratch = np.empty((5, d, d))
    ia, ib, s, work, cov = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4]
    invert_into(pa, ia, work)
    invert_into(pb, ib, work)
    s[:, :] = ia + ib
    ld_sum = log_abs_det_into(s, work)
    w = 0.5 * (
        1.0
        - math.exp(log_abs_det_into(ib, work) - ld_sum)
        + math.exp(log_abs_det_into(ia, work) - ld_sum)
    )
    w = min(max(w, 0.0), 1.0)
    for i in range(d):
        for j in range(d):
            s[i, j] = w * ia[i, j] + (1.0 - w) * ib[i, j]
    invert_into(s, cov, work)
    # x = P (w Ia xa + (1 - w) Ib xb) = xa + (1 - w) P Ib (xb - xa): the same estimate
    # without the information vector of a state 6,400 km from the Earth's centre, which
    # cancels to the velocity and loses it in rounding (1e-5 m/s)
    info = np.empty(d)
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += ib[i, j] * (xb[j] - xa[j])
        info[i] = (1.0 - w) * acc
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += cov[i, j] * info[j]
        x[i] = xa[i] + acc
    for i in range(d):
        for j in range(d):
            p[i, j] = 0.5 * (cov[i, j] + cov[j, i])
    return w


@njit(cache=True)
def _intersect_many(xa: F64, pa: F64, xb: F64, pb: F64) -> tuple[F64, F64, F64]:
    k = xa.shape[0]
    x, p, w = np.empty_like(xa), np.empty_like(pa), np.empty(k)
    for i in range(k):
        w[i] = intersect(xa[i], pa[i], xb[i], pb[i], x[i], p[i])
    return x, p, w


def covariance_intersection(xa: F64, pa: F64, xb: F64, pb: F64) -> tuple[F64, F64, F64]:
    """Fuse estimate pairs by covariance intersection.

    ``P^-1 = w Pa^-1 + (1 - w) Pb^-1`` and ``x = P (w Pa^-1 xa + (1 - w) Pb^-1 xb)``. The
    result is consistent for any ``w`` in [0, 1] whatever the correlation between the
    two estimates; ``w`` is the closed-form "improved fast CI" weight of Fraenken and
    Hupper (FUSION 2005), ``w = (det(Ia + Ib) - det(Ib) + det(Ia)) / (2 det(Ia + Ib))``
    with ``I = P^-1``, which approximates the determinant-minimising weight without
    a search (determinants of information matrices span many decades: the kernel works
    with their logarithms).

    Parameters
    ----------
    xa, xb : (k, d) estimates; pa, pb : (k, d, d) covariances.

    Returns
    -------
    x (k, d), P (k, d, d), w (k,).
    """

    def c(a: F64) -> F64:
        return np.ascontiguousarray(a, dtype=np.float64)

    return _intersect_many(c(xa), c(pa), c(xb), c(pb))


@njit(cache=True)
def fuse_kernel(
    own_x: F64, own_p: F64, other_x: F64, other_p: F64, gate_sigma: float
) -> tuple[I64, F64, F64]:
    """Associate a partner's tracks with one's own and fuse the pairs (kernel of :func:`fuse`).

    Parameters
    ----------
    own_x, own_p : (n, 6), (n, 6, 6) own tracks; other_x, other_p : (m, 6), (m, 6, 6)
        the partner's, at the same time.
    gate_sigma : Mahalanobis gate on the position difference, also the cost of no match.

    Returns
    -------
    a : (n,) the partner track fused into each own track, -1 for none.
    x, p : the own tracks with the fused pairs replaced (new arrays).
    """
    n, m = own_x.shape[0], other_x.shape[0]
    a = np.full(n, -1, np.int64)
    if n == 0 or m == 0:
        return a, own_x, own_p
    other_var = -np.inf
    for j in range(m):
        other_var = max(other_var, other_p[j, 0, 0] + other_p[j, 1, 1] + other_p[j, 2, 2])
    radius = np.empty(n)
    for i in range(n):
        pos_var = own_p[i, 0, 0] + own_p[i, 1, 1] + own_p[i, 2, 2]
        radius[i] = gate_sigma * math.sqrt(pos_var + other_var)
    ti, di = gate(np.ascontiguousarray(own_x[:, :3]), np.ascontiguousarray(other_x[:, :3]), radius)
    if ti.size == 0:
        return a, own_x, own_p
    cost = np.empty(ti.size)
    for k in range(ti.size):
        s = own_p[ti[k], :3, :3] + other_p[di[k], :3, :3]
        cost[k] = mahalanobis_one(own_x[ti[k], :3] - other_x[di[k], :3], invert(s))
    a = assign(n, m, ti, di, cost, gate_sigma)
    x, p = own_x.copy(), own_p.copy()
    for i in range(n):
        if a[i] >= 0:
            intersect(own_x[i], own_p[i], other_x[a[i]], other_p[a[i]], x[i], p[i])
    return a, x, p


@dataclass(frozen=True, slots=True)
class Fused:
    """A fused picture at one time.

    Attributes
    ----------
    x : (n, 6) states; p : (n, 6, 6) covariances, at ``t_s``.
    t_hit_s : (n,) latest detection behind each track.
    track_id : (n,) identity (the node's own track where there is one).
    label : (n,) truth label, for scoring only.
    sources : (n,) number of pictures fused into the track.
    updates : (n,) detections behind the track, over all its sources.
    """

    x: F64
    p: F64
    t_s: float
    t_hit_s: F64
    track_id: I64
    label: I64
    sources: I64
    updates: I64

    @staticmethod
    def of(tr: Tracks, t_s: float, cfg: TrackerConfig, motion: MotionModel | None = None) -> Fused:
        """The confirmed tracks of ``tr`` predicted to ``t_s``."""
        c = tr.take(tr.confirmed)
        x, p = predict_tracks(c, t_s, cfg, motion)
        n = len(c)
        return Fused(x, p, t_s, c.t_hit_s, c.track_id, c.label, np.ones(n, np.int64), c.updates)

    def take(self, idx: I64 | NDArray[np.bool_]) -> Fused:
        """The rows ``idx``."""
        return Fused(
            self.x[idx],
            self.p[idx],
            self.t_s,
            self.t_hit_s[idx],
            self.track_id[idx],
            self.label[idx],
            self.sources[idx],
            self.updates[idx],
        )


@njit(cache=True)
def fuse_pictures(
    x: F64,
    p: F64,
    t_hit_s: F64,
    track_id: I64,
    label: I64,
    sources: I64,
    updates: I64,
    offset: I64,
    gate_sigma: float,
) -> tuple[int, F64, F64, F64, I64, I64, I64, I64, I64]:
    """Fuse pictures 1, 2, ... one by one into picture 0 (all at the same time).

    Picture ``g`` is rows ``offset[g]:offset[g + 1]`` of the stacked arrays: ``x`` (N, 6),
    ``p`` (N, 6, 6), and per row ``t_hit_s``, ``track_id``, ``label``, ``sources``,
    ``updates`` (N,) as in :class:`Fused`. Each partner's tracks are associated with the
    picture so far and fused into it (:func:`fuse_kernel`); a fused row keeps the later
    detection time and adds up sources and updates; the partner's unmatched tracks are
    appended in their order.

    Returns
    -------
    n : rows of the fused picture; then its x, p, t_hit_s, track_id, label, sources and
    updates, each with N rows of which the first ``n`` hold it; and the fused row each
    input row went into (N,).
    """
    total = x.shape[0]
    ox, op = x.copy(), p.copy()
    ot, oid, olab = t_hit_s.copy(), track_id.copy(), label.copy()
    osrc, oupd = sources.copy(), updates.copy()
    n = offset[1]
    member_of = np.empty(total, np.int64)
    for j in range(n):
        member_of[j] = j
    for g in range(1, offset.shape[0] - 1):
        lo, hi = offset[g], offset[g + 1]
        m = hi - lo
        if m == 0:
            continue
        a, fx, fp = fuse_kernel(ox[:n], op[:n], x[lo:hi], p[lo:hi], gate_sigma)
        ox[:n] = fx
        op[:n] = fp
        taken = np.zeros(m, np.bool_)
        for i in range(n):
            if a[i] >= 0:
                j = lo + a[i]
                ot[i] = max(ot[i], t_hit_s[j])
                osrc[i] += sources[j]
                oupd[i] += updates[j]
                taken[a[i]] = True
                member_of[j] = i
        for r in range(m):
            if not taken[r]:
                j = lo + r
                member_of[j] = n
                ox[n] = x[j]
                op[n] = p[j]
                ot[n], oid[n], olab[n] = t_hit_s[j], track_id[j], label[j]
                osrc[n], oupd[n] = sources[j], updates[j]
                n += 1
    assert n <= total
    return n, ox, op, ot, oid, olab, osrc, oupd, member_of


PartnerStack = tuple[F64, F64, F64, F64, I64, I64, I64, I64, I64]
"""Partners' pictures stacked (:func:`stack_partners`)."""


@njit(cache=True)
def fuse_own_and_partners(
    own: tuple[F64, F64, F64, BOOL, F64, I64, I64, I64],
    partners: PartnerStack,
    t_s: float,
    motion: MotionFigures,
    gate_sigma: float,
    rows: tuple[F64, F64, F64, BOOL, I64],
    adopt: bool,
    numbering: tuple[int, int, I64, I64],
) -> tuple[int, F64, F64, F64, I64, I64, I64, I64, I64]:
    """A node's fused picture at ``t_s``: its confirmed tracks and its partners' pictures
    predicted to ``t_s`` in one batch (:func:`iamd.tracking.filters.predict_kernel`: its
    ballistic tracks share a step count) and fused (:func:`fuse_pictures`), the pictures
    stacked as :func:`stack` stacks them, own tracks first.

    Parameters
    ----------
    own : the node's track table, as :class:`~iamd.tracking.tracker.Tracks`: x (n, 6),
        p (n, 6, 6), t_s, confirmed, t_hit_s, track_id, label, updates (n,).
    partners : the partners' pictures stacked: x (m, 6), p (m, 6, 6), each row's picture
        time, t_hit_s, track_id, label, sources, updates (m,), and the offsets (g + 1,) of
        each picture's rows.
    motion : the motion models (:func:`iamd.tracking.tracker.motion_figures`).
    rows, adopt : with ``adopt``, the rows of a per-threat picture (x, p, t_s, active,
        updates) that each label's most certain fused track is written into
        (:func:`adopt_best`).
    numbering : the node's owner, the stride of partners' track identities (owner times
        it plus the owner's track number), and its system numbering state
        (:class:`iamd.tracking.system.SystemNumbers`: ``bind`` and ``next_number``,
        updated in place); a ``bind`` of no rows numbers nothing
        (:data:`iamd.tracking.system.NO_NUMBERING`).

    Returns
    -------
    As :func:`fuse_pictures`, with the rows' system numbers
    (:func:`iamd.tracking.system.number_rows`; -1 without numbering) in place of the input
    rows' fused rows.
    """
    x, p, t0, confirmed, t_hit, track_id, label, updates = own
    px, pp, pt0, pt_hit, ptrack_id, plabel, psources, pupdates, poffset = partners
    n_own = 0
    for i in range(x.shape[0]):
        n_own += confirmed[i]
    total = n_own + px.shape[0]
    x0, p0, dt = np.empty((total, 6)), np.empty((total, 6, 6)), np.empty(total)
    hit0, id0, lab0 = np.empty(total), np.empty(total, np.int64), np.empty(total, np.int64)
    src0, upd0 = np.empty(total, np.int64), np.empty(total, np.int64)
    r = 0
    for i in range(x.shape[0]):
        if confirmed[i]:
            x0[r], p0[r], dt[r] = x[i], p[i], t_s - t0[i]
            hit0[r], id0[r], lab0[r] = t_hit[i], track_id[i], label[i]
            src0[r], upd0[r] = 1, updates[i]
            r += 1
    for j in range(px.shape[0]):
        x0[r], p0[r], dt[r] = px[j], pp[j], t_s - pt0[j]
        hit0[r], id0[r], lab0[r] = pt_hit[j], ptrack_id[j], plabel[j]
        src0[r], upd0[r] = psources[j], pupdates[j]
        r += 1
    offset = np.empty(poffset.size + 1, np.int64)
    offset[0] = 0
    for g in range(poffset.size):
        offset[g + 1] = n_own + poffset[g]
    speed, q_slow, q_fast, class_q, class_ballistic, class_beta, known = motion
    q, fast, beta = np.empty(total), np.empty(total, np.bool_), np.empty(total)
    motion_kernel(x0, lab0, speed, q_slow, q_fast, class_q, class_ballistic, class_beta, known,
                  q, fast, beta)  # fmt: skip
    xp, pp0 = predict_kernel(x0, p0, dt, q, fast, beta)
    n, fx, fp, ft, fid, flab, fsrc, fupd, member_of = fuse_pictures(
        xp, pp0, hit0, id0, lab0, src0, upd0, offset, gate_sigma
    )
    if adopt:
        adopt_best(fx[:n], fp[:n], flab[:n], fupd[:n], t_s, rows[0], rows[1], rows[2], rows[3],
                   rows[4])  # fmt: skip
    owner, stride, bind, next_number = numbering
    if bind.shape[0] == 0:
        numbers = np.full(n, -1, np.int64)
    else:
        source_owner, source_track = np.empty(total, np.int64), np.empty(total, np.int64)
        for j in range(total):
            if j < n_own:
                source_owner[j], source_track[j] = owner, id0[j]
            else:
                source_owner[j], source_track[j] = id0[j] // stride, id0[j] % stride
        numbers = number_rows(source_owner, source_track, member_of, n, bind, next_number)
    return n, fx, fp, ft, fid, flab, fsrc, fupd, numbers


def stack_partners(pictures: list[Fused]) -> PartnerStack:
    """Partners' pictures stacked for :func:`fuse_own_and_partners`: the columns of
    :func:`stack`, each row's picture time after the states and covariances, and the
    offsets (g + 1,)."""
    if not pictures:
        none_i = np.zeros(0, np.int64)
        return (np.zeros((0, 6)), np.zeros((0, 6, 6)), np.zeros(0), np.zeros(0), none_i, none_i,
                none_i, none_i, np.zeros(1, np.int64))  # fmt: skip
    x, p, t_hit, track_id, label, sources, updates, offset = stack(pictures)
    t0 = np.repeat(np.array([f.t_s for f in pictures], dtype=np.float64), np.diff(offset))
    return x, p, t0, t_hit, track_id, label, sources, updates, offset


@njit(cache=True)
def best_per_label(p: F64, label: I64, n_rows: int, n_labels: int) -> I64:
    """For each label (n_labels,), the row among the first ``n_rows`` of that label with
    the least position variance (trace of the covariance's position block; the first
    such row on ties), -1 where none."""
    best = np.full(n_labels, -1, np.int64)
    best_trace = np.empty(n_labels)
    for r in range(n_rows):
        lab = label[r]
        if lab < 0:
            continue
        tr = p[r, 0, 0] + p[r, 1, 1] + p[r, 2, 2]
        if (
            best[lab] < 0
            or tr < best_trace[lab]
            or (math.isnan(best_trace[lab]) and not math.isnan(tr))
        ):
            best[lab] = r
            best_trace[lab] = tr
    return best


@njit(cache=True)
def adopt_best(
    x: F64,
    p: F64,
    label: I64,
    updates: I64,
    t_s: float,
    pic_x: F64,
    pic_p: F64,
    pic_t_s: F64,
    pic_active: BOOL,
    pic_updates: I64,
) -> None:
    """Rows of a per-threat picture (one per label: ``pic_x`` (L, 6), ``pic_p`` (L, 6, 6),
    ``pic_t_s``, ``pic_active``, ``pic_updates`` (L,), written in place) from a fused
    picture ``x`` (n, 6), ``p`` (n, 6, 6), ``label``, ``updates`` (n,) at ``t_s``: each
    label's row takes its most certain track (:func:`best_per_label`); a label without
    one goes inactive."""
    best = best_per_label(p, label, x.shape[0], pic_active.shape[0])
    for lab in range(best.size):
        r = best[lab]
        pic_active[lab] = r >= 0
        if r >= 0:
            pic_x[lab] = x[r]
            pic_p[lab] = p[r]
            pic_t_s[lab] = t_s
            pic_updates[lab] = updates[r]


def stack(pictures: list[Fused]) -> tuple[F64, F64, F64, I64, I64, I64, I64, I64]:
    """Pictures stacked for :func:`fuse_pictures`: x (N, 6), p (N, 6, 6), t_hit_s,
    track_id, label, sources, updates (N,) as C-contiguous arrays, and the offsets (g + 1,)
    of each picture's rows."""
    offset = np.empty(len(pictures) + 1, np.int64)
    offset[0] = n = 0
    for i, f in enumerate(pictures):  # pictures (a few)
        n += f.x.shape[0]
        offset[i + 1] = n
    return (
        np.concatenate([f.x for f in pictures], dtype=np.float64).reshape(-1, 6),
        np.concatenate([f.p for f in pictures], dtype=np.float64).reshape(-1, 6, 6),
        np.concatenate([f.t_hit_s for f in pictures], dtype=np.float64),
        np.concatenate([f.track_id for f in pictures], dtype=np.int64),
        np.concatenate([f.label for f in pictures], dtype=np.int64),
        np.concatenate([f.sources for f in pictures], dtype=np.int64),
        np.concatenate([f.updates for f in pictures], dtype=np.int64),
        offset,
    )


def fuse_all(pictures: list[Fused], gate: float) -> Fused:
    """Fuse ``pictures[1:]`` one by one into ``pictures[0]`` (see :func:`fuse_pictures`).

    One call of the simulation's kernel (:func:`fuse_own_and_partners`, with no tracks of
    one's own): each picture is first predicted to ``pictures[0].t_s``, which changes
    nothing when they share that time (save making each covariance exactly symmetric).
    """
    if len(pictures) == 1:
        return pictures[0]
    t_s = float(pictures[0].t_s)
    n, x, p, t_hit, track_id, label, sources, updates, _ = fuse_own_and_partners(
        _NO_TRACKS, stack_partners(pictures), t_s, motion_figures(TrackerConfig(), None), gate,
        NO_ROWS, False, NO_NUMBERING,
    )  # fmt: skip
    return Fused(x[:n], p[:n], t_s, t_hit[:n], track_id[:n], label[:n], sources[:n], updates[:n])


_NONE_I = np.zeros(0, np.int64)
NO_ROWS = (np.zeros((0, 6)), np.zeros((0, 6, 6)), np.zeros(0), np.zeros(0, np.bool_), _NONE_I)
"""No per-threat picture rows (:func:`fuse_own_and_partners` without ``adopt``)."""
_NO_TRACKS = (np.zeros((0, 6)), np.zeros((0, 6, 6)), np.zeros(0), np.zeros(0, np.bool_),
              np.zeros(0), _NONE_I, _NONE_I, _NONE_I)  # fmt: skip
"""An empty track table as :func:`fuse_own_and_partners` takes one."""


def fuse(own: Fused, other: Fused, gate: float) -> Fused:
    """Fuse a partner's picture ``other`` into ``own`` (both at the same time)."""
    return fuse_all([own, other], gate)

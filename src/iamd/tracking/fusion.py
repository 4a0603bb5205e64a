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

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.tracking.association import gate_pairs, gnn, mahalanobis
from iamd.tracking.ideal import MotionModel
from iamd.tracking.tracker import TrackerConfig, Tracks, predict_tracks

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def covariance_intersection(xa: F64, pa: F64, xb: F64, pb: F64) -> tuple[F64, F64, F64]:
    """Fuse estimate pairs by covariance intersection.

    ``P^-1 = w Pa^-1 + (1 - w) Pb^-1`` and ``x = P (w Pa^-1 xa + (1 - w) Pb^-1 xb)``. The
    result is consistent for any ``w`` in [0, 1] whatever the correlation between the
    two estimates; ``w`` is the closed-form "improved fast CI" weight of Fraenken and
    Hupper (FUSION 2005), ``w = (det(Ia + Ib) - det(Ib) + det(Ia)) / (2 det(Ia + Ib))``
    with ``I = P^-1``, which approximates the determinant-minimising weight without
    a search.

    Parameters
    ----------
    xa, xb : (k, d) estimates; pa, pb : (k, d, d) covariances.

    Returns
    -------
    x (k, d), P (k, d, d), w (k,).
    """
    k = xa.shape[0]
    both = np.linalg.inv(np.concatenate([pa, pb]))
    ia, ib = both[:k], both[k:]
    # determinants of information matrices span many decades: work with their logs
    _, ld = np.linalg.slogdet(np.concatenate([ia + ib, ia, ib]))
    ld_sum, ld_a, ld_b = ld[:k], ld[k : 2 * k], ld[2 * k :]
    w = np.clip(0.5 * (1.0 - np.exp(ld_b - ld_sum) + np.exp(ld_a - ld_sum)), 0.0, 1.0)
    info = w[:, None, None] * ia + (1.0 - w)[:, None, None] * ib
    p = np.linalg.inv(info)
    x = np.einsum(
        "kij,kj->ki",
        p,
        w[:, None] * np.einsum("kij,kj->ki", ia, xa)
        + (1.0 - w)[:, None] * np.einsum("kij,kj->ki", ib, xb),
    )
    return x, 0.5 * (p + np.transpose(p, (0, 2, 1))), w


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


def fuse(own: Fused, other: Fused, gate: float) -> Fused:
    """Fuse a partner's picture ``other`` into ``own`` (both at the same time)."""
    n, m = own.x.shape[0], other.x.shape[0]
    if m == 0:
        return own
    a = np.full(n, -1, np.int64)
    if n:
        pos_var = np.trace(own.p[:, :3, :3], axis1=1, axis2=2)
        other_var = float(np.trace(other.p[:, :3, :3], axis1=1, axis2=2).max())
        ti, di = gate_pairs(own.x[:, :3], other.x[:, :3], gate * np.sqrt(pos_var + other_var))
        if ti.size:
            s = own.p[ti, :3, :3] + other.p[di, :3, :3]
            d = mahalanobis(own.x[ti, :3] - other.x[di, :3], np.asarray(np.linalg.inv(s), float))
            a = gnn(n, m, ti, di, d, gate)
    hit = np.flatnonzero(a >= 0)
    x, p = own.x.copy(), own.p.copy()
    t_hit, sources, updates = own.t_hit_s.copy(), own.sources.copy(), own.updates.copy()
    if hit.size:
        j = a[hit]
        x[hit], p[hit], _ = covariance_intersection(own.x[hit], own.p[hit], other.x[j], other.p[j])
        t_hit[hit] = np.maximum(t_hit[hit], other.t_hit_s[j])
        sources[hit] += other.sources[j]
        updates[hit] += other.updates[j]
    taken = np.zeros(m, bool)
    taken[a[hit]] = True
    rest = np.flatnonzero(~taken)
    return Fused(
        x=np.concatenate([x, other.x[rest]]),
        p=np.concatenate([p, other.p[rest]]),
        t_s=own.t_s,
        t_hit_s=np.concatenate([t_hit, other.t_hit_s[rest]]),
        track_id=np.concatenate([own.track_id, other.track_id[rest]]),
        label=np.concatenate([own.label, other.label[rest]]),
        sources=np.concatenate([sources, other.sources[rest]]),
        updates=np.concatenate([updates, other.updates[rest]]),
    )

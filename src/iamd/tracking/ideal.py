"""Ideal tracking: measurements keep their truth identity.

Each C2 picture holds at most one track per threat, a Kalman filter over that
threat's own measurements from every sensor feeding the picture. There is no
association error, so this mode isolates battle-management effects; false alarms
are dropped. The arrays are indexed by threat and owned by the engine, which
updates them in place for one replication.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from iamd.tracking.filters import predict, rae_covariance_ecef, update_position, update_rae

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

INIT_SPEED_SIGMA_M_S = 2000.0
FIRM_UPDATES = 2


@dataclass(slots=True)
class TrackLog:
    """Track states appended per update batch, concatenated once at the end."""

    t_s: list[F64] = field(default_factory=list)
    threat: list[I64] = field(default_factory=list)
    state: list[F64] = field(default_factory=list)
    sigma_m: list[F64] = field(default_factory=list)

    def add(self, t_s: float, ids: I64, x: F64, p: F64) -> None:
        self.t_s.append(np.full(ids.shape[0], t_s))
        self.threat.append(ids)
        self.state.append(x)
        self.sigma_m.append(np.sqrt(np.trace(p[:, :3, :3], axis1=1, axis2=2)))


@dataclass(slots=True)
class Picture:
    """One owner's track picture (arrays indexed by threat).

    Attributes
    ----------
    x : (n, 6) ECEF state estimates.
    p : (n, 6, 6) covariances.
    t_s : (n,) time of each track's last update.
    active : (n,) a track exists.
    updates : (n,) measurements absorbed since initiation.
    """

    owner: str
    x: F64
    p: F64
    t_s: F64
    active: BOOL
    updates: I64
    log: TrackLog

    @staticmethod
    def empty(owner: str, n: int) -> Picture:
        return Picture(
            owner=owner,
            x=np.zeros((n, 6)),
            p=np.broadcast_to(np.eye(6), (n, 6, 6)).copy(),
            t_s=np.zeros(n),
            active=np.zeros(n, dtype=bool),
            updates=np.zeros(n, dtype=np.int64),
            log=TrackLog(),
        )

    def firm(self) -> I64:
        """Threat indices with a firm track (initiated and confirmed)."""
        return np.flatnonzero(self.active & (self.updates >= FIRM_UPDATES))


@dataclass(frozen=True, slots=True)
class MotionModel:
    """Per-threat motion model the ideal tracker uses (it knows each threat's class)."""

    ballistic: BOOL
    beta_kg_m2: F64
    q_m2_s3: F64


def _predict_rows(pic: Picture, ids: I64, t_s: float, model: MotionModel) -> tuple[F64, F64]:
    dt = t_s - pic.t_s[ids]
    return predict(
        pic.x[ids], pic.p[ids], dt, model.q_m2_s3[ids], model.ballistic[ids], model.beta_kg_m2[ids]
    )


def _absorb(
    pic: Picture,
    t_s: float,
    ids: I64,
    model: MotionModel,
    update_fn: Callable[[F64, F64, BOOL], tuple[F64, F64, F64]],
    init_pos_m: F64,
    init_cov_m2: F64,
) -> I64:
    """Update existing tracks of ``ids`` with ``update_fn``; start the others.

    ``update_fn(x, p, rows)`` updates predicted states with the measurements of the
    selected rows; new tracks start at ``init_pos_m`` (k, 3) with position covariance
    ``init_cov_m2`` (k, 3, 3) and an uninformative velocity. Returns the new threats.
    """
    old = pic.active[ids]
    if old.any():
        o = ids[old]
        x, p = _predict_rows(pic, o, t_s, model)
        pic.x[o], pic.p[o], _ = update_fn(x, p, old)
    fresh = ~old
    new = ids[fresh]
    if new.size:
        p0 = np.zeros((new.size, 6, 6))
        p0[:, :3, :3] = init_cov_m2[fresh]
        p0[:, 3:, 3:] = np.eye(3) * INIT_SPEED_SIGMA_M_S**2
        pic.x[new] = np.concatenate([init_pos_m[fresh], np.zeros((new.size, 3))], axis=1)
        pic.p[new] = p0
        pic.active[new] = True
        pic.updates[new] = 0
    pic.t_s[ids] = t_s
    pic.updates[ids] += 1
    pic.log.add(t_s, ids, pic.x[ids], pic.p[ids])
    return new


def absorb_radar(
    pic: Picture, t_s: float, ids: I64, rae: F64, sigma: F64, site_ecef_m: F64, rot: F64,
    pos_m: F64, model: MotionModel,
) -> I64:
    """Absorb one radar scan's detections of threats ``ids`` (no duplicates).

    ``pos_m`` (k, 3) are the measurements converted to ECEF, used to start new tracks.
    Returns the threats whose tracks this scan started.
    """
    return _absorb(
        pic, t_s, ids, model,
        lambda x, p, rows: update_rae(x, p, rae[rows], sigma, site_ecef_m, rot),
        pos_m, rae_covariance_ecef(rae, sigma, rot),
    )


def absorb_positions(
    pic: Picture, t_s: float, ids: I64, z_m: F64, sigma_m: float, model: MotionModel
) -> I64:
    """Absorb ECEF position reports (spaceborne launch warning) of threats ``ids``."""
    cov = np.broadcast_to(np.eye(3) * sigma_m**2, (ids.size, 3, 3))
    return _absorb(
        pic, t_s, ids, model, lambda x, p, rows: update_position(x, p, z_m[rows], sigma_m), z_m, cov
    )


def drop_stale(pic: Picture, t_s: float, drop_after_s: float) -> I64:
    """End tracks not updated for ``drop_after_s``; returns the dropped threats."""
    stale = np.flatnonzero(pic.active & (t_s - pic.t_s > drop_after_s))
    pic.active[stale] = False
    return stale


def extrapolate(pic: Picture, ids: I64, t_s: float, model: MotionModel) -> tuple[F64, F64]:
    """Track states and covariances of ``ids`` predicted to ``t_s`` (the picture is unchanged)."""
    return _predict_rows(pic, ids, t_s, model)

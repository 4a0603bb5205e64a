"""Ideal tracking: measurements keep their truth identity.

Each owner's picture holds at most one track per threat, a Kalman filter over that
threat's own measurements from every sensor feeding the picture. There is no
association error, so this mode isolates battle-management effects; false alarms
are dropped. All pictures live in one stacked array (owner, threat) so that a
scan shared with several partners updates every receiving picture in one batched
filter call. The arrays are owned by the engine, which updates them in place for
one replication.
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
    owner: list[I64] = field(default_factory=list)
    threat: list[I64] = field(default_factory=list)
    track: list[I64] = field(default_factory=list)
    state: list[F64] = field(default_factory=list)
    sigma_m: list[F64] = field(default_factory=list)

    def add(
        self, t_s: float, owner: I64, ids: I64, x: F64, p: F64, track: I64 | None = None
    ) -> None:
        """Log states of tracks on threats ``ids`` (track identities default to them)."""
        n = ids.shape[0]
        times, owners = np.empty(n), np.empty(n, np.int64)
        times[:], owners[:] = t_s, owner  # a scalar or (n,)
        self.t_s.append(times)
        self.owner.append(owners)
        self.threat.append(ids)
        self.track.append(ids if track is None else track)
        self.state.append(x)
        self.sigma_m.append(np.sqrt(p[:, 0, 0] + p[:, 1, 1] + p[:, 2, 2]))


@dataclass(slots=True)
class Pictures:
    """Every owner's track picture, stacked (owner, threat).

    Attributes
    ----------
    x : (o, n, 6) ECEF state estimates.
    p : (o, n, 6, 6) covariances.
    t_s : (o, n) time of each track's last update.
    active : (o, n) a track exists.
    updates : (o, n) measurements absorbed since initiation.
    """

    x: F64
    p: F64
    t_s: F64
    active: BOOL
    updates: I64
    log: TrackLog

    @staticmethod
    def empty(n_owners: int, n: int) -> Pictures:
        return Pictures(
            x=np.zeros((n_owners, n, 6)),
            p=np.broadcast_to(np.eye(6), (n_owners, n, 6, 6)).copy(),
            t_s=np.zeros((n_owners, n)),
            active=np.zeros((n_owners, n), dtype=bool),
            updates=np.zeros((n_owners, n), dtype=np.int64),
            log=TrackLog(),
        )

    def firm(self, o: int) -> I64:
        """Threats with a firm track (initiated and confirmed) in owner ``o``'s picture."""
        return np.flatnonzero(self.active[o] & (self.updates[o] >= FIRM_UPDATES))


@dataclass(frozen=True, slots=True)
class MotionModel:
    """Per-threat motion model the ideal tracker uses (it knows each threat's class)."""

    ballistic: BOOL
    beta_kg_m2: F64
    q_m2_s3: F64


def extrapolate(
    pics: Pictures, o: I64, ids: I64, t_s: float, model: MotionModel
) -> tuple[F64, F64]:
    """States and covariances of tracks (o, ids) predicted to ``t_s`` (pictures unchanged)."""
    dt = t_s - pics.t_s[o, ids]
    return predict(
        pics.x[o, ids],
        pics.p[o, ids],
        dt,
        model.q_m2_s3[ids],
        model.ballistic[ids],
        model.beta_kg_m2[ids],
    )


def _absorb(
    pics: Pictures,
    owners: tuple[int, ...],
    t_s: float,
    ids: I64,
    model: MotionModel,
    update_fn: Callable[[F64, F64, I64], tuple[F64, F64, F64]],
    init_pos_m: F64,
    init_cov_m2: Callable[[I64], F64],
) -> list[I64]:
    """Update the tracks of ``ids`` in every picture of ``owners``; start missing ones.

    ``update_fn(x, p, meas)`` updates predicted states with measurements ``meas``
    (indices into ``ids``); new tracks start at ``init_pos_m[meas]`` with position
    covariance ``init_cov_m2(meas)`` and an uninformative velocity.

    Returns
    -------
    The threats whose track each owner's picture started, one array per owner.
    """
    k = ids.shape[0]
    oo = np.repeat(np.asarray(owners, dtype=np.int64), k)
    ii = np.tile(ids, len(owners))
    meas = np.tile(np.arange(k), len(owners))
    old = pics.active[oo, ii]
    if old.any():
        x, p = extrapolate(pics, oo[old], ii[old], t_s, model)
        pics.x[oo[old], ii[old]], pics.p[oo[old], ii[old]], _ = update_fn(x, p, meas[old])
    fresh = ~old
    if fresh.any():
        of, i_f, mf = oo[fresh], ii[fresh], meas[fresh]
        p0 = np.zeros((mf.size, 6, 6))
        p0[:, :3, :3] = init_cov_m2(mf)
        p0[:, 3:, 3:] = np.eye(3) * INIT_SPEED_SIGMA_M_S**2
        pics.x[of, i_f] = np.concatenate([init_pos_m[mf], np.zeros((mf.size, 3))], axis=1)
        pics.p[of, i_f] = p0
        pics.active[of, i_f] = True
        pics.updates[of, i_f] = 0
    pics.t_s[oo, ii] = t_s
    pics.updates[oo, ii] += 1
    pics.log.add(t_s, oo, ii, pics.x[oo, ii], pics.p[oo, ii])
    return [ii[fresh & (oo == o)] for o in owners]


def absorb_radar(
    pics: Pictures,
    owners: tuple[int, ...],
    t_s: float,
    ids: I64,
    rae: F64,
    sigma: F64,
    site_ecef_m: F64,
    rot: F64,
    pos_m: F64,
    model: MotionModel,
) -> list[I64]:
    """Absorb one radar scan's detections of threats ``ids`` (no duplicates) into ``owners``.

    ``pos_m`` (k, 3) are the measurements converted to ECEF, used to start new tracks.
    """
    return _absorb(
        pics,
        owners,
        t_s,
        ids,
        model,
        lambda x, p, m: update_rae(x, p, rae[m], sigma, site_ecef_m, rot),
        pos_m,
        lambda m: rae_covariance_ecef(rae[m], sigma, rot),
    )


def absorb_positions(
    pics: Pictures,
    owners: tuple[int, ...],
    t_s: float,
    ids: I64,
    z_m: F64,
    sigma_m: float,
    model: MotionModel,
) -> list[I64]:
    """Absorb ECEF position reports (spaceborne launch warning) of threats ``ids``."""
    return _absorb(
        pics,
        owners,
        t_s,
        ids,
        model,
        lambda x, p, m: update_position(x, p, z_m[m], sigma_m),
        z_m,
        lambda m: np.broadcast_to(np.eye(3) * sigma_m**2, (m.size, 3, 3)),
    )


def drop_stale(pics: Pictures, o: int, t_s: float, drop_after_s: float) -> I64:
    """End owner ``o``'s tracks not updated for ``drop_after_s``; returns the dropped threats."""
    stale = np.flatnonzero(pics.active[o] & (t_s - pics.t_s[o] > drop_after_s))
    pics.active[o, stale] = False
    return stale

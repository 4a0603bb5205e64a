"""Multi-target tracker: batched EKF, gated GNN association, M-of-N initiation, deletion.

One :func:`step` absorbs one scan (every detection of one sensor at one time) into a
:class:`Tracks` table and returns the new table. The order of operations follows
the classic two-stage tracker (and Stone Soup's ``MultiTargetTracker`` with a
``MultiMeasurementInitiator``, so the two can be compared detection for detection):

1. predict every track to the scan time;
2. associate confirmed tracks with the detections (:mod:`iamd.tracking.association`),
   update the assigned ones, coast the others on their prediction;
3. delete confirmed tracks whose position covariance has grown too large (or that
   have missed too many scans in a row);
4. associate tentative tracks with the detections left over, update them, confirm
   those with ``confirm_m`` updates, delete the others that grew too uncertain or
   ran out of their ``confirm_n`` scans;
5. start a tentative track on every detection still unused.

States are (position m, velocity m/s) in one Cartesian frame (ECEF in the
simulation). Tracks faster than ``ballistic_speed_m_s`` are predicted with gravity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.sensors.radar import (
    NO_RADARS,
    BankFigures,
    RadarBank,
    bank_figures,
    covered_any,
)
from iamd.tracking.association import assign, gate, mahalanobis_one
from iamd.tracking.filters import (
    gain_update,
    innovation_cov_into,
    invert_into,
    predict,
    predict_kernel,
    rae_covariance_ecef,
    rae_covariance_kernel,
    rae_one,
    rae_to_ecef,
    rae_to_ecef_kernel,
)
from iamd.tracking.ideal import MotionModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

POSITION = 0
"""Measurement model code: Cartesian position with independent noise."""
RADAR = 1
"""Measurement model code: range, azimuth and elevation from a site."""


class MeasurementModel(Protocol):
    """How one sensor's scan measures states."""

    def to_position(self, z: F64) -> F64:
        """Positions (k, 3) m of measurements."""
        ...

    def position_cov(self, z: F64) -> F64:
        """Covariances (k, 3, 3) m^2 of the positions of measurements ``z``."""
        ...

    def max_position_var(self, z: F64) -> float:
        """An upper bound of the position covariance trace over measurements ``z``, m^2."""
        ...

    def kernel_model(self) -> tuple[int, F64, F64, F64]:
        """The model for the compiled tracker: its code (``POSITION`` or ``RADAR``), the
        site (3,) m, the ECEF-to-ENU rotation (3, 3) and the noise deviations (3,)."""
        ...


@dataclass(frozen=True, slots=True)
class PositionSensor:
    """A sensor that measures Cartesian position with independent noise ``sigma_m`` (3,)."""

    sigma_m: F64

    def to_position(self, z: F64) -> F64:
        return z

    def position_cov(self, z: F64) -> F64:
        return np.broadcast_to(np.diag(self.sigma_m**2), (z.shape[0], 3, 3))

    def max_position_var(self, z: F64) -> float:
        return float(np.sum(self.sigma_m**2))

    def kernel_model(self) -> tuple[int, F64, F64, F64]:
        return POSITION, np.zeros(3), np.eye(3), np.asarray(self.sigma_m, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class RadarSensor:
    """A radar measuring range m, azimuth rad and elevation rad from a site.

    Attributes
    ----------
    site_ecef_m : (3,) site position.
    rot : (3, 3) ECEF-to-ENU rotation at the site.
    sigma : (3,) range m, azimuth rad, elevation rad standard deviations.
    """

    site_ecef_m: F64
    rot: F64
    sigma: F64

    def to_position(self, z: F64) -> F64:
        return rae_to_ecef(z, self.site_ecef_m, self.rot)

    def position_cov(self, z: F64) -> F64:
        return rae_covariance_ecef(z, self.sigma, self.rot)

    def max_position_var(self, z: F64) -> float:
        r = float(z[:, 0].max())
        return float(self.sigma[0] ** 2 + r * r * (self.sigma[1] ** 2 + self.sigma[2] ** 2))

    def kernel_model(self) -> tuple[int, F64, F64, F64]:
        def c(a: F64) -> F64:
            return np.ascontiguousarray(a, dtype=np.float64)

        return RADAR, c(self.site_ecef_m), c(self.rot), c(self.sigma)


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tracker parameters.

    Attributes
    ----------
    q_m2_s3 : white-acceleration spectral density of the motion model, m^2/s^3.
    init_speed_sigma_m_s : velocity standard deviation of a new track, m/s (mean 0).
    q_fast_m2_s3 : the same for tracks faster than ``ballistic_speed_m_s`` (``None``: as slow).
    gate_radius_m : Euclidean pre-gate around a track's predicted position, m; ``None``
        sizes it per track to enclose its Mahalanobis gate (position covariance plus the
        largest measurement covariance of the scan).
    missed_distance : Mahalanobis gate; also the cost of leaving a track unassigned.
    confirm_m, confirm_n : a tentative track is confirmed at ``confirm_m`` updates
        (its first detection counts) and dropped if that has not happened within
        ``confirm_n`` scans; ``None`` means no limit.
    delete_pos_var_m2 : a track whose position covariance trace exceeds this is deleted.
    max_misses : a confirmed track missed this many scans in a row is deleted (``None``: never).
    ballistic_speed_m_s : tracks faster than this are predicted under gravity.
    """

    q_m2_s3: float = 1.0
    q_fast_m2_s3: float | None = None
    init_speed_sigma_m_s: float = 300.0
    gate_radius_m: float | None = 2000.0
    missed_distance: float = 3.0
    confirm_m: int = 2
    confirm_n: int | None = None
    delete_pos_var_m2: float = 3.0 * 1000.0**2
    max_misses: int | None = None
    ballistic_speed_m_s: float = np.inf

    def check(self) -> None:
        """Raise ``ValueError`` with a readable message for impossible parameters."""
        if not (self.q_m2_s3 >= 0 and np.isfinite(self.q_m2_s3)):
            raise ValueError(f"process noise must be finite and >= 0, got {self.q_m2_s3}")
        for name in (
            "init_speed_sigma_m_s",
            "gate_radius_m",
            "missed_distance",
            "delete_pos_var_m2",
        ):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        if self.confirm_m < 1:
            raise ValueError(f"confirm_m must be >= 1, got {self.confirm_m}")
        if self.confirm_n is not None and self.confirm_n < self.confirm_m:
            raise ValueError(
                f"confirm_n ({self.confirm_n}) must be >= confirm_m ({self.confirm_m})"
            )


@dataclass(frozen=True, slots=True)
class Tracks:
    """A track table (struct of arrays), one row per track.

    Attributes
    ----------
    x : (n, 6) state, m and m/s.
    p : (n, 6, 6) covariance.
    t_s : (n,) time of the state.
    track_id : (n,) identity, unique and stable for the track's life.
    confirmed : (n,) confirmed (True) or tentative.
    updates : (n,) detections absorbed.
    misses : (n,) scans missed in a row (counted only when the track was in the sensor's view).
    scans : (n,) scans in whose view the track was since initiation.
    t_hit_s : (n,) time of the last detection absorbed.
    label : (n,) truth label of the last detection absorbed (-1 clutter or unknown);
        for scoring only, never used by the tracker.
    next_id : the identity the next track will get.
    """

    x: F64
    p: F64
    t_s: F64
    track_id: I64
    confirmed: BOOL
    updates: I64
    misses: I64
    scans: I64
    t_hit_s: F64
    label: I64
    next_id: int = 0

    @staticmethod
    def empty() -> Tracks:
        return Tracks(
            x=np.zeros((0, 6)),
            p=np.zeros((0, 6, 6)),
            t_s=np.zeros(0),
            track_id=np.zeros(0, np.int64),
            confirmed=np.zeros(0, bool),
            updates=np.zeros(0, np.int64),
            misses=np.zeros(0, np.int64),
            scans=np.zeros(0, np.int64),
            t_hit_s=np.zeros(0),
            label=np.zeros(0, np.int64),
        )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def take(self, idx: I64 | BOOL) -> Tracks:
        """The rows ``idx`` (indices or mask)."""
        return Tracks(
            self.x[idx],
            self.p[idx],
            self.t_s[idx],
            self.track_id[idx],
            self.confirmed[idx],
            self.updates[idx],
            self.misses[idx],
            self.scans[idx],
            self.t_hit_s[idx],
            self.label[idx],
            self.next_id,
        )


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one scan did.

    Attributes
    ----------
    confirmed_ids : identities confirmed in this scan.
    deleted_ids : identities of confirmed tracks deleted in this scan.
    """

    confirmed_ids: I64
    deleted_ids: I64


MotionFigures = tuple[float, float, float, F64, BOOL, F64, bool]
"""The arguments of :func:`motion_kernel` after the states and labels."""


def motion_figures(cfg: TrackerConfig, motion: MotionModel | None) -> MotionFigures:
    """The configuration's speed threshold (m/s) and slow and fast process noise
    (m^2/s^3), then the threat classes' models (q, ballistic, beta) and whether they are
    known, as :func:`motion_kernel` takes them."""
    q_fast = cfg.q_m2_s3 if cfg.q_fast_m2_s3 is None else cfg.q_fast_m2_s3
    model = (
        (motion.q_m2_s3, motion.ballistic, motion.beta_kg_m2) if motion is not None else _NO_MODEL
    )
    return (
        float(cfg.ballistic_speed_m_s),
        float(cfg.q_m2_s3),
        float(q_fast),
        np.ascontiguousarray(model[0], dtype=np.float64),
        np.ascontiguousarray(model[1], dtype=np.bool_),
        np.ascontiguousarray(model[2], dtype=np.float64),
        motion is not None,
    )


def motion_of(
    x: F64, label: I64, cfg: TrackerConfig, motion: MotionModel | None
) -> tuple[F64, BOOL, F64]:
    """Process noise (n,), ballistic flag (n,) and ballistic coefficient (n,) per track.

    Tracks with a truth label take that threat class's model when ``motion`` is given
    (perfect classification); the others the configuration's: constant velocity, or
    gravity above ``ballistic_speed_m_s`` (:func:`motion_kernel`).
    """
    n = x.shape[0]
    q, fast, beta = np.empty(n), np.empty(n, np.bool_), np.empty(n)
    motion_kernel(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(label, dtype=np.int64),
        *motion_figures(cfg, motion),
        q,
        fast,
        beta,
    )
    return q, fast, beta


_NO_MODEL = (np.zeros(0), np.zeros(0, np.bool_), np.zeros(0))


@njit(cache=True)
def motion_kernel(
    x: F64,
    label: I64,
    ballistic_speed_m_s: float,
    q_slow_m2_s3: float,
    q_fast_m2_s3: float,
    class_q_m2_s3: F64,
    class_ballistic: BOOL,
    class_beta_kg_m2: F64,
    known: bool,
    q: F64,
    fast: BOOL,
    beta: F64,
) -> None:
    """Motion model of each track (n, 6) into ``q``, ``fast``, ``beta`` (n,): its threat
    class's (``class_*`` indexed by ``label``) when ``known`` and labelled, else by speed."""
    for i in range(x.shape[0]):
        speed = math.sqrt(x[i, 3] * x[i, 3] + x[i, 4] * x[i, 4] + x[i, 5] * x[i, 5])
        fast[i] = speed > ballistic_speed_m_s
        q[i] = q_fast_m2_s3 if fast[i] else q_slow_m2_s3
        beta[i] = np.inf
        if known and label[i] >= 0:
            q[i] = class_q_m2_s3[label[i]]
            fast[i] = class_ballistic[label[i]]
            beta[i] = class_beta_kg_m2[label[i]]


def predict_tracks(
    tr: Tracks, t_s: float, cfg: TrackerConfig, motion: MotionModel | None = None
) -> tuple[F64, F64]:
    """States and covariances of all tracks predicted to ``t_s`` (table unchanged)."""
    if len(tr) == 0:
        return tr.x, tr.p
    q, ballistic, beta = motion_of(tr.x, tr.label, cfg, motion)
    return predict(tr.x, tr.p, t_s - tr.t_s, q, ballistic, beta)


@njit(cache=True)
def _measure(kind: int, x: F64, site_ecef_m: F64, rot: F64, z: F64, h: F64) -> None:
    """Predicted measurement of one state (6,) into ``z`` (3,), its Jacobian into ``h`` (3, 6)."""
    if kind == RADAR:
        rae_one(x, site_ecef_m, rot, z, h)
        return
    h[:] = 0.0
    for c in range(3):
        z[c] = x[c]
        h[c, c] = 1.0


@njit(cache=True)
def _residual(kind: int, z: F64, z_hat: F64, out: F64) -> None:
    """Measurement minus prediction (3,), the angles of a radar wrapped to [-pi, pi)."""
    for c in range(3):
        out[c] = z[c] - z_hat[c]
    if kind == RADAR:
        for c in range(1, 3):
            out[c] = (out[c] + math.pi) % (2 * math.pi) - math.pi


@njit(cache=True)
def associate(
    x: F64,
    p: F64,
    z: F64,
    z_pos: F64,
    radius_m: F64,
    kind: int,
    site_ecef_m: F64,
    rot: F64,
    sigma: F64,
    missed: float,
) -> tuple[I64, F64, F64]:
    """GNN of tracks with one scan's detections, and the EKF update of those assigned.

    Parameters
    ----------
    x, p : (n, 6) states and (n, 6, 6) covariances predicted to the scan time.
    z : (m, 3) detections as measured; z_pos : (m, 3) their positions, m.
    radius_m : (n,) Euclidean pre-gate of each track, m.
    kind, site_ecef_m, rot, sigma : the measurement model (:meth:`RadarSensor.kernel_model`).
    missed : Mahalanobis gate, also the cost of leaving a track unassigned.

    Returns
    -------
    a : (n,) the detection assigned to each track, -1 for none.
    x, p : the states and covariances, updated where assigned (new arrays).
    """
    n, m = x.shape[0], z.shape[0]
    out = np.full(n, -1, np.int64)
    if n == 0 or m == 0:
        return out, x, p
    ti, di = gate(np.ascontiguousarray(x[:, :3]), z_pos, radius_m)
    if ti.size == 0:
        return out, x, p
    r = np.diag(sigma**2)
    z_hat = np.empty((n, 3))
    h = np.empty((n, 3, 6))
    s_inv = np.empty((n, 3, 3))
    s = np.empty((3, 3))
    work = np.empty((3, 3))
    done = np.zeros(n, np.bool_)
    v = np.empty(3)
    cost = np.empty(ti.size)
    for k in range(ti.size):
        t = ti[k]
        if not done[t]:
            _measure(kind, x[t], site_ecef_m, rot, z_hat[t], h[t])
            innovation_cov_into(p[t], h[t], r, s)
            invert_into(s, s_inv[t], work)
            done[t] = True
        _residual(kind, z[di[k]], z_hat[t], v)
        cost[k] = mahalanobis_one(v, s_inv[t])
    out = assign(n, m, ti, di, cost, missed)
    x = x.copy()
    p = p.copy()
    pht = np.empty((6, 3))
    gain = np.empty((6, 3))
    for t in range(n):
        if out[t] >= 0:  # S^-1 is the one computed from the same P and H above
            _residual(kind, z[out[t]], z_hat[t], v)
            gain_update(x[t], p[t], v, h[t], s_inv[t], pht, gain)
    return out, x, p


@njit(cache=True)
def absorb(
    x: F64,
    p: F64,
    track_id: I64,
    confirmed: BOOL,
    updates: I64,
    misses: I64,
    scans: I64,
    t_hit_s: F64,
    label: I64,
    next_id: int,
    t_s: float,
    z: F64,
    z_pos: F64,
    z_cov: F64,
    det_label: I64,
    view: BOOL,
    z_var_m2: float,
    model: tuple[int, F64, F64, F64],
    figures: tuple[float, float, float, float],
    counts: tuple[int, int, int],
) -> tuple[F64, F64, F64, I64, BOOL, I64, I64, I64, F64, I64, int, I64, I64]:
    """Steps 2-5 of :func:`step` on tracks already predicted to the scan time.

    Parameters
    ----------
    x, p, ... label, next_id : the track table's columns (see :class:`Tracks`), with the
        states and covariances predicted to ``t_s`` (those two are updated in place).
    z, z_pos, z_cov : (m, 3) the detections as measured, (m, 3) their positions, m, and
        (m, 3, 3) the positions' covariances.
    det_label : (m,) truth labels of the detections; view : (n,) tracks in the sensor's view.
    z_var_m2 : bound on the detections' position variance (the per-track gate's size).
    model : the measurement model (:meth:`MeasurementModel.kernel_model`).
    figures : gate radius m (nan: sized per track), Mahalanobis gate, deletion variance
        m^2, velocity deviation of a new track m/s.
    counts : ``max_misses``, ``confirm_m`` and ``confirm_n`` of the configuration (-1: none).

    Returns
    -------
    The new table's ten columns and next identity, the identities confirmed in this scan
    and the identities of confirmed tracks deleted.
    """
    kind, site, rot, sigma = model
    gate_m, missed, delete_var, init_sigma = figures
    max_misses, confirm_m, confirm_n = counts
    n, m = x.shape[0], z.shape[0]
    radius = np.empty(n)
    for i in range(n):
        if math.isnan(gate_m):
            radius[i] = missed * math.sqrt(p[i, 0, 0] + p[i, 1, 1] + p[i, 2, 2] + z_var_m2)
        else:
            radius[i] = gate_m
    updates_new = updates.copy()
    misses = misses.copy()
    label = label.copy()
    used = np.zeros(m, np.bool_)
    # confirmed tracks take their detections first, tentative ones get the rest
    for first in (True, False):
        rows = np.flatnonzero(confirmed == first)
        free = np.flatnonzero(~used)
        a, xr, pr = associate(
            x[rows], p[rows], z[free], z_pos[free], radius[rows], kind, site, rot, sigma, missed
        )
        for q in range(rows.size):
            i = rows[q]
            x[i] = xr[q]
            p[i] = pr[q]
            if a[q] >= 0:
                d = free[a[q]]
                used[d] = True
                updates_new[i] += 1
                misses[i] = 0
                label[i] = det_label[d]
            else:
                misses[i] += view[i]
    scans = scans.copy()
    t_hit_s = t_hit_s.copy()
    keep = np.ones(n, np.bool_)
    promoted = np.zeros(n, np.bool_)
    lost = np.zeros(n, np.bool_)
    for i in range(n):
        if updates_new[i] > updates[i]:
            scans[i] += 1
            t_hit_s[i] = t_s
        elif view[i]:
            scans[i] += 1
        pos_var = p[i, 0, 0] + p[i, 1, 1] + p[i, 2, 2]
        if confirmed[i]:
            lost[i] = pos_var > delete_var or (max_misses >= 0 and misses[i] >= max_misses)
            keep[i] = not lost[i]
        elif updates_new[i] >= confirm_m:
            promoted[i] = True
        else:
            keep[i] = not (pos_var > delete_var or (confirm_n >= 0 and scans[i] >= confirm_n))
    # the kept tracks, then a new tentative track on every detection nobody took
    rows = np.flatnonzero(keep)
    births = np.flatnonzero(~used)
    k, b = rows.size, births.size
    x_out = np.zeros((k + b, 6))
    p_out = np.zeros((k + b, 6, 6))
    ids = np.empty(k + b, np.int64)
    conf_out = np.empty(k + b, np.bool_)
    upd_out = np.ones(k + b, np.int64)
    miss_out = np.zeros(k + b, np.int64)
    scans_out = np.zeros(k + b, np.int64)
    t_hit_out = np.full(k + b, t_s)
    label_out = np.empty(k + b, np.int64)
    for q in range(k):
        i = rows[q]
        x_out[q] = x[i]
        p_out[q] = p[i]
        ids[q] = track_id[i]
        conf_out[q] = confirmed[i] or promoted[i]
        upd_out[q] = updates_new[i]
        miss_out[q] = misses[i]
        scans_out[q] = scans[i]
        t_hit_out[q] = t_hit_s[i]
        label_out[q] = label[i]
    for q in range(b):
        d = births[q]
        x_out[k + q, :3] = z_pos[d]
        p_out[k + q, :3, :3] = z_cov[d]
        for c in range(3, 6):
            p_out[k + q, c, c] = init_sigma**2
        ids[k + q] = next_id + q
        conf_out[k + q] = confirm_m <= 1  # with confirm_m = 1 a single detection confirms
        label_out[k + q] = det_label[d]
    new_ids = next_id + np.arange(b if confirm_m <= 1 else 0)
    confirmed_ids = np.concatenate((track_id[promoted], new_ids))
    return (
        x_out,
        p_out,
        np.full(k + b, t_s),
        ids,
        conf_out,
        upd_out,
        miss_out,
        scans_out,
        t_hit_out,
        label_out,
        next_id + b,
        confirmed_ids,
        track_id[lost],
    )


def step(
    tr: Tracks,
    t_s: float,
    z: F64,
    model: MeasurementModel,
    cfg: TrackerConfig,
    det_label: I64 | None = None,
    in_view: BOOL | RadarBank | None = None,
    motion: MotionModel | None = None,
) -> tuple[Tracks, StepReport]:
    """Absorb one scan's detections ``z`` (m, k) taken at ``t_s``.

    ``det_label`` (m,) are truth labels carried along for scoring; ``in_view`` (n,)
    marks the tracks the sensor could have seen (default all), or is the sensor's
    coverage (a :class:`~iamd.sensors.radar.RadarBank`; one with no radar sees nothing),
    which decides from the tracks' predicted positions: only those in view count a miss.
    ``motion`` gives labelled tracks their class's motion model (see :func:`motion_of`).
    One compiled call (:func:`step_kernel`).

    Raises
    ------
    ValueError
        If a detection is not finite, the scan is older than a track, or ``in_view``
        is a mask of another length than the table.
    """
    z = np.ascontiguousarray(z, dtype=np.float64)
    n, m = len(tr), z.shape[0]
    if m and not np.isfinite(z).all():
        bad = int(np.flatnonzero(~np.isfinite(z).all(axis=1))[0])
        raise ValueError(f"detection {bad} of the scan at t={t_s} s is not finite: {z[bad]}")
    if n and t_s < tr.t_s.max() - 1e-9:
        raise ValueError(f"scan at t={t_s} s is older than the tracks (t={tr.t_s.max()} s)")
    labels = np.full(m, -1, np.int64) if det_label is None else det_label
    if isinstance(in_view, RadarBank):
        mask, bank, use_bank = _ALL_IN_VIEW, bank_figures(in_view), True
    else:
        mask, bank, use_bank = np.ones(n, np.bool_) if in_view is None else in_view, _NO_BANK, False
        if np.shape(mask) != (n,):
            raise ValueError(f"in_view has shape {np.shape(mask)}, the table {n} tracks")
    figures, counts = absorb_figures(cfg)
    out = step_kernel(
        (tr.x, tr.p, tr.t_s, tr.track_id, tr.confirmed, tr.updates, tr.misses, tr.scans,
         tr.t_hit_s, tr.label),
        tr.next_id, float(t_s), z, np.ascontiguousarray(labels, dtype=np.int64),
        model.max_position_var(z) if m else 0.0, model.kernel_model(),
        motion_figures(cfg, motion), figures, counts,
        np.ascontiguousarray(mask, dtype=np.bool_), bank, use_bank,
    )  # fmt: skip
    return Tracks(*out[:10], next_id=int(out[10])), StepReport(out[11], out[12])


_ALL_IN_VIEW = np.ones(0, np.bool_)
"""The mask :func:`step_kernel` takes when the sensor's coverage decides."""
_NO_BANK = bank_figures(NO_RADARS)
"""The coverage :func:`step_kernel` takes when a mask decides."""


AbsorbFigures = tuple[tuple[float, float, float, float], tuple[int, int, int]]
"""The configuration's figures and counts as :func:`absorb` takes them."""


def absorb_figures(cfg: TrackerConfig) -> AbsorbFigures:
    """The gate radius m (nan: sized per track), Mahalanobis gate, deletion variance m^2
    and new track's velocity deviation m/s, then ``max_misses``, ``confirm_m`` and
    ``confirm_n`` (-1: none) of ``cfg``, as :func:`absorb` takes them."""
    return (
        (
            np.nan if cfg.gate_radius_m is None else float(cfg.gate_radius_m),
            float(cfg.missed_distance),
            float(cfg.delete_pos_var_m2),
            float(cfg.init_speed_sigma_m_s),
        ),
        (
            -1 if cfg.max_misses is None else int(cfg.max_misses),
            int(cfg.confirm_m),
            -1 if cfg.confirm_n is None else int(cfg.confirm_n),
        ),
    )


@njit(cache=True)
def step_kernel(
    table: tuple[F64, F64, F64, I64, BOOL, I64, I64, I64, F64, I64],
    next_id: int,
    t_s: float,
    z: F64,
    det_label: I64,
    z_var_m2: float,
    model: tuple[int, F64, F64, F64],
    motion: MotionFigures,
    figures: tuple[float, float, float, float],
    counts: tuple[int, int, int],
    view_mask: BOOL,
    bank: BankFigures,
    use_bank: bool,
) -> tuple[F64, F64, F64, I64, BOOL, I64, I64, I64, F64, I64, int, I64, I64]:
    """:func:`step` in one call: :func:`prepare`, the tracks in the sensor's view, then
    :func:`absorb`.

    Parameters
    ----------
    table : the track table's columns x, p, t_s, track_id, confirmed, updates, misses,
        scans, t_hit_s, label (:class:`Tracks`); next_id its next identity.
    t_s, z, det_label, z_var_m2, model, figures, counts : as :func:`absorb` takes them.
    motion : the motion models (:func:`motion_figures`).
    view_mask : (n,) the tracks in the sensor's view, unless ``use_bank``: then those whose
        predicted position a radar of ``bank`` (:func:`iamd.sensors.radar.bank_figures`)
        covers.

    Returns
    -------
    As :func:`absorb`.
    """
    x, p, t_track_s, track_id, confirmed, updates, misses, scans, t_hit_s, label = table
    xp, pp, z_pos, z_cov = prepare(x, p, t_track_s, label, t_s, z, model, motion)
    n = xp.shape[0]
    if use_bank:
        pos = np.empty((n, 3))
        for i in range(n):
            pos[i, 0], pos[i, 1], pos[i, 2] = xp[i, 0], xp[i, 1], xp[i, 2]
        view = covered_any(bank, pos)
    else:
        view = view_mask
    return absorb(xp, pp, track_id, confirmed, updates, misses, scans, t_hit_s, label,
                  next_id, t_s, z, z_pos, z_cov, det_label, view, z_var_m2, model, figures,
                  counts)  # fmt: skip


@njit(cache=True)
def prepare(
    x: F64,
    p: F64,
    t_track_s: F64,
    label: I64,
    t_s: float,
    z: F64,
    model: tuple[int, F64, F64, F64],
    motion: MotionFigures,
) -> tuple[F64, F64, F64, F64]:
    """Step 1 of :func:`step` and what association needs of the detections, in one call.

    Parameters
    ----------
    x, p, t_track_s, label : the track table's states (n, 6), covariances (n, 6, 6), their
        times (n,) s and labels (n,).
    t_s : the scan's time, s.
    z : (m, 3) the detections as measured.
    model : the measurement model (:meth:`MeasurementModel.kernel_model`).
    motion : the motion models (:func:`motion_figures`).

    Returns
    -------
    The states (n, 6) and covariances (n, 6, 6) predicted to ``t_s``
    (:func:`predict_tracks`; ``x`` and ``p`` themselves when there is no track), and the
    detections' positions (m, 3) m and covariances (m, 3, 3) m^2 (as the model's
    ``to_position`` and ``position_cov``).
    """
    kind, site, rot, sigma = model
    m = z.shape[0]
    z_pos = np.empty((m, 3))
    z_cov = np.zeros((m, 3, 3))
    if m:
        if kind == RADAR:
            rae_to_ecef_kernel(z, site, rot, z_pos)
            rae_covariance_kernel(z, sigma, rot, z_cov)
        else:
            z_pos[:] = z
            for c in range(3):
                z_cov[:, c, c] = sigma[c] * sigma[c]
    n = x.shape[0]
    if n == 0:
        return x, p, z_pos, z_cov
    q, fast, beta = np.empty(n), np.empty(n, np.bool_), np.empty(n)
    motion_kernel(x, label, motion[0], motion[1], motion[2], motion[3], motion[4], motion[5],
                  motion[6], q, fast, beta)  # fmt: skip
    dt_s = np.empty(n)
    for i in range(n):
        dt_s[i] = t_s - t_track_s[i]
    x_new, p_new = predict_kernel(x, p, dt_s, q, fast, beta)
    return x_new, p_new, z_pos, z_cov

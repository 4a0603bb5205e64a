"""The NumPy and SciPy tracking code that the compiled kernels replaced, kept as their
oracles: k-d tree gating (``cKDTree``), clustered GNN (``connected_components`` and
``linear_sum_assignment``), the batched EKF prediction, the range/azimuth/elevation model
and update, the tracker's association of one scan and its whole step, and the fusion of
a partner's picture."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from iamd.physics.atmosphere import density_kg_m3
from iamd.physics.ballistic import acceleration, altitude_m
from iamd.tracking.filters import MAX_DRAG_STEP, MAX_STEPS, SINGLE_STEP_S
from iamd.tracking.fusion import Fused
from iamd.tracking.ideal import MotionModel
from iamd.tracking.tracker import (
    RADAR,
    MeasurementModel,
    RadarSensor,
    StepReport,
    TrackerConfig,
    Tracks,
)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

DENSE_PAIRS = 4096
SMALL_PAIRS = 200
EYE3 = np.eye(3)


def motion_of_numpy(
    x: F64, label: I64, cfg: TrackerConfig, motion: MotionModel | None
) -> tuple[F64, BOOL, F64]:
    """Process noise (n,), ballistic flag (n,) and ballistic coefficient (n,) per track.

    Tracks with a truth label take that threat class's model when ``motion`` is given
    (perfect classification); the others the configuration's: constant velocity, or
    gravity above ``ballistic_speed_m_s``.
    """
    fast = np.linalg.norm(x[:, 3:], axis=1) > cfg.ballistic_speed_m_s
    q_fast = cfg.q_m2_s3 if cfg.q_fast_m2_s3 is None else cfg.q_fast_m2_s3
    q = np.where(fast, q_fast, cfg.q_m2_s3)
    beta = np.full(x.shape[0], np.inf)
    if motion is not None:
        known = label >= 0
        lab = label[known]
        q[known] = motion.q_m2_s3[lab]
        fast[known] = motion.ballistic[lab]
        beta[known] = motion.beta_kg_m2[lab]
    return q, fast, beta


def rae_covariance_ecef_numpy(rae: F64, sigma: F64, rot: F64) -> F64:
    """Covariance (n, 3, 3) of the ECEF positions of range/az/el measurements (linearised)."""
    r, az, el = rae[:, 0], rae[:, 1], rae[:, 2]
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    j = np.zeros((rae.shape[0], 3, 3))
    j[:, 0] = np.stack([ce * sa, r * ce * ca, -r * se * sa], axis=1)
    j[:, 1] = np.stack([ce * ca, -r * ce * sa, -r * se * ca], axis=1)
    j[:, 2] = np.stack([se, np.zeros_like(r), r * ce], axis=1)
    cov_enu = j @ np.diag(sigma**2) @ np.transpose(j, (0, 2, 1))
    return np.asarray(rot.T @ cov_enu @ rot)


def to_position_numpy(model: MeasurementModel, z: F64) -> F64:
    """ECEF positions (k, 3) of a sensor's measurements ``z`` (k, 3)."""
    if not isinstance(model, RadarSensor):
        return z
    r, az, el = z[:, 0], z[:, 1], z[:, 2]
    enu = np.stack([r * np.cos(el) * np.sin(az), r * np.cos(el) * np.cos(az), r * np.sin(el)], 1)
    return np.asarray(enu @ model.rot + model.site_ecef_m)


def position_cov_numpy(model: MeasurementModel, z: F64) -> F64:
    """Covariances (k, 3, 3) of those positions."""
    if not isinstance(model, RadarSensor):
        return model.position_cov(z)
    return rae_covariance_ecef_numpy(z, model.sigma, model.rot)


def gate_pairs_numpy(pred_m: F64, det_m: F64, radius_m: float | F64) -> tuple[I64, I64]:
    """Every (track, detection) pair closer than ``radius_m``, by k-d tree.

    Parameters
    ----------
    pred_m : (n, d) predicted track positions (or predicted measurements), m.
    det_m : (m, d) detection positions in the same space, m.
    radius_m : gate radius, m; a scalar, or (n,) one per track.

    Returns
    -------
    ti, di : (k,) track and detection indices of the pairs, sorted by track then detection.
    """
    n, m = pred_m.shape[0], det_m.shape[0]
    if n == 0 or m == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    r = np.broadcast_to(np.asarray(radius_m, dtype=float), (n,))
    if n * m <= DENSE_PAIRS:  # small problems: every distance at once beats building a tree
        d2 = np.sum((pred_m[:, None, :] - det_m[None, :, :]) ** 2, axis=2)
        ti, di = np.nonzero(d2 <= (r * r)[:, None])
        return ti.astype(np.int64), di.astype(np.int64)
    tree = cKDTree(det_m)
    if np.all(r == r[0]):
        other = cKDTree(pred_m)
        sdm = other.sparse_distance_matrix(tree, float(r[0]), output_type="ndarray")
        ti = sdm["i"].astype(np.int64)
        di = sdm["j"].astype(np.int64)
    else:
        hits = tree.query_ball_point(pred_m, r, return_sorted=False)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=n)
        ti = np.repeat(np.arange(n, dtype=np.int64), counts)
        di = (
            np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if h])
            if counts.sum()
            else np.empty(0, np.int64)
        )
    order = np.lexsort((di, ti))
    return ti[order], di[order]


def mahalanobis(innovation: F64, s_inv: F64) -> F64:
    """Mahalanobis distance sqrt(v' S^-1 v) of innovations ``v`` (k, m) with ``S^-1`` (k, m, m)."""
    d2 = np.einsum("ki,kij,kj->k", innovation, s_inv, innovation)
    return np.asarray(np.sqrt(np.maximum(d2, 0.0)))


def gnn_numpy(n_tracks: int, n_dets: int, ti: I64, di: I64, cost: F64, missed: float) -> I64:
    """Global nearest neighbour: the assignment minimising total cost.

    Each track takes at most one detection and each detection at most one track;
    a track left without one costs ``missed``. Only pairs with ``cost < missed``
    can be chosen.

    Parameters
    ----------
    ti, di, cost : (k,) candidate pairs and their costs (e.g. Mahalanobis distances).

    Returns
    -------
    (n_tracks,) the detection assigned to each track, -1 for none.
    """
    out = np.full(n_tracks, -1, dtype=np.int64)
    ok = cost < missed
    ti, di, cost = ti[ok], di[ok], cost[ok]
    if ti.size == 0:
        return out
    # a pair whose track and detection have no other candidate is assigned directly
    single = (np.bincount(ti, minlength=n_tracks)[ti] == 1) & (
        np.bincount(di, minlength=n_dets)[di] == 1
    )
    out[ti[single]] = di[single]
    rest = np.flatnonzero(~single)
    if rest.size == 0:
        return out
    if rest.size <= SMALL_PAIRS:  # one small problem: solve it whole (block-diagonal)
        _solve(out, ti[rest], di[rest], cost[rest], missed)
        return out
    # connected components of the conflicting part of the gate graph
    # (tracks 0..n-1, detections n..n+m-1)
    n_nodes = n_tracks + n_dets
    graph = coo_matrix(
        (np.ones(rest.size), (ti[rest], n_tracks + di[rest])), shape=(n_nodes, n_nodes)
    )
    _, label = connected_components(graph, directed=False)
    comp = label[ti]
    rest = rest[np.argsort(comp[rest], kind="stable")]
    bounds = np.flatnonzero(np.diff(comp[rest])) + 1
    for grp in np.split(rest, bounds):  # loop over conflicting clusters only
        _solve(out, ti[grp], di[grp], cost[grp], missed)
    return out


def _solve(out: I64, ti: I64, di: I64, cost: F64, missed: float) -> None:
    """Exact assignment of one set of candidate pairs, written into ``out``."""
    tracks, t_loc = np.unique(ti, return_inverse=True)
    dets, d_loc = np.unique(di, return_inverse=True)
    a, b = tracks.size, dets.size
    mat = np.full((a, b + a), np.inf)
    mat[t_loc, d_loc] = cost
    mat[np.arange(a), b + np.arange(a)] = missed
    rows, cols = linear_sum_assignment(mat)
    hit = cols < b
    out[tracks[rows[hit]]] = dets[cols[hit]]


def predict_numpy(
    x: F64, p: F64, dt_s: F64, q_m2_s3: F64, ballistic: NDArray[np.bool_], beta_kg_m2: F64
) -> tuple[F64, F64]:
    """Predict every state ``dt_s`` (n,) ahead.

    Parameters
    ----------
    q_m2_s3 : (n,) white-acceleration spectral density (process noise), m^2/s^3.
    ballistic : (n,) use the ballistic model (True) or constant velocity (False).
    beta_kg_m2 : (n,) ballistic coefficient for the drag term.
    """
    dt = dt_s[:, None]
    x_new = x.copy()
    x_new[:, :3] = x[:, :3] + x[:, 3:] * dt
    if ballistic.any():
        b = ballistic
        # midpoint integration: two half steps beyond a few seconds, and small enough
        # steps that the drag term (stiff in dense air) stays stable
        xb = x[b]
        dtb = np.abs(dt_s[b])
        rho = density_kg_m3(altitude_m(xb[:, :3]))
        drag_rate = rho * np.linalg.norm(xb[:, 3:], axis=1) / (2.0 * beta_kg_m2[b])
        steps = 1 if float(dtb.max()) <= SINGLE_STEP_S else 2
        steps = max(steps, int(np.ceil(float(np.max(drag_rate * dtb)) / MAX_DRAG_STEP)))
        steps = min(steps, MAX_STEPS)
        h = dt[b] / steps
        for _ in range(steps):
            a1 = acceleration(xb[:, :3], xb[:, 3:], beta_kg_m2[b])
            mid_p = xb[:, :3] + 0.5 * h * xb[:, 3:]
            mid_v = xb[:, 3:] + 0.5 * h * a1
            a2 = acceleration(mid_p, mid_v, beta_kg_m2[b])
            xb = np.concatenate([xb[:, :3] + h * mid_v, xb[:, 3:] + h * a2], axis=1)
        x_new[b] = xb
    # P' = F P F' + Q with F = [[I, dt I], [0, I]], written out by blocks
    d = dt_s[:, None, None]
    q = q_m2_s3[:, None, None]
    pp, pv, vp, vv = p[:, :3, :3], p[:, :3, 3:], p[:, 3:, :3], p[:, 3:, 3:]
    p_new = np.empty_like(p)
    p_new[:, :3, :3] = pp + d * (pv + vp) + d * d * vv + (q * d**3 / 3.0) * EYE3
    cross = pv + d * vv + (q * d**2 / 2.0) * EYE3
    p_new[:, :3, 3:] = cross
    p_new[:, 3:, :3] = np.transpose(cross, (0, 2, 1))
    p_new[:, 3:, 3:] = vv + (q * d) * EYE3
    return x_new, p_new


def rae_model_numpy(x: F64, site_ecef_m: F64, rot: F64) -> tuple[F64, F64]:
    """Range/azimuth/elevation of states seen from one site, and its Jacobian.

    Returns
    -------
    z : (n, 3) range m, azimuth rad (from north), elevation rad.
    h : (n, 3, 6) Jacobian with respect to the state.
    """
    enu = (x[:, :3] - site_ecef_m) @ rot.T
    e, nn, u = enu[:, 0], enu[:, 1], enu[:, 2]
    hor2 = np.maximum(e * e + nn * nn, 1e-6)
    hor = np.sqrt(hor2)
    r2 = hor2 + u * u
    r = np.sqrt(r2)
    z = np.stack([r, np.mod(np.arctan2(e, nn), 2 * np.pi), np.arctan2(u, hor)], axis=1)
    j = np.zeros((x.shape[0], 3, 3))
    j[:, 0] = enu / r[:, None]
    j[:, 1, 0] = nn / hor2
    j[:, 1, 1] = -e / hor2
    j[:, 2, 0] = -e * u / (r2 * hor)
    j[:, 2, 1] = -nn * u / (r2 * hor)
    j[:, 2, 2] = hor / r2
    h = np.zeros((x.shape[0], 3, 6))
    h[:, :, :3] = j @ rot
    return z, h


def update_numpy(x: F64, p: F64, innovation: F64, h: F64, r: F64) -> tuple[F64, F64, F64]:
    """Kalman update of every state with its own measurement.

    The covariance update is :math:`P - K S K^T`, symmetrised; with the optimal gain it
    equals the Joseph form and costs half as much.

    Parameters
    ----------
    innovation : (n, m) measurement minus prediction (angles already wrapped).
    h : (n, m, 6) measurement Jacobian.
    r : (n, m, m) measurement covariance.

    Returns
    -------
    x, P updated, and the normalised innovation squared (n,).
    """
    ht = np.transpose(h, (0, 2, 1))
    s = h @ p @ ht + r
    s_inv = np.linalg.inv(s)
    pht = p @ ht
    k = pht @ s_inv
    x_new = x + np.einsum("nij,nj->ni", k, innovation)
    p_new = p - k @ np.transpose(pht, (0, 2, 1))
    nis = np.einsum("ni,nij,nj->n", innovation, s_inv, innovation)
    return x_new, 0.5 * (p_new + np.transpose(p_new, (0, 2, 1))), nis


def measure_numpy(model: MeasurementModel, x: F64) -> tuple[F64, F64]:
    """Predicted measurements (n, 3) and Jacobians (n, 3, 6) of a position sensor or radar."""
    kind, site, rot, _ = model.kernel_model()
    if kind == RADAR:
        return rae_model_numpy(x, site, rot)
    h = np.zeros((x.shape[0], 3, 6))
    h[:, :, :3] = np.eye(3)
    return x[:, :3], h


def residual_numpy(model: MeasurementModel, z: F64, z_hat: F64) -> F64:
    """Measurement minus prediction (k, 3), a radar's angles wrapped to [-pi, pi)."""
    v = z - z_hat
    if model.kernel_model()[0] == RADAR:
        v[:, 1:] = (v[:, 1:] + np.pi) % (2 * np.pi) - np.pi
    return v


def noise_numpy(model: MeasurementModel, k: int) -> F64:
    """Measurement covariance (k, 3, 3)."""
    return np.broadcast_to(np.diag(model.kernel_model()[3] ** 2), (k, 3, 3))


def associate_numpy(
    x: F64,
    p: F64,
    z: F64,
    z_pos: F64,
    z_var_m2: float,
    model: MeasurementModel,
    cfg: TrackerConfig,
) -> tuple[I64, F64, F64]:
    """GNN of tracks (x, p) with detections; returns (assignment, updated x, updated p)."""
    n = x.shape[0]
    if n == 0 or z.shape[0] == 0:
        return np.full(n, -1, np.int64), x, p
    radius: float | F64
    if cfg.gate_radius_m is None:
        radius = cfg.missed_distance * np.sqrt(np.trace(p[:, :3, :3], axis1=1, axis2=2) + z_var_m2)
    else:
        radius = cfg.gate_radius_m
    ti, di = gate_pairs_numpy(x[:, :3], z_pos, radius)
    a = np.full(n, -1, np.int64)
    if ti.size == 0:
        return a, x, p
    z_hat, h = measure_numpy(model, x)
    ht = np.transpose(h, (0, 2, 1))
    s = h @ p @ ht + noise_numpy(model, n)
    users = np.unique(ti)
    s_inv = np.zeros_like(s)
    s_inv[users] = np.linalg.inv(s[users])
    d = mahalanobis(residual_numpy(model, z[di], z_hat[ti]), s_inv[ti])
    a = gnn_numpy(n, z.shape[0], ti, di, d, cfg.missed_distance)
    hit = np.flatnonzero(a >= 0)
    if hit.size:
        x = x.copy()
        p = p.copy()
        x[hit], p[hit], _ = update_numpy(
            x[hit],
            p[hit],
            residual_numpy(model, z[a[hit]], z_hat[hit]),
            h[hit],
            noise_numpy(model, hit.size),
        )
    return a, x, p


def covariance_intersection_numpy(xa: F64, pa: F64, xb: F64, pb: F64) -> tuple[F64, F64, F64]:
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


def fuse_numpy(own: Fused, other: Fused, gate: float) -> Fused:
    """Fuse a partner's picture ``other`` into ``own`` (both at the same time)."""
    n, m = own.x.shape[0], other.x.shape[0]
    if m == 0:
        return own
    a = np.full(n, -1, np.int64)
    if n:
        pos_var = np.trace(own.p[:, :3, :3], axis1=1, axis2=2)
        other_var = float(np.trace(other.p[:, :3, :3], axis1=1, axis2=2).max())
        ti, di = gate_pairs_numpy(own.x[:, :3], other.x[:, :3], gate * np.sqrt(pos_var + other_var))
        if ti.size:
            s = own.p[ti, :3, :3] + other.p[di, :3, :3]
            d = mahalanobis(own.x[ti, :3] - other.x[di, :3], np.asarray(np.linalg.inv(s), float))
            a = gnn_numpy(n, m, ti, di, d, gate)
    hit = np.flatnonzero(a >= 0)
    x, p = own.x.copy(), own.p.copy()
    t_hit, sources, updates = own.t_hit_s.copy(), own.sources.copy(), own.updates.copy()
    if hit.size:
        j = a[hit]
        x[hit], p[hit], _ = covariance_intersection_numpy(
            own.x[hit], own.p[hit], other.x[j], other.p[j]
        )
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


def predict_tracks_numpy(
    tr: Tracks, t_s: float, cfg: TrackerConfig, motion: MotionModel | None = None
) -> tuple[F64, F64]:
    """As :func:`iamd.tracking.tracker.predict_tracks`, on :func:`predict_numpy`."""
    if len(tr) == 0:
        return tr.x, tr.p
    q, ballistic, beta = motion_of_numpy(tr.x, tr.label, cfg, motion)
    return predict_numpy(tr.x, tr.p, t_s - tr.t_s, q, ballistic, beta)


def step_numpy(
    tr: Tracks,
    t_s: float,
    z: F64,
    model: MeasurementModel,
    cfg: TrackerConfig,
    det_label: I64 | None = None,
    in_view: BOOL | Callable[[F64], BOOL] | None = None,
    motion: MotionModel | None = None,
) -> tuple[Tracks, StepReport]:
    """Absorb one scan's detections ``z`` (m, k) taken at ``t_s``.

    ``det_label`` (m,) are truth labels carried along for scoring; ``in_view`` (n,)
    marks the tracks the sensor could have seen (default all), or is a function of
    their predicted positions (n, 3) returning that mask: only those count a miss.
    ``motion`` gives labelled tracks their class's motion model (see :func:`motion_of`).

    Raises
    ------
    ValueError
        If a detection is not finite or the scan is older than a track.
    """
    z = np.asarray(z, dtype=float)
    m = z.shape[0]
    if m and not np.isfinite(z).all():
        bad = int(np.flatnonzero(~np.isfinite(z).all(axis=1))[0])
        raise ValueError(f"detection {bad} of the scan at t={t_s} s is not finite: {z[bad]}")
    if len(tr) and t_s < tr.t_s.max() - 1e-9:
        raise ValueError(f"scan at t={t_s} s is older than the tracks (t={tr.t_s.max()} s)")
    labels = np.full(m, -1, np.int64) if det_label is None else np.asarray(det_label, np.int64)
    z_pos = to_position_numpy(model, z) if m else np.zeros((0, 3))
    z_var = model.max_position_var(z) if m else 0.0
    x, p = predict_tracks_numpy(tr, t_s, cfg, motion)
    if in_view is None:
        view = np.ones(len(tr), bool)
    elif callable(in_view):
        view = np.asarray(in_view(x[:, :3]), bool) if len(tr) else np.zeros(0, bool)
    else:
        view = np.asarray(in_view, bool)
    conf = np.flatnonzero(tr.confirmed)
    tent = np.flatnonzero(~tr.confirmed)
    updates = tr.updates.copy()
    misses = tr.misses.copy()
    label = tr.label.copy()

    # confirmed tracks take their detections first
    a1, x[conf], p[conf] = associate_numpy(x[conf], p[conf], z, z_pos, z_var, model, cfg)
    used = np.zeros(m, bool)
    hit1 = a1 >= 0
    used[a1[hit1]] = True
    updates[conf[hit1]] += 1
    misses[conf] = np.where(hit1, 0, misses[conf] + view[conf])
    label[conf[hit1]] = labels[a1[hit1]]

    # tentative tracks get the rest
    free = np.flatnonzero(~used)
    a2, x[tent], p[tent] = associate_numpy(
        x[tent], p[tent], z[free], z_pos[free], z_var, model, cfg
    )
    hit2 = a2 >= 0
    used[free[a2[hit2]]] = True
    updates[tent[hit2]] += 1
    misses[tent] = np.where(hit2, 0, misses[tent] + view[tent])
    label[tent[hit2]] = labels[free[a2[hit2]]]
    scans = tr.scans + (view | (updates > tr.updates))
    t_hit = np.where(updates > tr.updates, t_s, tr.t_hit_s)

    pos_var = np.trace(p[:, :3, :3], axis1=1, axis2=2)
    keep = np.ones(len(tr), bool)
    lost = pos_var[conf] > cfg.delete_pos_var_m2
    if cfg.max_misses is not None:
        lost |= misses[conf] >= cfg.max_misses
    keep[conf[lost]] = False
    promote = tent[updates[tent] >= cfg.confirm_m]
    confirmed = tr.confirmed.copy()
    confirmed[promote] = True
    still = tent[updates[tent] < cfg.confirm_m]
    drop = pos_var[still] > cfg.delete_pos_var_m2
    if cfg.confirm_n is not None:
        drop |= scans[still] >= cfg.confirm_n
    keep[still[drop]] = False

    # new tentative tracks on the detections nobody took
    new = np.flatnonzero(~used)
    k = new.size
    x0 = np.zeros((k, 6))
    x0[:, :3] = z_pos[new]
    p0 = np.zeros((k, 6, 6))
    if k:
        p0[:, :3, :3] = position_cov_numpy(model, z[new])
    p0[:, 3:, 3:] = np.eye(3) * cfg.init_speed_sigma_m_s**2
    ids = tr.next_id + np.arange(k, dtype=np.int64)
    out = Tracks(
        x=np.concatenate([x[keep], x0]),
        p=np.concatenate([p[keep], p0]),
        t_s=np.full(int(keep.sum()) + k, float(t_s)),
        track_id=np.concatenate([tr.track_id[keep], ids]),
        # with confirm_m = 1 a single detection confirms a track
        confirmed=np.concatenate([confirmed[keep], np.full(k, cfg.confirm_m <= 1)]),
        updates=np.concatenate([updates[keep], np.ones(k, np.int64)]),
        misses=np.concatenate([misses[keep], np.zeros(k, np.int64)]),
        scans=np.concatenate([scans[keep], np.zeros(k, np.int64)]),
        t_hit_s=np.concatenate([t_hit[keep], np.full(k, float(t_s))]),
        label=np.concatenate([label[keep], labels[new]]),
        next_id=tr.next_id + k,
    )
    report = StepReport(
        confirmed_ids=np.concatenate(
            [tr.track_id[promote], ids if cfg.confirm_m <= 1 else ids[:0]]
        ),
        deleted_ids=tr.track_id[conf[lost]],
    )
    return out, report

"""Threat assessment: predicted path, impact point with its uncertainty, hit probability,
threatened asset, value at risk.

Ballistic tracks are flown forward from their estimated state with gravity and the
class's drag (step chosen from the vacuum Kepler time to impact). The track covariance
is carried to the ground by the 12 symmetric sigma points of the unscented transform
(Julier and Uhlmann 1997, kappa = 0), each flown by the same model; the impact points
give a Gaussian on the ground, and the probability that each defended asset is hit is
its mass inside the asset (a fixed set of quasi-random normal samples, so the result is
deterministic). Drones and cruise missiles are assessed by :mod:`iamd.c2.routes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.c2.assets import AssetGeometry, asset_at
from iamd.c2.routes import COV_FLOOR_M2, PATH_FRACTIONS, PATH_STEPS, assess_routes, route_kernel
from iamd.geo import GM_EARTH_M3_S2, WGS84_A_M, WGS84_B_M
from iamd.physics.ballistic import integrate
from iamd.tracking.metrics import pairwise_sum

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

HIT_SAMPLES = 256
"""Quasi-random normal samples per ballistic impact distribution."""


def _halton(n: int, base: int) -> F64:
    """First ``n`` points of the van der Corput sequence in ``base`` (skipping 0)."""
    out = np.zeros(n)
    idx = np.arange(1, n + 1)
    f = 1.0
    while (idx > 0).any():
        f /= base
        out += f * (idx % base)
        idx //= base
    return out


# the inverse normal CDF of the standard library (Wichura's AS 241, to about 1e-16): SciPy's
# import would cost every Monte Carlo worker a tenth of a second for these 512 numbers
NORMAL_2D = np.vectorize(NormalDist().inv_cdf)(
    np.stack([_halton(HIT_SAMPLES, 2), _halton(HIT_SAMPLES, 3)], axis=1)
)
"""(HIT_SAMPLES, 2) standard normal samples (Halton points through the inverse CDF)."""


def kepler_time_to_ground_s(x: F64) -> F64:
    """Vacuum time until each state (n, 6) descends to the ground radius, s (inf if never;
    :func:`kepler_kernel`)."""
    out = np.empty(x.shape[0])
    kepler_kernel(np.ascontiguousarray(x, dtype=np.float64).reshape(-1, 6), out)
    return out


@njit(cache=True)
def _mean_anomaly(theta: float, e: float) -> float:
    """Mean anomaly (rad, in [0, 2 pi)) at true anomaly ``theta`` on an orbit of
    eccentricity ``e`` < 1."""
    ecc = 2.0 * math.atan2(
        math.sqrt(1.0 - e) * math.sin(theta / 2.0), math.sqrt(1.0 + e) * math.cos(theta / 2.0)
    )
    return (ecc - e * math.sin(ecc)) % (2.0 * math.pi)


@njit(cache=True)
def kepler_kernel(x: F64, out: F64) -> None:
    """Time (n,) until each state (n, 6) falls to the ground radius on its vacuum Kepler
    orbit, s: 0 below ground, inf when the orbit never reaches it (or is not closed).

    With the semi-latus rectum ``p = |r x v|^2 / mu``, the eccentricity vector
    ``e = v x h / mu - r / |r|`` and true anomalies ``theta`` from
    ``cos theta = (p / r - 1) / e``, the time is the mean-anomaly difference over the
    mean motion (Bate, Mueller and White, *Fundamentals of Astrodynamics*, ch. 4):

    .. math:: t = \\frac{M(\\theta_{imp}) - M(\\theta_{now})}{\\sqrt{\\mu / a^3}}
    """
    mu = GM_EARTH_M3_S2
    two_pi = 2.0 * math.pi
    for i in range(x.shape[0]):
        rx, ry, rz, vx, vy, vz = x[i, 0], x[i, 1], x[i, 2], x[i, 3], x[i, 4], x[i, 5]
        r2 = rx * rx + ry * ry + rz * rz
        r = math.sqrt(r2)
        hx, hy, hz = ry * vz - rz * vy, rz * vx - rx * vz, rx * vy - ry * vx
        p = (hx * hx + hy * hy + hz * hz) / mu
        ex = (vy * hz - vz * hy) / mu - rx / r
        ey = (vz * hx - vx * hz) / mu - ry / r
        ez = (vx * hy - vy * hx) / mu - rz / r
        e = max(math.sqrt(ex * ex + ey * ey + ez * ez), 1e-9)
        a = p / max(1.0 - e * e, 1e-12)
        s2 = rz * rz / max(r2, 1.0)
        ground = (
            WGS84_A_M
            * WGS84_B_M
            / math.sqrt(WGS84_B_M * WGS84_B_M * (1.0 - s2) + WGS84_A_M * WGS84_A_M * s2)
        )
        if r <= ground:
            out[i] = 0.0
            continue
        cos_imp = (p / ground - 1.0) / e
        if not cos_imp <= 1.0 or e >= 1.0:
            out[i] = math.inf
            continue
        cos_now = min(max((p / r - 1.0) / e, -1.0), 1.0)
        theta_now = math.acos(cos_now)
        if rx * vx + ry * vy + rz * vz < 0.0:
            theta_now = two_pi - theta_now
        theta_imp = two_pi - math.acos(max(cos_imp, -1.0))
        dm = (_mean_anomaly(theta_imp, e) - _mean_anomaly(theta_now, e)) % two_pi
        out[i] = dm / math.sqrt(mu / (a * a * a))


@dataclass(frozen=True, slots=True)
class ThreatAssessment:
    """Assessment of k tracked threats at their last update.

    Attributes
    ----------
    threat : (k,) threat indices.
    impact_m : (k, 3) predicted ECEF impact (or end-of-horizon) point.
    t_impact_s : (k,) predicted impact time (absolute), s.
    asset : (k,) threatened asset (-1: open ground), the one with most value at risk.
    p_hit : (k,) probability that the threatened asset is hit (0 for open ground).
    value_at_risk : (k,) sum over assets of hit probability, value and damage share.
    path_t_s : (k, PATH_STEPS + 1) absolute times of the predicted path.
    path_m : (k, PATH_STEPS + 1, 3) predicted ECEF positions.
    """

    threat: I64
    impact_m: F64
    t_impact_s: F64
    asset: I64
    p_hit: F64
    value_at_risk: F64
    path_t_s: F64
    path_m: F64


def predict_ballistic(x: F64, beta_kg_m2: F64) -> tuple[F64, F64, F64]:
    """Fly ballistic track states to the ground.

    Returns
    -------
    path_rel_s : (n, PATH_STEPS + 1) time from the state, s.
    path_m : (n, PATH_STEPS + 1, 3) positions.
    impact_m, t_impact_rel_s stacked as (n, 4): impact point and time to go.
    """
    n = x.shape[0]
    t_vac = kepler_time_to_ground_s(x)
    t_guess = np.where(np.isfinite(t_vac), t_vac, 3600.0)
    dt = np.maximum(1.2 * t_guess / PATH_STEPS, 0.05)
    states, t_imp, impact, _ = integrate(x[:, :3], x[:, 3:], beta_kg_m2, dt, PATH_STEPS)
    path = np.empty((n, PATH_STEPS + 1, 3))
    path[:, : states.shape[1]] = states[:, :, :3]
    path[:, states.shape[1] :] = states[:, -1:, :3]
    miss = ~np.isfinite(t_imp)
    if miss.any():  # not down yet (drag lengthened the flight): take the last point
        impact[miss] = path[miss, -1]
        t_imp[miss] = dt[miss] * PATH_STEPS
    rel = dt[:, None] * np.arange(PATH_STEPS + 1)
    rel = np.minimum(rel, t_imp[:, None])
    done = np.arange(PATH_STEPS + 1)[None, :] * dt[:, None] >= t_imp[:, None]
    path = np.where(done[..., None], impact[:, None, :], path)
    return np.asarray(rel, dtype=np.float64), path, np.concatenate([impact, t_imp[:, None]], axis=1)


def sigma_points(x: F64, cov: F64) -> F64:
    """The 2n symmetric sigma points (k, 12, 6) of states x (k, 6) with covariances (k, 6, 6).

    Points ``x +- sqrt(n) L e_i`` with ``L L^T = cov``: equal weights, mean and
    covariance reproduced exactly (unscented transform with kappa = 0).
    """
    n = x.shape[1]
    chol = np.linalg.cholesky(cov + COV_FLOOR_M2 * np.eye(n))
    step = np.sqrt(n) * np.swapaxes(chol, 1, 2)  # rows: sqrt(n) * columns of L
    return np.concatenate([x[:, None, :] + step, x[:, None, :] - step], axis=1)


def ballistic_hit_probability(
    x: F64, cov: F64, beta_kg_m2: F64, assets: AssetGeometry, margin_m: float
) -> F64:
    """Probability (k, a) that each ballistic track's impact falls in each asset.

    The sigma points of each track are flown to the ground; their impact points'
    mean and covariance in the theatre plane define a Gaussian whose mass in each
    asset is estimated with ``HIT_SAMPLES`` fixed quasi-random samples.
    """
    k, n_a = x.shape[0], assets.value.shape[0]
    pts = sigma_points(x, cov).reshape(-1, 6)
    _, _, imp = predict_ballistic(pts, np.repeat(beta_kg_m2, 2 * x.shape[1]))
    out = np.empty((k, n_a))
    impact_probability_kernel(
        np.ascontiguousarray(imp[:, :3]).reshape(k, -1, 3),
        NORMAL_2D,
        assets.origin_m,
        assets.rot,
        assets.centre_en_m,
        assets.radius_m,
        assets.extent_m,
        assets.value,
        assets.vertices_m,
        assets.vertex_offset,
        float(margin_m),
        out,
    )
    return out


@njit(cache=True)
def impact_probability_kernel(
    impact_m: F64,
    normal_2d: F64,
    origin_m: F64,
    rot: F64,
    centre_en_m: F64,
    radius_m: F64,
    extent_m: F64,
    value: F64,
    vertices_m: F64,
    vertex_offset: I64,
    margin_m: float,
    out: F64,
) -> None:
    """Probability (k, a) into ``out`` that each of k impact distributions falls in each
    asset.

    Each distribution is given by the impact points (k, m, 3) of its m sigma points
    (ECEF): their mean and covariance (plus a 1 m^2 floor) in the theatre plane of
    ``origin_m`` (3,) and axes ``rot`` (2, 3) define a Gaussian, which is sampled at
    ``mean + L n`` for the fixed standard normal points ``normal_2d`` (s, 2) (``L L^T``
    the covariance); the share of samples in each asset (:func:`iamd.c2.assets.asset_at`)
    is its probability.
    """
    k_n, m = impact_m.shape[0], impact_m.shape[1]
    n_s = normal_2d.shape[0]
    en = np.empty((m, 2))
    for k in range(k_n):
        me = mn = 0.0
        for j in range(m):
            for c in range(2):
                acc = 0.0
                for d in range(3):
                    acc += rot[c, d] * (impact_m[k, j, d] - origin_m[d])
                en[j, c] = acc
            me += en[j, 0]
            mn += en[j, 1]
        me /= m
        mn /= m
        cee = cen = cnn = 0.0
        for j in range(m):
            de, dn = en[j, 0] - me, en[j, 1] - mn
            cee += de * de
            cen += de * dn
            cnn += dn * dn
        cee = cee / m + 1.0
        cen = cen / m
        cnn = cnn / m + 1.0
        l11 = math.sqrt(cee)
        l21 = cen / l11
        l22 = math.sqrt(cnn - l21 * l21)
        for a in range(out.shape[1]):
            out[k, a] = 0.0
        for s in range(n_s):
            x = me + l11 * normal_2d[s, 0]
            y = mn + (l21 * normal_2d[s, 0] + l22 * normal_2d[s, 1])
            a = asset_at(
                x, y, centre_en_m, radius_m, extent_m, value, vertices_m, vertex_offset, margin_m
            )
            if a >= 0:
                out[k, a] += 1.0
        for a in range(out.shape[1]):
            out[k, a] /= n_s


def assess(
    threat: I64,
    x: F64,
    t_track_s: F64,
    ballistic: BOOL,
    beta_kg_m2: F64,
    damage: F64,
    assets: AssetGeometry,
    margin_m: float,
    cov: F64 | None = None,
    defended: BOOL | None = None,
) -> ThreatAssessment:
    """Assess tracked threats from their state estimates and covariances.

    Parameters
    ----------
    threat : (k,) threat indices; x : (k, 6) track states at times ``t_track_s`` (k,).
    ballistic : (k,) flight kind per track; beta_kg_m2, damage : (k,) class figures.
    cov : (k, 6, 6) track covariances (m, m/s); None assesses the state as exact.
    defended : (a,) the assets the assessing node defends (None: all); value at risk and
        the threatened asset count those only.
    """
    k = threat.shape[0]
    cov = np.zeros((k, 6, 6)) if cov is None else cov
    rel = np.zeros((k, PATH_STEPS + 1))
    path = np.zeros((k, PATH_STEPS + 1, 3))
    imp = np.zeros((k, 4))
    p_asset = np.zeros((k, assets.value.shape[0]))
    b = ballistic
    if b.any():
        rel[b], path[b], imp[b] = predict_ballistic(x[b], beta_kg_m2[b])
        p_asset[b] = ballistic_hit_probability(x[b], cov[b], beta_kg_m2[b], assets, margin_m)
    if (~b).any():
        r = ~b
        rel[r], path[r], imp[r], _, p_asset[r], _ = assess_routes(x[r], cov[r], assets, margin_m)
    value = assets.value if defended is None else np.where(defended, assets.value, 0.0)
    at_risk = p_asset * value[None, :] * damage[:, None]
    top = np.argmax(at_risk, axis=1)
    rows = np.arange(k)
    p_hit = np.where(value[top] > 0, p_asset[rows, top], 0.0)
    asset = np.where(p_hit > 0, top, -1).astype(np.int64)
    return ThreatAssessment(
        threat=threat,
        impact_m=imp[:, :3],
        t_impact_s=t_track_s + imp[:, 3],
        asset=asset,
        p_hit=np.where(asset >= 0, p_hit, 0.0),
        value_at_risk=at_risk.sum(axis=1),
        path_t_s=t_track_s[:, None] + rel,
        path_m=path,
    )


RouteCaches = tuple[F64, F64, F64, F64, F64]
"""An owner's per-threat assessment caches: path times (n, s) s, path (n, s, 3) m, impact
time (n,) s, value at risk (n,), hit probability (n,)."""


@njit(cache=True)
def assess_routes_into(
    threat: I64,
    x: F64,
    cov: F64,
    t_track_s: F64,
    damage: F64,
    value: F64,
    assets: tuple[F64, F64, F64, F64],
    margin_m: float,
    caches: RouteCaches,
) -> None:
    """:func:`assess` of route threats ``threat`` (k,) in one call, written into their rows
    of ``caches`` (:data:`RouteCaches`).

    ``x`` (n, 6), ``cov`` (n, 6, 6) and ``t_track_s`` (n,) are the picture's rows (by
    threat), ``damage`` (n,) the classes' damage, ``value`` (a,) the assets' values to the
    assessing node (0 for those it does not defend), ``assets`` their ``centre_en_m``,
    ``extent_m``, ``origin_m`` and ``rot`` (:class:`~iamd.c2.assets.AssetGeometry`). The
    arithmetic is :func:`assess`'s, in its order (the value at risk summed as
    :func:`numpy.sum` sums).
    """
    path_t_s, path_m, impact_t_s, value_at_risk, p_hit = caches
    k, n_a, s = threat.shape[0], value.shape[0], PATH_FRACTIONS.shape[0]
    xk, ck = np.empty((k, 6)), np.empty((k, 6, 6))
    for j in range(k):
        xk[j], ck[j] = x[threat[j]], cov[threat[j]]
    rel, path, imp = np.empty((k, s)), np.empty((k, s, 3)), np.empty((k, 4))
    first, p_asset, t_go = np.empty(k, np.int64), np.empty((k, n_a)), np.empty((k, n_a))
    route_kernel(xk, ck, assets[0], assets[1], assets[2], assets[3], margin_m, PATH_FRACTIONS,
                 rel, path, imp, first, p_asset, t_go)  # fmt: skip
    at_risk = np.empty(n_a)
    for j in range(k):
        i = threat[j]
        top = 0
        for a in range(n_a):
            at_risk[a] = p_asset[j, a] * value[a] * damage[i]
            if at_risk[a] > at_risk[top]:
                top = a
        hit = p_asset[j, top] if n_a and value[top] > 0 else 0.0
        p_hit[i] = hit if hit > 0 else 0.0
        value_at_risk[i] = pairwise_sum(at_risk, 0, n_a)
        impact_t_s[i] = t_track_s[i] + imp[j, 3]
        for q in range(s):
            path_t_s[i, q] = t_track_s[i] + rel[j, q]
            path_m[i, q, 0], path_m[i, q, 1], path_m[i, q, 2] = (
                path[j, q, 0],
                path[j, q, 1],
                path[j, q, 2],
            )

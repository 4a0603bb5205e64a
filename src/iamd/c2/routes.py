"""Assessment of route threats (drones, cruise missiles): path ahead and strike chances.

A route threat is extrapolated in level flight along its current ground velocity for
the time it takes to reach the first asset its ground track passes within the asset's
extent (``ROUTE_HORIZON_S`` when none). At each asset ahead, the cross-track error has
variance :math:`u_\\perp^T (P_{pos} + t^2 P_{vel}) u_\\perp` (positions and velocities
projected on the theatre plane, their correlation neglected) and the route passes within
the asset's extent ``h`` with probability

.. math:: p_a = \\Phi\\left(\\frac{h - c}{\\sigma}\\right)
          - \\Phi\\left(\\frac{-h - c}{\\sigma}\\right)

(``c`` the signed cross-track offset). A one-way threat strikes the first such asset, so
asset ``a`` is struck with probability :math:`p_a \\prod_{b \\text{ before } a} (1 - p_b)`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.c2.assets import AssetGeometry
from iamd.normal import ndtr

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

PATH_STEPS = 24
"""Segments of every predicted path (ballistic and route)."""
ROUTE_HORIZON_S = 1800.0
"""How far ahead a route that passes no asset is extrapolated, s."""
COV_FLOOR_M2 = 1.0
"""Added to covariance diagonals (1 m, 1 m/s)."""
PATH_FRACTIONS = np.linspace(0.0, 1.0, PATH_STEPS + 1)
"""(PATH_STEPS + 1,) the path's samples as fractions of the time to go."""


def assess_routes(
    x: F64, cov: F64, assets: AssetGeometry, margin_m: float
) -> tuple[F64, F64, F64, I64, F64, F64]:
    """Paths and strike chances of route threats (:func:`route_kernel`).

    Parameters
    ----------
    x : (n, 6) ECEF track states, m and m/s; cov : (n, 6, 6) their covariances.
    margin_m : added to every asset's extent, m.

    Returns
    -------
    path_rel_s : (n, PATH_STEPS + 1) times from the state, s.
    path_m : (n, PATH_STEPS + 1, 3) ECEF positions.
    impact : (n, 4) end point of the path and time to go.
    asset : (n,) the first asset the ground track passes (-1: none).
    p_first : (n, a) probability that each asset is the first struck.
    t_go_s : (n, a) time to each asset ahead, s (inf behind).
    """
    n, n_a = x.shape[0], assets.value.shape[0]
    rel = np.empty((n, PATH_STEPS + 1))
    path = np.empty((n, PATH_STEPS + 1, 3))
    impact = np.empty((n, 4))
    asset = np.empty(n, dtype=np.int64)
    p_first = np.empty((n, n_a))
    t_go = np.empty((n, n_a))
    route_kernel(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(cov, dtype=np.float64),
        assets.centre_en_m,
        assets.extent_m,
        assets.origin_m,
        assets.rot,
        float(margin_m),
        PATH_FRACTIONS,
        rel,
        path,
        impact,
        asset,
        p_first,
        t_go,
    )
    return rel, path, impact, asset, p_first, t_go


@njit(cache=True)
def route_kernel(
    x: F64,
    cov: F64,
    centre_en_m: F64,
    extent_m: F64,
    origin_m: F64,
    rot: F64,
    margin_m: float,
    fractions: F64,
    rel: F64,
    path: F64,
    impact: F64,
    asset: I64,
    p_first: F64,
    t_go_s: F64,
) -> None:
    """Fill the outputs of :func:`assess_routes` for states ``x`` (n, 6), ``cov``
    (n, 6, 6), assets at ``centre_en_m`` (a, 2) with ``extent_m`` (a,) in the frame of
    ``origin_m`` (3,) and east-north axes ``rot`` (2, 3); ``fractions`` (s,) place the
    path's samples along the time to go."""
    n_a = centre_en_m.shape[0]
    s_n = fractions.shape[0]
    order = np.empty(n_a, dtype=np.int64)
    w = np.empty(3)
    for i in range(x.shape[0]):
        # position and ground velocity in the theatre's east-north plane
        pe = pn = qe = qn = 0.0
        for j in range(3):
            d = x[i, j] - origin_m[j]
            f = (x[i, j] + x[i, 3 + j]) - origin_m[j]
            pe += rot[0, j] * d
            pn += rot[1, j] * d
            qe += rot[0, j] * f
            qn += rot[1, j] * f
        ve, vn = qe - pe, qn - pn
        speed = max(math.hypot(ve, vn), 1e-3)
        ue, un = ve / speed, vn / speed
        # cross-track direction in ECEF and the error variances along it
        for j in range(3):
            w[j] = -un * rot[0, j] + ue * rot[1, j]
        var_pos = var_vel = 0.0
        for a in range(3):
            for b in range(3):
                var_pos += w[a] * cov[i, a, b] * w[b]
                var_vel += w[a] * cov[i, 3 + a, 3 + b] * w[b]
        nearest, nearest_along = -1, math.inf
        for a in range(n_a):
            de, dn = centre_en_m[a, 0] - pe, centre_en_m[a, 1] - pn
            along = de * ue + dn * un
            cross = -de * un + dn * ue
            half = extent_m[a] + margin_m
            if along > 0.0 and abs(cross) <= half and along < nearest_along:
                nearest, nearest_along = a, along
            if along > 0.0:
                t = along / speed
                sigma = math.sqrt(var_pos + t * t * var_vel + COV_FLOOR_M2)
                p_first[i, a] = ndtr((half - cross) / sigma) - ndtr((-half - cross) / sigma)
                t_go_s[i, a] = t
            else:
                p_first[i, a] = 0.0
                t_go_s[i, a] = math.inf
        # the first asset struck: order the assets by time to go (stable), then chain
        for a in range(n_a):
            order[a] = a
        for a in range(1, n_a):
            cur = order[a]
            b = a - 1
            while b >= 0 and t_go_s[i, order[b]] > t_go_s[i, cur]:
                order[b + 1] = order[b]
                b -= 1
            order[b + 1] = cur
        missed = 1.0
        for a in range(n_a):
            p = p_first[i, order[a]]
            p_first[i, order[a]] = p * missed
            missed *= 1.0 - p
        asset[i] = nearest
        t_end = nearest_along / speed if nearest >= 0 else ROUTE_HORIZON_S
        # level flight: horizontal velocity only, each point lifted back to the radius
        r = math.sqrt(x[i, 0] * x[i, 0] + x[i, 1] * x[i, 1] + x[i, 2] * x[i, 2])
        up = x[i, :3] / r
        v_up = x[i, 3] * up[0] + x[i, 4] * up[1] + x[i, 5] * up[2]
        for s in range(s_n):
            rel[i, s] = t_end * fractions[s]
            sq = 0.0
            for j in range(3):
                path[i, s, j] = x[i, j] + rel[i, s] * (x[i, 3 + j] - v_up * up[j])
                sq += path[i, s, j] * path[i, s, j]
            scale = r / math.sqrt(sq)
            for j in range(3):
                path[i, s, j] *= scale
        for j in range(3):
            impact[i, j] = path[i, s_n - 1, j]
        impact[i, 3] = t_end

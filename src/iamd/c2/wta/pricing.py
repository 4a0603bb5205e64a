"""Exact pricing of the target-based WTA formulation, compiled: each target's best column.

Under prices ``lam_i >= 0`` of the weapons' shots, target ``j`` chooses shot counts
``k_i`` in ``0..mu`` minimising

.. math:: c_j(\\lambda) = \\min_k \\; v_j \\prod_i q_{ij}^{k_i} + \\sum_i \\lambda_i k_i

(``q = 1 - p``). With ``a_i = -ln q_ij`` the survival is ``exp(-sum k_i a_i)``, so the
problem is a knapsack with a convex objective. Branch and bound over the candidates
sorted by price per unit of ``a`` (``rho_i = lam_i / a_i``, cheapest first): from a node
with survival ``P`` and price ``L`` whose remaining candidates cost at least ``rho`` per
unit, any completion costs at least

.. math:: L + \\min_{y \\ge 0} (v P e^{-y} + \\rho y) = L + \\rho (1 + \\ln(v P / \\rho))
   \\quad (v P > \\rho; \\text{ else } L + v P),

the fractional-knapsack relaxation. A shot whose marginal gain
``v P q^{c-1} p - lam`` is not positive is never in an optimal column, which caps each
branch. Weapons with ``lam_i = 0`` fire all ``mu`` shots (a free shot never hurts).
The search is iterative (no recursion) so that it can be loaded from Numba's cache.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@njit(cache=True)
def relaxed_rest(vp: float, rho: float) -> float:
    """``min_{y >= 0} vp e^{-y} + rho y``: the cheapest completion of a column whose
    survival times value is ``vp`` when shots cost at least ``rho`` per unit of ``-ln q``."""
    if rho <= 0.0:
        return 0.0  # free shots (or prices that underflow): the infimum is 0
    if vp > rho:
        return rho * (1.0 + math.log(vp) - math.log(rho))  # no overflow of vp / rho
    return vp


@njit(cache=True)
def price_target(v: float, p: F64, a: F64, lam: F64, mu: int, cand: I64, k_out: I64) -> float:
    """Minimum of ``v prod q^k + lam . k`` over ``k`` in ``0..mu`` for one target.

    Parameters
    ----------
    v : the target's value.
    p : (W,) kill probabilities of each weapon's shot on this target.
    a : (W,) ``-ln max(1 - p, Q_FLOOR)`` (:data:`iamd.c2.wta.local.Q_FLOOR`).
    lam : (W,) prices of a shot of each weapon, >= 0, in units of value.
    mu : most shots of a weapon.
    cand : (W,) work space.
    k_out : (W,) written with the optimal shot counts.

    Returns
    -------
    The minimum (value units).
    """
    w = p.shape[0]
    base = 1.0
    n = 0
    rho_min = np.inf
    for i in range(w):
        k_out[i] = 0
        if a[i] <= 0.0:
            continue  # the shot changes nothing in floating point
        if lam[i] <= 0.0:
            k_out[i] = mu  # free shots never hurt
            base *= math.exp(-a[i] * mu)
        elif v * p[i] > lam[i]:
            cand[n] = i
            n += 1
            rho_min = min(rho_min, lam[i] / a[i])
    vb = v * base
    if n == 0:
        return vb
    # an upper bound by greedy: add the best shot while it gains
    ub_prod = vb
    ub_price = 0.0
    for _ in range(n * mu):
        best_gain = 0.0
        best_s = -1
        for s in range(n):
            i = cand[s]
            if k_out[i] < mu:
                gain = ub_prod * p[i] - lam[i]
                if gain > best_gain:
                    best_gain = gain
                    best_s = s
        if best_s < 0:
            break
        i = cand[best_s]
        k_out[i] += 1
        ub_prod *= math.exp(-a[i])
        ub_price += lam[i]
    ub = ub_prod + ub_price
    for s in range(n):
        k_out[cand[s]] = 0
    # keep the weapons that can be in a column no dearer than the greedy one
    ub += 1e-12 * ub
    m = 0
    for s in range(n):
        i = cand[s]
        if lam[i] + relaxed_rest(vb * math.exp(-a[i]), rho_min) <= ub:
            cand[m] = i
            m += 1
    n = m
    if n == 0:
        return vb
    rho = np.empty(n)
    for s in range(n):
        i = cand[s]
        rho[s] = lam[i] / a[i]
    order = np.argsort(rho)
    idx = np.empty(n, np.int64)
    qs = np.empty(n)
    ps = np.empty(n)
    ls = np.empty(n)
    rs = np.empty(n)
    for s in range(n):
        o = order[s]
        idx[s] = cand[o]
        ps[s] = p[cand[o]]
        qs[s] = math.exp(-a[cand[o]])
        ls[s] = lam[cand[o]]
        rs[s] = rho[o]
    prod = np.empty(n + 1)  # survival times value at each level
    price = np.empty(n + 1)  # price at each level
    nxt = np.empty(n + 1, np.int64)  # next count to try at each level (-1: done)
    chosen = np.zeros(n, np.int64)
    best_k = np.zeros(n, np.int64)
    best = vb
    prod[0] = vb
    price[0] = 0.0
    d = 0
    enter = True
    while d >= 0:
        if enter:
            enter = False
            vp = prod[d]
            cost = vp + price[d]
            if cost < best:
                best = cost
                for s in range(n):
                    best_k[s] = chosen[s] if s < d else 0
            nxt[d] = -1
            if d < n and price[d] + relaxed_rest(vp, rs[d]) < best:
                cmax = 0
                g = vp
                while cmax < mu and g * ps[d] > ls[d]:
                    cmax += 1
                    g *= qs[d]
                nxt[d] = cmax
        if nxt[d] < 0:
            d -= 1
            continue
        c = nxt[d]
        nxt[d] = c - 1
        chosen[d] = c
        prod[d + 1] = prod[d] * qs[d] ** c
        price[d + 1] = price[d] + c * ls[d]
        d += 1
        enter = True
    for s in range(n):
        k_out[idx[s]] = best_k[s]
    return best


@njit(cache=True)
def price_targets(v: F64, pt: F64, at: F64, lam: F64, mu: int, kt_out: I64, cost_out: F64) -> None:
    """Every target's best column under prices ``lam`` (see :func:`price_target`).

    Parameters
    ----------
    v : (T,) target values.
    pt : (T, W) kill probabilities, target-major.
    at : (T, W) ``-ln max(1 - p, Q_FLOOR)`` (:data:`iamd.c2.wta.local.Q_FLOOR`), target-major.
    lam : (W,) shot prices, >= 0 (value units).
    mu : most shots of a weapon.
    kt_out : (T, W) written with each target's optimal shot counts.
    cost_out : (T,) written with each target's minimum ``v prod q^k + lam . k``.
    """
    t, w = pt.shape
    cand = np.empty(w, np.int64)
    for j in range(t):
        cost_out[j] = price_target(v[j], pt[j], at[j], lam, mu, cand, kt_out[j])


def warm_pricing() -> None:
    """Load (or, the first time after an install, compile) :func:`price_targets`."""
    one = np.ones(1)
    price_targets(one, one[None], one[None], one, 1, np.zeros((1, 1), np.int64), np.zeros(1))

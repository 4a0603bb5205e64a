"""Weighted dynamic weapon-target assignment for one C2 cycle.

Fire units ``i`` with ``cap_i`` engagements to start this cycle, threats ``j`` with value
at risk ``V_j``; engaging ``j`` from ``i`` kills with probability ``p_ij`` and costs
``c_ij`` (in value units: the doctrine's cost weight times the interceptor cost).
Choose engagements ``x_ij in {0, 1}`` to maximise

    sum_j V_j (1 - prod_i (1 - p_ij) ^ x_ij) - sum_ij c_ij x_ij

subject to ``sum_j x_ij <= cap_i``. An engagement whose marginal saving does not pay
its cost is not made, so a cost weight lets cheap layers (or nobody) take cheap threats.

``greedy`` adds, one at a time, the engagement of largest net marginal saving (maximum
marginal return with costs). ``auto`` then improves it by single changes (drop an
engagement, or give a unit's engagement to another threat) until none gains.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

METHODS = ("greedy", "auto")
MAX_IMPROVEMENTS = 200
"""Cap on the improving changes ``auto`` makes per cycle."""


def net_value(value: F64, p: F64, cost: F64, x: NDArray[np.bool_]) -> float:
    """Objective of engagements ``x`` (u, k): value saved minus cost."""
    survive = np.prod(np.where(x, 1.0 - p, 1.0), axis=0)
    return float(np.sum(value * (1.0 - survive)) - np.sum(cost[x]))


def assign_weighted(
    value: F64, p: F64, cost: F64, cap: I64, method: str = "auto"
) -> tuple[I64, I64]:
    """Engagements for one cycle.

    Parameters
    ----------
    value : (k,) value at risk of each threat (>= 0).
    p : (u, k) kill probability of an engagement (0 where infeasible).
    cost : (u, k) cost of an engagement in value units (>= 0).
    cap : (u,) engagements each unit may start.
    method : "greedy" or "auto".

    Returns
    -------
    unit, threat : (m,) the engagements to start, in the order chosen.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    u, k = p.shape
    x = np.zeros((u, k), dtype=bool)
    if u == 0 or k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    left = cap.astype(np.int64).copy()
    survive = np.ones(k)
    usable = p > 0
    for _ in range(int(min(left.sum(), u * k))):  # one engagement per step
        gain = (value * survive)[None, :] * p - cost
        gain[~usable | x | (left <= 0)[:, None]] = -np.inf
        flat = int(np.argmax(gain))
        i, j = divmod(flat, k)
        if not gain[i, j] > 0:
            break
        x[i, j] = True
        left[i] -= 1
        survive[j] *= 1.0 - p[i, j]
    if method == "auto":
        x = improve(value, p, cost, x, usable)
    ii, jj = np.nonzero(x)
    return ii.astype(np.int64), jj.astype(np.int64)


def improve(
    value: F64, p: F64, cost: F64, x: NDArray[np.bool_], usable: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Best single drop or re-target, repeated while it gains (at most MAX_IMPROVEMENTS)."""
    q = np.maximum(1.0 - p, 1e-12)
    for _ in range(MAX_IMPROVEMENTS):
        survive = np.prod(np.where(x, q, 1.0), axis=0)
        ii, jj = np.nonzero(x)
        if ii.size == 0:
            break
        # removing (i, j): lose V_j S_j (1/q_ij - 1) of saving, get c_ij back
        lose = value[jj] * survive[jj] * (1.0 / q[ii, jj] - 1.0) - cost[ii, jj]
        add = (value * survive)[None, :] * p[ii] - cost[ii]  # (m, k): unit ii takes j'
        add[~usable[ii] | x[ii]] = -np.inf
        move = add - lose[:, None]
        best_move = np.unravel_index(int(np.argmax(move)), move.shape)
        d_move = float(move[best_move])
        d_drop = float(-lose.min())
        tol = 1e-12 * max(float(value.sum()), 1.0)
        if max(d_move, d_drop) <= tol:
            break
        if d_drop >= d_move:
            e = int(np.argmin(lose))
            x[ii[e], jj[e]] = False
        else:
            e, j_new = int(best_move[0]), int(best_move[1])
            x[ii[e], jj[e]] = False
            x[ii[e], j_new] = True
    return x

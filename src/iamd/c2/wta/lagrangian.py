"""Lagrangian heuristic for static WTA: subgradient prices, column generation, then
price-and-branch.

Relaxing the weapons' shot limits with prices ``lam_i >= 0`` splits the problem into one
problem per target (:mod:`iamd.c2.wta.pricing` solves each exactly), and

.. math:: L(\\lambda) = \\sum_j c_j(\\lambda) - \\mu \\sum_i \\lambda_i

is a lower bound on the optimum for every ``lam >= 0``. The target-based linear relaxation
is very tight on the APT instances, so near-optimal prices also pick near-optimal columns:

1. **Subgradient.** Start from the value of one more shot of each weapon at a local
   optimum (``max_j v_j S_j p_ij``, an estimate of the dual) and take steps
   ``lam += theta (U - L) g / |g|^2`` (Polyak; ``g_i`` = shots of weapon ``i`` the
   targets' best columns fire, less ``mu``; ``U`` the start's value), halving ``theta``
   when ``L`` stalls. Every column priced joins a pool.
2. **Column generation.** The linear relaxation over the pool (HiGHS) gives duals; the
   columns they price below zero join the pool, and so do those priced at the smoothed
   prices ``a lam_best + (1 - a) lam_LP`` (Wentges 1997), which also lift the bound where
   the LP's duals are degenerate. It stops when the bound meets the LP value, when
   neither moves, or at its share of the time.
3. **Price and branch.** The set-partitioning MILP over the pool
   (:func:`~iamd.c2.wta.exact.solve_columns`) under the time left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.c2.wta.exact import Columns, add_solution, solve_columns, solve_lp
from iamd.c2.wta.instance import WtaInstance
from iamd.c2.wta.local import Q_FLOOR
from iamd.c2.wta.pricing import price_targets

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

STEPS = 30
"""Subgradient steps before column generation (fewer if the deadline comes first)."""
STALL = 5
"""Steps without a better bound after which the step factor is halved."""
THETA0 = 1.0
"""First step factor."""
CG_SHARE = 0.6
"""Share of the time left after the subgradient steps that column generation may use."""
CG_TOL = 1e-6
"""Relative gap between the LP value and the Lagrangian bound that ends column generation."""
FLAT_LPS = 2
"""LP solves in a row that lower neither the LP value nor raise the bound, ending column
generation."""
SMOOTH = 0.8
"""Weight of the best bound's prices in the smoothed prices."""
LP_METHOD = "highs-ipm"
"""HiGHS's interior point (with crossover): faster here than its simplex."""


@dataclass(frozen=True, slots=True)
class LagrangianResult:
    """Best assignment found, the best Lagrangian bound and the prices that gave it.

    Attributes
    ----------
    x : (W, T) shots, feasible.
    lower_bound : ``max L(lam)`` over the prices tried (a proven lower bound).
    lam : (W,) the prices of that bound, value units per shot.
    steps : subgradient steps taken.
    columns : columns in the MILP (0 if it did not run).
    """

    x: I64
    lower_bound: float
    lam: F64
    steps: int
    columns: int


def shot_prices(inst: WtaInstance, x: I64) -> F64:
    """Value of one more shot of each weapon under ``x`` (W,): ``max_j v_j S_j p_ij``."""
    q = np.maximum(1.0 - inst.p, Q_FLOOR)
    survive = np.prod(q**x, axis=0)
    return np.asarray((inst.value * survive * inst.p).max(axis=1), dtype=np.float64)


class ColumnPool:
    """Distinct target columns (W, T) seen by the pricing, for the MILP."""

    def __init__(self, inst: WtaInstance) -> None:
        self.inst = inst
        self.columns = Columns()
        self.seen: set[tuple[int, float]] = set()
        # column keys: counts weighted by fixed incommensurable numbers
        self.weight = np.sqrt(np.arange(2, inst.weapons + 2, dtype=np.float64))
        self.q = np.maximum(1.0 - inst.p, Q_FLOOR)

    def add(self, kt: I64, targets: I64 | None = None) -> None:
        """Add the column of ``kt`` (T, W) of each of ``targets`` (all when None) that
        is not in the pool yet."""
        keys = (kt @ self.weight).tolist()
        v = self.inst.value
        for j in range(kt.shape[0]) if targets is None else targets.tolist():
            key = keys[j]
            if (j, key) in self.seen:
                continue
            self.seen.add((j, key))
            w = np.flatnonzero(kt[j])
            kk = kt[j, w]
            self.columns.add(j, w, kk, float(v[j] * np.prod(self.q[w, j] ** kk)))


def lagrangian_heuristic(
    inst: WtaInstance, x0: I64, deadline_s: float, steps: int = STEPS
) -> LagrangianResult:
    """Prices by subgradient from ``x0``, column generation, then the MILP over the pool.

    Parameters
    ----------
    inst : the instance.
    x0 : (W, T) a feasible assignment, ideally a local optimum (its shot values start
        the prices and its value the step sizes).
    deadline_s : ``time.perf_counter()`` value at which to stop.
    steps : most subgradient steps.

    Returns
    -------
    LagrangianResult with an assignment no worse than ``x0``.
    """
    v, mu = inst.value, inst.mu
    q = np.maximum(1.0 - inst.p, Q_FLOOR)
    pt = np.ascontiguousarray(inst.p.T)
    at = np.ascontiguousarray(-np.log(q).T)
    x_best = np.array(x0, dtype=np.int64)
    ub = float(np.sum(v * np.prod(q**x_best, axis=0)))
    lam = shot_prices(inst, x_best)
    kt = np.zeros((inst.targets, inst.weapons), np.int64)
    cost = np.zeros(inst.targets)
    pool = ColumnPool(inst)
    add_solution(pool.columns, inst, x_best)
    best_lb, best_lam = -np.inf, lam.copy()

    def bound(lam: F64) -> float:
        nonlocal best_lb, best_lam
        price_targets(v, pt, at, lam, mu, kt, cost)
        low = float(cost.sum() - mu * lam.sum())
        if low > best_lb:
            best_lb, best_lam = low, lam.copy()
        return low

    theta, stall, done = THETA0, 0, 0
    for _ in range(steps):  # subgradient steps: prices and a first pool
        if time.perf_counter() > deadline_s:
            break
        done += 1
        before = best_lb
        low = bound(lam)
        stall = 0 if best_lb > before else stall + 1
        if stall >= STALL:
            theta, stall = theta / 2.0, 0
        pool.add(kt)
        g = (kt.sum(axis=0) - mu).astype(np.float64)
        g[(lam <= 0.0) & (g < 0.0)] = 0.0
        norm = float(g @ g)
        if norm == 0.0 or best_lb >= ub:
            break
        lam = np.maximum(lam + theta * (max(ub, low) - low) / norm * g, 0.0)
    cg_deadline = time.perf_counter() + CG_SHARE * max(deadline_s - time.perf_counter(), 0.0)
    last, last_lb, flat = np.inf, best_lb, 0
    while time.perf_counter() < cg_deadline:  # column generation over the pool
        lp_value, lam, sigma = solve_lp(pool.columns, inst, LP_METHOD)
        bound(lam)
        tol = CG_TOL * max(abs(lp_value), 1e-300)
        if best_lb >= lp_value - tol:
            break  # the LP is solved: its duals price out every column
        flat = flat + 1 if lp_value > last - tol and best_lb <= last_lb + tol else 0
        if flat >= FLAT_LPS:
            break  # degenerate tail: neither the LP value nor the bound moves
        last, last_lb = lp_value, best_lb
        neg = np.flatnonzero(cost - sigma < -tol)
        if neg.size == 0:
            break
        pool.add(kt, neg)
        # smoothed prices (Wentges): between the best bound's and the LP's
        lam_s = SMOOTH * best_lam + (1.0 - SMOOTH) * lam
        bound(lam_s)
        pool.add(kt, np.flatnonzero(cost + kt @ (lam - lam_s) - sigma < -tol))
    n_cols = len(pool.columns)
    try:
        y_milp, _ = solve_columns(pool.columns, inst, deadline_s - time.perf_counter())
    except TimeoutError:
        y_milp = None
    if y_milp is not None:
        val = float(np.sum(v * np.prod(q**y_milp, axis=0)))
        if val < ub:
            x_best, ub = y_milp, val
    return LagrangianResult(x_best, min(best_lb, ub), best_lam, done, n_cols)

"""Exact weapon-target assignment: column generation, a Lagrangian bound, reduced-cost
enumeration and a set-partitioning MILP.

Target-based formulation: a *column* is the multiset of shots one target receives, with
cost ``v_j prod_i (1 - p_ij) ** k_i``. Choose one column per target (the empty one
included) so that no weapon fires more than ``mu`` shots.

1. **Column generation** solves the linear relaxation of that set-partitioning problem
   (HiGHS through ``scipy.optimize.linprog``). Prices ``lam_i >= 0`` of the weapons' shots
   come from its duals; columns are priced by a vectorised greedy, and exactly (below)
   when the greedy finds none.
2. **Lagrangian bound.** For any ``lam >= 0``,
   ``L(lam) = sum_j min_S [v_j P_j(S) + lam . k(S)] - mu sum_i lam_i`` is a lower bound
   on the optimum. Each target's minimum is found exactly by depth-first search with the
   union bound ``v P (1 - prod q) <= v P sum p`` for pruning.
3. **Reduced-cost enumeration.** With an incumbent of value ``U`` (from local search), a
   column whose reduced cost ``v_j P_j(S) + lam . k(S) - min_j`` exceeds ``U - L`` cannot
   be in any solution better than ``U`` (the reduced costs of a solution's columns add to
   at most ``U - L``). Every other column is enumerated by the same search.
4. **MILP** over the enumerated columns (``scipy.optimize.milp``) then gives the optimum,
   and its dual bound stays valid if stopped by the time limit.

The linear relaxation of this formulation is very tight on the APT instances (the gap is
zero or a fraction of a percent), so the enumerated set stays small.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from iamd.c2.wta.instance import WtaInstance

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

POOL_PER_TARGET = 20
"""Singleton columns seeded per target (its best weapons by value times Pk)."""
GREEDY_DEPTH = 8
"""Most shots per column that greedy pricing adds."""
MAX_COLUMNS = 3_000_000
"""Enumeration stops (and the solve returns its bound) beyond this many columns."""
REL_TOL = 1e-9
"""Relative slack added to reduced-cost thresholds against rounding."""


@dataclass(frozen=True, slots=True)
class ExactResult:
    """Best assignment found and a proven lower bound on the optimum.

    Attributes
    ----------
    x : (W, T) shots.
    lower_bound : proven lower bound on the optimal expected surviving value.
    lp_value : value of the linear relaxation (the bound when pricing was exact).
    columns : columns enumerated for the final MILP (0 if it was not reached).
    """

    x: I64
    lower_bound: float
    lp_value: float
    columns: int


class Columns:
    """A growing set of target columns: target, weapons and shot counts, cost."""

    def __init__(self) -> None:
        self.target: list[int] = []
        self.weapon: list[I64] = []
        self.count: list[I64] = []
        self.cost: list[float] = []

    def add(self, j: int, w: I64, k: I64, cost: float) -> None:
        self.target.append(j)
        self.weapon.append(w)
        self.count.append(k)
        self.cost.append(cost)

    def __len__(self) -> int:
        return len(self.target)

    def matrices(self, n_weapons: int, n_targets: int) -> tuple[sp.csc_array, sp.csc_array]:
        """Weapon-use (W, n) and target-choice (T, n) constraint matrices."""
        n = len(self.target)
        col = np.repeat(np.arange(n), [w.size for w in self.weapon])
        rows = np.concatenate(self.weapon) if n else np.zeros(0, np.int64)
        vals = np.concatenate(self.count).astype(float) if n else np.zeros(0)
        use = sp.csc_array((vals, (rows, col)), shape=(n_weapons, n))
        pick = sp.csc_array((np.ones(n), (np.array(self.target), np.arange(n))), (n_targets, n))
        return use, pick


def column_cost(v: float, q: F64, k: I64) -> float:
    return float(v * np.prod(q**k))


def search_target(
    v: float, p: F64, lam: F64, mu: int, limit: float, collect: bool, deadline_s: float
) -> tuple[float, list[tuple[tuple[int, ...], float]]]:
    """Columns of one target with ``v P + lam . k <= limit``, by depth-first search.

    ``p`` and ``lam`` (c,) are the candidate weapons' kill probabilities on this target
    and prices. A column is a non-decreasing tuple of candidate indices (repeats are
    further shots of the same weapon, at most ``mu``). With ``collect`` false the search
    looks for the minimum only, tightening its limit as it goes, and returns it with its
    column; with ``collect`` it returns every column within the limit.

    Pruning: adding shots E to S changes the cost by ``lam(E) - v P_S (1 - prod_E q)``,
    which is at least ``sum_E (lam_e - v P_S p_e)`` (union bound) and at least
    ``-v P_S``.
    """
    c = p.shape[0]
    best_cost = limit
    best_col: tuple[int, ...] = ()
    found: list[tuple[tuple[int, ...], float]] = []
    stack: list[tuple[int, float, float, tuple[int, ...]]] = [(0, 1.0, 0.0, ())]
    tol = REL_TOL * max(abs(limit), 1.0)
    nodes = 0
    while stack:
        r, prod, lam_sum, col = stack.pop()
        nodes += 1
        if nodes % 4096 == 0 and time.perf_counter() > deadline_s:
            raise TimeoutError
        cost = v * prod + lam_sum
        lim = limit if collect else best_cost
        if cost <= lim + tol:
            if collect:
                found.append((col, cost))
            elif cost < best_cost:
                best_cost, best_col = cost, col
        if r >= c:
            continue
        drop = np.minimum(0.0, lam[r:] - v * prod * p[r:])
        used = col.count(r) if col and col[-1] == r else 0
        bound = cost + mu * float(drop.sum()) - used * float(drop[0])
        if max(bound, lam_sum) > lim + tol:
            continue
        for i in range(c - 1, r - 1, -1):  # depth-first over candidates (tens)
            if i == r and used >= mu:
                continue
            stack.append((i, prod * (1.0 - p[i]), lam_sum + lam[i], (*col, i)))
    if collect:
        return limit, found
    return best_cost, [(best_col, best_cost)]


def candidates(v: float, p: F64, lam: F64, slack: float) -> I64:
    """Weapons that can be in a column of reduced cost <= slack on a target (best first).

    A column with weapon i costs at least ``lam_i - v p_i`` more than the column
    without it, so ``v p_i >= lam_i - slack`` is necessary.
    """
    gain = v * p - lam
    idx = np.flatnonzero(gain >= -slack)
    return np.asarray(idx[np.argsort(-gain[idx], kind="stable")])


def greedy_price(v: F64, p: F64, q: F64, lam: F64, mu: int) -> tuple[I64, F64]:
    """Greedy best column per target under prices ``lam``: shots (W, T), costs (T,)."""
    w, t = p.shape
    k = np.zeros((w, t), np.int64)
    prod = np.ones(t)
    cols = np.arange(t)
    for _ in range(GREEDY_DEPTH):
        gain = (v * prod)[None, :] * p - lam[:, None]
        gain[k >= mu] = -1.0
        i = np.argmax(gain, axis=0)
        ok = gain[i, cols] > 0
        if not ok.any():
            break
        k[i[ok], cols[ok]] += 1
        prod[cols[ok]] *= q[i[ok], cols[ok]]
    return k, v * prod + lam @ k


def exact_pricing(
    inst: WtaInstance, lam: F64, deadline_s: float
) -> tuple[F64, list[tuple[int, I64, I64]]]:
    """Each target's minimum of ``v P + lam . k`` (T,) and the column attaining it."""
    v, p = inst.value, inst.p
    best = np.empty(inst.targets)
    cols: list[tuple[int, I64, I64]] = []
    for j in range(inst.targets):  # a small exact search per target
        cand = candidates(float(v[j]), p[:, j], lam, 0.0)
        cost, found = search_target(
            float(v[j]), p[cand, j], lam[cand], inst.mu, float(v[j]), False, deadline_s
        )
        best[j] = cost
        w, k = np.unique(cand[list(found[0][0])], return_counts=True)
        cols.append((j, w.astype(np.int64), k.astype(np.int64)))
    return best, cols


def solve_lp(cols: Columns, inst: WtaInstance, method: str = "highs") -> tuple[float, F64, F64]:
    """Linear relaxation over ``cols``: value, weapon prices (W,), target duals (T,).

    ``method`` is ``scipy.optimize.linprog``'s (``highs-ipm`` is the faster on a few
    thousand columns).
    """
    use, pick = cols.matrices(inst.weapons, inst.targets)
    res = linprog(
        np.array(cols.cost),
        A_ub=use,
        b_ub=np.full(inst.weapons, float(inst.mu)),
        A_eq=pick,
        b_eq=np.ones(inst.targets),
        bounds=(0, None),
        method=method,
    )
    if res.status != 0:
        raise RuntimeError(f"column-generation LP failed: {res.message}")
    lam = np.maximum(-np.asarray(res.ineqlin.marginals), 0.0)
    return float(res.fun), lam, np.asarray(res.eqlin.marginals)


def seed_columns(inst: WtaInstance, x_start: I64) -> Columns:
    """Empty columns, each target's best singletons, and the start's columns."""
    v, p, q = inst.value, inst.p, 1.0 - inst.p
    cols = Columns()
    empty = np.zeros(0, np.int64)
    for j in range(inst.targets):
        cols.add(j, empty, empty, float(v[j]))
    top = min(POOL_PER_TARGET, inst.weapons)
    best_w = np.argsort(-(v[None, :] * p), axis=0, kind="stable")[:top]  # (top, T)
    for k in range(1, inst.mu + 1):
        for j in range(inst.targets):
            for i in best_w[:, j].tolist():
                cols.add(j, np.array([i]), np.array([k]), float(v[j] * q[i, j] ** k))
    add_solution(cols, inst, x_start)
    return cols


def add_solution(cols: Columns, inst: WtaInstance, x: I64) -> None:
    q = 1.0 - inst.p
    for j in np.flatnonzero(x.sum(axis=0)).tolist():
        w = np.flatnonzero(x[:, j])
        cols.add(j, w, x[w, j], column_cost(float(inst.value[j]), q[w, j], x[w, j]))


def lagrangian_bound(inst: WtaInstance, lam: F64, best: F64) -> float:
    return float(best.sum() - inst.mu * lam.sum())


def solve_exact(inst: WtaInstance, x_start: I64, time_limit_s: float) -> ExactResult:
    """Prove optimality (or bound the gap) starting from the incumbent ``x_start``.

    Parameters
    ----------
    inst : the instance.
    x_start : (W, T) a feasible incumbent (e.g. from local search).
    time_limit_s : wall-clock limit for the whole solve, s.

    Returns
    -------
    ExactResult with the best assignment and a proven lower bound.
    """
    deadline = time.perf_counter() + time_limit_s
    v, p = inst.value, inst.p
    q = 1.0 - p
    x_best = np.array(x_start, dtype=np.int64)
    ub = float(np.sum(v * np.prod(q**x_best, axis=0)))
    cols = seed_columns(inst, x_best)
    lower, lp_value = 0.0, -np.inf
    lam = np.zeros(inst.weapons)
    best_rc = v.copy()
    try:
        while True:  # column generation
            lp_value, lam, sigma = solve_lp(cols, inst)
            k, cost = greedy_price(v, p, q, lam, inst.mu)
            neg = np.flatnonzero(cost - sigma < -REL_TOL * max(abs(lp_value), 1.0))
            if neg.size == 0:
                best_rc, exact_cols = exact_pricing(inst, lam, deadline)
                lower = max(lower, lagrangian_bound(inst, lam, best_rc))
                neg = np.flatnonzero(best_rc - sigma < -REL_TOL * max(abs(lp_value), 1.0))
                if neg.size == 0:
                    break
                for j in neg.tolist():
                    _, w, kk = exact_cols[j]
                    cols.add(j, w, kk, column_cost(float(v[j]), q[w, j], kk))
                continue
            for j in neg.tolist():
                w = np.flatnonzero(k[:, j])
                cols.add(j, w, k[w, j], column_cost(float(v[j]), q[w, j], k[w, j]))
            if time.perf_counter() > deadline:
                raise TimeoutError
        lower = max(lower, min(lp_value, ub))
        gap = ub - lower
        if gap <= REL_TOL * max(abs(ub), 1.0):
            return ExactResult(x_best, lower, lp_value, 0)
        final = Columns()
        n_found = 0
        for j in range(inst.targets):  # enumerate columns within the gap, target by target
            slack = gap + REL_TOL * max(abs(ub), 1.0)
            cand = candidates(float(v[j]), p[:, j], lam, slack)
            _, found = search_target(
                float(v[j]), p[cand, j], lam[cand], inst.mu, best_rc[j] + slack, True, deadline
            )
            n_found += len(found)
            if n_found > MAX_COLUMNS:
                return ExactResult(x_best, lower, lp_value, n_found)
            for col, _ in found:
                w, kk = np.unique(cand[list(col)], return_counts=True)
                final.add(
                    j,
                    w.astype(np.int64),
                    kk.astype(np.int64),
                    column_cost(float(v[j]), q[w, j], kk),
                )
        add_solution(final, inst, x_best)
        x_milp, bound = solve_columns(final, inst, deadline - time.perf_counter())
        if bound is not None:
            lower = max(lower, min(ub, bound))
        if x_milp is not None:
            val = float(np.sum(v * np.prod(q**x_milp, axis=0)))
            if val < ub:
                x_best, ub = x_milp, val
        return ExactResult(x_best, min(lower, ub), lp_value, len(final))
    except TimeoutError:
        return ExactResult(x_best, min(lower, ub), lp_value, 0)


def solve_columns(
    cols: Columns, inst: WtaInstance, time_left_s: float
) -> tuple[I64 | None, float | None]:
    """Set-partitioning MILP over ``cols``: best shots found (or None) and dual bound."""
    if time_left_s <= 0:
        raise TimeoutError
    use, pick = cols.matrices(inst.weapons, inst.targets)
    n = len(cols)
    a = sp.vstack([use, pick]).tocsc()
    lo = np.concatenate([np.zeros(inst.weapons), np.ones(inst.targets)])
    hi = np.concatenate([np.full(inst.weapons, float(inst.mu)), np.ones(inst.targets)])
    res = milp(
        np.array(cols.cost),
        constraints=LinearConstraint(a, lo, hi),
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
        options={"time_limit": time_left_s, "mip_rel_gap": 1e-10, "presolve": True},
    )
    bound = getattr(res, "mip_dual_bound", None)
    if bound is None and res.status == 0:
        bound = res.fun
    if res.x is None:
        return None, None if bound is None else float(bound)
    x = np.zeros((inst.weapons, inst.targets), np.int64)
    for c in np.flatnonzero(res.x > 0.5).tolist():
        x[cols.weapon[c], cols.target[c]] += cols.count[c]
    return x, None if bound is None else float(bound)

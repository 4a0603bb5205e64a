"""One entry point for every static WTA solver: ``solve(inst, method, time_limit_s)``.

Methods
-------
greedy
    Maximum marginal return (:mod:`iamd.c2.wta.greedy`).
local
    One assignment with at most one shot per target, then moves and ejection chains to a
    local optimum (:mod:`iamd.c2.wta.local`).
exact
    ``local`` for an incumbent, then column generation, a Lagrangian bound, reduced-cost
    enumeration and a MILP (:mod:`iamd.c2.wta.exact`); returns a proven lower bound and
    gap, also when stopped by the time limit.
auto
    The real-time choice, within ``AUTO_BUDGET_S``: the Lagrangian heuristic
    (:mod:`iamd.c2.wta.lagrangian`: subgradient prices, column generation and a MILP over
    the generated columns) from the moves' local optimum, then ``local`` with restarts
    from new seeds until the budget runs out. It also returns the Lagrangian lower bound.

Every objective reported is recomputed by :func:`iamd.c2.wta.instance.objective`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.c2.wta.exact import solve_exact
from iamd.c2.wta.greedy import greedy
from iamd.c2.wta.instance import WtaInstance, objective, simple_lower_bound
from iamd.c2.wta.lagrangian import lagrangian_heuristic
from iamd.c2.wta.local import Q_FLOOR, improve_moves, local_search, one_shot_each
from iamd.c2.wta.pricing import warm_pricing

I64 = NDArray[np.int64]

AUTO_BUDGET_S = 2.0
"""Longest ``auto`` runs on its own; a shorter ``time_limit_s`` caps it further."""
AUTO_MARGIN = 0.1
"""Share of ``auto``'s budget kept back for the step that runs when its deadline comes."""
PROVEN_GAP = 1e-6
"""Relative gap at or below which a solution is reported proven optimal."""


@dataclass(frozen=True, slots=True)
class Solution:
    """A solved instance.

    Attributes
    ----------
    x : (W, T) shots of each weapon at each target.
    objective : expected surviving value, recomputed independently.
    lower_bound : proven lower bound on the optimum: the method's own (``exact``, ``auto``), or at
        least :func:`~iamd.c2.wta.instance.simple_lower_bound`.
    gap : relative gap ``(objective - lower_bound) / objective`` (0 when both are 0).
    proven_optimal : gap <= ``PROVEN_GAP``.
    time_s : wall-clock solve time, s.
    method : the method used.
    """

    x: I64
    objective: float
    lower_bound: float
    gap: float
    proven_optimal: bool
    time_s: float
    method: str

    def as_dict(self) -> dict[str, object]:
        return {
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "gap": self.gap,
            "proven_optimal": self.proven_optimal,
            "time_s": self.time_s,
            "method": self.method,
        }


def _greedy(inst: WtaInstance, deadline_s: float) -> tuple[I64, float]:
    return greedy(inst), 0.0


def _local(inst: WtaInstance, deadline_s: float) -> tuple[I64, float]:
    return local_search(inst, deadline_s=deadline_s), 0.0


def _auto(inst: WtaInstance, deadline_s: float) -> tuple[I64, float]:
    deadline_s -= AUTO_MARGIN * max(deadline_s - time.perf_counter(), 0.0)
    q = np.maximum(1.0 - inst.p, Q_FLOOR)
    start = improve_moves(inst, one_shot_each(inst), q, deadline_s)
    lag = lagrangian_heuristic(inst, start, deadline_s)
    x, best = lag.x, objective(inst, lag.x)
    floor = max(simple_lower_bound(inst), lag.lower_bound) * (1.0 + PROVEN_GAP)
    if best > floor:
        x = local_search(inst, x, deadline_s=deadline_s)
        best = objective(inst, x)
    seed = 1
    # restarts from the best with new ejection choices, until proven or out of time
    while time.perf_counter() < deadline_s and best > floor:
        y = local_search(inst, x, deadline_s=deadline_s, seed=seed)
        val = objective(inst, y)
        if val < best:
            x, best = y, val
        seed += 1
    return x, lag.lower_bound


def _exact(inst: WtaInstance, deadline_s: float) -> tuple[I64, float]:
    start = local_search(inst, deadline_s=deadline_s)
    res = solve_exact(inst, start, max(deadline_s - time.perf_counter(), 0.0))
    return res.x, res.lower_bound


SOLVERS: dict[str, Callable[[WtaInstance, float], tuple[I64, float]]] = {
    "greedy": _greedy,
    "local": _local,
    "exact": _exact,
    "auto": _auto,
}


def solve(inst: WtaInstance, method: str = "auto", time_limit_s: float = 600.0) -> Solution:
    """Solve a static instance.

    Parameters
    ----------
    inst : the instance.
    method : one of ``SOLVERS`` (greedy, local, exact, auto).
    time_limit_s : wall-clock limit, s (``auto`` uses at most ``AUTO_BUDGET_S`` of it).

    Raises
    ------
    ValueError
        For an unknown method or a non-positive time limit.
    """
    if method not in SOLVERS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(SOLVERS)}")
    if not time_limit_s > 0:
        raise ValueError(f"time limit must be positive, got {time_limit_s}")
    if method == "auto":
        warm_pricing()  # compiled once per install: not part of the 2 s
    t0 = time.perf_counter()
    budget = min(time_limit_s, AUTO_BUDGET_S) if method == "auto" else time_limit_s
    x, bound = SOLVERS[method](inst, t0 + budget)
    elapsed = time.perf_counter() - t0
    val = objective(inst, x)
    bound = min(max(bound, simple_lower_bound(inst)), val)
    gap = (val - bound) / val if val > 0 else 0.0
    return Solution(
        x=x,
        objective=val,
        lower_bound=bound,
        gap=gap,
        proven_optimal=gap <= PROVEN_GAP,
        time_s=elapsed,
        method=method,
    )

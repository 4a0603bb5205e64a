"""Local search for static weapon-target assignment: batched shot moves and ejection chains.

Two neighbourhoods, both searched exactly with array operations:

- *moves*: one shot leaves its target (or an unused shot is fired) for another target.
  All improving moves with distinct source and destination targets are applied at once,
  since their gains then add up exactly.
- *ejection*: a set of shots is taken off their targets and all of them are put back,
  at most one per target, by one linear assignment (``scipy.optimize.linear_sum_assignment``).
  Because each target receives at most one shot, every entry's cost is exact, so the
  assignment finds the best of all cyclic and path exchanges among those shots at once
  (the very-large-scale neighbourhood idea of Ahuja, Kumar, Jha and Orlin, Operations
  Research 55, 2007, solved here as an assignment). A variant also offers each target a
  second entry, priced approximately and accepted only if the exact objective improves.

The start is the assignment optimum with at most one shot per target (exact when
``mu = 1`` and weapons are scarce), a provably good point for these neighbourhoods.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from iamd.c2.wta.instance import WtaInstance

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

Q_FLOOR = 1e-12
"""Survival probabilities are floored here so that a sure kill can be divided out."""
IMPROVE_TOL = 1e-12
"""Relative improvement below which a change is not taken."""
PATIENCE = 30
"""Ejections in a row without improvement after which the search stops."""


def shots_of(x: I64) -> tuple[I64, I64]:
    """Weapon and target of every shot in ``x`` (W, T), one entry per shot."""
    i, j = np.nonzero(x)
    reps = x[i, j]
    return np.repeat(i, reps), np.repeat(j, reps)


def surviving_value(v: F64, q: F64, x: I64) -> float:
    return float(np.sum(v * np.prod(q**x, axis=0)))


def one_shot_each(inst: WtaInstance) -> I64:
    """The best assignment with at most one shot per target (a linear assignment)."""
    w, t = inst.p.shape
    cost = np.repeat(-inst.value[None, :] * inst.p, inst.mu, axis=0)  # (W * mu, T)
    r, c = linear_sum_assignment(cost)
    x = np.zeros((w, t), np.int64)
    np.add.at(x, (r // inst.mu, c), 1)
    return x


def improve_moves(inst: WtaInstance, x: I64, q: F64, deadline_s: float) -> I64:
    """Apply improving single-shot moves (batched when independent) until none is left."""
    v = inst.value
    w = x.shape[0]
    while time.perf_counter() < deadline_s:
        survive = np.prod(q**x, axis=0)
        sw, st = shots_of(x)
        left = inst.mu - x.sum(axis=1)
        free_w = np.repeat(np.arange(w), left)
        mw = np.concatenate([sw, free_w])  # every shot, fired or not
        src = np.concatenate([st, np.full(free_w.size, -1)])
        fired = src >= 0
        s0 = np.maximum(src, 0)
        back = np.where(fired, v[s0] * survive[s0] * (1.0 / q[mw, s0] - 1.0), 0.0)
        gain = (v * survive)[None, :] * (1.0 - q[mw]) - back[:, None]
        gain[np.flatnonzero(fired), src[fired]] = -np.inf
        dest = np.argmax(gain, axis=1)
        best = gain[np.arange(mw.size), dest]
        ok = best > IMPROVE_TOL * max(float(np.sum(v * survive)), 1e-300)
        if not ok.any():
            break
        cand = np.flatnonzero(ok)
        cand = cand[np.argsort(-best[cand], kind="stable")]
        _, first = np.unique(dest[cand], return_index=True)  # best move into each target
        cand = cand[np.sort(first)]
        key = np.where(src[cand] >= 0, src[cand], -1 - np.arange(cand.size))
        _, first = np.unique(key, return_index=True)  # and out of each target
        cand = cand[np.sort(first)]
        s_c, d_c = src[cand], dest[cand]
        clash = np.isin(s_c, d_c) | np.isin(d_c, s_c[s_c >= 0])
        take = cand[~clash] if (~clash).any() else cand[:1]
        out = src[take] >= 0
        np.subtract.at(x, (mw[take][out], src[take][out]), 1)
        np.add.at(x, (mw[take], dest[take]), 1)
    return x


def eject(
    inst: WtaInstance, x: I64, q: F64, rng: np.random.Generator, mode: int, second: bool
) -> tuple[I64, bool]:
    """One ejection: lift a set of shots and re-place them by linear assignment.

    ``mode`` picks the lifted shots: 0, one random shot per target; 1, each shot with
    probability 1/2; 2, every shot on a random half of the targets. Unused shots are
    always offered. ``second`` offers each target a second, approximately priced entry.
    Returns the new assignment and whether it improved.
    """
    v = inst.value
    w, t = x.shape
    sw, st = shots_of(x)
    if mode == 0:
        perm = rng.permutation(sw.size)
        _, first = np.unique(st[perm], return_index=True)
        pick = perm[first]
    elif mode == 1:
        pick = np.flatnonzero(rng.random(sw.size) < 0.5)
    else:
        half: NDArray[np.bool_] = np.asarray(rng.random(t) < 0.5)
        pick = np.flatnonzero(half[st])
    left = inst.mu - x.sum(axis=1)
    lifted = np.concatenate([sw[pick], np.repeat(np.arange(w), left)])
    if lifted.size == 0:
        return x, False
    y = x.copy()
    np.subtract.at(y, (sw[pick], st[pick]), 1)
    base = v * np.prod(q**y, axis=0)  # (T,) surviving value with the shots lifted
    cost = base[None, :] * (q[lifted] - 1.0)  # change when a lifted shot enters a target
    if second:
        q_first = q[lifted].min(axis=0)
        cost = np.concatenate([cost, cost * q_first[None, :]], axis=1)
    r, c = linear_sum_assignment(cost)
    np.add.at(y, (lifted[r], c % t), 1)
    old = surviving_value(v, q, x)
    if surviving_value(v, q, y) < old - IMPROVE_TOL * max(old, 1e-300):
        return y, True
    return x, False


def local_search(
    inst: WtaInstance,
    x0: I64 | None = None,
    deadline_s: float = np.inf,
    seed: int = 0,
    patience: int = PATIENCE,
) -> I64:
    """Improve an assignment by moves and ejections until ``patience`` ejections fail.

    Parameters
    ----------
    inst : the instance.
    x0 : (W, T) starting shots; :func:`one_shot_each` when None.
    deadline_s : ``time.perf_counter()`` value at which to stop.
    seed : seed of the ejection choices (the result is deterministic for a seed).
    patience : failed ejections in a row that end the search.

    Returns
    -------
    (W, T) shots, feasible, with an objective no worse than ``x0``'s.
    """
    x = one_shot_each(inst) if x0 is None else np.array(x0, dtype=np.int64)
    q = np.maximum(1.0 - inst.p, Q_FLOOR)
    rng = np.random.default_rng(seed)
    x = improve_moves(inst, x, q, deadline_s)
    failed = 0
    while failed < patience and time.perf_counter() < deadline_s:
        mode = int(rng.integers(3))
        second = inst.mu > 1 and bool(rng.integers(2))
        x, better = eject(inst, x, q, rng, mode, second)
        if better:
            x = improve_moves(inst, x, q, deadline_s)
            failed = 0
        else:
            failed += 1
    return x

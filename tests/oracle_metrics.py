"""The NumPy track-quality code that :mod:`iamd.tracking.metrics`'s kernels replaced, kept
as their oracle: the cut-off assignment (:func:`match_numpy`), the CLEAR MOT continuation
(:func:`continue_numpy`), OSPA and GOSPA (:func:`ospa_gospa_numpy`) and the frames' score
(:func:`quality_numpy`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iamd.tracking.association import gate_pairs, gnn
from iamd.tracking.metrics import TrackQuality

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def match_numpy(truth_m: F64, est_m: F64, c_m: float, p: float) -> tuple[I64, F64]:
    """Optimal truth-to-estimate assignment under cut-off ``c_m``; returns (match, distance)."""
    n = truth_m.shape[0]
    ti, ei = gate_pairs(truth_m, est_m, c_m)
    d = np.linalg.norm(truth_m[ti] - est_m[ei], axis=1)
    inside = d < c_m
    ti, ei, d = ti[inside], ei[inside], d[inside]
    # minimise sum over pairs of (d^p - c^p): leaving a truth unassigned costs 0
    a = gnn(n, est_m.shape[0], ti, ei, d**p - c_m**p, 0.0)
    dist = np.full(n, np.inf)
    hit = np.flatnonzero(a >= 0)
    if hit.size:
        dist[hit] = np.linalg.norm(truth_m[hit] - est_m[a[hit]], axis=1)
    return a, dist


def continue_numpy(
    truth_m: F64, truth_id: I64, est_m: F64, est_id: I64, last: I64, c_m: float, p: float
) -> I64:
    """Match truths to estimates, keeping each truth's previous track while it is within c."""
    n, k = truth_m.shape[0], est_m.shape[0]
    a = np.full(n, -1, np.int64)
    order = np.argsort(est_id, kind="stable")
    prev = last[truth_id]
    pos = np.searchsorted(est_id[order], prev)
    pos = np.minimum(pos, k - 1)
    found = (prev >= 0) & (est_id[order][pos] == prev)
    cand = np.flatnonzero(found)
    j = order[pos[cand]]
    near = np.linalg.norm(truth_m[cand] - est_m[j], axis=1) < c_m
    cand, j = cand[near], j[near]
    _, first = np.unique(j, return_index=True)  # one truth per track
    a[cand[first]] = j[first]
    free_t = np.flatnonzero(a < 0)
    taken = np.zeros(k, bool)
    taken[a[a >= 0]] = True
    free_e = np.flatnonzero(~taken)
    if free_t.size and free_e.size:
        sub, _ = match_numpy(truth_m[free_t], est_m[free_e], c_m, p)
        ok = sub >= 0
        a[free_t[ok]] = free_e[sub[ok]]
    return a


def ospa_gospa_numpy(
    truth_m: F64, est_m: F64, c_m: float = 1000.0, p: float = 1.0
) -> tuple[float, float]:
    """OSPA and GOSPA (alpha = 2) between position sets ``truth_m`` (n, d) and ``est_m``
    (k, d), m, from one optimal assignment.

    With the cut-off, both minimise the sum over assigned pairs of ``d^p - c^p`` (a pair
    at or beyond ``c`` costs what leaving both unassigned costs), so one assignment
    serves both. OSPA is zero when both sets are empty and ``c_m`` when exactly one is;
    GOSPA counts ``c^p / 2`` per missed truth and per false track.
    """
    n, k = truth_m.shape[0], est_m.shape[0]
    if n == 0 or k == 0:
        return (0.0 if n + k == 0 else float(c_m)), float((c_m**p / 2.0 * (n + k)) ** (1.0 / p))
    _, dist = match_numpy(truth_m, est_m, c_m, p)
    hit = np.isfinite(dist)
    m = int(hit.sum())
    local = float(np.sum(dist[hit] ** p))
    big = max(n, k)
    o = float(((local + c_m**p * (big - m)) / big) ** (1.0 / p))
    return o, float((local + c_m**p / 2.0 * (n + k - 2 * m)) ** (1.0 / p))


def quality_numpy(
    frames: list[tuple[F64, I64, F64, I64]],
    c_m: float = 1000.0,
    p: float = 1.0,
    errors: list[tuple[float, float]] | None = None,
) -> TrackQuality:
    """Score frames ``(truth_pos (n, 3), truth_id (n,), track_pos (k, 3), track_id (k,))``.

    ``errors`` are the frames' ``(OSPA, GOSPA)`` when already computed
    (:func:`ospa_gospa`, same ``c_m`` and ``p``), one per frame.

    Truths are matched to tracks as in the CLEAR MOT metrics (Bernardin and
    Stiefelhagen, EURASIP JIVP 2008): a truth keeps the track it had at the previous
    instant while that track is still within ``c_m``; the others are matched by the
    optimal assignment. An identity change is a truth matched to a different track
    than at its previous match; a spurious track is one never matched to a truth.
    The loop is over evaluation instants (one per scan or sampling step), each vectorised.
    """
    ospas, gospas = [], []
    covered = total = changes = 0
    top = max((int(f[1].max()) for f in frames if f[1].size), default=-1)
    last = np.full(top + 1, -1, np.int64)
    seen: list[I64] = []
    assigned: list[I64] = []
    if errors is None:
        errors = [ospa_gospa_numpy(f[0], f[2], c_m, p) for f in frames]
    for (truth_m, truth_id, est_m, est_id), (o, g) in zip(frames, errors, strict=True):
        ospas.append(o)
        gospas.append(g)
        seen.append(est_id)
        total += truth_m.shape[0]
        if truth_m.shape[0] == 0 or est_m.shape[0] == 0:
            continue
        a = continue_numpy(truth_m, truth_id, est_m, est_id, last, c_m, p)
        hit = np.flatnonzero(a >= 0)
        covered += hit.size
        now = est_id[a[hit]]
        assigned.append(now)
        before = last[truth_id[hit]]
        changes += int(np.count_nonzero((before >= 0) & (before != now)))
        last[truth_id[hit]] = now
    return TrackQuality(
        ospa_m_mean=float(np.mean(ospas)) if ospas else 0.0,
        gospa_mean=float(np.mean(gospas)) if gospas else 0.0,
        completeness=covered / total if total else 1.0,
        spurious_tracks=int(
            np.setdiff1d(
                np.concatenate([*seen, np.empty(0, np.int64)]),
                np.concatenate([*assigned, np.empty(0, np.int64)]),
            ).size
        ),
        id_changes=changes,
        instants=len(frames),
    )

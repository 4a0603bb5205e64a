"""Tracking quality: OSPA, GOSPA, completeness, spurious tracks and identity changes.

OSPA (Schuhmacher, Vo and Vo, IEEE TSP 56(8), 2008) and GOSPA with alpha = 2
(Rahmathullah, Garcia-Fernandez and Svensson, FUSION 2017) both need an optimal
assignment between truths and tracks. Pairs farther apart than the cut-off ``c``
cost the same as leaving both unassigned, so only pairs within ``c`` matter: they
are found on a grid of cells and assigned with the clustered solver of
:mod:`iamd.tracking.association` (its ``gate`` and ``assign`` kernels), which keeps the
metrics near-linear for spread-out raids (a dense assignment over 10,000 x 10,000 would
not fit). The scoring runs compiled; the NumPy code it replaced is the oracle of its tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.tracking.association import assign, gate

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


PAIRWISE_BLOCK = 128
"""NumPy's pairwise summation block (``PW_BLOCKSIZE``)."""


@njit(cache=True)
def pairwise_sum(a: F64, lo: int, n: int) -> float:
    """Sum of ``a[lo:lo + n]`` as ``numpy.sum`` adds a contiguous float array, so that both
    agree to the bit: halves split at a multiple of 8, summed recursively down to blocks
    of at most 128 (:func:`_block_sum`). The recursion runs on an explicit stack (a
    recursive kernel does not survive Numba's cache)."""
    if n <= PAIRWISE_BLOCK:
        return _block_sum(a, lo, n)
    start = np.empty(64, np.int64)  # depth is at most log2(n / 128) + 1
    size = np.empty(64, np.int64)
    stage = np.empty(64, np.int64)  # 0: left half next, 1: right half next, 2: add them
    value = np.empty(64)
    depth, done = 0, 0
    start[0], size[0], stage[0] = lo, n, 0
    while depth >= 0:
        m = size[depth]
        if m <= PAIRWISE_BLOCK:
            value[done] = _block_sum(a, start[depth], m)
            done += 1
            depth -= 1
            continue
        half = m // 2
        half -= half % 8
        if stage[depth] == 2:
            done -= 1
            value[done - 1] = value[done - 1] + value[done]
            depth -= 1
            continue
        right = stage[depth] == 1
        stage[depth] += 1
        start[depth + 1] = start[depth] + (half if right else 0)
        size[depth + 1] = m - half if right else half
        stage[depth + 1] = 0
        depth += 1
    return float(value[0])


@njit(cache=True)
def _block_sum(a: F64, lo: int, n: int) -> float:
    """``numpy.sum`` of ``a[lo:lo + n]``, n <= 128: in order below 8, else eight running
    sums over whole octets, combined in pairs, then the rest in order."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r = a[lo : lo + 8].copy()
    i = 8
    while i < n - n % 8:
        for j in range(8):
            r[j] += a[lo + i + j]
        i += 8
    total = float(((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])))
    for k in range(i, n):
        total += a[lo + k]
    return total


@njit(cache=True, inline="always")
def _distance(a: F64, i: int, b: F64, j: int) -> float:
    """``|a[i] - b[j]|`` of two position rows (3,), m, summed as ``numpy.linalg.norm``."""
    dx, dy, dz = a[i, 0] - b[j, 0], a[i, 1] - b[j, 1], a[i, 2] - b[j, 2]
    return math.sqrt(dx * dx + dy * dy + dz * dz)


@njit(cache=True)
def _match(truth_m: F64, est_m: F64, c_m: float, p: float) -> tuple[I64, F64]:
    """Optimal truth-to-estimate assignment under cut-off ``c_m``: the estimate of each
    truth (n,) (-1 for none) and its distance (inf for none), m."""
    n = truth_m.shape[0]
    ti, di = gate(truth_m, est_m, np.full(n, c_m))
    keep = np.empty(ti.size, np.bool_)
    d = np.empty(ti.size)
    for q in range(ti.size):
        d[q] = _distance(truth_m, ti[q], est_m, di[q])
        keep[q] = d[q] < c_m
    ti, di, d = ti[keep], di[keep], d[keep]
    # minimise sum over pairs of (d^p - c^p): leaving a truth unassigned costs 0
    cost = np.empty(d.size)
    for q in range(d.size):
        cost[q] = d[q] ** p - c_m**p
    a = assign(n, est_m.shape[0], ti, di, cost, 0.0)
    dist = np.full(n, np.inf)
    for i in range(n):
        if a[i] >= 0:
            dist[i] = _distance(truth_m, i, est_m, a[i])
    return a, dist


@njit(cache=True)
def _continue(
    truth_m: F64, truth_id: I64, est_m: F64, est_id: I64, last: I64, c_m: float, p: float
) -> I64:
    """Match truths to estimates, keeping each truth's previous track while it is within c."""
    n, k = truth_m.shape[0], est_m.shape[0]
    a = np.full(n, -1, np.int64)
    # an identity's first row: the first of its run in a stable sort of the identities
    order = np.argsort(est_id, kind="mergesort")
    ids = est_id[order]
    taken = np.zeros(k, np.bool_)
    for t in range(n):  # the previous track, if still near; one truth per track
        prev = last[truth_id[t]]
        q = np.searchsorted(ids, prev) if prev >= 0 else k
        if q < k and ids[q] == prev:
            e = order[q]
            if not taken[e] and _distance(truth_m, t, est_m, e) < c_m:
                a[t] = e
                taken[e] = True
    free_t = np.flatnonzero(a < 0)
    free_e = np.flatnonzero(~taken)
    if free_t.size and free_e.size:
        sub, _ = _match(truth_m[free_t], est_m[free_e], c_m, p)
        for q in range(free_t.size):
            if sub[q] >= 0:
                a[free_t[q]] = free_e[sub[q]]
    return a


@njit(cache=True)
def _ospa_gospa(truth_m: F64, est_m: F64, c_m: float, p: float) -> tuple[float, float]:
    """Kernel of :func:`ospa_gospa`."""
    n, k = truth_m.shape[0], est_m.shape[0]
    if n == 0 or k == 0:
        return (0.0 if n + k == 0 else c_m), (c_m**p / 2.0 * (n + k)) ** (1.0 / p)
    _, dist = _match(truth_m, est_m, c_m, p)
    powered = np.empty(n)
    m = 0
    for i in range(n):
        if math.isfinite(dist[i]):
            powered[m] = dist[i] ** p
            m += 1
    local = pairwise_sum(powered, 0, m)
    big = max(n, k)
    o = ((local + c_m**p * (big - m)) / big) ** (1.0 / p)
    return o, (local + c_m**p / 2.0 * (n + k - 2 * m)) ** (1.0 / p)


def ospa_gospa(
    truth_m: F64, est_m: F64, c_m: float = 1000.0, p: float = 1.0
) -> tuple[float, float]:
    """OSPA and GOSPA (alpha = 2) between position sets ``truth_m`` (n, 3) and ``est_m``
    (k, 3), m, from one optimal assignment.

    With the cut-off, both minimise the sum over assigned pairs of ``d^p - c^p`` (a pair
    at or beyond ``c`` costs what leaving both unassigned costs), so one assignment
    serves both. OSPA is zero when both sets are empty and ``c_m`` when exactly one is;
    GOSPA counts ``c^p / 2`` per missed truth and per false track.
    """
    truth, est = _rows(truth_m), _rows(est_m)
    n, k = truth.shape[0], est.shape[0]
    errors = np.empty((1, 2))
    _score(truth, np.arange(n), np.array([0, n]), est, np.arange(k), np.array([0, k]),
           float(c_m), float(p), errors, True)  # fmt: skip
    return float(errors[0, 0]), float(errors[0, 1])


def _rows(points_m: F64) -> F64:
    """Positions as a C-contiguous (n, 3) float array."""
    return np.ascontiguousarray(np.asarray(points_m, dtype=np.float64).reshape(-1, 3))


def ospa(truth_m: F64, est_m: F64, c_m: float = 1000.0, p: float = 1.0) -> float:
    """OSPA distance between position sets ``truth_m`` (n, d) and ``est_m`` (k, d), m.

    Zero when both are empty; ``c_m`` when exactly one is.
    """
    return ospa_gospa(truth_m, est_m, c_m, p)[0]


def gospa(truth_m: F64, est_m: F64, c_m: float = 1000.0, p: float = 1.0) -> float:
    """GOSPA (alpha = 2) between position sets, m.

    Localisation error of the assigned pairs plus ``c^p / 2`` per missed truth and per
    false track.
    """
    return ospa_gospa(truth_m, est_m, c_m, p)[1]


@dataclass(frozen=True, slots=True)
class TrackQuality:
    """Tracking quality over a run.

    Attributes
    ----------
    ospa_m_mean : mean OSPA over the evaluation instants, m.
    gospa_mean : mean GOSPA, m.
    completeness : share of (instant, truth) pairs with a track assigned.
    spurious_tracks : distinct tracks never assigned to a truth.
    id_changes : times a truth's assigned track identity changed to another.
    instants : evaluation instants counted.
    """

    ospa_m_mean: float
    gospa_mean: float
    completeness: float
    spurious_tracks: int
    id_changes: int
    instants: int


def quality(
    frames: list[tuple[F64, I64, F64, I64]],
    c_m: float = 1000.0,
    p: float = 1.0,
    errors: list[tuple[float, float]] | F64 | None = None,
) -> TrackQuality:
    """Score frames ``(truth_pos (n, 3), truth_id (n,), track_pos (k, 3), track_id (k,))``.

    ``errors`` are the frames' ``(OSPA, GOSPA)`` (f, 2) when already computed
    (:func:`ospa_gospa`, same ``c_m`` and ``p``), one per frame.

    Truths are matched to tracks as in the CLEAR MOT metrics (Bernardin and
    Stiefelhagen, EURASIP JIVP 2008): a truth keeps the track it had at the previous
    instant while that track is still within ``c_m``; the others are matched by the
    optimal assignment. An identity change is a truth matched to a different track
    than at its previous match; a spurious track is one never matched to a truth.
    """
    return score_frames(frames, c_m, p, errors)[0]


def score_frames(
    frames: list[tuple[F64, I64, F64, I64]],
    c_m: float = 1000.0,
    p: float = 1.0,
    errors: list[tuple[float, float]] | F64 | None = None,
) -> tuple[TrackQuality, F64]:
    """:func:`quality` and each frame's ``(OSPA, GOSPA)`` (f, 2), the given ``errors`` or
    those computed (:func:`ospa_gospa`) in the same compiled pass over the frames
    (:func:`_score`)."""
    truth_off = np.cumsum([0] + [f[0].shape[0] for f in frames], dtype=np.int64)
    est_off = np.cumsum([0] + [f[2].shape[0] for f in frames], dtype=np.int64)

    def stacked(j: int, dtype: type, width: tuple[int, ...]) -> NDArray[Any]:
        parts = [np.reshape(f[j], (-1, *width)) for f in frames]
        return np.concatenate([np.empty((0, *width), dtype), *parts], dtype=dtype)

    truth_m, est_m = stacked(0, np.float64, (3,)), stacked(2, np.float64, (3,))
    truth_id, est_id = stacked(1, np.int64, ()), stacked(3, np.int64, ())
    given = errors is not None
    errs = np.array(errors, np.float64).reshape(-1, 2) if given else np.empty((len(frames), 2))
    covered, changes, assigned = _score(
        truth_m, truth_id, truth_off, est_m, est_id, est_off, float(c_m), float(p), errs,
        not given,
    )  # fmt: skip
    ospas, gospas = errs[:, 0].copy(), errs[:, 1].copy()
    total = int(truth_off[-1])
    q = TrackQuality(
        ospa_m_mean=float(np.mean(ospas)) if frames else 0.0,
        gospa_mean=float(np.mean(gospas)) if frames else 0.0,
        completeness=covered / total if total else 1.0,
        spurious_tracks=int(np.setdiff1d(est_id, assigned).size),
        id_changes=int(changes),
        instants=len(frames),
    )
    return q, errs


@njit(cache=True)
def _score(
    truth_m: F64,
    truth_id: I64,
    truth_off: I64,
    est_m: F64,
    est_id: I64,
    est_off: I64,
    c_m: float,
    p: float,
    errors: F64,
    with_errors: bool,
) -> tuple[int, int, I64]:
    """The frames of :func:`quality`, stacked (frame ``f`` is rows ``off[f]:off[f + 1]``):
    truths kept on a track, identity changes, and every track identity matched (with
    repeats); with ``with_errors``, each frame's OSPA and GOSPA (:func:`_ospa_gospa`) into
    ``errors`` (f, 2)."""
    top = -1
    for i in range(truth_id.size):
        top = max(top, truth_id[i])
    last = np.full(top + 1, -1, np.int64)
    assigned = np.empty(truth_id.size, np.int64)
    covered = changes = 0
    for f in range(truth_off.size - 1):
        t0, t1, e0, e1 = truth_off[f], truth_off[f + 1], est_off[f], est_off[f + 1]
        if with_errors:
            errors[f, 0], errors[f, 1] = _ospa_gospa(truth_m[t0:t1], est_m[e0:e1], c_m, p)
        if t1 == t0 or e1 == e0:
            continue
        ids = truth_id[t0:t1]
        a = _continue(truth_m[t0:t1], ids, est_m[e0:e1], est_id[e0:e1], last, c_m, p)
        first = covered
        for i in range(a.size):  # changes against the previous instant's matches
            if a[i] >= 0:
                now = est_id[e0 + a[i]]
                assigned[covered] = now
                covered += 1
                before = last[ids[i]]
                if before >= 0 and before != now:
                    changes += 1
        q = first
        for i in range(a.size):  # then this instant's matches become the previous ones
            if a[i] >= 0:
                last[ids[i]] = assigned[q]
                q += 1
    return covered, changes, assigned[:covered]

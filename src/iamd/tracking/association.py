"""Gating and global-nearest-neighbour assignment of detections to tracks, compiled.

Gating is two-stage: a uniform grid of cells two gate radii wide (spatial hashing)
finds every (track, detection) pair within a Euclidean radius of the track's predicted
position, near-linear in the number of objects for spread-out raids, then the
Mahalanobis distance of each surviving pair decides. The assignment problem is split
into the connected components of the gated bipartite graph (union-find): a pair that
conflicts with nobody is assigned directly, and each remaining cluster is solved
exactly by the shortest augmenting path algorithm (:func:`assign_rows`), with a "missed
detection" column per track at cost ``missed``. This is the same optimisation as one big
assignment over all tracks (Stone Soup's ``GNNWith2DAssignment``), solved per cluster.

Every function here is a Numba kernel (``@njit(cache=True)``) with a thin Python entry
point; the SciPy versions they replaced (``cKDTree``, ``connected_components``,
``linear_sum_assignment``) are their oracles in the tests.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

DENSE_PAIRS = 4096
"""Up to this many (track, detection) combinations are gated by brute force."""
SMALL_PAIRS = 200
"""Up to this many conflicting pairs are solved as one assignment, without clustering."""
MAX_CELLS = 1 << 60
"""Grids with more cells than this (a tiny radius over a huge extent) gate by brute force."""


@njit(cache=True)
def assign_rows(cost: F64) -> tuple[I64, bool]:
    """Minimum-cost assignment of every row of ``cost`` (r, c), r <= c, to its own column.

    The shortest augmenting path algorithm of Crouse (IEEE Trans. Aerospace and
    Electronic Systems 52(4), 2016, pp. 1685-1686), Dijkstra-like on reduced costs with
    row and column potentials, one row added per pass. Ties are broken as
    ``scipy.optimize.linear_sum_assignment`` breaks them (columns scanned from the last,
    an unassigned column preferred at equal cost), so both return the same assignment.

    Parameters
    ----------
    cost : (r, c) costs, ``inf`` for a forbidden pair; no nan or ``-inf``.

    Returns
    -------
    col4row : (r,) the column of each row.
    ok : False when no assignment avoids every ``inf`` (``col4row`` is then meaningless).
    """
    nr, nc = cost.shape
    col4row = np.full(nr, -1, np.int64)
    if nr == 0:
        return col4row, True
    low = np.inf
    for i in range(nr):
        for j in range(nc):
            low = min(low, cost[i, j])
    c = cost - low  # non-negative reduced start, as the reference does
    u = np.zeros(nr)
    v = np.zeros(nc)
    shortest = np.empty(nc)
    path = np.full(nc, -1, np.int64)
    row4col = np.full(nc, -1, np.int64)
    in_rows = np.zeros(nr, np.bool_)
    in_cols = np.zeros(nc, np.bool_)
    remaining = np.empty(nc, np.int64)
    for cur in range(nr):
        for it in range(nc):
            remaining[it] = nc - it - 1
        n_rem = nc
        in_rows[:] = False
        in_cols[:] = False
        shortest[:] = np.inf
        min_val = 0.0
        i = cur
        sink = -1
        while sink == -1:
            index = -1
            lowest = np.inf
            in_rows[i] = True
            for it in range(n_rem):
                j = remaining[it]
                r = min_val + c[i, j] - u[i] - v[j]
                if r < shortest[j]:
                    path[j] = i
                    shortest[j] = r
                if shortest[j] < lowest or (shortest[j] == lowest and row4col[j] == -1):
                    lowest = shortest[j]
                    index = it
            min_val = lowest
            if min_val == np.inf:
                return col4row, False
            j = remaining[index]
            if row4col[j] == -1:
                sink = j
            else:
                i = row4col[j]
            in_cols[j] = True
            n_rem -= 1
            remaining[index] = remaining[n_rem]
        u[cur] += min_val
        for i in range(nr):
            if in_rows[i] and i != cur:
                u[i] += min_val - shortest[col4row[i]]
        for j in range(nc):
            if in_cols[j]:
                v[j] -= min_val - shortest[j]
        j = sink
        while True:
            i = path[j]
            row4col[j] = i
            j, col4row[i] = col4row[i], j
            if i == cur:
                break
    return col4row, True


@njit(cache=True)
def _assign_rows_entry(cost: F64) -> tuple[I64, bool]:
    """:func:`assign_rows` for calls from Python.

    A kernel that other cached kernels call is not called from Python directly: when
    its caller is loaded from the cache first, Numba can leave the callee's own
    environment unset, and returning an array from it to Python then fails
    ("'descr' is NULL"). Each Python entry point is therefore its own kernel.
    """
    return assign_rows(cost)


def linear_assignment(cost: F64) -> tuple[I64, I64]:
    """``scipy.optimize.linear_sum_assignment`` (minimising) on the compiled solver.

    Parameters
    ----------
    cost : (r, c) costs, ``inf`` where a pair is not allowed.

    Returns
    -------
    rows, cols : (min(r, c),) the chosen pairs, sorted by row.

    Raises
    ------
    ValueError
        For nan or ``-inf`` costs, or when every assignment needs an ``inf`` pair.
    """
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"cost must be a matrix, got shape {c.shape}")
    if np.isnan(c).any() or np.isneginf(c).any():
        raise ValueError("cost matrix contains nan or -inf")
    flip = c.shape[0] > c.shape[1]
    col4row, ok = _assign_rows_entry(np.ascontiguousarray(c.T if flip else c))
    if not ok:
        raise ValueError("cost matrix is infeasible")
    rows = np.arange(col4row.size, dtype=np.int64)
    if flip:
        order = np.argsort(col4row)
        return col4row[order], rows[order]
    return rows, col4row


@njit(cache=True)
def _gate_brute(pred_m: F64, det_m: F64, r_m: F64) -> tuple[I64, I64]:
    n, m, dim = pred_m.shape[0], det_m.shape[0], pred_m.shape[1]
    ti = np.empty(16, np.int64)
    di = np.empty(16, np.int64)
    k = 0
    for i in range(n):
        r2 = r_m[i] * r_m[i]
        for j in range(m):
            d2 = 0.0
            for c in range(dim):
                e = pred_m[i, c] - det_m[j, c]
                d2 += e * e
            if d2 <= r2:
                if k == ti.size:
                    ti = np.concatenate((ti, np.empty(k, np.int64)))
                    di = np.concatenate((di, np.empty(k, np.int64)))
                ti[k] = i
                di[k] = j
                k += 1
    return ti[:k], di[:k]


@njit(cache=True)
def _gate_grid(pred_m: F64, det_m: F64, r_m: F64) -> tuple[I64, I64]:
    """Pairs within ``r_m`` by a 3-D grid of cells ``2 max(r_m)`` wide over the detections.

    A ball of radius r around a point lies in the point's cell and, on each axis, the
    neighbouring cell on the side of the nearer face: eight cells to look in."""
    n, m = pred_m.shape[0], det_m.shape[0]
    cell = 2.0 * r_m.max()
    lo = np.empty(3)
    dims = np.empty(3, np.int64)
    total = 1.0
    for c in range(3):
        lo[c] = det_m[:, c].min()
        dims[c] = int((det_m[:, c].max() - lo[c]) / cell) + 1
        total *= dims[c]
    if not cell > 0.0 or total > MAX_CELLS:
        return _gate_brute(pred_m, det_m, r_m)
    key = np.empty(m, np.int64)
    for j in range(m):
        k = 0
        for c in range(3):
            k = k * dims[c] + int((det_m[j, c] - lo[c]) / cell)
        key[j] = k
    # detections grouped by cell: a counting sort with a table of cell starts when the
    # grid is small enough, else a sort and binary searches
    dense = total <= 8 * m + 65536
    if dense:
        start = np.zeros(int(total) + 1, np.int64)
        for j in range(m):
            start[key[j] + 1] += 1
        for q in range(int(total)):
            start[q + 1] += start[q]
        order = np.empty(m, np.int64)
        fill = start[:-1].copy()
        for j in range(m):
            order[fill[key[j]]] = j
            fill[key[j]] += 1
        sorted_key = key  # unused
    else:
        start = np.zeros(1, np.int64)  # unused
        order = np.argsort(key, kind="mergesort")
        sorted_key = key[order]
    ti = np.empty(16, np.int64)
    di = np.empty(16, np.int64)
    found = np.empty(16, np.int64)
    cells = np.empty((3, 2), np.int64)
    n_pairs = 0
    for i in range(n):
        r2 = r_m[i] * r_m[i]
        for c in range(3):
            f = (pred_m[i, c] - lo[c]) / cell
            base = math.floor(f)
            cells[c, 0] = base
            cells[c, 1] = base - 1 if f - base < 0.5 else base + 1
        n_found = 0
        for a in range(2):
            gx = cells[0, a]
            if gx < 0 or gx >= dims[0]:
                continue
            for b in range(2):
                gy = cells[1, b]
                if gy < 0 or gy >= dims[1]:
                    continue
                for e in range(2):
                    gz = cells[2, e]
                    if gz < 0 or gz >= dims[2]:
                        continue
                    k = (gx * dims[1] + gy) * dims[2] + gz
                    if dense:
                        s, end = start[k], start[k + 1]
                    else:
                        s = np.searchsorted(sorted_key, k)
                        end = np.searchsorted(sorted_key, k, side="right")
                    while s < end:
                        j = order[s]
                        s += 1
                        d2 = 0.0
                        for c in range(3):
                            dc = pred_m[i, c] - det_m[j, c]
                            d2 += dc * dc
                        if d2 <= r2:
                            if n_found == found.size:
                                found = np.concatenate((found, np.empty(n_found, np.int64)))
                            found[n_found] = j
                            n_found += 1
        if n_found == 0:
            continue
        js = np.sort(found[:n_found])
        while n_pairs + n_found > ti.size:
            ti = np.concatenate((ti, np.empty(ti.size, np.int64)))
            di = np.concatenate((di, np.empty(di.size, np.int64)))
        ti[n_pairs : n_pairs + n_found] = i
        di[n_pairs : n_pairs + n_found] = js
        n_pairs += n_found
    return ti[:n_pairs], di[:n_pairs]


@njit(cache=True)
def gate(pred_m: F64, det_m: F64, r_m: F64) -> tuple[I64, I64]:
    """Every (track, detection) pair with ``|pred - det| <= r`` (kernel of :func:`gate_pairs`).

    Parameters
    ----------
    pred_m : (n, d) predicted positions, m.
    det_m : (m, d) detection positions, m.
    r_m : (n,) gate radius of each track, m.

    Returns
    -------
    ti, di : (k,) track and detection indices, sorted by track then detection.
    """
    n, m = pred_m.shape[0], det_m.shape[0]
    if n == 0 or m == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if n * m <= DENSE_PAIRS or pred_m.shape[1] != 3:
        return _gate_brute(pred_m, det_m, r_m)
    return _gate_grid(pred_m, det_m, r_m)


@njit(cache=True)
def _gate_entry(pred_m: F64, det_m: F64, r_m: F64) -> tuple[I64, I64]:
    """:func:`gate` for calls from Python (see :func:`_assign_rows_entry`)."""
    return gate(pred_m, det_m, r_m)


def gate_pairs(pred_m: F64, det_m: F64, radius_m: float | F64) -> tuple[I64, I64]:
    """Every (track, detection) pair closer than ``radius_m``.

    Parameters
    ----------
    pred_m : (n, d) predicted track positions (or predicted measurements), m.
    det_m : (m, d) detection positions in the same space, m.
    radius_m : gate radius, m; a scalar, or (n,) one per track.

    Returns
    -------
    ti, di : (k,) track and detection indices of the pairs, sorted by track then detection.
    """
    pred = np.ascontiguousarray(pred_m, dtype=np.float64)
    r = np.ascontiguousarray(np.broadcast_to(np.asarray(radius_m, dtype=np.float64), (len(pred),)))
    return _gate_entry(pred, np.ascontiguousarray(det_m, dtype=np.float64), r)


@njit(cache=True)
def mahalanobis_one(v: F64, s_inv: F64) -> float:
    """Mahalanobis distance ``sqrt(v' S^-1 v)`` of one innovation (m,) with ``S^-1`` (m, m)."""
    d2 = 0.0
    for a in range(v.size):
        row = 0.0
        for b in range(v.size):
            row += s_inv[a, b] * v[b]
        d2 += v[a] * row
    return math.sqrt(max(d2, 0.0))


@njit(cache=True)
def _solve_cluster(out: I64, ti: I64, di: I64, cost: F64, missed: float) -> None:
    """Exact assignment of one set of candidate pairs (k,), written into ``out``.

    Rows are the pairs' tracks in increasing order, columns their detections in
    increasing order followed by one "missed" column per track."""
    tracks = np.unique(ti)
    dets = np.unique(di)
    a, b = tracks.size, dets.size
    mat = np.full((a, b + a), np.inf)
    for k in range(ti.size):
        mat[np.searchsorted(tracks, ti[k]), np.searchsorted(dets, di[k])] = cost[k]
    for r in range(a):
        mat[r, b + r] = missed
    col4row, _ = assign_rows(mat)  # always feasible: every row has its missed column
    for r in range(a):
        if col4row[r] < b:
            out[tracks[r]] = dets[col4row[r]]


@njit(cache=True)
def _root(parent: I64, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True)
def components(n_nodes: int, a: I64, b: I64) -> I64:
    """Connected components of an undirected graph by union-find.

    Parameters
    ----------
    n_nodes : number of nodes.
    a, b : (k,) the two ends of each edge.

    Returns
    -------
    (n_nodes,) a label per node: the smallest node of its component.
    """
    parent = np.arange(n_nodes)
    for k in range(a.size):
        ra, rb = _root(parent, a[k]), _root(parent, b[k])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    label = np.empty(n_nodes, np.int64)
    for x in range(n_nodes):
        label[x] = _root(parent, x)
    return label


@njit(cache=True)
def assign(n_tracks: int, n_dets: int, ti: I64, di: I64, cost: F64, missed: float) -> I64:
    """Global nearest neighbour (kernel of :func:`gnn`); see there."""
    out = np.full(n_tracks, -1, np.int64)
    ok = cost < missed
    ti, di, cost = ti[ok], di[ok], cost[ok]
    if ti.size == 0:
        return out
    per_track = np.zeros(n_tracks, np.int64)
    per_det = np.zeros(n_dets, np.int64)
    for k in range(ti.size):
        per_track[ti[k]] += 1
        per_det[di[k]] += 1
    rest = np.empty(ti.size, np.int64)
    n_rest = 0
    for k in range(ti.size):
        if per_track[ti[k]] == 1 and per_det[di[k]] == 1:
            out[ti[k]] = di[k]  # a pair that conflicts with nobody
        else:
            rest[n_rest] = k
            n_rest += 1
    rest = rest[:n_rest]
    if n_rest == 0:
        return out
    if n_rest <= SMALL_PAIRS:  # one small problem: solve it whole (block-diagonal)
        _solve_cluster(out, ti[rest], di[rest], cost[rest], missed)
        return out
    # connected components of the conflicting pairs (tracks 0..n-1, detections n..n+m-1)
    label = components(n_tracks + n_dets, ti[rest], n_tracks + di[rest])
    comp = label[ti[rest]]
    rest = rest[np.argsort(comp, kind="mergesort")]
    comp = np.sort(comp)
    start = 0
    for q in range(1, n_rest + 1):
        if q == n_rest or comp[q] != comp[start]:
            grp = rest[start:q]
            _solve_cluster(out, ti[grp], di[grp], cost[grp], missed)
            start = q
    return out


@njit(cache=True)
def _assign_entry(n_tracks: int, n_dets: int, ti: I64, di: I64, cost: F64, missed: float) -> I64:
    """:func:`assign` for calls from Python (see :func:`_assign_rows_entry`)."""
    return assign(n_tracks, n_dets, ti, di, cost, missed)


def gnn(n_tracks: int, n_dets: int, ti: I64, di: I64, cost: F64, missed: float) -> I64:
    """Global nearest neighbour: the assignment minimising total cost.

    Each track takes at most one detection and each detection at most one track;
    a track left without one costs ``missed``. Only pairs with ``cost < missed``
    can be chosen.

    Parameters
    ----------
    ti, di, cost : (k,) candidate pairs and their costs (e.g. Mahalanobis distances).

    Returns
    -------
    (n_tracks,) the detection assigned to each track, -1 for none.
    """
    return _assign_entry(
        int(n_tracks),
        int(n_dets),
        np.ascontiguousarray(ti, dtype=np.int64),
        np.ascontiguousarray(di, dtype=np.int64),
        np.ascontiguousarray(cost, dtype=np.float64),
        float(missed),
    )

"""Gating and global-nearest-neighbour assignment of detections to tracks.

Gating is two-stage: a k-d tree on the detections' positions finds every
(track, detection) pair within a Euclidean radius of the track's predicted
position (near-linear in the number of objects for spread-out raids), then the
Mahalanobis distance of each surviving pair decides. The assignment problem is
split into the connected components of the gated bipartite graph: a pair that
conflicts with nobody is assigned directly, and each remaining cluster is solved
exactly with :func:`scipy.optimize.linear_sum_assignment`, with a "missed
detection" column per track at cost ``missed``. This is the same optimisation
as one big assignment over all tracks (Stone Soup's ``GNNWith2DAssignment``),
solved per cluster.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

DENSE_PAIRS = 4096
"""Up to this many (track, detection) combinations are gated by brute force."""
SMALL_PAIRS = 200
"""Up to this many conflicting pairs are solved as one assignment, without clustering."""


def gate_pairs(pred_m: F64, det_m: F64, radius_m: float | F64) -> tuple[I64, I64]:
    """Every (track, detection) pair closer than ``radius_m``, by k-d tree.

    Parameters
    ----------
    pred_m : (n, d) predicted track positions (or predicted measurements), m.
    det_m : (m, d) detection positions in the same space, m.
    radius_m : gate radius, m; a scalar, or (n,) one per track.

    Returns
    -------
    ti, di : (k,) track and detection indices of the pairs, sorted by track then detection.
    """
    n, m = pred_m.shape[0], det_m.shape[0]
    if n == 0 or m == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    r = np.broadcast_to(np.asarray(radius_m, dtype=float), (n,))
    if n * m <= DENSE_PAIRS:  # small problems: every distance at once beats building a tree
        d2 = np.sum((pred_m[:, None, :] - det_m[None, :, :]) ** 2, axis=2)
        ti, di = np.nonzero(d2 <= (r * r)[:, None])
        return ti.astype(np.int64), di.astype(np.int64)
    tree = cKDTree(det_m)
    if np.all(r == r[0]):
        other = cKDTree(pred_m)
        sdm = other.sparse_distance_matrix(tree, float(r[0]), output_type="ndarray")
        ti = sdm["i"].astype(np.int64)
        di = sdm["j"].astype(np.int64)
    else:
        hits = tree.query_ball_point(pred_m, r, return_sorted=False)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=n)
        ti = np.repeat(np.arange(n, dtype=np.int64), counts)
        di = (
            np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if h])
            if counts.sum()
            else np.empty(0, np.int64)
        )
    order = np.lexsort((di, ti))
    return ti[order], di[order]


def mahalanobis(innovation: F64, s_inv: F64) -> F64:
    """Mahalanobis distance sqrt(v' S^-1 v) of innovations ``v`` (k, m) with ``S^-1`` (k, m, m)."""
    d2 = np.einsum("ki,kij,kj->k", innovation, s_inv, innovation)
    return np.asarray(np.sqrt(np.maximum(d2, 0.0)))


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
    out = np.full(n_tracks, -1, dtype=np.int64)
    ok = cost < missed
    ti, di, cost = ti[ok], di[ok], cost[ok]
    if ti.size == 0:
        return out
    # a pair whose track and detection have no other candidate is assigned directly
    single = (np.bincount(ti, minlength=n_tracks)[ti] == 1) & (
        np.bincount(di, minlength=n_dets)[di] == 1
    )
    out[ti[single]] = di[single]
    rest = np.flatnonzero(~single)
    if rest.size == 0:
        return out
    if rest.size <= SMALL_PAIRS:  # one small problem: solve it whole (block-diagonal)
        _solve(out, ti[rest], di[rest], cost[rest], missed)
        return out
    # connected components of the conflicting part of the gate graph
    # (tracks 0..n-1, detections n..n+m-1)
    n_nodes = n_tracks + n_dets
    graph = coo_matrix(
        (np.ones(rest.size), (ti[rest], n_tracks + di[rest])), shape=(n_nodes, n_nodes)
    )
    _, label = connected_components(graph, directed=False)
    comp = label[ti]
    rest = rest[np.argsort(comp[rest], kind="stable")]
    bounds = np.flatnonzero(np.diff(comp[rest])) + 1
    for grp in np.split(rest, bounds):  # loop over conflicting clusters only
        _solve(out, ti[grp], di[grp], cost[grp], missed)
    return out


def _solve(out: I64, ti: I64, di: I64, cost: F64, missed: float) -> None:
    """Exact assignment of one set of candidate pairs, written into ``out``."""
    tracks, t_loc = np.unique(ti, return_inverse=True)
    dets, d_loc = np.unique(di, return_inverse=True)
    a, b = tracks.size, dets.size
    mat = np.full((a, b + a), np.inf)
    mat[t_loc, d_loc] = cost
    mat[np.arange(a), b + np.arange(a)] = missed
    rows, cols = linear_sum_assignment(mat)
    hit = cols < b
    out[tracks[rows[hit]]] = dets[cols[hit]]

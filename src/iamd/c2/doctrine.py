"""Layered greedy weapon-target assignment for one C2 cycle.

Threats are served in order of value at risk (then earliest predicted impact).
Each takes its preferred feasible fire unit: for ballistic threats that an upper tier
(layer <= ``UPPER_TIER``) can take, the highest layer first (the lower layers are held
for leakers, and an early upper-tier shot leaves time to look and shoot again); for
everything else (rockets, drones, cruise missiles), with ``prefer_cheap``, the lowest
cost per expected kill. A unit whose cost is more than
``CHEAP_RATIO`` times that of another unit that can still take the threat later
holds its fire. Units serve at most their free capacity this cycle; threats
turned away by a full unit fall to their next choice, round after round.

Who may engage what comes first: a unit engages threats to the assets its owner defends
(or everything, with ``engage: all``) and threats coming at itself
(:func:`self_threats`); per interceptor class, it yields a threat to a better layer below
``yield_below_pk`` and fires as a last ditch when nobody else can (:func:`screen`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.c2.envelope import path_sphere

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

CHEAP_RATIO = 5.0
UPPER_TIER = 2
"""Layers up to this one are ballistic-missile defence tiers."""


@dataclass(frozen=True, slots=True)
class Candidates:
    """Feasible (unit, threat) pairs of one cycle (struct of arrays, length p).

    Attributes
    ----------
    unit : (p,) fire-unit index.
    row : (p,) row of the threat in the cycle's assessment.
    pk : (p,) single-shot kill probability.
    cost_usd : (p,) cost of one shot.
    layer : (p,) interceptor layer (1 = upper).
    """

    unit: I64
    row: I64
    pk: F64
    cost_usd: F64
    layer: I64


def hold_for_cheaper(cand: Candidates, later_row: I64, later_cost_usd: F64, n_rows: int) -> BOOL:
    """Pairs to drop because a much cheaper unit can still take the threat later.

    ``later_row``/``later_cost_usd`` list the (threat, cost) of every unit whose envelope
    the threat will still cross.
    """
    cheapest = np.full(n_rows, np.inf)
    np.minimum.at(cheapest, later_row, later_cost_usd)
    return np.asarray(cand.cost_usd > CHEAP_RATIO * cheapest[cand.row])


def assign(
    cand: Candidates,
    priority: I64,
    ballistic_row: BOOL,
    capacity: I64,
    prefer_cheap: bool,
) -> tuple[I64, I64]:
    """Greedy layered assignment.

    Parameters
    ----------
    priority : (r,) rank of each threat row (0 = served first).
    ballistic_row : (r,) the threat is ballistic.
    capacity : (u,) engagements each unit may start this cycle.

    Returns
    -------
    unit, row : (m,) the assigned pairs, at most one per threat row.
    """
    cap = capacity.copy()
    alive = np.ones(cand.unit.shape[0], dtype=bool)
    route_key = cand.cost_usd / np.maximum(cand.pk, 1e-9)
    top_layer = np.full(priority.shape[0], np.iinfo(np.int64).max)
    np.minimum.at(top_layer, cand.row, cand.layer)
    layered = (ballistic_row & (top_layer <= UPPER_TIER))[cand.row] | (not prefer_cheap)
    key1 = np.where(layered, cand.layer, route_key)
    key2 = np.where(layered, cand.cost_usd, cand.layer)
    out_u: list[I64] = []
    out_r: list[I64] = []
    for _ in range(cap.shape[0] + 1):  # rounds: bounded by the number of units
        alive &= cap[cand.unit] > 0
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        order = idx[np.lexsort((key2[idx], key1[idx], priority[cand.row[idx]]))]
        _, first = np.unique(cand.row[order], return_index=True)
        choice = order[first]  # best remaining unit per threat
        by_unit = choice[np.lexsort((priority[cand.row[choice]], cand.unit[choice]))]
        units = cand.unit[by_unit]
        start = np.searchsorted(units, units, side="left")
        pos_in_unit = np.arange(units.size) - start
        take = by_unit[pos_in_unit < cap[units]]
        if take.size == 0:
            break
        out_u.append(cand.unit[take])
        out_r.append(cand.row[take])
        np.subtract.at(cap, cand.unit[take], 1)
        served = np.zeros(priority.shape[0], dtype=bool)
        served[cand.row[take]] = True
        alive &= ~served[cand.row]
    if not out_u:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_u), np.concatenate(out_r)


SELF_DEFENCE_RADIUS_M = 2000.0
"""A threat predicted to come down (ballistic) or to pass (route) within this horizontal
distance of a fire unit is coming at the unit itself."""


def self_threats(
    unit_m: F64, path_m: F64, ballistic: BOOL, radius_m: float = SELF_DEFENCE_RADIUS_M
) -> BOOL:
    """Which threats (k) come at which units (u): a ballistic path's end point (its
    predicted impact), or any point of a route's predicted path, within ``radius_m`` of the
    unit, measured across the unit's vertical.

    Parameters
    ----------
    unit_m : (u, 3) unit sites, ECEF, m.
    path_m : (k, s, 3) predicted paths, ECEF, m.
    ballistic : (k,) the path ends in an impact (else it is a route ahead).

    Returns
    -------
    (u, k) bool.
    """
    n_u, k = unit_m.shape[0], path_m.shape[0]
    if n_u == 0 or k == 0:
        return np.zeros((n_u, k), dtype=bool)
    return np.asarray(
        self_threats_kernel(
            np.ascontiguousarray(unit_m, dtype=np.float64),
            np.ascontiguousarray(path_m, dtype=np.float64),
            np.ascontiguousarray(ballistic, dtype=np.bool_),
            float(radius_m),
        )
    )


@njit(cache=True)
def _across(v0: float, v1: float, v2: float, up: F64) -> tuple[float, float, float]:
    """The part of vector ``v`` across the unit vertical ``up`` (3,)."""
    along = v0 * up[0] + v1 * up[1] + v2 * up[2]
    return v0 - along * up[0], v1 - along * up[1], v2 - along * up[2]


@njit(cache=True)
def self_threats_kernel(unit_m: F64, path_m: F64, ballistic: BOOL, radius_m: float) -> BOOL:
    """Kernel of :func:`self_threats` (same arguments, all non-empty): per unit and threat,
    the end point's horizontal distance (ballistic) or the least horizontal distance to
    the path's segments (route), stopping at the first segment within ``radius_m``."""
    n_u, k, s = unit_m.shape[0], path_m.shape[0], path_m.shape[1]
    out = np.zeros((n_u, k), dtype=np.bool_)
    up = np.empty(3)
    # each route's bounding sphere: a unit farther across its vertical from the centre than
    # the radius plus ``radius_m`` cannot have the route pass within ``radius_m`` (the part
    # across the vertical is never longer than the whole), so its segments are skipped
    centre = np.zeros((k, 3))
    bound = np.zeros(k)
    for j in range(k):
        if not ballistic[j]:
            centre[j, 0], centre[j, 1], centre[j, 2], bound[j] = path_sphere(path_m, j)
    for u in range(n_u):  # fire units (tens)
        norm = math.sqrt(unit_m[u, 0] ** 2 + unit_m[u, 1] ** 2 + unit_m[u, 2] ** 2)
        up[0], up[1], up[2] = unit_m[u, 0] / norm, unit_m[u, 1] / norm, unit_m[u, 2] / norm
        for j in range(k):  # threats (tens to hundreds)
            if not ballistic[j]:
                h0, h1, h2 = _across(
                    centre[j, 0] - unit_m[u, 0],
                    centre[j, 1] - unit_m[u, 1],
                    centre[j, 2] - unit_m[u, 2],
                    up,
                )
                # 1 m of slack: far more than the rounding of either distance
                if math.sqrt(h0 * h0 + h1 * h1 + h2 * h2) > bound[j] + radius_m + 1.0:
                    continue
            if ballistic[j]:
                e0, e1, e2 = _across(
                    path_m[j, s - 1, 0] - unit_m[u, 0],
                    path_m[j, s - 1, 1] - unit_m[u, 1],
                    path_m[j, s - 1, 2] - unit_m[u, 2],
                    up,
                )
                out[u, j] = math.sqrt(e0 * e0 + e1 * e1 + e2 * e2) <= radius_m
                continue
            for i in range(s - 1):  # path segments (tens)
                a0, a1, a2 = _across(
                    path_m[j, i, 0] - unit_m[u, 0],
                    path_m[j, i, 1] - unit_m[u, 1],
                    path_m[j, i, 2] - unit_m[u, 2],
                    up,
                )
                d0, d1, d2 = _across(
                    path_m[j, i + 1, 0] - path_m[j, i, 0],
                    path_m[j, i + 1, 1] - path_m[j, i, 1],
                    path_m[j, i + 1, 2] - path_m[j, i, 2],
                    up,
                )
                dd = d0 * d0 + d1 * d1 + d2 * d2
                f = -(a0 * d0 + a1 * d1 + a2 * d2) / (dd if dd > 0.0 else 1.0)
                f = min(max(f, 0.0), 1.0)
                n0, n1, n2 = a0 + f * d0, a1 + f * d1, a2 + f * d2
                if math.sqrt(n0 * n0 + n1 * n1 + n2 * n2) <= radius_m:
                    out[u, j] = True
                    break
    return out


@dataclass(frozen=True, slots=True)
class Screen:
    """Which of a node's u units may engage which of its k assessed threats this cycle.

    Attributes
    ----------
    pk : (u, k) kill probability: the class figure times the chance that the track's
        error falls inside the kill vehicle's divert basket (:func:`track_quality`).
    usable : (u, k) the doctrine lets the unit engage the threat (wanted, strong enough
        and not held for a better layer, or its last chance).
    later_ok : (u, k) usable, with ammunition, and the path still crosses its reach.
    feasible : (u, k) usable, feasible launching now, and the unit has capacity.
    could_pk : (k,) the best kill probability the node's units could still get (now or
        later on the path), what the node tells the others.
    """

    pk: F64
    usable: BOOL
    later_ok: BOOL
    feasible: BOOL
    could_pk: F64


@njit(cache=True, inline="always")
def track_quality(cov: F64, divert_m: float) -> float:
    """Chance that the guidance error falls inside a divert basket of ``divert_m`` m.

    With the track's position error isotropic Gaussian of per-axis sigma ``s`` (from the
    trace of the position block of ``cov`` (6, 6)), the chance that its component across
    the line of sight (two axes) is within the divert ``d`` is ``1 - exp(-d^2 / (2 s^2))``
    (Rayleigh). Lasers follow their target (``divert_m`` inf): 1.
    """
    var = (cov[0, 0] + cov[1, 1] + cov[2, 2]) / 3.0
    return -math.expm1(-(divert_m**2 / (2.0 * max(var, 1e-6))))


@njit(cache=True)
def screen_kernel(
    pk_class: F64,
    class_idx: I64,
    cov: F64,
    divert_m: F64,
    engage_all: BOOL,
    threatening: BOOL,
    at_me: BOOL,
    later: BOOL,
    feasible_now: BOOL,
    loaded: BOOL,
    ammo: BOOL,
    capacity: I64,
    min_pk: float,
    yield_below_pk: F64,
    last_ditch: BOOL,
    elsewhere_pk: F64,
) -> tuple[F64, BOOL, BOOL, BOOL, F64]:
    """Kernel of :func:`screen`: one pass over the (u, k) pairs, then one per threat."""
    n_u, k = at_me.shape[0], at_me.shape[1]
    pk = np.empty((n_u, k))
    could = np.zeros((n_u, k))  # pk where the unit could engage, now or later
    usable = np.zeros((n_u, k), dtype=np.bool_)
    later_ok = np.zeros((n_u, k), dtype=np.bool_)
    feasible = np.zeros((n_u, k), dtype=np.bool_)
    could_pk = np.zeros(k)
    floor = max(min_pk, 1e-9)
    for j in range(k):
        best = second = -math.inf
        for u in range(n_u):
            pk[u, j] = pk_class[u, class_idx[j]] * track_quality(cov[j], divert_m[u])
            wanted = engage_all[u] or threatening[j] or at_me[u, j]
            if later[u, j] and wanted and pk[u, j] >= floor and loaded[u]:
                could[u, j] = pk[u, j]
            v = could[u, j]
            if v > best:
                best, second = v, best
            elif v > second:
                second = v
        could_pk[j] = max(best, 0.0)
        if n_u == 1:
            second = 0.0
        for u in range(n_u):
            wanted = engage_all[u] or threatening[j] or at_me[u, j]
            other = second if could[u, j] >= best else best  # the best of the others
            other = max(other, elsewhere_pk[j])
            hold = pk[u, j] < yield_below_pk[u] and other > pk[u, j]
            last = last_ditch[u] and other <= 0.0
            strong = pk[u, j] >= floor
            usable[u, j] = wanted and ((strong and not hold) or (last and pk[u, j] > 0.0))
            later_ok[u, j] = later[u, j] and usable[u, j] and ammo[u]
            feasible[u, j] = feasible_now[u, j] and usable[u, j] and capacity[u] > 0
    return pk, usable, later_ok, feasible, could_pk


def screen(
    pk_class: F64,
    class_idx: I64,
    cov: F64,
    divert_m: F64,
    engage_all: BOOL,
    threatening: BOOL,
    at_me: BOOL,
    later: BOOL,
    feasible_now: BOOL,
    loaded: BOOL,
    ammo: BOOL,
    capacity: I64,
    min_pk: float,
    yield_below_pk: F64,
    last_ditch: BOOL,
    elsewhere_pk: F64,
) -> Screen:
    """Who may engage what this cycle, in one compiled pass.

    A unit engages threats it wants (``engage_all``, ``threatening`` or ``at_me``) with a
    kill probability of at least ``min_pk``, unless it yields: its kill probability is
    below its class's ``yield_below_pk`` and another unit (of this node, or
    ``elsewhere_pk`` of the other nodes) could still engage the threat with a better one.
    A threat that no other unit could engage any more is the unit's last chance; a
    ``last_ditch`` unit then fires even below ``min_pk`` and its ``yield_below_pk``.

    Parameters
    ----------
    pk_class : (u, c) each unit's kill probability per threat class.
    class_idx : (k,) each threat's class; cov : (k, 6, 6) its track covariance.
    divert_m : (u,) divert basket of each unit, m (inf for lasers).
    engage_all : (u,) the unit engages every threat, not only those at defended assets.
    threatening : (k,) the threat endangers a defended asset.
    at_me : (u, k) the threat comes at the unit (:func:`self_threats`).
    later, feasible_now : (u, k) the path crosses the unit's reach at some point / an
        intercept is feasible launching now (:func:`iamd.c2.envelope.opportunities`).
    loaded : (u,) rounds beyond the reserve now (or a laser); ammo : (u,) any round at
        all, reloads included (or a laser).
    capacity : (u,) engagements each unit can start this cycle.
    min_pk : the doctrine's least kill probability worth a shot.
    yield_below_pk, last_ditch : (u,) the units' class doctrine.
    elsewhere_pk : (k,) the best kill probability other nodes' units could still get.
    """
    return Screen(
        *screen_kernel(
            np.ascontiguousarray(pk_class, dtype=np.float64),
            np.ascontiguousarray(class_idx, dtype=np.int64),
            np.ascontiguousarray(cov, dtype=np.float64),
            np.ascontiguousarray(divert_m, dtype=np.float64),
            np.ascontiguousarray(engage_all, dtype=np.bool_),
            np.ascontiguousarray(threatening, dtype=np.bool_),
            np.ascontiguousarray(at_me, dtype=np.bool_),
            np.ascontiguousarray(later, dtype=np.bool_),
            np.ascontiguousarray(feasible_now, dtype=np.bool_),
            np.ascontiguousarray(loaded, dtype=np.bool_),
            np.ascontiguousarray(ammo, dtype=np.bool_),
            np.ascontiguousarray(capacity, dtype=np.int64),
            float(min_pk),
            np.ascontiguousarray(yield_below_pk, dtype=np.float64),
            np.ascontiguousarray(last_ditch, dtype=np.bool_),
            np.ascontiguousarray(elsewhere_pk, dtype=np.float64),
        )
    )

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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

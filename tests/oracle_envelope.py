"""The opportunities kernel as first written (:mod:`iamd.c2.envelope`, before its per-point
test took scalars instead of arrays), in plain Python, kept as the oracle of the compiled
kernel: the same samples, bisection and arithmetic, one point at a time."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from iamd.c2.envelope import PIP_BISECTIONS, Opportunity, UnitEnvelopes, laser_dwell_one_s
from iamd.physics.flyout import altitude_of
from iamd.physics.flyout_table import ground_range_m, lookup_tof_s

F64 = NDArray[np.float64]


def time_needed_s(units: UnitEnvelopes, u: int, p: F64, fluence: float) -> float:
    """Reaction plus flight (or slew plus dwell) of unit ``u`` to point ``p`` (3,), s; inf
    outside its envelope or reach."""
    alt = altitude_of(p[0], p[1], p[2])
    if alt < units.min_alt_m[u] or alt > units.max_alt_m[u]:
        return math.inf
    here = units.ecef_m[u]
    fly_s = 0.0
    if units.dash_m_s[u] > 0.0:
        ground = ground_range_m(here, p)
        fly_s = max(ground - units.launch_range_m[u], 0.0) / units.dash_m_s[u]
        ground = min(ground, units.launch_range_m[u])
        climb = alt - altitude_of(here[0], here[1], here[2])
        rng = math.sqrt(ground * ground + climb * climb)
    else:
        d = p - here
        rng = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    if rng < units.min_range_m[u] or rng > units.max_range_m[u]:
        return math.inf
    if units.laser[u]:
        dwell = laser_dwell_one_s(
            rng, units.power_w[u], units.divergence_rad[u], units.extinction_per_m[u], fluence
        )
        return float(units.reaction_s[u] + units.slew_s[u] + dwell)
    c = units.table[u]
    if units.dash_m_s[u] <= 0.0:
        ground = ground_range_m(here, p)
    tof = lookup_tof_s(units.tof_s[c], units.ground_step_m[c], units.alt_step_m[c], ground, alt)
    return float(units.reaction_s[u] + fly_s + tof)


def opportunities_reference(
    units: UnitEnvelopes,
    t_now_s: float,
    path_t_s: F64,
    path_m: F64,
    t_impact_s: F64,
    fluence_j_m2: F64,
    commit_s: float,
) -> Opportunity:
    """As :func:`iamd.c2.envelope.opportunities`, without its skips (bounding sphere,
    altitude band): every pair scanned."""
    n_u, n_k = units.ecef_m.shape[0], path_m.shape[0]
    feasible = np.zeros((n_u, n_k), dtype=bool)
    later = np.zeros((n_u, n_k), dtype=bool)
    t_int = np.full((n_u, n_k), np.nan)
    pip = np.zeros((n_u, n_k, 3))
    due = np.full((n_u, n_k), np.inf)
    flyout = np.full((n_u, n_k), np.nan)
    for k in range(n_k):
        for u in range(n_u):
            first = -1
            for s in range(path_m.shape[1]):
                tau = path_t_s[k, s] - t_now_s
                if tau <= 0.0 or path_t_s[k, s] >= t_impact_s[k]:
                    continue
                need = time_needed_s(units, u, path_m[k, s], fluence_j_m2[k])
                if need < math.inf:
                    later[u, k] = True
                    if tau >= need:
                        first = s
                        break
            if first < 0:
                continue
            if first > 0:
                a, b = first - 1, first
                lo_f, hi_f = 0.0, 1.0
                for _ in range(PIP_BISECTIONS):
                    mid = 0.5 * (lo_f + hi_f)
                    t_mid = path_t_s[k, a] + mid * (path_t_s[k, b] - path_t_s[k, a])
                    p = path_m[k, a] + mid * (path_m[k, b] - path_m[k, a])
                    need = time_needed_s(units, u, p, fluence_j_m2[k])
                    if t_mid - t_now_s > 0.0 and t_mid - t_now_s >= need:
                        hi_f = mid
                    else:
                        lo_f = mid
                t_hit = path_t_s[k, a] + hi_f * (path_t_s[k, b] - path_t_s[k, a])
                p = path_m[k, a] + hi_f * (path_m[k, b] - path_m[k, a])
            else:
                t_hit, p = path_t_s[k, 0], path_m[k, 0].copy()
            need = time_needed_s(units, u, p, fluence_j_m2[k])
            slack = (t_hit - t_now_s) - need
            pip[u, k] = p
            flyout[u, k] = need - units.reaction_s[u]
            if slack <= commit_s:
                feasible[u, k] = True
                t_int[u, k] = t_hit
            due[u, k] = max(slack - commit_s, 0.0)
    return Opportunity(feasible, later, t_int, pip, due, flyout)

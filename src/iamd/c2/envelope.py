"""Fire-unit feasibility: envelope, predicted intercept point, time of flight.

A fire unit can engage a threat at a point of its predicted path when the point
lies inside the interceptor's envelope (slant range and altitude bands) and the
interceptor, launched now, gets there in time: reaction plus flyout at mean speed
(kinetic), or reaction, slew and dwell (laser). The earliest such point is the
predicted intercept point (PIP). Feasibility only shrinks as the launch time
moves later along a fixed predicted path.

Laser dwell (fluence ``F`` on a spot of half-angle ``theta`` at range ``R``, power
``P``, extinction ``sigma``):

.. math:: t_{dwell} = \\frac{F \\pi (\\theta R)^2}{P e^{-\\sigma R}}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.physics.ballistic import altitude_m
from iamd.scenario.catalog import InterceptorClass

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]


def laser_dwell_s(
    range_m: F64,
    power_w: F64 | float,
    divergence_rad: F64 | float,
    extinction_per_m: F64 | float,
    fluence_j_m2: F64,
) -> F64:
    """Time a laser must hold its spot on a target to deposit the kill fluence, s."""
    r = np.minimum(np.asarray(range_m, dtype=np.float64), 1e6)  # beyond any laser's reach
    spot_m2 = np.pi * (divergence_rad * r) ** 2
    delivered_w = np.maximum(power_w * np.exp(-extinction_per_m * r), 1e-9)
    return np.asarray(fluence_j_m2 * spot_m2 / delivered_w)


@dataclass(frozen=True, slots=True)
class UnitEnvelopes:
    """Envelope figures of u fire units as arrays (u,), SI units."""

    ecef_m: F64
    min_range_m: F64
    max_range_m: F64
    min_alt_m: F64
    max_alt_m: F64
    speed_m_s: F64
    reaction_s: F64
    laser: BOOL
    power_w: F64
    divergence_rad: F64
    extinction_per_m: F64
    slew_s: F64

    @staticmethod
    def of(ecef_m: list[F64], classes: list[InterceptorClass]) -> UnitEnvelopes:
        def a(f: str, scale: float = 1.0) -> F64:
            return np.array([getattr(c, f) * scale for c in classes], dtype=np.float64)

        return UnitEnvelopes(
            ecef_m=np.asarray(ecef_m, dtype=np.float64).reshape(-1, 3),
            min_range_m=a("min_range_km", 1e3),
            max_range_m=a("max_range_km", 1e3),
            min_alt_m=a("min_alt_km", 1e3),
            max_alt_m=a("max_alt_km", 1e3),
            speed_m_s=a("speed_m_s"),
            reaction_s=a("reaction_s"),
            laser=np.array([c.kind == "laser" for c in classes]),
            power_w=a("power_kw", 1e3),
            divergence_rad=a("divergence_urad", 1e-6),
            extinction_per_m=a("extinction_per_km", 1e-3),
            slew_s=a("slew_s"),
        )


@dataclass(frozen=True, slots=True)
class Opportunity:
    """Each of u units' earliest intercept on each of k assessed threats.

    Attributes
    ----------
    feasible : (u, k) an intercept is possible launching now.
    later : (u, k) the path crosses the unit's envelope at some later point.
    due_in_s : (u, k) time until the launch falls due (0 when feasible now; inf when the
        unit can never reach this path). Along a fixed path feasibility only shrinks, so
        nothing changes for this pair before then.
    t_intercept_s : (u, k) absolute time of the earliest intercept (nan when not feasible).
    pip_m : (u, k, 3) predicted intercept point.
    """

    feasible: BOOL
    later: BOOL
    t_intercept_s: F64
    pip_m: F64
    due_in_s: F64


def opportunities(
    units: UnitEnvelopes,
    t_now_s: float,
    path_t_s: F64,
    path_m: F64,
    t_impact_s: F64,
    fluence_j_m2: F64,
    commit_s: float,
) -> Opportunity:
    """Earliest feasible intercept of each path (k, s) by each unit, if its launch is due.

    A unit commits only when the slack at the earliest feasible point (time to get there
    minus flyout) is at most ``commit_s`` or the path's sample spacing there: otherwise it
    would launch later anyway, and the threat stays open to other units meanwhile. Paths
    whose bounding sphere lies beyond every unit's reach are skipped.
    """
    n_u, k = units.ecef_m.shape[0], path_m.shape[0]
    feasible = np.zeros((n_u, k), dtype=bool)
    later = np.zeros((n_u, k), dtype=bool)
    t_int = np.full((n_u, k), np.nan)
    pip = np.zeros((n_u, k, 3))
    due = np.full((n_u, k), np.inf)
    centre = path_m.mean(axis=1)
    off = path_m - centre[:, None]
    radius = np.sqrt(np.max(np.einsum("ksi,ksi->ks", off, off), axis=1))
    gap = centre[None] - units.ecef_m[:, None]
    reach = np.sqrt(np.einsum("uki,uki->uk", gap, gap)) - radius[None] <= units.max_range_m[:, None]
    pu, pr = np.nonzero(reach)  # only the (unit, threat) pairs that can come within reach
    if pu.size == 0:
        return Opportunity(feasible, later, t_int, pip, due)
    p_t, p_m = path_t_s[pr], path_m[pr]  # (p, s), (p, s, 3)
    tau = p_t - t_now_s
    diff = p_m - units.ecef_m[pu][:, None, :]
    rng = np.sqrt(np.einsum("psi,psi->ps", diff, diff))
    alt = altitude_m(p_m)
    col = (slice(None), None)
    in_env = (
        (rng >= units.min_range_m[pu][col])
        & (rng <= units.max_range_m[pu][col])
        & (alt >= units.min_alt_m[pu][col])
        & (alt <= units.max_alt_m[pu][col])
        & (tau > 0)
        & (p_t < t_impact_s[pr][col])
    )
    tof = units.reaction_s[pu][col] + rng / units.speed_m_s[pu][col]
    lz = units.laser[pu]
    if lz.any():
        dwell = laser_dwell_s(
            rng[lz],
            units.power_w[pu[lz]][col],
            units.divergence_rad[pu[lz]][col],
            units.extinction_per_m[pu[lz]][col],
            fluence_j_m2[pr[lz]][col],
        )
        tof[lz] = (units.reaction_s[pu[lz]] + units.slew_s[pu[lz]])[col] + dwell
    ok = in_env & (tau >= tof)
    first = np.argmax(ok, axis=1)  # (p,)
    rows = np.arange(pu.size)
    slack = tau[rows, first] - tof[rows, first]
    spacing = np.diff(p_t, axis=1, prepend=p_t[:, :1])[rows, first]
    reachable = ok.any(axis=1)
    window = np.maximum(commit_s, spacing)
    now = reachable & (slack <= window)
    feasible[pu, pr] = now
    later[pu, pr] = in_env.any(axis=1)
    t_int[pu, pr] = np.where(now, p_t[rows, first], np.nan)
    pip[pu, pr] = p_m[rows, first]
    due[pu, pr] = np.where(reachable, np.maximum(slack - window, 0.0), np.inf)
    return Opportunity(feasible=feasible, later=later, t_intercept_s=t_int, pip_m=pip, due_in_s=due)

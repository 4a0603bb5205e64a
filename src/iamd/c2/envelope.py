"""Fire-unit feasibility: envelope, predicted intercept point, time of flight.

A fire unit can engage a threat at a point of its predicted path when the point
lies inside the interceptor's envelope (slant range and altitude bands) and the
interceptor, launched now, gets there in time: reaction plus flyout at mean speed
(kinetic), or reaction, slew and dwell (laser). The earliest such point is the
predicted intercept point (PIP).

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
    range_m: F64, power_w: float, divergence_rad: float, extinction_per_m: float, fluence_j_m2: F64
) -> F64:
    """Time a laser must hold its spot on a target to deposit the kill fluence, s."""
    r = np.minimum(np.asarray(range_m, dtype=np.float64), 1e6)  # beyond any laser's reach
    spot_m2 = np.pi * (divergence_rad * r) ** 2
    delivered_w = power_w * np.exp(-extinction_per_m * r)
    return np.asarray(fluence_j_m2 * spot_m2 / delivered_w)


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A fire unit's earliest intercept on each of k assessed threats.

    Attributes
    ----------
    feasible : (k,) an intercept is possible now.
    later : (k,) an intercept becomes possible at some later point of the path.
    t_intercept_s : (k,) absolute time of the earliest intercept (nan when not feasible).
    pip_m : (k, 3) predicted intercept point.
    """

    feasible: BOOL
    later: BOOL
    t_intercept_s: F64
    pip_m: F64


def opportunities(
    unit_ecef_m: F64,
    ic: InterceptorClass,
    t_now_s: float,
    path_t_s: F64,
    path_m: F64,
    t_impact_s: F64,
    fluence_j_m2: F64,
) -> Opportunity:
    """Earliest feasible intercept of each path (k, s) by one unit launching at ``t_now_s``."""
    tau = path_t_s - t_now_s
    rng = np.linalg.norm(path_m - unit_ecef_m, axis=2)
    alt = altitude_m(path_m)
    in_env = (
        (rng >= ic.min_range_km * 1e3)
        & (rng <= ic.max_range_km * 1e3)
        & (alt >= ic.min_alt_km * 1e3)
        & (alt <= ic.max_alt_km * 1e3)
        & (tau > 0)
        & (path_t_s < t_impact_s[:, None])
    )
    if ic.kind == "laser":
        tof = ic.reaction_s + ic.slew_s + laser_dwell_s(
            rng, ic.power_kw * 1e3, ic.divergence_urad * 1e-6, ic.extinction_per_km * 1e-3,
            fluence_j_m2[:, None],
        )
    else:
        tof = ic.reaction_s + rng / ic.speed_m_s
    ok = in_env & (tau >= tof)
    feasible = ok.any(axis=1)
    first = np.argmax(ok, axis=1)
    rows = np.arange(path_m.shape[0])
    t_int = np.where(feasible, path_t_s[rows, first], np.nan)
    return Opportunity(
        feasible=feasible,
        later=in_env.any(axis=1),
        t_intercept_s=t_int,
        pip_m=path_m[rows, first],
    )

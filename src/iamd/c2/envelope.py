"""Fire-unit feasibility: envelope, predicted intercept point, time of flight.

A fire unit can engage a threat at a point of its predicted path when the point lies
inside the class's documented envelope (slant range and altitude bands, planned a few
per cent inside them), inside the
reach of its fly-out table (:mod:`iamd.physics.flyout_table`), and the interceptor,
launched now, gets there in time: reaction plus the table's time of flight (kinetic), or
reaction, slew and dwell (laser). The earliest such point is the predicted intercept
point (PIP): the first feasible sample of the path, refined by bisection on the path's
straight segment before it. Feasibility only shrinks as the launch time moves later along
a fixed predicted path.

Laser dwell (fluence ``F`` on a spot of half-angle ``theta`` at range ``R``, power
``P``, extinction ``sigma``):

.. math:: t_{dwell} = \\frac{F \\pi (\\theta R)^2}{P e^{-\\sigma R}}
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.c2.kinematics import class_table
from iamd.physics.flyout import altitude_of
from iamd.physics.flyout_table import (
    N_ALT,
    N_GROUND,
    FlyoutTable,
    ground_range_xyz_m,
    lookup_tof_s,
)
from iamd.scenario.catalog import InterceptorClass

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

PLAN_MARGIN = 0.03
"""Intercepts are planned this share inside the documented range and altitude bands, so a
closest approach a little early or late still falls inside them."""
PIP_BISECTIONS = 12
"""Halvings of the path segment before the first feasible sample (1/4096 of it)."""


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


@njit(cache=True)
def laser_dwell_one_s(
    range_m: float, power_w: float, divergence_rad: float, extinction_per_m: float, fluence: float
) -> float:
    """:func:`laser_dwell_s` of one range, s."""
    r = min(range_m, 1e6)
    spot_m2 = math.pi * (divergence_rad * r) ** 2
    return fluence * spot_m2 / max(power_w * math.exp(-extinction_per_m * r), 1e-9)


@dataclass(frozen=True, slots=True)
class UnitEnvelopes:
    """Envelope figures of u fire units as arrays (u,), SI units, and their fly-out tables.

    The range and altitude bands are the documented ones less ``PLAN_MARGIN``.

    Attributes
    ----------
    table : (u,) index of each unit's fly-out table in ``tof_s`` (-1 for lasers).
    tof_s : (t, g, h) the fly-out tables' times of flight; ``ground_step_m``,
        ``alt_step_m`` (t,) their cell sizes.
    """

    ecef_m: F64
    min_range_m: F64
    max_range_m: F64
    min_alt_m: F64
    max_alt_m: F64
    reaction_s: F64
    laser: BOOL
    power_w: F64
    divergence_rad: F64
    extinction_per_m: F64
    slew_s: F64
    table: I64
    tof_s: F64
    ground_step_m: F64
    alt_step_m: F64
    dash_m_s: F64
    launch_range_m: F64

    @property
    def mobile(self) -> BOOL:
        """(u,) units that fly to a launch point (aircraft)."""
        return np.asarray(self.dash_m_s > 0)

    @staticmethod
    def of(
        ecef_m: list[F64],
        classes: list[InterceptorClass],
        launch_alt_m: list[float],
        dash_m_s: list[float] | None = None,
        launch_range_m: list[float] | None = None,
    ) -> UnitEnvelopes:
        """Envelopes of units at ``ecef_m`` of ``classes``, launching from ``launch_alt_m``;
        aircraft fly at ``dash_m_s`` (0 for fixed units) to within ``launch_range_m`` of
        their target before they fire."""

        def a(f: str, scale: float = 1.0) -> F64:
            return np.array([getattr(c, f) * scale for c in classes], dtype=np.float64)

        tables: dict[int, int] = {}
        stack: list[FlyoutTable] = []
        index: list[int] = []
        for c, alt in zip(classes, launch_alt_m, strict=True):
            if c.kind == "laser":
                index.append(-1)
                continue
            table = class_table(c, alt)
            key = id(table)  # tables are cached: one object per class and launch altitude
            if key not in tables:
                tables[key] = len(stack)
                stack.append(table)
            index.append(tables[key])
        return UnitEnvelopes(
            ecef_m=np.asarray(ecef_m, dtype=np.float64).reshape(-1, 3),
            min_range_m=a("min_range_km", 1e3 * (1.0 + PLAN_MARGIN)),
            max_range_m=a("max_range_km", 1e3 * (1.0 - PLAN_MARGIN)),
            min_alt_m=a("min_alt_km", 1e3 * (1.0 + PLAN_MARGIN)),
            max_alt_m=a("max_alt_km", 1e3 * (1.0 - PLAN_MARGIN)),
            reaction_s=a("reaction_s"),
            laser=np.array([c.kind == "laser" for c in classes], dtype=bool),
            power_w=a("power_kw", 1e3),
            divergence_rad=a("divergence_urad", 1e-6),
            extinction_per_m=a("extinction_per_km", 1e-3),
            slew_s=a("slew_s"),
            table=np.array(index, dtype=np.int64),
            tof_s=(np.stack([t.tof_s for t in stack]) if stack else np.zeros((0, N_GROUND, N_ALT))),
            ground_step_m=np.array([t.ground_step_m for t in stack], dtype=np.float64),
            alt_step_m=np.array([t.alt_step_m for t in stack], dtype=np.float64),
            dash_m_s=np.asarray(dash_m_s or [0.0] * len(classes), dtype=np.float64),
            launch_range_m=np.asarray(launch_range_m or [0.0] * len(classes), dtype=np.float64),
        )


@dataclass(frozen=True, slots=True)
class Opportunity:
    """Each of u units' earliest intercept on each of k assessed threats.

    Attributes
    ----------
    feasible : (u, k) an intercept is possible launching now.
    later : (u, k) the path crosses the unit's envelope and reach at some later point.
    due_in_s : (u, k) time until the launch falls due (0 when feasible now; inf when the
        unit can never reach this path). Along a fixed path feasibility only shrinks, so
        nothing changes for this pair before then.
    t_intercept_s : (u, k) absolute time of the earliest intercept (nan when not feasible).
    pip_m : (u, k, 3) predicted intercept point.
    flyout_s : (u, k) time of flight to the PIP (kinetic; for an aircraft, its flight to
        the launch point too) or slew and dwell (laser), s.
    """

    feasible: BOOL
    later: BOOL
    t_intercept_s: F64
    pip_m: F64
    due_in_s: F64
    flyout_s: F64


@njit(cache=True, inline="always")
def path_sphere(path_m: F64, k: int) -> tuple[float, float, float, float]:
    """A bounding sphere of path ``k`` of ``path_m`` (k, s, 3), ECEF: the centre (the
    samples' mean, m) and the radius (the farthest sample's distance from it, m)."""
    s_n = path_m.shape[1]
    cx = cy = cz = 0.0
    for s in range(s_n):
        cx += path_m[k, s, 0] / s_n
        cy += path_m[k, s, 1] / s_n
        cz += path_m[k, s, 2] / s_n
    radius = 0.0
    for s in range(s_n):
        d2 = (path_m[k, s, 0] - cx) ** 2 + (path_m[k, s, 1] - cy) ** 2
        radius = max(radius, math.sqrt(d2 + (path_m[k, s, 2] - cz) ** 2))
    return cx, cy, cz, radius


UnitFigures = tuple[
    float, float, float, float, float, float, float, float, float,
    float, float, float, float, float, float, float, float,
]  # fmt: skip
"""One unit's figures as scalars (see :func:`_unit_figures`)."""


@njit(cache=True, inline="always")
def _unit_figures(
    units: tuple[F64, ...], tables: tuple[F64, F64, F64], u: int, c: int
) -> UnitFigures:
    """Unit ``u``'s figures as a tuple of floats, read once per unit so that the per-point
    test below touches no array (each array a kernel passes on or slices costs a
    reference count in Numba, which cost more than the test's arithmetic): its ECEF
    position and altitude, range and altitude bands (m), reaction (s), laser power (W),
    divergence (rad), extinction (1/m), slew (s), dash speed (m/s), launch range (m), and
    the cell sizes (m) of fly-out table ``c``."""
    ecef, min_r, max_r, min_a, max_a, react, power, div, ext, slew, dash, launch_r = units
    _, g_step, a_step = tables
    ux, uy, uz = ecef[u, 0], ecef[u, 1], ecef[u, 2]
    return (
        ux, uy, uz, altitude_of(ux, uy, uz), min_r[u], max_r[u], min_a[u], max_a[u],
        react[u], power[u], div[u], ext[u], slew[u], dash[u], launch_r[u],
        g_step[c] if c >= 0 else 1.0, a_step[c] if c >= 0 else 1.0,
    )  # fmt: skip


@njit(cache=True, inline="always")
def _time_needed_s(
    f: UnitFigures,
    laser: bool,
    tof: F64,
    px: float,
    py: float,
    pz: float,
    alt: float,
    fluence: float,
) -> float:
    """Time from the decision to an intercept at ECEF (``px``, ``py``, ``pz``), ``alt``
    m high, by the unit of figures ``f`` (:func:`_unit_figures`), s (inf when the point is
    outside its envelope or reach). ``tof`` (g, h) is its fly-out table. An aircraft
    (``dash`` > 0) first flies to within its launch range of the point, then fires."""
    ux, uy, uz, unit_alt, min_r, max_r, min_a, max_a = f[:8]
    react, power, div, ext, slew, dash, launch_r, g_step, a_step = f[8:]
    if alt < min_a or alt > max_a:
        return math.inf
    fly_s = 0.0
    if dash > 0.0:  # an aircraft: the missile leg is from its launch point
        ground = ground_range_xyz_m(ux, uy, uz, px, py, pz)
        fly_s = max(ground - launch_r, 0.0) / dash
        ground = min(ground, launch_r)
        climb = alt - unit_alt
        rng = math.sqrt(ground * ground + climb * climb)
    else:
        dx, dy, dz = px - ux, py - uy, pz - uz
        rng = math.sqrt(dx * dx + dy * dy + dz * dz)
    if rng < min_r or rng > max_r:
        return math.inf
    if laser:
        return float(react + slew + laser_dwell_one_s(rng, power, div, ext, fluence))
    if dash <= 0.0:
        ground = ground_range_xyz_m(ux, uy, uz, px, py, pz)
    return float(react + fly_s + lookup_tof_s(tof, g_step, a_step, ground, alt))


@njit(cache=True, inline="always")
def _on_segment(path_m: F64, k: int, a: int, b: int, frac: float) -> tuple[float, float, float]:
    """The point ``frac`` of the way from sample ``a`` to sample ``b`` of path ``k`` of
    ``path_m`` (k, s, 3), m."""
    return (
        path_m[k, a, 0] + frac * (path_m[k, b, 0] - path_m[k, a, 0]),
        path_m[k, a, 1] + frac * (path_m[k, b, 1] - path_m[k, a, 1]),
        path_m[k, a, 2] + frac * (path_m[k, b, 2] - path_m[k, a, 2]),
    )


@njit(cache=True)
def _opportunities(
    units: tuple[F64, ...],
    tables: tuple[F64, F64, F64],
    table: I64,
    laser: BOOL,
    t_now_s: float,
    path_t_s: F64,
    path_m: F64,
    t_impact_s: F64,
    fluence_j_m2: F64,
    commit_s: float,
    feasible: BOOL,
    later: BOOL,
    t_int: F64,
    pip: F64,
    due: F64,
    flyout: F64,
) -> None:
    ecef, max_r, min_a, max_a, react, dash = (
        units[0],
        units[2],
        units[3],
        units[4],
        units[5],
        units[10],
    )
    tof_all = tables[0]
    n_u, k_n, s_n = ecef.shape[0], path_m.shape[0], path_m.shape[1]
    no_table = np.full((2, 2), math.inf)
    alt = np.empty(s_n)
    for k in range(k_n):
        # bounding sphere and altitude band of the path: units beyond them are skipped
        cx, cy, cz, radius = path_sphere(path_m, k)
        lowest, highest = math.inf, -math.inf
        for s in range(s_n):
            alt[s] = altitude_of(path_m[k, s, 0], path_m[k, s, 1], path_m[k, s, 2])
            tau = path_t_s[k, s] - t_now_s
            if tau > 0.0 and path_t_s[k, s] < t_impact_s[k]:
                lowest = min(lowest, alt[s])
                highest = max(highest, alt[s])
        fluence = fluence_j_m2[k]
        for u in range(n_u):
            if highest < min_a[u] or lowest > max_a[u]:
                continue  # no sample ahead inside the altitude band
            gap = math.sqrt(
                (cx - ecef[u, 0]) ** 2 + (cy - ecef[u, 1]) ** 2 + (cz - ecef[u, 2]) ** 2
            )
            if gap - radius > max_r[u] and dash[u] <= 0.0:
                continue
            c = table[u]
            f = _unit_figures(units, tables, u, c)
            tof = tof_all[c] if c >= 0 else no_table
            laser_u = laser[u]
            first = -1
            for s in range(s_n):
                tau = path_t_s[k, s] - t_now_s
                if tau <= 0.0 or path_t_s[k, s] >= t_impact_s[k]:
                    continue
                need = _time_needed_s(
                    f, laser_u, tof, path_m[k, s, 0], path_m[k, s, 1], path_m[k, s, 2],
                    alt[s], fluence,
                )  # fmt: skip
                if need < math.inf:
                    later[u, k] = True
                    if tau >= need:
                        first = s
                        break
            if first < 0:
                continue
            # refine on the segment before the first feasible sample
            if first > 0:
                a, b = first - 1, first
                lo_f, hi_f = 0.0, 1.0
                for _ in range(PIP_BISECTIONS):
                    mid = 0.5 * (lo_f + hi_f)
                    t_mid = path_t_s[k, a] + mid * (path_t_s[k, b] - path_t_s[k, a])
                    px, py, pz = _on_segment(path_m, k, a, b, mid)
                    need = _time_needed_s(
                        f, laser_u, tof, px, py, pz, altitude_of(px, py, pz), fluence
                    )
                    if t_mid - t_now_s > 0.0 and t_mid - t_now_s >= need:
                        hi_f = mid
                    else:
                        lo_f = mid
                t_hit = path_t_s[k, a] + hi_f * (path_t_s[k, b] - path_t_s[k, a])
                px, py, pz = _on_segment(path_m, k, a, b, hi_f)
            else:
                t_hit = path_t_s[k, 0]
                px, py, pz = path_m[k, 0, 0], path_m[k, 0, 1], path_m[k, 0, 2]
            need = _time_needed_s(f, laser_u, tof, px, py, pz, altitude_of(px, py, pz), fluence)
            slack = (t_hit - t_now_s) - need
            pip[u, k, 0], pip[u, k, 1], pip[u, k, 2] = px, py, pz
            flyout[u, k] = need - react[u]
            if slack <= commit_s:
                feasible[u, k] = True
                t_int[u, k] = t_hit
            due[u, k] = max(slack - commit_s, 0.0)


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
    minus reaction and flyout) is at most ``commit_s``: otherwise it would launch later
    anyway, and the threat stays open to other units meanwhile. Paths whose bounding
    sphere lies beyond a unit's range are skipped.

    Parameters
    ----------
    path_t_s : (k, s) absolute times of each predicted path, s.
    path_m : (k, s, 3) ECEF positions on it, m.
    t_impact_s : (k,) predicted impact times, s.
    fluence_j_m2 : (k,) laser kill fluence of each threat, J/m^2.
    commit_s : the decision window (the C2 cycle), s.
    """
    n_u, k = units.ecef_m.shape[0], path_m.shape[0]
    feasible = np.zeros((n_u, k), dtype=bool)
    later = np.zeros((n_u, k), dtype=bool)
    t_int = np.full((n_u, k), np.nan)
    pip = np.zeros((n_u, k, 3))
    due = np.full((n_u, k), np.inf)
    flyout = np.full((n_u, k), np.nan)
    if n_u and k:
        _opportunities(
            (
                units.ecef_m,
                units.min_range_m,
                units.max_range_m,
                units.min_alt_m,
                units.max_alt_m,
                units.reaction_s,
                units.power_w,
                units.divergence_rad,
                units.extinction_per_m,
                units.slew_s,
                units.dash_m_s,
                units.launch_range_m,
            ),
            (units.tof_s, units.ground_step_m, units.alt_step_m),
            units.table,
            units.laser,
            float(t_now_s),
            np.ascontiguousarray(path_t_s, dtype=np.float64),
            np.ascontiguousarray(path_m, dtype=np.float64),
            np.ascontiguousarray(t_impact_s, dtype=np.float64),
            np.ascontiguousarray(fluence_j_m2, dtype=np.float64),
            float(commit_s),
            feasible,
            later,
            t_int,
            pip,
            due,
            flyout,
        )
    return Opportunity(feasible, later, t_int, pip, due, flyout)

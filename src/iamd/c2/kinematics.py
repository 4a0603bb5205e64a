"""An interceptor class's kinematics from the catalog: its row for the flight kernels, its
fly-out table from a launch condition, and whether it reaches its documented envelope.

The catalog's range and altitude bands stay the documented limits of a class; its fly-out
(:mod:`iamd.physics.flyout_table`) must reach them, or the class is refused: a unit
cannot be documented to engage where its interceptor cannot fly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamd.physics.flyout_table import GRID_MARGIN, FlyoutTable, flyout_table, kinematics_row

if TYPE_CHECKING:
    from iamd.scenario.catalog import InterceptorClass

REACH_TOLERANCE = 0.99
"""A class reaches its documented range and ceiling when its fly-out gets within 1 % of
them (the table's cells are a few per cent of the range apart)."""
LAUNCH_ALT_STEP_M = 500.0
"""Launch altitudes share a table when they round to the same 500 m."""


def kin_row(ic: InterceptorClass) -> tuple[float, ...]:
    """The ``KIN_*`` row of a kinetic interceptor class (SI)."""
    assert ic.kind == "kinetic"
    return kinematics_row(
        burn_s=_given(ic.burn_s),
        burnout_speed_m_s=_given(ic.burnout_speed_m_s),
        beta_kg_m2=_given(ic.beta_kg_m2),
        max_tof_s=_given(ic.max_tof_s),
        max_lateral_g=_given(ic.max_lateral_g),
        min_speed_m_s=_given(ic.min_speed_m_s),
        loft=ic.loft,
        seeker_range_km=_given(ic.seeker_range_km),
        divert_m=ic.divert_m,
    )


def _given(value: float | None) -> float:
    assert value is not None  # InterceptorClass requires it of kinetic classes
    return value


def launch_alt_key_m(alt_m: float) -> float:
    """The launch altitude whose table a launcher at ``alt_m`` uses."""
    return max(0.0, round(alt_m / LAUNCH_ALT_STEP_M) * LAUNCH_ALT_STEP_M)


def class_table(
    ic: InterceptorClass, launch_alt_m: float = 0.0, launch_speed_m_s: float = 0.0
) -> FlyoutTable:
    """The fly-out table of a kinetic class from a launcher at ``launch_alt_m`` moving at
    ``launch_speed_m_s``, over its documented range and ceiling and a margin beyond."""
    return flyout_table(
        kin_row(ic),
        launch_alt_key_m(launch_alt_m),
        float(launch_speed_m_s),
        GRID_MARGIN * ic.max_range_km * 1e3,
        GRID_MARGIN * ic.max_alt_km * 1e3,
    )


def reach_problem(
    ic: InterceptorClass, launch_alt_m: float = 0.0, launch_speed_m_s: float = 0.0
) -> str | None:
    """What keeps a kinetic class from its documented range or ceiling, or None."""
    table = class_table(ic, launch_alt_m, launch_speed_m_s)
    far_m, high_m = table.reach_m(
        ic.min_alt_km * 1e3, ic.max_alt_km * 1e3, ic.min_range_km * 1e3, ic.max_range_km * 1e3
    )
    short = []
    if far_m < REACH_TOLERANCE * ic.max_range_km * 1e3:
        short.append(
            f"reaches {far_m / 1e3:,.0f} km at {ic.min_alt_km:g}-{ic.max_alt_km:g} km altitude, "
            f"short of its max_range_km {ic.max_range_km:g}"
        )
    if high_m < REACH_TOLERANCE * ic.max_alt_km * 1e3:
        short.append(
            f"climbs to {high_m / 1e3:,.1f} km within its {ic.min_range_km:g}-"
            f"{ic.max_range_km:g} km range band, short of its max_alt_km {ic.max_alt_km:g}"
        )
    if not short:
        return None
    where = f" launched from {launch_alt_m:,.0f} m" if launch_alt_m >= LAUNCH_ALT_STEP_M / 2 else ""
    return (
        f"its fly-out{where} {'; it '.join(short)} (raise burnout_speed_m_s, max_tof_s or "
        "beta_kg_m2, or lower the documented limit)"
    )

"""Numbers of one table row in one scale, so a row never mixes "M" and plain figures.

A row's scale is set by its largest magnitude: millions (``3.50 M``) from 10^6 on, plain
figures below. Every cell of the row, both ends of an interval included, then uses it:
``-3.50 M .. 0.38 M``, never ``-3.5 M .. 381,519.2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MILLION = 1e6
Scale = tuple[float, str]
PLAIN: Scale = (1.0, "")


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def scale_of(values: Sequence[float | None]) -> Scale:
    """The divisor and unit suffix for a row holding ``values`` (None and NaN ignored)."""
    big = max((abs(v) for v in values if v is not None and _finite(v)), default=0.0)
    return (MILLION, " M") if big >= MILLION else PLAIN


def fmt(x: float | None, scale: Scale = PLAIN, digits: int = 3) -> str:
    """``x`` in ``scale``: two decimals in millions; plain whole numbers as they are, other
    figures with one decimal from 100 on, else ``digits`` significant digits; ``-`` for a
    missing value."""
    if x is None or not _finite(x):
        return "-"
    div, unit = scale
    if unit:
        return f"{x / div:,.2f}{unit}"
    if float(x).is_integer():
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.1f}"
    return f"{x:.{digits}g}"


def fmt_row(values: Sequence[float | None]) -> list[str]:
    """Every value of a row in the row's common scale."""
    scale = scale_of(values)
    return [fmt(v, scale) for v in values]


def fmt_interval(low: float | None, high: float | None, scale: Scale) -> str:
    """``low .. high`` in ``scale`` (``-`` when either end is missing)."""
    if low is None or high is None:
        return "-"
    return f"{fmt(low, scale)} .. {fmt(high, scale)}"

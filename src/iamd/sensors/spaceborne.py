"""Spaceborne launch warning for ballistic missiles.

A constellation of infrared sensors sees the boost plume: from ``delay_s`` after
launch until burnout it reports the missile's position every scan with a
Gaussian error of ``sigma_pos_m`` per axis. Reports feed the tracker (cueing the
ballistic tracks early) and log a launch-warning event.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def in_boost(
    t_s: float, t_launch_s: F64, burn_s: F64, delay_s: float, ballistic: NDArray[np.bool_]
) -> I64:
    """Threats a launch-warning sensor reports at ``t_s`` (indices into the truth table)."""
    since = t_s - t_launch_s
    return np.flatnonzero(ballistic & (since >= delay_s) & (since <= burn_s))


def reports(pos_m: F64, sigma_pos_m: float, rng: np.random.Generator) -> F64:
    """Noisy ECEF position reports for true positions ``pos_m`` (k, 3)."""
    return np.asarray(pos_m + rng.normal(0.0, sigma_pos_m, pos_m.shape))

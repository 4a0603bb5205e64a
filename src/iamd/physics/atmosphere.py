"""Exponential model atmosphere.

.. math:: \\rho(h) = \\rho_0 \\exp(-h / H)

with sea-level density 1.225 kg/m^3 and scale height 7.2 km: within about 25 %
of the US Standard Atmosphere 1976 below 80 km, which is what drag on a
ballistic missile or rocket needs at this fidelity.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

RHO0_KG_M3 = 1.225
SCALE_HEIGHT_M = 7200.0


def density_kg_m3(alt_m: ArrayLike) -> NDArray[np.float64]:
    """Air density at geometric altitude ``alt_m`` (any shape), kg/m^3."""
    h = np.asarray(alt_m, dtype=np.float64)
    return np.asarray(RHO0_KG_M3 * np.exp(np.minimum(-h, 0.0) / SCALE_HEIGHT_M))

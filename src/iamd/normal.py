"""The standard normal distribution's cumulative distribution function, compiled.

:func:`ndtr` follows the structure of the Cephes ``ndtr`` that ``scipy.special.ndtr``
uses (the error function near the centre, the complementary error function in the
tails, so small tail probabilities keep their relative precision):

.. math:: \\Phi(x) = \\tfrac12 \\operatorname{erfc}(-x / \\sqrt 2)
"""

from __future__ import annotations

import math

from numba import njit

SQRT1_2 = math.sqrt(0.5)


@njit(cache=True)
def ndtr(x: float) -> float:
    """Standard normal CDF at ``x``: the chance that a standard normal variate is below it."""
    if math.isnan(x):
        return math.nan
    t = x * SQRT1_2
    z = abs(t)
    if z < SQRT1_2:
        return 0.5 + 0.5 * math.erf(t)
    y = 0.5 * math.erfc(z)
    return 1.0 - y if t > 0.0 else y

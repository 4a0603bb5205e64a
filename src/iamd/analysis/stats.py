"""Statistics of replications: means with t intervals, percentiles, paired differences.

Every interval is the two-sided 95 % Student t interval of a mean,
``mean ± t(0.975, n - 1) s / sqrt(n)``; it assumes independent replications, which the
seed streams give.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

LEVEL = 0.95
"""Confidence level of every interval."""


def halfwidth(values: F64) -> float:
    """Half-width of the 95 % t interval of the mean of ``values`` (n,); inf when n < 2."""
    x = values[np.isfinite(values)]
    n = x.size
    if n < 2:
        return math.inf
    from scipy import stats  # here: a Monte Carlo worker never needs it (0.4 s to import)

    t = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1))
    return t * float(np.std(x, ddof=1)) / math.sqrt(n)


def describe(values: F64) -> dict[str, float | int | None]:
    """Mean, standard deviation, 95 % interval of the mean and 5/50/95th percentiles.

    Non-finite entries (a metric a run did not have) are left out; ``n`` counts the rest.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return {
            "n": 0,
            "mean": None,
            "std": None,
            "ci95_low": None,
            "ci95_high": None,
            "p5": None,
            "p50": None,
            "p95": None,
        }
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    h = halfwidth(x)
    p5, p50, p95 = (float(v) for v in np.percentile(x, [5, 50, 95]))
    return {
        "n": n,
        "mean": mean,
        "std": std,
        "ci95_low": mean - h if math.isfinite(h) else None,
        "ci95_high": mean + h if math.isfinite(h) else None,
        "p5": p5,
        "p50": p50,
        "p95": p95,
    }


def paired(a: F64, b: F64) -> dict[str, float | int | None]:
    """Paired difference ``b - a`` over runs with the same seeds: mean and 95 % interval.

    ``significant`` is true when the interval excludes zero.
    """
    d = np.asarray(b, float) - np.asarray(a, float)
    d = d[np.isfinite(d)]
    out = describe(d)
    lo, hi = out["ci95_low"], out["ci95_high"]
    return {
        "n": out["n"],
        "mean_a": float(np.nanmean(a)) if np.isfinite(a).any() else None,
        "mean_b": float(np.nanmean(b)) if np.isfinite(b).any() else None,
        "diff": out["mean"],
        "ci95_low": lo,
        "ci95_high": hi,
        "significant": bool(lo is not None and hi is not None and (lo > 0 or hi < 0)),
    }

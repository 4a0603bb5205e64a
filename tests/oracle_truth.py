"""The NumPy truth interpolation that :func:`iamd.physics.truth.interpolate_states`
replaced, kept as its oracle."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iamd.physics.truth import KEY_STRIDE_S, TruthTable

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def state_at_numpy(truth: TruthTable, idx: I64, t_s: F64) -> F64:
    """Cubic Hermite positions and linear velocities of threats ``idx`` (k,) at ``t_s`` (k,)."""
    lo = truth.offset[idx]
    hi = truth.offset[idx + 1] - 1
    t = np.asarray(t_s, dtype=np.float64)
    j = np.searchsorted(truth.search_key, idx * KEY_STRIDE_S + t, side="right") - 1
    j = np.maximum(np.minimum(j, hi - 1), lo)
    j1 = np.minimum(j + 1, hi)
    t0 = truth.t_s[j]
    h = (truth.t_s[j1] - t0)[:, None]
    u = np.maximum(np.minimum((t - t0)[:, None] / np.where(h > 0, h, 1.0), 1.0), 0.0)
    a, b = truth.state[j], truth.state[j1]
    hv0, hv1 = h * a[:, 3:], h * b[:, 3:]
    dp = b[:, :3] - a[:, :3]
    pos = a[:, :3] + u * (hv0 + u * (3 * dp - 2 * hv0 - hv1 + u * (hv0 + hv1 - 2 * dp)))
    vel = a[:, 3:] + u * (b[:, 3:] - a[:, 3:])
    return np.concatenate([pos, vel], axis=1)

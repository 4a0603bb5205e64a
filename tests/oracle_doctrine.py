"""The NumPy self-defence test that :func:`iamd.c2.doctrine.self_threats`'s kernel
replaced, kept as its oracle (vectorised over units, threats and segments at once)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
BOOL = NDArray[np.bool_]


def self_threats_numpy(unit_m: F64, path_m: F64, ballistic: BOOL, radius_m: float = 2000.0) -> BOOL:
    """As :func:`iamd.c2.doctrine.self_threats`: (u, k) bool."""
    n_u, k = unit_m.shape[0], path_m.shape[0]
    if n_u == 0 or k == 0:
        return np.zeros((n_u, k), dtype=bool)
    up = unit_m / np.linalg.norm(unit_m, axis=1, keepdims=True)  # (u, 3)
    a = path_m[None, :, :-1, :] - unit_m[:, None, None, :]  # (u, k, s-1, 3) segment starts
    d = (path_m[:, 1:, :] - path_m[:, :-1, :])[None]  # (1, k, s-1, 3) segment directions

    def horizontal(v: F64) -> F64:
        return np.asarray(v - np.einsum("uksi,ui->uks", v, up)[..., None] * up[:, None, None, :])

    ah, dh = horizontal(a), horizontal(np.broadcast_to(d, a.shape))
    dd = np.einsum("uksi,uksi->uks", dh, dh)
    f = np.clip(-np.einsum("uksi,uksi->uks", ah, dh) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    nearest = np.sqrt(np.einsum("uksi,uksi->uks", ah + f[..., None] * dh, ah + f[..., None] * dh))
    route = nearest.min(axis=2) <= radius_m
    end = horizontal(path_m[None, :, -1:, :] - unit_m[:, None, None, :])[:, :, 0]
    impact = np.linalg.norm(end, axis=2) <= radius_m
    return np.asarray(np.where(ballistic[None, :], impact, route))

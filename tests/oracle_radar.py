"""The NumPy radar coverage that :func:`iamd.sensors.radar.coverage_kernel` replaced, kept
as its oracle."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iamd.geo import EARTH_MEAN_RADIUS_M, enu2aer
from iamd.physics.ballistic import altitude_m
from iamd.sensors.radar import (
    K_EFFECTIVE,
    MASK_BINS,
    RadarBank,
    above_horizon,
    horizon_dip_rad,
)

F64 = NDArray[np.float64]


def bank_coverage_numpy(bank: RadarBank, pos_m: F64) -> tuple[NDArray[np.bool_], F64, F64, F64]:
    """Which radars cover which ECEF points (k, 3); also az, el, range, all (r, k)."""
    enu = np.einsum("rij,rkj->rki", bank.rot, pos_m[None] - bank.ecef_m[:, None])
    az, el, rng = enu2aer(enu)
    col = (slice(None), None)
    off = np.abs((az - bank.boresight_rad[col] + np.pi) % (2 * np.pi) - np.pi)
    horiz = np.hypot(enu[..., 0], enu[..., 1])
    ground = EARTH_MEAN_RADIUS_M * np.arctan2(horiz, EARTH_MEAN_RADIUS_M + enu[..., 2])
    el_apparent = el + ground / (2.0 * EARTH_MEAN_RADIUS_M) * (1.0 - 1.0 / K_EFFECTIVE)
    ok = (
        (rng <= bank.max_range_m[col])
        & (off <= bank.half_sector_rad[col] + 1e-12)
        & (el_apparent >= bank.min_el_rad[col] - horizon_dip_rad(bank.alt_m)[col])
        & (el_apparent <= bank.max_el_rad[col])
        & above_horizon(bank.alt_m[col], altitude_m(pos_m)[None], ground)
    )
    if bank.mask_rad is not None:
        bins = np.minimum((np.degrees(az) % 360.0).astype(np.int64), MASK_BINS - 1)
        ok &= el_apparent >= np.take_along_axis(bank.mask_rad, bins, axis=1)
    return ok, az, el, rng

"""Radar coverage, detection and measurement noise, vectorised over targets.

Coverage is the intersection of an azimuth sector, elevation limits, an
instrumented range and the radar horizon of a 4/3 effective Earth (standard
refraction). Detection probability comes from the radar range equation,

.. math:: \\mathrm{SNR} = \\mathrm{SNR}_{ref} \\, \\frac{\\sigma}{1\\,m^2}
          \\left(\\frac{R_{ref}}{R}\\right)^4,

and a Swerling I target in a square-law detector (Skolnik, *Introduction to
Radar Systems*, 3rd ed., ch. 2):

.. math:: P_d = P_{fa}^{1 / (1 + \\mathrm{SNR})}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.geo import EARTH_MEAN_RADIUS_M, aer2ecef, ecef2geodetic, enu2aer, enu_rotation, geodetic2ecef

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
K_EFFECTIVE = 4.0 / 3.0


def horizon_range_m(h1_m: F64 | float, h2_m: F64 | float, k: float = K_EFFECTIVE) -> F64:
    """Textbook radar horizon distance between two heights on a k-Earth, m.

    .. math:: d = \\sqrt{2 k R h_1} + \\sqrt{2 k R h_2}
    """
    re = k * EARTH_MEAN_RADIUS_M
    return np.asarray(np.sqrt(2 * re * np.asarray(h1_m)) + np.sqrt(2 * re * np.asarray(h2_m)))


def above_horizon(
    h_radar_m: F64 | float, h_target_m: F64, ground_m: F64, k: float = K_EFFECTIVE
) -> NDArray[np.bool_]:
    """Whether the straight ray on a k-Earth clears the ground, per target.

    On the effective Earth of radius :math:`kR` rays are straight. The radar sits
    at radius :math:`kR + h_r`, the target at :math:`kR + h_t`, separated by the
    central angle :math:`d / kR` for ground distance ``ground_m``; the target is
    visible when the segment between them stays above :math:`kR`.
    """
    re = k * EARTH_MEAN_RADIUS_M
    theta = np.asarray(ground_m) / re
    ax, ay = re + np.asarray(h_radar_m), 0.0
    bx = (re + h_target_m) * np.cos(theta)
    by = (re + h_target_m) * np.sin(theta)
    dx, dy = bx - ax, by - ay
    seg2 = np.maximum(dx * dx + dy * dy, 1e-12)
    u = np.clip(-(ax * dx + ay * dy) / seg2, 0.0, 1.0)
    cx, cy = ax + u * dx, ay + u * dy
    return np.asarray(np.hypot(cx, cy) >= re)


def pd_swerling1(snr: F64, pfa: float) -> F64:
    """Detection probability of a Swerling I target for linear SNR and false-alarm probability."""
    return np.asarray(pfa ** (1.0 / (1.0 + np.asarray(snr))))


@dataclass(frozen=True, slots=True)
class RadarSite:
    """A radar's fixed geometry and performance in SI units."""

    name: str
    owner: str
    lat_rad: float
    lon_rad: float
    alt_m: float
    ecef_m: F64
    rot: F64
    boresight_rad: float
    half_sector_rad: float
    min_el_rad: float
    max_el_rad: float
    max_range_m: float
    ref_range_m: float
    ref_snr: float
    pfa: float
    scan_s: float
    sigma_range_m: float
    sigma_angle_rad: float
    false_alarms_per_scan: float

    @staticmethod
    def build(
        name: str, owner: str, lat_deg: float, lon_deg: float, alt_m: float, boresight_deg: float,
        sector_deg: float, min_el_deg: float, max_el_deg: float, max_range_km: float,
        ref_range_km: float, ref_snr_db: float, pfa: float, scan_s: float, sigma_range_m: float,
        sigma_angle_mrad: float, false_alarms_per_scan: float,
    ) -> RadarSite:
        lat, lon = np.radians(lat_deg), np.radians(lon_deg)
        return RadarSite(
            name=name, owner=owner, lat_rad=float(lat), lon_rad=float(lon), alt_m=alt_m,
            ecef_m=geodetic2ecef(lat, lon, alt_m), rot=enu_rotation(lat, lon),
            boresight_rad=float(np.radians(boresight_deg)),
            half_sector_rad=float(np.radians(sector_deg) / 2.0),
            min_el_rad=float(np.radians(min_el_deg)), max_el_rad=float(np.radians(max_el_deg)),
            max_range_m=max_range_km * 1000.0, ref_range_m=ref_range_km * 1000.0,
            ref_snr=float(10 ** (ref_snr_db / 10.0)), pfa=pfa, scan_s=scan_s,
            sigma_range_m=sigma_range_m, sigma_angle_rad=sigma_angle_mrad * 1e-3,
            false_alarms_per_scan=false_alarms_per_scan,
        )


@dataclass(frozen=True, slots=True)
class Detections:
    """One scan's detections (struct of arrays).

    Attributes
    ----------
    threat : (k,) truth identity (-1 for a false alarm).
    rae : (k, 3) measured range (m), azimuth (rad), elevation (rad).
    sigma : (3,) measurement standard deviations (m, rad, rad).
    """

    threat: I64
    rae: F64
    sigma: F64


def in_coverage(site: RadarSite, pos_m: F64) -> tuple[NDArray[np.bool_], F64, F64, F64]:
    """Which ECEF points (k, 3) the radar covers; also their az, el, range."""
    enu = (pos_m - site.ecef_m) @ site.rot.T
    az, el, rng = enu2aer(enu)
    off = np.abs((az - site.boresight_rad + np.pi) % (2 * np.pi) - np.pi)
    _, _, h_t = ecef2geodetic(pos_m)
    ground = EARTH_MEAN_RADIUS_M * np.arctan2(np.hypot(enu[:, 0], enu[:, 1]), EARTH_MEAN_RADIUS_M + enu[:, 2])
    ok = (
        (rng <= site.max_range_m)
        & (off <= site.half_sector_rad + 1e-12)
        & (el >= site.min_el_rad)
        & (el <= site.max_el_rad)
        & above_horizon(site.alt_m, h_t, ground)
    )
    return ok, az, el, rng


def scan(
    site: RadarSite,
    threat_idx: I64,
    pos_m: F64,
    rcs_m2: F64,
    rng_detect: np.random.Generator,
    rng_noise: np.random.Generator,
) -> Detections:
    """One scan over candidate targets.

    Parameters
    ----------
    threat_idx : (k,) identities of the candidates.
    pos_m : (k, 3) their ECEF positions at the scan time.
    rcs_m2 : (k,) their radar cross sections.

    Returns
    -------
    Detections, false alarms last.
    """
    ok, az, el, r = in_coverage(site, pos_m)
    snr = site.ref_snr * rcs_m2 * (site.ref_range_m / np.maximum(r, 1.0)) ** 4
    pd = np.where(ok, pd_swerling1(snr, site.pfa), 0.0)
    hit = rng_detect.uniform(0.0, 1.0, pd.shape[0]) < pd
    n_fa = int(rng_detect.poisson(site.false_alarms_per_scan)) if site.false_alarms_per_scan else 0
    k = int(hit.sum())
    sig = np.array([site.sigma_range_m, site.sigma_angle_rad, site.sigma_angle_rad])
    noise = rng_noise.normal(0.0, 1.0, (k, 3)) * sig
    rae = np.stack([r[hit], az[hit], el[hit]], axis=1) + noise
    if n_fa:
        fa = np.stack(
            [
                rng_detect.uniform(0.05, 1.0, n_fa) * site.max_range_m,
                site.boresight_rad + rng_detect.uniform(-1.0, 1.0, n_fa) * site.half_sector_rad,
                site.min_el_rad + rng_detect.uniform(0.0, 1.0, n_fa) * np.radians(5.0),
            ],
            axis=1,
        )
        rae = np.concatenate([rae, fa])
    threat = np.concatenate([threat_idx[hit], np.full(n_fa, -1, dtype=np.int64)])
    return Detections(threat=threat, rae=rae, sigma=sig)


def rae2ecef(site: RadarSite, rae: F64) -> F64:
    """Measured range/az/el (k, 3) to ECEF positions (k, 3)."""
    return aer2ecef(rae[:, 1], rae[:, 2], rae[:, 0], site.lat_rad, site.lon_rad, site.alt_m)

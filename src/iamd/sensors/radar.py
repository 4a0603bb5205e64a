"""Radar coverage, detection and measurement noise, vectorised over targets.

Coverage is the intersection of an azimuth sector, elevation limits, an
instrumented range and the radar horizon of a 4/3 effective Earth (standard
refraction). The lower elevation limit is measured from the site's horizon, which an
elevated antenna (site altitude plus mast) sees below its horizontal by the dip
:func:`horizon_dip_rad`: a 0 deg floor reaches down to the horizon, so a radar on a hill
sees a low flier out to the 4/3-Earth horizon. Detection probability comes from the
radar range equation,

.. math:: \\mathrm{SNR} = \\mathrm{SNR}_{ref} \\, \\frac{\\sigma}{1\\,m^2}
          \\left(\\frac{R_{ref}}{R}\\right)^4,

and a Swerling I target in a square-law detector (Skolnik, *Introduction to
Radar Systems*, 3rd ed., ch. 2):

.. math:: P_d = P_{fa}^{1 / (1 + \\mathrm{SNR})}.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from iamd.geo import (
    EARTH_MEAN_RADIUS_M,
    WGS84_A_M,
    WGS84_B_M,
    aer2enu,
    enu_rotation,
    geodetic2ecef,
)

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
K_EFFECTIVE = 4.0 / 3.0


def horizon_range_m(h1_m: F64 | float, h2_m: F64 | float, k: float = K_EFFECTIVE) -> F64:
    """Textbook radar horizon distance between two heights on a k-Earth, m.

    .. math:: d = \\sqrt{2 k R h_1} + \\sqrt{2 k R h_2}
    """
    re = k * EARTH_MEAN_RADIUS_M
    return np.asarray(np.sqrt(2 * re * np.asarray(h1_m)) + np.sqrt(2 * re * np.asarray(h2_m)))


def horizon_dip_rad(h_m: F64 | float, k: float = K_EFFECTIVE) -> F64:
    """Apparent dip of the horizon below the horizontal, seen from height ``h_m`` on a
    k-Earth, rad.

    .. math:: \\delta = \\arccos\\frac{a}{a + h}, \\quad a = k R
    """
    re = k * EARTH_MEAN_RADIUS_M
    h = np.maximum(np.asarray(h_m, dtype=np.float64), 0.0)
    return np.asarray(np.arccos(re / (re + h)))


def above_horizon(
    h_radar_m: F64 | float, h_target_m: F64, ground_m: F64, k: float = K_EFFECTIVE
) -> NDArray[np.bool_]:
    """Whether the straight ray on a k-Earth clears the ground, per target.

    On the effective Earth of radius :math:`a = kR` rays are straight; a segment
    between heights :math:`h_1, h_2` clears the sphere exactly when the central angle
    between its ends, ``ground_m / a``, is at most the sum of their horizon angles
    :math:`\\arccos(a / (a + h))`.
    """
    re = k * EARTH_MEAN_RADIUS_M
    h1 = np.maximum(np.asarray(h_radar_m, dtype=np.float64), 0.0)
    h2 = np.maximum(np.asarray(h_target_m, dtype=np.float64), 0.0)
    limit = np.arccos(re / (re + h1)) + np.arccos(re / (re + h2))
    return np.asarray(np.asarray(ground_m) / re <= limit)


MASK_BINS = 360
"""Azimuth bins of a terrain mask (a degree each)."""
NO_MASK_RAD = -np.pi / 2
"""Mask elevation of a bin without terrain (hides nothing)."""


def terrain_mask_rad(sectors: list[tuple[float, float, float]]) -> F64:
    """A terrain mask as the elevation (rad) of the terrain edge per degree of azimuth.

    Parameters
    ----------
    sectors : (az_from_deg, az_to_deg, el_deg) each: a sector clockwise from ``az_from``
        to ``az_to`` (it may pass north) whose terrain rises to ``el_deg`` above the
        horizontal. Overlapping sectors: the higher edge counts.

    Returns
    -------
    (360,) mask elevation, rad, of the bins [b, b + 1) deg (``NO_MASK_RAD`` where no
    sector lies).
    """
    mask = np.full(MASK_BINS, NO_MASK_RAD)
    centre_deg = np.arange(MASK_BINS) + 0.5
    for az_from, az_to, el_deg in sectors:
        width = (az_to - az_from) % 360.0 or 360.0
        inside = (centre_deg - az_from) % 360.0 < width
        mask[inside] = np.maximum(mask[inside], np.radians(el_deg))
    return mask


FALSE_ALARM_EL_RAD = float(np.radians(5.0))
"""False alarms appear within this much above a radar's lowest elevation."""


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
    track_gain: float
    pfa: float
    scan_s: float
    sigma_range_m: float
    sigma_angle_rad: float
    false_alarms_per_scan: float
    kill_assessment_pc: float = 1.0
    mask_rad: F64 | None = None

    @property
    def figures(self) -> tuple[float, float, float, float, float, float, float, float]:
        """Reference SNR, its range m, track-mode gain, false alarm probability, maximum
        range m, boresight and half sector rad, lowest elevation rad (:func:`scan_kernel`)."""
        return (
            self.ref_snr,
            self.ref_range_m,
            self.track_gain,
            self.pfa,
            self.max_range_m,
            self.boresight_rad,
            self.half_sector_rad,
            self.min_el_rad,
        )

    @property
    def sigma(self) -> F64:
        """(3,) measurement standard deviations: range m, azimuth and elevation rad."""
        return np.array([self.sigma_range_m, self.sigma_angle_rad, self.sigma_angle_rad])

    @staticmethod
    def build(
        name: str,
        owner: str,
        lat_deg: float,
        lon_deg: float,
        alt_m: float,
        boresight_deg: float,
        sector_deg: float,
        min_el_deg: float,
        max_el_deg: float,
        max_range_km: float,
        ref_range_km: float,
        ref_snr_db: float,
        track_gain_db: float,
        pfa: float,
        scan_s: float,
        sigma_range_m: float,
        sigma_angle_mrad: float,
        false_alarms_per_scan: float,
        kill_assessment_pc: float = 1.0,
        terrain_mask: list[tuple[float, float, float]] | None = None,
    ) -> RadarSite:
        lat, lon = np.radians(lat_deg), np.radians(lon_deg)
        return RadarSite(
            name=name,
            owner=owner,
            lat_rad=float(lat),
            lon_rad=float(lon),
            alt_m=alt_m,
            ecef_m=geodetic2ecef(lat, lon, alt_m),
            rot=enu_rotation(lat, lon),
            boresight_rad=float(np.radians(boresight_deg)),
            half_sector_rad=float(np.radians(sector_deg) / 2.0),
            min_el_rad=float(np.radians(min_el_deg)),
            max_el_rad=float(np.radians(max_el_deg)),
            max_range_m=max_range_km * 1000.0,
            ref_range_m=ref_range_km * 1000.0,
            ref_snr=float(10 ** (ref_snr_db / 10.0)),
            track_gain=float(10 ** (track_gain_db / 10.0)),
            pfa=pfa,
            scan_s=scan_s,
            sigma_range_m=sigma_range_m,
            sigma_angle_rad=sigma_angle_mrad * 1e-3,
            false_alarms_per_scan=false_alarms_per_scan,
            kill_assessment_pc=kill_assessment_pc,
            mask_rad=terrain_mask_rad(terrain_mask) if terrain_mask else None,
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


@dataclass(frozen=True, slots=True)
class RadarBank:
    """Several radars' coverage figures stacked as arrays (r,), for one vectorised test."""

    ecef_m: F64
    rot: F64
    alt_m: F64
    boresight_rad: F64
    half_sector_rad: F64
    min_el_rad: F64
    max_el_rad: F64
    max_range_m: F64
    mask_rad: F64 | None = None
    """(r, 360) terrain mask elevation per degree of azimuth, rad; None if no radar has one."""

    @staticmethod
    def of(sites: list[RadarSite]) -> RadarBank:
        def a(f: str) -> F64:
            return np.array([getattr(x, f) for x in sites], dtype=np.float64)

        return RadarBank(
            ecef_m=np.array([x.ecef_m for x in sites]).reshape(-1, 3),
            rot=np.array([x.rot for x in sites]).reshape(-1, 3, 3),
            alt_m=a("alt_m"),
            boresight_rad=a("boresight_rad"),
            half_sector_rad=a("half_sector_rad"),
            min_el_rad=a("min_el_rad"),
            max_el_rad=a("max_el_rad"),
            max_range_m=a("max_range_m"),
            mask_rad=None
            if all(x.mask_rad is None for x in sites)
            else np.array(
                [
                    np.full(MASK_BINS, NO_MASK_RAD) if x.mask_rad is None else x.mask_rad
                    for x in sites
                ]
            ),
        )


def bank_coverage(bank: RadarBank, pos_m: F64) -> tuple[NDArray[np.bool_], F64, F64, F64]:
    """Which radars cover which ECEF points (k, 3); also az, el, range, all (r, k).

    The elevation limits apply to the apparent (refracted) elevation: on a k-Earth a ray
    bends up by :math:`d / 2R \\, (1 - 1/k)` relative to the straight geometric line
    (:func:`coverage_kernel`).
    """
    pos = np.ascontiguousarray(pos_m, dtype=np.float64).reshape(-1, 3)
    shape = (bank.ecef_m.shape[0], pos.shape[0])
    ok = np.empty(shape, dtype=np.bool_)
    az, el, rng = np.empty(shape), np.empty(shape), np.empty(shape)
    coverage_kernel(*bank_figures(bank), pos, ok, az, el, rng)
    return ok, az, el, rng


BankFigures = tuple[F64, F64, F64, F64, F64, F64, F64, F64, F64, bool]
"""The first ten arguments of :func:`coverage_kernel`."""


def bank_figures(bank: RadarBank) -> BankFigures:
    """A bank's figures as :func:`coverage_kernel` takes them (an empty mask table and
    False when no radar has a terrain mask)."""
    return (
        bank.ecef_m,
        bank.rot,
        bank.alt_m,
        bank.boresight_rad,
        bank.half_sector_rad,
        bank.min_el_rad,
        bank.max_el_rad,
        bank.max_range_m,
        _NO_MASKS if bank.mask_rad is None else bank.mask_rad,
        bank.mask_rad is not None,
    )


_NO_MASKS = np.zeros((0, MASK_BINS))
NO_RADARS = RadarBank.of([])
"""A bank of no radar: it covers nothing (a launch warning's view of the tracks)."""


@njit(cache=True)
def coverage_kernel(
    ecef_m: F64,
    rot: F64,
    alt_m: F64,
    boresight_rad: F64,
    half_sector_rad: F64,
    min_el_rad: F64,
    max_el_rad: F64,
    max_range_m: F64,
    mask_rad: F64,
    masked: bool,
    pos_m: F64,
    ok: NDArray[np.bool_],
    az_rad: F64,
    el_rad: F64,
    range_m: F64,
) -> None:
    """Coverage of points ``pos_m`` (k, 3) by radars (r,) into ``ok``, ``az_rad``,
    ``el_rad``, ``range_m`` (r, k).

    A point is covered when its slant range is within ``max_range_m``, its azimuth within
    ``half_sector_rad`` of the boresight, its apparent elevation within the limits (the
    lower one taken from the horizon's dip, :func:`horizon_dip_rad`) and above the terrain
    mask's edge in its degree of azimuth (``mask_rad`` (r, 360), when ``masked``), and the
    ray clears the 4/3 Earth (:func:`above_horizon`). ``rot`` (r, 3, 3) turns ECEF offsets
    into each radar's ENU; ``alt_m`` (r,) are the antenna heights.
    """
    re = K_EFFECTIVE * EARTH_MEAN_RADIUS_M
    two_pi = 2.0 * np.pi
    for r in range(ecef_m.shape[0]):
        h1 = max(alt_m[r], 0.0)
        dip = math.acos(re / (re + h1))
        for k in range(pos_m.shape[0]):
            px, py, pz = pos_m[k, 0], pos_m[k, 1], pos_m[k, 2]
            dx, dy, dz = px - ecef_m[r, 0], py - ecef_m[r, 1], pz - ecef_m[r, 2]
            # summed in the order NumPy's einsum sums them, so both agree to the bit
            east = rot[r, 0, 0] * dx + rot[r, 0, 2] * dz + rot[r, 0, 1] * dy
            north = rot[r, 1, 0] * dx + rot[r, 1, 2] * dz + rot[r, 1, 1] * dy
            up = rot[r, 2, 0] * dx + rot[r, 2, 2] * dz + rot[r, 2, 1] * dy
            horiz = math.hypot(east, north)
            az = math.atan2(east, north) % two_pi
            el = math.atan2(up, horiz)
            rng = math.hypot(horiz, up)
            off = abs((az - boresight_rad[r] + np.pi) % two_pi - np.pi)
            ground = EARTH_MEAN_RADIUS_M * math.atan2(horiz, EARTH_MEAN_RADIUS_M + up)
            el_apparent = el + ground / (2.0 * EARTH_MEAN_RADIUS_M) * (1.0 - 1.0 / K_EFFECTIVE)
            r2 = px * px + py * py + pz * pz
            s2 = pz * pz / max(r2, 1.0)
            surface = (
                WGS84_A_M
                * WGS84_B_M
                / math.sqrt(WGS84_B_M * WGS84_B_M * (1.0 - s2) + WGS84_A_M * WGS84_A_M * s2)
            )
            h2 = max(math.sqrt(r2) - surface, 0.0)
            seen = (
                rng <= max_range_m[r]
                and off <= half_sector_rad[r] + 1e-12
                and el_apparent >= min_el_rad[r] - dip
                and el_apparent <= max_el_rad[r]
                and ground / re <= dip + math.acos(re / (re + h2))
            )
            if seen and masked:
                b = min(int(az * (180.0 / np.pi) % 360.0), MASK_BINS - 1)
                seen = el_apparent >= mask_rad[r, b]
            ok[r, k] = seen
            az_rad[r, k] = az
            el_rad[r, k] = el
            range_m[r, k] = rng


@njit(cache=True)
def _covers(bank: BankFigures, pos_m: F64) -> NDArray[np.bool_]:
    """Which radars (r,) of ``bank`` cover which points ``pos_m`` (k, 3): (r, k)
    (:func:`coverage_kernel`)."""
    n_r, k = bank[0].shape[0], pos_m.shape[0]
    ok = np.empty((n_r, k), dtype=np.bool_)
    az, el, rng = np.empty((n_r, k)), np.empty((n_r, k)), np.empty((n_r, k))
    coverage_kernel(bank[0], bank[1], bank[2], bank[3], bank[4], bank[5], bank[6], bank[7],
                    bank[8], bank[9], pos_m, ok, az, el, rng)  # fmt: skip
    return ok


@njit(cache=True)
def covered_any(bank: BankFigures, pos_m: F64) -> NDArray[np.bool_]:
    """Which points ``pos_m`` (k, 3) some radar of ``bank`` (:func:`bank_figures`) covers,
    (k,) (:func:`coverage_kernel`; none for a bank of no radar)."""
    ok = _covers(bank, pos_m)
    out = np.zeros(pos_m.shape[0], dtype=np.bool_)
    for q in range(pos_m.shape[0]):
        for r in range(ok.shape[0]):
            out[q] = out[q] or ok[r, q]
    return out


@njit(cache=True)
def covered_allowed(
    bank: BankFigures, pos_m: F64, group: I64, allowed: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Which points ``pos_m`` (k, 3) a radar of ``bank`` covers among the radars its group
    may use: point q's group is ``group[q]``, and ``allowed`` (groups, r) says which of the
    bank's r radars each group may use (:func:`coverage_kernel`)."""
    ok = _covers(bank, pos_m)
    out = np.zeros(pos_m.shape[0], dtype=np.bool_)
    for q in range(pos_m.shape[0]):
        for r in range(ok.shape[0]):
            if ok[r, q] and allowed[group[q], r]:
                out[q] = True
                break
    return out


def in_coverage(site: RadarSite, pos_m: F64) -> tuple[NDArray[np.bool_], F64, F64, F64]:
    """Which ECEF points (k, 3) one radar covers; also their az, el, range (k,)."""
    ok, az, el, rng = bank_coverage(RadarBank.of([site]), pos_m)
    return ok[0], az[0], el[0], rng[0]


def scan(
    site: RadarSite,
    bank: RadarBank,
    threat_idx: I64,
    pos_m: F64,
    rcs_m2: F64,
    tracked: NDArray[np.bool_],
    rng_detect: np.random.Generator,
    rng_noise: np.random.Generator,
) -> Detections:
    """One scan over candidate targets.

    Parameters
    ----------
    site, bank : the radar, and the same radar as a bank of one (built once by the caller).
    threat_idx : (k,) identities of the candidates.
    pos_m : (k, 3) their ECEF positions at the scan time.
    rcs_m2 : (k,) their radar cross sections.
    tracked : (k,) already held in a track: the radar spends track-mode energy on them
        (SNR times ``track_gain``).

    Returns
    -------
    Detections, false alarms last.
    """
    pos = np.ascontiguousarray(pos_m, dtype=np.float64).reshape(-1, 3)
    draw = rng_detect.uniform(0.0, 1.0, pos.shape[0])
    n_fa = int(rng_detect.poisson(site.false_alarms_per_scan)) if site.false_alarms_per_scan else 0
    threat, rae, hits = scan_kernel(
        bank_figures(bank),
        np.ascontiguousarray(threat_idx, dtype=np.int64),
        pos,
        np.ascontiguousarray(rcs_m2, dtype=np.float64),
        np.ascontiguousarray(tracked, dtype=np.bool_),
        draw,
        rng_detect.random(3 * n_fa),  # false alarms' range, azimuth, elevation draws
        site.figures,
    )
    sig = site.sigma
    rae[:hits] += rng_noise.normal(0.0, 1.0, (hits, 3)) * sig
    return Detections(threat=threat, rae=rae, sigma=sig)


@njit(cache=True)
def scan_kernel(
    bank: BankFigures,
    threat_idx: I64,
    pos_m: F64,
    rcs_m2: F64,
    tracked: NDArray[np.bool_],
    draw: F64,
    fa_draw: F64,
    figures: tuple[float, float, float, float, float, float, float, float],
) -> tuple[I64, F64, int]:
    """Coverage, detection and false alarms of one scan of a bank of one radar, in one call.

    Parameters
    ----------
    bank : the radar's figures (:func:`bank_figures`).
    threat_idx, pos_m, rcs_m2, tracked, draw : the k candidates' identities (k,), ECEF
        positions (k, 3), cross sections (k,) m^2, track mode (k,) and uniform draws (k,)
        (:func:`detect_kernel`).
    fa_draw : (3 f,) uniform draws of f false alarms: their ranges, then azimuths, then
        elevations.
    figures : reference SNR, its range m, the track-mode gain, the false alarm
        probability, the maximum range m, the boresight and half sector rad and the
        lowest elevation rad (:attr:`RadarSite.figures`).

    Returns
    -------
    The identities (h + f,) of the h detected candidates in candidate order then -1 for
    the false alarms; their true range m, azimuth and elevation rad (h + f, 3), the false
    alarms' spread over the radar's range, sector and lowest ``FALSE_ALARM_EL_RAD`` of
    elevation; and h.
    """
    k, f = pos_m.shape[0], fa_draw.shape[0] // 3
    ok = np.empty((1, k), dtype=np.bool_)
    az, el, rng = np.empty((1, k)), np.empty((1, k)), np.empty((1, k))
    coverage_kernel(bank[0], bank[1], bank[2], bank[3], bank[4], bank[5], bank[6], bank[7],
                    bank[8], bank[9], pos_m, ok, az, el, rng)  # fmt: skip
    hit = np.empty(k, dtype=np.bool_)
    detect_kernel(ok[0], rng[0], rcs_m2, tracked, draw, figures[0], figures[1], figures[2],
                  figures[3], hit)  # fmt: skip
    idx = np.flatnonzero(hit)
    h = idx.shape[0]
    threat = np.full(h + f, -1, dtype=np.int64)
    rae = np.empty((h + f, 3))
    for j in range(h):
        threat[j] = threat_idx[idx[j]]
        rae[j, 0], rae[j, 1], rae[j, 2] = rng[0, idx[j]], az[0, idx[j]], el[0, idx[j]]
    max_range_m, boresight_rad, half_sector_rad, min_el_rad = figures[4:]
    for j in range(f):  # as Generator.uniform(low, high) draws: low + (high - low) * u
        rae[h + j, 0] = (0.05 + (1.0 - 0.05) * fa_draw[j]) * max_range_m
        rae[h + j, 1] = boresight_rad + (-1.0 + 2.0 * fa_draw[f + j]) * half_sector_rad
        rae[h + j, 2] = min_el_rad + fa_draw[2 * f + j] * FALSE_ALARM_EL_RAD
    return threat, rae, h


@njit(cache=True)
def detect_kernel(
    covered: NDArray[np.bool_],
    range_m: F64,
    rcs_m2: F64,
    tracked: NDArray[np.bool_],
    draw: F64,
    ref_snr: float,
    ref_range_m: float,
    track_gain: float,
    pfa: float,
    hit: NDArray[np.bool_],
) -> None:
    """Which of k candidates are detected, into ``hit`` (k,): a covered candidate at
    ``range_m`` with ``rcs_m2`` is detected when its uniform ``draw`` falls below its
    Swerling I detection probability (:func:`pd_swerling1`, the SNR from the radar range
    equation, times ``track_gain`` for ``tracked`` ones)."""
    for k in range(covered.shape[0]):
        snr = ref_snr * rcs_m2[k] * math.pow(ref_range_m / max(range_m[k], 1.0), 4.0)
        if tracked[k]:
            snr = snr * track_gain
        pd = math.pow(pfa, 1.0 / (1.0 + snr)) if covered[k] else 0.0
        hit[k] = draw[k] < pd


def rae2ecef(site: RadarSite, rae: F64) -> F64:
    """Measured range/az/el (k, 3) to ECEF positions (k, 3)."""
    return np.asarray(aer2enu(rae[:, 1], rae[:, 2], rae[:, 0]) @ site.rot + site.ecef_m)

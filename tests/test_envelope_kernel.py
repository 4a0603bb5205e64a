"""The opportunities kernel against its plain-Python oracle (tests/oracle_envelope.py) on
random raids: ground batteries of several classes, an aircraft that dashes to its launch
point and a laser, against straight and climbing or diving paths, decided now or later."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from oracle_envelope import opportunities_reference

from iamd.c2.envelope import UnitEnvelopes, opportunities
from iamd.geo import enu_rotation, geodetic2ecef
from iamd.scenario.catalog import Catalog, bundled_catalog_data

F64 = NDArray[np.float64]

CATALOG = Catalog.model_validate(bundled_catalog_data())
LAT, LON = np.radians(32.0), np.radians(35.0)
ORIGIN = geodetic2ecef(LAT, LON, 0.0)
ROT = enu_rotation(LAT, LON)  # ENU rows
# (class, launch altitude m, dash m/s, launch range m)
FIRE_UNITS = [
    ("mid_tier", 0.0, 0.0, 0.0),
    ("short_range", 0.0, 0.0, 0.0),
    ("upper_tier_endo", 0.0, 0.0, 0.0),
    ("upper_tier_exo", 0.0, 0.0, 0.0),
    ("laser", 0.0, 0.0, 0.0),
    ("fighter_aam", 9000.0, 450.0, 60e3),
]


def _enu(points_m: F64) -> F64:
    return ORIGIN + points_m @ ROT


Raid = tuple[UnitEnvelopes, float, F64, F64, F64, F64, float]


def _raid(n_units: int, n_paths: int, seed: int) -> Raid:
    """Random fire units near the origin and ``n_paths`` random paths of 25 samples, with
    the decision time, impact times, laser kill fluences and the commit window."""
    rng = np.random.default_rng(seed)
    kinds = [FIRE_UNITS[i] for i in rng.integers(0, len(FIRE_UNITS), n_units)]
    east_north = rng.uniform(-40e3, 40e3, (n_units, 2))
    here = _enu(np.column_stack([east_north, [alt for _, alt, _, _ in kinds]]))
    units = UnitEnvelopes.of(
        list(here),
        [CATALOG.interceptors[name] for name, _, _, _ in kinds],
        [alt for _, alt, _, _ in kinds],
        [dash for _, _, dash, _ in kinds],
        [reach for _, _, _, reach in kinds],
    )
    # paths from 20-300 km out to near one of the units, climbing or diving
    n_s = 25
    bearing = rng.uniform(0.0, 2.0 * np.pi, n_paths)
    reach = rng.uniform(20e3, 300e3, n_paths)
    start = np.column_stack(
        [reach * np.cos(bearing), reach * np.sin(bearing), rng.uniform(200.0, 100e3, n_paths)]
    )
    aim = np.column_stack(
        [
            east_north[rng.integers(0, n_units, n_paths)] + rng.uniform(-8e3, 8e3, (n_paths, 2)),
            rng.uniform(0.0, 10e3, n_paths),
        ]
    )
    t_rel = np.linspace(0.0, rng.uniform(60.0, 900.0), n_s)
    frac = (t_rel / t_rel[-1])[None, :, None]
    enu = start[:, None, :] + frac * (aim - start)[:, None, :]
    path_m = _enu(enu.reshape(-1, 3)).reshape(n_paths, n_s, 3)
    t0 = rng.uniform(0.0, 1000.0)
    path_t = np.repeat((t0 + t_rel)[None], n_paths, axis=0)
    t_impact = np.where(rng.random(n_paths) < 0.5, 1e9, t0 + rng.uniform(0.0, t_rel[-1], n_paths))
    fluence = rng.uniform(1e6, 5e7, n_paths)
    t_now = t0 + rng.uniform(-300.0, 0.5 * t_rel[-1])
    commit = float(rng.choice([1.0, 4.0, 1e6]))
    return units, t_now, path_t, path_m, t_impact, fluence, commit


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_the_kernel_matches_its_oracle_exactly(n_units: int, n_paths: int, seed: int) -> None:
    args = _raid(n_units, n_paths, seed)
    got, ref = opportunities(*args), opportunities_reference(*args)
    for field in ("feasible", "later", "t_intercept_s", "pip_m", "due_in_s", "flyout_s"):
        assert np.array_equal(getattr(got, field), getattr(ref, field), equal_nan=True), field


def test_the_random_raids_exercise_every_branch() -> None:
    """The raids of the property test reach feasible intercepts (refined on a segment, or
    at the first sample ahead), launches due later, paths seen but never reached in time,
    and intercepts by every kind of unit: the test above cannot pass vacuously."""
    hits = {"refined": 0, "first": 0, "due_later": 0, "never_in_time": 0}
    kinds = set()
    for seed in range(300):
        args = _raid(6, 5, seed)
        units, path_t = args[0], args[2]
        opp = opportunities(*args)
        first = opp.t_intercept_s == path_t[:, 0][None, :]
        hits["refined"] += int((opp.feasible & ~first).sum())
        hits["first"] += int((opp.feasible & first).sum())
        hits["due_later"] += int((np.isfinite(opp.due_in_s) & (opp.due_in_s > 0)).sum())
        hits["never_in_time"] += int((opp.later & np.isinf(opp.due_in_s)).sum())
        for u in np.flatnonzero(opp.feasible.any(axis=1)):
            kinds.add("laser" if units.laser[u] else "air" if units.dash_m_s[u] > 0 else "ground")
    assert all(v > 0 for v in hits.values()), hits
    assert kinds == {"laser", "air", "ground"}, kinds

"""Who defends what (assets by owner, ``defends``, a unit itself) and the per-class doctrine
(salvo, yield to a better layer, last ditch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamd.c2.doctrine import screen, self_threats
from iamd.errors import ScenarioError
from iamd.geo import enu2ecef, geodetic2ecef
from iamd.scenario.load import load_scenario_text
from iamd.sim.run import simulate

TWO_OWNERS = """
name: who-defends
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 900
seed: 3
owners:
  - {name: host, shares_with: [guest]}
  - {name: guest, shares_with: [host]%s}
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: radar, type: fire_control_radar, owner: host, lat_deg: 31.95, lon_deg: 35.0, alt_m: 100}
  - {name: radar2, type: fire_control_radar, owner: guest,
     lat_deg: 31.95, lon_deg: 35.05, alt_m: 100}
c2_nodes:
  - {name: bmc, owner: host, lat_deg: 31.95, lon_deg: 35.0, cycle_s: 1}
  - {name: guest-c2, owner: guest, lat_deg: 31.95, lon_deg: 35.05, cycle_s: 1}
fire_units:
  - {name: guest-sr, interceptor: short_range, owner: guest, c2: guest-c2,
     lat_deg: 31.97, lon_deg: 35.05}
raid:
  - threat: rocket_medium
    count: 10
    launch_area: {lat_deg: 32.9, lon_deg: 35.0, radius_km: 5}
    start_s: 10
    interval_s: 10
    %s
"""


def fired(text: str, unit: str = "guest-sr") -> int:
    r = simulate(load_scenario_text(text, "test.yaml"))
    return int(r.outcome.fired[[u.name for u in r.world.units].index(unit)])


def test_a_partner_defends_only_the_assets_it_is_asked_to():
    at_town = "targets: [Town]"
    assert fired(TWO_OWNERS % ("", at_town)) == 0
    assert fired(TWO_OWNERS % (", defends: [Town]", at_town)) > 0


def test_a_unit_defends_itself():
    at_unit = "aimpoints: [{lat_deg: 31.97, lon_deg: 35.05}]"
    assert fired(TWO_OWNERS % ("", at_unit)) > 0


def test_defends_and_doctrine_classes_are_checked_with_their_location():
    text = TWO_OWNERS % (", defends: [Twon]", "targets: [Town]")
    text += "doctrine: {classes: {short_rnage: {salvo: 2}}}\n"
    with pytest.raises(ScenarioError) as exc:
        load_scenario_text(text, "test.yaml")
    messages = [str(p) for p in exc.value.problems]
    assert any("unknown asset 'Twon'; did you mean 'Town'?" in m for m in messages), messages
    assert any("short_rnage" in m and "did you mean 'short_range'" in m for m in messages)
    assert all(p.line > 0 for p in exc.value.problems)


STRONG_WEAK = """
fire_units:
  - {name: strong, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 31.98, lon_deg: 35.0%s}
  - {name: weak, interceptor: weak_sr, owner: blue, c2: bmc, lat_deg: 31.98, lon_deg: 35.02}
raid:
  - threat: rocket_medium
    count: 16
    launch_area: {lat_deg: 32.9, lon_deg: 35.0, radius_km: 5}
    start_s: 10
    interval_s: 12
    targets: [Town]
catalog:
  interceptors:
    weak_sr: {base: short_range, pk: {rocket_medium: %g}}
doctrine:
  shoot_look_shoot: true
  classes: {weak_sr: %s}
"""


def run_weak(make_scenario, strong_extra: str, weak_pk: float, weak_doctrine: str):
    r = simulate(make_scenario(STRONG_WEAK % (strong_extra, weak_pk, weak_doctrine)), seed=2)
    names = [u.name for u in r.world.units]
    return int(r.outcome.fired[names.index("weak")]), int(r.outcome.fired[names.index("strong")])


def test_a_weak_layer_yields_to_a_better_one_that_can_still_engage(make_scenario):
    weak_free, _ = run_weak(make_scenario, "", 0.4, "{}")
    weak_yields, strong = run_weak(make_scenario, "", 0.4, "{yield_below_pk: 0.6}")
    assert weak_free > 0
    assert weak_yields < weak_free and strong > 0


def test_last_ditch_fires_below_min_pk_only_when_nobody_else_can(make_scenario):
    empty = ", rounds: 0, reloads: 0"
    assert run_weak(make_scenario, empty, 0.2, "{}")[0] == 0  # below min_pk 0.3
    assert run_weak(make_scenario, empty, 0.2, "{last_ditch: true}")[0] > 0
    # with the strong unit armed, the weak one has no last chance to take
    assert run_weak(make_scenario, "", 0.2, "{last_ditch: true}")[0] == 0


def test_a_class_fires_its_own_salvo(make_scenario):
    text = STRONG_WEAK % (", rounds: 0, reloads: 0", 0.5, "{salvo: 2}")
    text = text.replace("shoot_look_shoot: true", "shoot_look_shoot: false")
    r = simulate(make_scenario(text), seed=2)
    weak = [u.name for u in r.world.units].index("weak")
    shots = [e.shots for e in r.outcome.engagements if e.unit == weak]
    assert shots and set(shots) == {2}


# -- the kernels


def test_self_threats_against_brute_force():
    lat, lon = np.radians(32.0), np.radians(35.0)
    unit = geodetic2ecef(lat, lon, 0.0)[None]

    # a ballistic path ending 1.5 km east (hits the unit), one ending 3 km north (misses)
    def path(points_enu):
        return enu2ecef(np.asarray(points_enu, dtype=float), lat, lon, 0.0)

    s = np.linspace(0, 1, 25)[:, None]
    hit = path(np.hstack([1500 + 0 * s, -50e3 * (1 - s), 30e3 * (1 - s)]))
    miss = path(np.hstack([0 * s, 3000 - 50e3 * (1 - s), 30e3 * (1 - s)]))
    # a drone route passing 1.8 km west of the unit at 2 km altitude, and one 4 km off
    near = path(np.hstack([-1800 + 0 * s, 40e3 - 80e3 * s, 2000 + 0 * s]))
    far = path(np.hstack([-4000 + 0 * s, 40e3 - 80e3 * s, 2000 + 0 * s]))
    paths = np.stack([hit, miss, near, far])
    got = self_threats(unit, paths, np.array([True, True, False, False]))
    assert got.tolist() == [[True, False, True, False]]


def test_yield_and_last_chance_against_brute_force():
    """The screening kernel's yield and last-chance rules, pair by pair: a unit holds a
    threat that another unit (here, or elsewhere) could take with a better kill
    probability when its own is below its class's yield figure; it fires as a last ditch
    when nobody else could take it at all."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        u, k = rng.integers(1, 5), rng.integers(1, 5)
        pk = rng.choice([0.0, 0.2, 0.4, 0.6, 0.9], size=(u, k))
        later = rng.random((u, k)) < 0.6
        y = rng.choice([0.0, 0.5, 0.7], size=u)
        ditch = rng.random(u) < 0.5
        elsewhere = rng.choice([0.0, 0.5, 0.95], size=k)
        feasible_now = rng.random((u, k)) < 0.7
        cap = rng.integers(0, 2, size=u)
        yes_u, no_k = np.ones(u, dtype=bool), np.zeros(k, dtype=bool)
        scr = screen(
            pk, np.arange(k), np.tile(np.eye(6), (k, 1, 1)), np.full(u, np.inf), yes_u, no_k,
            np.zeros((u, k), dtype=bool), later, feasible_now, yes_u, yes_u, cap, 0.0, y,
            ditch, elsewhere,
        )  # fmt: skip
        could = later & (pk > 0.0)  # every unit wants every threat, loaded, min_pk 0
        assert np.array_equal(scr.pk, pk)  # lasers (divert inf): the class figure itself
        for a in range(u):
            for b in range(k):
                others = [pk[c, b] for c in range(u) if c != a and could[c, b]]
                best = max([*others, elsewhere[b], 0.0])
                hold = pk[a, b] < y[a] and best > pk[a, b]
                last = ditch[a] and best <= 0.0
                usable = (pk[a, b] > 0.0 and not hold) or (last and pk[a, b] > 0.0)
                assert scr.usable[a, b] == usable
                assert scr.later_ok[a, b] == (usable and later[a, b])
                assert scr.feasible[a, b] == (usable and feasible_now[a, b] and cap[a] > 0)
            assert scr.could_pk[b] == max([pk[c, b] for c in range(u) if could[c, b]] + [0.0])


def test_the_self_defence_kernel_matches_its_numpy_oracle():
    """Random units and predicted paths (ballistic impacts and routes, some passing within
    the radius, some not): the compiled test decides as the NumPy version it replaced."""
    from oracle_doctrine import self_threats_numpy

    from iamd.c2.doctrine import self_threats
    from iamd.geo import geodetic2ecef

    rng = np.random.default_rng(3)
    hits = cells = 0
    for _ in range(30):
        n_u, k, s = rng.integers(1, 8), rng.integers(1, 40), rng.integers(2, 30)
        lat, lon = np.radians(31 + rng.uniform(0, 1, n_u)), np.radians(35 + rng.uniform(0, 1, n_u))
        units = geodetic2ecef(lat, lon, rng.uniform(0, 500, n_u))
        # paths that wander near the units: each starts about 10 km from a unit and steps
        # a few km at a time, up and down as well as across
        near = units[rng.integers(0, n_u, k)]
        start = near + rng.normal(0, 10e3, (k, 3))
        paths = start[:, None, :] + np.cumsum(rng.normal(0, 3e3, (k, s, 3)), axis=1)
        ballistic = rng.random(k) < 0.4
        for radius in (2e3, 15e3):
            got = self_threats(units, paths, ballistic, radius)
            want = self_threats_numpy(units, paths, ballistic, radius)
            assert got.shape == want.shape == (n_u, k)
            assert np.array_equal(got, want)
            hits, cells = hits + int(got.sum()), cells + got.size
    # both answers occur often in these draws, so the comparison is not trivial
    assert 0.1 < hits / cells < 0.9


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 7), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_the_screening_kernel_matches_its_numpy_oracle(n_u, k, seed):
    """Random units, threats, tracks and doctrine (ties of kill probability, lasers and
    kinetic divert baskets, tracks good and poor): the compiled screen decides exactly as
    the NumPy code it replaced, and its kill probabilities agree to 1e-12."""
    from oracle_doctrine import screen_numpy

    rng = np.random.default_rng(seed)
    n_class = 3
    pk_class = rng.choice([0.0, 0.3, 0.5, 0.5, 0.8, 0.95], size=(n_u, n_class))
    a = rng.normal(0, 1, (k, 6, 6)) * rng.choice([1.0, 30.0, 3000.0], size=(k, 1, 1))
    cov = a @ np.transpose(a, (0, 2, 1))
    args = (
        pk_class,
        rng.integers(0, n_class, k),
        cov,
        np.where(rng.random(n_u) < 0.3, np.inf, rng.choice([5.0, 50.0, 500.0], n_u)),
        rng.random(n_u) < 0.3,
        rng.random(k) < 0.5,
        rng.random((n_u, k)) < 0.2,
        rng.random((n_u, k)) < 0.6,
        rng.random((n_u, k)) < 0.5,
        rng.random(n_u) < 0.8,
        rng.random(n_u) < 0.9,
        rng.integers(0, 3, n_u),
        float(rng.choice([0.0, 0.3, 0.6])),
        rng.choice([0.0, 0.5, 0.7], n_u),
        rng.random(n_u) < 0.5,
        rng.choice([0.0, 0.0, 0.5, 0.95], k),
    )
    got = screen(*args)
    pk, usable, later_ok, feasible, could_pk = screen_numpy(*args)
    np.testing.assert_allclose(got.pk, pk, rtol=1e-12, atol=0)
    assert np.array_equal(got.usable, usable)
    assert np.array_equal(got.later_ok, later_ok)
    assert np.array_equal(got.feasible, feasible)
    np.testing.assert_allclose(got.could_pk, could_pk, rtol=1e-12, atol=0)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_the_capacity_kernel_matches_its_numpy_oracle(n_u, seed):
    """Random magazines (below, at and above the reserve), salvos, channels in use and
    launch times: each unit's engagements this cycle as the NumPy code computed them."""
    from oracle_doctrine import capacity_numpy

    from iamd.sim.battle import capacity_kernel

    rng = np.random.default_rng(seed)
    n_all = n_u + 5
    args = (
        rng.permutation(n_all)[:n_u].astype(np.int64),
        rng.random(n_u) < 0.7,
        rng.integers(1, 4, n_u),
        rng.integers(1, 5, n_u),
        rng.integers(1, 4, n_u),
        rng.integers(0, 12, n_all),
        rng.integers(0, 6, n_all),
        rng.choice([0.0, 50.0, 100.0], n_all),
        int(rng.integers(0, 4)),
        float(rng.choice([49.0, 50.0, 75.0])),
    )
    got = capacity_kernel(*args)
    want = capacity_numpy(*args)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int64

"""Classification from the track (:mod:`iamd.tracking.classify`,
:mod:`iamd.sim.classification`): the kinematic classifier against real flights, the
confusion, and what the battle manager does with a class it got wrong."""

from __future__ import annotations

import numpy as np
import pytest

from iamd import simulate
from iamd.errors import IamdError
from iamd.physics.truth import fly
from iamd.scenario.load import load_scenario, load_scenario_text
from iamd.sim.run import RunResult
from iamd.tracking import classify


def _signatures(names: tuple[str, ...]) -> classify.Signatures:
    catalog = load_scenario("regional-raid").catalog
    return classify.Signatures.of([catalog.threats[n] for n in names])


@pytest.mark.parametrize("scenario", ["regional-raid", "northern-front"])
def test_kinematics_name_the_class_of_real_flights(scenario: str) -> None:
    """States sampled along the bundled raids' flown trajectories (the physics, not the
    classifier's bands), with a 100 m and 20 m/s track error: past the first fifth of each
    flight, at least 90 % of each class's states score best for their own class, and a
    launch warning leaves only ballistic classes."""
    s = load_scenario(scenario)
    truth = fly(s, np.random.default_rng(1))
    sig = classify.Signatures.of([s.catalog.threats[n] for n in truth.class_names])
    p = np.diag([1e4] * 3 + [400.0] * 3)
    for c, name in enumerate(truth.class_names):
        ids = np.flatnonzero(truth.class_idx == c)
        if ids.size == 0:  # a catalog class not in this raid
            continue
        t0, t1 = truth.t_launch_s[ids], np.minimum(truth.t_end_s[ids], truth.t_fail_s[ids])
        frac = np.linspace(0.2, 0.95, 12)
        ii = np.repeat(ids, frac.size)
        tt = (t0[:, None] + (t1 - t0)[:, None] * frac[None, :]).ravel()
        x = truth.state_at(ii, tt)
        ll = classify.scores(sig, x, np.broadcast_to(p, (ii.size, 6, 6)), np.zeros(ii.size, bool))
        got, _ = classify.estimate(sig, ll)
        assert (got == c).mean() >= 0.9, (name, np.bincount(got, minlength=len(sig.damage)))
        warned = classify.scores(
            sig, x, np.broadcast_to(p, (ii.size, 6, 6)), np.ones(ii.size, bool)
        )
        assert sig.ballistic[classify.estimate(sig, warned)[0]].all()


def test_scores_settle_as_the_track_grows() -> None:
    """A track that looks like a drone scan after scan is taken for one with growing
    confidence; a new track starts from its own first score."""
    names = ("owa_drone", "cruise_missile", "mrbm")
    sig = _signatures(names)
    pos = np.array([6_371e3 + 1500.0, 0.0, 0.0])
    x = np.concatenate([pos, [0.0, 51.0, 0.0]])[None]
    p = np.diag([1e4] * 3 + [2500.0] * 3)[None]
    total = np.zeros((1, 3))
    confidence = []
    for k in range(4):
        total = classify.settle(
            total, classify.scores(sig, x, p, np.zeros(1, bool)), np.array([k == 0])
        )
        cls, conf = classify.estimate(sig, total)
        assert names[int(cls[0])] == "owa_drone"
        confidence.append(float(conf[0]))
    assert confidence == sorted(confidence) and confidence[0] < confidence[-1]


def test_ties_go_to_the_most_damaging_class() -> None:
    sig = _signatures(("owa_drone", "mrbm", "cruise_missile"))
    cls, conf = classify.estimate(sig, np.zeros((1, 3)))
    assert int(cls[0]) == 1 and conf[0] == pytest.approx(1 / 3)


def test_confusion_takes_a_class_for_another_at_its_rate() -> None:
    names = ("owa_drone", "cruise_missile", "mrbm")
    table = classify.confusion_table(names, {"owa_drone": {"cruise_missile": 0.3, "mrbm": 0.1}})
    draws = np.random.default_rng(0).uniform(0, 1, 20_000)
    got = classify.confuse(np.zeros(draws.size, dtype=np.int64), draws, table)
    share = np.bincount(got, minlength=3) / draws.size
    np.testing.assert_allclose(share, [0.6, 0.3, 0.1], atol=0.01)
    cruise = classify.confuse(np.ones(draws.size, dtype=np.int64), draws, table)
    assert (cruise == 1).all()  # a row not given is never confused


LASER_TOWN = """
name: laser-town
origin: {lat_deg: 32.0, lon_deg: 35.0}
duration_s: 3000
seed: 3
owners: [{name: blue}]
assets:
  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}, radius_km: 3}
sensors:
  - {name: fcr, type: fire_control_radar, owner: blue, lat_deg: 32.0, lon_deg: 35.0}
c2_nodes:
  - {name: bmc, owner: blue, lat_deg: 32.0, lon_deg: 35.0, cycle_s: 2}
fire_units:
  - {name: laser, interceptor: laser, owner: blue, c2: bmc, lat_deg: 32.01, lon_deg: 35.0}
raid:
  - threat: owa_drone
    count: 6
    launch_area: {lat_deg: 32.6, lon_deg: 35.0, radius_km: 5}
    interval_s: 30
    targets: [Town]
tracking: {classification: %s%s}
"""


def _laser_run(mode: str, confusion: str = "") -> RunResult:
    return simulate(load_scenario_text(LASER_TOWN % (mode, confusion), "laser.yaml"))


def test_a_drone_taken_for_a_cruise_missile_is_left_to_a_laser_that_cannot_kill_one() -> None:
    """The laser kills drones (pk 0.9) and no cruise missile (pk 0): with its drones
    classified right, perfectly or from their kinematics, it engages them; when every drone
    track is taken for a cruise missile, it engages none."""
    for mode in ("perfect", "kinematic"):
        result = _laser_run(mode)
        assert result.summary["by_owner"]["blue"]["fired"] > 0, mode
        drone = result.world.truth.class_names.index("owa_drone")
        assert all(job.est_class == drone for job in result.outcome.engagements), mode
    confused = _laser_run("kinematic", ", confusion: {owa_drone: {cruise_missile: 1.0}}")
    assert confused.summary["by_owner"]["blue"]["fired"] == 0
    assert confused.summary["threats"]["impacted_asset"] > 0


@pytest.mark.parametrize(
    ("confusion", "message"),
    [
        ("{owa_drone: {cruse_missile: 0.2}}", "unknown threat class 'cruse_missile'"),
        ("{drone: {cruise_missile: 0.2}}", "unknown threat class 'drone'"),
        ("{owa_drone: {cruise_missile: 0.7, mrbm: 0.5}}", "add up to more than 1"),
    ],
)
def test_a_bad_confusion_is_an_error_at_its_line(confusion: str, message: str) -> None:
    text = LASER_TOWN % ("kinematic", f",\n  confusion: {confusion}")
    with pytest.raises(IamdError) as err:
        load_scenario_text(text, "laser.yaml")
    assert message in str(err.value)
    assert "laser.yaml:" in str(err.value)


def test_waiting_for_a_surer_class_spends_fewer_rounds_on_harmless_rockets() -> None:
    """northern-front under kinematic classification: rockets early in flight look like
    cruise missiles (threatening) and draw rounds though they will fall in open ground;
    holding fire until the class is 95 % sure (or impact is near) draws fewer."""
    s = load_scenario("northern-front")

    def harmless(confidence: float) -> int:
        doc = s.spec.doctrine.model_copy(update={"min_class_confidence": confidence})
        tk = s.spec.tracking.model_copy(update={"classification": "kinematic"})
        spec = s.spec.model_copy(update={"doctrine": doc, "tracking": tk})
        result = simulate(type(s)(spec, s.catalog, s.source), seed=2024)
        return int(result.summary["decisions"]["shots_at_harmless"])

    eager, patient = harmless(0.0), harmless(0.95)
    assert patient < eager, (patient, eager)

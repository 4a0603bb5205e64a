"""Whole runs: conservation of fates, determinism, truth integrity."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import without_timings

from iamd import load_scenario, simulate
from iamd.sim.run import write_run_dir

FATES = ("failed", "intercepted", "impacted_asset", "impacted_open", "airborne_at_end")


def assert_conserved(summary: dict) -> None:
    t = summary["threats"]
    assert t["launched"] == sum(t[k] for k in FATES)
    for name, rec in t["by_class"].items():
        assert rec["launched"] == sum(rec[k] for k in FATES), name
    for k in ("launched", *FATES, "engaged"):
        assert t[k] == sum(rec[k] for rec in t["by_class"].values())
    kills = sum(v["kills"] for v in summary["interceptors"].values())
    assert kills == t["intercepted"] == sum(v["kills"] for v in summary["by_owner"].values())
    fired = sum(v["fired"] for v in summary["interceptors"].values())
    assert fired == sum(v["fired"] for v in summary["by_owner"].values())
    assert sum(a["hits"] for a in summary["assets"].values()) == t["impacted_asset"]


@pytest.mark.parametrize("name", ["northern-front", "southern-front"])
def test_every_threat_ends_in_exactly_one_fate(name):
    r = simulate(load_scenario(name))
    assert_conserved(r.summary)
    out = r.outcome
    launched = out.launched
    assert np.all(out.fate[launched] >= 0)
    # fates agree with the event log, one terminal event per ended threat
    terminal = {"fail", "intercept", "impact_asset", "impact_open"}
    rows = [e for e in out.events.table().to_pylist() if e["kind"] in terminal]
    ids = [e["threat"] for e in rows]
    assert len(ids) == len(set(ids)) == int((out.fate[launched] != 0).sum())


@pytest.mark.slow
def test_regional_raid_conserves_fates_and_involves_every_partner():
    r = simulate(load_scenario("regional-raid"))
    assert_conserved(r.summary)
    s = r.summary
    assert s["threats"]["launched"] == 320
    assert all(v["fired"] > 0 for v in s["by_owner"].values()), s["by_owner"]
    # every layer the raid needs: both upper tiers, mid tier, fighters, the ships' upper tier
    # (their area missiles yield ballistic missiles to it)
    layers = {"upper_tier_exo", "upper_tier_endo", "mid_tier", "fighter_aam", "naval_exo"}
    assert layers <= {k for k, v in s["interceptors"].items() if v["fired"] > 0}
    assert s["threats"]["intercepted"] > 0.7 * s["threats"]["launched"]
    assert s["air_patrols"]["cap-east"]["sorties"] >= 2


def test_same_seed_gives_byte_identical_outputs(tmp_path: Path):
    s = load_scenario("northern-front")
    a = write_run_dir(simulate(s, 5), tmp_path / "a", with_map=False)
    b = write_run_dir(simulate(s, 5), tmp_path / "b", with_map=False)
    tables = ("events.parquet", "truth.parquet", "tracks.parquet", "interceptors.parquet")
    for name in (*tables, "scenario.yaml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    assert without_timings(sa) == without_timings(sb)
    c = write_run_dir(simulate(s, 6), tmp_path / "c", with_map=False)
    assert (a / "events.parquet").read_bytes() != (c / "events.parquet").read_bytes()


def test_truth_flies_to_the_aimpoints_and_interpolates_its_samples():
    s = load_scenario("regional-raid")
    from iamd.physics.truth import fly

    tr = fly(s, np.random.default_rng(0))
    miss = np.linalg.norm(tr.impact_m - tr.aim_m, axis=1)
    assert miss.max() < 100.0
    # interpolation returns the samples at the sample times
    idx = np.repeat(np.arange(tr.n), np.diff(tr.offset))
    st = tr.state_at(idx, tr.t_s)
    np.testing.assert_allclose(st, tr.state, atol=1e-6)
    # drones fly at their catalog speed
    drones = np.flatnonzero(np.asarray(tr.class_names)[tr.class_idx] == "owa_drone")
    mid = (tr.t_launch_s[drones] + tr.t_end_s[drones]) / 2
    speed = np.linalg.norm(tr.state_at(drones, mid)[:, 3:], axis=1)
    np.testing.assert_allclose(speed, s.catalog.threats["owa_drone"].speed_m_s, rtol=0.02)


def test_unreliable_threats_fail_at_the_expected_rate():
    s = load_scenario("regional-raid")
    from iamd.physics.truth import fly

    failed = [np.isfinite(fly(s, np.random.default_rng(k)).t_fail_s).mean() for k in range(4)]
    # the raid's mix: 170 drones at 0.9, 30 cruise at 0.9, 120 MRBMs at 0.85
    expected = (170 * 0.1 + 30 * 0.1 + 120 * 0.15) / 320
    assert np.mean(failed) == pytest.approx(expected, abs=0.03)


def test_event_log_is_in_time_order():
    r = simulate(load_scenario("southern-front"))
    t = r.outcome.events.table().column("t_s").to_numpy()
    assert t.size > 0 and np.all(np.diff(t) >= 0)


@pytest.mark.parametrize("mode", ["gnn", "ideal"])
def test_tracking_block_of_the_summary(mode):
    s = load_scenario("southern-front")
    spec = s.spec.model_copy(update={"tracking": s.spec.tracking.model_copy(update={"mode": mode})})
    r = simulate(type(s)(spec, s.catalog, s.source), seed=4)
    assert_conserved(r.summary)
    tk = r.summary["tracking"]
    keys = {"ospa_m_mean", "gospa_mean", "completeness", "spurious_tracks", "id_changes"}
    keys |= {"dual_tracks"}
    extra = {"mode", "by_owner", "pairs", "classification", "misclassified", "confused"}
    assert keys | extra == set(tk)
    assert tk["mode"] == mode
    # the default classification is perfect: nothing classified wrong
    assert tk["classification"] == "perfect" and tk["misclassified"] == 0.0
    assert tk["confused"] == {}
    assert set(tk["by_owner"]) == {"national"}
    assert set(tk["by_owner"]["national"]) == keys
    assert tk["pairs"] == {}  # one owner with C2: no pair to compare
    if mode == "ideal":
        assert tk["dual_tracks"] == 0.0  # one track per threat by construction
    # OSPA is bounded by its cut-off; the pictures hold most of what their radars see
    assert 0 < tk["ospa_m_mean"] < 1000.0
    assert tk["completeness"] > 0.85
    # most threats are intercepted either way: tracking does not break the battle
    t = r.summary["threats"]
    assert t["intercepted"] >= 0.8 * (t["launched"] - t["failed"] - t["impacted_open"])


def test_tracks_no_unit_can_engage_are_not_assessed_and_nothing_changes(monkeypatch):
    """A node skips the assessment of tracks of classes its owner's units cannot engage
    (here ballistic missiles against short-range batteries and a laser): the outputs are
    those of the engine that assesses everything, byte for byte, with fewer assessments."""
    import iamd.sim.battle as battle
    from iamd.scenario.load import load_scenario_text, resolve_scenario_path

    text = resolve_scenario_path("southern-front")[0] + (
        "  - name: srbm on Desert City\n"
        "    threat: srbm\n"
        "    count: 6\n"
        "    launch_area: {lat_deg: 29.6, lon_deg: 34.9, radius_km: 5}\n"
        "    start_s: 1800\n"
        "    interval_s: 60\n"
        "    targets: [Desert City]\n"
    )
    rows: list[int] = []
    real = battle.assess

    def counting(ids, *args, **kwargs):
        rows.append(len(ids))
        return real(ids, *args, **kwargs)

    monkeypatch.setattr(battle, "assess", counting)
    out = {}
    for skip in (True, False):
        monkeypatch.setattr(battle, "ASSESS_ENGAGEABLE_ONLY", skip)
        rows.clear()
        r = simulate(load_scenario_text(text, "s.yaml"))
        buf = io.BytesIO()
        pq.write_table(r.outcome.events.table(), buf)  # as events.parquet (NaN == NaN here)
        out[skip] = (buf.getvalue(), sum(rows))
    assert out[True][0] == out[False][0]
    assert out[True][1] < out[False][1]

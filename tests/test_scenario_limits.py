"""Inputs that crashed, hung or were absurd: each class is refused with a located problem,
or accepted with a located warning; never a traceback, never a run that cannot end."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from test_scenario import GOOD, line_of

from iamd.errors import ScenarioError
from iamd.scenario import checks, yamlpos
from iamd.scenario.load import load_scenario_text


def refused(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "s.yaml")
    found = [(p.line, p.col, p.message) for p in info.value.problems if not p.warning]
    assert found, "refused without an error"
    return found


def warnings_of(text: str) -> list[tuple[int, str]]:
    s = load_scenario_text(text, "s.yaml")
    assert all(w.warning for w in s.warnings)
    return [(w.line, w.message) for w in s.warnings]


def test_the_good_scenario_has_no_warning():
    assert warnings_of(GOOD) == []


# -- types are strict --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "expect"),
    [
        ("count: 5", "count: true", "count:", "valid integer"),  # not read as 1
        ("count: 5", "count: 2.5", "count:", "valid integer"),
        ("duration_s: 600", "duration_s: .nan", "duration_s", "finite number"),
        ("duration_s: 600", "duration_s: .inf", "duration_s", "finite number"),
        ("duration_s: 600", "duration_s: true", "duration_s", "valid number"),
        ("targets: [Town]", "targets: 7", "targets:", "valid list"),
        ("targets: [Town]", "targets: [Town]\n    aimpoints: 3", "aimpoints", "valid list"),
        ("threat: rocket_short", "threat: {a: 1}", "threat:", "valid string"),
        ("type: fire_control_radar", "type: [x]", "type:", "valid string"),
        ("  - name: blue", "  - name: blue\n    colour: 'red;x'", "colour", "pattern"),
        ("  - name: blue", "  - name: '<img src=x onerror=alert(1)>'", "name: '<", "pattern"),
        (
            "  - name: blue\n",
            "  - name: blue\n    share_period_s: 1.0e-300\n",
            "share_",
            "greater than or equal to 0.1",
        ),
    ],
)
def test_type_confusion_and_absurd_values_are_located(old, new, needle, expect):
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    found = refused(text)
    assert any(expect in m for _, _, m in found), found
    assert all(line > 0 for line, _, _ in found), found
    assert any(line == line_of(text, needle) for line, _, _ in found), found


def test_assets_nan_and_mapping_class_names_give_problems_not_tracebacks():
    text = GOOD.replace(
        "assets:\n  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}}",
        "assets: .nan",
    )
    assert "assets: .nan" in text
    found = refused(text)
    assert any("assets" in m for _, _, m in found)
    text = GOOD.replace("interceptor: short_range", "interceptor: {base: short_range}")
    assert any("interceptor" in m for _, _, m in refused(text))
    text = GOOD + "catalog:\n  interceptors:\n    sr2: {base: [short_range]}\n"
    assert any("base must be" in m for _, _, m in refused(text))


@pytest.mark.parametrize(
    ("section", "field", "value", "expect"),
    [
        ("interceptors", "pk", "{rocket_short: 1.5}", "less than or equal to 1"),
        ("interceptors", "pk", "{rocket_short: .nan}", "finite"),
        ("interceptors", "cost_usd", ".inf", "finite"),
        ("interceptors", "burnout_speed_m_s", "0", "greater than 0"),
        ("interceptors", "max_lateral_g", "1000", "less than or equal to 200"),
        ("interceptors", "min_range_km", "100", "above max_range_km"),
        ("threats", "burn_s", "1000000", "less than or equal to 600"),
        ("threats", "reliability", "-0.1", "greater than or equal to 0"),
        ("sensors", "false_alarms_per_scan", "1000000", "less than or equal to 100"),
        ("sensors", "scan_s", "1.0e-300", "greater than or equal to 0.1"),
        ("sensors", "min_el_deg", "90", "would see nothing"),
    ],
)
def test_catalog_figures_have_physical_bounds(section, field, value, expect):
    name = {"interceptors": "short_range", "threats": "rocket_short"}.get(
        section, "fire_control_radar"
    )
    text = GOOD + f"catalog:\n  {section}:\n    {name}: {{{field}: {value}}}\n"
    found = refused(text)
    assert any(expect in m for _, _, m in found), found
    assert all(line > 0 for line, _, _ in found)


def test_every_figure_with_a_unit_has_physical_bounds():
    """No period, rate, size or cost in a scenario or catalog model is unbounded."""
    from iamd.scenario.catalog import SECTIONS
    from iamd.scenario.schema import ScenarioFile

    numeric = [
        (sub.__name__, name, f)
        for root in (ScenarioFile, *SECTIONS.values())
        for sub in _models(root)
        for name, f in sub.model_fields.items()
        if name.endswith(("_s", "_m", "_km", "_usd", "_m_s", "_m2", "_db", "_kw", "_deg"))
    ]
    assert len(numeric) > 40
    for model_name, name, f in numeric:
        bounds = {type(m).__name__ for m in f.metadata}
        assert bounds & {"Ge", "Gt"} and bounds & {"Le", "Lt"}, (model_name, name, bounds)


def _models(model):
    """``model`` and every model reachable from its fields."""
    import typing

    from pydantic import BaseModel

    seen: list[type] = []
    todo = [model]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.append(m)
        for f in m.model_fields.values():
            stack = [f.annotation]
            while stack:
                a = stack.pop()
                if isinstance(a, type) and issubclass(a, BaseModel):
                    todo.append(a)
                stack.extend(typing.get_args(a))
    return seen


# -- YAML attacks ------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_before_it_is_composed(monkeypatch):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, 12):
        lines.append(f"a{k}: &a{k} [" + ",".join([f"*a{k - 1}"] * 9) + "]")
    text = "\n".join(lines) + "\n"

    def never(*args, **kwargs):
        raise AssertionError("the document was composed")

    monkeypatch.setattr(yamlpos.yaml, "compose", never)
    with pytest.raises(ScenarioError) as info:
        yamlpos.loads(text, "bomb.yaml")
    (p,) = info.value.problems
    assert "alias" in p.message and p.line == 7


def test_small_aliases_still_work():
    data = yamlpos.loads("a: &x {k: 1}\nb: *x\n", "ok.yaml").data
    assert data == {"a": {"k": 1}, "b": {"k": 1}}


@pytest.mark.parametrize(
    ("text", "line", "expect"),
    [
        ("name: ok\ndescription: bad \x01 byte\n", 2, "U+0001"),
        ("name: ok\nx: \x1b[31m\n", 2, "U+001B"),
    ],
)
def test_control_characters_are_located(text, line, expect):
    with pytest.raises(ScenarioError) as info:
        yamlpos.loads(text, "c.yaml")
    (p,) = info.value.problems
    assert p.line == line and expect in p.message


def test_dates_in_free_text_stay_text():
    assert yamlpos.loads("description: 2024-13-45\nd: 2024-04-13\n", "d.yaml").data == {
        "description": "2024-13-45",
        "d": "2024-04-13",
    }
    text = GOOD.replace("name: ok", "name: ok\ndescription: 2024-04-13")
    assert load_scenario_text(text, "s.yaml").spec.description == "2024-04-13"


# -- the impossible is refused, the useless warned about -----------------------------------


def test_a_salvo_after_the_end_and_late_launches_are_warned_about():
    text = GOOD.replace("count: 5", "count: 5\n    start_s: 900")
    ((line, message),) = warnings_of(text)
    assert "starts at 900 s" in message and "none of its 5 threats" in message
    assert line == line_of(text, "start_s")
    text = GOOD.replace("count: 5", "count: 5\n    start_s: 500\n    interval_s: 40")
    (w,) = warnings_of(text)
    assert "2 of its 5 launches fall after" in w[1]


def test_waypoints_on_a_ballistic_threat_are_refused():
    text = GOOD.replace(
        "targets: [Town]", "targets: [Town]\n    waypoints: [{lat_deg: 32.1, lon_deg: 35.1}]"
    )
    found = refused(text)
    assert any("flies no route" in m and line == line_of(text, "waypoints") for line, _, m in found)


def test_useless_parts_are_warned_about_with_their_location():
    no_sensor = re.sub(r"sensors:\n  - .*\n", "", GOOD)
    assert any("no sensors" in m for _, m in warnings_of(no_sensor))
    far = GOOD.replace(
        "{name: radar, type: fire_control_radar, owner: blue, lat_deg: 31.95, lon_deg: 35.0}",
        "{name: radar, type: fire_control_radar, owner: blue, lat_deg: 20.0, lon_deg: 35.0}",
    )
    ((line, message),) = warnings_of(far)
    assert "see nothing" in message and line == line_of(far, "name: radar")
    mixed = GOOD + (
        "  - threat: srbm\n    count: 1\n"
        "    launch_area: {lat_deg: 35.0, lon_deg: 35.0}\n    targets: [Town]\n"
    )
    assert warnings_of(mixed.replace("short_range", "upper_tier_endo")) == []
    blind = GOOD.replace("interceptor: short_range", "interceptor: upper_tier_exo")
    (w,) = warnings_of(blind)
    assert "never fire" in w[1] and w[0] == line_of(blind, "interceptor: upper_tier_exo")


def test_warnings_print_with_location_and_keep_exit_status_zero(tmp_path):
    from typer.testing import CliRunner

    from iamd.cli import app

    f = tmp_path / "w.yaml"
    f.write_text(GOOD.replace("interceptor: short_range", "interceptor: upper_tier_exo"))
    res = CliRunner().invoke(app, ["validate", str(f)])
    assert res.exit_code == 0
    line = line_of(f.read_text(), "upper_tier_exo")
    assert re.search(rf"w\.yaml:{line}:\d+: warning: fire unit 'sr'", res.output), res.output


# -- work a scenario may ask for -----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (lambda t: t.replace("count: 5", "count: 10000") + _raid_more(3), "one scenario may have"),
        (lambda t: t.replace("count: 5", "count: 8000"), "samples"),
        (
            lambda t: (
                t.replace("{name: bmc, owner: blue", "{name: bmc, owner: blue, cycle_s: 0.1")
                .replace("duration_s: 600", "duration_s: 604800")
                .replace("count: 5", "count: 8\n    interval_s: 86400")
            ),
            "events",
        ),
        (
            lambda t: (
                t.replace("duration_s: 600", "duration_s: 3600").replace(
                    "count: 5", "count: 5\n    interval_s: 600"
                )
                + "catalog:\n  sensors:\n    fire_control_radar:\n"
                + "      {false_alarms_per_scan: 100, scan_s: 0.1}\n"
            ),
            "false alarms",
        ),
    ],
)
def test_a_scenario_asking_for_too_much_work_is_refused(change, expect):
    found = refused(change(GOOD))
    assert any(expect in m for _, _, m in found), found


def _raid_more(k: int) -> str:
    return "".join(
        "  - threat: rocket_short\n    count: 10000\n"
        "    launch_area: {lat_deg: 32.2, lon_deg: 35.0}\n    targets: [Town]\n"
        for _ in range(k)
    )


def test_the_bundled_scenarios_are_far_inside_the_work_limits():
    from iamd.scenario.load import bundled_scenarios, load_scenario

    for name in bundled_scenarios():
        s = load_scenario(name)
        spec, cat = s.spec, s.catalog
        samples = sum(
            checks._samples(checks.routes(spec, x), x, cat.threats[x.threat]) for x in spec.raid
        )
        assert samples < checks.MAX_TRUTH_SAMPLES / 5, name
        assert s.warnings == (), (name, s.warnings)


def test_the_schema_json_stays_valid_json_schema():
    from iamd.scenario.schema import json_schema

    schema = json_schema()
    count = schema["$defs"]["Salvo"]["properties"]["count"]
    assert count["maximum"] == 10_000 and count["minimum"] == 1
    assert yaml.safe_dump(schema)


def test_threats_that_would_fly_as_one_are_warned_about_or_refused():
    text = GOOD.replace("lon_deg: 35.0, radius_km: 1}", "lon_deg: 35.0}")
    ((_, message),) = warnings_of(text)
    assert "fly as one" in message
    found = refused(text.replace("count: 5", f"count: {checks.MAX_TOGETHER + 1}"))
    assert any("fly as one" in m for _, _, m in found)
    assert warnings_of(text.replace("count: 5", "count: 5\n    jitter_s: 2")) == []


def test_route_legs_and_polygon_vertices_are_counted_before_any_geometry(monkeypatch):
    monkeypatch.setattr(checks, "MAX_ROUTE_LEGS", 3)
    monkeypatch.setattr(checks, "routes", lambda *a: pytest.fail("geometry computed"))
    text = GOOD.replace("targets: [Town]", "targets: [Town, Town, Town, Town]")
    assert any("4 route legs" in m for _, _, m in refused(text))
    monkeypatch.setattr(checks, "MAX_POLYGON_VERTICES", 3)
    text = GOOD.replace(
        "point: {lat_deg: 32.0, lon_deg: 35.0}}",
        "polygon: [[32.0, 35.0], [32.01, 35.0], [32.01, 35.01], [32.0, 35.01]]}",
    )
    assert any("4 polygon vertices" in m for _, _, m in refused(text))


def test_detections_are_bounded(monkeypatch):
    """Between the estimates of northern-front (about 64 thousand) and regional-raid
    (about 15 million), a limit refuses one and not the other."""
    from iamd.scenario.load import load_scenario

    monkeypatch.setattr(checks, "MAX_DETECTIONS", 1_000_000)
    load_scenario("northern-front")
    with pytest.raises(ScenarioError) as info:
        load_scenario("regional-raid")
    assert "detections" in str(info.value)


def test_legs_shared_by_salvos_are_measured_once(monkeypatch):
    seen = []
    real = checks.nearest_m

    def spy(sites, a, b, **kw):
        seen.append(a.shape[0])
        return real(sites, a, b, **kw)

    monkeypatch.setattr(checks, "nearest_m", spy)
    aims = ", ".join(f"{{lat_deg: {32.0 + 0.001 * k}, lon_deg: 35.0}}" for k in range(50))
    salvo = (
        "  - threat: owa_drone\n    count: 2\n    jitter_s: 5\n"
        "    launch_area: {lat_deg: 32.5, lon_deg: 35.5, radius_km: 1}\n"
        "    waypoints: [{lat_deg: 32.4, lon_deg: 35.4}, {lat_deg: 32.3, lon_deg: 35.3}]\n"
        f"    aimpoints: [{aims}]\n"
    )
    load_scenario_text(GOOD + salvo + salvo + salvo, "s.yaml")
    assert seen == [1 + 2 + 50]  # the rockets' leg, the drones' 2 shared legs and 50 last legs


def test_nearest_distance_to_arcs_matches_dense_sampling():
    from iamd.geo import EARTH_MEAN_RADIUS_M

    rng = np.random.default_rng(3)

    def unit(n):
        v = rng.normal(size=(n, 3))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    a, b = unit(40), unit(40)
    keep = np.einsum("ij,ij->i", a, b) > -0.5  # arcs shorter than half a circle
    a, b = a[keep], b[keep]
    sites = unit(30)
    got = checks.nearest_m(sites, a, b, chunk=97)
    u = np.linspace(0, 1, 4001)[:, None, None]
    omega = np.arccos(np.clip(np.einsum("ij,ij->i", a, b), -1, 1))[None, :, None]
    pts = (np.sin((1 - u) * omega) * a + np.sin(u * omega) * b) / np.sin(omega)  # slerp
    dense = np.arccos(np.clip(np.einsum("sj,ulj->sul", sites, pts), -1, 1)).min(axis=(1, 2))
    assert np.allclose(got, dense * EARTH_MEAN_RADIUS_M, atol=2e3)


def test_the_ballistic_flight_bound_holds_for_flown_trajectories():
    """Every catalog ballistic class at its longest range and with extra loft flies no
    longer than the bound the work estimates use."""
    from iamd.physics.truth import fly
    from iamd.scenario.catalog import bundled_catalog_data

    for name, entry in bundled_catalog_data()["threats"].items():
        if entry["kind"] != "ballistic":
            continue
        for loft in (entry.get("loft_deg", 0.0), 30.0):
            km = float(entry["max_range_km"]) * 0.98
            lat = 32.0 + km / 111.2
            text = GOOD.replace("count: 5", "count: 3\n    jitter_s: 1").replace(
                "threat: rocket_short", f"threat: {name}"
            )
            text = text.replace(
                "lat_deg: 32.2, lon_deg: 35.0, radius_km: 1", f"lat_deg: {lat}, lon_deg: 35.0"
            )
            text += f"catalog:\n  threats:\n    {name}: {{loft_deg: {loft}}}\n"
            s = load_scenario_text(text, "s.yaml")
            tr = fly(s, np.random.default_rng(1))
            flight = float((tr.t_end_s - tr.t_launch_s).max())
            assert 0 < flight <= checks.ballistic_flight_s(s.catalog.threats[name]), (name, loft)


def test_a_terrain_mask_on_a_spaceborne_sensor_is_warned_about():
    radar = next(line for line in GOOD.splitlines() if "name: radar" in line)
    text = GOOD.replace(
        radar,
        radar + "\n  - {name: sat, type: spaceborne_launch_warning, owner: blue, lat_deg: 0,"
        "\n     lon_deg: 0, terrain_mask: [{az_from_deg: 0, az_to_deg: 90, el_deg: 1}]}",
    )
    assert text != GOOD
    found = warnings_of(text)
    assert any("terrain mask does not apply" in m and line == line_of(text, "sat") + 1
               for line, m in found), found  # fmt: skip

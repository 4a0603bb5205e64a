"""Scenario validation: every class of bad input gives located problems, never a traceback."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from iamd.errors import ScenarioError
from iamd.scenario.load import bundled_scenarios, load_scenario, load_scenario_text
from iamd.scenario.schema import json_schema

GOOD = textwrap.dedent(
    """\
    name: ok
    origin: {lat_deg: 32.0, lon_deg: 35.0}
    duration_s: 600
    owners:
      - name: blue
    assets:
      - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}}
    sensors:
      - {name: radar, type: fire_control_radar, owner: blue, lat_deg: 31.95, lon_deg: 35.0}
    c2_nodes:
      - {name: bmc, owner: blue, lat_deg: 31.95, lon_deg: 35.0}
    fire_units:
      - {name: sr, interceptor: short_range, owner: blue, c2: bmc, lat_deg: 31.97, lon_deg: 35.0}
    raid:
      - threat: rocket_short
        count: 5
        launch_area: {lat_deg: 32.2, lon_deg: 35.0, radius_km: 1}
        targets: [Town]
    """
)


def problems(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "s.yaml")
    return [(p.line, p.col, p.message) for p in info.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_good_scenario_loads():
    s = load_scenario_text(GOOD, "s.yaml")
    assert s.spec.raid[0].count == 5
    assert s.catalog.interceptors["short_range"].max_range_km == 70


@pytest.mark.parametrize(
    ("old", "new", "needle", "expect"),
    [
        (
            "duration_s: 600",
            "duration_s: 600\nduratoin_s: 5",
            "duratoin_s",
            "unknown key 'duratoin_s'",
        ),
        ("count: 5", "count: five", "count:", "valid integer"),
        ("count: 5", "count: -3", "count:", "greater than or equal to 1"),
        (
            "{lat_deg: 32.0, lon_deg: 35.0}\nduration",
            "{lat_deg: 95.0, lon_deg: 35.0}\nduration",
            "origin",
            "less than or equal to 90",
        ),
        ("duration_s: 600", "duration_s: 10 min", "duration_s", "seconds"),
        (
            "type: fire_control_radar",
            "type: fire_contrl_radar",
            "fire_contrl",
            "did you mean 'fire_control_radar'",
        ),
        (
            "interceptor: short_range",
            "interceptor: iron_wall",
            "iron_wall",
            "unknown catalog interceptors class",
        ),
        ("threat: rocket_short", "threat: hypersonic", "hypersonic", "unknown threat class"),
        ("targets: [Town]", "targets: [Village]", "Village", "unknown asset 'Village'"),
        ("c2: bmc", "c2: hq", "c2: hq", "unknown C2 node 'hq'"),
        ("owner: blue, c2", "owner: red, c2", "owner: red", "unknown owner 'red'"),
    ],
)
def test_each_kind_of_mistake_is_located(old, new, needle, expect):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    found = problems(text)
    assert any(expect in msg for _, _, msg in found), found
    hit = next(p for p in found if expect in p[2])
    assert hit[0] == line_of(text, needle)
    assert hit[1] >= 1


def test_empty_raid_and_missing_keys():
    text = GOOD[: GOOD.index("raid:")] + "raid: []\n"
    found = problems(text)
    assert any("raid: is empty" in m for _, _, m in found)
    found = problems("name: x\n")
    assert {m for _, _, m in found} >= {
        "missing required key 'origin'",
        "missing required key 'raid'",
    }


def test_every_problem_is_reported_at_once():
    text = GOOD.replace("count: 5", "count: -1").replace("type: fire_control_radar", "type: nope")
    text = text.replace("targets: [Town]", "targets: [Nowhere]")
    assert len(problems(text)) == 3


def test_ballistic_target_out_of_range():
    text = GOOD.replace(
        "launch_area: {lat_deg: 32.2, lon_deg: 35.0, radius_km: 1}",
        "launch_area: {lat_deg: 36.0, lon_deg: 35.0, radius_km: 1}",
    )
    found = problems(text)
    assert any("km from the launch area" in m and "5-45 km" in m for _, _, m in found), found


def test_duplicate_names_and_keys():
    text = GOOD.replace("    raid:", "").replace(
        "  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}}",
        "  - {name: Town, value: 50, point: {lat_deg: 32.0, lon_deg: 35.0}}\n"
        "  - {name: Town, value: 5, point: {lat_deg: 32.1, lon_deg: 35.0}}",
    )
    assert any("duplicate name 'Town'" in m for _, _, m in problems(text))
    assert any(
        "duplicate key 'name'" in m
        for _, _, m in problems(GOOD.replace("name: ok", "name: ok\nname: again"))
    )


def test_yaml_syntax_error_is_located():
    found = problems(GOOD.replace("owners:", "owners: [", 1))
    assert found[0][2].startswith("YAML syntax error")
    assert found[0][0] > 0


def test_unsafe_tags_and_deep_nesting_are_refused():
    found = problems("name: !!python/object/apply:os.system ['echo hi']\n")
    assert any("unsupported YAML tag" in m for _, _, m in found)
    found = problems("a: " + "[" * 200 + "]" * 200 + "\n")
    assert any("nested deeper than" in m for _, _, m in found)


def test_alias_bomb_is_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    found = problems("\n".join(lines) + "\n")
    assert any("alias bomb" in m for _, _, m in found)


def test_oversized_file_is_refused(tmp_path: Path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (10 * 1024 * 1024 + 10) + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(big)
    assert "limited to 10 MB" in str(info.value)


def test_missing_file_names_the_bundled_ones():
    with pytest.raises(ScenarioError) as info:
        load_scenario("no-such-scenario")
    assert "regional-raid" in str(info.value)


def test_catalog_override_and_new_class():
    text = GOOD + textwrap.dedent(
        """\
        catalog:
          interceptors:
            short_range: {max_range_km: 40}
            short_range_mk2: {base: short_range, cost_usd: 60000}
        """
    )
    s = load_scenario_text(text, "s.yaml")
    assert s.catalog.interceptors["short_range"].max_range_km == 40
    assert s.catalog.interceptors["short_range_mk2"].cost_usd == 60000
    assert s.catalog.interceptors["short_range_mk2"].max_range_km == 70
    bad = (
        GOOD
        + "catalog:\n  interceptors:\n"
        + "    short_range: {max_range_km: -4}\n    nova: {cost_usd: 1}\n"
    )
    msgs = [m for _, _, m in problems(bad)]
    assert any("greater than 0" in m for m in msgs)
    assert any("unknown interceptors class 'nova'" in m for m in msgs)


def test_bundled_scenarios_validate():
    names = bundled_scenarios()
    assert {"regional-raid", "northern-front", "southern-front"} <= set(names)
    for name in names:
        assert load_scenario(name).spec.name == name


def test_regional_raid_is_at_the_scale_of_april_2024():
    spec = load_scenario("regional-raid").spec
    by_class: dict[str, int] = {}
    for salvo in spec.raid:
        by_class[salvo.threat] = by_class.get(salvo.threat, 0) + salvo.count
    assert by_class == {"owa_drone": 170, "cruise_missile": 30, "mrbm": 120}
    assert len(spec.owners) >= 4 and spec.duration_s >= 4 * 3600


def test_json_schema_is_json_and_describes_the_file():
    schema = json.loads(json.dumps(json_schema()))
    assert {"name", "origin", "raid", "fire_units"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_catalog_entries_cite_sources_or_are_notional():
    s = load_scenario_text(GOOD, "s.yaml")
    for section in ("interceptors", "threats", "sensors"):
        for name, entry in getattr(s.catalog, section).items():
            fields = set(type(entry).model_fields)
            for fig, url in entry.source.items():
                assert fig in fields, f"{section}.{name}: source names unknown figure {fig}"
                assert re.match(r"^https?://", url), url
            sourced = set(entry.source)
            figures = {
                f
                for f in fields
                if f not in {"label", "public_example", "notional", "source", "note", "kind"}
            }
            assert entry.notional or figures <= sourced, f"{section}.{name} has unsourced figures"


def test_route_threat_range_counts_its_waypoints():
    drone = GOOD.replace("threat: rocket_short", "threat: cruise_missile").replace(
        "targets: [Town]",
        "targets: [Town]\n    waypoints: [{lat_deg: 40.0, lon_deg: 35.0},"
        " {lat_deg: 20.0, lon_deg: 35.0}]",
    )
    found = problems(drone)
    assert any("along its waypoints" in m and "50-2,000 km" in m for _, _, m in found), found


def test_tracking_defaults_to_gnn_and_links_are_checked():
    s = load_scenario_text(GOOD, "s.yaml")
    assert s.spec.tracking.mode == "gnn"
    assert s.spec.owners[0].share_link.loss == 0.0
    text = GOOD + "tracking: {mode: ideal}\n"
    assert load_scenario_text(text, "s.yaml").spec.tracking.mode == "ideal"
    bad = GOOD.replace("- name: blue", "- {name: blue, sensor_link: {loss: 1.5}}")
    found = problems(bad)
    assert any("less than or equal to 1" in m for _, _, m in found), found
    assert found[0][0] == line_of(bad, "sensor_link")
    found = problems(GOOD + "tracking: {confirm_m: 4, confirm_n: 3}\n")
    assert any("confirm_n (3) must be >= confirm_m (4)" in m for _, _, m in found), found
    found = problems(GOOD + "tracking: {mode: jpda}\n")
    assert any("'gnn' or 'ideal'" in m for _, _, m in found), found


def test_a_sensor_with_zero_scan_period_is_refused():
    text = GOOD + "catalog:\n  sensors:\n    fire_control_radar: {scan_s: 0}\n"
    found = problems(text)
    assert any("scan_s" in m and "greater than or equal to 0.1" in m for _, _, m in found), found

"""Threat class colours: fixed for the catalog's classes, stable for custom ones, apart
from the fate colours; owner colours from a scenario are ``#rrggbb`` or replaced."""

from __future__ import annotations

import itertools
import math
import os
import re
import subprocess
import sys
from importlib import resources

import yaml

from iamd.viz.palette import (
    FATE_COLOURS,
    PARTNER_COLOURS,
    THREAT_CLASS_COLOURS,
    class_colour,
    owner_colours,
)

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def rgb_distance(a: str, b: str) -> float:
    return math.dist(*([int(c[k : k + 2], 16) for k in (1, 3, 5)] for c in (a, b)))


def catalog_threat_classes() -> list[str]:
    text = resources.files("iamd.scenario").joinpath("catalog.yaml").read_text("utf-8")
    return list(yaml.safe_load(text)["threats"])


def test_every_catalog_class_has_its_own_fixed_colour() -> None:
    classes = catalog_threat_classes()
    assert set(classes) <= set(THREAT_CLASS_COLOURS)
    colours = [class_colour(c) for c in classes]
    assert all(HEX.match(c) for c in colours)
    assert len(set(colours)) == len(colours)


def test_class_colours_stand_apart_from_fates_and_each_other() -> None:
    custom = [class_colour(f"custom_{k}") for k in range(50)]
    palette = sorted(set(THREAT_CLASS_COLOURS.values()) | set(custom))
    for c in palette:
        assert HEX.match(c)
        for fate, f in FATE_COLOURS.items():
            assert rgb_distance(c, f) >= 50, (c, fate)
    for a, b in itertools.combinations(THREAT_CLASS_COLOURS.values(), 2):
        assert rgb_distance(a, b) >= 30, (a, b)


def test_custom_class_colours_are_the_same_in_every_process() -> None:
    code = "from iamd.viz.palette import class_colour as c; print(c('glide_vehicle'), c('x'))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert outs == {f"{class_colour('glide_vehicle')} {class_colour('x')}\n"}


def test_owner_colours_keep_hex_and_replace_the_rest() -> None:
    owners = [
        {"name": "a", "colour": "#12abEF"},
        {"name": "b", "colour": "red"},
        {"name": "c", "colour": '#fff" onload="alert(1)'},
        {"name": "d", "colour": "#12345"},
        {"name": "e", "colour": ""},
        {"name": "f"},
    ]
    got = owner_colours(owners)
    assert got["a"] == "#12abEF"
    assert [got[k] for k in "bcdef"] == PARTNER_COLOURS[1:6]

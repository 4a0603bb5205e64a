"""Colours shared by the static map, the report, the exports and the browser replay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FATE_COLOURS = {
    "intercepted": "#2ca02c",
    "impacted_asset": "#d62728",
    "impacted_open": "#ff7f0e",
    "failed": "#7f7f7f",
    "airborne_at_end": "#9467bd",
}
"""Colour of each threat fate (``summary.json`` names)."""
PARTNER_COLOURS = ["#1f77b4", "#17becf", "#e377c2", "#8c564b", "#bcbd22", "#393b79"]
"""Owner colours, in order, for owners whose scenario entry gives none."""
CLASS_COLOURS = ["#e6550d", "#756bb1", "#31a354", "#de2d26", "#3182bd", "#636363", "#fd8d3c"]
"""Threat class colours, in order of first appearance."""


def owner_colours(owners: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``{owner name: '#rrggbb'}`` from the scenario's ``owners`` list (its own colour first)."""
    return {
        str(o["name"]): str(o.get("colour") or PARTNER_COLOURS[k % len(PARTNER_COLOURS)])
        for k, o in enumerate(owners)
    }


def rgba(hex_colour: str, alpha: int = 255) -> list[int]:
    """``'#rrggbb'`` as ``[r, g, b, a]`` (0-255), as CZML and KML want them."""
    h = hex_colour.lstrip("#")
    return [int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), alpha]

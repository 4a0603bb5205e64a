"""Colours shared by the static map, the report, the exports and the browser replay.

Every colour is ``'#rrggbb'``. Colours read from a scenario (an owner's ``colour``) are
checked with :func:`is_hex_colour` before use: a run directory can be edited by hand, and
a colour reaches style sheets, canvases, CZML and KML.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
"""The only colour syntax accepted from data: ``#rrggbb``."""

FATE_COLOURS = {
    "intercepted": "#2ca02c",
    "impacted_asset": "#d62728",
    "impacted_open": "#ff7f0e",
    "failed": "#7f7f7f",
    "airborne_at_end": "#9467bd",
}
"""Colour of each threat fate (``summary.json`` names)."""
PARTNER_COLOURS = ["#1f77b4", "#17becf", "#e377c2", "#8c564b", "#bcbd22", "#393b79"]
"""Owner colours, in order, for owners whose scenario entry gives none (or a bad one)."""
THREAT_CLASS_COLOURS = {
    "rocket_short": "#a6761d",
    "rocket_medium": "#e6ab02",
    "owa_drone": "#1b7f8c",
    "cruise_missile": "#e7298a",
    "srbm": "#252525",
    "mrbm": "#084081",
}
"""Fixed colour of each threat class of the bundled catalog, the same in every run.

Chosen apart from :data:`FATE_COLOURS` (a threat's head is filled with its class colour
and ringed with its fate colour) and from each other.
"""
CLASS_FALLBACK_COLOURS = [
    "#b15928",
    "#4d4d00",
    "#f781bf",
    "#00441b",
    "#3f007d",
    "#67001f",
    "#6baed6",
    "#66c2a5",
]
"""Colours of custom threat classes, picked by a hash of the class name."""


def is_hex_colour(value: Any) -> bool:
    """Whether ``value`` is a ``'#rrggbb'`` string."""
    return isinstance(value, str) and HEX_COLOUR.match(value) is not None


def class_colour(name: str) -> str:
    """The colour of threat class ``name``: fixed for catalog classes, else by a stable hash.

    The hash is SHA-256 of the name (not Python's ``hash``, which changes per process), so
    a custom class keeps its colour across runs and servers.
    """
    fixed = THREAT_CLASS_COLOURS.get(name)
    if fixed is not None:
        return fixed
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return CLASS_FALLBACK_COLOURS[int.from_bytes(digest[:4], "big") % len(CLASS_FALLBACK_COLOURS)]


def owner_colours(owners: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``{owner name: '#rrggbb'}`` from the scenario's ``owners`` list.

    An owner's own ``colour`` is used when it is ``#rrggbb``; anything else (missing,
    empty, a CSS expression, markup) gives the next :data:`PARTNER_COLOURS` entry.
    """
    out: dict[str, str] = {}
    for k, o in enumerate(owners):
        own = o.get("colour")
        fallback = PARTNER_COLOURS[k % len(PARTNER_COLOURS)]
        out[str(o["name"])] = str(own) if is_hex_colour(own) else fallback
    return out


def rgba(hex_colour: str, alpha: int = 255) -> list[int]:
    """``'#rrggbb'`` as ``[r, g, b, a]`` (0-255), as CZML and KML want them."""
    h = hex_colour.lstrip("#")
    return [int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), alpha]

"""Country borders and coastlines from the bundled Natural Earth TopoJSON.

Decodes the delta-encoded, quantised arcs of ``countries-50m.json`` (world-atlas,
ISC; Natural Earth, public domain) into longitude/latitude polylines.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@cache
def _topology() -> dict[str, Any]:
    text = resources.files("iamd.data").joinpath("countries-50m.json").read_text("utf-8")
    topo: dict[str, Any] = json.loads(text)
    return topo


@cache
def border_arcs() -> tuple[F64, ...]:
    """Every arc of the topology as an (m, 2) array of (lon_deg, lat_deg)."""
    topo = _topology()
    scale = np.asarray(topo["transform"]["scale"], dtype=np.float64)
    translate = np.asarray(topo["transform"]["translate"], dtype=np.float64)
    return tuple(
        np.cumsum(np.asarray(arc, dtype=np.float64), axis=0) * scale + translate
        for arc in topo["arcs"]
    )


def arcs_in(lon_min: float, lon_max: float, lat_min: float, lat_max: float) -> list[F64]:
    """Arcs with at least one point inside a lon/lat box."""
    out = []
    for arc in border_arcs():
        inside = (
            (arc[:, 0] >= lon_min)
            & (arc[:, 0] <= lon_max)
            & (arc[:, 1] >= lat_min)
            & (arc[:, 1] <= lat_max)
        )
        if inside.any():
            out.append(arc)
    return out


@cache
def land_rings() -> tuple[F64, ...]:
    """Outer and inner rings of the land polygons, (m, 2) lon/lat arrays.

    A ring lists arc indices; a negative index ``~k`` means arc ``k`` reversed, and
    consecutive arcs share their joining point (TopoJSON specification).
    """
    arcs = border_arcs()
    rings = []
    for geom in _topology()["objects"]["land"]["geometries"]:
        polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        for poly in polys:
            for ring in poly:
                parts = [arcs[k] if k >= 0 else arcs[~k][::-1] for k in ring]
                rings.append(np.concatenate([p if i == 0 else p[1:] for i, p in enumerate(parts)]))
    return tuple(rings)

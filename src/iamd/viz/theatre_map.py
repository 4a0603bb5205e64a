"""``map.png``: the theatre, defended assets, sensors, fire units and threat paths."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Polygon

from iamd.geo import ecef2geodetic
from iamd.sim.engine import FATE_NAMES
from iamd.viz.basemap import arcs_in, land_rings

if TYPE_CHECKING:
    from iamd.sim.run import RunResult

FATE_COLOURS = {
    "intercepted": "#2ca02c",
    "impacted_asset": "#d62728",
    "impacted_open": "#ff7f0e",
    "failed": "#7f7f7f",
    "airborne_at_end": "#9467bd",
}
PARTNER_COLOURS = ["#1f77b4", "#17becf", "#e377c2", "#8c564b", "#bcbd22", "#393b79"]
LAYER_MARKERS = {1: "^", 2: "v", 3: "D", 4: "s", 5: "*"}


def _overlaps(ring: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    return bool(
        ring[:, 0].max() >= box[0]
        and ring[:, 0].min() <= box[1]
        and ring[:, 1].max() >= box[2]
        and ring[:, 1].min() <= box[3]
    )


def draw_map(result: RunResult, path: Path) -> None:
    """Draw the run's theatre map to a PNG file."""
    w = result.world
    tr, out = w.truth, result.outcome
    spec = result.scenario.spec
    seg = np.repeat(np.arange(tr.n), np.diff(tr.offset))
    end = np.where(np.isnan(out.t_fate_s), tr.t_end_s, out.t_fate_s)
    keep = (tr.t_s <= end[seg]) & out.launched[seg]
    lat, lon, _ = ecef2geodetic(tr.state[keep, :3])
    lat_d, lon_d, seg_k = np.degrees(lat), np.degrees(lon), seg[keep]

    extra_lon = [spec.origin.lon_deg] + [x.lon_deg for x in spec.sensors]
    extra_lat = [spec.origin.lat_deg] + [x.lat_deg for x in spec.sensors]
    all_lon = np.concatenate([lon_d, np.asarray(extra_lon)])
    all_lat = np.concatenate([lat_d, np.asarray(extra_lat)])
    pad = 0.8
    box = (all_lon.min() - pad, all_lon.max() + pad, all_lat.min() - pad, all_lat.max() + pad)

    fig, ax = plt.subplots(figsize=(11, 8), dpi=110)
    ax.set_facecolor("#dfeaf3")
    land = [r for r in land_rings() if _overlaps(r, box)]
    ax.add_collection(PolyCollection(land, facecolors="#f4f1e8", edgecolors="none", zorder=0))
    borders = arcs_in(box[0] - 5, box[1] + 5, box[2] - 5, box[3] + 5)
    ax.add_collection(LineCollection(borders, colors="#555555", linewidths=0.6, zorder=1))

    for code, name in enumerate(FATE_NAMES):
        ids = np.flatnonzero(out.launched & (out.fate == code))
        if ids.size == 0:
            continue
        lines = [np.column_stack([lon_d[seg_k == i], lat_d[seg_k == i]]) for i in ids]
        ax.add_collection(
            LineCollection(lines, colors=FATE_COLOURS[name], linewidths=0.7, alpha=0.55, zorder=2)
        )
        ends = np.array([ln[-1] for ln in lines if len(ln)])
        if ends.size:
            ax.scatter(ends[:, 0], ends[:, 1], s=6, c=FATE_COLOURS[name], zorder=3)

    for a in spec.assets:
        if a.point is not None:
            r_deg = a.radius_km / 111.0
            ax.add_patch(
                Circle(
                    (a.point.lon_deg, a.point.lat_deg),
                    r_deg,
                    fill=False,
                    ec="black",
                    lw=1.2,
                    zorder=4,
                )
            )
            x, y = a.point.lon_deg, a.point.lat_deg
        else:
            poly = np.asarray(a.polygon)
            ax.add_patch(Polygon(poly[:, ::-1], fill=False, ec="black", lw=1.2, zorder=4))
            x, y = float(poly[:, 1].mean()), float(poly[:, 0].mean())
        ax.annotate(a.name, (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points", zorder=6)

    colour = {
        o.name: (o.colour or PARTNER_COLOURS[k % len(PARTNER_COLOURS)])
        for k, o in enumerate(spec.owners)
    }
    for f, u in zip(spec.fire_units, w.units, strict=True):
        ax.scatter(
            f.lon_deg,
            f.lat_deg,
            marker=LAYER_MARKERS.get(u.ic.layer, "o"),
            s=46,
            c=colour[f.owner],
            edgecolors="black",
            linewidths=0.5,
            zorder=5,
        )
    for s in spec.sensors:
        ax.scatter(s.lon_deg, s.lat_deg, marker="x", s=30, c=colour[s.owner], zorder=5)

    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    ax.set_aspect(1.0 / np.cos(np.radians(spec.origin.lat_deg)))
    ax.set_xlabel("longitude, deg")
    ax.set_ylabel("latitude, deg")
    s = result.summary["threats"]
    ax.set_title(
        f"{spec.name} (seed {result.seed}): {s['launched']} threats, "
        f"{s['intercepted']} intercepted, "
        f"{s['impacted_asset']} on assets, {s['impacted_open']} in the open, {s['failed']} failed",
        fontsize=10,
    )
    handles = [
        Line2D([], [], color=c, lw=2, label=n.replace("_", " ")) for n, c in FATE_COLOURS.items()
    ]
    handles += [Line2D([], [], color=c, marker="o", lw=0, label=o) for o, c in colour.items()]
    handles += [
        Line2D([], [], color="k", marker=m, lw=0, label=f"layer {k}", markerfacecolor="white")
        for k, m in LAYER_MARKERS.items()
    ]
    ax.legend(handles=handles, fontsize=7, loc="lower left", ncol=2, framealpha=0.85)
    ax.text(
        0.99,
        0.005,
        "Borders: Natural Earth via world-atlas",
        transform=ax.transAxes,
        fontsize=6,
        ha="right",
        va="bottom",
        color="#444444",
    )
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)

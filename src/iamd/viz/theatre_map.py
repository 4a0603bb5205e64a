"""``map.png``: the theatre, defended assets, sensors, fire units and threat paths."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, Polygon, Rectangle

from iamd.geo import ecef2geodetic
from iamd.sim.engine import FATE_NAMES
from iamd.viz.basemap import arcs_in, land_rings
from iamd.viz.palette import FATE_COLOURS, PARTNER_COLOURS

if TYPE_CHECKING:
    from iamd.sim.run import RunResult

LAYER_MARKERS = {1: "^", 2: "v", 3: "D", 4: "s", 5: "*"}


def _overlaps(ring: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    return bool(
        ring[:, 0].max() >= box[0]
        and ring[:, 0].min() <= box[1]
        and ring[:, 1].max() >= box[2]
        and ring[:, 1].min() <= box[3]
    )


Box = tuple[float, float, float, float]


def _box(lon: np.ndarray, lat: np.ndarray, pad_frac: float, min_span_deg: float) -> Box:
    lo_x, hi_x, lo_y, hi_y = lon.min(), lon.max(), lat.min(), lat.max()
    pad = max(hi_x - lo_x, hi_y - lo_y, min_span_deg) * pad_frac
    cx, cy = (lo_x + hi_x) / 2, (lo_y + hi_y) / 2
    half_x = max(hi_x - lo_x, min_span_deg) / 2 + pad
    half_y = max(hi_y - lo_y, min_span_deg) / 2 + pad
    return (cx - half_x, cx + half_x, cy - half_y, cy + half_y)


def draw_map(result: RunResult, path: Path) -> None:
    """Draw the run's map to a PNG: the whole theatre, and the defended area enlarged."""
    w = result.world
    tr, out = w.truth, result.outcome
    spec = result.scenario.spec
    seg = np.repeat(np.arange(tr.n), np.diff(tr.offset))
    end = np.where(np.isnan(out.t_fate_s), tr.t_end_s, out.t_fate_s)
    keep = (tr.t_s <= end[seg]) & out.launched[seg]
    lat, lon, _ = ecef2geodetic(tr.state[keep, :3])
    tracks = (np.degrees(lon), np.degrees(lat), seg[keep])

    ground = [x for x in spec.sensors if w.scenario.catalog.sensors[x.type].kind == "radar"]
    places = ground + list(spec.fire_units) + [p.station for p in spec.air_patrols]
    site_lon = np.array([spec.origin.lon_deg] + [x.lon_deg for x in places])
    site_lat = np.array([spec.origin.lat_deg] + [x.lat_deg for x in places])
    theatre = _box(
        np.concatenate([tracks[0], site_lon]), np.concatenate([tracks[1], site_lat]), 0.04, 1.0
    )
    asset_lon = [
        a.point.lon_deg if a.point else float(np.mean(np.asarray(a.polygon)[:, 1]))
        for a in spec.assets
    ]
    asset_lat = [
        a.point.lat_deg if a.point else float(np.mean(np.asarray(a.polygon)[:, 0]))
        for a in spec.assets
    ]
    defended = _box(
        np.array(
            asset_lon
            + [f.lon_deg for f in spec.fire_units if abs(f.lon_deg - spec.origin.lon_deg) < 3]
        ),
        np.array(
            asset_lat
            + [f.lat_deg for f in spec.fire_units if abs(f.lat_deg - spec.origin.lat_deg) < 3]
        ),
        0.12,
        0.5,
    )

    fig, (ax0, ax1) = plt.subplots(
        1, 2, figsize=(15, 8), dpi=100, gridspec_kw={"width_ratios": [1, 1]}
    )
    _panel(ax0, result, theatre, tracks, labels=False)
    ax0.add_patch(
        Rectangle(
            (defended[0], defended[2]),
            defended[1] - defended[0],
            defended[3] - defended[2],
            fill=False,
            ec="black",
            ls="--",
            lw=0.8,
        )
    )
    ax0.set_title("theatre", fontsize=10)
    _panel(ax1, result, defended, tracks, labels=True)
    ax1.set_title("defended area", fontsize=10)
    sm = result.summary["threats"]
    fig.suptitle(
        f"{spec.name} (seed {result.seed}): {sm['launched']} threats, "
        f"{sm['intercepted']} intercepted, "
        f"{sm['impacted_asset']} on assets, {sm['impacted_open']} in the open, "
        f"{sm['failed']} failed",
        fontsize=12,
    )
    colour = _partner_colours(result)
    handles = [
        Line2D([], [], color=c, lw=2, label=n.replace("_", " ")) for n, c in FATE_COLOURS.items()
    ]
    handles += [Line2D([], [], color=c, marker="o", lw=0, label=o) for o, c in colour.items()]
    handles += [
        Line2D([], [], color="k", marker=m, lw=0, label=f"layer {k}", markerfacecolor="white")
        for k, m in LAYER_MARKERS.items()
    ]
    handles.append(Line2D([], [], color="k", marker="x", lw=0, label="radar"))
    if spec.air_patrols:
        for marker, label in (("P", "patrol station"), ("h", "airfield")):
            handles.append(
                Line2D([], [], color="k", marker=marker, lw=0, label=label, markerfacecolor="white")
            )
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=8, framealpha=0.9)
    fig.text(
        0.99,
        0.005,
        "Borders: Natural Earth via world-atlas",
        fontsize=6,
        ha="right",
        color="#444444",
    )
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def _partner_colours(result: RunResult) -> dict[str, str]:
    owners = result.scenario.spec.owners
    return {
        o.name: (o.colour or PARTNER_COLOURS[k % len(PARTNER_COLOURS)])
        for k, o in enumerate(owners)
    }


def _panel(
    ax: Axes,
    result: RunResult,
    box: Box,
    tracks: tuple[np.ndarray, np.ndarray, np.ndarray],
    labels: bool,
) -> None:
    """One map panel: land, borders, threat paths by fate, assets, units, radars."""
    w, out, spec = result.world, result.outcome, result.scenario.spec
    lon_d, lat_d, seg_k = tracks
    ax.set_facecolor("#dfeaf3")
    land = [r for r in land_rings() if _overlaps(r, box)]
    ax.add_collection(PolyCollection(land, facecolors="#f4f1e8", edgecolors="none", zorder=0))
    borders = arcs_in(box[0] - 5, box[1] + 5, box[2] - 5, box[3] + 5)
    ax.add_collection(LineCollection(borders, colors="#555555", linewidths=0.6, zorder=1))
    starts = np.searchsorted(seg_k, np.arange(w.truth.n + 1))
    for code, name in enumerate(FATE_NAMES):
        ids = np.flatnonzero(out.launched & (out.fate == code))
        if ids.size == 0:
            continue
        lines = [
            np.column_stack([lon_d[starts[i] : starts[i + 1]], lat_d[starts[i] : starts[i + 1]]])
            for i in ids
        ]
        lines = [ln for ln in lines if len(ln)]
        ax.add_collection(
            LineCollection(lines, colors=FATE_COLOURS[name], linewidths=0.7, alpha=0.55, zorder=2)
        )
        ends = np.array([ln[-1] for ln in lines])
        if ends.size:
            ax.scatter(ends[:, 0], ends[:, 1], s=6, c=FATE_COLOURS[name], zorder=3)
    for a in spec.assets:
        if a.point is not None:
            x, y = a.point.lon_deg, a.point.lat_deg
            ax.add_patch(
                Ellipse(
                    (x, y),
                    2 * a.radius_km / (111.32 * np.cos(np.radians(y))),
                    2 * a.radius_km / 110.57,
                    fill=False,
                    ec="black",
                    lw=1.2,
                    zorder=4,
                )
            )
        else:
            poly = np.asarray(a.polygon)
            ax.add_patch(Polygon(poly[:, ::-1], fill=False, ec="black", lw=1.2, zorder=4))
            x, y = float(poly[:, 1].mean()), float(poly[:, 0].mean())
        if labels:
            ax.annotate(
                a.name, (x, y), fontsize=7, xytext=(5, 5), textcoords="offset points", zorder=6
            )
    colour = _partner_colours(result)
    for f, u in zip(spec.fire_units, w.units[: len(spec.fire_units)], strict=True):
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
    for p in spec.air_patrols:  # its airfield, the leg to its station, the station
        lons, lats = [p.base.lon_deg, p.station.lon_deg], [p.base.lat_deg, p.station.lat_deg]
        ax.plot(lons, lats, ls=":", lw=0.8, c=colour[p.owner], zorder=4)
        ax.scatter(lons[0], lats[0], marker="h", s=30, c=colour[p.owner], ec="black", zorder=5)
        ax.scatter(lons[1], lats[1], marker="P", s=60, c=colour[p.owner], ec="black", zorder=5)
    for sen in spec.sensors:
        if w.scenario.catalog.sensors[sen.type].kind == "radar":
            ax.scatter(sen.lon_deg, sen.lat_deg, marker="x", s=30, c=colour[sen.owner], zorder=5)
    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    ax.set_aspect(1.0 / np.cos(np.radians((box[2] + box[3]) / 2)))
    ax.set_xlabel("longitude, deg")
    ax.set_ylabel("latitude, deg")

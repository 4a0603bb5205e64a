"""The replay document the browser plays: a run directory as compact column arrays.

Columns, not records: the browser binary-searches sorted time columns each frame, so a
nine-hour raid with hundreds of threats costs a few array lookups per frame. Positions
are rounded to 1e-4 degree (about 10 m) and 1 m, times to 0.1 s, which is below what the
map can show and keeps the document a few megabytes.

Each flyout is drawn along the path its interceptor flew: ``flyouts.offset`` (CSR, as
``threats.offset``) indexes ``flyout_samples`` (the samples of
:meth:`~iamd.export.rundir.RunData.flown_paths`; two, the straight line from the launch to
the end event, for a laser or a run directory without ``interceptors.parquet``;
``flyouts.flown`` says which). The launch and end points stay in ``flyouts`` (``lat0`` ...
``lon1``) for pages that read them.

Patrol aircraft (``aircraft``: names, owners, CSR ``offset`` into their samples) fly the
straight legs between their events
(:meth:`~iamd.export.rundir.RunData.aircraft_paths`).

Interceptors fired are counted in rounds (``flyouts.rounds``, from
:attr:`~iamd.export.rundir.Flyouts.rounds`): an engagement that fires a salvo of two counts
two, as ``summary.json`` does. Colours are ``#rrggbb`` only: owners' colours from the
scenario pass :func:`~iamd.viz.palette.owner_colours`, classes get their fixed palette
colour.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iamd.export.rundir import RunData, patrol_aircraft
from iamd.viz.palette import FATE_COLOURS, class_colour, owner_colours

EVENT_KINDS = ("launch", "launch_interceptor", "intercept", "miss", "impact_asset", "fail")
"""Events the replay shows and counts (scans and track bookkeeping stay in the log)."""
TRACK_STRIDE_S = 10.0
"""Track updates are thinned to one per track per this many seconds for the overlay."""


def _r(a: Any, nd: int) -> list[float]:
    return np.round(np.asarray(a, dtype=np.float64), nd).tolist()  # type: ignore[no-any-return]


def layout(run: RunData) -> dict[str, Any]:
    """Owners, assets, sensors and fire units with what the map draws of them."""
    sc = run.scenario
    cat = run.catalog
    colours = owner_colours(sc.get("owners", []))
    assets = []
    for a in sc.get("assets", []):
        p = a.get("point") or {}
        poly = a.get("polygon")
        assets.append(
            {
                "name": a["name"],
                "value": a.get("value", 0.0),
                "lat": p.get("lat_deg"),
                "lon": p.get("lon_deg"),
                "radius_km": a.get("radius_km"),
                "polygon": [[float(q[1]), float(q[0])] for q in poly]
                if poly
                else None,  # (lat, lon)
            }
        )
    sensors = []
    for s in sc.get("sensors", []):
        spec = cat.get("sensors", {}).get(s["type"], {})
        sensors.append(
            {
                "name": s["name"],
                "owner": s["owner"],
                "type": s["type"],
                "kind": spec.get("kind", "radar"),
                "lat": s["lat_deg"],
                "lon": s["lon_deg"],
                "max_range_km": spec.get("max_range_km"),
                "sector_deg": spec.get("sector_deg", 360.0),
                "boresight_deg": s.get("boresight_deg") or 0.0,
            }
        )
    units = []
    for f in sc.get("fire_units", []):
        ic = cat.get("interceptors", {}).get(f["interceptor"], {})
        units.append(
            {
                "name": f["name"],
                "owner": f["owner"],
                "interceptor": f["interceptor"],
                "label": ic.get("label", f["interceptor"]),
                "layer": ic.get("layer"),
                "kind": ic.get("kind"),
                "lat": f["lat_deg"],
                "lon": f["lon_deg"],
                "max_range_km": ic.get("max_range_km"),
                "rounds": f.get("rounds"),
            }
        )
    return {
        "owners": [{"name": n, "colour": c} for n, c in colours.items()],
        "assets": assets,
        "sensors": [s for s in sensors if s["kind"] == "radar"],
        "units": units,
        "interceptor_types": sorted(
            {str(f["interceptor"]) for f in sc.get("fire_units", [])}
            | {a[2] for a in patrol_aircraft(sc)}
        ),  # every class a unit carries, as summary.json lists them (fired or not)
        "interceptor_cost_usd": {
            k: float(v.get("cost_usd", 0.0)) for k, v in cat.get("interceptors", {}).items()
        },
        "fate_colours": FATE_COLOURS,
    }


def _aircraft(run: RunData) -> dict[str, Any]:
    """Patrol aircraft along their flights: names, owners, CSR ``offset`` into the samples."""
    ap = run.aircraft_paths()
    return {
        "name": ap.name,
        "owner": ap.owner,
        "offset": ap.offset.tolist(),
        "t": _r(ap.t_s, 1),
        "lat": _r(ap.lla[:, 0], 4),
        "lon": _r(ap.lla[:, 1], 4),
        "alt": _r(ap.lla[:, 2], 0),
    }


def replay_document(run: RunData, name: str) -> dict[str, Any]:
    """Everything the browser needs to replay ``run`` (JSON-ready)."""
    attrs = run.threat_attrs()
    ids, offset, t_s, lla = run.threat_paths()
    classes = sorted({c for c, _ in attrs.values()})
    threats = {
        "id": ids.tolist(),
        "class": [attrs[int(i)][0] for i in ids],
        "fate": [attrs[int(i)][1] for i in ids],
        "offset": offset.tolist(),
        "t0": _r(t_s[offset[:-1]], 1) if ids.size else [],
        "t1": _r(t_s[offset[1:] - 1], 1) if ids.size else [],
    }
    samples = {
        "t": _r(t_s, 1),
        "lat": _r(lla[:, 0], 4),
        "lon": _r(lla[:, 1], 4),
        "alt": _r(lla[:, 2], 0),
    }
    fly = run.flyouts()
    flown = run.flown_paths(fly)
    flyouts = {
        "engagement": fly.engagement.tolist(),
        "threat": fly.threat.tolist(),
        "unit": fly.unit,
        "owner": fly.owner,
        "interceptor": fly.interceptor,
        "t0": _r(fly.t_launch_s, 1),
        "t1": _r(fly.t_end_s, 1),
        "lat0": _r(fly.start[:, 0], 4),
        "lon0": _r(fly.start[:, 1], 4),
        "lat1": _r(fly.end[:, 0], 4),
        "lon1": _r(fly.end[:, 1], 4),
        "result": fly.result,
        "rounds": fly.rounds.tolist(),
        "offset": flown.offset.tolist(),
        "flown": flown.flown.tolist(),
    }
    flyout_samples = {
        "t": _r(flown.t_s, 1),
        "lat": _r(flown.lla[:, 0], 4),
        "lon": _r(flown.lla[:, 1], 4),
        "alt": _r(flown.lla[:, 2], 0),
    }
    ev = run.events
    kind = ev.column("kind").cast(pa.string())
    shown = ev.filter(pc.is_in(kind, value_set=pa.array(EVENT_KINDS)))
    events = {
        "t": _r(shown.column("t_s").to_numpy(), 1),
        "kind": shown.column("kind").cast(pa.string()).to_pylist(),
        "threat": shown.column("threat").to_numpy().astype(np.int64).tolist(),
        "interceptor": shown.column("interceptor").cast(pa.string()).to_pylist(),
        "lat": _r(np.nan_to_num(shown.column("lat_deg").to_numpy(zero_copy_only=False)), 4),
        "lon": _r(np.nan_to_num(shown.column("lon_deg").to_numpy(zero_copy_only=False)), 4),
    }
    return {
        "name": name,
        "scenario": run.scenario.get("name", ""),
        "duration_s": run.duration_s,
        "layout": layout(run),
        "class_colours": {c: class_colour(c) for c in classes},
        "class_labels": _class_labels(run, classes),
        "threats": threats,
        "samples": samples,
        "flyouts": flyouts,
        "flyout_samples": flyout_samples,
        "aircraft": _aircraft(run),
        "events": events,
        "tracks": _tracks(run),
        "summary": run.summary,
    }


def _class_labels(run: RunData, classes: list[str]) -> dict[str, str]:
    """The catalog's label of each threat class (the class name when it has none)."""
    threats = run.catalog.get("threats", {})
    out = {}
    for c in classes:
        spec = threats.get(c) if isinstance(threats, dict) else None
        label = spec.get("label") if isinstance(spec, dict) else None
        out[c] = label if isinstance(label, str) and label else c.replace("_", " ")
    return out


def _tracks(run: RunData) -> dict[str, list[Any]]:
    """Track positions, one per track per :data:`TRACK_STRIDE_S`, sorted by time."""
    tr = run.tracks
    if tr is None or tr.num_rows == 0 or "track" not in tr.column_names:
        return {"t": [], "lat": [], "lon": [], "owner": []}
    t = tr.column("t_s").to_numpy()
    track = tr.column("track").to_numpy()
    bucket = np.floor(t / TRACK_STRIDE_S).astype(np.int64)
    # first update of each (track, bucket)
    order = np.lexsort((t, bucket, track))
    key = np.stack([track[order], bucket[order]], axis=1)
    first = np.ones(order.size, dtype=bool)
    first[1:] = np.any(key[1:] != key[:-1], axis=1)
    keep = order[first]
    keep = keep[np.argsort(t[keep], kind="stable")]
    owners = tr.column("owner").cast(pa.string()).to_numpy(zero_copy_only=False)
    return {
        "t": _r(t[keep], 1),
        "lat": _r(tr.column("lat_deg").to_numpy()[keep], 4),
        "lon": _r(tr.column("lon_deg").to_numpy()[keep], 4),
        "owner": owners[keep].tolist(),
    }

"""A run directory as a CZML document for CesiumJS, built and validated with czml3.

Simulation time 0 is mapped to ``epoch`` (the run has no calendar time of its own).
Threats (their truth samples) and interceptors (the samples of the path they flew,
:meth:`~iamd.export.rundir.RunData.flown_paths`) are time-tagged ``cartographicDegrees``
positions with a trailing path; intercepts, misses and impacts are points shown for a
minute after they happen; patrol aircraft move along their flights
(:meth:`~iamd.export.rundir.RunData.aircraft_paths`); assets, sensors and fire units are
fixed points. Colours follow
the browser replay: threats by fate, everything owned by its owner's colour.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from czml3 import Document, Packet
from czml3.properties import (
    Clock,
    Color,
    Label,
    Point,
    PolylineMaterial,
    Position,
    SolidColorMaterial,
)
from czml3.properties import Path as CzPath
from czml3.types import TimeInterval

from iamd.export.rundir import RunData, asset_point
from iamd.viz.palette import FATE_COLOURS, owner_colours, rgba

DEFAULT_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""Calendar time of simulation time 0 unless ``--epoch`` says otherwise."""
EVENT_SHOW_S = 60.0
"""How long an intercept or impact marker stays on screen, s."""
EVENT_KINDS = {"intercept": "#2ca02c", "miss": "#999999", "impact_asset": "#d62728"}


def _iso(epoch: dt.datetime, t_s: float) -> str:
    return (epoch + dt.timedelta(seconds=float(t_s))).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _interval(epoch: dt.datetime, t0_s: float, t1_s: float) -> TimeInterval:
    return TimeInterval(start=_iso(epoch, t0_s), end=_iso(epoch, t1_s))


def _moving(epoch: dt.datetime, samples: list[float]) -> Position:
    """Time-tagged ``[t_s, lon, lat, alt, ...]`` samples, seconds after ``epoch``."""
    return Position.model_validate(
        {
            "epoch": _iso(epoch, 0.0),
            "cartographicDegrees": samples,
            "interpolationAlgorithm": "LINEAR",
        }
    )


def _fixed(
    pid: str, name: str, lat: float, lon: float, alt: float, colour: str, size: int
) -> Packet:
    return Packet(
        id=pid,
        name=name,
        position=Position(cartographicDegrees=[lon, lat, alt]),
        point=Point(pixelSize=size, color=Color(rgba=rgba(colour)), outlineWidth=1),
        label=Label(text=name, show=True, scale=0.5),
    )


def build_czml(run: RunData, epoch: dt.datetime = DEFAULT_EPOCH) -> Document:
    """The CZML document of a run (validated by czml3's models as it is built)."""
    sc = run.scenario
    colour = owner_colours(sc.get("owners", []))
    duration = run.duration_s
    packets: list[Packet] = [
        Packet(
            id="document",
            name=f"iamd {sc.get('name', '')}",
            version="1.0",
            clock=Clock(
                interval=_interval(epoch, 0.0, duration),
                currentTime=_iso(epoch, 0.0),
                multiplier=60,
            ),
        )
    ]
    for a in sc.get("assets", []):
        lat, lon = asset_point(a)
        packets.append(_fixed(f"asset/{a['name']}", a["name"], lat, lon, 0.0, "#000000", 9))
    for s in sc.get("sensors", []):
        packets.append(
            _fixed(
                f"sensor/{s['name']}",
                s["name"],
                s["lat_deg"],
                s["lon_deg"],
                s["alt_m"],
                colour.get(s["owner"], "#444444"),
                7,
            )
        )
    for f in sc.get("fire_units", []):
        packets.append(
            _fixed(
                f"unit/{f['name']}",
                f["name"],
                f["lat_deg"],
                f["lon_deg"],
                f["alt_m"],
                colour.get(f["owner"], "#444444"),
                8,
            )
        )
    attrs = run.threat_attrs()
    ids, offset, t_s, lla = run.threat_paths()
    for k, threat in enumerate(ids):  # one packet per threat (hundreds)
        a, b = offset[k], offset[k + 1]
        cls, fate = attrs[int(threat)]
        keep = np.append(np.diff(t_s[a:b]) > 0, True)  # CZML times strictly increase
        samples = np.column_stack([t_s[a:b], lla[a:b, 1], lla[a:b, 0], lla[a:b, 2]])[keep].ravel()
        packets.append(
            Packet(
                id=f"threat/{int(threat)}",
                name=f"threat {int(threat)} ({cls}, {fate})",
                availability=_interval(epoch, t_s[a], t_s[b - 1]),
                position=_moving(epoch, samples.tolist()),
                point=Point(pixelSize=5, color=Color(rgba=rgba(FATE_COLOURS.get(fate, "#000000")))),
                path=CzPath(
                    width=1,
                    trailTime=600,
                    leadTime=0,
                    material=PolylineMaterial(
                        solidColor=SolidColorMaterial(
                            color=Color(rgba=rgba(FATE_COLOURS.get(fate, "#000000"), 160))
                        )
                    ),
                ),
            )
        )
    fly = run.flyouts()
    flown = run.flown_paths(fly)
    for i in range(fly.engagement.size):  # one packet per engagement (hundreds)
        t0, t1 = float(fly.t_launch_s[i]), float(fly.t_end_s[i])
        rows = flown.rows(i)
        t, lla = flown.t_s[rows], flown.lla[rows]
        own = colour.get(fly.owner[i], "#444444")
        moving = t[-1] > t[0]  # a flight of no duration is a point where it ended
        packets.append(
            Packet(
                id=f"interceptor/{int(fly.engagement[i])}",
                name=f"{fly.interceptor[i]} from {fly.unit[i]} at threat {int(fly.threat[i])}",
                availability=_interval(epoch, t0, max(t1, float(t[-1]))),
                position=(
                    _moving(
                        epoch,
                        np.column_stack([t, lla[:, 1], lla[:, 0], lla[:, 2]]).ravel().tolist(),
                    )
                    if moving
                    else Position(cartographicDegrees=[lla[-1, 1], lla[-1, 0], lla[-1, 2]])
                ),
                point=Point(pixelSize=4, color=Color(rgba=rgba(own))),
                path=CzPath(
                    width=1,
                    trailTime=max(t1 - t0, 1.0),
                    leadTime=0,
                    material=PolylineMaterial(
                        solidColor=SolidColorMaterial(color=Color(rgba=rgba(own, 200)))
                    ),
                )
                if moving
                else None,
            )
        )
    craft = run.aircraft_paths()
    for i, name in enumerate(craft.name):  # one packet per patrol aircraft (tens)
        t, lla = craft.samples(i, run.duration_s)
        own = colour.get(craft.owner[i], "#444444")
        packets.append(
            Packet(
                id=f"aircraft/{name}",
                name=f"aircraft {name} ({craft.owner[i]})",
                availability=_interval(epoch, float(t[0]), float(t[-1])),
                position=(
                    _moving(
                        epoch,
                        np.column_stack([t, lla[:, 1], lla[:, 0], lla[:, 2]]).ravel().tolist(),
                    )
                    if t.size > 1
                    else Position(cartographicDegrees=[lla[0, 1], lla[0, 0], lla[0, 2]])
                ),
                point=Point(pixelSize=6, color=Color(rgba=rgba(own))),
            )
        )
    ev = run.events
    kind = ev.column("kind").cast(pa.string())
    marks = ev.filter(pc.is_in(kind, value_set=pa.array(list(EVENT_KINDS))))
    rows = marks.select(["t_s", "kind", "threat", "lat_deg", "lon_deg", "alt_m"]).to_pylist()
    for j, r in enumerate(rows):  # intercepts, misses and impacts (hundreds)
        if r["lat_deg"] is None or not np.isfinite(r["lat_deg"]):
            continue
        packets.append(
            Packet(
                id=f"event/{j}",
                name=f"{r['kind']} of threat {r['threat']}",
                availability=_interval(epoch, r["t_s"], r["t_s"] + EVENT_SHOW_S),
                position=Position(cartographicDegrees=[r["lon_deg"], r["lat_deg"], r["alt_m"]]),
                point=Point(pixelSize=10, color=Color(rgba=rgba(EVENT_KINDS[r["kind"]]))),
            )
        )
    return Document(packets=packets)


def write_czml(run: RunData, out: Path, epoch: dt.datetime = DEFAULT_EPOCH) -> int:
    """Write the CZML of ``run`` to ``out``; returns the number of packets."""
    doc = build_czml(run, epoch)
    out.write_text(doc.dumps(), "utf-8")
    return len(doc.packets)

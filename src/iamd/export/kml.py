"""A run directory as KML for Google Earth: threats and interceptors as ``gx:Track``s.

Each threat (its truth samples) and each interceptor flyout (the samples of the path it
flew, :meth:`~iamd.export.rundir.RunData.flown_paths`) is one placemark whose ``gx:Track``
holds a ``<when>`` per sample and a ``<gx:coord>`` (``lon lat alt``) per sample, in that
order, as the KML 2.2 extension schema requires; Google Earth's time slider then plays them,
as it plays each patrol aircraft along its flight. Their ids are ``threat-N`` (N the
threat), ``interceptor-N`` (N the engagement) and ``aircraft-NAME``. Assets, sensors and
fire units are fixed placemarks. Simulation time 0 is ``epoch``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

from iamd.export.czml import DEFAULT_EPOCH
from iamd.export.rundir import RunData, asset_point
from iamd.viz.palette import FATE_COLOURS, owner_colours, rgba

KML_NS = "http://www.opengis.net/kml/2.2"
GX_NS = "http://www.google.com/kml/ext/2.2"
ET.register_namespace("", KML_NS)
ET.register_namespace("gx", GX_NS)


def _k(tag: str) -> str:
    return f"{{{KML_NS}}}{tag}"


def _gx(tag: str) -> str:
    return f"{{{GX_NS}}}{tag}"


def _abgr(hex_colour: str, alpha: int = 255) -> str:
    """KML colours are ``aabbggrr`` hex."""
    r, g, b, a = rgba(hex_colour, alpha)
    return f"{a:02x}{b:02x}{g:02x}{r:02x}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _style(doc: ET.Element, sid: str, colour: str) -> None:
    st = _sub(doc, _k("Style"))
    st.set("id", sid)
    icon = _sub(st, _k("IconStyle"))
    _sub(icon, _k("color"), _abgr(colour))
    _sub(icon, _k("scale"), "0.6")
    line = _sub(st, _k("LineStyle"))
    _sub(line, _k("color"), _abgr(colour, 200))
    _sub(line, _k("width"), "1.5")


def _when(epoch: dt.datetime, t_s: float) -> str:
    return (epoch + dt.timedelta(seconds=float(t_s))).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _track(
    folder: ET.Element,
    pid: str,
    name: str,
    style: str,
    epoch: dt.datetime,
    times_s: list[float],
    coords: list[tuple[float, float, float]],
) -> None:
    pm = _sub(folder, _k("Placemark"))
    pm.set("id", pid)
    _sub(pm, _k("name"), name)
    _sub(pm, _k("styleUrl"), f"#{style}")
    tr = _sub(pm, _gx("Track"))
    _sub(tr, _k("altitudeMode"), "absolute")
    for t in times_s:
        _sub(tr, _k("when"), _when(epoch, t))
    for lat, lon, alt in coords:
        _sub(tr, _gx("coord"), f"{lon:.6f} {lat:.6f} {alt:.1f}")


def _fixed(folder: ET.Element, name: str, style: str, lat: float, lon: float, alt: float) -> None:
    pm = _sub(folder, _k("Placemark"))
    _sub(pm, _k("name"), name)
    _sub(pm, _k("styleUrl"), f"#{style}")
    pt = _sub(pm, _k("Point"))
    _sub(pt, _k("coordinates"), f"{lon:.6f},{lat:.6f},{alt:.1f}")


def build_kml(run: RunData, epoch: dt.datetime = DEFAULT_EPOCH) -> ET.ElementTree[ET.Element]:
    """The KML tree of a run."""
    sc = run.scenario
    colour = owner_colours(sc.get("owners", []))
    root = ET.Element(_k("kml"))
    doc = _sub(root, _k("Document"))
    _sub(doc, _k("name"), f"iamd {sc.get('name', '')}")
    for fate, c in FATE_COLOURS.items():
        _style(doc, f"fate-{fate}", c)
    for owner, c in colour.items():
        _style(doc, f"owner-{owner}", c)
    _style(doc, "asset", "#000000")

    fixed = _sub(doc, _k("Folder"))
    _sub(fixed, _k("name"), "Defence")
    for a in sc.get("assets", []):
        lat, lon = asset_point(a)
        _fixed(fixed, a["name"], "asset", lat, lon, 0.0)
    for kind in ("sensors", "fire_units"):
        for s in sc.get(kind, []):
            _fixed(fixed, s["name"], f"owner-{s['owner']}", s["lat_deg"], s["lon_deg"], s["alt_m"])

    threats = _sub(doc, _k("Folder"))
    _sub(threats, _k("name"), "Threats")
    attrs = run.threat_attrs()
    ids, offset, t_s, lla = run.threat_paths()
    for k, threat in enumerate(ids):  # one placemark per threat (hundreds)
        a, b = offset[k], offset[k + 1]
        cls, fate = attrs[int(threat)]
        _track(
            threats,
            f"threat-{int(threat)}",
            f"threat {int(threat)} ({cls}, {fate})",
            f"fate-{fate}",
            epoch,
            t_s[a:b].tolist(),
            [tuple(x) for x in lla[a:b].tolist()],
        )
    inter = _sub(doc, _k("Folder"))
    _sub(inter, _k("name"), "Interceptors")
    fly = run.flyouts()
    flown = run.flown_paths(fly)
    for i in range(fly.engagement.size):  # one placemark per engagement (hundreds)
        rows = flown.rows(i)
        _track(
            inter,
            f"interceptor-{int(fly.engagement[i])}",
            f"{fly.interceptor[i]} from {fly.unit[i]} at threat {int(fly.threat[i])}",
            f"owner-{fly.owner[i]}",
            epoch,
            flown.t_s[rows].tolist(),
            [tuple(x) for x in flown.lla[rows].tolist()],
        )
    craft = run.aircraft_paths()
    if craft.name:
        air = _sub(doc, _k("Folder"))
        _sub(air, _k("name"), "Patrol aircraft")
        for i, name in enumerate(craft.name):  # one placemark per aircraft (tens)
            t, lla = craft.samples(i, run.duration_s)
            _track(
                air,
                f"aircraft-{name}",
                f"aircraft {name} ({craft.owner[i]})",
                f"owner-{craft.owner[i]}",
                epoch,
                t.tolist(),
                [tuple(x) for x in lla.tolist()],
            )
    return ET.ElementTree(root)


def write_kml(run: RunData, out: Path, epoch: dt.datetime = DEFAULT_EPOCH) -> int:
    """Write the KML of ``run`` to ``out``; returns the number of tracks."""
    tree = build_kml(run, epoch)
    ET.indent(tree, space=" ")
    tree.write(out, encoding="utf-8", xml_declaration=True)
    return sum(1 for _ in tree.getroot().iter(_gx("Track")))

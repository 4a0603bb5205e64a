"""Exports of a run directory: CZML (czml3's models), KML (parsed back), DIS (tshark)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pymap3d as pm
import pytest
from czml3 import Document
from flights import flights, launch_and_end
from scipy.spatial.transform import Rotation

from iamd.cli import app
from iamd.export import dis
from iamd.export.czml import build_czml
from iamd.export.kml import GX_NS, KML_NS, build_kml
from iamd.export.rundir import load_run
from iamd.geo import geodetic2ecef


def _truth(run_dir: Path):
    t = pq.read_table(run_dir / "truth.parquet")
    ids, counts = np.unique(t["threat"].to_numpy(), return_counts=True)
    return t, dict(zip(ids.tolist(), counts.tolist(), strict=True))


def _engagements(run_dir: Path) -> int:
    ev = pq.read_table(run_dir / "events.parquet")
    return int(pc.sum(pc.equal(ev["kind"].cast("string"), "launch_interceptor")).as_py())


def test_czml_validates_and_holds_every_truth_sample(northern_run: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    out = tmp_path / "run.czml"
    res = CliRunner().invoke(app, ["export", "czml", str(northern_run), "--out", str(out)])
    assert res.exit_code == 0, res.output
    packets = json.loads(out.read_text())
    Document.model_validate(packets)  # czml3's own models accept the document
    assert packets[0]["id"] == "document" and packets[0]["version"] == "1.0"
    _, counts = _truth(northern_run)
    threats = {p["id"]: p for p in packets if p["id"].startswith("threat/")}
    assert len(threats) == len(counts)
    for tid, n in counts.items():
        samples = threats[f"threat/{tid}"]["position"]["cartographicDegrees"]
        assert len(samples) == 4 * n  # [t, lon, lat, alt] per truth sample
        assert samples[0::4] == sorted(samples[0::4])
    interceptors = [p for p in packets if p["id"].startswith("interceptor/")]
    assert len(interceptors) == _engagements(northern_run)


def test_kml_tracks_parse_back(northern_run: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    out = tmp_path / "run.kml"
    res = CliRunner().invoke(app, ["export", "kml", str(northern_run), "--out", str(out)])
    assert res.exit_code == 0, res.output
    root = ET.parse(out).getroot()
    tracks = root.findall(f".//{{{GX_NS}}}Track")
    _, counts = _truth(northern_run)
    assert len(tracks) == len(counts) + _engagements(northern_run)
    folders = {f.findtext(f"{{{KML_NS}}}name"): f for f in root.iter(f"{{{KML_NS}}}Folder")}
    threat_tracks = folders["Threats"].findall(f".//{{{GX_NS}}}Track")
    names = [
        pm.findtext(f"{{{KML_NS}}}name") for pm in folders["Threats"].iter(f"{{{KML_NS}}}Placemark")
    ]
    for name, tr in zip(names, threat_tracks, strict=True):
        tid = int(name.split()[1])
        whens = tr.findall(f"{{{KML_NS}}}when")
        coords = tr.findall(f"{{{GX_NS}}}coord")
        assert len(whens) == len(coords) == counts[tid]
        stamps = [w.text for w in whens]
        assert stamps == sorted(stamps) and stamps[0].endswith("Z")
    for tr in folders["Interceptors"].findall(f".//{{{GX_NS}}}Track"):
        assert len(tr.findall(f"{{{KML_NS}}}when")) == len(tr.findall(f"{{{GX_NS}}}coord")) >= 2


def test_export_errors_are_clear(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["export", "kml", str(tmp_path)])
    assert res.exit_code == 2
    assert "not a run directory" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["export", "dis", str(tmp_path), "--to", "nowhere"])
    assert res.exit_code == 2 and "HOST:PORT" in res.output


LOCATION = slice(30, 33)  # ESPDU fields: header 0-7, entity id 8-10, ..., location 30-32


def test_pdu_layout_and_positions_round_trip(northern_run: Path) -> None:
    sched = dis.build_schedule(load_run(northern_run), heartbeat_s=30.0)
    counts = sched.counts()
    assert counts["fire"] == _engagements(northern_run)
    sizes = {p[2]: len(p) for p in sched.pdus}
    assert sizes == {1: 144, 2: 96, 3: 104}
    for p in sched.pdus[:50]:
        version, _, ptype, family, _, length = struct.unpack(">BBBBIH", p[:10])
        assert version == 7 and length == len(p) and family == dis.FAMILY[ptype]
    # an entity state of a threat is where truth puts it at that time
    truth, _ = _truth(northern_run)
    states = [dis.ESPDU.unpack(p) for p in sched.pdus if p[2] == dis.ENTITY_STATE]
    f = next(f for f in states if f[9] == dis.APP_THREAT)
    threat = f[10] - 1
    rows = truth.filter(pc.equal(truth["threat"], threat)).sort_by("t_s")
    t_s = rows["t_s"].to_numpy()
    xyz = geodetic2ecef(
        np.radians(rows["lat_deg"].to_numpy()),
        np.radians(rows["lon_deg"].to_numpy()),
        rows["alt_m"].to_numpy(),
    )
    assert np.allclose(np.array(f[LOCATION]), xyz[0], atol=1e-3)  # first sample, exactly
    assert t_s[0] >= 0


def test_dis_timestamp() -> None:
    assert dis.dis_timestamp(0.0) == 0
    assert dis.dis_timestamp(1800.0) == 2**31  # half an hour: 2**30 units, shifted left once
    assert dis.dis_timestamp(3600.0 + 900.0) == dis.dis_timestamp(900.0)


TSHARK = pytest.mark.skipif(
    shutil.which("tshark") is None, reason="tshark not installed (.ci/run installs it)"
)


def _tshark(pdus: list[bytes], tmp_path: Path, fields: list[str]) -> list[list[str]]:
    """Send ``pdus`` over loopback while tshark captures them; its DIS dissector's ``fields``,
    one list per datagram."""
    small = dis.Schedule(np.zeros(len(pdus)), pdus)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # a free port, released for the capture
    pcap = tmp_path / "dis.pcapng"
    cap = subprocess.Popen(
        ["tshark", "-i", "lo", "-f", f"udp port {port}", "-w", str(pcap), "-a", "duration:20"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cap.stderr is not None
        deadline = time.monotonic() + 20
        line = ""
        while "Capturing on" not in line:
            line = cap.stderr.readline()
            assert line or time.monotonic() < deadline, "tshark did not start capturing"
        time.sleep(0.5)
        assert dis.send(small, ("127.0.0.1", port), rate=0) == len(pdus)
        time.sleep(1.0)
    finally:
        cap.terminate()
        cap.wait(timeout=20)
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-d", f"udp.port=={port},dis", "-T", "fields",
         "-E", "separator=|", *[a for f in fields for a in ("-e", f)]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()  # fmt: skip
    assert len(out) == len(pdus)
    return [line.split("|") for line in out]


@TSHARK
def test_tshark_decodes_what_we_sent(northern_run: Path, tmp_path: Path) -> None:
    """Wireshark's DIS dissector, capturing on loopback, reads our entity IDs, positions, types."""
    sched = dis.build_schedule(load_run(northern_run), heartbeat_s=60.0)
    pick = (
        [p for p in sched.pdus if p[2] == dis.ENTITY_STATE][:20]
        + [p for p in sched.pdus if p[2] == dis.FIRE][:5]
        + [p for p in sched.pdus if p[2] == dis.DETONATION][:5]
    )
    fields = [
        "dis.pdu_type",
        "dis.entity_id_site",
        "dis.entity_id_application",
        "dis.entity_id_entity",
        "dis.entity_location.x",
        "dis.entity_location.y",
        "dis.entity_location.z",
        "dis.entity_marking",
        "_ws.malformed",
    ]
    for cols, pdu in zip(_tshark(pick, tmp_path, fields), pick, strict=True):
        assert int(cols[0]) == pdu[2]
        assert cols[8] == ""  # not malformed
        if pdu[2] == dis.ENTITY_STATE:
            f = dis.ESPDU.unpack(pdu)
            site, app_, ent = (int(c.split(",")[0]) for c in cols[1:4])
            assert (site, app_, ent) == (f[8], f[9], f[10])
            xyz = np.array([float(c) for c in cols[4:7]])
            assert np.allclose(xyz, f[LOCATION], atol=1e-3)
            assert cols[7] == f[46].rstrip(b"\0").decode()


def test_fire_pdus_carry_the_rounds_of_their_salvo(northern_run: Path) -> None:
    """One source of truth for rounds fired: the Fire PDUs' munition quantities add up to
    summary.json's interceptors fired."""
    one = dis.FIRE_PDU.unpack(dis.fire(0, (1, 1, 1), (1, 1, 2), (1, 2, 1), 0, np.zeros(3),
                                       np.zeros(3), 0.0, dis.INTERCEPTOR_TYPE, 1))  # fmt: skip
    three = dis.FIRE_PDU.unpack(dis.fire(0, (1, 1, 1), (1, 1, 2), (1, 2, 1), 0, np.zeros(3),
                                         np.zeros(3), 0.0, dis.INTERCEPTOR_TYPE, 3))  # fmt: skip
    (q,) = [k for k, (a, b) in enumerate(zip(one, three, strict=True)) if a != b]
    sched = dis.build_schedule(load_run(northern_run), heartbeat_s=60.0)
    quantities = [dis.FIRE_PDU.unpack(p)[q] for p in sched.pdus if p[2] == dis.FIRE]
    summary = json.loads((northern_run / "summary.json").read_text())
    fired = sum(v["fired"] for v in summary["interceptors"].values())
    assert sum(quantities) == fired and max(quantities) > 1


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--rate", "nan"], "--rate nan"),
        (["--rate", "-1"], "--rate -1"),
        (["--heartbeat-s", "1e-9"], "--heartbeat-s 1e-09"),
        (["--start-s", "100", "--stop-s", "50"], "is not before --stop-s"),
        (["--stop-s", "nan"], "must be numbers"),
    ],
)
def test_dis_options_that_send_nothing_or_never_end_are_refused(
    northern_run: Path, args: list[str], expect: str
) -> None:
    from typer.testing import CliRunner

    res = CliRunner().invoke(
        app, ["export", "dis", str(northern_run), "--to", "127.0.0.1:9", *args]
    )
    assert res.exit_code == 2 and expect in res.stderr, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_an_epoch_out_of_range_and_a_foreign_parquet_file_are_clear(
    northern_run: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    res = CliRunner().invoke(
        app, ["export", "czml", str(northern_run), "--out", str(tmp_path / "a.czml"),
              "--epoch", "9999-12-31T23:00:00Z"]
    )  # fmt: skip
    assert res.exit_code == 2 and "within the years" in res.stderr
    broken = tmp_path / "broken"
    shutil.copytree(northern_run, broken)
    pq.write_table(pq.read_table(broken / "tracks.parquet").select([0]), broken / "truth.parquet")
    for fmt in ("czml", "kml"):
        res = CliRunner().invoke(app, ["export", fmt, str(broken)])
        assert res.exit_code == 2, res.output
        assert "truth.parquet: not a table of an iamd run (no column threat" in res.stderr
    res = CliRunner().invoke(app, ["export", "dis", str(broken), "--to", "127.0.0.1:9"])
    assert res.exit_code == 2 and "not a table of an iamd run" in res.stderr
    # flights whose times are not numbers
    shutil.copytree(northern_run, broken, dirs_exist_ok=True)
    flown = pq.read_table(broken / "interceptors.parquet")
    t_s = pa.array(["soon"] * flown.num_rows)
    pq.write_table(flown.set_column(flown.column_names.index("t_s"), "t_s", t_s),
                   broken / "interceptors.parquet")  # fmt: skip
    for fmt in ("czml", "kml"):
        res = CliRunner().invoke(app, ["export", fmt, str(broken)])
        assert res.exit_code == 2, res.output
        assert "interceptors.parquet: not the flights of an iamd run" in res.stderr


# ---------- flyouts as flown (interceptors.parquet) ----------

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # the exports' default epoch
VELOCITY, ORIENTATION = slice(27, 30), slice(33, 36)  # ESPDU fields
FIRE_VELOCITY = slice(35, 38)  # Fire PDU fields: ..., quantity 33, rate 34, velocity 35-37


def _flights(run_dir: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """interceptors.parquet by engagement: sample times (s) and (lat, lon, alt) rows, one
    per time (time-tagged formats hold one position per time)."""
    return {e: (r[:, 0], r[:, 1:]) for e, r in flights(run_dir).items()}


def _ecef(lla: np.ndarray) -> np.ndarray:
    return np.column_stack(pm.geodetic2ecef(lla[:, 0], lla[:, 1], lla[:, 2]))


def _kml_seconds(when: str) -> float:
    t = dt.datetime.strptime(when, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    return (t - EPOCH).total_seconds()


def test_czml_and_kml_interceptors_fly_the_recorded_paths(northern_run: Path) -> None:
    run = load_run(northern_run)
    flights, events = _flights(northern_run), launch_and_end(northern_run)
    rows = pq.read_table(northern_run / "interceptors.parquet").num_rows
    assert len(flights) > 50 and rows - sum(len(t) for t, _ in flights.values()) < 10
    czml = {p["id"]: p for p in json.loads(build_czml(run).dumps())}
    kml = {
        pm_.get("id"): pm_.find(f".//{{{GX_NS}}}Track")
        for pm_ in build_kml(run).getroot().iter(f"{{{KML_NS}}}Placemark")
    }
    n_czml = n_kml = 0
    for eng, (launch, end) in events.items():
        position = czml[f"interceptor/{eng}"]["position"]
        assert position["epoch"].startswith("2025-01-01T00:00:00")
        got = np.array(position["cartographicDegrees"]).reshape(-1, 4)[:, [0, 2, 1, 3]]
        track = kml[f"interceptor-{eng}"]
        whens = [_kml_seconds(w.text) for w in track.findall(f"{{{KML_NS}}}when")]
        coords = [c.text.split() for c in track.findall(f"{{{GX_NS}}}coord")]
        lla = np.array(coords, dtype=float)[:, [1, 0, 2]]
        kml_got = np.column_stack([whens, lla])
        if eng in flights:  # every sample of the flight, in order
            t, flown = flights[eng]
            assert np.allclose(got, np.column_stack([t, flown]), rtol=0, atol=1e-9)
            assert np.allclose(kml_got, np.column_stack([t, flown]), rtol=0, atol=0.06)
            n_czml, n_kml = n_czml + len(got), n_kml + len(kml_got)
        else:
            assert len(got) == len(kml_got) == 2  # a laser (none on seed 5): unit to target
        for points, tol in ((got, 1e-9), (kml_got, 0.06)):  # launch and end events
            assert np.allclose(points[0], launch, rtol=0, atol=tol), eng
            assert np.allclose(points[-1], end, rtol=0, atol=tol), eng
    assert n_czml == n_kml == sum(len(t) for t, _ in flights.values())


def test_dis_interceptors_fly_the_recorded_paths_and_fire_units_stand(northern_run: Path) -> None:
    hb = 2.0
    run = load_run(northern_run)
    sched = dis.build_schedule(run, heartbeat_s=hb)
    flights = _flights(northern_run)
    states: dict[tuple[int, int], list[tuple[float, tuple]]] = defaultdict(list)
    for t, p in zip(sched.t_s.tolist(), sched.pdus, strict=True):
        if p[2] == dis.ENTITY_STATE:
            f = dis.ESPDU.unpack(p)
            states[f[9], f[10] - 1].append((t, f))
    assert {e for app_, e in states if app_ == dis.APP_INTERCEPTOR} == set(flights)  # no laser
    off_line = 0.0
    for eng, (t, lla) in flights.items():
        xyz = _ecef(lla)
        got = states[dis.APP_INTERCEPTOR, eng]
        assert [q for q, _ in got] == pytest.approx(np.arange(t[0], t[-1], hb).tolist())
        for q, f in got:  # where the flight was, interpolated, with its velocity
            assert np.allclose(f[LOCATION], [np.interp(q, t, xyz[:, c]) for c in range(3)],
                               rtol=0, atol=1e-3)  # fmt: skip
            j = min(int(np.searchsorted(t, q, side="right")) - 1, t.size - 2)
            vel = (xyz[j + 1] - xyz[j]) / (t[j + 1] - t[j])
            assert np.allclose(f[VELOCITY], vel, rtol=1e-5, atol=1e-2)
            assert f[11] == dis.FRIENDLY
        q, f = got[len(got) // 2]  # the straight line at constant speed is elsewhere
        line = xyz[0] + (q - t[0]) / (t[-1] - t[0]) * (xyz[-1] - xyz[0])
        off_line = max(off_line, float(np.linalg.norm(np.array(f[LOCATION]) - line)))
    assert off_line > 1000.0
    # each Fire PDU leaves with its flight's first leg, from the unit's entity
    units = run.scenario["fire_units"]
    fly = run.flyouts()
    fires = [dis.FIRE_PDU.unpack(p) for p in sched.pdus if p[2] == dis.FIRE]
    assert len(fires) == fly.engagement.size
    for f in fires:
        eng = f[16] - 1
        i = int(np.flatnonzero(fly.engagement == eng)[0])
        assert units[f[10] - 1]["name"] == fly.unit[i] and f[8:10] == (1, dis.APP_UNIT)
        if eng in flights:
            t, lla = flights[eng]
            xyz = _ecef(lla[:2])
            assert np.allclose(f[FIRE_VELOCITY], (xyz[1] - xyz[0]) / (t[1] - t[0]), rtol=1e-5)
    # fire units: an entity at its site at every heartbeat of the run
    ticks = np.arange(int(np.floor(run.duration_s / hb)) + 1) * hb
    for k, u in enumerate(units):
        got = states[dis.APP_UNIT, k]
        assert [q for q, _ in got] == pytest.approx(ticks.tolist())
        site = pm.geodetic2ecef(u["lat_deg"], u["lon_deg"], u["alt_m"])
        for _, f in got:
            assert np.allclose(f[LOCATION], site, rtol=0, atol=1e-3)
            assert f[VELOCITY] == (0.0, 0.0, 0.0) and f[11] == dis.FRIENDLY
            assert f[46].rstrip(b"\0").decode() == u["name"][:11]


def _axes(psi: float, theta: float, phi: float) -> np.ndarray:
    """Body axes (columns) in world coordinates: IEEE 1278.1's rotation sequence, psi about
    z, theta about the new y, phi about the new x (intrinsic z-y-x), by scipy."""
    return Rotation.from_euler("ZYX", [psi, theta, phi]).as_matrix()


def _up_north(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = np.radians(pm.ecef2geodetic(*xyz)[:2])
    up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
    return up, north


@TSHARK
def test_tshark_reads_orientations_along_the_velocity_and_the_fire_units(
    northern_run: Path, tmp_path: Path
) -> None:
    """Orientation decoded by Wireshark: the body x axis is along the decoded velocity, the
    wings level (y horizontal), upright (z below the horizon); fire units face north."""
    run = load_run(northern_run)
    units = run.scenario["fire_units"]
    sched = dis.build_schedule(run, heartbeat_s=10.0)
    es = [p for p in sched.pdus if p[2] == dis.ENTITY_STATE]
    by_app = {a: [p for p in es if dis.ESPDU.unpack(p)[9] == a] for a in (1, 2, 3)}
    pick = by_app[1][:: len(by_app[1]) // 15][:15] + by_app[2][:: len(by_app[2]) // 15][:15]
    pick += by_app[3][: len(units)]  # every fire unit at t = 0
    fields = [
        "dis.entity_id_application",
        "dis.entity_id_entity",
        "dis.force_id",
        *[f"dis.entity_linear_velocity.{c}" for c in "xyz"],
        *[f"dis.entity_location.{c}" for c in "xyz"],
        *[f"dis.entity_orientation.{a}" for a in ("psi", "theta", "phi")],
        "_ws.malformed",
    ]
    seen_units = set()
    for cols in _tshark(pick, tmp_path, fields):
        assert cols[-1] == ""  # not malformed
        app_, ent, force = (int(c.split(",")[0]) for c in cols[:3])
        vel, xyz, euler = (np.array([float(c) for c in cols[k : k + 3]]) for k in (3, 6, 9))
        axes = _axes(*euler)
        up, north = _up_north(xyz)
        assert abs(axes[:, 1] @ up) < 1e-5 and axes[:, 2] @ up < 0
        if app_ == dis.APP_UNIT:
            u = units[ent - 1]
            assert np.allclose(xyz, pm.geodetic2ecef(u["lat_deg"], u["lon_deg"], u["alt_m"]),
                               rtol=0, atol=1e-3)  # fmt: skip
            assert force == dis.FRIENDLY and not vel.any() and axes[:, 0] @ north > 1 - 1e-9
            seen_units.add(ent)
        else:
            assert force == (dis.OPPOSING if app_ == dis.APP_THREAT else dis.FRIENDLY)
            assert np.linalg.norm(vel) > 1.0
            assert axes[:, 0] @ vel / np.linalg.norm(vel) > 1 - 1e-9
    assert seen_units == set(range(1, len(units) + 1))


@pytest.fixture
def old_run(tmp_path: Path, northern_run: Path) -> Path:
    """northern_run as iamd wrote it before interceptors were flown: no interceptors.parquet,
    no event details."""
    old = tmp_path / "old"
    shutil.copytree(northern_run, old)
    (old / "interceptors.parquet").unlink()
    pq.write_table(pq.read_table(old / "events.parquet").drop_columns(["detail"]),
                   old / "events.parquet")  # fmt: skip
    return old


def test_an_older_run_directory_exports_straight_flyouts(old_run: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    events = launch_and_end(old_run)
    run = load_run(old_run)
    assert run.interceptors is None
    for fmt in ("czml", "kml"):
        out = tmp_path / f"run.{fmt}"
        res = CliRunner().invoke(app, ["export", fmt, str(old_run), "--out", str(out)])
        assert res.exit_code == 0, res.output
    czml = {p["id"]: p for p in json.loads((tmp_path / "run.czml").read_text())}
    tracks = {
        pm_.get("id"): pm_.find(f".//{{{GX_NS}}}Track")
        for pm_ in ET.parse(tmp_path / "run.kml").getroot().iter(f"{{{KML_NS}}}Placemark")
    }
    for eng, (launch, end) in events.items():
        got = np.array(czml[f"interceptor/{eng}"]["position"]["cartographicDegrees"])
        assert np.allclose(got.reshape(-1, 4)[:, [0, 2, 1, 3]], [launch, end], rtol=0, atol=1e-9)
        assert len(tracks[f"interceptor-{eng}"].findall(f"{{{GX_NS}}}coord")) == 2
    # DIS: interceptors on the straight line at constant speed, fire units at their sites
    sched = dis.build_schedule(run, heartbeat_s=5.0)
    inter = [dis.ESPDU.unpack(p) for p in sched.pdus if p[2] == dis.ENTITY_STATE]
    t_es = [t for t, p in zip(sched.t_s.tolist(), sched.pdus, strict=True) if p[2] == 1]
    n = 0
    for q, f in zip(t_es, inter, strict=True):
        if f[9] != dis.APP_INTERCEPTOR:
            continue
        launch, end = events[f[10] - 1]
        a, b = _ecef(launch[None, 1:])[0], _ecef(end[None, 1:])[0]
        w = (q - launch[0]) / (end[0] - launch[0])
        assert np.allclose(f[LOCATION], a + w * (b - a), rtol=0, atol=1e-3)
        assert np.allclose(f[VELOCITY], (b - a) / (end[0] - launch[0]), rtol=1e-5, atol=1e-3)
        n += 1
    assert n > 50
    assert {f[10] for f in inter if f[9] == dis.APP_UNIT} == set(
        range(1, len(run.scenario["fire_units"]) + 1)
    )


def test_dis_unit_numbers_are_the_engine_s() -> None:
    """Fire units then patrol aircraft, numbered as the engine's world numbers its units
    (regional-raid has both), so a Fire PDU names the entity that shot."""
    from iamd.physics.truth import fly
    from iamd.scenario.load import load_scenario
    from iamd.sim.world import build_world

    sc = load_scenario("regional-raid")
    world = build_world(sc, fly(sc, np.random.default_rng(0)))
    assert sc.spec.air_patrols and sc.spec.fire_units
    expect = {u.name: k for k, u in enumerate(world.units)}
    assert dis.unit_numbers(sc.spec.model_dump(mode="json")) == expect

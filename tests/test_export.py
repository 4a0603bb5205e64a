"""Exports of a run directory: CZML (czml3's models), KML (parsed back), DIS (tshark)."""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from czml3 import Document

from iamd.cli import app
from iamd.export import dis
from iamd.export.kml import GX_NS, KML_NS
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
        assert len(tr.findall(f"{{{KML_NS}}}when")) == len(tr.findall(f"{{{GX_NS}}}coord")) == 2


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


@pytest.mark.skipif(
    shutil.which("tshark") is None, reason="tshark not installed (.ci/run installs it)"
)
def test_tshark_decodes_what_we_sent(northern_run: Path, tmp_path: Path) -> None:
    """Wireshark's DIS dissector, capturing on loopback, reads our entity IDs, positions, types."""
    sched = dis.build_schedule(load_run(northern_run), heartbeat_s=60.0)
    pick = (
        [p for p in sched.pdus if p[2] == dis.ENTITY_STATE][:20]
        + [p for p in sched.pdus if p[2] == dis.FIRE][:5]
        + [p for p in sched.pdus if p[2] == dis.DETONATION][:5]
    )
    small = dis.Schedule(np.zeros(len(pick)), pick)
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
        assert dis.send(small, ("127.0.0.1", port), rate=0) == len(pick)
        time.sleep(1.0)
    finally:
        cap.terminate()
        cap.wait(timeout=20)
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
    out = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-d",
            f"udp.port=={port},dis",
            "-T",
            "fields",
            "-E",
            "separator=|",
            *[a for f in fields for a in ("-e", f)],
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(out) == len(pick)
    for line, pdu in zip(out, pick, strict=True):
        cols = line.split("|")
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

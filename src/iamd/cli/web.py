"""Seeing the fight: ``iamd serve`` and ``iamd export czml|kml|dis``."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from iamd.cli.app import app, err, fail, say
from iamd.errors import IamdError

export_app = typer.Typer(
    help="Export a run directory: CZML (CesiumJS), KML (Google Earth), DIS (UDP).",
    no_args_is_help=True,
)
app.add_typer(export_app, name="export")

RunDirArg = Annotated[Path, typer.Argument(help="a run directory (iamd run SCENARIO --out DIR)")]
EpochOpt = Annotated[
    str,
    typer.Option(help="calendar time of simulation time 0 (ISO 8601, UTC if no zone)"),
]


EPOCH_YEARS = (1900, 2999)
"""Calendar years an export's ``--epoch`` may fall in (with the run after it)."""
MIN_HEARTBEAT_S = 0.1
"""Shortest Entity State period of ``export dis``, s."""
MAX_PDUS = 5_000_000
"""Most PDUs ``export dis`` builds for one run (a few hundred MB of datagrams)."""


def _epoch(text: str, duration_s: float = 0.0) -> dt.datetime:
    """``--epoch`` as an aware datetime whose run (``duration_s`` after it) fits the calendar."""
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise IamdError(
            f"--epoch {text!r}: not an ISO 8601 time, e.g. 2025-01-01T00:00:00Z"
        ) from None
    t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    lo, hi = EPOCH_YEARS
    try:
        end = t + dt.timedelta(seconds=duration_s)
    except OverflowError:
        end = dt.datetime.max.replace(tzinfo=dt.UTC)
    if not (lo <= t.year and end.year <= hi):
        raise IamdError(f"--epoch {text!r}: the run must fall within the years {lo}-{hi}")
    return t


def _export_file(run_dir: Path, out_file: Path | None, epoch: str, fmt: str, noun: str) -> None:
    """Write ``RUN_DIR`` as ``fmt`` (czml or kml) to ``out_file`` (default RUN_DIR/run.FMT)."""
    from iamd.export.czml import write_czml
    from iamd.export.kml import write_kml
    from iamd.export.rundir import load_run

    write = {"czml": write_czml, "kml": write_kml}[fmt]
    path = out_file if out_file is not None else run_dir / f"run.{fmt}"
    try:
        run = load_run(run_dir)
        n = write(run, path, _epoch(epoch, run.duration_s))
    except IamdError as exc:
        raise fail(exc) from None
    except OSError as exc:
        raise fail(IamdError(f"cannot write {path}: {exc.strerror or exc}")) from None
    say(f"wrote {path} ({n} {noun})")


@export_app.command(
    "czml", epilog="Example: iamd export czml runs/demo  (writes runs/demo/run.czml)"
)
def export_czml(
    run_dir: RunDirArg,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="default: RUN_DIR/run.czml")
    ] = None,
    epoch: EpochOpt = "2025-01-01T00:00:00Z",
) -> None:
    """A CesiumJS document: threats and interceptors moving, events as points."""
    _export_file(run_dir, out_file, epoch, "czml", "packets")


@export_app.command("kml", epilog="Example: iamd export kml runs/demo  (writes runs/demo/run.kml)")
def export_kml(
    run_dir: RunDirArg,
    out_file: Annotated[Path | None, typer.Option("--out", help="default: RUN_DIR/run.kml")] = None,
    epoch: EpochOpt = "2025-01-01T00:00:00Z",
) -> None:
    """Google Earth: threats and interceptors as time-tagged gx:Tracks."""
    _export_file(run_dir, out_file, epoch, "kml", "tracks")


@export_app.command(
    "dis", epilog="Example: iamd export dis runs/demo --to 127.0.0.1:3000 --rate 60"
)
def export_dis(
    run_dir: RunDirArg,
    to: Annotated[str, typer.Option("--to", help="HOST:PORT to send UDP datagrams to")],
    rate: Annotated[
        float, typer.Option(help="times real time (60: a minute per second); 0: no pacing")
    ] = 1.0,
    heartbeat_s: Annotated[float, typer.Option(help="Entity State period, simulation s")] = 5.0,
    start_s: Annotated[float, typer.Option(help="start at this simulation time, s")] = 0.0,
    stop_s: Annotated[float, typer.Option(help="stop at this simulation time, s")] = float("inf"),
) -> None:
    """IEEE 1278.1 Entity State, Fire and Detonation PDUs over UDP at RATE x real time."""
    from iamd.export.dis import build_schedule, parse_address, send
    from iamd.export.rundir import load_run

    try:
        _check_dis_options(rate, heartbeat_s, start_s, stop_s)
        address = parse_address(to)
        run = load_run(run_dir)
        expected = _expected_pdus(run, heartbeat_s)
        if expected > MAX_PDUS:
            raise IamdError(
                f"--heartbeat-s {heartbeat_s:g} would make about {expected:,.0f} PDUs "
                f"(at most {MAX_PDUS:,}); choose a longer heartbeat"
            )
        schedule = build_schedule(run, heartbeat_s)
        counts = schedule.counts()
        lo, hi = schedule.window(start_s, stop_s)
        say(
            f"{len(schedule.pdus)} PDUs in the run ({counts['entity_state']} entity state, "
            f"{counts['fire']} fire, {counts['detonation']} detonation); sending {hi - lo} "
            f"to {to} at {'full speed' if rate == 0 else f'{rate:g}x real time'}",
            err,
        )
        with Progress(
            TextColumn("sending"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("PDUs"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("dis", total=hi - lo)
            n = send(
                schedule, address, rate, start_s, stop_s, lambda k: bar.update(task, completed=k)
            )
    except IamdError as exc:
        raise fail(exc) from None
    say(f"sent {n} PDUs to {to}")


def _check_dis_options(rate: float, heartbeat_s: float, start_s: float, stop_s: float) -> None:
    """Refuse DIS options that would send nothing or never end."""
    if not (math.isfinite(rate) and rate >= 0):
        raise IamdError(f"--rate {rate:g}: give 0 (as fast as possible) or a positive factor")
    if not (math.isfinite(heartbeat_s) and MIN_HEARTBEAT_S <= heartbeat_s <= 3600):
        raise IamdError(
            f"--heartbeat-s {heartbeat_s:g}: give {MIN_HEARTBEAT_S:g} to 3600 simulation seconds"
        )
    if not math.isfinite(start_s) or math.isnan(stop_s):
        raise IamdError("--start-s and --stop-s must be numbers (--stop-s may be inf)")
    if not start_s < stop_s:
        raise IamdError(f"--start-s {start_s:g} is not before --stop-s {stop_s:g}: nothing to send")


def _expected_pdus(run: Any, heartbeat_s: float) -> float:
    """Entity State PDUs of the threats at ``heartbeat_s`` (the bulk of a schedule)."""
    ids, offset, t_s, _ = run.threat_paths()
    if ids.size == 0:
        return 0.0
    return float(((t_s[offset[1:] - 1] - t_s[offset[:-1]]) / heartbeat_s + 1).sum())


@app.command(epilog="Example: iamd serve --runs runs  (then open http://127.0.0.1:8000)")
def serve(
    host: Annotated[
        str, typer.Option(help="address to bind (keep 127.0.0.1 unless you mean it)")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    runs: Annotated[
        Path, typer.Option(help="existing directory of run and Monte Carlo directories to serve")
    ] = Path("runs"),
    max_runs: Annotated[int, typer.Option(help="concurrent runs started from the browser")] = 2,
    max_upload_kb: Annotated[int, typer.Option(help="largest scenario upload, KiB")] = 256,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            help="another host name the server answers to, e.g. behind a proxy (repeatable); "
            "besides the bound host, localhost, 127.0.0.1 and [::1]"
        ),
    ] = None,
    run_timeout_s: Annotated[
        float, typer.Option(help="wall time limit of a run started from the browser, s")
    ] = 600.0,
    run_memory_mb: Annotated[
        int,
        typer.Option(help="memory (address space) limit of a run started from the browser, MiB"),
    ] = 4096,
) -> None:
    """The browser interface: theatre map, replay, live runs, Monte Carlo plots."""
    from iamd.web.app import Settings, create_app
    from iamd.web.rundirs import RunsRoot
    from iamd.web.server import bind, uvicorn_config

    try:
        RunsRoot.open(runs)
        sock = bind(host, port)
    except IamdError as exc:
        raise fail(exc) from None
    bound_port = int(sock.getsockname()[1])
    try:
        settings = Settings(
            runs_dir=runs,
            max_runs=max_runs,
            max_upload_bytes=max_upload_kb * 1024,
            host=host,
            port=bound_port,
            allow_hosts=tuple(allow_host or ()),
            run_timeout_s=run_timeout_s,
            run_memory_mb=run_memory_mb,
        )
        application = create_app(settings)
    except IamdError as exc:
        sock.close()
        raise fail(exc) from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            f"[yellow]warning:[/] serving on {host}: anyone who reaches it can start runs; "
            "clients must use one of the host names it answers to (--allow-host NAME)",
            soft_wrap=True,
        )
    shown = f"[{host}]" if ":" in host else host
    say(f"iamd serve: http://{shown}:{bound_port}  (runs under {runs}; Ctrl-C stops)")
    import uvicorn

    uvicorn.Server(uvicorn_config(application)).run(sockets=[sock])

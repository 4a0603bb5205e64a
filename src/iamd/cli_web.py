"""Seeing the fight: ``iamd serve`` and ``iamd export czml|kml|dis``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from iamd.cli import _fail, app, err, out
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


def _epoch(text: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise IamdError(
            f"--epoch {text!r}: not an ISO 8601 time, e.g. 2025-01-01T00:00:00Z"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _export_file(run_dir: Path, out_file: Path | None, epoch: str, fmt: str, noun: str) -> None:
    """Write ``RUN_DIR`` as ``fmt`` (czml or kml) to ``out_file`` (default RUN_DIR/run.FMT)."""
    from iamd.export.czml import write_czml
    from iamd.export.kml import write_kml
    from iamd.export.rundir import load_run

    write = {"czml": write_czml, "kml": write_kml}[fmt]
    path = out_file if out_file is not None else run_dir / f"run.{fmt}"
    try:
        n = write(load_run(run_dir), path, _epoch(epoch))
    except IamdError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _fail(IamdError(f"cannot write {path}: {exc.strerror or exc}")) from None
    out.print(f"wrote {path} ({n} {noun})")


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
        address = parse_address(to)
        schedule = build_schedule(load_run(run_dir), heartbeat_s)
        counts = schedule.counts()
        lo, hi = schedule.window(start_s, stop_s)
        err.print(
            f"{len(schedule.pdus)} PDUs in the run ({counts['entity_state']} entity state, "
            f"{counts['fire']} fire, {counts['detonation']} detonation); sending {hi - lo} "
            f"to {to} at {'full speed' if rate == 0 else f'{rate:g}x real time'}"
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
        raise _fail(exc) from None
    out.print(f"sent {n} PDUs to {to}")


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
        raise _fail(exc) from None
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
        raise _fail(exc) from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            f"[yellow]warning:[/] serving on {host}: anyone who reaches it can start runs; "
            "clients must use one of the host names it answers to (--allow-host NAME)"
        )
    shown = f"[{host}]" if ":" in host else host
    out.print(f"iamd serve: http://{shown}:{bound_port}  (runs under {runs}; Ctrl-C stops)")
    import uvicorn

    uvicorn.Server(uvicorn_config(application)).run(sockets=[sock])

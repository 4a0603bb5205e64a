"""``iamd bench``: speed and accuracy against open reference implementations."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from iamd.cli.app import app, err, out, table

bench_app = typer.Typer(
    help="Speed and accuracy benchmarks of iamd against open reference implementations.",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")


@bench_app.command(
    "tracking",
    epilog="Example: iamd bench tracking --targets 1000 --scans 20 --clutter 100 --seed 1 --json",
)
def bench_tracking(
    targets: Annotated[int, typer.Option(min=1, help="number of targets")] = 1000,
    scans: Annotated[int, typer.Option(min=1, help="number of scans, one a second")] = 20,
    clutter: Annotated[float, typer.Option(min=0.0, help="mean false alarms per scan")] = 100.0,
    seed: Annotated[int, typer.Option(help="random seed of the scenario")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    no_stonesoup: Annotated[
        bool, typer.Option("--no-stonesoup", help="run iamd only (Stone Soup not needed)")
    ] = False,
) -> None:
    """Track the same detections with iamd and with Stone Soup's KD-tree GNN; compare.

    Targets fly at constant velocity (with small random accelerations) in a
    300 x 300 x 30 km box; Pd 0.9, 50 m position noise, Poisson clutter. OSPA is
    position OSPA with c = 1000 m and p = 1, averaged over scans 5 on.
    """
    from iamd.tracking.bench import bench

    if not no_stonesoup:
        try:
            import stonesoup  # noqa: F401
        except ImportError:
            sys.stderr.write(
                "error: Stone Soup is not installed; install it with "
                "'pip install iamd[bench]' (or 'pip install stonesoup'), "
                "or pass --no-stonesoup\n"
            )
            raise typer.Exit(code=2) from None
    with err.status("tracking...") as status:
        row = bench(
            targets,
            scans,
            clutter,
            seed,
            stonesoup=not no_stonesoup,
            progress=lambda who: status.update(f"tracking with {who}..."),
        )
    if as_json:
        sys.stdout.write(json.dumps(row) + "\n")
        return
    rows = [[k, "-" if v is None else str(v)] for k, v in row.items()]
    out.print(table("tracking benchmark", ["figure", "value"], rows))

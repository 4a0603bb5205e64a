"""``iamd wta``: static weapon-target assignment, one instance or the APT set."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from iamd.cli.app import app, err, fail, out, table
from iamd.errors import IamdError

wta_app = typer.Typer(
    help="Static weapon-target assignment: solve an instance, or run the APT benchmark set.",
    no_args_is_help=True,
)
app.add_typer(wta_app, name="wta")
WTA_METHODS = ("greedy", "local", "exact", "auto")


def _method(value: str) -> str:
    if value not in WTA_METHODS:
        raise typer.BadParameter(f"choose one of {', '.join(WTA_METHODS)}")
    return value


@wta_app.command(
    "solve",
    epilog="Example: iamd wta solve benchmarks/data/wta/wta_50x100.txt --mu 2 --method exact "
    "--json",
)
def wta_solve(
    file: Annotated[Path, typer.Argument(help="instance: 'W T mu', T values, 'i j p' lines")],
    mu: Annotated[
        int | None, typer.Option(min=1, help="shots per weapon (default: the file's)")
    ] = None,
    method: Annotated[
        str, typer.Option(callback=_method, help="greedy | local | exact | auto")
    ] = "auto",
    time_limit: Annotated[float, typer.Option(min=0.001, help="wall-clock limit, s")] = 600.0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    shots: Annotated[Path | None, typer.Option(help="write the shots (W x T) as CSV here")] = None,
) -> None:
    """Minimise the expected surviving value sum_j v_j prod_i (1 - p_ij)^x_ij.

    The objective is recomputed by an independent float64 evaluator; lower_bound and gap
    are proven (exact and auto; greedy and local report a simple bound).
    """
    import numpy as np

    from iamd.c2.wta.instance import load
    from iamd.c2.wta.solve import solve

    try:
        inst = load(file, mu)
    except IamdError as exc:
        raise fail(exc) from None
    with err.status(f"solving {inst.weapons} x {inst.targets}, mu = {inst.mu} ({method})..."):
        sol = solve(inst, method, time_limit)
    try:
        if shots is not None:
            np.savetxt(shots, sol.x, fmt="%d", delimiter=",")
    except OSError as exc:
        raise fail(IamdError(f"cannot write {shots}: {exc.strerror or exc}")) from None
    if as_json:
        sys.stdout.write(json.dumps(sol.as_dict()) + "\n")
        return
    rows = [[k, f"{v:.6f}" if isinstance(v, float) else str(v)] for k, v in sol.as_dict().items()]
    out.print(table(f"{file.name}, mu = {inst.mu}", ["figure", "value"], rows))


@wta_app.command(
    "bench", epilog="Example: iamd wta bench --method exact --mu 1 --sizes 50x100,100x200"
)
def wta_bench(
    method: Annotated[
        str, typer.Option(callback=_method, help="greedy | local | exact | auto")
    ] = "auto",
    time_limit: Annotated[float, typer.Option(min=0.001, help="limit per instance, s")] = 600.0,
    mu: Annotated[str, typer.Option(help="comma-separated mu values to run")] = "1,2,3",
    sizes: Annotated[str, typer.Option(help="comma-separated sizes, e.g. 50x100 (all)")] = "",
    data: Annotated[
        Path | None, typer.Option(help="folder with the APT files and best_known.csv")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object per line")] = False,
) -> None:
    """Run the APT benchmark set (Andersen, Pavlikov and Toffolo 2022) against best_known.csv."""
    from iamd.c2.wta import bench

    folder = data or bench.DATA_DIR
    if not (folder / "best_known.csv").is_file():
        sys.stderr.write(
            f"error: no best_known.csv in {folder}; pass --data with the folder that holds "
            "the APT files (benchmarks/data/wta in the iamd repository)\n"
        )
        raise typer.Exit(code=2)
    try:
        mus = {int(m) for m in mu.split(",") if m.strip()}
    except ValueError:
        raise typer.BadParameter(f"--mu {mu!r} is not a comma-separated list of integers") from None
    chosen = {s.strip() for s in sizes.split(",") if s.strip()} or None
    rows: list[list[str]] = []
    try:
        with err.status("...") as status:
            for row in bench.run(
                folder,
                method,
                time_limit,
                mus,
                chosen,
                before=lambda bk: status.update(
                    f"{method}: {bk.weapons} x {bk.targets}, mu = {bk.mu}..."
                ),
            ):
                if as_json:
                    sys.stdout.write(json.dumps(row) + "\n")
                    sys.stdout.flush()
                rows.append(
                    [
                        str(row["instance"]),
                        str(row["mu"]),
                        f"{row['objective']:.6f}",
                        f"{row['best_known']:.6f}",
                        f"{100 * float(row['vs_best_known']):+.3f}%",  # type: ignore[arg-type]
                        f"{row['lower_bound']:.6f}",
                        f"{float(row['gap']):.1e}",  # type: ignore[arg-type]
                        "yes" if row["proven_optimal"] else "no",
                        f"{row['time_s']:.2f}",
                    ]
                )
    except IamdError as exc:
        raise fail(exc) from None
    if not as_json:
        headers = ["W x T", "mu", "objective", "best known", "vs best", "lower bound", "gap"]
        out.print(table(f"APT set, method {method}", [*headers, "proven", "time (s)"], rows))

"""The ``iamd`` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from iamd import __version__
from iamd.errors import IamdError, Problem, ScenarioError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# tables stay whole when piped (a terminal's own width is used when there is one)
out = Console(width=None if sys.stdout.isatty() else 100)
err = Console(stderr=True)


def say(text: str, console: Console = out) -> None:
    """Print a line of plain text: never wrapped (paths stay whole), never read as markup."""
    console.print(text, soft_wrap=True, markup=False, highlight=False)


def _fail(exc: IamdError) -> typer.Exit:
    # plain writes: one problem per line, never wrapped, so editors and CI can parse them
    if isinstance(exc, ScenarioError):
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        errors = sum(not p.warning for p in exc.problems)
        warned = len(exc.problems) - errors
        sys.stderr.write(
            f"{errors} problem(s) found" + (f", {warned} warning(s)" if warned else "") + "\n"
        )
    else:
        sys.stderr.write(f"error: {exc}\n")
    return typer.Exit(code=2)


def warn(problems: Sequence[Problem]) -> None:
    """Print a scenario's warnings (``file:line:col: warning: ...``) on stderr."""
    for problem in problems:
        sys.stderr.write(f"{problem}\n")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"iamd {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print iamd's version and exit"
        ),
    ] = False,
) -> None:
    """iamd: integrated air and missile defense simulator.

    Start with 'iamd demo', or 'iamd run SCENARIO'; 'iamd COMMAND --help' tells more.
    """


@app.command(epilog="Example: iamd validate my-theatre.yaml  (exit 0 when valid, 2 otherwise)")
def validate(
    scenario: Annotated[str, typer.Argument(help="scenario file, or the name of a bundled one")],
) -> None:
    """Check a scenario; print every problem as FILE:LINE:COL: message (exit 2 if any)."""
    from iamd.scenario.load import load_scenario

    try:
        s = load_scenario(scenario)
    except IamdError as exc:
        raise _fail(exc) from None
    warn(s.warnings)
    spec = s.spec
    n = sum(x.count for x in spec.raid)
    warned = f"; {len(s.warnings)} warning(s)" if s.warnings else ""
    say(
        f"{scenario}: valid ({len(spec.owners)} owners, {len(spec.assets)} assets, "
        f"{len(spec.sensors)} sensors, {len(spec.fire_units)} fire units, {n} threats){warned}"
    )


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editor completion)."""
    from iamd.scenario.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def scenarios() -> None:
    """List the bundled scenarios."""
    from iamd.scenario.load import bundled_scenarios

    table = Table(title="bundled scenarios", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("description")
    for name, desc in bundled_scenarios().items():
        table.add_row(name, desc)
    out.print(table)


@app.command(
    epilog="Examples: iamd run regional-raid --seed 3 --out runs/rr3 | "
    "iamd run my-theatre.yaml --no-map -q"
)
def run(
    scenario: Annotated[str, typer.Argument(help="scenario file, or the name of a bundled one")],
    seed: Annotated[int | None, typer.Option(help="random seed (default: the scenario's)")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="run directory (default: runs/NAME-SEED)")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="PATH=VALUE change, e.g. doctrine.salvo=2 (repeatable)"),
    ] = None,
    without: Annotated[
        list[str] | None, typer.Option(help="remove an owner's sensors, units and shared tracks")
    ] = None,
    no_map: Annotated[bool, typer.Option("--no-map", help="skip drawing map.png")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Simulate one replication of a scenario and write its run directory.

    The run directory's scenario.yaml is the scenario as run (changes applied, seed and
    catalog figures included): 'iamd run DIR/scenario.yaml' repeats the run exactly.
    """
    _run(scenario, seed, out_dir, no_map, quiet, set_ or [], without or [])


@app.command()
def demo(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Run the bundled 'regional-raid' scenario into runs/demo."""
    _run("regional-raid", None, Path("runs/demo"), False, quiet)


def check_seed(seed: int | None) -> None:
    """Refuse a ``--seed`` outside 0 .. 2**63 - 1 (it is stored as a signed 64-bit integer)."""
    from iamd.scenario.schema import MAX_SEED

    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise _fail(IamdError(f"--seed must be an integer from 0 to {MAX_SEED}, got {seed}"))


def _run(
    scenario: str,
    seed: int | None,
    out_dir: Path | None,
    no_map: bool,
    quiet: bool,
    sets: list[str] | None = None,
    without: list[str] | None = None,
) -> None:
    from iamd.scenario.load import load_scenario_changed
    from iamd.sim.run import simulate, write_run_dir

    check_seed(seed)
    try:
        s, _ = load_scenario_changed(scenario, sets, without)
    except IamdError as exc:
        raise _fail(exc) from None
    warn(s.warnings)
    seed_used = s.spec.seed if seed is None else seed
    target = out_dir or Path("runs") / f"{s.name}-{seed_used}"
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} / {task.total:,.0f} simulated s"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=False,
    ) as bar:
        task = bar.add_task(s.name, total=s.spec.duration_s)
        result = simulate(s, seed_used, progress=lambda t: bar.update(task, completed=t))
    try:
        write_run_dir(result, target, with_map=not no_map)
    except IamdError as exc:
        raise _fail(exc) from None
    print_summary(result.summary)
    rtf = result.summary["sim_duration_s"] / max(result.summary["wall_time_s"], 1e-9)
    say(
        f"run directory: {target}  (simulated {result.summary['sim_duration_s'] / 3600:.1f} h "
        f"in {result.summary['wall_time_s']:.1f} s, {rtf:,.0f}x real time)"
    )


def _table(title: str, headers: list[str], rows: list[list[str]], bold_last: bool = False) -> Table:
    """A compact table: first column bold and left-aligned, the others right-aligned."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(headers[0], style="bold", no_wrap=True)
    for header in headers[1:]:
        table.add_column(header, justify="right", min_width=len(header))
    for k, row in enumerate(rows):
        table.add_row(*row, style="bold" if bold_last and k == len(rows) - 1 else None)
    return table


def print_summary(summary: dict[str, Any]) -> None:
    """Readable tables of a run's summary."""
    threats = summary["threats"]
    cols = {
        "launched": "launched",
        "failed": "failed",
        "intercepted": "killed",
        "impacted_asset": "on asset",
        "impacted_open": "open",
        "airborne_at_end": "airborne",
        "engaged": "engaged",
    }
    rows = [[name, *(str(rec[c]) for c in cols)] for name, rec in threats["by_class"].items()]
    rows.append(["all", *(str(threats[c]) for c in cols)])
    title = f"{summary['scenario']}, seed {summary['seed']}: threat fates"
    out.print(_table(title, ["class", *cols.values()], rows, bold_last=True))

    inter = summary["interceptors"]
    rows = [
        [name, str(r["fired"]), str(r["kills"]), f"{r['cost_usd']:,.0f}"]
        for name, r in inter.items()
    ]
    rows.append(
        [
            "all",
            str(sum(r["fired"] for r in inter.values())),
            str(sum(r["kills"] for r in inter.values())),
            f"{summary['cost_usd']['interceptors']:,.0f}",
        ]
    )
    out.print(_table("interceptors", ["type", "fired", "kills", "cost (USD)"], rows, True))
    rows = [[name, str(r["fired"]), str(r["kills"])] for name, r in summary["by_owner"].items()]
    out.print(_table("partners", ["owner", "fired", "kills"], rows))
    rows = [
        [name, str(r["hits"]), f"{r['value_lost']:.1f}"] for name, r in summary["assets"].items()
    ]
    out.print(_table("defended assets", ["asset", "hits", "value lost"], rows))
    tk = summary["tracking"]

    def quality_row(name: str, q: dict[str, Any]) -> list[str]:
        return [
            name,
            f"{q['ospa_m_mean']:.0f}",
            f"{q['gospa_mean']:,.0f}",
            f"{100 * q['completeness']:.0f}%",
            str(q["spurious_tracks"]),
            str(q["id_changes"]),
        ]

    rows = [quality_row(name, q) for name, q in tk["by_owner"].items()]
    rows.append(quality_row("all", tk))
    out.print(
        _table(
            f"track pictures ({tk['mode']} tracking)",
            ["owner", "OSPA (m)", "GOSPA", "complete", "spurious", "ID changes"],
            rows,
            bold_last=True,
        )
    )


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
    out.print(_table("tracking benchmark", ["figure", "value"], rows))


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
    are proven (exact only; other methods report lower_bound 0).
    """
    import numpy as np

    from iamd.c2.wta.instance import load
    from iamd.c2.wta.solve import solve

    try:
        inst = load(file, mu)
    except IamdError as exc:
        raise _fail(exc) from None
    with err.status(f"solving {inst.weapons} x {inst.targets}, mu = {inst.mu} ({method})..."):
        sol = solve(inst, method, time_limit)
    try:
        if shots is not None:
            np.savetxt(shots, sol.x, fmt="%d", delimiter=",")
    except OSError as exc:
        raise _fail(IamdError(f"cannot write {shots}: {exc.strerror or exc}")) from None
    if as_json:
        sys.stdout.write(json.dumps(sol.as_dict()) + "\n")
        return
    rows = [[k, f"{v:.6f}" if isinstance(v, float) else str(v)] for k, v in sol.as_dict().items()]
    out.print(_table(f"{file.name}, mu = {inst.mu}", ["figure", "value"], rows))


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
        raise _fail(exc) from None
    if not as_json:
        headers = ["W x T", "mu", "objective", "best known", "vs best", "lower bound", "gap"]
        out.print(_table(f"APT set, method {method}", [*headers, "proven", "time (s)"], rows))


from iamd import (  # noqa: E402  (after app is defined: they register on it)
    cli_mc,  # noqa: F401  (registers mc, query, compare, sweep, report)
    cli_web,  # noqa: F401  (registers serve and export)
)


def main() -> None:
    """Console-script entry point: user errors exit 2 with a message, never a traceback."""
    try:
        app()
    except IamdError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

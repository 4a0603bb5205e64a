"""Monte Carlo commands of the ``iamd`` command line: mc, query, compare, sweep, report."""

from __future__ import annotations

import csv
import itertools
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from iamd.analysis.montecarlo import KEY_METRICS
from iamd.cli.app import app, err, fail, out, say, table
from iamd.errors import IamdError
from iamd.scenario.schema import MAX_SEED
from iamd.sim.layout import holds_other, is_sweep


class RateColumn(ProgressColumn):
    """Runs per second of this job so far: runs it ran (not those already stored) over the
    time since it started (rich's own estimate follows the last few updates, and batches
    complete in bursts)."""

    def render(self, task: Task) -> Text:
        ran = task.completed - (task.fields.get("stored_before") or 0)
        elapsed = task.elapsed or 0.0
        text = f"{ran / elapsed:.2f} runs/s" if elapsed > 0 and ran > 0 else ""
        return Text(text, style="progress.data.speed")


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
    )


def _summarytable(title: str, metrics: dict[str, dict[str, Any]]) -> Any:
    from iamd.analysis.display import fmt, fmt_interval, scale_of
    from iamd.analysis.metrics import clip_interval

    rows = []
    for key, label in KEY_METRICS:
        m = metrics.get(key)
        if not m or not m.get("n"):
            continue
        lo, hi = clip_interval(key, m.get("ci95_low"), m.get("ci95_high"))
        values = [m["mean"], lo, hi, m["p5"], m["p50"], m["p95"]]
        scale = scale_of(values)
        mean, _, _, p5, p50, p95 = (fmt(v, scale) for v in values)
        rows.append([label, mean, fmt_interval(lo, hi, scale), p5, p50, p95])
    return table(title, ["metric", "mean", "95 % CI of mean", "p5", "p50", "p95"], rows)


def _parse_until(text: str | None) -> tuple[str, float] | None:
    if text is None:
        return None
    name, sep, value = text.partition("=")
    try:
        width = float(value)
    except ValueError:
        width = -1.0
    if not sep or not name.strip() or not width > 0:
        raise typer.BadParameter(
            f"{text!r}: expected METRIC=HALFWIDTH, e.g. threats.impacted_asset=0.5"
        )
    return name.strip(), width


def _job(scenario: str, seed: int | None, sets: list[str], without: list[str]) -> Any:
    from iamd.analysis.job import Job
    from iamd.scenario.load import load_scenario_changed
    from iamd.scenario.schema import check_seed

    s, doc = load_scenario_changed(scenario, sets, without)
    root_seed = s.spec.seed if seed is None else seed
    check_seed(root_seed)
    return Job(scenario=s, document=doc, seed=root_seed, sets=tuple(sets), without=tuple(without))


def _run_job(
    job: Any,
    out_dir: Path,
    runs: int,
    options: dict[str, Any],
    quiet: bool,
    label: str,
) -> Any:
    """``run_mc`` into ``out_dir`` with a progress bar; ``options`` are its keywords."""
    from iamd.analysis.montecarlo import run_mc
    from iamd.analysis.store import Store

    store = Store(out_dir)
    store.check_out()  # before the progress bar
    with _progress(quiet) as bar:
        task = bar.add_task(label, total=runs, stored_before=None)

        def step(stored: int, total: int) -> None:
            if bar.tasks[task].fields["stored_before"] is None:  # the first call: resumed runs
                bar.update(task, stored_before=stored)
            bar.update(task, completed=stored, total=total)

        return run_mc(store, job, runs, progress=step, **options)


SEED_HELP = "root seed, 0 .. 2**63-1 (default: the scenario's)"
ALLOW_HELP = (
    "resume a store although the iamd version, the equipment catalog or the resolved "
    "scenario changed since it was started (refused otherwise: results would mix); each "
    "batch records its iamd_version and model_sha256, so the runs can be told apart"
)


@app.command(
    "mc",
    epilog="Examples: iamd mc regional-raid --runs 200 --out runs/mc-rr | "
    "iamd mc regional-raid --runs 200 --set doctrine.cost_weight=0.5 --out runs/mc-cw | "
    "iamd mc regional-raid --runs 200 --without coalition-air --out runs/mc-no-air",
)
def mc(
    scenario: Annotated[str, typer.Argument(help="scenario file or bundled name")],
    runs: Annotated[int, typer.Option(min=1, help="replications wanted in all")] = 100,
    out_dir: Annotated[Path, typer.Option("--out", help="results directory (resumable)")] = Path(
        "runs/mc"
    ),
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED, help=SEED_HELP)] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="local processes (default: every core)")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler, e.g. tcp://host:8786 (runs there)")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="PATH=VALUE change, e.g. doctrine.reserve=2")
    ] = None,
    without: Annotated[
        list[str] | None, typer.Option(help="remove an owner's sensors, units and shared tracks")
    ] = None,
    until_ci: Annotated[
        str | None,
        typer.Option(help="METRIC=HALFWIDTH: stop once the 95 % CI of METRIC is that narrow"),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="runs per stored batch (default: automatic)")
    ] = None,
    allow_model_change: Annotated[
        bool, typer.Option("--allow-model-change", help=ALLOW_HELP)
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Run Monte Carlo replications into a resumable Parquet store.

    Replication i uses the seed streams of SeedSequence(SEED).spawn()[i], so results do not
    depend on the executor or the number of workers. Re-running the same command resumes;
    one iamd mc writes a directory at a time (a second one is refused, naming the first).
    """
    until = _parse_until(until_ci)
    options = {
        "workers": workers,
        "scheduler": scheduler,
        "batch_size": batch_size,
        "until": until,
        "allow_model_change": allow_model_change,
    }
    try:
        job = _job(scenario, seed, set_ or [], without or [])
        result = _run_job(job, out_dir, runs, options, quiet, job.scenario.name)
    except IamdError as exc:
        raise fail(exc) from None
    summary = result.summary
    title = f"{job.scenario.name}, seed {job.seed}: {summary['runs']} runs"
    out.print(_summarytable(title, summary["metrics"]))
    notes = []
    if result.model_changes:
        notes.append("resumed although the model changed: " + "; ".join(result.model_changes))
    if result.skipped:
        notes.append(f"{result.skipped} runs were already stored")
    if result.stopped_by_ci and until:
        notes.append(f"stopped: the 95 % CI of {until[0]} is within ±{until[1]:g}")
    notes.append(f'store: {out_dir}  (iamd query {out_dir} "SELECT ..."; iamd report {out_dir})')
    say("; ".join(notes))


QUERY_HELP = (
    "Run SQL over the stored replications (DuckDB).\n\n"
    "The replications are the table 'runs', a row per run: run, seed, iamd_version, "
    'model_sha256 and every metric under its dotted name (quote it: "threats.impacted_asset").'
    "\n\nA query may read 'runs' and compute, nothing else: reading or writing files "
    "(read_csv, COPY ... TO, EXPORT), ATTACH of a database file, INSTALL or LOAD of "
    "extensions and changing settings are refused (exit 2). Nothing is written. A query "
    "may use 2 threads and 2 GB of memory, return at most 1,000,000 rows and run for "
    "--timeout-s seconds."
)


@app.command(
    "query",
    help=QUERY_HELP,
    epilog='Example: iamd query runs/mc "SELECT avg(\\"threats.impacted_asset\\") FROM runs"',
)
def query_cmd(
    directory: Annotated[Path, typer.Argument(help="a directory made by iamd mc")],
    sql: Annotated[str, typer.Argument(help="DuckDB SQL over the table 'runs' (only)")],
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV instead of a table")] = False,
    timeout_s: Annotated[
        float, typer.Option("--timeout-s", min=0.001, help="stop a query running longer, s")
    ] = 60.0,
) -> None:
    from iamd.analysis.query import query

    try:
        names, rows = query(directory, sql, timeout_s)
    except IamdError as exc:
        raise fail(exc) from None
    if as_csv:
        w = csv.writer(sys.stdout)
        w.writerow(names)
        w.writerows(rows)
        return
    out.print(table(f"{len(rows)} row(s)", names, [[_cell(v) for v in r] for r in rows]))


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)


@app.command("compare", epilog="Example: iamd compare runs/mc-base runs/mc-cost-weight --all")
def compare_cmd(
    dir_a: Annotated[Path, typer.Argument(help="baseline results (iamd mc)")],
    dir_b: Annotated[Path, typer.Argument(help="alternative results, same seed")],
    all_metrics: Annotated[
        bool, typer.Option("--all", help="every metric, not only the headline ones")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Paired differences B - A per metric over runs with the same seeds (common random numbers)."""
    from iamd.analysis.compare import compare

    try:
        result = compare(dir_a, dir_b)
    except IamdError as exc:
        raise fail(exc) from None
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    keys = list(result["metrics"]) if all_metrics else [k for k, _ in KEY_METRICS]
    rows = [_compare_row(k, result["metrics"][k]) for k in keys if k in result["metrics"]]
    rows = [r for r in rows if r]
    title = f"B - A over {result['paired_runs']} paired runs (seed {result['seed']})"
    out.print(table(title, ["metric", "A", "B", "B - A", "95 % CI", "beyond noise"], rows))


def _compare_row(key: str, m: dict[str, Any]) -> list[str]:
    """A row of the comparison: A, B, B - A and its interval in one scale (empty: no runs)."""
    from iamd.analysis.display import fmt, fmt_interval, scale_of

    if not m["n"]:
        return []
    values = [m["mean_a"], m["mean_b"], m["diff"], m["ci95_low"], m["ci95_high"]]
    scale = scale_of(values)
    return [
        dict(KEY_METRICS).get(key, key),
        *(fmt(v, scale) for v in values[:3]),
        fmt_interval(m["ci95_low"], m["ci95_high"], scale),
        "yes" if m["significant"] else "no",
    ]


@app.command(
    "sweep",
    epilog="Examples: iamd sweep regional-raid --vary 'raid.0.count=50,100,150' --runs 20 "
    "--out runs/saturation | iamd sweep regional-raid "
    "--vary 'fire_units.exo-south.rounds=12,24,36' --runs 20 --out runs/inventory",
)
def sweep_cmd(
    scenario: Annotated[str, typer.Argument(help="scenario file or bundled name")],
    vary: Annotated[
        list[str], typer.Option(help="PATH=v1,v2,...: values of one field (repeat for a grid)")
    ],
    runs: Annotated[int, typer.Option(min=1, help="replications per grid point")] = 20,
    out_dir: Annotated[Path, typer.Option("--out", help="results directory")] = Path("runs/sweep"),
    seed: Annotated[int | None, typer.Option(min=0, max=MAX_SEED, help=SEED_HELP)] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="local processes")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="PATH=VALUE for every point")
    ] = None,
    without: Annotated[list[str] | None, typer.Option(help="owner removed at every point")] = None,
    allow_model_change: Annotated[
        bool, typer.Option("--allow-model-change", help=ALLOW_HELP)
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Run a grid of scenario variants (same seeds at every point) and write one table.

    Each point is a resumable Monte Carlo store under OUT/points/; OUT/sweep.csv holds a
    row per point with the mean and 95 % interval of every headline metric.
    """
    from iamd.analysis.store import Store
    from iamd.analysis.sweep import parse_vary, write_sweep

    options = {
        "workers": workers,
        "scheduler": scheduler,
        "allow_model_change": allow_model_change,
        "command": "iamd sweep",
    }
    try:
        if holds_other(out_dir, is_sweep):
            raise IamdError(
                f"{out_dir} exists and is not a sweep's directory; choose another --out "
                "(a sweep is resumed, anything else is left alone)"
            )
        axes = [parse_vary(v) for v in vary]
        paths = [a.path for a in axes]
        grid = list(itertools.product(*[range(len(a.texts)) for a in axes]))
        planned = []
        for n, picks in enumerate(grid):  # every point validated before any is run
            changes = [f"{a.path}={a.texts[k]}" for a, k in zip(axes, picks, strict=True)]
            values = {a.path: a.values[k] for a, k in zip(axes, picks, strict=True)}
            job = _job(scenario, seed, [*(set_ or []), *changes], without or [])
            Store(out_dir / "points" / f"{n:03d}").check_out()
            planned.append((values, ", ".join(changes), out_dir / "points" / f"{n:03d}", job))
        points = []
        for n, (values, label, point_dir, job) in enumerate(planned):
            res = _run_job(job, point_dir, runs, options, quiet, f"[{n + 1}/{len(grid)}] {label}")
            points.append((values, point_dir, res))
        sweep_rows = write_sweep(out_dir, paths, points)
    except IamdError as exc:
        raise fail(exc) from None
    headers = [*paths, "runs", "leakers on assets", "interceptors fired", "cost ratio"]
    out.print(table(f"sweep of {job.scenario.name}", headers, sweep_rows))
    say(f"table: {out_dir / 'sweep.csv'}; report: iamd report {out_dir}")


@app.command(
    "report",
    epilog="Examples: iamd report runs/mc  (writes runs/mc/report.html) | "
    "iamd report runs/rr3  (a run directory of iamd run) | "
    "iamd report /readonly/mc --out mc.html",
)
def report_cmd(
    directory: Annotated[
        Path, typer.Argument(help="a directory made by iamd mc, iamd sweep or iamd run")
    ],
    no_map: Annotated[bool, typer.Option("--no-map", help="skip the theatre map")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="where to write the page (default DIR/report.html)")
    ] = None,
) -> None:
    """Write a self-contained HTML page with the plots embedded; nothing else is written."""
    from iamd.analysis.report import write_report

    try:
        with err.status("writing the report..."):
            path = write_report(directory, with_map=not no_map, out=out_file)
    except IamdError as exc:
        raise fail(exc) from None
    say(f"report: {path}")

"""Commands on one scenario: validate, schema, scenarios, run, demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from iamd.cli.app import app, check_seed, err, fail, out, say, table, warn
from iamd.errors import IamdError


@app.command(epilog="Example: iamd validate my-theatre.yaml  (exit 0 when valid, 2 otherwise)")
def validate(
    scenario: Annotated[str, typer.Argument(help="scenario file, or the name of a bundled one")],
) -> None:
    """Check a scenario; print every problem as FILE:LINE:COL: message (exit 2 if any)."""
    from iamd.scenario.load import load_scenario

    try:
        s = load_scenario(scenario)
    except IamdError as exc:
        raise fail(exc) from None
    warn(s.warnings)
    spec = s.spec
    n = sum(x.count for x in spec.raid)
    warned = f"; {len(s.warnings)} warning(s)" if s.warnings else ""
    patrols = f", {len(spec.air_patrols)} air patrols" if spec.air_patrols else ""
    say(
        f"{scenario}: valid ({len(spec.owners)} owners, {len(spec.assets)} assets, "
        f"{len(spec.sensors)} sensors, {len(spec.fire_units)} fire units{patrols}, "
        f"{n} threats){warned}"
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
    from iamd.sim.run import check_out_dir, simulate, write_run_dir

    check_seed(seed)
    try:
        s, _ = load_scenario_changed(scenario, sets, without)
    except IamdError as exc:
        raise fail(exc) from None
    warn(s.warnings)
    seed_used = s.spec.seed if seed is None else seed
    target = out_dir or Path("runs") / f"{s.name.replace(' ', '-')}-{seed_used}"
    try:
        check_out_dir(target)  # before the run, not after it
    except IamdError as exc:
        raise fail(exc) from None
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
        raise fail(exc) from None
    print_summary(result.summary)
    rtf = result.summary["sim_duration_s"] / max(result.summary["wall_time_s"], 1e-9)
    say(
        f"run directory: {target}  (simulated {result.summary['sim_duration_s'] / 3600:.1f} h "
        f"in {result.summary['wall_time_s']:.1f} s, {rtf:,.0f}x real time)"
    )


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
    out.print(table(title, ["class", *cols.values()], rows, bold_last=True))

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
    out.print(table("interceptors", ["type", "fired", "kills", "cost (USD)"], rows, True))
    rows = [[name, str(r["fired"]), str(r["kills"])] for name, r in summary["by_owner"].items()]
    out.print(table("partners", ["owner", "fired", "kills"], rows))
    rows = [
        [name, str(r["hits"]), f"{r['value_lost']:.1f}"] for name, r in summary["assets"].items()
    ]
    out.print(table("defended assets", ["asset", "hits", "value lost"], rows))
    tk = summary["tracking"]

    def quality_row(name: str, q: dict[str, Any]) -> list[str]:
        return [
            name,
            f"{q['ospa_m_mean']:.0f}",
            f"{q['gospa_mean']:,.0f}",
            f"{100 * q['completeness']:.0f}%",
            str(q["spurious_tracks"]),
            str(q["id_changes"]),
            f"{q['dual_tracks']:.2f}",
        ]

    rows = [quality_row(name, q) for name, q in tk["by_owner"].items()]
    rows.append(quality_row("all", tk))
    out.print(
        table(
            f"track pictures ({tk['mode']} tracking)",
            ["owner", "OSPA (m)", "GOSPA", "complete", "spurious", "ID changes", "dual"],
            rows,
            bold_last=True,
        )
    )
    if tk["pairs"]:
        rows = [
            [
                pair.replace("~", " / "),
                "-" if p["commonality"] is None else f"{p['commonality']:.0%}",
            ]
            for pair, p in tk["pairs"].items()
        ]
        out.print(table("pictures in common", ["owners", "threats both hold"], rows))
    dec = summary["decisions"]

    def latency_row(name: str, q: dict[str, Any]) -> list[str]:
        if not q["engaged"]:
            return [name, "0", "-", "-"]
        return [name, str(q["engaged"]), f"{q['mean']:.0f}", f"{q['median']:.0f}"]

    lat = dec["latency_s"]
    rows = [latency_row(name, q) for name, q in lat["by_class"].items()]
    rows.append(latency_row("all", lat))
    out.print(
        table(
            "first detection to first launch (s)",
            ["class", "engaged", "mean", "median"],
            rows,
            bold_last=True,
        )
    )
    out.print(
        f"rounds at threats already down: {dec['shots_at_dead']}, bound for open ground: "
        f"{dec['shots_at_harmless']}; double engagements: {dec['double_engagements']}"
    )
    out.print(
        f"engagements of a threat held under two tracks: {dec['dual_track_engagements']}, of "
        f"false tracks: {dec['false_track_engagements']} ({dec['shots_at_false_tracks']} rounds)"
    )
    if tk.get("classification") == "kinematic":
        confused = ", ".join(
            f"{k.replace('>', ' as ')} {v:.1%}" for k, v in list(tk["confused"].items())[:3]
        )
        out.print(
            f"tracks classified wrong: {tk['misclassified']:.1%} of threats held"
            + (f" ({confused})" if confused else "")
            + f"; engagements on a wrong class: {dec['misclassified_engagements']}"
        )
    if dec.get("orders") or dec.get("fallbacks"):
        delay = dec["order_delay_s"]
        out.print(
            f"central node's orders to other owners' units: {dec['orders']}"
            + (f" ({delay:.1f} s on the link, mean)" if delay is not None else "")
            + f"; nodes fallen back: {dec['fallbacks']}"
        )


@app.command(epilog="Example: iamd audit runs/demo  (exit 0 when every kill holds, 1 otherwise)")
def audit(
    run_dir: Annotated[Path, typer.Argument(help="a run directory (iamd run --out DIR)")],
    show: Annotated[int, typer.Option(help="violations to list at most", min=0)] = 20,
) -> None:
    """Check every kill of a run against physics: the firing unit's documented envelope,
    its interceptor's time of flight, speed and reach, and the end game (the interceptor
    within its divert of the threat). Exit 1 if any kill fails."""
    from iamd.analysis.audit import audit_dir

    try:
        report = audit_dir(run_dir)
    except IamdError as exc:
        raise fail(exc) from None
    rows = [
        [name, f"{kills:,}", f"{bad:,}", f"{bad / kills:.1%}" if kills else "-"]
        for name, (kills, bad) in report.by_class().items()
    ]
    n_bad = len({(v.engagement, v.threat) for v in report.violations})
    rows.append(["all", f"{report.n_kills:,}", f"{n_bad:,}", f"{report.share_outside:.1%}"])
    say(f"{run_dir}: {report.n_kills:,} kills audited")
    out.print(
        table(
            "kills against physics",
            ["interceptor", "kills", "violating", "share"],
            rows,
            bold_last=True,
        )
    )
    for v in report.violations[:show]:
        say(
            f"t={v.t_s:,.1f} s threat {v.threat} by {v.unit} ({v.interceptor}), "
            f"engagement {v.engagement}: {v.why}"
        )
    if len(report.violations) > show:
        say(f"... {len(report.violations) - show} more")
    if report.violations:
        say(
            "failing: "
            + ", ".join(
                f"{check} {report.share_failing(check):.1%}"
                for check in ("envelope", "end_game", "flyout")
            )
            + " of kills"
        )
    if not report.checked_flights:
        say("no interceptors.parquet (an older run): arrival speeds not checked")
    if report.violations:
        raise typer.Exit(code=1)

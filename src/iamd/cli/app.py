"""The ``iamd`` application, its consoles and the helpers every command group shares.

The command groups (:mod:`iamd.cli.run`, :mod:`~iamd.cli.mc`, :mod:`~iamd.cli.wta`,
:mod:`~iamd.cli.bench`, :mod:`~iamd.cli.web`) register their commands on :data:`app`;
nothing here imports them, so there is no import cycle.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich import box
from rich.console import Console
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


def fail(exc: IamdError) -> typer.Exit:
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


def table(title: str, headers: list[str], rows: list[list[str]], bold_last: bool = False) -> Table:
    """A compact table: first column bold and left-aligned, the others right-aligned."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(headers[0], style="bold", no_wrap=True)
    for header in headers[1:]:
        table.add_column(header, justify="right", min_width=len(header))
    for k, row in enumerate(rows):
        table.add_row(*row, style="bold" if bold_last and k == len(rows) - 1 else None)
    return table


def check_seed(seed: int | None) -> None:
    """Exit 2 with a message for a ``--seed`` outside 0 .. 2**63 - 1."""
    from iamd.scenario.schema import check_seed as check

    if seed is not None:
        try:
            check(seed)
        except IamdError as exc:
            raise fail(exc) from None

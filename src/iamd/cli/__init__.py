"""The ``iamd`` command line: one module per command group, all on one typer app."""

from __future__ import annotations

import sys

from iamd.cli.app import app, err
from iamd.errors import IamdError

# isort: off
# each module registers its commands: this order is the order of 'iamd --help'
from iamd.cli import run, mc, web, wta, bench  # noqa: F401
# isort: on

__all__ = ["app", "main"]


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

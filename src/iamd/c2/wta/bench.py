"""The APT benchmark run: every instance and mu against the published best-known values.

The instances and ``best_known.csv`` ship in ``benchmarks/data/wta`` of the repository
(Andersen, Pavlikov and Toffolo 2022; GPL-3.0, see the README there).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from iamd.c2.wta.instance import InstanceError, load
from iamd.c2.wta.solve import solve

DATA_DIR = Path(__file__).resolve().parents[4] / "benchmarks" / "data" / "wta"
"""The copy in a source checkout (``pip install -e .``)."""


@dataclass(frozen=True, slots=True)
class BestKnown:
    """A row of ``best_known.csv``."""

    weapons: int
    targets: int
    mu: int
    value: float
    lower_bound: float
    proven: bool


def read_best_known(data_dir: Path) -> list[BestKnown]:
    """Rows of ``data_dir/best_known.csv``, in file order."""
    path = data_dir / "best_known.csv"
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InstanceError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return [
            BestKnown(
                int(r["weapons"]),
                int(r["targets"]),
                int(r["mu"]),
                float(r["best_known_value"]),
                float(r["best_lower_bound"]),
                r["apt_proven_optimal"].strip() == "yes",
            )
            for r in rows
        ]
    except (KeyError, ValueError) as exc:
        raise InstanceError(f"{path}: malformed row ({exc})") from None


def run(
    data_dir: Path,
    method: str,
    time_limit_s: float,
    mus: set[int] | None = None,
    sizes: set[str] | None = None,
    before: Callable[[BestKnown], None] | None = None,
) -> Iterator[dict[str, object]]:
    """Solve each selected (instance, mu); yield one result row per solve."""
    for bk in read_best_known(data_dir):
        size = f"{bk.weapons}x{bk.targets}"
        if (mus and bk.mu not in mus) or (sizes and size not in sizes):
            continue
        if before is not None:
            before(bk)
        inst = load(data_dir / f"wta_{size}.txt", mu=bk.mu)
        sol = solve(inst, method, time_limit_s)
        yield {
            "instance": size,
            "mu": bk.mu,
            **sol.as_dict(),
            "best_known": bk.value,
            "vs_best_known": sol.objective / bk.value - 1.0,
            "published_lower_bound": bk.lower_bound,
            "improves_best_known": sol.objective < bk.value * (1 - 1e-9),
        }

"""A static weapon-target assignment instance, its text format, and its objective.

The problem (Manne 1958; the APT benchmark set of Andersen, Pavlikov and Toffolo,
Annals of Operations Research 312, 2022): weapon types ``i`` fire ``x_ij >= 0`` shots at
targets ``j``, at most ``mu`` shots each in total; a shot of ``i`` kills ``j`` with
probability ``p_ij``, independently. Minimise the expected surviving value
``sum_j v_j prod_i (1 - p_ij) ** x_ij``.

Text format: line 1 ``W T mu``; then ``T`` target values; then ``W * T`` lines
``i j p_ij`` with 0-based indices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from iamd.errors import IamdError

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


MAX_MU = 100
"""Shots per weapon at most (the literature's instances use 1-3)."""
MAX_PAIRS = 4_000_000
"""Weapon-target pairs at most (W x T), about 32 MB of probabilities."""


class InstanceError(IamdError):
    """A malformed instance file; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class WtaInstance:
    """Values ``value`` (T,), kill probabilities ``p`` (W, T), shots per weapon ``mu``."""

    value: F64
    p: F64
    mu: int

    @property
    def weapons(self) -> int:
        return int(self.p.shape[0])

    @property
    def targets(self) -> int:
        return int(self.p.shape[1])


def parse(text: str, source: str = "<text>", mu: int | None = None) -> WtaInstance:
    """Read an instance; ``mu`` overrides the header's.

    Raises
    ------
    InstanceError
        With the file and line of the first problem: wrong counts, indices out of range,
        duplicate pairs, probabilities outside [0, 1], negative or non-finite values.
    """
    lines = [(k, ln.split()) for k, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    if not lines:
        raise InstanceError(f"{source}: empty file")

    def number(k: int, tok: str, what: str) -> float:
        try:
            v = float(tok)
        except ValueError:
            raise InstanceError(f"{source}:{k}: {what} '{tok}' is not a number") from None
        if not np.isfinite(v):
            raise InstanceError(f"{source}:{k}: {what} '{tok}' is not finite")
        return v

    k0, head = lines[0]
    if len(head) != 3:
        raise InstanceError(
            f"{source}:{k0}: the first line must be 'W T mu', got {' '.join(head)!r}"
        )
    w, t, mu_file = (
        number(k0, tok, name) for tok, name in zip(head, ("W", "T", "mu"), strict=True)
    )
    if min(w, t, mu_file) < 1 or not all(float(v).is_integer() for v in (w, t, mu_file)):
        raise InstanceError(f"{source}:{k0}: W, T and mu must be positive integers")
    if w * t > MAX_PAIRS:
        raise InstanceError(
            f"{source}:{k0}: {w:.0f} x {t:.0f} pairs; at most {MAX_PAIRS:,} are read"
        )
    nw, nt = int(w), int(t)
    want = 1 + nt + nw * nt
    if len(lines) != want:
        raise InstanceError(
            f"{source}: expected {want} non-empty lines for W={nw}, T={nt} "
            f"(header, {nt} values, {nw * nt} 'i j p' lines), found {len(lines)}"
        )
    value = np.empty(nt)
    for j, (k, toks) in enumerate(lines[1 : 1 + nt]):  # reading a file: a loop per line
        if len(toks) != 1:
            raise InstanceError(f"{source}:{k}: expected one target value, got {' '.join(toks)!r}")
        value[j] = number(k, toks[0], "target value")
        if value[j] < 0:
            raise InstanceError(f"{source}:{k}: target value {value[j]:g} is negative")
    p = np.full((nw, nt), np.nan)
    for k, toks in lines[1 + nt :]:
        if len(toks) != 3:
            raise InstanceError(f"{source}:{k}: expected 'i j p', got {' '.join(toks)!r}")
        fi, fj = number(k, toks[0], "weapon index"), number(k, toks[1], "target index")
        if not (fi.is_integer() and 0 <= fi < nw and fj.is_integer() and 0 <= fj < nt):
            raise InstanceError(f"{source}:{k}: pair ({toks[0]}, {toks[1]}) is outside {nw} x {nt}")
        pij = number(k, toks[2], "probability")
        if not 0.0 <= pij <= 1.0:
            raise InstanceError(f"{source}:{k}: probability {pij:g} is outside [0, 1]")
        i, j = int(fi), int(fj)
        if not np.isnan(p[i, j]):
            raise InstanceError(f"{source}:{k}: pair ({i}, {j}) is given twice")
        p[i, j] = pij
    m = mu_file if mu is None else mu
    if not 1 <= m <= MAX_MU:
        raise InstanceError(f"{source}: mu must be between 1 and {MAX_MU}, got {m:g}")
    return WtaInstance(value=value, p=p, mu=int(m))


def load(path: str | Path, mu: int | None = None) -> WtaInstance:
    """Read an instance file (see :func:`parse`)."""
    try:
        text = Path(path).read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise InstanceError(
            f"{path}: not a text instance (byte {exc.start} is not UTF-8)"
        ) from None
    except OSError as exc:
        raise InstanceError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse(text, str(path), mu)


def simple_lower_bound(inst: WtaInstance) -> float:
    """A valid lower bound of the optimum: every weapon fires all ``mu`` shots at every
    target at once, (W, T) work.

    .. math:: \\sum_j v_j \\prod_i (1 - p_{ij})^{\\mu} \\le \\min_x f(x)

    since no target receives more than ``mu`` shots of any weapon. It is tight when no
    shot can change anything (all ``p = 0``, or a value of 0), and it proves such
    instances optimal whatever the method.
    """
    return float(np.sum(inst.value * np.prod(np.power(1.0 - inst.p, inst.mu), axis=0)))


def objective(inst: WtaInstance, x: I64) -> float:
    """Expected surviving value of shots ``x`` (W, T), computed independently in float64.

    Raises
    ------
    ValueError
        If ``x`` has the wrong shape, negative entries or exceeds ``mu`` for a weapon.
    """
    x = np.asarray(x)
    if x.shape != inst.p.shape:
        raise ValueError(f"assignment shape {x.shape} differs from the instance's {inst.p.shape}")
    if (x < 0).any() or (x.sum(axis=1) > inst.mu).any():
        raise ValueError("assignment is infeasible: negative shots or more than mu per weapon")
    survive = np.prod(np.power(1.0 - inst.p, x), axis=0)
    return float(np.sum(inst.value * survive))

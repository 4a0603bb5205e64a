"""Data links between a coalition's owners: latency, random loss and outages.

A :class:`~iamd.scenario.schema.Link` delays every message by its latency and loses it
with its loss probability; a message sent while the link is down (one of its
``outages``, ``[start_s, end_s)``) is lost. Pure functions of the link and the time (the
random draw comes from the caller's stream, and only for a link with some loss).
"""

from __future__ import annotations

import numpy as np

from iamd.scenario.schema import Link


def down_for_s(link: Link, t_s: float) -> float:
    """How long ``link`` has been down at ``t_s``, s (0 when it is up).

    Outages that touch or overlap count as one.
    """
    if not is_down(link, t_s):
        return 0.0
    start = min(a for a, b in link.outages if a <= t_s < b)
    changed = True
    while changed:  # walk back through outages that run into this one
        changed = False
        for a, b in link.outages:  # a link's outages (a few)
            if a < start <= b:
                start, changed = a, True
    return float(t_s - start)


def is_down(link: Link, t_s: float) -> bool:
    """Whether ``link`` is down at ``t_s``."""
    return any(a <= t_s < b for a, b in link.outages)


def lost(link: Link, t_s: float, rng: np.random.Generator) -> bool:
    """Whether a message sent over ``link`` at ``t_s`` is lost: sent in an outage, or by
    the link's loss (one draw of ``rng``, only when the link loses messages)."""
    if link.outages and is_down(link, t_s):
        return True
    return bool(link.loss) and bool(rng.uniform() < link.loss)

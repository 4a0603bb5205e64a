"""System track numbers: each node's stable names for the tracks of its fused picture.

A node's fused picture is rebuilt from its own tracker's confirmed tracks and its partners'
latest reports (:mod:`iamd.tracking.fusion`). Each rebuild correlates them afresh, so the
picture's rows carry no identity of their own. A *system track number* gives each fused
track one: a number unique at the owner, kept while any track behind it lives.

Every source track (an owner's tracker track, named by its owner and that tracker's
number) is bound to the system number it last fed. A fused track takes the oldest
(smallest) number among its sources' that no earlier row of the same picture took; a
fused track none of whose sources is bound, or whose numbers earlier rows took, starts a
new number. All its sources are then bound to it. So

- a steady track keeps its number from rebuild to rebuild;
- a partner's track that joins one's own track takes the number the older of the two had
  (the partner's track is associated to a local track, and the number stays), and a
  partner's track that matches nothing starts a number of its own;
- two system tracks found to be one keep the older number; one that splits keeps its
  number on the row listed first (one's own tracks come first) and the other part starts
  a new number.

Only the numbering is modelled: there is no arbitration of track quality or reporting
responsibility between nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

I64 = NDArray[np.int64]

__all__ = ["SystemNumbers", "number_rows"]


@dataclass(slots=True)
class SystemNumbers:
    """One owner's system track numbering state.

    Attributes
    ----------
    bind : (owners, c) the system number each source track (row: its owner, column: its
        number in that owner's tracker) last fed, -1 for none; grown as trackers number
        more tracks.
    next_number : (1,) the number the next new system track gets.
    """

    bind: I64
    next_number: I64

    @staticmethod
    def empty(n_owners: int, capacity: int = 256) -> SystemNumbers:
        """No track numbered yet, room for ``capacity`` tracks per source tracker."""
        return SystemNumbers(
            bind=np.full((n_owners, capacity), -1, np.int64), next_number=np.zeros(1, np.int64)
        )

    def reserve(self, n_ids: int) -> None:
        """Make room for source track numbers below ``n_ids`` (doubling the columns)."""
        have = self.bind.shape[1]
        if n_ids <= have:
            return
        grown = np.full((self.bind.shape[0], max(n_ids, 2 * have)), -1, np.int64)
        grown[:, :have] = self.bind
        self.bind = grown


NO_NUMBERING = (0, 1, np.zeros((0, 0), np.int64), np.zeros(1, np.int64))
"""The numbering argument of :func:`iamd.tracking.fusion.fuse_own_and_partners` that
numbers nothing."""


@njit(cache=True)
def number_rows(
    source_owner: I64,
    source_track: I64,
    member_of: I64,
    n: int,
    bind: I64,
    next_number: I64,
) -> I64:
    """System numbers of a fused picture's ``n`` rows (see the module's rules).

    Parameters
    ----------
    source_owner, source_track : (N,) each input track's owner and its number in that
        owner's tracker.
    member_of : (N,) the fused row (0 <= r < n) each input track went into.
    bind : (owners, c) the numbering state (:class:`SystemNumbers`), updated in place:
        each input track ends bound to its row's number.
    next_number : (1,) the next new number, advanced in place.

    Returns
    -------
    (n,) each row's system number, distinct.
    """
    total = member_of.shape[0]
    for j in range(total):
        if not (0 <= source_owner[j] < bind.shape[0] and 0 <= source_track[j] < bind.shape[1]):
            raise IndexError("a source track beyond the numbering state (reserve it first)")
    # the input rows of each fused row, in input order (a counting sort)
    start = np.zeros(n + 1, np.int64)
    for j in range(total):
        start[member_of[j] + 1] += 1
    for r in range(n):
        start[r + 1] += start[r]
    fill = start[:n].copy()
    order = np.empty(total, np.int64)
    for j in range(total):
        r = member_of[j]
        order[fill[r]] = j
        fill[r] += 1
    taken = np.zeros(next_number[0] + n, np.bool_)
    numbers = np.empty(n, np.int64)
    for r in range(n):
        best = -1
        for q in range(start[r], start[r + 1]):
            j = order[q]
            b = bind[source_owner[j], source_track[j]]
            if b >= 0 and not taken[b] and (best < 0 or b < best):
                best = b
        if best < 0:
            best = next_number[0]
            next_number[0] += 1
        taken[best] = True
        numbers[r] = best
        for q in range(start[r], start[r + 1]):
            j = order[q]
            bind[source_owner[j], source_track[j]] = best
    return numbers

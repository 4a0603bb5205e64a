"""Picture rows: each node's tracks, keyed by their system track numbers.

The battle manager works on rows of its owner's picture (:mod:`iamd.sim.battle`): every
per-track array (the picture, class estimates, assessments, engagement status) is indexed
by row. In ``gnn`` mode each owner has rows of its own (rows ``o * per`` to
``(o + 1) * per``), and each row holds one system track (:mod:`iamd.tracking.system`) for
as long as its number lives: a new track takes the first free row, keeps it from picture
to picture whatever its detections come from, and frees it when its number is gone. A
node's picture therefore holds what its tracker and its partners' reports hold: a
threat's second track (a dual track the fusion did not join, or a track re-started while
the old one coasts) takes a row like any other and, under ``kinematic`` classification,
so does a track on false alarms.

Owners name the same object by different rows. What one owner says of its row (an
engagement's status, a node's later kill chance) reaches a partner with the identity of
the track's source (the owner and tracker number of the track the row's first report came
from), which the partner correlates as its fusion did (:meth:`Slots.correlate`, by its
system numbering's bindings); a track the partner holds under no number of its own is not
correlated, and the news is lost.

Which real object a row's track follows (``real``: the threat its last detection came
from, or the one before when that was a false alarm; -1 for a track of false alarms) is
truth: only the end game reads it (:mod:`iamd.sim.flight`,
:mod:`iamd.sim.engagement`), to ask what the interceptor meets where it was guided, and
the scoring. A shot at a false track meets nothing and misses; a track that swapped onto
another threat draws its interceptor there. A row freed, or taken by another track,
starts a new generation: an interceptor guided on the old track loses it, and flies on to
meet the object that track last followed.

Under ``perfect`` classification the node knows a false alarm for what it is: a track
born of false alarms takes no row. In ``ideal`` mode (measurements keep their identity), and with
``tracking.picture: by_threat`` (the engine before system tracks, kept for comparison), a
row is a threat, the same for every owner, holding its most certain track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]

SLOTS_MIN = 16
"""Least slots per owner."""
SLOTS_PER_THREAT = 0.25
"""Slots per owner per threat of the raid (dual and false tracks live for a minute or two,
so few are held at once; a track that finds every slot taken is not shown)."""


@dataclass(slots=True)
class Slots:
    """Every owner's picture rows and the system tracks in them.

    Attributes
    ----------
    base : rows shared by every owner, one per threat (``ideal`` mode; 0 in ``gnn`` mode).
    per : rows of each owner's own (0 in ``ideal`` mode).
    held : (owners, per) the system number in each of the owner's rows, -1 when free.
    lookup : per owner, the row of each of its system numbers (-1: none).
    gen : (owners, rows) each row's generation (one more each time a track takes it or
        leaves it).
    real : (owners, rows) the threat each row's track follows: the source of its last
        detection, or of the last before a false alarm (-1: none, a false track or a free
        row); truth, for the end game and scoring only.
    source : (owners, rows) the identity of each row's track to partners: its first
        source's owner times ``stride`` plus that owner's tracker number (-1: none).
    full : tracks that found no free row (summed over builds).
    """

    base: int
    per: int
    stride: int
    held: I64
    lookup: list[I64]
    gen: I64
    real: I64
    source: I64
    full: int = 0

    @staticmethod
    def of(n: int, n_owners: int, gnn: bool, stride: int = 10**9) -> Slots:
        """Rows for a raid of ``n`` threats: in ``gnn`` mode, room for every threat and
        ``SLOTS_PER_THREAT`` more per owner (at least ``SLOTS_MIN``); else one per threat."""
        per = n + max(SLOTS_MIN, int(np.ceil(SLOTS_PER_THREAT * n))) if gnn else 0
        base = 0 if gnn else n
        rows = base + per * n_owners
        real = np.full((n_owners, rows), -1, np.int64)
        real[:, :base] = np.arange(base)
        return Slots(
            base=base,
            per=per,
            stride=stride,
            held=np.full((n_owners, per), -1, np.int64),
            lookup=[np.full(0, -1, np.int64) for _ in range(n_owners)],
            gen=np.zeros((n_owners, rows), np.int64),
            real=real,
            source=np.full((n_owners, rows), -1, np.int64),
        )

    @property
    def rows(self) -> int:
        """Rows of every per-row array."""
        return int(self.real.shape[1])

    def first(self, o: int) -> int:
        """Owner ``o``'s first row of its own."""
        return self.base + o * self.per

    def home(self, o: int, rows: I64) -> I64:
        """The owner whose tracker holds the first source of owner ``o``'s rows (-1)."""
        src = self.source[o, rows]
        return np.where(src >= 0, src // self.stride, -1)

    def generation(self, o: int, rows: I64) -> I64:
        """The generation of owner ``o``'s rows ``rows``."""
        return np.asarray(self.gen[o, rows], np.int64)

    def generation_of(self, owners: I64, rows: I64) -> I64:
        """The generation of rows ``rows`` (k,) of owners ``owners`` (k,)."""
        return np.asarray(self.gen[owners, rows], np.int64)

    def place(self, o: int, numbers: I64, next_number: int) -> tuple[I64, I64, I64]:
        """Give owner ``o``'s system tracks of numbers ``numbers`` (m,) their rows
        (:func:`place_rows`).

        Returns
        -------
        rows : (m,) each track's row (-1: not shown, every row taken).
        taken : the rows newly taken (their per-row state must start afresh).
        freed : the rows freed and left empty.
        """
        held = self.held[o]
        local, taken, freed, full = place_rows(numbers, held, next_number)
        self.full += full
        base = self.first(o)
        rows = np.where(local >= 0, local + base, -1)
        lookup = np.full(next_number, -1, np.int64)
        mine = np.flatnonzero(held >= 0)
        lookup[held[mine]] = mine + base
        self.lookup[o] = lookup
        self.gen[o, taken + base] += 1
        self.gen[o, freed + base] += 1  # the track is gone: what was guided on it has lost it
        self.real[o, freed + base] = -1
        self.source[o, freed + base] = -1
        return rows, taken + base, freed + base

    def correlate(self, bind: I64, p: int, source: I64) -> I64:
        """Owner ``p``'s rows (-1: none) of the tracks whose sources are ``source`` (k,)
        (:attr:`source`), by ``bind``, ``p``'s system numbering's bindings (the number each
        source track last fed, :class:`~iamd.tracking.system.SystemNumbers`)."""
        src_owner, src_track = source // self.stride, source % self.stride
        ok = (source >= 0) & (src_track < bind.shape[1])
        num = np.where(ok, bind[np.where(ok, src_owner, 0), np.where(ok, src_track, 0)], -1)
        lookup = self.lookup[p]
        ok = (num >= 0) & (num < lookup.size)
        return np.where(ok, lookup[np.where(ok, num, 0)] if lookup.size else -1, -1)


@njit(cache=True)
def place_rows(numbers: I64, held: I64, next_number: int) -> tuple[I64, I64, I64, int]:
    """Local rows of one owner's system tracks: a number already in a row keeps it; a new
    one takes the first free row; a row whose number is not among ``numbers`` is freed.

    Parameters
    ----------
    numbers : (m,) the tracks' system numbers, distinct, each below ``next_number``.
    held : (per,) the number in each of the owner's rows, -1 free; updated in place.

    Returns
    -------
    rows : (m,) each track's local row (-1: no free row).
    taken : the local rows newly taken, in taking order.
    freed : the local rows freed and not taken again.
    full : tracks that found no free row.
    """
    m, r = numbers.shape[0], held.shape[0]
    where = np.full(next_number, -1, np.int64)
    for q in range(r):
        if held[q] >= 0:
            where[held[q]] = q
    rows = np.full(m, -1, np.int64)
    used = np.zeros(r, np.bool_)
    for j in range(m):  # tracks that keep their rows
        q = where[numbers[j]]
        if q >= 0:
            rows[j] = q
            used[q] = True
    was_held = held >= 0
    for q in range(r):
        if not used[q]:
            held[q] = -1
    taken = np.empty(m, np.int64)
    n_taken = full = 0
    free = 0
    for j in range(m):  # new tracks: the first free row
        if rows[j] >= 0:
            continue
        while free < r and held[free] >= 0:
            free += 1
        if free == r:
            full += 1
            continue
        held[free] = numbers[j]
        rows[j] = free
        taken[n_taken] = free
        n_taken += 1
    freed = np.empty(r, np.int64)
    n_freed = 0
    for q in range(r):
        if was_held[q] and held[q] < 0:
            freed[n_freed] = q
            n_freed += 1
    return rows, taken[:n_taken], freed[:n_freed], full

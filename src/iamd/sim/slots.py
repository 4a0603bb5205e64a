"""Track slots: the rows of a node's picture beyond one per threat.

The battle manager works on rows of its owner's picture (:mod:`iamd.sim.battle`). In
``gnn`` mode the first ``n`` rows hold, for each threat, the most certain track whose
detections came from it (:func:`iamd.sim.network.refresh_picture`). A node also holds
tracks those rows do not show: a second track on a threat (a dual track), and, once
classification comes from the track (``kinematic``), tracks on false alarms. Each such
track takes a *slot*, a row of its own beyond the threat rows, keyed by its system track
number (:mod:`iamd.tracking.system`): it keeps the slot while the number lives, and is
assessed, assigned and engaged like any other row.

Each owner has a range of slots of its own (rows ``n + o * per`` to ``n + (o + 1) * per``),
so a row means one track of one owner: another owner's picture never holds it, and what
an owner learns of a slot's engagements stays with it (a partner numbers its tracks
differently and cannot correlate the report).

Which real object a slot's track follows (``real``: the threat its last detection came
from, -1 for a false alarm) is truth: only the end game reads it
(:mod:`iamd.sim.flight`, :mod:`iamd.sim.engagement`), to ask what the interceptor meets
where it was guided. A shot at a false track meets nothing and misses. A slot freed and
taken by another track starts a new generation: an interceptor guided on the old one
loses its track.

Under ``perfect`` classification the node knows a false alarm for what it is, and false
tracks take no slot. Rows of the threats themselves still follow the threat (their
track is chosen by its detections' source); that is the one place a node's picture is
still indexed by truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
    """Every owner's track slots.

    Attributes
    ----------
    base : the first slot row (the number of threats).
    per : slots per owner (0: none, as in ``ideal`` mode).
    number : (owners, per) the system track number in each slot, -1 when free.
    gen : (owners, per) each slot's generation (one more each time it is taken).
    real : (owners, rows) the threat each row's track follows (row r < base: r), -1 for
        none (a false track, or a free slot); truth, for the end game only.
    home : (owners, rows) the owner whose tracker holds each slot's track (-1: none).
    full : tracks that found no free slot (summed over builds).
    """

    base: int
    per: int
    number: I64
    gen: I64
    real: I64
    home: I64
    full: int = 0

    @staticmethod
    def of(n: int, n_owners: int, gnn: bool) -> Slots:
        """Slots for a raid of ``n`` threats (none unless ``gnn``)."""
        per = max(SLOTS_MIN, int(np.ceil(SLOTS_PER_THREAT * n))) if gnn else 0
        rows = n + per * n_owners
        real = np.full((n_owners, rows), -1, np.int64)
        real[:, :n] = np.arange(n)
        return Slots(
            base=n,
            per=per,
            number=np.full((n_owners, per), -1, np.int64),
            gen=np.zeros((n_owners, per), np.int64),
            real=real,
            home=np.full((n_owners, rows), -1, np.int64),
        )

    @property
    def rows(self) -> int:
        """Rows of every per-row array: the threats, then every owner's slots."""
        return int(self.real.shape[1])

    def first(self, o: int) -> int:
        """Owner ``o``'s first slot row."""
        return self.base + o * self.per

    def generation(self, o: int, rows: I64) -> I64:
        """The generation of owner ``o``'s rows ``rows`` (0 for threat rows)."""
        out = np.zeros(rows.size, np.int64)
        mine = rows >= self.base
        out[mine] = self.gen[o, rows[mine] - self.first(o)]
        return out

    def generation_of(self, owners: I64, rows: I64) -> I64:
        """The generation of rows ``rows`` (k,) of owners ``owners`` (k,)."""
        out = np.zeros(rows.size, np.int64)
        mine = rows >= self.base
        o = owners[mine]
        out[mine] = self.gen[o, rows[mine] - self.base - o * self.per]
        return out

    def place(self, o: int, numbers: I64) -> tuple[I64, I64, I64]:
        """Give owner ``o``'s tracks of system numbers ``numbers`` (m,) their slots.

        A number already in a slot keeps it; a new one takes the lowest free slot; a slot
        whose number is not among ``numbers`` is freed.

        Returns
        -------
        rows : (m,) each track's row (-1: no slot was free).
        taken : the rows newly taken (their per-row state must start afresh).
        freed : the rows freed.
        """
        held = self.number[o]
        keep = np.isin(held, numbers) & (held >= 0)
        freed_s = np.flatnonzero(~keep & (held >= 0))
        held[freed_s] = -1
        slot_of = {int(v): s for s, v in enumerate(held.tolist()) if v >= 0}
        rows = np.full(numbers.size, -1, np.int64)
        free = np.flatnonzero(held < 0).tolist()
        taken: list[int] = []
        for j, v in enumerate(numbers.tolist()):  # the node's dual and false tracks (a few)
            s = slot_of.get(v)
            if s is None:
                if not free:
                    self.full += 1
                    continue
                s = free.pop(0)
                held[s] = v
                self.gen[o, s] += 1
                taken.append(s)
            rows[j] = self.first(o) + s
        base = self.first(o)
        freed = freed_s[~np.isin(freed_s, taken)] + base
        self.real[o, freed] = -1
        self.home[o, freed] = -1
        return rows, np.asarray(taken, np.int64) + base, freed

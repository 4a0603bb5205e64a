"""Greedy maximum marginal return for static weapon-target assignment.

Shot by shot, fire the (weapon, target) pair that removes the most expected surviving
value, ``v_j s_j p_ij`` with ``s_j`` the target's current survival probability, among
weapons with shots left (den Broeder, Ellison and Emerling, Operations Research 7,
1959). It is optimal when every weapon has the same kill probability on a given target,
and a good start for local search otherwise.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iamd.c2.wta.instance import WtaInstance

I64 = NDArray[np.int64]


def greedy(inst: WtaInstance) -> I64:
    """Shots (W, T) by maximum marginal return; W * mu steps, each vectorised over pairs."""
    w, t = inst.p.shape
    x = np.zeros((w, t), np.int64)
    left = np.full(w, inst.mu, np.int64)
    survive = np.ones(t)
    for _ in range(w * inst.mu):  # one shot per step
        gain = (inst.value * survive)[None, :] * inst.p
        gain[left == 0] = -1.0
        k = int(np.argmax(gain))
        i, j = divmod(k, t)
        if gain[i, j] <= 0.0:
            break
        x[i, j] += 1
        left[i] -= 1
        survive[j] *= 1.0 - inst.p[i, j]
    return x

"""Centralised command: one C2 node assigns the fire units of every owner under it.

Under ``c2.architecture: centralised`` (or an owner's ``architecture: centralised``) the
node named by ``c2.node`` runs the battle-management cycle for every fire unit of the
owners under that architecture, on its own owner's picture, and guides their
interceptors. Its orders to another owner's units travel over its owner's share link:
they arrive after the link's latency (a lost order is sent again, one more latency each
time), so the unit launches that much later; the node plans with it (the unit's reaction
time plus the order's latency).

While the link is down (one of its ``outages``) the central node orders none of those
units: no order would get through. A unit whose orders' link has been down for
``c2.fallback_s`` falls back to its own C2 node, which then assigns it on its own
owner's picture, autonomously as far as orders go (engagement status still flows over
the links that are up), until the link is back; the other owners' nodes under the
central node assign nothing while it directs them. The central node's own owner is
never cut off from it.

The units' stocks and channels are known to the central node as they are (their
reports are not modelled as messages).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.scenario.schema import Link
from iamd.sim import links

BOOL = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Command:
    """Who assigns which fire units.

    Attributes
    ----------
    node : the central node's index (-1: no centralised command).
    boss : its owner's index (-1: none).
    under : (owners,) the owners under centralised command.
    link : the share link that carries the central node's orders.
    fallback_s : how long that link is down before a unit falls back to its own node, s.
    """

    node: int
    boss: int
    under: BOOL
    link: Link
    fallback_s: float

    @staticmethod
    def of(
        architectures: list[str], nodes: list[tuple[str, int]], node: str | None,
        links_by_owner: list[Link], fallback_s: float,
    ) -> Command:  # fmt: skip
        """From each owner's architecture, the nodes' names and owners, the central
        node's name, each owner's share link and the fallback time."""
        under = np.array([a == "centralised" for a in architectures], dtype=bool)
        names = [name for name, _ in nodes]
        if not under.any() or node is None or node not in names:
            return Command(-1, -1, np.zeros(len(architectures), dtype=bool), Link(), fallback_s)
        k = names.index(node)
        boss = nodes[k][1]
        return Command(k, boss, under, links_by_owner[boss], fallback_s)

    def directs(self, o: int, t_s: float) -> bool:
        """Whether the central node directs owner ``o``'s units at ``t_s``: ``o`` is under
        it, and its orders' link has not been down for the fallback time."""
        if self.node < 0 or not self.under[o]:
            return False
        if o == self.boss:
            return True
        down_s = t_s if self.link.loss >= 1.0 else links.down_for_s(self.link, t_s)
        return down_s < self.fallback_s

    def reaches(self, o: int, t_s: float) -> bool:
        """Whether an order from the central node to owner ``o``'s units goes out at
        ``t_s`` (it directs them and the link is up)."""
        if o == self.boss:
            return self.directs(o, t_s)
        up = self.link.loss < 1.0 and not links.is_down(self.link, t_s)
        return up and self.directs(o, t_s)

    def reach(self, n_owners: int, t_s: float) -> BOOL:
        """Which owners (n_owners,) an order from the central node reaches at ``t_s``
        (:meth:`reaches`)."""
        return np.array([self.reaches(o, t_s) for o in range(n_owners)], dtype=bool)

    def latency_s(self, o: int) -> float:
        """An order's least time to owner ``o``'s units, s (0 for the central node's own
        owner)."""
        return 0.0 if o == self.boss else float(self.link.latency_s)

    def order_delay_s(self, o: int, rng: np.random.Generator) -> float:
        """The time an order takes to reach owner ``o``'s units: the link's latency, once
        more for each time it is lost and sent again (one draw of ``rng`` when the link
        loses messages), s."""
        if o == self.boss:
            return 0.0
        loss = float(self.link.loss)
        resent = int(rng.geometric(1.0 - loss)) - 1 if loss > 0.0 else 0
        return float(self.link.latency_s) * (1 + resent)

"""Command-line changes to a scenario: ``--set PATH=VALUE`` and ``--without OWNER``.

A PATH is dotted: mapping keys, and list items by their ``name``, by index, or ``*`` for
every item, e.g. ``doctrine.cost_weight``, ``fire_units.exo-south.rounds``, ``raid.0.count``
or ``fire_units.*.engage_on_remote``. A VALUE is
read as YAML (``0.5``, ``true``, ``[a, b]``, ``{lat_deg: 31, lon_deg: 35}``). Changes are
applied to the parsed document before validation, so a changed scenario is checked exactly
like the file; a problem in a changed value is reported against its ``--set``.

``--without OWNER`` removes a partner: its sensors, C2 nodes and fire units, its entry in
``owners`` and every ``shares_with`` reference to it, so its shared tracks go too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iamd.errors import Problem, ScenarioError
from iamd.scenario.yamlpos import Loc, Located, loads

SET_LINE = 0
"""Line number given to problems in a ``--set`` value (the file has none)."""
OWNED = ("sensors", "c2_nodes", "fire_units", "air_patrols")
"""Scenario lists whose items belong to an owner."""


@dataclass(frozen=True, slots=True)
class Override:
    """One ``--set PATH=VALUE``."""

    text: str
    path: tuple[str | int, ...]
    """Keys and item names (str), or item indices (int: a ``*`` spelt out)."""
    value: Any


def parse_set(text: str) -> Override:
    """Split ``PATH=VALUE`` and read VALUE as YAML.

    Raises
    ------
    ScenarioError
        When there is no ``=``, the path is empty, or the value is not valid YAML.
    """
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ScenarioError([_problem(text, "expected PATH=VALUE, e.g. doctrine.cost_weight=0.5")])
    parts = tuple(path.split("."))
    if any(not p for p in parts):
        raise ScenarioError([_problem(text, f"empty part in path {path!r}")])
    try:  # the scenario loader's reader: plain data only, dates stay text, aliases bounded
        value = loads(raw, f"--set {text}").data if raw.strip() else None
    except ScenarioError as exc:
        why = exc.problems[0].message if exc.problems else "unreadable"
        raise ScenarioError([_problem(text, f"value is not valid YAML ({why})")]) from None
    if value == {} and raw.strip() not in ("{}",):
        value = None  # an empty document
    if value is None and raw.strip() not in ("null", "~"):
        raise ScenarioError([_problem(text, "missing value after '='")])
    return Override(text=text, path=parts, value=value)


def _problem(text: str, message: str) -> Problem:
    return Problem(f"--set {text}", SET_LINE, 0, message)


def _step(node: Any, part: str | int, override: Override, done: tuple[str | int, ...]) -> Any:
    """The child of ``node`` named by ``part`` (a key, an item's name, or an index)."""
    where = ".".join(str(d) for d in done) or "the scenario"
    if isinstance(node, dict):
        return part
    if isinstance(part, int):  # an item of a '*'
        return part
    if isinstance(node, list):
        names = [item.get("name") if isinstance(item, dict) else None for item in node]
        if part in names:
            return names.index(part)
        if part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            return int(part) % len(node)
        listed = ", ".join(str(n) for n in names if n is not None) or f"indices 0-{len(node) - 1}"
        raise ScenarioError(
            [_problem(override.text, f"{where} has no item '{part}' (items: {listed})")]
        )
    raise ScenarioError(
        [_problem(override.text, f"{where} is a single value; it has no '{part}' inside")]
    )


def _expand(data: Any, ov: Override) -> list[Override]:
    """``ov`` with each ``*`` (every item of a list) spelt out as the items' indices."""
    if "*" not in ov.path:
        return [ov]
    k = ov.path.index("*")
    node: Any = data
    for j, part in enumerate(ov.path[:k]):
        node = (
            node.get(part) if isinstance(node, dict) else node[_step(node, part, ov, ov.path[:j])]
        )
    if not isinstance(node, list):
        where = ".".join(str(p) for p in ov.path[:k]) or "the scenario"
        raise ScenarioError(
            [_problem(ov.text, f"'*' stands for every item of a list; {where} is not a list")]
        )
    out: list[Override] = []
    for i in range(len(node)):
        path = (*ov.path[:k], i, *ov.path[k + 1 :])
        out.extend(_expand(data, Override(ov.text, path, ov.value)))
    return out


def apply_sets(located: Located, overrides: list[Override]) -> tuple[Located, dict[Loc, str]]:
    """A copy of ``located`` with every override applied.

    An override may change an existing value or add a key to an existing mapping (an
    unknown key is then refused by validation, with a suggestion).

    Returns
    -------
    The changed document, and the location of each override (for error messages).
    """
    data = copy.deepcopy(located.data)
    where: dict[Loc, str] = {}
    for ov in [x for o in overrides for x in _expand(data, o)]:
        node: Any = data
        loc: list[str | int] = []
        for k, part in enumerate(ov.path):
            last = k == len(ov.path) - 1
            if isinstance(node, dict) and part not in node:
                key: str | int = part  # a new key: validation says whether it is allowed
                if not last:
                    node[part] = {}
            else:
                key = _step(node, part, ov, ov.path[:k])
            loc.append(key)
            if last:
                node[key] = copy.deepcopy(ov.value)
            else:
                node = node[key]
        where[tuple(loc)] = ov.text
    positions = {
        loc: pos
        for loc, pos in located.positions.items()
        if not any(loc[: len(s)] == s for s in where)
    }
    for n, set_loc in enumerate(where, start=1):
        positions[set_loc] = (SET_LINE, n)
    return (
        Located(data=data, file=located.file, positions=positions, key_positions={}),
        where,
    )


def relabel(problems: list[Problem], where: dict[Loc, str]) -> list[Problem]:
    """Report problems located at an override against its ``--set`` text."""
    texts = list(where.values())
    out = []
    for p in problems:
        if p.line == SET_LINE and 1 <= p.col <= len(texts):
            out.append(Problem(f"--set {texts[p.col - 1]}", SET_LINE, 0, p.message))
        else:
            out.append(p)
    return out


def remove_owners(located: Located, owners: list[str]) -> Located:
    """A copy of ``located`` without the given owners' sensors, C2 nodes, fire units and
    air patrols (their assets stay, as the first owner's).

    Raises
    ------
    ScenarioError
        For an owner the scenario does not have.
    """
    data = copy.deepcopy(located.data)
    if not isinstance(data, dict):
        return located
    known = [o.get("name") for o in data.get("owners", []) if isinstance(o, dict)]
    for owner in owners:
        if owner not in known:
            raise ScenarioError(
                [
                    Problem(
                        f"--without {owner}",
                        0,
                        0,
                        f"no owner '{owner}' in the scenario "
                        f"(owners: {', '.join(map(str, known))})",
                    )
                ]
            )
    gone = set(owners)
    moved: dict[str, dict[int, int]] = {}  # list -> {old index: new index} of kept items

    def keep(key: str, drop: Callable[[Any], bool]) -> None:
        items = data.get(key)
        if isinstance(items, list):
            kept = [k for k, item in enumerate(items) if not drop(item)]
            moved[key] = {old: new for new, old in enumerate(kept)}
            data[key] = [items[k] for k in kept]

    for key in OWNED:
        keep(key, lambda i: isinstance(i, dict) and i.get("owner") in gone)
    keep("owners", lambda o: isinstance(o, dict) and o.get("name") in gone)
    for o in data.get("owners", []):
        if isinstance(o, dict) and isinstance(o.get("shares_with"), list):
            o["shares_with"] = [s for s in o["shares_with"] if s not in gone]
    for a in data.get("assets", []):  # a partner's assets stay, the first owner's now
        if isinstance(a, dict) and a.get("owner") in gone:
            del a["owner"]

    def relocate(table: dict[Loc, tuple[int, int]]) -> dict[Loc, tuple[int, int]]:
        """Positions of what is left, at the items' new indices."""
        out = {}
        for loc, pos in table.items():
            if len(loc) >= 2 and loc[0] in moved and isinstance(loc[1], int):
                if loc[1] not in moved[str(loc[0])]:
                    continue
                loc = (loc[0], moved[str(loc[0])][loc[1]], *loc[2:])
                if len(loc) > 3 and loc[2] == "shares_with":
                    continue  # its items shifted too
            out[loc] = pos
        return out

    return Located(
        data=data,
        file=located.file,
        positions=relocate(located.positions),
        key_positions=relocate(located.key_positions),
    )

"""Load a scenario: YAML with positions -> pydantic models -> cross-checks -> Scenario.

Every problem found is reported at once, each as ``file:line:col: message``.
"""

from __future__ import annotations

import difflib
import itertools
import math
import types
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from iamd.errors import Problem, ScenarioError
from iamd.geo import EARTH_MEAN_RADIUS_M
from iamd.scenario.catalog import SECTIONS, Catalog, bundled_catalog_data
from iamd.scenario.checks import check
from iamd.scenario.schema import ScenarioFile
from iamd.scenario.yamlpos import Loc, Located, load_file, loads

UNIT_HINTS = {
    "_deg": "degrees",
    "_km": "kilometres",
    "_m": "metres",
    "_s": "seconds",
    "_usd": "US dollars",
    "_m_s": "metres per second",
    "_kw": "kilowatts",
    "_m2": "square metres",
}


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario and the catalog it resolves against.

    Attributes
    ----------
    spec : ScenarioFile
        The file's content with defaults filled in.
    catalog : Catalog
        The bundled catalog with the scenario's overrides applied.
    source : str
        Where it was read from (a path or ``bundled:NAME``).
    warnings : tuple of Problem
        What in it is useless (it runs all the same), located in its file.
    """

    spec: ScenarioFile
    catalog: Catalog
    source: str
    warnings: tuple[Problem, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name


def bundled_scenarios() -> dict[str, str]:
    """Names of the bundled scenarios and their one-line descriptions."""
    out: dict[str, str] = {}
    folder = resources.files("iamd.scenario").joinpath("library")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = loads(entry.read_text("utf-8"), entry.name).data
            out[entry.name.removesuffix(".yaml")] = str(data.get("description", "")).strip()
    return out


def resolve_scenario_path(name_or_path: str) -> tuple[str, str]:
    """Text and display name of a scenario given by path or bundled name.

    Raises
    ------
    ScenarioError
        When it is neither an existing file nor a bundled scenario.
    """
    path = Path(name_or_path)
    if path.is_file():
        return "", str(path)
    folder = resources.files("iamd.scenario").joinpath("library")
    bundled = folder.joinpath(f"{name_or_path}.yaml")
    if bundled.is_file():
        return bundled.read_text("utf-8"), f"{name_or_path}.yaml"
    names = ", ".join(bundled_scenarios())
    raise ScenarioError(
        [Problem(name_or_path, 0, 0, f"no such file or bundled scenario (bundled: {names})")]
    )


def _unit_hint(loc: Loc) -> str:
    last = next((p for p in reversed(loc) if isinstance(p, str)), "")
    for suffix in sorted(UNIT_HINTS, key=len, reverse=True):
        if last.endswith(suffix):
            return f" ('{last}' is in {UNIT_HINTS[suffix]})"
    return ""


def _unwrap(annotation: Any) -> Any:
    """The model class a field leads to, through Optional, list and dict."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _unwrap(arg)
    if origin in (list, dict, tuple):
        args = typing.get_args(annotation)
        return _unwrap(args[-1]) if args else None
    return annotation


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    # pydantic inserts union member tags (e.g. 'Position') and '[key]' parts; keep data paths.
    return tuple(p for p in loc if isinstance(p, int) or not (p[:1].isupper() or "[" in p))


def pydantic_problems(
    exc: ValidationError, located: Located, root: type[BaseModel], prefix: Loc = ()
) -> list[Problem]:
    """Turn pydantic errors into located problems with helpful messages."""
    problems = []
    for err in exc.errors():
        loc = (*prefix, *_clean_loc(err["loc"]))
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            parent = _model_at(root, _clean_loc(err["loc"])[:-1])
            allowed = sorted(parent.model_fields) if parent else []
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            listing = f" (allowed: {', '.join(allowed)})" if allowed and not close else ""
            problems.append(located.problem(loc, f"unknown key '{key}'{hint}{listing}", key=True))
            continue
        if kind == "missing":
            if isinstance(loc[-1], int):
                where = ".".join(str(p) for p in loc[:-1])
                message = f"{where}: item {loc[-1]} is missing (too few values)"
            else:
                message = f"missing required key '{loc[-1]}'"
            problems.append(located.problem(loc[:-1], message))
            continue
        msg = str(err["msg"]).replace("Value error, ", "")
        where = ".".join(str(p) for p in loc) or "scenario"
        if kind == "too_short":
            need = (err.get("ctx") or {}).get("min_length", 1)
            msg = f"is empty; give at least {need} item(s)" if not err["input"] else msg
        if kind in ("float_type", "int_type") and isinstance(err["input"], str):
            text = err["input"] if len(err["input"]) <= 40 else err["input"][:40] + "..."
            msg = f"{msg}, not the text {text!r}"
        problems.append(located.problem(loc, f"{where}: {msg}{_unit_hint(loc)}"))
    return problems


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """``(index, item)`` of the mappings in list ``data[key]`` (anything else is skipped:
    the schema reports what is not a list of mappings)."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _list(item: dict[str, Any], key: str) -> list[Any]:
    value = item.get(key)
    return value if isinstance(value, list) else []


def _names(data: Any, key: str) -> list[str]:
    return [item["name"] for _, item in _items(data, key) if isinstance(item.get("name"), str)]


def _merge_catalog(located: Located) -> tuple[dict[str, Any], list[Problem]]:
    """The bundled catalog with the scenario's ``catalog:`` overrides and new classes.

    A new class takes ``base: EXISTING`` and overrides some of its figures, or gives every
    figure itself (as a run directory's ``scenario.yaml`` does).
    """
    base = bundled_catalog_data()
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in base.items()}
    problems: list[Problem] = []
    overrides = located.data.get("catalog") if isinstance(located.data, dict) else None
    if not isinstance(overrides, dict):
        return merged, problems
    for section, entries in overrides.items():
        if section not in SECTIONS or not isinstance(entries, dict):
            continue  # the schema reports these
        model = SECTIONS[section]
        for name, fields in entries.items():
            loc: Loc = ("catalog", section, name)
            if not isinstance(fields, dict):
                continue
            fields = dict(fields)
            parent = fields.pop("base", None)
            if parent is not None and not (isinstance(parent, str) and parent in base[section]):
                known = ", ".join(base[section])
                problems.append(
                    located.problem(
                        (*loc, "base"), f"base must be a bundled {section} class: {known}"
                    )
                )
                continue
            if parent is not None:
                merged[section][name] = {**base[section][parent], **fields}
            elif name in base[section]:
                merged[section][name] = {**base[section][name], **fields}
            elif _complete(model, fields):
                merged[section][name] = fields
            else:
                close = difflib.get_close_matches(name, list(base[section]), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problems.append(
                    located.problem(
                        loc,
                        f"unknown {section} class '{name}'; {hint}override one of "
                        f"{', '.join(base[section])}, or add a new class with 'base: EXISTING' "
                        "(or with every figure given)",
                        key=True,
                    )
                )
                continue
            try:
                model.model_validate(merged[section][name])
            except ValidationError as exc:
                problems.extend(pydantic_problems(exc, located, model, loc))
    return merged, problems


def _complete(model: type[BaseModel], fields: dict[str, Any]) -> bool:
    """Whether ``fields`` gives every required figure of ``model``."""
    return all(k in fields for k, f in model.model_fields.items() if f.is_required())


def _ref_problems(located: Located, catalog: dict[str, Any]) -> list[Problem]:
    """Cross-references checked on the raw data, so they are reported with schema errors.

    The data has not been validated yet: every value is checked for its type before use
    (a number where a list is expected, a mapping where a name is, ...); the schema
    reports those.
    """
    data = located.data if isinstance(located.data, dict) else {}
    problems: list[Problem] = []
    owners = _names(data, "owners")
    assets = _names(data, "assets")
    c2 = _names(data, "c2_nodes")

    for group in (
        ("owners",),
        ("assets",),
        ("sensors",),
        ("c2_nodes",),
        ("fire_units", "air_patrols"),
    ):
        seen: set[str] = set()
        for section in group:  # fire units and patrols share one name space (units, tables)
            for i, item in _items(data, section):
                name = item.get("name")
                if isinstance(name, str):
                    if name in seen:
                        problems.append(
                            located.problem((section, i, "name"), f"duplicate name '{name}'")
                        )
                    seen.add(name)

    def ref(loc: Loc, value: Any, allowed: list[str], what: str) -> None:
        if isinstance(value, str) and value not in allowed:
            close = difflib.get_close_matches(value, allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            known = f"known: {', '.join(allowed)}" if allowed else "none is defined"
            problems.append(located.problem(loc, f"unknown {what} '{value}'; {hint}{known}"))

    for i, owner in _items(data, "owners"):
        for j, other in enumerate(_list(owner, "shares_with")):
            ref(("owners", i, "shares_with", j), other, owners, "owner")
        for j, asset in enumerate(_list(owner, "defends")):
            ref(("owners", i, "defends", j), asset, assets, "asset")
    for i, asset in _items(data, "assets"):
        if asset.get("owner") is not None:
            ref(("assets", i, "owner"), asset.get("owner"), owners, "owner")
    doctrine = data.get("doctrine")
    classes = doctrine.get("classes") if isinstance(doctrine, dict) else None
    for name in classes if isinstance(classes, dict) else {}:
        if isinstance(name, str) and name not in catalog["interceptors"]:
            loc_c: Loc = ("doctrine", "classes", name)
            known = list(catalog["interceptors"])
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                located.problem(
                    loc_c,
                    f"unknown catalog interceptors class '{name}'; {hint}known: {', '.join(known)}",
                    key=True,
                )
            )
    for section, key, cat in (
        ("sensors", "type", "sensors"),
        ("fire_units", "interceptor", "interceptors"),
    ):
        for i, item in _items(data, section):
            ref((section, i, key), item.get(key), list(catalog[cat]), f"catalog {cat} class")
            ref((section, i, "owner"), item.get("owner"), owners, "owner")
    for i, item in _items(data, "c2_nodes"):
        ref(("c2_nodes", i, "owner"), item.get("owner"), owners, "owner")
    for i, item in _items(data, "fire_units"):
        ref(("fire_units", i, "c2"), item.get("c2"), c2, "C2 node")
    for i, item in _items(data, "air_patrols"):
        ref(("air_patrols", i, "owner"), item.get("owner"), owners, "owner")
        ref(("air_patrols", i, "c2"), item.get("c2"), c2, "C2 node")
        for key, cat in (("aircraft", "aircraft"), ("missile", "interceptors")):
            value = item.get(key, "fighter" if key == "aircraft" else "fighter_aam")
            ref(("air_patrols", i, key), value, list(catalog[cat]), f"catalog {cat} class")
    for i, salvo in _items(data, "raid"):
        ref(("raid", i, "threat"), salvo.get("threat"), list(catalog["threats"]), "threat class")
        for j, target in enumerate(_list(salvo, "targets")):
            ref(("raid", i, "targets", j), target, assets, "asset")
        problems.extend(_range_problems(located, data, catalog, i, salvo))
    problems.extend(_c2_problems(located, data))
    tracking = data.get("tracking")
    confusion = tracking.get("confusion") if isinstance(tracking, dict) else None
    threats = list(catalog["threats"])
    for a, row in confusion.items() if isinstance(confusion, dict) else ():
        if isinstance(a, str) and a not in threats:
            close = difflib.get_close_matches(a, threats, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                located.problem(
                    ("tracking", "confusion", a),
                    f"unknown threat class '{a}'; {hint}known: {', '.join(threats)}",
                    key=True,
                )
            )
        for b in row if isinstance(row, dict) else ():
            if isinstance(b, str) and b not in threats:
                ref(("tracking", "confusion", a, b), b, threats, "threat class")
    for name, entry in catalog["interceptors"].items():
        pk = entry.get("pk") if isinstance(entry, dict) else None
        for threat in pk if isinstance(pk, dict) else {}:
            if threat not in catalog["threats"]:
                loc: Loc = ("catalog", "interceptors", name, "pk", threat)
                problems.append(located.problem(loc, f"pk names unknown threat class '{threat}'"))
    return problems


def _c2_problems(located: Located, data: dict[str, Any]) -> list[Problem]:
    """The C2 architecture's references: a centralised node that exists, whose owner is
    under ``centralised`` and sends its orders to every other owner under it; remote
    engagement only for units whose owner receives partners' tracks."""
    problems: list[Problem] = []
    raw = data.get("c2")
    c2: dict[str, Any] = raw if isinstance(raw, dict) else {}
    default = c2.get("architecture", "coordinated")
    owners = dict(_items(data, "owners"))
    arch = {
        item.get("name"): item.get("architecture") or default
        for item in owners.values()
        if isinstance(item.get("name"), str)
    }
    shares = {
        item.get("name"): [p for p in _list(item, "shares_with") if isinstance(p, str)]
        for item in owners.values()
        if isinstance(item.get("name"), str)
    }
    nodes = {
        item.get("name"): item.get("owner")
        for _, item in _items(data, "c2_nodes")
        if isinstance(item.get("name"), str)
    }
    central = [name for name, a in arch.items() if a == "centralised"]
    node = c2.get("node")
    if isinstance(node, str) and node not in nodes:
        close = difflib.get_close_matches(node, [str(n) for n in nodes], n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        known = f"known: {', '.join(str(n) for n in nodes)}" if nodes else "none is defined"
        problems.append(located.problem(("c2", "node"), f"unknown C2 node '{node}'; {hint}{known}"))
    elif central and node is None:
        where: Loc = ("c2", "architecture") if default == "centralised" else ()
        if default != "centralised":
            i = next(i for i, item in owners.items() if item.get("name") == central[0])
            where = ("owners", i, "architecture")
        problems.append(
            located.problem(
                where, "'centralised' needs c2.node: the C2 node that assigns the units"
            )
        )
    elif isinstance(node, str) and not central:
        problems.append(
            located.problem(
                ("c2", "node"),
                f"c2.node names C2 node '{node}', but no owner is under 'centralised' "
                "(give c2.architecture: centralised, or an owner's architecture)",
            )
        )
    elif isinstance(node, str) and isinstance(nodes[node], str):
        boss = nodes[node]
        if boss not in central:
            problems.append(
                located.problem(
                    ("c2", "node"),
                    f"C2 node '{node}' belongs to '{boss}', which is not under 'centralised' "
                    f"(those under it: {', '.join(str(c) for c in central)})",
                )
            )
        elif not [p for p in shares.get(boss, []) if p != boss]:
            problems.append(
                located.problem(
                    ("c2", "node"),
                    f"C2 node '{node}' cannot send orders: its owner '{boss}' shares with nobody "
                    "(give it shares_with)",
                )
            )
        else:
            for i, item in owners.items():
                name = item.get("name")
                if name not in central or name == boss:
                    continue
                where = (
                    ("owners", i, "architecture")
                    if item.get("architecture")
                    else ("owners", i, "name")
                )
                if name not in shares[boss]:
                    problems.append(
                        located.problem(
                            where,
                            f"owner '{name}' is under 'centralised' but the orders of C2 node "
                            f"'{node}' cannot reach it: '{boss}' does not share with it",
                        )
                    )
                elif boss not in shares.get(name, []):
                    problems.append(
                        located.problem(
                            where,
                            f"owner '{name}' is under 'centralised' but does not share with "
                            f"'{boss}': the central node would get none of its tracks, launches "
                            "or kill assessments",
                        )
                    )
    receives = {p for name, ps in shares.items() for p in ps if p != name}
    for section in ("fire_units", "air_patrols"):
        for i, item in _items(data, section):
            owner = item.get("owner")
            for key in ("engage_on_remote", "launch_on_remote"):
                if item.get(key) is True and isinstance(owner, str) and owner not in receives:
                    problems.append(
                        located.problem(
                            (section, i, key),
                            f"{key} on a unit of '{owner}', which receives no partner's tracks "
                            "(no owner lists it under shares_with)",
                        )
                    )
    return problems


def _km_between(a: Any, b: Any) -> float:
    """Great-circle distance in km between two raw {lat_deg, lon_deg} mappings (haversine
    on the mean sphere, as :func:`iamd.geo.great_circle_distance_m`; plain floats, as this
    runs once per target of every salvo)."""
    values = [float(v) for v in (a["lat_deg"], a["lon_deg"], b["lat_deg"], b["lon_deg"])]
    if not all(math.isfinite(v) and abs(v) <= 360 for v in values):
        raise ValueError("not a position")  # the schema reports it
    lat1, lon1, lat2, lon2 = (math.radians(v) for v in values)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(h))) / 1000.0


def _target_point(asset: dict[str, Any]) -> Any:
    """A raw asset's point, or the centroid of its polygon (None if neither reads)."""
    if isinstance(asset.get("polygon"), list):
        try:
            verts = np.asarray(asset["polygon"], dtype=float)
            if verts.ndim != 2 or verts.shape[0] == 0 or not np.isfinite(verts).all():
                return None
            return {"lat_deg": verts[:, 0].mean(), "lon_deg": verts[:, 1].mean()}
        except (ValueError, TypeError, IndexError, OverflowError):
            return None
    return asset.get("point")


def _range_problems(
    located: Located, data: dict[str, Any], catalog: dict[str, Any], i: int, salvo: dict[str, Any]
) -> list[Problem]:
    """A salvo's targets must lie within its class's range band (along its waypoints)."""
    name = salvo.get("threat")
    threat = catalog["threats"].get(name) if isinstance(name, str) else None
    area = salvo.get("launch_area")
    if not isinstance(threat, dict) or not isinstance(area, dict):
        return []
    points: list[tuple[Loc, Any]] = []
    assets = {a.get("name"): a for _, a in _items(data, "assets") if isinstance(a.get("name"), str)}
    for j, target in enumerate(_list(salvo, "targets")):
        asset = assets.get(target) if isinstance(target, str) else None
        point = _target_point(asset) if asset is not None else None
        if isinstance(point, dict):
            points.append((("raid", i, "targets", j), point))
    for j, aim in enumerate(_list(salvo, "aimpoints")):
        if isinstance(aim, dict):
            points.append((("raid", i, "aimpoints", j), aim))
    legs = [w for w in _list(salvo, "waypoints") if isinstance(w, dict)]
    if threat.get("kind") != "route":
        legs = []
    try:  # the legs all routes share, once: launch area, then the waypoints
        shared_km = sum(_km_between(p, q) for p, q in itertools.pairwise([area, *legs]))
        lo, hi = float(threat["min_range_km"]), float(threat["max_range_km"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return []
    last = legs[-1] if legs else area
    problems = []
    for loc, point in points:
        try:
            d_km = shared_km + _km_between(last, point)
        except (KeyError, TypeError, ValueError, OverflowError):
            continue
        if not lo <= d_km <= hi:
            via = " along its waypoints" if legs else ""
            problems.append(
                located.problem(
                    loc,
                    f"target is {d_km:,.0f} km from the launch area{via}; "
                    f"'{name}' flies {lo:,.0f}-{hi:,.0f} km",
                )
            )
    return problems


def scenario_from_located(located: Located, source: str) -> Scenario:
    """Validate parsed data into a :class:`Scenario`, reporting every problem at once."""
    if not isinstance(located.data, dict):
        raise ScenarioError([located.problem((), "a scenario file is a mapping of keys to values")])
    problems: list[Problem] = []
    spec: ScenarioFile | None = None
    try:
        spec = ScenarioFile.model_validate(located.data)
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, located, ScenarioFile))
    merged, cat_problems = _merge_catalog(located)
    problems.extend(cat_problems)
    problems.extend(_ref_problems(located, merged))
    if problems or spec is None:
        raise ScenarioError(problems)
    catalog = Catalog.model_validate(merged)
    found = check(spec, catalog, located)
    if found.errors:
        raise ScenarioError(found.errors + found.warnings)
    return Scenario(spec=spec, catalog=catalog, source=source, warnings=tuple(found.warnings))


def _read(name_or_path: str | Path) -> tuple[Located, str]:
    """Parse a scenario file or a bundled scenario; also say where it came from."""
    text, display = resolve_scenario_path(str(name_or_path))
    if text:
        return loads(text, display), f"bundled:{display.removesuffix('.yaml')}"
    return load_file(Path(display), display), display


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load and validate a scenario file or a bundled scenario by name.

    Raises
    ------
    ScenarioError
        With every problem found, each located as file:line:col.
    """
    return scenario_from_located(*_read(name_or_path))


def load_scenario_text(text: str, file: str = "<string>") -> Scenario:
    """Validate scenario YAML given as text (tests, uploads)."""
    return scenario_from_located(loads(text, file), file)


def load_scenario_changed(
    name_or_path: str | Path, sets: list[str] | None = None, without: list[str] | None = None
) -> tuple[Scenario, Any]:
    """Load a scenario with ``--set PATH=VALUE`` and ``--without OWNER`` changes applied.

    The changed document is validated exactly like a file; a problem in a changed value is
    reported against its ``--set``.

    Returns
    -------
    The scenario, and the changed document as plain data (what was validated).

    Raises
    ------
    ScenarioError
        With every problem found.
    """
    from iamd.scenario.overrides import apply_sets, parse_set, relabel, remove_owners

    located, source = _read(name_or_path)
    if without:
        located = remove_owners(located, without)
    where: dict[Loc, str] = {}
    if sets:
        located, where = apply_sets(located, [parse_set(s) for s in sets])
    try:
        return scenario_from_located(located, source), located.data
    except ScenarioError as exc:
        raise ScenarioError(relabel(exc.problems, where)) from None

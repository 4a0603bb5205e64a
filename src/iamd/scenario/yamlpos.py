"""Safe YAML loading that remembers where every value came from.

Only PyYAML's ``SafeLoader`` node composer is used (no arbitrary tags). The
document is first scanned as a stream of events so that absurd nesting is refused
before any recursion, then composed and converted to plain Python values while a
side table maps each location path (the tuple pydantic reports in ``loc``) to its
1-based line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from iamd.errors import Problem, ScenarioError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 1_000_000

Loc = tuple[str | int, ...]
SAFE_TAGS = {
    f"tag:yaml.org,2002:{t}"
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


@dataclass(slots=True)
class Located:
    """A parsed YAML document and the position of every value and key in it."""

    data: Any
    file: str
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def where(self, loc: Loc, key: bool = False) -> tuple[int, int]:
        """Line and column of ``loc``, or of its nearest located ancestor."""
        table = self.key_positions if key else self.positions
        if key and loc in table:
            return table[loc]
        parts = tuple(loc)
        while parts:
            if parts in self.positions:
                return self.positions[parts]
            parts = parts[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, loc: Loc, message: str, key: bool = False) -> Problem:
        line, col = self.where(loc, key=key)
        return Problem(self.file, line, col, message)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _check_depth(text: str, file: str) -> None:
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    line, col = (0, 0) if mark is None else (mark.line + 1, mark.column + 1)
                    raise ScenarioError(
                        [
                            Problem(
                                file, line, col, f"nested deeper than {MAX_DEPTH} levels; refused"
                            )
                        ]
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, file)]) from None


def _yaml_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark if exc.problem_mark is not None else exc.context_mark
    line, col = (0, 0) if mark is None else (mark.line + 1, mark.column + 1)
    what = " ".join(x for x in (exc.context, exc.problem) if x)
    return Problem(file, line, col, f"YAML syntax error: {what}")


def _scalar(node: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    return loader.construct_object(node, deep=True)


def loads(text: str, file: str = "<string>") -> Located:
    """Parse YAML text into plain values with positions.

    Raises
    ------
    ScenarioError
        On a syntax error, nesting deeper than ``MAX_DEPTH``, a duplicate key, a
        non-string key, an unsafe tag, or more than ``MAX_NODES`` values.
    """
    _check_depth(text, file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, file)]) from None
    located = Located(data=None, file=file)
    if root is None:
        located.data = {}
        return located
    problems: list[Problem] = []
    count = [0]

    def convert(node: yaml.Node, loc: Loc) -> Any:
        count[0] += 1
        if count[0] > MAX_NODES:
            raise ScenarioError(
                [
                    Problem(
                        file, *_mark(node), f"more than {MAX_NODES} values (alias bomb?); refused"
                    )
                ]
            )
        located.positions[loc] = _mark(node)
        if node.tag not in SAFE_TAGS:
            problems.append(
                Problem(file, *_mark(node), f"unsupported YAML tag '{node.tag}'; only plain data")
            )
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Problem(file, *_mark(key_node), "keys must be plain strings"))
                    continue
                key = str(key_node.value)
                if key == "<<":
                    problems.append(
                        Problem(file, *_mark(key_node), "merge keys (<<) are not supported")
                    )
                    continue
                if key in out:
                    problems.append(Problem(file, *_mark(key_node), f"duplicate key '{key}'"))
                    continue
                located.key_positions[(*loc, key)] = _mark(key_node)
                out[key] = convert(value_node, (*loc, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [convert(item, (*loc, i)) for i, item in enumerate(node.value)]
        try:
            return _scalar(node)  # type: ignore[arg-type]
        except yaml.constructor.ConstructorError as exc:
            problems.append(Problem(file, *_mark(node), f"unsupported YAML value: {exc.problem}"))
            return None

    located.data = convert(root, ())
    if problems:
        raise ScenarioError(problems)
    return located


def load_file(path: Path, display_name: str | None = None) -> Located:
    """Read and parse a YAML file, refusing files over ``MAX_FILE_BYTES``."""
    name = display_name or str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError([Problem(name, 0, 0, f"cannot read file: {exc.strerror}")]) from None
    if size > MAX_FILE_BYTES:
        raise ScenarioError(
            [
                Problem(
                    name, 0, 0, f"file is {size / 1e6:.1f} MB; scenario files are limited to 10 MB"
                )
            ]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([Problem(name, 0, 0, "file is not UTF-8 text")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(name, 0, 0, f"cannot read file: {exc.strerror}")]) from None
    return loads(text, name)

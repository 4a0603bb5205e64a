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
LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe parser when PyYAML has it (ten times faster), else the pure-Python one."""
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


def _refuse(file: str, mark: Any, message: str) -> ScenarioError:
    line, col = (0, 0) if mark is None else (mark.line + 1, mark.column + 1)
    return ScenarioError([Problem(file, line, col, message)])


def _check_shape(text: str, file: str) -> None:
    """Refuse absurd nesting and alias expansion while streaming events, before composing.

    Each collection's size counts the values it would hold with every alias expanded
    (an anchor's size is known when it closes), so a "billion laughs" document is refused
    after reading it once, in time linear in its length.
    """
    depth = 0
    sizes: dict[str, int] = {}
    stack: list[tuple[str | None, int]] = [(None, 0)]
    try:
        for event in yaml.parse(text, Loader=LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _refuse(
                        file, event.start_mark, f"nested deeper than {MAX_DEPTH} levels; refused"
                    )
                stack.append((event.anchor, 1))
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                anchor, n = stack.pop()
                if anchor is not None:
                    sizes[anchor] = n
            elif isinstance(event, yaml.ScalarEvent):
                n = 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                n = sizes.get(str(event.anchor), 1)
            else:
                continue
            anchor, total = stack[-1]
            stack[-1] = (anchor, total + n)
            if total + n > MAX_NODES:
                raise _refuse(
                    file,
                    event.start_mark,
                    f"more than {MAX_NODES:,} values once aliases are expanded "
                    "(an alias bomb?); refused",
                )
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, file)]) from None
    except yaml.YAMLError as exc:  # the reader: control characters, bad encodings
        raise ScenarioError([_reader_problem(exc, text, file)]) from None


def _reader_problem(exc: yaml.YAMLError, text: str, file: str) -> Problem:
    """A problem for PyYAML's unmarked errors (``ReaderError``: a character YAML refuses)."""
    position = getattr(exc, "position", None)
    if isinstance(position, int) and 0 <= position <= len(text):
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
        char = getattr(exc, "character", None)
        code = ord(char) if isinstance(char, str) else char
        what = f"character U+{code:04X}" if isinstance(code, int) else "character"
        return Problem(file, line, col, f"YAML cannot hold the control {what}; remove it")
    return Problem(file, 1, 1, f"YAML error: {exc}")


def _yaml_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark if exc.problem_mark is not None else exc.context_mark
    line, col = (0, 0) if mark is None else (mark.line + 1, mark.column + 1)
    what = " ".join(x for x in (exc.context, exc.problem) if x)
    return Problem(file, line, col, f"YAML syntax error: {what}")


TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A scalar's plain value; timestamps stay text (``2024-04-13`` is a date in free text,
    and no field of a scenario is a date)."""
    if node.tag == TIMESTAMP_TAG:
        return str(node.value)
    return loader.construct_object(node, deep=True)


def loads(text: str, file: str = "<string>") -> Located:
    """Parse YAML text into plain values with positions.

    Raises
    ------
    ScenarioError
        On a syntax error, a control character, nesting deeper than ``MAX_DEPTH``, more
        than ``MAX_NODES`` values with aliases expanded, a duplicate key, a non-string key
        or an unsafe tag.
    """
    _check_shape(text, file)
    try:
        root = yaml.compose(text, Loader=LOADER)
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, file)]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([_reader_problem(exc, text, file)]) from None
    loader = yaml.SafeLoader("")
    located = Located(data=None, file=file)
    if root is None:
        located.data = {}
        return located
    problems: list[Problem] = []

    def convert(node: yaml.Node, loc: Loc) -> Any:
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
            return _scalar(loader, node)  # type: ignore[arg-type]
        except yaml.constructor.ConstructorError as exc:
            problems.append(Problem(file, *_mark(node), f"unsupported YAML value: {exc.problem}"))
            return None
        except (ValueError, OverflowError) as exc:
            problems.append(Problem(file, *_mark(node), f"unreadable YAML value: {exc}"))
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

"""The README's console blocks, run as printed: every ``$ iamd ...`` command is run in a
fresh directory, in order (later commands read what earlier ones wrote), and its output is
compared with the README's, line by line.

What may differ is what measures the machine, not the model: progress bars, wall-clock
times and rates, the absolute path of the directory. A line of ``...`` in the README stands
for any number of lines; a line ending in ``...`` for any ending of that line.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NOT_RUN = ("iamd serve",)
"""Commands that do not end by themselves (the web tests start the server)."""
VOLATILE = [
    (re.compile(r"━+"), "<bar>"),
    (re.compile(r"\d+:\d\d:\d\d"), "<clock>"),
    (re.compile(r"[\d.,]+ runs/s"), "<rate>"),
    (re.compile(r"in [\d.,]+ s, [\d,]+x real time"), "in <wall>"),
    (
        re.compile(r'"(time_s|iamd_ms_per_scan|stonesoup_ms_per_scan|speedup)": [\d.]+'),
        r'"\1": <t>',
    ),
    (re.compile(r"\(runs under [^;]+;"), "(runs under <dir>;"),
]
"""Parts of a line that measure the machine: replaced before comparing."""


def console_blocks(text: str) -> list[tuple[str, list[str]]]:
    """``(command, expected output lines)`` of every ``$`` line in ```console blocks."""
    out: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                out.append((line[2:].strip(), []))
            elif out:
                out[-1][1].append(line)
    return out


def _norm(line: str) -> str:
    line = line.rstrip()
    for pattern, repl in VOLATILE:
        line = pattern.sub(repl, line)
    return line


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` reads as ``expected``, where ``...`` lines skip any lines."""
    exp = [_norm(e) for e in expected]
    act = [_norm(a) for a in actual if a.strip()]
    exp = [e for e in exp if e.strip()]

    def line_ok(e: str, a: str) -> bool:
        return a.startswith(e[:-3].rstrip()) if e.endswith("...") else a == e

    def walk(i: int, j: int) -> bool:
        if i == len(exp):
            return True
        if exp[i] == "...":
            return any(walk(i + 1, k) for k in range(j, len(act) + 1))
        return j < len(act) and line_ok(exp[i], act[j]) and walk(i + 1, j + 1)

    return walk(0, 0)


def test_the_matcher() -> None:
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["a b ..."], ["a b c"]) and not matches(["a", "c"], ["a", "b"])
    assert matches(["x ━━ 1/1 0:00:41"], ["x ━━━━━ 1/1 0:00:02"])
    assert not matches(["total 5"], ["total 6"])


def test_every_console_block_is_parsed() -> None:
    blocks = console_blocks(README.read_text("utf-8"))
    assert len(blocks) >= 10 and all(cmd.startswith("iamd ") for cmd, _ in blocks), blocks


@pytest.mark.slow
def test_the_readme_commands_print_what_the_readme_shows(tmp_path: Path) -> None:
    iamd = Path(sys.executable).parent / "iamd"
    assert iamd.exists(), "iamd is not installed beside the interpreter"
    for rel in ("examples", "benchmarks/data"):
        shutil.copytree(ROOT / rel, tmp_path / rel)
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    demo = subprocess.run(
        [str(iamd), "demo", "-q"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr
    failures = []
    for command, expected in console_blocks(README.read_text("utf-8")):
        if command.startswith(NOT_RUN):
            continue
        args = shlex.split(command.split("  #")[0])
        res = subprocess.run(
            [str(iamd), *args[1:]], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        lines = (res.stderr + res.stdout).splitlines()  # progress and notes come first
        refused = any(re.match(r"\d+ problem\(s\) found", e) for e in expected)
        ok = res.returncode == (2 if refused else 0) and "Traceback" not in res.stderr
        if not ok or not matches(expected, lines):
            failures.append(f"$ {command}\n--- README\n" + "\n".join(expected)
                            + "\n--- printed\n" + "\n".join(lines))  # fmt: skip
    assert not failures, "\n\n".join(failures)

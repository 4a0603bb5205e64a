"""Bring the README's printed outputs up to date with what the commands print today.

Runs every ``$ iamd ...`` line of the README's console blocks exactly as
``tests/test_readme.py`` does (a fresh directory, ``iamd demo`` first, in order), then
rewrites the output under each command that the README shows in full. An output the
README abridges with ``...`` lines is left alone and printed when it no longer matches, to
be edited by hand. Run from the checkout, with iamd installed in the interpreter's
environment::

    .venv/bin/python docs/readme_outputs.py          # rewrite README.md
    .venv/bin/python docs/readme_outputs.py --check  # only say what differs (exit 1)
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_readme import NOT_RUN, README, console_blocks, matches  # noqa: E402

ENV = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def printed(workdir: Path) -> dict[str, list[str]]:
    """What each README command prints today, by command (run in ``workdir``)."""
    iamd = Path(sys.executable).parent / "iamd"
    for rel in ("examples", "benchmarks/data"):
        shutil.copytree(ROOT / rel, workdir / rel)
    subprocess.run([str(iamd), "demo", "-q"], cwd=workdir, env=ENV, check=True,
                   capture_output=True)  # fmt: skip
    out: dict[str, list[str]] = {}
    for command, _ in console_blocks(README.read_text("utf-8")):
        if command.startswith(NOT_RUN):
            continue
        args = shlex.split(command.split("  #")[0])
        res = subprocess.run([str(iamd), *args[1:]], cwd=workdir, env=ENV,
                             capture_output=True, text=True)  # fmt: skip
        lines = [ln.rstrip() for ln in (res.stderr + res.stdout).splitlines()]
        out[command] = [ln for ln in lines if ln.strip()]
        print(f"ran: {command}", file=sys.stderr)
    return out


def rewrite(text: str, now: dict[str, list[str]]) -> tuple[str, list[str]]:
    """The README with full outputs replaced; and the abridged ones that differ."""
    lines = text.split("\n")
    result: list[str] = []
    stale: list[str] = []
    k = 0
    in_console = False
    while k < len(lines):
        line = lines[k]
        result.append(line)
        k += 1
        if line.startswith("```console"):
            in_console = True
            continue
        if in_console and line.startswith("```"):
            in_console = False
            continue
        if not (in_console and line.startswith("$ ")):
            continue
        command = line[2:].strip()
        shown = []
        while k < len(lines) and not lines[k].startswith(("$ ", "```")):
            shown.append(lines[k])
            k += 1
        actual = now.get(command)
        abridged = any(s.strip() == "..." or s.rstrip().endswith("...") for s in shown)
        if actual is None or matches(shown, actual):
            result += shown
        elif abridged:
            result += shown
            stale.append(f"$ {command}\n--- README\n" + "\n".join(shown)
                         + "\n--- printed\n" + "\n".join(actual))  # fmt: skip
        else:
            result += actual
    return "\n".join(result), stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        now = printed(Path(tmp))
    text = README.read_text("utf-8")
    new, stale = rewrite(text, now)
    for s in stale:
        print(s + "\n")
    if args.check:
        return 1 if (new != text or stale) else 0
    if new != text:
        README.write_text(new, "utf-8")
        print("README.md rewritten")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""No server path in a response: absolute paths in messages are cut to their last part."""

from __future__ import annotations

import re

_PART = r"""[^\s'"`\\/:;,()<>\[\]]"""
QUOTED_PATH = re.compile(r"""(['"])((?:[A-Za-z]:)?[\\/][^'"\n]*)\1""")
"""A quoted absolute path (may hold spaces): ``'/home/a b/runs/x.yaml'``."""
ABSOLUTE_PATH = re.compile(rf"""(?<![\w.~:/\\-])(?:[A-Za-z]:)?[\\/](?:{_PART}+[\\/])*({_PART}*)""")
"""An absolute POSIX or Windows path (``/a/b/c``, ``C:\\a\\b``) not inside a word or URL."""


def _last(path: str) -> str:
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1] or "(path)"


def redact_paths(text: str) -> str:
    """``text`` with every absolute path replaced by its last component.

    ``"cannot read /srv/runs/north/events.parquet: bad"`` becomes
    ``"cannot read events.parquet: bad"``. A message may name a file of the run it is about,
    never where the server keeps it.
    """
    text = QUOTED_PATH.sub(lambda m: f"{m.group(1)}{_last(m.group(2))}{m.group(1)}", text)
    return ABSOLUTE_PATH.sub(lambda m: m.group(1) or "(path)", text)

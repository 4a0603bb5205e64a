"""JSON that stays JSON: NaN and infinities (which ``json.dumps`` writes as bare ``NaN``,
which no JSON reader accepts) become ``null``."""

from __future__ import annotations

import math
from typing import Any


def finite(x: Any) -> Any:
    """``x`` with every NaN or infinite float, at any depth of dicts and lists, as None."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite(v) for v in x]
    return x

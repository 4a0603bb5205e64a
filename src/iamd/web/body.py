"""Request bodies: read within a size and a time limit, parsed as one JSON object."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import HTTPException, Request


async def read_limited(request: Request, limit_bytes: int, timeout_s: float) -> bytes:
    """The request body, or an error once it passes ``limit_bytes`` or ``timeout_s``.

    Raises
    ------
    HTTPException
        413 past ``limit_bytes`` (checked against ``Content-Length`` first, then while
        reading); 408 when the whole body has not arrived within ``timeout_s`` (a client
        that trickles a body a byte at a time holds no slot for long).
    """
    too_big = HTTPException(413, f"upload larger than {limit_bytes // 1024} KiB")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit_bytes:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit_bytes:
                    raise too_big
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPException(
            408, f"the request body did not arrive within {timeout_s:g} s"
        ) from None
    return b"".join(chunks)


def json_object(body: bytes, expected: str) -> dict[str, Any]:
    """``body`` parsed as a JSON object.

    Parameters
    ----------
    body : bytes
        The request body.
    expected : str
        What the route takes, for the message (e.g. ``'{"yaml": TEXT}'``).

    Raises
    ------
    HTTPException
        400 for malformed JSON, JSON nested too deep to parse, or JSON that is not an object.
    """
    try:
        data = json.loads(body)
    except RecursionError:
        raise HTTPException(400, "malformed JSON: nested too deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HTTPException(400, f"expected a JSON object: {expected}")
    return data

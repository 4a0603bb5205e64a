"""Who may talk to the server: Host, Origin, Fetch Metadata and Content-Type checks.

An ASGI middleware in front of every HTTP request and WebSocket handshake:

* **DNS rebinding.** The ``Host`` header must be one the server answers to: the bound
  host, ``localhost``, ``127.0.0.1`` or ``[::1]`` with the served port, or a name given
  with ``iamd serve --allow-host``. Anything else gets a fixed ``421`` (nothing of the
  request is reflected).
* **Cross-site requests.** A state-changing request (any method but GET, HEAD and
  OPTIONS) and a WebSocket handshake must not come from another site
  (``Sec-Fetch-Site`` ``cross-site`` or ``same-site``), must carry an ``Origin``, when
  they carry one, that is this server's (any request does), and a state-changing request must be
  ``Content-Type: application/json`` (which a page on another origin cannot send without
  a CORS preflight this server never answers). Reads from another site are refused too,
  except top-level navigations (a link to the page still opens it).
* **Response headers** on everything: a Content Security Policy whose ``connect-src``
  names this server's exact WebSocket origin, ``frame-ancestors 'none'``,
  ``form-action 'none'``, ``nosniff`` and no referrer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing; every other method is checked as state-changing."""
LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")
"""Names the server always answers to (with its port)."""
HOST_RE = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?)(?::\d{1,5})?$"
)
"""A ``Host`` value or an ``--allow-host`` entry: a name or bracketed IPv6, optional port."""
OTHER_SITES = frozenset({"cross-site", "same-site"})
"""``Sec-Fetch-Site`` values of requests made by a page that is not this server's."""


def host_name(host: str) -> str:
    """``host`` as it appears in a ``Host`` header (IPv6 addresses in brackets), lower case."""
    host = host.strip().lower()
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The ``Host`` values (``name:port``, lower case) this server answers to.

    Parameters
    ----------
    allowed : frozenset of str
        Exact ``Host`` header values accepted.
    """

    allowed: frozenset[str]

    @classmethod
    def for_server(cls, host: str, port: int, extra: Iterable[str] = ()) -> HostPolicy:
        """The policy of a server bound to ``host:port`` with ``--allow-host`` names ``extra``.

        An ``extra`` entry with a port is accepted as given; one without a port is accepted
        with the served port and bare (as a reverse proxy on port 80 or 443 sends it).

        Raises
        ------
        ValueError
            For an ``extra`` entry that is not a host name, an IPv4 address or a bracketed
            IPv6 address with an optional port.
        """
        allowed = {f"{name}:{port}" for name in (host_name(host), *LOCAL_NAMES)}
        if port == 80:
            allowed |= {host_name(host), *LOCAL_NAMES}
        for entry in extra:
            name = entry.strip().lower()
            if not HOST_RE.match(name):
                raise ValueError(
                    f"--allow-host {entry!r}: expected a host name or address, "
                    "optionally with :PORT (e.g. iamd.example.org or 10.0.0.5:8000)"
                )
            has_port = name.rsplit("]", 1)[-1].count(":") == 1
            allowed |= {name} if has_port else {name, f"{name}:{port}"}
        return cls(frozenset(allowed))

    def accepts(self, host: str | None) -> bool:
        """Whether a request with ``Host: host`` is for this server."""
        return host is not None and host.strip().lower() in self.allowed

    def accepts_origin(self, origin: str) -> bool:
        """Whether ``Origin: origin`` is one of this server's origins (http or https)."""
        scheme, sep, authority = origin.strip().lower().partition("://")
        return bool(sep) and scheme in ("http", "https") and authority in self.allowed


def csp(host: str | None) -> str:
    """The Content Security Policy of a response to a request for ``host`` (already checked).

    ``connect-src`` is ``'self'`` plus this server's exact WebSocket origins, never a bare
    ``ws:`` (which would let a script reach any WebSocket server).
    """
    sockets = f" ws://{host} wss://{host}" if host else ""
    return (
        "default-src 'self'; script-src 'self'; img-src 'self' data: blob:; "
        "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; child-src 'self' blob:; "
        f"connect-src 'self'{sockets}; frame-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


FILE_CSP = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "form-action 'none'; frame-ancestors 'none'"
)
"""The policy of a file served as it is (``/api/runs/NAME/files/FILE``): a report page
opens sandboxed, in an origin of its own, with no scripts, so a page written by anyone
into ``--runs`` cannot act as the application."""


def policy_for(path: str, host: str | None) -> str:
    """The Content Security Policy of a response to ``path`` (the request's host checked)."""
    return FILE_CSP if "/files/" in path else csp(host)


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers, lower-case names; a repeated header keeps its first value."""
    out: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def refusal(scope: Scope, policy: HostPolicy) -> tuple[int, str] | None:
    """Why a request or handshake is refused (status, message), or None when it may pass."""
    h = _headers(scope)
    if not policy.accepts(h.get("host")):
        return 421, "this server does not answer to that host name"
    site = h.get("sec-fetch-site", "").strip().lower()
    origin = h.get("origin")
    is_ws = scope["type"] == "websocket"
    method = str(scope.get("method", "GET")).upper()
    changes = is_ws or method not in SAFE_METHODS
    if site in OTHER_SITES:
        navigation = h.get("sec-fetch-mode", "").lower() == "navigate" and method == "GET"
        if changes or not navigation:
            return 403, "requests from other sites are refused"
    if origin is not None and not policy.accepts_origin(origin):
        return 403, "requests from other origins are refused"
    if changes and not is_ws and not _is_json(h.get("content-type")):
        return 415, "send JSON with Content-Type: application/json"
    return None


class Guard:
    """ASGI middleware: refuses what :func:`refusal` refuses and adds security headers.

    Parameters
    ----------
    app : ASGI application
        The application behind the guard.
    policy : HostPolicy
        The host names the server answers to.
    """

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = refusal(scope, self.policy)
        host = _headers(scope).get("host") if refused is None else None
        if refused is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})  # HTTP 403 on handshake
            else:
                await _send_refusal(send, *refused)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                policy = policy_for(scope.get("path", ""), host)
                message["headers"] = _security_headers(message.get("headers", []), policy)
            await send(message)

        await self.app(scope, receive, with_headers)


def _security_headers(headers: Iterable[tuple[bytes, bytes]], policy: str) -> list[Any]:
    ours = {
        b"content-security-policy": policy.encode(),
        b"x-content-type-options": b"nosniff",
        b"referrer-policy": b"no-referrer",
        b"x-frame-options": b"DENY",
        b"cross-origin-opener-policy": b"same-origin",
        b"cross-origin-resource-policy": b"same-origin",
    }
    kept = [(k, v) for k, v in headers if k.lower() not in ours]
    return kept + list(ours.items())


async def _send_refusal(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _security_headers(
                [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
                csp(None),
            ),
        }
    )
    await send({"type": "http.response.body", "body": body})

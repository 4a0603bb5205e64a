"""Serving the application: the socket, uvicorn's limits and a header timeout.

Slow clients hold connections, so every stage of a request has a bound: the request line
and headers must arrive within ``header_timeout_s`` of the connection (or of the previous
response), their size is capped (``h11_max_incomplete_event_size``), a body within
``body_timeout_s`` (:func:`iamd.web.body.read_limited`), idle keep-alive connections close
after ``KEEP_ALIVE_S``, WebSocket frames from the client are capped at ``WS_MAX_BYTES``
(the server never needs more than a few bytes from them) and the number of connections
at ``MAX_CONNECTIONS``.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from iamd.errors import IamdError

KEEP_ALIVE_S = 5
"""Idle time after which a keep-alive connection is closed, s."""
HEADER_TIMEOUT_S = 10.0
"""Time for a request line and its headers to arrive, s."""
MAX_HEADER_BYTES = 16 * 1024
"""Largest request line plus headers."""
WS_MAX_BYTES = 64 * 1024
"""Largest WebSocket message accepted from a client."""
MAX_CONNECTIONS = 100
"""Connections (and tasks) beyond which requests get 503."""


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose headers do not arrive in time.

    uvicorn's keep-alive timer only runs between requests and stops at the first byte of
    the next one, so a client sending a header a byte a minute would hold its connection
    for ever. This timer runs from the connection (and from each response) until the next
    request's headers are complete.
    """

    header_timeout_s = HEADER_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        if self.conn.their_state is h11.IDLE:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _timed_out(self) -> None:
        self._header_timer = None
        if self.transport.get_protocol() is not self:  # upgraded to a WebSocket
            return
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request's headers are in
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def uvicorn_config(app: Any, header_timeout_s: float = HEADER_TIMEOUT_S) -> uvicorn.Config:
    """The uvicorn configuration of ``iamd serve`` (also used by the tests)."""
    protocol = type(
        "IamdH11Protocol", (HeaderTimeoutH11Protocol,), {"header_timeout_s": header_timeout_s}
    )
    return uvicorn.Config(
        app,
        http=protocol,
        ws_max_size=WS_MAX_BYTES,
        timeout_keep_alive=KEEP_ALIVE_S,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        limit_concurrency=MAX_CONNECTIONS,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``.

    Raises
    ------
    IamdError
        When the port is in use, the address is not this machine's, or binding is not
        permitted (a clear message for the command line, never a traceback).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise IamdError(f"--host {host}: not an address or a name of this machine") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise IamdError(f"port {port} is in use (choose another with --port)") from None
        if exc.errno == errno.EACCES:
            raise IamdError(f"port {port}: permission denied (use a port above 1023)") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise IamdError(f"--host {host}: not an address of this machine") from None
        raise IamdError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock

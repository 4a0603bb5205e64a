"""``iamd serve`` on a real socket: slow clients are cut off, big WebSocket frames refused,
the port is bound before the banner, a missing ``--runs`` is an error."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from iamd.errors import IamdError
from iamd.web.app import Settings, create_app
from iamd.web.server import WS_MAX_BYTES, bind, uvicorn_config


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, northern_run: Path) -> Iterator[int]:
    """A real uvicorn server with short header and body timeouts; yields its port."""
    runs = tmp_path_factory.mktemp("served") / "runs"
    runs.mkdir()
    shutil.copytree(northern_run, runs / "north")
    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    app = create_app(Settings(runs_dir=runs, port=port, body_timeout_s=0.5, run_timeout_s=120))
    server = uvicorn.Server(uvicorn_config(app, header_timeout_s=0.5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=30)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(30)
    return s


def closed_while_trickling(s: socket.socket, line: bytes, times: int) -> bool:
    """Send ``line`` every 0.1 s up to ``times`` times; whether the server closed first."""
    s.settimeout(0.1)
    for _ in range(times):
        try:
            if s.recv(1024) == b"":
                return True
        except TimeoutError:
            pass
        except OSError:
            return True
        try:
            s.sendall(line)
        except OSError:
            return True
    return False


def test_slow_headers_are_cut_off(served: int) -> None:
    """A client trickling header lines (slowloris) loses its connection."""
    s = connect(served)
    s.sendall(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % served)
    assert closed_while_trickling(s, b"X-Slow: 1\r\n", times=300)
    s.close()


def test_an_idle_connection_is_cut_off(served: int) -> None:
    s = connect(served)
    assert s.recv(1024) == b""
    s.close()


def test_a_complete_request_is_served(served: int) -> None:
    s = connect(served)
    s.sendall(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % served)
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    s.close()


def test_a_slow_body_is_a_408(served: int) -> None:
    s = connect(served)
    head = (
        b"POST /api/validate HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{" % served
    )
    s.sendall(head)
    s.settimeout(0.1)
    reply = b""
    for _ in range(300):  # a byte every 0.1 s, never the whole body
        try:
            reply += s.recv(4096)
            if reply:
                break
        except TimeoutError:
            s.sendall(b" ")
    assert reply.startswith(b"HTTP/1.1 408"), reply[:100]
    s.close()


def test_big_websocket_frames_are_refused(served: int) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect

    origin = f"http://127.0.0.1:{served}"
    body = json.dumps({"scenario": "northern-front", "seed": 2}).encode()
    s = connect(served)
    s.sendall(
        b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (served, len(body), body)
    )
    reply = b""
    while chunk := s.recv(4096):
        reply += chunk
    job = json.loads(reply.split(b"\r\n\r\n", 1)[1])["job"]
    with ws_connect(f"ws://127.0.0.1:{served}/api/live/{job}", origin=origin) as ws:  # type: ignore[arg-type]
        assert json.loads(ws.recv())["type"] == "start"
        ws.send("x" * (WS_MAX_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
    s = connect(served)  # stop the run
    s.sendall(
        b"POST /api/live/%s/cancel HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" % (job.encode(), served)
    )
    assert s.recv(4096).startswith(b"HTTP/1.1 202")
    s.close()


def test_a_busy_port_is_a_clear_error() -> None:
    taken = bind("127.0.0.1", 0)
    port = int(taken.getsockname()[1])
    with pytest.raises(IamdError, match=f"port {port} is in use"):
        bind("127.0.0.1", port)
    taken.close()


def cli(args: list[str]) -> Any:
    from iamd.cli import app

    return CliRunner().invoke(app, ["serve", *args])


def test_serve_on_a_busy_port_fails_before_the_banner(tmp_path: Path) -> None:
    taken = bind("127.0.0.1", 0)
    port = int(taken.getsockname()[1])
    res = cli(["--runs", str(tmp_path), "--port", str(port)])
    taken.close()
    assert res.exit_code == 2
    assert f"error: port {port} is in use" in res.output
    assert "iamd serve:" not in res.output and "Traceback" not in res.output


def test_serve_refuses_a_missing_runs_directory(tmp_path: Path) -> None:
    res = cli(["--runs", str(tmp_path / "TYPO")])
    assert res.exit_code == 2 and "TYPO does not exist; create it" in res.output
    assert not (tmp_path / "TYPO").exists()
    assert "Traceback" not in res.output


def test_serve_binds_then_prints_then_serves_with_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(self: uvicorn.Server, sockets: list[socket.socket]) -> None:
        seen["config"], seen["sockets"] = self.config, sockets
        seen["listening"] = sockets[0].getsockname()[1]
        sockets[0].close()

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    res = cli(["--runs", str(tmp_path), "--port", "0", "--allow-host", "iamd.example.org",
               "--run-timeout-s", "30", "--run-memory-mb", "2048"])  # fmt: skip
    assert res.exit_code == 0, res.output
    port = seen["listening"]
    assert f"iamd serve: http://127.0.0.1:{port}" in res.output
    config = seen["config"]
    assert config.ws_max_size == WS_MAX_BYTES and config.timeout_keep_alive <= 10
    assert config.h11_max_incomplete_event_size is not None
    settings = config.app.state.settings
    assert settings.port == port and settings.allow_hosts == ("iamd.example.org",)
    assert (settings.run_timeout_s, settings.run_memory_mb) == (30.0, 2048)

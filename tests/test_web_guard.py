"""Requests the server must refuse: other hosts (DNS rebinding), other origins and sites,
state changes that are not JSON; and the security headers of what it serves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from iamd.web.app import Settings, create_app
from iamd.web.guard import HostPolicy

HOST = "127.0.0.1:8000"
BASE = f"http://{HOST}"
JSON = {"Content-Type": "application/json"}
START = json.dumps({"scenario": "northern-front", "seed": 3})
VALIDATE = json.dumps({"yaml": "name: x\n"})


@pytest.fixture
def runs(tmp_path: Path, northern_run: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    shutil.copytree(northern_run, root / "north")
    return root


@pytest.fixture
def client(runs: Path):
    settings = Settings(runs_dir=runs, max_runs=1, allow_hosts=("iamd.example.org",))
    with TestClient(create_app(settings), base_url=BASE) as c:
        yield c


def nothing_started(client: TestClient, runs: Path) -> bool:
    runner = client.app.state.runner  # type: ignore[attr-defined]
    return (
        runner.active == 0
        and not runner.jobs
        and sorted(p.name for p in runs.iterdir()) == ["north"]
    )


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:8000", "127.0.0.1:9999", "127.0.0.1", ""]
)
def test_other_host_names_are_refused_without_reflection(client: TestClient, host: str) -> None:
    for method, url, body in [
        ("GET", "/api/runs", None),
        ("GET", "/api/runs/north/replay", None),
        ("GET", "/", None),
        ("GET", "/api/runs/", None),  # would be a redirect naming the Host
        ("POST", "/api/runs", START),
    ]:
        r = client.request(method, url, content=body, headers={**JSON, "Host": host})
        assert r.status_code == 421, (method, url, host)
        assert "north" not in r.text and "attacker" not in r.text and "9999" not in r.text
        assert "location" not in r.headers
        assert "attacker" not in json.dumps(dict(r.headers))


def test_rebinding_cannot_start_a_run(client: TestClient, runs: Path) -> None:
    r = client.post("/api/runs", content=START, headers={**JSON, "Host": "attacker.example:8000"})
    assert r.status_code == 421
    assert nothing_started(client, runs)


@pytest.mark.parametrize(
    "host", [HOST, "localhost:8000", "[::1]:8000", "LOCALHOST:8000", "iamd.example.org"]
)
def test_own_host_names_are_served(client: TestClient, host: str) -> None:
    r = client.get("/api/runs", headers={"Host": host})
    assert r.status_code == 200 and r.json()[0]["name"] == "north"


def test_allow_host_with_the_port(client: TestClient) -> None:
    assert client.get("/api/runs", headers={"Host": "iamd.example.org:8000"}).status_code == 200
    assert client.get("/api/runs", headers={"Host": "iamd.example.org:81"}).status_code == 421


def test_host_policy_entries() -> None:
    policy = HostPolicy.for_server("::1", 8765, ["Proxy.Example:443", "10.0.0.5"])
    assert policy.accepts("[::1]:8765") and policy.accepts("proxy.example:443")
    assert policy.accepts("10.0.0.5") and policy.accepts("10.0.0.5:8765")
    assert not policy.accepts("proxy.example") and not policy.accepts("[::1]:80")
    assert policy.accepts_origin("http://localhost:8765")
    assert not policy.accepts_origin("http://localhost:8766")
    assert not policy.accepts_origin("null") and not policy.accepts_origin("file://localhost:8765")
    for bad in ["a b", "evil.example/", "x:y:z", "http://x", ""]:
        with pytest.raises(ValueError):
            HostPolicy.for_server("127.0.0.1", 8000, [bad])


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])  # fmt: skip
@pytest.mark.parametrize("url,body", [("/api/runs", START), ("/api/validate", VALIDATE)])
def test_state_changes_must_be_json(
    client: TestClient, runs: Path, content_type: str | None, url: str, body: str
) -> None:
    """What a ``no-cors`` fetch or a form from another origin can send is refused."""
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post(url, content=body, headers=headers)
    assert r.status_code == 415, content_type
    assert nothing_started(client, runs)


@pytest.mark.parametrize(
    "origin",
    ["http://attacker.example", "http://127.0.0.1:9999", "https://localhost:8001", "null"],
)
def test_state_changes_from_other_origins_are_refused(
    client: TestClient, runs: Path, origin: str
) -> None:
    for url, body in [("/api/runs", START), ("/api/validate", VALIDATE)]:
        r = client.post(url, content=body, headers={**JSON, "Origin": origin})
        assert r.status_code == 403, (url, origin)
    cancel = client.post("/api/live/x/cancel", content="{}", headers={**JSON, "Origin": origin})
    assert cancel.status_code == 403
    assert nothing_started(client, runs)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_requests_from_other_sites_are_refused(client: TestClient, runs: Path, site: str) -> None:
    fetch = {"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "cors"}
    assert client.post("/api/runs", content=START, headers={**JSON, **fetch}).status_code == 403
    assert client.get("/api/runs", headers=fetch).status_code == 403
    assert nothing_started(client, runs)
    # a link from another site still opens the page
    nav = {"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    assert client.get("/", headers=nav).status_code == 200


def test_same_origin_requests_pass(client: TestClient) -> None:
    own = {**JSON, "Origin": BASE, "Sec-Fetch-Site": "same-origin"}
    r = client.post("/api/validate", content=VALIDATE, headers=own)
    assert r.status_code == 200 and r.json()["valid"] is False
    r = client.post(
        "/api/validate",
        content=VALIDATE,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},
        {"Host": "attacker.example:8000"},
        {"Host": "attacker.example:8000", "Origin": "http://attacker.example:8000"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_websocket_handshakes_from_elsewhere_are_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(f"ws://{HOST}/api/live/nope", headers=dict(headers)) as ws,
    ):
        ws.receive_json()


def test_websocket_from_the_page_is_accepted(client: TestClient) -> None:
    with client.websocket_connect(f"ws://{HOST}/api/live/nope", headers={"Origin": BASE}) as ws:
        assert ws.receive_json() == {"type": "error", "message": "no such job"}


def test_security_headers(client: TestClient) -> None:
    for url in ("/", "/api/runs", "/static/app.js", "/api/runs/nope/replay"):
        r = client.get(url)
        csp = {
            d.split()[0]: d.split()[1:] for d in r.headers["content-security-policy"].split("; ")
        }
        assert csp["form-action"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
        assert csp["connect-src"] == ["'self'", f"ws://{HOST}", f"wss://{HOST}"], url
        assert "ws:" not in csp["connect-src"] and "wss:" not in csp["connect-src"]
        assert csp["script-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
    # the connect-src names the host the request was for
    r = client.get("/", headers={"Host": "localhost:8000"})
    assert (
        "connect-src 'self' ws://localhost:8000 wss://localhost:8000;"
        in r.headers["content-security-policy"]
    )

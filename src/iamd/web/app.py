"""The web interface: a FastAPI application over the run directories under ``--runs``.

It serves its own static files (the page, its script and the vendored MapLibre and
Natural Earth borders) and JSON made from run and Monte Carlo directories, starts runs in
child processes and streams them over a WebSocket. What it refuses:

* requests for another host name (DNS rebinding), state-changing requests and WebSocket
  handshakes from other origins or sites, and state-changing requests that are not
  ``application/json`` (:mod:`iamd.web.guard`);
* names that are not a single plain path segment and any file whose real path, symlinks
  followed, leaves ``--runs`` (:mod:`iamd.web.rundirs`);
* request bodies over ``max_upload_bytes`` (413) or slower than ``body_timeout_s`` (408),
  malformed or too deeply nested JSON (400), scenarios that fail validation (422, with
  their line numbers) before anything runs;
* more than ``max_runs`` runs at once (429); runs stop past ``run_timeout_s`` or
  ``run_memory_mb`` (:mod:`iamd.web.live`);
* scenario names other than the bundled ones (a name is never a server path).

No response holds a server path: messages name files relative to ``--runs``, and every
error detail passes :func:`~iamd.web.redact.redact_paths`. YAML is parsed with the safe
loader only; nothing is pickled from a client and no shell is started.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from iamd.errors import IamdError, ScenarioError
from iamd.jsonsafe import finite
from iamd.web.body import json_object, read_limited
from iamd.web.guard import Guard, HostPolicy
from iamd.web.live import Limits, Runner
from iamd.web.redact import redact_paths
from iamd.web.rundirs import NAME_RE, RunFiles, RunsRoot, list_runs, load_run, run_files

FILES = {"summary.json", "scenario.yaml", "map.png", "report.html", "sweep.csv", "sweep.json"}
"""Files of a run or Monte Carlo directory the browser may fetch as they are."""
START_BODY = '{"scenario": NAME} or {"yaml": TEXT, "file": NAME}, with an optional "seed"'
VALIDATE_BODY = '{"yaml": TEXT, "file": NAME}'


@dataclass(frozen=True, slots=True)
class Settings:
    """Server settings (the ``iamd serve`` options).

    ``host`` and ``port`` are where the server is reached; with ``allow_hosts`` they make
    the ``Host`` names it answers to.
    """

    runs_dir: Path = Path("runs")
    max_runs: int = 2
    max_upload_bytes: int = 256 * 1024
    host: str = "127.0.0.1"
    port: int = 8000
    allow_hosts: tuple[str, ...] = ()
    run_timeout_s: float = 600.0
    run_memory_mb: int = 4096
    body_timeout_s: float = 30.0


def static_dir() -> Path:
    return Path(str(resources.files("iamd.web").joinpath("static")))


def _validate_text(text: str, file: str) -> list[dict[str, Any]]:
    from iamd.scenario.load import load_scenario_text
    from iamd.web.live import problem_dicts

    try:
        load_scenario_text(text, file)
    except ScenarioError as exc:
        return problem_dicts(exc)
    return []


def _json(doc: Any) -> bytes:
    return json.dumps(finite(doc), separators=(",", ":")).encode()


def _check(settings: Settings) -> tuple[RunsRoot, HostPolicy]:
    """The runs directory and host policy of ``settings``, or an :class:`IamdError`."""
    if settings.max_runs < 1:
        raise IamdError("--max-runs must be at least 1")
    if settings.max_upload_bytes < 1024:
        raise IamdError("--max-upload-kb must be at least 1")
    if not settings.run_timeout_s > 0:
        raise IamdError("--run-timeout-s must be more than 0")
    if settings.run_memory_mb < 16:
        raise IamdError("--run-memory-mb must be at least 16")
    try:
        policy = HostPolicy.for_server(settings.host, settings.port, settings.allow_hosts)
    except ValueError as exc:
        raise IamdError(str(exc)) from None
    return RunsRoot.open(settings.runs_dir), policy


def _upload_file(data: dict[str, Any]) -> str:
    file = data.get("file", "upload.yaml")
    return file if isinstance(file, str) and NAME_RE.match(file) else "upload.yaml"


def _yaml_text(data: dict[str, Any], expected: str) -> str:
    text = data.get("yaml")
    if not isinstance(text, str):
        raise HTTPException(400, f'"yaml" must be the scenario text: {expected}')
    return text


def _seed(data: dict[str, Any]) -> int | None:
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise HTTPException(400, '"seed" must be a non-negative integer')
    return seed


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for ``settings``.

    Raises
    ------
    IamdError
        For a ``--runs`` directory that does not exist and settings out of range.
    """
    settings = settings or Settings()
    root, policy = _check(settings)
    limits = Limits(timeout_s=settings.run_timeout_s, memory_mb=settings.run_memory_mb)
    runner = Runner(root.real, settings.max_runs, limits)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        runner.shutdown()

    app = FastAPI(
        title="iamd",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        redirect_slashes=False,  # a redirect would echo the request's Host
    )
    app.add_middleware(GZipMiddleware, minimum_size=4096)
    app.add_middleware(Guard, policy=policy)  # outermost: before anything else runs
    app.state.runner = runner
    app.state.settings = settings
    app.state.root = root

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": redact_paths(str(exc.detail))}, status_code=exc.status_code)

    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    _read_routes(app, root)
    _run_routes(app, settings, runner)
    return app


def _read_routes(app: FastAPI, root: RunsRoot) -> None:
    """Routes that read: the page, the lists, replays, files and Monte Carlo stores."""
    cache: dict[tuple[str, tuple[Any, ...]], bytes] = {}

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(static_dir() / "index.html", media_type="text/html")

    @app.get("/api/scenarios")
    def scenarios() -> dict[str, str]:
        from iamd.scenario.load import bundled_scenarios

        return bundled_scenarios()

    @app.get("/api/runs")
    def runs() -> list[dict[str, Any]]:
        return list_runs(root)

    @app.get("/api/runs/{name}/replay")
    def replay(name: str) -> Response:
        rf = run_files(root, name)
        key = (name, rf.key)
        if key not in cache:
            doc = _replay(root, rf)
            cache.clear()  # one replay at a time is plenty
            cache[key] = _json(doc)
        return Response(cache[key], media_type="application/json")

    @app.get("/api/runs/{name}/files/{file}")
    def run_file(name: str, file: str) -> FileResponse:
        path = root.entry(name)
        target = root.file(path, file) if file in FILES else None
        if target is None:
            raise HTTPException(404, "no such file")
        return FileResponse(target)

    @app.get("/api/mc/{name}")
    def monte_carlo(name: str) -> Response:
        from iamd.web.mcview import mc_document
        from iamd.web.rundirs import kind_of

        path = root.entry(name)
        if kind_of(root, path) != "mc":
            raise HTTPException(404, "no such Monte Carlo directory")
        return Response(_json(mc_document(root, path, name)), media_type="application/json")


def _replay(root: RunsRoot, rf: RunFiles) -> dict[str, Any]:
    """The replay document of checked run files ``rf``; a damaged run is a 422."""
    from iamd.web.replay import replay_document

    run = load_run(root, rf)
    try:
        return replay_document(run, rf.name)
    except (
        KeyError, TypeError, ValueError, AttributeError, IndexError, pa.ArrowException, IamdError
    ):  # fmt: skip
        raise HTTPException(
            422, f"run {rf.name!r} cannot be replayed: its files do not have the expected content"
        ) from None


def _run_routes(app: FastAPI, settings: Settings, runner: Runner) -> None:
    """Routes that change state: validate, start and cancel runs; the live WebSocket."""

    async def body(request: Request, expected: str) -> dict[str, Any]:
        raw = await read_limited(request, settings.max_upload_bytes, settings.body_timeout_s)
        return json_object(raw, expected)

    @app.post("/api/validate")
    async def validate(request: Request) -> dict[str, Any]:
        data = await body(request, VALIDATE_BODY)
        text = _yaml_text(data, VALIDATE_BODY)
        problems = await asyncio.to_thread(_validate_text, text, _upload_file(data))
        return {"valid": not problems, "problems": problems}

    @app.post("/api/runs", status_code=202)
    async def start_run(request: Request) -> JSONResponse:
        from iamd.scenario.load import bundled_scenarios

        data = await body(request, START_BODY)
        if ("scenario" in data) == ("yaml" in data):
            raise HTTPException(400, f"expected {START_BODY}")
        seed = _seed(data)
        if "scenario" in data:
            name = data["scenario"]
            if not isinstance(name, str) or name not in bundled_scenarios():
                raise HTTPException(404, "no such bundled scenario (see /api/scenarios)")
            source: dict[str, Any] = {"scenario": name}
            label = name
        else:
            text, file = _yaml_text(data, START_BODY), _upload_file(data)
            problems = await asyncio.to_thread(_validate_text, text, file)
            if problems:
                return JSONResponse({"valid": False, "problems": problems}, status_code=422)
            source, label = {"yaml": text, "file": file}, "upload"
        job = runner.start(source, seed, label)
        if job is None:
            raise HTTPException(
                429, f"{settings.max_runs} runs are already running; try again when one ends"
            )
        return JSONResponse({"job": job.id, "run": job.run}, status_code=202)

    @app.post("/api/live/{job_id}/cancel", status_code=202)
    async def cancel(job_id: str) -> dict[str, str]:
        asked = runner.cancel(job_id)
        if asked is None:
            raise HTTPException(404, "no such job")
        if not asked:
            raise HTTPException(409, "the run has already ended")
        return {"job": job_id, "state": "cancelling"}

    @app.websocket("/api/live/{job_id}")
    async def live(ws: WebSocket, job_id: str) -> None:
        await ws.accept()
        job = runner.jobs.get(job_id)
        if job is None:
            await ws.send_json({"type": "error", "message": "no such job"})
            await ws.close()
            return
        sent = 0
        try:
            while True:
                while sent < len(job.messages):
                    await ws.send_json(job.messages[sent])
                    sent += 1
                if job.finished:
                    break
                job.changed.clear()
                if sent < len(job.messages):
                    continue
                await job.changed.wait()
            await ws.close()
        except WebSocketDisconnect:
            return

"""The web interface: a FastAPI application over the run directories under ``--runs``.

It serves its own static files (the page, its script and the vendored MapLibre and
Natural Earth borders) and JSON made from run and Monte Carlo directories, starts runs in
child processes and streams them over a WebSocket. What it refuses:

* names that are not a single plain path segment (``..``, ``/``, ``\\``, absolute
  paths, hidden names) and anything whose real path, symlinks followed, leaves ``--runs``;
* request bodies over ``max_upload_bytes`` (413), malformed JSON (400), scenarios that
  fail validation (422, with their line numbers) before anything runs;
* more than ``max_runs`` runs at once (429);
* scenario names other than the bundled ones (a name is never a server path).

YAML is parsed with the safe loader only (no tags that build objects); nothing is
pickled and no shell is started.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from iamd.errors import IamdError, ScenarioError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""A run directory or file name: one plain segment, not hidden."""
FILES = {"summary.json", "scenario.yaml", "map.png", "report.html", "sweep.csv", "sweep.json"}
"""Files of a run or Monte Carlo directory the browser may fetch as they are."""
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; child-src 'self' blob:; connect-src 'self' ws: wss:; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'"
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Server settings (the ``iamd serve`` options)."""

    runs_dir: Path = Path("runs")
    max_runs: int = 2
    max_upload_bytes: int = 256 * 1024


def static_dir() -> Path:
    return Path(str(resources.files("iamd.web").joinpath("static")))


def safe_child(root: Path, name: str) -> Path:
    """``root / name`` when ``name`` is one plain segment whose real path stays in ``root``.

    Raises
    ------
    HTTPException
        404 for anything else, so a probe learns nothing of the file system.
    """
    if not NAME_RE.match(name) or ".." in name:
        raise HTTPException(404, "no such run")
    real_root = root.resolve()
    path = (root / name).resolve()
    if path.parent != real_root:  # a symlink, or a name that escaped
        raise HTTPException(404, "no such run")
    return path


def _kind(path: Path) -> str | None:
    if (path / "events.parquet").is_file() and (path / "summary.json").is_file():
        return "run"
    if (path / "job.json").is_file() or (path / "sweep.json").is_file():
        return "mc"
    return None


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, or 413 once it passes ``limit`` bytes (checked while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload larger than {limit // 1024} KiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"upload larger than {limit // 1024} KiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _validate_text(text: str, file: str) -> list[dict[str, Any]]:
    from iamd.scenario.load import load_scenario_text
    from iamd.web.live import problem_dicts

    try:
        load_scenario_text(text, file)
    except ScenarioError as exc:
        return problem_dicts(exc)
    return []


def _finite(x: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for ``settings`` (the runs directory is created if missing)."""
    from iamd.web.live import Runner

    settings = settings or Settings()
    if settings.max_runs < 1:
        raise IamdError("--max-runs must be at least 1")
    if settings.max_upload_bytes < 1024:
        raise IamdError("--max-upload-kb must be at least 1")
    runs_dir = settings.runs_dir
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IamdError(f"cannot use --runs {runs_dir}: {exc.strerror or exc}") from None
    runner = Runner(runs_dir, settings.max_runs)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        runner.shutdown()

    app = FastAPI(title="iamd", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.add_middleware(GZipMiddleware, minimum_size=4096)
    app.state.runner = runner
    app.state.settings = settings
    cache: dict[tuple[str, float], bytes] = {}

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    app.mount("/static", StaticFiles(directory=static_dir()), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(static_dir() / "index.html", media_type="text/html")

    @app.get("/api/scenarios")
    def scenarios() -> dict[str, str]:
        from iamd.scenario.load import bundled_scenarios

        return bundled_scenarios()

    @app.get("/api/runs")
    def runs() -> list[dict[str, Any]]:
        rows = []
        for path in sorted(runs_dir.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
            if not NAME_RE.match(path.name) or path.is_symlink() or not path.is_dir():
                continue
            kind = _kind(path)
            if kind is None:
                continue
            row: dict[str, Any] = {"name": path.name, "kind": kind}
            if kind == "run":
                try:
                    s = json.loads((path / "summary.json").read_text("utf-8"))
                    row["scenario"] = s.get("scenario")
                    row["seed"] = s.get("seed")
                except (OSError, ValueError):
                    continue
            rows.append(row)
        return rows

    @app.get("/api/runs/{name}/replay")
    def replay(name: str) -> Response:
        from iamd.export.rundir import load_run
        from iamd.web.replay import replay_document

        path = safe_child(runs_dir, name)
        if _kind(path) != "run":
            raise HTTPException(404, "no such run")
        key = (name, (path / "events.parquet").stat().st_mtime)
        if key not in cache:
            try:
                doc = replay_document(load_run(path), name)
            except IamdError as exc:
                raise HTTPException(422, str(exc)) from None
            cache.clear()  # one replay at a time is plenty
            cache[key] = json.dumps(_finite(doc), separators=(",", ":")).encode()
        return Response(cache[key], media_type="application/json")

    @app.get("/api/runs/{name}/files/{file}")
    def run_file(name: str, file: str) -> FileResponse:
        path = safe_child(runs_dir, name)
        if file not in FILES:
            raise HTTPException(404, "no such file")
        target = safe_child(path, file)
        if not target.is_file():
            raise HTTPException(404, "no such file")
        return FileResponse(target)

    @app.get("/api/mc/{name}")
    def monte_carlo(name: str) -> Response:
        from iamd.web.mcview import mc_document

        path = safe_child(runs_dir, name)
        if _kind(path) != "mc":
            raise HTTPException(404, "no such Monte Carlo directory")
        try:
            doc = mc_document(path)
        except IamdError as exc:
            raise HTTPException(422, str(exc)) from None
        return Response(
            json.dumps(_finite(doc), separators=(",", ":")), media_type="application/json"
        )

    @app.post("/api/validate")
    async def validate(request: Request) -> dict[str, Any]:
        body = await read_limited(request, settings.max_upload_bytes)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(400, "the scenario is not UTF-8 text") from None
        file = request.headers.get("x-filename", "upload.yaml")
        file = file if NAME_RE.match(file) else "upload.yaml"
        problems = await asyncio.to_thread(_validate_text, text, file)
        return {"valid": not problems, "problems": problems}

    @app.post("/api/runs", status_code=202)
    async def start_run(request: Request) -> JSONResponse:
        from iamd.scenario.load import bundled_scenarios

        body = await read_limited(request, settings.max_upload_bytes)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HTTPException(400, f"malformed JSON: {exc}") from None
        if not isinstance(data, dict) or ("scenario" in data) == ("yaml" in data):
            raise HTTPException(
                400, 'expected {"scenario": NAME} or {"yaml": TEXT}, with an optional "seed"'
            )
        seed = data.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise HTTPException(400, '"seed" must be a non-negative integer')
        if "scenario" in data:
            name = data["scenario"]
            if not isinstance(name, str) or name not in bundled_scenarios():
                raise HTTPException(404, f"no bundled scenario {name!r}")
            source: dict[str, Any] = {"scenario": name}
            label = name
        else:
            text = data["yaml"]
            if not isinstance(text, str):
                raise HTTPException(400, '"yaml" must be the scenario text')
            file = data.get("file", "upload.yaml")
            file = file if isinstance(file, str) and NAME_RE.match(file) else "upload.yaml"
            problems = await asyncio.to_thread(_validate_text, text, file)
            if problems:
                return JSONResponse({"valid": False, "problems": problems}, status_code=422)
            source = {"yaml": text, "file": file}
            label = "upload"
        job = runner.start(source, seed, label)
        if job is None:
            raise HTTPException(
                429, f"{settings.max_runs} runs are already running; try again when one ends"
            )
        return JSONResponse({"job": job.id, "run": job.run}, status_code=202)

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
                if job.finished and sent == len(job.messages):
                    break
                job.changed.clear()
                if sent < len(job.messages):
                    continue
                await job.changed.wait()
            await ws.close()
        except WebSocketDisconnect:
            return

    return app

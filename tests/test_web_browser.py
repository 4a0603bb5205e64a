"""The browser interface in Debian's headless Chromium, driven by Playwright.

Skipped when /usr/bin/chromium is missing; ``.ci/run`` installs it. Screenshots go to
``test-artifacts/`` as test artefacts.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import uvicorn

from iamd.web.app import Settings, create_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, northern_run: Path) -> Iterator[str]:
    from typer.testing import CliRunner

    from iamd.cli import app

    runs = tmp_path_factory.mktemp("web") / "runs"
    runs.mkdir()
    shutil.copytree(northern_run, runs / "north")
    res = CliRunner().invoke(
        app,
        [
            "mc",
            "northern-front",
            "--runs",
            "4",
            "--workers",
            "1",
            "--out",
            str(runs / "mc-north"),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        app,
        ["sweep", "northern-front", "--vary", "fire_units.sr-border.rounds=4,20", "--runs", "2",
         "--out", str(runs / "sweep-north"), "--workers", "1", "-q"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(runs_dir=runs, max_runs=2)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


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
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server + "/")
    pg.wait_for_function("window.iamd && window.iamd.ready && window.iamd.loaded", timeout=60_000)
    pg.evaluate("iamd.loadReplay('north')")  # the newest run is shown first; test this one
    pg.wait_for_function("iamd.loaded === 'north'", timeout=60_000)
    yield pg
    context.close()
    assert errors == [], errors


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


def _events(run_dir: Path) -> tuple[np.ndarray, list[str]]:
    ev = pq.read_table(run_dir / "events.parquet")
    return ev["t_s"].to_numpy(), ev["kind"].cast("string").to_pylist()


def test_replay_moves_threats_and_counts_like_the_log(page, northern_run: Path) -> None:
    t_ev, kinds = _events(northern_run)
    fire_t = t_ev[np.array(kinds) == "launch_interceptor"]
    # a time in the thick of it, away from any event by more than the 0.1 s rounding
    t = float(np.median(fire_t)) + 0.37
    while np.min(np.abs(t_ev - t)) < 0.2:
        t += 0.31
    page.evaluate(f"iamd.setTime({t})")
    before = {p["id"]: (p["x"], p["y"]) for p in page.evaluate("iamd.positions()")}
    assert before, "no threat airborne at the chosen time"
    expect = {
        "c-launched": sum(1 for k, x in zip(kinds, t_ev, strict=True) if k == "launch" and x <= t),
        "c-intercepted": sum(
            1 for k, x in zip(kinds, t_ev, strict=True) if k == "intercept" and x <= t
        ),
        "c-leaked": sum(
            1 for k, x in zip(kinds, t_ev, strict=True) if k == "impact_asset" and x <= t
        ),
        "c-fired": int((fire_t <= t).sum()),
    }
    for cid, value in expect.items():
        assert page.inner_text(f"#{cid}") == str(value), cid
    page.evaluate(f"iamd.setTime({t + 30})")
    after = {p["id"]: (p["x"], p["y"]) for p in page.evaluate("iamd.positions()")}
    moved = [i for i in before.keys() & after.keys() if before[i] != after[i]]
    assert moved, "no threat moved in 30 s"
    assert int(page.inner_text("#c-fired")) >= expect["c-fired"]
    # clicking a threat shows its history
    tid = moved[0]
    x, y = after[tid]
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    assert f"threat {tid}" in page.inner_text("#threat-info")
    # play advances the clock
    page.evaluate("iamd.play(true)")
    page.wait_for_function(f"iamd.t > {t + 31}", timeout=10_000)
    page.evaluate("iamd.play(false)")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "replay.png"))


def test_invalid_upload_shows_line_numbered_error(page) -> None:
    page.click("#tab-run")
    bad = b"name: bad\nduration_s: -5\nowners: []\n"
    page.set_input_files(
        "#upload", files=[{"name": "bad.yaml", "mimeType": "text/yaml", "buffer": bad}]
    )
    page.wait_for_selector("#problems li")
    text = page.inner_text("#problems")
    assert "bad.yaml:line 2:" in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload-error.png"))


def test_run_from_the_browser_live_then_replay(page) -> None:
    page.click("#tab-run")
    page.select_option("#scenario-select", "northern-front")
    page.fill("#seed", "21")
    page.click("#start-run")
    page.wait_for_function("iamd.live && iamd.live.done === true", timeout=120_000)
    run = page.evaluate("iamd.live.run")
    page.wait_for_function(f"iamd.loaded === '{run}'", timeout=60_000)
    assert int(page.inner_text("#c-launched")) >= 0
    assert page.evaluate("iamd.live.counts.launch") > 0


def test_monte_carlo_view(page) -> None:
    page.click("#tab-mc")
    page.select_option("#mc-select", "mc-north")
    page.wait_for_selector("#mc-hist rect")
    assert "mean" in page.inner_text("#mc-stats")
    assert page.locator("#mc-conv path").count() == 2
    page.select_option("#mc-metric", "totals.interceptors_fired")
    assert "interceptors fired" in page.inner_text("#mc-stats")


def test_sweep_curves(page) -> None:
    page.click("#tab-mc")
    page.select_option("#mc-select", "sweep-north")
    page.wait_for_selector("svg.sweep-curve")
    curves = page.locator("svg.sweep-curve")
    assert curves.count() == len(page.evaluate("Object.keys(iamd.mc.sweep.points[0].metrics)"))
    assert curves.first.locator("circle").count() == 2  # one point per value: 4 and 20 rounds
    assert "sweep of 2 points" in page.inner_text("#mc-stats")

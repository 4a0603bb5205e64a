"""Browser replay speed: first paint of the map and frames per second while playing.

Runs the largest bundled scenario (regional-raid), serves it with ``iamd serve``'s
application, opens it in Debian's headless Chromium (Playwright) and reports:

* first paint: page start to the map's first idle frame with the borders drawn, ms;
* frames per second while the replay plays at 300x and 3600x real time, counted as
  the dynamic layer's redraws (each one a new frame on screen), at the busiest moment.

    python benchmarks/replay_fps.py [--scenario regional-raid] [--seconds 5]

Targets (issue 6): 30 frames per second or more; first paint under 3 s.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from iamd.scenario.load import load_scenario
from iamd.sim.run import simulate, write_run_dir
from iamd.web.app import Settings, create_app

BUSIEST = """(() => { const th = iamd.replay.doc.threats; let best = 0, bt = 0;
  for (let t = 0; t < iamd.replay.doc.duration_s; t += 60) { let n = 0;
    for (let k = 0; k < th.t0.length; k++) if (th.t0[k] <= t && t <= th.t1[k]) n++;
    if (n > best) { best = n; bt = t; } }
  return [bt, best]; })()"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="regional-raid")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        write_run_dir(simulate(load_scenario(args.scenario)), runs / "bench", with_map=False)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(Settings(runs_dir=runs, port=port)), port=port, log_level="warning"
            )
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            context = browser.new_context(
                viewport={"width": args.width, "height": args.height}, bypass_csp=True
            )
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("window.iamd && iamd.ready && iamd.loaded", timeout=120_000)
            print(f"scenario {args.scenario}, viewport {args.width}x{args.height}")
            print(f"first paint of the map: {page.evaluate('iamd.mapLoadedMs'):.0f} ms")
            t_busy, n_busy = page.evaluate(BUSIEST)
            print(f"busiest minute: T+{t_busy:.0f} s with {n_busy} threats airborne")
            for speed in ("300", "3600"):
                page.select_option("#speed", speed)
                page.evaluate(f"iamd.setTime({max(0, t_busy - 300)}); iamd.play(true)")
                f0, w0 = page.evaluate("iamd.drawFrames"), time.perf_counter()
                time.sleep(args.seconds)
                f1, w1 = page.evaluate("iamd.drawFrames"), time.perf_counter()
                page.evaluate("iamd.play(false)")
                print(f"replay at {speed}x: {(f1 - f0) / (w1 - w0):.1f} frames per second")
            browser.close()
        server.should_exit = True


if __name__ == "__main__":
    main()

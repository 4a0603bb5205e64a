"""Take the README's picture of the browser replay: ``docs/web-replay.png``.

Serves the run directory ``runs/demo`` (``make demo`` writes it), opens it in Debian's
headless Chromium at a chosen time, shows one threat's history as a click would, and
saves the page::

    .venv/bin/python docs/screenshot.py [--run runs/demo] [--t-s 24400] [--threat 240]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from iamd.web.app import Settings, create_app

OUT = Path(__file__).resolve().parent / "web-replay.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/demo"))
    parser.add_argument("--t-s", type=float, default=24400.0)
    parser.add_argument("--threat", type=int, default=240)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        shutil.copytree(args.run, runs / "demo")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        app = create_app(Settings(runs_dir=runs, port=port))
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("window.iamd && iamd.ready && iamd.loaded", timeout=120_000)
            page.evaluate(f"iamd.setTime({args.t_s}); iamd.showThreat({args.threat})")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out))
            browser.close()
        server.should_exit = True
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

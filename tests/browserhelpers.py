"""Helpers shared by the browser tests: a `streamlit run app.py` on a free loopback port,
a headless Chromium page on it, and waits (fixtures `server` and `browser`: conftest.py)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from gansim import serve

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
METRIC = '[data-testid="stMetricValue"]'
# Counts canvas redraws (Vega's canvas renderer clears before each render) and canvas
# creations (a rebuilt view makes a new canvas; an in-place update does not).
COUNT_FRAMES = """
(() => {
  window.__frames = new Map(); window.__canvases = 0;
  const clear = CanvasRenderingContext2D.prototype.clearRect;
  CanvasRenderingContext2D.prototype.clearRect = function (...args) {
    const c = this.canvas, now = performance.now();
    const seen = window.__frames.get(c) || {n: 0, last: -1};
    if (now - seen.last > 4) seen.n += 1;  // one render may clear several regions
    seen.last = now; window.__frames.set(c, seen);
    return clear.apply(this, args);
  };
  const make = Document.prototype.createElement;
  Document.prototype.createElement = function (tag, ...rest) {
    if (String(tag).toLowerCase() === 'canvas') window.__canvases += 1;
    return make.call(this, tag, ...rest);
  };
})();
"""
ARENA_FRAMES = """
() => { const c = document.querySelector('[data-testid="stVegaLiteChart"] canvas');
        const s = c && window.__frames.get(c); return s ? s.n : 0; }
"""


def require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} not found; install it with: apt-get install -y chromium"
    if os.environ.get("GANSIM_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout} s")


@contextmanager
def streamlit_server():
    """`streamlit run app.py` on a free loopback port; yields (url, process)."""
    port = free_port()
    log = open(ARTIFACTS / f"streamlit-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, proc
    finally:
        serve.end([proc])
        log.close()


def open_page(browser, url: str, wait: bool = True):
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    context.add_init_script(COUNT_FRAMES)
    page = context.new_page()
    page.goto(url, wait_until="commit")
    if wait:
        wait_loaded(page)
    return context, page


def wait_loaded(page) -> None:
    page.wait_for_selector(METRIC, timeout=60_000)
    page.wait_for_function(ARENA_FRAMES, timeout=30_000)  # the arena has drawn once


def step_of(page) -> int:
    return int(page.locator(METRIC).first.inner_text().replace(",", ""))


def arena_pixels(page) -> bytes:
    return page.locator('[data-testid="stVegaLiteChart"] canvas').first.screenshot()


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")

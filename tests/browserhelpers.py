"""Helpers shared by the browser tests: a `streamlit run app.py` on a free loopback port,
a headless Chromium page on it, and waits (fixtures `server` and `browser`: conftest.py)."""
from __future__ import annotations

import base64
import hashlib
import io
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
SHRINK = 2  # screencast frames at half size: cheaper to encode on a loaded machine
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
# The live arena is a components-v2 film in a shadow root (gansim/ui/arena_canvas.py):
# Playwright's CSS pierces it; in-page JS goes through the host's shadowRoot.
ARENA = ".gansim-arena canvas"
ARENA_JS = ("(() => { const h = [...document.querySelectorAll('.st-key-arena *')]"
            ".find(e => e.shadowRoot);"
            " return h ? h.shadowRoot.querySelector('canvas') : null; })()")
# Frames the film painted (its own counter, arena_canvas.js).
ARENA_FRAMES = "() => (window.__gansimArena || {frames: 0}).frames"
ARENA_STATS = "() => window.__gansimArena || {frames: 0, payloads: 0, fetched: 0}"
# The step of the snapshot the film drew last (-1 before its first frame). While playing
# it moves with every fetched payload (0.4 s apart at "Normal"), the step counter only
# with the page's reruns (1 s; 2.5 s with ten sessions playing on one server), so
# steps/s over a window is counted on it.
FILM_STEP = "() => { const s = window.__gansimArena; return s && s.step != null ? s.step : -1; }"
FILM_URL = "() => (window.__gansimArena || {}).film || null"  # the film's route, while playing


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
def streamlit_server(script: str = "app.py"):
    """`streamlit run <script>` (the app by default) on a free loopback port; yields
    (url, process)."""
    port = free_port()
    log = open(ARTIFACTS / f"streamlit-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
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


# In the page: the time of the next pointer press (the event's own stamp, when the input
# arrived) and of the frame that shows each change of the step counter's text after it
# (the animation frame after the change: the paint follows it), both on the page's
# clock, so the driver's own delays (finding the button, waiting for it) are not counted.
WATCH_PAUSE = """
(metric) => {
  const w = window.__pauseWatch = {click: null, changes: [], epoch: performance.timeOrigin};
  document.addEventListener('pointerdown', (e) => { if (w.click === null) w.click = e.timeStamp; },
                            {capture: true, once: true});
  let last = document.querySelector(metric)?.textContent;
  window.__pauseObserver?.disconnect();
  window.__pauseObserver = new MutationObserver(() => {
    const now = document.querySelector(metric)?.textContent;
    if (now !== last) { last = now; requestAnimationFrame(() => w.changes.push(performance.now())); }
  });
  window.__pauseObserver.observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""
# The watch's record, and the watch ended (it observes the whole page while it runs).
READ_PAUSE = "() => { window.__pauseObserver.disconnect(); return window.__pauseWatch; }"


def pause_timing(page, watch_s: float = 2.0) -> tuple[float, float]:
    """Click Pause; (seconds from the press, as the page received it, until the step
    counter showed its last value, watched for `watch_s`: what a person sees of a Pause;
    the press's Unix time, to line it up with the server's click log)."""
    page.evaluate(WATCH_PAUSE, METRIC)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_timeout(watch_s * 1000)
    w = page.evaluate(READ_PAUSE)
    after = [t for t in w["changes"] if t >= w["click"]]
    took = (after[-1] - w["click"]) / 1000 if after else 0.0
    return max(0.0, took), (w["epoch"] + w["click"]) / 1000


def pause_latency(page, watch_s: float = 2.0) -> float:
    return pause_timing(page, watch_s)[0]


def glides(page, reads: int, every_ms: int) -> list:
    """Pairs of consecutive reads of the film's stats (`reads` of them, `every_ms` apart)
    in which fake 0 moved although no payload arrived: the points glide between
    snapshots, as a film does and a slideshow does not."""
    seen = []
    for _ in range(reads):
        seen.append(page.evaluate(ARENA_STATS))
        page.wait_for_timeout(every_ms)
    return [(r, q) for r, q in zip(seen, seen[1:])
            if r["payloads"] == q["payloads"] and r["fake0"] != q["fake0"]]


def run_lesson_step(page, step, timeout: float) -> None:
    """Answer the step's question right, press its Run button, and wait until its run has
    ended at exactly its N steps (the Play button is back)."""
    page.get_by_text(step.question.choices[step.question.answer], exact=True).click()
    page.get_by_role("button", name=f"Run ({step.train} steps)").click()
    wait_for(lambda: step_of(page) == step.train
             and page.get_by_role("button", name="Play").is_visible(),
             timeout, f"the lesson run to end at step {step.train}")


def arena_pixels(page) -> bytes:
    return page.locator(ARENA).first.screenshot()


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def distinct_frames(page, seconds: float, canvas: str = ARENA) -> tuple[int, int]:
    """Frames the compositor sent over `seconds` (CDP screencast), and how many of them
    differ from the frame before inside the arena's canvas."""
    from PIL import Image

    box, view = page.locator(canvas).first.bounding_box(), page.viewport_size
    crop = tuple(int(v / SHRINK) for v in (box["x"], box["y"], box["x"] + box["width"],
                                           min(box["y"] + box["height"], view["height"])))
    cdp = page.context.new_cdp_session(page)
    frames: list[bytes] = []
    recording = True  # read by on_frame when a frame comes (a closure, not a copy)

    def on_frame(event: dict) -> None:
        # A frame delivered after the stop is not acknowledged: the session is going,
        # and an ack sent to it fails in Playwright's event thread (printed, not raised).
        if recording:
            frames.append(base64.b64decode(event["data"]))
            cdp.send("Page.screencastFrameAck", {"sessionId": event["sessionId"]})

    cdp.on("Page.screencastFrame", on_frame)
    cdp.send("Page.startScreencast", {"format": "jpeg", "quality": 40, "everyNthFrame": 1,
                                      "maxWidth": view["width"] // SHRINK,
                                      "maxHeight": view["height"] // SHRINK})
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets playwright deliver the events
    recording = False
    cdp.remove_listener("Page.screencastFrame", on_frame)
    cdp.send("Page.stopScreencast")
    cdp.detach()
    hashes = [hashlib.sha1(Image.open(io.BytesIO(f)).crop(crop).tobytes()).digest()
              for f in frames]
    changed = sum(1 for a, b in zip(hashes, hashes[1:]) if a != b)
    return len(frames), changed


# At every display frame, a 64×64 copy of the canvas: counts the frames whose pixels
# differ from the frame before (what a viewer sees change), in the page itself.
SAMPLE_FRAMES = """
(canvas, ms) => new Promise((done) => {
  const small = document.createElement('canvas'); small.width = small.height = 64;
  const g = small.getContext('2d', {willReadFrequently: true});
  let last = null, changed = 0, frames = 0;
  const end = performance.now() + ms;
  const look = () => {
    g.drawImage(canvas, 0, 0, 64, 64);
    const px = g.getImageData(0, 0, 64, 64).data;
    let h = 0;
    for (let i = 0; i < px.length; i += 1) h = (h * 31 + px[i]) | 0;
    if (last !== null && h !== last) changed += 1;
    last = h; frames += 1;
    if (performance.now() < end) requestAnimationFrame(look); else done({changed, frames});
  };
  requestAnimationFrame(look);
})
"""

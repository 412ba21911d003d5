"""The live app's two costs: the server's work per frame and the browser's frame rate.

1. Server: one frame without its training chunk = snapshot + both chart specs with
   their data + what st.vega_lite_chart does to send them (spec JSON, Arrow bytes).
   Printed as median ms and as a ratio to one plain training step.
2. Browser: `streamlit run app.py` on loopback, headless Chromium presses Play, and the
   arena's canvas redraws are counted over a window (Vega clears the canvas once per
   render), together with the steps trained in the same window.

Targets (issue 3): server frame ≤ 30 ms; ≥ 8 frames/s in the browser while training
≥ 150 steps/s.   Run:  python bench/bench_app.py [--frames 40] [--seconds 10] [--no-browser]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from gansim.config import Config  # noqa: E402
from gansim.ui import charts  # noqa: E402
from gansim.ui.session import Run  # noqa: E402


def server_frame_ms(frames: int, warm_steps: int = 500) -> dict:
    """Median ms of the per-frame work, training excluded; and of one plain step."""
    from streamlit import dataframe_util

    torch.set_num_threads(1)
    run = Run(Config(device="cpu"))
    while not run.trainer.ready():  # the app draws, not trains, while its step compiles
        time.sleep(0.2)
    run.train_for(60.0, warm_steps)  # a history and evaluations to draw
    step_ms = _median_ms(run.trainer.step, 50)  # the compiled step (ready() waited for it)

    def frame() -> None:
        snap = run.snapshot()
        for spec in (charts.arena(snap), charts.story(snap)):
            data = spec.pop("datasets")
            json.dumps(spec)
            for table in data.values():
                dataframe_util.convert_anything_to_arrow_bytes(table)

    snap_ms = _median_ms(run.snapshot, frames)
    return {"frame_ms": _median_ms(frame, frames), "snapshot_ms": snap_ms, "step_ms": step_ms}


def _median_ms(fn, n: int) -> float:
    fn()  # warm caches (spec build, torch kernels)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def browser_rate(seconds: float) -> dict:
    """Arena frames/s and steps/s in headless Chromium while the app plays."""
    import test_browser as tb  # the frame counter and server helpers the tests use
    from playwright.sync_api import sync_playwright

    tb.ARTIFACTS.mkdir(exist_ok=True)
    with tb.streamlit_server() as (url, _proc), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS)
        context, page = tb.open_page(browser, url)
        page.get_by_role("button", name="Play").click()
        tb.wait_for(lambda: tb.step_of(page) > 0, 30, "training to start")
        time.sleep(2.0)  # let the first frames and the JIT settle
        f0, s0, t0 = page.evaluate(tb.ARENA_FRAMES), tb.step_of(page), time.perf_counter()
        c0 = page.evaluate("() => window.__canvases")
        time.sleep(seconds)
        f1, s1, t1 = page.evaluate(tb.ARENA_FRAMES), tb.step_of(page), time.perf_counter()
        rebuilt = page.evaluate("() => window.__canvases") - c0
        page.screenshot(path=str(tb.ARTIFACTS / "bench-app.png"))
        context.close()
        browser.close()
    return {"fps": (f1 - f0) / (t1 - t0), "steps_per_s": (s1 - s0) / (t1 - t0),
            "canvases_created": rebuilt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40, help="server frames to time")
    ap.add_argument("--seconds", type=float, default=10.0, help="browser window to count")
    ap.add_argument("--no-browser", action="store_true", help="server cost only")
    args = ap.parse_args()
    s = server_frame_ms(args.frames)
    print(f"server frame (snapshot + charts + serialisation, no training): "
          f"{s['frame_ms']:.1f} ms  [target ≤ 30]  "
          f"(snapshot {s['snapshot_ms']:.1f} ms; one plain step {s['step_ms']:.2f} ms; "
          f"frame = {s['frame_ms'] / s['step_ms']:.1f} steps)")
    if args.no_browser:
        return
    b = browser_rate(args.seconds)
    print(f"browser: {b['fps']:.1f} arena frames/s [target ≥ 8] while training "
          f"{b['steps_per_s']:.0f} steps/s [target ≥ 150]; canvases created during the "
          f"window: {b['canvases_created']} (0 = every frame updated in place)")


if __name__ == "__main__":
    main()

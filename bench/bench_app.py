"""The live page as a film (issue 22): what it trains and what the browser paints, one run.

1. Loops, in this process, interleaved: the textbook PyTorch loop (bench_engine.Textbook),
   the engine alone (Trainer.step), and the engine in a session's worker thread with no
   page (gansim/ui/worker.py): steps/s, wall clock.
2. The page: `streamlit run app.py` on loopback, headless Chromium at 1366×768 presses
   Play at "Normal" and, over a window: the page's steps/s (read off the film: the step
   of the snapshot it drew last, tests/browserhelpers.FILM_STEP), the film's own
   counters (frames painted, payloads received), the browser's and the server's CPU
   (cores, from /proc); then over a second window of the same length the
   arena's changed frames/s as the page paints them (a 64×64 copy of the canvas at every
   display frame: the bench's instrument, so kept out of the CPU window), then over a
   shorter one the distinct arena frames the compositor sends (CDP screencast). Then
   Pause, pressed several times (Play again between; the median and the slowest):
   page-side (the press as the page received it → the step counter's last change, on
   the page's clock) and server-side (press → the callback → worker stopped → toolbar
   drawn → page redrawn, from the server's GANSIM_CLICK_LOG, on the same machine's
   clock).
3. The browser's floor, the plain reference for its CPU: the app's page closed, a bare
   page with one canvas of the arena's size, every pixel repainted at each display frame.

Goals (2 cores, browser on the same machine): arena ≥ 30 distinct frames/s, browser
≤ 0.5 core; page ≥ 1.0× textbook (≥ 0.7× engine alone); Pause ≤ 0.2 s page-side.
The engine, the worker and the page train on the default path (engine "auto": the
compiled step, which the bench builds first if this machine lacks it, as a machine that
ran the app once has it); `--engine eager` times them all on the eager step instead
(the tests' path, GANSIM_COMPILE=0): before and after, on one machine.
Run:  python bench/bench_app.py [--seconds 10] [--pauses 5] [--no-browser]
      [--engine auto|eager]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import torch  # noqa: E402

import bench_engine  # noqa: E402
from gansim.config import Config  # noqa: E402
from gansim.trainer import Trainer  # noqa: E402
from gansim.ui.session import Run  # noqa: E402

VIEWPORT = {"width": 1366, "height": 768}
SCREENCAST_S = 3.0
# A single press's Pause time depends on where it falls in the page's once-a-second rerun
# (inside the browser's drawing of one it waits up to ~0.1 s): the bench presses several.
PAUSES = 5
PAUSE_PLAY_S, PAUSE_SHIFT_S = 2.0, 0.23  # play this long before a press, plus i × the shift


# --- 1. loops -----------------------------------------------------------------------------

def _rate(step, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n / (time.perf_counter() - t0)


def _worker_rate(seconds: float) -> float:
    run = Run(Config())
    run.worker.play()
    time.sleep(0.5)
    s0, t0 = run.step, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        time.sleep(0.25)
        run.worker.beat()
    rate = (run.step - s0) / (time.perf_counter() - t0)
    run.worker.pause()
    return rate


def loops(seconds: float, repeats: int = 3) -> dict[str, float]:
    torch.set_num_threads(1)
    textbook = bench_engine.Textbook({"loss": "nonsaturating"})
    engine = Trainer(Config())
    kinds = {"textbook": lambda s: _rate(textbook.step, s),
             "engine": lambda s: _rate(engine.step, s), "worker": _worker_rate}
    for fn in kinds.values():
        fn(1.0)  # warm-up: allocator, Adam state, first evaluation
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    for i in range(repeats):
        for k in (list(kinds) if i % 2 == 0 else list(kinds)[::-1]):
            rates[k].append(kinds[k](seconds))
    return {**{k: statistics.median(v) for k, v in rates.items()}, "path": engine.engine}


# --- 2. the page --------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, float, str]:
    """(parent pid, CPU seconds, name) of a process, from /proc."""
    raw = open(f"/proc/{pid}/stat").read()
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    f = raw.rsplit(")", 1)[1].split()
    return int(f[1]), (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"), name


def browser_procs(root: int, skip: int) -> dict[int, tuple[float, str]]:
    """{pid: (CPU seconds, name)} of `root`'s descendants, less the `skip` subtree (the
    server) and Playwright's node driver: the browser's processes."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                procs[int(d)] = _stat(int(d))
            except (OSError, ValueError):
                pass

    def under(pid: int) -> bool:
        while pid in procs and pid not in (0, 1):
            if pid == skip:
                return False
            if procs[pid][0] == root:
                return True
            pid = procs[pid][0]
        return False

    return {pid: (cpu, name) for pid, (_, cpu, name) in procs.items()
            if pid != skip and under(pid) and not name.startswith("node")}


def _tree_cpu(root: int, skip: int) -> float:
    return sum(cpu for cpu, _ in browser_procs(root, skip).values())


def _server_cpu(pid: int) -> float:
    return _stat(pid)[1]


def _click_log(path: Path) -> list[tuple[float, str]]:
    if not path.exists():
        return []
    return [(float(t), e) for t, e in (line.split() for line in path.read_text().splitlines())]


def page(seconds: float, n_pauses: int = PAUSES) -> dict:
    import browserhelpers as bh
    from playwright.sync_api import sync_playwright

    bh.ARTIFACTS.mkdir(exist_ok=True)
    clicks = Path(tempfile.mkdtemp()) / "clicks.log"
    os.environ["GANSIM_CLICK_LOG"] = str(clicks)  # the server inherits it
    out: dict = {}
    with bh.streamlit_server() as (url, proc), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=bh.CHROMIUM, args=bh.CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        pg = context.new_page()
        pg.goto(url, wait_until="commit")
        bh.wait_loaded(pg)
        pg.get_by_role("button", name="Play").click()
        bh.wait_for(lambda: bh.step_of(pg) > 0, 30, "training to start")
        time.sleep(2.0)  # the first frames, the allocator
        me = os.getpid()
        # The CPU and the steps/s over a window of their own: the frame sampler below is
        # the bench's instrument (a canvas copy per display frame), not the page's cost.
        s0, a0, t0 = pg.evaluate(bh.FILM_STEP), pg.evaluate(bh.ARENA_STATS), time.perf_counter()
        b0, c0 = _tree_cpu(me, proc.pid), _server_cpu(proc.pid)
        time.sleep(seconds)
        s1, a1, t1 = pg.evaluate(bh.FILM_STEP), pg.evaluate(bh.ARENA_STATS), time.perf_counter()
        b1, c1 = _tree_cpu(me, proc.pid), _server_cpu(proc.pid)
        span = t1 - t0
        out.update(steps_per_s=(s1 - s0) / span,
                   painted_fps=(a1["frames"] - a0["frames"]) / span,
                   payloads_per_s=(a1["payloads"] - a0["payloads"]) / span,
                   fetched_per_s=(a1.get("fetched", 0) - a0.get("fetched", 0)) / span,
                   browser_cores=(b1 - b0) / span, server_cores=(c1 - c0) / span)
        t0 = time.perf_counter()
        sampled = pg.locator(bh.ARENA).evaluate(bh.SAMPLE_FRAMES, seconds * 1000)
        span = time.perf_counter() - t0
        out.update(changed_fps=sampled["changed"] / span, display_fps=sampled["frames"] / span)
        sent, shown = bh.distinct_frames(pg, SCREENCAST_S)
        out.update(screencast_fps=shown / SCREENCAST_S, screencast_sent=sent / SCREENCAST_S)
        pg.screenshot(path=str(bh.ARTIFACTS / "bench-app-1366x768.png"))
        size = pg.locator(bh.ARENA).first.evaluate("c => [c.clientWidth, c.clientHeight]")
        out.update(pauses(pg, clicks, n_pauses))
        context.close()
        out.update(floor(browser, size, seconds, me, proc.pid))
        browser.close()
    os.environ.pop("GANSIM_CLICK_LOG", None)
    return out


def _pause(pg, clicks: Path) -> dict[str, float | None]:
    """One Pause of the playing page: page-side, and the server's steps after the press."""
    import browserhelpers as bh

    took, clicked = bh.pause_timing(pg)
    events = [(t - clicked, e) for t, e in _click_log(clicks) if t >= clicked - 0.01]
    first = {e: t for t, e in reversed(events)}  # each step's first time after the press
    return {"page": took, "callback": first.get("pause"), "stilled": first.get("stilled"),
            "bar": first.get("bar"), "drawn": first.get("drawn")}


def pauses(pg, clicks: Path, n: int) -> dict:
    """`n` Pauses, each after Play and a wait that grows by PAUSE_SHIFT_S, so the presses
    fall at different moments of the page's once-a-second rerun (one press lands inside
    the browser's drawing of a rerun, another between two). Medians and the slowest."""
    import browserhelpers as bh

    seen = [_pause(pg, clicks)]  # the page has played through the CPU and frame windows
    for i in range(1, n):
        pg.get_by_role("button", name="Play").click()
        bh.wait_for(lambda: pg.get_by_role("button", name="Pause").is_visible(), 30,
                    "Play to take")
        time.sleep(PAUSE_PLAY_S + PAUSE_SHIFT_S * i)
        seen.append(_pause(pg, clicks))

    def median(key: str) -> float | None:
        values = [s[key] for s in seen if s[key] is not None]
        return statistics.median(values) if values else None

    pages = [s["page"] for s in seen]
    return {"pause_page_s": statistics.median(pages), "pause_page_max_s": max(pages),
            "pause_page_all": pages, "pause_callback_s": median("callback"),
            "pause_stilled_s": median("stilled"), "pause_bar_s": median("bar"),
            "pause_drawn_s": median("drawn")}


# The browser's floor: a page with nothing but a canvas of the arena's size whose every
# pixel changes at each display frame. What this Chromium spends on that (compositing and
# rasterising in software with --disable-gpu) is spent by any film at the display's rate,
# whatever it draws; the page's browser CPU is read against it.
FLOOR_HTML = """<!doctype html><body style="margin:0"><canvas></canvas><script>
const c = document.querySelector('canvas'), dpr = window.devicePixelRatio || 1;
c.style.width = '{w}px'; c.style.height = '{h}px';
c.width = Math.round({w} * dpr); c.height = Math.round({h} * dpr);
const g = c.getContext('2d', {{alpha: false}});
window.__frames = 0;
const tick = () => {{
  g.fillStyle = `hsl(${{window.__frames % 360}}, 60%, 70%)`;
  g.fillRect(0, 0, c.width, c.height);
  window.__frames++;
  requestAnimationFrame(tick);
}};
requestAnimationFrame(tick);
</script>"""


def floor(browser, size: list[int], seconds: float, me: int, server: int) -> dict:
    """The browser's CPU and frames/s for FLOOR_HTML with the arena's canvas size, alone
    in the browser (the app's page closed)."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_content(FLOOR_HTML.format(w=size[0], h=size[1]))
    time.sleep(2.0)
    f0, b0, t0 = pg.evaluate("() => window.__frames"), _tree_cpu(me, server), time.perf_counter()
    time.sleep(seconds)
    f1, b1, t1 = pg.evaluate("() => window.__frames"), _tree_cpu(me, server), time.perf_counter()
    context.close()
    return {"floor_size": size, "floor_fps": (f1 - f0) / (t1 - t0),
            "floor_cores": (b1 - b0) / (t1 - t0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="page window to measure")
    ap.add_argument("--loop-seconds", type=float, default=3.0, help="each loop's window")
    ap.add_argument("--no-browser", action="store_true", help="the loops only")
    ap.add_argument("--pauses", type=int, default=PAUSES, help="Pause presses to time (≥ 1)")
    ap.add_argument("--engine", choices=("auto", "eager"), default="auto",
                    help="auto: the default path, built first if missing; eager: as the tests")
    args = ap.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "?")
    if args.engine == "eager":
        os.environ["GANSIM_COMPILE"] = "0"  # here, in the worker and in the app's server
    else:
        os.environ.pop("GANSIM_COMPILE", None)
        bench_engine.built(Config(), 1)  # the default page's step, as after a first run
    print(f"CPU: {cpu}; engine {args.engine}; load before: {os.getloadavg()[0]:.2f}")
    r = loops(args.loop_seconds)
    print(f"textbook {r['textbook']:.0f} steps/s; engine alone ({r['path']}) {r['engine']:.0f} "
          f"({r['engine'] / r['textbook']:.2f}× textbook); engine in a worker thread, no page "
          f"{r['worker']:.0f} ({r['worker'] / r['engine']:.2f}× engine)")
    if args.no_browser:
        return
    threading.excepthook = lambda a: None  # playwright's event thread at exit: not ours
    b = page(args.seconds, max(1, args.pauses))
    print(f"page at Normal: {b['steps_per_s']:.0f} steps/s = {b['steps_per_s'] / r['textbook']:.2f}"
          f"× textbook [goal ≥ 1.0], {b['steps_per_s'] / r['engine']:.2f}× engine alone "
          f"[goal ≥ 0.7]")
    print(f"arena: {b['changed_fps']:.1f} changed frames/s in the page [goal ≥ 30] "
          f"({b['display_fps']:.1f} display frames/s; the film painted {b['painted_fps']:.1f}/s "
          f"from {b['payloads_per_s']:.1f} payloads/s, {b['fetched_per_s']:.1f}/s of them "
          f"fetched from the film's route); screencast {b['screencast_fps']:.1f} "
          f"distinct/s of {b['screencast_sent']:.1f} sent")
    print(f"CPU: browser {b['browser_cores']:.2f} core [goal ≤ 0.5], server "
          f"{b['server_cores']:.2f} core; the browser's floor: {b['floor_cores']:.2f} core for "
          f"a bare {b['floor_size'][0]}×{b['floor_size'][1]} canvas repainted at each display "
          f"frame ({b['floor_fps']:.1f} frames/s)")
    fmt = lambda v: "?" if v is None else f"{v:.3f} s"  # noqa: E731
    every = ", ".join(f"{v:.3f}" for v in b["pause_page_all"])
    print(f"Pause, {len(b['pause_page_all'])} presses: page-side median "
          f"{b['pause_page_s']:.3f} s, slowest {b['pause_page_max_s']:.3f} s [goal ≤ 0.2] "
          f"(step counter's last change; each: {every}); server, medians: callback at "
          f"{fmt(b['pause_callback_s'])}, worker stopped at {fmt(b['pause_stilled_s'])}, "
          f"toolbar drawn at {fmt(b['pause_bar_s'])}, page redrawn at "
          f"{fmt(b['pause_drawn_s'])} after the press")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

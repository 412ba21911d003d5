"""A class on one server core: K real browser sessions playing at once.

One `streamlit run app.py` worker (what `python -m gansim serve` runs N of) on a free
loopback port, pinned with taskset to one core; headless Chromium pinned to the other
core opens K sessions (own cookie jars, own seeds; one browser, K pages), loads them
all, presses Play in each, and counts over a window each session's steps and arena
frames. Then, in a few sessions while the others keep playing, Reset is pressed (timed
until the step counter drops) and Pause (timed until the page shows Play again; then
Play is pressed again, so every click is timed with the same class playing).
Errors: exceptions on the page, page errors, a dead server. Server memory: RSS of the
worker after each K. The first measurement is one session alone, in the same run, and
every figure is also given as a ratio to it, with the machine's load average.

Each session trains in its own worker thread (gansim/ui/worker.py) and the process's fair
share (gansim/ui/fair.py) governs those workers, not the page's frames; "frames/s" here
is the arena film's painted frames (its own counter, arena_canvas.js).
Goals (issue 22), 10 sessions on one server core: total steps/s >= 80 % of one session
alone, slowest session >= 80 % of the fastest, server's part of Pause <= 0.3 s, Reset
<= 1 s, no errors.
Run:  python bench/bench_class.py [--sessions 4,10,20] [--seconds 20] [--budget 900] [--clicks 3]
Loopback only; stops by itself after --budget seconds at most.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import browserhelpers as tb  # noqa: E402  the page helpers the browser tests use
from bench_soak import rss_mib  # noqa: E402
from gansim import serve  # noqa: E402

SERVER_CORE, BROWSER_CORE = 0, 1
EXCEPTION = '[data-testid="stException"]'
CLICKS_TIMED = 3  # sessions whose Reset and Pause are timed while the others play (--clicks)


class Deadline(Exception):
    """The bench's own time budget ran out."""


CLICKS = tb.ARTIFACTS / "bench-class-clicks.log"  # the server's side of each click


def start_server(log: Path) -> tuple[subprocess.Popen, str]:
    port = serve.free_port()
    CLICKS.write_text("")
    proc = subprocess.Popen(["taskset", "-c", str(SERVER_CORE), *serve.worker_command(port)],
                            cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1",
                                 "GANSIM_CLICK_LOG": str(CLICKS)})
    url = f"http://127.0.0.1:{port}"
    tb.wait_healthy(url, proc, timeout=120)
    return proc, url


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the server (all its threads, ended ones included:
    Streamlit runs scripts in short-lived threads) and by everything on its core
    (/proc/stat): the gap is what other processes took from the server's core."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    mine = (int(fields[11]) + int(fields[12])) / ticks
    core = next(line.split()[1:] for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith(f"cpu{SERVER_CORE} "))
    busy = sum(int(x) for i, x in enumerate(core[:8]) if i not in (3, 4))  # not idle/iowait
    return mine, busy / ticks


def spread(values: list[float], digits: int = 1) -> str:
    return (f"min {min(values):.{digits}f} / median {statistics.median(values):.{digits}f} / "
            f"max {max(values):.{digits}f}")


def measure(browser, url: str, proc, k: int, seconds: float, end: float,
            alone: dict | None = None, clicks: int = CLICKS_TIMED) -> dict:
    """K sessions play; per-session steps/s and frames/s, Pause latency, errors, RSS."""
    errors: list[str] = []
    sessions = []
    try:
        # Every page loads before any plays: a page loading beside many playing ones
        # on a busy core took minutes, which kept K = 20 from finishing in its budget.
        for i in range(k):
            _check(end)
            context, page = tb.open_page(browser, f"{url}/?seed={i + 1}", wait=False)
            page.on("pageerror", lambda e, i=i: errors.append(f"session {i}: {e}"))
            sessions.append((context, page))
        for _, page in sessions:
            page.wait_for_selector(tb.METRIC, timeout=_ms_left(end))
            page.wait_for_function(tb.ARENA_FRAMES, timeout=_ms_left(end))
        _phase(k, f"{k} pages loaded")
        for _, page in sessions:  # the class presses Play within a second or two
            page.get_by_role("button", name="Play").click(timeout=_ms_left(end))
        for _, page in sessions:
            tb.wait_for(lambda: tb.step_of(page) > 0, max(5.0, end - time.monotonic()),
                        "every session to train")
        _phase(k, "every session trains")
        time.sleep(3.0)  # past the first frames
        cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        start = [(tb.step_of(p), p.evaluate(tb.ARENA_FRAMES), time.perf_counter())
                 for _, p in sessions]
        _check(end, seconds)
        time.sleep(seconds)
        stop = [(tb.step_of(p), p.evaluate(tb.ARENA_FRAMES), time.perf_counter())
                for _, p in sessions]
        cpu1, t1 = cpu_seconds(proc.pid), time.perf_counter()
        busy = [(b - a) / (t1 - t0) for a, b in zip(cpu0, cpu1)]  # server, whole core
        steps = [(b[0] - a[0]) / (b[2] - a[2]) for a, b in zip(start, stop)]
        frames = [(b[1] - a[1]) / (b[2] - a[2]) for a, b in zip(start, stop)]
        # Reset then Pause in a few sessions while the others keep playing.
        resets = [_latency(page, "Reset", RESET_SHOWN) for _, page in sessions[:clicks]]
        pauses = []
        for _, page in sessions[:clicks]:
            pauses.append(_latency(page, "Pause", PLAY_SHOWN))
            # Play again, so every Pause is timed with the same number of sessions playing.
            page.get_by_role("button", name="Play").click(timeout=_ms_left(end))
        _phase(k, "clicks timed")
        errors += [f"session {i}: exception on the page" for i, (_, p) in enumerate(sessions)
                   if p.locator(EXCEPTION).count()]
        if proc.poll() is not None:
            errors.append(f"server exited with code {proc.returncode}")
        result = {"k": k, "steps": steps, "frames": frames, "pauses": pauses,
                  "resets": resets, "busy": busy, "errors": errors,
                  "load": os.getloadavg()[0],
                  "rss": rss_mib(proc.pid) if proc.poll() is None else float("nan")}
        report(result, alone)  # before the pages close: closing 20 was seen to hang
        if end - time.monotonic() > 30:
            sessions[-1][1].screenshot(path=str(tb.ARTIFACTS / f"bench-class-{k}.png"))
    finally:
        for context, _ in sessions:
            context.close()
    return result


PRESS = """(label) => {
  const b = [...document.querySelectorAll('button')].find(b => b.innerText.trim().endsWith(label));
  const m = document.querySelector('[data-testid="stMetricValue"]');
  window.__before = parseInt(m.innerText.replace(/,/g, ''));
  window.__pressed = performance.now(); b.click(); return Date.now() / 1000; }"""
PLAY_SHOWN = """() => [...document.querySelectorAll('button')].some(b => b.innerText.trim().endsWith('Play'))
  ? performance.now() - window.__pressed : null"""
RESET_SHOWN = """() => { const m = document.querySelector('[data-testid="stMetricValue"]');
  return m && parseInt(m.innerText.replace(/,/g, '')) < window.__before
  ? performance.now() - window.__pressed : null; }"""


def _latency(page, label: str, shown: str) -> tuple[float, float]:
    """Seconds from a click until the page shows its effect (Play back for Pause, a
    lower step for Reset), timed inside the page (playwright's own round trips to a
    busy browser are not the server's delay); and the server's part of them: from the
    click until the server had run the button's callback and redrawn the page."""
    clicked = page.evaluate(PRESS, label)
    total = page.wait_for_function(shown, timeout=30_000, polling=20).json_value() / 1000
    return total, _server_part(clicked, label.lower())


def _server_part(clicked: float, event: str) -> float:
    """From GANSIM_CLICK_LOG: the first `event` callback after the click, then the first
    page redrawn after it (NaN when the log has none)."""
    seen = False
    for line in CLICKS.read_text().splitlines():
        t, what = line.split()
        if float(t) < clicked - 0.05:  # clocks read in two processes: small slack
            continue
        seen = seen or what == event
        if seen and what == "drawn":
            return float(t) - clicked
    return float("nan")


def _ms_left(end: float) -> float:
    left = end - time.monotonic()
    if left <= 0:
        raise Deadline()
    return left * 1000


STARTED = time.monotonic()


def _phase(k: int, what: str) -> None:
    print(f"      K={k}: {what} ({time.monotonic() - STARTED:.0f} s into the run)", flush=True)


def _check(end: float, need: float = 0.0) -> None:
    if time.monotonic() + need > end:
        raise Deadline()


def clicks(latencies: list[tuple[float, float]]) -> str:
    """"on the page min/median/max s (server's part: …)" for a list of (total, server)."""
    return (f"{spread([t for t, _ in latencies], 2)} s (server's part "
            f"{spread([s for _, s in latencies], 2)} s)")


def report(r: dict, alone: dict | None) -> None:
    total = sum(r["steps"])
    print(f"K={r['k']:>2}: steps/s per session {spread(r['steps'])}; total {total:.0f}; "
          f"frames/s {spread(r['frames'])}; errors {len(r['errors'])}; server RSS "
          f"{r['rss']:.0f} MiB; server used {r['busy'][0]:.0%} of its core, other processes "
          f"{max(0.0, r['busy'][1] - r['busy'][0]):.0%}; load average "
          f"{r['load']:.1f}\n"
          f"      Pause {clicks(r['pauses'])}\n      Reset {clicks(r['resets'])}", flush=True)
    for e in r["errors"][:5]:
        print(f"      error: {e}")
    if alone is None:
        return
    base = alone["steps"][0]
    fair = min(r["steps"]) / max(r["steps"]) if max(r["steps"]) > 0 else 0.0
    worst = {k: [max(x) for x in zip(*r[k])] for k in ("pauses", "resets")}
    print(f"      vs one session alone ({base:.0f} steps/s): total {total / base:.0%} "
          f"[goal ≥ 80%], slowest/fastest {fair:.0%} [≥ 80%], worst Pause "
          f"{worst['pauses'][0]:.2f} s (server's part {worst['pauses'][1]:.2f} s [≤ 0.3 s]), worst "
          f"Reset {worst['resets'][0]:.2f} s (server's part {worst['resets'][1]:.2f} s) "
          f"[≤ 1 s], errors {len(r['errors'])} [0]", flush=True)


def _give_up(proc) -> None:
    print("stopped: the budget ran out inside a browser call; server stopped", flush=True)
    serve.end([proc])
    os._exit(3)  # playwright's driver sees its pipe close and closes Chromium


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", default="4,10,20", help="K values, comma-separated")
    ap.add_argument("--seconds", type=float, default=20.0, help="measuring window per K")
    ap.add_argument("--budget", type=float, default=900.0, help="stop after this many s")
    ap.add_argument("--clicks", type=int, default=CLICKS_TIMED,
                    help="sessions whose Reset and Pause are timed (at most K)")
    args = ap.parse_args()
    if args.clicks < 1:
        ap.error(f"--clicks must be at least 1, got {args.clicks}")
    end = time.monotonic() + args.budget
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the server on the way out
    os.sched_setaffinity(0, {BROWSER_CORE})  # Chromium inherits this core
    tb.ARTIFACTS.mkdir(exist_ok=True)
    from playwright.sync_api import sync_playwright

    proc, url = start_server(tb.ARTIFACTS / "bench-class-server.log")
    # A browser call with no timeout of its own (closing 20 contexts on a starved core
    # was seen to hang) must not outlive the budget: stop everything a minute after it.
    watchdog = threading.Timer(args.budget + 60, _give_up, args=(proc,))
    watchdog.daemon = True
    watchdog.start()
    print(f"server pid {proc.pid} on core {SERVER_CORE}, browsers on core {BROWSER_CORE}; "
          f"{os.cpu_count()} cores; window {args.seconds:.0f} s", flush=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS)
            try:
                alone = measure(browser, url, proc, 1, args.seconds, end)
            except Deadline:
                sys.exit(f"stopped: the {args.budget:.0f} s budget ran out with one session")
            for k in (int(x) for x in args.sessions.split(",")):
                try:
                    measure(browser, url, proc, k, args.seconds, end, alone, args.clicks)
                except Deadline:
                    print(f"K={k}: stopped, the {args.budget:.0f} s budget ran out")
                    break
                except Exception as e:  # a K the machine cannot carry: say so, go on
                    print(f"K={k}: failed: {type(e).__name__}: {str(e).splitlines()[0]}")
            browser.close()
    finally:
        serve.end([proc])


if __name__ == "__main__":
    main()

"""A class on one server core: K real browser sessions playing at once.

One `streamlit run app.py` worker (what `python -m gansim serve` runs N of) on a free
loopback port, pinned with taskset to one core; headless Chromium pinned to the other
core opens K sessions (own cookie jars, own seeds; one browser, K pages), loads them
all, presses Play in each, and counts over a window each session's steps and arena
frames. Steps are counted on the server: the bench asks each session's film route
(gansim/ui/film.py) for a fresh snapshot at both ends of the window. Counted off the
pages (the step counter redraws once per page tick, 2.5 s with ten playing; the film's
step once per painted frame, 1–2 a second with ten pages on one browser core), a 15 s
window's count was up to ~15 % off, and the slowest/fastest ratio with it. Then, in a
few sessions while the others keep playing, Reset is pressed (timed until the step
counter drops) and Pause (timed until the page shows Play again; then Play is pressed
again, so every click is timed with the same class playing).
Errors: exceptions on the page, page errors, a dead server. Server memory: RSS of the
worker after each K. The first measurement is one session alone, in the same run, and
every figure is also given as a ratio to it, with the machine's load average.

Each session trains in its own worker thread (gansim/ui/worker.py) and the process's fair
share (gansim/ui/fair.py) governs those workers, not the page's frames; "frames/s" here
is the arena film's painted frames (its own counter, arena_canvas.js).
A click's delay is split in three, all on this machine's clock: the browser's part (the
click until the page's websocket sends it; ten pages share one browser core here, where
a class has a machine per student), the way across (until the server's session takes the
request in: bench/click_probe.py, through which the worker is started, notes it), and
the server's part (from there until the button's callback has run and the toolbar shows
its effect: gansim.ui.fair's GANSIM_CLICK_LOG). The goals below are the server's part.
Goals (issue 22), 10 sessions on one server core: total steps/s >= 80 % of one session
alone, slowest session >= 80 % of the fastest, server's part of Pause <= 0.3 s, Reset
<= 1 s, no errors.
Run:  python bench/bench_class.py [--sessions 4,10,20] [--seconds 20] [--budget 900] [--clicks 3]
Loopback only; stops by itself after --budget seconds at most.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
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
    python, *streamlit = serve.worker_command(port)  # python -m streamlit run app.py ...
    assert streamlit[:2] == ["-m", "streamlit"], streamlit
    command = [python, str(ROOT / "bench" / "click_probe.py"), *streamlit[2:]]
    proc = subprocess.Popen(["taskset", "-c", str(SERVER_CORE), *command],
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


def spread(values, digits: int = 1) -> str:
    """"min / median / max" of the values that were measured (NaN marks a missing one)."""
    known = [v for v in values if v == v]
    missing = f" ({len(values) - len(known)} not measured)" if len(known) < len(values) else ""
    if not known:
        return "not measured"
    return (f"min {min(known):.{digits}f} / median {statistics.median(known):.{digits}f} / "
            f"max {max(known):.{digits}f}{missing}")


def worst(values) -> float:
    """The largest measured value (NaN when none was)."""
    return max((v for v in values if v == v), default=float("nan"))


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
        films = [url + p.evaluate(tb.FILM_URL) for _, p in sessions]
        start = _counts(films, sessions)
        _check(end, seconds)
        time.sleep(seconds)
        stop = _counts(films, sessions)
        cpu1, t1 = cpu_seconds(proc.pid), time.perf_counter()
        busy = [(b - a) / (t1 - t0) for a, b in zip(cpu0, cpu1)]  # server, whole core
        steps = [(b[0] - a[0]) / (b[1] - a[1]) for a, b in zip(start, stop)]
        frames = [(b[2] - a[2]) / (b[1] - a[1]) for a, b in zip(start, stop)]
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


# Whether a websocket message is a BackMsg asking for a rerun a person made (a click):
# field 11 (rerun_script) holding a ClientState without field 6 (is_auto_rerun) set. The
# fragments' timers send auto reruns, and the page heartbeats; neither is the click. (A
# toolbar click reruns the toolbar's fragment, so field 5, fragment_id, may be set.)
CLICK_RERUN = """const clickRerun = (data) => {
  const b = data instanceof ArrayBuffer ? new Uint8Array(data)
    : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
  if (!b || b[0] !== 0x5a) return false;
  let i = 1;
  const varint = () => { let v = 0, s = 0, c;
    do { c = b[i++]; v += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80); return v; };
  const end = varint() + i;
  while (i < end) {
    const tag = varint(), wire = tag & 7;
    if (wire === 0) { const v = varint(); if (tag >> 3 === 6 && v !== 0) return false; continue; }
    if (wire !== 2) return false;
    const n = varint();  // read before i moves: `i += varint()` would add to the old i
    i += n;
  }
  return true;
};
"""
PRESS = """(label) => {
  """ + CLICK_RERUN + """
  const b = [...document.querySelectorAll('button')].find(b => b.innerText.trim().endsWith(label));
  const m = document.querySelector('[data-testid="stMetricValue"]');
  window.__before = parseInt(m.innerText.replace(/,/g, ''));
  if (!window.__probe) {  // the first click rerun request sent after a press is the click's
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
      if (window.__sent === null && clickRerun(data)) window.__sent = Date.now() / 1000;
      return send.call(this, data);
    };
    window.__probe = true;
  }
  window.__sent = null;
  window.__pressed = performance.now(); const t = Date.now() / 1000; b.click(); return t; }"""
PLAY_SHOWN = """() => [...document.querySelectorAll('button')].some(b => b.innerText.trim().endsWith('Play'))
  ? performance.now() - window.__pressed : null"""
RESET_SHOWN = """() => { const m = document.querySelector('[data-testid="stMetricValue"]');
  return m && parseInt(m.innerText.replace(/,/g, '')) < window.__before
  ? performance.now() - window.__pressed : null; }"""


def _counts(films: list[str], sessions) -> list[tuple[int, float, int]]:
    """Per session: its step on the server, when it was read, and its film's frames."""
    return [(*_server_step(f), p.evaluate(tb.ARENA_FRAMES)) for f, (_, p) in zip(films, sessions)]


def _server_step(film: str) -> tuple[int, float]:
    """A session's step now, from its film route (a fresh snapshot: film.Source.body),
    and when: the middle of the request, on this machine's clock."""
    before = time.perf_counter()
    with urllib.request.urlopen(film, timeout=30) as answer:
        step = json.load(answer)["step"]
    return step, (before + time.perf_counter()) / 2


def _latency(page, label: str, shown: str) -> tuple[float, ...]:
    """Seconds from a click until the page shows its effect (Play back for Pause, a
    lower step for Reset), timed inside the page (playwright's own round trips to a
    busy browser are not the server's delay); then its parts (_parts)."""
    clicked = page.evaluate(PRESS, label)
    total = page.wait_for_function(shown, timeout=30_000, polling=20).json_value() / 1000
    sent = page.evaluate("() => window.__sent")
    return (total, *_parts(clicked, sent, label.lower()))


def _parts(clicked: float, sent: float | None, event: str) -> tuple[float, float, float]:
    """(browser, across, server) seconds of one click: the click until the page's
    websocket sent it; until the server's session received the click's rerun request;
    from there until the `event` callback had run and the toolbar, which shows the
    click's effect (Play back, the step counter), was drawn (GANSIM_CLICK_LOG; the rest
    of the page follows it, gansim/ui/toolbar.py).
    NaN where a mark is missing."""
    nan = float("nan")
    if sent is None:
        return nan, nan, nan
    marks = {"received": nan, event: nan, "bar": nan}
    order = iter(marks)
    want = next(order)
    for line in CLICKS.read_text().splitlines():
        t, what = line.split()
        if float(t) < sent - 0.05:  # clocks read in two processes: small slack
            continue
        if what == want:
            marks[want] = float(t)
            want = next(order, None)
            if want is None:
                break
    return sent - clicked, marks["received"] - sent, marks["bar"] - marks["received"]


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


def clicks(latencies: list[tuple[float, ...]]) -> str:
    """A line for a list of (total, browser, across, server): each min/median/max."""
    total, browser, across, server = zip(*latencies)
    return (f"{spread(total, 2)} s on the page; browser's part {spread(browser, 2)} s, "
            f"across {spread(across, 2)} s, server's part {spread(server, 2)} s")


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
    most = {k: [worst(x) for x in zip(*r[k])] for k in ("pauses", "resets")}
    server = {k: most[k][3] for k in most}
    print(f"      vs one session alone ({base:.0f} steps/s): total {total / base:.0%} "
          f"[goal ≥ 80%], slowest/fastest {fair:.0%} [≥ 80%], worst Pause "
          f"{most['pauses'][0]:.2f} s (server's part {server['pauses']:.2f} s [≤ 0.3 s]), worst "
          f"Reset {most['resets'][0]:.2f} s (server's part {server['resets']:.2f} s) "
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

"""Where the browser's CPU goes while the live page plays (issue 22's browser budget).

`streamlit run app.py` on loopback, headless Chromium at 1366×768 presses Play at
"Normal"; over a window it reports the browser's CPU per process kind (renderer, GPU
process, ...), the renderer main thread's busy time (CDP Performance metrics), and then
either the busiest trace events by thread (--trace: Chromium's own timeline, e.g.
ProxyMain::BeginMainFrame, Commit, FireAnimationFrame, MessagePort::Accept for React)
or the JavaScript functions' own time (--js: CDP sampling profiler). What bench_app.py
measures as one number, split so the next lever is chosen by measurement.
Run:  python bench/profile_page.py [--seconds 8] [--trace] [--js] [--width 1366 --height 768]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GANSIM_COMPILE", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from bench_app import _stat, browser_procs  # noqa: E402

TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "toplevel",
                    "blink", "cc", "viz"]


def _kind(pid: int, name: str) -> str:
    """renderer, gpu-process, utility, zygote, or the process's own name (the browser)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return name
    for kind in ("renderer", "gpu-process", "utility", "zygote"):
        if f"--type={kind}" in cmd:
            return kind
    return name


def _browser_cpu(root: int, skip: int) -> dict[str, float]:
    """CPU seconds of the browser's processes, by kind."""
    out: dict[str, float] = collections.defaultdict(float)
    for pid, (cpu, name) in browser_procs(root, skip).items():
        out[_kind(pid, name)] += cpu
    return out


def _trace(browser, page, seconds: float, top: int) -> None:
    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    time.sleep(seconds)
    events = json.loads(browser.stop_tracing())
    events = events["traceEvents"] if isinstance(events, dict) else events
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    busy: dict = collections.defaultdict(float)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            busy[(names.get((e["pid"], e["tid"]), "?"), e["name"])] += e["dur"] / 1e6 / seconds
    print(f"trace events, wall seconds per second (nested events overlap), top {top}:")
    for (thread, name), v in sorted(busy.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {v:.3f}  {thread:28s} {name}")


def _js(cdp, seconds: float, top: int) -> None:
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 200})
    cdp.send("Profiler.start")
    time.sleep(seconds)
    prof = cdp.send("Profiler.stop")["profile"]
    nodes = {n["id"]: n["callFrame"] for n in prof["nodes"]}
    hits = collections.Counter(prof["samples"])
    total = sum(hits.values()) or 1
    own: collections.Counter = collections.Counter()
    for nid, n in hits.items():
        f = nodes[nid]
        own[f"{f['functionName'] or '(anonymous)'} {f['url'].split('/')[-1][:40]}:{f['lineNumber']}"] += n
    print(f"JavaScript own time, seconds per second, top {top}:")
    for name, n in own.most_common(top):
        print(f"  {n / total:.3f}  {name}")


def main() -> None:
    import browserhelpers as bh
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--trace", action="store_true", help="Chromium's timeline by thread")
    p.add_argument("--js", action="store_true", help="JavaScript functions' own time")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--width", type=int, default=1366)
    p.add_argument("--height", type=int, default=768)
    args = p.parse_args()
    with bh.streamlit_server() as (url, proc), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=bh.CHROMIUM, args=bh.CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": args.width, "height": args.height})
        page = context.new_page()
        page.goto(url, wait_until="commit")
        bh.wait_loaded(page)
        page.get_by_role("button", name="Play").click()
        bh.wait_for(lambda: bh.step_of(page) > 0, 30, "training to start")
        time.sleep(2.0)
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        metrics = lambda: {m["name"]: m["value"]  # noqa: E731
                           for m in cdp.send("Performance.getMetrics")["metrics"]}
        me = os.getpid()
        m0, c0, s0 = metrics(), _browser_cpu(me, proc.pid), _stat(proc.pid)[1]
        a0, t0 = page.evaluate(bh.ARENA_STATS), time.perf_counter()
        time.sleep(args.seconds)
        m1, c1, s1 = metrics(), _browser_cpu(me, proc.pid), _stat(proc.pid)[1]
        a1, span = page.evaluate(bh.ARENA_STATS), time.perf_counter() - t0
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                    if line.startswith("model name")), "?")
        print(f"CPU: {cpu}; load {os.getloadavg()[0]:.2f}; "
              f"server {(s1 - s0) / span:.2f} core; film painted "
              f"{(a1['frames'] - a0['frames']) / span:.1f} frames/s from "
              f"{(a1['payloads'] - a0['payloads']) / span:.1f} payloads/s")
        cores = {k: (c1.get(k, 0.0) - c0.get(k, 0.0)) / span for k in c1}
        print("browser, cores by process: " + ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(cores.items(), key=lambda kv: -kv[1]))
            + f"; total {sum(cores.values()):.2f}")
        for key in ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration"):
            print(f"renderer main thread {key}: {(m1[key] - m0[key]) / span:.3f} s/s")
        if args.trace:
            _trace(browser, page, args.seconds, args.top)
        if args.js:
            _js(cdp, args.seconds, args.top)
        context.close()
        browser.close()


if __name__ == "__main__":
    main()

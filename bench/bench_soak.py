"""Soak: one browser session plays for M minutes; does the server's memory stay flat?

`streamlit run app.py` on loopback, headless Chromium opens the page and presses Play,
then the server's resident memory (the Streamlit process, RSS from /proc) is sampled
every --sample seconds while it trains (a line printed every --every seconds). Reported:
RSS at the start and end, the growth per hour fitted (least squares) over the samples
after the first tenth of the run (the first minutes fill caches, the JIT and the run's
bounded buffers), the median of each 5-minute window and the growth fitted over those
medians, steps trained, and whether the server stayed up. Stops by itself after M minutes.

Why medians: a single RSS reading swings by ±15 MiB with the payloads being built at
that instant, so a fit over sparse readings follows the swings; a window's median does
not.

Then the tab closes without a Pause: the server's thread count before and after
the worker's heartbeat (gansim/ui/worker.py) says whether the session's worker ended.
Target (issue 13): memory flat over a long play; (issue 22) no worker outlives its tab.
Run:  python bench/bench_soak.py --minutes 60 [--every 30] [--sample 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from gansim.ui import worker  # noqa: E402


def rss_mib(pid: int) -> float:
    """Resident memory of one process in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def threads(pid: int) -> int:
    """Threads of one process (Linux /proc): a session's worker is one of them."""
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per hour."""
    n = len(samples)
    if n < 2:
        return float("nan")
    mt = sum(t for t, _ in samples) / n
    mm = sum(m for _, m in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    cov = sum((t - mt) * (m - mm) for t, m in samples)
    return cov / var * 3600 if var else float("nan")


WINDOW_S = 300.0  # the median's window: 5 minutes


def window_medians(samples: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(window centre in seconds, median MiB) of each full WINDOW_S window of samples."""
    out = []
    start = 0.0
    while start + WINDOW_S <= samples[-1][0] + 1e-9:
        inside = sorted(m for t, m in samples if start <= t < start + WINDOW_S)
        if inside:
            out.append((start + WINDOW_S / 2, inside[len(inside) // 2]))
        start += WINDOW_S
    return out


def soak(minutes: float, every: float, sample: float) -> dict:
    import browserhelpers as tb  # the server and page helpers the browser tests use
    from playwright.sync_api import sync_playwright

    tb.ARTIFACTS.mkdir(exist_ok=True)
    samples: list[tuple[float, float]] = []
    with tb.streamlit_server() as (url, proc), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=tb.CHROMIUM, args=tb.CHROMIUM_ARGS)
        context, page = tb.open_page(browser, url)
        page.get_by_role("button", name="Play").click()
        tb.wait_for(lambda: tb.step_of(page) > 0, 60, "training to start")
        t0 = time.monotonic()
        end = t0 + minutes * 60
        printed = -every
        while True:
            now = time.monotonic()
            samples.append((now - t0, rss_mib(proc.pid)))
            last = now >= end or proc.poll() is not None
            if last or now - t0 >= printed + every:
                printed = now - t0
                step = tb.step_of(page)
                print(f"{(now - t0) / 60:6.1f} min  step {step:>9,}  server RSS "
                      f"{samples[-1][1]:7.1f} MiB  threads {threads(proc.pid)}", flush=True)
            if last:
                break
            time.sleep(min(sample, max(0.0, end - now)))
        alive = proc.poll() is None
        page.screenshot(path=str(tb.ARTIFACTS / "bench-soak.png"))
        playing_threads = threads(proc.pid)
        context.close()  # the tab closes without a Pause: its worker must end by itself
        time.sleep(worker.HEARTBEAT_S + 2.0)
        closed_threads = threads(proc.pid) if alive else 0
        browser.close()
    settled = [s for s in samples if s[0] >= 0.1 * minutes * 60]
    medians = window_medians(samples)
    return {"start": samples[0][1], "end": samples[-1][1], "peak": max(m for _, m in samples),
            "per_hour": slope_per_hour(settled), "medians": medians,
            "medians_per_hour": slope_per_hour(medians[1:]), "steps": step, "alive": alive,
            "minutes": samples[-1][0] / 60, "threads": (playing_threads, closed_threads)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to play")
    ap.add_argument("--every", type=float, default=30.0, help="seconds between printed lines")
    ap.add_argument("--sample", type=float, default=2.0, help="seconds between RSS readings")
    args = ap.parse_args()
    r = soak(args.minutes, args.every, args.sample)
    print(f"soak: {r['minutes']:.1f} min, {r['steps']:,} steps; server RSS "
          f"{r['start']:.0f} → {r['end']:.0f} MiB (peak {r['peak']:.0f}); growth "
          f"{r['per_hour']:+.1f} MiB/hour (fit after the first tenth); server "
          f"{'up' if r['alive'] else 'DIED'}; server threads while playing "
          f"{r['threads'][0]}, {worker.HEARTBEAT_S + 2:.0f} s after the tab closed "
          f"{r['threads'][1]}")
    growth = (f"{r['medians_per_hour']:+.1f} MiB/hour" if len(r["medians"]) >= 3
              else "needs three windows (15 minutes) or more")
    print("5-minute medians (MiB): " + ", ".join(f"{m:.0f}" for _, m in r["medians"])
          + f"; growth fitted over the medians after the first: {growth}")


if __name__ == "__main__":
    main()

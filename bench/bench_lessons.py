"""Time to insight: each lesson run replayed as the live page plays it, without a browser.

    python bench/bench_lessons.py [--lesson ID] [--seed 0] [--max-seconds 90]

A lesson run is played as the app plays it at "Normal" speed (gansim/ui/transport.py), or
with fewer frames when the lesson's step asks for them (frames = "fewer"): the step's
settings go through the Run as the lesson panel sends them, and the Run's own worker
(gansim/ui/worker.py) trains the run's N steps in its thread. Beside it, as the browser
would, the film takes a snapshot and serialises its payload every live tick
(gansim/ui/film.py), and the page's frame every page tick follows the diagnosis on the
film's snapshot and serialises the story's tables as st.vega_lite_chart would
(gansim/ui/live.py). At each page tick every claim of the run is evaluated on the
history, and the live seconds until it first holds are recorded ("-": not within the
run). Claims judge the run's end in the lesson check, so the last column says whether
each still holds when the run ends.

The textbook non-saturating loop of bench/bench_engine.py is timed in the same process
(before the lessons, and again after them to show drift; wall clock, like the lessons),
and every time is also shown scaled to a machine where that loop trains 200 steps/s:
the issue's half-minute budget (30 s a run; unrolling 60 s) is stated on that machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import bench_engine  # noqa: E402  (its textbook loop is the yardstick)
from gansim import ahead  # noqa: E402
from gansim.config import restart_fields_changed  # noqa: E402
from gansim.tracker import Tracker  # noqa: E402
from gansim.lessons import Lesson, load_all  # noqa: E402
from gansim.ui import charts, film, keys, lesson_panel, transport  # noqa: E402
from gansim.ui.session import Run  # noqa: E402

REFERENCE_RATE = 200.0  # textbook steps/s of the machine the budget is stated on
BUDGET_S = {"plain": 30.0, "unroll": 60.0}  # seconds a run may take there (issue 12)


def textbook_rate(steps: int = 200, repeats: int = 3) -> float:
    """Median wall-clock steps/s of bench_engine's textbook non-saturating loop."""
    bench_engine.CLOCK = time.perf_counter
    loop = bench_engine.Textbook(bench_engine.VARIANTS["ns"])
    bench_engine.rate(loop, 40)  # warm-up
    return statistics.median(bench_engine.rate(loop, steps) for _ in range(repeats))


OPTIONS = {"show_arrows": True, "show_manifold": False, "show_rings": True}  # the defaults


def film_frame(run: Run) -> None:
    """What the film's route does for each fetch: a snapshot, its payload as JSON."""
    json.dumps(film.payload(run, run.snapshot(), OPTIONS), separators=(",", ":"))


def page_frame(run: Run, tracker: Tracker, live_s: float) -> None:
    """The live fragment's rerun: the film's snapshot, the diagnosis, the story sent."""
    from streamlit import dataframe_util

    snap = run.snapshot(max_age_s=live_s)
    tracker.follow(snap)
    for table in charts.story(snap)["datasets"].values():
        dataframe_util.convert_anything_to_arrow_bytes(table)


def play_run(run: Run, step, max_seconds: float) -> dict:
    """Play one lesson run as the page does; seconds until each claim first holds."""
    # The speed the lesson panel plays this run at: the default, or fewer frames when
    # the step asks for them.
    speed = transport.SPEEDS[lesson_panel.speed_for(step, keys.SPEED.default)]
    live_s, page_s = transport.ticks(speed, playing=1)  # one page, playing alone
    tracker, first = Tracker(), {i: None for i in range(len(step.expect))}
    w = run.worker
    w.connected = lambda: True  # the tab stays open
    w.set_speed(speed)
    start = time.perf_counter()
    next_page = start
    w.play(step.train, step.phase)
    try:
        while True:
            tick = time.perf_counter()
            w.beat()
            film_frame(run)
            if tick >= next_page:
                page_frame(run, tracker, live_s)
                next_page += page_s
                now = time.perf_counter() - start
                for i, claim in enumerate(step.expect):
                    if first[i] is None and claim.holds(run.trainer.history.rows)[0]:
                        first[i] = now
            if w.finished or run.error or not w.alive or tick - start > max_seconds:
                break
            time.sleep(max(0.0, live_s - (time.perf_counter() - tick)))
    finally:
        w.pause()
    seconds = time.perf_counter() - start
    rows = run.trainer.history.rows
    for i, claim in enumerate(step.expect):  # the page's last frame shows the run's end
        if first[i] is None and claim.holds(rows)[0]:
            first[i] = seconds
    return {"seconds": seconds, "trained": step.train - (w.left or 0),
            "first": first, "at_end": [c.holds(rows)[0] for c in step.expect],
            "error": run.error}


def play_lesson(lesson: Lesson, seed: int, max_seconds: float):
    """Each run as the lesson panel starts it; yields (index, step, result) per run."""
    run = None
    # As the lesson panel does when a lesson opens: its runs' steps compile ahead.
    ahead.prepare([lesson.config_at(i) for i, s in enumerate(lesson.steps) if s.train])
    for i, step in enumerate(lesson.steps):
        cfg = lesson.config_at(i).replace(seed=seed)
        if run is None:
            run = Run(cfg)
        elif step.reset or restart_fields_changed(run.cfg, cfg):
            run.reset(cfg)
        else:
            run.apply(cfg)
        if step.train:
            yield i, step, run.cfg, play_run(run, step, max_seconds)


def fmt(seconds: float | None, scale: float) -> str:
    return "-" if seconds is None else f"{seconds:.1f} ({seconds * scale:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lesson", help="only this lesson id")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=90.0,
                    help="stop a run after this many live seconds here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    lessons = [l for l in load_all() if args.lesson in (None, l.id)]
    if not lessons:
        sys.exit(f"no lesson with id {args.lesson!r} (ids: {', '.join(l.id for l in load_all())})")
    before = textbook_rate()
    scale = before / REFERENCE_RATE
    print(f"textbook loop here: {before:.0f} steps/s (wall clock), load average "
          f"{os.getloadavg()[0]:.1f}; seed {args.seed}; times are live seconds here "
          f"(in brackets: scaled to a {REFERENCE_RATE:.0f} steps/s machine)\n")
    print("| lesson | run | steps | run s | budget s | claim | first holds s | at end |")
    print("|---|---|---|---|---|---|---|---|")
    for lesson in lessons:
        for i, step, cfg, r in play_lesson(lesson, args.seed, args.max_seconds):
            print_rows(lesson, i, step, cfg, r, scale)
    after = textbook_rate()
    print(f"\ntextbook loop after the lessons: {after:.0f} steps/s (a large change from "
          f"{before:.0f} means the machine's load changed during the run)")


def print_rows(lesson: Lesson, i: int, step, cfg, r: dict, scale: float) -> None:
    """One table row per claim (one for an unchecked run); ✗ marks a run over budget."""
    budget = BUDGET_S["unroll" if cfg.unroll else "plain"]
    over = " ✗" if r["seconds"] * scale > budget or r["trained"] < step.train else ""
    if r["error"]:
        over += f" (stopped: {r['error'][:60]})"
    head = (f"| {lesson.id} | {step.label or f'step {i + 1}'} | {r['trained']}/{step.train} "
            f"| {fmt(r['seconds'], scale)}{over} | {budget:.0f} |")
    for k, claim in enumerate(step.expect or [None]):
        what = claim.describe() if claim else "(not checked)"
        end = "" if claim is None else ("yes" if r["at_end"][k] else "no")
        print(f"{head} {what} | {fmt(r['first'].get(k), scale)} | {end} |", flush=True)

if __name__ == "__main__":
    main()

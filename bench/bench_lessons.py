"""Time to insight: each lesson run replayed in the app's own live loop, without a browser.

    python bench/bench_lessons.py [--lesson ID] [--seed 0] [--max-seconds 90]

A lesson run is played as the app plays it at "Normal" speed (gansim/ui/transport.py), or
with fewer frames when the lesson's step asks for them (frames = "fewer"): the
step's settings go through the Run as the lesson panel sends them, then frame after
frame the Run trains for the frame's budget in its fair turn, takes a snapshot, follows
the diagnosis, builds the arena's and the time charts' specs (the time charts at most
every STORY_EVERY_S, as live.py does) and serialises them as st.vega_lite_chart would.
A frame never takes less than the browser's tick (transport.TICK_S). After each frame every
claim of the run is evaluated on the history, and the live seconds until it first
holds are recorded ("-": not within the run). Claims judge the run's end in the lesson
check, so the last column says whether each still holds when the run ends.

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
from gansim.ui import charts, keys, lesson_panel, live, transport  # noqa: E402
from gansim.ui.session import Run  # noqa: E402

REFERENCE_RATE = 200.0  # textbook steps/s of the machine the budget is stated on
BUDGET_S = {"plain": 30.0, "unroll": 60.0}  # seconds a run may take there (issue 12)


def textbook_rate(steps: int = 200, repeats: int = 3) -> float:
    """Median wall-clock steps/s of bench_engine's textbook non-saturating loop."""
    bench_engine.CLOCK = time.perf_counter
    loop = bench_engine.Textbook(bench_engine.VARIANTS["ns"])
    bench_engine.rate(loop, 40)  # warm-up
    return statistics.median(bench_engine.rate(loop, steps) for _ in range(repeats))


def draw(run: Run, tracker: Tracker, story_at: list) -> None:
    """The live frame's work after training: snapshot, diagnosis, both charts, sent."""
    from streamlit import dataframe_util

    snap = run.snapshot()
    tracker.follow(snap)
    specs = [charts.arena(snap)]
    if time.perf_counter() - story_at[0] >= live.STORY_EVERY_S:
        specs.append(charts.story(snap))
        story_at[0] = time.perf_counter()
    for spec in specs:
        data = spec.pop("datasets")
        json.dumps(spec)
        for table in data.values():
            dataframe_util.convert_anything_to_arrow_bytes(table)


def play_run(run: Run, step, max_seconds: float) -> dict:
    """Play one lesson run frame by frame; seconds until each claim first holds."""
    # The speed the lesson panel plays this run at: the default, or fewer frames when
    # the step asks for them.
    speed = transport.SPEEDS[lesson_panel.speed_for(step, keys.SPEED.default)]
    max_steps, turn_s = speed.steps, speed.turn_s
    tracker, story_at = Tracker(), [0.0]
    first = {i: None for i in range(len(step.expect))}
    left, start = step.train, time.perf_counter()
    while left and not run.error:
        frame_start = time.perf_counter()
        left -= run.train_for(turn_s, left if max_steps is None else min(max_steps, left),
                              step.phase)
        draw(run, tracker, story_at)
        idle = transport.TICK_S - (time.perf_counter() - frame_start)
        if idle > 0:
            time.sleep(idle)  # the browser asks for the next frame only on its tick
        now = time.perf_counter() - start
        for i, claim in enumerate(step.expect):
            if first[i] is None and claim.holds(run.trainer.history.rows)[0]:
                first[i] = now
        if now > max_seconds:
            break
    rows = run.trainer.history.rows
    return {"seconds": time.perf_counter() - start, "trained": step.train - left,
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

"""Run every lesson's claims headlessly over seeds: a lesson must show its point every time."""
from __future__ import annotations

import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from .config import restart_fields_changed
from .cost import relative_step_cost
from .diagnosis import KINDS
from .lessons import Lesson, load_all
from .snapshot import verdict

# A teacher runs a lesson once, on an unknown CPU (float order, hence the trajectory, differs
# between machines), so a claim must hold on nearly every seed: at most 5 % of the seeds,
# rounded up, may miss (20 seeds: 19 must hold; 10: 9; 5: 4). At least one seed must hold,
# so a one-seed check can still fail.
MISS_SHARE = 0.05


def seeds_needed(n_seeds: int) -> int:
    """How many of `n_seeds` seeds a claim must hold on to pass."""
    return max(1, n_seeds - math.ceil(MISS_SHARE * n_seeds))


def rule(n_seeds: int) -> str:
    """The pass rule in words, for the table's header and the summary line."""
    return f"≥ {seeds_needed(n_seeds)} of {n_seeds} seeds"


@dataclass(frozen=True)
class ClaimResult:
    lesson: str
    run: str  # the step's label (or its index)
    claim: str
    seed: int
    holds: bool
    value: float
    seconds: float  # training time of the run this claim belongs to
    shown: str = ""  # a verdict claim: the verdict the run's banner ended on


def enter_step(trainer, lesson: Lesson, index: int, seed: int | None = None,
               seeds: list[int] | None = None):
    """The Trainer for step `index`: a fresh one when the step resets or changes a setting
    that needs new networks, else `trainer` with the step's changes applied live.
    `seeds`: the fresh Trainer stacks these seeds (one run each)."""
    from .trainer import Trainer

    step = lesson.steps[index]
    cfg = lesson.config_at(index)
    if seeds:
        seed = seeds[0]
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    if trainer is None or step.reset or restart_fields_changed(trainer.cfg, cfg):
        # The compiled step where this machine has built it (engine "auto"), and no build
        # started for the rest: each setting's run is met once per check, and a build
        # (~30 s of a core) would only take the cores the check is using.
        return Trainer(cfg, seeds=seeds, build_missing=False)
    trainer.update(**{k: getattr(cfg, k) for k in step.changes})
    return trainer


def play(lesson: Lesson, seeds: list[int] | None = None, seed: int | None = None) -> list[ClaimResult]:
    """Walk a lesson's steps on `seeds` (stacked in one Trainer; or one `seed`) as the
    app would, checking each claim on every run."""
    import torch

    seeds = list(seeds) if seeds else [seed if seed is not None else lesson.config.seed]
    from .trainer import Diverged

    torch.set_num_threads(1)
    trainer = None
    results = []
    for i, step in enumerate(lesson.steps):
        results += game_results(lesson, i, seeds)
        trainer = enter_step(trainer, lesson, i, seeds=seeds)
        if not (step.expect or step.verdicts) and _starts_fresh(lesson, i + 1, trainer):
            continue  # nothing checks this run, and the next step does not build on it
        start = time.perf_counter()
        try:
            step.run(trainer)
        except Diverged:
            pass  # every run diverged: the claims judge what each logged
        seconds = (time.perf_counter() - start) / len(seeds)
        label = step.label or f"step {i + 1}"
        for n, (seed, history) in enumerate(zip(seeds, trainer.histories)):
            for claim in step.expect:
                holds, value = claim.holds(history.rows)
                results.append(ClaimResult(lesson.id, label, claim.describe(), seed, holds,
                                           value, seconds))
            if step.verdicts:
                kind = verdict(trainer.run(n)).kind
                results.append(ClaimResult(lesson.id, label, step.verdict_claim(), seed,
                                           kind in step.verdicts, math.nan, seconds, KINDS[kind]))
    return results


def game_results(lesson: Lesson, index: int, seeds: list[int]) -> list[ClaimResult]:
    """Step `index`'s Dirac-GAN claims: measured once (the game has no randomness) and
    reported as one row per seed, so the table's rule reads the same for every claim."""
    from . import dirac

    step = lesson.steps[index]
    rows = []
    for claim in step.game_claims:
        start = time.perf_counter()
        value = dirac.measure(step.game, claim.metric)
        seconds = time.perf_counter() - start
        rows += [ClaimResult(lesson.id, step.label or f"step {index + 1}", claim.describe(),
                             seed, claim.judge(value), value, seconds) for seed in seeds]
    return rows


def _starts_fresh(lesson: Lesson, index: int, trainer) -> bool:
    """True when step `index` does not continue `trainer` (or there is no such step)."""
    if index >= len(lesson.steps):
        return True
    cfg = lesson.config_at(index).replace(seed=trainer.cfg.seed)
    return lesson.steps[index].reset or bool(restart_fields_changed(trainer.cfg, cfg))


def _play(args: tuple[Lesson, list[int]]) -> list[ClaimResult]:
    return play(*args)


def check(lessons: list[Lesson], seeds: list[int], jobs: int | None = None,
          progress=None) -> list[ClaimResult]:
    """Every lesson, its seeds stacked (split so every core gets work), in parallel over
    the machine's cores.

    The costliest lessons start first, so no long run is left alone at the end while the
    other cores idle; results come back in lesson order, whatever order they finish in.
    """
    jobs = jobs or os.cpu_count() or 1
    checked = [lesson for lesson in lessons
               if any(st.expect or st.game_claims or st.verdicts for st in lesson.steps)]
    parts_per_lesson = max(1, math.ceil(jobs / max(len(checked), 1)))
    size = max(1, math.ceil(len(seeds) / parts_per_lesson))
    work = [(lesson, seeds[i:i + size]) for lesson in checked for i in range(0, len(seeds), size)]
    parts: list[list[ClaimResult]] = [[] for _ in work]
    if jobs == 1:
        for n, item in enumerate(work, 1):
            parts[n - 1] = _play(item)
            if progress:
                progress(n, len(work))
        return [r for part in parts for r in part]
    import multiprocessing as mp

    order = sorted(range(len(work)), key=lambda i: -estimated_cost(work[i][0]))
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_play, work[i]): i for i in order}
        for n, future in enumerate(as_completed(futures), 1):
            parts[futures[future]] = future.result()
            if progress:
                progress(n, len(work))
    return [r for part in parts for r in part]


def estimated_cost(lesson: Lesson) -> float:
    """Rough relative training cost of a lesson, only used to order the work."""
    return sum(step.train * relative_step_cost(lesson.config_at(i))
               for i, step in enumerate(lesson.steps))


def table(results: list[ClaimResult], n_seeds: int) -> tuple[str, bool]:
    """A markdown table (lesson, run, claim, seeds that hold, seconds) and overall pass."""
    rows: dict[tuple[str, str, str], list[ClaimResult]] = {}
    for r in results:
        rows.setdefault((r.lesson, r.run, r.claim), []).append(r)
    lines = [f"| lesson | run | claim | holds (pass: {rule(n_seeds)}) | values | seconds (mean) |",
             "|---|---|---|---|---|---|"]
    ok = True
    for (lesson, run, claim), rs in rows.items():
        held = sum(r.holds for r in rs)
        passed = held >= seeds_needed(len(rs))
        ok &= passed
        values = ", ".join(r.shown or f"{r.value:.3g}" for r in sorted(rs, key=lambda r: r.seed))
        secs = sum(r.seconds for r in rs) / len(rs)
        mark = "" if passed else " ✗"
        lines.append(f"| {lesson} | {run} | {claim} | {held}/{len(rs)}{mark} | {values} | {secs:.1f} |")
    return "\n".join(lines), ok


def main(seeds: int = 20, lesson_id: str | None = None, jobs: int | None = None,
         out=None) -> int:
    """CLI entry: print the table; exit code 1 when any claim fails its seed threshold."""
    import sys

    lessons = load_all()
    if lesson_id:
        lessons = [lesson for lesson in lessons if lesson.id == lesson_id]
        if not lessons:
            print(f"no lesson with id '{lesson_id}' (ids: {', '.join(l.id for l in load_all())})",
                  file=sys.stderr)
            return 2
    start = time.perf_counter()

    def progress(n, total):
        print(f"\r  lessons check: {n}/{total} lesson×seed runs", end="", file=sys.stderr, flush=True)

    results = check(lessons, list(range(seeds)), jobs, progress)
    print(file=sys.stderr)
    text, ok = table(results, seeds)
    print(text)
    print(f"\n{len(lessons)} lessons × {seeds} seeds in {time.perf_counter() - start:.0f} s: "
          f"{'all claims hold' if ok else 'SOME CLAIMS FAIL'} (a claim passes when it holds on "
          f"{rule(seeds)}: at most {MISS_SHARE * 100:g} % of the seeds, rounded up, may miss)")
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    return 0 if ok else 1

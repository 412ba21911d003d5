"""Compiling ahead: make settings' compiled steps ready before their runs start (a
lesson's runs: prepare), and build every lesson's in one background child at the app's
first start (compile_ahead). A build child makes a throwaway Trainer, so this sits above
trainer.py; the compiled steps themselves are compile.py's, their packages aot.py's.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator

import torch

from . import aot, compile as steps
from .compile import CHILD_TIMEOUT_S, compiled_step, engine_mode, is_loaded, without_data
from .config import DEFAULT, Config
from .lessons import Lesson
from .stacking import StepKey
from .step import Step
from .trainer import Trainer

_QUEUED: set[StepKey] = set()
_PREPARE: "queue.Queue[tuple[Config, int]]" = queue.Queue()


def prepare(cfgs: list[Config], runs: int = 1) -> None:
    """Make these settings' compiled steps ready ahead, one after another, without
    waiting: a lesson opening its runs' settings, so that each run finds its step loaded
    when it starts (a build takes ~30 s of one core the first time on a machine; loading
    one takes milliseconds)."""
    for cfg in cfgs:
        if engine_mode(None, cfg.engine) == "eager":
            continue
        key = StepKey.of(cfg, runs)
        if key not in _QUEUED and not is_loaded(key):
            _QUEUED.add(key)
            _PREPARE.put((cfg, runs))
    if not any(t.name == "gansim-prepare" for t in threading.enumerate()):
        threading.Thread(target=_prepare_queued, daemon=True, name="gansim-prepare").start()


def _prepare_queued() -> None:
    """Build (or load) each queued setting's step, the one every Trainer of that StepKey
    shares (compiled_step): a run that starts after it is loaded trains compiled."""
    while True:
        try:
            cfg, runs = _PREPARE.get(timeout=5)
        except queue.Empty:
            return
        step = compiled_step(StepKey.of(cfg, runs), without_data(cfg))
        step.warm_in_background()
        step.wait(CHILD_TIMEOUT_S)


def _child_compiles(values: list[dict], runs: int) -> None:
    """A build child's work: each setting's package, unless on disk or being built by
    another process (a lock file beside it, younger than a build may take)."""
    torch.set_num_threads(1)
    for one in values:
        cfg = Config.from_dict(one)
        key = StepKey.of(cfg, runs)
        path = steps.package_path(key)
        if steps.on_disk(key) or not steps.claim_build(path):
            continue
        try:
            t = Trainer(cfg, seeds=list(range(runs)), compile=False)
            aot.build(Step(key, t.nets, compiled=True), t._step_args(t._batch()), path)
        except Exception as err:  # noqa: BLE001 - recorded: this machine runs it eagerly
            aot.failure_file(path).write_text(steps.describe(err))
        finally:
            steps.build_lock(path).unlink(missing_ok=True)


_AHEAD: list[threading.Thread] = []


def compile_ahead(cfgs: Iterable[Config], runs: int = 1) -> None:
    """Build these settings' steps in the background, in order, in one child process,
    once per process: the app's first start on a machine builds every lesson's steps
    (~30 s of one core each on a 2-core AMD EPYC, at low priority) so later runs load them.
    `cfgs` may be lazy: the app calls this on every rerun, and it is read only once."""
    if _AHEAD:
        return
    todo = steps.missing(cfgs, runs)
    thread = threading.Thread(target=steps.child_compile,
                              args=(todo, runs, CHILD_TIMEOUT_S * len(todo)), daemon=True,
                              name="gansim-compile-ahead")
    _AHEAD.append(thread)
    if todo:
        thread.start()


def lesson_settings(lessons: Iterable[Lesson]) -> Iterator[Config]:
    """The default settings, then every lesson run's, in lesson order: what a machine
    builds ahead for a class (lazily: the app reads it once)."""
    yield DEFAULT
    for lesson in lessons:
        for i, step in enumerate(lesson.steps):
            if step.train:
                yield lesson.config_at(i)


def build_now(cfgs: Iterable[Config], runs: int = 1) -> tuple[int, int]:
    """Build these settings' steps now, in one child, skipping those on disk; returns
    (settings built, settings that failed), counted from the packages on disk after."""
    todo = steps.missing(cfgs, runs)
    if todo:
        steps.child_compile(todo, runs, CHILD_TIMEOUT_S * len(todo))
    built = sum(steps.package_path(StepKey.of(c, runs)).exists() for c in todo)
    return built, len(todo) - built

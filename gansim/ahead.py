"""Compiling ahead: make settings' compiled steps ready before their runs start (a
lesson's runs: prepare), and fill the on-disk caches for every lesson in one background
child at the app's first start (compile_ahead). This builds throwaway Trainers, so it
sits above trainer.py; the compiled steps themselves are compile.py's.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable

import torch

from .compile import (CHILD_TIMEOUT_S, child_compile, compile_wanted, is_loaded, mark_on_disk,
                      on_disk, without_data)
from .config import Config
from .stacking import StepKey
from .trainer import Trainer

_QUEUED: set[StepKey] = set()
_PREPARE: "queue.Queue[tuple[Config, int]]" = queue.Queue()


def prepare(cfgs: list[Config], runs: int = 1) -> None:
    """Make these settings' compiled steps ready ahead, one after another, without
    waiting: a lesson opening its runs' settings, so that each run finds its step loaded
    when it starts (compiling takes 17-40 s the first time, loading a cached one a few)."""
    if not compile_wanted(None):
        return
    for cfg in cfgs:
        key = StepKey.of(cfg, runs)
        if key not in _QUEUED and not is_loaded(key):
            _QUEUED.add(key)
            _PREPARE.put((cfg, runs))
    if not any(t.name == "gansim-prepare" for t in threading.enumerate()):
        threading.Thread(target=_prepare_queued, daemon=True, name="gansim-prepare").start()


def _prepare_queued() -> None:
    """A throwaway Trainer of each queued setting warms the step every Trainer of that
    StepKey shares (compiled_step): a run that starts meanwhile waits on the same one."""
    while True:
        try:
            cfg, runs = _PREPARE.get(timeout=5)
        except queue.Empty:
            return
        t = Trainer(without_data(cfg), seeds=list(range(runs)), compile=True, background_compile=True)
        t.ready()
        t.wait_compiled(CHILD_TIMEOUT_S)


def _child_compiles(values: list[dict], runs: int) -> None:
    torch.set_num_threads(1)
    for one in values:
        cfg = Config.from_dict(one)
        key = StepKey.of(cfg, runs)
        if not on_disk(key):
            Trainer(cfg, seeds=list(range(runs)), compile=True).step()
            mark_on_disk(key)


_AHEAD: list[threading.Thread] = []


def compile_ahead(cfgs: Iterable[Config], runs: int = 1) -> None:
    """Fill the disk cache for these settings in the background, in order, in one child
    process, once per process: the app's first start on a machine compiles every
    lesson's steps (17-40 s each on a 2-core AMD EPYC) so later runs only load them.
    `cfgs` may be lazy: the app calls this on every rerun, and it is read only once."""
    if _AHEAD or not compile_wanted(None):
        return
    keys, todo = set(), []
    for cfg in cfgs:
        key = StepKey.of(cfg, runs)
        if key not in keys and not on_disk(key):
            keys.add(key)
            todo.append(cfg)
    thread = threading.Thread(target=child_compile, args=(todo, runs, 60 * 60), daemon=True,
                              name="gansim-compile-ahead")
    _AHEAD.append(thread)
    if todo:
        thread.start()

"""Compiling the step: one compiled whole step per StepKey per process (compiled_step),
its fallback to the eager step, the on-disk caches and markers, and compiling in a child
process so that a compile never stalls this one.

Compiling ahead (ahead.py: a lesson's settings before its runs start, every lesson's at
the app's first start) builds Trainers, so it lives above trainer.py; this module is
below it and builds none.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import torch

from .config import Config
from .nets import Nets
from .stack import clone_tree
from .stacking import StepKey
from .step import Step

log = logging.getLogger(__name__)
CHILD_TIMEOUT_S = 900  # a cold compile takes 17-40 s on an idle 2-core AMD EPYC
# What a compiled step is made of: a change to any of them invalidates the markers.
_SOURCES = ("step.py", "penalties.py", "optim.py", "nets.py", "spectral.py", "stack.py",
            "stacking.py", "models.py", "losses.py")


def use_persistent_cache() -> Path:
    """Point inductor's on-disk caches (FX graph, AOT autograd, kernels) at a per-user
    directory that survives reboots (the default lives under /tmp), so a restarted app
    or a new CLI process reuses compiled steps instead of compiling them again."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gansim" / "inductor"
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(base))
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")
    return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])


# At import, not at the first compile: torch writes its own /tmp default into the
# environment the first time anything asks for inductor's cache directory (a textbook
# loop did), and from then on setdefault would keep it.
use_persistent_cache()


class FallBack:
    """The compiled whole step of one StepKey, shared by every Trainer in the process.

    `try_call` runs it, or returns None when it is not available: compiling or running it
    failed (no C++ compiler, an op inductor cannot lower: logged once, then never tried
    again) or it is still compiling in the background. The caller then runs its own
    eager step, the same function (equal up to float rounding).
    `warm_in_background(args)` compiles in a thread, on copies of the inputs (the step is
    pure), so a caller need not block on a compile (the app waits for `loaded`, drawing
    meanwhile). Calls are serialised by a lock: one compiled graph, one thread at a time."""

    def __init__(self, compiled: Callable, key: StepKey, cfg: Config | None = None):
        self.compiled, self.key, self.cfg = compiled, key, cfg
        self.fell_back: str | None = None
        self.loaded = False  # compiled and run once: calls from now on run it
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """False while a background compile runs."""
        return self._thread is None or not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background compile (warm_in_background) ends, or `timeout` s."""
        if self._thread is not None:
            self._thread.join(timeout)

    def warm_in_background(self, *args) -> None:
        if self._thread is not None or self.fell_back is not None:
            return
        copies = clone_tree(args)
        self._thread = threading.Thread(target=self._warm, args=copies, daemon=True,
                                        name=f"gansim-compile-{self.key.loss}")
        self._thread.start()

    def _warm(self, *args) -> None:
        """Compile in a child process first (it fills the on-disk caches), then here,
        where the compile is then a cache hit. A compile holds this process's GIL for
        seconds at a time (measured up to 5 s on a cold cache), which would stall every
        session of this process; the child's compile stalls nothing. A step compiled
        by an earlier child (a marker file, which the child writes, says so) skips it."""
        if self.cfg is not None and not on_disk(self.key):
            compile_in_child(self.cfg, self.key.runs)
        self._call(*args)

    def _call(self, *args):
        try:
            # Only compiling needs the raised limit; a loaded step's calls skip the patch.
            with self._lock, (contextlib.nullcontext() if self.loaded else many_settings()):
                out = self.compiled(*args)
            self.loaded = True
            return out
        except Exception as err:  # noqa: BLE001 - any compile failure means "run eager"
            self.fell_back = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            log.warning("gansim: compiling the training step failed (%s); training "
                        "eagerly instead", self.fell_back)
            return None

    def try_call(self, *args):
        """The compiled step's outputs, or None: compiling failed, or a background
        compile has not finished (the caller runs the eager step)."""
        if self.fell_back is not None or not self.ready:
            return None
        return self._call(*args)


_COMPILED: dict[StepKey, FallBack] = {}


def many_settings():
    """Every StepKey compiles the same function (Step.whole): dynamo counts them all as
    recompiles of one code object and, past its default of 8, would refuse the ninth
    setting a process meets (the lesson check meets ~20). A context, not a global
    assignment: dynamo's settings made in one thread are not seen by another (the
    background compile's)."""
    import torch._dynamo  # noqa: F401  (torch imports its compiler lazily)

    return torch._dynamo.config.patch(recompile_limit=1024, accumulated_recompile_limit=4096)


def compile_wanted(compile: bool | None) -> bool:
    """Whether to compile: GANSIM_COMPILE=1 asks for it wherever `compile` is None (the app,
    `gansim run`, sweeps, the lesson check), GANSIM_COMPILE=0 forbids it everywhere, and
    by default only an explicit compile=True compiles (the benchmarks). Eager is the
    default because on a 2-core AMD EPYC a first compile (17-40 s) or a cached load
    (~3-9 s in the app) costs more than the 1.2-1.8x it gains on runs of a few thousand
    steps; a class server that replays the same lessons daily, or a long sweep, gains."""
    env = os.environ.get("GANSIM_COMPILE")
    if env == "0":
        return False
    return bool(compile) if compile is not None else env == "1"


def compiled_step(key: StepKey, cfg: Config, device: torch.device) -> FallBack:
    """The compiled whole step of `key`, built once per process (its own modules: a
    compiled graph runs no module code, so every Trainer of this key may call it)."""
    if key not in _COMPILED:
        use_persistent_cache()
        step = Step(key, Nets(cfg, key.runs, device), compiled=True)
        _COMPILED[key] = FallBack(torch.compile(step.whole, fullgraph=True, dynamic=False), key,
                                  cfg)
    return _COMPILED[key]

def is_loaded(key: StepKey) -> bool:
    """Whether this process holds `key`'s compiled step, compiled and run once."""
    return key in _COMPILED and _COMPILED[key].loaded


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    here = Path(__file__).resolve().parent
    text = "".join((here / name).read_text() for name in _SOURCES)
    return hashlib.sha1((torch.__version__ + text).encode()).hexdigest()[:16]


def _marker(key: StepKey) -> Path:
    name = hashlib.sha1(f"{_code_version()} {key!r}".encode()).hexdigest()[:24]
    return use_persistent_cache() / "gansim-steps" / name


def on_disk(key: StepKey) -> bool:
    """Whether a child process of this code and torch version compiled `key` already."""
    return _marker(key).exists()


def mark_on_disk(key: StepKey) -> None:
    _marker(key).parent.mkdir(parents=True, exist_ok=True)
    _marker(key).write_text(repr(key))


def without_data(cfg: Config) -> Config:
    """cfg on ring8: the data never enters a compiled step (batches are inputs of a fixed
    shape), and uploaded or custom data cannot be rebuilt elsewhere."""
    return cfg.replace(data="ring8", custom_centers=(), custom_stds=(), custom_weights=())


def compile_in_child(cfg: Config, runs: int) -> bool:
    """Compile cfg's whole step for `runs` stacked runs in a child process, filling the
    on-disk caches (use_persistent_cache); True when it succeeded."""
    return child_compile([cfg], runs, CHILD_TIMEOUT_S)


def child_compile(cfgs: list[Config], runs: int, timeout: float) -> bool:
    """One child process (at low priority) compiles these settings' steps one after
    another, on ring8 (without_data), and marks each on disk."""
    plain = [without_data(c).to_dict() for c in cfgs]
    code = ("import json, sys; from gansim.ahead import _child_compiles; "
            "_child_compiles(json.loads(sys.argv[1]), int(sys.argv[2]))")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "GANSIM_COMPILE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-c", code, json.dumps(plain), str(runs)],
                              env=env, capture_output=True, timeout=timeout,
                              preexec_fn=lambda: os.nice(10))
    except (OSError, subprocess.TimeoutExpired) as err:
        log.info("gansim: compiling in a child process failed (%s)", err)
        return False
    return done.returncode == 0

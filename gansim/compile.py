"""Compiling the step: which step a run trains with (engine_mode), one compiled whole
step per StepKey per process (compiled_step, FallBack: the package of aot.py, or the
eager step when there is none), the packages on disk, and the child processes that build
them, so that a build never stalls the process that trains.

Building ahead (ahead.py: a lesson's settings before its runs start, every lesson's at
the app's first start, `gansim build`) makes Trainers, so it lives above trainer.py; this
module is below it and makes none.
"""
from __future__ import annotations

import atexit
import functools
import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

import torch

from .config import Config
from . import aot
from .stacking import StepKey

log = logging.getLogger(__name__)
CHILD_TIMEOUT_S = 900  # a build takes 20-60 s of one core on a 2-core AMD EPYC
# What a compiled step is made of: a change to any of them names new packages.
_SOURCES = ("step.py", "penalties.py", "optim.py", "nets.py", "spectral.py", "stack.py",
            "stacking.py", "models.py", "losses.py", "aot.py")


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
    """The compiled whole step of one StepKey (an AOTInductor package, aot.py), shared by
    every Trainer in the process.

    `load()` loads the package if this machine has built it (milliseconds). `try_call`
    runs it, or returns None when it is not available: building or running it failed
    (no C++ compiler, an op inductor cannot lower: logged once, then never tried again)
    or it is still building in the background. The caller then runs its own eager step,
    the same function (equal up to float rounding). `warm_in_background()` builds it in
    a child process from a thread, so no caller blocks on a build. Calls are serialised
    by a lock: one package, one thread at a time."""

    def __init__(self, key: StepKey, cfg: Config | None = None):
        self.key, self.cfg = key, cfg
        self.path = package_path(key)
        self.fell_back: str | None = None
        self.package: Callable | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether calls run the package now."""
        return self.package is not None

    @property
    def ready(self) -> bool:
        """False while a background build runs."""
        return self._thread is None or not self._thread.is_alive()

    def load(self) -> bool:
        """Load the package if it is on disk (once); True when calls will run it."""
        if self.package is None and self.fell_back is None:
            failed = aot.failure_file(self.path)
            if failed.exists():
                self._fail(failed.read_text().strip() or "the build failed")
            elif self.path.exists():
                try:
                    self.package = aot.Package(self.path)
                except Exception as err:  # noqa: BLE001 - a bad package means "run eager"
                    self._fail(describe(err))
        return self.package is not None

    def wait(self, timeout: float | None = None) -> None:
        """Block until a background build (warm_in_background) ends, or `timeout` s."""
        if self._thread is not None:
            self._thread.join(timeout)

    def warm_in_background(self) -> None:
        """Build (in a child process) and load, in a thread, unless done or under way."""
        if self._thread is not None or self.fell_back is not None or self.loaded:
            return
        self._thread = threading.Thread(target=self._build, daemon=True,
                                        name=f"gansim-compile-{self.key.loss}")
        self._thread.start()

    def _build(self) -> None:
        if not on_disk(self.key) and self.cfg is not None:
            compile_in_child(self.cfg, self.key.runs)
            wait_for_builder(self.path)  # another process had it under way: its package
        if _EXITING.is_set():  # this process stopped the build: nothing failed
            return
        if not self.load() and self.fell_back is None:
            self._fail("no package was built (see the log)")

    def _fail(self, why: str) -> None:
        self.fell_back = why
        log.warning("gansim: the compiled training step is unavailable (%s); training "
                    "eagerly instead", why)

    def try_call(self, *args):
        """The compiled step's outputs, or None: building or running it failed, or a
        background build has not finished (the caller runs the eager step). Not built
        and not building: built now, in a child process, while this call waits."""
        if self.fell_back is not None or not self.ready:
            return None
        if not self.loaded:
            self._build()
            if not self.loaded:
                return None
        try:
            with self._lock:
                return self.package(*args)
        except Exception as err:  # noqa: BLE001 - any failure means "run eager"
            self._fail(describe(err))
            return None


def describe(err: Exception) -> str:
    """An error in one line for the log and a .failed file: its type and first line."""
    lines = str(err).splitlines()
    return f"{type(err).__name__}: {lines[0][:200] if lines else ''}"


_COMPILED: dict[StepKey, FallBack] = {}


def engine_mode(compile: bool | None, engine: str = "auto") -> str:
    """Which step a run trains with: "eager", "compiled" or "auto" (the compiled step
    where this machine has built it, else eager while it builds for the next run).
    GANSIM_COMPILE=0 forbids compiling everywhere (the tests), an explicit compile=True
    or False decides (the benchmarks), GANSIM_COMPILE=1 asks for "compiled" wherever
    nothing else is said, and otherwise the run's own `engine` setting decides."""
    env = os.environ.get("GANSIM_COMPILE")
    if env == "0":
        return "eager"
    if compile is not None:
        return "compiled" if compile else "eager"
    return "compiled" if env == "1" else engine


def compiled_step(key: StepKey, cfg: Config) -> FallBack:
    """The compiled whole step of `key`, one per process, loaded when it is on disk."""
    if key not in _COMPILED:
        _COMPILED[key] = FallBack(key, cfg)
    _COMPILED[key].load()
    return _COMPILED[key]


def missing(cfgs: Iterable[Config], runs: int) -> list[Config]:
    """The settings among cfgs whose step this machine has yet to build, one per step,
    in order (settings that ask for the eager step need none)."""
    todo: dict[StepKey, Config] = {}
    for cfg in cfgs:
        key = StepKey.of(cfg, runs)
        if key not in todo and engine_mode(None, cfg.engine) != "eager" and not on_disk(key):
            todo[key] = cfg
    return list(todo.values())


def is_loaded(key: StepKey) -> bool:
    """Whether this process holds `key`'s compiled step, loaded."""
    return key in _COMPILED and _COMPILED[key].loaded


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    here = Path(__file__).resolve().parent
    text = "".join((here / name).read_text() for name in _SOURCES)
    return hashlib.sha1((torch.__version__ + text).encode()).hexdigest()[:16]


def package_path(key: StepKey) -> Path:
    """Where `key`'s package lives for this code, torch version and CPU."""
    return aot.package_file(use_persistent_cache() / "gansim-steps", _code_version(), key)


def on_disk(key: StepKey) -> bool:
    """Whether a child process of this code and torch version built `key` already (or
    tried and failed: a failure is not retried)."""
    path = package_path(key)
    return path.exists() or aot.failure_file(path).exists()


def build_lock(path: Path) -> Path:
    """The file that says a process is building `path` (its pid inside)."""
    return path.with_suffix(".lock")


def claim_build(path: Path) -> bool:
    """Take the build of `path` for this process; False when another live process holds
    it. A build killed with its parent leaves a lock whose process is gone, or one older
    than any build takes, and either is taken over."""
    lock = build_lock(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        if lock_stale(lock):
            lock.unlink(missing_ok=True)
        with open(lock, "x") as f:
            f.write(str(os.getpid()))
        return True
    except FileExistsError:
        return False


def lock_stale(lock: Path) -> bool:
    """Whether a build lock is left over (False when there is none)."""
    try:
        age, text = time.time() - lock.stat().st_mtime, lock.read_text()
    except FileNotFoundError:
        return False
    if age > CHILD_TIMEOUT_S or (not text.isdigit() and age > 10):  # 10 s: being written
        return True
    try:
        os.kill(int(text), 0)  # signal 0: only asks whether the builder lives
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):  # alive, another user's; or being written
        return False
    return False


def wait_for_builder(path: Path, timeout: float = CHILD_TIMEOUT_S) -> None:
    """While another process builds `path` (its lock held), wait for it to finish."""
    lock, end = build_lock(path), time.monotonic() + timeout
    while lock.exists() and not lock_stale(lock) and time.monotonic() < end:
        time.sleep(0.5)


def without_data(cfg: Config) -> Config:
    """cfg on ring8: the data never enters a compiled step (batches are inputs of a fixed
    shape), and uploaded or custom data cannot be rebuilt elsewhere."""
    return cfg.replace(data="ring8", custom_centers=(), custom_stds=(), custom_weights=())


def compile_in_child(cfg: Config, runs: int) -> bool:
    """Build cfg's whole step for `runs` stacked runs in a child process (its package
    on disk, aot.py); True when it succeeded."""
    return child_compile([cfg], runs, CHILD_TIMEOUT_S)


_CHILDREN: set[subprocess.Popen] = set()


def child_compile(cfgs: list[Config], runs: int, timeout: float) -> bool:
    """One child process (at low priority) builds these settings' steps one after
    another, on ring8 (without_data), and writes each package. The child ends with this
    process (stop_children at exit): a build is for this machine's next runs, never an
    orphan left working after its parent."""
    plain = [without_data(c).to_dict() for c in cfgs]
    code = ("import json, sys; from gansim.ahead import _child_compiles; "
            "_child_compiles(json.loads(sys.argv[1]), int(sys.argv[2]))")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    env.pop("GANSIM_COMPILE", None)  # the child builds whatever this process decided
    try:
        child = subprocess.Popen([sys.executable, "-c", code, json.dumps(plain), str(runs)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 preexec_fn=lambda: os.nice(10))
    except OSError as err:
        log.info("gansim: building in a child process failed to start (%s)", err)
        return False
    _CHILDREN.add(child)
    try:
        _, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        log.info("gansim: building in a child process took over %.0f s; stopped", timeout)
        return False
    finally:
        _CHILDREN.discard(child)
    if child.returncode != 0:
        log.info("gansim: building in a child process failed: %s",
                 err.decode(errors="replace").strip().splitlines()[-1:] or child.returncode)
    return child.returncode == 0


def stop_children() -> None:
    """Stop every build child this process started (at exit, and by tests)."""
    for child in list(_CHILDREN):
        child.kill()


_EXITING = threading.Event()  # set at exit: a build stopped then is not a failure to log


def _at_exit() -> None:
    _EXITING.set()
    stop_children()


atexit.register(_at_exit)

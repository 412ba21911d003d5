"""One student's live run and compare panes: Trainers behind one lock, and what the page keeps.

A full rerun of the script can start while the live fragment is still inside a torch
step; unguarded, that was seen to corrupt autograd and take the whole server down. So
every use of the Trainer goes through `Run.lock`. This module holds no Streamlit
state itself: the app keeps one `Run` per session in `st.session_state`.
"""
from __future__ import annotations

import time
import threading
from collections import deque
from typing import Any

import numpy as np

from ..compare import Lockstep
from ..config import Config, restart_fields_changed
from ..trainer import Diverged, Trainer
from . import fair
from .worker import Worker

GIF_FRAMES = 120  # recent frames kept for the animated export: bounded memory
GIF_EVERY = 20  # G steps between two recorded frames
GIF_POINTS = 256  # fakes kept per recorded frame
RATE_WINDOW_S = 3.0  # steps/s is measured over this much recent wall time


class Run:
    """A Trainer with its lock, a steps/s meter and a bounded film of past frames."""

    def __init__(self, cfg: Config, dataset: Any = None):
        self.lock = fair.FifoLock()  # FIFO: the page's snapshot slips between worker turns
        self.dataset = dataset  # uploaded points (data="points"), kept across resets
        self.trainer = Trainer(cfg, dataset=dataset, background_compile=True)
        self.trainer.ready()  # start compiling now, before Play
        self.frames: deque = deque(maxlen=GIF_FRAMES)  # (step, fake points)
        self._ticks: deque = deque()  # (time, g_step) pairs for the rate
        self.error: str | None = None  # a Diverged message shown until the next change
        self._d_done = 0  # D updates of the current step done so far (steps span frames)
        self.unit_s = fair.PLAIN_STEP_S  # seconds per default-step unit, measured here
        self.worker = Worker(self)  # trains while the page plays (worker.py)
        # The run's line: a reset or a rewind starts a new one (its steps go back), so the
        # film knows an older step of the same line from a new start (film.py).
        self.line = 0
        self._last: tuple | None = None  # (time, line, snapshot) of the newest snapshot

    @property
    def cfg(self) -> Config:
        return self.trainer.cfg

    @property
    def step(self) -> int:
        return self.trainer.g_step

    # --- training -------------------------------------------------------------------
    def train_for(self, seconds: float, max_steps: int | None = None,
                  phase: str = "both", stop=None, yield_check=None) -> int:
        """Train for about `seconds` (at least one update) in this process's fair turn.

        Returns the G steps completed (for phase "d": D updates). A step is trained as
        its D updates and its G update one at a time, so a step costlier than a turn
        goes on in the next turn; one update too costly for a turn is refused with a
        message (fair.refusal). `phase` "d" or "g" trains one player alone (a lesson's
        D-phase or G-phase run). `stop()` is asked before each update, under the lock (a
        Pause); `yield_check` is passed to the fair turn's wait (it raises to leave it).
        """
        done = 0
        if phase == "both" and fair.whole_steps(self.cfg) and not self._ready():
            self._tick()  # the compiled step is being prepared: draw, do not train
            return 0
        stop = stop or (lambda: False)
        fair.CLICKS.wait_for_others(self.lock)  # another page's click goes first
        with fair.TURNSTILE.turn(id(self), yield_check=yield_check):
            budget = fair.TURNSTILE.turn_seconds(seconds)
            start = time.perf_counter()
            with self.lock:
                try:
                    while (max_steps is None or done < max_steps) and not stop():
                        done += self._update(phase)
                        if (self.error or time.perf_counter() - start >= budget
                                or fair.CLICKS.others(self.lock)):
                            break
                except Diverged as err:
                    self.error = str(err)
            fair.TURNSTILE.trained(time.perf_counter() - start)
        self._tick()
        return done

    def _update(self, phase: str) -> int:
        """A whole step (the engine's compiled step), or for a step too costly to play
        whole (fair.whole_steps) or a one-player `phase` one D or G update; returns 1 when
        it finished a step, else 0."""
        kind = phase if phase != "both" else ("d" if self._d_done < self.cfg.d_steps else "g")
        # A step whose G update would be refused is refused before its D updates run.
        kinds = ("d", "g") if phase == "both" else (phase,)
        refused = next(filter(None, (fair.refusal(self.cfg, k, self.unit_s) for k in kinds)), None)
        if refused:
            self.error = refused
            return 0
        if phase == "both" and self._d_done == 0 and fair.whole_steps(self.cfg):
            kind = "step"
        compiling, t0 = self.trainer.compiling, time.perf_counter()
        {"d": self.trainer.step_d, "g": self.trainer.step_g, "step": self.trainer.step}[kind]()
        took = time.perf_counter() - t0
        # While a step compiles in this process its thread holds the GIL for seconds at a
        # time: such timings say nothing about the settings' cost.
        if not (compiling or self.trainer.compiling):
            self.unit_s = fair.learn_unit_s(self.unit_s, took, self.cfg, kind)
            if took > 2 * fair.SUBSTEP_LIMIT_S:  # the estimate was wrong: stop after the fact
                self.error = fair.refusal(self.cfg, "g" if kind == "step" else kind,
                                          self.unit_s)
        self._d_done = self._d_done + 1 if kind == "d" and phase == "both" else 0
        return int(kind in (phase, "g", "step"))

    def cost_warning(self) -> str | None:
        """A note shown before training settings far costlier than the default."""
        return fair.cost_warning(self.cfg, self.unit_s)

    def step_d(self, trace=None) -> None:
        """One D update alone (GAN Lab's D phase); `trace` records it (slow motion)."""
        self._guarded(lambda: self.trainer.step_d(trace=trace))

    def step_g(self, trace=None) -> None:
        """One G update alone (GAN Lab's G phase); `trace` records it (slow motion)."""
        self._guarded(lambda: self.trainer.step_g(trace=trace))

    def step_both(self) -> None:
        """d_steps D updates then one G update (nothing while its compiled step is being
        prepared: the counters say so)."""
        if self._ready():
            self._guarded(self.trainer.step)

    def _ready(self) -> bool:
        with self.lock:  # ready() reads the run's random streams (and puts them back)
            return self.trainer.ready()

    def _guarded(self, fn) -> None:
        with self.lock:
            try:
                fn()
            except Diverged as err:
                self.error = str(err)

    def _tick(self) -> None:
        now = time.perf_counter()
        self._ticks.append((now, self.trainer.g_step))
        while self._ticks and now - self._ticks[0][0] > RATE_WINDOW_S:
            self._ticks.popleft()

    def steps_per_second(self) -> float:
        """G steps per second over the last few seconds of play (0 when paused)."""
        if len(self._ticks) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._ticks[0], self._ticks[-1]
        if time.perf_counter() - t1 > 1.0:  # paused: the old rate would mislead
            return 0.0
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    # --- settings ------------------------------------------------------------------
    def apply(self, cfg: Config) -> list[str]:
        """Move the run to `cfg`: live when allowed, else a new Trainer.

        Returns the fields that forced a reset (empty: the change applied live).
        """
        blocked = restart_fields_changed(self.cfg, cfg)
        if blocked:
            self.reset(cfg)
            return blocked
        changes = {k: getattr(cfg, k) for k in cfg.to_dict() if getattr(cfg, k) != getattr(self.cfg, k)}
        if changes:
            with self.lock:
                self.trainer.update(**changes)
            self.error = None
        return []

    def reset(self, cfg: Config | None = None, dataset: Any = None) -> None:
        """A fresh Trainer (new weights, step 0) with `cfg` (default: the current one)."""
        cfg = cfg or self.cfg
        if dataset is not None:
            self.dataset = dataset
        trainer = Trainer(cfg, dataset=self.dataset if cfg.data == "points" else None,
                          background_compile=True)
        trainer.ready()  # start compiling now, before Play
        with self.lock:
            self.trainer = trainer
            self.line += 1
            self._d_done = 0
            self.frames.clear()
            self._ticks.clear()
            self.error = None

    def rewind(self, step: int) -> int:
        """Back to the newest checkpoint at or before `step`; returns the step reached."""
        with self.lock:
            reached = self.trainer.rewind(step)
            self.line += 1
            self._d_done = 0
            self.frames = deque((f for f in self.frames if f[0] <= reached), maxlen=GIF_FRAMES)
            self._ticks.clear()
            self.error = None
        return reached

    def checkpoint_steps(self) -> list[int]:
        with self.lock:
            return [s for s, _ in self.trainer.checkpoints]

    # --- reading ------------------------------------------------------------------
    def snapshot(self, max_age_s: float = 0.0):
        """The run's state now, or one taken at most `max_age_s` ago on the same line: while
        playing, the page's frame and the film's route (film.py) share one instead of
        each taking its own."""
        last = self._last
        if last and last[1] == self.line and time.monotonic() - last[0] <= max_age_s:
            return last[2]
        with self.lock:
            snap, line = self.trainer.snapshot(), self.line
        self._last = (time.monotonic(), line, snap)
        self._record(snap)
        return snap

    def _record(self, snap) -> None:
        """Keep one frame every GIF_EVERY steps for the animated export."""
        if self.frames and snap.step - self.frames[-1][0] < GIF_EVERY:
            return
        self.frames.append((snap.step, np.array(snap.fake[:GIF_POINTS], dtype=np.float32)))


# --- compare mode ------------------------------------------------------------------

COMPARE_EVAL_EVERY = 50  # the panes' modes curves are the point: evaluate twice as often
MAX_CHUNK = 50  # G steps per pane per frame at most, however cheap the panes are


class Comparison:
    """2–4 panes in lockstep (gansim.compare.Lockstep) behind the session's lock.

    `base` is the config the comparison started from; each pane is `base` plus its own
    changes. `start` (a Trainer.state() of the single run, "Compare from here") is the
    branch point: the panes continue it. Any change sends every pane back to that
    point (or to step 0 when a change needs fresh networks): the panes are only
    comparable while they share their start, their batches and their step count.
    """

    def __init__(self, base: Config, configs: list[Config], lock: threading.Lock,
                 dataset: Any = None, start: dict | None = None):
        self.base, self.lock, self.dataset, self.start = base, lock, dataset, start
        self.lockstep = self._build(configs)

    def _build(self, configs: list[Config]) -> Lockstep:
        uploads = {c.data == "points" for c in configs}
        if uploads == {True, False}:
            raise ValueError("data: uploaded points cannot be compared with a built-in "
                             "dataset (the panes must share their real batches); set the "
                             "same data in every pane")
        kw = {"dataset": self.dataset} if True in uploads else {}
        kw["background_compile"] = True  # panes wait (drawing) while their steps compile
        if Lockstep.can_branch(self.start, configs):
            built = Lockstep.branch(self.start, configs, eval_every=COMPARE_EVAL_EVERY, **kw)
        else:
            built = Lockstep(configs, eval_every=COMPARE_EVAL_EVERY, **kw)
        for t in built.trainers:
            t.ready()  # start compiling now
        return built

    @property
    def branched(self) -> bool:
        """True when the panes continue the single run (not fresh networks at step 0)."""
        return Lockstep.can_branch(self.start, self.configs)

    @property
    def configs(self) -> list[Config]:
        return [t.cfg for t in self.lockstep.trainers]

    @property
    def step(self) -> int:
        return max(t.g_step for t in self.lockstep.trainers)

    def restart(self, configs: list[Config] | None = None) -> None:
        """Every pane back to the branch point, or step 0 (with new configs); ValueError
        keeps the old panes."""
        fresh = self._build(configs or self.configs)
        with self.lock:
            self.lockstep = fresh

    def train_for(self, seconds: float) -> int:
        """About `seconds` of training split over the live panes; returns steps per pane."""
        with self.lock:
            if not all(t.ready() for t in self.lockstep.trainers):
                return 0  # a pane's compiled step is being prepared
        with fair.TURNSTILE.turn(id(self)), self.lock:
            seconds = fair.TURNSTILE.turn_seconds(seconds)
            ls = self.lockstep
            alive = [i for i, t in enumerate(ls.trainers) if not t.diverged]
            spent = sum(ls.seconds[i] for i in alive)
            steps = max((ls.trainers[i].g_step for i in alive), default=0)
            # Cost of one step on every live pane, measured on this comparison so far.
            n = int(seconds * steps / spent) if spent > 0 and steps else 1
            n = min(max(n, 1), MAX_CHUNK)
            start = time.perf_counter()
            ls.train(n)
            fair.TURNSTILE.trained(time.perf_counter() - start)
        return n

    def train(self, steps: int) -> None:
        with self.lock:
            self.lockstep.train(steps)

    def all_diverged(self) -> bool:
        return all(t.diverged for t in self.lockstep.trainers)

    def snapshots(self) -> list:
        with self.lock:
            return [t.snapshot() for t in self.lockstep.trainers]

    def read(self) -> tuple[dict[str, list], list[dict], list[str | None]]:
        """Differences, summary rows and each pane's divergence message, in one lock."""
        with self.lock:
            ls = self.lockstep
            return ls.differences(), ls.summary(), [t.diverged for t in ls.trainers]

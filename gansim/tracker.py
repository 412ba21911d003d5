"""The banner's verdict, held steady: a new diagnosis shows only after it has held for
several evaluations, so the banner does not flicker with every evaluation's noise."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from .config import RESTART_FIELDS
from .diagnosis import Diagnosis, dated, diagnose


class Tracker:
    """The verdict a banner shows, held steady: a new verdict replaces the shown one only
    after it has been the verdict at PERSIST evaluations in a row. Divergence shows at
    once, and so does any verdict once the run stops training (`settled`): the hold keeps
    a training run's banner from flickering, but a stopped run no longer changes, and a
    held verdict would contradict the counters beside it (a lesson run that sharpens in
    its last 300 steps ended on "Spread but blurry (HQ 23 %)" beside HQ 68 %). While a
    held verdict waits out a new one, its quotes of the counters' figures name the step
    they were read at instead: the counters beside it have moved on (a mode-hopping run's
    banner read "modes covered 1/8, high quality 10 %" beside counters at 3/8 and 14 %).
    A run that goes back (rewind, restart) starts afresh.

    Feed it every frame; it re-judges only when a new evaluation has arrived.
    """

    PERSIST = 5  # evaluations in a row (500 G steps at the default eval_every of 100)

    def __init__(self):
        self.shown: Diagnosis | None = None
        self._candidate: str | None = None
        self._count = 0
        self._last_step = -1.0
        self._judged = -1.0  # the evaluation step `shown` was judged on
        self._run_key: Any = None

    def update(self, hist: dict[str, Any], critic: bool = False, n_modes: int = 0,
               config: dict[str, Any] | None = None, diverged: str | None = None,
               mass: list | None = None, run_key: Any = None,
               settled: bool = False) -> Diagnosis:
        """The verdict to show now; arguments as for diagnose(), run_key: anything that
        changes when the run is replaced by a new one (its seed and restart settings)."""
        now = diagnose(hist, critic, n_modes, config, diverged, mass)
        return self.hold(now, _last_eval_step(hist), config or {}, run_key, settled)

    def follow(self, snap, settled: bool = False) -> Diagnosis:
        """The verdict to show beside a gansim.snapshot.Snapshot (which already holds the
        run's raw diagnosis, so nothing is judged twice)."""
        key = tuple(sorted((k, str(v)) for k, v in snap.config.items() if k in RESTART_FIELDS))
        return self.hold(snap.diagnosis, _last_eval_step(snap.history), snap.config, key,
                         settled)

    def hold(self, now: Diagnosis, step: float, config: dict[str, Any],
             run_key: Any = None, settled: bool = False) -> Diagnosis:
        """The hysteresis: `now` is the raw verdict after the evaluation at G step `step`;
        settled: the run is not training, so `now` shows at once."""
        if run_key != self._run_key or step < self._last_step:
            self.__init__()
            self._run_key = run_key
        if (self.shown is None or settled or now.kind == "diverged"
                or now.kind == self.shown.kind):
            self._show(now, step)
        elif step > self._last_step:
            self._count = self._count + 1 if now.kind == self._candidate else 1
            self._candidate = now.kind
            if self._count >= self.PERSIST or self.shown.kind == "warming_up":
                self._show(now, step)
        self._last_step = max(self._last_step, step)
        return _without_applied_cure(self._dated(), config)

    def _show(self, now: Diagnosis, step: float) -> None:
        self.shown, self._candidate, self._count = now, None, 0
        self._judged = max(self._judged, step)

    def _dated(self) -> Diagnosis:
        """The shown verdict; when a newer evaluation judged otherwise, its quotes of the
        counters' figures name the step they were read at instead (diagnosis.dated)."""
        return self.shown if self._judged >= self._last_step else dated(self.shown, self._judged)


def _last_eval_step(hist: dict[str, Any]) -> float:
    """The G step of the newest evaluation row (−1 when there is none)."""
    steps = np.asarray(hist.get("step", []), dtype=float)
    evaluated = np.zeros(len(steps), dtype=bool)
    for key in ("distance", "mass_modes"):
        column = np.asarray(hist.get(key, []), dtype=float)
        if len(column) == len(steps):
            evaluated |= ~np.isnan(column)
    have = steps[evaluated]
    return float(have[-1]) if len(have) else -1.0


def _without_applied_cure(diag: Diagnosis, cfg: dict[str, Any]) -> Diagnosis:
    """A held verdict whose cure is already in force offers no button, only patience."""
    if not diag.cure or any(cfg.get(k) != v for k, v in diag.cure.items()):
        return diag
    return replace(diag, cure={}, cure_text="",
                   explanation=diag.explanation + " The suggested cure is in force: give it time.")


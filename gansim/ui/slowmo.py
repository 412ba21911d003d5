"""Slow motion: one real training iteration played as numbered sub-steps.

The sub-steps, their sentences, their arena layers and diagram highlights are data
(slowmo.toml). An `Iteration` performs the run's own updates, `Run.step_d(trace=...)`
and `Run.step_g(trace=...)`, the first time a phase is reached going forward, and keeps
their StepTraces: every picture and number shown is what the real step used. Back only
replays the recorded pictures; an update, once made, stays made.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..trace import StepTrace
from . import diagram
from .slowmo_arena import LAYERS

TOML = Path(__file__).with_name("slowmo.toml")


@dataclass(frozen=True)
class SubStep:
    id: str
    phase: str  # "d" or "g": whose update this sub-step shows
    title: str
    text: str  # one sentence; {fields} from `fields()`
    show: tuple[str, ...]  # arena layers (LAYERS)
    highlight: frozenset[str]  # diagram parts (diagram.NODES / EDGES)
    repeat: bool = False  # only when D takes several steps per iteration


@functools.lru_cache(maxsize=1)
def substeps() -> tuple[SubStep, ...]:
    """The sub-steps from slowmo.toml, checked against the layer and diagram tables."""
    with TOML.open("rb") as f:
        rows = tomllib.load(f)["substep"]
    out = []
    for row in rows:
        step = SubStep(id=row["id"], phase=row["phase"], title=row["title"], text=row["text"],
                       show=tuple(row["show"]), highlight=frozenset(row["highlight"]),
                       repeat=bool(row.get("repeat", False)))
        bad = [name for name in step.show if name not in LAYERS]
        if bad or step.phase not in ("d", "g"):
            raise ValueError(f"slowmo.toml sub-step {step.id}: unknown layer(s) {bad} or "
                             f"phase {step.phase!r}; layers are {sorted(LAYERS)}")
        diagram.dot({}, step.highlight)  # raises on an unknown diagram part
        out.append(step)
    return tuple(out)


def sequence(d_steps: int) -> tuple[SubStep, ...]:
    """The sub-steps of one iteration with `d_steps` D updates."""
    return tuple(s for s in substeps() if d_steps > 1 or not s.repeat)


class Iteration:
    """One iteration on a live run: where we are, and the traces of the updates made."""

    def __init__(self, run: Any):
        self.trainer = run.trainer  # a reset makes a new Trainer: this iteration ends
        self.d_steps = run.cfg.d_steps
        self.steps = sequence(self.d_steps)
        self.index = 0
        self.d: StepTrace | None = None  # D's first update, told sub-step by sub-step
        self.d_last: StepTrace | None = None  # D's last update when it takes several
        self.g: StepTrace | None = None

    @property
    def current(self) -> SubStep:
        return self.steps[self.index]

    @property
    def last(self) -> bool:
        return self.index == len(self.steps) - 1

    def stale(self, run: Any) -> bool:
        return run.trainer is not self.trainer

    def advance(self, run: Any) -> None:
        """Show the current sub-step, making the real update it needs if not yet made."""
        step = self.current
        if step.phase == "d" and self.d is None:
            self.d = StepTrace()
            run.step_d(trace=self.d)
        if step.repeat and self.d_last is None:
            for _ in range(self.d_steps - 1):
                self.d_last = StepTrace()
                run.step_d(trace=self.d_last)
        if step.phase == "g" and self.g is None:
            self.g = StepTrace()
            run.step_g(trace=self.g)

    def trace(self) -> StepTrace | None:
        """The trace the current sub-step shows (None if its update failed)."""
        step = self.current
        if step.phase == "g":
            return self.g
        return self.d_last if step.repeat else self.d

    def fields(self) -> dict[str, str]:
        """The numbers the current sentence may name, formatted."""
        t = self.trace()
        if t is None or t.fake is None:
            return {}
        fake_mean = float(np.mean(t.score_fake))
        real_mean = float(np.mean(t.score_real)) if t.score_real is not None else float("nan")
        return {"batch": str(len(t.fake)), "loss": f"{t.loss:.3g}",
                "grad_norm": f"{t.grad_norm:.3g}", "lr": f"{t.lr:.2g}",
                "real_mean": f"{real_mean:.2f}", "fake_mean": f"{fake_mean:.2f}",
                "score_name": "critic score" if t.critic else "probability of being real",
                "d_steps": str(self.d_steps), "more": str(self.d_steps - 1),
                "move": _move(t), "change": _change(t)}

    def sentence(self) -> str:
        return self.current.text.format(**self.fields())

    def numbers(self) -> dict[str, float | None]:
        """The diagram's numbers: this iteration's recorded values, each from the sub-step
        that computes it on (before that the caller shows the previous values)."""
        told = {s.id for s in self.steps[: self.index + 1]}
        # D's last update once it has been told (the repeat sub-step, or G's turn).
        later = self.current.repeat or self.current.phase == "g"
        d = self.d_last if later and self.d_last is not None else self.d
        out: dict[str, float | None] = {}
        if d is not None and d.grid_after is not None and "d_loss" in told:
            out.update(d_loss=d.loss, d_grad=d.grad_norm, lr_d=d.lr)
        g = self.g
        if g is not None and g.grid_after is not None and "g_loss" in told:
            out.update(g_loss=g.loss, g_grad=g.grad_norm, lr_g=g.lr)
        return out


def _move(t: StepTrace) -> str:
    """How far G's update moved its fakes on average (the picture may be too small to see)."""
    if t.fake_after is None:
        return "–"
    return f"{float(np.linalg.norm(t.fake_after - t.fake, axis=1).mean()):.2g}"


def _change(t: StepTrace) -> str:
    """The largest change of D's verdict on the grid (one step can be too small to see)."""
    if t.grid_after is None or t.grid_before is None:
        return "–"
    return f"{float(np.nanmax(np.abs(t.grid_after - t.grid_before))):.2g}"

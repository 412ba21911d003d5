"""Slow motion: one real training iteration played as numbered sub-steps.

The sub-steps, their sentences, their arena layers and diagram highlights are data
(slowmo.toml). An `Iteration` performs the run's own updates, `Run.step_d(trace=...)`
and `Run.step_g(trace=...)`, the first time a phase is reached going forward, and keeps
their StepTraces: every picture and number shown is what the real step used. Back only
replays the recorded pictures; an update, once made, stays made.
"""
from __future__ import annotations

import copy
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np

from ..trace import StepTrace
from . import charts, diagram

TOML = Path(__file__).with_name("slowmo.toml")
ARROW_SHARE = 0.15  # the longest gradient arrow spans this share of the box
ARROWS = 64  # arrows drawn: on a tight batch more than this merge into one black patch
REAL, FAKE, OLD = "#222222", "#e6550d", "#9e9e9e"
# Arena layer → (dataset name, legend phrase). The caption under the slow-motion arena
# names exactly the layers drawn in the current sub-step.
LAYERS = {
    "landscape_before": ("landscape", "Background: D's verdict before this update"),
    "landscape_after": ("landscape", "Background: D's verdict after the update"),
    "real": ("real", "black dots: the real batch"),
    "real_scored": ("real", "black-ringed dots: the real batch, filled with D's score"),
    "fake": ("fake", "orange triangles: the fakes"),
    "fake_scored": ("fake", "orange-ringed triangles: the fakes, filled with D's score"),
    "arrows": ("arrows", "black lines ending in a dot: where G's gradient pushes a fake"),
    "fake_old": ("fake_old", "grey triangles: the fakes before G's step"),
    "moves": ("moves", "orange lines: each fake's move"),
    "fake_after": ("fake", "orange triangles: the same noise through the updated G"),
}


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
        d = self.d_last if self.d_last is not None and self.current.repeat else self.d
        if self.current.phase == "g":
            d = self.d_last or self.d
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


# --- the slow-motion arena -----------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _spec(extent: tuple, px: int) -> dict:
    x0, x1, y0, y1 = extent
    x = alt.X("x:Q", scale=alt.Scale(domain=[x0, x1], nice=False, zero=False), title=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=[y0, y1], nice=False, zero=False), title=None)
    x2, y2 = alt.X2("x2:Q"), alt.Y2("y2:Q")
    fill = alt.Fill("fill:N", scale=None)
    layers = [
        alt.Chart(alt.Data(name="landscape")).mark_image(aspect=False, opacity=0.9)
        .encode(x=x, x2=x2, y=y, y2=y2, url="url:N"),
        alt.Chart(alt.Data(name="moves")).mark_rule(color=FAKE, strokeWidth=1, clip=True)
        .encode(x=x, y=y, x2=x2, y2=y2),
        alt.Chart(alt.Data(name="fake_old")).mark_point(shape="triangle-up", size=36, filled=True,
                                                        color=OLD, opacity=0.8, clip=True)
        .encode(x=x, y=y),
        alt.Chart(alt.Data(name="real")).mark_point(shape="circle", size=42, filled=True,
                                                    stroke=REAL, strokeWidth=1.2, opacity=0.95,
                                                    clip=True)
        .encode(x=x, y=y, fill=fill),
        alt.Chart(alt.Data(name="fake")).mark_point(shape="triangle-up", size=50, filled=True,
                                                    stroke=FAKE, strokeWidth=1.5, opacity=0.95,
                                                    clip=True)
        .encode(x=x, y=y, fill=fill),
        alt.Chart(alt.Data(name="arrows")).mark_rule(color="#111111", strokeWidth=1.2, clip=True)
        .encode(x=x, y=y, x2=x2, y2=y2),
        # A dot at each arrow's head: Vega-Lite rules have no arrowheads.
        alt.Chart(alt.Data(name="arrows")).mark_circle(color="#111111", size=14, clip=True)
        .encode(x=alt.X("x2:Q"), y=alt.Y("y2:Q")),
    ]
    chart = alt.layer(*layers).properties(width=px, height=px, usermeta=charts.CANVAS)
    spec = chart.configure_view(strokeWidth=0).configure_axis(grid=False).to_dict()
    spec["autosize"] = {"type": "pad"}
    return spec


def arena(it: Iteration, extent: tuple, px: int = charts.ARENA_PX) -> dict:
    """The slow-motion arena for the current sub-step: a fixed spec, this step's data."""
    spec = copy.deepcopy(_spec(tuple(round(v, 6) for v in extent), px))
    spec["datasets"] = arena_data(it, extent)
    return spec


def arena_data(it: Iteration, extent: tuple) -> dict:
    """Named datasets: the current sub-step's layers filled, every other one empty."""
    data = {"landscape": charts._empty("x", "x2", "y", "y2", "url"),
            "moves": _segments(np.zeros((0, 2)), np.zeros((0, 2))),
            "fake_old": _points(np.zeros((0, 2))), "real": _points(np.zeros((0, 2))),
            "fake": _points(np.zeros((0, 2))),
            "arrows": _segments(np.zeros((0, 2)), np.zeros((0, 2)))}
    t = it.trace()
    if t is None or t.fake is None:
        return data
    for layer in it.current.show:
        name, _ = LAYERS[layer]
        data[name] = _LAYER_DATA[layer](t, extent)
    return data


def legend(it: Iteration) -> str:
    """One caption naming what the current sub-step draws."""
    phrases = [LAYERS[name][1] for name in it.current.show]
    return ". ".join(p[0].upper() + p[1:] for p in phrases) + "."


def _landscape(grid: np.ndarray, t: StepTrace, extent: tuple):
    x0, x1, y0, y1 = extent
    return charts._table(x=[x0], x2=[x1], y=[y1], y2=[y0],
                         url=[charts.landscape_url(grid, t.critic)])


def _score_fill(scores: np.ndarray, t: StepTrace) -> np.ndarray:
    """Each score on the landscape's own colour scale (critics: symmetric, same bound)."""
    if t.critic:
        bound = max(float(np.abs(np.nan_to_num(t.grid_before)).max()), 1e-6)
        scores = 0.5 + 0.5 * scores / bound
    rgb = charts._ramp(np.clip(np.nan_to_num(scores), 0.0, 1.0)).round().astype(int)
    return np.array([f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb])


def _points(xy: np.ndarray, fill: np.ndarray | str | None = None):
    colours = np.full(len(xy), fill or "") if fill is None or isinstance(fill, str) else fill
    return charts._table(x=xy[:, 0], y=xy[:, 1], fill=colours.astype(str))


def _segments(a: np.ndarray, b: np.ndarray):
    return charts._table(x=a[:, 0], y=a[:, 1], x2=b[:, 0], y2=b[:, 1])


def _arrows(t: StepTrace, extent: tuple):
    vec = np.nan_to_num(t.push[:ARROWS])
    longest = float(np.linalg.norm(vec, axis=1).max()) if len(vec) else 0.0
    scale = ARROW_SHARE * (extent[1] - extent[0]) / longest if longest > 0 else 0.0
    return _segments(t.fake[:ARROWS], t.fake[:ARROWS] + scale * vec)


_LAYER_DATA = {
    "landscape_before": lambda t, e: _landscape(t.grid_before, t, e),
    "landscape_after": lambda t, e: _landscape(t.grid_after, t, e),
    "real": lambda t, e: _points(t.real, REAL),
    "real_scored": lambda t, e: _points(t.real, _score_fill(t.score_real, t)),
    "fake": lambda t, e: _points(t.fake, "#fdae6b"),
    "fake_scored": lambda t, e: _points(t.fake, _score_fill(t.score_fake, t)),
    "arrows": _arrows,
    "fake_old": lambda t, e: _points(t.fake),
    "moves": lambda t, e: _segments(t.fake, t.fake_after),
    "fake_after": lambda t, e: _points(t.fake_after, "#fdae6b"),
}

"""The slow-motion arena: a fixed Vega-Lite spec whose named datasets show one sub-step.

Same habits as charts.arena: the spec depends only on the plot box, so stepping swaps
data and the browser updates the view in place; a layer a sub-step does not draw gets
an empty table. Marks: the real batch as black dots, fakes as orange triangles, D's
scores as the marks' fill on the landscape's own colour scale.
"""
from __future__ import annotations

import copy
import functools
from typing import Any, Callable, NamedTuple

import altair as alt
import numpy as np

from ..trace import StepTrace
from . import charts, palette

ARROW_SHARE = 0.15  # the longest gradient arrow spans this share of the box
ARROWS = 64  # arrows drawn: on a tight batch more than this merge into one black patch
REAL, FAKE, OLD = (palette.hex_of(k) for k in ("real", "slow_fake", "slow_old"))  # the marks
FAKE_FILL = "#fdae6b"  # a fake not yet scored: light orange inside its orange outline
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


def arena(it: Any, extent: tuple, px: int = charts.ARENA_PX) -> dict:
    """The slow-motion arena for the current sub-step: a fixed spec, this step's data."""
    spec = copy.deepcopy(_spec(tuple(round(v, 6) for v in extent), px))
    spec["datasets"] = arena_data(it, extent)
    return spec


def arena_data(it: Any, extent: tuple) -> dict:
    """Named datasets: the current sub-step's layers filled, every other one empty."""
    data = {"landscape": charts._empty("x", "x2", "y", "y2", "url"),
            "moves": _segments(np.zeros((0, 2)), np.zeros((0, 2))),
            "fake_old": _points(np.zeros((0, 2))), "real": _points(np.zeros((0, 2))),
            "fake": _points(np.zeros((0, 2))),
            "arrows": _segments(np.zeros((0, 2)), np.zeros((0, 2)))}
    t = it.trace()
    if t is None or t.fake is None:
        return data
    for name in it.current.show:
        layer = LAYERS[name]
        data[layer.dataset] = layer.rows(t, extent)
    return data


def legend(it: Any) -> str:
    """One caption naming what the current sub-step draws."""
    phrases = [LAYERS[name].legend for name in it.current.show]
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


def _points(xy: np.ndarray, fill: np.ndarray | str = ""):
    """Points with one fill colour each (a single colour for all, or none)."""
    colours = np.full(len(xy), fill) if isinstance(fill, str) else fill
    return charts._table(x=xy[:, 0], y=xy[:, 1], fill=np.asarray(colours, dtype=str))


def _segments(a: np.ndarray, b: np.ndarray):
    return charts._table(x=a[:, 0], y=a[:, 1], x2=b[:, 0], y2=b[:, 1])


def _arrows(t: StepTrace, extent: tuple):
    vec = np.nan_to_num(t.push[:ARROWS])
    longest = float(np.linalg.norm(vec, axis=1).max()) if len(vec) else 0.0
    scale = ARROW_SHARE * (extent[1] - extent[0]) / longest if longest > 0 else 0.0
    return _segments(t.fake[:ARROWS], t.fake[:ARROWS] + scale * vec)


class Layer(NamedTuple):
    dataset: str  # the spec's named dataset it fills
    legend: str  # its phrase in the caption (the caption names exactly what is drawn)
    rows: Callable[[StepTrace, tuple], Any]  # (trace, plot box) → table


LAYERS = {
    "landscape_before": Layer("landscape", "Background: D's verdict before this update",
                              lambda t, e: _landscape(t.grid_before, t, e)),
    "landscape_after": Layer("landscape", "Background: D's verdict after the update",
                             lambda t, e: _landscape(t.grid_after, t, e)),
    "real": Layer("real", "black dots: the real batch", lambda t, e: _points(t.real, REAL)),
    "real_scored": Layer("real", "black-ringed dots: the real batch, filled with D's score",
                         lambda t, e: _points(t.real, _score_fill(t.score_real, t))),
    "fake": Layer("fake", "orange triangles: the fakes", lambda t, e: _points(t.fake, FAKE_FILL)),
    "fake_scored": Layer("fake", "orange-ringed triangles: the fakes, filled with D's score",
                         lambda t, e: _points(t.fake, _score_fill(t.score_fake, t))),
    "arrows": Layer("arrows", "black lines ending in a dot: where G's gradient pushes a fake",
                    _arrows),
    "fake_old": Layer("fake_old", "grey triangles: the fakes before G's step",
                      lambda t, e: _points(t.fake)),
    "moves": Layer("moves", "orange lines: each fake's move",
                   lambda t, e: _segments(t.fake, t.fake_after)),
    "fake_after": Layer("fake", "orange triangles: the same noise through the updated G",
                        lambda t, e: _points(t.fake_after, FAKE_FILL)),
}

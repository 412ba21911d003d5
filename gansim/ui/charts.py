"""Snapshot → charts. Specs are built once and cached; each frame only swaps data.

The browser updates a Vega view in place when the spec is byte-identical to the last
frame's and only the named datasets change; a changed spec makes it rebuild the view,
which is slow and flickers. So every layer reads a *named* dataset, layers that are
toggled off get an empty table instead of disappearing, and the spec depends only on
the plot box (fixed for a run). The landscape is one PNG drawn by pillow: one image
mark instead of thousands of rects. Canvas rendering is forced through usermeta.
"""
from __future__ import annotations

import base64
import copy
import functools
import io

import altair as alt
import numpy as np
import pyarrow as pa
from PIL import Image

from ..metrics import HQ_STDS
from ..snapshot import nearest_modes
from . import palette

ARENA_PX = 460  # arena side in pixels: square, so circles look round
STORY_W, STORY_H = 300, 130
MAX_ROWS = 150  # history rows per series: one per 2 px of a 300 px chart (more cost the browser ~0.1 core)
ARROWS = 128  # arrows drawn (of the 512 fakes): enough to read the flow, light to send
CANVAS = {"embedOptions": {"renderer": "canvas"}}


def _rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


# Mode colours shared by the arena and the mass chart; repeats past 20 modes.
PALETTE = palette.MODES
NO_MODES = palette.hex_of("no_modes")  # uploaded points without modes: all fakes one colour
OFF_MODE = "#b0b0b0"  # the GIF export's far fakes (a GIF has no opacity to fade them)
HQ_OPACITY, FAR_OPACITY = 0.9, 0.35  # a fake within 3σ of its mode, and one farther out
# The arena's marks, one home for the Vega arena (compare panes, scrub back) and the live
# film (arena_payload.py): how opaque each layer is, and G's manifold colour.
ARENA_OPACITY = {"landscape": 0.9, "real": 0.55, "arrows": 0.7, "manifold": 0.6,
                 "hq": HQ_OPACITY, "far": FAR_OPACITY}
MANIFOLD_COLOUR = "#444444"
# A ring never smaller than this share of the box's width: at std 0.02 the true 3σ
# circle is ~5 px across and hides under the real dots.
MIN_RING = 0.03
# Landscape ramp: purple = "fake" (low), white = undecided, green = "real" (high).
RAMP = np.array([_rgb(palette.hex_of("d_fake")), [194, 165, 207],
                 _rgb(palette.hex_of("undecided")), [166, 219, 160],
                 _rgb(palette.hex_of("d_real"))], dtype=float)


# --- the arena --------------------------------------------------------------------

def arena_spec(extent: tuple, px: int = ARENA_PX) -> dict:
    """The arena's Vega-Lite spec for a plot box (cached: identical every frame)."""
    return copy.deepcopy(_arena_spec(tuple(round(v, 6) for v in extent), px))


@functools.lru_cache(maxsize=32)
def _arena_spec(extent: tuple, px: int) -> dict:
    x0, x1, y0, y1 = extent
    # Smaller arenas (compare panes) get fewer ticks so the labels do not run together.
    axis = alt.Axis() if px >= ARENA_PX else alt.Axis(tickCount=max(3, px // 70))
    x = alt.X("x:Q", scale=alt.Scale(domain=[x0, x1], nice=False, zero=False), title=None,
              axis=axis)
    y = alt.Y("y:Q", scale=alt.Scale(domain=[y0, y1], nice=False, zero=False), title=None,
              axis=axis)
    x2, y2 = alt.X2("x2:Q"), alt.Y2("y2:Q")
    # clip: a fake that wanders off the fixed box must not be drawn over the page.
    layers = [
        alt.Chart(alt.Data(name="landscape")).mark_image(aspect=False,
                                                         opacity=ARENA_OPACITY["landscape"])
        .encode(x=x, x2=x2, y=y, y2=y2, url="url:N"),
        alt.Chart(alt.Data(name="circles")).mark_line(
            strokeDash=[4, 3], color=palette.hex_of("circles"), strokeWidth=1.5, clip=True)
        .encode(x=x, y=y, detail="mode:N", order="i:Q"),
        alt.Chart(alt.Data(name="manifold")).mark_line(
            color=MANIFOLD_COLOUR, strokeWidth=0.6, opacity=ARENA_OPACITY["manifold"], clip=True)
        .encode(x=x, y=y, detail="line:N", order="i:Q"),
        alt.Chart(alt.Data(name="real")).mark_circle(size=10, color=palette.hex_of("real"),
                                                     opacity=ARENA_OPACITY["real"], clip=True)
        .encode(x=x, y=y),
        alt.Chart(alt.Data(name="arrows")).mark_rule(color=palette.hex_of("arrows"), strokeWidth=1,
                                                     opacity=ARENA_OPACITY["arrows"], clip=True)
        .encode(x=x, y=y, x2=x2, y2=y2),
        alt.Chart(alt.Data(name="fake")).mark_circle(size=16, clip=True)
        .encode(x=x, y=y, color=alt.Color("color:N", scale=None),
                opacity=alt.Opacity("opacity:Q", scale=None)),
    ]
    chart = alt.layer(*layers).properties(width=px, height=px, usermeta=CANVAS)
    chart = chart.configure_view(strokeWidth=0).configure_axis(grid=False)
    return _fixed_size(chart.to_dict())


def _fixed_size(spec: dict) -> dict:
    # "pad" keeps the sizes given: the default "fit" squeezes the square arena and
    # does not apply to concatenated views at all.
    spec["autosize"] = {"type": "pad"}
    return spec


def arena_data(snap, arrows: bool = True, manifold: bool = False, circles: bool = True) -> dict:
    """The arena's named datasets for one frame; toggled-off layers get empty tables."""
    return {
        "landscape": landscape_row(snap),
        "circles": circle_rows(snap) if circles else _empty("x", "y", "mode", "i"),
        "manifold": manifold_rows(snap) if manifold else _empty("x", "y", "line", "i"),
        "real": _table(x=snap.real[:, 0], y=snap.real[:, 1]),
        "arrows": arrow_rows(snap) if arrows else _empty("x", "y", "x2", "y2"),
        "fake": fake_rows(snap),
    }


def arena(snap, px: int = ARENA_PX, **toggles) -> dict:
    """The full spec with this frame's data, ready for st.vega_lite_chart."""
    spec = arena_spec(snap.extent, px)
    spec["datasets"] = arena_data(snap, **toggles)
    return spec


def _table(**columns) -> pa.Table:
    """An Arrow table straight from arrays: ~10× cheaper per frame than a DataFrame."""
    return pa.table({k: np.asarray(v) for k, v in columns.items()})


def _empty(*columns: str) -> pa.Table:
    return _table(**{c: np.zeros(0) for c in columns})


def landscape_row(snap) -> pa.Table:
    x0, x1, y0, y1 = snap.extent
    return _table(x=[x0], x2=[x1], y=[y1], y2=[y0],
                  url=[landscape_url(snap.d_grid, snap.critic)])


def landscape_url(grid: np.ndarray, critic: bool) -> str:
    """D on the grid as a PNG data URL: fixed 0..1 scale, or symmetric around 0 for critics."""
    values = np.nan_to_num(np.asarray(grid, dtype=float))
    if critic:  # unbounded score: symmetric so 0 (undecided) is always white
        bound = max(float(np.abs(values).max()), 1e-6)
        t = 0.5 + 0.5 * values / bound
    else:
        t = values
    rgb = _ramp(np.clip(t, 0.0, 1.0))[::-1]  # row 0 of the grid is the bottom (ymin)
    buf = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _ramp(t: np.ndarray) -> np.ndarray:
    stops = np.linspace(0.0, 1.0, len(RAMP))
    return np.stack([np.interp(t, stops, RAMP[:, c]) for c in range(3)], axis=-1)


def mode_colors(nearest: np.ndarray, has_modes: bool) -> np.ndarray:
    """Hex colour per fake: its nearest mode's colour, however far it is from it.

    A collapsed G hovering beside one mode is then one colour, as the guide says;
    how far each fake is shows in its opacity instead (fake_rows).
    """
    if not has_modes:
        return np.full(len(nearest), NO_MODES)
    return np.array(PALETTE)[np.asarray(nearest) % len(PALETTE)]


def fake_rows(snap) -> pa.Table:
    has_modes = snap.centers is not None
    nearest = nearest_modes(snap.fake, snap.centers) if has_modes else snap.fake_mode
    opacity = np.where(snap.fake_mode >= 0, HQ_OPACITY, FAR_OPACITY) if has_modes else \
        np.full(len(snap.fake), HQ_OPACITY)
    return _table(x=snap.fake[:, 0], y=snap.fake[:, 1],
                  color=mode_colors(nearest, has_modes), opacity=opacity)


def arrow_rows(snap) -> pa.Table:
    """Segments from each fake along −∇(G's loss), scaled so the longest is 8% of the box."""
    pts, vec = snap.fake[:ARROWS], np.nan_to_num(snap.arrows[:ARROWS])
    longest = float(np.linalg.norm(vec, axis=1).max()) if len(vec) else 0.0
    span = snap.extent[1] - snap.extent[0]
    scale = 0.08 * span / longest if longest > 0 else 0.0
    end = pts + scale * vec
    return _table(x=pts[:, 0], y=pts[:, 1], x2=end[:, 0], y2=end[:, 1])


def manifold_rows(snap) -> pa.Table:
    """G's image of the latent grid lines, one polyline each (none when z_dim > 2)."""
    m = snap.manifold
    lines, points = m.shape[0], m.shape[1]
    xy = m.reshape(-1, 2)
    return _table(x=xy[:, 0], y=xy[:, 1], line=np.repeat(np.arange(lines), points),
                  i=np.tile(np.arange(points), lines))


def circle_rows(snap, points: int = 33) -> pa.Table:
    """The real mixture's 3σ circles as closed polylines, at least MIN_RING of the box wide."""
    if snap.centers is None:
        return _empty("x", "y", "mode", "i")
    angle = np.linspace(0, 2 * np.pi, points)
    floor = MIN_RING * (snap.extent[1] - snap.extent[0])
    c, s = np.asarray(snap.centers), np.maximum(HQ_STDS * np.asarray(snap.stds), floor)
    x = (c[:, 0:1] + s[:, None] * np.cos(angle)).ravel()
    y = (c[:, 1:2] + s[:, None] * np.sin(angle)).ravel()
    return _table(x=x, y=y, mode=np.repeat(np.arange(len(c)), points),
                  i=np.tile(np.arange(points), len(c)))


# --- the story over time ----------------------------------------------------------

# A panel's title starts with the name texts use for it ("the score plot"), before a
# colon; tests/test_palette.py checks the lessons name only these.
SERIES = {  # dataset name → (title, {history key: legend label}, y scale, axis format)
    "scores": ("Score plot: D's scores (0.5 = balanced)",
               {"score_g": "score_G", "score_d": "score_D"}, alt.Scale(zero=False), "~g"),
    "losses": ("Loss chart: D's and G's losses", {"d_loss": "D loss", "g_loss": "G loss"},
               alt.Scale(zero=False), "~g"),
    "modes": ("Modes chart: modes covered", {"modes": "modes"}, alt.Scale(zero=True), "d"),
    "hq": ("HQ chart: high-quality samples", {"hq": "HQ"}, alt.Scale(domain=[0, 1]), ".0%"),
    "grads": ("Gradient chart: gradient norms (log scale)",
              {"d_grad": "‖∇D‖", "g_grad": "‖∇G‖"}, alt.Scale(type="log"), "~g"),
    "distance": ("Distance chart: sliced Wasserstein distance to the data",
                 {"distance": "distance"}, alt.Scale(zero=True), "~g"),
}
# A critic has no probability: its panel shows the raw scores, and only then.
CRITIC_SCORES = ("Score plot: the critic's raw scores",
                 {"critic_real": "critic on real", "critic_fake": "critic on fake"},
                 alt.Scale(zero=False), "~g")
MASS_TITLE = "Mass-per-mode chart: share of G's samples per mode, smoothed"
MASS_COLUMNS = 150  # evaluations drawn in the mass chart, spread over the whole run


def series(critic: bool) -> dict:
    """The story's panels for a probability D or for a critic."""
    return {**SERIES, "scores": CRITIC_SCORES} if critic else SERIES


_POINT = alt.OverlayMarkDef(size=10)


@functools.lru_cache(maxsize=2)
def _story_spec(critic: bool = False) -> dict:
    step = alt.X("step:Q", title="G step", axis=alt.Axis(tickCount=4, format="~s"))
    charts = []
    for name, (title, labels, scale, fmt) in series(critic).items():
        axis = alt.Axis(format=fmt, tickMinStep=1) if fmt == "d" else alt.Axis(format=fmt)
        y = alt.Y("value:Q", title=None, scale=scale, axis=axis)
        colour = alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                           scale=alt.Scale(domain=list(labels.values()),
                                           range=list(PALETTE[:len(labels)])))
        # Points too: evaluations are sparse, and a one-row line draws nothing.
        line = alt.Chart(alt.Data(name=name)).mark_line(strokeWidth=1.5, point=_POINT).encode(
            x=step, y=y, color=colour)
        if name == "scores":  # the balanced game: both scores near 0.5
            rule = alt.Chart(alt.Data(name="score_rule")).mark_rule(
                strokeDash=[4, 4], color="#888").encode(y="value:Q")
            line = alt.layer(line, rule)
        charts.append(line.properties(title=title, width=STORY_W, height=STORY_H))
    # Smoothed shares, each mode its arena colour, stacked in mode order: a steady band
    # per mode rather than one flickering column per evaluation.
    mass = alt.Chart(alt.Data(name="mass")).mark_area(interpolate="monotone").encode(
        x=step, y=alt.Y("mass:Q", stack="zero", title=None, scale=alt.Scale(domain=[0, 1]),
                        axis=alt.Axis(format=".0%")),
        color=alt.Color("mode:N", legend=None,
                        scale=alt.Scale(domain=[str(i) for i in range(len(PALETTE))],
                                        range=list(PALETTE))),
        order="mode_i:Q",
    ).properties(title=MASS_TITLE, width=STORY_W, height=STORY_H)
    charts.insert(4, mass)
    # Each panel has its own series: independent colours and legends, not one union.
    chart = alt.concat(*charts, columns=2).resolve_scale(color="independent")
    chart = chart.resolve_legend(color="independent").properties(usermeta=CANVAS)
    chart = chart.configure_view(strokeWidth=0).configure_title(fontSize=12, anchor="start")
    return _fixed_size(chart.to_dict())


def story(snap) -> dict:
    """The time charts' spec with this frame's data."""
    spec = copy.deepcopy(_story_spec(bool(snap.critic)))
    spec["datasets"] = story_data(snap)
    return spec


def story_data(snap) -> dict:
    hist = snap.history
    data = {}
    for name, (_, labels, _, _) in series(bool(snap.critic)).items():
        data[name] = _long(hist, labels, positive=name == "grads")  # log axes cannot show 0
    data["score_rule"] = _table(value=np.array([] if snap.critic else [0.5], dtype=float))
    data["mass"] = mass_rows(hist.get("step", np.array([])), snap.mass_history)
    return data


def _thin(idx: np.ndarray) -> np.ndarray:
    """At most MAX_ROWS of the indices, evenly spaced, always with the newest."""
    if len(idx) <= MAX_ROWS:
        return idx
    return idx[np.unique(np.linspace(0, len(idx) - 1, MAX_ROWS).round().astype(int))]


def _long(hist: dict, labels: dict, positive: bool = False,
          scale: float = 1.0) -> pa.Table:
    """History columns as (step, series, value) rows without NaNs."""
    steps = np.asarray(hist.get("step", []), dtype=float)
    frames = []
    for key, label in labels.items():
        values = np.asarray(hist.get(key, []), dtype=float)
        if not len(values):
            continue
        # Evaluation keys are NaN between evaluations: keep all evaluated rows.
        ok = np.isfinite(values) & ((values > 0) if positive else True)
        idx = _thin(np.flatnonzero(ok))
        frames.append((steps[idx], np.full(len(idx), label), values[idx] * scale))
    if not frames:
        return _table(step=np.zeros(0), series=np.array([], dtype=str), value=np.zeros(0))
    return _table(**{name: np.concatenate([f[i] for f in frames])
                     for i, name in enumerate(("step", "series", "value"))})


def mass_rows(steps: np.ndarray, mass_history: list, columns: int = MASS_COLUMNS) -> pa.Table:
    """Per-mode mass over the whole run, long format for a stacked area.

    At most `columns` evaluations, evenly spread from the first to the newest, each the
    mean of the evaluations around it: one evaluation of 2,500 samples jitters by a few
    percent per mode, which over thousands of columns reads as confetti.
    """
    rows = [(s, m) for s, m in zip(np.asarray(steps, float), mass_history) if len(m)]
    if not rows:
        return _table(step=np.zeros(0), mode=np.array([], dtype=str),
                      mode_i=np.zeros(0, dtype=int), mass=np.zeros(0))
    k = len(rows[0][1])
    at = np.array([s for s, _ in rows])
    mass = np.array([list(m)[:k] + [0.0] * (k - len(m)) for _, m in rows])
    edges = np.linspace(0, len(rows), min(columns, len(rows)) + 1).round().astype(int)
    groups = [slice(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    at = np.array([at[g][-1] for g in groups])  # each column at its newest evaluation
    mass = np.array([mass[g].mean(0) for g in groups])
    modes = np.tile(np.arange(k), len(groups))
    return _table(step=np.repeat(at, k), mode=(modes % len(PALETTE)).astype(str),
                  mode_i=modes, mass=mass.ravel())


# --- a compare pane's modes-covered curve -------------------------------------------

@functools.lru_cache(maxsize=16)
def _modes_spec(width: int, n_modes: int) -> dict:
    # A fixed 0..n_modes axis, so panes side by side are read against the same scale.
    chart = alt.Chart(alt.Data(name="modes")).mark_line(strokeWidth=1.5, point=_POINT).encode(
        x=alt.X("step:Q", title="G step", axis=alt.Axis(tickCount=4, format="~s")),
        y=alt.Y("value:Q", title=None, axis=alt.Axis(format="d", tickMinStep=1),
                scale=alt.Scale(domain=[0, max(n_modes, 1)])),
    ).properties(title="Modes covered", width=width, height=100, usermeta=CANVAS)
    chart = chart.configure_view(strokeWidth=0).configure_title(fontSize=12, anchor="start")
    return _fixed_size(chart.to_dict())


def modes_curve(snap, width: int = STORY_W) -> dict:
    """Modes covered over the run: the spec (fixed per width and dataset) with its data."""
    n_modes = 0 if snap.centers is None else len(snap.centers)
    spec = copy.deepcopy(_modes_spec(width, n_modes))
    spec["datasets"] = {"modes": _long(snap.history, {"modes": "modes"})}
    return spec

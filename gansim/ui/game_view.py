"""The Dirac-GAN view: the (θ, ψ) plane with the game's arrows and a trajectory, the
eigenvalues that predict it, and the verdict in one sentence (gansim/dirac.py computes
everything; this module only draws it and reads the widgets).

The page calls `render(cfg)` and gets back the GameConfig its widgets now hold; it puts
`query_params(cfg)` in the address bar and reads it back with `GameConfig.from_query`.
A click on the plane moves the start point (θ₀, ψ₀), like the drawing view's clicks
(gansim/ui/draw_view.py): a point selection, read once, then the chart is remounted.
Its state lives in gansim/ui/keys.py (GAME*): the game itself is kept in GAME, which
every widget change and click updates before the page runs, so the link is current.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import altair as alt
import numpy as np
import streamlit as st

from .. import dirac
from ..checks import Choice, Range
from ..game_config import GAME_FIELDS, GameConfig
from . import keys, palette
from .keys import GAME, GAME_CHART, GAME_FIELD, GAME_PLANE, GAME_SEEDED, GAME_STEP, \
    GAME_STEPS_SHOWN

PICK = "start"  # the plane's point selection
PX = 400  # the plane's side in pixels; square, so the arrows' angles are true
SMALL = 200  # each eigenvalue plot's side
GRID = 15  # arrows per side
CLICKS = 41  # clickable points per side (start points snap to this grid)
TRAJECTORY, UPDATE = palette.MODES[0], palette.MODES[1]  # two series, told apart by shape too
INK = palette.hex_of("arrows")


def query_params(cfg: GameConfig) -> dict[str, str]:
    """The address bar's keys for this game: `dirac_<field>` for fields off the default."""
    return cfg.to_query()


def render(cfg: GameConfig, start: tuple[float, float] | None = None) -> GameConfig:
    """Draw the game's controls, plane, eigenvalues and verdict; return the widgets' game.

    `cfg` fills the widgets when it changes (a lesson step, a URL); `start`, if given,
    replaces its start point (θ₀, ψ₀)."""
    if start is not None:
        cfg = cfg.replace(theta0=float(start[0]), psi0=float(start[1]))
    _init(cfg)
    cfg = controls()
    GAME.set(cfg)
    data = game_data(cfg, (cfg.theta0, cfg.psi0))
    # Stacked, not side by side: the arena column is ~570 px wide at 1366×768, too narrow
    # for the plane beside the eigenvalue plots. The verdict comes first, so that it
    # stays on screen with the top of the plane it describes.
    VERDICT_BOX[data["kind"]](data["sentence"])
    shown = _step_slider(len(data["path"]) - 1)
    key = GAME_PLANE.name(GAME_CHART.get())
    st.altair_chart(plane(data, shown), key=key, on_select=functools.partial(_clicked, key),
                    selection_mode=[PICK], theme=None, width="content")
    st.caption("Arrows: where both players move from each point (G along θ, D along ψ). "
               "The line: the players' path from the start (a square) to the step shown "
               "(a dot); the cross marks the equilibrium (0, 0). Click the plane to start "
               "elsewhere.")
    field_col, update_col = st.columns(2)
    field_col.altair_chart(eigen_chart(data["field_eig"], "Field's Jacobian at (0, 0)",
                                       circle=False), theme=None, width="content")
    update_col.altair_chart(eigen_chart(data["update_eig"], "One update at (0, 0)",
                                        circle=True), theme=None, width="content")
    st.caption("Left of the dashed vertical line, the field pulls the players in; inside the "
               "dashed circle, each update brings them closer.")
    return cfg


# --- widgets from the field table ---------------------------------------------------

def _init(cfg: GameConfig) -> None:
    """Fill the widgets from a new game from the page, or when another view dropped them."""
    dropped = not all(keys.has(GAME_FIELD.name(name)) for name in GAME_FIELDS)
    if GAME_SEEDED.get() != cfg or dropped:
        _fill(cfg)
        GAME_SEEDED.set(cfg)


def _fill(cfg: GameConfig) -> None:
    for name in GAME_FIELDS:
        keys.write(GAME_FIELD.name(name), getattr(cfg, name))


def _held() -> None:
    """A widget changed (a callback, before the page runs): the game is what they hold."""
    try:
        GAME.set(GameConfig.from_dict({name: keys.read(GAME_FIELD.name(name))
                                       for name in GAME_FIELDS}))
    except ValueError:
        pass  # the widgets' own bounds make this rare; controls() says what is wrong


def _number(name: str, check: Range) -> Any:
    lo = check.lo + (1e-3 if check.lo_open else 0)  # an open bound: the smallest step above
    step = 1 if check.integer else (0.01 if check.hi <= 2 else 0.1)
    kind = int if check.integer else float
    return st.number_input(_label(name), kind(lo), kind(check.hi), step=kind(step),
                           key=GAME_FIELD.name(name), help=GAME_FIELDS[name].help,
                           format=None if check.integer else "%g", on_change=_held)


def _select(name: str, check: Choice) -> Any:
    return st.selectbox(_label(name), check.options, key=GAME_FIELD.name(name),
                        help=GAME_FIELDS[name].help, on_change=_held)


# One widget per kind of check, so a new field needs no new widget code.
WIDGETS: dict[type, Callable[[str, Any], Any]] = {Range: _number, Choice: _select}
assert all(type(f.check) in WIDGETS for f in GAME_FIELDS.values()), \
    "every GameConfig field's check needs a widget in game_view.WIDGETS"


LABELS = {"theta0": "start θ", "psi0": "start ψ", "lr_g": "G's lr", "lr_d": "D's lr",
          "instance_noise": "noise σ", "gp_target": "GP target", "gp": "GP", "r1": "R1",
          "r2": "R2", "d_steps": "D steps"}


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " "))


def controls(columns: int = 4) -> GameConfig:
    """One widget per GameConfig field (from GAME_FIELDS); the game they hold."""
    # Closed at first: at 1366×768 the open table would push the plane below the fold.
    with st.expander("Game settings: loss, remedies, steps, start", expanded=False):
        cols = st.columns(columns)
        values = {}
        for i, (name, f) in enumerate(GAME_FIELDS.items()):
            with cols[i % columns]:
                values[name] = WIDGETS[type(f.check)](name, f.check)
    return GameConfig.from_dict(values)


def _step_slider(n: int) -> int:
    """The step to draw up to: stays where the class left it, or at the path's end when
    it was there (a new game redraws its whole path)."""
    if n < 1:
        return n
    last = keys.read(GAME_STEPS_SHOWN.name, n)
    now = keys.read(GAME_STEP.name, n)
    # Written every run: a slider whose range changed is a new widget, and would forget.
    GAME_STEP.set(n if now >= min(last, n) else now)
    GAME_STEPS_SHOWN.set(n)
    return st.slider("Step", 0, n, key=GAME_STEP.name,  # its value lives in the session
                     help="Drag to replay the path one update at a time.")


def _clicked(key: str) -> None:
    """A click on the plane: its grid point becomes the start, in the game and in the
    start widgets (a callback runs before they are drawn, so they may be set)."""
    event = keys.read(key) or {}
    picked = (event.get("selection") or {}).get(PICK) or []
    if picked and "theta" in picked[0]:
        start = {name: _clamp(name, float(picked[0][axis]))
                 for name, axis in (("theta0", "theta"), ("psi0", "psi"))}
        GAME.set(GAME.get().replace(**start))
        for name, value in start.items():
            keys.write(GAME_FIELD.name(name), value)
        GAME_CHART.set(GAME_CHART.get() + 1)


def _clamp(name: str, value: float) -> float:
    """A click beyond the start field's range (an escaping path widens the plane) starts
    at its edge."""
    check = GAME_FIELDS[name].check
    return min(max(value, check.lo), check.hi)


# --- what gets drawn ------------------------------------------------------------------

@st.cache_data(max_entries=64, show_spinner=False)
def game_data(cfg: GameConfig, start: tuple[float, float]) -> dict:
    """Everything the view draws for one game and start point (pure: dirac only)."""
    path = dirac.simulate(cfg, start)
    # The plane holds the whole path (the slider must not rescale it), but an escaping
    # path would squash the arrows to dots: it may leave a plane 4× the start's size.
    far = float(np.abs(start).max())
    reach = max(1.5, 1.15 * min(float(np.abs(path).max()), 4 * far))
    axis = np.linspace(-reach, reach, GRID)
    theta, psi = np.meshgrid(axis, axis)
    v_t, v_p = dirac.field(cfg, theta, psi)
    verdict = dirac.verdict(cfg)
    return {"path": path, "reach": reach, "theta": theta.ravel(), "psi": psi.ravel(),
            "v_t": v_t.ravel(), "v_p": v_p.ravel(), "field_eig": dirac.eigenvalues(cfg),
            "update_eig": dirac.update_eigenvalues(cfg), "kind": verdict.kind,
            "sentence": verdict.sentence}


def arrow_rows(data: dict) -> list[dict]:
    """Each arrow: a segment from its point along the field, length ∝ √|v| (so both the
    slow middle and the fast rim show), and the screen angle for its head."""
    v_t, v_p = data["v_t"], data["v_p"]
    speed = np.hypot(v_t, v_p)
    top = float(speed.max()) or 1.0
    cell = 2 * data["reach"] / (GRID - 1)
    scale = 0.8 * cell * np.sqrt(speed / top) / np.where(speed > 0, speed, 1)
    ends_t, ends_p = data["theta"] + scale * v_t, data["psi"] + scale * v_p
    # Vega's angle turns a shape clockwise from pointing up; the axes are equal, so the
    # data direction is the screen direction.
    angle = np.degrees(np.arctan2(v_t, v_p)) % 360
    return [{"t": float(a), "p": float(b), "t2": float(c), "p2": float(d), "angle": float(e)}
            for a, b, c, d, e, s in zip(data["theta"], data["psi"], ends_t, ends_p, angle, speed)
            if s > 0]


def plane(data: dict, shown: int) -> alt.LayerChart:
    """The (θ, ψ) plane: arrows, the path up to step `shown`, the start and (0, 0)."""
    reach = data["reach"]
    x = alt.X("t:Q", title="θ (G's point)", scale=alt.Scale(domain=[-reach, reach], nice=False))
    y = alt.Y("p:Q", title="ψ (D's slope)", scale=alt.Scale(domain=[-reach, reach], nice=False))
    axis = np.linspace(-reach, reach, CLICKS)
    clicks = alt.Data(values=[{"theta": round(float(a), 3), "psi": round(float(b), 3),
                               "t": float(a), "p": float(b)} for a in axis for b in axis])
    pick = alt.selection_point(name=PICK, fields=["theta", "psi"], on="click", nearest=True,
                               clear=False)
    targets = alt.Chart(clicks, name="targets").mark_square(
        size=(PX / CLICKS) ** 2, opacity=0.001, tooltip=False).encode(
        x=x, y=y, tooltip=[alt.Tooltip("theta:Q", title="start θ"),
                           alt.Tooltip("psi:Q", title="start ψ")]).add_params(pick)
    rows = alt.Data(values=arrow_rows(data))
    shafts = alt.Chart(rows, name="arrows").mark_rule(color=INK, opacity=0.55, clip=True).encode(
        x=x, y=y, x2="t2:Q", y2="p2:Q")
    heads = alt.Chart(rows).mark_point(shape="triangle-up", size=28, filled=True, color=INK,
                                       opacity=0.55, clip=True).encode(x="t2:Q", y="p2:Q",
                                                            angle=alt.Angle("angle:Q",
                                                                            scale=None))
    path = data["path"][: shown + 1]
    near = np.abs(path).max(axis=1) < 4 * reach  # an escaping tail: off the plane anyway
    line_rows = alt.Data(values=[{"t": float(a), "p": float(b), "step": i}
                                 for i, (a, b) in enumerate(path) if near[i]])
    line = alt.Chart(line_rows, name="path").mark_line(color=TRAJECTORY, clip=True).encode(
        x=x, y=y, order="step:Q")
    marks = alt.Data(values=[
        {"t": float(path[0][0]), "p": float(path[0][1]), "what": "start", "shape": "square"},
        {"t": float(path[-1][0]), "p": float(path[-1][1]), "what": f"step {shown}",
         "shape": "circle"}])
    ends = alt.Chart(marks).mark_point(filled=True, size=90, color=TRAJECTORY, clip=True).encode(
        x=x, y=y, shape=alt.Shape("shape:N", scale=None), tooltip=["what:N"])
    zero = alt.Chart(alt.Data(values=[{"t": 0.0, "p": 0.0}])).mark_point(
        shape="cross", size=160, filled=True, color=palette.hex_of("real")).encode(x=x, y=y)
    chart = alt.layer(targets, shafts, heads, line, ends, zero).properties(width=PX, height=PX)
    return chart.configure_view(strokeWidth=0).configure_axis(grid=False)


def eigen_chart(eig: np.ndarray, title: str, circle: bool) -> alt.LayerChart:
    """Eigenvalues in the complex plane, with the unit circle (an update map's) or the
    imaginary axis (a field's) as the line between in and out."""
    reach = max(1.25, 1.15 * float(np.abs(eig).max()))
    x = alt.X("re:Q", title="real part", scale=alt.Scale(domain=[-reach, reach], nice=False))
    y = alt.Y("im:Q", title="imaginary part", scale=alt.Scale(domain=[-reach, reach], nice=False))
    if circle:
        turn = np.linspace(0, 2 * np.pi, 97)
        border = alt.Chart(alt.Data(values=[{"re": float(np.cos(a)), "im": float(np.sin(a)),
                                             "i": i} for i, a in enumerate(turn)])
                           ).mark_line(color=INK, strokeDash=[4, 3]).encode(x=x, y=y, order="i:Q")
    else:
        border = alt.Chart(alt.Data(values=[{"re": 0.0, "im": -reach}, {"re": 0.0, "im": reach}])
                           ).mark_line(color=INK, strokeDash=[4, 3]).encode(x=x, y=y)
    points = alt.Chart(alt.Data(values=[
        {"re": float(e.real), "im": float(e.imag), "label": f"{e.real:.4f} {e.imag:+.4f}i"}
        for e in eig]), name="eigenvalues").mark_point(
        filled=True, size=90, color=UPDATE if circle else TRAJECTORY, shape="diamond").encode(
        x=x, y=y, tooltip=[alt.Tooltip("label:N", title="eigenvalue")])
    chart = alt.layer(border, points).properties(width=SMALL, height=SMALL, title=title)
    return chart.configure_view(strokeWidth=0).configure_axis(grid=False).configure_title(
        fontSize=12, anchor="start")


# The verdict's box: its colour says the same as its first words.
VERDICT_BOX: dict[str, Callable[[str], Any]] = {
    "converges": st.success, "circles": st.info, "stalls": st.info,
    "spirals out": st.warning, "moves out": st.warning, "kink": st.info}
assert set(VERDICT_BOX) == {kind for kind, _ in dirac.VERDICTS.values()} | {"kink"}, \
    "every verdict kind needs a box"

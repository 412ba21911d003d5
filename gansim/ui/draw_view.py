"""Draw data: drag boxes on an empty plane to place Gaussian modes, then train on them.

Streamlit's own chart selections do the input (st.altair_chart with on_select): an
interval selection is the dragged box, a point selection on a mode's centre removes
it. Each handled selection remounts the chart under a new key, so a box is read once
and the brush does not linger. The turning of boxes into modes lives in
gansim.drawing (pure, tested without Streamlit).
"""
from __future__ import annotations

import functools

import altair as alt
import numpy as np
import streamlit as st

from .. import drawing
from ..data import mixture
from ..metrics import HQ_STDS
from . import charts, keys, transport
from .keys import DRAW_CHART, DRAW_ERROR, DRAW_KEY, DRAW_MODES, button

BOX, PICK = "box", "pick"  # the chart's selection parameters
PREVIEW = 600  # points drawn from the drawn mixture, so the class sees the data it makes
PX = charts.ARENA_PX


def start(run) -> None:
    """Open the drawing on the run's current modes (empty for uploads or big presets)."""
    dataset = run.dataset if run.cfg.data == "points" else run.trainer.dataset
    DRAW_MODES.set(drawing.modes_of(dataset))
    DRAW_ERROR.set(None)
    n = getattr(dataset, "n_modes", 0)
    if n > drawing.MAX_DRAWN:
        DRAW_ERROR.set(f"The current data has {n} modes, more than a drawing holds "
                       f"({drawing.MAX_DRAWN}), so the plane starts empty.")
    DRAW_KEY.set(DRAW_KEY.get() + 1)


def body(run) -> None:
    """The plane, the drawn modes, and the buttons that clear them or train on them."""
    if not DRAW_MODES.is_set():
        start(run)
    modes = DRAW_MODES.get()
    st.markdown("**Draw your data.** Drag a box on the plane to add a Gaussian mode there "
                "(the box is its 3σ square: a bigger box, a wider mode). Click a mode's "
                "centre to remove it.")
    key = DRAW_CHART.name(DRAW_KEY.get())
    st.altair_chart(chart(modes), on_select=functools.partial(_selected, key), key=key,
                    theme=None, width="content", selection_mode=[BOX, PICK])
    if DRAW_ERROR.get():
        st.error(DRAW_ERROR.get())
    elif not modes:
        st.info("No modes yet: drag a box on the plane to add one, then train on them.")
    cols = st.columns([2, 1, 2])
    cols[0].button("Train on these modes", type="primary", icon=":material/play_arrow:",
                   key=button("draw_train"), on_click=_train, disabled=not modes,
                   help="Start a new run on the drawn mixture (data = custom) and play.")
    cols[1].button("Clear all", key=button("draw_clear"), on_click=_clear, disabled=not modes)
    cols[2].caption(f"{len(modes)} mode{'s' * (len(modes) != 1)} drawn "
                    f"(at most {drawing.MAX_DRAWN}).")


def chart(modes: tuple) -> alt.LayerChart:
    """The drawing plane: preview samples, 3σ circles and clickable centres."""
    x0, x1, y0, y1 = drawing.DRAW_BOX
    x = alt.X("x:Q", scale=alt.Scale(domain=[x0, x1], nice=False), title=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=[y0, y1], nice=False), title=None)
    box = alt.selection_interval(name=BOX, encodings=["x", "y"], clear="dblclick")
    pick = alt.selection_point(name=PICK, fields=["id"], on="click", clear=False)
    colour = alt.Color("colour:N", scale=None)
    # Named layers: the browser test finds the plane and the centres by these names.
    plane = alt.Chart(_frame(drawing.DRAW_BOX), name="plane").mark_rect(
        fill="#fafafa", stroke="#bbb", tooltip=False).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q").add_params(box)
    preview = alt.Chart(_preview(modes)).mark_circle(
        size=9, color="#222", opacity=0.45, clip=True, tooltip=False).encode(x=x, y=y)
    rings = alt.Chart(_rings(modes)).mark_line(strokeWidth=1.5, clip=True, tooltip=False).encode(
        x=x, y=y, color=colour, detail="id:N", order="i:Q")
    centres = alt.Chart(_centres(modes), name="centres").mark_point(
        shape="cross", size=260, filled=True, opacity=0.95, clip=True).encode(
        x=x, y=y, color=colour, tooltip=[alt.Tooltip("label:N", title="click to remove")]
    ).add_params(pick)
    chart = alt.layer(plane, preview, rings, centres).properties(
        width=PX, height=PX, autosize=alt.AutoSizeParams(type="pad"))
    return chart.configure_view(strokeWidth=0).configure_axis(grid=False)


def _frame(box) -> dict:
    x0, x1, y0, y1 = box
    return alt.Data(values=[{"x": x0, "x2": x1, "y": y0, "y2": y1}])


def _colours(n: int) -> list[str]:
    return [charts.PALETTE[i % len(charts.PALETTE)] for i in range(n)]


def _centres(modes) -> alt.Data:
    return alt.Data(values=[
        {"id": i, "x": m.x, "y": m.y, "colour": c,
         "label": f"mode {i + 1} at ({m.x:.2f}, {m.y:.2f}), σ = {m.std:.3g}"}
        for i, (m, c) in enumerate(zip(modes, _colours(len(modes))))])


def _rings(modes, points: int = 41) -> alt.Data:
    angle = np.linspace(0, 2 * np.pi, points)
    return alt.Data(values=[
        {"id": i, "i": j, "x": m.x + HQ_STDS * m.std * np.cos(a),
         "y": m.y + HQ_STDS * m.std * np.sin(a),
         "colour": c}
        for i, (m, c) in enumerate(zip(modes, _colours(len(modes))))
        for j, a in enumerate(angle)])


def _preview(modes) -> alt.Data:
    if not modes:
        return alt.Data(values=[])
    mix = mixture("drawn", [(m.x, m.y) for m in modes], [m.std for m in modes])
    rng = np.random.default_rng(0)  # the same preview for the same drawing
    comp = rng.choice(len(modes), PREVIEW, p=mix.weights)
    pts = mix.centers[comp] + mix.stds[comp, None] * rng.standard_normal((PREVIEW, 2))
    return alt.Data(values=[{"x": float(a), "y": float(b)} for a, b in pts])


# --- callbacks ----------------------------------------------------------------------

def _selected(key: str) -> None:
    """A click on a centre removes that mode; otherwise a dragged box adds one."""
    event = keys.read(key)
    selection = (event or {}).get("selection", {})
    picked = [p.get("id") for p in selection.get(PICK) or [] if p.get("id") is not None]
    modes = DRAW_MODES.get()
    try:
        if picked:
            modes = drawing.remove_mode(modes, int(picked[0]))
        else:
            mode = drawing.mode_from_selection(selection.get(BOX) or {})
            if mode is None:
                return
            modes = drawing.add_mode(modes, mode)
    except ValueError as err:
        DRAW_ERROR.set(f"That box was not added: {err}.")
    else:
        DRAW_ERROR.set(None)
        DRAW_MODES.set(modes)
    DRAW_KEY.set(DRAW_KEY.get() + 1)  # a fresh chart: the handled selection is gone


def _clear() -> None:
    DRAW_MODES.set(())
    DRAW_ERROR.set(None)
    DRAW_KEY.set(DRAW_KEY.get() + 1)


def _train() -> None:
    """The drawing becomes the run's data (a new run), and training starts."""
    run = transport.run()
    try:
        cfg = run.cfg.replace(**drawing.config_fields(DRAW_MODES.get()))
    except ValueError as err:
        DRAW_ERROR.set(f"Cannot train on this drawing: {err}.")
        return
    transport.change_config(cfg)
    DRAW_ERROR.set(None)
    transport.play()  # playing takes the arena switch back to the live view (arena_modes)

"""A page with only the arena film, fed by a small real Trainer 4 times a second
(tests/test_browser_arena.py). Query parameters: ?height=N gives the canvas a fixed
height, ?leave=N fits it in the window less N px; ?payloads=N stops training after N frames, so the page re-sends the same
payload (an idle arena must then paint nothing)."""
from __future__ import annotations

import streamlit as st

from gansim import Config, Trainer
from gansim.ui.arena_canvas import arena_payload, draw

STEPS_PER_FRAME = 5

st.set_page_config(page_title="arena film", layout="wide")
if "trainer" not in st.session_state:
    st.session_state.trainer = Trainer(Config(g_hidden=32, d_hidden=32, batch=64, z_dim=2),
                                       log_every=5, eval_every=50)
    st.session_state.frames = 0
    st.session_state.clicks = []


def _clicked() -> None:
    st.session_state.clicks.append(st.session_state.arena.click)


@st.fragment(run_every=0.25)
def arena() -> None:
    t, limit = st.session_state.trainer, st.query_params.get("payloads")
    if limit is None or st.session_state.frames < int(limit):
        t.train(STEPS_PER_FRAME)
        st.session_state.frames += 1
    height, leave = st.query_params.get("height"), st.query_params.get("leave")
    draw(arena_payload(t.snapshot(), show_manifold=True), key="arena",
         height=int(height) if height else None, leave_px=int(leave) if leave else None,
         on_click=_clicked)
    clicks = st.session_state.clicks
    st.caption(f"clicks: {len(clicks)}" + (f", last {clicks[-1]}" if clicks else ""))


left, right = st.columns([3, 1])
with left:
    arena()
right.write("The arena film: points glide between snapshots.")

"""gansim's classroom app: `streamlit run app.py`. Layout only; the pieces live in gansim/ui."""
from __future__ import annotations

import streamlit as st
import torch

from gansim.ui import (arena_modes, compare_view, controls, layout, lesson_panel, live, sidebar,
                       slowmo_view, state, sweep_panel)

# One thread per process: many sessions share the cores, and small MLPs gain nothing
# from intra-op threads (they only add contention).
torch.set_num_threads(1)


GUIDE = """
**How to read the arena**

- The **background** is the discriminator D: where it thinks points are real (green) or
  fake (purple).
- **Black dots** are real samples; **coloured dots** are the generator G's samples,
  coloured by the real mode they landed nearest. One colour only = mode collapse.
- **Lines** on G's samples show where D's signal pushes them next.
- Below, the **score plot** shows who is winning: both near 0.5 is a balanced game.

Press **Play**, or step D and G one at a time. Pick a **lesson** in the sidebar for a
guided tour.
"""


def top_bar() -> None:
    """Play/Pause, Reset, the three step modes and the speed."""
    cols = st.columns([1, 1, 1, 1, 1, 2.5])
    if st.session_state.playing:
        cols[0].button("Pause", icon=":material/pause:", on_click=state.pause, key="pause",
                       type="primary",
                       help="Stop training; the page keeps the current state.")
    else:
        cols[0].button("Play", icon=":material/play_arrow:", on_click=state.play, key="play",
                       type="primary",
                       help="Train continuously and redraw several times a second.")
    cols[1].button("Reset", icon=":material/restart_alt:", on_click=state.reset, key="reset",
                   help="Start again from fresh networks with the current settings.")
    cols[2].button("Step D", on_click=lambda: state.run().step_d(), key="step_d",
                   help="One discriminator update alone: watch the landscape move.")
    cols[3].button("Step G", on_click=lambda: state.run().step_g(), key="step_g",
                   help="One generator update alone: watch the samples follow the arrows.")
    cols[4].button("Step both", on_click=lambda: state.run().step_both(), key="step_both",
                   help="D's updates then one G update: one full training step.")
    cols[5].selectbox("Speed", list(state.SPEEDS), key="speed", label_visibility="collapsed",
                      help="How much training happens between two frames.")


SINGLE = "Single run"
VIEWS = (SINGLE, compare_view.VIEW, sweep_panel.VIEW)


SIDEBAR_NOTES = {
    compare_view.VIEW: "Compare mode: each pane has its own **Settings** beside its arena. "
                       "The sidebar holds the single run's settings; a new comparison "
                       "starts from them.",
    sweep_panel.VIEW: "A sweep starts from the settings below; its grid varies some of them.",
}


def view_switch() -> tuple[str, str | None]:
    """Single run, Compare (panes in lockstep) or Sweep; for a single run, also the arena's
    view and "Compare from here". One row, so the arena keeps the projector's height."""
    if "view" not in st.session_state:
        st.session_state.view = SINGLE
    cols = st.columns([1.3, 1.7, 1])
    view = cols[0].radio("View", VIEWS, key="view", horizontal=True, on_change=_pause_all,
                         label_visibility="collapsed",
                         help="Compare: runs side by side in lockstep. Sweep: a small grid "
                              "× seeds with error bars.")
    if view != SINGLE:
        return view, None
    with cols[1]:
        mode = arena_modes.switch()
    cols[2].button("Compare from here", icon=":material/splitscreen:",
                   key="compare_from_here", on_click=compare_view.start,
                   help="Pane A = this run, pane B = a copy to change; both continue "
                        "from the current step and weights and see the same batches.")
    return view, mode


def _pause_all() -> None:
    st.session_state.update(playing=False, train_left=0, cmp_playing=False)


def settings_sidebar() -> None:
    """Lesson picker, the settings groups, display toggles, data upload, exports, rewind."""
    lesson_panel.picker(state.run())
    allowed = lesson_panel.allowed_controls()
    controls.seed_widgets(state.run().cfg, force=False)  # refill fields hidden earlier
    with st.sidebar:
        st.caption("↺ marks settings whose change starts a new run; the others apply live.")
        for name in controls.GROUPS:
            fields = {w.field for w in controls.GROUPS[name]}
            if allowed is not None and not fields & allowed:
                continue
            with st.expander(name, expanded=name in ("Data", "Loss", "Balance")):
                if name == "Data" and allowed is None:
                    sidebar.upload()
                controls.draw_group(name, allowed)
        with st.expander("Display", expanded=True):
            live.toggles()
        with st.expander("Rewind"):
            sidebar.rewind()
        with st.expander("Export"):
            sidebar.exports()


def main() -> None:
    st.set_page_config(page_title="gansim: a GAN you can watch", layout="wide")
    layout.apply()
    state.init()
    lesson_panel.compile_ahead()  # once per process; nothing when steps are cached or eager
    state.reseed_if_asked()
    lesson_panel.apply_speed()  # before the toolbar's speed control
    st.sidebar.title("gansim")  # in the sidebar: the main column's height is for the arena
    note = SIDEBAR_NOTES.get(st.session_state.get("view", SINGLE))
    if note:
        st.sidebar.info(note)
    settings_sidebar()
    state.apply_widgets()
    state.sync_url()
    state.show_messages()
    view, mode = view_switch()
    if view == compare_view.VIEW:
        compare_view.page()
        return
    if view == sweep_panel.VIEW:
        sweep_panel.page(state.run().cfg)
        return
    top_bar()
    lesson = lesson_panel.current()
    slow = slowmo_view.active()
    arena_col, side_col = st.columns([3, 2], gap="large")
    playing = st.session_state.playing
    with arena_col:
        if slow:
            slowmo_view.panel()
        elif arena_modes.is_live(mode):
            st.fragment(live.frame, run_every=state.TICK_S if playing else None)()
        else:
            arena_modes.body(mode)
    with side_col:
        slowmo_view.control()
        if slow:
            slowmo_view.diagram_panel()
        if lesson is not None:
            lesson_panel.panel(state.run(), lesson)
        else:
            st.markdown(arena_modes.guide(mode) or GUIDE)


main()

"""gansim's classroom page, the script each tab runs (app.py serves it: `streamlit run
app.py`). Layout only; the pieces live in gansim/ui."""
from __future__ import annotations

import streamlit as st
import torch

from gansim.ui import (arena_modes, compare_view, controls, fair, layout, lesson_panel, live,
                       sidebar, slowmo_view, state, sweep_panel, toolbar, transport)
from gansim.ui.keys import PAGE_TICK, PLAYING, VIEW, button

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


SINGLE = VIEW.default
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
    cols = st.columns([1.25, 2.05, 0.8])  # five arena views fit beside the radio at 1366 px
    view = cols[0].radio("View", VIEWS, key=VIEW.name, horizontal=True,
                         on_change=transport.pause, label_visibility="collapsed",
                         help="Compare: runs side by side in lockstep. Sweep: a small grid "
                              "× seeds with error bars.")
    if view != SINGLE:
        return view, None
    with cols[1]:
        mode = arena_modes.switch()
    cols[2].button("Compare from here", icon=":material/splitscreen:",
                   key=button("compare_from_here"), on_click=compare_view.start,
                   help="Pane A = this run, pane B = a copy to change; both continue "
                        "from the current step and weights and see the same batches.")
    return view, mode


def settings_sidebar(problem: str | None) -> None:
    """Lesson picker, the settings groups, display toggles, data upload, exports, rewind;
    under them, what is wrong with the settings as typed (`problem`), if anything."""
    st.sidebar.title("gansim")  # in the sidebar: the main column's height is for the arena
    note = SIDEBAR_NOTES.get(VIEW.get())
    if note:
        st.sidebar.info(note)
    lesson_panel.picker(transport.run())
    allowed = lesson_panel.allowed_controls()
    controls.seed_widgets(transport.run().cfg, force=False)  # refill fields hidden earlier
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
        if problem:
            st.error(f"{problem}. The run keeps its last good settings until you fix it.")


def single_page(mode: str) -> None:
    """The single run: toolbar, then the arena (live, slow motion or a paused mode)
    beside the lesson, the slow-motion diagram or the reading guide."""
    slow = slowmo_view.active()
    toolbar.draw(show_step=arena_modes.is_live(mode) and not slow)
    arena_col, side_col = st.columns([3, 2], gap="large")
    with arena_col:
        arena(mode, slow)
    with side_col:
        side_column(mode, slow)


def arena(mode: str, slow: bool) -> None:
    if slow:
        slowmo_view.panel()
    elif arena_modes.is_live(mode):
        # The timer that asks for frames is set here, so a change of `playing` made
        # inside the fragment, or a class that grew, needs a full rerun (transport.follow
        # and transport.retick say when).
        tick = transport.page_tick() if PLAYING.get() else None
        PAGE_TICK.set(tick)
        st.fragment(live.frame, run_every=tick)()
    else:
        arena_modes.body(mode)


def side_column(mode: str, slow: bool) -> None:
    lesson = lesson_panel.current()
    slowmo_view.control()
    if slow:
        slowmo_view.diagram_panel()
    if lesson is not None:
        lesson_panel.panel(transport.run(), lesson)
    else:
        st.markdown(arena_modes.guide(mode) or GUIDE)


PAGES = {  # view → what draws it (the arena mode matters only to the single run)
    SINGLE: single_page,
    compare_view.VIEW: lambda mode: compare_view.page(),
    sweep_panel.VIEW: lambda mode: sweep_panel.page(transport.run().cfg),
}


# --- the page's outline: each phase needs the one before it ---------------------------

def open_page() -> None:
    """The page and its state: every key's default, and on a first visit the Run from the
    link (or this tab's kept run). Requests made where the page could not act on them
    (a re-seed of the widgets, a lesson's speed) are honoured here, before any widget
    they touch is drawn: Streamlit forbids setting a widget's value after it. So is a
    widget's value the browser never received (state.resend_unseen)."""
    st.set_page_config(page_title="gansim: a GAN you can watch", layout="wide")
    layout.apply()
    state.init()
    lesson_panel.compile_ahead()  # once per process; nothing when steps are cached or eager
    state.reseed_if_asked()
    lesson_panel.apply_speed()
    state.resend_unseen()


def publish() -> None:
    """The link and the messages describe the settings the run has now."""
    state.sync_url()
    state.show_messages()


def main() -> None:
    open_page()
    with fair.CLICKS.running(transport.run().lock):  # other pages' frames wait for it
        problem = state.apply_widgets()
        publish()
        view, mode = view_switch()
        try:
            PAGES[view](mode)
        finally:
            # The sidebar goes last: its ~40 widgets take Streamlit 0.07-0.1 s of a full
            # rerun, and the main area (the counters a Pause stills) reaches the browser
            # before them. The run has already taken their values: a widget's value is in
            # the session state before the script runs (state.apply_widgets).
            settings_sidebar(problem)


main()

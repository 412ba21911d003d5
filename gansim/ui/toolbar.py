"""The single run's toolbar: Play/Pause, Reset, the three step modes, the speed, and the
step counter, in a fragment of their own.

A click on the bar reruns the bar first: the callback acts (a Pause stops the worker),
the bar draws what it did, with the step counter, and only then does the whole page
follow. Before, every click reran the whole page, and a Pause stilled the counter only
once the browser had drawn all of it (sidebar, lesson, story): medians 0.11-0.18 s
page-side, one press in six over issue 22's 0.2 s. Drawn from the bar, medians
0.065-0.088 s, one press in forty over (docs/benchmarks.md, "A toolbar of its own").

The bar's run ends in the page's rerun, and Streamlit keeps what that run replaced on
screen until the page's run is done: an element of the bar must keep its identity (its
key) across states, or the old one shows beside the new one for a moment.
"""
from __future__ import annotations

import time

import streamlit as st

from . import fair, transport
from .keys import BAR_CLICKED, PLAYING, SPEED, button

# After a click the bar's fragment waits this long before the page reruns, so the browser
# paints the bar before the page's messages arrive. Without the wait a Pause's counter
# stilled in 0.07–0.25 s (median 0.12 s, 2-core AMD EPYC VM): the page's rerun reached the
# browser while it was drawing the bar and held the counter back.
PAINT_FIRST_S = 0.06


# Playing → what the first button says and does. One button with one key (keys.py): the
# bar's run changes it in place. Two buttons swapped elements, and after a Pause both
# showed until the page's rerun was done (~0.2-0.4 s), the bar one row taller: a click
# on Reset meant in that moment landed beside it and was lost.
PLAY_PAUSE = {
    False: ("Play", ":material/play_arrow:", transport.play,
            "Train continuously and redraw several times a second."),
    True: ("Pause", ":material/pause:", transport.pause,
           "Stop training; the page keeps the current state."),
}


def draw(show_step: bool) -> None:
    """The bar; the step counter too where the arena shows the run as it is now
    (`show_step`: not a past frame, a drawing or slow motion's narrated iteration).
    While playing, the counter reruns on a timer of its own, at the live view's rate
    (transport.page_tick)."""
    tick = transport.page_tick() if PLAYING.get() else None
    st.fragment(_bar)(show_step, tick)


def _click(action=None, *args) -> None:
    """A control of the bar changed: act, and have the page follow the bar (_follow)."""
    BAR_CLICKED.set(True)
    if action is not None:
        action(*args)


def _bar(show_step: bool, tick: float | None) -> None:
    cols = st.columns([1, 1, 1, 1, 1, 1.55, 1.2], vertical_alignment="center")
    label, icon, action, words = PLAY_PAUSE[bool(PLAYING.get())]
    cols[0].button(label, icon=icon, on_click=_click, args=(action,),
                   key=button("play_pause"), type="primary", help=words)
    cols[1].button("Reset", icon=":material/restart_alt:", on_click=_click,
                   args=(transport.reset,), key=button("reset"),
                   help="Start again from fresh networks with the current settings.")
    cols[2].button("Step D", on_click=_click, args=(transport.step, "d"),
                   key=button("step_d"),
                   help="One discriminator update alone: watch the landscape move.")
    cols[3].button("Step G", on_click=_click, args=(transport.step, "g"),
                   key=button("step_g"),
                   help="One generator update alone: watch the samples follow the arrows.")
    cols[4].button("Step both", on_click=_click, args=(transport.step, "both"),
                   key=button("step_both"),
                   help="D's updates then one G update: one full training step.")
    cols[5].selectbox("Speed", list(transport.SPEEDS), key=SPEED.name, on_change=_click,
                      label_visibility="collapsed",
                      help="How much training happens between two frames.")
    if show_step:
        with cols[6].container(key="step_now"):  # layout.py sets it on one line
            st.fragment(_step, run_every=tick)()
    _follow()


def _step() -> None:
    """The step counter: a fragment inside the bar's, so while playing its timer redraws
    the counter alone, not the bar's six controls (a class's ten pages rerun these)."""
    st.metric("Step", f"{transport.run().step:,}", help="Generator updates so far.")


def _follow() -> None:
    """After a click that reran only the bar, the page follows: the rest of it (the live
    fragment's timer, the arena, the lesson) may depend on what the click changed. A
    click in a full run (a test's AppTest) has nothing to follow."""
    if not BAR_CLICKED.pop() or not transport.fragment_run():
        return
    fair.note("bar")  # the click's counter is on its way; the page ("drawn") follows
    time.sleep(PAINT_FIRST_S)
    st.rerun(scope="app")

"""Scrub back in time: a slider over the run's saved frames replays the arena then.

The frames are the Trainer's checkpoints (every CHECKPOINT_EVERY G steps, older ones
thinned). A replay is drawn from a scratch copy (gansim.timeline), so looking back
never trains or changes the live run; "Branch from here" is the one button that does,
through the same rewind as the sidebar's.
"""
from __future__ import annotations

import streamlit as st

from .. import timeline
from ..trainer import CHECKPOINT_EVERY
from . import charts, sidebar
from .keys import SCRUB_STEP, SHOW_ARROWS, SHOW_CIRCLES, SHOW_MANIFOLD, button


def body(run, leave) -> None:
    """The timeline slider, the arena and story at the chosen frame, and the branch button.

    `leave` (a callback) takes the arena back to the live view after branching.
    """
    with run.lock:
        steps = timeline.frame_steps(run.trainer)
        now = run.trainer.g_step
    if len(steps) < 2:
        st.info(f"Nothing to scrub yet: a frame is saved every {CHECKPOINT_EVERY} G steps "
                f"and this run is at step {now:,}. Train a while, then come back.")
    if SCRUB_STEP.get() not in steps:
        SCRUB_STEP.set(steps[-1])  # open on the newest frame
    step = st.select_slider("Saved frame (G step)", steps, key=SCRUB_STEP.name,
                            format_func=lambda s: f"{s:,}",
                            help=f"Frames are saved every {CHECKPOINT_EVERY} G steps; "
                                 "older ones are thinned out. Looking back does not train.")
    with run.lock:
        snap = timeline.snapshot_at(run.trainer, step)
    st.caption(f"Replaying step **{snap.step:,}** of {now:,}. Training is paused; the run "
               f"itself stays at step {now:,} until you branch or play.")
    with st.container(key="arena_box"):  # the live arena's height budget (layout.py)
        st.vega_lite_chart(charts.arena(snap, arrows=SHOW_ARROWS.get(),
                                        manifold=SHOW_MANIFOLD.get(), circles=SHOW_CIRCLES.get()),
                           theme=None, width="content", key="arena_past")
    st.button("Branch from here", icon=":material/call_split:", key=button("scrub_branch"),
              on_click=_branch, args=(snap.step, leave), disabled=snap.step == now,
              help="Go back to this frame for real (later steps are dropped); change a "
                   "setting, then play to try another path.")
    st.vega_lite_chart(charts.story(snap), theme=None, width="content", key="story_past")


def _branch(step: int, leave) -> None:
    sidebar.rewind_to(step)  # stays paused: the class changes a setting, then plays
    leave()

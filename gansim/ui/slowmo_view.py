"""Slow motion on the page: the switch, Back / Next, the narrated arena, the diagram.

Slow motion replaces the live arena while it is on, and the model diagram sits at the
top of the side column: at 1366×768 the arena stays where it always is, and the
diagram (the map of the sub-steps) is in view beside it. Outside slow motion the side
column keeps the guide or the lesson, which a projector has no room to share.
"""
from __future__ import annotations

import streamlit as st

from . import diagram, slowmo, slowmo_arena, transport
from .keys import PLAYING, SLOWMO, SLOWMO_ITERATION, button

ARENA_PX = 360  # smaller than the live arena: with its axes it must end above a 768-px fold
PHASE_NAME = {"d": "D", "g": "G"}


def active() -> bool:
    """Whether slow motion is on; Play turns it off (the two cannot share the arena)."""
    if PLAYING.get() and SLOWMO.get():
        SLOWMO.set(False)
    return bool(SLOWMO.get())


def control() -> None:
    """The "Slow motion" switch: pauses play and starts a fresh iteration."""
    st.toggle("Slow motion", key=SLOWMO.name, on_change=_switched,
              help="Play one real training iteration as numbered sub-steps, with "
                   "Back and Next: the batch, D's scores, the losses, the updates.")


def _switched() -> None:
    transport.pause()
    SLOWMO_ITERATION.set(None)


def _iteration() -> slowmo.Iteration:
    run = transport.run()
    it = SLOWMO_ITERATION.get()
    if it is None or it.stale(run):
        it = slowmo.Iteration(run)
        SLOWMO_ITERATION.set(it)
    return it


def _back() -> None:
    it = SLOWMO_ITERATION.get()
    if it is not None and it.index > 0:
        it.index -= 1


def _next() -> None:
    it = SLOWMO_ITERATION.get()
    if it is None:
        return
    if it.last:
        SLOWMO_ITERATION.set(None)  # the next iteration starts at its sub-step 1
    else:
        it.index += 1


def panel() -> None:
    """Back / Next, the sub-step's number, title and sentence, and its arena."""
    run = transport.run()
    it = _iteration()
    it.advance(run)
    step = it.current
    cols = st.columns([1.2, 1.2, 4], vertical_alignment="center")
    cols[0].button("Back", key=button("slowmo_back"), on_click=_back, disabled=it.index == 0,
                   help="Show the previous sub-step again.", width="stretch")
    cols[1].button("Next", key=button("slowmo_next"), on_click=_next, type="primary",
                   help="The next sub-step (after the last: a new iteration).", width="stretch")
    trace = it.trace()
    cols[2].markdown(f"**{it.index + 1} / {len(it.steps)} · {PHASE_NAME[step.phase]} · "
                     f"{step.title}**")
    if run.error or trace is None or trace.grid_after is None:
        st.error(run.error or "This update did not finish; reset the run.")
        return
    st.vega_lite_chart(slowmo_arena.arena(it, run.trainer.dataset.extent, ARENA_PX), theme=None,
                       width="content", key="slowmo_arena")
    st.caption(f"G step {trace.g_step}. {slowmo_arena.legend(it)}")


def diagram_panel() -> None:
    """The sub-step's sentence, then the model diagram: the parts in use in orange."""
    run = transport.run()
    it = _iteration()
    if it.trace() is not None and it.trace().grid_after is not None:
        st.info(it.sentence())
    numbers = {"lr_d": run.cfg.lr_d, "lr_g": run.cfg.lr_g,
               "d_loss": run.trainer.history.last("d_loss"),
               "g_loss": run.trainer.history.last("g_loss"),
               "d_grad": run.trainer.history.last("d_grad"),
               "g_grad": run.trainer.history.last("g_grad")}
    numbers.update(it.numbers())
    st.graphviz_chart(diagram.dot(numbers, it.current.highlight), width="content")
    st.caption("Orange: the part at work in this sub-step. Dashed: a loss's gradient "
               "flowing back into the network it trains. Numbers: this iteration's.")

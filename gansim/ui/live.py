"""The live view: one frame = the run's newest snapshot, drawn (the worker trains).

`frame()` is the body of the page's `@st.fragment(run_every=...)`: while playing, the
browser's timer reruns only this part of the page (once a second: transport.page_tick),
so the sidebar is not redrawn. The arena is a client-side film (arena_canvas.py) that
eases between snapshots; while playing it fetches them from its own route (film.py)
every transport.live_tick(), between the reruns.
"""
from __future__ import annotations

import math
import time

import streamlit as st
from streamlit import config

from ..diagnosis import EVALS, settled
from ..tracker import Tracker
from . import arena_canvas, charts, fair, film, generator_view, layout, transport
from .keys import (ARENA_FILM, ARENA_MODE, DIAGNOSIS, FILM, PLAYING, SHOW_ARROWS,
                   SHOW_CIRCLES, SHOW_MANIFOLD, STORY_CACHE, button)

# The story charts' data change at most this often while playing: every other rerun at
# "Normal" (transport.PAGE_TICK_S). Each update costs the browser the same whatever
# changed (Vega re-runs seven panels' dataflow, axes and legends): ~0.1 core once a
# second on a 2-core AMD EPYC, against ~0.5 core for the whole page (docs/benchmarks.md).
STORY_EVERY_S = 1.5
BANNER = {"healthy": st.success, "warming_up": st.info, "diverged": st.error}


def frame() -> None:
    """One frame: the newest state of the run, drawn. Training happens in the run's worker
    (worker.py), never here; while playing, each frame tells the worker the page still
    watches and ends the play when the worker has finished a lesson run or diverged."""
    run = transport.run()
    transport.yield_to_clicks()
    if PLAYING.get() and (transport.follow(run) or transport.retick()):
        st.rerun(scope="app")  # training stopped, or the class resized: the timer is the page's
    _frame(run)
    if not transport.fragment_run():  # a full rerun (a click), not the timer's
        fair.note("drawn")


def _frame(run) -> None:
    """Counters, diagnosis, arena and story of the run's newest snapshot."""
    # While playing, the film's route may have just taken one: the same state, shared.
    snap = run.snapshot(max_age_s=transport.live_tick() if PLAYING.get() else 0.0)
    _counters(run, snap)
    # A fixed container keeps the charts at the same place in the page tree whether or
    # not an error or a cure button shows, so the browser updates them instead of
    # mounting new ones.
    with st.container():
        if run.error:
            st.error(run.error)
        _banner(snap)
    with st.container(key="arena_box"):
        if ARENA_MODE.get() == generator_view.MODE:
            generator_view.draw(run, snap)
        else:
            # The film (arena_canvas.js) eases between these payloads in the browser,
            # and while playing between those it fetches from its route.
            source = _film_source(run)
            arena_canvas.draw(film.payload(run, snap, source.options), key=ARENA_FILM.name,
                              leave_px=layout.ABOVE_ARENA_PX, film=_film(source))
            st.caption(_legend(snap) + generator_view.manifold_note(
                snap, SHOW_MANIFOLD.get()))
    st.vega_lite_chart(_story(snap), theme=None, width="content", key="story")


def _film_source(run) -> film.Source:
    """This tab's film source (film.py), with the display toggles as they are now."""
    options = {"show_arrows": SHOW_ARROWS.get(), "show_manifold": SHOW_MANIFOLD.get(),
               "show_rings": SHOW_CIRCLES.get()}
    source = FILM.get()
    if source is None or source.run is not run:
        source = film.register(run, options)
        FILM.set(source)
    source.show(options)
    return source


def _film(source: film.Source) -> dict | None:
    """While playing: where and how often the film fetches its payloads."""
    if not PLAYING.get():
        return None
    return {"url": film.url(config.get_option("server.baseUrlPath"), source.token),
            "every_ms": round(1000 * transport.live_tick())}


def _story(snap) -> dict:
    """The time charts, rebuilt at most every STORY_EVERY_S while playing.

    Re-sending the same bytes costs the browser nothing (it skips unchanged data), and
    the history moves slowly next to the arena, so this buys frames for the arena.
    """
    now = time.monotonic()
    cached = STORY_CACHE.get()
    fresh = cached and cached[0] == snap.step or (
        cached and PLAYING.get() and now - cached[1] < STORY_EVERY_S)
    if not fresh:
        cached = (snap.step, now, charts.story(snap))
        STORY_CACHE.set(cached)
    return cached[2]


def _counters(run, snap) -> None:
    # The step counter is the toolbar's (toolbar.py): a Pause stills it from there.
    cols = st.columns(4)
    rate_help = "Generator updates per second over the last few seconds."
    rate = run.steps_per_second() if PLAYING.get() else 0.0  # paused: nothing trains now
    if run.trainer.compiling:  # training waits for it: a run never switches step midway
        cols[0].metric("Steps/s ⋯ preparing", f"{rate:.0f}",
                       help=f"{rate_help} The compiled training step for these settings is "
                            "being prepared (the first time up to ~40 s, then seconds: it is "
                            "cached); training starts as soon as it is ready.")
    else:
        cols[0].metric("Steps/s", f"{rate:.0f}", help=rate_help)
    # The settled figures (median of the last EVALS evaluations): the banner's verdict
    # is judged on them and quotes them, and lesson claims state them.
    modes, hq = (settled(snap.history, key) for key in ("modes", "hq"))
    n_modes = 0 if snap.centers is None else len(snap.centers)
    cols[1].metric("Modes covered", "–" if math.isnan(modes) else f"{modes:.0f}/{n_modes}",
                   help=f"Real modes holding at least 1 % of the fakes within 3 standard "
                        f"deviations (PacGAN's count), median of the last {EVALS} "
                        f"evaluations: the figure the banner and the lessons quote.")
    cols[2].metric("High quality", "–" if math.isnan(hq) else f"{100 * hq:.0f}%",
                   help=f"Share of fakes within 3 standard deviations of a real mode, "
                        f"median of the last {EVALS} evaluations.")


def _banner(snap) -> None:
    # The verdict held steady across frames while training (a new one must persist over
    # evaluations); a stopped run shows its own verdict at once.
    diag = DIAGNOSIS.setdefault(Tracker()).follow(snap, settled=not PLAYING.get())
    show = BANNER.get(diag.kind, st.warning)
    text = f"**{diag.title}** — {diag.explanation}"
    if diag.cure:
        text += f"  \n*Try:* {diag.cure_text}"
    if not diag.cure:
        show(text)
        return
    # The button beside the verdict, not under it: the arena keeps that height.
    words, cure_col = st.columns([3.2, 1], vertical_alignment="center")
    with words:
        show(text)
    cure_col.button("Apply cure", key=button("apply_cure"), on_click=_cure, args=(diag.cure,),
                    help="Apply the suggested change to the running GAN.")


def _cure(changes: dict) -> None:
    transport.apply_cure(changes)
    # From the callback, not after the button: once cured, the next frame's diagnosis
    # may offer no button at all, and the sidebar and the link must still catch up.
    st.rerun(scope="app")


def _legend(snap) -> str:
    scale = ("purple = D says fake, green = D says real, white = undecided"
             if not snap.critic else
             "critic score, symmetric around 0: purple = low (fake), green = high (real)")
    rings = (" Dashed grey rings: where each real mode's samples fall (3σ; drawn "
             "larger when the modes are too tight to see)."
             if SHOW_CIRCLES.get() and snap.centers is not None else "")
    return (f"Background: {scale}. Black dots: real samples. Coloured dots: G's samples, "
            f"each in the colour of its nearest real mode (faint: farther than 3σ from "
            f"it). Black lines on the fakes: where G's loss pushes them.{rings}")


def toggles() -> None:
    """Display options: they change only what is drawn, never the training."""
    st.toggle("Gradient arrows", key=SHOW_ARROWS.name,
              help="Show where the generator is being pushed at each fake point.")
    st.toggle("Generator manifold", key=SHOW_MANIFOLD.name,
              help="Show how G bends a flat grid of noise into the plane (needs a "
                   "noise of at most 2 dimensions; see the Generator view).")
    st.toggle("Real 3σ circles", key=SHOW_CIRCLES.name,
              help="Outline where each real mode's samples fall (3 standard deviations).")


"""The page's transitions: play, pause, stop, step, reset, a lesson run, a config change.

The only module that writes `playing`, `train_left` and `cmp_playing` (the keys in
gansim/ui/keys.py; tests/test_ui_state.py fails on a write anywhere else), so "what
stops training" has one answer. Buttons call these as callbacks; a config change
re-seeds the widgets, so it must run in a callback or before the sidebar is drawn.
"""
from __future__ import annotations

import functools

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from ..config import Config
from . import controls, fair, worker
from .keys import (CMP_PLAYING, NOTICE, PAGE_TICK, PLAYING, RESEED, RUN, SPEED, TRAIN_LEFT,
                   TRAIN_PHASE)
from .session import Run
from .worker import Speed

# At full speed a snapshot every 0.4 s, not 0.2 s: each is a rerun of the live fragment,
# and on a 2-core machine the reruns, not the film's painting, took the browser's core
# and the server's training time (measured: docs/benchmarks.md, "Fewer reruns"). The
# film eases between snapshots at the display's rate either way. The slow speeds keep
# 0.2 s: there a snapshot is the point (one or five steps each).
SPEEDS = {
    "One step a frame": Speed(1, 1.0, 0.2),  # not "slow motion": that is the narrated iteration
    "Slow: 5 steps a frame": Speed(5, 1.0, 0.2),
    "Normal": worker.NORMAL,  # a turn of 0.065 s keeps a class's round near fair.ROUND_S
    "Fast (fewer frames)": Speed(None, 0.25, 0.4),  # longer turns: on a busy server, fewer switches
}
assert SPEED.default in SPEEDS, "the speed control's default must be one of SPEEDS"
TICK_S = 0.1  # the compare panes' frames (they still train in their frames)
# On a class server each playing session's frames (snapshot, payload, story) share the
# process with the workers: at 10 sessions × 5 frames/s drawing took most of the server's
# core (bench_class), so frames thin out with the class; the film eases between them.
CLASS_TICK_S = 0.05  # seconds between a session's snapshots, per playing session
PAGE_TICK_S = 1.0  # the live fragment's reruns while playing: words and story, not the film
# A rerun costs the server ~25 ms (counters, story tables, the film's payload): a class's
# reruns together stay near 4 a second, so ten sessions rerun every 2.5 s (bench_class).
CLASS_PAGE_TICK_S = 0.25  # seconds between a session's reruns, per playing session
RETICK = 1.2  # the fragment's timer is set anew when the class moves the tick this much
STEPS = {"d": Run.step_d, "g": Run.step_g, "both": Run.step_both}  # the Step buttons


def run() -> Run:
    return RUN.get()


def fragment_run() -> bool:
    """Whether this script run reruns only a fragment (its timer, or a click inside it:
    the toolbar's), not the whole page."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return bool(ctx and ctx.fragment_ids_this_run)


def session_id() -> str:
    """This page's session ("" outside a script run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx else ""


def session_alive(sid: str) -> bool:
    """Whether a session's page is still open (a reload closes the old one first)."""
    return Runtime.exists() and Runtime.instance().is_active_session(sid)


def tab_connected():
    """For this page's worker: a check of whether the tab is still connected, or None
    outside a server (AppTest)."""
    sid = session_id()
    if not sid or not Runtime.exists():
        return None
    return functools.partial(session_alive, sid)


def yield_to_clicks() -> None:
    """A fragment's run waits while another session's click is being drawn (fair.Clicks)."""
    if fragment_run():
        fair.CLICKS.wait_for_others(run().lock)


def speed() -> Speed:
    """The speed control's choice."""
    return SPEEDS.get(SPEED.get(), SPEEDS[SPEED.default])


def ticks(at: Speed, playing: int) -> tuple[float, float]:
    """(live tick, page tick) in seconds of a page playing at speed `at` while `playing`
    sessions of this server play (live_tick, page_tick; bench/bench_lessons.py)."""
    live = max(at.frame_s, CLASS_TICK_S * playing)
    if at.steps is not None:
        return live, live
    return live, max(PAGE_TICK_S, live, CLASS_PAGE_TICK_S * playing)


def live_tick() -> float:
    """Seconds between two snapshots of the live page while it plays: the film's payloads
    (gansim/ui/film.py)."""
    return ticks(speed(), fair.TURNSTILE.playing())[0]


def page_tick() -> float:
    """Seconds between two reruns of the live fragment while it plays: the counters, the
    banner and the story. The film's payloads come on their own route, every live_tick():
    each rerun costs the browser far more than a payload (docs/benchmarks.md). At the
    slow speeds each snapshot is one or five steps, and the step counter says which."""
    return ticks(speed(), fair.TURNSTILE.playing())[1]


def retick() -> bool:
    """True when the class has grown or shrunk enough since the live fragment's timer was
    set (PAGE_TICK) that it should be set again: the timer lives in the page, so the
    caller reruns the whole page."""
    set_at = PAGE_TICK.get()
    if not set_at:
        return False
    now = page_tick()
    return max(now, set_at) / min(now, set_at) >= RETICK


def play() -> None:
    PLAYING.set(True)
    _start(None, "both")


def _start(left: int | None, phase: str) -> None:
    the_run = run()
    the_run.worker.set_speed(speed())
    the_run.worker.play(left, phase)


def pause() -> None:
    """The one Pause, for every caller (the Pause buttons of the run and of the compare
    panes, a view or arena switch, slow motion, a rewind, a new comparison): nothing
    trains, and a lesson run's remaining steps are dropped."""
    fair.note("pause")
    stop()
    fair.note("stilled")  # the worker has stopped: the server's part of a Pause


def stop() -> None:
    """Training stops by itself (a lesson run done, a divergence): a pause nobody clicked."""
    PLAYING.set(False)
    TRAIN_LEFT.set(0)
    CMP_PLAYING.set(False)
    run().worker.pause()


def step(phase: str) -> None:
    """One D update, one G update, or one full step ("d", "g", "both")."""
    STEPS[phase](run())


def reset() -> None:
    fair.note("reset")
    run().reset()
    run().worker.drop_left()  # a lesson run's steps belong to the old networks
    TRAIN_LEFT.set(0)


def play_comparison() -> None:
    CMP_PLAYING.set(True)


# --- lesson runs: N steps, then stop ------------------------------------------------

def run_steps(n: int, phase: str = "both") -> None:
    """A lesson step's run: train n updates of `phase` ("both", "d", "g"), then stop."""
    TRAIN_LEFT.set(n)
    TRAIN_PHASE.set(phase)
    PLAYING.set(n > 0)
    if n > 0:
        _start(n, phase)


def drop_steps_left() -> None:
    """A lesson moved on: its run's remaining steps are dropped (play, if on, goes on)."""
    TRAIN_LEFT.set(0)
    run().worker.drop_left()


def follow(the_run: Run) -> bool:
    """Each frame while playing: say the page is watching, pass on the speed, mirror a
    lesson run's steps left; True when training stopped by itself (a lesson run's last
    step, or a divergence): the caller reruns the page, since the frame timer lives there."""
    w = the_run.worker
    w.beat()
    w.connected = tab_connected()
    w.set_speed(speed())
    if TRAIN_LEFT.get():
        TRAIN_LEFT.set(w.left or 0)
    if the_run.error or w.finished:
        stop()
        return True
    w.start()  # again after a heartbeat stop: the page is back
    return False


# --- settings from anywhere (a cure, an upload, a drawing, a lesson link) ---------------

def change_config(cfg: Config, dataset=None) -> None:
    """Move the run to cfg (live or by reset), say which, and re-seed the widgets.

    The widgets are seeded now and again at the start of the next full run
    (`state.reseed_if_asked`): a change made inside the live fragment (a cure while
    playing) does not redraw the sidebar, and the browser's next request still carries
    the old widget values, which `state.apply_widgets` would otherwise take as the
    student undoing it.
    """
    r = run()
    try:
        if dataset is not None:
            r.reset(cfg, dataset=dataset)
            blocked = ["data"]
        else:
            blocked = r.apply(cfg)
    except ValueError as err:
        NOTICE.set(("error", f"{err}. The run keeps its previous settings."))
    else:
        if blocked:
            NOTICE.set(("info", f"Changing {', '.join(blocked)} started a new "
                                f"run (these settings need fresh networks)."))
    controls.seed_widgets(r.cfg)
    RESEED.set(True)


def apply_cure(changes: dict) -> None:
    """A diagnosis's cure: the run, the sidebar widgets and the link all take it."""
    try:
        cfg = run().cfg.replace(**changes)
    except ValueError as err:
        NOTICE.set(("error", f"The suggested cure does not fit: {err}"))
        return
    change_config(cfg)
    if not NOTICE.get():
        NOTICE.set(("info", "Cure applied live: "
                    + ", ".join(f"{k} = {v}" for k, v in changes.items())))

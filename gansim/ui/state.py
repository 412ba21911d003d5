"""Per-session state: the Run, play/pause, the link, and config changes from anywhere.

Everything here lives in st.session_state (one student each); nothing per-student goes
in st.cache_resource. Changes that do not come from a widget (a cure, a lesson step,
a rewind, an upload) go through `change_config`, which also re-seeds the widgets, so
it must run in a callback or before the sidebar is drawn.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ..config import DEFAULT, Config
from ..trainer import resolve_device
from . import controls, fair, lesson_panel, runstore, urlstate
from .session import Run

SPEEDS = {  # label → (max G steps per frame, seconds of training per frame)
    "One step a frame": (1, 1.0),  # not "slow motion": that is the narrated iteration
    "Slow: 5 steps a frame": (5, 1.0),
    "Normal": (None, 0.065),  # measured best: 8.8 frames/s and more steps/s than 0.05 or 0.08
    "Fast (fewer frames)": (None, 0.25),
}
DEFAULT_SPEED = "Normal"
TICK_S = 0.1  # the browser asks for a new frame this often while playing


def run() -> Run:
    return st.session_state.run


def init() -> None:
    """Once per session: read the link, build the Run, seed the widgets."""
    if "run" in st.session_state:
        return
    parsed = urlstate.parse(st.query_params.to_dict())
    if not parsed.lesson and _resume(parsed):  # a reload: the tab's run goes on
        return
    _start(Run(_runnable(parsed.config, parsed.warnings)), runstore.new_token(),
           warnings=parsed.warnings)
    runstore.STORE.put(st.session_state.run_token, run(), _session_id())
    if parsed.lesson:
        _open_lesson_from_link(parsed)


def _resume(parsed: urlstate.Parsed) -> bool:
    """Take back the run this tab's link names (gansim/ui/runstore.py), if it is kept.
    A lesson link always opens its step afresh: the step's settings are its start."""
    kept = runstore.STORE.take(parsed.run, _session_id(), _session_alive)
    if kept is None:
        return False
    _start(kept, parsed.run, notice=("info", f"Your run continues at step {kept.step:,}."))
    return True


def _start(the_run: Run, token: str, warnings: list[str] | None = None,
           notice: tuple[str, str] | None = None) -> None:
    """A session's first state around `the_run` (new or kept), paused, with the widgets
    seeded from its settings."""
    st.session_state.update(run=the_run, playing=False, speed=DEFAULT_SPEED,
                            url_warnings=warnings or [], notice=notice, train_left=0,
                            show_arrows=True, show_manifold=False, show_circles=True,
                            run_token=token)
    controls.seed_widgets(the_run.cfg)


def _session_id() -> str:
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx else ""


def _session_alive(session_id: str) -> bool:
    """Whether a session's page is still open (a reload closes the old one first)."""
    return Runtime.exists() and Runtime.instance().is_active_session(session_id)


def _runnable(cfg: Config, warnings: list[str]) -> Config:
    """Fix what a link cannot carry: uploaded points, a GPU this machine lacks."""
    if cfg.data == "points":
        warnings.append("a link cannot carry uploaded points; upload the CSV again "
                        "(Data → Upload points). Showing the ring of 8 meanwhile.")
        cfg = cfg.replace(data=DEFAULT.data)
    try:
        resolve_device(cfg.device)
    except ValueError as err:
        warnings.append(f"link parameter device: {err}. Using device=auto.")
        cfg = cfg.replace(device="auto")
    return cfg


def _open_lesson_from_link(parsed: urlstate.Parsed) -> None:
    known = {lesson.id for lesson in lesson_panel.lessons()[0]}
    if parsed.lesson not in known:
        st.session_state.url_warnings.append(
            f"link parameter lesson: no lesson called {parsed.lesson[:40]!r}; "
            f"pick one from the Lesson menu")
        return
    st.session_state.lesson_picker = parsed.lesson
    lesson_panel.start(run(), parsed.lesson, parsed.lesson_step)
    # The link's own settings (a class that explored from this step) win over the step's.
    overrides = {k: v for k, v in parsed.config.changed().items()
                 if v != getattr(run().cfg, k)}
    if overrides:
        change_config(run().cfg.replace(**overrides))


def change_config(cfg: Config, dataset=None) -> None:
    """Move the run to cfg (live or by reset), say which, and re-seed the widgets.

    The widgets are seeded now and again at the start of the next full run
    (`reseed_if_asked`): a change made inside the live fragment (a cure while playing)
    does not redraw the sidebar, and the browser's next request still carries the old
    widget values, which `apply_widgets` would otherwise take as the student undoing it.
    """
    r = run()
    try:
        if dataset is not None:
            r.reset(cfg, dataset=dataset)
            blocked = ["data"]
        else:
            blocked = r.apply(cfg)
    except ValueError as err:
        st.session_state.notice = ("error", f"{err}. The run keeps its previous settings.")
    else:
        if blocked:
            st.session_state.notice = ("info", f"Changing {', '.join(blocked)} started a new "
                                               f"run (these settings need fresh networks).")
    controls.seed_widgets(r.cfg)
    st.session_state.reseed = True


def apply_cure(changes: dict) -> None:
    """A diagnosis's cure: the run, the sidebar widgets and the link all take it."""
    try:
        cfg = run().cfg.replace(**changes)
    except ValueError as err:
        st.session_state.notice = ("error", f"The suggested cure does not fit: {err}")
        return
    change_config(cfg)
    if not st.session_state.get("notice"):
        st.session_state.notice = ("info", "Cure applied live: "
                                   + ", ".join(f"{k} = {v}" for k, v in changes.items()))


def apply_widgets() -> None:
    """After the sidebar is drawn: apply what the widgets now say (live when allowed)."""
    r = run()
    cfg, error = controls.read_config(r.cfg)
    if error:
        st.sidebar.error(f"{error}. The run keeps its last good settings until you fix it.")
        return
    if cfg == r.cfg:
        return
    try:
        blocked = r.apply(cfg)
    except ValueError as err:
        # The widgets are already drawn this run: re-seed them on the next one.
        st.session_state.notice = ("error", f"{err}. The run keeps its previous settings.")
        st.session_state.reseed = True
        st.rerun()
    st.session_state.url_warnings = []
    if blocked:
        st.session_state.notice = ("info", f"Changing {', '.join(blocked)} started a new run "
                                           f"(these settings need fresh networks).")


def reseed_if_asked() -> None:
    if st.session_state.pop("reseed", False):
        controls.seed_widgets(run().cfg)


def sync_url() -> None:
    """Keep the address bar equal to the current settings (and lesson step)."""
    lesson = lesson_panel.current()
    params = urlstate.to_params(run().cfg, lesson.id if lesson else None,
                                lesson_panel.step_index(lesson) if lesson else 0)
    params[urlstate.RUN_KEY] = st.session_state.run_token  # this tab's run, for a reload
    runstore.STORE.touch(st.session_state.run_token)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def show_messages() -> None:
    for text in st.session_state.get("url_warnings", []):
        st.warning(text)
    cost = run().cost_warning()  # before Play: a heavy link says what it will cost
    if cost:
        st.warning(cost)
    notice = st.session_state.get("notice")
    if notice:
        kind, text = notice
        if kind == "error":
            st.error(text)
        else:  # a toast in the corner: an info line here would push the arena down
            st.toast(text, icon=":material/info:", duration="long")
        st.session_state.notice = None


# --- buttons (callbacks) ----------------------------------------------------------

def play() -> None:
    st.session_state.playing = True


def pause() -> None:
    fair.note("pause")
    st.session_state.playing = False
    st.session_state.train_left = 0


def reset() -> None:
    fair.note("reset")
    run().reset()
    st.session_state.train_left = 0


def chunk() -> tuple[int | None, float]:
    """How much to train in one frame: (max steps, seconds), from the speed and a lesson run."""
    max_steps, seconds = SPEEDS.get(st.session_state.get("speed"), SPEEDS[DEFAULT_SPEED])
    left = st.session_state.get("train_left", 0)
    if left:
        max_steps = left if max_steps is None else min(max_steps, left)
    return max_steps, seconds

"""A session's start and the page's bookkeeping each run: the link in, the Run built or
taken back, the widgets applied, the link out, the messages.

The keys live in gansim/ui/keys.py; play, pause, a cure and other transitions in
gansim/ui/transport.py.
"""
from __future__ import annotations

import streamlit as st

from ..config import DEFAULT, FIELD_NAMES, Config
from ..game_config import GAME_FIELDS, GameConfig
from ..trainer import resolve_device
from . import arena_modes, controls, keys, lesson_panel, runstore, urlstate
from .keys import (ARENA_MODE, GAME, LESSON_PICKER, NOTICE, RESEED, RUN, RUN_TOKEN,
                   URL_WARNINGS, VIEW)
from .session import Run
from .transport import change_config, run, session_alive, session_id, stop


def init() -> None:
    """Each run: every key's default where missing; once per session: read the link,
    build the Run (or take back this tab's), seed the widgets."""
    keys.init()
    if RUN.is_set():
        return
    parsed = urlstate.parse(st.query_params.to_dict())
    _open_game_from_link(parsed)
    if not parsed.lesson and _resume(parsed):  # a reload: the tab's run goes on
        return
    _start(Run(_runnable(parsed.config, parsed.warnings)), runstore.new_token(),
           warnings=parsed.warnings)
    runstore.STORE.put(RUN_TOKEN.get(), run(), session_id())
    if parsed.lesson:
        _open_lesson_from_link(parsed)


def _resume(parsed: urlstate.Parsed) -> bool:
    """Take back the run this tab's link names (gansim/ui/runstore.py), if it is kept.
    A lesson link always opens its step afresh: the step's settings are its start."""
    kept = runstore.STORE.take(parsed.run, session_id(), session_alive)
    if kept is None:
        return False
    _start(kept, parsed.run, notice=("info", f"Your run continues at step {kept.step:,}."))
    stop()  # the page comes back paused (keys.init): so does the old tab's worker
    return True


def _start(the_run: Run, token: str, warnings: list[str] | None = None,
           notice: tuple[str, str] | None = None) -> None:
    """A session's first state around `the_run` (new or kept), with the widgets seeded
    from its settings; everything else starts at its default (keys.init: paused)."""
    RUN.set(the_run)
    RUN_TOKEN.set(token)
    URL_WARNINGS.set(warnings or [])
    NOTICE.set(notice)
    controls.seed_widgets(the_run.cfg)


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


def _open_game_from_link(parsed: urlstate.Parsed) -> None:
    """The link's game settings, and the arena view it names (only those a link may open)."""
    GAME.set(parsed.game)
    if parsed.arena is None:
        return
    mode = arena_modes.LINKS.get(parsed.arena)
    if mode is None:
        parsed.warnings.append(f"link parameter {urlstate.ARENA_KEY}: no view a link can open "
                               f"is called {parsed.arena[:40]!r} (one of: "
                               f"{', '.join(arena_modes.LINKS)}); showing the live arena")
        return
    ARENA_MODE.set(mode)


def _game_overrides(game: GameConfig) -> dict:
    """The link's game settings that differ from the defaults (a class that changed a
    lesson step's game): they win over the step's, as the run's settings do."""
    base = GameConfig()
    return {name: getattr(game, name) for name in GAME_FIELDS
            if getattr(game, name) != getattr(base, name)}


def _open_lesson_from_link(parsed: urlstate.Parsed) -> None:
    known = {lesson.id for lesson in lesson_panel.lessons()[0]}
    if parsed.lesson not in known:
        URL_WARNINGS.set(URL_WARNINGS.get() + [
            f"link parameter lesson: no lesson called {parsed.lesson[:40]!r}; "
            f"pick one from the Lesson menu"])
        return
    LESSON_PICKER.set(parsed.lesson)
    lesson_panel.start(run(), parsed.lesson, parsed.lesson_step)
    # The link's own settings (a class that explored from this step) win over the step's.
    overrides = {k: v for k, v in parsed.config.changed().items()
                 if v != getattr(run().cfg, k)}
    if overrides:
        change_config(run().cfg.replace(**overrides))
    game = _game_overrides(parsed.game)
    if game:
        GAME.set(GAME.get().replace(**game))


def apply_widgets() -> str | None:
    """Apply what the settings widgets say (live when allowed), before the page draws
    them: their values are in the session state before the script runs (a field never
    drawn reads as the run's own value). Returns what is wrong with them, if anything."""
    r = run()
    cfg, error = controls.read_config(r.cfg)
    if error:
        return error
    if cfg == r.cfg:
        return None
    try:
        blocked = r.apply(cfg)
    except ValueError as err:
        # Not drawn yet this run: the widgets go back to the run's settings at once.
        NOTICE.set(("error", f"{err}. The run keeps its previous settings."))
        controls.seed_widgets(r.cfg)
        return None
    URL_WARNINGS.set([])
    if blocked:
        NOTICE.set(("info", f"Changing {', '.join(blocked)} started a new run "
                            f"(these settings need fresh networks)."))
    return None


def reseed_if_asked() -> None:
    if RESEED.pop():
        controls.seed_widgets(run().cfg)


def resend_unseen() -> None:
    """The widgets whose values the page sets (the settings, the speed, the lesson picker,
    the view and display switches) go out with their values again while the browser lacks
    them: a run cut short by a click may not have delivered them (keys.resend_unseen)."""
    keys.resend_unseen([controls.key(f) for f in FIELD_NAMES] + [k.name for k in keys.PAGE_SET])


def sync_url() -> None:
    """Keep the address bar equal to the current settings (and lesson step)."""
    lesson = lesson_panel.current()
    arena = arena_modes.link_of(ARENA_MODE.get()) if VIEW.get() == VIEW.default else None
    # The step the run trains with, not "auto": a link replays the same numbers even
    # where "auto" would now choose the other (a step built since the run started).
    params = urlstate.to_params(run().trainer.replay_config(), lesson.id if lesson else None,
                                lesson_panel.step_index(lesson) if lesson else 0,
                                game=GAME.get(), arena=arena)
    params[urlstate.RUN_KEY] = RUN_TOKEN.get()  # this tab's run, for a reload
    runstore.STORE.touch(RUN_TOKEN.get())
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def show_messages() -> None:
    for text in URL_WARNINGS.get():
        st.warning(text)
    cost = run().cost_warning()  # before Play: a heavy link says what it will cost
    if cost:
        st.warning(cost)
    notice = NOTICE.get()
    if notice:
        kind, text = notice
        if kind == "error":
            st.error(text)
        else:  # a toast in the corner: an info line here would push the arena down
            st.toast(text, icon=":material/info:", duration="long")
        NOTICE.set(None)

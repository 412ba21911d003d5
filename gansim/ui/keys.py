"""Every key the page keeps in st.session_state, declared once: its default and meaning.

One student's page is one session; what it remembers between two script runs lives
under these keys and nowhere else (nothing per-student goes in st.cache_resource).
The rest of the UI reads and writes them through the names below, never through
string keys of its own, and this is the only module that touches st.session_state
(tests/test_ui_state.py checks both). The transitions that move `playing` and
`train_left` (play, pause, stop, step, reset, a lesson run) are gansim/ui/transport.py.

Three kinds: plain state (the page's own memory), widget keys (Streamlit owns the value
while the widget is drawn; a default here is the widget's first value) and buttons
(Streamlit forbids setting them: declared so that their names have one home too).
A family is a key made of parts, e.g. one per lesson step or per compare pane.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ..game_config import GameConfig

UNSET = object()  # no default: the key is absent until set, and its absence means something
STATE, WIDGET, BUTTON = "state", "widget", "button"


@dataclass(frozen=True)
class Key:
    name: str
    default: Any
    meaning: str
    kind: str = STATE

    def get(self) -> Any:
        """The value now, or (a copy of) the declared default; None for a key without one."""
        if has(self.name) or self.default is UNSET:
            return read(self.name)
        return copy.copy(self.default)

    def set(self, value: Any) -> None:
        write(self.name, value)

    def pop(self) -> Any:
        """Take the value out (the key goes back to absent, or to its default at init)."""
        return st.session_state.pop(self.name, None if self.default is UNSET else self.default)

    def is_set(self) -> bool:
        return has(self.name)

    def setdefault(self, value: Any) -> Any:
        return st.session_state.setdefault(self.name, value)


@dataclass(frozen=True)
class Family:
    pattern: str  # str.format pattern: the parts go in the braces
    meaning: str
    kind: str = STATE

    def name(self, *parts: Any) -> str:
        return self.pattern.format(*parts)


def read(name: str, default: Any = None) -> Any:
    return st.session_state.get(name, default)


def write(name: str, value: Any) -> None:
    st.session_state[name] = value


def has(name: str) -> bool:
    return name in st.session_state


def drop(name: str) -> None:
    st.session_state.pop(name, None)


def resend_unseen(names: Iterable[str]) -> None:
    """Write these widget keys' values again where the browser did not report the widget
    with this run's request, so that the run sends each one with its value. Call before
    any of them is drawn.

    Why: a widget whose value the page set (a link's seed) carries that value to the
    browser once, in the run that first draws it. When the next run starts before those
    messages left (a click on Play while the sidebar, drawn last, is still on its way),
    Streamlit drops them; the next run draws the widget as one the browser knows, without
    its value, and the browser shows the widget's default (seed 0 beside a run of seed 2).
    A widget the browser has is reported with every request, so this writes nothing then:
    a value being typed is never overwritten."""
    reported, widget_id = _browser_widgets()
    for name in names:
        if has(name) and widget_id(name) not in reported:
            write(name, read(name))


def _browser_widgets() -> tuple[Any, Any]:
    """(the widget ids the browser reported with this run's request, key → widget id).
    Streamlit has no public call for these; tests/test_ui_keys.py checks them on the
    pinned version."""
    state = get_script_run_ctx().session_state._state
    return state._new_widget_state.states, state._key_id_mapper.get_id_from_key


# --- the single run ----------------------------------------------------------------
RUN = Key("run", UNSET, "the session's Run (gansim/ui/session.py), built by state.init")
RUN_TOKEN = Key("run_token", UNSET, "this tab's token for its kept run; the link carries it "
                                    "so a reload takes the run back (runstore.py)")
PLAYING = Key("playing", False, "whether the single run trains between frames")
TRAIN_LEFT = Key("train_left", 0, "steps a lesson run still has to train (0: play freely)")
TRAIN_PHASE = Key("train_phase", "both", "what a lesson run trains: 'both', 'd' or 'g'")
SPEED = Key("speed", "Normal", "the speed control's label (transport.SPEEDS)", WIDGET)
BAR_CLICKED = Key("bar_clicked", False, "a control of the toolbar changed in this run: the "
                  "page reruns after the bar (toolbar.py)")
RESEED = Key("reseed", False, "re-seed the sidebar's widgets from the run at the next full "
                              "run (a change made where the sidebar is already drawn)")
NOTICE = Key("notice", None, "(kind, text) to show once: 'error' in the page, else a toast")
URL_WARNINGS = Key("url_warnings", [], "what the link asked for and could not have")
STORY_CACHE = Key("story_cache", None, "(step, time, spec) of the last time charts sent")
DIAGNOSIS = Key("diagnosis_tracker", UNSET, "the banner's Tracker: holds a verdict steady")
SHOW_ARROWS = Key("show_arrows", True, "display toggle: gradient arrows on G's samples", WIDGET)
SHOW_MANIFOLD = Key("show_manifold", False, "display toggle: G's warped noise grid", WIDGET)
SHOW_CIRCLES = Key("show_circles", True, "display toggle: each real mode's 3σ ring", WIDGET)
VIEW = Key("view", "Single run", "which page: the single run, Compare or Sweep", WIDGET)
CFG = Family("cfg_{}", "a setting's sidebar widget, by Config field (controls.py)", WIDGET)

# --- lessons -----------------------------------------------------------------------
LESSON_ID = Key("lesson_id", "", "the lesson being followed ('': free play)")
LESSON_STEP = Key("lesson_step", 0, "the lesson's step on screen (0-based)")
EXPLORE_FREE = Key("explore_free", False, "every control shown although a lesson is open")
LESSON_QUEUE = Key("lesson_queue", [], "steps still to replay when a run starts again on "
                                       "another seed")
QUEUE_UNTIL = Key("queue_until", None, "the G step at which the queued step's run ends")
SPEED_BEFORE_LESSON = Key("speed_before_lesson", UNSET, "the class's own speed while a costly "
                                                        "lesson run plays with fewer frames")
SPEED_WANTED = Key("speed_wanted", UNSET, "a speed to set before the speed control is drawn")
LESSON_PICKER = Key("lesson_picker", "", "the sidebar's lesson select ('': free play)", WIDGET)
LESSON_RAN = Family("ran_{}_{}", "(trainer id, end step) of a lesson step's own run, by "
                                 "lesson id and step index")
ANSWER = Family("answer_{}_{}", "a step's prediction question, by lesson id and step", WIDGET)

# --- arena modes: scrub, draw, generator, slow motion ------------------------------------
ARENA_MODE = Key("arena_mode", "Live", "the arena switch (arena_modes.MODES)", WIDGET)
ARENA_SHOWN = Key("arena_shown", "Live", "the arena mode drawn last (a click on the chosen "
                                         "mode unselects it: this one stays)")
SCRUB_STEP = Key("scrub_step", UNSET, "the saved frame shown when scrubbing back", WIDGET)
DRAW_MODES = Key("draw_modes", UNSET, "the drawn modes (absent: open on the run's own)")
DRAW_ERROR = Key("draw_error", None, "why the last box or drawing was refused")
DRAW_KEY = Key("draw_key", 0, "the drawing chart's generation: a new one drops a handled "
                              "selection")
DRAW_CHART = Family("draw_chart_{}", "the drawing chart's selection, by generation", WIDGET)
SLOWMO = Key("slowmo", False, "the Slow motion switch", WIDGET)
SLOWMO_ITERATION = Key("slowmo_iteration", None, "the narrated iteration (slowmo.Iteration)")

# --- sidebar: upload, rewind ----------------------------------------------------------
UPLOAD = Key("upload", UNSET, "the uploaded CSV (Streamlit forbids setting it)", WIDGET)
UPLOAD_K = Key("upload_k", 0, "modes k-means looks for in an upload", WIDGET)
UPLOAD_ERROR = Key("upload_error", None, "what is wrong with the last upload")
REWIND_TO = Key("rewind_to", UNSET, "the checkpoint picked for a rewind", WIDGET)

# --- compare --------------------------------------------------------------------------
COMPARE = Key("compare", None, "the Comparison (session.py), once started")
CMP_PLAYING = Key("cmp_playing", False, "whether the compare panes train between frames")
PANE_SETTING = Family("pane{}_{}", "a compare pane's setting widget, by pane and field", WIDGET)
PANE_EXTRA = Family("pane{}_extra", "a compare pane's key=value box, by pane", WIDGET)
PANE_OPEN = Family("pane{}_settings_open", "whether a pane's Settings is open", WIDGET)
PANE_FILM = Family("cmp_film_{}", "a compare pane's arena film component state, by pane", WIDGET)

# --- sweep ----------------------------------------------------------------------------
# D's learning rate, default against ten times it: at the default 2,000 steps on the ring
# the faster D spreads G over all 8 modes against ~1.6 (modes holding mass, seeds 0-5,
# issue 11's engine; checked by tests/test_sweep_default.py). At 1,000 steps the new
# engine's runs held 2.7 against 1.2, one seed carrying most of it, so the default
# doubled. The old loss × gp grid showed only zeros and ∞: no run had landed within 3σ
# of a mode yet.
SWEEP_GRID_KEPT = Key("sweep_grid_kept", "lr_d=0.0001,0.001", "the grid text, kept while "
                      "another view shows (widget state is dropped then)")
SWEEP_GRID = Key("sweep_grid", UNSET, "the grid box (filled from SWEEP_GRID_KEPT)", WIDGET)
SWEEP_SEEDS = Key("sweep_seeds", 2, "seeds per setting in the sweep", WIDGET)
SWEEP_STEPS = Key("sweep_steps", 2000, "G steps per sweep run", WIDGET)
SWEEP_WORKER = Key("sweep_worker", None, "the running sweep's Worker thread")
SWEEP_RESULT = Key("sweep_result", None, "the last sweep's table of runs")
SWEEP_ERROR = Key("sweep_error", None, "why the last sweep stopped")

# --- the live arena film (issue 22) ----------------------------------------------------
ARENA_FILM = Key("arena", UNSET, "the live arena film's component state (arena_canvas.py)",
                 WIDGET)
FILM = Key("film", None, "this tab's film.Source: the token the film fetches payloads with "
                         "while playing, and the display toggles it draws them with")
PAGE_TICK = Key("page_tick", None, "seconds the live fragment's timer was set to (None: no "
                                   "timer); transport.retick compares the class's tick with it")

# --- buttons (Streamlit keeps a click here for one run; it cannot be set) ----------------
_BUTTONS = {
    # One key for Play and Pause: the button keeps its identity when its label changes, so
    # the toolbar's fragment (toolbar.py) updates it in place instead of adding the other.
    "play_pause": "Play or pause the single run", "reset": "Reset the run",
    "step_d": "one D update", "step_g": "one G update", "step_both": "one full step",
    "compare_from_here": "branch a comparison from the run",
    "apply_cure": "apply the banner's cure", "rewind_go": "go back to the checkpoint",
    "lesson_explore": "show every control", "lesson_run": "run the lesson step",
    "lesson_back": "previous lesson step", "lesson_next": "next lesson step",
    "lesson_again": "the step's run again on another seed",
    "draw_train": "train on the drawing", "draw_clear": "clear the drawing",
    "latent_2d": "use a 2-D latent", "scrub_branch": "branch from the scrubbed frame",
    "slowmo_back": "previous sub-step", "slowmo_next": "next sub-step",
    "cmp_play": "play the panes", "cmp_pause": "pause the panes", "cmp_step": "step the panes",
    "cmp_reset": "reset the panes", "cmp_add": "add a pane", "cmp_remove": "remove a pane",
    "cmp_new": "new comparison from the sidebar",
    "sweep_run": "run the sweep", "sweep_csv": "download the sweep's runs",
}
BUTTONS = {name: Key(name, UNSET, meaning, BUTTON) for name, meaning in _BUTTONS.items()}

# --- the Dirac-GAN game: the arena's Game view (gansim/ui/game_view.py) -------------------
GAME = Key("game", GameConfig(), "the game the Game view shows, and the link's dirac_* (kept "
                                 "while another view shows: its widgets' state is dropped then)")
GAME_SEEDED = Key("game_seeded", None, "the GameConfig the page last passed to the game's "
                                       "widgets (a new one fills them)")
GAME_FIELD = Family("game_{}", "a game setting's widget, by GameConfig field", WIDGET)
GAME_CHART = Key("game_chart", 0, "the plane's generation: a fresh chart forgets a handled click")
GAME_PLANE = Family("game_plane_{}", "the plane's click selection, by generation", WIDGET)
GAME_STEP = Key("game_step", UNSET, "the step slider: how much of the game's path is drawn",
                WIDGET)
GAME_STEPS_SHOWN = Key("game_steps_shown", UNSET, "the path's length when the slider last drew "
                                                  "(so that it follows the path's end)")
GAME_SPECTRUM = Key("game_spectrum_result", None, "(run step, spectrum.Spectrum or why none) "
                                                  "of the live run's game, once asked for")
BUTTONS["game_spectrum"] = Key("game_spectrum", UNSET, "compute the live run's game spectrum",
                               BUTTON)


# Widgets whose value the page sets before the widget is drawn (a link, a lesson, a
# default that is not the widget's own): each run sends them again while the browser
# lacks them (resend_unseen). The settings widgets (CFG) are named by the page.
PAGE_SET = (SPEED, VIEW, ARENA_MODE, LESSON_PICKER, SHOW_ARROWS, SHOW_MANIFOLD, SHOW_CIRCLES)


def button(name: str) -> str:
    """A button's key, by its declared name (KeyError names a button nobody declared)."""
    return BUTTONS[name].name


def declared() -> list[Key | Family]:
    """Every key and family of this module, in declaration order."""
    return [v for v in globals().values() if isinstance(v, (Key, Family))] + list(BUTTONS.values())


def init() -> None:
    """Each run, before anything reads them: every key with a default that is missing
    gets it (a copy: no two sessions share a list). Widget keys included, so a widget
    that another view hid comes back at its default."""
    for key in declared():
        if isinstance(key, Key) and key.default is not UNSET and not has(key.name):
            write(key.name, copy.copy(key.default))

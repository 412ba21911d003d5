"""The lesson panel: pick a lesson, read a step, predict, run it, look, go on.

Lessons are data (lessons/*.toml, loaded by gansim.lessons); this file only draws them.
Its state is in gansim/ui/keys.py (the lesson and step, unlocked controls, each step's
own run, the replay queue); a step's run of N steps is transport.run_steps.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import streamlit as st

from .. import ahead, dirac
from ..config import DEFAULT, restart_fields_changed
from ..diagnosis import KINDS
from ..lessons import LESSON_DIR, Lesson, LessonError, load_all
from ..snapshot import verdict
from . import arena_modes, controls, keys, transport
from .keys import (ANSWER, EXPLORE_FREE, GAME, LESSON_ID, LESSON_PICKER, LESSON_QUEUE, LESSON_RAN,
                   LESSON_STEP, NOTICE, QUEUE_UNTIL, RESEED, SPEED, SPEED_BEFORE_LESSON,
                   SPEED_WANTED, TRAIN_LEFT, button)

FREE_PLAY = LESSON_ID.default  # the picker's "no lesson" entry
# A step with frames = "fewer" (lessons.FRAMES) plays at this speed (a transport.SPEEDS label).
FRAME_SPEEDS = {"fewer": "Fast (fewer frames)"}
_PHASE_WORDS = {"both": "steps", "d": "D updates", "g": "G updates"}


@st.cache_data(ttl=30, show_spinner=False)
def _load(directory: str) -> tuple[list[Lesson], str | None]:
    """Every lesson (shared by all sessions: lessons are read-only content)."""
    if not Path(directory).is_dir():
        return [], None
    try:
        return load_all(directory), None
    except LessonError as err:
        return [], str(err)


def lessons() -> tuple[list[Lesson], str | None]:
    """The lessons and a load error, if any; GANSIM_LESSONS points tests at fixtures."""
    return _load(os.environ.get("GANSIM_LESSONS", str(LESSON_DIR)))


def compile_ahead() -> None:
    """Every lesson's steps (and the default settings'), in lesson order, built in the
    background: once per machine, the first time the app starts."""
    shipped, _ = lessons()
    ahead.compile_ahead(ahead.lesson_settings(shipped))


def current() -> Lesson | None:
    """The lesson being followed, if any."""
    wanted = LESSON_ID.get()
    return next((lesson for lesson in lessons()[0] if lesson.id == wanted), None)


def step_index(lesson: Lesson) -> int:
    return min(max(int(LESSON_STEP.get()), 0), len(lesson.steps) - 1)


def allowed_controls() -> frozenset | None:
    """The fields the sidebar shows: a lesson's controls unless the class explores freely."""
    lesson = current()
    if lesson is None or EXPLORE_FREE.get() or not lesson.controls:
        return None
    return frozenset(lesson.controls)


# --- moving through a lesson (callbacks: they run before the page is drawn) ---------

def start(run, lesson_id: str, step: int = 0) -> None:
    """Open a lesson at a step: its config, a fresh run, controls locked."""
    LESSON_ID.set(lesson_id)
    EXPLORE_FREE.set(False)
    transport.drop_steps_left()
    _restore_speed()
    LESSON_QUEUE.set([])
    lesson = current()
    if lesson is None:
        return
    step = min(max(step, 0), len(lesson.steps) - 1)
    LESSON_STEP.set(step)
    # Compile every run's step ahead (child processes), while the class reads the goal.
    ahead.prepare([lesson.config_at(i) for i, s in enumerate(lesson.steps) if s.train])
    run.reset(lesson.config_at(step))
    controls.seed_widgets(run.cfg)
    _show_game(lesson, step)


def _show_game(lesson: Lesson, index: int) -> None:
    """A step with a Dirac-GAN game opens the arena's Game view on that game."""
    game = lesson.steps[index].game
    if game is not None:
        GAME.set(game)
        arena_modes.show_game()


def _picked(run) -> None:
    start(run, LESSON_PICKER.get())


def _move(delta: int) -> None:
    lesson = current()
    if lesson is not None:
        LESSON_STEP.set(min(max(step_index(lesson) + delta, 0), len(lesson.steps) - 1))
        transport.drop_steps_left()
        LESSON_QUEUE.set([])
        _show_game(lesson, step_index(lesson))


def run_step(run, lesson: Lesson, index: int) -> None:
    """Apply the step's settings (new run when it says so or must) and queue its training.

    The run keeps its seed: a class that started again on another seed goes on with it
    (a step that builds on the last one must not jump back to the lesson's seed)."""
    step = lesson.steps[index]
    cfg = lesson.config_at(index).replace(seed=run.cfg.seed)
    if step.reset or restart_fields_changed(run.cfg, cfg):
        run.reset(cfg)
    else:
        run.apply(cfg)
    controls.seed_widgets(run.cfg)
    LESSON_QUEUE.set([])
    # The end is fixed before the worker starts: it may train a step before we read run.step.
    keys.write(LESSON_RAN.name(lesson.id, index), (id(run.trainer), _end_step(run, [step])))
    _train_step(step)


def speed_for(step, current: str) -> str:
    """The speed control's value during `step`'s run: fewer frames when the lesson asks
    for it (a costly run), else what the class had chosen (`current`)."""
    return FRAME_SPEEDS.get(step.frames, current)


def _set_speed(step) -> None:
    """Ask for fewer frames when the step's run wants them; ask for the class's own speed
    back at the next run that does not."""
    if step.frames not in FRAME_SPEEDS:
        _restore_speed()
        return
    if not SPEED_BEFORE_LESSON.is_set():
        SPEED_BEFORE_LESSON.set(SPEED.get())
    SPEED_WANTED.set(FRAME_SPEEDS[step.frames])


def _restore_speed() -> None:
    if SPEED_BEFORE_LESSON.is_set():
        SPEED_WANTED.set(SPEED_BEFORE_LESSON.pop())


def apply_speed() -> None:
    """Set the speed a lesson run asked for, before the speed control is drawn: a queued
    step (the replay on another seed) asks from inside the page, after the control,
    where Streamlit forbids changing it, and the page reruns at once."""
    if SPEED_WANTED.is_set():
        SPEED.set(SPEED_WANTED.pop())


def _train_step(step) -> None:
    _set_speed(step)
    transport.run_steps(step.train, getattr(step, "phase", "both"))  # D alone, G alone, or both


def _end_step(run, steps) -> int:
    """The G step the run reaches once `steps` are trained (a D-only run adds none)."""
    return run.step + sum(s.train for s in steps if getattr(s, "phase", "both") != "d")


def chain_start(lesson: Lesson, index: int) -> int:
    """The step whose fresh run step `index` continues (itself when it starts fresh)."""
    while index > 0 and not lesson.steps[index].reset and not restart_fields_changed(
            lesson.config_at(index - 1), lesson.config_at(index)):
        index -= 1
    return index


def again(run, lesson: Lesson, index: int) -> None:
    """Start step `index`'s run again on the next seed and play it: a fresh run from the
    step it builds on, every step of that chain replayed in order, as the lesson check
    plays them (gansim/lesson_check.py)."""
    seed = next_seed(run.cfg.seed)
    first = chain_start(lesson, index)
    run.reset(lesson.config_at(first).replace(seed=seed))
    controls.seed_widgets(run.cfg)
    RESEED.set(True)  # the sidebar and the link take the new seed too
    NOTICE.set(("info", f"Running this step again on seed {seed}."))
    chain = list(range(first, index + 1))
    keys.write(LESSON_RAN.name(lesson.id, index),
              (id(run.trainer), _end_step(run, [lesson.steps[i] for i in chain])))
    LESSON_QUEUE.set(chain)
    _next_in_queue(run, lesson)


def next_seed(seed: int) -> int:
    """The seed after `seed`, wrapping inside the Config's range (0 … 2**31 - 1)."""
    return (seed + 1) % 2**31


def _next_in_queue(run, lesson: Lesson) -> None:
    """Apply and start the next queued step (steps with nothing to train just apply)."""
    queue = LESSON_QUEUE.get()
    while queue:
        i = queue.pop(0)  # in place: the stored queue loses the step now started
        run.apply(lesson.config_at(i).replace(seed=run.cfg.seed))
        QUEUE_UNTIL.set(_end_step(run, [lesson.steps[i]]))
        if lesson.steps[i].train:
            _train_step(lesson.steps[i])
            return


def _advance_queue(run, lesson: Lesson) -> None:
    """After a queued step's training ends, start the next one; an interrupted replay
    (Pause, a divergence) drops the rest."""
    if not LESSON_QUEUE.get() or TRAIN_LEFT.get():
        return
    if run.error or run.step != QUEUE_UNTIL.get():
        LESSON_QUEUE.set([])
        return
    _next_in_queue(run, lesson)
    RESEED.set(True)  # the sidebar is drawn already: re-seed it next run
    st.rerun()  # the live view's timer is set from `playing` above the panel


# --- drawing ----------------------------------------------------------------------

def picker(run) -> None:
    """The sidebar's lesson select ("Free play" = no lesson)."""
    found, error = lessons()
    if error:
        st.sidebar.error(f"The lessons could not be loaded: {error}")
    ids = [FREE_PLAY] + [lesson.id for lesson in found]
    titles = {lesson.id: lesson.title for lesson in found}
    if LESSON_PICKER.get() not in ids:
        LESSON_PICKER.set(FREE_PLAY)
    st.sidebar.selectbox("Lesson", ids, key=LESSON_PICKER.name, on_change=_picked, args=(run,),
                         format_func=lambda i: titles.get(i, "Free play (no lesson)"),
                         help="A guided walk through one idea: predict, run, look.")
    if current() is not None and allowed_controls() is not None:
        st.sidebar.button("Explore freely from here", on_click=_unlock,
                          key=button("lesson_explore"),
                          help="Show every control; the lesson stays open beside the arena.")


def _unlock() -> None:
    EXPLORE_FREE.set(True)


def panel(run, lesson: Lesson) -> None:
    """The lesson beside the arena: step text, question, Run, Next/Back."""
    index = step_index(lesson)
    step = lesson.steps[index]
    st.subheader(lesson.title)
    st.caption(f"Step {index + 1} of {len(lesson.steps)} · {lesson.goal}")
    st.markdown(step.text)
    if step.game is not None:
        _game_claims(step)
    answered = _question(lesson, index)
    if step.train or step.changes or step.reset:
        label = f"Run ({step.train} {_PHASE_WORDS.get(getattr(step, 'phase', 'both'), 'steps')})" \
            if step.train else "Apply this step"
        st.button(label, type="primary", key=button("lesson_run"), disabled=not answered,
                  on_click=run_step, args=(run, lesson, index),
                  help="Answer the question first: predicting is half the lesson."
                  if not answered else "Apply this step's settings and train.")
    _advance_queue(run, lesson)
    left = TRAIN_LEFT.get()
    if left or LESSON_QUEUE.get():
        st.caption(training_caption(step, left))
    elif keys.read(LESSON_RAN.name(lesson.id, index)) and (step.expect or step.verdicts):
        _expectations(run, lesson, index)
    back, nxt = st.columns(2)
    back.button("◀ Back", key=button("lesson_back"), on_click=_move, args=(-1,),
                disabled=index == 0, help="The previous step of the lesson.")
    nxt.button("Next ▶", key=button("lesson_next"), on_click=_move, args=(1,),
               disabled=index == len(lesson.steps) - 1, help="The next step of the lesson.")
    if lesson.teacher_notes:
        with st.expander("Teacher notes"):
            st.markdown(lesson.teacher_notes)


def _game_claims(step) -> None:
    """What the step's game shows, exactly (the lesson check measures the same numbers)."""
    st.caption("The game for this step is in the arena's **Game** view"
               + (": what it shows, exactly:" if step.game_claims else "."))
    for claim in step.game_claims:
        measured = _measure(step.game, claim.metric)
        mark = "✅" if claim.judge(measured) else "⚠️"
        st.caption(f"{mark} {claim.text or claim.describe()} — exact value {measured:.6g}")


@st.cache_data(max_entries=64, show_spinner=False)
def _measure(game, metric: str) -> float:
    return dirac.measure(game, metric)


def training_caption(step, left: int) -> str:
    """What the panel says while a step's run trains (and why the frames thin out)."""
    fewer = " (fewer frames a second for this costly run, so more of the machine trains)" \
        if step.frames in FRAME_SPEEDS else ""
    return f"Training… {left} steps to go{fewer}"


def _question(lesson: Lesson, index: int) -> bool:
    """Ask the step's prediction question; True once answered (or when there is none)."""
    q = lesson.steps[index].question
    if q is None:
        return True
    choice = st.radio(q.prompt, range(len(q.choices)), index=None,
                      format_func=lambda i: q.choices[i], key=ANSWER.name(lesson.id, index),
                      help="Pick what you expect before you press Run.")
    if choice is None:
        return False
    (st.success if choice == q.answer else st.info)(q.feedback[choice])
    return True


def _expectations(run, lesson: Lesson, index: int) -> None:
    """What the run was meant to show, measured on this run once it has ended; a point
    that did not show is said plainly, with a one-click run on another seed."""
    step = lesson.steps[index]
    trainer_id, end = keys.read(LESSON_RAN.name(lesson.id, index))
    if trainer_id != id(run.trainer) or run.step != end:
        st.caption(f"These points are judged at the end of this step's own run (step "
                   f"{end:,}); this run is at step {run.step:,}. Press Run to check them.")
        return
    with run.lock:
        history = {k: list(v) for k, v in run.trainer.history.rows.items()}
        shown = verdict(run.trainer).kind if step.verdicts else ""
    missed = []
    for claim in step.expect:
        ok, got = claim.holds(history)
        mark = "✅" if ok else "⚠️"
        st.caption(f"{mark} {claim.describe()} — measured {got:.3g}")
        if not ok:
            missed.append(f"“{claim.describe()}” did not show (measured {got:.3g})")
    if shown:  # the banner above shows this same verdict: the run has stopped
        ok = shown in step.verdicts
        st.caption(f"{'✅' if ok else '⚠️'} {step.verdict_claim()} — it says “{KINDS[shown]}”")
        if not ok:
            missed.append(f"{step.verdict_claim()}, but it says “{KINDS[shown]}”")
    if missed:
        _missed(run, lesson, index, missed)


def _missed(run, lesson: Lesson, index: int, missed: list[str]) -> None:
    seed = run.cfg.seed
    st.warning(f"**This run did not show every point.** On seed {seed}: "
               + "; ".join(missed) + ".  \nGAN training is random: the same settings on "
               "another seed, or on another computer, can go another way. In our checks "
               "these points show on nearly every seed, so try another one.")
    first = chain_start(lesson, index)
    where = "" if first == index else f" (from step {first + 1}, where this run begins)"
    st.button("Run again with another seed", key=button("lesson_again"), type="primary",
              on_click=again, args=(run, lesson, index),
              help=f"Start this run again on seed {next_seed(seed)}{where} and play it.")

"""A lesson step with frames = "fewer" plays its run with fewer, longer frames: the
speed control shows it while that run plays, and the class's own choice comes back at
the next run that does not ask for it, or when the class leaves the lesson."""
from __future__ import annotations

import pytest

from gansim.ui import keys, lesson_panel, transport
from apphelpers import CLAIMS, app, finish, run_of

FEWER = lesson_panel.FRAME_SPEEDS["fewer"]
CHOSEN = "Slow: 5 steps a frame"  # the class's own choice, different from both


@pytest.fixture(autouse=True)
def claim_lessons(monkeypatch):
    monkeypatch.setenv("GANSIM_LESSONS", str(CLAIMS))


def speed(at) -> str:
    return at.selectbox(key="speed").value


def run_step(at):
    at.button(key="lesson_run").click().run()
    return finish(at)


def test_every_frame_speed_a_lesson_names_is_a_speed_of_the_app():
    assert set(lesson_panel.FRAME_SPEEDS.values()) <= set(transport.SPEEDS)
    assert FEWER != keys.SPEED.default


def test_a_costly_run_plays_with_fewer_frames_and_the_class_choice_comes_back():
    at = app(lesson="claims", lesson_step="0")
    at.selectbox(key="speed").set_value(CHOSEN).run()
    run_step(at)
    assert speed(at) == CHOSEN, "a step without frames changed the speed"

    at.button(key="lesson_next").click().run()
    at.button(key="lesson_run").click().run()
    assert speed(at) == FEWER
    finish(at)
    assert not at.exception and run_of(at).step == 20

    at.button(key="lesson_next").click().run()
    run_step(at)
    assert speed(at) == CHOSEN, "the class's speed did not come back"


def test_leaving_the_lesson_gives_the_class_its_speed_back():
    at = app(lesson="claims", lesson_step="1")
    at.selectbox(key="speed").set_value(CHOSEN).run()
    at.button(key="lesson_run").click().run()
    assert speed(at) == FEWER
    at.sidebar.selectbox(key="lesson_picker").set_value(lesson_panel.FREE_PLAY).run()
    assert speed(at) == CHOSEN


def test_the_panel_says_why_a_run_draws_fewer_frames():
    steps = lesson_panel.lessons()[0][0].steps
    assert "fewer frames" in lesson_panel.training_caption(steps[1], 12)
    assert lesson_panel.training_caption(steps[0], 12) == "Training… 12 steps to go"

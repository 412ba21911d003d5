"""The shipped lessons in the app (the other app tests use fixture lessons): each of the
remedy lessons (11 on) opens from its link with its own settings, and its first run
trains with them in the page.

Lessons 1–10 are walked by the lesson check and their own tests; a new lesson file is
picked up here by its number, so adding one adds a case.
"""
from __future__ import annotations

import pytest

from gansim.lessons import load_all
from apphelpers import app, run_of, until_trained

REMEDY_LESSONS = [lesson for lesson in load_all() if int(lesson.path[:2]) >= 11]
FRAMES = 3  # a few frames of training prove the run plays; the lesson check judges it


@pytest.fixture(autouse=True)
def shipped_lessons(monkeypatch):
    monkeypatch.delenv("GANSIM_LESSONS", raising=False)  # test_app's fixture sets it


def test_there_are_at_least_four_remedy_lessons():
    assert len(REMEDY_LESSONS) >= 4


@pytest.mark.parametrize("lesson", REMEDY_LESSONS, ids=lambda lesson: lesson.id)
def test_a_remedy_lesson_opens_and_plays_its_first_run(lesson):
    at = app(lesson=lesson.id, lesson_step="0")
    assert not at.exception
    assert lesson.title in " ".join(h.value for h in at.subheader)
    expected = lesson.config_at(0).replace(seed=run_of(at).cfg.seed)
    assert run_of(at).cfg == expected, "the page did not load the lesson's settings"
    first = lesson.steps[0]
    if first.question:
        assert at.button(key="lesson_run").disabled  # predict first
        at.radio(key=f"answer_{lesson.id}_0").set_value(first.question.answer).run()
    at.selectbox(key="speed").set_value("One step a frame").run()
    at.button(key="lesson_run").click().run()
    for _ in range(FRAMES):
        at.run()
    until_trained(at, 1)  # the worker trains between frames, in its turn
    assert not at.exception
    assert 0 < run_of(at).step < first.train
    # The page's count of steps left lags the worker's by at most the steps since the
    # last frame; the worker's own count is exact (tests/test_worker.py).
    assert at.session_state["train_left"] >= first.train - run_of(at).step > 0
    assert run_of(at).cfg == expected  # the run trains with the lesson's settings

"""The arena's Game view in the app (issue 24): the link opens it with its dirac_* settings,
the link follows its widgets, bad link values are named, and lesson 16 walks through it.

The view's own drawing is tested in a tiny page (tests/test_game_view.py); clicks on the
plane need a browser (tests/test_browser_game.py).
"""
from __future__ import annotations

import pytest

from gansim.game_config import GameConfig
from gansim.lessons import load_all
from gansim.ui import keys
from apphelpers import app, query

VERDICTS = ("Converges", "Circles (neither in nor out)", "Spirals out", "Moves out",
            "Neither in nor out", "No verdict from the eigenvalues")


@pytest.fixture(autouse=True)
def shipped_lessons(monkeypatch):
    monkeypatch.delenv("GANSIM_LESSONS", raising=False)  # lesson 16 is a shipped lesson


def verdict_of(at) -> str:
    (box,) = [b.value for b in [*at.success, *at.info, *at.warning]
              if b.value.split(":")[0] in VERDICTS]
    return box


def switch(at, mode: str):
    return at.segmented_control(key="arena_mode").set_value(mode).run()


def test_a_link_opens_the_game_view_with_its_settings():
    at = app(dirac_r1="1", dirac_updates="simultaneous", arena="game")
    assert not at.exception
    assert at.session_state["arena_mode"] == "Game"
    assert at.number_input(key="game_r1").value == 1.0
    assert verdict_of(at).startswith("Converges:")
    assert query(at)["dirac_r1"] == "1.0" and query(at)["arena"] == "game"


def test_without_the_link_the_game_spirals_out_and_the_link_follows_the_widgets():
    at = switch(app(), "Game")
    assert not at.exception
    assert verdict_of(at).startswith("Spirals out:")
    assert query(at).get("arena") == "game" and "dirac_r1" not in query(at)
    at.number_input(key="game_r1").set_value(0.5).run()
    assert verdict_of(at).startswith("Converges:")
    assert query(at)["dirac_r1"] == "0.5"  # in the same run: the widget's callback set it
    switch(at, "Live")
    assert "arena" not in query(at) and query(at)["dirac_r1"] == "0.5"
    switch(at, "Game")  # the widgets' state was dropped meanwhile: they come back filled
    assert at.number_input(key="game_r1").value == 0.5
    assert verdict_of(at).startswith("Converges:")


@pytest.mark.parametrize("params,named", [
    ({"dirac_r1": "lots"}, "dirac_r1"),
    ({"dirac_lr_g": "-1"}, "dirac_lr_g"),
    ({"dirac_updates": "sideways"}, "dirac_updates"),
    ({"dirac_rr1": "1"}, "dirac_rr1"),
])
def test_a_bad_game_value_in_the_link_is_named_and_the_rest_applies(params, named):
    at = app(arena="game", dirac_gp="0.5", **params)
    assert not at.exception
    assert any(named in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.session_state["game"] == GameConfig(gp=0.5)
    assert at.session_state["arena_mode"] == "Game"


def test_a_link_to_an_unknown_view_says_so_and_shows_the_live_arena():
    at = app(arena="nowhere")
    assert not at.exception
    assert any("link parameter arena" in w.value and "game" in w.value for w in at.warning)
    assert at.session_state["arena_mode"] == "Live"


def test_the_game_view_pauses_training_and_play_returns_to_live():
    at = app(g_hidden="32", d_hidden="32", batch="64")
    at.button(key="play_pause").click().run()
    assert at.session_state["playing"]
    switch(at, "Game")
    assert not at.session_state["playing"] and not at.exception
    at.button(key="play_pause").click().run()
    assert at.session_state["arena_mode"] == "Live"


def test_every_key_the_game_view_holds_is_declared():
    at = switch(app(), "Game")
    at.number_input(key="game_r1").set_value(0.5).run()
    declared = keys.declared()
    names = {k.name for k in declared if isinstance(k, keys.Key)}
    families = [k.pattern.split("{}")[0] for k in declared if isinstance(k, keys.Family)]
    held = [k for k in at.session_state.keys() if k.startswith("game")]
    assert "game_r1" in held and "game" in held
    assert [k for k in held if k not in names and not any(k.startswith(f) for f in families
                                                          if f)] == []


LESSON = next(lesson for lesson in load_all() if lesson.id == "why_gans_circle")


def test_lesson_16_walks_through_the_game_and_its_claims():
    at = app(lesson=LESSON.id, lesson_step="0")
    assert not at.exception
    assert at.session_state["arena_mode"] == "Game"
    shown = []
    for index, step in enumerate(LESSON.steps):
        assert not at.exception
        assert at.session_state["game"] == step.game
        captions = " ".join(c.value for c in at.caption)
        for claim in step.game_claims:
            assert f"✅ {claim.text}" in captions  # every exact claim holds, and says so
        shown.append(verdict_of(at).split(":")[0])
        if index < len(LESSON.steps) - 1:
            at.button(key="lesson_next").click().run()
    assert shown == ["Spirals out", "Circles (neither in nor out)", "Converges", "Converges"]
    assert query(at)["lesson_step"] == "3" and query(at)["dirac_instance_noise"] == "1.0"


def test_lesson_16s_run_takes_the_arena_back_to_the_live_view():
    at = app(lesson=LESSON.id, lesson_step="0")
    at.radio(key=f"answer_{LESSON.id}_0").set_value(LESSON.steps[0].question.answer).run()
    at.selectbox(key="speed").set_value("One step a frame").run()
    at.button(key="lesson_run").click().run()
    at.run()
    assert not at.exception
    assert at.session_state["arena_mode"] == "Live" and at.session_state["run"].step > 0

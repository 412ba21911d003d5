"""Apply cure through the app: the run, the sidebar widget and the link all take the cure,
and it stays through Play, Pause, Reset and a reload of the link.

The diagnosis is forced at the UI's boundary (the snapshot the page reads), so these
tests check the cure path whatever rule names the run; which cure each failure gets is
tested on real runs in tests/test_diagnosis.py.
"""
from __future__ import annotations

import dataclasses

import pytest

from gansim.config import DEFAULT, RESTART_FIELDS
from gansim.diagnosis import Diagnosis
from gansim.ui import session
from apphelpers import app, query, run_of

# (cure, the widget kind and key that shows it, the value the widget must then hold)
CURES = {
    "live (R1)": ({"r1": 1.0}, "number_input", "cfg_r1", 1.0),
    "restarting (mbstd)": ({"mbstd": True}, "toggle", "cfg_mbstd", True),
}


@pytest.fixture
def offer(monkeypatch):
    """Make every snapshot's diagnosis offer `cure` (the Apply cure button appears)."""
    def force(cure: dict) -> None:
        diag = Diagnosis("oscillation", "Forced", "A test forces this verdict.", cure, "Try it.")
        real = session.Run.snapshot

        def snapshot(self, max_age_s: float = 0.0):
            return dataclasses.replace(real(self, max_age_s), diagnosis=diag)

        monkeypatch.setattr(session.Run, "snapshot", snapshot)
    return force


def assert_cured(at, cure: dict, kind: str, key: str, value) -> None:
    field = next(iter(cure))
    assert not at.exception
    assert getattr(run_of(at).cfg, field) == cure[field], "the run lost the cure"
    assert getattr(at, kind)(key=key).value == value, "the sidebar widget lost the cure"
    assert field in query(at), "the link lost the cure"


@pytest.mark.parametrize("name", list(CURES))
def test_a_cure_sticks_through_play_reset_and_reload(offer, name):
    cure, kind, key, value = CURES[name]
    field = next(iter(cure))
    assert (field in RESTART_FIELDS) == name.startswith("restarting")
    offer(cure)
    at = app()
    at.button(key="play_pause").click().run()
    assert at.session_state["playing"]
    at.button(key="apply_cure").click().run()  # clicked while playing
    assert_cured(at, cure, kind, key, value)
    if field in RESTART_FIELDS:
        assert any("started a new run" in i.body for i in at.toast)
    else:
        assert any("Cure applied live" in i.body for i in at.toast)
    at.button(key="play_pause").click().run()
    at.button(key="play_pause").click().run()
    assert_cured(at, cure, kind, key, value)
    at.button(key="play_pause").click().run()
    at.button(key="reset").click().run()
    assert run_of(at).step == 0
    assert_cured(at, cure, kind, key, value)
    # The cure is in force now: the banner offers no second click, only patience.
    assert not [b for b in at.button if b.key == "apply_cure"]
    reloaded = app(**query(at))  # a page reload opens the same link in a new session
    assert_cured(reloaded, cure, kind, key, value)
    # The link names the step the run trained with (eager: conftest forbids compiling).
    assert run_of(reloaded).cfg == DEFAULT.replace(**cure, engine="eager")


@pytest.mark.parametrize("name", list(CURES))
def test_a_cure_applied_while_paused_takes_the_same_path(offer, name):
    cure, kind, key, value = CURES[name]
    offer(cure)
    at = app()
    assert not at.session_state["playing"]
    at.button(key="apply_cure").click().run()
    assert_cured(at, cure, kind, key, value)
    at.button(key="play_pause").click().run()
    assert_cured(at, cure, kind, key, value)


def test_a_cure_that_does_not_fit_is_refused_with_a_message(offer):
    offer({"pack": 3})  # batch 256 is not a multiple of 3: the config refuses it
    at = app()
    at.button(key="apply_cure").click().run()
    assert not at.exception
    assert any("does not fit" in e.body for e in at.error)
    assert run_of(at).cfg == DEFAULT
    assert "pack" not in query(at)

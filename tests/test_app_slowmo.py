"""Slow motion in the app (AppTest): every sub-step forward and back, for D and for G."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from gansim.trainer import Trainer
from gansim.ui import diagram, slowmo
from apphelpers import arena_of

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_LESSONS = Path(__file__).parent / "fixtures" / "lessons"
SMALL = {"g_hidden": "32", "d_hidden": "32", "batch": "64"}


@pytest.fixture(autouse=True)
def fixture_lessons(monkeypatch):
    monkeypatch.setenv("GANSIM_LESSONS", str(FIXTURE_LESSONS))


def _header(at: AppTest) -> str:
    return next(m.value for m in at.markdown if " / " in m.value and "·" in m.value)


def _lit(at: AppTest) -> set[str]:
    spec = at.get("graphviz_chart")[0].proto.spec
    return {line.split()[0] if "->" not in line else "{}>{}".format(*line.split()[0:3:2])
            for line in spec.splitlines() if f'color="{diagram.ON}"' in line}


@pytest.mark.parametrize("d_steps", [1, 2])
def test_step_through_one_iteration_forward_and_back(d_steps):
    at = AppTest.from_file(str(ROOT / "page.py"), default_timeout=60)
    at.query_params.update(SMALL, d_steps=str(d_steps))
    at.run()
    trainer = at.session_state["run"].trainer
    plain = Trainer(trainer.cfg)
    plain.step()
    at.toggle(key="slowmo").set_value(True).run()
    steps = slowmo.sequence(d_steps)
    seen = []
    for i, step in enumerate(steps):
        assert not at.exception
        assert _header(at).startswith(f"**{i + 1} / {len(steps)} · ")
        assert step.title in _header(at)
        seen.append(at.info[0].body)
        assert _lit(at) == set(step.highlight), step.id
        assert len(at.get("vega_lite_chart")) == 1 and not arena_of(at)  # slow motion's only
        d, g = trainer.d_step, trainer.g_step
        assert (g, d) == ((1, d_steps) if step.phase == "g" else (0, 1 if not step.repeat else d_steps))
        if i < len(steps) - 1:
            at.button(key="slowmo_next").click().run()
    # The iteration trained the live run exactly as one plain step would.
    for a, b in zip(plain.G.parameters(), trainer.G.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(plain.D.parameters(), trainer.D.parameters()):
        assert torch.equal(a, b)
    for i in reversed(range(len(steps) - 1)):
        at.button(key="slowmo_back").click().run()
        assert _header(at).startswith(f"**{i + 1} / ")
        assert at.info[0].body == seen[i], "Back must replay the recorded sub-step"
    assert at.button(key="slowmo_back").disabled
    assert (trainer.g_step, trainer.d_step) == (1, d_steps), "Back trained the run"
    # Past the last sub-step, Next starts the next iteration (its D update).
    for _ in range(len(steps)):
        at.button(key="slowmo_next").click().run()
    assert _header(at).startswith(f"**1 / {len(steps)}")
    assert trainer.d_step == d_steps + 1 and not at.exception


def test_play_ends_slow_motion_and_the_live_arena_returns():
    at = AppTest.from_file(str(ROOT / "page.py"), default_timeout=60)
    at.query_params.update(SMALL)
    at.run()
    at.toggle(key="slowmo").set_value(True).run()
    assert at.get("graphviz_chart")
    at.button(key="play_pause").click().run(timeout=60)
    assert not at.session_state["slowmo"] and not at.get("graphviz_chart")
    assert len(at.get("vega_lite_chart")) == 1 and arena_of(at)  # the story, the live film
    at.button(key="play_pause").click().run()

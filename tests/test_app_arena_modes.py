"""The arena switch through AppTest: draw data and train on it, G's view, scrub back.

The drawing's mouse input (a chart selection) needs a browser: tests/test_browser_draw.py
drags real boxes. Here the drawn modes are put in the session as the chart callback
would, and everything after them (training, the link, the switch) runs for real.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from apphelpers import spec_json
from streamlit.testing.v1 import AppTest

from gansim import trainer as trainer_module
from gansim.drawing import Mode

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60
SMALL = dict(g_hidden="32", d_hidden="32", batch="64")


def app(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "page.py"), default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


def switch(at: AppTest, mode: str) -> AppTest:
    return at.segmented_control(key="arena_mode").set_value(mode).run()


def datasets_with(at: AppTest, name: str) -> dict:
    """The named datasets of the chart that has a dataset called `name`."""
    for chart in at.get("vega_lite_chart"):
        found = {d.name: d for d in chart.proto.datasets}
        if name in found:
            return found
    raise AssertionError(f"no chart with a {name!r} dataset")


def test_draw_two_modes_and_train_on_them():
    at = switch(app(**SMALL), "Draw data")
    assert not at.exception
    assert len(at.session_state["draw_modes"]) == 8  # the drawing opens on the ring's modes
    at.button(key="draw_clear").click().run()
    assert at.session_state["draw_modes"] == ()
    assert at.button(key="draw_train").disabled  # nothing to train on yet, and it says so
    assert any("No modes yet" in i.body for i in at.info)
    drawn = (Mode(-2.0, 1.0, 0.1), Mode(1.5, -1.0, 0.3))
    at.session_state["draw_modes"] = drawn  # what two dragged boxes leave behind
    at.run()
    assert "2 modes drawn" in " ".join(c.value for c in at.caption)
    at.button(key="draw_train").click().run()
    assert not at.exception
    run = at.session_state["run"]
    assert run.cfg.data == "custom"
    assert run.cfg.custom_centers == ((-2.0, 1.0), (1.5, -1.0))
    assert run.cfg.custom_stds == (0.1, 0.3)
    assert at.session_state["arena_mode"] == "Live" and at.session_state["playing"]
    at.run()  # one more frame of play
    assert run.step > 0 and run.trainer.dataset.centers.tolist() == [[-2.0, 1.0], [1.5, -1.0]]
    params = {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}
    assert params["data"] == "custom" and "custom_centers" in params  # the link carries it


def test_a_mixture_too_big_to_draw_opens_an_empty_plane_and_says_why():
    centres = "[" + ",".join(f"[{i % 6}, {i // 6}]" for i in range(30)) + "]"
    at = switch(app(data="custom", custom_centers=centres, custom_stds="[0.05]", **SMALL),
                "Draw data")
    assert not at.exception
    assert at.session_state["draw_modes"] == ()
    assert any("has 30 modes, more than a drawing holds (25)" in e.body for e in at.error)


def test_clicking_the_chosen_view_again_keeps_it():
    at = switch(app(**SMALL), "Generator view")
    at.segmented_control(key="arena_mode").set_value(None).run()
    assert at.session_state["arena_mode"] == "Generator view"


def test_drawing_pauses_and_play_returns_to_the_live_arena():
    at = app(**SMALL)
    at.button(key="play_pause").click().run()
    switch(at, "Draw data")
    assert not at.session_state["playing"]
    at.button(key="play_pause").click().run()
    assert at.session_state["arena_mode"] == "Live" and at.session_state["playing"]


def test_generator_view_says_why_there_is_no_grid_and_offers_a_2d_latent():
    at = switch(app(**SMALL), "Generator view")
    assert not at.exception
    text = " ".join(c.value for c in at.caption)
    assert "No grid lines" in text and "64 dimensions" in text
    assert "manifold" in datasets_with(at, "density")  # the layer gets an (empty) table
    at.button(key="latent_2d").click().run()
    assert not at.exception
    assert at.session_state["run"].cfg.z_dim == 2
    text = " ".join(c.value for c in at.caption)
    assert "blue lines vary z₁" in text and "No grid lines" not in text
    at.run()
    lines = datasets_with(at, "density")["manifold"].data.data
    assert len(lines) > 1000  # 22 lines × 41 points as Arrow bytes: the grid is sent


@pytest.fixture
def frequent_checkpoints(monkeypatch):
    # Frames every 10 steps instead of 250: the same scrub code on a short run.
    monkeypatch.setattr(trainer_module, "CHECKPOINT_EVERY", 10)


def test_scrub_back_replays_without_training_then_branches(frequent_checkpoints):
    at = app(**SMALL)
    run = at.session_state["run"]
    with run.lock:
        run.trainer.train(25)
    at.button(key="play_pause").click().run()
    switch(at, "Scrub back")
    assert not at.session_state["playing"]
    live_step = run.step
    slider = at.select_slider(key="scrub_step")
    assert list(slider.options)[:3] == ["0", "10", "20"]  # every saved frame, oldest first
    slider.set_value(10).run()
    assert not at.exception
    assert "Replaying step **10**" in " ".join(c.value for c in at.caption)
    at.run()
    assert run.step == live_step  # looking back trained nothing and moved nothing
    at.button(key="scrub_branch").click().run()
    assert run.step == 10 and at.session_state["arena_mode"] == "Live"
    assert any("Rewound to step 10" in i.body for i in at.toast)


def test_generator_spec_is_fixed_while_its_data_moves():
    # The browser updates a view in place only while the spec (without data) is unchanged.
    from gansim import Config, Trainer, snapshot
    from gansim.ui import generator_chart

    t = Trainer(Config(z_dim=2, g_hidden=32, d_hidden=32, batch=64))
    first = generator_chart.generator(t.snapshot(), snapshot.density(t))
    t.train(5)
    second = generator_chart.generator(t.snapshot(), snapshot.density(t))
    assert spec_json(first) == spec_json(second)
    assert first["datasets"]["manifold"] != second["datasets"]["manifold"]

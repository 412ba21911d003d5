"""The app through Streamlit's AppTest: loads, controls reach the Trainer, URL state,
step buttons, stable chart specs, the lesson panel; plus the pure export helpers."""
from __future__ import annotations

import io
import json
import time
import tomllib

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from gansim.config import DEFAULT, Config
from gansim.trainer import Diverged, Trainer
from gansim.ui import charts, export, urlstate, worker

from apphelpers import (FIXTURE_LESSONS, app, arena_of, query, run_of, spec_json, step_shown,
                        until_trained)


@pytest.fixture(autouse=True)
def fixture_lessons(monkeypatch):
    monkeypatch.setenv("GANSIM_LESSONS", str(FIXTURE_LESSONS))


def charts_of(at: AppTest) -> list:
    return [e.proto for e in at.get("vega_lite_chart")]


def test_app_loads_without_exceptions():
    at = app()
    assert not at.exception
    assert step_shown(at) == 0
    assert len(charts_of(at)) == 1  # the story (Vega-Lite)
    assert arena_of(at)["step"] == 0  # the arena film
    assert run_of(at).cfg == DEFAULT


# One change per sidebar group: (widget kind, key, value, field, expected, live?)
GROUP_CHANGES = [
    ("selectbox", "cfg_data", "grid25", "data", "grid25", False),  # Data
    ("selectbox", "cfg_loss", "hinge", "loss", "hinge", True),  # Loss
    ("number_input", "cfg_gp", 2.5, "gp", 2.5, True),  # Cures
    ("toggle", "cfg_mbstd", True, "mbstd", True, False),  # Cures (a reset one)
    ("select_slider", "cfg_lr_d", 3e-4, "lr_d", 3e-4, True),  # Balance
    ("number_input", "cfg_d_steps", 3, "d_steps", 3, True),  # Balance
    ("number_input", "cfg_g_hidden", 64, "g_hidden", 64, False),  # Model
    ("number_input", "cfg_seed", 7, "seed", 7, False),  # Seed
]


def test_each_control_group_changes_the_trainer_config():
    at = app()
    at.button(key="step_both").click().run()
    for kind, key, value, field, expected, live in GROUP_CHANGES:
        before = run_of(at).step
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, key
        cfg = run_of(at).cfg
        assert getattr(cfg, field) == expected, key
        if live:  # a live change keeps the weights and the step count
            assert run_of(at).step == before, key
        else:  # a restart field starts over and says so
            assert run_of(at).step == 0, key
            assert any(field in i.body and "new run" in i.body for i in at.toast), key
        at.button(key="step_both").click().run()


def test_a_bad_widget_value_gives_a_message_and_keeps_the_run():
    at = app()
    at.selectbox(key="cfg_data").set_value("custom").run()  # custom needs centres
    assert not at.exception
    assert any("custom_centers" in e.body for e in at.error)
    assert run_of(at).cfg.data == "ring8"


def test_step_buttons_advance_the_counters():
    at = app()
    at.button(key="step_both").click().run()
    assert step_shown(at) == 1
    at.button(key="step_d").click().run()
    assert (run_of(at).step, run_of(at).trainer.d_step) == (1, 2)
    at.button(key="step_g").click().run()
    assert step_shown(at) == 2
    at.button(key="reset").click().run()
    assert step_shown(at) == 0


def test_url_parameters_reproduce_a_config():
    cfg = Config(loss="wasserstein", gp=10.0, d_steps=5, lr_d=1e-3, seed=3,
                 data="custom", custom_centers=((0.0, 0.0), (2.0, 1.0)), custom_stds=(0.1,))
    at = app(**urlstate.to_params(cfg))
    assert not at.exception
    assert not at.warning
    assert run_of(at).cfg == cfg
    assert at.selectbox(key="cfg_loss").value == "wasserstein"
    # …and the page writes the current settings back into the address.
    at.number_input(key="cfg_seed").set_value(4).run()
    assert query(at)["seed"] == "4"
    # The step the run trains with, not "auto" (eager here: conftest forbids compiling).
    assert Config.from_dict(query(at)) == cfg.replace(seed=4, engine="eager")


def test_bad_url_parameters_give_a_message_and_defaults():
    at = app(lr_d="-1", evil="<script>alert(1)</script>", batch="x" * 5000, gp="2")
    assert not at.exception
    text = " ".join(w.body for w in at.warning)
    assert "lr_d" in text and "evil" in text and "batch" in text
    cfg = run_of(at).cfg
    assert (cfg.lr_d, cfg.batch, cfg.gp) == (DEFAULT.lr_d, DEFAULT.batch, 2.0)


def test_frames_send_new_points_and_the_same_story_spec():
    """While playing, each frame sends the arena film the newest fakes (the worker trains
    between frames) and the story chart the same spec (the browser updates in place).
    A frame within one film tick of the last snapshot reuses it (Run.snapshot's
    max_age_s), so the second frame comes a tick later, as the page's timer asks."""
    at = app()
    at.button(key="play_pause").click().run()
    first, arena0 = charts_of(at), arena_of(at)
    until_trained(at, arena0["step"] + 5)
    time.sleep(worker.NORMAL.frame_s)  # the film tick at "Normal" with one page
    at.run()
    second, arena1 = charts_of(at), arena_of(at)
    assert arena1["step"] > arena0["step"] and arena1["fake"] != arena0["fake"]
    assert first[0].spec == second[0].spec
    # Between the frames the film fetches newer payloads from its route (film.py).
    token = at.session_state["film"].token
    assert arena1["film"] == {"url": f"/gansim/film/{token}", "every_ms": 400}
    at.button(key="play_pause").click().run()
    assert not at.session_state["playing"] and not run_of(at).worker.alive
    assert arena_of(at)["film"] is None  # paused: nothing to fetch


def test_apply_cure_changes_the_run():
    at = app()
    with run_of(at).lock:
        t = run_of(at).trainer
        t.train(10)
        # A collapsed history (one sharp mode): the diagnosis must offer its cure.
        for step in range(20, 320, 10):
            t.history.append({"step": step, "g_loss": 1.0, "modes": 1, "mass_modes": 1,
                              "hq": 0.95}, mass=[1.0] + [0.0] * 7)
    at.run()
    assert at.button(key="apply_cure")
    cure = None
    for block in at.warning:
        if "Try:" in block.body:
            cure = block.body
    assert cure is not None
    at.button(key="apply_cure").click().run()
    assert not at.exception
    assert run_of(at).cfg != DEFAULT


def test_a_diverged_run_shows_its_message_and_stops():
    at = app()
    at.button(key="play_pause").click().run()

    def blow_up():
        raise Diverged("Training diverged at step 3: the generator's loss became NaN.")

    # Play trains whole steps, or a step's D and G updates when a step overruns a turn.
    run_of(at).trainer.step = run_of(at).trainer.step_d = blow_up
    for _ in range(100):  # the run's worker thread meets the error on its next step
        at.run()
        if not at.session_state["playing"]:
            break
        time.sleep(0.05)
    assert not at.exception
    assert any("diverged" in e.body for e in at.error)
    assert not at.session_state["playing"]


def test_rewind_goes_back_to_a_checkpoint():
    at = app()
    with run_of(at).lock:
        run_of(at).trainer.train(260)  # past the checkpoint at step 250
    at.run()
    assert at.selectbox(key="rewind_to").options == ["step 250", "step 0"]
    at.selectbox(key="rewind_to").set_value(250)
    at.button(key="rewind_go").click().run()
    assert step_shown(at) == 250
    assert any("Rewound to step 250" in i.body for i in at.toast)


def test_lesson_panel_walks_a_lesson():
    at = app()
    at.selectbox(key="lesson_picker").set_value("fixture").run()
    assert not at.exception
    assert run_of(at).cfg.data == "two_gaussians"
    assert "Look at the two real blobs" in " ".join(m.value for m in at.markdown)
    keys = {w.key for w in at.number_input}
    assert "cfg_gp" not in keys  # controls the lesson does not use are hidden
    assert query(at)["lesson"] == "fixture"

    at.button(key="lesson_next").click().run()
    assert query(at)["lesson_step"] == "1"
    assert at.button(key="lesson_run").disabled  # predict first
    at.radio(key="answer_fixture_1").set_value(0).run()
    assert any("Right" in s.body for s in at.success)
    at.button(key="lesson_run").click().run()
    for _ in range(20):
        if not at.session_state["train_left"]:
            break
        at.run()
    assert run_of(at).step == 30 and run_of(at).cfg.lr_d == 0.001
    assert not at.session_state["playing"]

    at.button(key="lesson_next").click().run()
    at.button(key="lesson_run").click().run()
    for _ in range(20):
        if not at.session_state["train_left"]:
            break
        at.run()
    assert run_of(at).cfg.loss == "hinge" and run_of(at).step == 20  # reset, then 20 steps
    at.button(key="lesson_back").click().run()
    assert query(at)["lesson_step"] == "1"

    at.button(key="lesson_explore").click().run()  # "explore freely" unlocks every control
    assert "cfg_gp" in {w.key for w in at.number_input}


def test_a_lesson_link_reproduces_the_step():
    at = app(lesson="fixture", lesson_step="1")
    assert not at.exception
    assert run_of(at).cfg.lr_d == 0.001
    assert "fast discriminator" in " ".join(m.value for m in at.markdown)
    at2 = app(lesson="no_such_lesson")
    assert any("no_such_lesson" in w.body for w in at2.warning)


# --- pure helpers -------------------------------------------------------------------

@pytest.fixture(scope="module")
def snap():
    t = Trainer(Config(device="cpu", g_hidden=16, d_hidden=16, batch=64))
    t.train(20)
    return t.snapshot()


def test_arena_spec_does_not_depend_on_the_data_or_toggles(snap):
    on = charts.arena(snap, arrows=True, manifold=True, circles=True)
    off = charts.arena(snap, arrows=False, manifold=False, circles=False)
    assert spec_json(on) == spec_json(off)
    assert off["datasets"]["arrows"].num_rows == 0 and on["datasets"]["arrows"].num_rows > 0
    assert on["usermeta"]["embedOptions"]["renderer"] == "canvas"
    assert on["datasets"]["landscape"]["url"][0].as_py().startswith("data:image/png;base64,")


def test_landscape_scales():
    prob = charts.landscape_url(np.full((4, 4), 0.5), critic=False)
    img = Image.open(io.BytesIO(__import__("base64").b64decode(prob.split(",")[1])))
    assert img.getpixel((0, 0)) == (247, 247, 247)  # undecided is white
    critic = np.array([[-3.0, 3.0], [0.0, 0.0]])
    img = Image.open(io.BytesIO(__import__("base64").b64decode(
        charts.landscape_url(critic, critic=True).split(",")[1])))
    assert img.getpixel((0, 1)) == (118, 42, 131) and img.getpixel((1, 1)) == (27, 120, 55)
    assert img.getpixel((0, 0)) == (247, 247, 247)  # critic 0 is white, whatever the range


def test_exports_round_trip(snap):
    cfg = Config(loss="hinge", custom_centers=((0.0, 1.0),), gp=1.0)
    assert Config.from_dict(tomllib.loads(export.config_toml(cfg).decode())) == cfg
    assert Config.from_dict(json.loads(export.config_json(cfg))) == cfg
    rows = export.samples_csv(snap).decode().splitlines()
    assert rows[0] == "kind,x,y,mode" and len(rows) == 1 + len(snap.real) + len(snap.fake)
    frames = [(0, snap.fake), (20, snap.fake + 0.1)]
    gif = export.gif(frames, snap.extent, snap.real, snap.centers, snap.stds)
    img = Image.open(io.BytesIO(gif))
    assert gif[:6] == b"GIF89a" and img.n_frames == 2
    with pytest.raises(ValueError, match="no frames"):
        export.gif([], snap.extent, snap.real)


def test_url_round_trip_and_limits():
    cfg = Config(mbstd=True, lr_g=3e-4, custom_weights=(1.0, 2.0))
    assert urlstate.parse(urlstate.to_params(cfg)).config == cfg
    many = {f"k{i}": "1" for i in range(urlstate.MAX_PARAMS + 1)}
    parsed = urlstate.parse(many)
    assert parsed.config == DEFAULT and "parameters" in parsed.warnings[0]
    parsed = urlstate.parse({"loss": "hinge", "label_smoothing": "0.1"})
    assert parsed.config.loss == "hinge" and parsed.config.label_smoothing == 0
    assert "label_smoothing" in parsed.warnings[0]

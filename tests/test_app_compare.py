"""Compare mode and small sweeps in the app (AppTest), plus their pure helpers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from apphelpers import spec_json
from streamlit.testing.v1 import AppTest

from gansim.config import Config
from gansim.ui import charts, compare_view, sweep_panel

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_LESSONS = Path(__file__).parent / "fixtures" / "lessons"
TINY = {"g_hidden": "16", "d_hidden": "16", "batch": "64"}  # fast panes and sweeps


@pytest.fixture(autouse=True)
def fixture_lessons(monkeypatch):
    monkeypatch.setenv("GANSIM_LESSONS", str(FIXTURE_LESSONS))


def app(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "page.py"), default_timeout=60)
    at.query_params.update({**TINY, **params})
    return at.run()


def panes(at: AppTest):
    return at.session_state["compare"].lockstep.trainers


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_compare_from_here_opens_two_panes_of_the_current_config():
    at = app(loss="hinge")
    at.button(key="compare_from_here").click().run()
    assert not at.exception
    assert at.radio(key="view").value == compare_view.VIEW
    cfg = at.session_state["run"].cfg
    assert [t.cfg for t in panes(at)] == [cfg, cfg] and cfg.loss == "hinge"
    assert at.selectbox(key="pane1_loss").value == "hinge"  # pane B starts as a copy
    assert "identical" in captions(at)
    assert len(at.get("vega_lite_chart")) == 2  # a modes curve per pane
    films = [json.loads(e.proto.json) for e in at.get("bidi_component")
             if e.proto.id.split("-")[-1].startswith("cmp_film_")]
    assert len(films) == 2 and all(f["max_side"] == compare_view.ARENA_PX[2] for f in films)
    assert all(len(f["fake"]) == 2 * len(cfg_fakes) for f, cfg_fakes in
               zip(films, [t.snapshot().fake for t in panes(at)]))  # each pane's own film
    assert len(at.dataframe) == 1 and list(at.dataframe[0].value["pane"]) == ["A", "B"]


def test_compare_from_here_branches_from_the_current_state():
    at = app()
    run = at.session_state["run"]
    with run.lock:
        run.trainer.train(40)
        expected = run.trainer.snapshot().fake  # G's image of its fixed latent batch
    at.button(key="compare_from_here").click().run()
    a, b = panes(at)
    assert (a.g_step, b.g_step) == (40, 40), "the panes restarted instead of branching"
    assert len(a.history.as_arrays()["step"]) == len(run.trainer.history.as_arrays()["step"])
    assert np.array_equal(a.snapshot().fake, expected)
    assert np.array_equal(b.snapshot().fake, expected)
    at.number_input(key="pane1_gp").set_value(1.0).run()  # a live setting: back to step 40
    a, b = panes(at)
    assert (a.g_step, b.g_step, b.cfg.gp) == (40, 40, 1.0)
    assert any("back to step 40" in i.body for i in at.info)
    at.text_area(key="pane1_extra").set_value("mbstd=true").run()  # needs fresh networks
    a, b = panes(at)
    assert (a.g_step, b.g_step) == (0, 0) and b.cfg.mbstd
    assert any("needs fresh networks" in i.body for i in at.info)


def test_a_pane_settings_panel_stays_open_while_edited():
    at = app()
    at.button(key="compare_from_here").click().run()
    at.session_state["pane1_settings_open"] = True  # the student opens pane B's Settings
    at.run()
    for value in (1.0, 2.0):  # each edit reruns the page and restarts the panes
        at.number_input(key="pane1_gp").set_value(value).run()
        opened = [e.proto.expanded for e in at.expander if e.label == "Settings"]
        assert opened == [False, True], "pane B's Settings closed after an edit"


def test_pane_changes_show_as_differences_and_bad_ones_are_refused():
    at = app()
    at.radio(key="view").set_value(compare_view.VIEW).run()  # opens panes like the button
    at.number_input(key="pane1_gp").set_value(10.0).run()
    assert not at.exception
    assert [t.cfg.gp for t in panes(at)] == [0.0, 10.0]
    assert "Differences: **gp** (A: 0, B: 10)" in captions(at)
    assert any("gp=10" in m.value for m in at.markdown)  # pane B's badge
    assert any("back to step 0" in i.body for i in at.info)  # the branch point

    at.text_area(key="pane1_extra").set_value("mbstd=true").run()
    assert panes(at)[1].cfg.mbstd and "**mbstd**" in captions(at)
    at.text_area(key="pane1_extra").set_value("lss=1").run()
    assert any("unknown setting 'lss'" in e.body for e in at.error)
    assert panes(at)[1].cfg.mbstd  # the pane keeps its last good settings
    at.text_area(key="pane1_extra").set_value("seed=3").run()
    assert any("share one seed" in e.body for e in at.error)  # Lockstep's own words
    assert panes(at)[1].cfg.seed == 0


def test_step_and_play_advance_every_pane_equally():
    at = app()
    at.button(key="compare_from_here").click().run()
    at.selectbox(key="pane1_loss").set_value("least_squares").run()
    at.button(key="cmp_step").click().run()
    at.button(key="cmp_step").click().run()
    assert [t.g_step for t in panes(at)] == [2, 2]
    at.button(key="cmp_add").click().run()
    assert len(panes(at)) == 3 and [t.g_step for t in panes(at)] == [0, 0, 0]
    assert list(at.dataframe[0].value["pane"]) == ["A", "B", "C"]
    assert at.selectbox(key="pane2_loss").value == "least_squares"  # a copy of the last

    at.button(key="cmp_play").click().run()
    first = [e.proto.spec for e in at.get("vega_lite_chart")]
    at.run()
    steps = [t.g_step for t in panes(at)]
    assert steps[0] > 0 and len(set(steps)) == 1
    assert [e.proto.spec for e in at.get("vega_lite_chart")] == first  # updated in place
    assert list(at.dataframe[0].value["step"]) == steps
    at.button(key="cmp_pause").click().run()
    assert not at.session_state["cmp_playing"]
    at.button(key="cmp_remove").click().run()
    assert len(panes(at)) == 2


def finish_sweep(at: AppTest) -> None:
    worker = at.session_state["sweep_worker"]
    assert worker is not None, "the sweep did not start"
    worker.join(120)
    at.run()  # the progress fragment sees the end and shows the table


def test_a_sweep_survives_clicks_elsewhere_and_the_grid_survives_views():
    at = app()
    at.radio(key="view").set_value(sweep_panel.VIEW).run()
    at.text_area(key="sweep_grid").set_value("loss=nonsaturating,hinge").run()
    at.number_input(key="sweep_seeds").set_value(1)
    at.number_input(key="sweep_steps").set_value(150)
    at.button(key="sweep_run").click().run()
    worker = at.session_state["sweep_worker"]
    assert worker.running
    at.radio(key="view").set_value("Single run").run()  # clicks elsewhere mid-sweep
    at.button(key="step_both").click().run()
    assert worker.running or worker.result is not None, "a click stopped the sweep"
    at.radio(key="view").set_value(sweep_panel.VIEW).run()
    assert at.text_area(key="sweep_grid").value == "loss=nonsaturating,hinge"
    finish_sweep(at)
    assert list(at.session_state["sweep_result"]["setting"]) == [
        "loss=nonsaturating", "loss=hinge"]
    assert "| loss=hinge | 1 | 0 |" in " ".join(m.value for m in at.markdown)


def test_a_small_sweep_runs_in_the_app_and_a_bad_grid_runs_nothing():
    at = app()
    at.radio(key="view").set_value(sweep_panel.VIEW).run()
    at.text_area(key="sweep_grid").set_value("loss=nonsaturating,hinge")
    at.number_input(key="sweep_seeds").set_value(1)
    at.number_input(key="sweep_steps").set_value(20)
    at.button(key="sweep_run").click().run()
    finish_sweep(at)
    assert not at.exception and not at.error
    df = at.session_state["sweep_result"]
    assert list(df["setting"]) == ["loss=nonsaturating", "loss=hinge"]
    table = " ".join(m.value for m in at.markdown)
    assert "| loss=hinge | 1 | 0 |" in table
    assert at.get("vega_lite_chart")
    assert "--grid loss=nonsaturating,hinge --seeds 1 --steps 20" in at.code[0].value

    at.text_area(key="sweep_grid").set_value("lr_d=0.001,-1")
    at.button(key="sweep_run").click().run()
    assert [e.body for e in at.error] == ["grid setting 'lr_d=-1': lr_d must be in (0, 1], "
                                          "got -1.0"]
    assert at.session_state["sweep_result"] is df  # nothing ran

    at.text_area(key="sweep_grid").set_value("gp=0,1,2\nunroll=0,1,2")
    at.button(key="sweep_run").click().run()
    assert "9 settings" in at.error[0].body and "command line" in at.error[0].body


# --- pure helpers -------------------------------------------------------------------

def test_extras_round_trip_and_errors():
    base = Config()
    cfg = base.replace(mbstd=True, r1=1.0, gp=10.0, custom_stds=(0.1,))
    text = compare_view.extras_text(cfg, base)
    assert "gp" not in text  # gp has its own box
    assert base.replace(gp=10.0, **compare_view.parse_extras(text)) == cfg
    assert compare_view.parse_extras("# a note\n\n r1 = 2 ") == {"r1": 2.0}
    for bad, words in [("r1", "expected key=value"), ("gp=1", "its own box"),
                       ("r1=1\nr1=2", "given twice"), ("r1=x", "r1 must be a float")]:
        with pytest.raises(ValueError, match=words):
            compare_view.parse_extras(bad)


def test_sweep_plan_limits_and_command():
    base = Config(g_hidden=16)
    jobs = sweep_panel.plan(base, "loss=nonsaturating,hinge\ngp=0,10", seeds=3, steps=3000)
    assert len(jobs) == 12
    for grid, seeds, steps, words in [("", 1, 10, "empty"), ("gp=0,1", 4, 10, "1 to 3 seeds"),
                                      ("gp=0,1", 1, 3001, "3,000 steps"),
                                      ("gp", 1, 10, "expects key=v1,v2"),
                                      ("seed=1,2", 1, 10, "--seeds")]:
        with pytest.raises(ValueError, match=words):
            sweep_panel.plan(base, grid, seeds, steps)
    command = sweep_panel.cli_command(base, "gp=0,10", 2, 500)
    assert command.startswith("python -m gansim sweep --set g_hidden=16 --grid gp=0,10")


def test_pane_arena_size_and_modes_curve():
    from gansim.trainer import Trainer

    t = Trainer(Config(g_hidden=16, d_hidden=16, batch=64), eval_every=10)
    t.train(20)
    snap = t.snapshot()
    small = charts.arena(snap, px=215)
    assert small["width"] == small["height"] == 215
    assert spec_json(small) != spec_json(charts.arena(snap))
    curve = charts.modes_curve(snap, width=200)
    assert curve["datasets"]["modes"].num_rows == 2  # evaluations at steps 10 and 20
    assert curve["encoding"]["y"]["scale"]["domain"] == [0, 8]

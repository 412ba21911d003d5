"""The Dirac-GAN view in a tiny page: its charts, its verdict, its widgets and clicks."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from gansim.game_config import GAME_FIELDS, GameConfig
from gansim.ui import game_view


def page():
    import json as _json

    import streamlit as st

    from gansim.game_config import GameConfig as Game
    from gansim.ui import game_view as view

    click = st.session_state.pop("test_click", None)
    if click:  # AppTest cannot click a chart: call its callback as Streamlit would
        view._clicked(click)
    cfg = Game.from_dict(_json.loads(st.session_state.get("test_game", "{}")))
    st.session_state.returned = view.render(cfg.replace(steps=120))


def open_page(**game) -> AppTest:
    at = AppTest.from_function(page, default_timeout=120)
    at.session_state["test_game"] = json.dumps(game)
    return at.run()


def verdict_of(at: AppTest) -> str:
    boxes = [*at.success, *at.info, *at.warning]
    (box,) = [b for b in boxes if b.value.split(":")[0] in
              ("Converges", "Circles (neither in nor out)", "Spirals out", "Moves out",
               "Neither in nor out", "No verdict from the eigenvalues")]
    return box.value


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]


def layer_names(spec: dict) -> set[str]:
    return {layer.get("name") for layer in spec.get("layer", [])}


def test_the_plane_and_both_eigenvalue_plots_are_drawn():
    at = open_page()
    assert not at.exception
    specs = chart_specs(at)
    assert len(specs) == 3
    assert {"targets", "arrows", "path"} <= layer_names(specs[0])
    titles = [s.get("title", {}) for s in specs[1:]]
    assert [t if isinstance(t, str) else t.get("text") for t in titles] == [
        "Field's Jacobian at (0, 0)", "One update at (0, 0)"]
    assert all("eigenvalues" in layer_names(s) for s in specs[1:])


@pytest.mark.parametrize("game,first_words", [
    ({}, "Spirals out"),  # the plain game, simultaneous steps
    ({"r1": 1.0}, "Converges"),
    ({"updates": "alternating"}, "Circles (neither in nor out)"),
])
def test_the_verdict_matches_the_settings(game, first_words):
    at = open_page(**game)
    assert verdict_of(at).startswith(first_words + ":")


def test_changing_a_widget_changes_the_verdict_and_the_returned_game():
    at = open_page()
    assert verdict_of(at).startswith("Spirals out")
    at.number_input(key="game_r1").set_value(1.0).run()
    assert not at.exception
    assert verdict_of(at).startswith("Converges")
    assert at.session_state["returned"] == GameConfig(r1=1.0, steps=120)
    at.selectbox(key="game_updates").set_value("alternating").run()
    assert at.session_state["returned"].updates == "alternating"


def test_every_field_has_a_widget_with_its_range_and_help():
    at = open_page()
    widgets = {w.key[len("game_"):]: w for w in [*at.number_input, *at.selectbox]
               if w.key.startswith("game_")}
    assert set(widgets) == set(GAME_FIELDS)
    assert widgets["d_steps"].max == GAME_FIELDS["d_steps"].check.hi
    assert widgets["r1"].help == GAME_FIELDS["r1"].help
    assert list(widgets["loss"].options) == list(GAME_FIELDS["loss"].check.options)


def test_the_step_slider_and_a_click_move_the_drawn_path():
    at = open_page()
    path = [layer for layer in chart_specs(at)[0]["layer"] if layer.get("name") == "path"][0]
    assert len(_values(chart_specs(at)[0], path)) == 121  # start + 120 steps
    at.slider(key="game_step").set_value(10).run()
    spec = chart_specs(at)[0]
    path = [layer for layer in spec["layer"] if layer.get("name") == "path"][0]
    assert len(_values(spec, path)) == 11
    at.session_state["game_plane_0"] = {"selection": {"start": [{"theta": 0.5, "psi": -0.25}]}}
    game_view_click(at, "game_plane_0")
    spec = chart_specs(at)[0]
    path = [layer for layer in spec["layer"] if layer.get("name") == "path"][0]
    assert _values(spec, path)[0][:2] == [0.5, -0.25]


def _values(spec: dict, layer: dict) -> list:
    data = layer["data"]
    rows = data["values"] if "values" in data else spec["datasets"][data["name"]]
    return [[r["t"], r["p"], r["step"]] for r in rows]


def game_view_click(at: AppTest, key: str) -> None:
    """What Streamlit does on a click: the selection lands in the session, the chart's
    callback runs, then the page."""
    at.session_state["test_click"] = key
    at.run()


def test_a_click_sets_the_start_point_in_the_game_and_its_widgets():
    at = open_page()
    at.session_state["game_plane_0"] = {"selection": {"start": [{"theta": 0.75, "psi": -1.5}]}}
    game_view_click(at, "game_plane_0")
    assert not at.exception
    assert (at.number_input(key="game_theta0").value, at.number_input(key="game_psi0").value) \
        == (0.75, -1.5)
    assert (at.session_state["returned"].theta0, at.session_state["returned"].psi0) == (0.75, -1.5)
    assert at.session_state["game"] == at.session_state["returned"]  # what the link writes
    assert at.session_state["game_chart"] == 1  # a fresh chart: the click is handled once


def test_a_click_beyond_the_start_range_starts_at_its_edge():
    at = open_page()
    at.session_state["game_plane_0"] = {"selection": {"start": [{"theta": 9.0, "psi": -7.5}]}}
    game_view_click(at, "game_plane_0")
    assert not at.exception
    assert (at.session_state["returned"].theta0, at.session_state["returned"].psi0) == (5.0, -5.0)


def test_query_params_round_trip():
    cfg = GameConfig(r1=0.5, updates="alternating")
    params = game_view.query_params(cfg)
    assert params == {"dirac_r1": "0.5", "dirac_updates": "alternating"}
    assert GameConfig.from_query(params) == cfg


def test_the_slider_follows_the_paths_end_unless_moved():
    at = open_page()
    at.number_input(key="game_steps").set_value(200).run()
    assert at.slider(key="game_step").value == 200  # was at the end: stays at the end
    at.slider(key="game_step").set_value(30).run()
    at.number_input(key="game_steps").set_value(250).run()
    assert at.slider(key="game_step").value == 30  # moved by the class: stays put
    assert not at.exception and not at.warning[1:]  # no widget-state warning beside the verdict

"""The arena film's payload: the Vega arena's colours, rules and box as compact rounded
lists, small enough to send several times a second; and a page that mounts it runs."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gansim import Config, Trainer
from gansim.snapshot import GRID
from gansim.ui import charts
from gansim.ui.arena_payload import arena_payload, decimals

MAX_BYTES = 60_000  # about 0.5 MB/s at 8 payloads a second


@pytest.fixture(scope="module")
def trainer():
    t = Trainer(Config(g_hidden=32, d_hidden=32, batch=64, z_dim=2), log_every=5, eval_every=10)
    t.train(20)
    return t


@pytest.fixture(scope="module")
def snap(trainer):
    return trainer.snapshot()


def _pairs(flat_list) -> np.ndarray:
    return np.array(flat_list, dtype=float).reshape(-1, 2)


def test_points_and_landscape_keep_every_value_to_a_sub_pixel(snap):
    p = arena_payload(snap)
    span = snap.extent[1] - snap.extent[0]
    step = 10.0 ** -decimals(span)
    assert step <= span / 2000  # finer than a pixel of a 2000 px wide arena
    for name in ("fake", "real"):
        got = _pairs(p[name])
        assert got.shape == getattr(snap, name).shape
        assert np.abs(got - getattr(snap, name)).max() <= step / 2 + 1e-9
    assert p["d"]["shape"] == [GRID, GRID] and len(p["d"]["values"]) == GRID * GRID
    # Row-major [iy, ix] with row 0 at ymin, as the snapshot's grid.
    assert p["d"]["values"][GRID + 2] == pytest.approx(snap.d_grid[1, 2], abs=5e-4)
    assert p["d"]["scale"] == "probability"
    assert p["box"] == list(snap.extent)


def test_the_box_stays_fixed_while_training_moves_the_points(trainer, snap):
    before = arena_payload(snap)
    trainer.train(5)
    after = arena_payload(trainer.snapshot())
    assert after["box"] == before["box"]
    assert after["fake"] != before["fake"] and after["step"] == before["step"] + 5


def test_fake_colours_follow_the_vega_arenas_nearest_mode_rule(snap):
    p = arena_payload(snap)
    rows = charts.fake_rows(snap).to_pydict()
    assert [charts.PALETTE[i] for i in p["fake_colour"]] == list(rows["color"])
    faint = [charts.FAR_OPACITY if far else charts.HQ_OPACITY for far in p["fake_far"]]
    assert faint == list(rows["opacity"])


def test_a_collapsed_generator_beside_one_mode_is_one_faint_colour(snap):
    c = snap.centers[2]  # every fake 0.3 from mode 2: 15σ out at std 0.02
    fake = c + 0.3 + 0.02 * np.random.default_rng(0).standard_normal(snap.fake.shape)
    p = arena_payload(dataclasses.replace(snap, fake=fake, fake_mode=np.full(len(fake), -1)))
    assert set(p["fake_colour"]) == {2} and set(p["fake_far"]) == {1}


def test_without_modes_every_fake_takes_the_no_modes_colour(snap):
    p = arena_payload(dataclasses.replace(snap, centers=None, stds=None,
                                          fake_mode=np.full(len(snap.fake), -1)))
    assert set(p["fake_colour"]) == {-1} and p["rings"] == {"centres": [], "radii": []}


@pytest.mark.parametrize("std", [0.02, 0.5])
def test_rings_are_3_sigma_but_never_narrower_than_3_percent_of_the_box(snap, std):
    s = dataclasses.replace(snap, stds=np.full(len(snap.centers), std))
    radii = arena_payload(s)["rings"]["radii"]
    floor = charts.MIN_RING * (snap.extent[1] - snap.extent[0])
    assert radii == pytest.approx([max(3 * std, floor)] * len(snap.centers), abs=1e-3)


def test_arrows_are_scaled_so_the_longest_is_8_percent_of_the_box(snap):
    p = arena_payload(snap)
    vec = _pairs(p["arrows"])
    assert len(vec) == charts.ARROWS
    span = snap.extent[1] - snap.extent[0]
    assert np.linalg.norm(vec, axis=1).max() == pytest.approx(0.08 * span, abs=2e-3)
    assert arena_payload(snap, show_arrows=False)["arrows"] == []


def test_toggles_leave_out_the_manifold_and_rings(snap):
    on = arena_payload(snap, show_manifold=True)
    assert on["manifold"]["lines"] == snap.manifold.shape[0] > 0
    assert len(on["manifold"]["xy"]) == snap.manifold.size
    off = arena_payload(snap, show_manifold=False, show_rings=False)
    assert off["manifold"]["xy"] == [] and off["rings"]["radii"] == []


def test_a_critics_landscape_is_symmetric_around_zero(snap):
    grid = np.linspace(-3.0, 1.0, GRID * GRID).reshape(GRID, GRID)
    d = arena_payload(dataclasses.replace(snap, d_grid=grid, critic=True))["d"]
    assert d["scale"] == "critic" and d["bound"] == pytest.approx(3.0)
    assert d["range"] == pytest.approx([-3.0, 1.0])


def test_a_diverged_point_is_sent_as_null_never_as_nan(snap):
    fake = snap.fake.copy()
    fake[3] = [np.nan, np.inf]
    p = arena_payload(dataclasses.replace(snap, fake=fake))
    assert p["fake"][6:8] == [None, None]
    json.dumps(p, allow_nan=False)  # the browser's JSON.parse has no NaN


def test_the_payload_is_small_enough_to_send_many_times_a_second(snap):
    default = len(json.dumps(arena_payload(snap)))
    everything = len(json.dumps(arena_payload(snap, show_manifold=True)))
    print(f"\narena payload: {default} bytes by default, {everything} with the manifold")
    assert default < everything < MAX_BYTES


def _page():
    import streamlit as st

    from gansim import Config, Trainer
    from gansim.ui.arena_canvas import arena_payload, draw

    t = Trainer(Config(g_hidden=16, d_hidden=16, batch=32), log_every=5, eval_every=10)
    t.train(2)
    draw(arena_payload(t.snapshot()), key="arena", leave_px=410)
    draw(arena_payload(t.snapshot(), show_arrows=False), key="small", height=300,
         on_click=lambda: None)
    draw(arena_payload(t.snapshot()), key="pane", max_side=180)
    for bad in ({"height": 50}, {"max_side": 30}):
        try:
            draw(arena_payload(t.snapshot()), key="tiny", **bad)
        except ValueError as e:
            st.write(str(e))


def test_a_page_that_draws_the_film_runs():
    at = AppTest.from_function(_page, default_timeout=60).run()
    assert not at.exception, at.exception
    assert "height must be at least 120 px" in at.markdown[0].value
    assert "got 50" in at.markdown[0].value
    assert at.markdown[1].value == "max_side must be at least 60 px, got 30"
    films = {e.proto.id.split("-")[-1]: json.loads(e.proto.json) for e in at.get("bidi_component")}
    assert films["pane"]["max_side"] == 180 and films["arena"]["max_side"] is None

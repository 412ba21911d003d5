"""What the charts draw: fakes coloured by their nearest mode, rings visible at the data's
scale, readable axes and legends, and a mass-per-mode view that keeps the whole run."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from gansim import Config, Trainer
from gansim.snapshot import nearest_modes
from gansim.ui import charts


@pytest.fixture(scope="module")
def snap():
    t = Trainer(Config(g_hidden=32, d_hidden=32, batch=64), log_every=5, eval_every=10)
    t.train(20)
    return t.snapshot()


def test_nearest_modes_names_the_closest_centre_however_far():
    centers = np.array([[0.0, 0.0], [2.0, 0.0]])
    pts = np.array([[0.1, 0.0], [1.9, 5.0], [-40.0, 3.0], [1.2, 0.0]])
    assert nearest_modes(pts, centers).tolist() == [0, 1, 0, 1]


def test_a_collapsed_generator_beside_one_mode_is_one_faint_colour(snap):
    # Every fake 0.3 from mode 2: 15σ away at std 0.02, so none is high quality.
    c = snap.centers[2]
    rng = np.random.default_rng(0)
    fake = c + 0.3 + 0.02 * rng.standard_normal(snap.fake.shape)
    collapsed = dataclasses.replace(snap, fake=fake, fake_mode=np.full(len(fake), -1))
    rows = charts.fake_rows(collapsed).to_pydict()
    assert set(rows["color"]) == {charts.PALETTE[2]}
    assert set(rows["opacity"]) == {charts.FAR_OPACITY}
    on_mode = dataclasses.replace(collapsed, fake=c + 0.01 * rng.standard_normal(fake.shape),
                                  fake_mode=np.full(len(fake), 2))
    rows = charts.fake_rows(on_mode).to_pydict()
    assert set(rows["color"]) == {charts.PALETTE[2]} and set(rows["opacity"]) == {charts.HQ_OPACITY}


def _ring_radius(rows: dict, mode: int, center) -> float:
    pts = [(x, y) for x, y, m in zip(rows["x"], rows["y"], rows["mode"]) if m == mode]
    return float(np.median([np.hypot(x - center[0], y - center[1]) for x, y in pts]))


@pytest.mark.parametrize("std", [0.02, 0.5])
def test_rings_are_3_sigma_but_never_smaller_than_visible(snap, std):
    s = dataclasses.replace(snap, stds=np.full(len(snap.centers), std))
    radius = _ring_radius(charts.circle_rows(s).to_pydict(), 0, snap.centers[0])
    floor = charts.MIN_RING * (snap.extent[1] - snap.extent[0])
    assert radius == pytest.approx(max(3 * std, floor), rel=1e-6)
    px = radius / (snap.extent[1] - snap.extent[0]) * charts.ARENA_PX
    assert px >= 10, f"a ring {px:.1f} px across hides under the real dots"


def _panel(spec: dict, dataset: str) -> dict:
    for panel in spec["concat"]:
        layers = panel.get("layer", [panel])
        if any(l.get("data", {}).get("name") == dataset for l in layers):
            return layers[0]
    raise KeyError(dataset)


def test_hq_axis_is_a_percentage_and_legends_match_the_loss(snap):
    spec = charts.story(snap)
    hq = _panel(spec, "hq")
    assert hq["encoding"]["y"]["axis"]["format"] == ".0%"
    values = spec["datasets"]["hq"].column("value").to_numpy()
    assert len(values) and 0 <= values.min() and values.max() <= 1
    scores = _panel(spec, "scores")["encoding"]["color"]["scale"]["domain"]
    assert scores == ["score_G", "score_D"]
    critic = charts.story(dataclasses.replace(snap, critic=True))
    assert _panel(critic, "scores")["encoding"]["color"]["scale"]["domain"] == [
        "critic on real", "critic on fake"]
    assert "critic" not in json.dumps(_panel(spec, "scores"))


def test_mass_per_mode_spans_the_whole_run_and_is_smoothed():
    # 5,000 evaluations over 50k steps: collapse onto mode 0, then the cure spreads G.
    rng = np.random.default_rng(1)
    steps = np.arange(10, 50_001, 10, dtype=float)
    mass = []
    for s in steps:
        base = np.r_[1.0, np.zeros(7)] if s < 25_000 else np.full(8, 1 / 8)
        noisy = np.clip(base + 0.05 * rng.standard_normal(8), 0, None)
        mass.append(list(noisy / noisy.sum()))
    rows = charts.mass_rows(steps, mass).to_pydict()
    drawn = sorted(set(rows["step"]))
    assert len(drawn) <= charts.MASS_COLUMNS
    assert drawn[0] <= steps[0] + 50_000 / charts.MASS_COLUMNS and drawn[-1] == steps[-1]
    late = np.array([m for s, m, i in zip(rows["step"], rows["mass"], rows["mode_i"])
                     if s > 30_000 and i == 3])
    raw = np.array([m[3] for s, m in zip(steps, mass) if s > 30_000])
    assert late.std() < raw.std() / 3, "the bands still jitter like single evaluations"
    assert late.mean() == pytest.approx(1 / 8, abs=0.02)

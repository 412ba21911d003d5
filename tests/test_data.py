import io
import math

import numpy as np
import pytest
import torch

from gansim.data import MAX_POINTS, PRESETS, kmeans_modes, load_points_csv, make_dataset, ring

CPU = torch.device("cpu")


def draw(ds, n=20_000, seed=0):
    return ds.sample_torch(n, torch.Generator().manual_seed(seed), CPU).numpy()


def test_ring8_has_eight_distinct_modes_at_radius_2():
    ds = make_dataset("ring8")
    assert ds.n_modes == 8
    assert np.allclose(np.linalg.norm(ds.centers, axis=1), 2.0)
    # 2πk/8: neighbours 45° apart, none repeated (linspace(0, 2π, 8) would repeat one).
    gaps = np.sort(np.linalg.norm(ds.centers[:, None] - ds.centers[None], axis=-1), 1)[:, 1]
    assert np.allclose(gaps, 2 * 2.0 * math.sin(math.pi / 8))
    assert np.allclose(ds.stds, 0.02) and ds.weights.sum() == pytest.approx(1.0)


def test_grid25_is_the_veegan_lattice():
    ds = make_dataset("grid25")
    got = {tuple(c) for c in np.round(ds.centers, 6)}
    assert got == {(x, y) for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (-4.0, -2.0, 0.0, 2.0, 4.0)}
    assert np.allclose(ds.stds, 0.05)


def test_samples_follow_the_weights_and_stds():
    ds = make_dataset("ring8_imbalanced")
    x = draw(ds)
    idx = np.linalg.norm(x[:, None] - ds.centers[None], axis=-1).argmin(1)
    share = np.bincount(idx, minlength=8) / len(x)
    assert share == pytest.approx(ds.weights, abs=0.01)
    spread = x - ds.centers[idx]
    assert spread.std() == pytest.approx(0.02, rel=0.05)


def test_same_generator_same_samples():
    ds = make_dataset("grid25")
    assert np.array_equal(draw(ds, 100, 3), draw(ds, 100, 3))
    assert not np.array_equal(draw(ds, 100, 3), draw(ds, 100, 4))


def test_extent_holds_every_mode_with_a_margin():
    for name in PRESETS:
        ds = make_dataset(name)
        x0, x1, y0, y1 = ds.extent
        assert x1 - x0 == pytest.approx(y1 - y0)  # square: circles look round
        assert (ds.centers[:, 0] > x0 + 0.5).all() and (ds.centers[:, 0] < x1 - 0.5).all()


def test_custom_mixture_from_config_lists():
    ds = make_dataset("custom", {"centers": [[0, 0], [3, 3]], "stds": [0.2], "weights": [1, 3]})
    assert ds.weights == pytest.approx([0.25, 0.75]) and np.allclose(ds.stds, 0.2)
    with pytest.raises(ValueError, match="custom"):
        make_dataset("custom", None)
    with pytest.raises(ValueError, match="ring8"):
        make_dataset("ring9")


def csv_text(points, header=True):
    lines = (["x,y"] if header else []) + [f"{a},{b}" for a, b in points]
    return "\n".join(lines)


def test_points_csv_loads_and_kmeans_finds_the_clusters():
    x = draw(ring(4, 3.0, 0.1), 2000)
    cloud = load_points_csv(csv_text(x).encode(), k=4)
    assert cloud.points.shape == (2000, 2) and cloud.n_modes == 4
    found = np.sort(np.round(np.linalg.norm(cloud.centers, axis=1), 1))
    assert found == pytest.approx([3.0] * 4, abs=0.1)
    assert cloud.stds == pytest.approx([0.1] * 4, rel=0.2)
    plain = load_points_csv(io.StringIO(csv_text(x, header=False)))
    assert plain.n_modes == 0
    s = plain.sample_torch(50, torch.Generator().manual_seed(0), CPU)
    assert s.shape == (50, 2)


@pytest.mark.parametrize("text, says", [
    ("x,y\n1,2\n", "at least 10 rows"),
    ("\n".join(["1,2"] * 9 + ["1,2,3"]), "row 10 has 3 columns"),
    ("\n".join(["1,2"] * 9 + ["1,abc"]), "row 10 is not two numbers"),
    ("\n".join(["1,2"] * 9 + ["nan,1"]), "NaN or infinity"),
    ("\n".join(["1,2"] * 9 + ["inf,1"]), "NaN or infinity"),
    # Finite, but past float32: it used to overflow and be called "NaN or infinity".
    ("\n".join(["1,2"] * 9 + ["1e300,1"]), r"row 10 holds 1e\+300, outside the range ±1e\+06"),
    ("\n".join(["1,2"] * 9 + ["2,-3e7"]), r"row 10 holds -3e\+07, .*divide by 100"),
])
def test_bad_csv_gets_a_clear_error(text, says):
    with pytest.raises(ValueError, match=says):
        load_points_csv(text)


def test_csv_size_and_encoding_limits():
    with pytest.raises(ValueError, match="at most 100,000"):
        load_points_csv("\n".join(["1,2"] * (MAX_POINTS + 1)))
    with pytest.raises(ValueError, match="UTF-8"):
        load_points_csv(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="k"):
        load_points_csv("\n".join(["1,2"] * 20), k=99)


def test_kmeans_is_deterministic():
    x = draw(make_dataset("ring8"), 800)
    a, b = kmeans_modes(x, 8, seed=1), kmeans_modes(x, 8, seed=1)
    assert np.array_equal(a[0], b[0])

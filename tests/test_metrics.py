import math

import numpy as np
import pytest
import torch

from gansim.data import make_dataset
from gansim.metrics import (HQ_STDS, hq_labels, mode_stats, nearest_mode, precision_recall,
                            reverse_kl, sliced_wasserstein)

RING = make_dataset("ring8")
# In 2-D, P(‖x − μ‖ < 3σ) = 1 − exp(−9/2) ≈ 98.9 % (the 1-D "99.7 %" rule does not apply).
HQ_2D = 1 - math.exp(-4.5)


def exact(ds, n=2500, seed=0):
    return ds.sample_torch(n, torch.Generator().manual_seed(seed), torch.device("cpu")).numpy()


def stats(x, ds=RING):
    return mode_stats(x, ds.centers, ds.stds, ds.weights)


def test_exact_ring_samples_cover_all_modes_with_2d_three_sigma_quality():
    s = stats(exact(RING, 20_000))
    assert (s.modes, s.modes_any, s.mass_modes) == (8, 8, 8)
    assert s.hq == pytest.approx(HQ_2D, abs=0.003)
    assert s.reverse_kl == pytest.approx(0.0, abs=0.005)
    assert s.mass.sum() == pytest.approx(1.0)


def test_one_mode_counts_as_one_and_kl_is_log_k():
    x = RING.centers[3] + 0.02 * np.random.default_rng(0).standard_normal((2500, 2))
    s = stats(x)
    assert (s.modes, s.modes_any, s.mass_modes) == (1, 1, 1)
    assert s.reverse_kl == pytest.approx(math.log(8))
    assert s.mass[3] == 1.0


def test_far_samples_are_not_high_quality():
    s = stats(np.zeros((100, 2)))  # the ring's centre: 100 stds from every mode
    assert s.hq == 0.0 and s.modes == 0 and s.modes_any == 0
    assert math.isinf(s.reverse_kl)
    assert s.mass_modes >= 1  # mass still has a nearest mode


def test_strict_count_ignores_modes_under_one_percent():
    x = np.concatenate([np.repeat(RING.centers[:1], 2490, 0), np.repeat(RING.centers[1:2], 10, 0)])
    s = stats(x)
    assert s.modes_any == 2 and s.modes == 1


def test_nearest_mode_distance_in_stds():
    idx, dist = nearest_mode(np.array([[2.0, 0.06]]), RING.centers, RING.stds)
    assert idx[0] == 0 and dist[0] == pytest.approx(3.0)


def test_reverse_kl_against_unequal_weights():
    p = np.array([0.5, 0.25, 0.25])
    assert reverse_kl(np.array([2.0, 1.0, 1.0]), p) == pytest.approx(0.0)
    assert reverse_kl(np.array([1.0, 0.0, 0.0]), p) == pytest.approx(math.log(2))


def test_precision_recall_same_vs_collapsed():
    real = exact(RING, 2500, 0)
    p, r = precision_recall(real, exact(RING, 2500, 1))
    assert p > 0.9 and r > 0.9
    collapsed = RING.centers[0] + 0.02 * np.random.default_rng(1).standard_normal((2500, 2))
    p, r = precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.2  # every fake is realistic, 7/8 of the real data is missed
    with pytest.raises(ValueError, match="k=3"):
        precision_recall(real[:3], real)


def brute_force_precision_recall(real, fake, k=3):
    """The definition, straight: full distance matrices, k-th other neighbour's distance."""
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    def radius(x):
        d = dist(x, x)
        np.fill_diagonal(d, np.inf)
        return np.sort(d, 1)[:, k - 1]

    fr = dist(fake.astype(float), real.astype(float))
    return (fr <= radius(real)[None]).any(1).mean(), (fr <= radius(fake)[:, None]).any(0).mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_precision_recall_equals_the_definition(seed):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(1500, 2)).astype(np.float32)
    fake = (rng.normal(size=(1300, 2)) * 1.5 + 0.5).astype(np.float32)
    fake[:40] = fake[40:80]  # duplicates: a point at distance 0 is still a neighbour
    want = brute_force_precision_recall(real, fake)
    assert precision_recall(real, fake) == pytest.approx(want, abs=1e-12)


def test_sliced_wasserstein_zero_for_same_set_and_grows_with_a_shift():
    x = exact(RING, 2000)
    assert sliced_wasserstein(x, x) == 0.0
    shifted = sliced_wasserstein(x, x + np.array([1.0, 0.0]))
    assert shifted == pytest.approx(2 / math.pi, abs=0.05)  # E|cos θ| over directions
    assert sliced_wasserstein(x, x[:500] + 1.0) > 0.5  # unequal sizes via quantiles


def test_mass_modes_is_relative_to_each_modes_weight():
    # A perfectly covered grid25 gives each mode 4 % of the samples: every one must
    # count, although 4 % is below ring8's 5 % bar.
    grid = make_dataset("grid25")
    s = mode_stats(np.repeat(grid.centers, 100, 0), grid.centers, grid.stds, grid.weights)
    assert s.mass_modes == 25
    # A mode with a fifth of its fair share does not count.
    x = np.concatenate([np.repeat(grid.centers[:24], 100, 0), np.repeat(grid.centers[24:], 20, 0)])
    assert mode_stats(x, grid.centers, grid.stds, grid.weights).mass_modes == 24


def test_hq_labels_mark_points_beyond_the_hq_radius_and_agree_with_mode_stats():
    centers, stds = np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([1.0, 0.5])
    x = np.array([[HQ_STDS - 0.01, 0.0], [HQ_STDS + 0.01, 0.0], [10.0, 0.5 * HQ_STDS - 0.01],
                  [10.0, 0.5 * HQ_STDS + 0.01]])
    assert hq_labels(x, centers, stds).tolist() == [0, -1, 1, -1]
    sample = exact(RING, 2000)
    w = np.full(len(RING.centers), 1 / len(RING.centers))
    share = (hq_labels(sample, RING.centers, RING.stds) >= 0).mean()
    assert share == pytest.approx(mode_stats(sample, RING.centers, RING.stds, w).hq, abs=0)

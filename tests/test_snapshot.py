import numpy as np
import pytest
import torch

from gansim import Config, Trainer
from gansim.snapshot import GRID, LINE_POINTS, MANIFOLD, density, histogram, latent_lines

SMALL = dict(g_hidden=32, d_hidden=32, batch=64)


def test_snapshot_arrays_and_fixed_frame():
    t = Trainer(Config(**SMALL), log_every=5, eval_every=10)
    t.train(20)
    a = t.snapshot()
    assert a.real.shape == (512, 2) and a.fake.shape == (512, 2)
    assert a.d_grid.shape == (GRID, GRID) and a.manifold.shape == (0, LINE_POINTS, 2)  # z_dim 64: no grid
    assert a.fake_mode.min() >= -1 and a.fake_mode.max() < 8
    assert a.extent == t.dataset.extent and a.centers.shape == (8, 2)
    assert a.diagnosis.kind and a.config["batch"] == 64
    b = t.snapshot()  # looking twice changes nothing: same fakes, same landscape
    assert np.array_equal(a.fake, b.fake) and np.array_equal(a.d_grid, b.d_grid)
    t.train(5)
    assert t.snapshot().extent == a.extent  # axes never move between frames


def test_arrows_point_up_d_s_slope_for_a_probability_loss():
    t = Trainer(Config(**SMALL))
    t.train(30)
    snap = t.snapshot(full=True)
    # −∇ of G's NS loss is σ(−D)·∇D: it moves fakes toward where D says "real".
    x = torch.tensor(snap.fake, requires_grad=True)
    (slope,) = torch.autograd.grad(t.D(x).sum(), x)
    dots = (slope.numpy() * snap.arrows).sum(1)
    assert np.abs(snap.arrows).sum() > 0 and (dots >= -1e-7).all()
    assert 0 <= snap.metrics["precision"] <= 1 and 0 <= snap.metrics["recall"] <= 1


def test_critic_landscape_is_a_raw_score():
    t = Trainer(Config(loss="wasserstein", gp=1.0, **SMALL))
    t.train(5)
    snap = t.snapshot()
    assert snap.critic and np.isfinite(snap.d_grid).all()


def test_warped_grid_is_g_of_a_latent_grid_for_z_dim_2():
    t = Trainer(Config(z_dim=2, **SMALL))
    t.train(10)
    m = t.snapshot().manifold
    assert m.shape == (2 * MANIFOLD, LINE_POINTS, 2)
    z = latent_lines(2)
    with torch.no_grad():
        assert np.allclose(m[3, 7], t.G(z[3, 7][None]).numpy()[0], atol=1e-6)
    # Line i of one family crosses line j of the other at the same latent point, so the
    # images meet there: the grid is one warped sheet, not two unrelated sets of curves.
    step = (LINE_POINTS - 1) // (MANIFOLD - 1)
    i, j = 2, 8
    assert np.allclose(m[i, j * step], m[MANIFOLD + j, i * step], atol=1e-6)


def test_one_latent_dimension_gives_one_curve_and_more_give_none():
    assert latent_lines(1).shape == (1, LINE_POINTS, 1)
    assert latent_lines(3) is None
    assert Trainer(Config(z_dim=1, **SMALL)).snapshot().manifold.shape == (1, LINE_POINTS, 2)


def test_histogram_counts_known_points_in_their_cells():
    pts = np.array([[-0.9, -0.9], [-0.9, -0.9], [0.9, -0.9], [5.0, 0.0]])  # the last is off the box
    share = histogram(pts, (-1.0, 1.0, -1.0, 1.0), bins=2)
    assert share.tolist() == [[0.5, 0.25], [0.0, 0.0]]  # [iy, ix]: bottom row first


def test_density_is_fixed_between_calls_and_moves_with_training():
    t = Trainer(Config(z_dim=2, **SMALL))
    a, b = density(t, n=2000, bins=16), density(t, n=2000, bins=16)
    assert np.array_equal(a.share, b.share) and a.share.sum() == pytest.approx(1.0)
    t.train(20)
    assert not np.array_equal(density(t, n=2000, bins=16).share, a.share)


def test_density_does_not_disturb_training():
    a, b = Trainer(Config(z_dim=2, **SMALL)), Trainer(Config(z_dim=2, **SMALL))
    a.train(5)
    b.train(5)
    density(b, n=500)
    a.train(5)
    b.train(5)
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters()))


def test_minibatch_landscape_is_the_trained_d_in_its_training_groups():
    t = Trainer(Config(minibatch=4, minibatch_dim=3, **{**SMALL, "batch": 128}))
    t.train(20)
    snap = t.snapshot()
    iy, ix = 17, 30
    point = torch.tensor([[snap.grid_x[ix], snap.grid_y[iy]]], dtype=torch.float32)
    fakes = torch.tensor(snap.fake[:63])
    # Training compares each sample with the 63 others in its group of 64.
    with torch.no_grad():
        out = t.D(torch.cat([point, fakes]))[0]
    assert snap.d_grid[iy, ix] == pytest.approx(float(torch.sigmoid(out)), rel=1e-4, abs=1e-6)

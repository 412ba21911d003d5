import numpy as np
import pytest
import torch

from gansim import Config, Trainer
from gansim.snapshot import GRID, MANIFOLD

SMALL = dict(g_hidden=32, d_hidden=32, batch=64)


def test_snapshot_arrays_and_fixed_frame():
    t = Trainer(Config(**SMALL), log_every=5, eval_every=10)
    t.train(20)
    a = t.snapshot()
    assert a.real.shape == (512, 2) and a.fake.shape == (512, 2)
    assert a.d_grid.shape == (GRID, GRID) and a.manifold.shape == (MANIFOLD, MANIFOLD, 2)
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

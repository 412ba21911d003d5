import numpy as np
import pytest
import torch

from gansim import Config
from gansim.compare import Lockstep

SMALL = dict(g_hidden=32, d_hidden=32, batch=64)


def test_identical_panes_stay_identical():
    ls = Lockstep([Config(**SMALL), Config(**SMALL)])
    ls.train(15)
    a, b = ls.trainers
    assert np.array_equal(a.sample(100), b.sample(100))
    assert ls.differences() == {}


def test_panes_start_from_the_same_weights_and_see_the_same_batches():
    ls = Lockstep([Config(**SMALL), Config(**SMALL, lr_g=1e-4, d_steps=3, unroll=1)])
    a, b = ls.trainers
    for pa, pb in zip(list(a.G.parameters()) + list(a.D.parameters()),
                      list(b.G.parameters()) + list(b.D.parameters())):
        assert torch.equal(pa, pb)
    ls.train(4)
    assert (a.g_step, b.g_step) == (4, 4) and (a.d_step, b.d_step) == (4, 12)
    # Keyed streams: at the same G step both draw the same batches, although pane B
    # made three times as many D updates and an extra look-ahead draw before.
    for tag in ("d_real", "d_z"):
        assert torch.equal(a._d_draws(0, 0)[tag], b._d_draws(0, 0)[tag])
    assert torch.equal(a._g_draws()["g_z"], b._g_draws()["g_z"])
    assert not torch.equal(a._d_draws(0, 0)["d_z"], a._d_draws(1, 0)["d_z"])
    assert set(ls.differences()) == {"lr_g", "d_steps", "unroll"}
    rows = ls.summary()
    assert [r["pane"] for r in rows] == ["A", "B"] and "d_steps=3" in rows[1]["settings"]


def test_a_diverging_pane_stops_alone():
    base = Config(**SMALL)
    ls = Lockstep([base, base.replace(optimizer="sgd", lr_d=1.0, lr_g=1.0, loss="wasserstein")])
    ls.train(300)
    assert ls.trainers[1].diverged and not ls.trainers[0].diverged
    assert ls.trainers[0].g_step == 300 and ls.summary()[1]["diverged"]


def test_bad_pane_counts_and_seeds_are_refused():
    with pytest.raises(ValueError, match="2 to 4 panes"):
        Lockstep([Config()])
    with pytest.raises(ValueError, match="share one seed"):
        Lockstep([Config(seed=1), Config(seed=2)])


def _state_after(steps: int, **cfg):
    from gansim import Trainer

    t = Trainer(Config(**SMALL, **cfg))
    t.train(steps)
    return t


def test_branched_panes_continue_the_run_exactly():
    t = _state_after(30)
    ls = Lockstep.branch(t.state(), [t.cfg, t.cfg])
    a, b = ls.trainers
    assert (a.g_step, a.d_step) == (t.g_step, t.d_step)
    for k, moments in t.ds.items():
        assert torch.equal(a.ds[k]["m"], moments["m"])  # Adam's moments came along
    t.train(12)
    ls.train(12)
    # Same weights, moments, step and keyed batches: a pane is the run, continued.
    for pane in (a, b):
        assert all(torch.equal(x, y) for x, y in zip(pane.G.parameters(), t.G.parameters()))
        assert all(torch.equal(x, y) for x, y in zip(pane.D.parameters(), t.D.parameters()))
    assert np.array_equal(a.history.as_arrays()["g_loss"], t.history.as_arrays()["g_loss"])


def test_a_branched_pane_applies_its_live_changes_from_the_branch_point():
    t = _state_after(30)
    ls = Lockstep.branch(t.state(), [t.cfg, t.cfg.replace(r1=1.0, lr_d=3e-4)])
    a, b = ls.trainers
    assert b.g_step == 30 and (b.cfg.r1, b.cfg.lr_d) == (1.0, 3e-4)
    assert all(torch.equal(x, y) for x, y in zip(a.G.parameters(), b.G.parameters()))
    ls.train(5)
    assert not all(torch.equal(x, y) for x, y in zip(a.D.parameters(), b.D.parameters()))


def test_a_change_that_needs_fresh_networks_cannot_branch():
    t = _state_after(10)
    configs = [t.cfg, t.cfg.replace(mbstd=True)]
    assert not Lockstep.can_branch(t.state(), configs)
    assert Lockstep.can_branch(t.state(), [t.cfg, t.cfg.replace(gp=1.0)])
    with pytest.raises(ValueError, match="mbstd needs fresh networks"):
        Lockstep.branch(t.state(), configs)

import numpy as np
import pytest
import torch

from gansim import Config, Trainer
from gansim.timeline import frame_steps, scratch_at, snapshot_at
from gansim import trainer as trainer_module

SMALL = dict(g_hidden=32, d_hidden=32, batch=64)
CHECKPOINT_EVERY = 10  # frames every 10 steps instead of 250: the same code, a short run


@pytest.fixture(autouse=True)
def frequent_checkpoints(monkeypatch):
    monkeypatch.setattr(trainer_module, "CHECKPOINT_EVERY", CHECKPOINT_EVERY)


@pytest.fixture
def trained():
    t = Trainer(Config(**SMALL))
    t.train(2 * CHECKPOINT_EVERY + 5)
    return t


def test_frames_are_the_checkpoints(trained):
    assert frame_steps(trained) == [0, CHECKPOINT_EVERY, 2 * CHECKPOINT_EVERY]


def test_replay_matches_the_run_as_it_was(trained):
    fresh = Trainer(Config(**SMALL))  # same seed: the same run, stopped at 250
    fresh.train(CHECKPOINT_EVERY)
    past = snapshot_at(trained, CHECKPOINT_EVERY + 4)  # newest frame at or before
    now = fresh.snapshot()
    assert past.step == CHECKPOINT_EVERY
    assert np.allclose(past.fake, now.fake, atol=1e-6)
    assert np.allclose(past.d_grid, now.d_grid, atol=1e-6)
    assert np.array_equal(past.history["step"], now.history["step"])


def test_looking_back_leaves_the_live_run_alone(trained):
    before = {k: v.clone() for k, v in trained.G.state_dict().items()}
    step, gen = trained.g_step, trained.eval_gen.get_state()
    snap_live = trained.snapshot()
    scratch = scratch_at(trained, 0)
    scratch.sample(100)  # a full snapshot draws samples from the stand-in's own stream
    assert scratch.G is not trained.G and scratch.history is not trained.history
    assert trained.g_step == step and torch.equal(trained.eval_gen.get_state(), gen)
    assert all(torch.equal(v, trained.G.state_dict()[k]) for k, v in before.items())
    assert np.array_equal(trained.snapshot().fake, snap_live.fake)
    assert not np.allclose(scratch.G(trained.z_fixed).detach().numpy(), snap_live.fake)


def test_before_the_first_frame_is_refused(trained):
    with pytest.raises(ValueError, match="no saved frame at or before step -1"):
        scratch_at(trained, -1)

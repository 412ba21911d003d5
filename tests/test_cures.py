import pytest
import torch
from torch import nn

from gansim.cures import (D_PENALTIES, DBatch, ReplayBuffer, clip_weights, gradient_penalty,
                          instance_noise_std, lr_factor, r1_penalty, r2_penalty)


class Linear(nn.Module):
    """A linear critic D(x) = w·x with a chosen weight vector."""

    pack = 1

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x):
        return x @ self.w


class Square(nn.Module):
    """D(x) = ‖x‖², whose input gradient 2x is known by hand."""

    pack = 1

    def forward(self, x):
        return (x**2).sum(1)


def batch(D, real, fake):
    real = real.clone().requires_grad_(True)
    fake = fake.clone().requires_grad_(True)
    return DBatch(D, real, fake, D(real), D(fake), torch.Generator().manual_seed(0))


def num(t):
    return float(t.detach())


REAL = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
FAKE = torch.randn(64, 2, generator=torch.Generator().manual_seed(2)) + 3


def test_gp_is_zero_for_unit_norm_linear_critic():
    assert num(gradient_penalty(batch(Linear([0.6, 0.8]), REAL, FAKE), 10.0)) == pytest.approx(0.0, abs=1e-10)


def test_gp_is_positive_otherwise():
    # ‖w‖ = 2 everywhere: λ (2 − 1)² = λ.
    assert num(gradient_penalty(batch(Linear([1.2, 1.6]), REAL, FAKE), 10.0)) == pytest.approx(10.0)
    assert num(gradient_penalty(batch(Linear([0.3, 0.4]), REAL, FAKE), 10.0)) == pytest.approx(2.5)


def test_r1_matches_hand_computed_gradient():
    b = batch(Square(), REAL, FAKE)
    by_hand = 0.5 * 3.0 * (4 * (REAL**2).sum(1)).mean()
    assert num(r1_penalty(b, 3.0)) == pytest.approx(float(by_hand), rel=1e-5)
    by_hand_fake = 0.5 * 3.0 * (4 * (FAKE**2).sum(1)).mean()
    assert num(r2_penalty(b, 3.0)) == pytest.approx(float(by_hand_fake), rel=1e-5)


def test_penalties_are_differentiable_wrt_d():
    D = Linear([1.2, 1.6])
    gradient_penalty(batch(D, REAL, FAKE), 10.0).backward()
    assert D.w.grad is not None and float(D.w.grad.norm()) > 0


def test_table_names_are_config_fields():
    from gansim.config import FIELD_NAMES

    assert set(D_PENALTIES) <= FIELD_NAMES


def test_clip_weights():
    D = Linear([0.5, -0.5])
    clip_weights(D, 0.01)
    assert D.w.tolist() == pytest.approx([0.01, -0.01])


def test_instance_noise_anneals_to_zero():
    assert instance_noise_std(0.2, 100, 0) == pytest.approx(0.2)
    assert instance_noise_std(0.2, 100, 50) == pytest.approx(0.1)
    assert instance_noise_std(0.2, 100, 500) == 0.0
    assert instance_noise_std(0.2, 0, 500) == pytest.approx(0.2)


def test_lr_factor_schedule():
    assert lr_factor(0, 0, 0.02, 10_000) == 1.0
    assert lr_factor(1500, 3000, 0.02, 1000) == 1.0
    assert lr_factor(1500, 3000, 0.02, 2250) == pytest.approx(0.51)
    assert lr_factor(1500, 3000, 0.02, 9000) == pytest.approx(0.02)


def test_replay_mixes_only_after_storing():
    gen = torch.Generator().manual_seed(0)
    buf = ReplayBuffer(8, torch.device("cpu"))
    first = torch.zeros(4, 2)
    assert torch.equal(buf.mix(first, 0.5, gen), first)  # empty buffer: nothing to mix
    second = torch.ones(400, 2)
    mixed = buf.mix(second, 0.5, gen)
    share_old = float((mixed == 0).all(1).float().mean())
    assert 0 < share_old < 1  # some rows came from the buffer
    assert buf.size == 8  # capacity respected

import math

import pytest
import torch

from gansim.losses import LOSSES

L0 = torch.tensor([0.0])
L2 = torch.tensor([2.0])


def val(t):
    return float(t.mean())


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_d_terms_at_logit_zero_are_log2(name):
    loss = LOSSES[name]
    assert val(loss.real_term(L0)) == pytest.approx(math.log(2))
    assert val(loss.fake_term(L0)) == pytest.approx(math.log(2))


def test_nonsaturating_g_at_logit_zero_and_two():
    g = LOSSES["nonsaturating"].g_term
    assert val(g(L0)) == pytest.approx(math.log(2))
    assert val(g(L2)) == pytest.approx(math.log(1 + math.exp(-2)))


def test_minimax_g_is_log_one_minus_d():
    g = LOSSES["minimax"].g_term
    d = 1 / (1 + math.exp(-2.0))
    assert val(g(L2)) == pytest.approx(math.log(1 - d))
    assert val(g(L0)) == pytest.approx(-math.log(2))


def test_minimax_saturates_where_nonsaturating_does_not():
    """At a confident-fake logit (−8) minimax's gradient vanishes, NS's stays near 1."""
    grads = {}
    for name in ("minimax", "nonsaturating"):
        x = torch.tensor([-8.0], requires_grad=True)
        LOSSES[name].g_term(x).sum().backward()
        grads[name] = abs(float(x.grad))
    assert grads["minimax"] < 1e-3
    assert grads["nonsaturating"] > 0.99


def test_label_smoothing_target():
    real = LOSSES["nonsaturating"].real_term(L0, 0.9)
    assert val(real) == pytest.approx(math.log(2))  # symmetric at 0
    at2 = LOSSES["nonsaturating"].real_term(L2, 0.9)
    expected = 0.9 * math.log(1 + math.exp(-2)) + 0.1 * math.log(1 + math.exp(2))
    assert val(at2) == pytest.approx(expected)


def test_wasserstein_terms():
    w = LOSSES["wasserstein"]
    assert val(w.real_term(L2)) == pytest.approx(-2.0)
    assert val(w.fake_term(L2)) == pytest.approx(2.0)
    assert val(w.g_term(L2)) == pytest.approx(-2.0)
    assert w.prob(L2) is None and w.critic


def test_hinge_margins():
    h = LOSSES["hinge"]
    assert val(h.real_term(torch.tensor([0.5]))) == pytest.approx(0.5)
    assert val(h.real_term(torch.tensor([1.5]))) == pytest.approx(0.0)
    assert val(h.fake_term(torch.tensor([-0.5]))) == pytest.approx(0.5)
    assert val(h.fake_term(torch.tensor([-1.5]))) == pytest.approx(0.0)
    assert val(h.g_term(L2)) == pytest.approx(-2.0)


def test_least_squares_terms():
    ls = LOSSES["least_squares"]
    assert val(ls.real_term(L0)) == pytest.approx(0.5)
    assert val(ls.real_term(torch.tensor([1.0]))) == pytest.approx(0.0)
    assert val(ls.fake_term(L2)) == pytest.approx(2.0)
    assert val(ls.g_term(L2)) == pytest.approx(0.5)
    assert float(ls.prob(torch.tensor([1.7]))) == 1.0

"""gansim.trace: a traced step is the ordinary step, and the trace holds what it used."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gansim.config import Config
from gansim.seeding import batch_key
from gansim.trace import StepTrace
from gansim.trainer import Trainer

SMALL = dict(g_hidden=32, d_hidden=32, batch=64)
# Configs whose steps draw from every stream a trace could disturb: the tricks' own
# generator (label flips, replay, instance noise), dropout (the global RNG), the look-ahead,
# feature matching, packing and batch-aware features, a critic with its penalty, decay.
CONFIGS = {
    "plain": {},
    "noisy tricks": dict(label_flip=0.1, replay=0.5, instance_noise=0.1, dropout=0.2),
    "unroll + feature matching": dict(unroll=2, feature_matching=1.0),
    "pack + mbstd": dict(pack=2, mbstd=True),
    "wgan-gp, 2 critic steps, decay": dict(loss="wasserstein", gp=10.0, d_steps=2,
                                           lr_decay_start=1, lr_decay_end=10),
}


def _same_state(a: Trainer, b: Trainer) -> None:
    sa, sb = a.state(), b.state()
    for name in ("g", "d", "gs", "ds", "t_g", "t_d", "sn", "mem", "stored"):
        _equal(sa[name], sb[name], name)
    assert torch.equal(a.gen.get_state(), b.gen.get_state()), "the tricks' generator moved"
    assert (a.g_step, a.d_step) == (b.g_step, b.d_step)
    assert a.history.as_arrays().keys() == b.history.as_arrays().keys()


def _equal(x, y, where: str) -> None:
    if isinstance(x, torch.Tensor):
        assert torch.equal(x, y), f"{where} differs"
    elif isinstance(x, dict):
        assert x.keys() == y.keys(), where
        for k in x:
            _equal(x[k], y[k], f"{where}.{k}")
    elif isinstance(x, (list, tuple)):
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            _equal(u, v, f"{where}[{i}]")
    else:
        assert x == y, f"{where}: {x} != {y}"


def _traced_step(t: Trainer) -> list[StepTrace]:
    traces = []
    for _ in range(t.cfg.d_steps):
        traces.append(StepTrace())
        t.step_d(trace=traces[-1])
    traces.append(StepTrace())
    t.step_g(trace=traces[-1])
    return traces


@pytest.mark.parametrize("changes", CONFIGS.values(), ids=CONFIGS.keys())
def test_traced_steps_leave_the_run_exactly_as_plain_steps(changes):
    torch.manual_seed(123)  # dropout draws from the global stream: same start for both
    cfg = Config(seed=4, **SMALL, **changes)
    plain, traced = Trainer(cfg, log_every=2, eval_every=4), Trainer(cfg, log_every=2, eval_every=4)
    for step in range(4):
        torch.manual_seed(step)
        plain.step()
        torch.manual_seed(step)
        _traced_step(traced)
    _same_state(plain, traced)
    for key, col in plain.history.as_arrays().items():
        np.testing.assert_array_equal(col, traced.history.as_arrays()[key], err_msg=key)


def test_d_trace_holds_the_batch_and_loss_the_step_used():
    cfg = Config(seed=7, **SMALL)
    t = Trainer(cfg)
    t.step()
    trace = StepTrace()
    loss = t.step_d(trace=trace)
    assert trace.phase == "d" and trace.g_step == 1 and trace.d_index == 0
    assert trace.loss == loss
    gen = torch.Generator().manual_seed(batch_key(cfg.seed, 1, "d_real", 0))
    np.testing.assert_array_equal(trace.real, t.dataset.sample_torch(cfg.batch, gen, t.device).numpy())
    gen = torch.Generator().manual_seed(batch_key(cfg.seed, 1, "d_z", 0))
    # The fakes D scored are G's image of the keyed latent batch (G has not moved since).
    with torch.no_grad():
        fakes = t.G(torch.randn(cfg.batch, cfg.z_dim, generator=gen)).numpy()
    np.testing.assert_allclose(trace.fake, fakes, rtol=0, atol=1e-6)
    # D's scores are the probabilities of the outputs it had before the update.
    assert trace.score_real.shape == (cfg.batch,) and trace.score_fake.shape == (cfg.batch,)
    assert np.all((trace.score_real > 0) & (trace.score_real < 1))
    assert trace.lr == pytest.approx(cfg.lr_d)
    # The gradient norm is the update's own (step.Step.d's stats).
    assert math.isfinite(trace.grad_norm) and trace.grad_norm > 0
    # The landscape really moved: the update changed D.
    assert trace.grid_before.shape == trace.grid_after.shape
    assert not np.array_equal(trace.grid_before, trace.grid_after)
    np.testing.assert_allclose(trace.grid_after, t.snapshot().d_grid, rtol=0, atol=1e-6)


def test_g_trace_holds_the_fakes_arrows_and_their_move():
    cfg = Config(seed=2, **SMALL)
    t = Trainer(cfg)
    for _ in range(cfg.d_steps):
        t.step_d()
    g_before = {k: v.clone() for k, v in t.G.state_dict().items()}
    trace = StepTrace()
    loss = t.step_g(trace=trace)
    assert trace.phase == "g" and trace.g_step == 0 and trace.loss == loss
    gen = torch.Generator().manual_seed(batch_key(cfg.seed, 0, "g_z"))
    z = torch.randn(cfg.batch, cfg.z_dim, generator=gen)
    with torch.no_grad():
        after = t.G(z).numpy()
        t.G.load_state_dict(g_before)
        before = t.G(z).numpy()
    np.testing.assert_allclose(trace.fake, before, rtol=0, atol=1e-6)
    np.testing.assert_allclose(trace.fake_after, after, rtol=0, atol=1e-6)
    # The arrows are −∂(G's loss)/∂x × batch, checked against autograd on D directly.
    x = torch.tensor(before, requires_grad=True)
    (grad,) = torch.autograd.grad(t.loss.g_term(t.D(x)).mean(), x)
    np.testing.assert_allclose(trace.push, -grad.numpy() * cfg.batch, rtol=1e-4, atol=1e-6)
    # A G update leaves D's landscape alone.
    np.testing.assert_array_equal(trace.grid_before, trace.grid_after)
    assert trace.lr == pytest.approx(cfg.lr_g)


def test_packed_scores_repeat_per_point():
    cfg = Config(seed=1, pack=4, **SMALL)
    trace = StepTrace()
    Trainer(cfg).step_d(trace=trace)
    assert trace.score_fake.shape == (cfg.batch,)
    np.testing.assert_array_equal(trace.score_fake[0:4], np.full(4, trace.score_fake[0]))

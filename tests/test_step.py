"""The pure step (gansim.step): seed s of a stacked Trainer is the single run with seed s,
a diverging run is refused alone, and the unrolled look-ahead differentiates correctly."""
import itertools
import math

import pytest
import torch

from gansim import Config, Trainer
from gansim.stacking import StepKey
from gansim.step import Step
from gansim.trainer import Diverged

SMALL = dict(g_hidden=32, d_hidden=32, z_dim=8, batch=64, device="cpu")
STEPS = 20
# Float32 summation order differs (baddbmm vs addmm, torch's fused Adam vs the
# functional one); after 20 steps the runs agree to ~1e-6, far inside this.
TOL = dict(rtol=1e-3, atol=1e-4)
# One entry per family of settings; each switches on what the pure step must honour.
SETTINGS = {
    "plain": {},
    "wgan-gp": dict(loss="wasserstein", gp=10.0, d_steps=3),
    "hinge-sgd-clip": dict(loss="hinge", optimizer="sgd", lr_d=1e-2, lr_g=1e-2, clip=0.05),
    "ls-rmsprop-wd": dict(loss="least_squares", optimizer="rmsprop", weight_decay=1e-3),
    "minimax-r1-r2": dict(loss="minimax", r1=1.0, r2=0.5),
    "noise-smooth-flip": dict(instance_noise=0.2, noise_anneal=10, label_smoothing=0.1,
                              label_flip=0.1),
    "pack-gp-flip": dict(pack=2, gp=1.0, label_flip=0.2),
    "minibatch-mbstd": dict(minibatch=4, mbstd=True),
    "lr-decay": dict(lr_decay_start=5, lr_decay_end=15, lr_decay_floor=0.1),
    "unroll-3": dict(unroll=3, instance_noise=0.1),
    "fm-replay-noise": dict(feature_matching=1.0, replay=0.5, instance_noise=0.1, d_steps=2),
    "fm-unroll-noise": dict(feature_matching=0.5, unroll=2, instance_noise=0.1),
    "dropout-gp-r1": dict(dropout=0.2, gp=1.0, r1=1.0, d_depth=3),
    "dropout-unroll-fm": dict(dropout=0.3, unroll=2, feature_matching=0.5, instance_noise=0.1),
    "unroll-3-1st": dict(unroll=3, unroll_first_order=True),
    "spectral-norm-gp-unroll": dict(spectral_norm=True, gp=1.0, r1=0.5, unroll=2, d_steps=2),
}



@pytest.mark.parametrize("name", SETTINGS)
def test_seed_of_a_stack_is_the_single_run(name):
    """The stack trains by whole steps; the single runs by single D and G updates."""
    cfg = Config(**SMALL, **SETTINGS[name])
    seeds = [3, 11]
    stack = Trainer(cfg, seeds=seeds, compile=False)
    d_losses, g_losses = [], []
    for _ in range(STEPS):
        stack.step()
        d_losses.append(stack._d_sum[:, 0].clone())
        g_losses.append(stack._g_sum[:, 0].clone())
    for i, seed in enumerate(seeds):
        run = Trainer(cfg.replace(seed=seed), compile=False)
        d_ref, g_ref = [], []
        for _ in range(STEPS):
            for _ in range(cfg.d_steps):
                run.step_d()
            run.step_g()
            d_ref.append(run._d_sum[0, 0].clone())
            g_ref.append(run._g_sum[0, 0].clone())
        torch.testing.assert_close(torch.stack(d_ref), torch.stack(d_losses)[:, i], **TOL)
        torch.testing.assert_close(torch.stack(g_ref), torch.stack(g_losses)[:, i], **TOL)
        for k, v in run.g.items():
            torch.testing.assert_close(stack.g[k][i], v[0], **TOL, msg=f"G {k}")
        for k, v in run.d.items():
            torch.testing.assert_close(stack.d[k][i], v[0], **TOL, msg=f"D {k}")
        for k, s in run.sn.items():
            torch.testing.assert_close(stack.sn[k]["u"][i], s["u"][0], **TOL, msg=f"u {k}")


def test_a_diverging_run_keeps_its_last_good_weights_and_the_others_go_on():
    stack = Trainer(Config(**SMALL), seeds=[0, 1], compile=False)
    stack.step()
    before = {k: v.clone() for k, v in stack.d.items()}
    g_before = {k: v.clone() for k, v in stack.g.items()}
    with torch.no_grad():
        stack.d["head.bias"][0] = 1e38  # run 0: a huge output, an infinite loss
    before["head.bias"][0] = 1e38
    stack.step()  # no Diverged: run 1 is still alive
    assert stack.alive.tolist() == [False, True]
    assert "kept as they were at step 1" in stack.failed[0] and stack.failed[1] is None
    assert stack.run(0).diverged and not stack.run(1).diverged and not stack.diverged
    for k, v in stack.d.items():
        torch.testing.assert_close(v[0], before[k][0], rtol=0, atol=0)  # run 0: untouched
    assert all(not torch.equal(stack.d[k][1], before[k][1]) for k in before), "run 1 trained on"
    assert all(not torch.equal(stack.g[k][1], g_before[k][1]) for k in g_before), "G 1 trained on"
    assert stack.t_d.tolist() == [1.0, 2.0]
    stack.train(3)
    assert stack.t_d.tolist() == [1.0, 5.0]
    with torch.no_grad():
        stack.d["head.bias"][1] = math.inf  # run 1's weights themselves blow up
    with pytest.raises(Diverged, match="kept as they were"):
        stack.step()  # now no run is left: the stack raises, as one run does
    assert "restored to those of step 0" in stack.failed[1]
    assert all(bool(torch.isfinite(v).all()) for v in stack.d.values())


def test_live_updates_act_on_every_run_of_a_stack():
    stack = Trainer(Config(**SMALL), seeds=[5, 6], compile=False)
    stack.train(3)
    stack.update(loss="hinge", lr_d=3e-4, optimizer="rmsprop", gp=1.0)
    assert stack.h["d"]["lr"].tolist() == pytest.approx([3e-4, 3e-4])
    assert stack.key.loss == "hinge" and stack.key.gp and stack.t_d.tolist() == [0.0, 0.0]
    stack.train(3)
    assert [len(h.rows["step"]) for h in stack.histories] == [0, 0]  # log_every 10
    assert stack.run(1).cfg.seed == 6 and stack.run(1).sample(4).shape == (4, 2)


def _to64(tree):
    return torch.utils._pytree.tree_map(
        lambda x: x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x, tree)


@pytest.mark.parametrize("first_order", [False, True])
def test_the_unrolled_look_ahead_gradient_matches_finite_differences(first_order):
    """G's gradient through a 3-update Adam look-ahead of D (Metz et al. 2016), float64 on
    tiny nets: second order is the true derivative of G's unrolled loss; first order drops
    the look-ahead's dependence on G, so it must differ from the true derivative."""
    cfg = Config(g_hidden=4, g_depth=1, d_hidden=5, d_depth=1, z_dim=2, batch=8,
                 activation="tanh", unroll=3, unroll_first_order=first_order, lr_d=0.05,
                 seed=3)
    t = Trainer(cfg, compile=False)
    t.train(2)  # live Adam moments and counts
    g, d, ds, sn, h = (_to64(x) for x in (t.g, t.d, t.ds, t.sn, t.h))
    b = _to64(t._g_draws())
    t_d = t.t_d.double()
    true_cfg = cfg.replace(unroll_first_order=False)
    true_step = Step(StepKey.of(true_cfg, 1), t.nets)

    def loss(step, gp):
        return step._g_loss(gp, d, ds, t_d, sn, b, h)[0]

    analytic = torch.func.grad(lambda gp: loss(t._step, gp))(g)
    name = next(k for k in g if k.endswith("weight"))  # G's first layer: every path
    w, numeric, eps = g[name], torch.zeros_like(g[name]), 1e-6
    for idx in itertools.product(*map(range, w.shape)):
        nudged = {**g, name: w.clone()}
        nudged[name][idx] += eps
        up = float(loss(true_step, nudged))
        nudged[name][idx] -= 2 * eps
        numeric[idx] = (up - float(loss(true_step, nudged))) / (2 * eps)
    close = torch.allclose(analytic[name], numeric, rtol=1e-4, atol=1e-8)
    assert close != first_order, (analytic[name] - numeric).abs().max()


# Settings that take each eager shortcut: penalties' input gradients, the look-ahead in
# both orders, spectral norm, dropout (modules, no plan), label smoothing (the long way).
SHORTCUT_SETTINGS = ["wgan-gp", "minimax-r1-r2", "unroll-3", "unroll-3-1st", "plain",
                     "spectral-norm-gp-unroll", "dropout-gp-r1", "noise-smooth-flip"]


@pytest.mark.parametrize("name", SHORTCUT_SETTINGS)
def test_the_eager_shortcuts_give_the_numbers_of_the_forms_they_replace(name, monkeypatch):
    """Eagerly, plain autograd stands in for torch.func.grad (penalties.input_grad_norms,
    step.autograd_grads), the real term drops its zero-weighted smoothing half, and plain
    networks run as layer plans; with all of them undone the run is the same, bit for bit:
    weights, moments and every history row after 12 steps of two stacked seeds."""
    import gansim.penalties
    import gansim.step
    from gansim.stack import col

    cfg = Config(**SMALL, **SETTINGS[name])

    def trained(t):
        t.train(12)
        return t

    fast = trained(Trainer(cfg, seeds=[3, 11], compile=False, log_every=2))
    monkeypatch.setattr(gansim.step, "plain_autograd", lambda: False)
    monkeypatch.setattr(gansim.penalties, "plain_autograd", lambda: False)
    monkeypatch.setattr(Step, "_smoothing", staticmethod(lambda h, out_r: col(h["label_smoothing"])))
    slow = Trainer(cfg, seeds=[3, 11], compile=False, log_every=2)
    slow.nets._g_plan = slow.nets._d_plan = None  # the modules, through their slots
    trained(slow)
    for mine, theirs in ((fast.g, slow.g), (fast.d, slow.d)):
        assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    assert all(torch.equal(fast.ds[k][m], slow.ds[k][m]) for k in fast.ds for m in fast.ds[k])
    assert [repr(h.rows) for h in fast.histories] == [repr(h.rows) for h in slow.histories]

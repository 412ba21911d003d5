"""The pure stacked step (gansim.engine) against the Trainer it will replace."""
import math

import pytest
import torch

from gansim import Config, Trainer
from gansim.config import FIELDS
from gansim.engine import STACKING, StackedRuns

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
}


def weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach() for k, v in module.named_parameters()}


@pytest.mark.parametrize("name", SETTINGS)
def test_seed_of_a_stack_is_the_single_run(name):
    cfg = Config(**SMALL, **SETTINGS[name])
    seeds = [3, 11]
    stack = StackedRuns(cfg, seeds, compile=False)
    d_losses, g_losses = [], []
    for _ in range(STEPS):
        stack.step()
        d_losses.append(stack.d_loss)
        g_losses.append(stack.g_loss)
    for i, seed in enumerate(seeds):
        run = Trainer(cfg.replace(seed=seed))
        d_ref, g_ref = [], []
        for _ in range(STEPS):
            for _ in range(cfg.d_steps):
                d = run.step_d()
            d_ref.append(d)
            g_ref.append(run.step_g())
        torch.testing.assert_close(torch.tensor(d_ref), torch.stack(d_losses)[:, i], **TOL)
        torch.testing.assert_close(torch.tensor(g_ref), torch.stack(g_losses)[:, i], **TOL)
        for k, v in weights(run.G).items():
            torch.testing.assert_close(stack.g[k][i], v, **TOL, msg=f"G {k}")
        for k, v in weights(run.D).items():
            torch.testing.assert_close(stack.d[k][i], v, **TOL, msg=f"D {k}")


def test_a_diverging_run_keeps_its_last_good_weights_and_the_others_go_on():
    stack = StackedRuns(Config(**SMALL), [0, 1], compile=False)
    stack.step()
    before = {k: v.clone() for k, v in stack.d.items()}
    g_before = {k: v.clone() for k, v in stack.g.items()}
    stack.h["d"]["lr"][0] = math.inf  # run 0's next D update would write Inf into D
    g, d, gs, ds, t_g, t_d, alive, mem, d_loss, g_loss = stack.step_fn(
        stack.g, stack.d, stack.gs, stack.ds, stack.t_g, stack.t_d, stack.alive, stack.mem,
        stack.h, stack.batches(0.0))
    assert alive.tolist() == [False, True]
    for k, v in d.items():
        torch.testing.assert_close(v[0], before[k][0], rtol=0, atol=0)  # run 0: untouched
    assert all(not torch.equal(d[k][1], before[k][1]) for k in d), "run 1 trained on"
    assert all(not torch.equal(g[k][1], g_before[k][1]) for k in g), "run 1's G trained on"
    assert t_d.tolist() == [1.0, 2.0]


def test_every_setting_says_how_it_stacks():
    assert set(STACKING) == set(FIELDS), (
        f"engine.STACKING must declare how these settings stack: "
        f"{sorted(set(FIELDS) ^ set(STACKING))}")


def test_compiled_step_equals_eager_and_falls_back_when_compiling_fails(monkeypatch, caplog):
    """One compiled setting with most cures on (a compile costs ~10–60 s on a shared
    2-core machine, so one), then a forced failure: the run goes on eagerly."""
    import gansim.engine as engine

    cfg = Config(**SMALL, gp=1.0, label_flip=0.1, instance_noise=0.1, replay=0.5,
                 feature_matching=0.5, d_steps=2)
    eager, compiled = StackedRuns(cfg, [1, 2], compile=False), StackedRuns(cfg, [1, 2])
    for _ in range(3):
        eager.step()
        compiled.step()
    assert compiled.step_fn.fell_back is None, compiled.step_fn.fell_back
    for k, v in eager.g.items():
        torch.testing.assert_close(compiled.g[k], v, rtol=1e-4, atol=1e-5)

    def broken(*args):
        raise RuntimeError("no C++ compiler")

    run = StackedRuns(cfg.replace(lr_d=2e-4), [1, 2])  # a new key: a new compiled step
    monkeypatch.setattr(run.step_fn, "compiled", broken)
    with caplog.at_level("WARNING", logger="gansim.engine"):
        for _ in range(3):
            run.step()
    assert run.step_fn.fell_back == "RuntimeError: no C++ compiler"
    assert sum("training eagerly" in r.message for r in caplog.records) == 1
    assert run.g_step == 3 and bool(run.alive.all())

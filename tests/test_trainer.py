import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from gansim import Config, Diverged, Trainer

SMALL = dict(g_hidden=32, d_hidden=32, batch=64)


def trained(steps=30, **kw):
    t = Trainer(Config(**{**SMALL, **kw}), log_every=5, eval_every=10)
    t.train(steps)
    return t


def test_same_seed_same_samples_and_other_seed_differs():
    a, b = trained(seed=7), trained(seed=7)
    assert np.array_equal(a.sample(100), b.sample(100))
    c = trained(seed=8)
    assert not np.allclose(a.sample(100), c.sample(100))


def test_looking_does_not_change_the_run():
    a = Trainer(Config(**SMALL))
    b = Trainer(Config(**SMALL))
    for i in range(20):
        a.step()
        b.step()
        if i % 5 == 0:
            a.sample(50)
            a.snapshot()
            a.evaluate()
    for pa, pb in zip(a.G.parameters(), b.G.parameters()):
        assert torch.equal(pa, pb)


def test_step_counts_d_and_g_updates():
    t = Trainer(Config(d_steps=3, **SMALL))
    t.step()
    assert (t.d_step, t.g_step) == (3, 1)
    t.step_d()
    assert (t.d_step, t.g_step) == (4, 1)
    t.step_g()
    assert (t.d_step, t.g_step) == (4, 2)


CURES = [
    dict(loss="minimax"), dict(loss="wasserstein", gp=10.0, d_steps=2),
    dict(loss="hinge", r1=1.0), dict(loss="least_squares", r2=1.0, label_smoothing=0.1),
    dict(loss="wasserstein", clip=0.01, optimizer="rmsprop"), dict(instance_noise=0.2, noise_anneal=10),
    dict(label_flip=0.1), dict(weight_decay=1e-3), dict(dropout=0.2), dict(spectral_norm=True),
    dict(feature_matching=1.0), dict(replay=0.5), dict(unroll=3), dict(unroll=3, unroll_first_order=True),
    dict(minibatch=4), dict(mbstd=True), dict(pack=2), dict(optimizer="sgd", lr_d=0.01, lr_g=0.01),
    dict(lr_decay_start=5, lr_decay_end=15), dict(unroll=2, spectral_norm=True, pack=2, mbstd=True, gp=1.0),
    dict(minibatch=4, gp=1.0, unroll=2), dict(mbstd=True, r1=1.0, unroll=2),
    dict(data="grid25"), dict(data="two_gaussians"), dict(data="ring8_imbalanced"),
    dict(data="custom", custom_centers=((0, 0), (3, 3)), custom_stds=(0.2,)),
]


@pytest.mark.parametrize("changes", CURES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_every_cure_trains_and_reports(changes):
    t = trained(steps=20, **changes)
    assert t.g_step == 20
    assert all(torch.isfinite(p).all() for p in t.G.parameters())
    snap = t.snapshot()
    assert snap.fake.shape[1] == 2 and snap.d_grid.shape == (48, 48)
    assert snap.arrows.shape == snap.fake.shape
    assert snap.critic == (t.cfg.loss in ("wasserstein", "hinge"))
    if not snap.critic:
        assert 0.0 <= snap.d_grid.min() and snap.d_grid.max() <= 1.0


def test_unroll_changes_g_update():
    plain, unrolled = trained(steps=5), trained(steps=5, unroll=3)
    assert not np.allclose(plain.sample(50), unrolled.sample(50))


def test_history_logs_rows_and_evaluations():
    t = trained(steps=30)
    h = t.history.as_arrays()
    assert h["step"].tolist() == [5, 10, 15, 20, 25, 30]
    assert np.isfinite(h["modes"]).sum() == 3  # evaluated at 10, 20, 30
    assert 0 <= t.history.last("modes") <= 8
    assert len(t.history.mass[-1]) == 8
    assert np.isfinite(h["score_d"]).all()


def test_critic_history_reports_critic_values_not_scores():
    t = trained(steps=10, loss="wasserstein", gp=1.0)
    h = t.history.as_arrays()
    assert np.isnan(h["score_d"]).all() and np.isfinite(h["critic_real"]).all()


def test_live_update_keeps_weights_and_restart_fields_refuse():
    t = trained(steps=10)
    before = [p.clone() for p in t.G.parameters()]
    t.update(lr_d=3e-4, loss="hinge", gp=5.0)
    assert t.cfg.loss == "hinge" and t.lr("d") == pytest.approx(3e-4)
    assert all(torch.equal(a, b) for a, b in zip(before, t.G.parameters()))
    t.train(5)
    with pytest.raises(ValueError, match="z_dim.*reset"):
        t.update(z_dim=2)
    with pytest.raises(ValueError, match="lr_d"):
        t.update(lr_d=-1.0)


def test_divergence_is_caught_and_last_good_state_kept():
    t = trained(steps=10)
    good = [p.clone() for p in t.D.parameters()]
    with torch.no_grad():
        next(t.D.parameters())[0, 0] = math.nan  # a blow-up inside D
    with pytest.raises(Diverged, match="NaN or infinite"):
        t.step()
    assert t.diverged
    # The poisoned weights were replaced by the last checkpoint (step 0 here).
    assert all(torch.isfinite(p).all() for p in t.D.parameters())
    with pytest.raises(Diverged):
        t.step()  # refuses to continue...
    t.rewind(t.g_step)
    t.train(3)  # ...until rewound
    assert not t.diverged
    assert good  # the pre-blow-up weights existed; nothing above trained on NaN


def test_real_divergence_from_a_huge_learning_rate_is_stopped():
    t = Trainer(Config(optimizer="sgd", lr_d=1.0, lr_g=1.0, loss="wasserstein", **SMALL))
    with pytest.raises(Diverged):
        t.train(2000)
    assert all(torch.isfinite(p).all() for p in list(t.G.parameters()) + list(t.D.parameters()))
    assert t.snapshot().diagnosis.kind == "diverged"


EVERY = 10  # checkpoints every 10 G steps instead of 250: the same code, short runs


def test_rewind_replays_the_same_trajectory():
    t = Trainer(Config(**SMALL), log_every=5, eval_every=10, checkpoint_every=EVERY)
    t.train(30)
    at_30 = t.G(t.z_fixed).detach().clone()
    assert t.rewind(26) == 20
    assert t.g_step == 20 and t.history.rows["step"][-1] <= 20
    assert not np.array_equal(t.G(t.z_fixed).detach(), at_30)  # it did go back
    t.train(10)
    again = Trainer(Config(**SMALL), log_every=5, eval_every=10, checkpoint_every=EVERY)
    again.train(30)
    assert np.array_equal(again.G(again.z_fixed).detach(), t.G(t.z_fixed).detach())
    assert np.array_equal(at_30, t.G(t.z_fixed).detach())


def test_cuda_request_without_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="device=cuda"):
        Trainer(Config(device="cuda"))


VALID = st.fixed_dictionaries({
    "loss": st.sampled_from(["minimax", "nonsaturating", "wasserstein", "hinge", "least_squares"]),
    "gp": st.sampled_from([0.0, 1.0, 10.0]), "r1": st.sampled_from([0.0, 1.0]),
    "clip": st.sampled_from([0.0, 0.05]), "instance_noise": st.sampled_from([0.0, 0.1]),
    "label_flip": st.sampled_from([0.0, 0.2]), "dropout": st.sampled_from([0.0, 0.3]),
    "spectral_norm": st.booleans(), "feature_matching": st.sampled_from([0.0, 0.5]),
    "replay": st.sampled_from([0.0, 0.3]), "unroll": st.integers(0, 2),
    "unroll_first_order": st.booleans(), "minibatch": st.integers(0, 3), "mbstd": st.booleans(),
    "pack": st.sampled_from([1, 2, 4]), "d_steps": st.integers(1, 2),
    "optimizer": st.sampled_from(["adam", "sgd", "rmsprop"]),
    "activation": st.sampled_from(["relu", "leaky_relu", "tanh", "elu"]),
    "z_dim": st.integers(1, 8), "g_depth": st.integers(1, 3), "d_depth": st.integers(1, 3),
    "seed": st.integers(0, 1000),
    "data": st.sampled_from(["ring8", "grid25", "two_gaussians", "ring8_imbalanced"]),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALID)
def test_fuzz_valid_configs_train_20_steps(values):
    cfg = Config(g_hidden=16, d_hidden=16, batch=32, **values)
    t = Trainer(cfg, log_every=5, eval_every=10)
    try:
        t.train(20)
    except Diverged:
        # Allowed (sgd with a large step may blow up): the run must be stopped cleanly.
        assert all(torch.isfinite(p).all() for p in t.G.parameters())
    else:
        assert t.g_step == 20
    t.snapshot()


def test_dropout_draws_from_the_runs_own_generator():
    def run(disturb):
        t = Trainer(Config(dropout=0.3, **SMALL))
        for _ in range(10):
            torch.rand(7)  # another session drawing from torch's global stream
            if disturb:
                torch.manual_seed(disturb)
            t.step()
        return torch.cat([p.detach().flatten() for p in t.D.parameters()])

    first = run(0)
    assert torch.equal(first, run(123)) and torch.equal(first, run(456))


def test_a_live_update_keeps_the_decayed_learning_rate():
    t = Trainer(Config(lr_decay_start=5, lr_decay_end=10, lr_decay_floor=0.1, **SMALL))
    t.train(20)
    t.update(gp=1.0)
    # The next D update (before any G step) must run at the decayed rate, not 1×.
    assert t.lr("d") == pytest.approx(0.1 * t.cfg.lr_d)
    assert t.lr("g") == pytest.approx(0.1 * t.cfg.lr_g)


def test_looking_at_samples_does_not_change_later_metrics():
    a = Trainer(Config(**SMALL), log_every=5, eval_every=10)
    b = Trainer(Config(**SMALL), log_every=5, eval_every=10)
    for i in range(40):
        a.step()
        b.step()
        if i % 7 == 0:
            a.sample(100)
            a.snapshot(full=True)
    assert a.history.rows["distance"][-1] == b.history.rows["distance"][-1]
    assert a.history.rows == b.history.rows


def test_recovery_from_poisoned_weights_says_which_step_and_keeps_settings():
    t = Trainer(Config(**SMALL), log_every=5, eval_every=10, checkpoint_every=EVERY)
    t.train(26)  # checkpoints at 0, 10 and 20
    ckpt_d = {k: v[0] for k, v in copy.deepcopy(t.checkpoints[-1][1]["d"]).items()}
    assert t.checkpoints[-1][0] == 20
    t.update(lr_d=2e-4, gp=1.0)
    t.train(3)  # to step 29: the newest checkpoint is still step 20's
    with torch.no_grad():
        next(t.D.parameters())[0, 0] = math.inf  # the weights themselves blew up
    with pytest.raises(Diverged, match="restored to those of step 20"):
        t.step()
    # The message and the state agree: step 250's weights, today's settings.
    assert t.cfg.lr_d == 2e-4 and t.cfg.gp == 1.0
    assert t.lr("d") == pytest.approx(2e-4)
    assert all(torch.equal(v, ckpt_d[k]) for k, v in t.D.state_dict().items())
    assert t.rewind(t.g_step) == 20 and not t.diverged


def test_a_finite_blow_up_keeps_the_weights_of_the_step_before():
    t = trained(steps=10)
    before = copy.deepcopy(t.D.state_dict())
    with torch.no_grad():  # a huge D output: the loss is inf but the weights are finite
        t.D.head.bias.fill_(1e38)
        before["head.bias"].fill_(1e38)
    with pytest.raises(Diverged, match="kept as they were at step 10"):
        t.step()
    assert all(torch.equal(v, before[k]) for k, v in t.D.state_dict().items())

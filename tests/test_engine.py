"""The one engine (gansim.engine): seed s of a stacked Trainer is the single run with seed s."""
import itertools
import math
import os
import threading

import pytest
import torch

from gansim import Config, Trainer, engine
from gansim.trainer import Diverged
from gansim.config import FIELDS
from gansim.engine import STACKING

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


def weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach() for k, v in module.named_parameters()}


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


def test_every_setting_says_how_it_stacks():
    assert set(STACKING) == set(FIELDS), (
        f"engine.STACKING must declare how these settings stack: "
        f"{sorted(set(FIELDS) ^ set(STACKING))}")


def test_live_updates_act_on_every_run_of_a_stack():
    stack = Trainer(Config(**SMALL), seeds=[5, 6], compile=False)
    stack.train(3)
    stack.update(loss="hinge", lr_d=3e-4, optimizer="rmsprop", gp=1.0)
    assert stack.h["d"]["lr"].tolist() == pytest.approx([3e-4, 3e-4])
    assert stack.key.loss == "hinge" and stack.key.gp and stack.t_d.tolist() == [0.0, 0.0]
    stack.train(3)
    assert [len(h.rows["step"]) for h in stack.histories] == [0, 0]  # log_every 10
    assert stack.run(1).cfg.seed == 6 and stack.run(1).sample(4).shape == (4, 2)


def test_compiled_step_equals_eager_and_falls_back_when_compiling_fails(monkeypatch, caplog):
    """One compiled setting with most cures on (a compile costs ~10–60 s on a shared
    2-core machine, so one), then a forced failure: the run goes on eagerly."""
    import gansim.engine as engine

    monkeypatch.setenv("GANSIM_COMPILE", "1")  # conftest turns compiling off for the rest
    cfg = Config(**SMALL, gp=1.0, label_flip=0.1, instance_noise=0.1, replay=0.5,
                 feature_matching=0.5, d_steps=2)
    eager, compiled = Trainer(cfg, seeds=[1, 2], compile=False), Trainer(cfg, seeds=[1, 2], compile=True)
    for _ in range(3):
        eager.step()
        compiled.step()
    assert isinstance(compiled._compiled, engine.FallBack)
    assert compiled._compiled.fell_back is None, compiled._compiled.fell_back
    for k, v in eager.g.items():
        torch.testing.assert_close(compiled.g[k], v, rtol=1e-4, atol=1e-5)

    def broken(*args):
        raise RuntimeError("no C++ compiler")

    run = Trainer(cfg.replace(loss="hinge"), seeds=[1, 2], compile=True)  # a new key
    monkeypatch.setattr(run._compiled, "compiled", broken)
    with caplog.at_level("WARNING", logger="gansim.engine"):
        for _ in range(3):
            run.step()
    assert run._compiled.fell_back == "RuntimeError: no C++ compiler"
    assert sum("training eagerly" in r.message for r in caplog.records) == 1
    assert run.g_step == 3 and bool(run.alive.all())


def test_ready_compiles_without_blocking_and_the_run_starts_compiled(monkeypatch, tmp_path):
    """The app's mode: ready() starts the compile (a child process fills the disk cache,
    then a thread loads it) and returns False at once; the app trains only once it says
    True, so its run is the compiled run from the first step, bit for bit what a
    synchronous Trainer (`gansim run`) trains. Same key as the test above: in one
    process the kernels are already built, so the compile is held at a gate."""
    monkeypatch.setenv("GANSIM_COMPILE", "1")
    cfg = Config(**SMALL, gp=1.0, label_flip=0.1, instance_noise=0.1, replay=0.5,
                 feature_matching=0.5, d_steps=2)
    sync = Trainer(cfg, seeds=[1, 2], compile=True)
    sync.train(3)
    t = Trainer(cfg, seeds=[1, 2], compile=True, background_compile=True)
    fb = t._compiled
    gate, real = threading.Event(), fb.compiled
    monkeypatch.setattr(fb, "compiled", lambda *a: (gate.wait(120), real(*a))[1])
    monkeypatch.setattr(fb, "_thread", None)
    monkeypatch.setattr(fb, "loaded", False)
    children, in_child = [], engine.compile_in_child
    monkeypatch.setattr(engine, "_marker", lambda key: tmp_path / "marker")  # not on disk yet
    monkeypatch.setattr(engine, "compile_in_child", lambda *a: children.append(in_child(*a)))
    assert not t.ready() and t.compiling, "ready() must not block on the compile"
    assert not t.ready() and t.g_step == 0
    gate.set()
    fb._thread.join(600)
    assert t.ready() and not t.compiling and fb.fell_back is None
    assert children == [True], "the child process's compile failed"
    t.train(3)
    for k, v in sync.g.items():
        assert torch.equal(t.g[k], v), k  # the warm-up drew nothing from the run's streams
    for k, v in sync.d.items():
        assert torch.equal(t.d[k], v), k


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_functional_optimisers_match_torch_optim(name):
    """engine's optimisers against torch.optim's on two runs with different lrs, float64."""
    from gansim.engine import OPTIMISERS, apply_update

    torch.manual_seed(0)
    p0 = torch.randn(2, 5, 3, dtype=torch.float64)
    lrs, wd = torch.tensor([0.05, 0.01], dtype=torch.float64), 1e-3
    h = {"lr": lrs, "wd": torch.full((2,), wd, dtype=torch.float64),
         "beta1": torch.full((2,), 0.5, dtype=torch.float64),
         "beta2": torch.full((2,), 0.9, dtype=torch.float64),
         "eps": torch.full((2,), 1e-8, dtype=torch.float64),
         "alpha": torch.full((2,), 0.99, dtype=torch.float64)}
    make = {"adam": lambda p, lr: torch.optim.Adam([p], lr=lr, betas=(0.5, 0.9), weight_decay=wd),
            "sgd": lambda p, lr: torch.optim.SGD([p], lr=lr, weight_decay=wd),
            "rmsprop": lambda p, lr: torch.optim.RMSprop([p], lr=lr, weight_decay=wd)}[name]
    refs = [p0[i].clone().requires_grad_() for i in range(2)]
    opts = [make(r, float(lrs[i])) for i, r in enumerate(refs)]
    params = {"w": p0.clone()}
    state = {"w": {m: torch.zeros_like(p0) for m in OPTIMISERS[name].moments}}
    for t in range(1, 4):
        grads = {"w": torch.sin(params["w"] * t)}  # any gradient, the same on both sides
        for i, (r, opt) in enumerate(zip(refs, opts)):
            r.grad = grads["w"][i].clone()
            opt.step()
        params, state = apply_update(OPTIMISERS[name], params, grads, state, h,
                                     torch.full((2,), float(t), dtype=torch.float64))
        for i, r in enumerate(refs):
            torch.testing.assert_close(params["w"][i], r.detach(), rtol=1e-10, atol=1e-12)


def test_safe_sqrt_has_zero_gradient_at_zero_and_matches_sqrt_elsewhere():
    from gansim.engine import safe_sqrt

    x = torch.tensor([0.0, 4.0], requires_grad=True)
    y = safe_sqrt(x)
    y.sum().backward()
    assert y[1].item() == 2.0 and y[0].item() < 1e-14
    assert x.grad.tolist() == [0.0, 0.25]  # finite at 0: no inf·0 = NaN downstream


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
    true_step = engine.Step(engine.StepKey.of(true_cfg, 1), t.nets)

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


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("GANSIM_SLOW") != "1", reason="ten compiles: set GANSIM_SLOW=1")
def test_a_process_compiles_more_than_eight_settings_in_the_background(monkeypatch):
    """The app compiles in a background thread, and a lesson walks through many
    settings: the ninth compiled setting of a process must not fall back to eager
    (dynamo's recompile limit of 8, whose raised value one thread did not see)."""
    monkeypatch.setenv("GANSIM_COMPILE", "1")
    monkeypatch.setattr(engine, "compile_in_child", lambda *a: True)  # compile here only
    tiny = dict(g_hidden=8, d_hidden=8, g_depth=1, d_depth=1, batch=16, z_dim=2)
    for d_steps in range(1, 11):
        t = Trainer(Config(**tiny, d_steps=d_steps), compile=True, background_compile=True)
        t.ready()
        t._compiled._thread.join(600)
        assert t._compiled.fell_back is None, (d_steps, t._compiled.fell_back)


def test_prepare_readies_each_setting_once_and_a_later_process_skips_the_child(monkeypatch,
                                                                             tmp_path):
    """A lesson opening prepares its runs' steps: each compiled once in a child (faked:
    a real compile costs 17-40 s) and loaded here, so a run that starts later is ready at
    once; a new process (an empty in-memory cache) finds the marker and skips the child."""
    monkeypatch.setenv("GANSIM_COMPILE", "1")
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: fn)  # the eager step stands in
    monkeypatch.setattr(engine, "_marker", lambda key: tmp_path / str(abs(hash(key))))
    for name, fresh in (("_QUEUED", set()), ("_COMPILED", {})):
        monkeypatch.setattr(engine, name, fresh)
    children = []

    def child(cfg, runs):  # what the real child does, less the compile
        children.append(engine.StepKey.of(cfg, runs))
        engine.mark_on_disk(engine.StepKey.of(cfg, runs))
        return True

    monkeypatch.setattr(engine, "compile_in_child", child)

    def prepared(cfgs):
        engine.prepare(cfgs)
        for thread in threading.enumerate():
            if thread.name == "gansim-prepare":
                thread.join(60)

    a, b = Config(**SMALL), Config(**SMALL, loss="hinge")
    prepared([a, b, a.replace(lr_d=1e-3)])  # a live value: the same step as a
    assert children == [engine.StepKey.of(a, 1), engine.StepKey.of(b, 1)]
    assert Trainer(a, compile=True, background_compile=True).ready(), "prepared, yet not ready"
    monkeypatch.setattr(engine, "_COMPILED", {})  # as in a new process
    monkeypatch.setattr(engine, "_QUEUED", set())
    prepared([b])
    assert len(children) == 2, "a step already compiled by a child was compiled again"
    assert engine._COMPILED[engine.StepKey.of(b, 1)].loaded


def test_compile_ahead_runs_one_child_once_in_order_and_skips_what_is_on_disk(monkeypatch,
                                                                            tmp_path):
    """The app's first start compiles every lesson's steps in one background child: each
    setting once (live values do not make a new step), in order, none already on disk."""
    import gansim.trainer

    monkeypatch.setenv("GANSIM_COMPILE", "1")
    monkeypatch.setattr(engine, "_marker", lambda key: tmp_path / str(abs(hash(key))))
    monkeypatch.setattr(engine, "_AHEAD", [])
    a, b, c = Config(**SMALL), Config(**SMALL, loss="hinge"), Config(**SMALL, d_steps=2)
    engine.mark_on_disk(engine.StepKey.of(c, 1))
    children = []
    monkeypatch.setattr(engine, "_child", lambda cfgs, runs, timeout: children.append(cfgs))
    engine.compile_ahead([a, b, a.replace(lr_d=1e-3), c])
    engine._AHEAD[0].join(10)
    engine.compile_ahead([a])  # once per process
    assert children == [[a, b]]

    trained = []  # the child's side: compile each, mark it, skip what a marker names

    class Fake:
        def __init__(self, cfg, **kw):
            self.cfg = cfg

        def step(self):
            trained.append(self.cfg.loss)

    monkeypatch.setattr(gansim.trainer, "Trainer", Fake)
    engine._child_compiles([a.to_dict(), b.to_dict(), c.to_dict()], 1)
    assert trained == ["nonsaturating", "hinge"]
    assert engine.on_disk(engine.StepKey.of(b, 1))


@pytest.mark.parametrize("env, asked, compiles", [
    (None, None, False), (None, True, True), (None, False, False),
    ("1", None, True), ("1", False, False), ("0", True, False), ("0", None, False)])
def test_compiling_is_opt_in_and_zero_forbids_it(monkeypatch, env, asked, compiles):
    """Eager by default (the app, gansim run, sweeps, the lesson check: compiling did not
    pay for their runs on this project's 2-core machine); GANSIM_COMPILE=1 asks for it
    wherever nothing else is said, GANSIM_COMPILE=0 forbids it even where asked."""
    if env is None:
        monkeypatch.delenv("GANSIM_COMPILE", raising=False)
    else:
        monkeypatch.setenv("GANSIM_COMPILE", env)
    assert engine.compile_wanted(asked) is compiles


@pytest.mark.parametrize("name", SETTINGS)
def test_the_eager_slot_call_is_functional_call_exactly(name):
    """Nets' eager path (engine.Slots) gives functional_call's outputs and gradients bit
    for bit, for every architecture, and leaves the modules' own weights in place."""
    from torch.func import functional_call

    cfg = Config(**SMALL, **SETTINGS[name])
    nets = engine.Nets(cfg, 2, torch.device("cpu"))
    g, d = engine.init_weights(cfg, [0, 1], torch.device("cpu"))
    own = {k: v for k, v in nets.D.named_parameters()}
    x = torch.randn(2, cfg.batch, 2, generator=torch.Generator().manual_seed(3))
    z = torch.randn(2, cfg.batch, cfg.z_dim, generator=torch.Generator().manual_seed(4))
    mask = None
    if nets.dropouts:  # one keep mask per dropout layer, as Draws hands them in
        mask = torch.stack([(torch.rand(2, cfg.batch // cfg.pack, cfg.d_hidden,
                                        generator=torch.Generator().manual_seed(5)) > cfg.dropout)
                            .float() for _ in nets.dropouts])

    def both(call):
        dp = {k: v.clone().requires_grad_() for k, v in d.items()}
        out = call(dp)
        grads = torch.autograd.grad(out.sum(), list(dp.values()), allow_unused=True)
        return out.detach(), grads

    fast = both(lambda dp: nets.d(dp, x, mask))
    with nets._masks(mask):
        slow = both(lambda dp: functional_call(nets.D, dp, (x,), tie_weights=False))
    assert torch.equal(fast[0], slow[0])
    assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(*[f[1] for f in (fast, slow)]))
    assert torch.equal(nets.g(g, z), functional_call(nets.G, g, (z,), tie_weights=False))
    assert all(v is own[k] for k, v in nets.D.named_parameters()), "a module kept a run's weight"


def test_the_slot_call_puts_the_modules_weights_back_when_the_call_fails():
    cfg = Config(**SMALL)
    nets = engine.Nets(cfg, 1, torch.device("cpu"))
    own = dict(nets.G.named_parameters())
    g, _ = engine.init_weights(cfg, [0], torch.device("cpu"))
    with pytest.raises(RuntimeError):
        nets.g(g, torch.zeros(1, 4, cfg.z_dim + 1))  # wrong latent width
    assert all(v is own[k] for k, v in nets.G.named_parameters())

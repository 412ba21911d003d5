"""The training step as one pure function of stacked runs, eager or compiled.

A GAN step on these small MLPs is ~800 tiny operator calls whose fixed cost (Python,
dispatch, autograd bookkeeping, the optimiser's loops) outweighs their arithmetic on a
CPU. Writing the whole step (both losses, both backward passes via
`torch.func.grad_and_value`, both optimiser updates) as one pure function of the
weights, the optimiser moments and the pre-drawn random inputs lets
`torch.compile(fullgraph=True)` fuse it into a few kernels; stacking S runs along a
leading axis (models.stack_networks: one baddbmm per layer for all runs) pays what is
left once for all S.

Randomness never happens inside the function: each run's batches are drawn outside
from its keyed generators (trainer.batch_key) and passed in, so the compiled and the
eager step see the same numbers. Continuous settings (learning rates, betas) are
tensors, so changing them live never recompiles; what changes the graph (the loss,
the optimiser, shapes, S) is the compile cache's key (`StepKey`).

Status: stage 1 of issue 11 (see docs/engine.md): the plain path (any loss, Adam /
SGD / RMSprop, d_steps, WGAN-GP, unrolled look-ahead) is here and benchmarked;
the Trainer does not use it yet.
"""
from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor
from torch.func import functional_call, grad_and_value

from .config import Config
from .losses import LOSSES, d_objective
from .models import Discriminator, Generator, stack_networks

log = logging.getLogger(__name__)
Params = dict[str, Tensor]
State = dict[str, Any]


def use_persistent_cache() -> Path:
    """Point inductor's on-disk caches (FX graph, AOT autograd, kernels) at a per-user
    directory that survives reboots (the default lives under /tmp), so a restarted app
    or a new CLI process reuses compiled steps instead of compiling them again."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gansim" / "inductor"
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(base))
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")
    return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])


# --- functional optimisers on stacked parameters ----------------------------------------
# Each takes a parameter p (S, ...), its gradient, its state, the hyper-parameters as
# tensors (lr of shape (S,), so runs may differ) and the step count t (S,), and returns
# the new p and state. The forms follow torch.optim's (Kingma & Ba 2015 for Adam).

def _per_run(x: Tensor, like: Tensor) -> Tensor:
    """(S,) → (S, 1, ..., 1) so it broadcasts against a stacked parameter."""
    return x.reshape(x.shape + (1,) * (like.dim() - 1))


def adam(p: Tensor, g: Tensor, s: State, h: State, t: Tensor) -> tuple[Tensor, State]:
    """Adam (Kingma & Ba 2015) in torch.optim.Adam's form, L2 weight decay in the gradient."""
    g = g + _per_run(h["wd"], p) * p
    b1, b2 = h["beta1"], h["beta2"]
    m = torch.lerp(s["m"], g, 1 - b1)
    v = s["v"] * b2 + (1 - b2) * g * g
    bc1 = _per_run(1 - b1 ** t, p)
    bc2 = _per_run(1 - b2 ** t, p)
    denom = v.sqrt() / bc2.sqrt() + h["eps"]
    return p - (_per_run(h["lr"], p) / bc1) * m / denom, {"m": m, "v": v}


def sgd(p: Tensor, g: Tensor, s: State, h: State, t: Tensor) -> tuple[Tensor, State]:
    """Plain stochastic gradient descent, L2 weight decay in the gradient."""
    g = g + _per_run(h["wd"], p) * p
    return p - _per_run(h["lr"], p) * g, s


def rmsprop(p: Tensor, g: Tensor, s: State, h: State, t: Tensor) -> tuple[Tensor, State]:
    """RMSprop (Tieleman & Hinton 2012) in torch.optim.RMSprop's default form."""
    g = g + _per_run(h["wd"], p) * p
    v = s["v"] * h["alpha"] + (1 - h["alpha"]) * g * g
    return p - _per_run(h["lr"], p) * g / (v.sqrt() + h["eps"]), {"v": v}


@dataclass(frozen=True)
class Optimiser:
    update: Callable[[Tensor, Tensor, State, State, Tensor], tuple[Tensor, State]]
    moments: tuple[str, ...]  # the state tensors it keeps per parameter


OPTIMISERS = {"adam": Optimiser(adam, ("m", "v")), "sgd": Optimiser(sgd, ()),
              "rmsprop": Optimiser(rmsprop, ("v",))}


def apply_update(opt: Optimiser, params: Params, grads: Params, state: dict[str, State],
                 h: State, t: Tensor) -> tuple[Params, dict[str, State]]:
    new_p, new_s = {}, {}
    for k, p in params.items():
        new_p[k], new_s[k] = opt.update(p, grads[k], state[k], h, t)
    return new_p, new_s


# --- the stacked networks ---------------------------------------------------------------

class Nets:
    """G and D of S runs stacked (models.stack_networks), called with given weights."""

    def __init__(self, cfg: Config, seeds: list[int], device: torch.device):
        Gs, Ds = [], []
        for s in seeds:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s)  # the same draws, in the same order, as Trainer's init
                Gs.append(Generator(cfg))
                Ds.append(Discriminator(cfg))
        self.G = stack_networks(Gs).to(device)
        self.D = stack_networks(Ds).to(device)

    def weights(self) -> tuple[Params, Params]:
        return ({k: v.detach().clone() for k, v in self.G.named_parameters()},
                {k: v.detach().clone() for k, v in self.D.named_parameters()})

    def g(self, p: Params, z: Tensor) -> Tensor:
        return functional_call(self.G, p, (z,))

    def d(self, p: Params, x: Tensor) -> Tensor:
        return functional_call(self.D, p, (x,))


# --- the step -----------------------------------------------------------------------------

@dataclass(frozen=True)
class StepKey:
    """What a compiled step is specialised on; everything else is a tensor input."""

    loss: str
    optimizer: str
    d_steps: int
    gp: bool
    unroll: int
    unroll_first_order: bool
    batch: int
    z_dim: int
    runs: int

    @classmethod
    def of(cls, cfg: Config, runs: int) -> "StepKey":
        return cls(cfg.loss, cfg.optimizer, cfg.d_steps, bool(cfg.gp), cfg.unroll,
                   cfg.unroll_first_order, cfg.batch, cfg.z_dim, runs)


def hyper(cfg: Config, runs: int, device: torch.device) -> dict[str, State]:
    """The continuous settings as tensors: changing them never recompiles."""
    def t(x: float) -> Tensor:
        return torch.full((runs,), float(x), device=device)

    def scalar(x: float) -> Tensor:
        return torch.tensor(float(x), device=device)

    common = {"beta1": scalar(cfg.beta1), "beta2": scalar(cfg.beta2), "eps": scalar(1e-8),
              "alpha": scalar(0.99)}
    return {"g": {**common, "lr": t(cfg.lr_g), "wd": t(0.0)},
            "d": {**common, "lr": t(cfg.lr_d), "wd": t(cfg.weight_decay), "gp": t(cfg.gp)}}


def build_step(key: StepKey, nets: Nets) -> Callable:
    """The pure step for `key`: (weights, moments, counts, hyper, batches) → new ones.

    batches: "d_real" and "d_z" of shape (d_steps, S, n, ·), "g_z" (S, n, z),
    "gp_alpha" (d_steps, S, n, 1) when the gradient penalty is on, "look_real" (S, n, 2)
    when unrolling. Returns (g, d, g_state, d_state, t_g, t_d, d_loss (S,), g_loss (S,)).
    """
    loss = LOSSES[key.loss]
    opt = OPTIMISERS[key.optimizer]

    def d_loss(dp: Params, real: Tensor, fake: Tensor, alpha: Tensor | None,
               gp_weight: Tensor) -> tuple[Tensor, Tensor]:
        per_run = d_objective(loss, nets.d(dp, real), nets.d(dp, fake))
        if alpha is not None:
            per_run = per_run + gp_weight * gradient_penalty(nets, dp, real, fake, alpha)
        return per_run.sum(), per_run.detach()  # runs share no weight: Σ keeps them apart

    d_grad = grad_and_value(d_loss, has_aux=True)

    def look_ahead(dp: Params, ds: dict[str, State], t_d: Tensor, real: Tensor,
                   fake: Tensor, h: State) -> Params:
        """Metz et al. 2016: D after k updates, differentiable unless first order."""
        def plain(p):
            per_run = d_objective(loss, nets.d(p, real), nets.d(p, fake))
            return per_run.sum()

        for i in range(key.unroll):
            grads = torch.func.grad(plain)(dp)
            if key.unroll_first_order:
                grads = {k: g.detach() for k, g in grads.items()}
            dp, ds = apply_update(opt, dp, grads, ds, h, t_d + i + 1)
        return dp

    def g_loss(gp_: Params, dp: Params, ds, t_d, z: Tensor, look_real, h_d) -> tuple[Tensor, Tensor]:
        fake = nets.g(gp_, z)
        if key.unroll:
            fake_d = fake.detach() if key.unroll_first_order else fake
            dp = look_ahead(dp, ds, t_d, look_real, fake_d, h_d)
        per_run = loss.g_term(nets.d(dp, fake)).mean(-1)
        return per_run.sum(), per_run.detach()

    g_grad = grad_and_value(g_loss, has_aux=True)

    def step(g: Params, d: Params, gs, ds, t_g: Tensor, t_d: Tensor, h: dict[str, State],
             batch: dict[str, Tensor]):
        d_out = []
        for i in range(key.d_steps):
            fake = nets.g(g, batch["d_z"][i]).detach()
            alpha = batch["gp_alpha"][i] if key.gp else None
            grads, (_, per_run) = d_grad(d, batch["d_real"][i], fake, alpha, h["d"]["gp"])
            t_d = t_d + 1
            d, ds = apply_update(opt, d, grads, ds, h["d"], t_d)
            d_out.append(per_run)
        frozen_d = {k: v.detach() for k, v in d.items()}
        frozen_ds = {k: {m: v.detach() for m, v in s.items()} for k, s in ds.items()}
        grads, (_, g_per_run) = g_grad(g, frozen_d, frozen_ds, t_d, batch["g_z"],
                                       batch.get("look_real"), h["d"])
        t_g = t_g + 1
        g, gs = apply_update(opt, g, grads, gs, h["g"], t_g)
        return g, d, gs, ds, t_g, t_d, d_out[-1], g_per_run

    return step


def gradient_penalty(nets: Nets, dp: Params, real: Tensor, fake: Tensor, alpha: Tensor) -> Tensor:
    """Gulrajani et al. 2017: (‖∇D(x̂)‖ − 1)² at x̂ between real and fake, per run."""
    mixed = alpha * real + (1 - alpha) * fake

    def total(x):
        return nets.d(dp, x).sum()

    grad = torch.func.grad(total)(mixed)
    return ((grad.norm(dim=-1) - 1) ** 2).mean(-1)


_COMPILED: dict[tuple, Callable] = {}


def compiled_step(key: StepKey, nets: Nets, compile: bool = True) -> Callable:
    """The step for `key`, compiled once per process per key (and per Nets object,
    whose modules the graph calls); eager when compile is False."""
    fn = build_step(key, nets)
    if not compile:
        return fn
    cache_key = (key, id(nets))
    if cache_key not in _COMPILED:
        use_persistent_cache()
        _COMPILED[cache_key] = torch.compile(fn, fullgraph=True, dynamic=False)
    return _COMPILED[cache_key]


class StackedRuns:
    """S runs of one Config (seeds differ) trained by the pure step: stage-1 driver."""

    def __init__(self, cfg: Config, seeds: list[int], *, compile: bool = True,
                 dataset: Any = None):
        from .trainer import batch_key, default_dataset, resolve_device

        self._batch_key = batch_key
        self.cfg, self.seeds = cfg, list(seeds)
        self.device = resolve_device(cfg.device)
        self.dataset = dataset if dataset is not None else default_dataset(cfg)
        self.nets = Nets(cfg, self.seeds, self.device)
        self.g, self.d = self.nets.weights()
        opt = OPTIMISERS[cfg.optimizer]
        self.gs = {k: {m: torch.zeros_like(v) for m in opt.moments} for k, v in self.g.items()}
        self.ds = {k: {m: torch.zeros_like(v) for m in opt.moments} for k, v in self.d.items()}
        S = len(self.seeds)
        self.t_g = torch.zeros(S, device=self.device)
        self.t_d = torch.zeros(S, device=self.device)
        self.h = hyper(cfg, S, self.device)
        self.key = StepKey.of(cfg, S)
        self.step_fn = compiled_step(self.key, self.nets, compile)
        self.gens = [torch.Generator().manual_seed(s) for s in self.seeds]
        self._keyed = torch.Generator()
        self.g_step = 0
        self.d_loss = self.g_loss = None

    def _stack(self, tag: str, make: Callable[[torch.Generator], Tensor], index: int = 0) -> Tensor:
        return torch.stack([make(self._keyed.manual_seed(self._batch_key(s, self.g_step, tag, index)))
                            for s in self.seeds]).to(self.device)

    def batches(self) -> dict[str, Tensor]:
        cfg, n = self.cfg, self.cfg.batch
        real = lambda g: self.dataset.sample_torch(n, g, "cpu")  # noqa: E731
        z = lambda g: torch.randn(n, cfg.z_dim, generator=g)  # noqa: E731
        out = {"d_real": torch.stack([self._stack("d_real", real, i) for i in range(cfg.d_steps)]),
               "d_z": torch.stack([self._stack("d_z", z, i) for i in range(cfg.d_steps)]),
               "g_z": self._stack("g_z", z)}
        if cfg.gp:
            out["gp_alpha"] = torch.stack([
                torch.stack([torch.rand(n, 1, generator=g) for g in self.gens])
                for _ in range(cfg.d_steps)]).to(self.device)
        if cfg.unroll:
            out["look_real"] = self._stack("look_real", real)
        return out

    def step(self) -> None:
        (self.g, self.d, self.gs, self.ds, self.t_g, self.t_d, self.d_loss,
         self.g_loss) = self.step_fn(self.g, self.d, self.gs, self.ds, self.t_g, self.t_d,
                                     self.h, self.batches())
        self.g_step += 1

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

gansim.trainer.Trainer owns the state (S runs; a single run is S = 1) and calls this
step for every update; docs/engine.md says where issue 11 stands.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import Tensor
from torch.func import functional_call, grad_and_value

from .config import Config
from .losses import LOSSES, d_objective
from .models import Discriminator, Generator, SeededDropout, StackedLinear, stack_networks

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


# At import, not at the first compile: torch writes its own /tmp default into the
# environment the first time anything asks for inductor's cache directory (a textbook
# loop did), and from then on setdefault would keep it.
use_persistent_cache()


# --- functional optimisers on stacked parameters ----------------------------------------
# Each takes a parameter p (S, ...), its gradient, its state, the hyper-parameters as
# tensors (lr of shape (S,), so runs may differ) and the step count t (S,), and returns
# the new p and state. The forms follow torch.optim's (Kingma & Ba 2015 for Adam).

TINY = 1e-30  # √TINY = 1e-15, far below Adam's eps (1e-8): values match torch's Adam


def safe_sqrt(x: Tensor) -> Tensor:
    """√x with gradient 0, not inf, at x = 0: a dead ReLU unit keeps Adam's v at exactly
    0, and the unrolled look-ahead differentiates through this root (inf·0 = NaN).
    √TINY = 1e-15 is far below eps (1e-8), so the update's value is unchanged."""
    return x.clamp_min(TINY).sqrt()


def _per_run(x: Tensor, like: Tensor) -> Tensor:
    """(S,) → (S, 1, ..., 1) so it broadcasts against a stacked parameter."""
    return x.reshape(x.shape + (1,) * (like.dim() - 1))


# Each optimiser splits in two: `coeffs(h, t)` computes the per-run (S,) values every
# parameter shares, once per update; `update(p, g, s, c)` applies them to one parameter
# (c reshaped to broadcast against it). Hoisting the shared values is exact (the same
# elementwise operations on the same numbers) and removes ~12 of Adam's ~28 small ops
# per parameter: the eager step pays ~3 µs for each.

def adam_coeffs(h: State, t: Tensor) -> State:
    b1, b2 = h["beta1"], h["beta2"]
    return {"wd": h["wd"], "b1": b1, "b2": b2, "eps": h["eps"], "one_b1": 1 - b1,
            "one_b2": 1 - b2, "lr_t": h["lr"] / (1 - b1 ** t), "c2": (1 - b2 ** t).sqrt()}


def adam(p: Tensor, g: Tensor, s: State, c: State) -> tuple[Tensor, State]:
    """Adam (Kingma & Ba 2015) in torch.optim.Adam's form, L2 weight decay in the gradient."""
    g = g + c["wd"] * p
    m = s["m"] + c["one_b1"] * (g - s["m"])  # torch's lerp form of β₁m + (1 − β₁)g
    v = s["v"] * c["b2"] + c["one_b2"] * g * g
    denom = safe_sqrt(v) / c["c2"] + c["eps"]
    return p - c["lr_t"] * m / denom, {"m": m, "v": v}


def sgd_coeffs(h: State, t: Tensor) -> State:
    return {"lr": h["lr"], "wd": h["wd"]}


def sgd(p: Tensor, g: Tensor, s: State, c: State) -> tuple[Tensor, State]:
    """Plain stochastic gradient descent, L2 weight decay in the gradient."""
    return p - c["lr"] * (g + c["wd"] * p), s


def rmsprop_coeffs(h: State, t: Tensor) -> State:
    return {"lr": h["lr"], "wd": h["wd"], "alpha": h["alpha"], "one_alpha": 1 - h["alpha"],
            "eps": h["eps"]}


def rmsprop(p: Tensor, g: Tensor, s: State, c: State) -> tuple[Tensor, State]:
    """RMSprop (Tieleman & Hinton 2012) in torch.optim.RMSprop's default form."""
    g = g + c["wd"] * p
    v = s["v"] * c["alpha"] + c["one_alpha"] * g * g
    return p - c["lr"] * g / (safe_sqrt(v) + c["eps"]), {"v": v}


@dataclass(frozen=True)
class Optimiser:
    coeffs: Callable[[State, Tensor], State]  # per-run values shared by every parameter
    update: Callable[[Tensor, Tensor, State, State], tuple[Tensor, State]]
    moments: tuple[str, ...]  # the state tensors it keeps per parameter


OPTIMISERS = {"adam": Optimiser(adam_coeffs, adam, ("m", "v")),
              "sgd": Optimiser(sgd_coeffs, sgd, ()),
              "rmsprop": Optimiser(rmsprop_coeffs, rmsprop, ("v",))}


def apply_update(opt: Optimiser, params: Params, grads: Params, state: dict[str, State],
                 h: State, t: Tensor) -> tuple[Params, dict[str, State]]:
    shared, by_dim = opt.coeffs(h, t), {}
    new_p, new_s = {}, {}
    for k, p in params.items():
        if p.dim() not in by_dim:
            by_dim[p.dim()] = {name: _per_run(x, p) for name, x in shared.items()}
        new_p[k], new_s[k] = opt.update(p, grads[k], state[k], by_dim[p.dim()])
    return new_p, new_s


# --- the stacked networks ---------------------------------------------------------------

class _Features(torch.nn.Module):
    """D.features as a module's forward, so functional_call can run it."""

    def __init__(self, D: torch.nn.Module):
        super().__init__()
        self.D = D

    def forward(self, x: Tensor) -> Tensor:
        return self.D.features(x)


def plain_arch(cfg: Config) -> Config:
    """The architecture the step calls: spectral norm is applied by the step itself to
    raw weights (`normalised`), so the modules are built without torch's parametrization."""
    return cfg.replace(spectral_norm=False)


class Slots:
    """Runs a structure-only module with weights passed in, by putting each tensor in its
    module's parameter slot for the call and the module's own back afterwards.

    The same swap as torch.func.functional_call, without its generic path (name lookups,
    checks, swap helpers per tensor: ~10 % of an eager step in a profile on a 2-core AMD
    EPYC). Not for dynamo: the compiled step traces functional_call. Not thread-safe,
    like functional_call: every Trainer has its own modules."""

    def __init__(self, root: torch.nn.Module):
        self.slots = [(name, root.get_submodule(name.rpartition(".")[0]), name.rpartition(".")[2])
                      for name, _ in root.named_parameters()]

    def call(self, p: Params, fn: Callable, *args) -> Tensor:
        own = []
        try:
            for name, module, attr in self.slots:
                own.append(module._parameters[attr])
                module._parameters[attr] = p[name]
            return fn(*args)
        finally:
            for (_, module, attr), tensor in zip(self.slots, own):
                module._parameters[attr] = tensor


class Nets:
    """The shape of G and D for S stacked runs (models.stack_networks): modules only,
    called with weights passed in, so one Nets serves every run of an architecture."""

    def __init__(self, cfg: Config, runs: int, device: torch.device):
        with torch.random.fork_rng(devices=[]):  # structure only: keep the global stream
            G, D = Generator(plain_arch(cfg)), Discriminator(plain_arch(cfg))
        self.G = stack_networks([G] * runs).to(device)
        self.D = stack_networks([D] * runs).to(device)
        self.pack = cfg.pack
        self._features = _Features(self.D)
        self.dropouts = [m for m in self.D.modules() if isinstance(m, SeededDropout)]
        # Spectral norm (Miyato et al. 2018) acts on every Linear layer of D.
        self.sn_keys = [f"{n}.weight" for n, m in self.D.named_modules()
                        if isinstance(m, StackedLinear)] if cfg.spectral_norm else []
        self._g_slots, self._d_slots = Slots(self.G), Slots(self.D)

    # Eagerly, the weights go straight into the modules' slots (`Slots`); dynamo traces
    # functional_call. tie_weights=False: no module here shares a tensor, and torch's check
    # for tied weights costs ~20 µs a call (5 calls a step) for nothing.
    def g(self, p: Params, z: Tensor) -> Tensor:
        if not torch.compiler.is_compiling():
            return self._g_slots.call(p, self.G, z)
        return functional_call(self.G, p, (z,), tie_weights=False)

    def features(self, p: Params, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """D's penultimate features (models.Discriminator.features) with weights p."""
        with self._masks(mask):
            if not torch.compiler.is_compiling():
                return self._d_slots.call(p, self.D.features, x)
            return functional_call(self._features, {f"D.{k}": v for k, v in p.items()}, (x,),
                                   tie_weights=False)

    def d(self, p: Params, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """D's output with weights p; mask (layers, S, rows, width): dropout's keep masks."""
        with self._masks(mask):
            if not torch.compiler.is_compiling():
                return self._d_slots.call(p, self.D, x)
            return functional_call(self.D, p, (x,), tie_weights=False)

    @contextlib.contextmanager
    def _masks(self, mask: Tensor | None):
        if mask is None:
            yield
            return
        for layer, m in zip(self.dropouts, mask):
            layer.mask = m
        try:
            yield
        finally:
            for layer in self.dropouts:
                layer.mask = None


def init_weights(cfg: Config, seeds: list[int], device: torch.device) -> tuple[Params, Params]:
    """Each run's G and D weights as a fresh network with its seed starts, stacked
    (names as one network's; a Linear weight (S, out, in))."""
    Gs, Ds = [], []
    for s in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s)  # weight init, without touching the global stream
            Gs.append(dict(Generator(plain_arch(cfg)).named_parameters()))
            Ds.append(dict(Discriminator(plain_arch(cfg)).named_parameters()))

    def stack(nets: list[Params]) -> Params:
        return {k: torch.stack([n[k].detach() for n in nets]).to(device) for k in nets[0]}

    return stack(Gs), stack(Ds)


# --- spectral norm -----------------------------------------------------------------------
# Miyato et al. 2018, Algorithm 1: for every D update, one power iteration per layer with
# the weights as they are (u, v carried from update to update), then W / σ with
# σ = uᵀWv and u, v held constant, so the gradient flows through W only. u and v are
# per-run state of the step, as the moments are.
SN_SEED_TAG = 0x5EC7
SN_INIT_ITERATIONS = 15  # as torch.nn.utils.parametrizations.spectral_norm at build


def _unit(x: Tensor) -> Tensor:
    return torch.nn.functional.normalize(x, dim=-1, eps=1e-12)


def power_iteration(d: Params, sn: dict[str, State]) -> dict[str, State]:
    """One power iteration per normalised layer on the current (detached) weights."""
    out = {}
    for k, s in sn.items():
        W = d[k].detach()
        v = _unit((W.transpose(-1, -2) @ s["u"][..., None]).squeeze(-1))
        u = _unit((W @ v[..., None]).squeeze(-1))
        out[k] = {"u": u, "v": v}
    return out


def sigma(W: Tensor, s: State) -> Tensor:
    """σ = uᵀWv per run, (S,)."""
    return (s["u"] * (W @ s["v"][..., None]).squeeze(-1)).sum(-1)


def normalised(d: Params, sn: dict[str, State]) -> Params:
    """D's weights as the layers use them: each normalised layer's W / σ (identity
    without spectral norm)."""
    if not sn:
        return d
    return {k: (v / sigma(v, sn[k])[:, None, None] if k in sn else v) for k, v in d.items()}


def init_sn(cfg: Config, seeds: list[int], d: Params, nets: Nets) -> dict[str, State]:
    """Each run's starting u, v per normalised layer: random unit vectors from the run's
    own generator, refined by a few power iterations as torch does at build time."""
    from .trainer import mix_seed

    sn: dict[str, State] = {}
    for k in nets.sn_keys:
        out, n_in = d[k].shape[-2:]
        us, vs = [], []
        for s in seeds:
            gen = torch.Generator().manual_seed(mix_seed(s, SN_SEED_TAG))
            us.append(_unit(torch.randn(out, generator=gen)))
            vs.append(_unit(torch.randn(n_in, generator=gen)))
        sn[k] = {"u": torch.stack(us).to(d[k].device), "v": torch.stack(vs).to(d[k].device)}
    for _ in range(SN_INIT_ITERATIONS if sn else 0):
        sn = power_iteration(d, sn)
    return sn


# --- how each setting enters the stacked step ------------------------------------------
# Every Config field says how a stack of runs handles it, so a new setting cannot be
# added without deciding (tests/test_engine.py checks this table covers config.FIELDS).
KEY = "key"  # changes the graph: part of StepKey (compiled once per value)
TENSOR = "tensor"  # a continuous value passed in as a tensor: live changes never recompile
DRAWS = "draws"  # its random numbers are drawn outside, per run, and passed in
ARCH = "arch"  # shapes the networks (models.py); a stack builds S copies of one architecture
RUN = "run"  # differs per run of a stack (the seed) or lives outside the step (device, data)

STACKING: dict[str, tuple[str, ...]] = {
    "data": (RUN,), "custom_centers": (RUN,), "custom_stds": (RUN,), "custom_weights": (RUN,),
    "loss": (KEY,), "gp": (KEY, TENSOR, DRAWS), "r1": (KEY, TENSOR), "r2": (KEY, TENSOR),
    "clip": (KEY, TENSOR), "instance_noise": (KEY, TENSOR, DRAWS), "noise_anneal": (TENSOR,),
    "label_smoothing": (TENSOR,), "label_flip": (KEY, DRAWS), "weight_decay": (TENSOR,),
    "dropout": (KEY, ARCH, DRAWS), "spectral_norm": (KEY, ARCH), "feature_matching": (KEY, TENSOR),
    "replay": (KEY, DRAWS), "unroll": (KEY,), "unroll_first_order": (KEY,),
    "minibatch": (ARCH,), "minibatch_dim": (ARCH,), "mbstd": (ARCH,), "pack": (ARCH,),
    "lr_g": (TENSOR,), "lr_d": (TENSOR,), "d_steps": (KEY,), "optimizer": (KEY,),
    "beta1": (TENSOR,), "beta2": (TENSOR,), "batch": (KEY,),
    "lr_decay_start": (TENSOR,), "lr_decay_end": (TENSOR,), "lr_decay_floor": (TENSOR,),
    "g_hidden": (ARCH,), "g_depth": (ARCH,), "d_hidden": (ARCH,), "d_depth": (ARCH,),
    "activation": (ARCH,), "z_dim": (KEY, ARCH), "seed": (RUN,), "device": (RUN,),
}


# --- the step -----------------------------------------------------------------------------

@dataclass(frozen=True)
class StepKey:
    """What a compiled step is specialised on; everything else is a tensor input."""

    loss: str
    optimizer: str
    d_steps: int
    gp: bool
    r1: bool
    r2: bool
    clip: bool
    noise: bool
    flip: bool
    fm: bool
    replay: bool
    dropout: bool
    sn: bool
    unroll: int
    unroll_first_order: bool
    batch: int
    z_dim: int
    runs: int
    # The networks' shape and the device: a compiled step runs the modules it was traced
    # with, so two architectures must never share one (same tensor shapes or not).
    arch: tuple = ()

    @classmethod
    def of(cls, cfg: Config, runs: int) -> "StepKey":
        arch = tuple((f, getattr(cfg, f)) for f, how in STACKING.items() if ARCH in how)
        return cls(cfg.loss, cfg.optimizer, cfg.d_steps, bool(cfg.gp), bool(cfg.r1),
                   bool(cfg.r2), bool(cfg.clip), bool(cfg.instance_noise),
                   bool(cfg.label_flip), bool(cfg.feature_matching), bool(cfg.replay),
                   bool(cfg.dropout), bool(cfg.spectral_norm), cfg.unroll,
                   cfg.unroll_first_order, cfg.batch, cfg.z_dim, runs,
                   arch + (("device", str(cfg.device)),))


def hyper(cfg: Config, runs: int, device: torch.device) -> dict[str, State]:
    """The continuous settings as tensors: changing them never recompiles. Per-run
    values have shape (S,); `set_hyper` rewrites them in place."""
    h = {"g": {"lr": None, "wd": None, "beta1": None, "beta2": None, "eps": None, "alpha": None},
         "d": {}}
    h["d"] = dict(h["g"], gp=None, r1=None, r2=None, clip=None, smooth=None, sigma=None)
    h["g"]["fm"] = None
    for side in h.values():
        for k in side:
            side[k] = torch.zeros(runs, device=device)
    set_hyper(h, cfg, 1.0, 0.0)
    return h


def set_hyper(h: dict[str, State], cfg: Config, lr_factor: float, sigma: float,
              d_lr_factor: float | None = None) -> None:
    """Write cfg's continuous values (lrs scaled by the decay schedule, the annealed
    instance-noise σ) into the tensors the step reads."""
    common = {"beta1": cfg.beta1, "beta2": cfg.beta2, "eps": 1e-8, "alpha": 0.99}
    d_factor = lr_factor if d_lr_factor is None else d_lr_factor
    values = {"g": {**common, "lr": cfg.lr_g * lr_factor, "wd": 0.0, "fm": cfg.feature_matching},
              "d": {**common, "lr": cfg.lr_d * d_factor, "wd": cfg.weight_decay, "gp": cfg.gp,
                    "r1": cfg.r1, "r2": cfg.r2, "clip": cfg.clip,
                    "smooth": cfg.label_smoothing, "sigma": sigma}}
    for side, vals in values.items():
        for k, v in vals.items():
            h[side][k].fill_(float(v))


def _col(x: Tensor) -> Tensor:
    """(S,) → (S, 1): a per-run value against per-sample terms."""
    return x[:, None]


def input_grad_norms(nets: "Nets", dp: Params, x: Tensor, pack: int,
                     mask: Tensor | None = None) -> Tensor:
    """‖∂D/∂x‖ per (packed) D input row, per run: (S, n / pack)."""
    grad = torch.func.grad(lambda x_: nets.d(dp, x_, mask).sum())(x)
    return grad.reshape(*x.shape[:-2], -1, 2 * pack).norm(dim=-1)


def gradient_penalty(nets: "Nets", dp: Params, real: Tensor, fake: Tensor, alpha: Tensor,
                     pack: int, mask: Tensor | None = None) -> Tensor:
    """Gulrajani et al. 2017: (‖∇D(x̂)‖ − 1)² at x̂ between real and fake, per run;
    alpha (S, n / pack, 1, 1): one mixing weight per (packed) D input."""
    S, n = real.shape[0], real.shape[1] // pack
    mixed = alpha * real.reshape(S, n, pack, 2) + (1 - alpha) * fake.reshape(S, n, pack, 2)
    norms = input_grad_norms(nets, dp, mixed.reshape(S, -1, 2), pack, mask)
    return ((norms - 1) ** 2).mean(-1)


def grad_norms(grads: Params) -> Tensor:
    """Each run's total gradient L2 norm, (S,)."""
    return torch.stack([g.flatten(1).pow(2).sum(1) for g in grads.values()]).sum(0).sqrt()


def finite_runs(params: Params) -> Tensor:
    """(S,) True where every weight of that run is finite."""
    return torch.stack([torch.isfinite(v).flatten(1).all(1) for v in params.values()]).all(0)


def keep_where(ok: Tensor, new: Any, old: Any) -> Any:
    """new where a run's step was finite (ok (S,)), old elsewhere, over nested dicts."""
    if not torch.compiler.is_compiling() and bool(ok.all()):
        return new  # the usual case: exactly what the selection gives, without its ops
    return _select(ok, new, old)


def _select(ok: Tensor, new: Any, old: Any) -> Any:
    if isinstance(new, dict):
        return {k: _select(ok, v, old[k]) for k, v in new.items()}
    return torch.where(_per_run(ok, new), new, old)


def autograd_grad_and_value(fn: Callable, has_aux: bool = True) -> Callable:
    """torch.func.grad_and_value(fn, has_aux=True) over fn's first argument (a dict of
    tensors), computed with torch.autograd: the same gradients, less overhead eagerly."""
    def wrapped(params: Params, *args):
        with torch.enable_grad():
            p = {k: v.detach().requires_grad_() for k, v in params.items()}
            value, aux = fn(p, *args)
            grads = torch.autograd.grad(value, list(p.values()), allow_unused=True)
        return ({k: torch.zeros_like(p[k]) if g is None else g for k, g in zip(p, grads)},
                (value.detach(), aux))
    return wrapped


class Step:
    """The pure update functions for one StepKey (eager; `steps_for` compiles `whole`).

    d(g, d, ds, t_d, alive, mem, sn, h, b) → d, ds, t_d, alive, mem, sn, stats (S, 6), seen
        one D update; b: one update's draws (Draws.d_batch); stats per run: loss, gradient
        norm, score_d, score_g, mean D(real), mean D(fake); seen: D's noisy inputs and
        outputs (slow motion reads them).
    g(g, d, gs, ds, t_g, t_d, alive, sn, h, b) → g, gs, t_g, alive, stats (S, 2)
        one G update (loss, gradient norm per run); b: Draws.g_batch.
    whole(..., batch) → the d_steps D updates then the G update, as one function.
    probe(g, d, ds, t_d, sn, h, b) → G's fakes, D's verdict, ∂(G's loss)/∂fake (slow motion).

    A run whose loss or gradient is NaN/Inf, or whose update would write a non-finite
    weight, keeps its weights, moments and count from before that update and is marked
    dead in `alive`; the others go on.
    """

    def __init__(self, key: StepKey, nets: Nets, compiled: bool = False):
        self.key, self.nets = key, nets
        self.loss, self.opt = LOSSES[key.loss], OPTIMISERS[key.optimizer]
        # Eager: torch.autograd for the outer gradient (~2x less overhead per op than
        # torch.func's transform); compiled: torch.func, which dynamo traces whole.
        outer = grad_and_value if compiled else autograd_grad_and_value
        self._d_grad = outer(self._d_loss, has_aux=True)
        self._g_grad = outer(self._g_loss, has_aux=True)

    # --- D ---------------------------------------------------------------------------
    @staticmethod
    def noisy(x: Tensor, noise: Tensor | None, h: State) -> Tensor:
        return x if noise is None else x + _per_run(h["sigma"], x) * noise

    def _d_loss(self, raw: Params, real: Tensor, fake: Tensor, b: dict, h: State, sn):
        key, nets = self.key, self.nets
        dp = normalised(raw, sn)
        penalties = torch.zeros_like(h["lr"])
        m_real, m_fake = b.get("drop_real"), b.get("drop_fake")
        if key.gp:
            penalties = penalties + h["gp"] * gradient_penalty(nets, dp, real, fake, b["gp_alpha"],
                                                               nets.pack, b.get("drop_gp"))
        if key.r1:
            r1 = input_grad_norms(nets, dp, real, nets.pack, m_real) ** 2
            penalties = penalties + 0.5 * h["r1"] * r1.mean(-1)
        if key.r2:
            r2 = input_grad_norms(nets, dp, fake, nets.pack, m_fake) ** 2
            penalties = penalties + 0.5 * h["r2"] * r2.mean(-1)
        out_r, out_f = nets.d(dp, real, m_real), nets.d(dp, fake, m_fake)
        per_run = d_objective(self.loss, out_r, out_f, _col(h["smooth"]), b.get("flip")) + penalties
        return per_run.sum(), (per_run.detach(), out_r.detach(), out_f.detach())  # runs share no weight

    def _scores(self, out_r: Tensor, out_f: Tensor) -> tuple[Tensor, Tensor]:
        """D's average verdicts: score_d (right on both sides), score_g (fakes called real);
        NaN for a critic, whose outputs are no probabilities."""
        p_r, p_f = self.loss.prob(out_r), self.loss.prob(out_f)
        if p_r is None:
            nan = torch.full_like(out_r[..., 0], math.nan)
            return nan, nan
        return 0.5 * p_r.mean(-1) + 0.5 * (1 - p_f).mean(-1), p_f.mean(-1)

    def _replay(self, fake: Tensor, mem: dict[str, Tensor], b: dict):
        """Experience replay: swap the picked rows for stored fakes, then store `fake`
        in each run's ring buffer (mem["buffer"] (S, capacity, 2), mem["pos"])."""
        buf, n = mem["buffer"], fake.shape[1]
        idx = b["replay_idx"][..., None].expand(-1, -1, 2)
        mixed = torch.where(b["replay_pick"][..., None], torch.gather(buf, 1, idx), fake)
        slots = (mem["pos"] + torch.arange(n, device=fake.device)) % buf.shape[1]
        buf = buf.index_copy(1, slots, fake)
        return mixed, {"buffer": buf, "pos": (mem["pos"] + n) % buf.shape[1]}

    def d(self, g, d, ds, t_d, alive, mem, sn, h, b):
        key, hd = self.key, h["d"]
        sn_new = power_iteration(d, sn) if key.sn else sn
        real = self.noisy(b["d_real"], b.get("noise_real"), hd)
        fake = self.nets.g(g, b["d_z"]).detach()
        if key.replay:
            fake, mem = self._replay(fake, mem, b)
        fake = self.noisy(fake, b.get("noise_fake"), hd)
        grads, (_, (per_run, out_r, out_f)) = self._d_grad(d, real, fake, b, hd, sn_new)
        norm = grad_norms(grads)
        ok = alive & torch.isfinite(per_run + norm)
        new_d, new_ds = apply_update(self.opt, d, grads, ds, hd, t_d + 1)
        if key.clip:
            c = hd["clip"]
            new_d = {k: torch.clamp(v, -_per_run(c, v), _per_run(c, v)) for k, v in new_d.items()}
        ok = ok & finite_runs(new_d)  # an update that overflowed is not written either
        d, ds = keep_where(ok, new_d, d), keep_where(ok, new_ds, ds)
        sn = keep_where(ok, sn_new, sn) if key.sn else sn
        score_d, score_g = self._scores(out_r, out_f)
        stats = torch.stack([per_run, norm, score_d, score_g, out_r.mean(-1), out_f.mean(-1)], -1)
        seen = {"real": real, "fake": fake, "out_r": out_r, "out_f": out_f}
        return d, ds, torch.where(ok, t_d + 1, t_d), ok, mem, sn, stats, seen

    # --- G ---------------------------------------------------------------------------
    def _look_ahead(self, raw: Params, ds, t_d: Tensor, real: Tensor, fake: Tensor,
                    h: State, masks: Tensor | None, sn) -> Params:
        """Metz et al. 2016: D after k plain updates (no penalty, no flip), differentiable
        unless first order."""
        key, nets = self.key, self.nets

        def plain(p, m_real, m_fake):
            p = normalised(p, sn)
            return d_objective(self.loss, nets.d(p, real, m_real), nets.d(p, fake, m_fake),
                               _col(h["smooth"])).sum()

        for i in range(key.unroll):
            m_real, m_fake = (None, None) if masks is None else (masks[i][0], masks[i][1])
            grads = torch.func.grad(plain)(raw, m_real, m_fake)
            if key.unroll_first_order:
                grads = {k: v.detach() for k, v in grads.items()}
            raw, ds = apply_update(self.opt, raw, grads, ds, h, t_d + i + 1)
        return raw

    def _fakes(self, gp_: Params, b: dict, h) -> Tensor:
        return self.noisy(self.nets.g(gp_, b["g_z"]), b.get("g_noise"), h["d"])

    def _g_tail(self, fake: Tensor, raw: Params, ds, t_d, sn, b: dict, h):
        """G's loss per run, as a function of its (noisy) fakes."""
        key, nets = self.key, self.nets
        live = normalised(raw, sn)
        dp = live
        if key.unroll:
            fake_d = fake.detach() if key.unroll_first_order else fake
            look_real = self.noisy(b["look_real"], b.get("look_noise"), h["d"])
            dp = normalised(self._look_ahead(raw, ds, t_d, look_real, fake_d, h["d"],
                                             b.get("drop_look"), sn), sn)
        out = nets.d(dp, fake, b.get("drop_g"))
        per_run = self.loss.g_term(out).mean(-1)
        if key.fm:
            per_run = per_run + h["g"]["fm"] * self._feature_gap(live, fake, b, h["d"])
        return per_run.sum(), (per_run.detach(), out.detach())

    def _g_loss(self, gp_: Params, raw: Params, ds, t_d, sn, b: dict, h):
        return self._g_tail(self._fakes(gp_, b, h), raw, ds, t_d, sn, b, h)

    def _feature_gap(self, dp: Params, fake: Tensor, b: dict, h: State) -> Tensor:
        """Feature matching (Salimans et al. 2016): ‖E f(real) − E f(fake)‖² on live D's
        penultimate features, per run."""
        m_real, m_fake = (None, None) if "drop_fm" not in b else b["drop_fm"]
        real = self.noisy(b["fm_real"], b.get("fm_noise"), h)
        target = self.nets.features(dp, real, m_real).detach().mean(-2)
        return ((self.nets.features(dp, fake, m_fake).mean(-2) - target) ** 2).sum(-1)

    def g(self, g, d, gs, ds, t_g, t_d, alive, sn, h, b):
        frozen_d = {k: v.detach() for k, v in d.items()}
        frozen_ds = {k: {m: v.detach() for m, v in s.items()} for k, s in ds.items()}
        grads, (_, (per_run, _)) = self._g_grad(g, frozen_d, frozen_ds, t_d, sn, b, h)
        norm = grad_norms(grads)
        ok = alive & torch.isfinite(per_run + norm)
        new_g, new_gs = apply_update(self.opt, g, grads, gs, h["g"], t_g + 1)
        ok = ok & finite_runs(new_g)
        g, gs = keep_where(ok, new_g, g), keep_where(ok, new_gs, gs)
        return g, gs, torch.where(ok, t_g + 1, t_g), ok, torch.stack([per_run, norm], -1)

    def probe(self, g, d, ds, t_d, sn, h, b):
        """G's fakes (noisy, as D sees them), D's verdict on them and ∂(G's loss)/∂fake,
        per run: what slow motion draws. Pure: changes nothing."""
        fake = self._fakes(g, b, h).detach()
        grad, (_, (_, out)) = grad_and_value(self._g_tail, has_aux=True)(fake, d, ds, t_d, sn, b, h)
        return fake, out, grad

    # --- both ----------------------------------------------------------------------------
    def whole(self, g, d, gs, ds, t_g, t_d, alive, mem, sn, h, batch):
        """batch: {"d": [one dict per D update], "g": dict}. Returns the new state, each
        D update's stats (d_steps, S, 6), G's stats, and `alive` after the D updates."""
        d_stats = []
        for b in batch["d"]:
            d, ds, t_d, alive, mem, sn, stats, _ = self.d(g, d, ds, t_d, alive, mem, sn, h, b)
            d_stats.append(stats)
        alive_d = alive
        g, gs, t_g, alive, g_stats = self.g(g, d, gs, ds, t_g, t_d, alive, sn, h, batch["g"])
        return g, d, gs, ds, t_g, t_d, alive, mem, sn, torch.stack(d_stats), g_stats, alive_d


class FallBack:
    """The compiled whole step of one StepKey, shared by every Trainer in the process.

    `try_call` runs it, or returns None when it is not available: compiling or running it
    failed (no C++ compiler, an op inductor cannot lower: logged once, then never tried
    again) or it is still compiling in the background. The caller then runs its own
    eager step, the same function (equal up to float rounding).
    `warm_in_background(args)` compiles in a thread, on copies of the inputs (the step is
    pure), so a caller need not block on a compile (the app waits for `loaded`, drawing
    meanwhile). Calls are serialised by a lock: one compiled graph, one thread at a time."""

    def __init__(self, compiled: Callable, key: StepKey, cfg: Config | None = None):
        self.compiled, self.key, self.cfg = compiled, key, cfg
        self.fell_back: str | None = None
        self.loaded = False  # compiled and run once: calls from now on run it
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """False while a background compile runs."""
        return self._thread is None or not self._thread.is_alive()

    def warm_in_background(self, *args) -> None:
        if self._thread is not None or self.fell_back is not None:
            return
        copies = clone_tree(args)
        self._thread = threading.Thread(target=self._warm, args=copies, daemon=True,
                                        name=f"gansim-compile-{self.key.loss}")
        self._thread.start()

    def _warm(self, *args) -> None:
        """Compile in a child process first (it fills the on-disk caches), then here,
        where the compile is then a cache hit. A compile holds this process's GIL for
        seconds at a time (measured up to 5 s on a cold cache), which would stall every
        session of this process; the child's compile stalls nothing. A step compiled
        by an earlier child (a marker file, which the child writes, says so) skips it."""
        if self.cfg is not None and not on_disk(self.key):
            compile_in_child(self.cfg, self.key.runs)
        self._call(*args)

    def _call(self, *args):
        try:
            # Only compiling needs the raised limit; a loaded step's calls skip the patch.
            with self._lock, (contextlib.nullcontext() if self.loaded else many_settings()):
                out = self.compiled(*args)
            self.loaded = True
            return out
        except Exception as err:  # noqa: BLE001 - any compile failure means "run eager"
            self.fell_back = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            log.warning("gansim: compiling the training step failed (%s); training "
                        "eagerly instead", self.fell_back)
            return None

    def try_call(self, *args):
        """The compiled step's outputs, or None: compiling failed, or a background
        compile has not finished (the caller runs the eager step)."""
        if self.fell_back is not None or not self.ready:
            return None
        return self._call(*args)


_COMPILED: dict[StepKey, FallBack] = {}


def clone_tree(x: Any) -> Any:
    """A copy of nested dicts, lists and tuples with every tensor cloned."""
    return torch.utils._pytree.tree_map(lambda v: v.clone() if isinstance(v, Tensor) else v, x)


def many_settings():
    """Every StepKey compiles the same function (Step.whole): dynamo counts them all as
    recompiles of one code object and, past its default of 8, would refuse the ninth
    setting a process meets (the lesson check meets ~20). A context, not a global
    assignment: dynamo's settings made in one thread are not seen by another (the
    background compile's)."""
    import torch._dynamo  # noqa: F401  (torch imports its compiler lazily)

    return torch._dynamo.config.patch(recompile_limit=1024, accumulated_recompile_limit=4096)


def compile_wanted(compile: bool | None) -> bool:
    """Whether to compile: GANSIM_COMPILE=1 asks for it wherever `compile` is None (the app,
    `gansim run`, sweeps, the lesson check), GANSIM_COMPILE=0 forbids it everywhere, and
    by default only an explicit compile=True compiles (the benchmarks). Eager is the
    default because on a 2-core AMD EPYC a first compile (17-40 s) or a cached load
    (~3-9 s in the app) costs more than the 1.2-1.8x it gains on runs of a few thousand
    steps; a class server that replays the same lessons daily, or a long sweep, gains."""
    env = os.environ.get("GANSIM_COMPILE")
    if env == "0":
        return False
    return bool(compile) if compile is not None else env == "1"


def compiled_step(key: StepKey, cfg: Config, device: torch.device) -> FallBack:
    """The compiled whole step of `key`, built once per process (its own modules: a
    compiled graph runs no module code, so every Trainer of this key may call it)."""
    if key not in _COMPILED:
        use_persistent_cache()
        step = Step(key, Nets(cfg, key.runs, device), compiled=True)
        _COMPILED[key] = FallBack(torch.compile(step.whole, fullgraph=True, dynamic=False), key,
                                  cfg)
    return _COMPILED[key]


CHILD_TIMEOUT_S = 900  # a cold compile takes 17-40 s on an idle 2-core AMD EPYC
_QUEUED: set[StepKey] = set()
_PREPARE: "queue.Queue[tuple[Config, int]]" = queue.Queue()
_SOURCES = ("engine.py", "models.py", "losses.py")  # what a compiled step is made of


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    here = Path(__file__).resolve().parent
    text = "".join((here / name).read_text() for name in _SOURCES)
    return hashlib.sha1((torch.__version__ + text).encode()).hexdigest()[:16]


def _marker(key: StepKey) -> Path:
    name = hashlib.sha1(f"{_code_version()} {key!r}".encode()).hexdigest()[:24]
    return use_persistent_cache() / "gansim-steps" / name


def on_disk(key: StepKey) -> bool:
    """Whether a child process of this code and torch version compiled `key` already."""
    return _marker(key).exists()


def mark_on_disk(key: StepKey) -> None:
    _marker(key).parent.mkdir(parents=True, exist_ok=True)
    _marker(key).write_text(repr(key))


def prepare(cfgs: list[Config], runs: int = 1) -> None:
    """Make these settings' compiled steps ready ahead, one after another, without
    waiting: a lesson opening its runs' settings, so that each run finds its step loaded
    when it starts (compiling takes 17-40 s the first time, loading a cached one a few)."""
    if not compile_wanted(None):
        return
    for cfg in cfgs:
        key = StepKey.of(cfg, runs)
        if key not in _QUEUED and not (key in _COMPILED and _COMPILED[key].loaded):
            _QUEUED.add(key)
            _PREPARE.put((cfg, runs))
    if not any(t.name == "gansim-prepare" for t in threading.enumerate()):
        threading.Thread(target=_prepare_queued, daemon=True, name="gansim-prepare").start()


def _prepare_queued() -> None:
    """A throwaway Trainer of each queued setting warms the step every Trainer of that
    StepKey shares (compiled_step): a run that starts meanwhile waits on the same one."""
    from .trainer import Trainer  # trainer imports engine: import late

    while True:
        try:
            cfg, runs = _PREPARE.get(timeout=5)
        except queue.Empty:
            return
        t = Trainer(without_data(cfg), seeds=list(range(runs)), compile=True, background_compile=True)
        t.ready()
        if t._compiled is not None and t._compiled._thread is not None:
            t._compiled._thread.join(CHILD_TIMEOUT_S)


def without_data(cfg: Config) -> Config:
    """cfg on ring8: the data never enters a compiled step (batches are inputs of a fixed
    shape), and uploaded or custom data cannot be rebuilt elsewhere."""
    return cfg.replace(data="ring8", custom_centers=(), custom_stds=(), custom_weights=())


def compile_in_child(cfg: Config, runs: int) -> bool:
    """Compile cfg's whole step for `runs` stacked runs in a child process, filling the
    on-disk caches (use_persistent_cache); True when it succeeded."""
    return _child([cfg], runs, CHILD_TIMEOUT_S)


def _child(cfgs: list[Config], runs: int, timeout: float) -> bool:
    """One child process (at low priority) compiles these settings' steps one after
    another, on ring8 (without_data), and marks each on disk."""
    plain = [without_data(c).to_dict() for c in cfgs]
    code = ("import json, sys; from gansim.engine import _child_compiles; "
            "_child_compiles(json.loads(sys.argv[1]), int(sys.argv[2]))")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "GANSIM_COMPILE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-c", code, json.dumps(plain), str(runs)],
                              env=env, capture_output=True, timeout=timeout,
                              preexec_fn=lambda: os.nice(10))
    except (OSError, subprocess.TimeoutExpired) as err:
        log.info("gansim: compiling in a child process failed (%s)", err)
        return False
    return done.returncode == 0


def _child_compiles(values: list[dict], runs: int) -> None:
    from .trainer import Trainer  # trainer imports engine: import late

    torch.set_num_threads(1)
    for one in values:
        cfg = Config.from_dict(one)
        key = StepKey.of(cfg, runs)
        if not on_disk(key):
            Trainer(cfg, seeds=list(range(runs)), compile=True).step()
            mark_on_disk(key)


_AHEAD: list[threading.Thread] = []


def compile_ahead(cfgs: Iterable[Config], runs: int = 1) -> None:
    """Fill the disk cache for these settings in the background, in order, in one child
    process, once per process: the app's first start on a machine compiles every
    lesson's steps (17-40 s each on a 2-core AMD EPYC) so later runs only load them.
    `cfgs` may be lazy: the app calls this on every rerun, and it is read only once."""
    if _AHEAD or not compile_wanted(None):
        return
    keys, todo = set(), []
    for cfg in cfgs:
        key = StepKey.of(cfg, runs)
        if key not in keys and not on_disk(key):
            keys.add(key)
            todo.append(cfg)
    thread = threading.Thread(target=_child, args=(todo, runs, 60 * 60), daemon=True,
                              name="gansim-compile-ahead")
    _AHEAD.append(thread)
    if todo:
        thread.start()


# --- the random inputs, drawn outside the step ---------------------------------------------

class Draws:
    """Each run's batches and tricks' random numbers for one update, drawn outside the
    pure step: the keyed real/latent batches (trainer.batch_key) and, from each run's own
    generator (`gens`), the tricks' draws in a fixed order per update."""

    def __init__(self, seeds: list[int], dataset: Any, device: torch.device, dropout_layers: int):
        self.seeds, self.dataset, self.device = seeds, dataset, device
        self.gens = [torch.Generator().manual_seed(s) for s in seeds]  # the tricks' own draws
        self._keyed = torch.Generator()
        self.layers = dropout_layers

    def _keyed_stack(self, tag: str, g_step: int, make: Callable, index: int = 0) -> Tensor:
        from .trainer import batch_key

        return torch.stack([make(self._keyed.manual_seed(batch_key(s, g_step, tag, index)))
                            for s in self.seeds]).to(self.device)

    def _real(self, n: int) -> Callable:
        return lambda gen: self.dataset.sample_torch(n, gen, "cpu")

    def _z(self, cfg: Config) -> Callable:
        return lambda gen: torch.randn(cfg.batch, cfg.z_dim, generator=gen)

    def _masks(self, cfg: Config, gen: torch.Generator) -> Tensor:
        """One D call's dropout keep masks (layers, rows, width), layer by layer."""
        rows = cfg.batch // cfg.pack
        return torch.stack([(torch.rand(rows, cfg.d_hidden, generator=gen) >= cfg.dropout).float()
                            for _ in range(self.layers)])

    def _tricks(self, per_run: Callable[[torch.Generator], dict]) -> dict[str, Tensor]:
        """Stack each run's draws: run axis first, or next to (rows, width) for masks."""
        drawn = [per_run(gen) for gen in self.gens]
        return {k: torch.stack([r[k] for r in drawn], dim=-3 if k.startswith("drop_") else 0)
                .to(self.device) for k in drawn[0]}

    def d_batch(self, cfg: Config, key: StepKey, g_step: int, index: int, sigma: float,
                stored: int) -> dict[str, Tensor]:
        """The draws of D update `index` of G step `g_step`; `stored`: fakes in replay's
        buffer before it."""
        n = cfg.batch

        def tricks(gen):
            out = {}
            if key.replay:
                out["replay_pick"] = torch.zeros(n, dtype=torch.bool)
                out["replay_idx"] = torch.zeros(n, dtype=torch.long)
                if stored:
                    out["replay_pick"] = torch.rand(n, generator=gen) < cfg.replay
                    out["replay_idx"] = torch.randint(stored, (n,), generator=gen)
            if key.noise:
                out["noise_real"], out["noise_fake"] = self._noise(n, sigma, gen), self._noise(n, sigma, gen)
            if key.dropout:  # D(real), then D(fake)
                out["drop_real"], out["drop_fake"] = self._masks(cfg, gen), self._masks(cfg, gen)
            if key.flip:
                out["flip"] = torch.rand(n // cfg.pack, generator=gen) < cfg.label_flip
            if key.gp:
                out["gp_alpha"] = torch.rand(n // cfg.pack, 1, 1, generator=gen)
                if key.dropout:
                    out["drop_gp"] = self._masks(cfg, gen)
            return out

        return {"d_real": self._keyed_stack("d_real", g_step, self._real(n), index),
                "d_z": self._keyed_stack("d_z", g_step, self._z(cfg), index),
                **(self._tricks(tricks) if self._any_d_tricks(key) else {})}

    @staticmethod
    def _any_d_tricks(key: StepKey) -> bool:
        return key.replay or key.noise or key.dropout or key.flip or key.gp

    @staticmethod
    def _noise(n: int, sigma: float, gen: torch.Generator) -> Tensor:
        # Noise is drawn only while σ > 0 (an annealed σ of 0 draws nothing).
        return torch.randn(n, 2, generator=gen) if sigma else torch.zeros(n, 2)

    def g_batch(self, cfg: Config, key: StepKey, g_step: int, sigma: float) -> dict[str, Tensor]:
        """The draws of G's update at `g_step`."""
        n = cfg.batch

        def tricks(gen):
            out = {}
            if key.noise:
                out["g_noise"] = self._noise(n, sigma, gen)
            if key.unroll:
                if key.noise:
                    out["look_noise"] = self._noise(n, sigma, gen)
                if key.dropout:
                    out["drop_look"] = torch.stack([torch.stack([self._masks(cfg, gen), self._masks(cfg, gen)])
                                                    for _ in range(cfg.unroll)])
            if key.dropout:
                out["drop_g"] = self._masks(cfg, gen)
            if key.fm:
                if key.noise:
                    out["fm_noise"] = self._noise(n, sigma, gen)
                if key.dropout:
                    out["drop_fm"] = torch.stack([self._masks(cfg, gen), self._masks(cfg, gen)])
            return out

        out = {"g_z": self._keyed_stack("g_z", g_step, self._z(cfg))}
        if key.unroll:
            out["look_real"] = self._keyed_stack("look_real", g_step, self._real(n))
        if key.fm:
            out["fm_real"] = self._keyed_stack("fm_real", g_step, self._real(n))
        if key.noise or key.dropout:
            out.update(self._tricks(tricks))
        return out

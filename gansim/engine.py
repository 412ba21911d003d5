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

Status (issue 11, see docs/engine.md): every cure but spectral norm is in the step,
checked against Trainer setting by setting (tests/test_engine.py); Trainer and
SeedBatch do not use it yet (stage 3).
"""
from __future__ import annotations

import contextlib
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
from .models import Discriminator, Generator, SeededDropout, stack_networks
from .unroll import TINY

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

def safe_sqrt(x: Tensor) -> Tensor:
    """√x with gradient 0, not inf, at x = 0: a dead ReLU unit keeps Adam's v at exactly
    0, and the unrolled look-ahead differentiates through this root (inf·0 = NaN).
    √TINY = 1e-15 is far below eps (1e-8), so the update's value is unchanged."""
    return x.clamp_min(TINY).sqrt()


def _per_run(x: Tensor, like: Tensor) -> Tensor:
    """(S,) → (S, 1, ..., 1) so it broadcasts against a stacked parameter."""
    return x.reshape(x.shape + (1,) * (like.dim() - 1))


def adam(p: Tensor, g: Tensor, s: State, h: State, t: Tensor) -> tuple[Tensor, State]:
    """Adam (Kingma & Ba 2015) in torch.optim.Adam's form, L2 weight decay in the gradient."""
    lr, wd, b1, b2, eps, t = (_per_run(x, p) for x in (h["lr"], h["wd"], h["beta1"], h["beta2"],
                                                       h["eps"], t))
    g = g + wd * p
    m = s["m"] + (1 - b1) * (g - s["m"])  # torch's lerp form of β₁m + (1 − β₁)g
    v = s["v"] * b2 + (1 - b2) * g * g
    denom = safe_sqrt(v) / (1 - b2 ** t).sqrt() + eps
    return p - (lr / (1 - b1 ** t)) * m / denom, {"m": m, "v": v}


def sgd(p: Tensor, g: Tensor, s: State, h: State, t: Tensor) -> tuple[Tensor, State]:
    """Plain stochastic gradient descent, L2 weight decay in the gradient."""
    return p - _per_run(h["lr"], p) * (g + _per_run(h["wd"], p) * p), s


def rmsprop(p: Tensor, g: Tensor, s: State, h: State, t: Tensor) -> tuple[Tensor, State]:
    """RMSprop (Tieleman & Hinton 2012) in torch.optim.RMSprop's default form."""
    lr, wd, alpha, eps = (_per_run(x, p) for x in (h["lr"], h["wd"], h["alpha"], h["eps"]))
    g = g + wd * p
    v = s["v"] * alpha + (1 - alpha) * g * g
    return p - lr * g / (safe_sqrt(v) + eps), {"v": v}


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

class _Features(torch.nn.Module):
    """D.features as a module's forward, so functional_call can run it."""

    def __init__(self, D: torch.nn.Module):
        super().__init__()
        self.D = D

    def forward(self, x: Tensor) -> Tensor:
        return self.D.features(x)


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
        self.pack = cfg.pack
        self._features = _Features(self.D)
        self.dropouts = [m for m in self.D.modules() if isinstance(m, SeededDropout)]

    def weights(self) -> tuple[Params, Params]:
        return ({k: v.detach().clone() for k, v in self.G.named_parameters()},
                {k: v.detach().clone() for k, v in self.D.named_parameters()})

    def g(self, p: Params, z: Tensor) -> Tensor:
        return functional_call(self.G, p, (z,))

    def features(self, p: Params, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """D's penultimate features (models.Discriminator.features) with weights p."""
        with self._masks(mask):
            return functional_call(self._features, {f"D.{k}": v for k, v in p.items()}, (x,))

    def d(self, p: Params, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """D's output with weights p; mask (layers, S, rows, width): dropout's keep masks."""
        with self._masks(mask):
            return functional_call(self.D, p, (x,))

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


# --- how each setting enters the stacked step ------------------------------------------
# Every Config field says how a stack of runs handles it, so a new setting cannot be
# added without deciding (tests/test_engine.py checks this table covers config.FIELDS).
KEY = "key"  # changes the graph: part of StepKey (compiled once per value)
TENSOR = "tensor"  # a continuous value passed in as a tensor: live changes never recompile
DRAWS = "draws"  # its random numbers are drawn outside, per run, and passed in
ARCH = "arch"  # shapes the networks (models.py); a stack builds S copies of one architecture
RUN = "run"  # differs per run of a stack (the seed) or lives outside the step (device, data)
TODO = "todo"  # not in the pure step yet: StackedRuns refuses it (see docs/engine.md)

STACKING: dict[str, tuple[str, ...]] = {
    "data": (RUN,), "custom_centers": (RUN,), "custom_stds": (RUN,), "custom_weights": (RUN,),
    "loss": (KEY,), "gp": (KEY, TENSOR, DRAWS), "r1": (KEY, TENSOR), "r2": (KEY, TENSOR),
    "clip": (KEY, TENSOR), "instance_noise": (KEY, TENSOR, DRAWS), "noise_anneal": (TENSOR,),
    "label_smoothing": (TENSOR,), "label_flip": (KEY, DRAWS), "weight_decay": (TENSOR,),
    "dropout": (KEY, DRAWS), "spectral_norm": (TODO,), "feature_matching": (KEY, TENSOR),
    "replay": (KEY, DRAWS), "unroll": (KEY,), "unroll_first_order": (KEY,),
    "minibatch": (ARCH,), "minibatch_dim": (ARCH,), "mbstd": (ARCH,), "pack": (ARCH,),
    "lr_g": (TENSOR,), "lr_d": (TENSOR,), "d_steps": (KEY,), "optimizer": (KEY,),
    "beta1": (TENSOR,), "beta2": (TENSOR,), "batch": (KEY,),
    "lr_decay_start": (TENSOR,), "lr_decay_end": (TENSOR,), "lr_decay_floor": (TENSOR,),
    "g_hidden": (ARCH,), "g_depth": (ARCH,), "d_hidden": (ARCH,), "d_depth": (ARCH,),
    "activation": (ARCH,), "z_dim": (KEY, ARCH), "seed": (RUN,), "device": (RUN,),
}


def not_stacked(cfg: Config) -> list[str]:
    """The settings of cfg that the pure step does not train yet (empty: it can)."""
    return [n for n, how in STACKING.items() if TODO in how and getattr(cfg, n)]


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
    unroll: int
    unroll_first_order: bool
    batch: int
    z_dim: int
    runs: int

    @classmethod
    def of(cls, cfg: Config, runs: int) -> "StepKey":
        return cls(cfg.loss, cfg.optimizer, cfg.d_steps, bool(cfg.gp), bool(cfg.r1),
                   bool(cfg.r2), bool(cfg.clip), bool(cfg.instance_noise),
                   bool(cfg.label_flip), bool(cfg.feature_matching), bool(cfg.replay),
                   bool(cfg.dropout), cfg.unroll, cfg.unroll_first_order, cfg.batch,
                   cfg.z_dim, runs)


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
    if isinstance(new, dict):
        return {k: keep_where(ok, v, old[k]) for k, v in new.items()}
    return torch.where(_per_run(ok, new), new, old)


def build_step(key: StepKey, nets: Nets) -> Callable:
    """The pure step for `key`: (weights, moments, counts, alive, hyper, batches) → new ones.

    batches (drawn by the caller, per run): "d_real", "d_z" (d_steps, S, n, ·), "g_z"
    (S, n, z); "gp_alpha" (d_steps, S, n/pack, 1, 1) with the gradient penalty;
    "noise_real", "noise_fake" (d_steps, S, n, 2), "g_noise" (S, n, 2) with instance
    noise (and "look_noise" when unrolling too); "flip" (d_steps, S, n/pack) bool with
    label flipping; "look_real" (S, n, 2) when unrolling. A run whose loss or gradient
    is NaN/Inf keeps its weights and moments from before that update and is marked
    dead in `alive`; the others go on.
    """
    loss = LOSSES[key.loss]
    opt = OPTIMISERS[key.optimizer]
    pack = nets.pack

    def noisy(x: Tensor, noise: Tensor | None, h: State) -> Tensor:
        return x if noise is None else x + _per_run(h["sigma"], x) * noise

    def d_loss(dp: Params, real: Tensor, fake: Tensor, b: dict, h: State):
        penalties = torch.zeros_like(h["lr"])
        m_real, m_fake = b.get("drop_real"), b.get("drop_fake")
        if key.gp:
            penalties = penalties + h["gp"] * gradient_penalty(nets, dp, real, fake, b["alpha"],
                                                               pack, b.get("drop_gp"))
        if key.r1:
            r1 = input_grad_norms(nets, dp, real, pack, m_real) ** 2
            penalties = penalties + 0.5 * h["r1"] * r1.mean(-1)
        if key.r2:
            r2 = input_grad_norms(nets, dp, fake, pack, m_fake) ** 2
            penalties = penalties + 0.5 * h["r2"] * r2.mean(-1)
        per_run = d_objective(loss, nets.d(dp, real, m_real), nets.d(dp, fake, m_fake),
                              _col(h["smooth"]), b.get("flip")) + penalties
        return per_run.sum(), per_run.detach()  # runs share no weight: Σ keeps them apart

    d_grad = grad_and_value(d_loss, has_aux=True)

    def look_ahead(dp: Params, ds: dict[str, State], t_d: Tensor, real: Tensor,
                   fake: Tensor, h: State, masks: Tensor | None) -> Params:
        """Metz et al. 2016: D after k plain updates (no penalty, no flip), differentiable
        unless first order."""
        def plain(p, m_real, m_fake):
            return d_objective(loss, nets.d(p, real, m_real), nets.d(p, fake, m_fake),
                               _col(h["smooth"])).sum()

        for i in range(key.unroll):
            m_real, m_fake = (None, None) if masks is None else (masks[i][0], masks[i][1])
            grads = torch.func.grad(plain)(dp, m_real, m_fake)
            if key.unroll_first_order:
                grads = {k: g.detach() for k, g in grads.items()}
            dp, ds = apply_update(opt, dp, grads, ds, h, t_d + i + 1)
        return dp

    def g_loss(gp_: Params, dp: Params, ds, t_d, b: dict, h: dict[str, State]):
        fake = noisy(nets.g(gp_, b["g_z"]), b.get("g_noise"), h["d"])
        live = dp
        if key.unroll:
            fake_d = fake.detach() if key.unroll_first_order else fake
            look_real = noisy(b["look_real"], b.get("look_noise"), h["d"])
            dp = look_ahead(dp, ds, t_d, look_real, fake_d, h["d"], b.get("drop_look"))
        per_run = loss.g_term(nets.d(dp, fake, b.get("drop_g"))).mean(-1)
        if key.fm:
            per_run = per_run + h["g"]["fm"] * feature_gap(live, fake, b, h["d"])
        return per_run.sum(), per_run.detach()

    def feature_gap(dp: Params, fake: Tensor, b: dict, h: State) -> Tensor:
        """Feature matching (Salimans et al. 2016): ‖E f(real) − E f(fake)‖² on live D's
        penultimate features, per run."""
        m_real, m_fake = (None, None) if "drop_fm" not in b else b["drop_fm"]
        real = noisy(b["fm_real"], b.get("fm_noise"), h)
        target = nets.features(dp, real, m_real).detach().mean(-2)
        return ((nets.features(dp, fake, m_fake).mean(-2) - target) ** 2).sum(-1)

    g_grad = grad_and_value(g_loss, has_aux=True)

    def replay(fake: Tensor, mem: dict[str, Tensor], batch: dict, i: int):
        """Experience replay: swap the picked rows for stored fakes, then store `fake`
        in each run's ring buffer (mem["buffer"] (S, capacity, 2), mem["pos"])."""
        buf, n = mem["buffer"], fake.shape[1]
        idx = batch["replay_idx"][i][..., None].expand(-1, -1, 2)
        mixed = torch.where(batch["replay_pick"][i][..., None], torch.gather(buf, 1, idx), fake)
        slots = (mem["pos"] + torch.arange(n, device=fake.device)) % buf.shape[1]
        buf = buf.index_copy(1, slots, fake)
        return mixed, {"buffer": buf, "pos": (mem["pos"] + n) % buf.shape[1]}

    def d_update(g, d, ds, t_d, alive, mem, h, batch, i):
        b = {"alpha": batch["gp_alpha"][i] if key.gp else None,
             "flip": batch["flip"][i] if key.flip else None}
        for site in ("drop_real", "drop_fake", "drop_gp"):
            if site in batch:
                b[site] = batch[site][i]
        real = noisy(batch["d_real"][i], batch["noise_real"][i] if key.noise else None, h["d"])
        fake = nets.g(g, batch["d_z"][i]).detach()
        if key.replay:
            fake, mem = replay(fake, mem, batch, i)
        fake = noisy(fake, batch["noise_fake"][i] if key.noise else None, h["d"])
        grads, (_, per_run) = d_grad(d, real, fake, b, h["d"])
        ok = alive & torch.isfinite(per_run + grad_norms(grads))
        new_d, new_ds = apply_update(opt, d, grads, ds, h["d"], t_d + 1)
        if key.clip:
            c = h["d"]["clip"]
            new_d = {k: torch.clamp(v, -_per_run(c, v), _per_run(c, v)) for k, v in new_d.items()}
        ok = ok & finite_runs(new_d)  # an update that overflowed is not written either
        d, ds = keep_where(ok, new_d, d), keep_where(ok, new_ds, ds)
        return d, ds, torch.where(ok, t_d + 1, t_d), ok, mem, per_run

    def step(g: Params, d: Params, gs, ds, t_g: Tensor, t_d: Tensor, alive: Tensor,
             mem: dict[str, Tensor], h: dict[str, State], batch: dict[str, Tensor]):
        for i in range(key.d_steps):
            d, ds, t_d, alive, mem, d_per_run = d_update(g, d, ds, t_d, alive, mem, h, batch, i)
        frozen_d = {k: v.detach() for k, v in d.items()}
        frozen_ds = {k: {m: v.detach() for m, v in s.items()} for k, s in ds.items()}
        b = {k: batch[k] for k in ("g_z", "g_noise", "look_real", "look_noise", "fm_real",
                                   "fm_noise", "drop_g", "drop_look", "drop_fm") if k in batch}
        grads, (_, g_per_run) = g_grad(g, frozen_d, frozen_ds, t_d, b, h)
        ok = alive & torch.isfinite(g_per_run + grad_norms(grads))
        new_g, new_gs = apply_update(opt, g, grads, gs, h["g"], t_g + 1)
        ok = ok & finite_runs(new_g)
        g, gs = keep_where(ok, new_g, g), keep_where(ok, new_gs, gs)
        return g, d, gs, ds, torch.where(ok, t_g + 1, t_g), t_d, ok, mem, d_per_run, g_per_run

    return step


_COMPILED: dict[tuple, Callable] = {}


class FallBack:
    """Calls the compiled step; if compiling or running it fails (no C++ compiler, an op
    inductor cannot lower), logs one line and runs the eager step from then on. The eager
    step is the same function, so a run continues exactly where it was."""

    def __init__(self, compiled: Callable, eager: Callable, key: StepKey):
        self.compiled, self.eager, self.key = compiled, eager, key
        self.fell_back: str | None = None

    def __call__(self, *args):
        if self.fell_back is None:
            try:
                return self.compiled(*args)
            except Exception as err:  # noqa: BLE001 - any compile failure means "run eager"
                self.fell_back = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
                log.warning("gansim: compiling the training step failed (%s); training "
                            "eagerly instead", self.fell_back)
        return self.eager(*args)


def compiled_step(key: StepKey, nets: Nets, compile: bool = True) -> Callable:
    """The step for `key`, compiled once per process per key (and per Nets object,
    whose modules the graph calls) and falling back to eager; eager when compile is
    False or GANSIM_COMPILE=0."""
    eager = build_step(key, nets)
    if not compile or os.environ.get("GANSIM_COMPILE", "1") == "0":
        return eager
    cache_key = (key, id(nets))
    if cache_key not in _COMPILED:
        use_persistent_cache()
        _COMPILED[cache_key] = FallBack(torch.compile(eager, fullgraph=True, dynamic=False),
                                        eager, key)
    return _COMPILED[cache_key]


class StackedRuns:
    """S runs of one Config (seeds differ) trained by the pure step: the stage-1/2
    driver (weights, moments, draws); stage 3 makes Trainer its owner."""

    def __init__(self, cfg: Config, seeds: list[int], *, compile: bool = True,
                 dataset: Any = None):
        from .trainer import REPLAY_BATCHES, batch_key, default_dataset, resolve_device

        todo = not_stacked(cfg)
        if todo:
            raise ValueError(f"the pure step does not train {todo[0]} yet; use gansim.Trainer")
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
        self.alive = torch.ones(S, dtype=torch.bool, device=self.device)
        self.h = hyper(cfg, S, self.device)
        self.key = StepKey.of(cfg, S)
        self.step_fn = compiled_step(self.key, self.nets, compile)
        self.gens = [torch.Generator().manual_seed(s) for s in self.seeds]  # tricks' draws
        self._keyed = torch.Generator()
        self.g_step = 0
        self.d_loss = self.g_loss = None
        # Replay's ring buffers of past fakes, one per run (Trainer: REPLAY_BATCHES batches).
        self.capacity = REPLAY_BATCHES * cfg.batch
        self.stored = 0  # rows filled, the same in every run of the stack
        self.mem = {"buffer": torch.zeros(S, self.capacity, 2, device=self.device),
                    "pos": torch.zeros((), dtype=torch.long, device=self.device)}

    def _stack(self, tag: str, make: Callable[[torch.Generator], Tensor], index: int = 0) -> Tensor:
        return torch.stack([make(self._keyed.manual_seed(self._batch_key(s, self.g_step, tag, index)))
                            for s in self.seeds]).to(self.device)

    def _tricks(self, sigma: float) -> dict[str, Tensor]:
        """Each run's own draws for the tricks, in the order Trainer makes them from its
        generator: per D update the replay pick, noise on real, on fake, the flip mask,
        the gp mix; then the noise on G's fakes, on the look-ahead's and on feature
        matching's real batch. D-update draws stack to (d_steps, S, ...), others (S, ...)."""
        cfg, n, key = self.cfg, self.cfg.batch, self.key
        per_d: dict[str, list] = {}
        per_g: dict[str, list] = {}
        sizes = [min(self.capacity, self.stored + i * n) for i in range(cfg.d_steps)]

        def put(table, name, value):
            table.setdefault(name, []).append(value)

        layers, rows = len(self.nets.dropouts), n // cfg.pack

        def masks(gen):
            """One D call's dropout keep masks (layers, rows, width), drawn as
            SeededDropout draws them, layer by layer."""
            return torch.stack([(torch.rand(rows, cfg.d_hidden, generator=gen) >= cfg.dropout).float()
                                for _ in range(layers)])

        for gen in self.gens:
            noise = (lambda: torch.randn(n, 2, generator=gen)) if sigma else (lambda: torch.zeros(n, 2))
            for i in range(cfg.d_steps):
                if key.replay:
                    pick, idx = torch.zeros(n, dtype=torch.bool), torch.zeros(n, dtype=torch.long)
                    if sizes[i]:
                        pick = torch.rand(n, generator=gen) < cfg.replay
                        idx = torch.randint(sizes[i], (n,), generator=gen)
                    put(per_d, "replay_pick", pick)
                    put(per_d, "replay_idx", idx)
                if key.noise:
                    put(per_d, "noise_real", noise())
                    put(per_d, "noise_fake", noise())
                if key.dropout:  # D(real), then D(fake)
                    put(per_d, "drop_real", masks(gen))
                    put(per_d, "drop_fake", masks(gen))
                if key.flip:
                    put(per_d, "flip", torch.rand(n // cfg.pack, generator=gen) < cfg.label_flip)
                if key.gp:
                    put(per_d, "gp_alpha", torch.rand(n // cfg.pack, 1, 1, generator=gen))
                    if key.dropout:
                        put(per_d, "drop_gp", masks(gen))
            if key.noise:
                put(per_g, "g_noise", noise())
            if key.unroll:
                if key.noise:
                    put(per_g, "look_noise", noise())
                if key.dropout:
                    put(per_g, "drop_look", torch.stack([torch.stack([masks(gen), masks(gen)])
                                                         for _ in range(cfg.unroll)]))
            if key.dropout:
                put(per_g, "drop_g", masks(gen))
            if key.fm:
                if key.noise:
                    put(per_g, "fm_noise", noise())
                if key.dropout:
                    put(per_g, "drop_fm", torch.stack([masks(gen), masks(gen)]))
        S = len(self.seeds)
        out = {k: torch.stack(v).reshape(S, cfg.d_steps, *v[0].shape).transpose(0, 1)
               for k, v in per_d.items()}
        out.update({k: torch.stack(v) for k, v in per_g.items()})
        # Masks: the run axis goes next to the rows, (..., layers, S, rows, width), so one
        # call's masks index as (layers, S, rows, width).
        out.update({k: v.movedim(1 if k in per_d else 0, -3) for k, v in out.items()
                    if k.startswith("drop_")})
        return {k: v.to(self.device) for k, v in out.items()}

    def batches(self, sigma: float) -> dict[str, Tensor]:
        cfg, n = self.cfg, self.cfg.batch
        real = lambda g: self.dataset.sample_torch(n, g, "cpu")  # noqa: E731
        z = lambda g: torch.randn(n, cfg.z_dim, generator=g)  # noqa: E731
        out = {"d_real": torch.stack([self._stack("d_real", real, i) for i in range(cfg.d_steps)]),
               "d_z": torch.stack([self._stack("d_z", z, i) for i in range(cfg.d_steps)]),
               "g_z": self._stack("g_z", z)}
        if cfg.unroll:
            out["look_real"] = self._stack("look_real", real)
        if cfg.feature_matching:
            out["fm_real"] = self._stack("fm_real", real)
        return {**out, **self._tricks(sigma)}

    def step(self) -> None:
        from .cures import instance_noise_std, lr_factor

        cfg = self.cfg
        sigma = instance_noise_std(cfg.instance_noise, cfg.noise_anneal, self.g_step)

        def factor(step: int) -> float:
            return lr_factor(cfg.lr_decay_start, cfg.lr_decay_end, cfg.lr_decay_floor, step)

        # As in Trainer, the schedule is applied when G steps, so D's updates of step k
        # still run at the rate G's update of step k − 1 set.
        set_hyper(self.h, cfg, factor(self.g_step), sigma, factor(max(self.g_step - 1, 0)))
        batch = self.batches(sigma)
        (self.g, self.d, self.gs, self.ds, self.t_g, self.t_d, self.alive, self.mem,
         self.d_loss, self.g_loss) = self.step_fn(self.g, self.d, self.gs, self.ds, self.t_g,
                                                  self.t_d, self.alive, self.mem, self.h, batch)
        self.stored = min(self.capacity, self.stored + self.cfg.d_steps * self.cfg.batch)
        self.g_step += 1

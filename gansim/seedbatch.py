"""Seed batches: several seeds of one setting trained together as one stacked model.

On a CPU these MLPs leave part of every step to fixed costs (Python, dispatch, the
optimiser's bookkeeping) that do not grow with the work. Stacking S seeds' weights
along a new first axis and running each layer as one batched matmul
(models.stack_networks) pays that part once per step for all S seeds. Measured with
`python bench/bench_seedbatch.py` on one core of a 2-core machine (default ring8
settings, 300 steps): 5 seeds train 1.51× faster than one after another, 10 seeds
1.72× (torch.func.vmap over the plain modules gave only ~1.3×: its batched Linear is
slower than one baddbmm).

Each seed starts from the weights Trainer(cfg with that seed) starts from, draws the
same keyed real and latent batches, evaluates on the same points, and Adam, SGD and
RMSprop act elementwise, so seed s here is that Trainer's run up to floating-point
summation order (tests/test_seedbatch.py checks that the first steps agree). Two runs
of a GAN that differ in the last bit drift apart over thousands of steps, as runs on
two machines do; the sweep's statistics over seeds are what carries over.

Some settings are not batched (NOT_BATCHED says why for each): `unbatchable` names
them, and the sweep trains those settings one run per process.
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable, Sequence

import torch
from torch import Tensor
from torch.func import functional_call

from .config import Config
from .cures import DBatch, active_penalties, clip_weights, lr_factor, mark_penalty_inputs
from .history import History
from .losses import LOSSES, d_objective
from .models import Discriminator, Generator, stack_networks
from .trainer import (EVAL_SAMPLES, OPTIMIZERS, batch_key, default_dataset, eval_stats,
                      eval_streams, look_stream, resolve_device, set_lrs)

# Settings a seed batch cannot train, and why (a non-zero / true value blocks batching).
NOT_BATCHED = {
    "unroll": "its look-ahead is written for one network's optimiser state",
    "feature_matching": "its G-side term is not wired into the seed batch's G step yet",
    "replay": "its buffer of past fakes is kept per run, not stacked yet",
    "label_flip": "its per-run draws are not wired into the seed batch yet",
    "instance_noise": "its per-run draws are not wired into the seed batch yet",
    "dropout": "its masks are drawn per run from the Trainer's own generator, not wired in here",
    "spectral_norm": "its power-iteration vectors are per-network buffers updated in place",
}


def unbatchable(cfg: Config) -> list[str]:
    """The settings of cfg that a seed batch cannot train (empty: it can)."""
    return [name for name in NOT_BATCHED if getattr(cfg, name)]


class Stacked:
    """S networks of one architecture run at once: input (S, n, ...) → (S, n, ...)."""

    def __init__(self, nets: list[torch.nn.Module], device: torch.device):
        self.net = stack_networks(nets).to(device)
        self.params = dict(self.net.named_parameters())  # names as in one network
        self.pack = getattr(nets[0], "pack", 1)
        self.single = copy.deepcopy(nets[0]).to("meta")  # the shape of one run's network

    def __call__(self, x: Tensor) -> Tensor:
        return self.net(x)

    def one(self, i: int, x: Tensor) -> Tensor:
        """Run i's output on an unstacked input."""
        return functional_call(self.single, {k: v[i] for k, v in self.params.items()}, (x,))


class SeedRun:
    """One seed of a SeedBatch, readable like a Trainer: cfg, g_step, history, diverged,
    real_eval, evaluate() and sample()."""

    def __init__(self, owner: "SeedBatch", index: int, cfg: Config, history_rows: int):
        self.owner, self.index, self.cfg = owner, index, cfg
        self.eval_gen, _, self.real_eval = eval_streams(cfg, owner.dataset, owner.device)
        self.look_gen = look_stream(cfg)  # sample()'s draws, apart from the evaluations'
        self.history = History(history_rows)
        self.diverged: str | None = None
        self.stopped_at: int | None = None  # the G step where this seed diverged

    @property
    def g_step(self) -> int:
        """G steps this seed trained: the batch's, or where it diverged."""
        return self.owner.g_step if self.stopped_at is None else self.stopped_at

    @torch.no_grad()
    def _draw(self, n: int, gen: torch.Generator) -> Any:
        z = torch.randn(n, self.cfg.z_dim, generator=gen).to(self.owner.device)
        return self.owner.G.one(self.index, z).cpu().numpy()

    def sample(self, n: int) -> Any:
        """n generated points as a float32 numpy array (n, 2); does not disturb evaluation."""
        return self._draw(n, self.look_gen)

    def evaluate(self, n: int = EVAL_SAMPLES) -> dict[str, Any]:
        """The same evaluation as Trainer.evaluate, on this seed's own stream."""
        return eval_stats(self._draw(n, self.eval_gen), self.real_eval.cpu().numpy(),
                          self.owner.dataset)


class SeedBatch:
    """Runs of one Config over several seeds, trained as one stacked model."""

    def __init__(self, cfg: Config, seeds: Sequence[int], dataset: Any = None, *,
                 eval_every: int = 100, history_rows: int = 2000):
        blocked = unbatchable(cfg)
        if blocked:
            raise ValueError(f"a seed batch cannot train {blocked[0]} "
                             f"({NOT_BATCHED[blocked[0]]}); train such runs one at a time "
                             f"with gansim.Trainer")
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct and not empty, got {list(seeds)}")
        if cfg.data == "points" and dataset is None:
            raise ValueError("data=points needs the uploaded points: SeedBatch(cfg, seeds, dataset=...)")
        self.cfg, self.seeds = cfg, list(seeds)
        self.device = resolve_device(cfg.device)
        self.dataset = dataset if dataset is not None else default_dataset(cfg)
        self.eval_every = eval_every
        Gs, Ds = [], []
        for s in self.seeds:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s)  # the same draws, in the same order, as Trainer's init
                Gs.append(Generator(cfg))
                Ds.append(Discriminator(cfg))
        self.G, self.D = Stacked(Gs, self.device), Stacked(Ds, self.device)
        make = OPTIMIZERS[cfg.optimizer]
        self.opt_g = make(list(self.G.params.values()), cfg.lr_g, cfg)
        self.opt_d = make(list(self.D.params.values()), cfg.lr_d, cfg)
        set_lrs(self.opt_g, self.opt_d, cfg, 1.0)
        self.loss = LOSSES[cfg.loss]
        self.gens = [torch.Generator().manual_seed(s) for s in self.seeds]  # tricks' draws
        self._keyed = torch.Generator()
        self.runs = [SeedRun(self, i, cfg.replace(seed=s), history_rows)
                     for i, s in enumerate(self.seeds)]
        self.dead = torch.zeros(len(self.seeds), dtype=torch.bool, device=self.device)
        self.g_step = self._d_in_step = 0
        self.seconds = 0.0

    # --- batches ----------------------------------------------------------------------
    def _draw(self, tag: str, index: int, make: Callable[[torch.Generator], Tensor]) -> Tensor:
        """One keyed batch per seed, stacked: seed s gets exactly Trainer's batch."""
        return torch.stack([make(self._keyed.manual_seed(batch_key(s, self.g_step, tag, index)))
                            for s in self.seeds]).to(self.device)

    def _real(self, tag: str, index: int = 0) -> Tensor:
        return self._draw(tag, index, lambda g: self.dataset.sample_torch(self.cfg.batch, g, "cpu"))

    def _z(self, tag: str, index: int = 0) -> Tensor:
        return self._draw(tag, index, lambda g: torch.randn(self.cfg.batch, self.cfg.z_dim, generator=g))

    # --- training -----------------------------------------------------------------------
    def step_d(self) -> Tensor:
        """One D update on every seed; returns D's loss per seed."""
        cfg = self.cfg
        i, self._d_in_step = self._d_in_step, self._d_in_step + 1
        real = self._real("d_real", i)
        with torch.no_grad():
            fake = self.G(self._z("d_z", i))
        active = active_penalties(cfg)
        mark_penalty_inputs(active, real, fake)
        out_r, out_f = self.D(real), self.D(fake)
        loss = d_objective(self.loss, out_r, out_f, cfg.label_smoothing)
        batch = DBatch(self.D, real, fake, out_r, out_f, self.gens)
        for penalty, weight in active:
            loss = loss + penalty.fn(batch, weight)
        self._update(self.opt_d, self.D.params, loss, "discriminator")
        if cfg.clip:
            clip_weights(self.D.net, cfg.clip)
        return loss.detach()

    def step_g(self) -> Tensor:
        """One G update on every seed; returns G's loss per seed."""
        cfg = self.cfg
        factor = lr_factor(cfg.lr_decay_start, cfg.lr_decay_end, cfg.lr_decay_floor, self.g_step)
        set_lrs(self.opt_g, self.opt_d, cfg, factor)
        d_params = list(self.D.params.values())
        for p in d_params:
            p.requires_grad_(False)  # G's backward needs no gradient for D's weights
        try:
            loss = self.loss.g_term(self.D(self.G(self._z("g_z")))).mean(-1)
            self._update(self.opt_g, self.G.params, loss, "generator")
        finally:
            for p in d_params:
                p.requires_grad_(True)
        self.g_step += 1
        self._d_in_step = 0
        return loss.detach()

    def step(self) -> None:
        """d_steps D updates, then one G update, on every seed; evaluates on schedule."""
        for _ in range(self.cfg.d_steps):
            d_loss = self.step_d()
        g_loss = self.step_g()
        if self.g_step % self.eval_every == 0:
            self._log(d_loss, g_loss)

    def train(self, steps: int) -> None:
        """`steps` full steps; a seed that diverges stops at its last good weights, the
        others go on. Stops early when every seed has diverged."""
        start = time.perf_counter()
        try:
            for _ in range(steps):
                if bool(self.dead.all()):
                    break
                self.step()
        finally:
            self.seconds += time.perf_counter() - start

    # --- one optimiser step with a guard per seed ------------------------------------------
    def _update(self, opt: torch.optim.Optimizer, params: dict[str, Tensor], loss: Tensor,
                who: str) -> None:
        """Backward and step; a seed whose loss or gradient is NaN/Inf is frozen for good
        at its current (last good) weights, as Trainer stops before such a step."""
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()  # seeds share no weights: each gets its own loss's gradient
        grads = [p.grad for p in params.values() if p.grad is not None]
        norms = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
        bad = ~torch.isfinite(loss.detach() + norms) & ~self.dead
        if bool(bad.any()):
            self._freeze(bad, who)
        if not bool(self.dead.any()):
            opt.step()
            return
        dead = self.dead
        kept = {k: p.detach()[dead].clone() for k, p in params.items()}
        for g in grads:
            g[dead] = 0.0  # NaN gradients would poison the shared optimiser's moments
        opt.step()
        with torch.no_grad():
            for k, p in params.items():
                p[dead] = kept[k]

    def _freeze(self, bad: Tensor, who: str) -> None:
        for i in torch.nonzero(bad).flatten().tolist():
            self.runs[i].stopped_at = self.g_step
            self.runs[i].diverged = (
                f"Training diverged at step {self.g_step}: the {who}'s loss or gradient "
                f"became NaN or infinite. The weights are kept at the last good step.")
        self.dead = self.dead | bad

    # --- evaluation -----------------------------------------------------------------------
    @torch.no_grad()
    def _log(self, d_loss: Tensor, g_loss: Tensor) -> None:
        """An evaluation row in each live seed's history (all seeds' samples in one pass)."""
        z = torch.stack([torch.randn(EVAL_SAMPLES, self.cfg.z_dim, generator=r.eval_gen)
                         for r in self.runs]).to(self.device)
        fakes = self.G(z).cpu().numpy()
        d, g = d_loss.tolist(), g_loss.tolist()
        for i, run in enumerate(self.runs):
            if run.diverged:
                continue
            stats = eval_stats(fakes[i], run.real_eval.cpu().numpy(), self.dataset)
            mass = stats.pop("mass", None)
            run.history.append({"step": self.g_step, "d_loss": d[i], "g_loss": g[i], **stats}, mass)


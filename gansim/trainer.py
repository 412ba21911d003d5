"""Trainer: one GAN run. step_d(), step_g() and step() train; snapshot() reports.

Every random draw comes from the Trainer's own torch.Generator, so the same Config
and seed give the same run on CPU whatever else the process is doing. Evaluation and
display draw from separate generators, so looking at a run never changes it.
"""
from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from . import unroll as unrolling
from .config import OPTIMIZERS as OPTIMIZER_NAMES
from .config import Config, restart_fields_changed
from .cures import (DBatch, ReplayBuffer, active_penalties, clip_weights, instance_noise_std,
                    lr_factor, mark_penalty_inputs)
from .data import make_dataset
from .history import History
from .losses import LOSSES, d_objective
from .metrics import EVAL_SAMPLES, mode_stats, sliced_wasserstein
from .models import Discriminator, Generator

if TYPE_CHECKING:
    from .trace import StepTrace

OPTIMIZERS = {
    # fused: one kernel for all of a network's tensors, ~15 % faster per D update on CPU
    # for these small MLPs; same state keys, so unrolling reads its moments unchanged.
    "adam": lambda params, lr, c: torch.optim.Adam(
        params, lr=lr, betas=(c.beta1, c.beta2), weight_decay=0.0, fused=True),
    "sgd": lambda params, lr, c: torch.optim.SGD(params, lr=lr),
    "rmsprop": lambda params, lr, c: torch.optim.RMSprop(params, lr=lr),
}
# Config validates the names without torch; this table builds them (seedbatch reads it too).
assert tuple(OPTIMIZERS) == OPTIMIZER_NAMES, "config.OPTIMIZERS and trainer.OPTIMIZERS differ"
REPLAY_BATCHES = 10  # the replay buffer holds this many batches of past fakes
CHECKPOINT_EVERY = 250  # G steps between the checkpoints that rewind and recovery use
MAX_CHECKPOINTS = 40
# The training batches' purposes; each draws from its own keyed stream (_batch_gen).
BATCH_TAGS = {"d_real": 1, "d_z": 2, "g_z": 3, "look_real": 4, "fm_real": 5}


class Diverged(RuntimeError):
    """Training produced NaN/Inf; the Trainer holds the last good state."""


def resolve_device(name: str) -> torch.device:
    """'auto' → CUDA when present, else CPU; 'cuda' without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda but no CUDA GPU is available; use device=auto or cpu")
    return torch.device(name)


_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def mix_seed(*values: int) -> int:
    """A well-spread 63-bit seed from a few integers (SplitMix64, Steele et al. 2014);
    ~100× cheaper than numpy's SeedSequence, which cost ~0.3 ms a batch."""
    h = 0
    for v in values:
        h = _splitmix64(h ^ (v & _MASK64))
    return h >> 1


def batch_key(seed: int, g_step: int, tag: str, index: int = 0) -> int:
    """The seed of one training batch: see Trainer._batch_gen."""
    return mix_seed(seed, g_step, BATCH_TAGS[tag], index)


def eval_streams(cfg: Config, dataset: Any, device: torch.device):
    """A run's evaluation generator, its fixed display latents and its real evaluation
    sample, drawn in this order so every run with this seed evaluates on the same points."""
    gen = torch.Generator().manual_seed(cfg.seed + 1_000_003)
    n_fixed = 512 - 512 % cfg.pack  # D needs whole packs
    z_fixed = torch.randn(n_fixed, cfg.z_dim, generator=gen).to(device)
    return gen, z_fixed, dataset.sample_torch(EVAL_SAMPLES, gen, device)


def look_stream(cfg: Config) -> torch.Generator:
    """The generator behind sample(): separate from the evaluation stream, so looking at
    a run (drawing samples for a plot or a file) never changes its later metrics."""
    return torch.Generator().manual_seed(mix_seed(cfg.seed, 0x100C))


def eval_stats(fake: Any, real: Any, dataset: Any) -> dict[str, Any]:
    """Mode coverage (VEEGAN/PacGAN protocol) and a sample distance, from numpy samples."""
    out: dict[str, Any] = {"distance": sliced_wasserstein(real, fake)}
    if getattr(dataset, "n_modes", 0):
        s = mode_stats(fake, dataset.centers, dataset.stds, dataset.weights)
        out.update(modes=s.modes, modes_any=s.modes_any, hq=s.hq,
                   reverse_kl=s.reverse_kl, mass_modes=s.mass_modes, mass=s.mass.tolist())
    return out


def set_lrs(opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, cfg: Config,
            factor: float) -> None:
    """Both optimisers' learning rates at `factor` × the configured ones; D's weight decay."""
    for group in opt_g.param_groups:
        group["lr"] = cfg.lr_g * factor
    for group in opt_d.param_groups:
        group["lr"] = cfg.lr_d * factor
        group["weight_decay"] = cfg.weight_decay


def grad_norm(params: list[Tensor]) -> Tensor:
    """Total L2 norm of the parameters' gradients (0 when none has one)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads)


class Trainer:
    """A live GAN run on a 2-D dataset; settings that allow it change without a reset."""

    def __init__(self, cfg: Config, dataset: Any = None, *, log_every: int = 10,
                 eval_every: int = 100, history_rows: int = 2000):
        if cfg.data == "points" and dataset is None:
            raise ValueError("data=points needs the uploaded points: Trainer(cfg, dataset=...)")
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.dataset = dataset if dataset is not None else default_dataset(cfg)
        self.log_every, self.eval_every = log_every, eval_every
        self.gen = torch.Generator().manual_seed(cfg.seed)  # the tricks' own draws
        self._keyed = torch.Generator()
        self._d_in_step = 0  # D updates since the last G update: keys D's batches
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)  # weight init, without touching the global stream
            self.G = Generator(cfg).to(self.device)
            self.D = Discriminator(cfg).to(self.device)
        self.D.seed_dropout(self.gen)  # dropout masks are the run's own draws
        self.g_params, self.d_params = list(self.G.parameters()), list(self.D.parameters())
        self._build_optimizers()
        self.loss = LOSSES[cfg.loss]
        self.replay = ReplayBuffer(REPLAY_BATCHES * cfg.batch, self.device)
        self.eval_gen, self.z_fixed, self.real_eval = eval_streams(cfg, self.dataset, self.device)
        self.look_gen = look_stream(cfg)  # sample()'s draws, apart from evaluate()'s
        self.g_step = self.d_step = 0
        self.history = History(history_rows)
        self.diverged: str | None = None
        self.checkpoints: list[tuple[int, dict]] = []
        self._reset_window()
        self._checkpoint()

    # --- building blocks ----------------------------------------------------------
    def _build_optimizers(self) -> None:
        make = OPTIMIZERS[self.cfg.optimizer]
        self.opt_g = make(self.g_params, self.cfg.lr_g, self.cfg)
        self.opt_d = make(self.d_params, self.cfg.lr_d, self.cfg)
        self._set_lrs(1.0)

    def _set_lrs(self, factor: float) -> None:
        set_lrs(self.opt_g, self.opt_d, self.cfg, factor)

    def _set_scheduled_lrs(self) -> None:
        """The learning rates the decay schedule gives at the current G step."""
        cfg = self.cfg
        self._set_lrs(lr_factor(cfg.lr_decay_start, cfg.lr_decay_end, cfg.lr_decay_floor, self.g_step))

    def _batch_gen(self, tag: str, index: int = 0) -> torch.Generator:
        """The generator for one training batch, keyed by (seed, G step, purpose, index).

        Keyed rather than sequential: two runs with the same seed get the same real and
        latent batches at the same step whatever else differs between them (d_steps,
        unrolling, cures that draw noise of their own), so a side-by-side comparison
        changes one thing only. Rewind replays exactly, since the key is the step.
        """
        return self._keyed.manual_seed(batch_key(self.cfg.seed, self.g_step, tag, index))

    def _z(self, n: int, gen: torch.Generator) -> Tensor:
        return torch.randn(n, self.cfg.z_dim, generator=gen).to(self.device)

    def _real(self, n: int, gen: torch.Generator) -> Tensor:
        return self.dataset.sample_torch(n, gen, self.device)

    def _noisy(self, x: Tensor) -> Tensor:
        sigma = instance_noise_std(self.cfg.instance_noise, self.cfg.noise_anneal, self.g_step)
        if not sigma:
            return x
        return x + sigma * torch.randn(x.shape, generator=self.gen).to(self.device)

    def _d_objective(self, out_real: Tensor, out_fake: Tensor, flip: bool = True) -> Tensor:
        """D's loss with one-sided label smoothing and label flipping applied."""
        cfg = self.cfg
        mask = None
        if flip and cfg.label_flip:
            mask = (torch.rand(out_real.shape[0], generator=self.gen) < cfg.label_flip).to(self.device)
        return d_objective(self.loss, out_real, out_fake, cfg.label_smoothing, mask)

    # --- training -----------------------------------------------------------------
    def step_d(self, trace: StepTrace | None = None) -> float:
        """One discriminator update; returns D's loss. `trace` records it (slow motion)."""
        self._check_alive()
        cfg = self.cfg
        if trace is not None:
            trace.begin(self, "d")
        i, self._d_in_step = self._d_in_step, self._d_in_step + 1
        real = self._real(cfg.batch, self._batch_gen("d_real", i))
        with torch.no_grad():
            fake = self.G(self._z(cfg.batch, self._batch_gen("d_z", i)))
        if cfg.replay:
            fake = self.replay.mix(fake, cfg.replay, self.gen)
        real_in, fake_in = self._noisy(real), self._noisy(fake)
        active = active_penalties(cfg)
        mark_penalty_inputs(active, real_in, fake_in)
        out_r, out_f = self.D(real_in), self.D(fake_in)
        loss = self._d_objective(out_r, out_f)
        batch = DBatch(self.D, real_in, fake_in, out_r, out_f, self.gen)
        for penalty, weight in active:
            loss = loss + penalty.fn(batch, weight)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        norm = grad_norm(self.d_params)
        if trace is not None:
            trace.d_batch(self, real_in, fake_in, out_r, out_f, loss, norm)
        self._guard(loss, norm, "discriminator")
        self.opt_d.step()
        if cfg.clip:
            clip_weights(self.D, cfg.clip)
        self.d_step += 1
        self._record_d(loss.detach(), norm, out_r.detach(), out_f.detach())
        if trace is not None:
            trace.end(self, self.opt_d)
        return float(loss.detach())

    def step_g(self, trace: StepTrace | None = None) -> float:
        """One generator update; returns G's loss. `trace` records it (slow motion)."""
        self._check_alive()
        cfg = self.cfg
        self._set_scheduled_lrs()
        if trace is not None:
            trace.begin(self, "g")
        self.D.requires_grad_(False)  # G's backward needs no gradient for D's weights
        try:
            z = self._z(cfg.batch, self._batch_gen("g_z"))
            fake_in = self._noisy(self.G(z))
            if trace is not None:
                trace.g_forward(z, fake_in)
            out = self._unrolled_output(fake_in) if cfg.unroll else self.D(fake_in)
            loss = self.loss.g_term(out).mean()
            if cfg.feature_matching:
                loss = loss + cfg.feature_matching * self._feature_gap(fake_in)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            self.D.requires_grad_(True)
        norm = grad_norm(self.g_params)
        if trace is not None:
            trace.g_batch(self, out, loss, norm)
        self._guard(loss, norm, "generator")
        self.opt_g.step()
        self.g_step += 1
        self._d_in_step = 0
        self._record_g(loss.detach(), norm)
        if trace is not None:
            trace.end(self, self.opt_g)
        return float(loss.detach())

    def step(self) -> None:
        """d_steps discriminator updates, then one generator update."""
        for _ in range(self.cfg.d_steps):
            self.step_d()
        self.step_g()

    def train(self, steps: int) -> None:
        """Run `steps` full steps (stops early, raising Diverged, if the run blows up)."""
        for _ in range(steps):
            self.step()

    def _unrolled_output(self, fake_in: Tensor) -> Tensor:
        """D's output on the fakes after cfg.unroll look-ahead updates (Metz et al. 2016)."""
        cfg = self.cfg
        real_in = self._noisy(self._real(cfg.batch, self._batch_gen("look_real")))
        fake_d = fake_in.detach() if cfg.unroll_first_order else fake_in

        def d_loss(params):
            # Penalties and label flips stay out of the look-ahead: it models D's plain step.
            return self._d_objective(unrolling.call(self.D, params, real_in),
                                     unrolling.call(self.D, params, fake_d), flip=False)

        params = unrolling.unrolled_params(self.D, self.opt_d, cfg.optimizer, d_loss,
                                           cfg.unroll, cfg.unroll_first_order)
        return unrolling.call(self.D, params, fake_in)

    def _feature_gap(self, fake_in: Tensor) -> Tensor:
        """Feature matching (Salimans et al. 2016): ‖E f(real) − E f(fake)‖² on D's features."""
        with torch.no_grad():
            real = self._real(self.cfg.batch, self._batch_gen("fm_real"))
            target = self.D.features(self._noisy(real)).mean(0)
        return ((self.D.features(fake_in).mean(0) - target) ** 2).sum()

    # --- divergence -----------------------------------------------------------------
    def _guard(self, loss: Tensor, norm: Tensor, who: str) -> None:
        """Stop before an optimiser step that would write NaN/Inf into the weights."""
        if bool(torch.isfinite(loss.detach() + norm)):
            return
        what = "loss" if not bool(torch.isfinite(loss.detach())) else "gradient"
        at = self.g_step
        if self._weights_finite():  # nothing was written yet: this step's start is good
            kept = f"The weights are kept as they were at step {at}"
        else:
            kept = (f"The weights themselves had blown up, so they were restored to those "
                    f"of step {self._recover()} (the newest checkpoint); the current "
                    f"settings are kept")
        self.diverged = (
            f"Training diverged at step {at}: the {who}'s {what} became NaN or "
            f"infinite. {kept}. Lower the learning rates or add a penalty (gp, r1), then "
            f"rewind or reset.")
        raise Diverged(self.diverged)

    def _recover(self) -> int:
        """Load the newest checkpoint's networks, optimiser moments and replay buffer,
        keeping today's settings, step counter and history; returns its step."""
        step, st = self.checkpoints[-1]
        cfg = self.cfg
        same_opt = (st["cfg"].optimizer, st["cfg"].beta1, st["cfg"].beta2) == \
            (cfg.optimizer, cfg.beta1, cfg.beta2)
        self._restore(st, keep_history=True)
        self.cfg, self.loss = cfg, LOSSES[cfg.loss]
        if not same_opt:  # moments of another optimiser do not fit: start them fresh
            self._build_optimizers()
        self._set_scheduled_lrs()
        return step

    def _weights_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in self.g_params + self.d_params)

    def _check_alive(self) -> None:
        if self.diverged:
            raise Diverged(self.diverged)

    # --- logging --------------------------------------------------------------------
    def _reset_window(self) -> None:
        self._d_sum = torch.zeros(7)
        self._g_sum = torch.zeros(2)
        self._d_n = self._g_n = 0

    def _record_d(self, loss, norm, out_r, out_f) -> None:
        p_r, p_f = self.loss.prob(out_r), self.loss.prob(out_f)
        if p_r is None:
            score_d = score_g = torch.tensor(math.nan)
        else:
            score_d, score_g = 0.5 * p_r.mean() + 0.5 * (1 - p_f).mean(), p_f.mean()
        row = torch.stack([loss, norm, score_d.to(loss.device), score_g.to(loss.device),
                           out_r.mean(), out_f.mean(), torch.ones((), device=loss.device)])
        self._d_sum += row.cpu()
        self._d_n += 1

    def _record_g(self, loss, norm) -> None:
        self._g_sum += torch.stack([loss, norm]).cpu()
        self._g_n += 1
        if self.g_step % self.log_every == 0:
            self._log_row()
        if self.g_step % CHECKPOINT_EVERY == 0:
            self._checkpoint()

    def _log_row(self) -> None:
        d = (self._d_sum / max(self._d_n, 1)).tolist()
        g = (self._g_sum / max(self._g_n, 1)).tolist()
        critic = self.loss.critic
        row = {"step": self.g_step, "d_loss": d[0], "d_grad": d[1],
               "score_d": d[2], "score_g": d[3],
               "critic_real": d[4] if critic else math.nan,
               "critic_fake": d[5] if critic else math.nan,
               "g_loss": g[0], "g_grad": g[1]}
        mass = None
        if self.g_step % self.eval_every == 0:
            stats = self.evaluate()
            mass = stats.pop("mass", None)
            row.update(stats)
        self.history.append(row, mass)
        self._reset_window()

    @torch.no_grad()
    def evaluate(self, n: int = EVAL_SAMPLES) -> dict[str, Any]:
        """Mode coverage (VEEGAN/PacGAN protocol) and a sample distance on n fresh samples."""
        fake = self.G(self._z(n, self.eval_gen)).cpu().numpy()
        return eval_stats(fake, self.real_eval.cpu().numpy(), self.dataset)

    def sample(self, n: int) -> Any:
        """n generated points as a float32 numpy array (n, 2); does not disturb training."""
        with torch.no_grad():
            return self.G(self._z(n, self.look_gen)).cpu().numpy()

    # --- live changes, checkpoints, rewind --------------------------------------------
    def update(self, **changes: Any) -> None:
        """Change live settings (lrs, loss, cures) keeping weights and history."""
        new = self.cfg.replace(**changes)
        blocked = restart_fields_changed(self.cfg, new)
        if blocked:
            raise ValueError(f"changing {', '.join(blocked)} needs a new run (reset); "
                             f"live settings are the lrs, loss, penalties and tricks")
        rebuild = (new.optimizer, new.beta1, new.beta2) != (self.cfg.optimizer, self.cfg.beta1, self.cfg.beta2)
        self.cfg = new
        self.loss = LOSSES[new.loss]
        if rebuild:  # a new optimiser starts with fresh moments; the weights are kept
            self._build_optimizers()
        self._set_scheduled_lrs()  # a decayed rate stays decayed

    def state(self) -> dict:
        """A deep copy of everything needed to continue this run exactly."""
        return {
            "g_step": self.g_step, "d_step": self.d_step, "cfg": self.cfg,
            "d_in_step": self._d_in_step,
            "G": copy.deepcopy(self.G.state_dict()), "D": copy.deepcopy(self.D.state_dict()),
            "opt_g": copy.deepcopy(self.opt_g.state_dict()),
            "opt_d": copy.deepcopy(self.opt_d.state_dict()),
            "gen": self.gen.get_state(), "eval_gen": self.eval_gen.get_state(),
            "replay": (self.replay.data.clone(), self.replay.size, self.replay.pos),
            "history": self.history.state(),
        }

    def _restore(self, st: dict, keep_history: bool = False) -> None:
        self.cfg = st["cfg"]
        self.loss = LOSSES[self.cfg.loss]
        self._build_optimizers()
        self.G.load_state_dict(st["G"])
        self.D.load_state_dict(st["D"])
        self.opt_g.load_state_dict(copy.deepcopy(st["opt_g"]))
        self.opt_d.load_state_dict(copy.deepcopy(st["opt_d"]))
        self.gen.set_state(st["gen"])
        self.eval_gen.set_state(st["eval_gen"])
        data, self.replay.size, self.replay.pos = st["replay"]
        self.replay.data = data.clone()
        self.g_step, self.d_step = st["g_step"], st["d_step"]
        self._d_in_step = st["d_in_step"]
        if not keep_history:
            self.history.load(st["history"])
        self._reset_window()

    def _checkpoint(self) -> None:
        self.checkpoints.append((self.g_step, self.state()))
        if len(self.checkpoints) > MAX_CHECKPOINTS:
            # Thin out the older half so early steps stay reachable, recent ones dense.
            old = self.checkpoints[: MAX_CHECKPOINTS // 2]
            self.checkpoints = old[::2] + self.checkpoints[MAX_CHECKPOINTS // 2:]

    def rewind(self, step: int) -> int:
        """Go back to the newest checkpoint at or before `step`; returns its step."""
        earlier = [(s, st) for s, st in self.checkpoints if s <= step]
        if not earlier:
            raise ValueError(f"no checkpoint at or before step {step}")
        s, st = earlier[-1]
        self._restore(st)
        self.checkpoints = [c for c in self.checkpoints if c[0] <= s]
        self.diverged = None
        return s

    def snapshot(self, **kwargs: Any):
        """Plain arrays for the UI: see gansim.snapshot.take."""
        from .snapshot import take

        return take(self, **kwargs)


def default_dataset(cfg: Config) -> Any:
    """The mixture cfg names (a preset, or data=custom built from the custom_* fields)."""
    custom = None
    if cfg.data == "custom":
        custom = {"centers": [list(c) for c in cfg.custom_centers], "stds": list(cfg.custom_stds),
                  "weights": list(cfg.custom_weights) or None}
    return make_dataset(cfg.data, custom)

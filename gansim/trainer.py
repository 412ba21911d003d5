"""Trainer: S GAN runs of one setting (a single run is S = 1), trained by one engine.

step_d(), step_g() and step() train; snapshot() reports; update() changes live settings;
checkpoints and rewind go back. The weights of the S runs are stacked along a leading
axis and every update is gansim.engine's pure step (compiled for step(), eager for the
single-phase steps and slow motion), so a single run, a seed sweep, a compare pane and
the lesson check all train by the same function.

Every random draw comes from a run's own keyed streams (batch_key) and generator, so the
same Config and seed give the same run whatever else the process is doing, and seed s
of a stack is the single run with seed s up to float summation order. Evaluation and
display draw from separate generators, so looking at a run never changes it.
"""
from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from . import engine
from .config import Config, restart_fields_changed
from .cures import instance_noise_std, lr_factor
from .data import make_dataset
from .history import History
from .losses import LOSSES
from .metrics import EVAL_SAMPLES, mode_stats, sliced_wasserstein
from .models import Discriminator, Generator

if TYPE_CHECKING:
    from .trace import StepTrace

REPLAY_BATCHES = 10  # the replay buffer holds this many batches of past fakes
CHECKPOINT_EVERY = 250  # G steps between the checkpoints that rewind and recovery use
MAX_CHECKPOINTS = 40
# The training batches' purposes; each draws from its own keyed stream (batch_key).
BATCH_TAGS = {"d_real": 1, "d_z": 2, "g_z": 3, "look_real": 4, "fm_real": 5}
D_STATS = ("d_loss", "d_grad", "score_d", "score_g", "critic_real", "critic_fake")


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


def _write(dst: dict[str, Tensor], src: dict[str, Tensor]) -> None:
    """Copy src's tensors into dst's in place: the single-run views share dst's memory."""
    torch._foreach_copy_([dst[k] for k in src], [src[k] for k in src])


class RunView:
    """One run of a Trainer (or of one of its checkpoints), readable as a Trainer is by
    the snapshot, the charts, sweeps and the CLI: cfg, G, D, history, evaluate(), sample()."""

    def __init__(self, *, cfg: Config, G: Generator, D: Discriminator, dataset: Any,
                 device: torch.device, history: History, eval_gen: torch.Generator,
                 look_gen: torch.Generator, z_fixed: Tensor, real_eval: Tensor, g_step: int,
                 d_step: int, diverged: str | None, checkpoints: list, index: int = 0):
        self.cfg, self.G, self.D, self.dataset, self.device = cfg, G, D, dataset, device
        self.history, self.eval_gen, self.look_gen = history, eval_gen, look_gen
        self.z_fixed, self.real_eval = z_fixed, real_eval
        self.g_step, self.d_step, self.diverged = g_step, d_step, diverged
        self.checkpoints, self.index = checkpoints, index
        self.loss = LOSSES[cfg.loss]

    @torch.no_grad()
    def evaluate(self, n: int = EVAL_SAMPLES) -> dict[str, Any]:
        """Mode coverage (VEEGAN/PacGAN protocol) and a sample distance on n fresh samples."""
        z = torch.randn(n, self.cfg.z_dim, generator=self.eval_gen).to(self.device)
        return eval_stats(self.G(z).cpu().numpy(), self.real_eval.cpu().numpy(), self.dataset)

    def sample(self, n: int) -> Any:
        """n generated points as a float32 numpy array (n, 2); does not disturb training."""
        with torch.no_grad():
            z = torch.randn(n, self.cfg.z_dim, generator=self.look_gen).to(self.device)
            return self.G(z).cpu().numpy()

    def snapshot(self, **kwargs: Any):
        """Plain arrays for the UI: see gansim.snapshot.take."""
        from .snapshot import take

        return take(self, **kwargs)


class Trainer:
    """Live GAN runs of one setting on a 2-D dataset (S seeds; one by default): settings
    that allow it change without a reset. The Trainer reads as its first run (G, D,
    history, evaluate, sample, snapshot); run(i) gives run i."""

    def __init__(self, cfg: Config, dataset: Any = None, *, seeds: list[int] | None = None,
                 compile: bool | None = None, background_compile: bool = False,
                 log_every: int = 10, eval_every: int = 100, history_rows: int = 2000):
        if cfg.data == "points" and dataset is None:
            raise ValueError("data=points needs the uploaded points: Trainer(cfg, dataset=...)")
        self.seeds = list(seeds) if seeds is not None else [cfg.seed]
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        self.cfg = cfg.replace(seed=self.seeds[0])
        self.S = len(self.seeds)
        self.device = resolve_device(cfg.device)
        self.dataset = dataset if dataset is not None else default_dataset(cfg)
        self.log_every, self.eval_every = log_every, eval_every
        # compile: None = the environment's choice (engine.compile_wanted: eager unless
        # GANSIM_COMPILE=1); background: ready() compiles without blocking and says when
        # step() may run (the app).
        self.compile, self.background_compile = compile, background_compile
        self.nets = engine.Nets(cfg, self.S, self.device)  # this Trainer's own modules
        self._steps: dict[engine.StepKey, engine.Step] = {}
        self.g, self.d = engine.init_weights(cfg, self.seeds, self.device)
        self.sn = engine.init_sn(cfg, self.seeds, self.d, self.nets)
        self.draws = engine.Draws(self.seeds, self.dataset, self.device, len(self.nets.dropouts))
        self.gen = self.draws.gens[0]  # run 0's tricks generator
        self.h = engine.hyper(cfg, self.S, self.device)
        self.capacity = REPLAY_BATCHES * cfg.batch  # replay's ring buffer, per run
        self.mem = {"buffer": torch.zeros(self.S, self.capacity, 2, device=self.device),
                    "pos": torch.zeros((), dtype=torch.long, device=self.device)}
        self.stored = 0  # fakes in each run's replay buffer
        self._fresh_optimiser()
        self.alive = torch.ones(self.S, dtype=torch.bool, device=self.device)
        self.failed: list[str | None] = [None] * self.S  # each run's divergence message
        self.diverged: str | None = None  # set when every run has diverged
        streams = [eval_streams(cfg.replace(seed=s), self.dataset, self.device) for s in self.seeds]
        self.eval_gens = [s[0] for s in streams]
        self.z_fixeds = [s[1] for s in streams]
        self.real_evals = [s[2] for s in streams]
        self.look_gens = [look_stream(cfg.replace(seed=s)) for s in self.seeds]
        self.eval_gen, self.z_fixed, self.real_eval = streams[0]
        self.look_gen = self.look_gens[0]
        self.histories = [History(history_rows) for _ in self.seeds]
        self.history = self.histories[0]
        self.g_step = self.d_step = 0
        self._d_in_step = 0  # D updates since the last G update: keys D's batches
        self._views: dict[int, tuple[Generator, Discriminator]] = {}
        self._use(self.cfg)
        self.checkpoints: list[tuple[int, dict]] = []
        self._reset_window()
        self._checkpoint()

    # --- the engine's step ----------------------------------------------------------------
    def _use(self, cfg: Config) -> None:
        """Settings in force: the loss, the step functions for cfg's StepKey, the tensors."""
        self.cfg, self.loss = cfg, LOSSES[cfg.loss]
        self.key = engine.StepKey.of(cfg, self.S)
        if self.key not in self._steps:
            self._steps[self.key] = engine.Step(self.key, self.nets)
        self._step = self._steps[self.key]
        self._compiled = (engine.compiled_step(self.key, cfg, self.device)
                          if engine.compile_wanted(self.compile) else None)
        self._schedule()

    @property
    def compiling(self) -> bool:
        """True while the step for the current settings compiles in the background."""
        return self._compiled is not None and not self._compiled.ready

    def ready(self) -> bool:
        """Whether step() now runs the step it will keep running: the compiled one, or the
        eager one for good (compiling off or failed). With background_compile the first
        call starts the compile (a child process, then a load in a thread) and the caller
        polls until True instead of blocking. A run never switches from eager to compiled
        midway, so the app replays what `gansim run` trains with the same settings."""
        fb = self._compiled
        if fb is None or fb.fell_back is not None or fb.loaded or not self.background_compile:
            return True
        fb.warm_in_background(*self._step_args(self._batch(keep_streams=True)))
        return fb.loaded or fb.fell_back is not None

    def _fresh_optimiser(self) -> None:
        """Zero moments and step counts: a new optimiser (the weights are kept)."""
        moments = engine.OPTIMISERS[self.cfg.optimizer].moments
        self.gs = {k: {m: torch.zeros_like(v) for m in moments} for k, v in self.g.items()}
        self.ds = {k: {m: torch.zeros_like(v) for m in moments} for k, v in self.d.items()}
        self.t_g = torch.zeros(self.S, device=self.device)
        self.t_d = torch.zeros(self.S, device=self.device)

    def _sigma(self) -> float:
        return instance_noise_std(self.cfg.instance_noise, self.cfg.noise_anneal, self.g_step)

    def _schedule(self) -> None:
        """The learning rates of the decay schedule and the annealed noise at this G step."""
        cfg = self.cfg
        factor = lr_factor(cfg.lr_decay_start, cfg.lr_decay_end, cfg.lr_decay_floor, self.g_step)
        engine.set_hyper(self.h, cfg, factor, self._sigma())

    def lr(self, player: str) -> float:
        """The learning rate run 0's next `player` ("g" or "d") update uses."""
        return float(self.h[player]["lr"][0])

    def _d_draws(self, index: int, stored: int) -> dict[str, Tensor]:
        return self.draws.d_batch(self.cfg, self.key, self.g_step, index, self._sigma(), stored)

    def _g_draws(self) -> dict[str, Tensor]:
        return self.draws.g_batch(self.cfg, self.key, self.g_step, self._sigma())

    # --- training -----------------------------------------------------------------------
    def step_d(self, trace: StepTrace | None = None) -> float:
        """One discriminator update (every run); returns run 0's D loss. `trace` records
        run 0's update (slow motion)."""
        self._check_alive()
        self._schedule()
        if trace is not None:
            trace.begin(self, "d")
        b = self._d_draws(self._d_in_step, min(self.capacity, self.stored))
        d, ds, t_d, ok, mem, sn, stats, seen = self._step.d(
            self.g, self.d, self.ds, self.t_d, self.alive, self.mem, self.sn, self.h, b)
        if trace is not None:
            trace.d_batch(self, seen["real"][0], seen["fake"][0], seen["out_r"][0],
                          seen["out_f"][0], stats[0, 0], stats[0, 1])
        self._d_in_step += 1
        self._commit_d(d, ds, t_d, mem, sn)
        self.alive = ok
        self._died(ok, stats[:, 0], "discriminator")
        self.d_step += 1
        self._record_d(stats[None])
        if trace is not None:
            trace.end(self, self.lr("d"))
        return float(stats[0, 0])

    def step_g(self, trace: StepTrace | None = None) -> float:
        """One generator update (every run); returns run 0's G loss. `trace` records run
        0's update (slow motion)."""
        self._check_alive()
        self._schedule()
        if trace is not None:
            trace.begin(self, "g")
        b = self._g_draws()
        if trace is not None:
            fake, out, grad = self._step.probe(self.g, self.d, self.ds, self.t_d, self.sn, self.h, b)
            trace.g_batch(self, b["g_z"][0], fake[0], out[0], grad[0])
        g, gs, t_g, ok, stats = self._step.g(self.g, self.d, self.gs, self.ds, self.t_g,
                                             self.t_d, self.alive, self.sn, self.h, b)
        if trace is not None:
            trace.g_loss(stats[0, 0], stats[0, 1])
        self._commit_g(g, gs, t_g)
        self.alive = ok
        self._died(ok, stats[:, 0], "generator")
        self._finish_g(stats)
        if trace is not None:
            trace.end(self, self.lr("g"))
        return float(stats[0, 0])

    def step(self) -> None:
        """d_steps discriminator updates, then one generator update: one call of the
        engine's whole step (compiled unless compiling is off or unavailable)."""
        self._check_alive()
        self._schedule()
        args = self._step_args(self._batch())
        out = None if self._compiled is None else self._compiled.try_call(*args)
        if out is None:  # compiling is off, unavailable or (background) not loaded yet
            out = self._step.whole(*args)
        (g, d, gs, ds, t_g, t_d, ok, mem, sn, d_stats, g_stats, ok_d) = out
        self._commit_d(d, ds, t_d, mem, sn, self.cfg.d_steps)
        self._commit_g(g, gs, t_g)
        self.alive = ok
        self._died(ok_d, d_stats[-1, :, 0], "discriminator")
        self._died(ok, g_stats[:, 0], "generator")
        self.d_step += self.cfg.d_steps
        self._record_d(d_stats)
        self._finish_g(g_stats)

    def _batch(self, keep_streams: bool = False) -> dict:
        """The next step's draws: d_steps D updates' and the G update's. keep_streams:
        leave the tricks' generators where they were (inputs to compile on)."""
        states = [gen.get_state() for gen in self.draws.gens] if keep_streams else None
        stored, batch = self.stored, {"d": [], "g": None}
        for i in range(self.cfg.d_steps):
            batch["d"].append(self._d_draws(self._d_in_step + i, min(self.capacity, stored)))
            stored += self.cfg.batch
        batch["g"] = self._g_draws()
        for gen, state in zip(self.draws.gens, states or []):
            gen.set_state(state)
        return batch

    def _step_args(self, batch: dict) -> tuple:
        return (self.g, self.d, self.gs, self.ds, self.t_g, self.t_d, self.alive, self.mem,
                self.sn, self.h, batch)

    def _commit_d(self, d, ds, t_d, mem, sn, updates: int = 1) -> None:
        _write(self.d, d)
        for k, s in sn.items():
            _write(self.sn[k], s)
        self.ds, self.t_d, self.mem = ds, t_d, mem
        self.stored = min(self.capacity, self.stored + updates * self.cfg.batch)
        self._views_stale = True

    def _commit_g(self, g, gs, t_g) -> None:
        _write(self.g, g)
        self.gs, self.t_g = gs, t_g
        self._views_stale = True

    def _finish_g(self, stats: Tensor) -> None:
        self.g_step += 1
        self._d_in_step = 0
        self._record_g(stats)

    def train(self, steps: int) -> None:
        """Run `steps` full steps (stops early, raising Diverged, if every run blew up)."""
        for _ in range(steps):
            self.step()

    # --- divergence -----------------------------------------------------------------------
    def _died(self, ok: Tensor, loss: Tensor, who: str) -> None:
        """Runs whose update the engine refused (NaN/Inf) are marked with a message; a run
        whose weights themselves had blown up gets its newest checkpoint's. Raises
        Diverged when no run is left."""
        newly = [i for i in range(self.S) if self.failed[i] is None and not bool(ok[i])]
        for i in newly:
            what = "loss" if not math.isfinite(float(loss[i])) else "gradient"
            if bool(engine.finite_runs(self.g)[i]) and bool(engine.finite_runs(self.d)[i]):
                kept = f"The weights are kept as they were at step {self.g_step}"
            else:
                kept = (f"The weights themselves had blown up, so they were restored to those "
                        f"of step {self._recover(i)} (the newest checkpoint); the current "
                        f"settings are kept")
            self.failed[i] = (
                f"Training diverged at step {self.g_step}: the {who}'s {what} became NaN or "
                f"infinite. {kept}. Lower the learning rates or add a penalty (gp, r1), then "
                f"rewind or reset.")
        if newly and all(self.failed):
            self.diverged = self.failed[0]
            raise Diverged(self.diverged)

    def _recover(self, i: int) -> int:
        """Load run i's networks, moments and power-iteration vectors from the newest
        checkpoint, keeping today's settings; returns the checkpoint's step."""
        step, st = self.checkpoints[-1]
        for mine, saved in ((self.g, st["g"]), (self.d, st["d"])):
            for k in mine:
                mine[k][i] = saved[k][i]
        for k, s in self.sn.items():
            for m in s:
                s[m][i] = st["sn"][k][m][i]
        same_opt = (st["cfg"].optimizer, st["cfg"].beta1, st["cfg"].beta2) == \
            (self.cfg.optimizer, self.cfg.beta1, self.cfg.beta2)
        for mine, saved in ((self.gs, st["gs"]), (self.ds, st["ds"])):
            for k, s in mine.items():
                for m in s:
                    s[m][i] = saved[k][m][i] if same_opt else 0.0
        self.t_g[i] = st["t_g"][i] if same_opt else 0.0
        self.t_d[i] = st["t_d"][i] if same_opt else 0.0
        self._views_stale = True
        return step

    def _check_alive(self) -> None:
        if self.diverged:
            raise Diverged(self.diverged)

    # --- logging ----------------------------------------------------------------------------
    def _reset_window(self) -> None:
        self._d_sum = torch.zeros(self.S, len(D_STATS))
        self._g_sum = torch.zeros(self.S, 2)
        self._d_n = self._g_n = 0

    def _record_d(self, stats: Tensor) -> None:
        """stats (updates, S, 6): each D update's figures per run (engine.Step.d)."""
        for row in stats.detach().cpu():  # one by one: the same sums as single D steps
            self._d_sum += row
            self._d_n += 1

    def _record_g(self, stats: Tensor) -> None:
        self._g_sum += stats.detach().cpu()
        self._g_n += 1
        if self.g_step % self.log_every == 0:
            self._log_rows()
        if self.g_step % CHECKPOINT_EVERY == 0:
            self._checkpoint()

    def _log_rows(self) -> None:
        d = (self._d_sum / max(self._d_n, 1)).tolist()
        g = (self._g_sum / max(self._g_n, 1)).tolist()
        critic = self.loss.critic
        for i, history in enumerate(self.histories):
            row = {"step": self.g_step, "d_loss": d[i][0], "d_grad": d[i][1],
                   "score_d": d[i][2], "score_g": d[i][3],
                   "critic_real": d[i][4] if critic else math.nan,
                   "critic_fake": d[i][5] if critic else math.nan,
                   "g_loss": g[i][0], "g_grad": g[i][1]}
            mass = None
            if self.g_step % self.eval_every == 0 and not self.failed[i]:
                stats = self.run(i).evaluate()
                mass = stats.pop("mass", None)
                row.update(stats)
            history.append(row, mass)
        self._reset_window()

    # --- reading the runs -------------------------------------------------------------------
    _views_stale = True

    def _networks(self, i: int) -> tuple[Generator, Discriminator]:
        """Run i's G and D as ordinary modules (eval mode) whose weights share the
        stack's memory; with spectral norm D holds the normalised weights, refreshed
        after each update."""
        if i not in self._views:
            arch = engine.plain_arch(self.cfg)
            with torch.random.fork_rng(devices=[]):
                G, D = Generator(arch).to(self.device), Discriminator(arch).to(self.device)
            for net, weights in ((G, self.g), (D, self.d)):
                for name, _ in list(net.named_parameters()):
                    parent, _, attr = name.rpartition(".")
                    # A normalised layer holds its own copy of W / σ (refreshed below).
                    view = weights[name][i].clone() if net is D and name in self.sn else weights[name][i]
                    setattr(net.get_submodule(parent), attr, torch.nn.Parameter(view, requires_grad=False))
            self._views[i] = (G.eval(), D.eval())
            self._views_stale = True
        if self.sn and self._views_stale:
            normal = engine.normalised(self.d, self.sn)
            with torch.no_grad():
                for j, (_, D) in self._views.items():
                    for k in self.sn:
                        D.get_parameter(k).copy_(normal[k][j])
        self._views_stale = False
        return self._views[i]

    @property
    def G(self) -> Generator:
        return self._networks(0)[0]

    @property
    def D(self) -> Discriminator:
        return self._networks(0)[1]

    def run(self, i: int) -> RunView:
        """Run i (seed seeds[i]) as a Trainer-like view: cfg, G, D, history, evaluate()..."""
        G, D = self._networks(i)
        return RunView(cfg=self.cfg.replace(seed=self.seeds[i]), G=G, D=D, dataset=self.dataset,
                       device=self.device, history=self.histories[i],
                       eval_gen=self.eval_gens[i], look_gen=self.look_gens[i],
                       z_fixed=self.z_fixeds[i], real_eval=self.real_evals[i],
                       g_step=self.g_step, d_step=self.d_step, diverged=self.failed[i],
                       checkpoints=self.checkpoints, index=i)

    def runs(self) -> list[RunView]:
        return [self.run(i) for i in range(self.S)]

    def evaluate(self, n: int = EVAL_SAMPLES) -> dict[str, Any]:
        """Run 0's mode coverage and sample distance on n fresh samples."""
        return self.run(0).evaluate(n)

    def sample(self, n: int) -> Any:
        """n of run 0's generated points (n, 2); does not disturb training."""
        return self.run(0).sample(n)

    def snapshot(self, **kwargs: Any):
        """Plain arrays for the UI: see gansim.snapshot.take."""
        from .snapshot import take

        return take(self, **kwargs)

    # --- live changes, checkpoints, rewind ----------------------------------------------------
    def update(self, **changes: Any) -> None:
        """Change live settings (lrs, loss, cures) of every run, keeping weights and history."""
        new = self.cfg.replace(**changes)
        blocked = restart_fields_changed(self.cfg, new)
        if blocked:
            raise ValueError(f"changing {', '.join(blocked)} needs a new run (reset); "
                             f"live settings are the lrs, loss, penalties and tricks")
        rebuild = (new.optimizer, new.beta1, new.beta2) != (self.cfg.optimizer, self.cfg.beta1, self.cfg.beta2)
        self.cfg = new
        if rebuild:  # a new optimiser starts with fresh moments; the weights are kept
            self._fresh_optimiser()
        self._use(new)  # a decayed rate stays decayed

    def state(self) -> dict:
        """A deep copy of everything needed to continue these runs exactly."""
        tensors = {"g": self.g, "d": self.d, "gs": self.gs, "ds": self.ds, "t_g": self.t_g,
                   "t_d": self.t_d, "alive": self.alive, "sn": self.sn, "mem": self.mem}
        return {
            "g_step": self.g_step, "d_step": self.d_step, "cfg": self.cfg,
            "d_in_step": self._d_in_step, "seeds": list(self.seeds),
            **engine.clone_tree(tensors), "stored": self.stored,
            "failed": list(self.failed),
            "gens": [g.get_state() for g in self.draws.gens],
            "eval_gens": [g.get_state() for g in self.eval_gens],
            "histories": [h.state() for h in self.histories],
        }

    def _restore(self, st: dict) -> None:
        self.cfg = st["cfg"]
        _write(self.g, st["g"])
        _write(self.d, st["d"])
        for k, s in st["sn"].items():
            _write(self.sn[k], s)
        self.gs, self.ds = engine.clone_tree(st["gs"]), engine.clone_tree(st["ds"])
        self.t_g, self.t_d, self.alive = st["t_g"].clone(), st["t_d"].clone(), st["alive"].clone()
        self.mem, self.stored = engine.clone_tree(st["mem"]), st["stored"]
        self.failed = list(st["failed"])
        for gen, s in zip(self.draws.gens, st["gens"]):
            gen.set_state(s)
        for gen, s in zip(self.eval_gens, st["eval_gens"]):
            gen.set_state(s)
        for h, s in zip(self.histories, st["histories"]):
            h.load(s)
        self.g_step, self.d_step = st["g_step"], st["d_step"]
        self._d_in_step = st["d_in_step"]
        self._views_stale = True
        self._use(self.cfg)
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

    def frame(self, state: dict, i: int = 0) -> RunView:
        """Run i as it was in `state` (a checkpoint), on fresh networks: looking at it
        changes nothing of the live runs (the timeline)."""
        arch = engine.plain_arch(state["cfg"])
        with torch.random.fork_rng(devices=[]):
            G, D = Generator(arch).to(self.device), Discriminator(arch).to(self.device)
        d = engine.normalised(state["d"], state["sn"])
        with torch.no_grad():
            for net, weights in ((G, state["g"]), (D, d)):
                for name, p in net.named_parameters():
                    p.copy_(weights[name][i])
        history = History(self.histories[i].max_rows)
        history.load(state["histories"][i])
        eval_gen = torch.Generator()
        eval_gen.set_state(state["eval_gens"][i])  # its own: a snapshot draws samples
        return RunView(cfg=state["cfg"].replace(seed=self.seeds[i]), G=G.eval(), D=D.eval(),
                       dataset=self.dataset, device=self.device, history=history,
                       eval_gen=eval_gen, look_gen=look_stream(state["cfg"]),
                       z_fixed=self.z_fixeds[i], real_eval=self.real_evals[i],
                       g_step=state["g_step"], d_step=state["d_step"], diverged=None,
                       checkpoints=self.checkpoints, index=i)

def default_dataset(cfg: Config) -> Any:
    """The mixture cfg names (a preset, or data=custom built from the custom_* fields)."""
    custom = None
    if cfg.data == "custom":
        custom = {"centers": [list(c) for c in cfg.custom_centers], "stds": list(cfg.custom_stds),
                  "weights": list(cfg.custom_weights) or None}
    return make_dataset(cfg.data, custom)

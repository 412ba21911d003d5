"""Trainer: S GAN runs of one setting (a single run is S = 1), trained by one engine.

step_d(), step_g() and step() train; snapshot() reports; update() changes live settings;
checkpoints and rewind go back. The weights of the S runs are stacked along a leading
axis and every update is gansim.step's pure step (compiled for step(), eager for the
single-phase steps and slow motion), so a single run, a seed sweep, a compare pane and
the lesson check all train by the same function.

Every random draw comes from a run's own keyed streams (seeding.batch_key) and generator,
so the same Config and seed give the same run whatever else the process is doing, and
seed s of a stack is the single run with seed s up to float summation order. Evaluation and
display draw from separate generators, so looking at a run never changes it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from .checkpoints import Checkpoints
from .compile import FallBack, compiled_step, engine_mode
from .config import Config, restart_fields_changed
from .data import make_dataset
from .draws import Draws
from .history import History
from .logwindow import LogWindow
from .losses import LOSSES
from .models import Discriminator, Generator
from .nets import Nets, init_weights
from .optim import OPTIMISERS, flat_views
from .recovery import Diverged, Recovery  # noqa: F401  (callers catch trainer.Diverged)
from .schedule import instance_noise_std, lr_factor
from .spectral import init_sn
from .stack import write
from .stacking import StepKey, hyper, set_hyper
from .step import Step
from .views import Views, eval_streams, look_stream

if TYPE_CHECKING:
    from .trace import StepTrace

REPLAY_BATCHES = 10  # the replay buffer holds this many batches of past fakes
CHECKPOINT_EVERY = 250  # G steps between the checkpoints that rewind and recovery use


def resolve_device(name: str) -> torch.device:
    """'auto' → CUDA when present, else CPU; 'cuda' without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda but no CUDA GPU is available; use device=auto or cpu")
    return torch.device(name)


class Trainer(Recovery, LogWindow, Views, Checkpoints):
    """Live GAN runs of one setting on a 2-D dataset (S seeds; one by default): settings
    that allow it change without a reset. The Trainer reads as its first run (G, D,
    history, evaluate, sample, snapshot); run(i) gives run i."""

    def __init__(self, cfg: Config, dataset: Any = None, *, seeds: list[int] | None = None,
                 compile: bool | None = None, background_compile: bool = False,
                 build_missing: bool = True,
                 log_every: int = 10, eval_every: int = 100, history_rows: int = 2000,
                 checkpoint_every: int | None = None):
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
        # None: the module's CHECKPOINT_EVERY, read now (a test may patch it).
        self.checkpoint_every = checkpoint_every or CHECKPOINT_EVERY
        # compile: None = cfg.engine decides (compile.engine_mode; GANSIM_COMPILE=0 or 1
        # overrides); background: ready() builds without blocking and says when step()
        # may run (the app); build_missing: with engine "auto", a step this machine has
        # not built trains eagerly while a child process builds it for the next run.
        self.compile, self.background_compile = compile, background_compile
        self.build_missing = build_missing
        self.nets = Nets(cfg, self.S, self.device)  # this Trainer's own modules
        self._steps: dict[StepKey, Step] = {}
        self.g, self.d = init_weights(cfg, self.seeds, self.device)
        self.sn = init_sn(self.seeds, self.d, self.nets.sn_keys)
        self.draws = Draws(self.seeds, self.dataset, self.device, len(self.nets.dropouts))
        self.gen = self.draws.gens[0]  # run 0's tricks generator
        self.h = hyper(cfg, self.S, self.device)
        self._hyper_written: tuple | None = None  # (cfg, lr factor, σ) that h now holds
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

    # --- the step -------------------------------------------------------------------------
    def _use(self, cfg: Config) -> None:
        """Settings in force: the loss, the step functions for cfg's StepKey, the tensors."""
        self.cfg, self.loss = cfg, LOSSES[cfg.loss]
        self.key = StepKey.of(cfg, self.S)
        if self.key not in self._steps:
            self._steps[self.key] = Step(self.key, self.nets)
        self._step = self._steps[self.key]
        # "auto" keeps the path a run started on: compiled where this machine has built
        # the step, else eager to the end (a link records which: Trainer.engine). At the
        # first call (from __init__) there is no path yet.
        staying = self.engine if hasattr(self, "_compiled") else "compiled"
        self._compiled: FallBack | None = None
        self._building: FallBack | None = None  # auto: built for the next run meanwhile
        mode = engine_mode(self.compile, cfg.engine)
        if mode != "eager":
            step = compiled_step(self.key, cfg)
            if mode == "compiled" or (step.loaded and staying == "compiled"):
                self._compiled = step
            elif not step.loaded and self.build_missing:  # eager now, compiled next run
                step.warm_in_background()
                self._building = step
        self._schedule()

    @property
    def engine(self) -> str:
        """The step this run trains with now, "compiled" or "eager": the same math,
        rounded differently, so a link records it and `gansim run` replays it."""
        fb = self._compiled
        return "compiled" if fb is not None and fb.loaded and fb.fell_back is None else "eager"

    def replay_config(self) -> Config:
        """The settings that replay this run: its own, with the step it trains with
        instead of "auto" (a link, `gansim run`'s config.json)."""
        return self.cfg.replace(engine=self.engine)

    @property
    def compiling(self) -> bool:
        """True while this run waits for its compiled step to be built (engine "compiled")."""
        return self._compiled is not None and not self._compiled.ready

    def ready(self) -> bool:
        """Whether step() now runs the step it will keep running: the compiled one, or the
        eager one for good. Only a run that asks for engine "compiled" on a machine
        without its package waits: with background_compile the first call starts the
        build (a child process, then a load in a thread) and the caller polls until True
        instead of blocking. A run never switches path midway, so the app replays what
        `gansim run` trains with the same settings."""
        fb = self._compiled
        if fb is None or fb.fell_back is not None or fb.loaded or not self.background_compile:
            return True
        fb.warm_in_background()
        return fb.loaded or fb.fell_back is not None

    def wait_compiled(self, timeout: float | None = None) -> None:
        """Block until a background build of the current settings' step ends (or
        `timeout` s): the one this run waits for, or the one it started for the next."""
        step = self._compiled or self._building
        if step is not None:
            step.wait(timeout)

    def _fresh_optimiser(self) -> None:
        """Zero moments and step counts: a new optimiser (the weights are kept)."""
        moments = OPTIMISERS[self.cfg.optimizer].moments

        def zeros(params):  # each moment as views of one flat buffer (optim.flat_views)
            parts = {m: flat_views({k: torch.zeros_like(v) for k, v in params.items()})
                     for m in moments}
            return {k: {m: parts[m][k] for m in moments} for k in params}

        self.gs, self.ds = zeros(self.g), zeros(self.d)
        self.t_g = torch.zeros(self.S, device=self.device)
        self.t_d = torch.zeros(self.S, device=self.device)

    def _sigma(self) -> float:
        return instance_noise_std(self.cfg.instance_noise, self.cfg.noise_anneal, self.g_step)

    def _schedule(self) -> None:
        """The learning rates of the decay schedule and the annealed noise at this G step."""
        cfg = self.cfg
        factor = lr_factor(cfg.lr_decay_start, cfg.lr_decay_end, cfg.lr_decay_floor, self.g_step)
        written = (cfg, factor, self._sigma())
        # The tensors only change with the settings or the schedule: rewriting the same
        # values every step cost ~20 tensor writes (~60 µs) for nothing.
        if written != self._hyper_written:
            set_hyper(self.h, *written)
            self._hyper_written = written

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

    def _batch(self) -> dict:
        """The next step's draws: d_steps D updates' and the G update's."""
        stored, batch = self.stored, {"d": [], "g": None}
        for i in range(self.cfg.d_steps):
            batch["d"].append(self._d_draws(self._d_in_step + i, min(self.capacity, stored)))
            stored += self.cfg.batch
        batch["g"] = self._g_draws()
        return batch

    def _step_args(self, batch: dict) -> tuple:
        return (self.g, self.d, self.gs, self.ds, self.t_g, self.t_d, self.alive, self.mem,
                self.sn, self.h, batch)

    def _commit_d(self, d, ds, t_d, mem, sn, updates: int = 1) -> None:
        write(self.d, d)
        for k, s in sn.items():
            write(self.sn[k], s)
        self.ds, self.t_d, self.mem = ds, t_d, mem
        self.stored = min(self.capacity, self.stored + updates * self.cfg.batch)
        self._views_stale = True

    def _commit_g(self, g, gs, t_g) -> None:
        write(self.g, g)
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


def default_dataset(cfg: Config) -> Any:
    """The mixture cfg names (a preset, or data=custom built from the custom_* fields)."""
    custom = None
    if cfg.data == "custom":
        custom = {"centers": [list(c) for c in cfg.custom_centers], "stds": list(cfg.custom_stds),
                  "weights": list(cfg.custom_weights) or None}
    return make_dataset(cfg.data, custom)

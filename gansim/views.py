"""Reading the runs: each run of a Trainer (or of one of its checkpoints) as a RunView
with ordinary modules (G, D), its history, evaluate() and sample(); the evaluation and
display streams, separate from training's so that looking never changes a run."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .config import Config
from .history import History
from .losses import LOSSES
from .metrics import EVAL_SAMPLES, mode_stats, sliced_wasserstein
from .models import Discriminator, Generator
from .seeding import mix_seed
from .snapshot import take
from .spectral import normalised


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
        return take(self, **kwargs)


class Views:
    """The Trainer's per-run views (a mixin: it reads the Trainer's stacked weights and
    streams; the views share the stack's memory)."""

    _views_stale = True

    def _networks(self, i: int) -> tuple[Generator, Discriminator]:
        """Run i's G and D as ordinary modules (eval mode) whose weights share the
        stack's memory; with spectral norm D holds the normalised weights, refreshed
        after each update."""
        if i not in self._views:
            with torch.random.fork_rng(devices=[]):
                G, D = Generator(self.cfg).to(self.device), Discriminator(self.cfg).to(self.device)
            for net, weights in ((G, self.g), (D, self.d)):
                for name, _ in list(net.named_parameters()):
                    parent, _, attr = name.rpartition(".")
                    # A normalised layer holds its own copy of W / σ (refreshed below).
                    view = weights[name][i].clone() if net is D and name in self.sn else weights[name][i]
                    setattr(net.get_submodule(parent), attr, torch.nn.Parameter(view, requires_grad=False))
            self._views[i] = (G.eval(), D.eval())
            self._views_stale = True
        if self.sn and self._views_stale:
            normal = normalised(self.d, self.sn)
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
        return take(self, **kwargs)

    def frame(self, state: dict, i: int = 0) -> RunView:
        """Run i as it was in `state` (a checkpoint), on fresh networks: looking at it
        changes nothing of the live runs (the timeline)."""
        arch = state["cfg"]
        with torch.random.fork_rng(devices=[]):
            G, D = Generator(arch).to(self.device), Discriminator(arch).to(self.device)
        d = normalised(state["d"], state["sn"])
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

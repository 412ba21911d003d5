"""Snapshot: the plain arrays the UI draws. Nothing here changes the run."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .diagnosis import Diagnosis, diagnose
from .metrics import EVAL_SAMPLES, hq_labels, nearest_mode, precision_recall
from .models import minibatch_group

GRID = 48  # D's landscape resolution: one image layer, cheap to send every frame
MANIFOLD = 11  # lines each way in the warped latent grid (z_dim 2)
LINE_POINTS = 41  # points along each grid line: enough for G's bends to read as curves
Z_SPAN = 2.5  # the grid covers ±2.5 in each latent coordinate: 98.8 % of N(0, 1)
DENSITY_SAMPLES = 4096  # fakes behind the shading: enough at 48², cheap every frame
DENSITY_BINS = 48  # the same cells as D's landscape (GRID)


@dataclass(frozen=True)
class Snapshot:
    step: int
    d_step: int
    real: np.ndarray  # (n, 2) real samples (fixed set, so frames compare)
    fake: np.ndarray  # (n, 2) G's image of the fixed latent batch
    fake_mode: np.ndarray  # (n,) nearest mode of each fake, −1 when it is not high quality
    arrows: np.ndarray  # (n, 2) −∇ₓ G's loss: where G pushes each fake
    grid_x: np.ndarray  # (GRID,)
    grid_y: np.ndarray  # (GRID,)
    d_grid: np.ndarray  # (GRID, GRID) D on the grid: P(real) or the critic's score; [iy, ix]
    manifold: np.ndarray  # (lines, LINE_POINTS, 2) G's image of latent grid lines; empty if z_dim > 2
    extent: tuple  # (xmin, xmax, ymin, ymax), fixed for the run
    critic: bool  # True: d_grid is an unbounded critic score, not a probability
    centers: np.ndarray | None
    stds: np.ndarray | None
    metrics: dict[str, Any]  # newest value of each history key (+ precision/recall if full)
    history: dict[str, np.ndarray]
    mass_history: list  # per-mode mass at each evaluated row
    diagnosis: Diagnosis
    diverged: str | None = None
    config: dict = field(default_factory=dict)


def take(trainer, n_real: int = 512, full: bool = False) -> Snapshot:
    """Read the trainer's state into plain arrays; `full` adds precision/recall (slower)."""
    D, ds = trainer.D, trainer.dataset
    was_training = D.training
    D.eval()
    try:
        fake_t = _fake(trainer)
        arrows = _arrows(trainer, fake_t)
        gx, gy, grid = _landscape(trainer, fake_t, ds.extent)
        manifold = _manifold(trainer)
    finally:
        D.train(was_training)
    fake = fake_t.detach().cpu().numpy()
    real = trainer.real_eval[:n_real].cpu().numpy()
    hist = trainer.history.as_arrays()
    metrics = {k: trainer.history.last(k) for k in hist if k != "step"}
    if full:
        p, r = precision_recall(trainer.real_eval.cpu().numpy(), trainer.sample(EVAL_SAMPLES))
        metrics.update(precision=p, recall=r)
    has_modes = bool(getattr(ds, "n_modes", 0))
    return Snapshot(
        step=trainer.g_step, d_step=trainer.d_step, real=real, fake=fake,
        fake_mode=_mode_labels(fake, ds) if has_modes else np.full(len(fake), -1),
        arrows=arrows, grid_x=gx, grid_y=gy, d_grid=grid, manifold=manifold,
        extent=tuple(float(v) for v in ds.extent), critic=trainer.loss.critic,
        centers=ds.centers if has_modes else None, stds=ds.stds if has_modes else None,
        metrics=metrics, history=hist, mass_history=[list(m) for m in trainer.history.mass],
        diagnosis=verdict(trainer, hist),
        diverged=trainer.diverged, config=trainer.cfg.to_dict())


def verdict(trainer, hist: dict | None = None) -> Diagnosis:
    """The run's raw verdict (before the banner's hold): what a stopped run's banner shows,
    what `gansim run`'s summary and the lesson check report. `trainer`: a Trainer (its
    first run) or a RunView."""
    ds = trainer.dataset
    return diagnose(trainer.history.as_arrays() if hist is None else hist,
                    critic=trainer.loss.critic, n_modes=getattr(ds, "n_modes", 0),
                    config=trainer.cfg.to_dict(), diverged=trainer.diverged,
                    mass=trainer.history.mass)


@torch.no_grad()
def _fake(trainer) -> torch.Tensor:
    return trainer.G(trainer.z_fixed)


def _arrows(trainer, fake: torch.Tensor) -> np.ndarray:
    """−∂(G's loss)/∂x at each fake: the direction D's signal moves it."""
    x = fake.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = trainer.loss.g_term(trainer.D(x)).sum()
        (grad,) = torch.autograd.grad(loss, x)
    return (-grad).cpu().numpy()


@torch.no_grad()
def _landscape(trainer, fake: torch.Tensor, extent) -> tuple:
    """D's output on a grid over the plot box (probability, or raw score for critics)."""
    x0, x1, y0, y1 = extent
    gx, gy = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
    xx, yy = np.meshgrid(gx, gy)
    pts = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32,
                       device=trainer.device)
    D = trainer.D
    # A packed D judges m points at once: show its verdict on m copies of each point.
    pts_in = pts.repeat_interleave(D.pack, dim=0)
    ref = _reference(trainer, fake) if D.batch_aware else None
    out = D(pts_in, ref=ref)
    prob = trainer.loss.prob(out)
    values = out if prob is None else prob
    return gx, gy, values.cpu().numpy().reshape(GRID, GRID)


def _reference(trainer, fake: torch.Tensor) -> torch.Tensor:
    """The fakes a grid point's batch features are measured against, as in training.

    Minibatch discrimination compares each sample with the others in its group
    (models.minibatch_group), so a grid point joins a group of that size beside that many
    fakes less one; comparing it with all 512 fakes would draw a D that was never trained.
    """
    if trainer.D.mbd is None:
        return fake  # minibatch std: one statistic of G's batch, about the same at any size
    pack = trainer.cfg.pack
    group = minibatch_group(trainer.cfg.batch // pack)
    return fake[: (group - 1) * pack]


@torch.no_grad()
def _manifold(trainer) -> np.ndarray:
    """G's image of straight latent lines: a grid for z_dim 2, one curve for z_dim 1.

    With more latent coordinates a 2-D slice (the rest held at 0) is no picture of
    what G does with the rest of its input, so nothing is drawn and the UI says why.
    """
    z = latent_lines(trainer.cfg.z_dim)
    if z is None:
        return np.zeros((0, LINE_POINTS, 2), dtype=np.float32)
    out = trainer.G(z.reshape(-1, z.shape[-1]).to(trainer.device))
    return out.cpu().numpy().reshape(z.shape[0], z.shape[1], 2)


def latent_lines(z_dim: int) -> torch.Tensor | None:
    """Straight lines in latent space: (lines, LINE_POINTS, z_dim), None past 2 dims."""
    t = torch.linspace(-Z_SPAN, Z_SPAN, LINE_POINTS)
    if z_dim == 1:
        return t.reshape(1, LINE_POINTS, 1)
    if z_dim != 2:
        return None
    levels = torch.linspace(-Z_SPAN, Z_SPAN, MANIFOLD)
    rows = torch.stack([torch.stack([t, torch.full_like(t, v)], 1) for v in levels])
    return torch.cat([rows, rows.flip(-1)])  # z₂ = const lines, then z₁ = const lines


@dataclass(frozen=True)
class Density:
    """Where G puts its mass: the share of DENSITY_SAMPLES fakes in each plot-box cell."""

    share: np.ndarray  # (bins, bins), [iy, ix] like d_grid; sums to the share inside the box
    extent: tuple
    samples: int


@torch.no_grad()
def density(trainer, n: int = DENSITY_SAMPLES, bins: int = DENSITY_BINS) -> Density:
    """A 2-D histogram of n fakes from a fixed latent draw (same z every call: frames compare)."""
    z = _density_latent(trainer.cfg.seed, trainer.cfg.z_dim, n).to(trainer.device)
    fake = trainer.G(z).cpu().numpy()
    return Density(histogram(fake, trainer.dataset.extent, bins),
                   tuple(float(v) for v in trainer.dataset.extent), n)


@functools.lru_cache(maxsize=4)
def _density_latent(seed: int, z_dim: int, n: int) -> torch.Tensor:
    """The shading's fixed noise: drawn once per run setting, apart from training's streams."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed + 1))


def histogram(points: np.ndarray, extent, bins: int) -> np.ndarray:
    """Share of `points` in each cell of a bins × bins grid over extent, as [iy, ix]."""
    x0, x1, y0, y1 = extent
    ok = np.isfinite(points).all(1)
    counts, _, _ = np.histogram2d(points[ok, 1], points[ok, 0], bins=bins,
                                  range=[[y0, y1], [x0, x1]])
    return counts / max(len(points), 1)


def _mode_labels(fake: np.ndarray, ds) -> np.ndarray:
    return hq_labels(fake, ds.centers, ds.stds)


def nearest_modes(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest mode centre for every point, however far away it is.

    `Snapshot.fake_mode` keeps −1 for fakes outside 3σ (what counts as high quality);
    the arena colours every fake by its nearest mode, so a collapsed G that hovers
    beside one mode shows as one colour.
    """
    centers = np.asarray(centers)
    return nearest_mode(np.asarray(points), centers, np.ones(len(centers)))[0]

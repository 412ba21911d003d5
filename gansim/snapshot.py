"""Snapshot: the plain arrays the UI draws. Nothing here changes the run."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .diagnosis import Diagnosis, diagnose
from .metrics import nearest_mode, precision_recall
from .models import minibatch_group

GRID = 48  # D's landscape resolution: one image layer, cheap to send every frame
MANIFOLD = 15  # latent grid side for the generator's manifold


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
    manifold: np.ndarray  # (MANIFOLD, MANIFOLD, 2) image of a latent grid (z₁, z₂; rest 0)
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
    G, D, ds = trainer.G, trainer.D, trainer.dataset
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
        p, r = precision_recall(trainer.real_eval.cpu().numpy(), trainer.sample(2500))
        metrics.update(precision=p, recall=r)
    has_modes = bool(getattr(ds, "n_modes", 0))
    return Snapshot(
        step=trainer.g_step, d_step=trainer.d_step, real=real, fake=fake,
        fake_mode=_mode_labels(fake, ds) if has_modes else np.full(len(fake), -1),
        arrows=arrows, grid_x=gx, grid_y=gy, d_grid=grid, manifold=manifold,
        extent=tuple(float(v) for v in ds.extent), critic=trainer.loss.critic,
        centers=ds.centers if has_modes else None, stds=ds.stds if has_modes else None,
        metrics=metrics, history=hist, mass_history=[list(m) for m in trainer.history.mass],
        diagnosis=diagnose(hist, critic=trainer.loss.critic, n_modes=getattr(ds, "n_modes", 0),
                           config=trainer.cfg.to_dict(), diverged=trainer.diverged,
                           mass=trainer.history.mass),
        diverged=trainer.diverged, config=trainer.cfg.to_dict())


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
    """G's image of a grid over the first two latent coordinates (others held at 0)."""
    t = torch.linspace(-2.0, 2.0, MANIFOLD)
    a, b = torch.meshgrid(t, t, indexing="xy")
    z = torch.zeros(MANIFOLD * MANIFOLD, trainer.cfg.z_dim)
    z[:, 0] = a.ravel()
    if trainer.cfg.z_dim > 1:
        z[:, 1] = b.ravel()
    return trainer.G(z.to(trainer.device)).cpu().numpy().reshape(MANIFOLD, MANIFOLD, 2)


def _mode_labels(fake: np.ndarray, ds) -> np.ndarray:
    idx, dist = nearest_mode(fake, ds.centers, ds.stds)
    return np.where(dist < 3.0, idx, -1)

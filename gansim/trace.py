"""StepTrace: what one real D or G update used and did, for slow motion.

Pass a StepTrace to `Trainer.step_d(trace=...)` or `step_g(trace=...)` and the step
fills it as it runs: the batch it drew, D's outputs, the loss, the gradient norm, the
learning rate, and D's landscape (or G's fakes) before and after the update. The update
is the engine's own eager one (gansim.step.Step.d / .g), the same function an untraced
step runs, so a traced step leaves the run exactly where an untraced one would; G's
arrows come from step.Step.probe, a pure function of the same inputs.

Everything the trace computes on its own (landscapes, G's fakes after the update) runs
with both networks in eval mode, without gradients and with the global RNG forked, so
looking never draws from a stream the training uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .snapshot import _fake, _landscape


@dataclass
class StepTrace:
    """One update, as plain arrays; the Trainer fills it, the UI reads it."""

    phase: str = ""  # "d" or "g": which player this update trained
    g_step: int = 0  # the G step this update belongs to (D updates come before it)
    d_index: int = 0  # for D: which of the d_steps updates of this G step (0 = first)
    real: np.ndarray | None = None  # (batch, 2) D's real input; None for a G update
    fake: np.ndarray | None = None  # (batch, 2) the fakes as D saw them
    score_real: np.ndarray | None = None  # D's verdict per real point: P(real), or critic score
    score_fake: np.ndarray | None = None  # the same for each fake
    loss: float = float("nan")  # the loss the update minimised (penalties included)
    grad_norm: float = float("nan")  # ‖∇‖ over the trained network's weights
    lr: float = float("nan")  # the learning rate the optimiser stepped with
    push: np.ndarray | None = None  # G only: −∂(G's loss)/∂x at each fake (batch, 2)
    fake_after: np.ndarray | None = None  # G only: the same z through G after the update
    grid_before: np.ndarray | None = None  # D on the snapshot grid before the update
    grid_after: np.ndarray | None = None  # ... and after it (unchanged by a G update)
    grid_x: np.ndarray | None = None
    grid_y: np.ndarray | None = None
    critic: bool = False  # True: scores and grids are unbounded critic scores
    _z: Tensor | None = field(default=None, repr=False)

    # --- hooks the Trainer calls ------------------------------------------------------
    def begin(self, trainer: Any, phase: str) -> None:
        """Before the update: which step this is and D's landscape as it stands."""
        self.phase, self.g_step = phase, trainer.g_step
        self.d_index = trainer._d_in_step if phase == "d" else 0
        self.critic = bool(trainer.loss.critic)
        self.grid_x, self.grid_y, self.grid_before = _look(trainer)

    def d_batch(self, trainer: Any, real_in: Tensor, fake_in: Tensor, out_r: Tensor,
                out_f: Tensor, loss: Tensor, norm: Tensor) -> None:
        """D's inputs and outputs, the loss and the gradient norm, before the step."""
        self.real, self.fake = _np(real_in), _np(fake_in)
        self.score_real = _scores(trainer, out_r)
        self.score_fake = _scores(trainer, out_f)
        self.loss, self.grad_norm = float(loss.detach()), float(norm)

    def g_batch(self, trainer: Any, z: Tensor, fake_in: Tensor, out: Tensor, grad: Tensor) -> None:
        """G's latent batch, its fakes as D saw them, D's verdict on them and ∂(G's
        loss)/∂x at each fake (step.Step.probe), before the update."""
        self._z = z
        self.fake = _np(fake_in)
        self.score_fake = _scores(trainer, out)
        # The loss is a batch mean: scale by the batch so the arrows do not shrink with it.
        self.push = _np(-grad * fake_in.shape[0])

    def g_loss(self, loss: Tensor, norm: Tensor) -> None:
        """G's loss and gradient norm, from the update itself."""
        self.loss, self.grad_norm = float(loss), float(norm)

    def end(self, trainer: Any, lr: float) -> None:
        """After the update: the learning rate used, D's landscape, G's moved fakes."""
        self.lr = lr
        _, _, self.grid_after = _look(trainer)
        if self.phase == "g" and self._z is not None:
            with _quiet(trainer):
                self.fake_after = _np(trainer.G(self._z))
        self._z = None


class _quiet:
    """Both networks in eval mode, no autograd, global RNG untouched; restored after."""

    def __init__(self, trainer: Any):
        self.trainer = trainer

    def __enter__(self):
        t = self.trainer
        self.modes = (t.G.training, t.D.training)
        self.fork = torch.random.fork_rng(devices=[])
        self.fork.__enter__()
        self.grad = torch.no_grad()
        self.grad.__enter__()
        t.G.eval()
        t.D.eval()

    def __exit__(self, *exc):
        t = self.trainer
        t.G.train(self.modes[0])
        t.D.train(self.modes[1])
        self.grad.__exit__(*exc)
        self.fork.__exit__(*exc)
        return False


def _look(trainer: Any) -> tuple:
    """D on the snapshot's grid (against G's fixed fakes, as the arena draws it)."""
    with _quiet(trainer):
        return _landscape(trainer, _fake(trainer), trainer.dataset.extent)


def _scores(trainer: Any, out: Tensor) -> np.ndarray:
    """One score per point: P(real) or the critic's score; a pack's score for each member."""
    out = out.detach()
    prob = trainer.loss.prob(out)
    values = (out if prob is None else prob).reshape(-1)
    return _np(values.repeat_interleave(trainer.D.pack))


def _np(x: Tensor) -> np.ndarray:
    return x.detach().float().cpu().numpy().copy()

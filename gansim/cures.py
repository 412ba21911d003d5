"""Penalties on D: one function each, switched on by its Config field, listed in a table.

A penalty takes the D step's context and returns a scalar added to D's loss. The other
cures live where they act: architecture switches in models.py (dropout, spectral norm,
minibatch features, packing), D input and target tricks and G-side terms in steps.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor, nn


@dataclass
class DBatch:
    """What a D step saw: the inputs as D received them and its outputs on them.

    One run: real and fake are (n, 2). A stack of runs (gansim.engine): (S, n, 2), D maps
    them to (S, n), and `generator` holds one generator per run. Penalties return one
    value per run: a scalar, or shape (S,).
    """

    D: Callable[[Tensor], Tensor]  # with a `pack` attribute, as models.Discriminator
    real: Tensor  # requires grad when a penalty on real data is on
    fake: Tensor  # requires grad when a penalty on fake data is on
    out_real: Tensor
    out_fake: Tensor
    generator: torch.Generator | Sequence[torch.Generator]

    def uniform(self, shape: tuple[int, ...]) -> Tensor:
        """U(0, 1) draws; in a seed batch each run's slice comes from its own generator."""
        if isinstance(self.generator, torch.Generator):
            return torch.rand(shape, generator=self.generator)
        return torch.stack([torch.rand(shape[1:], generator=g) for g in self.generator])


def _input_grad_norms(out: Tensor, x: Tensor, pack: int) -> Tensor:
    """‖∂D/∂x‖ per D input row (a packed row counts as one input), per run."""
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.reshape(*x.shape[:-2], -1, 2 * pack).norm(dim=-1)


def gradient_penalty(b: DBatch, weight: float) -> Tensor:
    """Gradient penalty (Gulrajani et al. 2017): pull ‖∇D(x̂)‖ toward 1 between real and fake."""
    pack = b.D.pack
    runs = b.real.shape[:-2]  # () for one run, (S,) for a seed batch
    n = b.real.shape[-2] // pack
    alpha = b.uniform((*runs, n, 1, 1)).to(b.real.device)
    real = b.real.detach().reshape(*runs, n, pack, 2)
    fake = b.fake.detach().reshape(*runs, n, pack, 2)
    mixed = (alpha * real + (1 - alpha) * fake).reshape(*runs, -1, 2).requires_grad_(True)
    norms = _input_grad_norms(b.D(mixed), mixed, pack)
    return weight * ((norms - 1) ** 2).mean(-1)


def r1_penalty(b: DBatch, weight: float) -> Tensor:
    """R1 (Mescheder et al. 2018): (γ/2)·E‖∇D(x)‖² on real data."""
    return 0.5 * weight * (_input_grad_norms(b.out_real, b.real, b.D.pack) ** 2).mean(-1)


def r2_penalty(b: DBatch, weight: float) -> Tensor:
    """R2 (Mescheder et al. 2018): (γ/2)·E‖∇D(x̃)‖² on generated data."""
    return 0.5 * weight * (_input_grad_norms(b.out_fake, b.fake, b.D.pack) ** 2).mean(-1)


@dataclass(frozen=True)
class Penalty:
    fn: Callable[[DBatch, float], Tensor]
    needs_real_grad: bool = False
    needs_fake_grad: bool = False


# Config field → penalty. A new penalty is one function and one line here.
D_PENALTIES: dict[str, Penalty] = {
    "gp": Penalty(gradient_penalty),
    "r1": Penalty(r1_penalty, needs_real_grad=True),
    "r2": Penalty(r2_penalty, needs_fake_grad=True),
}


def active_penalties(cfg) -> list[tuple[Penalty, float]]:
    """The penalties cfg switches on, with their weights."""
    return [(D_PENALTIES[n], getattr(cfg, n)) for n in D_PENALTIES if getattr(cfg, n)]


def mark_penalty_inputs(active: list[tuple[Penalty, float]], real: Tensor, fake: Tensor) -> None:
    """Let autograd reach D's inputs that the active penalties differentiate against."""
    real.requires_grad_(any(p.needs_real_grad for p, _ in active))
    fake.requires_grad_(any(p.needs_fake_grad for p, _ in active))


@torch.no_grad()
def clip_weights(D: nn.Module, limit: float) -> None:
    """Weight clipping (Arjovsky et al. 2017): keep every D parameter in [−c, c]."""
    for p in D.parameters():
        p.clamp_(-limit, limit)


def instance_noise_std(sigma: float, anneal: int, g_step: int) -> float:
    """Instance noise σ at this G step, falling linearly to 0 over `anneal` steps."""
    if anneal <= 0:
        return sigma
    return sigma * max(0.0, 1.0 - g_step / anneal)


def lr_factor(start: int, end: int, floor: float, g_step: int) -> float:
    """Learning-rate multiplier: 1 until `start`, then linear down to `floor` at `end`."""
    if not start or g_step <= start:
        return 1.0
    t = min(1.0, (g_step - start) / (end - start))
    return 1.0 - t * (1.0 - floor)


class ReplayBuffer:
    """Experience replay: a ring buffer of past fakes mixed into D's fake batch."""

    def __init__(self, capacity: int, device: torch.device):
        self.data = torch.empty(capacity, 2, device=device)
        self.size = 0
        self.pos = 0

    def mix(self, fake: Tensor, share: float, generator: torch.Generator) -> Tensor:
        """Replace about `share` of the rows of `fake` with stored ones, then store `fake`."""
        out = fake
        if self.size and share > 0:
            n = fake.shape[0]
            pick = torch.rand(n, generator=generator) < share
            idx = torch.randint(self.size, (n,), generator=generator)
            pick, idx = pick.to(fake.device), idx.to(fake.device)
            out = torch.where(pick[:, None], self.data[idx], fake)
        self._store(fake.detach())
        return out

    def _store(self, fake: Tensor) -> None:
        n = min(fake.shape[0], self.data.shape[0])
        end = self.pos + n
        cap = self.data.shape[0]
        if end <= cap:
            self.data[self.pos:end] = fake[:n]
        else:
            split = cap - self.pos
            self.data[self.pos:] = fake[:split]
            self.data[: n - split] = fake[split:n]
        self.pos = end % cap
        self.size = min(cap, self.size + n)

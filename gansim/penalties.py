"""The penalties on D that the step adds to D's loss: one function each, listed in a table
by the Config field that weighs it (D_PENALTIES).

Each takes the step's networks, D's (normalised) weights, the real and fake batches as D
sees them, the weight (S,) and the update's draws, and returns one value per run (S,).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from .nets import Nets
from .stack import Params, plain_autograd


def input_grad_norms(nets: Nets, dp: Params, x: Tensor, pack: int,
                     mask: Tensor | None = None) -> Tensor:
    """‖∂D/∂x‖ per (packed) D input row, per run: (S, n / pack)."""
    if not plain_autograd() or x.requires_grad:  # traced or transformed, or x has a history
        grad = torch.func.grad(lambda x_: nets.d(dp, x_, mask).sum())(x)
    else:  # plain autograd: the same ops and bits, without functorch's layers (~40 % of a
        # WGAN-GP step went to them)
        with torch.enable_grad():
            x_ = x.detach().requires_grad_()
            # Differentiable onward when D's weights are (the penalty's own gradient).
            (grad,) = torch.autograd.grad(nets.d(dp, x_, mask).sum(), x_, create_graph=any(
                v.requires_grad for v in dp.values()))
    return grad.reshape(*x.shape[:-2], -1, 2 * pack).norm(dim=-1)


def gradient_penalty(nets: Nets, dp: Params, real: Tensor, fake: Tensor, alpha: Tensor,
                     pack: int, mask: Tensor | None = None) -> Tensor:
    """Gulrajani et al. 2017: (‖∇D(x̂)‖ − 1)² at x̂ between real and fake, per run;
    alpha (S, n / pack, 1, 1): one mixing weight per (packed) D input."""
    S, n = real.shape[0], real.shape[1] // pack
    mixed = alpha * real.reshape(S, n, pack, 2) + (1 - alpha) * fake.reshape(S, n, pack, 2)
    norms = input_grad_norms(nets, dp, mixed.reshape(S, -1, 2), pack, mask)
    return ((norms - 1) ** 2).mean(-1)


def gp_term(nets: Nets, dp: Params, real: Tensor, fake: Tensor, weight: Tensor,
            b: dict) -> Tensor:
    """Gradient penalty (Gulrajani et al. 2017): λ·E(‖∇D(x̂)‖ − 1)²."""
    return weight * gradient_penalty(nets, dp, real, fake, b["gp_alpha"], nets.pack,
                                     b.get("drop_gp"))


def r1_term(nets: Nets, dp: Params, real: Tensor, fake: Tensor, weight: Tensor,
            b: dict) -> Tensor:
    """R1 (Mescheder et al. 2018): (γ/2)·E‖∇D(x)‖² on real data."""
    r1 = input_grad_norms(nets, dp, real, nets.pack, b.get("drop_real")) ** 2
    return 0.5 * weight * r1.mean(-1)


def r2_term(nets: Nets, dp: Params, real: Tensor, fake: Tensor, weight: Tensor,
            b: dict) -> Tensor:
    """R2 (Mescheder et al. 2018): (γ/2)·E‖∇D(x̃)‖² on generated data."""
    r2 = input_grad_norms(nets, dp, fake, nets.pack, b.get("drop_fake")) ** 2
    return 0.5 * weight * r2.mean(-1)


Term = Callable[[Nets, Params, Tensor, Tensor, Tensor, dict], Tensor]
# Config field (a STACKING row: KEY on/off, TENSOR read by D) → its term, added in order.
D_PENALTIES: dict[str, Term] = {"gp": gp_term, "r1": r1_term, "r2": r2_term}

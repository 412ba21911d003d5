"""Functional optimisers on stacked parameters: Adam, SGD and RMSprop as pure functions.

Each takes a parameter p (S, ...), its gradient, its state, the hyper-parameters as
tensors (lr of shape (S,), so runs may differ) and the step count t (S,), and returns
the new p and state. The forms follow torch.optim's (Kingma & Ba 2015 for Adam;
Tieleman & Hinton 2012 for RMSprop); tests/test_optim.py checks them against torch.optim.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch
from torch import Tensor

from .stack import Params

State = dict[str, Any]

TINY = 1e-30  # √TINY = 1e-15, far below Adam's eps (1e-8): values match torch's Adam
# torch.optim's defaults, which the app does not expose: a teaching run has no use for
# them, and equal defaults let the tests compare with torch.optim directly.
EPS = 1e-8  # Adam's and RMSprop's ε
RMSPROP_ALPHA = 0.99  # RMSprop's smoothing constant


def safe_sqrt(x: Tensor) -> Tensor:
    """√x with gradient 0, not inf, at x = 0: a dead ReLU unit keeps Adam's v at exactly
    0, and the unrolled look-ahead differentiates through this root (inf·0 = NaN).
    √TINY = 1e-15 is far below eps (1e-8), so the update's value is unchanged."""
    return x.clamp_min(TINY).sqrt()


# Each optimiser splits in two: `coeffs(h, t)` computes the per-run (S,) values every
# parameter shares, once per update; `update(p, g, s, c)` applies them elementwise
# (c shaped (S, 1) against p). apply_update runs `update` once on all of a player's
# parameters laid end to end per run (S, N) rather than once per tensor: the same
# elementwise operations on the same numbers, so the same bits, in ~16 small ops per
# update instead of ~16 per tensor (each ~3-8 µs eagerly on a 2-core AMD EPYC).

def adam_coeffs(h: State, t: Tensor) -> State:
    b1, b2 = h["beta1"], h["beta2"]
    return {"weight_decay": h["weight_decay"], "b1": b1, "b2": b2, "eps": h["eps"],
            "one_b1": 1 - b1, "one_b2": 1 - b2, "lr_t": h["lr"] / (1 - b1 ** t),
            "c2": (1 - b2 ** t).sqrt()}


def adam(p: Tensor, g: Tensor, s: State, c: State) -> tuple[Tensor, State]:
    """Adam (Kingma & Ba 2015) in torch.optim.Adam's form, L2 weight decay in the gradient."""
    g = g + c["weight_decay"] * p
    m = s["m"] + c["one_b1"] * (g - s["m"])  # torch's lerp form of β₁m + (1 − β₁)g
    v = s["v"] * c["b2"] + c["one_b2"] * g * g
    denom = safe_sqrt(v) / c["c2"] + c["eps"]
    return p - c["lr_t"] * m / denom, {"m": m, "v": v}


def sgd_coeffs(h: State, t: Tensor) -> State:
    return {"lr": h["lr"], "weight_decay": h["weight_decay"]}


def sgd(p: Tensor, g: Tensor, s: State, c: State) -> tuple[Tensor, State]:
    """Plain stochastic gradient descent, L2 weight decay in the gradient."""
    return p - c["lr"] * (g + c["weight_decay"] * p), s


def rmsprop_coeffs(h: State, t: Tensor) -> State:
    return {"lr": h["lr"], "weight_decay": h["weight_decay"], "alpha": h["alpha"],
            "one_alpha": 1 - h["alpha"], "eps": h["eps"]}


def rmsprop(p: Tensor, g: Tensor, s: State, c: State) -> tuple[Tensor, State]:
    """RMSprop (Tieleman & Hinton 2012) in torch.optim.RMSprop's default form."""
    g = g + c["weight_decay"] * p
    v = s["v"] * c["alpha"] + c["one_alpha"] * g * g
    return p - c["lr"] * g / (safe_sqrt(v) + c["eps"]), {"v": v}


@dataclass(frozen=True)
class Optimiser:
    coeffs: Callable[[State, Tensor], State]  # per-run values shared by every parameter
    update: Callable[[Tensor, Tensor, State, State], tuple[Tensor, State]]
    moments: tuple[str, ...]  # the state tensors it keeps per parameter


OPTIMISERS = {"adam": Optimiser(adam_coeffs, adam, ("m", "v")),
              "sgd": Optimiser(sgd_coeffs, sgd, ()),
              "rmsprop": Optimiser(rmsprop_coeffs, rmsprop, ("v",))}
# The hyper-parameters every player's optimiser reads (stacking.hyper holds them).
OPTIMISER_HYPER = ("lr", "weight_decay", "beta1", "beta2", "eps", "alpha")


def apply_update(opt: Optimiser, params: Params, grads: Params, state: dict[str, State],
                 h: State, t: Tensor, clip: Tensor | None = None
                 ) -> tuple[Params, dict[str, State], Tensor]:
    """One update of every parameter by `opt`, then (clip (S,), weight clipping: Arjovsky
    et al. 2017) every weight clamped to [−clip, clip]. Returns the new parameters and
    state (views into one new (S, N) buffer each) and, per run, whether every new
    weight is finite (S,): an update that overflowed must not be written."""
    c = {name: x[:, None] for name, x in opt.coeffs(h, t).items()}
    new_p, new_s = opt.update(flat(params.values()), flat(grads[k] for k in params),
                              {m: flat(state[k][m] for k in params) for m in opt.moments}, c)
    if clip is not None:
        new_p = torch.clamp(new_p, -clip[:, None], clip[:, None])
    parts = {m: unflat(v, params) for m, v in new_s.items()}
    return (unflat(new_p, params), {k: {m: parts[m][k] for m in new_s} for k in params},
            finite_rows(new_p))


def finite_rows(x: Tensor) -> Tensor:
    """(S, N) → (S,): True where the row holds no NaN or ±inf. x·0 is 0 for a finite
    value and NaN otherwise, so the row's sum is exact (no overflow) and NaN exactly
    when one value is not finite: 3 small ops, ~5x cheaper than isfinite(x).all(1)."""
    return torch.isfinite((x * 0).sum(1))


def flat(tensors: Iterable[Tensor]) -> Tensor:
    """Stacked tensors (S, ...) laid end to end per run: (S, N)."""
    return torch.cat([v.flatten(1) for v in tensors], 1)


def unflat(x: Tensor, like: Params) -> Params:
    """flat's inverse: views of x (S, N) shaped like `like`'s tensors (no copy: each
    piece's rows are contiguous, so (S, n) views as (S, out, in))."""
    pieces = torch.split(x, [v[0].numel() for v in like.values()], 1)
    return {k: piece.view(v.shape) for (k, v), piece in zip(like.items(), pieces)}

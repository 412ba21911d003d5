"""Functional optimisers on stacked parameters: Adam, SGD and RMSprop as pure functions.

Each takes a parameter p (S, ...), its gradient, its state, the hyper-parameters as
tensors (lr of shape (S,), so runs may differ) and the step count t (S,), and returns
the new p and state. The forms follow torch.optim's (Kingma & Ba 2015 for Adam;
Tieleman & Hinton 2012 for RMSprop); tests/test_optim.py checks them against torch.optim.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import Tensor

from .stack import Params, broadcast_runs

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
# parameter shares, once per update; `update(p, g, s, c)` applies them to one parameter
# (c reshaped to broadcast against it). Hoisting the shared values is exact (the same
# elementwise operations on the same numbers) and removes ~12 of Adam's ~28 small ops
# per parameter: the eager step pays ~3 µs for each.

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
                 h: State, t: Tensor) -> tuple[Params, dict[str, State]]:
    """One update of every parameter by `opt`; returns the new parameters and state."""
    shared, by_dim = opt.coeffs(h, t), {}
    new_p, new_s = {}, {}
    for k, p in params.items():
        if p.dim() not in by_dim:
            by_dim[p.dim()] = {name: broadcast_runs(x, p) for name, x in shared.items()}
        new_p[k], new_s[k] = opt.update(p, grads[k], state[k], by_dim[p.dim()])
    return new_p, new_s

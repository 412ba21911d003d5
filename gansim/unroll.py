"""Unrolled GAN (Metz et al. 2016): G is scored by D after k look-ahead updates.

The look-ahead runs on D's parameters as plain tensors with `torch.func.functional_call`,
starting from D's live weights and its optimiser's live moments: nothing is deep-copied,
and D itself is never changed. With create_graph the k updates stay differentiable, so
G's gradient "sees" how D would react to it; first-order mode drops that term.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from torch.func import functional_call

from .config import OPTIMIZERS

Params = dict[str, Tensor]


TINY = 1e-30  # √TINY = 1e-15, far below Adam's eps (1e-8): values match torch's Adam


def safe_sqrt(x: Tensor) -> Tensor:
    """√x with gradient 0 at x = 0, not inf: Adam's v is exactly 0 for a weight whose
    gradient has always been 0 (a dead ReLU unit), and inf·0 would make G's gradient NaN.
    clamp_min passes no gradient below TINY, in two cheap ops."""
    return x.clamp_min(TINY).sqrt() if x.requires_grad else x.sqrt()


def adam_update(p, g, state, group, t):
    """One functional Adam step (matches torch.optim.Adam with L2 weight decay)."""
    b1, b2 = group["betas"]
    if group["weight_decay"]:
        g = g + group["weight_decay"] * p
    m = b1 * state["m"] + (1 - b1) * g
    v = b2 * state["v"] + (1 - b2) * g * g
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return p - group["lr"] * m_hat / (safe_sqrt(v_hat) + group["eps"]), {"m": m, "v": v}


def sgd_update(p, g, state, group, t):
    """One functional SGD step."""
    if group["weight_decay"]:
        g = g + group["weight_decay"] * p
    return p - group["lr"] * g, state


def rmsprop_update(p, g, state, group, t):
    """One functional RMSprop step (torch's default form, no momentum)."""
    if group["weight_decay"]:
        g = g + group["weight_decay"] * p
    v = group["alpha"] * state["v"] + (1 - group["alpha"]) * g * g
    return p - group["lr"] * g / (safe_sqrt(v) + group["eps"]), {"v": v}


UPDATES: dict[str, Callable] = {"adam": adam_update, "sgd": sgd_update, "rmsprop": rmsprop_update}
_STATE_KEYS = {"adam": {"m": "exp_avg", "v": "exp_avg_sq"}, "sgd": {}, "rmsprop": {"v": "square_avg"}}
assert tuple(UPDATES) == tuple(_STATE_KEYS) == OPTIMIZERS, \
    "each optimiser in config.OPTIMIZERS needs a functional update and its state keys here"


def _start_state(opt: torch.optim.Optimizer, name: str, p: Tensor) -> tuple[dict, int]:
    """The optimiser's live moments for p (zeros before its first step), and its step count."""
    live = opt.state.get(p, {})
    state = {k: live[v].detach() if v in live else torch.zeros_like(p)
             for k, v in _STATE_KEYS[name].items()}
    step = live.get("step", 0)
    return state, int(step.item() if torch.is_tensor(step) else step)


def unrolled_params(D, opt, opt_name: str, d_loss_fn: Callable[[Params], Tensor],
                    k: int, first_order: bool) -> Params:
    """D's parameters after k functional updates on d_loss_fn, differentiable unless first_order."""
    group = opt.param_groups[0]
    names = [n for n, _ in D.named_parameters()]
    live = [p for _, p in D.named_parameters()]
    params = {n: p.detach().requires_grad_(True) for n, p in zip(names, live)}
    states = []
    t0 = 0
    for p in live:
        s, t0 = _start_state(opt, opt_name, p)
        states.append(s)
    update = UPDATES[opt_name]
    for i in range(k):
        loss = d_loss_fn(params)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=not first_order)
        # First order: the update itself needs no graph, so build none.
        with torch.set_grad_enabled(not first_order):
            new = {}
            for j, (n, g) in enumerate(zip(names, grads)):
                new[n], states[j] = update(params[n], g, states[j], group, t0 + i + 1)
        params = new if not first_order else {n: p.requires_grad_(True) for n, p in new.items()}
    return params


def call(D, params: Params, x: Tensor) -> Tensor:
    """D's output on x with the given parameters (buffers, e.g. spectral-norm vectors, from D)."""
    return functional_call(D, params, (x,))

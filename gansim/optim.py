"""Functional optimisers on stacked parameters: Adam, SGD and RMSprop as pure functions.

Each takes a parameter p (S, ...), its gradient, its state, the hyper-parameters as
tensors (lr of shape (S,), so runs may differ) and the step count t (S,), and returns
the new p and state. The forms follow torch.optim's (Kingma & Ba 2015 for Adam;
Tieleman & Hinton 2012 for RMSprop); tests/test_optim.py checks them against torch.optim.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

from .stack import Params, traced

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


def apply_update(opt: Optimiser, params: Params, grads: Params | Tensor,
                 state: dict[str, State], h: State, t: Tensor, clip: Tensor | None = None
                 ) -> tuple[Params, dict[str, State], Tensor]:
    """One update of every parameter by `opt`, then (clip (S,), weight clipping: Arjovsky
    et al. 2017) every weight clamped to [−clip, clip]. `grads`: a dict like `params`, or
    already laid out flat (flat_grads). Returns the new parameters and state (views into
    one new (S, N) buffer each) and, per run, whether every new weight is finite (S,): an
    update that overflowed must not be written."""
    c = opt.coeffs(columns(h), t[:, None])  # (S, 1) against p's (S, N)
    g = grads if isinstance(grads, Tensor) else flat_grads(params, grads)
    new_p, new_s = opt.update(flat(params.values()), g,
                              {m: flat(state[k][m] for k in params) for m in opt.moments}, c)
    if clip is not None:
        new_p = torch.clamp(new_p, -clip[:, None], clip[:, None])
    parts = {m: unflat(v, params) for m, v in new_s.items()}
    return (unflat(new_p, params), {k: {m: parts[m][k] for m in new_s} for k in params},
            finite_rows(new_p))


_COLUMNS = WeakIdKeyDictionary()  # h's lr tensor → (ids of h's tensors, their columns)


def columns(h: State) -> State:
    """h's per-run values (S,) as (S, 1) views, to broadcast against (S, N). Eagerly made
    once per h and kept: a view follows set_hyper's in-place writes, so it never goes
    stale; the same values as unsqueezing each time (~8 ops an update)."""
    if traced():
        return {k: v[:, None] for k, v in h.items()}
    ids = tuple(map(id, h.values()))
    cached = _COLUMNS.get(h["lr"])
    if cached is None or cached[0] != ids:  # the views hold h's tensors: ids stay theirs
        cached = _COLUMNS[h["lr"]] = (ids, {k: v[:, None] for k, v in h.items()})
    return cached[1]


def finite_rows(x: Tensor) -> Tensor:
    """(S, N) → (S,): True where the row holds no NaN or ±inf. x·0 is 0 for a finite
    value and NaN otherwise, so the row's sum is exactly 0, or NaN when one value is not
    finite: 3 small ops, ~5x cheaper than isfinite(x).all(1) (isfinite itself is 4)."""
    return (x * 0).sum(1) == 0


def flat(tensors: Iterable[Tensor]) -> Tensor:
    """Stacked tensors (S, ...) laid end to end per run: (S, N). Tensors that already
    are unflat's views of one buffer give that buffer itself, uncopied (read-only here:
    every update is out of place)."""
    tensors = list(tensors)
    tiled = _tiled(tensors)
    return tiled if tiled is not None else torch.cat([v.flatten(1) for v in tensors], 1)


def _tiled(tensors: list[Tensor]) -> Tensor | None:
    """The (S, N) buffer whose unflat views `tensors` are, exactly and in order, or None.
    Eager and outside autograd only, so a differentiated or traced step sees cat as ever."""
    base = tensors[0]._base
    if base is None or base.requires_grad or traced():
        return None
    layout = _layout(tuple(v.shape for v in tensors))
    if base.shape != (tensors[0].shape[0], layout.n) or not base.is_contiguous():
        return None
    start = base.storage_offset()
    for v, (stride, offset) in zip(tensors, layout.views):
        if v._base is not base or v.storage_offset() != start + offset or v.stride() != stride:
            return None
    return base


def flat_views(params: Params) -> Params:
    """The same values as views of one new (S, N) buffer, which flat then takes as it is:
    the Trainer keeps its weights and moments so, and each update needs no copy in."""
    return unflat(flat(params.values()), params)


def flat_grads(params: Params, grads: Params) -> Tensor:
    """The gradients laid out as flat(params) is: (S, N), once for the norm and the update."""
    return flat(grads[k] for k in params)


def flat_norms(x: Tensor, like: Params) -> Tensor:
    """Each run's L2 norm (S,) of the tensors laid out in x (S, N) as flat(like) lays
    them: squared and summed tensor by tensor, then over tensors, as a per-tensor loop
    would (the same sums, so the same bits), in 1 + n + 3 ops rather than 3n + 3."""
    squares = x.pow(2).split_with_sizes(_sizes(like), 1)
    return torch.stack([sq.sum(1) for sq in squares]).sum(0).sqrt()


def unflat(x: Tensor, like: Params) -> Params:
    """flat's inverse: views of x (S, N) shaped like `like`'s tensors (no copy: each
    piece's rows are contiguous, so (S, n) views as (S, out, in))."""
    shapes = tuple(v.shape for v in like.values())
    if x.requires_grad or traced() or not x.is_contiguous():
        # Differentiated (the unrolled look-ahead) or traced: split's backward, as ever.
        pieces = torch.split(x, _sizes(like), 1)
        return {k: piece.view(shape) for k, piece, shape in zip(like, pieces, shapes)}
    # Eagerly, one as_strided view per piece: the same memory as split + view, at ~1 µs
    # a piece instead of ~4 (split's Python wrapper, then a view of a view).
    base = x.storage_offset()
    return {k: x.as_strided(shape, stride, base + offset)
            for k, shape, (stride, offset) in zip(like, shapes, _layout(shapes).views)}


@dataclass(frozen=True)
class Layout:
    """Where each of a player's tensors (S, ...) lies in its flat (S, N) buffer."""
    sizes: tuple[int, ...]  # per run, per tensor
    views: tuple[tuple[tuple[int, ...], int], ...]  # per tensor: as_strided's strides, offset
    n: int  # N: the values per run


def _sizes(like: Params) -> list[int]:
    """Each tensor's values per run. Traced, computed (dynamo skips lru_cache's wrapper
    with a warning); eagerly, read from the cached layout."""
    if traced():
        return [math.prod(v.shape[1:]) for v in like.values()]
    return list(_layout(tuple(v.shape for v in like.values())).sizes)


@functools.lru_cache(maxsize=256)
def _layout(shapes: tuple[torch.Size, ...]) -> Layout:
    """A player's layout, computed once per architecture rather than once per update."""
    sizes = tuple(math.prod(s[1:]) for s in shapes)
    n, views, offset = sum(sizes), [], 0
    for shape, size in zip(shapes, sizes):
        inner = [math.prod(shape[i + 1:]) for i in range(1, len(shape))]  # row-major
        views.append(((n, *inner), offset))
        offset += size
    return Layout(sizes, tuple(views), n)

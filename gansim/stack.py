"""Helpers on stacked runs' tensors: every weight, moment and per-run value carries a
leading axis of S runs (nets.Nets), and these act on that axis."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

Params = dict[str, Tensor]


def broadcast_runs(x: Tensor, like: Tensor) -> Tensor:
    """(S,) → (S, 1, ..., 1) so it broadcasts against a stacked parameter."""
    return x.reshape(x.shape + (1,) * (like.dim() - 1))


def col(x: Tensor) -> Tensor:
    """(S,) → (S, 1): a per-run value against per-sample terms."""
    return x[:, None]


def clone_tree(x: Any) -> Any:
    """A copy of nested dicts, lists and tuples with every tensor cloned."""
    return torch.utils._pytree.tree_map(lambda v: v.clone() if isinstance(v, Tensor) else v, x)


_TRACING = [False]  # aot.tracing() sets it while make_fx records the step (a child process)


def traced() -> bool:
    """True while the step is recorded as a graph (aot.py's make_fx, in a build's child
    process): the step then takes its graph-friendly branches, which never read a
    tensor's value in Python. Eagerly False, and the step takes its shortcuts."""
    return _TRACING[0] or torch.compiler.is_compiling()


def write(dst: dict[str, Tensor], src: dict[str, Tensor]) -> None:
    """Copy src's tensors into dst's in place: the single-run views share dst's memory."""
    torch._foreach_copy_([dst[k] for k in src], [src[k] for k in src])


def finite_runs(params: Params) -> Tensor:
    """(S,) True where every weight of that run is finite."""
    return torch.stack([torch.isfinite(v).flatten(1).all(1) for v in params.values()]).all(0)


def keep_where(ok: Tensor, new: Any, old: Any) -> Any:
    """new where a run's step was finite (ok (S,)), old elsewhere, over nested dicts and
    tuples (one call for all of an update's state: one look at ok)."""
    if not traced() and bool(ok.all()):
        return new  # the usual case: exactly what the selection gives, without its ops
    return _select(ok, new, old)


def _select(ok: Tensor, new: Any, old: Any) -> Any:
    if isinstance(new, dict):
        return {k: _select(ok, v, old[k]) for k, v in new.items()}
    if isinstance(new, tuple):
        return tuple(_select(ok, n, o) for n, o in zip(new, old))
    return torch.where(broadcast_runs(ok, new), new, old)


def plain_autograd() -> bool:
    """True where torch.autograd may stand in for a torch.func transform: eagerly, outside
    any functorch transform (a caller's torch.func.grad, slow motion's probe) and outside
    dynamo, which traces the transforms whole."""
    return not (traced() or _functorch_active())


# torch's own test for an active torch.func transform (private: a torch without it gets
# the torch.func forms everywhere, as before issue 21).
_functorch_active = getattr(torch._C, "_are_functorch_transforms_active", lambda: True)


def frozen(tree: Any) -> Any:
    """Nested dicts of tensors cut from autograd's graph. Eagerly, tensors that carry no
    graph (the usual case: the state between updates) are passed as they are, not
    detached one by one (~1.5 µs each, 18 in a G update)."""
    if isinstance(tree, dict):
        return {k: frozen(v) for k, v in tree.items()}
    if traced() or tree.requires_grad:
        return tree.detach()
    return tree

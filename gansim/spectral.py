"""Spectral norm (Miyato et al. 2018) applied by the step to D's raw weights.

Algorithm 1 of the paper: for every D update, one power iteration per layer with the
weights as they are (u, v carried from update to update), then W / σ with σ = uᵀWv and
u, v held constant, so the gradient flows through W only. u and v are per-run state of
the step, as the optimiser's moments are.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .seeding import mix_seed
from .stack import Params

State = dict[str, Any]
SN_SEED_TAG = 0x5EC7  # keys each run's starting u, v (mix_seed)
SN_INIT_ITERATIONS = 15  # as torch.nn.utils.parametrizations.spectral_norm at build


def _unit(x: Tensor) -> Tensor:
    return torch.nn.functional.normalize(x, dim=-1, eps=1e-12)


def power_iteration(d: Params, sn: dict[str, State]) -> dict[str, State]:
    """One power iteration per normalised layer on the current (detached) weights."""
    out = {}
    for k, s in sn.items():
        W = d[k].detach()
        v = _unit((W.transpose(-1, -2) @ s["u"][..., None]).squeeze(-1))
        u = _unit((W @ v[..., None]).squeeze(-1))
        out[k] = {"u": u, "v": v}
    return out


def sigma(W: Tensor, s: State) -> Tensor:
    """σ = uᵀWv per run, (S,)."""
    return (s["u"] * (W @ s["v"][..., None]).squeeze(-1)).sum(-1)


def normalised(d: Params, sn: dict[str, State]) -> Params:
    """D's weights as the layers use them: each normalised layer's W / σ (identity
    without spectral norm)."""
    if not sn:
        return d
    return {k: (v / sigma(v, sn[k])[:, None, None] if k in sn else v) for k, v in d.items()}


def init_sn(seeds: list[int], d: Params, keys: list[str]) -> dict[str, State]:
    """Each run's starting u, v for the normalised layers `keys` (nets.Nets.sn_keys):
    random unit vectors from the run's own generator, refined by a few power iterations
    as torch does at build time."""
    sn: dict[str, State] = {}
    for k in keys:
        out, n_in = d[k].shape[-2:]
        us, vs = [], []
        for s in seeds:
            gen = torch.Generator().manual_seed(mix_seed(s, SN_SEED_TAG))
            us.append(_unit(torch.randn(out, generator=gen)))
            vs.append(_unit(torch.randn(n_in, generator=gen)))
        sn[k] = {"u": torch.stack(us).to(d[k].device), "v": torch.stack(vs).to(d[k].device)}
    for _ in range(SN_INIT_ITERATIONS if sn else 0):
        sn = power_iteration(d, sn)
    return sn

"""The two players: an MLP generator and an MLP discriminator with batch-aware add-ons.

D's add-ons (minibatch discrimination, minibatch std, packing, spectral norm, dropout)
are switches on one class rather than subclasses, so any combination builds.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from .config import Config

ACTIVATION_LAYERS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}
# Minibatch features compare each sample with the others in its group; groups of 64
# keep the cost near 3× a plain step instead of 10× for the whole batch (REFERENCES.md).
MINIBATCH_GROUP = 64


def mlp(sizes: list[int], activation: str, dropout: float = 0.0, sn: bool = False) -> nn.Sequential:
    """Linear layers of the given sizes, each followed by the activation (and dropout)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(n_in, n_out)
        layers += [spectral_norm(linear) if sn else linear, ACTIVATION_LAYERS[activation]()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """Maps latent z ~ N(0, I) to a point in the plane."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.body = mlp([cfg.z_dim] + [cfg.g_hidden] * cfg.g_depth, cfg.activation)
        self.out = nn.Linear(cfg.g_hidden, 2)

    def forward(self, z: Tensor) -> Tensor:
        return self.out(self.body(z))


def l1_distances(a: Tensor, b: Tensor) -> Tensor:
    """‖a_i − b_j‖₁ over the last axis, batched. Not torch.cdist: its backward has no
    derivative of its own, and a gradient penalty or true unrolling needs one."""
    return (a.unsqueeze(-2) - b.unsqueeze(-3)).abs().sum(-1)


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016: o(x_i)_b = Σ_j exp(−‖M_ib − M_jb‖₁), M = f(x)·T."""

    def __init__(self, n_in: int, kernels: int, dim: int):
        super().__init__()
        self.kernels, self.dim = kernels, dim
        # Small init keeps the exp() kernels away from 0 at the start (T init 0.1 measured).
        self.T = nn.Parameter(0.1 * torch.randn(n_in, kernels * dim))

    def forward(self, f: Tensor, ref: Tensor | None = None) -> Tensor:
        m = (f @ self.T).view(-1, self.kernels, self.dim).transpose(0, 1)  # (B, n, C)
        if ref is not None:
            r = (ref @ self.T).view(-1, self.kernels, self.dim).transpose(0, 1)
            return torch.exp(-l1_distances(m, r)).sum(-1).T  # (n, B)
        n = m.shape[1]
        group = MINIBATCH_GROUP if n > MINIBATCH_GROUP and n % MINIBATCH_GROUP == 0 else n
        g = m.reshape(self.kernels, n // group, group, self.dim)
        close = torch.exp(-l1_distances(g, g)).sum(-1) - 1.0  # drop the j = i term
        return close.reshape(self.kernels, n).T


def minibatch_std(f: Tensor, ref: Tensor | None = None) -> Tensor:
    """ProGAN's minibatch standard deviation: one feature, the batch's mean feature std."""
    source = f if ref is None else ref
    # √(var + ε) as in ProGAN: a dead ReLU unit has var 0, where √'s slope is infinite and
    # a gradient penalty's double backward would turn it into NaN.
    std = (source.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    return std.expand(f.shape[0], 1)


class Discriminator(nn.Module):
    """Scores points (or packs of m points) as real; raw output, no sigmoid."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.pack = cfg.pack
        sn, act, drop, h = cfg.spectral_norm, cfg.activation, cfg.dropout, cfg.d_hidden
        n_in = 2 * cfg.pack
        # Batch features join before the last hidden layer, so D can still combine them
        # non-linearly with what it knows about each sample.
        self.body = mlp([n_in] + [h] * (cfg.d_depth - 1), act, drop, sn)
        width = h if cfg.d_depth > 1 else n_in
        self.mbd = MinibatchDiscrimination(width, cfg.minibatch, cfg.minibatch_dim) if cfg.minibatch else None
        self.mbstd = cfg.mbstd
        extra = cfg.minibatch + int(cfg.mbstd)
        self.last = mlp([width + extra, h], act, drop, sn)
        head = nn.Linear(h, 1)
        self.head = spectral_norm(head) if sn else head

    def features(self, x: Tensor, ref: Tensor | None = None) -> Tensor:
        """Penultimate features, one row per (packed) sample; ref: batch to compare with."""
        f = self.body(x.reshape(-1, 2 * self.pack))
        r = None if ref is None else self.body(ref.reshape(-1, 2 * self.pack))
        extras = [f]
        if self.mbd is not None:
            extras.append(self.mbd(f, r))
        if self.mbstd:
            extras.append(minibatch_std(f, r))
        return self.last(torch.cat(extras, dim=1) if len(extras) > 1 else f)

    def forward(self, x: Tensor, ref: Tensor | None = None) -> Tensor:
        return self.head(self.features(x, ref)).squeeze(1)

    @property
    def batch_aware(self) -> bool:
        """True when D's score of a sample depends on the rest of its batch."""
        return self.mbd is not None or self.mbstd

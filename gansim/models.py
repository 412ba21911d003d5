"""The two players: an MLP generator and an MLP discriminator with batch-aware add-ons.

D's add-ons (minibatch discrimination, minibatch std, packing, dropout) are switches on
one class rather than subclasses, so any combination builds. Spectral norm is the
step's (spectral.py): it normalises the raw weights it passes in.

Both networks take points as (..., n, features): a run's batch is (n, 2); a seed batch
(nets.Nets) adds a leading axis of runs, with its Linear layers swapped for
StackedLinear ones holding one weight matrix per run.
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from .config import Config
from .stack import traced

ACTIVATION_LAYERS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}
# Minibatch features compare each sample with the others in its group; groups of 64
# keep the cost near 3× a plain step instead of 10× for the whole batch (grouping as in
# Salimans et al. 2016's released code, which splits the batch before comparing).
MINIBATCH_GROUP = 64


def minibatch_group(n: int) -> int:
    """How many samples each one is compared with (itself included) in a batch of n."""
    return MINIBATCH_GROUP if n > MINIBATCH_GROUP and n % MINIBATCH_GROUP == 0 else n


class SeededDropout(nn.Module):
    """Dropout whose keep masks are inputs: the step draws them from each run's own
    generator (draws.Draws) and sets `mask` for one call, so the same seed gives the same
    run whatever else the process draws. Without a mask (a network used on its own) it
    draws from torch's global stream, as nn.Dropout would."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        # Set for one call by nets.Nets, whose pure step takes its masks as inputs.
        self.mask: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or not self.p:
            return x
        if self.mask is not None:
            return x * self.mask / (1.0 - self.p)
        keep = torch.rand(x.shape).to(x.device) >= self.p
        return x * keep / (1.0 - self.p)


def mlp(sizes: list[int], activation: str, dropout: float = 0.0) -> nn.Sequential:
    """Linear layers of the given sizes, each followed by the activation (and dropout)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        linear = nn.Linear(n_in, n_out)
        layers += [linear, ACTIVATION_LAYERS[activation]()]
        if dropout:
            layers.append(SeededDropout(dropout))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """Maps latent z ~ N(0, I) to a point in the plane."""

    # forward applies these sub-networks in order (nets.Nets runs the same chain eagerly).
    CHAIN = ("body", "out")

    def __init__(self, cfg: Config):
        super().__init__()
        self.body = mlp([cfg.z_dim] + [cfg.g_hidden] * cfg.g_depth, cfg.activation)
        self.out = nn.Linear(cfg.g_hidden, 2)

    def forward(self, z: Tensor) -> Tensor:
        for name in self.CHAIN:
            z = getattr(self, name)(z)
        return z


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

    def _kernels(self, f: Tensor) -> Tensor:
        """(..., n, n_in) → (..., kernels, n, dim)."""
        return (f @ self.T).unflatten(-1, (self.kernels, self.dim)).transpose(-3, -2)

    def forward(self, f: Tensor, ref: Tensor | None = None) -> Tensor:
        m = self._kernels(f)
        if ref is not None:
            return torch.exp(-l1_distances(m, self._kernels(ref))).sum(-1).transpose(-1, -2)
        lead, n = m.shape[:-3], m.shape[-2]
        group = minibatch_group(n)
        g = m.reshape(*lead, self.kernels, n // group, group, self.dim)
        close = torch.exp(-l1_distances(g, g)).sum(-1) - 1.0  # drop the j = i term
        return close.reshape(*lead, self.kernels, n).transpose(-1, -2)  # (..., n, kernels)


def minibatch_std(f: Tensor, ref: Tensor | None = None) -> Tensor:
    """ProGAN's minibatch standard deviation: one feature, the batch's mean feature std."""
    source = f if ref is None else ref
    # √(var + ε) as in ProGAN: a dead ReLU unit has var 0, where √'s slope is infinite and
    # a gradient penalty's double backward would turn it into NaN.
    std = (source.var(dim=-2, unbiased=False) + 1e-8).sqrt().mean(-1)
    return std[..., None, None].expand(*f.shape[:-1], 1)


class Discriminator(nn.Module):
    """Scores points (or packs of m points) as real; raw output, no sigmoid."""

    # Without batch features (not batch_aware), forward is _packed, these sub-networks in
    # order, then squeeze(-1) (nets.Nets runs the same chain eagerly).
    CHAIN = ("body", "last", "head")

    def __init__(self, cfg: Config):
        super().__init__()
        self.pack = cfg.pack
        act, drop, h = cfg.activation, cfg.dropout, cfg.d_hidden
        n_in = 2 * cfg.pack
        # Batch features join before the last hidden layer, so D can still combine them
        # non-linearly with what it knows about each sample.
        self.body = mlp([n_in] + [h] * (cfg.d_depth - 1), act, drop)
        width = h if cfg.d_depth > 1 else n_in
        self.mbd = MinibatchDiscrimination(width, cfg.minibatch, cfg.minibatch_dim) if cfg.minibatch else None
        self.mbstd = cfg.mbstd
        extra = cfg.minibatch + int(cfg.mbstd)
        self.last = mlp([width + extra, h], act, drop)
        self.head = nn.Linear(h, 1)

    def features(self, x: Tensor, ref: Tensor | None = None) -> Tensor:
        """Penultimate features, one row per (packed) sample; ref: batch to compare with."""
        f = self.body(self._packed(x))
        r = None if ref is None else self.body(self._packed(ref))
        extras = [f]
        if self.mbd is not None:
            extras.append(self.mbd(f, r))
        if self.mbstd:
            extras.append(minibatch_std(f, r))
        return self.last(torch.cat(extras, dim=-1) if len(extras) > 1 else f)

    def _packed(self, x: Tensor) -> Tensor:
        """(..., n, 2) → (..., n / pack, 2·pack): PacGAN's D sees pack points as one input."""
        return x.reshape(*x.shape[:-2], -1, 2 * self.pack)

    def forward(self, x: Tensor, ref: Tensor | None = None) -> Tensor:
        return self.head(self.features(x, ref)).squeeze(-1)

    @property
    def batch_aware(self) -> bool:
        """True when D's score of a sample depends on the rest of its batch."""
        return self.mbd is not None or self.mbstd


class StackedLinear(nn.Module):
    """S Linear layers applied at once: (S, n, in) → (S, n, out), one matmul for all.

    One baddbmm is ~1.4× faster here than nn.Linear under torch.func.vmap, and faster
    than S separate calls (measured on 2-core CPU, S = 5, 256 × 128 × 128).
    """

    def __init__(self, layers: list[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([l.weight.detach() for l in layers]))  # (S, out, in)
        self.bias = nn.Parameter(torch.stack([l.bias.detach() for l in layers]))  # (S, out)

    def forward(self, x: Tensor) -> Tensor:
        return stacked_linear(x, self.weight, self.bias)


NARROW = 2  # a layer with this few inputs or outputs is not given to a matrix product


def stacked_linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """StackedLinear's map with the weights passed in: (S, n, in) → (S, n, out).

    Compiled, a narrow layer (the data's 2 coordinates in or out, D's one score out) is
    written as products and sums, column by column: torch's CPU matrix products are slow
    on such skinny shapes, most of all in their backward (~55-100 µs a layer per run for
    ~1 µs of arithmetic: bench/bench_products.py), and the autograd of products and sums
    is products and sums, which the compiler fuses. Eagerly each of those is an operator
    call of its own, which costs more than the skinny product saves (measured: the eager
    step 0.90× as fast), so eagerly every layer stays one baddbmm for all S runs."""
    n_out, n_in = weight.shape[-2:]
    if min(n_out, n_in) > NARROW or not traced():  # the shape first: wide layers ask nothing
        return torch.baddbmm(bias.unsqueeze(-2), x, weight.transpose(-1, -2))
    if n_out <= NARROW:  # each output a sum over the inputs
        columns = [(x * weight[:, j:j + 1, :]).sum(-1, keepdim=True) for j in range(n_out)]
        return (columns[0] if n_out == 1 else torch.cat(columns, -1)) + bias.unsqueeze(-2)
    y = bias.unsqueeze(-2)  # the outputs, one input's contribution at a time
    for k in range(n_in):
        y = y + x[..., k:k + 1] * weight[:, :, k].unsqueeze(-2)
    return y


def stack_networks(nets: list[nn.Module]) -> nn.Module:
    """One network that runs S copies of the same architecture at once on (S, n, ...).

    Linear layers become StackedLinear; any other parameter (minibatch discrimination's
    T) is stacked along a new first axis, which the layers' broadcasting matmuls accept.
    Parameter names stay those of a single network.
    """
    stacked = copy.deepcopy(nets[0])
    for name, module in list(stacked.named_modules()):
        parts = [dict(n.named_modules())[name] for n in nets]
        if isinstance(module, nn.Linear):
            parent, _, attr = name.rpartition(".")
            setattr(stacked.get_submodule(parent), attr, StackedLinear(parts))
        elif not isinstance(module, StackedLinear):
            for pname, _ in list(module.named_parameters(recurse=False)):
                value = torch.stack([getattr(p, pname).detach() for p in parts])
                setattr(module, pname, nn.Parameter(value))
    return stacked

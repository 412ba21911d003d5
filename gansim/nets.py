"""The stacked networks: G and D for S runs as modules that hold no weights of their own.

The step passes the weights in (Nets.g, Nets.d, Nets.features), so one Nets serves
every run of an architecture and the step stays a pure function of its inputs.
"""
from __future__ import annotations

import contextlib
from typing import Callable

import torch
from torch import Tensor
from torch.func import functional_call

from .config import Config
from .models import (Discriminator, Generator, SeededDropout, StackedLinear, stack_networks,
                     stacked_linear)
from .optim import flat_views
from .stack import Params, traced


class _Features(torch.nn.Module):
    """D.features as a module's forward, so functional_call can run it."""

    def __init__(self, D: torch.nn.Module):
        super().__init__()
        self.D = D

    def forward(self, x: Tensor) -> Tensor:
        return self.D.features(x)


class Slots:
    """Runs a structure-only module with weights passed in, by putting each tensor in its
    module's parameter slot for the call and the module's own back afterwards.

    The same swap as torch.func.functional_call, without its generic path (name lookups,
    checks, swap helpers per tensor: ~10 % of an eager step in a profile on a 2-core AMD
    EPYC). Not for dynamo: the compiled step traces functional_call. Not thread-safe,
    like functional_call: every Trainer has its own modules."""

    def __init__(self, root: torch.nn.Module):
        self.slots = [(name, root.get_submodule(name.rpartition(".")[0]), name.rpartition(".")[2])
                      for name, _ in root.named_parameters()]

    def call(self, p: Params, fn: Callable, *args) -> Tensor:
        own = []
        try:
            for name, module, attr in self.slots:
                own.append(module._parameters[attr])
                module._parameters[attr] = p[name]
            return fn(*args)
        finally:
            for (_, module, attr), tensor in zip(self.slots, own):
                module._parameters[attr] = tensor


# One eager layer: a StackedLinear's weight and bias names (fn None), or a weightless
# layer's forward (an activation) with names None.
Layer = tuple[str | None, str | None, Callable | None]


def layer_plan(root: torch.nn.Module, chain: tuple[str, ...]) -> list[Layer] | None:
    """The leaf layers of root's sub-networks `chain`, in order, to run with weights
    passed in; None when one is anything but a StackedLinear or a weightless layer (then
    the modules run: Slots). The same ops as the modules' calls, so the same bits,
    without ~2 µs of module machinery per layer and the slot swap (~7 % of an eager
    step in a profile on a 2-core AMD EPYC)."""
    plan: list[Layer] = []
    for name in chain:
        sub = root.get_submodule(name)
        layers = list(sub.named_children()) if isinstance(sub, torch.nn.Sequential) else [("", sub)]
        for child, m in layers:
            prefix = f"{name}.{child}" if child else name
            if isinstance(m, StackedLinear):
                plan.append((f"{prefix}.weight", f"{prefix}.bias", None))
            elif isinstance(m, SeededDropout) or any(True for _ in m.parameters()) or \
                    any(True for _ in m.children()):
                return None
            else:
                plan.append((None, None, m.forward))
    return plan


def run_plan(plan: list[Layer], p: Params, x: Tensor) -> Tensor:
    for weight, bias, fn in plan:
        x = stacked_linear(x, p[weight], p[bias]) if fn is None else fn(x)
    return x


class Nets:
    """The shape of G and D for S stacked runs (models.stack_networks): modules only,
    called with weights passed in, so one Nets serves every run of an architecture."""

    def __init__(self, cfg: Config, runs: int, device: torch.device):
        with torch.random.fork_rng(devices=[]):  # structure only: keep the global stream
            G, D = Generator(cfg), Discriminator(cfg)
        self.G = stack_networks([G] * runs).to(device)
        self.D = stack_networks([D] * runs).to(device)
        self.pack = cfg.pack
        self._features = _Features(self.D)
        self.dropouts = [m for m in self.D.modules() if isinstance(m, SeededDropout)]
        # Spectral norm (Miyato et al. 2018) acts on every Linear layer of D.
        self.sn_keys = [f"{n}.weight" for n, m in self.D.named_modules()
                        if isinstance(m, StackedLinear)] if cfg.spectral_norm else []
        self._g_slots, self._d_slots = Slots(self.G), Slots(self.D)
        self._g_plan = layer_plan(self.G, Generator.CHAIN)
        self._d_plan = None if self.D.batch_aware else layer_plan(self.D, Discriminator.CHAIN)

    # Eagerly, a plain chain runs as a layer plan and anything else with the weights put
    # straight into the modules' slots (`Slots`); dynamo traces functional_call.
    # tie_weights=False: no module here shares a tensor, and torch's check for tied
    # weights costs ~20 µs a call (5 calls a step) for nothing.
    def g(self, p: Params, z: Tensor) -> Tensor:
        if not traced():
            if self._g_plan is not None:
                return run_plan(self._g_plan, p, z)
            return self._g_slots.call(p, self.G, z)
        return functional_call(self.G, p, (z,), tie_weights=False)

    def features(self, p: Params, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """D's penultimate features (models.Discriminator.features) with weights p."""
        with self._masks(mask):
            if not traced():
                return self._d_slots.call(p, self.D.features, x)
            return functional_call(self._features, {f"D.{k}": v for k, v in p.items()}, (x,),
                                   tie_weights=False)

    def d(self, p: Params, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """D's output with weights p; mask (layers, S, rows, width): dropout's keep masks."""
        if mask is None and self._d_plan is not None and not traced():
            return run_plan(self._d_plan, p, self.D._packed(x)).squeeze(-1)
        with self._masks(mask):
            if not traced():
                return self._d_slots.call(p, self.D, x)
            return functional_call(self.D, p, (x,), tie_weights=False)

    @contextlib.contextmanager
    def _masks(self, mask: Tensor | None):
        if mask is None:
            yield
            return
        for layer, m in zip(self.dropouts, mask):
            layer.mask = m
        try:
            yield
        finally:
            for layer in self.dropouts:
                layer.mask = None


def init_weights(cfg: Config, seeds: list[int], device: torch.device) -> tuple[Params, Params]:
    """Each run's G and D weights as a fresh network with its seed starts, stacked
    (names as one network's; a Linear weight (S, out, in))."""
    Gs, Ds = [], []
    for s in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s)  # weight init, without touching the global stream
            Gs.append(dict(Generator(cfg).named_parameters()))
            Ds.append(dict(Discriminator(cfg).named_parameters()))

    def stack(nets: list[Params]) -> Params:
        # Views of one flat buffer per player: each update reads it without a copy.
        return flat_views({k: torch.stack([n[k].detach() for n in nets]).to(device)
                           for k in nets[0]})

    return stack(Gs), stack(Ds)

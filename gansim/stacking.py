"""How each setting enters the stacked step: one row per Config field (STACKING), and
what is derived from the rows: the compile key (StepKey) and the tensors of continuous
values (hyper, set_hyper).

Randomness never happens inside the step; continuous settings are tensors, so changing
them live never recompiles; what changes the graph (the loss, the optimiser, shapes, S)
is StepKey, the compile cache's key.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .config import Config
from .optim import EPS, OPTIMISER_HYPER, RMSPROP_ALPHA

KEY = "key"  # changes the graph: part of StepKey (compiled once per value)
TENSOR = "tensor"  # a continuous value passed in as a tensor: live changes never recompile
DRAWS = "draws"  # its random numbers are drawn outside, per run, and passed in
ARCH = "arch"  # shapes the networks (models.py); a stack builds S copies of one architecture
RUN = "run"  # differs per run of a stack (the seed) or lives outside the step (device, data)
PLAYERS = ("g", "d")


@dataclass(frozen=True)
class Row:
    """How one setting stacks. `on_off`: a KEY whose graph only depends on whether it is
    on (StepKey holds bool(value)). `reads`: for a TENSOR, the players whose update reads
    it (hyper's h["g"], h["d"]); "" for a value read outside the step (a schedule)."""

    how: tuple[str, ...]
    on_off: bool = False
    reads: str = ""


# Every Config field says how a stack of runs handles it, so a new setting cannot be
# added without deciding (tests/test_stacking.py checks this table covers config.FIELDS).
STACKING: dict[str, Row] = {
    "data": Row((RUN,)), "custom_centers": Row((RUN,)), "custom_stds": Row((RUN,)),
    "custom_weights": Row((RUN,)),
    "loss": Row((KEY,)),
    "gp": Row((KEY, TENSOR, DRAWS), on_off=True, reads="d"),
    "r1": Row((KEY, TENSOR), on_off=True, reads="d"),
    "r2": Row((KEY, TENSOR), on_off=True, reads="d"),
    "clip": Row((KEY, TENSOR), on_off=True, reads="d"),
    # h["d"]["instance_noise"] holds σ at this step (annealed by noise_anneal).
    "instance_noise": Row((KEY, TENSOR, DRAWS), on_off=True, reads="d"),
    "noise_anneal": Row((TENSOR,)),
    "label_smoothing": Row((TENSOR,), reads="d"),
    "label_flip": Row((KEY, DRAWS), on_off=True),
    "weight_decay": Row((TENSOR,), reads="d"),  # G's optimiser holds 0: no decay on G
    "dropout": Row((KEY, ARCH, DRAWS), on_off=True),
    "spectral_norm": Row((KEY, ARCH), on_off=True),
    "feature_matching": Row((KEY, TENSOR), on_off=True, reads="g"),
    "replay": Row((KEY, DRAWS), on_off=True),
    "unroll": Row((KEY,)), "unroll_first_order": Row((KEY,)),
    "minibatch": Row((ARCH,)), "minibatch_dim": Row((ARCH,)), "mbstd": Row((ARCH,)),
    "pack": Row((ARCH,)),
    "lr_g": Row((TENSOR,), reads="g"), "lr_d": Row((TENSOR,), reads="d"),
    "d_steps": Row((KEY,)), "optimizer": Row((KEY,)),
    "beta1": Row((TENSOR,), reads="gd"), "beta2": Row((TENSOR,), reads="gd"),
    "batch": Row((KEY,)),
    "lr_decay_start": Row((TENSOR,)), "lr_decay_end": Row((TENSOR,)),
    "lr_decay_floor": Row((TENSOR,)),
    "g_hidden": Row((ARCH,)), "g_depth": Row((ARCH,)), "d_hidden": Row((ARCH,)),
    "d_depth": Row((ARCH,)), "activation": Row((ARCH,)), "z_dim": Row((KEY, ARCH)),
    "seed": Row((RUN,)), "device": Row((RUN,)), "engine": Row((RUN,)),
}
KEY_FIELDS = tuple(f for f, row in STACKING.items() if KEY in row.how)
ARCH_FIELDS = tuple(f for f, row in STACKING.items() if ARCH in row.how)


def _key_of(cls, cfg: Config, runs: int):
    """cfg's StepKey for a stack of `runs` runs."""
    values = {f: bool(getattr(cfg, f)) if STACKING[f].on_off else getattr(cfg, f)
              for f in KEY_FIELDS}
    arch = tuple((f, getattr(cfg, f)) for f in ARCH_FIELDS)
    return cls(**values, runs=runs, arch=arch + (("device", str(cfg.device)),))


# What a compiled step is specialised on: one attribute per KEY row (named as the Config
# field), S, and the networks' shape and device (a compiled step runs the modules it was
# traced with, so two architectures must never share one, same tensor shapes or not);
# everything else is a tensor input.
StepKey = dataclasses.make_dataclass(
    "StepKey", [(f, Any) for f in KEY_FIELDS] + [("runs", int), ("arch", tuple)],
    frozen=True, namespace={"of": classmethod(_key_of), "__module__": __name__})


def _hyper_name(field: str, player: str) -> str:
    """lr_g is G's "lr", lr_d D's: the optimiser reads its own player's rate as "lr"."""
    return field.removesuffix(f"_{player}")


def _reads(player: str) -> list[str]:
    return [f for f, row in STACKING.items() if TENSOR in row.how and player in row.reads]


def hyper(cfg: Config, runs: int, device: torch.device) -> dict[str, dict[str, Tensor]]:
    """The continuous settings as tensors, one dict per player: every TENSOR row its
    player reads, plus the optimiser's constants. Changing them never recompiles.
    Per-run values have shape (S,); `set_hyper` rewrites them in place."""
    h = {p: {k: torch.zeros(runs, device=device)
             for k in dict.fromkeys([*OPTIMISER_HYPER, *(_hyper_name(f, p) for f in _reads(p))])}
         for p in PLAYERS}
    set_hyper(h, cfg, 1.0, 0.0)
    return h


def set_hyper(h: dict[str, dict[str, Tensor]], cfg: Config, lr_factor: float, sigma: float,
              d_lr_factor: float | None = None) -> None:
    """Write cfg's continuous values into the tensors the step reads: the lrs scaled by
    the decay schedule, the annealed instance-noise σ for instance_noise."""
    factors = {"g": lr_factor, "d": lr_factor if d_lr_factor is None else d_lr_factor}
    for p in PLAYERS:
        values = {"eps": EPS, "alpha": RMSPROP_ALPHA, "weight_decay": 0.0}
        values.update({_hyper_name(f, p): getattr(cfg, f) for f in _reads(p)})
        values["lr"] = values["lr"] * factors[p]
        if "instance_noise" in values:
            values["instance_noise"] = sigma
        for k, v in values.items():
            h[p][k].fill_(float(v))

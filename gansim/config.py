"""Config: every setting of a run, frozen and validated at construction.

The field names are gansim's public vocabulary: the CLI's ``--set key=value``, the
app's shareable URL and the lesson files all use them. A wrong value raises a
``ValueError`` that names the field, the value and the allowed range, so bad input is
caught before any training starts.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

LOSS_NAMES = ("minimax", "nonsaturating", "wasserstein", "hinge", "least_squares")
DATA_NAMES = ("ring8", "grid25", "two_gaussians", "ring8_imbalanced", "custom", "points")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
DEVICES = ("auto", "cpu", "cuda")
# Losses whose D output is a logit of "real": label smoothing has a meaning for these.
PROBABILITY_LOSSES = ("minimax", "nonsaturating", "least_squares")


@dataclass(frozen=True)
class Config:
    """One GAN run: data, loss, cures, balance and model, plus the seed."""

    # --- data ---
    data: str = "ring8"  # a preset mixture; "custom" uses custom_*; "points" = uploaded CSV
    custom_centers: tuple = ()  # ((x, y), ...) for data="custom"
    custom_stds: tuple = ()  # one std per centre (or a single value for all)
    custom_weights: tuple = ()  # mixing weights; empty = equal
    # --- loss ---
    loss: str = "nonsaturating"  # NS is the loss most people train with; minimax shows saturation
    # --- cures on D ---
    gp: float = 0.0  # WGAN-GP weight λ: pulls ‖∇D(x̂)‖ toward 1 (Gulrajani et al. 2017)
    r1: float = 0.0  # R1 weight γ: penalises ‖∇D‖² on real data (Mescheder et al. 2018)
    r2: float = 0.0  # R2 weight γ: the same penalty on generated data
    clip: float = 0.0  # clip D's weights to ±clip after each D step (original WGAN); 0 = off
    instance_noise: float = 0.0  # σ of Gaussian noise added to D's inputs, annealed to 0
    noise_anneal: int = 2000  # G steps over which instance noise falls linearly to 0
    label_smoothing: float = 0.0  # real target becomes 1 − value (one-sided)
    label_flip: float = 0.0  # probability that a real sample is shown to D as fake
    weight_decay: float = 0.0  # L2 decay on D's weights (in D's optimiser)
    dropout: float = 0.0  # dropout probability in D's hidden layers
    spectral_norm: bool = False  # divide each D weight by its top singular value (Miyato 2018)
    # --- cures on G / batch awareness ---
    feature_matching: float = 0.0  # weight of ‖E f(real) − E f(fake)‖² added to G's loss
    replay: float = 0.0  # share of D's fake batch drawn from a buffer of past fakes
    unroll: int = 0  # k look-ahead D updates that G's loss is taken against (Metz 2016)
    unroll_first_order: bool = False  # do not differentiate through the look-ahead (cheap)
    minibatch: int = 0  # minibatch-discrimination kernels B (Salimans 2016); 0 = off
    minibatch_dim: int = 4  # C: size of each kernel's feature
    mbstd: bool = False  # append the minibatch standard deviation as a D feature (ProGAN)
    pack: int = 1  # PacGAN: D judges m samples at once; 1 = off
    # --- balance ---
    lr_g: float = 1e-3
    lr_d: float = 1e-4
    d_steps: int = 1  # D updates per G update
    optimizer: str = "adam"
    beta1: float = 0.5
    beta2: float = 0.999
    batch: int = 256
    lr_decay_start: int = 0  # G step where both lrs start a linear decay; 0 = constant lrs
    lr_decay_end: int = 0  # G step where the decay reaches lr_decay_floor × lr
    lr_decay_floor: float = 0.02
    # --- model ---
    g_hidden: int = 128
    g_depth: int = 2
    d_hidden: int = 128
    d_depth: int = 2
    activation: str = "relu"
    z_dim: int = 64  # with z_dim 2 the plain GAN does not collapse reliably (measured here)
    # --- run ---
    seed: int = 0
    device: str = "auto"  # "auto" picks CUDA when present, else CPU

    def __post_init__(self) -> None:
        for name, check in _CHECKS.items():
            check(name, getattr(self, name))
        _check_cross_fields(self)

    def replace(self, **changes: Any) -> "Config":
        """A copy with some fields changed, validated like a new Config."""
        unknown = sorted(set(changes) - FIELD_NAMES)
        if unknown:
            raise ValueError(_unknown_message(unknown[0]))
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def changed(self) -> dict[str, Any]:
        """Only the fields that differ from the defaults (short URLs and reports)."""
        base = DEFAULT.to_dict()
        return {k: v for k, v in self.to_dict().items() if base[k] != v}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Config":
        """Build from plain values, coercing strings (URL, CLI) to each field's type."""
        unknown = sorted(set(values) - FIELD_NAMES)
        if unknown:
            raise ValueError(_unknown_message(unknown[0]))
        return cls(**{k: coerce(k, v) for k, v in values.items()})


FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Config))
FIELD_TYPES = {f.name: type(f.default) for f in dataclasses.fields(Config)}

# Fields that change the networks' shape, the data or the random streams: changing one
# means a new Trainer. Everything else (lrs, loss, penalties, tricks) applies live.
RESTART_FIELDS = frozenset({
    "data", "custom_centers", "custom_stds", "custom_weights", "dropout",
    "spectral_norm", "minibatch", "minibatch_dim", "mbstd", "pack", "g_hidden",
    "g_depth", "d_hidden", "d_depth", "activation", "z_dim", "seed", "device",
})
LIVE_FIELDS = FIELD_NAMES - RESTART_FIELDS


def _unknown_message(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, FIELD_NAMES, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown setting '{name}'{hint} (valid settings: {', '.join(sorted(FIELD_NAMES))})"


def coerce(name: str, value: Any) -> Any:
    """Turn a text value (from a URL or the command line) into the field's type."""
    if name not in FIELD_NAMES:
        raise ValueError(_unknown_message(name))
    kind = FIELD_TYPES[name]
    if not isinstance(value, str):
        if kind is tuple and isinstance(value, list):
            return _to_tuple(value)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    text = value.strip()
    try:
        if kind is bool:
            return _parse_bool(text)
        if kind is int:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind is float:
            return float(text)
        if kind is tuple:
            return _to_tuple(json.loads(text)) if text else ()
    except (ValueError, json.JSONDecodeError):
        raise ValueError(f"{name} must be a {kind.__name__}, got {value!r}") from None
    return text


def _to_tuple(value: Any) -> Any:
    return tuple(_to_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError


# --- validation -------------------------------------------------------------------

def _number(lo: float, hi: float, *, integer: bool = False, lo_open: bool = False):
    def check(name: str, value: Any) -> None:
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            kind = "an integer" if integer else "a number"
            raise ValueError(f"{name} must be {kind}, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        low_bad = value <= lo if lo_open else value < lo
        if low_bad or value > hi:
            left = "(" if lo_open else "["
            raise ValueError(f"{name} must be in {left}{lo:g}, {hi:g}], got {value!r}")
    return check


def _choice(options: tuple[str, ...]):
    def check(name: str, value: Any) -> None:
        if value not in options:
            raise ValueError(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return check


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")


def _points(name: str, value: Any) -> None:
    if not isinstance(value, tuple):
        raise ValueError(f"{name} must be a list, got {value!r}")
    for item in value:
        ok = isinstance(item, tuple) and len(item) == 2 and all(
            isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c)
            for c in item)
        if not ok:
            raise ValueError(f"{name} must be a list of [x, y] pairs of finite numbers, "
                             f"got item {item!r}")
    if len(value) > 100:
        raise ValueError(f"{name} may hold at most 100 centres, got {len(value)}")


def _positives(name: str, value: Any) -> None:
    if not isinstance(value, tuple) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and v > 0 for v in value):
        raise ValueError(f"{name} must be a list of positive numbers, got {value!r}")


LR = _number(0.0, 1.0, lo_open=True)
_CHECKS = {
    "data": _choice(DATA_NAMES),
    "custom_centers": _points,
    "custom_stds": _positives,
    "custom_weights": _positives,
    "loss": _choice(LOSS_NAMES),
    "gp": _number(0, 1000),
    "r1": _number(0, 1000),
    "r2": _number(0, 1000),
    "clip": _number(0, 10),
    "instance_noise": _number(0, 10),
    "noise_anneal": _number(0, 10**7, integer=True),
    "label_smoothing": _number(0, 0.5),
    "label_flip": _number(0, 0.5),
    "weight_decay": _number(0, 1),
    "dropout": _number(0, 0.9),
    "spectral_norm": _flag,
    "feature_matching": _number(0, 100),
    "replay": _number(0, 0.9),
    "unroll": _number(0, 20, integer=True),
    "unroll_first_order": _flag,
    "minibatch": _number(0, 64, integer=True),
    "minibatch_dim": _number(1, 32, integer=True),
    "mbstd": _flag,
    "pack": _number(1, 8, integer=True),
    "lr_g": LR,
    "lr_d": LR,
    "d_steps": _number(1, 20, integer=True),
    "optimizer": _choice(OPTIMIZERS),
    "beta1": _number(0, 0.9999),
    "beta2": _number(0, 0.99999),
    "batch": _number(8, 4096, integer=True),
    "lr_decay_start": _number(0, 10**7, integer=True),
    "lr_decay_end": _number(0, 10**7, integer=True),
    "lr_decay_floor": _number(0, 1),
    "g_hidden": _number(4, 1024, integer=True),
    "g_depth": _number(1, 8, integer=True),
    "d_hidden": _number(4, 1024, integer=True),
    "d_depth": _number(1, 8, integer=True),
    "activation": _choice(ACTIVATIONS),
    "z_dim": _number(1, 512, integer=True),
    "seed": _number(0, 2**31 - 1, integer=True),
    "device": _choice(DEVICES),
}
assert set(_CHECKS) == FIELD_NAMES, "every Config field needs a check"


def _check_cross_fields(cfg: Config) -> None:
    """Rules that tie two fields together."""
    if cfg.batch % cfg.pack:
        raise ValueError(f"batch ({cfg.batch}) must be a multiple of pack ({cfg.pack}); "
                         f"try batch={cfg.batch - cfg.batch % cfg.pack or cfg.pack}")
    if cfg.label_smoothing and cfg.loss not in PROBABILITY_LOSSES:
        raise ValueError(f"label_smoothing applies to {', '.join(PROBABILITY_LOSSES)} "
                         f"losses, not {cfg.loss}; set label_smoothing=0")
    if cfg.lr_decay_start and cfg.lr_decay_end <= cfg.lr_decay_start:
        raise ValueError(f"lr_decay_end ({cfg.lr_decay_end}) must be after lr_decay_start "
                         f"({cfg.lr_decay_start})")
    if cfg.data == "custom":
        _check_custom(cfg)


def _check_custom(cfg: Config) -> None:
    k = len(cfg.custom_centers)
    if k == 0:
        raise ValueError("data=custom needs custom_centers, e.g. [[0, 0], [2, 2]]")
    if len(cfg.custom_stds) not in (1, k):
        raise ValueError(f"custom_stds needs 1 or {k} values (one per centre), "
                         f"got {len(cfg.custom_stds)}")
    if cfg.custom_weights and len(cfg.custom_weights) != k:
        raise ValueError(f"custom_weights needs {k} values (one per centre), "
                         f"got {len(cfg.custom_weights)}")


DEFAULT = Config()


def restart_fields_changed(old: Config, new: Config) -> list[str]:
    """The fields whose change needs a new Trainer (empty: the change applies live)."""
    return sorted(f for f in RESTART_FIELDS if getattr(old, f) != getattr(new, f))


def relative_step_cost(cfg: Config) -> float:
    """A rough cost of one G step in plain-step units, only for ordering work so that
    the costliest runs start first (measured ratios: a penalty doubles a D update,
    true unrolling costs ~8 plain steps, minibatch discrimination ~3)."""
    d_update = 2.0 if (cfg.gp or cfg.r1 or cfg.r2) else 1.0
    per_look_ahead = 0.8 if cfg.unroll_first_order else 1.4  # ~4 and ~7 plain steps at k = 5
    cost = cfg.d_steps * d_update + 1.0 + per_look_ahead * cfg.unroll
    return cost * (3.0 if cfg.minibatch else 1.0) * cfg.batch / 256

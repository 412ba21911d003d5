"""Config: every setting of a run, frozen and validated at construction.

The field names are gansim's public vocabulary: the CLI's ``--set key=value``, the
app's shareable URL and the lesson files all use them. A wrong value raises a
``ValueError`` that names the field, the value and the allowed range, so bad input is
caught before any training starts.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

from .checks import Choice, Field, Range, flag, points, positives

LOSS_NAMES = ("minimax", "nonsaturating", "wasserstein", "hinge", "least_squares")
DATA_NAMES = ("ring8", "grid25", "two_gaussians", "ring8_imbalanced", "custom", "points")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
DEVICES = ("auto", "cpu", "cuda")
ENGINES = ("auto", "eager", "compiled")  # gansim.compile.engine_mode reads them
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
    # The same math either way, rounded differently: a link records which one a run used.
    engine: str = "auto"  # "auto": compiled where this machine has built the step, else eager

    def __post_init__(self) -> None:
        for name, spec in FIELDS.items():
            spec.check(name, getattr(self, name))
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


def split_setting(text: str) -> tuple[str, str] | None:
    """"key=value" → (key, value) with the key stripped; None without "=" or a key.

    The one reader of the key=value form that --set, --grid and the compare panes share;
    the value keeps its spaces (coerce strips them, --grid splits on commas first)."""
    key, eq, value = text.partition("=")
    key = key.strip()
    return (key, value) if eq and key else None


def _to_tuple(value: Any) -> Any:
    return tuple(_to_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError


LR = Range(0.0, 1.0, lo_open=True)
FIELDS: dict[str, Field] = {
    "data": Field(
        Choice(DATA_NAMES),
        "The real distribution G must learn to imitate.",
        restarts=True),
    "custom_centers": Field(
        points,
        "Mode centres as JSON, e.g. [[0, 0], [2, 1]] (used when the dataset is "
        "Custom mixture).",
        restarts=True),
    "custom_stds": Field(
        positives,
        "One standard deviation for all centres, or one per centre, e.g. [0.05].",
        restarts=True),
    "custom_weights": Field(
        positives,
        "How likely each centre is, e.g. [1, 3]; empty means equal.",
        restarts=True),
    "loss": Field(
        Choice(LOSS_NAMES),
        "The game G and D play: what D is rewarded for and what G tries to fool."),
    "gp": Field(
        Range(0, 1000),
        "Keeps D's slope near 1 between real and fake points (WGAN-GP uses 10).",
        slope_penalty=True),
    "r1": Field(
        Range(0, 1000),
        "Penalises D's slope on real points so D cannot get too sharp.",
        slope_penalty=True),
    "r2": Field(Range(0, 1000), "The same slope penalty, measured on generated points.",
                slope_penalty=True),
    "clip": Field(
        Range(0, 10),
        "Clips D's weights to ±this value after each step (original WGAN); 0 "
        "turns it off."),
    "instance_noise": Field(
        Range(0, 10),
        "Blurs what D sees with noise that fades away, so D cannot be perfectly "
        "sure early on."),
    "noise_anneal": Field(
        Range(0, 10**7, integer=True),
        "G steps over which instance noise falls to zero."),
    "label_smoothing": Field(
        Range(0, 0.5),
        "D aims for 1 − this on real points instead of 1, so it stays less "
        "confident."),
    "label_flip": Field(
        Range(0, 0.5),
        "Share of real points shown to D labelled as fake, adding doubt."),
    "weight_decay": Field(Range(0, 1), "Pulls D's weights toward zero, keeping it simple."),
    "dropout": Field(
        Range(0, 0.9),
        "Randomly silences D's neurons so it cannot memorise.",
        restarts=True),
    "spectral_norm": Field(
        flag,
        "Limits how steep each of D's layers can be.",
        restarts=True),
    "feature_matching": Field(
        Range(0, 100),
        "G also tries to match the average of D's inner features on real points."),
    "replay": Field(
        Range(0, 0.9),
        "Share of D's fake batch taken from G's past outputs, so D remembers old "
        "tricks."),
    "unroll": Field(
        Range(0, 20, integer=True),
        "G looks this many D updates ahead, so it cannot exploit D's current "
        "blind spot."),
    "unroll_first_order": Field(
        flag,
        "Look ahead without differentiating through D's updates: faster, weaker."),
    "minibatch": Field(
        Range(0, 64, integer=True),
        "D compares samples within a batch, so a batch of near-copies gives G "
        "away; 0 is off.",
        restarts=True),
    "minibatch_dim": Field(
        Range(1, 32, integer=True),
        "Size of each minibatch-discrimination feature.",
        restarts=True),
    "mbstd": Field(
        flag,
        "D also sees how spread out the batch is, which exposes a collapsed G.",
        restarts=True),
    "pack": Field(
        Range(1, 8, integer=True),
        "D judges this many samples at once; 1 is off.",
        restarts=True),
    "lr_g": Field(LR, "How big a step G takes each update."),
    "lr_d": Field(LR, "How big a step D takes each update."),
    "d_steps": Field(
        Range(1, 20, integer=True),
        "D trains this many times for every G update."),
    "optimizer": Field(Choice(OPTIMIZERS), "The update rule both players use."),
    "beta1": Field(Range(0, 0.9999), "Adam's momentum: how much past steps carry on."),
    "beta2": Field(Range(0, 0.99999), "Adam's memory of gradient sizes."),
    "batch": Field(Range(8, 4096, integer=True), "Points each player sees per update."),
    "lr_decay_start": Field(
        Range(0, 10**7, integer=True),
        "G step where both learning rates start to shrink; 0 keeps them constant."),
    "lr_decay_end": Field(
        Range(0, 10**7, integer=True),
        "G step where the shrinking stops."),
    "lr_decay_floor": Field(Range(0, 1), "Share of the learning rate left after decay."),
    "g_hidden": Field(
        Range(4, 1024, integer=True),
        "Neurons in each of G's hidden layers.",
        restarts=True),
    "g_depth": Field(
        Range(1, 8, integer=True),
        "Number of G's hidden layers.",
        restarts=True),
    "d_hidden": Field(
        Range(4, 1024, integer=True),
        "Neurons in each of D's hidden layers.",
        restarts=True),
    "d_depth": Field(
        Range(1, 8, integer=True),
        "Number of D's hidden layers.",
        restarts=True),
    "activation": Field(
        Choice(ACTIVATIONS),
        "The bend each neuron applies to its input.",
        restarts=True),
    "z_dim": Field(
        Range(1, 512, integer=True),
        "Size of the random input G turns into a point.",
        restarts=True),
    "seed": Field(
        Range(0, 2**31 - 1, integer=True),
        "Same seed and settings give the same run: share it with the link.",
        restarts=True),
    "device": Field(
        Choice(DEVICES),
        "Where the networks run; auto uses a GPU when there is one.",
        restarts=True),
    "engine": Field(
        Choice(ENGINES),
        "How each step runs: compiled is ~1.5-2x faster once this machine has built it "
        "(~30 s in the background, once); auto uses it when built, else plain PyTorch."),
}
assert set(FIELDS) == FIELD_NAMES, "every Config field needs an entry in FIELDS"

# Changing one of these means a new Trainer; everything else (lrs, loss, penalties,
# tricks) applies live.
RESTART_FIELDS = frozenset(name for name, f in FIELDS.items() if f.restarts)
LIVE_FIELDS = FIELD_NAMES - RESTART_FIELDS


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


def describe(name: str) -> str:
    """One setting in a line, from FIELDS: its allowed values, default and sentence."""
    check, default = FIELDS[name].check, getattr(DEFAULT, name)
    if isinstance(check, Range):
        left = "(" if check.lo_open else "["
        lo, hi = (f"{v:g}" if not check.integer else str(v) for v in (check.lo, check.hi))
        kind = f"{'integer' if check.integer else 'number'} in {left}{lo}, {hi}]"
    elif isinstance(check, Choice):
        kind = "one of " + ", ".join(check.options)
    else:
        kind = "true or false" if FIELD_TYPES[name] is bool else "a JSON list"
    shown = json.dumps(_as_json(default))
    return f"{name}: {kind}; default {shown}. {FIELDS[name].help}"


def _as_json(value: Any) -> Any:
    return [_as_json(v) for v in value] if isinstance(value, tuple) else value


def restart_fields_changed(old: Config, new: Config) -> list[str]:
    """The fields whose change needs a new Trainer (empty: the change applies live)."""
    return sorted(f for f in RESTART_FIELDS if getattr(old, f) != getattr(new, f))


SLOPE_PENALTIES = tuple(name for name, f in FIELDS.items() if f.slope_penalty)

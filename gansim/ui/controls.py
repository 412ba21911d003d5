"""Sidebar widgets ↔ Config fields, one row of a table per field (no hand-written blocks).

Each widget's value lives in ``st.session_state["cfg_<field>"]``; the app seeds those
keys from a Config (URL, cure, rewind) and reads them back into a Config. Widgets are
never given ``value=``: session state is the single source of truth.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from ..config import (ACTIVATIONS, DATA_NAMES, DEVICES, FIELD_NAMES, FIELD_TYPES, LOSS_NAMES,
                      OPTIMIZERS, RESTART_FIELDS, Config, coerce)

KEY_PREFIX = "cfg_"
# Learning rates on a log ladder: a student moves by factors, not by 0.0001 steps.
LR_LADDER = (1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2,
             3e-2, 1e-1)
DATA_LABELS = {"ring8": "Ring of 8", "grid25": "Grid of 25", "two_gaussians": "Two Gaussians",
               "ring8_imbalanced": "Ring of 8, unequal weights", "custom": "Custom mixture",
               "points": "Uploaded points (CSV)"}
LOSS_LABELS = {"minimax": "Minimax (original, saturating)",
               "nonsaturating": "Non-saturating (standard)",
               "wasserstein": "Wasserstein (critic)", "hinge": "Hinge (critic)",
               "least_squares": "Least squares"}


@dataclass(frozen=True)
class Widget:
    """How one Config field is shown: kind picks the Streamlit widget."""

    field: str
    label: str
    help: str
    kind: str = "number"  # number | slider | select | toggle | lr | list
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    options: tuple = ()
    labels: dict | None = None


W = Widget
GROUPS: dict[str, tuple[Widget, ...]] = {
    "Data": (
        W("data", "Dataset", "The real distribution G must learn to imitate.", "select",
          options=DATA_NAMES, labels=DATA_LABELS),
        W("custom_centers", "Custom centres", "Mode centres as JSON, e.g. [[0, 0], [2, 1]] "
          "(used when the dataset is Custom mixture).", "list"),
        W("custom_stds", "Custom spreads", "One standard deviation for all centres, or one per "
          "centre, e.g. [0.05].", "list"),
        W("custom_weights", "Custom weights", "How likely each centre is, e.g. [1, 3]; empty "
          "means equal.", "list"),
    ),
    "Loss": (
        W("loss", "Loss", "The game G and D play: what D is rewarded for and what G "
          "tries to fool.", "select", options=LOSS_NAMES, labels=LOSS_LABELS),
    ),
    "Cures": (
        W("gp", "Gradient penalty λ", "Keeps D's slope near 1 between real and fake points "
          "(WGAN-GP uses 10).", lo=0.0, hi=1000.0, step=0.5),
        W("r1", "R1 penalty γ", "Penalises D's slope on real points so D cannot get "
          "too sharp.", lo=0.0, hi=1000.0, step=0.1),
        W("r2", "R2 penalty γ", "The same slope penalty, measured on generated points.",
          lo=0.0, hi=1000.0, step=0.1),
        W("clip", "Weight clipping", "Clips D's weights to ±this value after each step "
          "(original WGAN); 0 turns it off.", lo=0.0, hi=10.0, step=0.01),
        W("unroll", "Unroll steps", "G looks this many D updates ahead, so it cannot "
          "exploit D's current blind spot.", lo=0, hi=20, step=1),
        W("unroll_first_order", "Cheap unrolling", "Look ahead without differentiating "
          "through D's updates: faster, weaker.", "toggle"),
        W("minibatch", "Minibatch kernels", "D compares samples within a batch, so a batch "
          "of near-copies gives G away; 0 is off.", lo=0, hi=64, step=1),
        W("minibatch_dim", "Kernel size", "Size of each minibatch-discrimination feature.",
          lo=1, hi=32, step=1),
        W("mbstd", "Minibatch std feature", "D also sees how spread out the batch is, "
          "which exposes a collapsed G.", "toggle"),
        W("pack", "Packing (PacGAN)", "D judges this many samples at once; 1 is off.",
          lo=1, hi=8, step=1),
        W("instance_noise", "Instance noise σ", "Blurs what D sees with noise that fades "
          "away, so D cannot be perfectly sure early on.", lo=0.0, hi=10.0, step=0.05),
        W("noise_anneal", "Noise fades over", "G steps over which instance noise falls "
          "to zero.", lo=0, hi=10**7, step=100),
        W("label_smoothing", "Label smoothing", "D aims for 1 − this on real points "
          "instead of 1, so it stays less confident.", "slider", lo=0.0, hi=0.5, step=0.05),
        W("label_flip", "Label flipping", "Share of real points shown to D labelled as "
          "fake, adding doubt.", "slider", lo=0.0, hi=0.5, step=0.05),
        W("spectral_norm", "Spectral norm", "Limits how steep each of D's layers can be.",
          "toggle"),
        W("dropout", "Dropout in D", "Randomly silences D's neurons so it cannot "
          "memorise.", "slider", lo=0.0, hi=0.9, step=0.05),
        W("weight_decay", "Weight decay", "Pulls D's weights toward zero, keeping it "
          "simple.", lo=0.0, hi=1.0, step=1e-4),
        W("feature_matching", "Feature matching", "G also tries to match the average of "
          "D's inner features on real points.", lo=0.0, hi=100.0, step=0.1),
        W("replay", "Experience replay", "Share of D's fake batch taken from G's past "
          "outputs, so D remembers old tricks.", "slider", lo=0.0, hi=0.9, step=0.05),
    ),
    "Balance": (
        W("lr_g", "G learning rate", "How big a step G takes each update.", "lr"),
        W("lr_d", "D learning rate", "How big a step D takes each update.", "lr"),
        W("d_steps", "D steps per G step", "D trains this many times for every G update.",
          lo=1, hi=20, step=1),
        W("optimizer", "Optimiser", "The update rule both players use.", "select",
          options=OPTIMIZERS),
        W("beta1", "Adam β₁", "Adam's momentum: how much past steps carry on.",
          lo=0.0, hi=0.9999, step=0.05),
        W("beta2", "Adam β₂", "Adam's memory of gradient sizes.", lo=0.0, hi=0.99999,
          step=0.001),
        W("lr_decay_start", "Decay from step", "G step where both learning rates start to "
          "shrink; 0 keeps them constant.", lo=0, hi=10**7, step=100),
        W("lr_decay_end", "Decay until step", "G step where the shrinking stops.",
          lo=0, hi=10**7, step=100),
        W("lr_decay_floor", "Decay floor", "Share of the learning rate left after decay.",
          "slider", lo=0.0, hi=1.0, step=0.01),
    ),
    "Model": (
        W("g_hidden", "G width", "Neurons in each of G's hidden layers.", lo=4, hi=1024,
          step=16),
        W("g_depth", "G depth", "Number of G's hidden layers.", lo=1, hi=8, step=1),
        W("d_hidden", "D width", "Neurons in each of D's hidden layers.", lo=4, hi=1024,
          step=16),
        W("d_depth", "D depth", "Number of D's hidden layers.", lo=1, hi=8, step=1),
        W("activation", "Activation", "The bend each neuron applies to its input.",
          "select", options=ACTIVATIONS),
        W("z_dim", "Noise dimensions", "Size of the random input G turns into a point.",
          lo=1, hi=512, step=1),
        W("batch", "Batch size", "Points each player sees per update.", lo=8, hi=4096,
          step=8),
    ),
    "Seed": (
        W("seed", "Seed", "Same seed and settings give the same run: share it with the "
          "link.", lo=0, hi=2**31 - 1, step=1),
        W("device", "Device", "Where the networks run; auto uses a GPU when there is one.",
          "select", options=DEVICES),
    ),
}
WIDGETS = {w.field: w for group in GROUPS.values() for w in group}
assert set(WIDGETS) == FIELD_NAMES, "every Config field needs exactly one widget"


def key(field: str, prefix: str = KEY_PREFIX) -> str:
    """The session-state key of a field's widget (compare panes use their own prefix)."""
    return prefix + field


def to_widget(field: str, value: Any) -> Any:
    """A Config value in the form its widget holds (lists as JSON text, floats as floats)."""
    kind = FIELD_TYPES[field]
    if kind is tuple:
        return json.dumps(_as_lists(value)) if value else ""
    if kind is float:
        return float(value)
    return value


def _as_lists(value: Any) -> Any:
    return [_as_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def seed_widgets(cfg: Config, force: bool = True, prefix: str = KEY_PREFIX,
                 fields=FIELD_NAMES) -> None:
    """Put cfg's values into the widgets' session state (call before they are drawn)."""
    for field in fields:
        if force or key(field, prefix) not in st.session_state:
            st.session_state[key(field, prefix)] = to_widget(field, getattr(cfg, field))


def read_config(base: Config) -> tuple[Config, str | None]:
    """The Config the widgets describe, or `base` and a message saying what is wrong."""
    values = {}
    try:
        for field in FIELD_NAMES:
            raw = st.session_state.get(key(field), to_widget(field, getattr(base, field)))
            values[field] = coerce(field, raw)
        return Config(**values), None
    except ValueError as err:
        return base, str(err)


# --- drawing ----------------------------------------------------------------------

RESETS = " ↺"  # marks a setting whose change starts a new run
RESET_HELP = " Changing this resets the run."


def _label(w: Widget, prefix: str) -> str:
    # Only the sidebar's run changes live; elsewhere (compare panes) every change restarts.
    marked = prefix == KEY_PREFIX and w.field in RESTART_FIELDS
    return w.label + (RESETS if marked else "")


def _help(w: Widget, prefix: str) -> str:
    return w.help + (RESET_HELP if prefix == KEY_PREFIX and w.field in RESTART_FIELDS else "")


def _options(w: Widget) -> tuple:
    # Offer CUDA only where there is one: choosing it elsewhere could only fail.
    if w.field == "device" and not _cuda_available():
        return tuple(o for o in w.options if o != "cuda")
    return w.options


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _number(w: Widget, p: str = KEY_PREFIX) -> Any:
    integer = FIELD_TYPES[w.field] is int
    cast = int if integer else float
    return st.number_input(_label(w, p), min_value=cast(w.lo), max_value=cast(w.hi),
                           step=cast(w.step), help=_help(w, p), key=key(w.field, p),
                           format=None if integer else "%g")


def _slider(w: Widget, p: str = KEY_PREFIX) -> Any:
    return st.slider(_label(w, p), min_value=float(w.lo), max_value=float(w.hi),
                     step=float(w.step), help=_help(w, p), key=key(w.field, p))


def _select(w: Widget, p: str = KEY_PREFIX) -> Any:
    labels = w.labels or {}
    return st.selectbox(_label(w, p), _options(w), help=_help(w, p), key=key(w.field, p),
                        format_func=lambda v: labels.get(v, v))


def _toggle(w: Widget, p: str = KEY_PREFIX) -> Any:
    return st.toggle(_label(w, p), help=_help(w, p), key=key(w.field, p))


def _lr(w: Widget, p: str = KEY_PREFIX) -> Any:
    current = st.session_state.get(key(w.field, p))
    # A value from a shared link may sit between the rungs: add it rather than lose it.
    ladder = sorted(set(LR_LADDER) | ({float(current)} if current else set()))
    return st.select_slider(_label(w, p), options=ladder, help=_help(w, p),
                            key=key(w.field, p), format_func=lambda v: f"{v:g}")


def _list(w: Widget, p: str = KEY_PREFIX) -> Any:
    return st.text_input(_label(w, p), help=_help(w, p), key=key(w.field, p),
                         placeholder="[]")


def draw(field: str, prefix: str = KEY_PREFIX) -> Any:
    """One field's widget under a key prefix (the sidebar's, or a compare pane's)."""
    w = WIDGETS[field]
    return DRAW[w.kind](w, prefix)


DRAW: dict[str, Callable[..., Any]] = {
    "number": _number, "slider": _slider, "select": _select, "toggle": _toggle,
    "lr": _lr, "list": _list,
}
# Fields most lessons never touch fold away so the sidebar stays short.
ADVANCED = {"custom_centers", "custom_stds", "custom_weights", "r2", "minibatch_dim",
            "noise_anneal", "unroll_first_order", "beta1", "beta2", "lr_decay_start",
            "lr_decay_end", "lr_decay_floor"}


def draw_group(name: str, allowed: set | frozenset | None = None) -> None:
    """Draw one group's widgets in the current container (advanced ones folded).

    `allowed` (a lesson's controls) hides every other field; None shows them all.
    """
    widgets = [w for w in GROUPS[name] if allowed is None or w.field in allowed]
    for w in widgets:
        if w.field not in ADVANCED:
            DRAW[w.kind](w)
    advanced = [w for w in widgets if w.field in ADVANCED]
    if advanced:
        with st.expander("More" if name != "Data" else "Custom mixture"):
            for w in advanced:
                DRAW[w.kind](w)


def changed_fields(old: Config, new: Config) -> dict[str, Any]:
    """Fields whose value differs between two configs, with the new values."""
    return {f.name: getattr(new, f.name) for f in dataclasses.fields(Config)
            if getattr(old, f.name) != getattr(new, f.name)}

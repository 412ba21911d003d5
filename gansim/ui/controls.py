"""Sidebar widgets ↔ Config fields, one row of a table per field (no hand-written blocks).

Each widget's value lives under its key (keys.CFG: ``cfg_<field>``); the app seeds those
keys from a Config (URL, cure, rewind) and reads them back into a Config. Widgets are
never given ``value=``: session state is the single source of truth.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from ..config import FIELD_NAMES, FIELD_TYPES, FIELDS, RESTART_FIELDS, Config, coerce
from . import keys

KEY_PREFIX = keys.CFG.name("")  # compare panes use keys.PANE_SETTING's prefixes
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
    """How one Config field is shown: kind picks the Streamlit widget.

    The field's range, options and help sentence are the engine's (config.FIELDS), so
    the sidebar cannot offer a value the validation refuses; only the look lives here.
    """

    field: str
    label: str
    kind: str = "number"  # number | slider | select | toggle | lr | list
    step: float | None = None
    labels: dict | None = None

    @property
    def help(self) -> str:
        return FIELDS[self.field].help

    @property
    def lo(self) -> float:
        return FIELDS[self.field].check.lo

    @property
    def hi(self) -> float:
        return FIELDS[self.field].check.hi

    @property
    def options(self) -> tuple:
        return FIELDS[self.field].check.options


W = Widget
GROUPS: dict[str, tuple[Widget, ...]] = {
    "Data": (
        W("data", "Dataset", "select", labels=DATA_LABELS),
        W("custom_centers", "Custom centres", "list"),
        W("custom_stds", "Custom spreads", "list"),
        W("custom_weights", "Custom weights", "list"),
    ),
    "Loss": (
        W("loss", "Loss", "select", labels=LOSS_LABELS),
    ),
    "Cures": (
        W("gp", "Gradient penalty λ", step=0.5),
        W("r1", "R1 penalty γ", step=0.1),
        W("r2", "R2 penalty γ", step=0.1),
        W("clip", "Weight clipping", step=0.01),
        W("unroll", "Unroll steps", step=1),
        W("unroll_first_order", "Cheap unrolling", "toggle"),
        W("minibatch", "Minibatch kernels", step=1),
        W("minibatch_dim", "Kernel size", step=1),
        W("mbstd", "Minibatch std feature", "toggle"),
        W("pack", "Packing (PacGAN)", step=1),
        W("instance_noise", "Instance noise σ", step=0.05),
        W("noise_anneal", "Noise fades over", step=100),
        W("label_smoothing", "Label smoothing", "slider", step=0.05),
        W("label_flip", "Label flipping", "slider", step=0.05),
        W("spectral_norm", "Spectral norm", "toggle"),
        W("dropout", "Dropout in D", "slider", step=0.05),
        W("weight_decay", "Weight decay", step=1e-4),
        W("feature_matching", "Feature matching", step=0.1),
        W("replay", "Experience replay", "slider", step=0.05),
    ),
    "Balance": (
        W("lr_g", "G learning rate", "lr"),
        W("lr_d", "D learning rate", "lr"),
        W("d_steps", "D steps per G step", step=1),
        W("optimizer", "Optimiser", "select"),
        W("beta1", "Adam β₁", step=0.05),
        W("beta2", "Adam β₂", step=0.001),
        W("lr_decay_start", "Decay from step", step=100),
        W("lr_decay_end", "Decay until step", step=100),
        W("lr_decay_floor", "Decay floor", "slider", step=0.01),
    ),
    "Model": (
        W("g_hidden", "G width", step=16),
        W("g_depth", "G depth", step=1),
        W("d_hidden", "D width", step=16),
        W("d_depth", "D depth", step=1),
        W("activation", "Activation", "select"),
        W("z_dim", "Noise dimensions", step=1),
        W("batch", "Batch size", step=8),
    ),
    "Seed": (
        W("seed", "Seed", step=1),
        W("device", "Device", "select"),
        W("engine", "Engine", "select"),
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
        if force or not keys.has(key(field, prefix)):
            keys.write(key(field, prefix), to_widget(field, getattr(cfg, field)))


def read_config(base: Config) -> tuple[Config, str | None]:
    """The Config the widgets describe, or `base` and a message saying what is wrong."""
    values = {}
    try:
        for field in FIELD_NAMES:
            raw = keys.read(key(field), to_widget(field, getattr(base, field)))
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
    current = keys.read(key(w.field, p))
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

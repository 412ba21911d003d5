"""Drawn data: boxes dragged on a plane become the modes of a `custom` Gaussian mixture.

Pure functions on plain values, so the app's chart selections and the tests share them.
A drawn box is read as a mode's 3σ square: its centre is the mode, a third of its mean
half-side is the spread, the same 3σ the arena's circles outline.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .metrics import HQ_STDS

DRAW_BOX = (-5.0, 5.0, -5.0, 5.0)  # the drawing plane: room for every preset (grid25 is ±4)
MAX_DRAWN = 25  # a mixture a class can still tell apart by eye (the config allows 100)
MIN_STD = 0.02  # a click-sized box: as tight as the ring8 preset's modes
MAX_STD = 1.5  # wider modes overlap into one blob on a ±5 plane


@dataclass(frozen=True)
class Mode:
    x: float
    y: float
    std: float


def mode_from_box(x_range: Any, y_range: Any, box: tuple = DRAW_BOX) -> Mode:
    """A mode centred in the box [x0, x1] × [y0, y1] with std = mean half-side / HQ_STDS."""
    (x0, x1), (y0, y1) = _pair("x", x_range), _pair("y", y_range)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bx0, bx1, by0, by1 = box
    if not (bx0 <= cx <= bx1 and by0 <= cy <= by1):
        raise ValueError(f"the mode at ({cx:.2f}, {cy:.2f}) is off the drawing plane "
                         f"[{bx0:g}, {bx1:g}] × [{by0:g}, {by1:g}]; draw inside the plane")
    half = (abs(x1 - x0) + abs(y1 - y0)) / 4
    return Mode(round(cx, 3), round(cy, 3), round(min(max(half / HQ_STDS, MIN_STD), MAX_STD), 4))


def _pair(name: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"box {name} must be two numbers [low, high], got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"box {name} must be finite, got {value!r}")
    return min(lo, hi), max(lo, hi)


def mode_from_selection(selection: dict) -> Mode | None:
    """The mode an interval selection {"x": [lo, hi], "y": [lo, hi]} draws; None if empty."""
    if not selection or "x" not in selection or "y" not in selection:
        return None
    return mode_from_box(selection["x"], selection["y"])


def add_mode(modes: tuple[Mode, ...], mode: Mode) -> tuple[Mode, ...]:
    """`modes` plus `mode`, refused past MAX_DRAWN with a message that says what to do."""
    if len(modes) >= MAX_DRAWN:
        raise ValueError(f"a drawing holds at most {MAX_DRAWN} modes; remove one (click "
                         f"it) or clear all before adding more")
    return tuple(modes) + (mode,)


def remove_mode(modes: tuple[Mode, ...], index: int) -> tuple[Mode, ...]:
    """`modes` without the one at `index` (an index that is gone changes nothing)."""
    return tuple(m for i, m in enumerate(modes) if i != index)


def config_fields(modes: tuple[Mode, ...]) -> dict:
    """The Config fields of a drawing: data="custom" with its centres and stds."""
    if not modes:
        raise ValueError("the drawing has no modes; drag a box on the plane to add one")
    if len(modes) > MAX_DRAWN:
        raise ValueError(f"the drawing has {len(modes)} modes, at most {MAX_DRAWN} are "
                         f"allowed; remove some (click them) or clear all")
    return {"data": "custom", "custom_centers": tuple((m.x, m.y) for m in modes),
            "custom_stds": tuple(m.std for m in modes), "custom_weights": ()}


def modes_of(dataset: Any) -> tuple[Mode, ...]:
    """A dataset's modes as a starting drawing (none if it has none, or too many to edit)."""
    centers, stds = getattr(dataset, "centers", None), getattr(dataset, "stds", None)
    if centers is None or stds is None or len(centers) > MAX_DRAWN:
        return ()
    return tuple(Mode(float(c[0]), float(c[1]), float(s)) for c, s in zip(centers, stds))

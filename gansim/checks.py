"""The checks a setting is declared with: a number range, a choice, and the shapes of
list-valued settings. The sidebar reads a Range's limits and a Choice's options, so a
setting's limits are written once (in config.FIELDS)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

@dataclass(frozen=True)
class Range:
    """A number check: the field must lie in [lo, hi] (or (lo, hi] when lo_open).

    The sidebar reads lo and hi for its widget limits, so a range is written once."""

    lo: float
    hi: float
    integer: bool = False
    lo_open: bool = False

    def __call__(self, name: str, value: Any) -> None:
        kinds = (int,) if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            kind = "an integer" if self.integer else "a number"
            raise ValueError(f"{name} must be {kind}, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        lo, hi = self.lo, self.hi
        low_bad = value <= lo if self.lo_open else value < lo
        if low_bad or value > hi:
            left = "(" if self.lo_open else "["
            raise ValueError(f"{name} must be in {left}{lo:g}, {hi:g}], got {value!r}")


@dataclass(frozen=True)
class Choice:
    """A choice check: the field must be one of `options` (the sidebar offers these)."""

    options: tuple[str, ...]

    def __call__(self, name: str, value: Any) -> None:
        if value not in self.options:
            raise ValueError(f"{name} must be one of {', '.join(self.options)}; got {value!r}")


def flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")


def points(name: str, value: Any) -> None:
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


def positives(name: str, value: Any) -> None:
    if not isinstance(value, tuple) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and v > 0 for v in value):
        raise ValueError(f"{name} must be a list of positive numbers, got {value!r}")


@dataclass(frozen=True)
class Field:
    """One setting, declared once: its check (a Range or Choice carries the limits the
    sidebar offers), the sentence that explains it to a student, and whether changing
    it needs a new Trainer (networks' shape, data or random streams) or applies live."""

    check: Callable[[str, Any], None]
    help: str
    restarts: bool = False
    # A penalty on D's input gradient: a double backward, about doubling a D update's
    # cost (relative_step_cost, cost.relative_step_cost reads it).
    slope_penalty: bool = False



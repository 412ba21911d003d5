"""A sweep's grid as typed on a command line or in the app's grid box: `key=v1,v2,...`.

Shared by the CLI and the app's sweep panel, so it lives below both (imports point one
way: the UI never imports the CLI).
"""
from __future__ import annotations

from typing import Sequence

from .config import split_setting


class UsageError(ValueError):
    """Bad input from the command line (or the app's grid box); its message is printed
    as one line (exit 2)."""


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """["loss=a,b", "gp=0,10"] → {"loss": ["a", "b"], "gp": ["0", "10"]}."""
    grid: dict[str, list[str]] = {}
    for item in items:
        pair = split_setting(item)
        if pair is None:
            raise UsageError(f"--grid expects key=v1,v2,..., got {item!r}")
        key, text = pair
        if key in grid:
            raise UsageError(f"--grid {key} is given twice; list all its values once: "
                             f"--grid {key}=a,b,c")
        values = _split_values(text)
        if not values or any(v == "" for v in values):
            raise UsageError(f"--grid {key} needs comma-separated values, got {text!r}")
        grid[key] = values
    return grid


def _split_values(text: str) -> list[str]:
    """Split on commas outside brackets, so list values like [[0,0],[2,2]] survive."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch in "[(") - (ch in "])")
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts

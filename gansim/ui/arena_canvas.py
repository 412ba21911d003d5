"""The arena as a film: a Streamlit components-v2 canvas that animates between payloads.

Python sends one payload per snapshot (arena_payload.py); the browser keeps the canvas,
eases the points from where they were to where they are and cross-fades D's landscape
at the display's rate, and stops drawing when nothing moves. The script and its styles
are inline files beside this one: no build step, nothing fetched from the internet.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from .arena_payload import arena_payload  # noqa: F401  (the API: build, then draw)

HERE = Path(__file__).parent
HTML = '<div class="gansim-arena"><canvas></canvas><div class="tip" hidden></div></div>'
# Registered once at import: a second registration under one name replaces the first.
_COMPONENT = st.components.v2.component(
    "gansim.arena_canvas", html=HTML,
    css=(HERE / "arena_canvas.css").read_text(encoding="utf-8"),
    js=(HERE / "arena_canvas.js").read_text(encoding="utf-8"))


def draw(payload: dict, *, key: str, height: int | None = None,
         on_click: Callable[[], None] | None = None):
    """Mount (or update) the arena film; it fills its column's width.

    height: the canvas's height in CSS pixels (None: the plot is square, so as tall as
    wide, plus its axis and legend rows). on_click: called when a person clicks the plot;
    the click's box coordinates (and the nearest point within reach) are then in the
    result's `click` ({"x", "y", "kind": "fake"|"real"|None, "index"}).
    """
    if height is not None and height < 120:
        raise ValueError(f"height must be at least 120 px (or None for a square arena), "
                         f"got {height}")
    data = {**payload, "height": height, "clickable": on_click is not None}
    callbacks = {"on_click_change": on_click} if on_click is not None else {}
    return _COMPONENT(key=key, data=data, width="stretch", height="content", **callbacks)

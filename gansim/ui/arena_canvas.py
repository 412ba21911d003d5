"""The arena as a film: a Streamlit components-v2 canvas that animates between payloads.

Python sends one payload per snapshot (arena_payload.py); the browser keeps the canvas,
eases the points from where they were to where they are and cross-fades D's landscape
at the display's rate, and stops drawing when nothing moves. The script (arena_canvas.js,
arena_paint.js, arena_marks.js, arena_pixels.js) and its styles are inline files beside
this one: no build step, nothing fetched from the internet.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from .arena_payload import arena_payload  # noqa: F401  (the API: build, then draw)

HERE = Path(__file__).parent
HTML = '<div class="gansim-arena"><canvas></canvas><div class="tip" hidden></div></div>'
# One inline module from four files split by idea: the film (easing, size, hover), its
# painter, the marks, and the pixels a frame's marks are drawn in.
JS = "\n".join((HERE / name).read_text(encoding="utf-8")
                for name in ("arena_canvas.js", "arena_paint.js", "arena_marks.js", "arena_pixels.js"))
# Registered once at import: a second registration under one name replaces the first.
_COMPONENT = st.components.v2.component(
    "gansim.arena_canvas", html=HTML, js=JS,
    css=(HERE / "arena_canvas.css").read_text(encoding="utf-8"))


MIN_HEIGHT = 120  # px: below this the plot has no room beside its axes and legend
MIN_SIDE = 60  # px: the least side a capped plot may ask for (its axes need room)
MIN_FIT = 280  # px: the least a window-fitted arena shrinks to (layout.py's CSS floor)


def draw(payload: dict, *, key: str, height: int | None = None, leave_px: int | None = None,
         max_side: int | None = None, on_click: Callable[[], None] | None = None,
         film: dict | None = None):
    """Mount (or update) the arena film; it fills its column's width.

    height: the canvas's height in CSS pixels (None: the plot is square, as tall as wide,
    plus its axis and legend rows). leave_px: without a height, keep the canvas within
    the window's height less this much (what sits above it; never under MIN_FIT px).
    max_side: the square plot's side at most this many px (a comparison's panes).
    on_click: called when a person clicks the plot; the result's `click` then holds
    {"x", "y": box coordinates, "kind": "fake" | "real" | None, "index": the nearest
    point within reach, or None}.
    film: while the run plays, {"url", "every_ms"}: the film fetches newer payloads there
    that often (film.py), between the reruns that send `payload`.
    """
    if height is not None and height < MIN_HEIGHT:
        raise ValueError(f"height must be at least {MIN_HEIGHT} px (or None for a square "
                         f"arena), got {height}")
    if leave_px is not None and leave_px < 0:
        raise ValueError(f"leave_px must be >= 0 (the window height kept above the arena), "
                         f"got {leave_px}")
    if max_side is not None and max_side < MIN_SIDE:
        raise ValueError(f"max_side must be at least {MIN_SIDE} px, got {max_side}")
    data = {**payload, "height": height, "leave_px": leave_px, "min_fit": MIN_FIT,
            "max_side": max_side, "clickable": on_click is not None, "film": film}
    callbacks = {"on_click_change": on_click} if on_click is not None else {}
    return _COMPONENT(key=key, data=data, width="stretch", height="content", **callbacks)

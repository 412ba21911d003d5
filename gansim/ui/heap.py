"""Hand the heap's freed pages back to the operating system now and then, so that a
server playing for hours keeps a flat resident size.

glibc's malloc keeps what NumPy and torch free in its arenas (one per thread that
allocates) for reuse; a playing session frees and allocates tens of MiB a minute
(snapshots, payloads, the story's tables), and the kept pages rise in steps over an
hour's soak while the Python objects stay flat (docs/class-server.md, "Where a soak's
growth lives"). glibc's malloc_trim(0) returns the free pages of every arena. Where
there is no such call (macOS, musl) nothing is done. No streamlit import.
"""
from __future__ import annotations

import ctypes
import threading
import time
from typing import Callable

TRIM_EVERY_S = 60.0  # a trim takes 2-40 ms with the malloc locks held: once a minute


def _find_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _find_trim()
_lock = threading.Lock()
_last = time.monotonic()


def now_and_then(now: float | None = None) -> bool:
    """Trim when TRIM_EVERY_S have passed since this process last did; True when it did.
    Any thread may call it: the session workers do, between two turns."""
    global _last
    now = time.monotonic() if now is None else now
    if _TRIM is None:
        return False
    with _lock:
        if now - _last < TRIM_EVERY_S:
            return False
        _last = now
    _TRIM(0)
    return True

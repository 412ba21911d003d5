"""Runs kept by their tab's token, so a reload finds its run again.

Streamlit makes a new session for every websocket, so a reload used to start a fresh
run. Each tab's link carries a random token (`run=…`); this process keeps the tab's
`Run` object under it, in memory only (never written out, never unpickled), bounded in
count and in age. A token is honoured by the session that owns it, or by a new one once
that session's page is gone (a reload). A copied link whose first tab is still open
gets a fresh run and token, so two students never share one run.
No streamlit import: plain objects, testable without a page.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

MAX_RUNS = 40  # per worker process, ~11 MiB each (bench_class: RSS per playing session)
MAX_AGE_S = 2 * 3600.0  # a run untouched this long is dropped (a lesson is shorter)
TOKEN = re.compile(r"[A-Za-z0-9_-]{16}")  # what new_token makes; anything else is ignored


def new_token() -> str:
    return secrets.token_urlsafe(12)  # 16 characters from TOKEN's alphabet


class RunStore:
    """token → (run, owner session id, last use); least recently used dropped first."""

    def __init__(self, max_runs: int = MAX_RUNS, max_age_s: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic):
        self.max_runs, self.max_age_s, self._clock = max_runs, max_age_s, clock
        self._runs: OrderedDict[str, list] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._runs)

    def put(self, token: str, run: Any, owner: str) -> None:
        with self._lock:
            self._runs[token] = [run, owner, self._clock()]
            self._runs.move_to_end(token)
            self._trim()

    def take(self, token: Any, owner: str, alive: Callable[[str], bool]) -> Any | None:
        """The run kept under `token` for session `owner`, or None (unknown, malformed,
        expired, or still held by another session whose page is open)."""
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            return None
        with self._lock:
            self._trim()
            entry = self._runs.get(token)
            if entry is None or (entry[1] != owner and alive(entry[1])):
                return None
            entry[1], entry[2] = owner, self._clock()
            self._runs.move_to_end(token)
            return entry[0]

    def touch(self, token: str) -> None:
        """Mark a run as in use (every full rerun of its page does)."""
        with self._lock:
            if token in self._runs:
                self._runs[token][2] = self._clock()
                self._runs.move_to_end(token)

    def _trim(self) -> None:
        now = self._clock()
        for token in [t for t, e in self._runs.items() if now - e[2] > self.max_age_s]:
            del self._runs[token]
        while len(self._runs) > self.max_runs:
            self._runs.popitem(last=False)


STORE = RunStore()  # one per process: a reload comes back to the same worker (serve.py)

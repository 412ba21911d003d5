"""A session's training worker: while the page plays, its Run trains in a thread of its own.

Before (issue 22), a frame of the page trained for 65 ms, then snapshotted and drew: the
process spent a third of its time drawing, trained 0.37× a plain PyTorch loop, and the
arena changed 8–9 times a second. Now training never waits for drawing: the worker
trains turn after turn (each turn in the process's fair share, gansim/ui/fair.py, and
under `Run.lock`, a FIFO lock, so the page's snapshot slips in between two turns), and
the page takes the newest state whenever it draws.

A thread, not a process: torch releases the GIL inside its ops, the Trainer and its
lock stay in one place (Step D/G, cures, rewind and the lesson panel all use them), and
a snapshot needs no pickling. The worker checks its stop flag between two updates, so a
Pause, a Reset or a live setting acts within one update; it stops by itself when a
lesson run has trained its N steps (exactly N: each turn trains at most what is left),
when the run diverges, and when the page has not drawn for HEARTBEAT_S (the tab closed or
the session ended: no orphan thread). A page whose tab is still connected but that has
not drawn (a browser too busy to ask for frames, as ten live pages sharing one core in
bench/bench_class.py were; a hidden tab) keeps its run training for up to STARVED_S:
stopping it at 4 s there cost a session up to half its steps against its classmates'.
No streamlit import: testable without a page.
"""
from __future__ import annotations

import atexit
import threading
import time
import weakref
from typing import Callable, NamedTuple

from . import heap

HEARTBEAT_S = 4.0  # the page draws 2.5–5×/s while playing; 4 s of silence: nobody watches
STARVED_S = 30.0  # ... unless its tab is still connected: then this long
JOIN_S = 1.0  # how long a pause waits for the thread to end (it ends at once)
WAIT_S = 0.05  # nothing to train (a step compiling): look again this often


class Speed(NamedTuple):
    """How a worker paces its run (the page's speed control, gansim/ui/transport.SPEEDS)."""
    steps: int | None  # at most this many G steps per frame_s (None: all it can train)
    turn_s: float  # seconds of training per fair turn (gansim/ui/fair.py)
    frame_s: float  # seconds between two snapshots the page draws while it plays


NORMAL = Speed(None, 0.065, 0.4)  # the speed control's default, and a worker's until set


_LIVE: weakref.WeakSet = weakref.WeakSet()  # every worker of this process


@atexit.register
def stop_all() -> None:
    """Stop every worker of this process: when it ends (the server stops: no thread left
    inside a torch op), and between two AppTest pages of the test suite."""
    for w in list(_LIVE):
        w._stop.set()
    for w in list(_LIVE):
        if w.alive:
            w._thread.join(JOIN_S)


class Stopped(Exception):
    """Raised inside the worker's wait for a fair turn when it was asked to stop."""


class Worker:
    """Trains one Run in a thread: play(), pause(), beat(); the plan survives a restart."""

    def __init__(self, run):
        self.run = run
        self._stop = threading.Event()
        self._plan = threading.Lock()  # guards `left` between the thread and the page
        self._thread: threading.Thread | None = None
        self.left: int | None = None  # updates a lesson run still trains (None: until paused)
        self.phase = "both"  # what a lesson run trains: "both", "d" or "g"
        self.speed = NORMAL
        self.beat_at = time.monotonic()
        # Whether the page's tab is still connected (set by the page, which can ask the
        # server; None where nobody can say, as in tests without one).
        self.connected: Callable[[], bool] | None = None
        self.ended = ""  # why the thread last ended: pause, done, error, heartbeat

    # --- the page's side ---------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """A lesson run has trained all its steps."""
        return self.left == 0

    def play(self, left: int | None = None, phase: str = "both") -> None:
        """Train `left` updates of `phase` (None: until paused), starting now."""
        with self._plan:
            self.left, self.phase = left, phase
        self.start()

    def drop_left(self) -> None:
        """A lesson run's remaining steps are dropped; play, if on, goes on freely."""
        with self._plan:
            self.left, self.phase = None, "both"

    def set_speed(self, speed: Speed) -> None:
        self.speed = speed

    def beat(self) -> None:
        """The page drew: someone is watching."""
        self.beat_at = time.monotonic()

    def start(self) -> None:
        """Start the thread unless it runs or there is nothing to train."""
        if self.alive or self.left == 0 or self.run.error:
            return
        self.beat()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"gansim-worker-{id(self.run):x}")
        self._thread.start()
        _LIVE.add(self)

    def pause(self) -> None:
        """Stop training: when this returns no update runs, and none will start."""
        self._stop.set()
        with self.run.lock:  # the update under way ends; the thread sees the flag before
            pass             # the next one (it checks under the lock)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_S)

    # --- the thread's side ---------------------------------------------------------------
    def _unwatched(self) -> bool:
        """Nobody watches: no drawing for HEARTBEAT_S, or STARVED_S while the tab is
        still connected."""
        quiet = time.monotonic() - self.beat_at
        if quiet <= HEARTBEAT_S:
            return False
        connected = self.connected
        return quiet > STARVED_S or connected is None or not connected()

    def _stopping(self) -> bool:
        return self._stop.is_set()

    def _yield_check(self) -> None:
        if self._stop.is_set():
            raise Stopped

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                if self._unwatched():
                    self.ended = "heartbeat"
                    return
                started = time.monotonic()
                with self._plan:
                    left, phase = self.left, self.phase
                speed = self.speed
                want = left if speed.steps is None else min(speed.steps, left or speed.steps)
                done = self.run.train_for(speed.turn_s, want, phase, stop=self._stopping,
                                          yield_check=self._yield_check)
                with self._plan:
                    if self.left is not None and self.phase == phase:
                        self.left = max(0, self.left - done)
                    left = self.left
                if self.run.error or left == 0:
                    self.ended = "error" if self.run.error else "done"
                    return
                heap.now_and_then()  # a long play keeps a flat resident size
                if speed.steps is not None:  # a slow speed: the rest of the frame idles
                    self._stop.wait(max(0.0, speed.frame_s - (time.monotonic() - started)))
                elif done == 0 and self.run.trainer.compiling:  # training waits for it
                    self._stop.wait(WAIT_S)
            self.ended = "pause"
        except Stopped:
            self.ended = "pause"

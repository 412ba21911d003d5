"""Fair share of one app process between its students' training.

Every playing session trains in a worker thread of its own (gansim/ui/worker.py). Left
alone, those threads fight over the GIL one small torch op at a time (each op releases
it, and a thread busy in pure Python keeps it for up to the switch interval), so ten
sessions trained less together than one alone, unevenly. Here the workers of a process
take turns, first come first served, and each turn is short enough that a round of
every playing session stays near ROUND_S: the fair share governs the workers, not the
page's frames, which draw without queueing. A worker asked to stop (a Pause) leaves the
queue at once (Turnstile.turn's yield_check). The cost limits below keep one heavy
setting from holding a turn for long.
No streamlit import: this is plain threading, testable without a page.
"""
from __future__ import annotations

import functools
import os
import threading
import time
from collections import deque
from contextlib import contextmanager

from ..config import DEFAULT, Config
from ..cost import cost_adders, relative_step_cost

ROUND_S = 0.3  # one turn for every playing session: a frame's wait (never a click's)
MIN_TURN_S = 0.02  # below this a frame would be mostly drawing, hardly training
ACTIVE_S = 2.0  # a session that trained this recently counts as playing
SUBSTEP_LIMIT_S = 0.5  # one D or G update estimated above this is refused, not played
WARN_FACTOR = 10.0  # a step estimated at this many default steps gets a warning first
PLAIN_STEP_S = 0.004  # prior for one default step on one core, until measured
POLL_S = 0.05  # a queueing frame looks this often for a click of its own page
DRAW_MEAN = 0.1  # weight of the newest turn in the moving mean of drawing time


class Turnstile:
    """First-come-first-served turns (threading.Lock alone does not queue fairly)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._queue: deque = deque()
        self._seen: dict[int, float] = {}  # session id → last time it trained
        self._holder: int | None = None  # the thread whose turn it is
        self._trained = 0.0  # seconds the holder's turn has trained so far
        self.draw_s = 0.0  # moving mean of a turn's time outside training (drawing)

    @contextmanager
    def turn(self, who: int, yield_check=None, wait: bool = True):
        """Wait for this thread's turn; yields True once it holds it.

        Nested turns of the holder pass straight in (a frame's turn covers its training
        and its drawing). While queueing, `yield_check` is called every POLL_S: it
        raises when the session's own page has asked for something new (a Pause, a
        Reset, a setting), and the thread leaves the queue at once instead of waiting a
        round for a turn it no longer wants. With wait=False the turn is taken only if
        nobody holds or awaits one; otherwise this yields False at once.
        """
        if self._holder == threading.get_ident():
            yield True
            return
        me = object()
        with self._cond:
            if not wait and self._queue:
                got = False
            else:
                self._queue.append(me)
                self._wait_for(me, yield_check)
                self._holder, got = threading.get_ident(), True
        if not got:
            yield False
            return
        start = time.perf_counter()
        try:
            yield True
        finally:
            drew = time.perf_counter() - start - self._trained
            with self._cond:
                self.draw_s = (1 - DRAW_MEAN) * self.draw_s + DRAW_MEAN * max(0.0, drew)
                self._trained = 0.0
                self._holder = None
                self._queue.popleft()
                self._seen[who] = time.monotonic()
                self._cond.notify_all()

    def _wait_for(self, me: object, yield_check) -> None:
        """Block (holding self._cond) until `me` heads the queue; leave it on a raise."""
        try:
            while self._queue[0] is not me:
                self._cond.wait(POLL_S if yield_check else None)
                if yield_check and self._queue[0] is not me:
                    yield_check()
        except BaseException:
            self._queue.remove(me)
            self._cond.notify_all()
            raise

    def playing(self) -> int:
        """Sessions that trained in the last ACTIVE_S (at least 1: the one asking)."""
        now = time.monotonic()
        with self._cond:
            for who in [w for w, t in self._seen.items() if now - t > ACTIVE_S]:
                del self._seen[who]
            return max(1, len(self._seen))

    def trained(self, seconds: float) -> None:
        """The holder says how long its turn trained (the rest of the turn was drawing)."""
        self._trained += seconds

    def turn_seconds(self, wanted: float) -> float:
        """A frame's training time: what the speed asks, shrunk so a round fits ROUND_S,
        but not below the time a turn spends drawing. Below that most of the process goes
        to drawing: with ~50 ms of drawing a frame, ten sessions' 30 ms turns would train
        38 % of the time against 57 % for one session alone (65 ms turns), two thirds of
        it; turns at least as long as the drawing keep the class near what one student
        alone trains, at the cost of fewer frames each."""
        return min(wanted, max(MIN_TURN_S, self.draw_s, ROUND_S / self.playing()))


class FifoLock:
    """A lock handed over in arrival order. threading.Lock lets the thread that releases
    it take it straight back, so a worker training slice after slice could keep the
    page's snapshot (and a Pause) waiting; here a waiter that arrived first goes first."""

    def __init__(self):
        self._cond = threading.Condition()
        self._queue: deque = deque()
        self._held = False

    def acquire(self) -> bool:
        me = object()
        with self._cond:
            self._queue.append(me)
            while self._held or self._queue[0] is not me:
                self._cond.wait()
            self._queue.popleft()
            self._held = True
        return True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    def locked(self) -> bool:
        return self._held

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


CLICK_WAIT_S = 0.5  # the longest another session's click holds a frame or a worker's turn


class Clicks:
    """Full page runs under way in this process (a click, a first visit), per session.

    A click's run draws the whole page (~0.1–0.3 s of Python) while every other playing
    session's frames and worker turns want the same GIL: with ten sessions playing, the
    server's part of a Pause was ~1 s and of a Reset ~2 s. While one session's full run
    is under way, the other sessions' frames and turns wait for it, at most CLICK_WAIT_S
    (a long run only delays them): a click goes before a frame. A session is named by
    its Run's lock, which its comparison shares (session.Comparison)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._running: dict[object, int] = {}  # session → its full runs under way

    @contextmanager
    def running(self, owner: object):
        with self._cond:
            self._running[owner] = self._running.get(owner, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                self._running[owner] -= 1
                if not self._running[owner]:
                    del self._running[owner]
                self._cond.notify_all()

    def others(self, owner: object) -> bool:
        """Whether a session other than `owner` has a full run under way."""
        with self._cond:
            return self._others(owner)

    def _others(self, owner: object) -> bool:
        return any(o is not owner for o in self._running)

    def wait_for_others(self, owner: object, timeout: float = CLICK_WAIT_S) -> None:
        """Wait while another session's full run is under way, at most `timeout` s."""
        with self._cond:
            self._cond.wait_for(lambda: not self._others(owner), timeout)


TURNSTILE = Turnstile()  # one per process: the process is what the sessions share
CLICKS = Clicks()
CLICK_LOG = os.environ.get("GANSIM_CLICK_LOG")  # set by bench/bench_class.py only


def note(event: str) -> None:
    """Append "<unix time> <event>" to GANSIM_CLICK_LOG when set: the load test splits a
    click's delay into the server's part (click → callback → page redrawn) and the
    browser's (the rest), both on one machine's clock."""
    if CLICK_LOG:
        with open(CLICK_LOG, "a") as log:
            log.write(f"{time.time():.3f} {event}\n")


# --- what one update costs ----------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _units(cfg: Config) -> dict[str, float]:
    """Estimated cost of one D update and one G update, in default-step units.

    Cached: it is asked on every update of every playing session, and each call builds
    and validates two Configs (~33 µs, ~5 % of a default step with its three calls)."""
    default = relative_step_cost(DEFAULT)
    total = relative_step_cost(cfg)
    d_one = (relative_step_cost(cfg.replace(d_steps=2, unroll=0))
             - relative_step_cost(cfg.replace(d_steps=1, unroll=0)))
    g_one = total - cfg.d_steps * d_one
    return {"d": d_one / default, "g": g_one / default, "step": total / default}


WHOLE_STEP_S = 0.25  # a step estimated above this (at PLAIN_STEP_S) is played split


def whole_steps(cfg: Config) -> bool:
    """Whether Play trains `cfg` in whole steps (the compiled step) rather than one D or
    G update at a time over frames. Decided by the settings alone, never by timings, so
    the same link trains the same numbers on a busy server and on a quiet one."""
    return _units(cfg)["step"] * PLAIN_STEP_S <= WHOLE_STEP_S


def learn_unit_s(unit_s: float, took: float, cfg: Config, kind: str) -> float:
    """Update the seconds-per-unit estimate with one timed update (a slow moving mean:
    one update slowed by a neighbour's burst must not refuse the next settings)."""
    return 0.95 * unit_s + 0.05 * took / _units(cfg)[kind]


def costly_settings(cfg: Config) -> str:
    names = [f"{k}={getattr(cfg, k)}" for k in cost_adders(cfg)]
    return ", ".join(names) or "the current settings"


def cost_warning(cfg: Config, step_s: float = PLAIN_STEP_S) -> str | None:
    """A note for settings far costlier than the default, shown before they train."""
    u = _units(cfg)
    if u["step"] < WARN_FACTOR:
        return None
    cost = (f"One training step with these settings costs about {u['step']:.0f}× a default "
            f"step (≈ {u['step'] * step_s:.2f} s on this server; {costly_settings(cfg)})")
    if refusal(cfg, "d", step_s) or refusal(cfg, "g", step_s):
        return (f"{cost}: too costly to play live on a shared server. Step D and Step G "
                f"still work; or train it headless with `python -m gansim run`.")
    return f"{cost}: expect about {1 / (u['step'] * step_s):.1f} steps/s, fewer when the " \
           f"class is playing."


def refusal(cfg: Config, phase: str, step_s: float = PLAIN_STEP_S) -> str | None:
    """Why one `phase` ("d"/"g") update cannot be played live, or None when it can."""
    seconds = _units(cfg)[phase] * step_s
    if seconds <= SUBSTEP_LIMIT_S:
        return None
    who = {"d": "discriminator", "g": "generator"}[phase]
    return (f"One {who} update with these settings is estimated at {seconds:.1f} s "
            f"({costly_settings(cfg)}), more than the {SUBSTEP_LIMIT_S} s a shared class "
            f"server gives one update, so it is not played live. Lower batch or unroll, "
            f"set unroll_first_order, or train it headless with `python -m gansim run`.")

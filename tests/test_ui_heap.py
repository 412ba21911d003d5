"""gansim/ui/heap.py: the workers hand freed heap back to the OS, at most once a minute."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from gansim.ui import heap


def rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def test_a_trim_comes_at_most_once_per_interval(monkeypatch):
    calls = []
    monkeypatch.setattr(heap, "_TRIM", calls.append)
    monkeypatch.setattr(heap, "_last", 1000.0)
    assert not heap.now_and_then(1000.0 + heap.TRIM_EVERY_S - 1)
    assert heap.now_and_then(1000.0 + heap.TRIM_EVERY_S)
    assert not heap.now_and_then(1000.0 + heap.TRIM_EVERY_S + 1)  # the clock restarted
    assert heap.now_and_then(1000.0 + 2 * heap.TRIM_EVERY_S)
    assert calls == [0, 0]


def test_without_malloc_trim_nothing_is_done(monkeypatch):
    monkeypatch.setattr(heap, "_TRIM", None)
    monkeypatch.setattr(heap, "_last", 0.0)
    assert not heap.now_and_then(1e9)


@pytest.mark.skipif(heap._TRIM is None, reason="no glibc malloc_trim on this system")
def test_a_trim_returns_what_a_thread_freed(monkeypatch):
    """As a worker thread does: ~40 MiB in pieces below glibc's mmap threshold, freed but
    for the last (which pins the heap's top). Threshold: 20 MiB of it comes back."""
    kept = []

    def churn():
        blocks = [np.ones(100 * 1024 // 8) for _ in range(400)]
        kept.append(blocks[-1])

    thread = threading.Thread(target=churn)
    thread.start()
    thread.join()
    monkeypatch.setattr(heap, "_last", 0.0)
    before = rss_mib()
    assert heap.now_and_then()
    assert before - rss_mib() >= 20

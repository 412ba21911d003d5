"""gansim/ui/worker.py: a Run trains in its own thread; Pause, a live change and the end of
a lesson run act at once, numbers equal Trainer.train's, and no thread outlives its page."""
import threading
import time

import pytest
import torch

from gansim.config import Config
from gansim.trainer import Trainer
from gansim.ui import worker
from gansim.ui.session import Run

CFG = Config(seed=11)


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def _wait(cond, timeout=30.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def _same_weights(a: Trainer, b: Trainer) -> bool:
    pairs = [*zip(a.G.parameters(), b.G.parameters()), *zip(a.D.parameters(), b.D.parameters())]
    return all(torch.equal(x, y) for x, y in pairs)


def test_pause_stills_the_step_counter_within_0_2_s():
    run = Run(CFG)
    run.worker.play()
    _wait(lambda: run.step > 20)
    t0 = time.perf_counter()
    run.worker.pause()
    took = time.perf_counter() - t0
    still = run.step
    time.sleep(0.3)
    assert took < 0.2, f"pause took {took:.3f} s"
    assert run.step == still, "training went on after pause returned"
    assert not run.worker.alive and run.worker.ended == "pause"


def test_a_lesson_run_stops_at_exactly_n_with_the_numbers_of_trainer_train():
    """Many short turns (chunks) must train exactly what one Trainer.train(N) trains."""
    run = Run(CFG)
    # Turns of ~one step: the most chunking there is.
    run.worker.set_speed(worker.Speed(None, 0.002, 0.4))
    run.worker.play(left=137)
    _wait(lambda: not run.worker.alive)
    assert run.worker.ended == "done" and run.worker.finished
    time.sleep(0.1)
    assert run.step == 137
    ref = Trainer(CFG)
    ref.train(137)
    assert _same_weights(run.trainer, ref)
    ref.train(1)
    assert not _same_weights(run.trainer, ref), "the weight check cannot tell steps apart"


def test_a_one_player_run_trains_exactly_n_updates_of_that_player():
    run = Run(Config(seed=3, d_steps=2))
    run.worker.play(left=9, phase="d")
    _wait(lambda: not run.worker.alive)
    assert (run.trainer.d_step, run.trainer.g_step) == (9, 0)


def test_a_live_change_and_a_snapshot_wait_at_most_one_turn():
    run = Run(CFG)
    run.worker.play()
    _wait(lambda: run.step > 20)
    try:
        for _ in range(5):
            t0 = time.perf_counter()
            run.apply(CFG.replace(lr_d=1e-4))
            run.snapshot()
            assert time.perf_counter() - t0 < 0.2
        assert run.cfg.lr_d == 1e-4 and run.worker.alive
        before = run.step
        time.sleep(0.3)
        assert run.step > before, "the worker stopped training after a live change"
    finally:
        run.worker.pause()


def test_reset_while_playing_trains_the_fresh_networks():
    run = Run(CFG)
    run.worker.play()
    _wait(lambda: run.step > 50)
    try:
        run.reset()
        assert run.step < 50
        _wait(lambda: run.step > 5)
    finally:
        run.worker.pause()


def test_the_worker_ends_when_the_page_stops_drawing(monkeypatch):
    monkeypatch.setattr(worker, "HEARTBEAT_S", 0.3)
    run = Run(CFG)
    run.worker.play()
    _wait(lambda: not run.worker.alive, timeout=5.0)
    assert run.worker.ended == "heartbeat"
    still = run.step
    time.sleep(0.2)
    assert run.step == still
    names = [t.name for t in threading.enumerate()]
    assert not any(n == run.worker._thread.name for n in names), "an orphan worker thread"
    run.worker.start()  # the page came back: play goes on
    _wait(lambda: run.worker.beat() or run.step > still)
    run.worker.pause()


def test_a_connected_page_that_does_not_draw_keeps_training_until_starved_s(monkeypatch):
    """A tab that is still connected but too busy to draw (ten live pages on one browser
    core) is not a closed tab: its run trains on, up to STARVED_S without a frame."""
    monkeypatch.setattr(worker, "HEARTBEAT_S", 0.2)
    monkeypatch.setattr(worker, "STARVED_S", 1.5)
    run = Run(CFG)
    run.worker.connected = lambda: True
    run.worker.play()
    time.sleep(0.8)  # four heartbeats without a frame
    assert run.worker.alive, run.worker.ended
    _wait(lambda: not run.worker.alive, timeout=5.0)
    assert run.worker.ended == "heartbeat"


def test_a_closed_tab_still_stops_its_worker_at_the_heartbeat(monkeypatch):
    monkeypatch.setattr(worker, "HEARTBEAT_S", 0.2)
    monkeypatch.setattr(worker, "STARVED_S", 60.0)
    run = Run(CFG)
    run.worker.connected = lambda: False
    run.worker.play()
    _wait(lambda: not run.worker.alive, timeout=3.0)
    assert run.worker.ended == "heartbeat"


def test_a_beating_page_keeps_the_worker_alive(monkeypatch):
    monkeypatch.setattr(worker, "HEARTBEAT_S", 1.0)
    run = Run(CFG)
    run.worker.play()
    for _ in range(25):  # 2.5 s: more than twice the heartbeat
        time.sleep(0.1)
        run.worker.beat()
    assert run.worker.alive, run.worker.ended
    run.worker.pause()

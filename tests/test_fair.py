"""gansim/ui/fair.py and Run.train_for: turns, split steps, refused and announced costs."""
import threading
import time

import torch

from gansim.config import Config
from gansim.trainer import Trainer
from gansim.ui import fair
from gansim.ui.session import Run

HEAVY = Config(batch=4096, unroll=20)  # ~4 s per G update on one core (measured)


def test_a_step_split_over_frames_trains_exactly_like_a_whole_step(monkeypatch):
    """d_steps=3: four one-update frames make one step, weights equal Trainer.step()'s."""
    monkeypatch.setattr(fair, "WHOLE_STEP_S", 0.0)  # every step too costly to play whole
    torch.set_num_threads(1)
    cfg = Config(d_steps=3, seed=4)
    run, ref = Run(cfg), Trainer(cfg)
    done = [run.train_for(0.0) for _ in range(8)]  # a zero budget: one update per frame
    ref.train(2)
    assert done == [0, 0, 0, 1, 0, 0, 0, 1]
    assert run.trainer.g_step == 2 and run.trainer.d_step == 6
    for a, b in zip(run.trainer.G.parameters(), ref.G.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(run.trainer.D.parameters(), ref.D.parameters()):
        assert torch.equal(a, b)


def test_play_trains_whole_steps_unless_the_settings_make_one_too_costly(monkeypatch):
    """Whole steps (the engine's compiled step) whatever the turn's length, so a busy
    server and a quiet one train a link alike; settings whose step is too costly for
    one frame are played one update at a time."""
    torch.set_num_threads(1)
    assert fair.whole_steps(Config()) and fair.whole_steps(Config(loss="wasserstein", gp=10.0, d_steps=5))
    assert not fair.whole_steps(Config(batch=4096, unroll=5))
    run = Run(Config(d_steps=2, seed=7))
    calls = []
    for name in ("step", "step_d", "step_g"):
        original = getattr(run.trainer, name)
        monkeypatch.setattr(run.trainer, name,
                            lambda *a, _o=original, _n=name, **k: (calls.append(_n), _o(*a, **k))[1])
    assert run.train_for(0.0) == 1 and run.train_for(5.0, max_steps=2) == 2
    assert calls == ["step"] * 3, "a cheap step was split"


def test_an_update_too_costly_for_a_turn_is_refused_before_it_runs():
    run = Run(HEAVY)
    t0 = time.perf_counter()
    assert run.train_for(0.065) == 0
    assert time.perf_counter() - t0 < 1.0, "the refused update ran anyway"
    assert run.step == 0
    assert "generator update" in run.error and "unroll=20" in run.error
    assert "batch=4096" in run.error and "python -m gansim run" in run.error
    # Cheaper settings of the same kind play: batch 256 with unroll 5.
    light = Run(Config(unroll=5))
    assert light.train_for(5.0, max_steps=1) == 1 and light.error is None


def test_costly_links_are_announced_and_the_default_is_not():
    assert Run(Config()).cost_warning() is None
    note = Run(HEAVY).cost_warning()
    assert note and "unroll=20" in note and "batch=4096" in note and "too costly" in note
    moderate = fair.cost_warning(Config(batch=4096, unroll=2, unroll_first_order=True))
    assert moderate and "batch=4096" in moderate and "steps/s" in moderate
    assert fair.cost_warning(Config(batch=512)) is None  # 2× a default step: no fuss


def test_a_frame_turn_covers_its_training_without_waiting_on_itself():
    t, order = fair.Turnstile(), []
    with t.turn(1):
        other = threading.Thread(target=lambda: (t.turn(2).__enter__(), order.append("other")))
        other.start()
        with t.turn(1):  # the same thread again (the frame's training): no deadlock
            order.append("nested")
        time.sleep(0.1)
        order.append("outer done")
    other.join(5)
    assert order == ["nested", "outer done", "other"]


def test_turns_shrink_with_the_sessions_playing():
    t = fair.Turnstile()
    assert t.turn_seconds(0.065) == 0.065  # alone: what the speed asks
    for who in range(10):
        with t.turn(who):
            pass
    assert t.turn_seconds(0.065) == max(fair.MIN_TURN_S, fair.ROUND_S / 10)
    assert t.turn_seconds(0.065) <= 0.065


def test_a_turn_trains_at_least_as_long_as_a_turn_draws():
    """Ten sessions whose frames draw for 60 ms: 30 ms turns (ROUND_S / 10) would leave
    most of the process to drawing; the turn grows to about the drawing time instead."""
    t = fair.Turnstile()
    for turn in range(30):
        with t.turn(turn % 10):
            t.trained(0.01)
            time.sleep(0.07)  # 10 ms training, ~60 ms drawing
    assert t.draw_s >= 0.05, t.draw_s  # 60 ms × (1 - 0.9**30) = 57 ms, sleep runs long
    assert 0.05 <= t.turn_seconds(0.065) <= 0.065  # never above what the speed asks
    assert t.turn_seconds(0.02) == 0.02


def test_sessions_in_one_process_share_it_fairly():
    """Four sessions playing in threads: over 2 s each gets >= 70 % of the busiest one's
    turns (first come, first served), and a fifth that asks for a turn gets one within
    a round plus slack. Turns, not steps: steps also count the machine's other load."""
    torch.set_num_threads(1)
    runs = [Run(Config(seed=i)) for i in range(4)]
    turns = [0] * 4
    stop = threading.Event()

    def play(i):
        while not stop.is_set():
            runs[i].train_for(0.065)
            turns[i] += 1

    threads = [threading.Thread(target=play, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    time.sleep(1.0)  # every thread is queueing by now
    late = Run(Config(seed=9))
    t0 = time.perf_counter()
    late.train_for(0.0)
    waited = time.perf_counter() - t0
    start = list(turns)
    time.sleep(2.0)
    got = [t - s for t, s in zip(turns, start)]
    stop.set()
    for th in threads:
        th.join()
    assert min(got) >= 0.7 * max(got) and max(got) >= 4, got
    assert waited <= fair.ROUND_S + 0.5, f"a new session waited {waited:.2f} s for a turn"


class Click(Exception):
    """Stands in for Streamlit's RerunException: the page asked for something new."""


def test_a_click_takes_a_queueing_frame_out_of_the_queue_at_once():
    """Another session holds a long turn; our frame queues behind it. Its page's click
    (yield_check raising) must end the wait within POLL_S plus slack, not when the
    turn ends, and leave the queue clean for the sessions behind."""
    t, clicked, held = fair.Turnstile(), threading.Event(), threading.Event()
    release = threading.Event()

    def other_session():
        with t.turn(1):
            held.set()
            release.wait(5)

    def check():
        if clicked.is_set():
            raise Click()

    result = {}

    def our_frame():
        try:
            with t.turn(2, yield_check=check):
                result["got"] = "a turn"
        except Click:
            result["left"] = time.perf_counter()

    holder = threading.Thread(target=other_session)
    holder.start()
    held.wait(5)
    waiter = threading.Thread(target=our_frame)
    waiter.start()
    time.sleep(0.2)  # queueing now
    clicked.set()
    t0 = time.perf_counter()
    waiter.join(3)
    assert "got" not in result, "the frame waited for its turn and took it after the click"
    assert result["left"] - t0 <= fair.POLL_S + 0.2, result["left"] - t0
    release.set()
    holder.join(5)
    with t.turn(3, wait=False) as mine:  # nobody left queueing: a third frame goes in
        assert mine


def test_a_full_rerun_never_queues_behind_a_held_turn():
    t, held, release = fair.Turnstile(), threading.Event(), threading.Event()

    def other_session():
        with t.turn(1):
            held.set()
            release.wait(5)

    holder = threading.Thread(target=other_session)
    holder.start()
    held.wait(5)
    t0 = time.perf_counter()
    with t.turn(2, wait=False) as mine:
        assert not mine  # it draws without training instead of waiting
    assert time.perf_counter() - t0 < 0.1
    release.set()
    holder.join(5)


def test_the_costly_settings_named_are_the_ones_the_cost_function_reads():
    """One cost table (gansim/cost.py): fair.py names what relative_step_cost charges."""
    from gansim.cost import NO_EXTRA_COST, cost_adders, relative_step_cost
    assert cost_adders(Config()) == []
    assert cost_adders(Config(batch=64, d_steps=1)) == []  # cheaper than the default
    assert cost_adders(Config(batch=1024, unroll=5, gp=10.0, r1=1.0)) == [
        "batch", "unroll", "unroll_first_order", "gp", "r1"]
    assert cost_adders(Config(unroll=5, unroll_first_order=True, minibatch=5, d_steps=3)) == [
        "unroll", "minibatch", "d_steps"]
    # Each listed setting moves the cost: a name the function does not read would fail.
    dearer = {"batch": 1024, "unroll": 10, "unroll_first_order": False, "minibatch": 5,
              "d_steps": 3, "gp": 10.0, "r1": 1.0, "r2": 1.0}
    assert set(dearer) == set(NO_EXTRA_COST)
    cheap = Config(unroll=5).replace(**{k: v for k, v in NO_EXTRA_COST.items() if k != "unroll"})
    for field, value in dearer.items():
        dear = cheap.replace(**{field: value})
        assert relative_step_cost(dear) > relative_step_cost(cheap), field
    assert fair.costly_settings(Config(batch=4096, unroll=20)) == \
        "batch=4096, unroll=20, unroll_first_order=False"


def test_another_sessions_click_holds_a_workers_training_and_its_own_does_not(monkeypatch):
    """While another session's full run (a click) is drawn, a worker ends its turn after
    the update under way and waits (at most CLICK_WAIT_S); its own page's click does not
    hold it (that page's Pause must still find the turn ending by itself)."""
    torch.set_num_threads(1)
    # Turns as long as asked (turn_seconds shares ROUND_S among the sessions seen lately,
    # other tests' runs included): 5 steps then fit in a turn on a busy machine.
    monkeypatch.setattr(fair, "ROUND_S", 100.0)
    run, other = Run(Config(seed=1)), Run(Config(seed=2))
    run.train_for(0.01)  # warm: the first step builds what later steps reuse
    with fair.CLICKS.running(run.lock):  # its own click: the turn goes on
        assert run.train_for(5.0, max_steps=5) == 5
    with fair.CLICKS.running(other.lock):
        start = time.perf_counter()
        done = run.train_for(5.0, max_steps=5)
        waited = time.perf_counter() - start
    assert done == 1, "the turn went on past one update during another page's click"
    assert fair.CLICK_WAIT_S <= waited < fair.CLICK_WAIT_S + 0.5, waited


def test_a_click_ending_releases_the_waiting_frames_at_once():
    owner, other = object(), object()
    released = []
    with fair.CLICKS.running(owner):
        thread = threading.Thread(target=lambda: (fair.CLICKS.wait_for_others(other, 5.0),
                                                  released.append(time.perf_counter())))
        thread.start()
        time.sleep(0.2)
        assert not released and fair.CLICKS.others(other) and not fair.CLICKS.others(owner)
        ended = time.perf_counter()
    thread.join(5)
    assert released and released[0] - ended < 0.1 and not fair.CLICKS.others(other)

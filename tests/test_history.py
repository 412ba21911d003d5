import math

from gansim.history import KEYS, History


def test_history_stays_bounded_and_keeps_order():
    h = History(max_rows=100)
    for step in range(1, 10_001):
        h.append({"step": step, "d_loss": 1.0})
    assert len(h) <= 100
    steps = h.rows["step"]
    assert steps == sorted(steps) and steps[0] == 1.0
    assert h.stride > 1
    assert set(h.as_arrays()) == set(KEYS)


def test_last_skips_missing_values():
    h = History()
    h.append({"step": 1, "modes": 3})
    h.append({"step": 2})
    assert h.last("modes") == 3
    assert math.isnan(h.last("hq"))


def test_state_round_trip():
    h = History(max_rows=10)
    for s in range(50):
        h.append({"step": s}, mass=[0.5, 0.5])
    g = History(max_rows=10)
    g.load(h.state())
    assert g.rows == h.rows and g.stride == h.stride and g.mass == h.mass

import math

import numpy as np

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


def test_thinning_keeps_evaluations_of_runs_without_modes():
    h = History(max_rows=100)
    for step in range(10, 30_001, 10):  # uploaded points: distance, no modes
        row = {"step": step, "d_loss": 1.0}
        if step % 100 == 0:
            row["distance"] = 0.5
        h.append(row)
    evals = [s for s, d in zip(h.rows["step"], h.rows["distance"]) if not math.isnan(d)]
    assert len(evals) >= 5


def test_thinning_keeps_the_whole_run_span_in_every_column():
    # 30k logged rows (300k G steps at log_every 10), an evaluation every 10th row.
    h = History(max_rows=2000)
    for i in range(1, 30_001):
        row = {"step": 10 * i, "d_loss": 1.0}
        if i % 10 == 0:
            row.update(modes=8, hq=0.5, distance=0.1)
        h.append(row, mass=[1.0] if i % 10 == 0 else None)
        assert len(h) <= 2001  # bounded at every moment, not just at the end
    steps = h.as_arrays()["step"]
    for key in ("modes", "hq", "distance", "d_loss"):
        col = h.as_arrays()[key]
        have = steps[~np.isnan(col)]
        # From the first few percent of the run to its newest row, with ≥ 50 points.
        assert have.min() <= 0.05 * steps.max() and have.max() == 300_000, key
        assert len(have) >= 50, key
    assert list(steps) == sorted(steps)
    assert len(h.mass) == len(h) and sum(1 for m in h.mass if m) == (~np.isnan(h.as_arrays()["modes"])).sum()

"""bench/reproduce_table.py: every method decays over the second half of however many
steps the table runs, and the target column says whether a row's means reach the bar."""
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import reproduce_table  # noqa: E402


def test_the_decay_covers_the_second_half_of_any_length():
    for steps in (3000, 8000):
        jobs = reproduce_table.jobs_for("ring8", ["gan", "pacgan2"], [0, 1], steps)
        assert len(jobs) == 4
        assert {(j.cfg.lr_decay_start, j.cfg.lr_decay_end) for j in jobs} == {(steps // 2, steps)}
    packed = reproduce_table.jobs_for("grid25", ["pacgan2"], [3], 100)[0].cfg
    assert (packed.pack, packed.lr_d, packed.lr_g, packed.seed) == (2, 1e-3, 1e-3, 3)


def test_the_target_column_compares_the_means_with_the_bar():
    row = pd.Series({"modes_mean": 7.6, "hq_mean": 0.36})
    assert reproduce_table._target(row, ("ring8", "unrolled")) == "≥ 7.5 / ≥ 35 %: met"
    assert reproduce_table._target(row, ("ring8", "pacgan2")).endswith("not met")
    assert reproduce_table._target(row, ("ring8", "gan")) == "—"

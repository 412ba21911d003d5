"""bench/bench_lessons.py: a lesson run played by its worker, watched as the page watches
it, records when each claim first holds, and a bounded run stops at its bound. Tiny
networks, a second or two."""
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import bench_lessons  # noqa: E402
from gansim.lessons import load_lesson  # noqa: E402
from lessonhelpers import TINY_CONFIG, write_lesson  # noqa: E402

TINY = """
id = "tiny"
title = "Tiny"
goal = "A test lesson."
""" + TINY_CONFIG + """
[[steps]]
label = "look"
text = "Nothing trains here."

[[steps]]
label = "run"
train = TRAIN
text = "Run."
[[steps.expect]]
metric = "g_grad"
op = ">="
value = 0
window = 1
[[steps.expect]]
metric = "g_grad"
op = "<"
value = 0
window = 1
"""


def tiny(tmp_path, train: int):
    return load_lesson(write_lesson(tmp_path, TINY.replace("TRAIN", str(train)), "01_tiny.toml"))


def test_a_replayed_run_records_when_each_claim_first_holds(tmp_path):
    ((index, step, _cfg, r),) = list(bench_lessons.play_lesson(tiny(tmp_path, 20), 0, 300.0))
    assert index == 1 and step.label == "run" and r["trained"] == 20 and r["error"] is None
    # A gradient norm is never negative: the first claim holds from the first page frame
    # that shows a logged one, the second never.
    assert 0 <= r["first"][0] <= r["seconds"]
    assert r["first"][1] is None
    assert r["at_end"] == [True, False]


def test_a_run_stops_at_its_time_bound(tmp_path):
    ((_i, _step, _cfg, r),) = list(bench_lessons.play_lesson(tiny(tmp_path, 100_000), 0, 1.0))
    assert 0 < r["trained"] < 100_000
    assert 1.0 <= r["seconds"] < 10  # stopped after the tick that crossed the bound
    assert not r["error"]

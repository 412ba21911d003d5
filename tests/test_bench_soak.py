"""bench/bench_soak.py's growth figures: a window's median ignores the swings a single
reading catches (payloads being built), and still follows a real climb."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import bench_soak  # noqa: E402

HOUR = 3600


def readings(per_hour: float, swing: float) -> list[tuple[float, float]]:
    """A reading every 2 s for an hour: a line at `per_hour` MiB/hour, plus `swing` MiB on
    every seventh reading late in each window (the spikes that tilt a fit)."""
    out = []
    for t in range(0, HOUR + 1, 2):
        spike = swing if t % 14 == 0 and t % bench_soak.WINDOW_S > 200 else 0.0
        out.append((float(t), 480.0 + per_hour * t / HOUR + spike))
    return out


def test_the_medians_see_a_flat_hour_as_flat_whatever_the_spikes():
    medians = bench_soak.window_medians(readings(0.0, 15.0))
    assert len(medians) == HOUR // bench_soak.WINDOW_S  # twelve 5-minute windows
    assert all(m == 480.0 for _, m in medians)
    assert abs(bench_soak.slope_per_hour(medians[1:])) < 1e-9


def test_the_medians_follow_a_real_climb():
    medians = bench_soak.window_medians(readings(12.0, 15.0))
    assert abs(bench_soak.slope_per_hour(medians[1:]) - 12.0) < 0.1

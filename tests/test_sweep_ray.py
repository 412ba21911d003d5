"""gansim/sweep_ray.py: `sweep --ray` gives the local pool's rows; a dead worker costs
only its task. Skipped without Ray unless GANSIM_REQUIRE_EXTRAS=1 (CI) makes it fail."""
import os
from pathlib import Path

import pandas as pd
import pytest

from gansim import Config, sweep
from gansim.cli import main

# Everything in a row but the wall-clock columns.
DETERMINISTIC = [c for c in sweep.COLUMNS if c not in ("seconds", "steps_per_s")]


@pytest.fixture(scope="module")
def local_ray():
    try:
        import ray  # noqa: F401
    except ImportError:
        message = "Ray not installed; pip install -r requirements-cluster.txt"
        if os.environ.get("GANSIM_REQUIRE_EXTRAS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from gansim import sweep_ray

    assert sweep_ray.connect(None, num_cpus=2) == 2
    yield sweep_ray
    sweep_ray.shutdown()


def rows(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path / "runs.csv")
    return df.sort_values(["setting", "seed"]).reset_index(drop=True)[DETERMINISTIC]


def test_ray_gives_the_local_pools_rows_for_a_2x2x300_sweep(local_ray, tmp_path):
    argv = ["sweep", "--grid", "loss=nonsaturating,wasserstein", "--seeds", "2",
            "--steps", "300", "--quiet"]
    # The local backend in this process (--jobs 1) plans the same two seed-batch tasks
    # as Ray on two CPUs (sweep.plan_tasks), without a spawn pool's start-up.
    jobs = sweep.expand(Config(), {"loss": ["nonsaturating", "wasserstein"]}, [0, 1])
    assert sweep.plan_tasks(jobs, 1, 0) == sweep.plan_tasks(jobs, 2, 0)
    assert main(argv + ["--out", str(tmp_path / "local"), "--jobs", "1"]) == 0
    assert main(argv + ["--out", str(tmp_path / "ray"), "--ray"]) == 0
    local, on_ray = rows(tmp_path / "local"), rows(tmp_path / "ray")
    assert len(on_ray) == 4 and (on_ray["steps"] == 300).all()
    pd.testing.assert_frame_equal(local, on_ray)
    assert (tmp_path / "ray" / "summary.md").exists()
    # Resume: the same command again finds every row done and trains nothing.
    before = (tmp_path / "ray" / "runs.csv").read_text()
    assert main(argv + ["--out", str(tmp_path / "ray"), "--ray"]) == 0
    assert (tmp_path / "ray" / "runs.csv").read_text() == before


def test_a_dead_worker_loses_only_its_task_which_is_retried(local_ray, tmp_path):
    def die_once_then_answer(task):  # nested: Ray ships it by value to its workers
        """A task whose worker process dies on its first try (a marker file remembers)."""
        (job,), marker, _ = task
        if job.setting == "loss=hinge" and not os.path.exists(marker):
            with open(marker, "w") as f:
                f.write("died")
            os._exit(1)  # the worker process dies, as if killed or out of memory
        return [{"setting": job.setting}]

    marker = str(tmp_path / "died")
    jobs = sweep.expand(Config(), {"loss": ["nonsaturating", "hinge", "wasserstein"]}, [0])
    got = list(local_ray.results([([j], marker, 0) for j in jobs], 2, fn=die_once_then_answer))
    assert Path(marker).read_text() == "died"  # the death did happen
    assert sorted(r["setting"] for r in got) == sorted(j.setting for j in jobs)

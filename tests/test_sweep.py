"""Sweeps: the grid is validated up front, runs are saved as they finish, reruns resume."""
import math
import re

import altair as alt
import pandas as pd
import pytest

from gansim import Config, sweep
from gansim.cli import main

GRID = {"loss": ["nonsaturating", "wasserstein"]}


def no_training(*args, **kwargs):
    raise AssertionError("a run started")


@pytest.mark.parametrize("grid, says", [
    ({"los": ["hinge"]}, "did you mean 'loss'"),
    ({"gp": ["0", "abc"]}, "gp must be a float"),
    ({"gp": [0, -1]}, "gp must be in"),
    ({"loss": ["nonsaturating", "hinge"], "label_smoothing": [0.1]}, "'loss=hinge label_smoothing=0.1'"),
    ({"seed": [1, 2]}, "--seeds"),
    ({"gp": []}, "no values"),
    ({"gp": ["10", "10.0"]}, "repeats"),
])
def test_a_bad_grid_is_rejected_before_anything_runs(tmp_path, monkeypatch, grid, says):
    monkeypatch.setattr(sweep, "run_task", no_training)
    with pytest.raises(ValueError, match=says):
        sweep.run_sweep(Config(), grid, [0, 1], 10, tmp_path / "s", jobs=1)
    assert not (tmp_path / "s").exists()


def test_the_cli_rejects_a_bad_grid_with_exit_2(tmp_path, capsys):
    assert main(["sweep", "--grid", "loss=nonsaturating,hinge", "--set", "label_smoothing=0.1",
                 "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "label_smoothing" in err
    assert not (tmp_path / "s").exists()


def test_expand_makes_every_combination_times_every_seed():
    jobs = sweep.expand(Config(data="grid25"), {"loss": ["wasserstein", "hinge"], "gp": ["0", "10"]},
                        [3, 4, 5])
    assert len(jobs) == 12
    assert jobs[0].setting == "loss=wasserstein gp=0" and jobs[0].cfg.gp == 0.0
    assert {(j.setting, j.seed) for j in jobs} == {
        (f"loss={l} gp={g}", s) for l in ("wasserstein", "hinge") for g in (0, 10) for s in (3, 4, 5)}
    assert all(j.cfg.data == "grid25" and j.cfg.seed == j.seed for j in jobs)


def test_a_tiny_sweep_writes_its_files_and_a_rerun_skips_finished_runs(tmp_path, monkeypatch):
    out = tmp_path / "s"
    df = sweep.run_sweep(Config(g_hidden=32, d_hidden=32, batch=64), GRID, [0, 1], 20, out, jobs=2)
    assert len(df) == 4 and set(df["setting"]) == {"loss=nonsaturating", "loss=wasserstein"}
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 4 and tuple(runs.columns) == sweep.COLUMNS
    assert (runs["steps"] == 20).all() and (runs["evals_used"] == 1).all()
    text = (out / "summary.md").read_text()
    assert "last 3 evaluations" in text and "loss=wasserstein" in text
    alt.TopLevelFacetSpec.from_dict(sweep.chart_spec(df), validate=True)  # valid Vega-Lite
    html = (out / "summary.html").read_text()
    assert "Sweep: mean ± standard error over seeds" in html  # the chart is in the page
    # ...with Vega inlined: a classroom without internet still sees it.
    assert not re.search(r"<script[^>]*\bsrc=", html) and "cdn.jsdelivr" not in html

    monkeypatch.setattr(sweep, "run_task", no_training)  # everything is done: nothing runs
    again = sweep.run_sweep(Config(g_hidden=32, d_hidden=32, batch=64), GRID, [0, 1], 20, out, jobs=2)
    assert len(pd.read_csv(out / "runs.csv")) == 4
    pd.testing.assert_frame_equal(again, df)


def test_an_interrupted_sweep_resumes_with_the_missing_runs_only(tmp_path, monkeypatch):
    out = tmp_path / "s"
    base = Config(g_hidden=16, d_hidden=16, batch=32)
    sweep.run_sweep(base, GRID, [0, 1], 5, out, jobs=1)
    runs = pd.read_csv(out / "runs.csv")
    runs.iloc[:3].to_csv(out / "runs.csv", index=False)  # as if the sweep stopped after 3
    ran = []
    real_run_task = sweep.run_task
    monkeypatch.setattr(sweep, "run_task", lambda jobs, *a: ran.extend(jobs) or real_run_task(jobs, *a))
    df = sweep.run_sweep(base, GRID, [0, 1], 5, out, jobs=1)
    assert [(j.setting, j.seed) for j in ran] == [("loss=wasserstein", 1)]
    assert len(df) == 4 and len(pd.read_csv(out / "runs.csv")) == 4


def test_a_line_that_is_not_a_run_is_named_before_anything_trains(tmp_path, monkeypatch):
    base = Config(g_hidden=16, d_hidden=16, batch=32)
    sweep.run_sweep(base, {"gp": [0]}, [0, 1], 5, tmp_path, jobs=1)
    path = tmp_path / "runs.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[1] + lines[0])  # a second header where seed 1 was
    monkeypatch.setattr(sweep, "run_task", no_training)
    with pytest.raises(ValueError, match=r"runs.csv line 3 is not a finished run \(seed='seed'\)"):
        sweep.run_sweep(base, {"gp": [0]}, [0, 1], 5, tmp_path, jobs=1)
    assert path.read_text() == lines[0] + lines[1] + lines[0]  # nothing lost or added


def test_resuming_with_other_steps_is_refused(tmp_path):
    base = Config(g_hidden=16, d_hidden=16, batch=32)
    sweep.run_sweep(base, {"gp": [0]}, [0], 5, tmp_path, jobs=1)
    with pytest.raises(ValueError, match="another --out"):
        sweep.run_sweep(base, {"gp": [0]}, [0], 6, tmp_path, jobs=1)


def test_summarize_gives_mean_and_standard_error_over_seeds():
    rows = [dict(setting="a", seed=s, diverged=0, modes=m, modes_any=m, hq=h, reverse_kl=0.1,
                 mass_modes=m, distance=0.0, precision=1.0, recall=1.0, seconds=2.0)
            for s, (m, h) in enumerate([(2, 0.5), (4, 0.7), (6, 0.9)])]
    rows.append(dict(rows[0], setting="b", reverse_kl=math.inf, diverged=1))
    s = sweep.summarize(pd.DataFrame(rows))
    assert list(s.index) == ["a", "b"]
    assert s.loc["a", "modes_mean"] == pytest.approx(4.0)
    assert s.loc["a", "modes_se"] == pytest.approx(2.0 / math.sqrt(3))  # std 2, n 3
    assert s.loc["a", "hq_se"] == pytest.approx(0.2 / math.sqrt(3))
    assert s.loc["a", "seconds_se"] == pytest.approx(0.0)
    assert math.isnan(s.loc["b", "modes_se"])  # one seed: no error bar
    assert s.loc["b", "diverged"] == 1 and s.loc["a", "diverged"] == 0
    table = sweep.summary_table(s)
    assert "| a | 3 | 0 | 4 ± 1.2 | 70 ± 12 | 4 ± 1.2 | 0 ± 0 |" in table
    assert "| b | 1 | 1 | 2 | 50 | 2 | 0 | ∞ |" in table


def _jobs(grid, seeds, **base):
    return sweep.expand(Config(**base), grid, seeds)


@pytest.mark.parametrize("grid, seeds, n_jobs, seed_batch, sizes", [
    ({"loss": ["nonsaturating", "wasserstein"], "gp": [0, 10]}, 5, 2, 0, [5, 5, 5, 5]),
    ({"gp": [0]}, 5, 2, 0, [3, 2]),  # fewer settings than cores: split so both get work
    ({"gp": [0]}, 20, 1, 0, [sweep.MAX_SEED_BATCH, sweep.MAX_SEED_BATCH, 4]),
    ({"gp": [0, 10]}, 3, 4, 1, [1] * 6),  # 1: no batching
    ({"unroll": [0, 2], "spectral_norm": [False, True]}, 3, 1, 0, [3] * 4),  # every setting stacks
])
def test_plan_tasks_batches_seeds_of_a_setting(grid, seeds, n_jobs, seed_batch, sizes):
    jobs = _jobs(grid, list(range(seeds)))
    tasks = sweep.plan_tasks(jobs, n_jobs, seed_batch)
    assert [len(t) for t in tasks] == sizes
    assert sorted((j.setting, j.seed) for t in tasks for j in t) == sorted(
        (j.setting, j.seed) for j in jobs)
    assert all(len({j.setting for j in t}) == 1 for t in tasks)


def test_a_batched_sweep_gives_the_rows_of_separate_runs(tmp_path):
    base = Config(g_hidden=16, d_hidden=16, batch=32)
    grid = {"loss": ["nonsaturating", "wasserstein"], "gp": [0, 1]}
    alone = sweep.run_sweep(base, grid, [0, 1], 20, tmp_path / "a", jobs=1, seed_batch=1)
    stacked = sweep.run_sweep(base, grid, [0, 1], 20, tmp_path / "b", jobs=1, seed_batch=2)
    assert list(zip(alone["setting"], alone["seed"])) == list(zip(stacked["setting"], stacked["seed"]))
    for col in ("distance", "precision", "recall"):
        assert stacked[col].to_numpy() == pytest.approx(alone[col].to_numpy(), rel=1e-3), col
    assert stacked["hq"].to_numpy() == pytest.approx(alone["hq"].to_numpy(), abs=2e-3)
    assert "stacked model" in (tmp_path / "b" / "summary.md").read_text()


def test_the_cli_refuses_a_negative_seed_batch(tmp_path, capsys):
    assert main(["sweep", "--grid", "gp=0,10", "--seed-batch", "-1", "--out", str(tmp_path / "s")]) == 2
    assert "--seed-batch must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_standard_errors_print_readably():
    from gansim.sweep import _pm

    assert _pm(0.875, 3.1e-16) == "0.875 ± 0"  # seeds that agree: float noise is 0
    assert _pm(8.0, 0.0) == "8 ± 0"
    assert _pm(0.5, 0.0123) == "0.5 ± 0.012"
    assert _pm(float("nan"), 0.1) == "n/a"

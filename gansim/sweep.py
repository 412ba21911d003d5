"""Sweeps: a grid of settings × seeds, one process per core, resumable, summarised.

Every combination is built as a Config before anything trains, so a typo costs
nothing. Each finished run is appended to runs.csv at once (a crash or Ctrl-C loses
only the runs in flight) and a rerun skips the (setting, seed) pairs already there.
"""
from __future__ import annotations

import csv
import itertools
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .config import FIELD_NAMES, Config, coerce
from .cost import relative_step_cost

# Each run is judged on the mean of its last K evaluations (every EVAL_EVERY steps, 2,500
# samples each): one snapshot of a GAN that hops between modes is noisy.
EVAL_EVERY = 100
# Seeds trained as one stacked Trainer at most (Trainer(cfg, seeds=...)). Per-seed cost
# falls with the stack, but gains flatten while a long stack finishing last leaves the
# other cores idle.
MAX_SEED_BATCH = 8
METRICS = ("modes", "modes_any", "hq", "reverse_kl", "mass_modes", "distance")
COLUMNS = ("setting", "seed", "steps", "diverged", *METRICS, "precision", "recall",
           "evals_used", "seconds", "steps_per_s", "config")
# What summary.md and summary.html show: column, heading, scale for display.
# Modes holding mass and the distance move from the first evaluations on; modes covered
# and HQ % stay at 0 until G's samples land within 3σ (a thousand steps on the ring).
SHOWN = (("modes", "modes covered", 1.0), ("hq", "HQ %", 100.0),
         ("mass_modes", "modes holding mass", 1.0), ("distance", "distance to data", 1.0),
         ("reverse_kl", "reverse KL", 1.0), ("seconds", "seconds", 1.0))


@dataclass(frozen=True)
class Job:
    setting: str  # "loss=wasserstein gp=10": the grid values, the row's key with seed
    seed: int
    cfg: Config


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return json.dumps(value, separators=(",", ":"))
    return str(value).lower() if isinstance(value, bool) else str(value)


def expand(base: Config, grid: dict[str, list], seeds: list[int]) -> list[Job]:
    """Every grid combination × seed as a validated Config; ValueError names the culprit."""
    for key, values in grid.items():
        if key not in FIELD_NAMES:
            coerce(key, None)  # raises the "unknown setting ... did you mean" message
        if key == "seed":
            raise ValueError("sweep seeds with --seeds N (or seeds=[...]), not a seed grid")
        if not values:
            raise ValueError(f"grid {key} has no values")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and not empty, got {seeds}")
    typed = {k: [coerce(k, v) for v in vs] for k, vs in grid.items()}
    jobs = []
    for combo in itertools.product(*typed.values()):
        changes = dict(zip(typed, combo))
        setting = " ".join(f"{k}={_fmt(v)}" for k, v in changes.items()) or "base"
        try:
            cfg = base.replace(**changes)
        except ValueError as e:
            raise ValueError(f"grid setting '{setting}': {e}") from None
        jobs += [Job(setting, s, cfg.replace(seed=s)) for s in seeds]
    settings = [j.setting for j in jobs]
    if len(set(settings)) * len(seeds) != len(settings):
        raise ValueError("the grid repeats a value; list each value once")
    return jobs


# --- one run (in a worker process) ------------------------------------------------------

def final_metrics(trainer, eval_last: int) -> dict[str, Any]:
    """Mean of the last `eval_last` evaluations (adding one at the final step if needed)."""
    import numpy as np

    h = trainer.history.as_arrays()
    evaluated = ~np.isnan(h["distance"])
    rows = [{k: h[k][i] for k in METRICS} for i in np.flatnonzero(evaluated)]
    if not rows or h["step"][evaluated][-1] != trainer.g_step:
        now = trainer.evaluate()
        rows.append({k: now.get(k, math.nan) for k in METRICS})
    rows = rows[-eval_last:]
    return {k: float(np.mean([r[k] for r in rows])) for k in METRICS} | {"evals_used": len(rows)}


def _row(job: Job, run, steps: int, seconds: float, eval_last: int) -> dict[str, Any]:
    """The runs.csv row of a finished run (a Trainer, or one run of a stacked one)."""
    from .metrics import EVAL_SAMPLES, precision_recall

    precision, recall = precision_recall(run.real_eval.cpu().numpy(), run.sample(EVAL_SAMPLES))
    return {"setting": job.setting, "seed": job.seed, "steps": steps,
            "diverged": int(run.diverged is not None),
            **final_metrics(run, eval_last), "precision": precision, "recall": recall,
            "seconds": round(seconds, 3), "steps_per_s": round(run.g_step / seconds, 2),
            "config": json.dumps(job.cfg.changed(), sort_keys=True)}


def run_one(job: Job, steps: int, eval_last: int) -> dict[str, Any]:
    """Train one job and return its runs.csv row; divergence is a result, not an error."""
    from .trainer import Diverged, Trainer

    trainer = Trainer(job.cfg, eval_every=EVAL_EVERY)
    start = time.perf_counter()
    try:
        trainer.train(steps)
    except Diverged:
        pass  # the trainer kept its last good weights; report them with diverged=1
    return _row(job, trainer, steps, time.perf_counter() - start, eval_last)


def run_seed_batch(jobs: list[Job], steps: int, eval_last: int) -> list[dict[str, Any]]:
    """Train the seeds of one setting together (one Trainer, its runs stacked); one row
    per seed. Each row's seconds is its share of the stack's time."""
    from .trainer import Diverged, Trainer

    trainer = Trainer(jobs[0].cfg, seeds=[j.seed for j in jobs], eval_every=EVAL_EVERY)
    start = time.perf_counter()
    try:
        trainer.train(steps)
    except Diverged:
        pass  # every run diverged; each kept its last good weights (diverged=1)
    share = (time.perf_counter() - start) / len(jobs)
    return [_row(j, trainer.run(i), steps, share, eval_last) for i, j in enumerate(jobs)]


def run_task(jobs: list[Job], steps: int, eval_last: int) -> list[dict[str, Any]]:
    """A task is one run, or several seeds of one setting batched together."""
    if len(jobs) == 1:
        return [run_one(jobs[0], steps, eval_last)]
    return run_seed_batch(jobs, steps, eval_last)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one core per task: the pool spreads tasks over the cores


def _run_packed(args: tuple[list[Job], int, int]) -> list[dict[str, Any]]:
    return run_task(*args)


def plan_tasks(jobs: list[Job], n_jobs: int, seed_batch: int) -> list[list[Job]]:
    """Group jobs into tasks: up to `seed_batch` seeds of a setting train together
    (every setting stacks). 0 = automatic: all of a setting's
    seeds in one batch of at most MAX_SEED_BATCH, split further when there are fewer
    settings than cores so that every core gets work. 1 = no batching."""
    by_setting: dict[str, list[Job]] = {}
    for j in jobs:
        by_setting.setdefault(j.setting, []).append(j)
    if seed_batch == 0:
        splits = max(1, math.ceil(n_jobs / max(len(by_setting), 1)))
        largest = max((len(v) for v in by_setting.values()), default=1)
        seed_batch = min(MAX_SEED_BATCH, max(1, math.ceil(largest / splits)))
    tasks = []
    for group in by_setting.values():
        tasks += [group[i:i + seed_batch] for i in range(0, len(group), seed_batch)]
    return tasks


# --- the sweep ----------------------------------------------------------------------------

def _done_rows(path: Path, jobs: list[Job], steps: int) -> dict[tuple[str, int], dict]:
    """Rows already in runs.csv for these jobs; ValueError if they used other settings."""
    if not path.exists():
        return {}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    wanted = {(j.setting, j.seed): j for j in jobs}
    done = {}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        key = (row["setting"], _seed_of(row, path, line))
        job = wanted.get(key)
        if job is None:
            continue
        same = (int(row["steps"]) == steps
                and row["config"] == json.dumps(job.cfg.changed(), sort_keys=True))
        if not same:
            raise ValueError(f"{path} already holds '{key[0]}' seed {key[1]} with other "
                             f"settings or steps; use another --out to start a new sweep")
        done[key] = row
    return done


def _seed_of(row: dict, path: Path, line: int) -> int:
    """A row's seed; ValueError naming the line when the row is not a run's (a second
    header, a line cut short by a crash while writing)."""
    try:
        return int(row["seed"])
    except (TypeError, ValueError):
        raise ValueError(f"{path} line {line} is not a finished run (seed={row['seed']!r}); "
                         f"delete that line and run the sweep again to resume it") from None


def run_jobs(jobs: list[Job], steps: int, out: Path, n_jobs: int, eval_last: int = 3,
             progress: Callable[[int, int, dict], None] | None = None, seed_batch: int = 0,
             backend: Callable | None = None):
    """Run the jobs not yet in out/runs.csv over n_jobs processes; write the summaries.
    seed_batch: seeds of a setting trained together (see plan_tasks; 0 = automatic).
    backend(tasks, n_jobs) yields finished rows in completion order: the local process
    pool by default, or gansim.sweep_ray.results on a Ray cluster."""
    import pandas as pd

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "runs.csv"
    done = _done_rows(path, jobs, steps)
    todo = [j for j in jobs if (j.setting, j.seed) not in done]
    tasks = [(t, steps, eval_last) for t in plan_tasks(todo, n_jobs, seed_batch)]
    new_file = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        if new_file:
            writer.writeheader()
        count = len(done)
        if progress:
            progress(count, len(jobs), {})
        for row in (backend or _results)(tasks, n_jobs):
            writer.writerow(row)
            f.flush()  # a crash or Ctrl-C keeps every finished run
            count += 1
            if progress:
                progress(count, len(jobs), row)
    df = pd.read_csv(path)
    keys = {(j.setting, j.seed): i for i, j in enumerate(jobs)}
    df = df[[k in keys for k in zip(df["setting"], df["seed"])]]
    df = df.assign(_order=[keys[k] for k in zip(df["setting"], df["seed"])])
    df = df.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    write_reports(df, out, eval_last)
    return df


def _results(tasks: list, n_jobs: int):
    """Finished rows in completion order: in this process, or from a spawn pool."""
    n_jobs = max(1, min(n_jobs, len(tasks)))
    if n_jobs == 1:
        for task in tasks:
            yield from _run_packed(task)
        return
    tasks = costliest_first(tasks)
    import multiprocessing as mp

    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: a forked torch can deadlock on its thread pools, and every
    # platform supports spawn. One thread per worker keeps the cores from fighting.
    # An executor, not mp.Pool: a worker that dies raises BrokenProcessPool here instead
    # of being replaced forever while the sweep waits. Tasks start in submission order.
    with ProcessPoolExecutor(n_jobs, mp_context=mp.get_context("spawn"),
                             initializer=_init_worker) as pool:
        for done in as_completed([pool.submit(_run_packed, task) for task in tasks]):
            yield from done.result()


def costliest_first(tasks: list) -> list:
    """A long task started last would leave the other cores idle: start it first."""
    return sorted(tasks, key=lambda t: -relative_step_cost(t[0][0].cfg) * len(t[0]))


def run_sweep(base: Config, grid: dict[str, list], seeds: list[int], steps: int, out: Path,
              jobs: int, eval_last: int = 3, progress=None, seed_batch: int = 0):
    """Grid × seeds from `base`; returns one row per run (resumes from out/runs.csv)."""
    return run_jobs(expand(base, grid, seeds), steps, Path(out), jobs, eval_last, progress,
                    seed_batch)


# --- summaries --------------------------------------------------------------------------

def summarize(df):
    """Per setting: runs, diverged, and mean and standard error over seeds of each metric."""
    import numpy as np
    import pandas as pd

    parts = {}
    for setting, g in df.groupby("setting", sort=False):
        row: dict[str, Any] = {"runs": len(g), "diverged": int(g["diverged"].sum())}
        for col in ("modes", "modes_any", "hq", "reverse_kl", "mass_modes", "distance",
                    "precision", "recall", "seconds"):
            values = g[col].to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):  # reverse KL is inf when no sample is HQ
                se = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan
            row[f"{col}_mean"], row[f"{col}_se"] = float(values.mean()), float(se)
        parts[setting] = row
    return pd.DataFrame.from_dict(parts, orient="index").rename_axis("setting")


def summary_table(summary) -> str:
    """A markdown table of mean ± standard error per setting."""
    head = "| setting | runs | diverged | " + " | ".join(h for _, h, _ in SHOWN) + " |"
    lines = [head, "|" + "---|" * (3 + len(SHOWN))]
    for setting, r in summary.iterrows():
        cells = [_pm(r[f"{c}_mean"] * k, r[f"{c}_se"] * k) for c, _, k in SHOWN]
        lines.append(f"| {setting} | {int(r['runs'])} | {int(r['diverged'])} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pm(mean: float, se: float) -> str:
    if math.isnan(mean) or math.isinf(mean):
        return "n/a" if math.isnan(mean) else "∞"  # reverse KL: a mode without HQ samples
    if math.isnan(se):
        return f"{mean:.3g}"
    # Seeds that all agree leave float noise (3e-16) rather than 0: say 0.
    return f"{mean:.3g} ± {0 if se < 1e-9 * max(1.0, abs(mean)) else se:.2g}"


def write_reports(df, out: Path, eval_last: int) -> None:
    """summary.md (table + how runs were judged) and summary.html (a Vega-Lite chart)."""
    steps = sorted(set(df["steps"])) if len(df) else []
    seeds = sorted(set(df["seed"])) if len(df) else []
    text = [
        "# Sweep summary", "",
        f"{df['setting'].nunique()} settings × {len(seeds)} seeds ({len(df)} runs), "
        f"{', '.join(map(str, steps))} steps each.", "",
        f"Each run is judged on the **mean of its last {eval_last} evaluations** (one every "
        f"{EVAL_EVERY} steps, 2,500 samples each, VEEGAN/PacGAN protocol), not on one "
        f"snapshot: a GAN that hops between modes looks different from one evaluation to "
        f"the next. Cells are mean ± standard error over seeds (std / √n). Precision and "
        f"recall in runs.csv are from one final sample of 2,500. Seeds of one setting "
        f"may train together as one stacked model (one Trainer with several seeds: the same "
        f"starting weights and batches as separate runs); their seconds are each seed's share of the "
        f"batch's time.", "",
        summary_table(summarize(df)) if len(df) else "(no runs)", "",
    ]
    (out / "summary.md").write_text("\n".join(text))
    (out / "summary.html").write_text(chart_html(chart_spec(df)))


def chart_spec(df) -> dict:
    """Vega-Lite: one panel per metric, each seed a dot, mean ± standard error per setting.

    Written as the Vega-Lite JSON Altair would emit, because the engine imports no
    plotting library (tests/test_layering.py); the tests validate it with Altair.
    """
    values = [{"setting": r["setting"], "seed": int(r["seed"]), "metric": head,
               "value": None if not math.isfinite(float(r[col])) else float(r[col]) * k}
              for _, r in df.iterrows() for col, head, k in SHOWN]
    x = {"field": "setting", "type": "nominal", "sort": None, "title": None,
         "axis": {"labelAngle": -30, "labelLimit": 300}}
    y = {"field": "value", "type": "quantitative", "title": None,
         "scale": {"zero": False}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": "Sweep: mean ± standard error over seeds (dots: single seeds)",
        "data": {"values": values},
        "facet": {"row": {"field": "metric", "type": "nominal", "sort": [h for _, h, _ in SHOWN],
                          "title": None}},
        "spec": {"width": 480, "height": 160, "layer": [
            {"mark": {"type": "circle", "opacity": 0.35, "size": 30, "color": "#888"},
             "encoding": {"x": x, "y": y, "tooltip": [
                 {"field": "setting", "type": "nominal"}, {"field": "seed", "type": "quantitative"},
                 {"field": "value", "type": "quantitative", "format": ".3g"}]}},
            {"mark": {"type": "errorbar", "extent": "stderr", "ticks": True},
             "encoding": {"x": x, "y": y}},
            {"mark": {"type": "point", "filled": True, "size": 70, "color": "black"},
             "encoding": {"x": x, "y": {**y, "aggregate": "mean"}}},
        ]},
        "resolve": {"scale": {"y": "independent"}},
    }


def chart_html(spec: dict) -> str:
    """A self-contained page: vl-convert inlines Vega, Vega-Lite and vega-embed (~0.9 MB),
    so the summary opens in a classroom with no internet (a CDN page would be blank)."""
    import vl_convert  # imported here: workers that only train never pay for it

    return vl_convert.vegalite_to_html(spec, bundle=True)

"""Sweep speed-up: run_sweep on every core vs the same runs one after another.

    python bench/bench_sweep.py [--steps 300] [--seeds 5] [--jobs N]

4 settings (loss nonsaturating/wasserstein × gp 0/10) × 5 seeds on ring8. The reference
calls gansim.sweep.run_one for each run in this process (the plain Trainer, the same
final evaluation, one torch thread), timed after its one-time imports. run_sweep is
timed twice: one run per worker process (--seed-batch 1) and as it runs by default,
with each setting's seeds trained together as one stacked Trainer (Trainer(cfg, seeds=...)).
Both include starting the spawn workers and importing torch in each.
Speed-up = reference / sweep.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gansim import Config  # noqa: E402
from gansim.sweep import expand, run_one, run_sweep  # noqa: E402

GRID = {"loss": ["nonsaturating", "wasserstein"], "gp": [0.0, 10.0]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = p.parse_args()
    torch.set_num_threads(1)
    base, seeds = Config(data="ring8"), list(range(args.seeds))
    jobs = expand(base, GRID, seeds)
    print(f"{len(jobs)} runs × {args.steps} steps; {os.cpu_count()} cores, "
          f"load average before: {os.getloadavg()[0]:.2f}", flush=True)

    timings = {}
    for label, seed_batch in (("processes only (--seed-batch 1)", 1),
                              ("processes + seed batches (default)", 0)):
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            df = run_sweep(base, GRID, seeds, args.steps, Path(tmp), jobs=args.jobs,
                           seed_batch=seed_batch)
        timings[label] = time.perf_counter() - start
        assert len(df) == len(jobs)
        print(f"run_sweep, {args.jobs} jobs, {label}: {timings[label]:7.1f} s", flush=True)

    run_one(jobs[0], 2, 1)  # the reference pays its one-time imports before it is timed
    start = time.perf_counter()
    for job in jobs:
        run_one(job, args.steps, 3)
    serial = time.perf_counter() - start
    print(f"reference: one after another, 1 process:  {serial:7.1f} s")
    for label, seconds in timings.items():
        print(f"speed-up, {label}: {serial / seconds:.2f}× (target ≥ 1.8× on 2 cores)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

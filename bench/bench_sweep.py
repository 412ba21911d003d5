"""Sweep speed-up: run_sweep on every core vs the same runs one after another.

    python bench/bench_sweep.py [--steps 300] [--seeds 5] [--jobs N]

4 settings (loss nonsaturating/wasserstein × gp 0/10) × 5 seeds on ring8. The serial
side calls gansim.sweep.run_one in this process (same Trainer, same final evaluation,
one torch thread); the parallel side is run_sweep with a spawn pool, so its time
includes starting the workers and importing torch in each. Speed-up = serial / parallel.
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

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        df = run_sweep(base, GRID, seeds, args.steps, Path(tmp), jobs=args.jobs)
    parallel = time.perf_counter() - start
    assert len(df) == len(jobs)
    print(f"run_sweep, {args.jobs} jobs:        {parallel:7.1f} s", flush=True)

    start = time.perf_counter()
    for job in jobs:
        run_one(job, args.steps, 3)
    serial = time.perf_counter() - start
    print(f"one after another, 1 process: {serial:7.1f} s")
    print(f"speed-up: {serial / parallel:.2f}× (target ≥ 1.8× on 2 cores); "
          f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

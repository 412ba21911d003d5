"""Seed batch vs the same seeds one after another, in one process on one core.

    python bench/bench_seedbatch.py [--seeds 5] [--steps 300] [--set key=value ...]

The reference trains Trainer(cfg with seed s) for each seed in turn; the seed batch
trains the same seeds as one stacked Trainer (Trainer(cfg, seeds=...)). Both evaluate
every 100 steps. Speed-up = reference / seed batch.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gansim import Config, Trainer  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()
    torch.set_num_threads(1)
    cfg = Config.from_dict({"data": "ring8", "device": "cpu",
                            **dict(item.split("=", 1) for item in args.set)})
    seeds = list(range(args.seeds))
    Trainer(cfg).train(2)  # pay one-time imports before timing

    start = time.perf_counter()
    for s in seeds:
        Trainer(cfg.replace(seed=s)).train(args.steps)
    reference = time.perf_counter() - start

    start = time.perf_counter()
    Trainer(cfg, seeds=seeds).train(args.steps)
    batched = time.perf_counter() - start
    print(f"{args.seeds} seeds × {args.steps} steps, {cfg.changed() or 'defaults'}")
    print(f"one after another: {reference:6.1f} s; seed batch: {batched:6.1f} s; "
          f"speed-up {reference / batched:.2f}×")


if __name__ == "__main__":
    main()

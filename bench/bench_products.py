"""The linear layers of one training step, stacked and alone: which of the step's
matrix products run near a core's peak and which leave it idle (issue 21).

    python bench/bench_products.py [--stack 8] [--batch 256] [--hidden 128]

For each linear layer of the default networks (G: z 64 → 128 → 128 → 2; D: 2 → 128 →
128 → 1) it times models.stacked_linear as the eager step runs it (one baddbmm)
forward, and its backward (autograd's two products: the input's and the weights'
gradients, and the bias's), for S stacked runs and for one run, and says how many
GFLOP/s each reached (2·n·in·out a product). The wide layers run near one AVX2 core's
peak; the narrow ones (the data's 2 coordinates in or out, D's one score) at a small
fraction of it, most of all backward: which is why the compiled step records those
layers as products and sums (models.NARROW; docs/engine.md). One thread, best of 5
repeats.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gansim.models import stacked_linear


def timed(fn, calls: int = 60, repeats: int = 5) -> float:
    """Microseconds per call: the best repeat's mean (a busy machine only slows a repeat)."""
    for _ in range(10):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


def products(s: int, n: int, fan_in: int, fan_out: int) -> dict[str, float]:
    """One layer's forward and backward (autograd's gradients of the input, the weights
    and the bias, given the output's gradient) through models.stacked_linear, µs."""
    x = torch.randn(s, n, fan_in, requires_grad=True)
    w = torch.randn(s, fan_out, fan_in, requires_grad=True)
    b, g = torch.randn(s, fan_out, requires_grad=True), torch.randn(s, n, fan_out)

    def backward():
        torch.autograd.grad(stacked_linear(x, w, b), (x, w, b), g)

    with torch.no_grad():
        forward = timed(lambda: stacked_linear(x, w, b))
    return {"forward": forward, "backward": max(0.0, timed(backward) - forward)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", type=int, default=8)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--z", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), "unknown CPU")
    print(f"{cpu}; torch {torch.__version__}, 1 thread; load {os.getloadavg()[0]:.1f}; "
          f"µs per layer per run: S = {args.stack} stacked, and one run")
    h = args.hidden
    layers = {"G in": (args.z, h), "G hidden": (h, h), "G out": (h, 2),
              "D in": (2, h), "D hidden": (h, h), "D out": (h, 1)}
    for name, (fan_in, fan_out) in layers.items():
        many = products(args.stack, args.batch, fan_in, fan_out)
        one = products(1, args.batch, fan_in, fan_out)
        flop = 2 * args.batch * fan_in * fan_out  # one product, one run
        row = []
        for kind, products_in in (("forward", 1), ("backward", 2)):
            rate = products_in * flop / (one[kind] * 1e3)  # GFLOP/s
            row.append(f"{kind} {many[kind] / args.stack:6.1f} µs a run stacked, "
                       f"{one[kind]:6.1f} alone ({rate:5.1f} GFLOP/s)")
        print(f"{name:9s} {fan_in:3d}→{fan_out:<3d} " + " | ".join(row))


if __name__ == "__main__":
    main()

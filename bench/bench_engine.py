"""Engine vs a plain textbook PyTorch loop: steps/s of Trainer.step() for the same GAN.

    python bench/bench_engine.py [--steps 300] [--repeats 5] [--only ns,wgan-gp,...]
                                 [--baseline REV]   # before/after, interleaved

Same config on both sides: ring8 from gansim.data, 2×128 ReLU MLPs, z_dim 64, batch 256,
Adam betas (0.5, 0.999), lr_d 1e-4, lr_g 1e-3; one process, one thread. Each variant is
warmed up, then the repeats interleave engine and textbook and the median is reported.

The textbook loops draw fresh z for G's step (as the WGAN-GP toy script does), score
fakes with `G(z).detach()` in D's step, and leave D's parameters trainable during G's
backward (the usual tutorial code). The engine runs with its defaults (a history row
every 10 steps, a 2,500-sample evaluation every 100, a checkpoint every 250), so its
bookkeeping is in the figure (`--kinds ...,noeval` shows its cost). The engine columns
(KINDS): `default`, the path every caller takes (the app, `gansim run`, sweeps:
engine "auto", the compiled step once this machine has built it; the bench builds it
first, in a child, and says how long that took); `eager` and `compiled`, each path
forced; `stack8-eager`/`stack8`, 8 stacked seeds in run-steps/s (8 runs × steps/s),
without evaluations.

Unrolled, two pairs:
  * unroll-5: second-order, as in Metz et al. 2016. The textbook side is the
    functional form (torch.func.functional_call + a hand-written Adam step, k = 5
    look-ahead steps with create_graph=True, starting from D's live Adam moments),
    because torch.optim steps in place and cannot be differentiated through.
  * unroll-5-1st: first-order. The textbook side is the common "deep-copy D and its
    optimiser, step the copy k times with torch.optim, score the fakes with the copy";
    the engine runs with unroll_first_order=true.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gansim import Config, Trainer  # noqa: E402
from gansim.data import make_dataset  # noqa: E402

BASE = dict(data="ring8", g_hidden=128, g_depth=2, d_hidden=128, d_depth=2, z_dim=64,
            batch=256, beta1=0.5, beta2=0.999, lr_d=1e-4, lr_g=1e-3, activation="relu")
VARIANTS = {
    "ns": dict(loss="nonsaturating"),
    "wgan-gp": dict(loss="wasserstein", gp=10.0, d_steps=5),
    "unroll-5": dict(loss="nonsaturating", unroll=5),
    "unroll-5-1st": dict(loss="nonsaturating", unroll=5, unroll_first_order=True),
}


# --- the textbook side --------------------------------------------------------------

def mlp(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                         nn.Linear(128, n_out))


class Textbook:
    """A GAN training loop as a tutorial writes it; step() = d_steps D updates + one G."""

    def __init__(self, variant: dict, seed: int = 0):
        torch.manual_seed(seed)
        self.v = {**BASE, **variant}
        self.data = make_dataset("ring8")
        self.gen = torch.Generator().manual_seed(seed)
        self.G, self.D = mlp(64, 2), mlp(2, 1)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-3, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=1e-4, betas=(0.5, 0.999))
        self.wgan = self.v["loss"] == "wasserstein"

    def real(self):
        return self.data.sample_torch(256, self.gen, torch.device("cpu"))

    def z(self):
        return torch.randn(256, 64, generator=self.gen)

    def d_loss(self, d_real, d_fake):
        if self.wgan:
            return d_fake.mean() - d_real.mean()
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # BCE with logits

    def gradient_penalty(self, real, fake):
        a = torch.rand(256, 1, generator=self.gen)
        x = (a * real + (1 - a) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(self.D(x).sum(), x, create_graph=True)
        return 10.0 * ((g.norm(dim=1) - 1) ** 2).mean()

    def step(self):
        for _ in range(self.v.get("d_steps", 1)):
            real, fake = self.real(), self.G(self.z()).detach()
            loss = self.d_loss(self.D(real), self.D(fake))
            if self.v.get("gp"):
                loss = loss + self.gradient_penalty(real, fake)
            self.opt_d.zero_grad()
            loss.backward()
            self.opt_d.step()
        fake = self.G(self.z())
        if self.v.get("unroll"):
            out = (self.unrolled_first_order(fake) if self.v.get("unroll_first_order")
                   else self.unrolled(fake))
        else:
            out = self.D(fake)
        g_loss = -out.mean() if self.wgan else F.softplus(-out).mean()
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()

    def unrolled_first_order(self, fake):
        """Deep-copy D and its optimiser, step the copy k times, score the fakes with it."""
        D2 = copy.deepcopy(self.D)
        opt2 = torch.optim.Adam(D2.parameters(), lr=1e-4, betas=(0.5, 0.999))
        opt2.load_state_dict(self.opt_d.state_dict())
        real, fake_d = self.real(), fake.detach()
        for _ in range(self.v["unroll"]):
            loss = self.d_loss(D2(real), D2(fake_d))
            opt2.zero_grad()
            loss.backward()
            opt2.step()
        return D2(fake)

    def unrolled(self, fake):
        """Metz et al.: k differentiable Adam steps on D's weights, from D's live moments."""
        names = [n for n, _ in self.D.named_parameters()]
        params = {n: p.detach().requires_grad_(True) for n, p in self.D.named_parameters()}
        state = [self.opt_d.state.get(p, {}) for p in self.D.parameters()]
        m = [s["exp_avg"] if s else torch.zeros_like(p) for s, p in zip(state, params.values())]
        v = [s["exp_avg_sq"] if s else torch.zeros_like(p) for s, p in zip(state, params.values())]
        t0 = int(state[0]["step"]) if state[0] else 0
        b1, b2, lr, eps = 0.5, 0.999, 1e-4, 1e-8
        real = self.real()
        for i in range(self.v["unroll"]):
            loss = self.d_loss(functional_call(self.D, params, (real,)),
                               functional_call(self.D, params, (fake,)))
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
            t = t0 + i + 1
            new = {}
            for j, (n, g) in enumerate(zip(names, grads)):
                m[j] = b1 * m[j] + (1 - b1) * g
                v[j] = b2 * v[j] + (1 - b2) * g * g
                v_hat = v[j] / (1 - b2**t)
                # √ with gradient 0 at 0 (dead ReLU units leave v = 0; inf·0 = NaN otherwise)
                root = torch.where(v_hat > 0, torch.where(v_hat > 0, v_hat, 1.0).sqrt(), 0.0)
                step = lr * (m[j] / (1 - b1**t)) / (root + eps)
                new[n] = params[n] - step
            params = new
        return functional_call(self.D, params, (fake,))


# --- timing -------------------------------------------------------------------------

class PerRun:
    """A stack of S runs timed in run-steps: S steps of work per call of step()."""

    def __init__(self, runs: Trainer):
        self.runs, self.size = runs, runs.S

    def step(self):
        self.runs.step()


STACK = 8  # runs in the stacked figures
# What each engine column runs: compile (None: the default path every caller takes, the
# run's engine setting decides: compile.engine_mode), runs stacked, evaluations on or off.
KINDS = {
    "default": dict(compile=None, runs=1, evaluate=True),     # what the app and `gansim run` do
    "eager": dict(compile=False, runs=1, evaluate=True),
    "compiled": dict(compile=True, runs=1, evaluate=True),
    "noeval": dict(compile=None, runs=1, evaluate=False),     # the bookkeeping's cost
    "stack8": dict(compile=None, runs=STACK, evaluate=False),
    "stack8-eager": dict(compile=False, runs=STACK, evaluate=False),
    "stack8-compiled": dict(compile=True, runs=STACK, evaluate=False),
}


BASELINE: dict = {}  # --baseline: the other revision's Config and Trainer


def make(kind: str, variant: dict):
    if kind == "textbook":
        return Textbook(variant)
    config, trainer = Config, Trainer
    if kind.startswith("base:"):  # the same column, trained by the baseline's engine
        kind, config, trainer = kind[5:], BASELINE["Config"], BASELINE["Trainer"]
    k = KINDS[kind]
    cfg = config(**BASE, **variant, device="cpu")
    if k["compile"] is not False and trainer is Trainer:
        built(cfg, k["runs"])  # the default path as on a machine that ran gansim once
    runs = trainer(cfg, seeds=list(range(k["runs"])), compile=k["compile"],
                   eval_every=100 if k["evaluate"] else 10**9, log_every=10)
    return PerRun(runs)


def built(cfg, runs: int) -> None:
    """Build cfg's package for `runs` stacked runs unless this machine has it."""
    from gansim.ahead import build_now

    start = time.perf_counter()
    done, failed = build_now([cfg], runs)
    if done or failed:
        print(f"  built {cfg.loss}{' gp' if cfg.gp else ''}{' unroll' if cfg.unroll else ''} "
              f"× {runs} runs: {time.perf_counter() - start:.0f} s ({'ok' if done else 'failed'})",
              flush=True)


def load_baseline(rev: str, into: str) -> None:
    """gansim as of git revision `rev`, importable beside this one as `gansim_base` (its
    imports are relative), so both engines are timed interleaved in one process."""
    import importlib
    import subprocess
    import tarfile

    root = Path(__file__).resolve().parents[1]
    archive = Path(into) / "base.tar"
    subprocess.run(["git", "-C", str(root), "archive", "-o", str(archive), rev, "gansim"],
                   check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    (Path(into) / "gansim").rename(Path(into) / "gansim_base")
    sys.path.insert(0, into)
    BASELINE["Config"] = importlib.import_module("gansim_base.config").Config
    BASELINE["Trainer"] = importlib.import_module("gansim_base.trainer").Trainer


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
CLOCK = time.process_time


def rate(runner, steps: int) -> float:
    # CPU time of this one-thread process by default: on a shared machine other
    # processes steal wall time from both sides unevenly, but not CPU time.
    start = CLOCK()
    for _ in range(steps):
        runner.step()
    return steps * getattr(runner, "size", 1) / (CLOCK() - start)


def bench(name: str, variant: dict, steps: int, repeats: int, kinds) -> dict[str, float]:
    runners = {k: make(k, variant) for k in kinds}
    for r in runners.values():  # warm-up: allocator, Adam state, first evaluation
        rate(r, max(steps // 5, 20))
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    for i in range(repeats):
        order = kinds if i % 2 == 0 else kinds[::-1]  # interleave: drift hits both sides
        for k in order:
            rates[k].append(rate(runners[k], steps))
    return {k: statistics.median(v) for k, v in rates.items()}


COMPILE_PROBE = """
import sys, time, torch
torch.set_num_threads(1)
sys.path.insert(0, {root!r})
start, cpu = time.perf_counter(), time.process_time()
from gansim import Config
from gansim import Trainer
runs = Trainer(Config(**{base!r}, device="cpu"), compile={compile!r})
runs.step()
print(runs.engine, time.perf_counter() - start, time.process_time() - cpu)
"""


def first_step_seconds(cache_dir: str, compile: bool | None) -> tuple[str, float]:
    """The engine and the wall seconds from a fresh process's first import of gansim to
    its first step done (a build waited for included), with this package cache."""
    import subprocess

    code = COMPILE_PROBE.format(root=str(Path(__file__).resolve().parents[1]), base=BASE,
                                compile=compile)
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache_dir}
    env.pop("GANSIM_COMPILE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    engine, wall, _ = out.split()[-3:]
    return engine, float(wall)


def compile_times() -> None:
    """What a first step waits for: on an empty cache, the default path (auto: eager
    at once, building in the background) and a forced compile (waits for the build);
    then the default path in a new process once the package is on disk (a load)."""
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        fresh = first_step_seconds(cache, None)
        built = first_step_seconds(cache, True)
        loaded = first_step_seconds(cache, None)
    print(f"first step in a new process (ns, one run; imports included): fresh machine, "
          f"default {fresh[1]:.1f} s ({fresh[0]}); forced compile {built[1]:.1f} s "
          f"({built[0]}: the build); once built, default {loaded[1]:.1f} s ({loaded[0]})",
          flush=True)


# Issue 21's targets on the default path (compiled where ready), and eager whenever used.
TARGETS = {"default": 1.5, "compiled": 1.5, "eager": 1.0, "stack8": 1.7,
           "stack8-compiled": 1.7, "stack8-eager": 1.0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300, help="G steps per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", default=",".join(VARIANTS), help="comma-separated variants")
    p.add_argument("--kinds", default="default,eager,compiled",
                   help=f"engine columns, from {', '.join(KINDS)}")
    p.add_argument("--stacked", default="ns",
                   help=f"variants also timed as {STACK} stacked seeds, eager and default ('' = none)")
    p.add_argument("--no-compile-times", action="store_true", help="skip the compile timings")
    p.add_argument("--baseline", metavar="REV", default="",
                   help="also time each engine column as git revision REV trains it "
                        "(columns base:KIND, interleaved in this process): before/after")
    p.add_argument("--clock", choices=CLOCKS, default="cpu",
                   help="cpu: process CPU time (robust on a busy machine); wall: elapsed time")
    args = p.parse_args()
    global CLOCK
    CLOCK = CLOCKS[args.clock]
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, {args.clock} clock; median of "
          f"{args.repeats} × {args.steps} steps; load average {os.getloadavg()[0]:.1f}")
    print("steps/s; ratios against the textbook loop of the same variant, same process; "
          f"stack{STACK} counts run-steps/s ({STACK} runs × steps/s)")
    if not args.no_compile_times:
        compile_times()
    if args.baseline:
        import atexit
        import shutil
        import tempfile
        into = tempfile.mkdtemp(prefix="gansim-base-")
        atexit.register(shutil.rmtree, into, True)  # imported by then: gone at exit
        load_baseline(args.baseline, into)
        print(f"base:KIND columns: the engine as of {args.baseline}")
    stacked = set(filter(None, args.stacked.split(",")))
    for name in args.only.split(","):
        kinds = ["textbook"] + args.kinds.split(",")
        if name in stacked:  # once, even where --kinds names them too
            kinds += [k for k in ("stack8-eager", "stack8") if k not in kinds]
        if args.baseline:
            kinds += [f"base:{k}" for k in kinds[1:]]
        steps = args.steps // (8 if name.startswith("unroll-5") and "1st" not in name else 1)
        r = bench(name, VARIANTS[name], max(steps, 20), args.repeats, kinds)
        base = r["textbook"]
        parts = [f"{name:<14}textbook {base:7.1f}"]
        for k in kinds[1:]:
            goal = f" [>= {TARGETS[k]}]" if k in TARGETS else ""
            if k.startswith("base:"):  # and what the change bought on that column
                goal = f" [after/before {r[k[5:]] / r[k]:.2f}×]"
            parts.append(f"{k} {r[k]:7.1f} ({r[k] / base:.2f}×){goal}")
        print("  ".join(parts) + f"   load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()

"""The diagnosis on REAL training runs, each with the verdict it must reach.

Every case trains the settings a lesson (or a measured run) uses and feeds the banner's
Tracker after each evaluation, as the app does. The quick cases run in the default
`python -m pytest -q`; the statistical ones, over several seeds, are marked slow and
run in CI's statistical step:

    python -m pytest -q -m slow tests/test_diagnosis_real.py

Each threshold is stated in its case: the share of seeds that must reach the verdict.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import pytest
import torch

from gansim import Config, Diverged, Trainer
from gansim.tracker import Tracker

TWO = dict(data="two_gaussians", z_dim=2, batch=128)


@dataclass(frozen=True)
class Case:
    changes: dict
    steps: int
    verdict: str  # the verdict the banner must show at the end
    seeds: tuple = (1, 2, 3, 4, 5)
    share: float = 1.0  # of the seeds that must reach it
    max_changes: int = 99  # banner changes allowed over the whole run
    also: tuple = field(default=())  # other verdicts accepted as right


CASES = {
    # A 3,000-step WGAN-GP (lesson 5's recipe before issue 12 made it a 1,000-step run) fills
    # the ring sharply: eight sharp modes on 4 of 5 seeds, measured then.
    "lesson 5 WGAN-GP": Case(dict(loss="wasserstein", gp=10.0, d_steps=5, lr_d=1e-3,
                                  lr_g=1e-3, beta2=0.9, lr_decay_start=1500, lr_decay_end=3000),
                             3000, "healthy", seeds=(1, 2, 3), share=2 / 3),
    # The same critic at Adam 1e-4 without the late decay stays diffuse (HQ ≈ 1 % after
    # 3,000 steps). Measured here: "blurry" on seed 1, still "not on the data yet" on
    # seeds 2 and 3 (the haze has not come within half its starting distance), so both
    # count as right; collapse, oscillation or healthy would be wrong.
    "diffuse WGAN-GP": Case(dict(loss="wasserstein", gp=10.0, d_steps=5, lr_d=1e-4,
                                 lr_g=1e-4, beta2=0.9), 3000, "blurry", seeds=(1, 2, 3),
                            share=2 / 3, also=("off_data",)),
    # Lesson 8's one-critic-step run collapses like the plain GAN (its claim: ≤ 3 modes).
    "lesson 8 one critic step": Case(dict(loss="wasserstein", gp=10.0, d_steps=1, lr_d=1e-3,
                                          lr_g=1e-3, beta2=0.9, batch=64, lr_decay_start=750,
                                          lr_decay_end=1500),
                                     1500, "mode_collapse", seeds=(1, 2, 3), share=2 / 3),
    # The default page: plain NS GAN on the ring collapses onto ≤ 3 modes (lesson 4).
    "ring8 defaults": Case({}, 2000, "mode_collapse", share=1.0),
    # Steady training on the defaults: the banner settles on collapse and stays put
    # (6,000 steps ≈ 30 s of the app at 200 steps/s).
    "ring8 steady": Case({}, 6000, "mode_collapse", seeds=(1, 2, 3), max_changes=3),
    # Lesson 9's oscillating setting at lrs 5e-3 (the lesson now uses the harsher 1e-2, which
    # swings more; these cases keep the setting the banner was measured on), and its R1 cure.
    "lesson 9 oscillating": Case({**TWO, "lr_d": 5e-3, "lr_g": 5e-3, "beta1": 0.9}, 2000,
                                 "oscillation", share=0.8),
    "lesson 9 with R1": Case({**TWO, "lr_d": 5e-3, "lr_g": 5e-3, "beta1": 0.9, "r1": 1.0},
                             2000, "healthy", share=0.8),
    # Lesson 2's "D dominates" and "G dominates" runs.
    "lesson 2 D dominates": Case({**TWO, "activation": "leaky_relu", "lr_d": 1e-3,
                                  "lr_g": 1e-5, "d_steps": 5}, 300, "discriminator_dominates"),
    "lesson 2 G dominates": Case({**TWO, "activation": "leaky_relu", "lr_d": 1e-6,
                                  "lr_g": 1e-3}, 600, "generator_dominates", share=0.8),
    # A learning rate far too large for plain SGD on a critic: NaN at once.
    "diverging": Case(dict(optimizer="sgd", lr_d=1.0, lr_g=1.0, loss="wasserstein"), 2000,
                      "diverged"),
}
QUICK = {"lesson 2 D dominates": (1,), "lesson 2 G dominates": (1,), "diverging": (1,)}


def play(name: str, seed: int) -> tuple[str, int, list[str]]:
    """Train case `name` on `seed`; the banner's final verdict, its number of changes and
    the verdicts it showed."""
    torch.set_num_threads(1)
    case = CASES[name]
    t = Trainer(Config(**case.changes).replace(seed=seed))
    tracker, shown = Tracker(), []
    n_modes = getattr(t.dataset, "n_modes", 0)

    def look():
        diag = tracker.update(t.history.as_arrays(), t.loss.critic, n_modes, t.cfg.to_dict(),
                              t.diverged, t.history.mass)
        if not shown or shown[-1] != diag.kind:
            shown.append(diag.kind)

    try:
        for _ in range(case.steps // t.eval_every):
            t.train(t.eval_every)
            look()
    except Diverged:
        look()
    if os.environ.get("GANSIM_VERBOSE"):
        print(f"{name} seed {seed}: {shown}", flush=True)
    return shown[-1], len(shown) - 1 - ("warming_up" in shown), shown


def _judge(name: str, results: list[tuple[str, int, list[str]]]) -> None:
    case = CASES[name]
    right = [r for r in results if r[0] in (case.verdict,) + case.also]
    assert len(right) >= case.share * len(results) - 1e-9, (
        f"{name}: {len(right)}/{len(results)} seeds ended on {case.verdict} "
        f"(need {case.share:.0%}): {[r[2] for r in results]}")
    worst = max(r[1] for r in results)
    assert worst <= case.max_changes, f"{name}: banner changed {worst} times: {results}"


@pytest.mark.parametrize("name", sorted(QUICK))
def test_quick_real_runs_reach_their_verdict(name):
    _judge(name, [play(name, s) for s in QUICK[name]])


@pytest.fixture(scope="module")
def slow_results():
    jobs = [(n, s) for n, c in CASES.items() for s in c.seeds]
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        outs = list(pool.map(play, *zip(*jobs)))
    results: dict[str, list] = {}
    for (name, _), out in zip(jobs, outs):
        results.setdefault(name, []).append(out)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_real_runs_reach_their_verdict_over_seeds(name, slow_results):
    _judge(name, slow_results[name])

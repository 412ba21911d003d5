"""Diagnosis: name what the run shows, in a sentence about the screen, with a cure.

Collapse is read off where G's mass is, not off its sample quality: each evaluation
counts the modes that are the nearest mode of a fair share of G's samples (mass_modes,
see gansim.metrics), and a run whose mass sits on few modes has collapsed, however far
from the mode centres its samples are (a collapsed ring-8 GAN here is one tight cluster
beside a mode, at ~1 % HQ). The counters' two figures, modes covered by sharp samples and
HQ %, then tell a healthy run (a cure as the papers count it) from a blurry one or one
that misses some modes, and the distance to the data tells these from a G that has not
reached the data yet. Every figure is the median of the last EVALS evaluations
(`settled`), the same figure the counters show and the banner quotes.

The score rules follow MathWorks' GAN-monitoring guide ("Monitor GAN training progress
and identify common failure modes"): with D's probability of "real", score_G = mean
D(fake) and score_D = ½ mean D(real) + ½ mean (1 − D(fake)); both near 0.5 is the
balanced game. Critic losses have no probability, so the score rules skip them.

Each cure is a dict of Config changes the app applies with one click, and each is one
that this project's own runs show working for that failure (cited where it is made).
gansim/tracker.py holds the banner's verdict steady across evaluations.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np


WINDOW = 20  # logged rows the score rules judge (200 G steps at the default log_every 10)
MIN_ROWS = 5  # fewer logged rows than this: too early to say anything
EVALS = 3  # evaluations judged, by their median: one noisy evaluation does not decide
D_WINS, G_WINS = 0.9, 0.75  # score_D above / score_G above (window means)
COLLAPSED = 3 / 8  # at most this share of the modes holding G's mass = collapsed:
# lesson 4's claim (≤ 3 of the ring's 8 modes), the VEEGAN/PacGAN tables' GAN rows
ON_DATA = 0.5  # distance to the data below this share of the first evaluation's: on it
# A cure in the papers' sense (VEEGAN, PacGAN Table 1): most modes hold high-quality
# samples and a large share of all samples is high quality. The counters show both
# figures; a run short of either is not called healthy (issue 23: a banner that said
# "Healthy" beside HQ 13 % contradicted the lesson that called the same run blurry).
SHARP = 0.4  # HQ share at or above which G's samples sit on the modes, not around them
COVERED = 0.8  # share of the modes (rounded up) that must hold ≥ 1 % of the samples as
# HQ points: 7 of the ring's 8, 20 of the grid's 25
SWING = 0.12  # std of score_G over the window that counts as oscillation
D_AHEAD = 0.56  # score_D's WINDOW mean above this at some point in the last SWING_ROWS
# rows: D keeps pulling ahead without dominating. Lesson 9's oscillating run swings between
# 0.50 and 0.70 in phases of several hundred steps; its R1 cure and the balanced and
# collapsed runs stay at 0.50–0.53 (measured, tests/test_diagnosis_real.py).
SWING_ROWS = 100
STEADY, STEADY_EVALS = 0.5, 10  # distance every one of the last 10 evaluations stays under:
# lesson 9's oscillating run exceeds it on every seed ("never settles near the data")
# The cure for collapse: lesson 7's packing run (measured where it is used, _collapsed).
PACKING_CURE = {"pack": 2, "lr_d": 2e-3, "lr_g": 2e-3, "beta2": 0.9, "lr_decay_start": 700,
                "lr_decay_end": 2000}


@dataclass(frozen=True)
class Diagnosis:
    kind: str
    title: str
    explanation: str
    cure: dict[str, Any] = field(default_factory=dict)  # Config changes to try
    cure_text: str = ""


def settled(hist: dict[str, Any], key: str, n: int = EVALS) -> float:
    """The median of `key`'s newest `n` logged values (nan when none): the figure the
    rules judge, the counters show and the banner quotes, so they never disagree."""
    values = np.asarray(hist.get(key, []), dtype=float)
    values = values[~np.isnan(values)][-n:]
    return float(np.median(values)) if len(values) else math.nan


def crisp_limit(n_modes: int) -> int:
    """Modes that must hold sharp samples for a run to count as cured (7 of 8, 20 of 25)."""
    return math.ceil(COVERED * n_modes - 1e-9)


@dataclass(frozen=True)
class Run:
    """What the rules read: the history's columns and the run's facts."""
    hist: dict[str, np.ndarray]
    critic: bool
    n_modes: int
    cfg: dict[str, Any]
    diverged: str | None

    def recent(self, key: str, n: int = WINDOW) -> np.ndarray:
        values = np.asarray(self.hist.get(key, []), dtype=float)
        return values[~np.isnan(values)][-n:]

    def median(self, key: str, n: int = EVALS) -> float:
        return settled(self.hist, key, n)

    def first(self, key: str) -> float:
        values = self.recent(key, 10**9)
        return float(values[0]) if len(values) else math.nan

    def scores(self) -> str:
        if self.critic or not len(self.recent("score_g")):
            return ""
        return (f" (score_G {self.recent('score_g').mean():.2f}, "
                f"score_D {self.recent('score_d').mean():.2f})")


def _diverged(run: Run) -> Diagnosis | None:
    if not run.diverged:
        return None
    cfg = run.cfg
    return Diagnosis(
        "diverged", "Diverged",
        "A loss or gradient became NaN or infinite, so training stopped: the arena shows "
        "the last good weights and the charts end there; steps that large blow the "
        "networks up.",
        {"lr_d": cfg.get("lr_d", 1e-4) / 10, "lr_g": cfg.get("lr_g", 1e-3) / 10},
        "Rewind and divide both learning rates by 10.")


def _d_dominates(run: Run) -> Diagnosis | None:
    score_d, score_g = run.recent("score_d"), run.recent("score_g")
    if run.critic or len(score_d) < MIN_ROWS or score_d.mean() < D_WINS \
            or score_g.mean() > 1 - D_WINS:
        return None
    cfg = run.cfg
    if cfg.get("loss") == "minimax":  # lesson 3: the non-saturating loss revives G's signal
        cure, text = {"loss": "nonsaturating"}, "Switch G to the non-saturating loss (lesson 3)."
    else:  # lesson 2: its balanced run (1 D step, equal rates) keeps both scores near 0.5
        cure = {"d_steps": 1, "lr_g": max(cfg.get("lr_g", 1e-3), cfg.get("lr_d", 1e-4))}
        text = "Balance the players: one D step per G step, G's rate at least D's (lesson 2)."
    return Diagnosis(
        "discriminator_dominates", "Discriminator dominates",
        f"D tells real from fake almost perfectly{run.scores()}: the background is purple "
        f"wherever the fakes are and the score_G line lies on the floor, so G gets little "
        f"useful signal.", cure, text)


def _g_dominates(run: Run) -> Diagnosis | None:
    # score_G high, or D scoring worse than a coin while G's samples miss the data: lesson
    # 2's run with a frozen D sits at score_G 0.53, score_D 0.49 on some seeds, HQ 0.
    score_g, score_d = run.recent("score_g"), run.recent("score_d")
    if run.critic or len(score_g) < MIN_ROWS:
        return None
    fooled = score_g.mean() > 0.5 > score_d.mean() and not run.median("hq") >= SHARP
    if score_g.mean() < G_WINS and not fooled:
        return None
    cfg = run.cfg
    lr_d, lr_g = cfg.get("lr_d", 1e-4), cfg.get("lr_g", 1e-3)
    if lr_d < lr_g:  # lesson 2: its balanced run gives D the same rate as G
        cure, text = {"lr_d": lr_g}, "Give D back its learning rate: lr_d = lr_g (lesson 2)."
    else:
        cure = {"d_steps": min(20, int(cfg.get("d_steps", 1)) + 1)}
        text = "Give D one more update per G step."
    return Diagnosis(
        "generator_dominates", "Generator dominates",
        f"D rates G's samples as real most of the time{run.scores()}: the score_G line "
        f"sits high while the coloured fakes still miss the black real dots, so D is too "
        f"weak to teach G anything more.", cure, text)


def _collapsed(run: Run) -> Diagnosis | None:
    # The median of the last evaluations (one hop to a fourth mode does not undo a
    # collapse) and the newest one too: a fresh run's first cloud can hold mass on two
    # modes at one evaluation and on five at the next, and calling that cloud a "tight
    # patch" would contradict the arena beside the banner.
    limit, latest = _collapse_limit(run.n_modes), run.recent("mass_modes", 1)
    if run.n_modes < 2 or not len(latest) or max(run.median("mass_modes"), latest[0]) > limit:
        return None
    held = int(latest[0])
    hops = _dominant_mode_changes(run.hist.get("mass", []))
    how = "hops from mode to mode" if hops >= 3 else "stays there"
    where = (f"in one tight patch near one of the {run.n_modes} real clusters" if held <= 1
             else f"near {held} of the {run.n_modes} real clusters")
    return Diagnosis(
        "mode_collapse", "Mode collapse",
        f"Nearly all of G's samples sit {where}{_on_them(run, held)}, and G {how}: the "
        f"other black clusters get none.",
        # Lesson 7's packing run, measured on the ring8 defaults (the cure restarts, so
        # from fresh networks): PacGAN2 with both players at one fast rate and the rates
        # decaying over steps 700-2,000 ends on 7-8 modes covered, HQ 57-83 %, healthy,
        # on 20 of 20 seeds (2-core AMD EPYC). At the default 10x rate gap D cannot
        # resolve a 0.02-wide mode: packing alone spreads G but leaves a haze (HQ 1-8 %).
        PACKING_CURE,
        "Let D judge pairs of samples (packing), both players at one fast, decaying "
        "rate (lesson 7). This starts a new run.")


def _on_them(run: Run, held: int) -> str:
    """Whether the fakes sit on the clusters named, with the counters' figures.

    G's mass is near `held` clusters (each fake counts for its nearest), while the
    counters count only fakes within 3σ of one: a collapsed patch beside a mode is "near
    2 of the 8" here and 0/8 there, so the banner says both, and how they fit."""
    modes = run.median("modes")
    if math.isnan(modes) or math.isnan(run.median("hq")):
        return ""
    fit = (" but not on " + ("it" if held <= 1 else "them") if modes < 1 else
           f", sharply on only {modes:.0f}" if modes < held else "")
    return f"{fit} ({_counted(run)})"


def _collapse_limit(n_modes: int) -> int:
    """The same share for every mixture: 3 of 8, 9 of 25; one of two modes is half the
    modes, not collapse (lesson 9's two-mode run that sloshes between them oscillates)."""
    return int(COLLAPSED * n_modes)


def _dominant_mode_changes(mass_rows: list) -> int:
    rows = [m for m in mass_rows if len(m)][-8:]
    tops = [int(np.argmax(m)) for m in rows]
    return sum(a != b for a, b in zip(tops, tops[1:]))


def _oscillating(run: Run) -> Diagnosis | None:
    # Scores only: a critic's values drift as it is re-fit, and a swing rule on them fired
    # on lesson 5's, lesson 8's and a diffuse WGAN-GP run alike (measured), so critics
    # are judged by their samples.
    if run.critic:
        return None
    score_g, score_d = run.recent("score_g"), run.recent("score_d", SWING_ROWS)
    ahead = np.convolve(score_d, np.ones(WINDOW) / WINDOW, "valid") if len(score_d) >= WINDOW else score_d
    # D ahead is an orbit only where G's samples have swung away from the data lately: a
    # packed D judges pairs and stays at score_D ~0.6 beside a cure (lesson 7), a D that
    # sees feature matching's haze stays ahead of it (lesson 12), and a young run's D is
    # ahead while G first comes in from afar (seen after the banner's packing cure).
    # Lesson 9's orbit swings past STEADY within the last STEADY_EVALS (its claim, on
    # every seed), crisp as its newest evaluations may look.
    d_ahead = ahead.max() > D_AHEAD and _unsettled(run)
    if len(score_g) < MIN_ROWS or not (score_g.std() > SWING or d_ahead):
        return None
    return Diagnosis(
        "oscillation", "Oscillation",
        f"The players keep overshooting each other{run.scores()}: D stays ahead without "
        f"winning, the fakes slosh from one black cluster to another, and the distance "
        f"line swings instead of settling.",
        # lesson 9: on its oscillating run R1 (γ = 1) settles score_D and the distance
        {"r1": 1.0}, "Add an R1 penalty (γ = 1) so D cannot get too steep (lesson 9).")


def _off_data(run: Run) -> Diagnosis | None:
    now, start = run.median("distance"), run.first("distance")
    if math.isnan(now) or not start > 0 or now < ON_DATA * start or run.median("hq") >= SHARP:
        return None
    return Diagnosis(
        "off_data", "Not on the data yet",
        f"G's coloured samples are still a blob away from the black real dots (distance "
        f"{now:.2f}, {now / start:.0%} of where it started){run.scores()}: let it train; "
        f"D's landscape is showing G the way.")


def _blurry(run: Run) -> Diagnosis | None:
    hq = run.median("hq")
    if run.n_modes < 2 or math.isnan(hq) or hq >= SHARP:
        return None
    cfg = run.cfg
    if run.critic and cfg.get("d_steps", 1) < 5:  # lesson 8: 5 critic steps sharpen WGAN-GP
        cure, text = {"d_steps": 5}, "Give the critic 5 updates per G step (lesson 8)."
    else:  # lessons 5 and 7: a late learning-rate decay turns coverage into sharp modes
        step = int(run.recent("step", 1)[0]) if len(run.recent("step", 1)) else 0
        cure = {"lr_decay_start": step, "lr_decay_end": step + 1500}
        text = "Let the learning rates decay over the next 1,500 steps (lessons 5 and 7)."
    return Diagnosis(
        "blurry", "Spread but blurry",
        f"G's samples reach all around the data (mass near {int(run.median('mass_modes'))} of "
        f"{run.n_modes} modes) but as a haze around the black clusters, not on them "
        f"({_counted(run)}).", cure, text)


def _partial(run: Run) -> Diagnosis | None:
    # Sharp where G is, but some modes get (almost) no sharp samples: more than a
    # collapse's handful, fewer than a cure's. No button: the project has not measured a
    # one-click cure for this state (a late decay only sharpens what is already there).
    modes = run.median("modes")
    if run.n_modes < 2 or math.isnan(modes) or modes >= crisp_limit(run.n_modes):
        return None
    return Diagnosis(
        "partial", "Some modes missed",
        f"G's samples sit sharply on some of the black clusters but leave others (nearly) "
        f"empty ({_counted(run)}); a cure needs {crisp_limit(run.n_modes)}. Let it train, "
        f"or start again on another seed.")


def _unsettled(run: Run) -> bool:
    """G's samples were STEADY or farther from the data at one of the last STEADY_EVALS
    evaluations, and the run has had that many."""
    recent = run.recent("distance", STEADY_EVALS)
    return len(recent) >= STEADY_EVALS and recent.max() >= STEADY


def _counted(run: Run) -> str:
    """The counters' two figures, in the counters' words."""
    return (f"modes covered {run.median('modes'):.0f}/{run.n_modes}, "
            f"high quality {100 * run.median('hq'):.0f} %")


_COUNTED = re.compile(r"modes covered \d+/\d+, high quality \d+ %")  # what _counted writes


def dated(diag: Diagnosis, step: float) -> Diagnosis:
    """`diag`, judged on the evaluations up to G step `step`, for a banner whose counters
    have moved on since (gansim.tracker holds a verdict steady): each quote of the
    counters' figures becomes the step it was read at. So the banner never quotes
    figures the counters beside it no longer show, and grows no longer (one more line
    above the arena at 1366×768 would push the arena's foot below the fold)."""
    text = _COUNTED.sub(f"as of step {step:,.0f}", diag.explanation)
    return diag if text == diag.explanation else replace(diag, explanation=text)


def _healthy(run: Run) -> Diagnosis:
    if run.n_modes:
        what = (f"the coloured fakes cover the black clusters and sit on them "
                f"({_counted(run)})")
    else:
        what = "the fakes lie on the data"
    return Diagnosis("healthy", "Healthy", f"Neither player dominates and {what}{run.scores()}.")


# Checked in order: the first rule that fires names the run's state. Collapse comes first
# of the rest: a D that rejects the one occupied mode wins the scores (lesson 5's
# baseline, 5 D steps per G step: score_D > 0.9 on 9 of 10 seeds), but what the class
# sees and what its lesson names is the collapse, and its cure is a cure for collapse.
# Domination comes before the other sample rules: a G that D rejects outright (or cannot
# judge) sits anywhere, and the cure is to rebalance the game first. Collapse also comes
# before oscillation: a collapsed ring GAN's D slowly pulls ahead too (measured: 6,000
# steps on the defaults).
RULES: tuple[Callable[[Run], Diagnosis | None], ...] = (
    _diverged, _collapsed, _d_dominates, _g_dominates, _oscillating, _off_data, _blurry,
    _partial)
# Every verdict the banner can show: kind -> title (a lesson step names the kinds its run
# may end on: gansim/lessons.py; tests/test_diagnosis.py checks each rule's title).
KINDS = {"warming_up": "Warming up", "diverged": "Diverged",
         "discriminator_dominates": "Discriminator dominates",
         "generator_dominates": "Generator dominates", "mode_collapse": "Mode collapse",
         "oscillation": "Oscillation", "off_data": "Not on the data yet",
         "blurry": "Spread but blurry", "partial": "Some modes missed", "healthy": "Healthy"}


def diagnose(hist: dict[str, Any], critic: bool = False, n_modes: int = 0,
             config: dict[str, Any] | None = None, diverged: str | None = None,
             mass: list | None = None) -> Diagnosis:
    """The run's state from its history (and the evaluations' mass per mode)."""
    hist = dict(hist)
    if mass is not None:
        hist["mass"] = mass
    run = Run(hist, critic, n_modes, config or {}, diverged)
    evals = max(len(run.recent("distance", EVALS)), len(run.recent("mass_modes", EVALS)))
    if not diverged and (len(run.recent("g_loss")) < MIN_ROWS or evals < EVALS):
        return Diagnosis("warming_up", "Warming up",
                         "Too early to judge: let it train for a few hundred steps.")
    for rule in RULES:
        found = rule(run)
        if found:
            return found
    return _healthy(run)

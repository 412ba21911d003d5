"""Diagnosis: name what the history shows, in one sentence, with a cure to try.

The score rules follow MATLAB's GAN-monitoring guide (REFERENCES.md): with D's
probability of "real", score_G = mean D(fake) and score_D = ½ mean D(real) +
½ mean (1 − D(fake)); both near 0.5 is the balanced game. Critic losses have no
probability, so for them only collapse, oscillation and divergence are judged.
Mode collapse shows in the samples, not in the scores: it is read off the evaluations.

A cure is a dict of Config changes the app applies with one click.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

WINDOW = 20  # logged rows judged (200 G steps at the default log_every of 10)
MIN_ROWS = 5  # fewer rows than this: too early to say anything
D_WINS, G_WINS = 0.9, 0.75  # score_D above / score_G above (window means)
SWING = 0.12  # std of score_G over the window that counts as oscillation
ON_MODES = 0.25  # HQ share above which G's samples have reached the modes
HOPS = 3  # changes of the dominant mode over the last evaluations that count as hopping


@dataclass(frozen=True)
class Diagnosis:
    kind: str
    title: str
    explanation: str
    cure: dict[str, Any] = field(default_factory=dict)  # Config changes to try
    cure_text: str = ""


def _recent(hist: dict[str, np.ndarray], key: str, n: int = WINDOW) -> np.ndarray:
    values = np.asarray(hist.get(key, []), dtype=float)
    values = values[~np.isnan(values)]
    return values[-n:]


def _diverged(hist, critic, n_modes, cfg, diverged) -> Diagnosis | None:
    if not diverged:
        return None
    return Diagnosis(
        "diverged", "Diverged",
        "A loss or gradient became NaN or infinite, so training stopped at the last good "
        "weights; steps that large blow the networks up.",
        {"lr_d": cfg.get("lr_d", 1e-4) / 10, "lr_g": cfg.get("lr_g", 1e-3) / 10},
        "Rewind and divide both learning rates by 10.")


def _collapse(hist, critic, n_modes, cfg, diverged) -> Diagnosis | None:
    # Collapse: G's mass sits near few modes (mass_modes) AND its samples have reached
    # them (HQ). An early G still bunched near the origin is near few modes too, but it
    # has not collapsed onto anything yet.
    held, hq = _recent(hist, "mass_modes", 3), _recent(hist, "hq", 3)
    if n_modes < 2 or len(held) == 0 or len(hq) == 0:
        return None
    limit = max(1, n_modes // 4)
    if np.median(held) > limit or np.median(hq) < ON_MODES:
        return None
    hopping = _dominant_mode_changes(hist.get("mass", [])) >= HOPS
    how = "and hops from mode to mode" if hopping else "and stays there"
    return Diagnosis(
        "mode_collapse", "Mode collapse",
        f"G puts its samples near only {int(held[-1])} of the {n_modes} modes {how}: it "
        f"found a spot D cannot yet reject and piles everything there.",
        {"mbstd": True},
        "Let D see the batch's spread (minibatch std); this starts a new run.")


def _dominant_mode_changes(mass_rows: list) -> int:
    rows = [m for m in mass_rows if len(m)][-8:]
    tops = [int(np.argmax(m)) for m in rows]
    return sum(a != b for a, b in zip(tops, tops[1:]))


def _d_dominates(hist, critic, n_modes, cfg, diverged) -> Diagnosis | None:
    score_d, score_g = _recent(hist, "score_d"), _recent(hist, "score_g")
    if critic or len(score_d) < MIN_ROWS or score_d.mean() < D_WINS or score_g.mean() > 1 - D_WINS:
        return None
    if cfg.get("loss") == "minimax":
        cure, text = {"loss": "nonsaturating"}, "Switch G to the non-saturating loss."
    else:
        cure = {"lr_d": cfg.get("lr_d", 1e-4) / 3}
        text = "Slow D down: divide its learning rate by 3."
    return Diagnosis(
        "discriminator_dominates", "Discriminator dominates",
        f"D tells real from fake almost perfectly (score_D {score_d.mean():.2f}, score_G "
        f"{score_g.mean():.2f}), so G gets little useful signal.", cure, text)


def _g_dominates(hist, critic, n_modes, cfg, diverged) -> Diagnosis | None:
    score_g = _recent(hist, "score_g")
    if critic or len(score_g) < MIN_ROWS or score_g.mean() < G_WINS:
        return None
    return Diagnosis(
        "generator_dominates", "Generator dominates",
        f"D rates G's samples as real most of the time (score_G {score_g.mean():.2f}): D is "
        f"too weak to teach G anything more.",
        {"d_steps": min(20, int(cfg.get("d_steps", 1)) + 1)},
        "Give D one more update per G step.")


def _oscillation(hist, critic, n_modes, cfg, diverged) -> Diagnosis | None:
    key = "critic_fake" if critic else "score_g"
    values = _recent(hist, key)
    if len(values) < MIN_ROWS:
        return None
    if critic:
        scale = max(float(np.abs(_recent(hist, "critic_real")).mean()), 1e-6)
        swinging = values.std() > 0.5 * scale and values.std() > 0.1
    else:
        swinging = values.std() > SWING
    if not swinging:
        return None
    return Diagnosis(
        "oscillation", "Oscillation",
        "The players keep overshooting each other: the scores swing instead of settling.",
        {"r1": 1.0}, "Add an R1 penalty (γ = 1) so D cannot get too steep.")


# Checked in order: the first rule that fires names the run's state.
RULES: tuple[Callable[..., Diagnosis | None], ...] = (
    _diverged, _collapse, _d_dominates, _g_dominates, _oscillation)


def diagnose(hist: dict[str, Any], critic: bool = False, n_modes: int = 0,
             config: dict[str, Any] | None = None, diverged: str | None = None,
             mass: list | None = None) -> Diagnosis:
    """The run's state from its history (and the last evaluations' mass per mode)."""
    cfg = config or {}
    hist = dict(hist)
    if mass is not None:
        hist["mass"] = mass
    for rule in RULES:
        found = rule(hist, critic, n_modes, cfg, diverged)
        if found:
            return found
    if len(_recent(hist, "g_loss")) < MIN_ROWS:
        return Diagnosis("warming_up", "Warming up",
                         "Too early to judge: let it train for a few hundred steps.")
    score = "" if critic or math.isnan(_mean(hist, "score_g")) else \
        f" (score_G {_mean(hist, 'score_g'):.2f}, score_D {_mean(hist, 'score_d'):.2f})"
    hq = _recent(hist, "hq", 3)
    if n_modes and len(hq) and np.median(hq) < ON_MODES:
        return Diagnosis("healthy", "Healthy so far",
                         f"Neither player dominates; G's samples have not reached the modes "
                         f"yet (HQ {100 * hq[-1]:.0f} %){score}.")
    return Diagnosis("healthy", "Healthy",
                     f"Neither player dominates and the samples are not collapsed{score}.")


def _mean(hist, key) -> float:
    values = _recent(hist, key)
    return float(values.mean()) if len(values) else math.nan

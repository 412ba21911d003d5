"""The Dirac-GAN's settings: one frozen GameConfig, every field declared once.

Kept apart from gansim/dirac.py (which needs torch) so that loading lessons, which may
carry a game's settings and claims, stays light. Checks and help sentences reuse
gansim/config.py's Range, Choice and Field, so a game setting reads like a run's.
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, Mapping

from .checks import Choice, Field, Range
from .config import LOSS_NAMES

UPDATES = ("simultaneous", "alternating")
QUERY_PREFIX = "dirac_"  # the page's URL carries the MLP Config too: keep the names apart


@dataclass(frozen=True)
class GameConfig:
    """One Dirac-GAN game: its loss, remedies, update rule, step sizes and start point."""

    loss: str = "minimax"  # the paper's f(t) = −log(1 + e^−t) game, zero-sum as analysed
    clip: float = 0.0  # WGAN weight clipping |ψ| ≤ c after each D step; 0 = off
    r1: float = 0.0  # R1 γ: (γ/2)·‖∇ₓD‖² at the data = (γ/2)ψ²
    r2: float = 0.0  # R2 γ: the same on the fakes; for a linear D also (γ/2)ψ²
    gp: float = 0.0  # WGAN-GP λ: λ(‖∇ₓD‖ − g₀)² = λ(|ψ| − g₀)²
    gp_target: float = 1.0  # WGAN-GP's target slope g₀
    instance_noise: float = 0.0  # σ: D sees both points blurred by N(0, σ²), never annealed
    consensus: float = 0.0  # consensus optimisation γ (Mescheder et al. 2017): −γ∇½‖v‖²
    updates: str = "simultaneous"  # both read the same point, or D first then G
    lr_g: float = 0.1
    lr_d: float = 0.1
    d_steps: int = 1
    theta0: float = 1.0  # start point: the paper's figures start away from (0, 0)
    psi0: float = 1.0
    steps: int = 500

    def __post_init__(self) -> None:
        for name, spec in GAME_FIELDS.items():
            spec.check(name, getattr(self, name))

    def replace(self, **changes: Any) -> "GameConfig":
        """A copy with some fields changed, validated like a new GameConfig."""
        _known(changes)
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "GameConfig":
        """Build from plain values (a lesson's table), text coerced to each field's type."""
        _known(values)
        return cls(**{k: _coerce(k, v) for k, v in values.items()})

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> "GameConfig":
        """Build from a page's URL: keys `dirac_<field>`; other keys belong to the page."""
        ours = {k[len(QUERY_PREFIX):]: v[-1] if isinstance(v, list) else v
                for k, v in params.items() if k.startswith(QUERY_PREFIX)}
        try:
            return cls.from_dict(ours)
        except ValueError as err:
            raise ValueError(f"the address bar's {QUERY_PREFIX}* settings: {err}") from None

    def to_query(self) -> dict[str, str]:
        """The fields that differ from the defaults, as `dirac_<field>` → text."""
        base = GameConfig()
        return {QUERY_PREFIX + f.name: str(getattr(self, f.name))
                for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(base, f.name)}


LR = Range(0.0, 2.0, lo_open=True)
GAME_FIELDS: dict[str, Field] = {
    "loss": Field(Choice(LOSS_NAMES), "The game both players play; minimax is the paper's."),
    "clip": Field(Range(0, 10), "Clips D's weight ψ to ±this after each D step (WGAN); 0 is off."),
    "r1": Field(Range(0, 100), "R1: penalises D's slope at the real point, pulling ψ to 0."),
    "r2": Field(Range(0, 100), "R2: penalises D's slope at the fake point (the same here)."),
    "gp": Field(Range(0, 100), "WGAN-GP: pulls D's slope |ψ| toward the target slope."),
    "gp_target": Field(Range(0, 10), "The slope WGAN-GP's penalty pulls |ψ| toward."),
    "instance_noise": Field(Range(0, 10),
                            "Blurs both points D sees with Gaussian noise of this σ."),
    "consensus": Field(Range(0, 10), "Both players also shrink the field's length (consensus)."),
    "updates": Field(Choice(UPDATES), "Both players step at once, or D steps first, then G."),
    "lr_g": Field(LR, "How big a step G takes each update."),
    "lr_d": Field(LR, "How big a step D takes each update."),
    "d_steps": Field(Range(1, 20, integer=True), "D updates for every G update."),
    "theta0": Field(Range(-5, 5), "Where G's point starts."),
    "psi0": Field(Range(-5, 5), "Where D's slope starts."),
    "steps": Field(Range(1, 3000, integer=True), "How many G updates to simulate."),
}
GAME_TYPES = {f.name: type(f.default) for f in dataclasses.fields(GameConfig)}
assert set(GAME_FIELDS) == set(GAME_TYPES), "every GameConfig field needs a GAME_FIELDS entry"


def _known(values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(GAME_TYPES))
    if unknown:
        close = difflib.get_close_matches(unknown[0], GAME_TYPES, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"unknown game setting '{unknown[0]}'{hint} "
                         f"(valid: {', '.join(GAME_TYPES)})")


def _coerce(name: str, value: Any) -> Any:
    kind = GAME_TYPES[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or kind is str:
        return value
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if kind is int:
        if not number.is_integer():
            raise ValueError(f"{name} must be an integer, got {value!r}")
        return int(number)
    return number


# Exact numbers a lesson may claim about a game (gansim/dirac.py computes each; a
# lesson's [[steps.game_claims]] names one). Name → what it measures.
CLAIM_NAMES = {
    "spectral_radius": "largest |eigenvalue| of the update map at (0, 0)",
    "max_real_part": "largest real part of the field's Jacobian eigenvalues at (0, 0)",
    "final_distance": "distance to (0, 0) after the game's steps",
    "distance_ratio": "final distance to (0, 0) over the start's",
}

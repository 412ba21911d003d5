"""The Dirac-GAN: why GAN training circles, on a game with one parameter per player.

Mescheder, Geiger & Nowozin, "Which Training Methods for GANs do actually Converge?"
(ICML 2018), Section 2: the data is a point at 0, the generator a point at θ and the
discriminator D_ψ(x) = ψ·x. The training game is then a vector field over the (θ, ψ)
plane with its equilibrium at (0, 0), and every remedy is a change of that field.

The players' losses are the project's own (gansim.losses, in float64), so this game and
the MLP arena play by the same rules: θ descends G's loss, ψ descends D's loss (ascends
D's objective). Fields, Jacobians and update maps are exact (autograd of the closed-form
losses; instance noise by Gauss-Hermite quadrature), so the lessons can check this game's
claims exactly, without seeds.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .game_config import CLAIM_NAMES, QUERY_PREFIX, GameConfig  # noqa: F401 (the API)
from .losses import LOSSES

ESCAPE = 1e3  # a trajectory stops here: it has left any plot, and floats would overflow
NODES = 40  # Gauss-Hermite nodes for instance noise: exact to ~1e-12 for these losses
CIRCLE_TOL = 1e-9  # |ρ − 1| below this is "on the unit circle" (rounding, not a trend)


# --- the game's losses --------------------------------------------------------------

# D's penalties as functions of ψ: ∇ₓD_ψ(x) = ψ at every x, so each is closed-form.
# A remedy is one entry here (R1 and R2: Mescheder et al. 2018, Section 4.1; WGAN-GP:
# Gulrajani et al. 2017, as that paper's Dirac analysis writes it in Section 3).
PENALTIES: dict[str, Callable[[GameConfig, torch.Tensor], torch.Tensor]] = {
    "r1": lambda cfg, psi: 0.5 * cfg.r1 * psi**2,
    "r2": lambda cfg, psi: 0.5 * cfg.r2 * psi**2,
    "gp": lambda cfg, psi: cfg.gp * (psi.abs() - cfg.gp_target) ** 2,
}


def _noise(sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of E over ε ~ N(0, σ²) (probabilists' Gauss-Hermite); σ = 0: ε = 0."""
    x, w = _hermite(NODES) if sigma else (np.zeros(1), np.ones(1))
    return torch.from_numpy(sigma * x), torch.from_numpy(w)


@functools.lru_cache(maxsize=1)
def _hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    # numpy arrays, not tensors: a tensor made under torch.func must not outlive it
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / math.sqrt(2 * math.pi)


def losses(cfg: GameConfig, theta: torch.Tensor, psi: torch.Tensor):
    """(G's loss, D's loss) at (θ, ψ), elementwise; instance noise as the expected loss
    under noise (Mescheder et al. 2018, Section 3)."""
    loss = LOSSES[cfg.loss]
    eps, w = _noise(cfg.instance_noise)
    th, ps = theta[..., None], psi[..., None]
    real, fake = ps * eps, ps * (th + eps)  # D's outputs at the blurred data and fake
    g = (w * loss.g_term(fake)).sum(-1)
    d = (w * (loss.real_term(real) + loss.fake_term(fake))).sum(-1)
    for name, term in PENALTIES.items():
        if getattr(cfg, name):
            d = d + term(cfg, psi)
    return g, d


def _field(cfg: GameConfig, theta: torch.Tensor, psi: torch.Tensor):
    """v = (−∂θ L_G, −∂ψ L_D) at one point (0-d tensors). Partial derivatives by
    torch.func, so an outer Jacobian (or vmap) composes with them: after D's step in an
    alternating update, G's gradient must not see ψ's dependence on θ."""
    v_t = -torch.func.grad(lambda t: losses(cfg, t, psi)[0])(theta)
    v_p = -torch.func.grad(lambda p: losses(cfg, theta, p)[1])(psi)
    if cfg.consensus:  # consensus optimisation (Mescheder et al. 2017): both also descend γ·½‖v‖²
        def half_sq(t, p):
            a = -torch.func.grad(lambda s: losses(cfg, s, p)[0])(t)
            b = -torch.func.grad(lambda s: losses(cfg, t, s)[1])(p)
            return 0.5 * (a**2 + b**2)
        g_t, g_p = torch.func.grad(half_sq, argnums=(0, 1))(theta, psi)
        v_t, v_p = v_t - cfg.consensus * g_t, v_p - cfg.consensus * g_p
    return v_t, v_p


def _t(value) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float64)


def field(cfg: GameConfig, theta, psi) -> tuple[np.ndarray, np.ndarray]:
    """The direction each player moves at (θ, ψ) (arrays of any shape, broadcast)."""
    theta, psi = np.broadcast_arrays(np.asarray(theta, float), np.asarray(psi, float))
    flat = torch.func.vmap(lambda t, p: torch.stack(_field(cfg, t, p)))(
        _t(theta.ravel()), _t(psi.ravel()))
    return flat[:, 0].numpy().reshape(theta.shape), flat[:, 1].numpy().reshape(theta.shape)


def jacobian(cfg: GameConfig, theta: float = 0.0, psi: float = 0.0) -> np.ndarray:
    """∂v/∂(θ, ψ) at one point, exact (autograd of the closed-form losses)."""
    return torch.func.jacrev(lambda x: torch.stack(_field(cfg, x[0], x[1])))(
        _t([theta, psi])).numpy()


def eigenvalues(cfg: GameConfig) -> np.ndarray:
    """Eigenvalues of the field's Jacobian at the equilibrium (0, 0)."""
    return np.linalg.eigvals(jacobian(cfg))


# --- the update rule ----------------------------------------------------------------

def _clip(cfg: GameConfig, psi: torch.Tensor) -> torch.Tensor:
    return psi.clamp(-cfg.clip, cfg.clip) if cfg.clip else psi


def _update(cfg: GameConfig, theta: torch.Tensor, psi: torch.Tensor):
    """One G update: D's d_steps steps, G's step from the start point (simultaneous) or
    from D's new ψ (alternating, D first)."""
    v_t0 = _field(cfg, theta, psi)[0] if cfg.updates == "simultaneous" else None
    for _ in range(cfg.d_steps):
        psi = _clip(cfg, psi + cfg.lr_d * _field(cfg, theta, psi)[1])
    v_t = v_t0 if v_t0 is not None else _field(cfg, theta, psi)[0]
    return theta + cfg.lr_g * v_t, psi


def update_jacobian(cfg: GameConfig, theta: float = 0.0, psi: float = 0.0) -> np.ndarray:
    """Jacobian of one update at a point (at (0, 0), simultaneous: I + diag(h)·J;
    alternating: the product of D's and G's steps)."""
    return torch.func.jacrev(lambda x: torch.stack(_update(cfg, x[0], x[1])))(
        _t([theta, psi])).numpy()


def update_eigenvalues(cfg: GameConfig) -> np.ndarray:
    """Eigenvalues of the update map's Jacobian at (0, 0): all inside the unit circle
    means the iteration converges near (0, 0) (Mescheder et al. 2018, Section 2 and Appendix A)."""
    return np.linalg.eigvals(update_jacobian(cfg))


def spectral_radius(cfg: GameConfig) -> float:
    return float(np.abs(update_eigenvalues(cfg)).max())


def simulate(cfg: GameConfig, start: tuple[float, float] | None = None) -> np.ndarray:
    """(θ, ψ) after each of cfg.steps updates, from `start` (default cfg's start point);
    shape (n + 1, 2). A trajectory that leaves |·| < ESCAPE stops there (n < steps)."""
    theta, psi = start if start is not None else (cfg.theta0, cfg.psi0)
    t, p = _t(float(theta)), _t(float(psi))
    path = [(t.item(), p.item())]
    for _ in range(cfg.steps):
        t, p = _update(cfg, t, p)
        path.append((t.item(), p.item()))
        if not math.hypot(*path[-1]) < ESCAPE:  # also stops on nan
            break
    return np.array(path)


# --- what the eigenvalues predict ---------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    kind: str  # a key of VERDICTS, or "kink"
    radius: float  # spectral radius of the update map at (0, 0)
    steps: float  # steps for the distance to halve (converges) or double (out); inf: never
    sentence: str


# (how ρ compares with 1, eigenvalues complex?) → (kind, sentence); {r} is ρ, {n} steps.
VERDICTS = {
    (1, True): ("spirals out", "Spirals out: the update map's eigenvalues lie outside the "
                "unit circle (spectral radius {r:.4f}), so each step turns the players "
                "around (0, 0) and moves them away; their distance doubles in about {n} steps."),
    (1, False): ("moves out", "Moves out: an eigenvalue of the update map is {r:.4f} > 1, so "
                 "the players move straight away from (0, 0); their distance doubles in "
                 "about {n} steps."),
    (0, True): ("circles", "Circles (neither in nor out): the update map's eigenvalues lie "
                "on the unit circle (spectral radius {r:.4f}), so near (0, 0) the players "
                "orbit it at a constant distance."),
    (0, False): ("stalls", "Neither in nor out: the update map's largest eigenvalue is 1, "
                 "so near (0, 0) nothing pulls the players back; they drift or stall."),
    (-1, True): ("converges", "Converges: the update map's eigenvalues lie inside the unit "
                 "circle (spectral radius {r:.4f}), so the players spiral in to (0, 0); "
                 "their distance halves in about {n} steps."),
    (-1, False): ("converges", "Converges: the update map's eigenvalues lie inside the unit "
                  "circle (spectral radius {r:.4f}), so the players head straight in to "
                  "(0, 0); their distance halves in about {n} steps."),
}
KINK = ("No verdict from the eigenvalues: the gradient penalty's |ψ| has a kink at (0, 0), "
        "so the field has no Jacobian there, and the paper shows this game does not "
        "converge locally (Mescheder et al. 2018, Section 3); watch the trajectory.")


def verdict(cfg: GameConfig) -> Verdict:
    """What the update map's eigenvalues at (0, 0) predict, in one sentence."""
    eig = update_eigenvalues(cfg)
    r = float(np.abs(eig).max())
    if cfg.gp:
        return Verdict("kink", r, math.inf, KINK)
    side = 0 if abs(r - 1) < CIRCLE_TOL else (1 if r > 1 else -1)
    # a double real eigenvalue (R1 at γ = 1) comes back with ~1e-9 imaginary rounding
    turning = bool(np.abs(eig.imag).max() > 1e-6)
    steps = math.log(2) / abs(math.log(r)) if side else math.inf
    kind, text = VERDICTS[(side, turning)]
    return Verdict(kind, r, steps, text.format(r=r, n=f"{steps:,.0f}"))


# --- exact claims for the lessons ---------------------------------------------------

def _distances(cfg: GameConfig) -> np.ndarray:
    return np.hypot(*simulate(cfg).T)


# Deterministic numbers a lesson may claim about a game (gansim/lessons.py reads the
# names; gansim/lesson_check.py evaluates them once: there are no seeds here).
CLAIM_METRICS: dict[str, Callable[[GameConfig], float]] = {
    "spectral_radius": spectral_radius,  # of the update map at (0, 0)
    "max_real_part": lambda cfg: float(eigenvalues(cfg).real.max()),  # of the field's J
    "final_distance": lambda cfg: float(_distances(cfg)[-1]),  # to (0, 0), after cfg.steps
    "distance_ratio": lambda cfg: float(_distances(cfg)[-1] / _distances(cfg)[0]),
}


assert set(CLAIM_METRICS) == set(CLAIM_NAMES), \
    "game_config.CLAIM_NAMES and dirac.CLAIM_METRICS must list the same claims"


def measure(cfg: GameConfig, metric: str) -> float:
    """One CLAIM_METRICS number for this game."""
    return CLAIM_METRICS[metric](cfg)

"""The Dirac-GAN against the closed forms of Mescheder, Geiger & Nowozin (ICML 2018)."""
import math

import numpy as np
import pytest

from gansim import dirac
from gansim.dirac import GameConfig

F1 = 0.5  # f′(0) for f(t) = −log(1 + e^−t), the paper's standard GAN
PLAIN = GameConfig()  # minimax, simultaneous, lr 0.1, from (1, 1)


def distances(cfg, start=None):
    return np.hypot(*dirac.simulate(cfg, start).T)


# --- the field's Jacobian at the equilibrium -----------------------------------------

@pytest.mark.parametrize("loss", ["minimax", "nonsaturating"])
def test_plain_game_has_imaginary_eigenvalues(loss):
    # Section 2: J(0, 0) = [[0, −f′(0)], [f′(0), 0]] up to the sign of ψ.
    eig = np.sort_complex(dirac.eigenvalues(GameConfig(loss=loss)))
    assert eig == pytest.approx([-F1 * 1j, F1 * 1j], abs=1e-12)


def test_wasserstein_eigenvalues_are_plus_minus_i():
    # f(t) = t: f′(0) = 1 (Section 3, WGAN).
    eig = np.sort_complex(dirac.eigenvalues(GameConfig(loss="wasserstein")))
    assert eig == pytest.approx([-1j, 1j], abs=1e-12)


@pytest.mark.parametrize("gamma", [0.2, 0.5, 1.0, 1.5, 4.0])
def test_r1_eigenvalues_match_the_closed_form(gamma):
    # Section 3 (zero-centred gradient penalties) on the Dirac-GAN: −γ/2 ± √(γ²/4 − f′(0)²).
    root = np.sqrt(complex(gamma**2 / 4 - F1**2))
    want = np.sort_complex(np.array([-gamma / 2 - root, -gamma / 2 + root]))
    for cfg in (GameConfig(r1=gamma), GameConfig(r2=gamma)):  # R2 is the same for linear D
        got = np.sort_complex(dirac.eigenvalues(cfg))
        assert got == pytest.approx(want, abs=1e-6)  # the double root at γ = 1 is ~1e-8 off
    assert (abs(dirac.eigenvalues(GameConfig(r1=gamma)).imag).max() < 1e-6) == (gamma >= 1)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_instance_noise_eigenvalues_match_the_closed_form(sigma):
    # Section 3 (instance noise): f″(0)σ² ± √(f″(0)²σ⁴ − f′(0)²) with f″(0) = −¼
    # (the expectation by Gauss-Hermite quadrature, exact to rounding).
    a = -sigma**2 / 4
    root = np.sqrt(complex(a**2 - F1**2))
    got = np.sort_complex(dirac.eigenvalues(GameConfig(instance_noise=sigma)))
    assert got == pytest.approx(np.sort_complex(np.array([a - root, a + root])), abs=1e-10)


def test_consensus_adds_minus_gamma_times_jt_j():
    # Consensus optimisation (Mescheder et al. 2017): at a stationary point J − γJᵀJ = J − γf′(0)²I.
    eig = np.sort_complex(dirac.eigenvalues(GameConfig(consensus=2.0)))
    assert eig == pytest.approx([-2 * F1**2 - F1 * 1j, -2 * F1**2 + F1 * 1j], abs=1e-12)


POINTS = [(0.3, -0.7), (1.2, 0.4), (-2.0, 1.5), (0.05, 0.02)]
GAMES = [PLAIN, GameConfig(loss="nonsaturating", r1=0.7), GameConfig(instance_noise=0.8),
         GameConfig(loss="hinge"), GameConfig(loss="least_squares", consensus=0.5)]


@pytest.mark.parametrize("cfg", GAMES, ids=lambda c: f"{c.loss}-r1{c.r1}-n{c.instance_noise}")
@pytest.mark.parametrize("point", POINTS)
def test_jacobian_matches_central_differences(cfg, point):
    h = 1e-5
    fd = np.empty((2, 2))
    for j, e in enumerate(np.eye(2)):
        plus = dirac.field(cfg, *(np.array(point) + h * e))
        minus = dirac.field(cfg, *(np.array(point) - h * e))
        fd[:, j] = (np.array(plus) - np.array(minus)) / (2 * h)
    assert dirac.jacobian(cfg, *point) == pytest.approx(fd, abs=1e-7)


# --- the update map ---------------------------------------------------------------

@pytest.mark.parametrize("h", [0.01, 0.1, 0.5])
def test_simultaneous_update_is_identity_plus_h_j(h):
    # Section 2: eigenvalues 1 ± h f′(0) i, modulus √(1 + h²f′(0)²) > 1.
    cfg = GameConfig(lr_g=h, lr_d=h)
    assert dirac.update_jacobian(cfg) == pytest.approx(np.eye(2) + h * dirac.jacobian(cfg))
    assert dirac.spectral_radius(cfg) == pytest.approx(math.sqrt(1 + (h * F1) ** 2))


@pytest.mark.parametrize("h", [0.1, 1.0, 2.0])
def test_alternating_update_lies_on_the_unit_circle_for_small_steps(h):
    # Section 2: det = 1, trace 2 − h²f′(0)²: on the circle while h f′(0) ≤ 2.
    cfg = GameConfig(updates="alternating", lr_g=h, lr_d=h)
    jac = dirac.update_jacobian(cfg)
    assert np.linalg.det(jac) == pytest.approx(1.0)
    assert np.trace(jac) == pytest.approx(2 - (h * F1) ** 2)
    assert dirac.verdict(cfg).kind == "circles"
    simultaneous = dirac.update_jacobian(cfg.replace(updates="simultaneous"))
    assert np.linalg.det(simultaneous) == pytest.approx(1 + (h * F1) ** 2)  # not on it


# --- trajectories ------------------------------------------------------------------
# Section 2, and the paper's figure "Convergence properties of different GAN training
# algorithms ... for the Dirac-GAN" (one panel per method).

@pytest.mark.parametrize("h", [0.01, 0.05, 0.1, 0.3, 1.0])
def test_simultaneous_steps_spiral_out_for_every_learning_rate(h):
    # Section 2: simultaneous gradient descent on the plain game spirals outwards ...
    cfg = GameConfig(lr_g=h, lr_d=h, steps=300)
    r = distances(cfg)
    assert np.all(np.diff(r) > 0)  # every step moves out
    assert dirac.verdict(cfg).kind == "spirals out"
    # ... and near (0, 0) at the pace of its eigenvalues, |1 ± h f′(0) i| per step.
    near = distances(cfg.replace(steps=20), start=(1e-3, 0.0))
    assert near[-1] / near[0] == pytest.approx((1 + (h * F1) ** 2) ** 10, rel=1e-3)


def test_non_saturating_spirals_out_near_the_equilibrium():
    # Its Jacobian at (0, 0) is the minimax one (Section 2), so close in it spirals out.
    cfg = GameConfig(loss="nonsaturating", steps=300)
    r = distances(cfg, start=(0.02, 0.0))
    assert r[-1] > 1.3 * r[0]


@pytest.mark.parametrize("h", [0.1, 0.3])
def test_alternating_steps_stay_on_a_closed_orbit(h):
    # Section 2: alternating gradient descent circles: bounded, neither in nor out.
    # Away from (0, 0) the orbit is not exactly closed: from (1, 1) at h = 0.3 the distance
    # wanders within 0.93–1.02 of its start over 6,000 steps (simultaneous: 2.3× in 300).
    r = distances(GameConfig(updates="alternating", lr_g=h, lr_d=h, steps=1000))
    assert r.max() < 1.05 * r[0] and r.min() > 0.9 * r[0]


@pytest.mark.parametrize("cfg", [GameConfig(r1=1.0), GameConfig(r1=0.3),
                                 GameConfig(instance_noise=1.0), GameConfig(consensus=1.0),
                                 GameConfig(loss="nonsaturating", r1=1.0)],
                         ids=["r1", "r1-weak", "noise", "consensus", "ns-r1"])
def test_remedies_converge_to_the_equilibrium(cfg):
    # The figure's instance noise, gradient penalty (R1) and consensus panels: all reach (0, 0).
    assert distances(cfg.replace(steps=400))[-1] < 1e-2
    assert dirac.verdict(cfg).kind == "converges"


@pytest.mark.parametrize("cfg", [GameConfig(loss="wasserstein", clip=0.5),
                                 GameConfig(loss="wasserstein", gp=1.0),
                                 GameConfig(loss="wasserstein", gp=1.0, updates="alternating")],
                         ids=["clip", "gp", "gp-alternating"])
def test_wgan_clipping_and_gradient_penalty_do_not_settle(cfg):
    # The figure's WGAN and WGAN-GP panels (Section 3): not locally convergent.
    r = distances(cfg.replace(steps=500))
    assert r[-200:].min() > 0.3


def test_the_verdict_gives_the_halving_time():
    v = dirac.verdict(GameConfig(r1=1.0))  # ρ = 1 − h/2 = 0.95
    assert v.radius == pytest.approx(0.95)
    assert v.steps == pytest.approx(math.log(2) / -math.log(0.95))
    assert "halves in about 14 steps" in v.sentence
    assert dirac.verdict(GameConfig(loss="wasserstein", gp=1.0)).kind == "kink"


def test_an_escaping_trajectory_stops():
    path = dirac.simulate(GameConfig(lr_g=0.5, lr_d=0.5, loss="wasserstein", steps=3000))
    assert 10 < len(path) < 3001 and np.hypot(*path[-1]) >= dirac.ESCAPE


# --- settings -----------------------------------------------------------------------

BAD = [("lr_d", -1.0, ["lr_d", "-1"]), ("loss", "wgan", ["loss", "wasserstein"]),
       ("updates", "together", ["updates", "alternating"]), ("d_steps", 0, ["d_steps"]),
       ("steps", 2.5, ["steps", "integer"]), ("instance_noise", float("nan"), ["finite"])]


@pytest.mark.parametrize("name,value,words", BAD)
def test_bad_settings_name_field_and_value(name, value, words):
    with pytest.raises(ValueError) as err:
        GameConfig(**{name: value})
    assert all(w in str(err.value) for w in words)


def test_unknown_setting_suggests_a_fix():
    with pytest.raises(ValueError, match="did you mean 'lr_d'"):
        GameConfig.from_dict({"lr_dd": 0.1})


def test_query_round_trip():
    cfg = GameConfig(loss="hinge", r1=0.5, updates="alternating", steps=200, psi0=-1.0)
    params = cfg.to_query()
    assert params["dirac_loss"] == "hinge" and "dirac_lr_g" not in params
    assert GameConfig.from_query({**params, "lr_g": "9"}) == cfg  # other keys: the page's
    with pytest.raises(ValueError, match=r"dirac_\* settings: steps must be an integer"):
        GameConfig.from_query({"dirac_steps": "2.5"})
    with pytest.raises(ValueError, match="unknown game setting 'stepz'; did you mean 'steps'"):
        GameConfig.from_query({"dirac_stepz": "5"})
    with pytest.raises(ValueError, match="r1 must be in"):
        GameConfig.from_query({"dirac_r1": "-1"})

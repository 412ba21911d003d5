import numpy as np
import pytest

from gansim.diagnosis import RULES, diagnose

N = 30


def hist(**columns):
    """A history of N logged rows; unspecified columns are a balanced game."""
    base = {"g_loss": np.full(N, 0.7), "d_loss": np.full(N, 1.38), "score_d": np.full(N, 0.5),
            "score_g": np.full(N, 0.5), "modes": np.full(N, 8.0), "mass_modes": np.full(N, 8.0), "hq": np.full(N, 0.8), "g_grad": np.ones(N)}
    base.update({k: np.asarray(v, dtype=float) for k, v in columns.items()})
    return base


def test_balanced_game_is_healthy():
    d = diagnose(hist(), n_modes=8)
    assert d.kind == "healthy" and "score_G 0.50" in d.explanation


def test_too_few_rows_is_warming_up():
    assert diagnose({"g_loss": np.ones(2)}, n_modes=8).kind == "warming_up"


def test_diverged_wins_and_suggests_smaller_steps():
    d = diagnose(hist(), n_modes=8, config={"lr_d": 1e-3, "lr_g": 1e-2}, diverged="NaN")
    assert d.kind == "diverged"
    assert d.cure == {"lr_d": pytest.approx(1e-4), "lr_g": pytest.approx(1e-3)}


def test_discriminator_dominates_and_the_cure_depends_on_the_loss():
    h = hist(score_d=np.full(N, 0.97), score_g=np.full(N, 0.02))
    d = diagnose(h, n_modes=8, config={"loss": "minimax"})
    assert d.kind == "discriminator_dominates" and d.cure == {"loss": "nonsaturating"}
    d = diagnose(h, n_modes=8, config={"loss": "nonsaturating", "lr_d": 3e-4})
    assert d.cure == {"lr_d": pytest.approx(1e-4)}
    assert diagnose(h, critic=True, n_modes=8).kind != "discriminator_dominates"


def test_generator_dominates():
    d = diagnose(hist(score_g=np.full(N, 0.9), score_d=np.full(N, 0.3)), n_modes=8,
                 config={"d_steps": 1})
    assert d.kind == "generator_dominates" and d.cure == {"d_steps": 2}


def test_mode_collapse_reads_the_evaluations_and_sees_hopping():
    h = hist(modes=np.full(N, 1.0), mass_modes=np.full(N, 1.0))
    still = [[1.0] + [0.0] * 7] * 8
    hop = [np.roll([1.0] + [0.0] * 7, i).tolist() for i in range(8)]
    assert "stays there" in diagnose(h, n_modes=8, mass=still).explanation
    d = diagnose(h, n_modes=8, mass=hop)
    assert d.kind == "mode_collapse" and "hops" in d.explanation and d.cure
    assert diagnose(hist(mass_modes=np.full(N, 6.0)), n_modes=8).kind == "healthy"
    assert diagnose(h, n_modes=0).kind == "healthy"  # no modes known
    # An early G bunched off the ring is near few modes but has collapsed onto nothing.
    early = hist(modes=np.zeros(N), mass_modes=np.full(N, 2.0), hq=np.zeros(N))
    d = diagnose(early, n_modes=8)
    assert d.kind == "healthy" and "not reached the modes" in d.explanation
    # Diffuse samples on no mode are not collapse: the mass is still spread out.
    assert diagnose(hist(modes=np.zeros(N), mass_modes=np.full(N, 8.0)), n_modes=8).kind == "healthy"


def test_oscillation_from_swinging_scores():
    swing = 0.5 + 0.3 * np.sin(np.arange(N))
    d = diagnose(hist(score_g=swing, score_d=1 - swing / 2), n_modes=8)
    assert d.kind == "oscillation" and d.cure == {"r1": 1.0}


def test_every_rule_has_explanation_and_cure_text():
    kinds = set()
    cases = [dict(diverged="x"), dict(h=hist(mass_modes=np.ones(N))),
             dict(h=hist(score_d=np.full(N, 0.97), score_g=np.full(N, 0.02))),
             dict(h=hist(score_g=np.full(N, 0.9))),
             dict(h=hist(score_g=0.5 + 0.3 * np.sin(np.arange(N))))]
    for case in cases:
        d = diagnose(case.get("h", hist()), n_modes=8, diverged=case.get("diverged"))
        kinds.add(d.kind)
        assert d.explanation.endswith(".") and d.cure_text and d.cure
    assert len(kinds) == len(RULES)

"""Unit checks of the diagnosis rules and the Tracker on small histories.

Whether the rules are right on real runs is checked on real training in
tests/test_diagnosis_real.py; these pin each rule's edge and the Tracker's hysteresis.
"""
import numpy as np
import pytest

from gansim.diagnosis import KINDS, RULES, crisp_limit, diagnose, settled
from gansim.tracker import Tracker

N = 30


def hist(**columns):
    """N logged rows, each with an evaluation; unspecified columns: a healthy ring run
    that started 2.0 away from the data and now sits on all 8 modes."""
    distance = np.full(N, 0.05)
    distance[0] = 2.0
    base = {"step": 10.0 * np.arange(1, N + 1), "g_loss": np.full(N, 0.7),
            "d_loss": np.full(N, 1.38), "score_d": np.full(N, 0.5), "score_g": np.full(N, 0.5),
            "modes": np.full(N, 8.0), "mass_modes": np.full(N, 8.0), "hq": np.full(N, 0.8),
            "distance": distance}
    base.update({k: np.asarray(v, dtype=float) for k, v in columns.items()})
    return base


def test_balanced_game_on_all_modes_is_healthy():
    d = diagnose(hist(), n_modes=8)
    assert d.kind == "healthy" and "score_G 0.50" in d.explanation and not d.cure


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
    d = diagnose(h, n_modes=8, config={"loss": "nonsaturating", "lr_d": 1e-3, "lr_g": 1e-5,
                                       "d_steps": 5})
    assert d.cure == {"d_steps": 1, "lr_g": pytest.approx(1e-3)}
    assert diagnose(h, critic=True, n_modes=8).kind != "discriminator_dominates"


def test_generator_dominates_gives_d_back_its_rate():
    h = hist(score_g=np.full(N, 0.9), score_d=np.full(N, 0.3))
    d = diagnose(h, n_modes=8, config={"lr_d": 1e-6, "lr_g": 1e-3, "d_steps": 1})
    assert d.kind == "generator_dominates" and d.cure == {"lr_d": 1e-3}
    d = diagnose(h, n_modes=8, config={"lr_d": 1e-3, "lr_g": 1e-3, "d_steps": 1})
    assert d.cure == {"d_steps": 2}


def test_collapse_is_read_off_the_mass_not_the_sample_quality():
    # A collapsed ring GAN: one tight cluster beside a mode, HQ ~1 %, near from the data.
    h = hist(modes=np.zeros(N), hq=np.full(N, 0.01), mass_modes=np.full(N, 1.0))
    still = [[1.0] + [0.0] * 7] * N
    hop = [np.roll([1.0] + [0.0] * 7, i).tolist() for i in range(N)]
    d = diagnose(h, n_modes=8, mass=still)
    assert d.kind == "mode_collapse" and "stays there" in d.explanation and d.cure
    assert "hops" in diagnose(h, n_modes=8, mass=hop).explanation
    # Lesson 4's limit: 3 of 8 modes is collapse, 4 is not.
    assert diagnose(hist(mass_modes=np.full(N, 3.0)), n_modes=8).kind == "mode_collapse"
    assert diagnose(hist(mass_modes=np.full(N, 4.0)), n_modes=8).kind != "mode_collapse"
    assert diagnose(h, n_modes=0).kind != "mode_collapse"  # no modes known


def test_a_collapse_quotes_the_counters_and_says_how_they_fit():
    # The patch is nearest to 2 modes but within 3σ of none: the counters say 0/8, and
    # the banner says so beside its "near 2 of the 8".
    def collapse(modes, hq, held=2.0):
        d = diagnose(hist(modes=np.full(N, modes), hq=np.full(N, hq),
                          mass_modes=np.full(N, held)), n_modes=8)
        assert d.kind == "mode_collapse"
        return d.explanation

    beside = collapse(0.0, 0.0)
    assert "near 2 of the 8 real clusters but not on them " \
           "(modes covered 0/8, high quality 0 %)" in beside
    assert "near one of the 8 real clusters but not on it (modes covered 0/8" in \
        collapse(0.0, 0.01, held=1.0)
    assert "near 3 of the 8 real clusters, sharply on only 1 (modes covered 1/8" in \
        collapse(1.0, 0.2, held=3.0)
    on = collapse(2.0, 0.9)
    assert "near 2 of the 8 real clusters (modes covered 2/8, high quality 90 %)" in on


def test_off_the_data_blurry_and_healthy_are_told_apart():
    far = np.linspace(2.0, 1.5, N)
    assert diagnose(hist(distance=far, hq=np.zeros(N)), n_modes=8).kind == "off_data"
    blurry = diagnose(hist(hq=np.full(N, 0.05)), n_modes=8, config={"loss": "wasserstein",
                                                                    "d_steps": 1}, critic=True)
    assert blurry.kind == "blurry" and blurry.cure == {"d_steps": 5}
    assert diagnose(hist(hq=np.full(N, 0.6)), n_modes=8).kind == "healthy"


def test_oscillation_from_swinging_scores_or_a_d_that_keeps_pulling_ahead():
    swing = 0.5 + 0.3 * np.sin(np.arange(N))
    d = diagnose(hist(score_g=swing, score_d=1 - swing / 2), n_modes=2)
    assert d.kind == "oscillation" and d.cure == {"r1": 1.0}
    # Lesson 9's shape: score_D at ~0.62 for a phase, then back near 0.5: still oscillating.
    # (its distance swings past 0.5 within the last 10 evaluations, on every seed)
    phase = np.where(np.arange(N) < 22, 0.62, 0.5)
    swinging = 0.3 + 0.3 * np.sin(np.arange(N))
    assert diagnose(hist(score_d=phase, score_g=1 - phase, distance=swinging),
                    n_modes=2).kind == "oscillation"
    assert diagnose(hist(score_d=np.full(N, 0.53), score_g=np.full(N, 0.47)),
                    n_modes=2).kind == "healthy"


def test_a_steady_d_ahead_beside_samples_near_the_data_is_not_an_oscillation():
    # lesson 7's packed D sits at score_D ~0.6 while the counters show a cure ...
    ahead = dict(score_d=np.full(N, 0.6), score_g=np.full(N, 0.4))
    assert diagnose(hist(**ahead), n_modes=8).kind == "healthy"
    # ... and beside feature matching's steady haze (lesson 12): blurry, not an orbit
    assert diagnose(hist(**ahead, hq=np.full(N, 0.2)), n_modes=8).kind == "blurry"
    # lesson 9's orbit: crisp at its newest evaluations, but far off a few evaluations ago
    swung = np.full(N, 0.05)
    swung[-6] = 0.8
    assert diagnose(hist(**ahead, distance=swung), n_modes=8).kind == "oscillation"
    # a young run (fewer than 10 evaluations) whose G still comes in from afar: D ahead is
    # not an orbit yet (the banner's packing cure at step ~400)
    young = {k: v[:8] for k, v in hist(**ahead, distance=np.linspace(2.0, 0.3, N)).items()}
    assert diagnose(young, n_modes=8).kind != "oscillation"
    swing = 0.5 + 0.3 * np.sin(np.arange(N))  # a swinging G is an orbit, crisp or not
    assert diagnose(hist(score_g=swing, score_d=1 - swing / 2), n_modes=8).kind == "oscillation"


def test_every_rule_has_explanation_and_cure_text():
    cases = [dict(diverged="x"), dict(h=hist(mass_modes=np.ones(N))),
             dict(h=hist(score_d=np.full(N, 0.97), score_g=np.full(N, 0.02))),
             dict(h=hist(score_g=np.full(N, 0.9))),
             dict(h=hist(score_g=0.5 + 0.3 * np.sin(np.arange(N)))),
             dict(h=hist(distance=np.linspace(2.0, 1.5, N), hq=np.zeros(N))),
             dict(h=hist(hq=np.full(N, 0.05))), dict(h=hist(modes=np.full(N, 5.0)))]
    kinds = set()
    for case in cases:
        d = diagnose(case.get("h", hist()), n_modes=8, diverged=case.get("diverged"))
        kinds.add(d.kind)
        assert d.explanation.endswith(".")
        assert bool(d.cure) == bool(d.cure_text)
        assert KINDS[d.kind] == d.title  # the lesson files name verdicts by these kinds
    assert len(kinds) == len(RULES)
    assert KINDS[diagnose(hist(), n_modes=8).kind] == diagnose(hist(), n_modes=8).title


def test_a_cure_in_the_papers_sense_needs_sharp_samples_on_most_modes():
    # Issue 23: the banner calls a run healthy only where the counters show a cure (≥ 7 of
    # 8 modes holding ≥ 1 % sharp samples, HQ ≥ 40 %), and quotes the counters' figures.
    assert crisp_limit(8) == 7 and crisp_limit(25) == 20 and crisp_limit(2) == 2
    healthy = diagnose(hist(modes=np.full(N, 7.0), hq=np.full(N, 0.4)), n_modes=8)
    assert healthy.kind == "healthy" and "modes covered 7/8, high quality 40 %" in healthy.explanation
    hazy = diagnose(hist(hq=np.full(N, 0.31)), n_modes=8)
    assert hazy.kind == "blurry" and "high quality 31 %" in hazy.explanation
    assert diagnose(hist(modes=np.full(N, 6.0), hq=np.full(N, 0.7)), n_modes=8).kind == "partial"
    # the figures are the median of the last EVALS evaluations, as the counters show
    hq = np.full(N, 0.6)
    hq[-1] = 0.1
    assert settled({"hq": hq}, "hq") == 0.6 and diagnose(hist(hq=hq), n_modes=8).kind == "healthy"


def _rows(upto, **columns):
    h = hist(**columns)
    return {k: v[:upto] for k, v in h.items()}


def test_tracker_needs_a_verdict_to_persist_before_showing_it():
    # Evaluations alternating between two verdicts never move the banner off the first.
    hq = np.where(np.arange(N) % 2, 0.05, 0.8)
    tracker = Tracker()
    shown = [tracker.update(_rows(i, hq=hq), n_modes=8).kind for i in range(5, N + 1)]
    assert len(set(shown)) == 1
    # A verdict that holds for PERSIST evaluations in a row does replace it.
    hq = np.where(np.arange(N) < 10, 0.8, 0.05)
    tracker = Tracker()
    shown = [tracker.update(_rows(i, hq=hq), n_modes=8).kind for i in range(5, N + 1)]
    switch = shown.index("blurry")
    assert shown[:switch] == ["healthy"] * switch
    assert 10 + Tracker.PERSIST - 1 <= switch + 5 <= 10 + Tracker.PERSIST + 2


def test_a_held_verdict_says_which_evaluation_it_was_judged_on():
    # Evaluations alternating between healthy (even rows) and blurry (odd): the banner
    # holds "healthy". Whenever the newest evaluation judged otherwise, the held text
    # names the step it was judged at instead of its figures, which the counters beside
    # it (the newest median) no longer show; it grows no longer.
    hq = np.where(np.arange(N) % 2, 0.05, 0.8)
    tracker = Tracker()
    for i in range(5, N + 1):
        held = tracker.update(_rows(i, hq=hq), n_modes=8)
        assert held.kind == "healthy"
        if (i - 1) % 2 == 0:  # the newest evaluation is a healthy one
            assert "(modes covered 8/8, high quality 80 %)" in held.explanation
            assert "as of step" not in held.explanation
            undated = held.explanation
        else:
            assert "modes covered" not in held.explanation
            assert f"(as of step {10 * (i - 1):,})" in held.explanation
            assert len(held.explanation) < len(undated)
    # Stopped: the run's own verdict and figures at once.
    stopped = tracker.update(_rows(N, hq=hq), n_modes=8, settled=True)
    assert stopped.kind == "blurry"
    assert "(modes covered 8/8, high quality 5 %)" in stopped.explanation


def test_tracker_shows_divergence_at_once_and_starts_afresh_on_a_new_run():
    tracker = Tracker()
    tracker.update(_rows(N), n_modes=8)
    assert tracker.update(_rows(N), n_modes=8, diverged="NaN").kind == "diverged"
    tracker = Tracker()
    tracker.update(_rows(N), n_modes=8, run_key="a")
    collapsed = _rows(N, mass_modes=np.ones(N))
    assert tracker.update(collapsed, n_modes=8, run_key="a").kind == "healthy"  # held
    assert tracker.update(collapsed, n_modes=8, run_key="b").kind == "mode_collapse"


def test_a_cure_in_force_is_not_offered_again():
    tracker = Tracker()
    h = _rows(N, mass_modes=np.ones(N))
    d = tracker.update(h, n_modes=8, config={"pack": 1})
    assert d.cure
    held = tracker.update(h, n_modes=8, config=dict(d.cure))
    assert held.kind == "mode_collapse" and not held.cure and "in force" in held.explanation


def test_a_stopped_run_shows_its_own_verdict_at_once():
    # Blurry for 10 evaluations, then sharp: while training, the banner holds "blurry"
    # for PERSIST evaluations; once the run stops, it says what the counters show.
    hq = np.where(np.arange(N) < 10, 0.05, 0.8)
    tracker = Tracker()
    for i in range(5, 12):
        held = tracker.update(_rows(i, hq=hq), n_modes=8)
    assert held.kind == "blurry"
    assert tracker.update(_rows(12, hq=hq), n_modes=8, settled=True).kind == "healthy"

"""Seed batches: seed s of a stacked run is Trainer's run with seed s, up to float order."""
import pytest
import torch

from gansim import Config
from gansim.seedbatch import NOT_BATCHED, SeedBatch, unbatchable
from gansim.trainer import Trainer

SMALL = dict(g_hidden=32, d_hidden=32, batch=64, device="cpu")
SEEDS = [3, 7]


def rel(a: float, b: float) -> float:
    return abs(a - b) / (1e-3 + abs(b))


@pytest.mark.parametrize("changes", [
    {},
    {"loss": "wasserstein", "gp": 10.0, "d_steps": 2},
    {"loss": "wasserstein", "clip": 0.05},
    {"minibatch": 5},
    {"pack": 2, "gp": 1.0},
    {"mbstd": True, "r1": 1.0},
    {"loss": "hinge", "r2": 1.0, "weight_decay": 1e-3},
    {"loss": "least_squares", "label_smoothing": 0.1},
    {"optimizer": "rmsprop", "lr_decay_start": 2, "lr_decay_end": 6},
    {"optimizer": "sgd", "loss": "minimax"},
])
def test_each_seed_matches_its_own_trainer_step_by_step(changes):
    cfg = Config(**SMALL, **changes)
    batch = SeedBatch(cfg, SEEDS)
    plain = [Trainer(cfg.replace(seed=s)) for s in SEEDS]
    for _ in range(8):
        for _ in range(cfg.d_steps):
            got, want = batch.step_d().tolist(), [t.step_d() for t in plain]
            assert max(map(rel, got, want)) < 1e-4, (got, want)
        got, want = batch.step_g().tolist(), [t.step_g() for t in plain]
        assert max(map(rel, got, want)) < 1e-4, (got, want)
    for i, t in enumerate(plain):
        for name, p in t.G.named_parameters():
            torch.testing.assert_close(batch.G.params[name][i], p.detach(), rtol=1e-4, atol=1e-5)


def test_evaluations_match_the_trainers_on_the_same_points():
    cfg = Config(**SMALL)
    batch = SeedBatch(cfg, SEEDS, eval_every=5)
    batch.train(10)
    for run, seed in zip(batch.runs, SEEDS):
        t = Trainer(cfg.replace(seed=seed), eval_every=5, log_every=5)
        t.train(10)
        mine, theirs = run.history.as_arrays(), t.history.as_arrays()
        evaluated = theirs["distance"] == theirs["distance"]  # not nan
        assert list(mine["step"]) == list(theirs["step"][evaluated]) == [5.0, 10.0]
        assert mine["distance"] == pytest.approx(theirs["distance"][evaluated], rel=1e-3)
        assert mine["hq"] == pytest.approx(theirs["hq"][evaluated], abs=2e-3)
        assert run.g_step == t.g_step == 10
        torch.testing.assert_close(run.real_eval, t.real_eval)


def test_a_diverging_seed_stops_at_its_last_good_weights_and_the_others_go_on():
    cfg = Config(**SMALL, loss="least_squares")
    batch = SeedBatch(cfg, SEEDS)
    with torch.no_grad():
        batch.D.params["head.weight"][1] *= 1e20  # seed 7's D output squares to inf
    before = {k: v[1].clone() for k, v in batch.D.params.items()}
    batch.train(5)
    bad, good = batch.runs[1], batch.runs[0]
    assert bad.diverged and "NaN or infinite" in bad.diverged and bad.g_step == 0
    assert good.diverged is None and good.g_step == 5
    for k, v in batch.D.params.items():
        assert torch.equal(v[1], before[k]), k  # the diverged seed did not move
        assert torch.isfinite(v[0]).all()
    plain = Trainer(cfg.replace(seed=SEEDS[0]))
    plain.train(5)
    torch.testing.assert_close(batch.D.params["head.weight"][0], plain.D.head.weight.detach(),
                               rtol=1e-4, atol=1e-5)


def test_training_stops_when_every_seed_has_diverged():
    batch = SeedBatch(Config(**SMALL, loss="least_squares"), SEEDS)
    with torch.no_grad():
        batch.D.params["head.weight"] *= 1e20
    batch.train(50)
    assert all(r.diverged for r in batch.runs) and batch.g_step == 1


@pytest.mark.parametrize("name", sorted(NOT_BATCHED))
def test_settings_a_stack_cannot_train_are_refused_by_name(name):
    value = {"unroll": 2, "feature_matching": 1.0, "replay": 0.5, "label_flip": 0.1,
             "instance_noise": 0.1, "dropout": 0.1, "spectral_norm": True}[name]
    cfg = Config(**SMALL, **{name: value})
    assert unbatchable(cfg) == [name]
    with pytest.raises(ValueError, match=f"cannot train {name} .*gansim.Trainer"):
        SeedBatch(cfg, SEEDS)


def test_seeds_must_be_distinct():
    with pytest.raises(ValueError, match="distinct"):
        SeedBatch(Config(**SMALL), [1, 1])


def test_sampling_a_seed_does_not_change_its_later_evaluations():
    looked = SeedBatch(Config(**SMALL), SEEDS, eval_every=10)
    plain = SeedBatch(Config(**SMALL), SEEDS, eval_every=10)
    for _ in range(3):
        looked.runs[0].sample(100)
        looked.train(10)
        plain.train(10)
    assert looked.runs[0].history.rows == plain.runs[0].history.rows

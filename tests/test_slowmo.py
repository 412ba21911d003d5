"""gansim.ui.slowmo: an iteration told in sub-steps is one real training step."""
from __future__ import annotations

import re

import pytest
import torch

from gansim.config import Config
from gansim.trainer import Trainer
from gansim.ui import slowmo, slowmo_arena
from gansim.ui.session import Run

SMALL = dict(g_hidden=32, d_hidden=32, batch=64, seed=5)


def _play(run: Run, it: slowmo.Iteration) -> list[dict]:
    """Every sub-step forward; what each one shows."""
    shown = []
    while True:
        it.advance(run)
        data = slowmo_arena.arena_data(it, run.trainer.dataset.extent)
        shown.append({"id": it.current.id, "sentence": it.sentence(), "legend": slowmo_arena.legend(it),
                      "filled": {k for k, v in data.items() if v.num_rows}})
        if it.last:
            return shown
        it.index += 1


@pytest.mark.parametrize("d_steps", [1, 3])
def test_one_iteration_equals_one_step(d_steps):
    cfg = Config(d_steps=d_steps, **SMALL)
    run, plain = Run(cfg), Trainer(cfg)
    plain.step()
    shown = _play(run, slowmo.Iteration(run))
    assert [s["id"] for s in shown] == [s.id for s in slowmo.sequence(d_steps)]
    assert ("d_repeat" in [s["id"] for s in shown]) == (d_steps > 1)
    a, b = plain.state(), run.trainer.state()
    for name in ("g", "d", "gs", "ds"):  # weights and optimiser moments, bit for bit
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)
    assert (run.trainer.g_step, run.trainer.d_step) == (1, d_steps)


@pytest.mark.parametrize("loss", ["nonsaturating", "wasserstein"])
def test_each_substep_draws_its_layers_and_fills_its_sentence(loss):
    run = Run(Config(loss=loss, gp=10.0 if loss == "wasserstein" else 0.0, **SMALL))
    run.trainer.train(20)
    for s in _play(run, slowmo.Iteration(run)):
        step = next(x for x in slowmo.substeps() if x.id == s["id"])
        assert s["filled"] == {slowmo_arena.LAYERS[name].dataset for name in step.show}, s["id"]
        assert "{" not in s["sentence"] and s["sentence"].endswith("."), s["sentence"]
        assert len(re.findall(r"\. [A-Z]", s["sentence"])) == 0, "one sentence"
        assert ("critic score" in s["sentence"]) == (loss == "wasserstein" and "score" in s["id"])
        for word in ("triangle", "dot", "line", "background"):
            if word in s["sentence"].lower():
                assert word in s["legend"].lower(), (s["id"], word)


def test_back_replays_without_training_and_numbers_arrive_in_order():
    run = Run(Config(**SMALL))
    it = slowmo.Iteration(run)
    it.advance(run)
    assert "d_loss" not in it.numbers()  # sub-step 1 has not computed D's loss yet
    for _ in range(3):
        it.index += 1
        it.advance(run)
    assert it.current.id == "d_loss" and it.numbers()["d_loss"] == it.d.loss
    for _ in range(len(it.steps) - 4):
        it.index += 1
        it.advance(run)
    after = (run.trainer.g_step, run.trainer.d_step)
    weights = [p.clone() for p in run.trainer.G.parameters()]
    while it.index:
        it.index -= 1
        it.advance(run)
    assert (run.trainer.g_step, run.trainer.d_step) == after
    assert all(torch.equal(a, b) for a, b in zip(weights, run.trainer.G.parameters()))


def test_a_reset_run_starts_a_new_iteration():
    run = Run(Config(**SMALL))
    it = slowmo.Iteration(run)
    assert not it.stale(run)
    run.reset()
    assert it.stale(run)

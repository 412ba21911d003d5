import numpy as np
import pytest
import torch

from gansim import Config
from gansim.compare import Lockstep

SMALL = dict(g_hidden=32, d_hidden=32, batch=64)


def test_identical_panes_stay_identical():
    ls = Lockstep([Config(**SMALL), Config(**SMALL)])
    ls.train(15)
    a, b = ls.trainers
    assert np.array_equal(a.sample(100), b.sample(100))
    assert ls.differences() == {}


def test_panes_start_from_the_same_weights_and_see_the_same_batches():
    ls = Lockstep.from_changes(Config(**SMALL), [{}, {"lr_g": 1e-4, "d_steps": 3, "unroll": 1}])
    a, b = ls.trainers
    for pa, pb in zip(list(a.G.parameters()) + list(a.D.parameters()),
                      list(b.G.parameters()) + list(b.D.parameters())):
        assert torch.equal(pa, pb)
    ls.train(4)
    assert (a.g_step, b.g_step) == (4, 4) and (a.d_step, b.d_step) == (4, 12)
    # Keyed streams: at the same G step both draw the same batches, although pane B
    # made three times as many D updates and an extra look-ahead draw before.
    for tag in ("d_real", "d_z", "g_z"):
        ga, gb = a._batch_gen(tag), b._batch_gen(tag)
        assert torch.equal(torch.randn(8, generator=ga), torch.randn(8, generator=gb))
    assert not torch.equal(torch.randn(8, generator=a._batch_gen("d_z", 0)),
                           torch.randn(8, generator=a._batch_gen("d_z", 1)))
    assert set(ls.differences()) == {"lr_g", "d_steps", "unroll"}
    rows = ls.summary()
    assert [r["pane"] for r in rows] == ["A", "B"] and "d_steps=3" in rows[1]["settings"]


def test_a_diverging_pane_stops_alone():
    base = Config(**SMALL)
    ls = Lockstep.from_changes(base, [{}, {"optimizer": "sgd", "lr_d": 1.0, "lr_g": 1.0,
                                           "loss": "wasserstein"}])
    ls.train(300)
    assert ls.trainers[1].diverged and not ls.trainers[0].diverged
    assert ls.trainers[0].g_step == 300 and ls.summary()[1]["diverged"]


def test_bad_pane_counts_and_seeds_are_refused():
    with pytest.raises(ValueError, match="2 to 4 panes"):
        Lockstep([Config()])
    with pytest.raises(ValueError, match="share one seed"):
        Lockstep([Config(seed=1), Config(seed=2)])

"""How each setting stacks (gansim.stacking): every Config field has a row, and StepKey
and the hyper tensors follow from the rows."""
import dataclasses

import pytest
import torch

from gansim.config import FIELDS, Config
from gansim.stacking import ARCH, KEY, STACKING, TENSOR, StepKey, hyper, set_hyper

CPU = torch.device("cpu")


def test_every_setting_says_how_it_stacks():
    assert set(STACKING) == set(FIELDS), (
        f"stacking.STACKING must declare how these settings stack: "
        f"{sorted(set(FIELDS) ^ set(STACKING))}")


def test_a_row_only_says_what_its_kinds_use():
    for name, row in STACKING.items():
        assert not row.on_off or KEY in row.how, f"{name}: on_off is for KEY rows"
        assert not row.reads or TENSOR in row.how, f"{name}: reads is for TENSOR rows"


def test_step_key_holds_each_key_row_booleanised_where_the_row_says():
    cfg = Config(gp=10.0, dropout=0.2, unroll=3, d_steps=2, device="cpu")
    key = StepKey.of(cfg, 4)
    names = [f.name for f in dataclasses.fields(key)]
    assert names == [f for f, r in STACKING.items() if KEY in r.how] + ["runs", "arch"]
    assert key.gp is True and key.dropout is True and key.replay is False
    assert key.unroll == 3 and key.d_steps == 2 and key.runs == 4
    assert ("dropout", 0.2) in key.arch and ("device", "cpu") in key.arch
    assert StepKey.of(cfg.replace(gp=1.0, lr_d=1e-3), 4) == key  # live values: one graph
    assert StepKey.of(cfg.replace(unroll=2), 4) != key
    assert {f for f, _ in key.arch[:-1]} == {f for f, r in STACKING.items() if ARCH in r.how}


def test_hyper_holds_every_tensor_row_its_player_reads_with_cfg_values():
    cfg = Config(lr_g=2e-3, lr_d=3e-4, beta1=0.1, weight_decay=1e-3, gp=5.0,
                 feature_matching=0.5, label_smoothing=0.1, instance_noise=0.2, device="cpu")
    h = hyper(cfg, 2, CPU)
    for name, row in STACKING.items():
        for player in row.reads:
            assert name.removesuffix(f"_{player}") in h[player], (name, player)
    assert h["g"]["lr"].tolist() == pytest.approx([2e-3] * 2)
    assert h["d"]["lr"].tolist() == pytest.approx([3e-4] * 2)
    assert h["d"]["beta1"].tolist() == h["g"]["beta1"].tolist() == pytest.approx([0.1] * 2)
    assert h["d"]["weight_decay"].tolist() == pytest.approx([1e-3] * 2)
    assert h["g"]["weight_decay"].tolist() == [0.0, 0.0]  # no weight decay on G
    assert h["g"]["feature_matching"].tolist() == [0.5, 0.5] and "gp" not in h["g"]
    set_hyper(h, cfg, 0.5, 0.05)  # the decay schedule's factor, the annealed σ
    assert h["g"]["lr"].tolist() == pytest.approx([1e-3] * 2)
    assert h["d"]["instance_noise"].tolist() == pytest.approx([0.05] * 2)
    assert h["d"]["gp"].tolist() == [5.0, 5.0]

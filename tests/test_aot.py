"""The package's own flatten and rebuild (gansim.aot) agree with torch's pytree, which
traced the step: the same leaves in the same order, the same structure back."""
import pytest
import torch
from torch.utils import _pytree as pytree

from gansim import Config, Trainer, aot


def test_dense_leaves_and_rebuilder_match_pytree_on_a_real_step():
    cfg = Config(g_hidden=16, d_hidden=16, z_dim=4, batch=32, device="cpu", gp=1.0,
                 replay=0.5, label_flip=0.1, instance_noise=0.1, dropout=0.2, d_steps=2)
    t = Trainer(cfg, seeds=[0, 1], compile=False)
    args = t._step_args(t._batch())
    ours: list = []
    aot.dense_leaves(args, ours)
    theirs, _ = pytree.tree_flatten(args)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b) and a.is_contiguous()
    out = t._step.whole(*args)
    leaves, spec = pytree.tree_flatten(out)
    rebuilt = aot.rebuilder(spec)(iter(leaves))
    assert pytree.tree_structure(rebuilt) == spec
    assert all(x is y for x, y in zip(pytree.tree_leaves(rebuilt), leaves))


def test_a_step_input_that_is_no_tensor_is_refused_by_name():
    with pytest.raises(TypeError, match="float"):
        aot.dense_leaves({"lr": 0.1}, [])

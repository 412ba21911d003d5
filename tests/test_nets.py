"""The stacked networks (gansim.nets): the eager slot call is functional_call exactly."""
import pytest
import torch

from gansim import Config
from gansim.nets import Nets, init_weights

SMALL = dict(g_hidden=32, d_hidden=32, z_dim=8, batch=64, device="cpu")
# Every architecture switch the networks honour.
ARCHITECTURES = {
    "plain": {}, "pack": dict(pack=2), "minibatch-mbstd": dict(minibatch=4, mbstd=True),
    "dropout": dict(dropout=0.2, d_depth=3), "spectral-norm": dict(spectral_norm=True),
    "tanh-deep": dict(activation="tanh", g_depth=3, d_depth=1),
}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_eager_slot_call_is_functional_call_exactly(name):
    """Nets' eager path (the layer plan where the network is a plain chain, else
    nets.Slots) gives functional_call's outputs and gradients bit for bit, for every
    architecture, and leaves the modules' own weights in place."""
    from torch.func import functional_call

    cfg = Config(**SMALL, **ARCHITECTURES[name])
    nets = Nets(cfg, 2, torch.device("cpu"))
    g, d = init_weights(cfg, [0, 1], torch.device("cpu"))
    own = {k: v for k, v in nets.D.named_parameters()}
    x = torch.randn(2, cfg.batch, 2, generator=torch.Generator().manual_seed(3))
    z = torch.randn(2, cfg.batch, cfg.z_dim, generator=torch.Generator().manual_seed(4))
    mask = None
    if nets.dropouts:  # one keep mask per dropout layer, as Draws hands them in
        mask = torch.stack([(torch.rand(2, cfg.batch // cfg.pack, cfg.d_hidden,
                                        generator=torch.Generator().manual_seed(5)) > cfg.dropout)
                            .float() for _ in nets.dropouts])

    def both(call):
        dp = {k: v.clone().requires_grad_() for k, v in d.items()}
        out = call(dp)
        grads = torch.autograd.grad(out.sum(), list(dp.values()), allow_unused=True)
        return out.detach(), grads

    fast = both(lambda dp: nets.d(dp, x, mask))
    with nets._masks(mask):
        slow = both(lambda dp: functional_call(nets.D, dp, (x,), tie_weights=False))
    assert torch.equal(fast[0], slow[0])
    assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(*[f[1] for f in (fast, slow)]))
    assert torch.equal(nets.g(g, z), functional_call(nets.G, g, (z,), tie_weights=False))
    assert all(v is own[k] for k, v in nets.D.named_parameters()), "a module kept a run's weight"


def test_the_slot_call_puts_the_modules_weights_back_when_the_call_fails():
    cfg = Config(**SMALL)
    nets = Nets(cfg, 1, torch.device("cpu"))
    own = dict(nets.G.named_parameters())
    g, _ = init_weights(cfg, [0], torch.device("cpu"))
    with pytest.raises(RuntimeError):
        nets.g(g, torch.zeros(1, 4, cfg.z_dim + 1))  # wrong latent width
    assert all(v is own[k] for k, v in nets.G.named_parameters())


@pytest.mark.parametrize("name, g_plan, d_plan", [
    ("plain", True, True), ("pack", True, True), ("tanh-deep", True, True),
    ("spectral-norm", True, True), ("minibatch-mbstd", True, False), ("dropout", True, False)])
def test_plain_chains_run_as_layer_plans_and_the_rest_through_their_modules(name, g_plan, d_plan):
    """The eager plan (nets.layer_plan) covers every plain chain of layers and steps
    aside for batch features and dropout masks, whose modules must run."""
    nets = Nets(Config(**SMALL, **ARCHITECTURES[name]), 2, torch.device("cpu"))
    assert (nets._g_plan is not None, nets._d_plan is not None) == (g_plan, d_plan)
    if d_plan:  # every Linear layer of D, in the order of its parameters
        names = [w for w, _, fn in nets._d_plan if fn is None]
        assert names == [k for k, _ in nets.D.named_parameters() if k.endswith("weight")]

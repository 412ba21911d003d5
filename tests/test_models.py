import pytest
import torch

from gansim.config import Config
from gansim.models import (Discriminator, Generator, MinibatchDiscrimination, minibatch_std,
                           stack_networks)


def test_shapes_for_every_add_on():
    for cfg in (Config(), Config(pack=4), Config(minibatch=5, mbstd=True, d_depth=1),
                Config(spectral_norm=True, dropout=0.2, activation="elu")):
        G, D = Generator(cfg), Discriminator(cfg)
        x = G(torch.randn(64, cfg.z_dim))
        assert x.shape == (64, 2)
        assert D(x).shape == (64 // cfg.pack,)


def test_minibatch_features_are_permutation_equivariant():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(16, kernels=5, dim=3)
    f = torch.randn(128, 16)
    perm = torch.randperm(128)
    # 128 rows in groups of 64: permute within each group to keep the grouping.
    perm = torch.cat([torch.randperm(64), 64 + torch.randperm(64)])
    assert torch.allclose(layer(f)[perm], layer(f[perm]), atol=1e-5)


def test_minibatch_features_are_larger_for_a_collapsed_batch():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(16, kernels=5, dim=3)
    spread = torch.randn(64, 16) * 3
    collapsed = torch.randn(1, 16).expand(64, 16)
    with torch.no_grad():
        assert float(layer(collapsed).mean()) > float(layer(spread).mean())
    assert torch.allclose(layer(collapsed), torch.full((64, 5), 63.0))


def test_minibatch_std_is_zero_for_a_collapsed_batch():
    assert float(minibatch_std(torch.ones(32, 4)).abs().max()) == pytest.approx(1e-4)  # √ε
    assert float(minibatch_std(torch.randn(32, 4)).min()) > 0.5


def test_batch_aware_d_scores_depend_on_the_batch():
    torch.manual_seed(0)
    D = Discriminator(Config(mbstd=True))
    x = torch.randn(64, 2)
    alone = D(x)
    with_spread = D(torch.cat([x, 10 * torch.randn(64, 2)]))[:64]
    assert not torch.allclose(alone, with_spread)
    plain = Discriminator(Config())
    assert torch.allclose(plain(x), plain(torch.cat([x, torch.randn(64, 2)]))[:64])


@pytest.mark.parametrize("changes", [{}, {"minibatch": 5, "mbstd": True}, {"pack": 2, "d_depth": 1},
                                     {"minibatch": 3, "d_depth": 1, "activation": "tanh"}])
def test_a_stacked_network_gives_each_networks_own_output(changes):
    cfg = Config(g_hidden=16, d_hidden=16, **changes)
    torch.manual_seed(0)
    Gs, Ds = [Generator(cfg) for _ in range(3)], [Discriminator(cfg) for _ in range(3)]
    z, x = torch.randn(3, 128, cfg.z_dim), torch.randn(3, 128, 2)
    G, D = stack_networks(Gs), stack_networks(Ds)
    assert [n for n, _ in D.named_parameters()] == [n for n, _ in Ds[0].named_parameters()]
    for i in range(3):
        torch.testing.assert_close(G(z)[i], Gs[i](z[i]), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(D(x)[i], Ds[i](x[i]), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(D(x, ref=x.flip(1))[i], Ds[i](x[i], ref=x[i].flip(0)),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_out,n_in", [(1, 128), (2, 128), (128, 2), (1, 2)])
def test_the_compiled_form_of_a_narrow_layer_gives_the_products_values_and_gradients(n_out, n_in):
    """Recorded for a package (aot.tracing), a layer with ≤ NARROW inputs or outputs is
    products and sums; it must compute what the eager baddbmm computes, and so must its
    gradients (the compiled step differentiates it, twice when unrolled)."""
    from torch.fx.experimental.proxy_tensor import make_fx

    from gansim import aot
    from gansim.models import stacked_linear
    torch.manual_seed(0)
    x = torch.randn(3, 64, n_in, requires_grad=True)
    w = torch.randn(3, n_out, n_in, requires_grad=True)
    b = torch.randn(3, n_out, requires_grad=True)
    g = torch.randn(3, 64, n_out)

    def values_and_grads():
        y = stacked_linear(x, w, b)
        return (y, *torch.autograd.grad(y, (x, w, b), g))

    eager = values_and_grads()
    with aot.tracing():
        narrow = values_and_grads()
        recorded = make_fx(stacked_linear)(x.detach(), w.detach(), b.detach()).code
    assert "baddbmm" not in recorded and "bmm" not in recorded
    for a, c in zip(eager, narrow):
        torch.testing.assert_close(c, a, rtol=1e-5, atol=1e-5)

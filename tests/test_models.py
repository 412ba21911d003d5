import pytest
import torch

from gansim.config import Config
from gansim.models import Discriminator, Generator, MinibatchDiscrimination, minibatch_std


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

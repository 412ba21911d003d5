import torch

from gansim.config import Config
from gansim.losses import LOSSES
from gansim.models import Discriminator, Generator
from gansim.unroll import call, unrolled_params

NS = LOSSES["nonsaturating"]


def tiny(dtype=torch.float64):
    cfg = Config(g_hidden=4, g_depth=1, d_hidden=5, d_depth=1, z_dim=2, batch=8, activation="tanh")
    torch.manual_seed(0)
    return Generator(cfg).to(dtype), Discriminator(cfg).to(dtype)


def d_loss_for(D, real, fake):
    return lambda p: NS.real_term(call(D, p, real)).mean() + NS.fake_term(call(D, p, fake)).mean()


def test_functional_adam_matches_torch_adam():
    G, D = tiny()
    opt = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.9))
    real, fake = torch.randn(8, 2, dtype=torch.float64), G(torch.randn(8, 2, dtype=torch.float64)).detach()
    for _ in range(2):  # a live optimiser with non-zero moments
        opt.zero_grad()
        d_loss_for(D, real, fake)(dict(D.named_parameters())).backward()
        opt.step()
    looked = unrolled_params(D, opt, "adam", d_loss_for(D, real, fake), 1, first_order=True)
    opt.zero_grad()
    d_loss_for(D, real, fake)(dict(D.named_parameters())).backward()
    opt.step()
    for name, p in D.named_parameters():
        assert torch.allclose(looked[name], p, atol=1e-10), name


def test_unrolled_gradient_matches_finite_differences():
    G, D = tiny()
    opt = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.999))
    z = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    real = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4))

    def g_loss():
        fake = G(z)
        params = unrolled_params(D, opt, "adam", d_loss_for(D, real, fake), 3, first_order=False)
        return NS.g_term(call(D, params, fake)).mean()

    D.requires_grad_(False)
    G.zero_grad()
    g_loss().backward()
    w = G.out.weight
    analytic = w.grad.clone()
    numeric = torch.zeros_like(w)
    eps = 1e-6
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            # The look-ahead needs autograd, so only the nudges run without it.
            with torch.no_grad():
                w[i, j] += eps
            up = float(g_loss().detach())
            with torch.no_grad():
                w[i, j] -= 2 * eps
            down = float(g_loss().detach())
            with torch.no_grad():
                w[i, j] += eps
            numeric[i, j] = (up - down) / (2 * eps)
    assert torch.allclose(analytic, numeric, rtol=1e-4, atol=1e-7)

    # First-order unrolling drops the look-ahead's dependence on G: a different gradient.
    def g_loss_first_order():
        fake = G(z)
        params = unrolled_params(D, opt, "adam", d_loss_for(D, real, fake.detach()), 3, first_order=True)
        return NS.g_term(call(D, params, fake)).mean()

    G.zero_grad()
    g_loss_first_order().backward()
    assert not torch.allclose(w.grad, analytic, rtol=1e-3)


def test_unrolling_leaves_d_untouched():
    G, D = tiny()
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    before = {n: p.clone() for n, p in D.named_parameters()}
    fake = G(torch.randn(8, 2, dtype=torch.float64))
    unrolled_params(D, opt, "sgd", d_loss_for(D, torch.randn(8, 2, dtype=torch.float64), fake), 5, False)
    for n, p in D.named_parameters():
        assert torch.equal(before[n], p)


def test_safe_sqrt_has_zero_gradient_at_zero_and_matches_sqrt_elsewhere():
    from gansim.unroll import safe_sqrt

    x = torch.tensor([0.0, 4.0], requires_grad=True)
    y = safe_sqrt(x)
    y.sum().backward()
    assert y[1].item() == 2.0 and y[0].item() < 1e-14
    assert x.grad.tolist() == [0.0, 0.25]  # finite at 0: no inf·0 = NaN downstream
    assert safe_sqrt(torch.tensor([9.0])).item() == 3.0  # no graph: plain sqrt

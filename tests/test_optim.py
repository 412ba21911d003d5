"""The functional optimisers (gansim.optim) against torch.optim's."""
import pytest
import torch

from gansim.optim import OPTIMISERS, apply_update, safe_sqrt


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_functional_optimisers_match_torch_optim(name):
    """gansim's optimisers against torch.optim's on two runs with different lrs, float64."""
    torch.manual_seed(0)
    p0 = torch.randn(2, 5, 3, dtype=torch.float64)
    lrs, wd = torch.tensor([0.05, 0.01], dtype=torch.float64), 1e-3
    h = {"lr": lrs, "weight_decay": torch.full((2,), wd, dtype=torch.float64),
         "beta1": torch.full((2,), 0.5, dtype=torch.float64),
         "beta2": torch.full((2,), 0.9, dtype=torch.float64),
         "eps": torch.full((2,), 1e-8, dtype=torch.float64),
         "alpha": torch.full((2,), 0.99, dtype=torch.float64)}
    make = {"adam": lambda p, lr: torch.optim.Adam([p], lr=lr, betas=(0.5, 0.9), weight_decay=wd),
            "sgd": lambda p, lr: torch.optim.SGD([p], lr=lr, weight_decay=wd),
            "rmsprop": lambda p, lr: torch.optim.RMSprop([p], lr=lr, weight_decay=wd)}[name]
    refs = [p0[i].clone().requires_grad_() for i in range(2)]
    opts = [make(r, float(lrs[i])) for i, r in enumerate(refs)]
    params = {"w": p0.clone()}
    state = {"w": {m: torch.zeros_like(p0) for m in OPTIMISERS[name].moments}}
    for t in range(1, 4):
        grads = {"w": torch.sin(params["w"] * t)}  # any gradient, the same on both sides
        for i, (r, opt) in enumerate(zip(refs, opts)):
            r.grad = grads["w"][i].clone()
            opt.step()
        params, state, _ = apply_update(OPTIMISERS[name], params, grads, state, h,
                                     torch.full((2,), float(t), dtype=torch.float64))
        for i, r in enumerate(refs):
            torch.testing.assert_close(params["w"][i], r.detach(), rtol=1e-10, atol=1e-12)


def test_safe_sqrt_has_zero_gradient_at_zero_and_matches_sqrt_elsewhere():
    x = torch.tensor([0.0, 4.0], requires_grad=True)
    y = safe_sqrt(x)
    y.sum().backward()
    assert y[1].item() == 2.0 and y[0].item() < 1e-14
    assert x.grad.tolist() == [0.0, 0.25]  # finite at 0: no inf·0 = NaN downstream

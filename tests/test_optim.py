"""The functional optimisers (gansim.optim) against torch.optim's."""
import math

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


def _per_tensor_update(opt, params, grads, state, h, t):
    """The update one tensor at a time (each tensor with its own broadcast coefficients):
    the form apply_update replaced, kept here as the answer it must give bit for bit."""
    shared = opt.coeffs(h, t)
    new_p, new_s = {}, {}
    for k, p in params.items():
        c = {n: x.reshape(x.shape + (1,) * (p.dim() - 1)) for n, x in shared.items()}
        new_p[k], new_s[k] = opt.update(p, grads[k], state[k], c)
    return new_p, new_s


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_update_on_the_flat_buffer_equals_the_per_tensor_update_bit_for_bit(name):
    """Laying a player's tensors end to end runs the same elementwise ops on the same
    numbers: equal bits, float32, tensors of several ranks, three runs, three updates."""
    torch.manual_seed(1)
    opt = OPTIMISERS[name]
    params = {"w": torch.randn(3, 7, 5), "b": torch.randn(3, 7), "h": torch.randn(3, 1, 7)}
    state = {k: {m: torch.zeros_like(v) for m in opt.moments} for k, v in params.items()}
    h = {"lr": torch.tensor([1e-3, 3e-3, 1e-2]), "weight_decay": torch.full((3,), 1e-2),
         "beta1": torch.full((3,), 0.5), "beta2": torch.full((3,), 0.999),
         "eps": torch.full((3,), 1e-8), "alpha": torch.full((3,), 0.99)}
    ref_p, ref_s = params, state
    for t in range(1, 4):
        grads = {k: torch.randn_like(v) for k, v in params.items()}
        steps = torch.full((3,), float(t))
        params, state, finite = apply_update(opt, params, grads, state, h, steps)
        ref_p, ref_s = _per_tensor_update(opt, ref_p, grads, ref_s, h, steps)
        assert finite.tolist() == [True, True, True]
        for k in params:
            assert params[k].shape == ref_p[k].shape and torch.equal(params[k], ref_p[k])
            for m in opt.moments:
                assert torch.equal(state[k][m], ref_s[k][m])


def test_apply_update_flags_exactly_the_runs_whose_new_weights_are_not_finite():
    """A NaN or ±inf anywhere in a run's new weights clears its flag, finite huge weights
    (whose plain sum overflows) do not, and clipping bounds every weight per run."""
    opt = OPTIMISERS["sgd"]
    params = {"w": torch.zeros(4, 2, 2), "b": torch.zeros(4, 2)}
    grads = {"w": torch.zeros(4, 2, 2), "b": torch.zeros(4, 2)}
    grads["w"][1, 0, 1] = math.nan
    grads["b"][2, 1] = -math.inf
    params["w"][3] = 3e38  # finite, but their sum is not
    h = {"lr": torch.ones(4), "weight_decay": torch.zeros(4)}
    new, _, finite = apply_update(opt, params, grads, {}, h, torch.ones(4))
    assert finite.tolist() == [True, False, False, True]
    clip = torch.tensor([1.0, 1.0, 1.0, 0.5])
    new, _, finite = apply_update(opt, params, grads, {}, h, torch.ones(4), clip)
    assert new["w"][3].max().item() == 0.5 and new["w"][0].abs().max().item() == 0.0
    assert finite.tolist() == [True, False, True, True]  # -inf clipped to -1: finite again


def test_flat_and_unflat_are_inverse_views():
    from gansim.optim import flat, unflat
    params = {"w": torch.randn(2, 3, 4), "b": torch.randn(2, 3)}
    buffer = flat(params.values())
    assert buffer.shape == (2, 15)
    back = unflat(buffer, params)
    assert all(torch.equal(back[k], params[k]) for k in params)
    assert back["w"].data_ptr() == buffer.data_ptr()  # a view, not a copy


def test_flat_takes_a_tiled_buffer_as_it_is_and_lays_anything_else_out_anew():
    """unflat's views of one buffer give that buffer back uncopied (the Trainer keeps its
    weights and moments so); views in another order, of another buffer's slice, or of a
    buffer autograd tracks are laid out anew by cat, with the same values."""
    from gansim.optim import flat, unflat
    buffer = torch.randn(2, 15)
    views = unflat(buffer, {"w": torch.empty(2, 3, 4), "b": torch.empty(2, 3)})
    assert flat(views.values()) is buffer
    swapped = flat([views["b"], views["w"]])
    assert swapped.data_ptr() != buffer.data_ptr()
    assert torch.equal(swapped, torch.cat([views["b"], views["w"].flatten(1)], 1))
    wider = unflat(torch.randn(2, 20)[:, :15], {"w": torch.empty(2, 3, 4), "b": torch.empty(2, 3)})
    assert torch.equal(flat(wider.values()), torch.cat([v.flatten(1) for v in wider.values()], 1))
    tracked = unflat(buffer.clone().requires_grad_(), {"w": views["w"], "b": views["b"]})
    out = flat(tracked.values())
    assert out.grad_fn is not None and torch.equal(out, buffer)  # cat: gradients flow as before


def test_flat_norms_are_the_per_tensor_norms_bit_for_bit():
    """Each run's gradient norm from the flat buffer: the sums a per-tensor loop takes."""
    from gansim.optim import flat, flat_norms
    torch.manual_seed(2)
    grads = {"w": torch.randn(3, 7, 5), "b": torch.randn(3, 7), "h": torch.randn(3, 1, 7).mT}
    per_tensor = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads.values()]).sum(0).sqrt()
    assert torch.equal(flat_norms(flat(grads.values()), grads), per_tensor)


def test_the_cached_columns_follow_in_place_writes_to_the_hyper_parameters():
    """optim.columns keeps (S, 1) views of h's tensors: a later fill_ (stacking.set_hyper)
    shows through, and a new h gets its own."""
    from gansim.optim import columns
    h = {"lr": torch.tensor([1e-3, 2e-3]), "beta1": torch.tensor([0.5, 0.9])}
    first = columns(h)
    h["lr"].fill_(0.25)
    again = columns(h)
    assert again is first and again["lr"].tolist() == [[0.25], [0.25]]
    other = {"lr": torch.tensor([7.0, 8.0]), "beta1": h["beta1"]}
    assert columns(other)["lr"].tolist() == [[7.0], [8.0]]
    h2 = dict(h, beta1=torch.tensor([0.1, 0.2]))  # same lr tensor, another beta1
    assert torch.equal(columns(h2)["beta1"], h2["beta1"][:, None])

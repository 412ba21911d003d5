"""The live MLP game's Jacobian spectrum: the Dirac-GAN's eigenvalue picture for real nets.

Mescheder, Nowozin & Geiger, "The Numerics of GANs" (NIPS 2017), Section 3: training
circles where the Jacobian of the game's vector field v = (−∇_G L_G, −∇_D L_D) has
eigenvalues with zero (or small) real part and large imaginary part. Forming that
Jacobian for ~30k weights is out of the question, but Arnoldi iteration
(scipy.sparse.linalg.eigs) needs only Jacobian-vector products, which torch.func.jvp
gives exactly (forward over reverse mode), on one fixed batch.

What the field includes: the loss and R1/R2 (as in gansim/engine.py: (γ/2)·E‖∇ₓD‖²).
Not included (refused with a clear error rather than silently ignored): D's add-ons that
change its inputs or weights (packing, minibatch features, spectral norm, dropout).
Other cures (instance noise, GP, tricks on G) are left out of the field; `spectrum`
says so in its result.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call, grad, jvp

from .losses import LOSSES, d_objective

UNSUPPORTED = {"pack": 1, "minibatch": 0, "spectral_norm": False, "dropout": 0.0,
               "mbstd": False}  # field → the only value this module handles
LEFT_OUT = ("gp", "instance_noise", "label_smoothing", "label_flip", "feature_matching",
            "unroll", "replay", "clip", "weight_decay")  # cures the field does not contain


@dataclass(frozen=True)
class Spectrum:
    eigenvalues: np.ndarray  # complex, the k largest in magnitude
    weights: int  # size of the Jacobian's side
    left_out: tuple[str, ...]  # the run's cures that the field does not contain


def spectrum(run, k: int = 6, batch: int = 256, seed: int = 0) -> Spectrum:
    """The k eigenvalues of largest magnitude of the game's Jacobian at run's weights
    (`run`: a Trainer's run view: cfg, G, D, dataset, device), on one fixed batch."""
    cfg = run.cfg
    for name, plain in UNSUPPORTED.items():
        if getattr(cfg, name) != plain:
            raise ValueError(f"the game spectrum needs {name}={plain!r} (got "
                             f"{getattr(cfg, name)!r}); turn {name} off to see it")
    field, x0 = game_field(run, batch, seed)
    n = x0.numel()
    if not 1 <= k < n - 1:
        raise ValueError(f"k must be in [1, {n - 2}] for {n} weights, got {k}")

    def matvec(v: np.ndarray) -> np.ndarray:
        tangent = torch.as_tensor(np.real(v), dtype=torch.float64)
        return jvp(field, (x0,), (tangent,))[1].numpy()

    from scipy.sparse.linalg import LinearOperator, eigs

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    # A fixed start vector: the same run gives the same answer.
    start = np.random.default_rng(seed).standard_normal(n)
    values = eigs(op, k=k, which="LM", v0=start, tol=1e-6, return_eigenvectors=False)
    values = values[np.argsort(-np.abs(values))]
    return Spectrum(values, n, tuple(c for c in LEFT_OUT if getattr(cfg, c)))


def game_field(run, batch: int, seed: int):
    """(v, x0): the game's vector field over all weights flattened (float64), and the
    run's weights as the point to take it at."""
    G, D, cfg = run.G, run.D, run.cfg
    gen = torch.Generator().manual_seed(seed)
    real = run.dataset.sample_torch(batch, gen, torch.device("cpu")).double()
    z = torch.randn(batch, cfg.z_dim, generator=gen, dtype=torch.float64)
    names_g = [n for n, _ in G.named_parameters()]
    names_d = [n for n, _ in D.named_parameters()]
    shapes = [p.shape for p in G.parameters()] + [p.shape for p in D.parameters()]
    sizes = [int(np.prod(s)) for s in shapes]
    x0 = torch.cat([p.detach().double().cpu().reshape(-1)
                    for p in [*G.parameters(), *D.parameters()]])
    loss = LOSSES[cfg.loss]
    G64, D64 = _double(G), _double(D)

    def split(x):
        parts = [p.reshape(s) for p, s in zip(torch.split(x, sizes), shapes)]
        return dict(zip(names_g, parts[:len(names_g)])), dict(zip(names_d, parts[len(names_g):]))

    def g_loss(gp, dp):
        return loss.g_term(functional_call(D64, dp, (functional_call(G64, gp, (z,)),))).mean()

    def d_loss(dp, gp):
        fake = functional_call(G64, gp, (z,))
        out = d_objective(loss, functional_call(D64, dp, (real,)), functional_call(D64, dp, (fake,)))
        for gamma, points in ((cfg.r1, real), (cfg.r2, fake)):
            if gamma:  # (γ/2)·E‖∇ₓD(x)‖², Mescheder et al. 2018, Section 4.1
                slope = grad(lambda x: functional_call(D64, dp, (x,)).sum())(points)
                out = out + 0.5 * gamma * (slope**2).sum(-1).mean()
        return out

    def field(x):
        gp, dp = split(x)
        v_g, v_d = grad(g_loss)(gp, dp), grad(d_loss)(dp, gp)
        return -torch.cat([v_g[n].reshape(-1) for n in names_g] +
                          [v_d[n].reshape(-1) for n in names_d])

    return field, x0


def _double(net: torch.nn.Module) -> torch.nn.Module:
    """A float64 copy of `net` (functional_call swaps its weights; the run's stay put)."""
    import copy

    return copy.deepcopy(net).double().cpu()

"""The training step as one pure function of stacked runs, eager or compiled.

A GAN step on these small MLPs is ~800 tiny operator calls whose fixed cost (Python,
dispatch, autograd bookkeeping, the optimiser's loops) outweighs their arithmetic on a
CPU. Writing the whole step (both losses, both backward passes via
`torch.func.grad_and_value`, both optimiser updates) as one pure function of the
weights, the optimiser moments and the pre-drawn random inputs lets
`torch.compile(fullgraph=True)` fuse it into a few kernels (compile.py); stacking S runs
along a leading axis (models.stack_networks: one baddbmm per layer for all runs) pays
what is left once for all S.

Randomness never happens inside the function: each run's batches are drawn outside
(draws.Draws) and passed in, so the compiled and the eager step see the same numbers.
gansim.trainer.Trainer owns the state (S runs; a single run is S = 1) and calls this
step for every update; docs/engine.md says where issue 11 stands.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor
from torch.func import grad_and_value

from .losses import LOSSES, d_objective
from .nets import Nets
from .optim import OPTIMISERS, apply_update, flat_grads, flat_norms
from .penalties import D_PENALTIES
from .spectral import normalised, power_iteration
from .stack import Params, broadcast_runs, col, frozen, keep_where, plain_autograd, traced
from .stacking import StepKey

State = dict[str, Any]


def autograd_grad_and_value(fn: Callable, has_aux: bool = True) -> Callable:
    """torch.func.grad_and_value(fn, has_aux=True) over fn's first argument (a dict of
    tensors), computed with torch.autograd: the same gradients, less overhead eagerly."""
    def wrapped(params: Params, *args):
        with torch.enable_grad():
            p = {k: v.detach().requires_grad_() for k, v in params.items()}
            value, aux = fn(p, *args)
            grads = torch.autograd.grad(value, list(p.values()), allow_unused=True)
        return ({k: torch.zeros_like(p[k]) if g is None else g for k, g in zip(p, grads)},
                (value.detach(), aux))
    return wrapped


def autograd_grads(fn: Callable, params: Params, *args, create_graph: bool) -> Params:
    """torch.func.grad(fn)(params, *args) by torch.autograd: the gradient with respect to
    params' tensors as they are (a leaf for each without a history), differentiable
    further with create_graph."""
    with torch.enable_grad():
        p = {k: v if v.requires_grad else v.detach().requires_grad_() for k, v in params.items()}
        grads = torch.autograd.grad(fn(p, *args), list(p.values()), create_graph=create_graph,
                                    allow_unused=True)
    return {k: torch.zeros_like(p[k]) if g is None else g for k, g in zip(p, grads)}


class Step:
    """The pure update functions for one StepKey (eager; compile.compiled_step compiles `whole`).

    d(g, d, ds, t_d, alive, mem, sn, h, b) → d, ds, t_d, alive, mem, sn, stats (S, 6), seen
        one D update; b: one update's draws (Draws.d_batch); stats per run: loss, gradient
        norm, score_d, score_g, mean D(real), mean D(fake); seen: D's noisy inputs and
        outputs (slow motion reads them).
    g(g, d, gs, ds, t_g, t_d, alive, sn, h, b) → g, gs, t_g, alive, stats (S, 2)
        one G update (loss, gradient norm per run); b: Draws.g_batch.
    whole(..., batch) → the d_steps D updates then the G update, as one function.
    probe(g, d, ds, t_d, sn, h, b) → G's fakes, D's verdict, ∂(G's loss)/∂fake (slow motion).

    A run whose loss or gradient is NaN/Inf, or whose update would write a non-finite
    weight, keeps its weights, moments and count from before that update and is marked
    dead in `alive`; the others go on.
    """

    def __init__(self, key: StepKey, nets: Nets, compiled: bool = False):
        self.key, self.nets = key, nets
        self.loss, self.opt = LOSSES[key.loss], OPTIMISERS[key.optimizer]
        self.penalties = [(name, term) for name, term in D_PENALTIES.items() if getattr(key, name)]
        # Eager: torch.autograd for the outer gradient (~2x less overhead per op than
        # torch.func's transform); compiled: torch.func, which dynamo traces whole.
        outer = grad_and_value if compiled else autograd_grad_and_value
        self._d_grad = outer(self._d_loss, has_aux=True)
        self._g_grad = outer(self._g_loss, has_aux=True)

    # --- D ---------------------------------------------------------------------------
    @staticmethod
    def noisy(x: Tensor, noise: Tensor | None, h: State) -> Tensor:
        return x if noise is None else x + broadcast_runs(h["instance_noise"], x) * noise

    def _d_loss(self, raw: Params, real: Tensor, fake: Tensor, b: dict, h: State, sn):
        nets = self.nets
        dp = normalised(raw, sn)
        penalties = torch.zeros_like(h["lr"]) if self.penalties else None
        for name, term in self.penalties:
            penalties = penalties + term(nets, dp, real, fake, h[name], b)
        out_r, out_f = nets.d(dp, real, b.get("drop_real")), nets.d(dp, fake, b.get("drop_fake"))
        per_run = d_objective(self.loss, out_r, out_f, self._smoothing(h, out_r),
                              b.get("label_flip"))
        if penalties is not None:  # without any, no "+ 0" (2 ops for the same values)
            per_run = per_run + penalties
        # The sum's gradient is each run's own: runs share no weight.
        return per_run.sum(), (per_run.detach(), out_r.detach(), out_f.detach())

    @staticmethod
    def _smoothing(h: State, out_r: Tensor) -> Tensor | None:
        """Each run's label smoothing (S, 1), or eagerly None when no run smooths and every
        D(real) is finite: then 1·a + 0·b is a exactly and the unsmoothed real term gives
        the same numbers without the second term's ~10 ops and their backward."""
        smoothing = h["label_smoothing"]
        if traced():
            return col(smoothing)
        # One look: sum(D(real))·0 is 0 when every output is finite (NaN otherwise; an
        # overflowing sum only sends us the long way), and smoothing ≥ 0 sums to 0 only
        # when no run smooths.
        if float(out_r.detach().sum() * 0 + smoothing.sum()) != 0.0:
            return col(smoothing)
        return None

    def _scores(self, out_r: Tensor, out_f: Tensor) -> tuple[Tensor, Tensor]:
        """D's average verdicts: score_d (right on both sides), score_g (fakes called real);
        NaN for a critic, whose outputs are no probabilities."""
        p_r, p_f = self.loss.prob(out_r), self.loss.prob(out_f)
        if p_r is None:
            nan = torch.full_like(out_r[..., 0], math.nan)
            return nan, nan
        return 0.5 * p_r.mean(-1) + 0.5 * (1 - p_f).mean(-1), p_f.mean(-1)

    def _replay(self, fake: Tensor, mem: dict[str, Tensor], b: dict):
        """Experience replay: swap the picked rows for stored fakes, then store `fake`
        in each run's ring buffer (mem["buffer"] (S, capacity, 2), mem["pos"])."""
        buf, n = mem["buffer"], fake.shape[1]
        idx = b["replay_idx"][..., None].expand(-1, -1, 2)
        mixed = torch.where(b["replay_pick"][..., None], torch.gather(buf, 1, idx), fake)
        slots = (mem["pos"] + torch.arange(n, device=fake.device)) % buf.shape[1]
        buf = buf.index_copy(1, slots, fake)
        return mixed, {"buffer": buf, "pos": (mem["pos"] + n) % buf.shape[1]}

    def d(self, g, d, ds, t_d, alive, mem, sn, h, b):
        key, hd = self.key, h["d"]
        sn_new = power_iteration(d, sn) if key.spectral_norm else sn
        real = self.noisy(b["d_real"], b.get("instance_noise_real"), hd)
        fake = self.nets.g(g, b["d_z"]).detach()
        if key.replay:
            fake, mem = self._replay(fake, mem, b)
        fake = self.noisy(fake, b.get("instance_noise_fake"), hd)
        grads, (_, (per_run, out_r, out_f)) = self._d_grad(d, real, fake, b, hd, sn_new)
        grads = flat_grads(d, grads)  # laid out once, for the norm and the update
        norm = flat_norms(grads, d)
        t_new = t_d + 1
        new_d, new_ds, finite = apply_update(self.opt, d, grads, ds, hd, t_new,
                                             hd["clip"] if key.clip else None)
        # An update that overflowed is not written either.
        ok = alive & torch.isfinite(per_run + norm) & finite
        d, ds, sn, t_d = keep_where(ok, (new_d, new_ds, sn_new, t_new), (d, ds, sn, t_d))
        score_d, score_g = self._scores(out_r, out_f)
        stats = torch.stack([per_run, norm, score_d, score_g, out_r.mean(-1), out_f.mean(-1)], -1)
        seen = {"real": real, "fake": fake, "out_r": out_r, "out_f": out_f}
        return d, ds, t_d, ok, mem, sn, stats, seen

    # --- G ---------------------------------------------------------------------------
    def _look_ahead(self, raw: Params, ds, t_d: Tensor, real: Tensor, fake: Tensor,
                    h: State, masks: Tensor | None, sn) -> Params:
        """Metz et al. 2016: D after k plain updates (no penalty, no flip), differentiable
        unless first order."""
        key, nets = self.key, self.nets

        def plain(p, m_real, m_fake):
            p = normalised(p, sn)
            return d_objective(self.loss, nets.d(p, real, m_real), nets.d(p, fake, m_fake),
                               col(h["label_smoothing"])).sum()

        for i in range(key.unroll):
            m_real, m_fake = (None, None) if masks is None else (masks[i][0], masks[i][1])
            if plain_autograd():  # the same ops and bits, without functorch's layers
                # Differentiable onward (second order) where G's fakes or D's weights
                # carry a graph: G's update.
                onward = fake.requires_grad or any(v.requires_grad for v in raw.values())
                grads = autograd_grads(plain, raw, m_real, m_fake,
                                       create_graph=onward and not key.unroll_first_order)
            else:
                grads = torch.func.grad(plain)(raw, m_real, m_fake)
                if key.unroll_first_order:
                    grads = {k: v.detach() for k, v in grads.items()}
            raw, ds, _ = apply_update(self.opt, raw, grads, ds, h, t_d + i + 1)
        return raw

    def _fakes(self, gp_: Params, b: dict, h) -> Tensor:
        return self.noisy(self.nets.g(gp_, b["g_z"]), b.get("instance_noise_g"), h["d"])

    def _g_tail(self, fake: Tensor, raw: Params, ds, t_d, sn, b: dict, h):
        """G's loss per run, as a function of its (noisy) fakes."""
        key, nets = self.key, self.nets
        live = normalised(raw, sn)
        dp = live
        if key.unroll:
            fake_d = fake.detach() if key.unroll_first_order else fake
            look_real = self.noisy(b["look_real"], b.get("instance_noise_look"), h["d"])
            dp = normalised(self._look_ahead(raw, ds, t_d, look_real, fake_d, h["d"],
                                             b.get("drop_look"), sn), sn)
        out = nets.d(dp, fake, b.get("drop_g"))
        per_run = self.loss.g_term(out).mean(-1)
        if key.feature_matching:
            per_run = per_run + h["g"]["feature_matching"] * self._feature_gap(live, fake, b, h["d"])
        return per_run.sum(), (per_run.detach(), out.detach())

    def _g_loss(self, gp_: Params, raw: Params, ds, t_d, sn, b: dict, h):
        return self._g_tail(self._fakes(gp_, b, h), raw, ds, t_d, sn, b, h)

    def _feature_gap(self, dp: Params, fake: Tensor, b: dict, h: State) -> Tensor:
        """Feature matching (Salimans et al. 2016): ‖E f(real) − E f(fake)‖² on live D's
        penultimate features, per run."""
        m_real, m_fake = (None, None) if "drop_fm" not in b else b["drop_fm"]
        real = self.noisy(b["fm_real"], b.get("instance_noise_fm"), h)
        target = self.nets.features(dp, real, m_real).detach().mean(-2)
        return ((self.nets.features(dp, fake, m_fake).mean(-2) - target) ** 2).sum(-1)

    def g(self, g, d, gs, ds, t_g, t_d, alive, sn, h, b):
        grads, (_, (per_run, _)) = self._g_grad(g, frozen(d), frozen(ds), t_d, sn, b, h)
        grads = flat_grads(g, grads)
        norm = flat_norms(grads, g)
        t_new = t_g + 1
        new_g, new_gs, finite = apply_update(self.opt, g, grads, gs, h["g"], t_new)
        ok = alive & torch.isfinite(per_run + norm) & finite
        g, gs, t_g = keep_where(ok, (new_g, new_gs, t_new), (g, gs, t_g))
        return g, gs, t_g, ok, torch.stack([per_run, norm], -1)

    def probe(self, g, d, ds, t_d, sn, h, b):
        """G's fakes (noisy, as D sees them), D's verdict on them and ∂(G's loss)/∂fake,
        per run: what slow motion draws. Pure: changes nothing."""
        fake = self._fakes(g, b, h).detach()
        grad, (_, (_, out)) = grad_and_value(self._g_tail, has_aux=True)(fake, d, ds, t_d, sn, b, h)
        return fake, out, grad

    # --- both ----------------------------------------------------------------------------
    def whole(self, g, d, gs, ds, t_g, t_d, alive, mem, sn, h, batch):
        """batch: {"d": [one dict per D update], "g": dict}. Returns the new state, each
        D update's stats (d_steps, S, 6), G's stats, and `alive` after the D updates."""
        d_stats = []
        for b in batch["d"]:
            d, ds, t_d, alive, mem, sn, stats, _ = self.d(g, d, ds, t_d, alive, mem, sn, h, b)
            d_stats.append(stats)
        alive_d = alive
        g, gs, t_g, alive, g_stats = self.g(g, d, gs, ds, t_g, t_d, alive, sn, h, batch["g"])
        return g, d, gs, ds, t_g, t_d, alive, mem, sn, torch.stack(d_stats), g_stats, alive_d

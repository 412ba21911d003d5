"""GAN losses: one small class each, picked once from the LOSSES table.

Every loss works on D's raw outputs ("logits" for the probability losses, critic
values for Wasserstein and hinge) and is split into per-sample terms, so label
flipping can move a real sample to the fake side without the loss knowing.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import LOSS_NAMES, PROBABILITY_LOSSES


class Loss:
    """Per-sample terms of D's and G's objectives; all are minimised."""

    critic = False  # True: D's output is an unbounded score, not a logit of "real"

    def real_term(self, out: Tensor, target: float = 1.0) -> Tensor:
        raise NotImplementedError

    def fake_term(self, out: Tensor) -> Tensor:
        raise NotImplementedError

    def g_term(self, out: Tensor) -> Tensor:
        raise NotImplementedError

    def prob(self, out: Tensor) -> Tensor | None:
        """D's probability that a sample is real, or None for critics."""
        return torch.sigmoid(out)


class Minimax(Loss):
    """Saturating minimax (Goodfellow et al. 2014): G minimises log(1 − D(G(z)))."""

    def real_term(self, out, target=1.0):
        if target is None:  # unsmoothed (d_objective): the target-1 term alone
            return F.softplus(-out)
        return target * F.softplus(-out) + (1 - target) * F.softplus(out)

    def fake_term(self, out):
        return F.softplus(out)

    def g_term(self, out):
        # log(1 − σ(l)) = −softplus(l): flat where D is sure the fake is fake.
        return -F.softplus(out)


class NonSaturating(Minimax):
    """Non-saturating loss (Goodfellow et al. 2014): G maximises log D(G(z))."""

    def g_term(self, out):
        return F.softplus(-out)


class Wasserstein(Loss):
    """Wasserstein critic loss (Arjovsky et al. 2017): D maximises E D(x) − E D(G(z))."""

    critic = True

    def real_term(self, out, target=1.0):
        return -out

    def fake_term(self, out):
        return out

    def g_term(self, out):
        return -out

    def prob(self, out):
        return None


class Hinge(Wasserstein):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): margins at ±1 for the critic."""

    def real_term(self, out, target=1.0):
        return F.relu(1 - out)

    def fake_term(self, out):
        return F.relu(1 + out)


class LeastSquares(Loss):
    """Least-squares GAN (Mao et al. 2017), targets a=0, b=c=1 on D's raw output."""

    def real_term(self, out, target=1.0):
        return 0.5 * (out - (1.0 if target is None else target)) ** 2

    def fake_term(self, out):
        return 0.5 * out**2

    def g_term(self, out):
        return 0.5 * (out - 1) ** 2

    def prob(self, out):
        # D's raw output is trained toward 1 (real) and 0 (fake); clamp to read it as one.
        return out.clamp(0, 1)


def d_objective(loss: Loss, out_real: Tensor, out_fake: Tensor,
                smoothing: float | Tensor | None = 0.0,
                flip: Tensor | None = None) -> Tensor:
    """D's loss, averaged over the last axis: a scalar for one run, (S,) for a seed batch.

    smoothing: one-sided label smoothing (real target 1 − smoothing). flip: a mask of
    real samples shown to D as fake (label flipping).
    """
    real_terms = loss.real_term(out_real, None if smoothing is None else 1.0 - smoothing)
    if flip is not None:
        real_terms = torch.where(flip, loss.fake_term(out_real), real_terms)
    return real_terms.mean(-1) + loss.fake_term(out_fake).mean(-1)


LOSSES: dict[str, Loss] = {
    "minimax": Minimax(),
    "nonsaturating": NonSaturating(),
    "wasserstein": Wasserstein(),
    "hinge": Hinge(),
    "least_squares": LeastSquares(),
}
# The names are the Config's vocabulary (validated there without importing torch); this
# table gives each its class, so a loss added to one and not the other fails at import.
assert tuple(LOSSES) == LOSS_NAMES, "config.LOSS_NAMES and losses.LOSSES must list the same losses"
assert {n for n, loss in LOSSES.items() if not loss.critic} == set(PROBABILITY_LOSSES), \
    "config.PROBABILITY_LOSSES must be the losses whose D output is a logit"

"""What a training step costs, in default-step units: how the lesson check and sweeps
order their work (costliest first), and how the class server names the settings that
make a run costly. One table: the settings that add cost are found by probing
relative_step_cost itself, not listed a second time."""
from __future__ import annotations

from .config import DEFAULT, SLOPE_PENALTIES, Config


def relative_step_cost(cfg: Config) -> float:
    """A rough cost of one G step in plain-step units, only for ordering work so that
    the costliest runs start first (measured ratios: a penalty doubles a D update,
    true unrolling costs ~8 plain steps, minibatch discrimination ~3)."""
    d_update = 2.0 if any(getattr(cfg, name) for name in SLOPE_PENALTIES) else 1.0
    per_look_ahead = 0.8 if cfg.unroll_first_order else 1.4  # ~4 and ~7 plain steps at k = 5
    cost = cfg.d_steps * d_update + 1.0 + per_look_ahead * cfg.unroll
    return cost * (3.0 if cfg.minibatch else 1.0) * cfg.batch / 256


# Every setting relative_step_cost reads, at the value where it adds nothing to the
# default's cost: the one list of which settings make a step costly (the app names them).
NO_EXTRA_COST = {"batch": DEFAULT.batch, "unroll": 0, "unroll_first_order": True,
                 "minibatch": 0, "d_steps": DEFAULT.d_steps,
                 **{name: 0.0 for name in SLOPE_PENALTIES}}


def cost_adders(cfg: Config) -> list[str]:
    """The settings that make cfg's step costlier than the default's: moving one back to
    its no-extra-cost value makes cfg cheaper, or it alone makes the cheap config dearer
    (gp and r1 together share one doubled D update: each still counts)."""
    cost, cheap = relative_step_cost(cfg), DEFAULT.replace(**NO_EXTRA_COST)
    return [f for f, v in NO_EXTRA_COST.items()
            if relative_step_cost(cfg.replace(**{f: v})) < cost
            or relative_step_cost(cheap.replace(**{f: getattr(cfg, f)}))
            > relative_step_cost(cheap)]

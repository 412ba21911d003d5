"""Schedules over G steps: the annealed instance noise σ and the learning-rate decay.
The Trainer reads them before every update and writes them into the step's tensors
(stacking.set_hyper), so a schedule never recompiles the step."""
from __future__ import annotations


def instance_noise_std(sigma: float, anneal: int, g_step: int) -> float:
    """Instance noise σ at this G step, falling linearly to 0 over `anneal` steps."""
    if anneal <= 0:
        return sigma
    return sigma * max(0.0, 1.0 - g_step / anneal)


def lr_factor(start: int, end: int, floor: float, g_step: int) -> float:
    """Learning-rate multiplier: 1 until `start`, then linear down to `floor` at `end`."""
    if not start or g_step <= start:
        return 1.0
    t = min(1.0, (g_step - start) / (end - start))
    return 1.0 - t * (1.0 - floor)

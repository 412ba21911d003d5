"""Replay a run at an earlier checkpoint without touching it: a scratch copy takes the snapshot.

Trainer.checkpoints keeps the full state every CHECKPOINT_EVERY G steps (older ones
thinned). Looking back must not train, reseed or rewind the live run, so the weights
and history of that time go into fresh copies of G and D inside a shallow stand-in
for the trainer, and gansim.snapshot.take reads that stand-in like any trainer.
"""
from __future__ import annotations

import copy

import torch

from .history import History
from .losses import LOSSES


def frame_steps(trainer) -> list[int]:
    """The G steps the timeline can show: every checkpoint, oldest first."""
    return [s for s, _ in trainer.checkpoints]


def scratch_at(trainer, step: int):
    """A stand-in for `trainer` as it was at the newest checkpoint at or before `step`."""
    earlier = [(s, st) for s, st in trainer.checkpoints if s <= step]
    if not earlier:
        raise ValueError(f"no saved frame at or before step {step}; the first is at step "
                         f"{trainer.checkpoints[0][0] if trainer.checkpoints else 0}")
    _, state = earlier[-1]
    past = copy.copy(trainer)  # shares the dataset and fixed eval batches (read only)
    past.G, past.D = copy.deepcopy(trainer.G), copy.deepcopy(trainer.D)
    past.G.load_state_dict(state["G"])
    past.D.load_state_dict(state["D"])
    past.cfg = state["cfg"]
    past.loss = LOSSES[past.cfg.loss]
    past.g_step, past.d_step = state["g_step"], state["d_step"]
    past.history = History(trainer.history.max_rows)
    past.history.load(state["history"])
    # Its own eval stream: a full snapshot draws samples, which must not shift the run's.
    past.eval_gen = torch.Generator()
    past.eval_gen.set_state(state["eval_gen"])
    past.diverged = None  # a checkpoint is only ever taken from finite weights
    return past


def snapshot_at(trainer, step: int, **kwargs):
    """The arena's snapshot at the newest checkpoint at or before `step`."""
    from .snapshot import take

    return take(scratch_at(trainer, step), **kwargs)

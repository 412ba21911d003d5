"""Replay a run at an earlier checkpoint without touching it: a scratch copy takes the snapshot.

Trainer.checkpoints keeps the full state every CHECKPOINT_EVERY G steps (older ones
thinned). Looking back must not train, reseed or rewind the live run, so the weights
and history of that time go into fresh G and D inside a stand-in for the run
(Trainer.frame: a RunView), and gansim.snapshot.take reads it like any trainer.
"""
from __future__ import annotations


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
    return trainer.frame(state)


def snapshot_at(trainer, step: int, **kwargs):
    """The arena's snapshot at the newest checkpoint at or before `step`."""
    from .snapshot import take

    return take(scratch_at(trainer, step), **kwargs)

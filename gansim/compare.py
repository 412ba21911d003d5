"""Side by side: 2–4 runs in lockstep that differ only in the settings a student changes.

The panes share the seed, so they start from the same weights (where the networks have
the same shape) and, through the Trainer's keyed batch streams, see the same real and
latent batches at every step. What differs between them is what was changed.

Given a `start` (a Trainer.state()), the panes branch from it instead: each continues
that run's weights, optimiser moments, step and history, with its own live settings
applied on top. Settings that need fresh networks (config.RESTART_FIELDS) cannot
continue those weights; `can_branch` says whether a set of panes can.
"""
from __future__ import annotations

import time
from typing import Any

from .config import Config, restart_fields_changed
from .trainer import Diverged, Trainer

MIN_PANES, MAX_PANES = 2, 4


class Lockstep:
    """Trainers stepped together; a pane that diverges stops, the others go on."""

    def __init__(self, configs: list[Config], **trainer_kw: Any):
        if not MIN_PANES <= len(configs) <= MAX_PANES:
            raise ValueError(f"compare needs {MIN_PANES} to {MAX_PANES} panes, got {len(configs)}")
        seeds = {c.seed for c in configs}
        if len(seeds) != 1:
            raise ValueError(f"panes must share one seed to differ only in their settings; "
                             f"got seeds {sorted(seeds)} (set the same seed in every pane)")
        self.trainers = [Trainer(c, **trainer_kw) for c in configs]
        self.seconds = [0.0] * len(configs)

    @classmethod
    def branch(cls, start: dict, configs: list[Config], **trainer_kw: Any) -> "Lockstep":
        """Panes that continue the run saved in `start` (Trainer.state()), each with its config.

        ValueError when a pane changes a setting that needs fresh networks.
        """
        blocked = sorted({f for c in configs for f in restart_fields_changed(start["cfg"], c)})
        if blocked:
            raise ValueError(f"{', '.join(blocked)} needs fresh networks, so the panes cannot "
                             f"continue the current run; they start at step 0 instead")
        ls = cls([start["cfg"]] * len(configs), **trainer_kw)
        for t, cfg in zip(ls.trainers, configs):
            # The public way back to a saved state: make it the only checkpoint, rewind.
            t.checkpoints = [(start["g_step"], start)]
            t.rewind(start["g_step"])
            changes = {k: v for k, v in cfg.to_dict().items() if getattr(t.cfg, k) != getattr(cfg, k)}
            if changes:
                t.update(**{k: getattr(cfg, k) for k in changes})
        return ls

    @staticmethod
    def can_branch(start: dict | None, configs: list[Config]) -> bool:
        """True when every pane can continue `start`'s networks."""
        return start is not None and not any(restart_fields_changed(start["cfg"], c)
                                             for c in configs)

    def train(self, steps: int) -> None:
        """`steps` full steps on every pane still alive (one pane at a time, in turn)."""
        for i, t in enumerate(self.trainers):
            if t.diverged:
                continue
            start = time.perf_counter()
            try:
                t.train(steps)
            except Diverged:
                pass  # the pane keeps its last good state and shows why it stopped
            self.seconds[i] += time.perf_counter() - start

    def differences(self) -> dict[str, list[Any]]:
        """Each setting whose value is not the same in every pane, with the panes' values."""
        dicts = [t.cfg.to_dict() for t in self.trainers]
        return {k: [d[k] for d in dicts] for k in dicts[0]
                if any(d[k] != dicts[0][k] for d in dicts[1:])}

    def summary(self) -> list[dict[str, Any]]:
        """One row per pane: what it changed and its newest evaluation."""
        diff = self.differences()
        rows = []
        for i, t in enumerate(self.trainers):
            h = t.history
            rows.append({
                "pane": "ABCD"[i],
                "settings": " ".join(f"{k}={v[i]}" for k, v in diff.items()) or "(same)",
                "step": t.g_step, "modes": h.last("modes"), "hq": h.last("hq"),
                "reverse_kl": h.last("reverse_kl"), "distance": h.last("distance"),
                "diverged": t.diverged is not None, "seconds": round(self.seconds[i], 2),
            })
        return rows

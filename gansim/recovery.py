"""Divergence: a run whose update turned NaN/Inf keeps its last good weights (the step
refuses the update) and gets a message; a run whose weights themselves blew up is
restored from the newest checkpoint; when no run is left, Diverged is raised."""
from __future__ import annotations

import math

from torch import Tensor

from .stack import finite_runs


class Diverged(RuntimeError):
    """Training produced NaN/Inf; the Trainer holds the last good state."""


class Recovery:
    """The Trainer's divergence handling (a mixin: it reads and writes the Trainer's
    runs, checkpoints and failure messages)."""

    def _died(self, ok: Tensor, loss: Tensor, who: str) -> None:
        """Runs whose update the engine refused (NaN/Inf) are marked with a message; a run
        whose weights themselves had blown up gets its newest checkpoint's. Raises
        Diverged when no run is left."""
        if bool(ok.all()):  # the usual case: one look at ok, not one per run
            return
        newly = [i for i in range(self.S) if self.failed[i] is None and not bool(ok[i])]
        for i in newly:
            what = "loss" if not math.isfinite(float(loss[i])) else "gradient"
            if bool(finite_runs(self.g)[i]) and bool(finite_runs(self.d)[i]):
                kept = f"The weights are kept as they were at step {self.g_step}"
            else:
                kept = (f"The weights themselves had blown up, so they were restored to those "
                        f"of step {self._recover(i)} (the newest checkpoint); the current "
                        f"settings are kept")
            self.failed[i] = (
                f"Training diverged at step {self.g_step}: the {who}'s {what} became NaN or "
                f"infinite. {kept}. Lower the learning rates or add a penalty (gp, r1), then "
                f"rewind or reset.")
        if newly and all(self.failed):
            self.diverged = self.failed[0]
            raise Diverged(self.diverged)

    def _recover(self, i: int) -> int:
        """Load run i's networks, moments and power-iteration vectors from the newest
        checkpoint, keeping today's settings; returns the checkpoint's step."""
        step, st = self.checkpoints[-1]
        for mine, saved in ((self.g, st["g"]), (self.d, st["d"])):
            for k in mine:
                mine[k][i] = saved[k][i]
        for k, s in self.sn.items():
            for m in s:
                s[m][i] = st["sn"][k][m][i]
        same_opt = (st["cfg"].optimizer, st["cfg"].beta1, st["cfg"].beta2) == \
            (self.cfg.optimizer, self.cfg.beta1, self.cfg.beta2)
        for mine, saved in ((self.gs, st["gs"]), (self.ds, st["ds"])):
            for k, s in mine.items():
                for m in s:
                    s[m][i] = saved[k][m][i] if same_opt else 0.0
        self.t_g[i] = st["t_g"][i] if same_opt else 0.0
        self.t_d[i] = st["t_d"][i] if same_opt else 0.0
        self._views_stale = True
        return step

    def _check_alive(self) -> None:
        if self.diverged:
            raise Diverged(self.diverged)

"""The logging window: each update's figures are summed per run and, every log_every G
steps, averaged into one history row per run (with an evaluation every eval_every)."""
from __future__ import annotations

import math

import torch
from torch import Tensor

D_STATS = ("d_loss", "d_grad", "score_d", "score_g", "critic_real", "critic_fake")


class LogWindow:
    """The Trainer's history rows (a mixin: it reads the Trainer's histories, loss and
    runs, and saves a checkpoint every checkpoint_every G steps)."""

    def _reset_window(self) -> None:
        self._d_sum = torch.zeros(self.S, len(D_STATS))
        self._g_sum = torch.zeros(self.S, 2)
        self._d_n = self._g_n = 0

    def _record_d(self, stats: Tensor) -> None:
        """stats (updates, S, 6): each D update's figures per run (step.Step.d)."""
        for row in stats.detach().cpu():  # one by one: the same sums as single D steps
            self._d_sum += row
            self._d_n += 1

    def _record_g(self, stats: Tensor) -> None:
        self._g_sum += stats.detach().cpu()
        self._g_n += 1
        if self.g_step % self.log_every == 0:
            self._log_rows()
        if self.g_step % self.checkpoint_every == 0:
            self._checkpoint()

    def _log_rows(self) -> None:
        d = (self._d_sum / max(self._d_n, 1)).tolist()
        g = (self._g_sum / max(self._g_n, 1)).tolist()
        critic = self.loss.critic
        for i, history in enumerate(self.histories):
            row = {"step": self.g_step, "d_loss": d[i][0], "d_grad": d[i][1],
                   "score_d": d[i][2], "score_g": d[i][3],
                   "critic_real": d[i][4] if critic else math.nan,
                   "critic_fake": d[i][5] if critic else math.nan,
                   "g_loss": g[i][0], "g_grad": g[i][1]}
            mass = None
            if self.g_step % self.eval_every == 0 and not self.failed[i]:
                stats = self.run(i).evaluate()
                mass = stats.pop("mass", None)
                row.update(stats)
            history.append(row, mass)
        self._reset_window()

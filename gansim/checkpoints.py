"""Checkpoints and rewind: the Trainer's full state every checkpoint_every G steps (older
ones thinned out), and going back to one: the timeline, rewind and divergence recovery
read them."""
from __future__ import annotations

from .stack import clone_tree, write

MAX_CHECKPOINTS = 40


class Checkpoints:
    """The Trainer's checkpoints (a mixin: it copies and restores the Trainer's state)."""

    def state(self) -> dict:
        """A deep copy of everything needed to continue these runs exactly."""
        tensors = {"g": self.g, "d": self.d, "gs": self.gs, "ds": self.ds, "t_g": self.t_g,
                   "t_d": self.t_d, "alive": self.alive, "sn": self.sn, "mem": self.mem}
        return {
            "g_step": self.g_step, "d_step": self.d_step, "cfg": self.cfg,
            "d_in_step": self._d_in_step, "seeds": list(self.seeds),
            **clone_tree(tensors), "stored": self.stored,
            "failed": list(self.failed),
            "gens": [g.get_state() for g in self.draws.gens],
            "eval_gens": [g.get_state() for g in self.eval_gens],
            "histories": [h.state() for h in self.histories],
        }

    def _restore(self, st: dict) -> None:
        self.cfg = st["cfg"]
        write(self.g, st["g"])
        write(self.d, st["d"])
        for k, s in st["sn"].items():
            write(self.sn[k], s)
        self.gs, self.ds = clone_tree(st["gs"]), clone_tree(st["ds"])
        self.t_g, self.t_d, self.alive = st["t_g"].clone(), st["t_d"].clone(), st["alive"].clone()
        self.mem, self.stored = clone_tree(st["mem"]), st["stored"]
        self.failed = list(st["failed"])
        for gen, s in zip(self.draws.gens, st["gens"]):
            gen.set_state(s)
        for gen, s in zip(self.eval_gens, st["eval_gens"]):
            gen.set_state(s)
        for h, s in zip(self.histories, st["histories"]):
            h.load(s)
        self.g_step, self.d_step = st["g_step"], st["d_step"]
        self._d_in_step = st["d_in_step"]
        self._views_stale = True
        self._use(self.cfg)
        self._reset_window()

    def _checkpoint(self) -> None:
        self.checkpoints.append((self.g_step, self.state()))
        if len(self.checkpoints) > MAX_CHECKPOINTS:
            # Thin out the older half so early steps stay reachable, recent ones dense.
            old = self.checkpoints[: MAX_CHECKPOINTS // 2]
            self.checkpoints = old[::2] + self.checkpoints[MAX_CHECKPOINTS // 2:]

    def rewind(self, step: int) -> int:
        """Go back to the newest checkpoint at or before `step`; returns its step."""
        earlier = [(s, st) for s, st in self.checkpoints if s <= step]
        if not earlier:
            raise ValueError(f"no checkpoint at or before step {step}")
        s, st = earlier[-1]
        self._restore(st)
        self.checkpoints = [c for c in self.checkpoints if c[0] <= s]
        self.diverged = None
        return s

"""A bounded training history: memory stays flat however long a run goes on."""
from __future__ import annotations

import math

import numpy as np

# Per-step scalars (window means between two rows) and the periodic evaluation keys
# (nan in rows without an evaluation). The app, the CLI and the diagnosis read these.
STEP_KEYS = ("d_loss", "g_loss", "score_d", "score_g", "critic_real", "critic_fake",
             "d_grad", "g_grad")
EVAL_KEYS = ("modes", "modes_any", "hq", "reverse_kl", "mass_modes", "distance")
KEYS = ("step",) + STEP_KEYS + EVAL_KEYS


class History:
    """Rows of metrics; past `max_rows` every other row is dropped and the stride doubles."""

    def __init__(self, max_rows: int = 2000):
        if max_rows < 4:
            raise ValueError(f"max_rows must be >= 4, got {max_rows}")
        self.max_rows = max_rows
        self.stride = 1  # keep one offered row in `stride`
        self._offered = 0
        self.rows: dict[str, list[float]] = {k: [] for k in KEYS}
        self.mass: list[list[float]] = []  # per-mode mass, aligned with rows

    def __len__(self) -> int:
        return len(self.rows["step"])

    def append(self, values: dict[str, float], mass: list[float] | None = None) -> None:
        """Offer one row; it is kept if it falls on the current stride (evals always are)."""
        self._offered += 1
        has_eval = not math.isnan(values.get("modes", math.nan))
        if (self._offered - 1) % self.stride and not has_eval:
            return
        for k in KEYS:
            self.rows[k].append(float(values.get(k, math.nan)))
        self.mass.append(list(mass) if mass is not None else [])
        if len(self) > self.max_rows:
            self._halve()

    def _halve(self) -> None:
        for k in KEYS:
            self.rows[k] = self.rows[k][::2]
        self.mass = self.mass[::2]
        self.stride *= 2

    def as_arrays(self) -> dict[str, np.ndarray]:
        """A copy of every column as a float array."""
        return {k: np.asarray(v, dtype=float) for k, v in self.rows.items()}

    def last(self, key: str) -> float:
        """The newest non-nan value of a column (nan if none)."""
        for v in reversed(self.rows[key]):
            if not math.isnan(v):
                return v
        return math.nan

    def state(self) -> dict:
        return {"stride": self.stride, "offered": self._offered,
                "rows": {k: list(v) for k, v in self.rows.items()},
                "mass": [list(m) for m in self.mass]}

    def load(self, state: dict) -> None:
        self.stride, self._offered = state["stride"], state["offered"]
        self.rows = {k: list(v) for k, v in state["rows"].items()}
        self.mass = [list(m) for m in state["mass"]]

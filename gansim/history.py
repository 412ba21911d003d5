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
    """Rows of metrics, thinned so memory stays flat and the rows span the whole run.

    Step rows and evaluation rows (rows with any EVAL_KEYS value) are thinned alike but
    separately: each kind keeps one row in `stride` of its own, and when the table
    outgrows `max_rows` the stride doubles and the rows off it go. Counting each kind on
    its own keeps evaluations evenly spread (thinning by row position would alias with the
    evaluation period and drop them all). The newest row of each kind is always kept,
    so the latest metrics are never stale.
    """

    def __init__(self, max_rows: int = 2000):
        if max_rows < 4:
            raise ValueError(f"max_rows must be >= 4, got {max_rows}")
        self.max_rows = max_rows
        self.stride = 1  # keep one offered row of each kind in `stride`
        self._offered = [0, 0]  # rows offered so far: [step rows, evaluation rows]
        self._tags: list[tuple[int, int]] = []  # (kind, index among its kind) per row
        self.rows: dict[str, list[float]] = {k: [] for k in KEYS}
        self.mass: list[list[float]] = []  # per-mode mass, aligned with rows

    def __len__(self) -> int:
        return len(self.rows["step"])

    def append(self, values: dict[str, float], mass: list[float] | None = None) -> None:
        """Offer one row; the previous row of its kind goes if it is off the stride."""
        kind = int(any(not math.isnan(values.get(k, math.nan)) for k in EVAL_KEYS))
        index = self._offered[kind]
        self._offered[kind] += 1
        self._drop_off_stride_tail(kind)
        for k in KEYS:
            self.rows[k].append(float(values.get(k, math.nan)))
        self.mass.append(list(mass) if mass is not None else [])
        self._tags.append((kind, index))
        if len(self) > self.max_rows:
            self.stride *= 2
            newest = {self._last_of(0), self._last_of(1)}
            self._keep([i for i, (_, n) in enumerate(self._tags)
                        if n % self.stride == 0 or i in newest])

    def _last_of(self, kind: int) -> int:
        """Row index of the newest row of `kind` (−1 when there is none)."""
        for i in range(len(self._tags) - 1, -1, -1):
            if self._tags[i][0] == kind:
                return i
        return -1

    def _drop_off_stride_tail(self, kind: int) -> None:
        i = self._last_of(kind)
        if i >= 0 and self._tags[i][1] % self.stride:
            for col in self.rows.values():
                del col[i]
            del self.mass[i], self._tags[i]

    def _keep(self, idx: list[int]) -> None:
        for k in KEYS:
            col = self.rows[k]
            self.rows[k] = [col[i] for i in idx]
        self.mass = [self.mass[i] for i in idx]
        self._tags = [self._tags[i] for i in idx]

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
        return {"stride": self.stride, "offered": list(self._offered),
                "tags": list(self._tags),
                "rows": {k: list(v) for k, v in self.rows.items()},
                "mass": [list(m) for m in self.mass]}

    def load(self, state: dict) -> None:
        self.stride, self._offered = state["stride"], list(state["offered"])
        self._tags = list(state["tags"])
        self.rows = {k: list(v) for k, v in state["rows"].items()}
        self.mass = [list(m) for m in state["mass"]]

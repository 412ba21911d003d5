"""The real distributions: 2-D Gaussian mixtures that know their exact density, and
user points from a CSV.

A `Mixture` carries its centres, stds and weights, so the metrics can judge samples
against the truth instead of against another finite sample. Mode angles on a ring are
2πk/K, k = 0..K−1: `linspace(0, 2π, K)` would put the first and last mode on the same
spot (a bug of the Unrolled GAN reference notebook, Metz et al. 2016).
"""
from __future__ import annotations

import csv
import functools
import io
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.cluster.vq import kmeans2, vq

# Largest |x| or |y| in an upload: float32 keeps ~7 digits, so beyond 1e6 a spread of
# 0.1 is lost (and 1e300 would overflow float32 to infinity).
MAX_COORD = 1e6
MAX_POINTS = 100_000  # uploaded CSVs: enough for any drawing, small enough to keep in memory
MAX_KMEANS = 25


@dataclass(frozen=True)
class Mixture:
    """An isotropic Gaussian mixture in the plane."""

    name: str
    centers: np.ndarray  # (K, 2)
    stds: np.ndarray  # (K,) one isotropic std per mode
    weights: np.ndarray  # (K,) sums to 1

    def __post_init__(self) -> None:
        k = len(self.centers)
        if self.centers.shape != (k, 2) or self.stds.shape != (k,) or self.weights.shape != (k,):
            raise ValueError(f"mixture {self.name}: centers (K, 2), stds (K,) and weights (K,) "
                             f"must agree, got {self.centers.shape}, {self.stds.shape}, "
                             f"{self.weights.shape}")
        if k == 0 or (self.stds <= 0).any() or (self.weights <= 0).any():
            raise ValueError(f"mixture {self.name}: needs ≥ 1 mode, positive stds and weights")

    @property
    def n_modes(self) -> int:
        return len(self.centers)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """A fixed square plot box around the modes: (xmin, xmax, ymin, ymax)."""
        return square_box(self.centers, 5 * float(self.stds.max()))

    @functools.cached_property
    def _tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # Converted once: sampling runs every training step.
        return (torch.as_tensor(self.weights, dtype=torch.float64),
                torch.as_tensor(self.centers, dtype=torch.float32),
                torch.as_tensor(self.stds, dtype=torch.float32))

    def sample_torch(self, n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
        """n points drawn with the given generator (the caller owns the random stream)."""
        w, centers, stds = self._tensors
        comp = torch.multinomial(w, n, replacement=True, generator=gen)
        return (centers[comp] + stds[comp, None] * torch.randn(n, 2, generator=gen)).to(device)


@dataclass(frozen=True)
class PointCloud:
    """Uploaded points: sampled with replacement; modes only when k-means was asked for."""

    name: str
    points: np.ndarray  # (N, 2) float32
    centers: np.ndarray | None = None
    stds: np.ndarray | None = None
    weights: np.ndarray | None = None

    @property
    def n_modes(self) -> int:
        return 0 if self.centers is None else len(self.centers)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        lo, hi = self.points.min(0), self.points.max(0)
        return square_box(np.stack([lo, hi]), 0.0)

    def sample_torch(self, n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
        idx = torch.randint(len(self.points), (n,), generator=gen)
        return torch.as_tensor(self.points)[idx].to(device)


def square_box(points: np.ndarray, spread: float) -> tuple[float, float, float, float]:
    """A square box around the points with a margin of a quarter of the span (≥ 1, ≥ spread)."""
    lo, hi = points.min(0), points.max(0)
    mid, half = (lo + hi) / 2, float((hi - lo).max()) / 2
    half += max(1.0, 0.5 * half, spread)
    return (float(mid[0] - half), float(mid[0] + half), float(mid[1] - half), float(mid[1] + half))


# --- presets -------------------------------------------------------------------------

def ring(k: int = 8, radius: float = 2.0, std: float = 0.02, weights=None, name="ring") -> Mixture:
    """K modes on a circle at angles 2πk/K (Unrolled GAN / VEEGAN benchmark: r 2, std 0.02)."""
    angles = 2 * math.pi * np.arange(k) / k
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], 1)
    return mixture(name, centers, [std], weights)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05, name="grid") -> Mixture:
    """side² modes on a square lattice centred at 0 (VEEGAN / PacGAN: {−4..4}², std 0.05)."""
    axis = spacing * (np.arange(side) - (side - 1) / 2)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    return mixture(name, np.stack([xx.ravel(), yy.ravel()], 1), [std])


def mixture(name: str, centers, stds, weights=None) -> Mixture:
    """A Mixture from plain lists; one std may serve every centre; weights default equal."""
    c = np.asarray(centers, dtype=float).reshape(-1, 2)
    s = np.asarray(stds, dtype=float).ravel()
    s = np.full(len(c), s[0]) if len(s) == 1 else s
    w = np.ones(len(c)) if weights is None or len(weights) == 0 else np.asarray(weights, float)
    return Mixture(name, c, s, w / w.sum())


# Unequal weights: the big modes are easy, the small ones are what collapse drops first.
IMBALANCED = (0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05)
PRESETS = {
    "ring8": lambda: ring(8, 2.0, 0.02, name="ring8"),
    "grid25": lambda: grid(5, 2.0, 0.05, name="grid25"),
    "two_gaussians": lambda: mixture("two_gaussians", [[-1.5, 0.0], [1.5, 0.0]], [0.25]),
    "ring8_imbalanced": lambda: ring(8, 2.0, 0.02, IMBALANCED, name="ring8_imbalanced"),
}


def make_dataset(name: str, custom: dict[str, Any] | None = None) -> Mixture:
    """A preset by name, or data="custom" from {"centers", "stds", "weights"}."""
    if name == "custom":
        if not custom:
            raise ValueError("data=custom needs custom_centers and custom_stds")
        return mixture("custom", custom["centers"], custom["stds"], custom.get("weights"))
    if name == "points":
        raise ValueError("data=points needs uploaded points: use load_points_csv()")
    if name not in PRESETS:
        raise ValueError(f"data must be one of {', '.join(PRESETS)}, custom, points; got {name!r}")
    return PRESETS[name]()


# --- uploaded points -------------------------------------------------------------------

def load_points_csv(source: str | bytes | io.IOBase, k: int = 0, seed: int = 0) -> PointCloud:
    """Validate a CSV of x,y rows (a header row is allowed); k > 0 finds modes by k-means.

    Raises ValueError naming the row and the problem: the file must hold 2 numeric,
    finite columns and between 10 and MAX_POINTS rows.
    """
    text = _as_text(source)
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if rows and not _is_number(rows[0][0]):
        rows = rows[1:]  # a header such as "x,y"
    if len(rows) > MAX_POINTS:
        raise ValueError(f"the CSV has {len(rows)} rows; at most {MAX_POINTS:,} are allowed")
    if len(rows) < 10:
        raise ValueError(f"the CSV needs at least 10 rows of x,y points, got {len(rows)}")
    pts = np.empty((len(rows), 2), dtype=np.float32)
    for i, row in enumerate(rows):
        if len(row) != 2:
            raise ValueError(f"CSV row {i + 1} has {len(row)} columns; each row must be x,y")
        try:
            values = [float(row[0]), float(row[1])]
        except ValueError:
            raise ValueError(f"CSV row {i + 1} is not two numbers: {','.join(row)[:40]!r}") from None
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"CSV row {i + 1} holds NaN or infinity; every value must be finite")
        big = max(values, key=abs)
        if abs(big) > MAX_COORD:
            raise ValueError(f"CSV row {i + 1} holds {big:g}, outside the range ±{MAX_COORD:g} "
                             f"the simulator accepts; rescale the points (e.g. divide by "
                             f"{10 ** math.ceil(math.log10(abs(big) / MAX_COORD)):g})")
        pts[i] = values
    if not 0 <= k <= MAX_KMEANS:
        raise ValueError(f"k (modes to find) must be in [0, {MAX_KMEANS}], got {k}")
    if k == 0:
        return PointCloud("points", pts)
    centers, stds, weights = kmeans_modes(pts, k, seed)
    return PointCloud("points", pts, centers, stds, weights)


def _as_text(source: str | bytes | io.IOBase) -> str:
    if isinstance(source, io.IOBase) or hasattr(source, "read"):
        source = source.read()  # type: ignore[union-attr]
    if isinstance(source, bytes):
        try:
            return source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("the file is not UTF-8 text; upload a CSV of x,y numbers") from None
    return str(source)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def kmeans_modes(pts: np.ndarray, k: int, seed: int = 0, iters: int = 50):
    """k-means (k-means++ start, scipy's kmeans2): centres, isotropic stds and weights."""
    x = pts.astype(float)
    # A cluster that empties keeps its old centre (scipy warns); fewer distinct points than
    # k give repeated centres (scipy's k-means++ divides 0 by 0): both are fine here.
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", UserWarning)
        c, _ = kmeans2(x, k, iter=iters, minit="++", rng=np.random.default_rng(seed))
    label, _ = vq(x, c)  # kmeans2's labels are from before its last centre update
    stds = np.array([_cluster_std(x[label == j], c[j]) for j in range(k)])
    counts = np.bincount(label, minlength=k).astype(float)
    return c, stds, np.maximum(counts, 1) / np.maximum(counts, 1).sum()


def _cluster_std(members: np.ndarray, center: np.ndarray) -> float:
    """Per-axis RMS distance to the centre; a floor keeps a one-point cluster usable."""
    if len(members) < 2:
        return 0.05
    return max(float(np.sqrt(((members - center) ** 2).sum(1).mean() / 2)), 1e-3)

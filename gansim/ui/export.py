"""Downloads: the config (TOML or JSON, readable by `python -m gansim --config`), the
current samples (CSV) and an animated GIF of the run so far. Pure functions → bytes."""
from __future__ import annotations

import csv
import io
import json
from typing import Sequence

import numpy as np
import tomli_w
from PIL import Image, ImageDraw

from ..config import Config
from ..metrics import hq_labels
from .charts import OFF_MODE, PALETTE

GIF_PX = 320
GIF_MS = 80  # per frame: ~12 frames/s, smooth enough and a small file


def config_toml(cfg: Config) -> bytes:
    """A flat table of every setting, the same shape the CLI's config file takes."""
    return tomli_w.dumps(cfg.to_dict()).encode("utf-8")


def config_json(cfg: Config) -> bytes:
    return (json.dumps(cfg.to_dict(), indent=2) + "\n").encode("utf-8")


def samples_csv(snap) -> bytes:
    """kind,x,y,mode rows: the real points and G's current samples (mode −1: not HQ)."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["kind", "x", "y", "mode"])
    for x, y in snap.real:
        out.writerow(["real", f"{x:.6g}", f"{y:.6g}", ""])
    for (x, y), m in zip(snap.fake, snap.fake_mode):
        out.writerow(["fake", f"{x:.6g}", f"{y:.6g}", int(m)])
    return buf.getvalue().encode("utf-8")


def gif(frames: Sequence[tuple[int, np.ndarray]], extent: tuple, real: np.ndarray,
        centers: np.ndarray | None = None, stds: np.ndarray | None = None) -> bytes:
    """An animated GIF: the real points in grey and G's samples at each kept frame."""
    if not frames:
        raise ValueError("no frames yet: press Play or Step, then export the GIF")
    base = _background(extent, real)
    images = []
    for step, fake in frames:
        img = base.copy()
        draw = ImageDraw.Draw(img)
        colors = _colors(fake, centers, stds)
        for (px, py), color in zip(_pixels(fake, extent), colors):
            draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=color)
        draw.text((6, 4), f"step {step}", fill="#000000")
        images.append(img.convert("P", palette=Image.Palette.ADAPTIVE))
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=GIF_MS, loop=0)
    return buf.getvalue()


def _background(extent: tuple, real: np.ndarray) -> Image.Image:
    img = Image.new("RGB", (GIF_PX, GIF_PX), "#ffffff")
    draw = ImageDraw.Draw(img)
    for px, py in _pixels(real, extent):
        draw.point((px, py), fill="#999999")
    return img


def _pixels(points: np.ndarray, extent: tuple) -> np.ndarray:
    x0, x1, y0, y1 = extent
    pts = np.asarray(points, dtype=float)
    px = (pts[:, 0] - x0) / (x1 - x0) * (GIF_PX - 1)
    py = (y1 - pts[:, 1]) / (y1 - y0) * (GIF_PX - 1)  # image rows grow downward
    return np.stack([px, py], 1)


def _colors(fake: np.ndarray, centers, stds) -> list[str]:
    """The arena's colours: nearest mode when within 3σ of it, grey otherwise."""
    if centers is None or not len(centers):
        return [PALETTE[3]] * len(fake)
    labels = hq_labels(np.asarray(fake), np.asarray(centers), np.asarray(stds))
    return [PALETTE[i % len(PALETTE)] if i >= 0 else OFF_MODE for i in labels]

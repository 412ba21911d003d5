"""Snapshot → the arena film's payload: compact arrays a browser canvas animates.

A pure function (no streamlit): the same fields, colours, box and rules as the Vega
arena in charts.py, which stays the one home of those rules; this module only packs
them as flat lists of rounded numbers, with the palette sent once as a table.
"""
from __future__ import annotations

import math

import numpy as np

from ..snapshot import nearest_modes
from . import charts, palette

SIGNIFICANT = 4  # digits kept, relative to the plot box: 1/5000 of a 5-wide box is sub-pixel
# What the canvas's legend row says; every colour word is one of palette.COLOUR_WORDS.
LEGEND = {
    "real": "real samples",
    "fake": "G's samples (colour: nearest mode; faint: beyond 3σ)",
    "arrows": "where G is pushed",
    "probability": ("D says fake", "real"),
    "critic": ("critic low (fake)", "high (real)"),
}


def arena_payload(snap, *, show_arrows: bool = True, show_manifold: bool = False,
                  show_rings: bool = True) -> dict:
    """The arena of one snapshot as JSON-ready lists: what arena_canvas.js draws."""
    span = snap.extent[1] - snap.extent[0]
    return {
        "step": int(snap.step),
        "box": [float(v) for v in snap.extent],
        "palette": list(charts.PALETTE),
        "colours": {"real": palette.hex_of("real"), "rings": palette.hex_of("circles"),
                    "arrows": palette.hex_of("arrows"), "manifold": charts.MANIFOLD_COLOUR,
                    "no_modes": charts.NO_MODES},
        "opacity": charts.ARENA_OPACITY,
        "ramp": charts.RAMP.astype(int).tolist(),
        "legend": LEGEND,
        "d": landscape(snap.d_grid, bool(snap.critic)),
        "real": flat(snap.real, span),
        "fake": flat(snap.fake, span),
        **fake_colours(snap),
        "arrows": arrow_vectors(snap, span) if show_arrows else [],
        "manifold": manifold(snap, span) if show_manifold else {"lines": 0, "xy": []},
        "rings": rings(snap, span) if show_rings else {"centres": [], "radii": []},
    }


def decimals(scale: float, significant: int = SIGNIFICANT) -> int:
    """Decimal places that keep `significant` digits of numbers about `scale` in size."""
    if not math.isfinite(scale) or scale <= 0:
        return significant
    return max(0, significant - 1 - math.floor(math.log10(scale)))


def flat(values: np.ndarray, scale: float) -> list:
    """Values as one flat list rounded to the scale; non-finite values become null
    (JSON has no NaN, and the canvas skips a point it cannot place)."""
    a = np.round(np.asarray(values, dtype=float).ravel(), decimals(scale))
    out = a.tolist()
    if not np.isfinite(a).all():
        out = [v if math.isfinite(v) else None for v in out]
    return out


def landscape(grid: np.ndarray, critic: bool) -> dict:
    """D on the grid, row 0 at the bottom (ymin): a probability, or a critic's score
    drawn on a scale symmetric around 0 (bound = its largest |value|), as in
    charts.landscape_url."""
    values = np.nan_to_num(np.asarray(grid, dtype=float))
    bound = max(float(np.abs(values).max()), 1e-6) if critic else 1.0
    return {"shape": list(values.shape), "values": flat(values, bound),
            "range": [float(values.min()), float(values.max())],
            "scale": "critic" if critic else "probability", "bound": bound}


def fake_colours(snap) -> dict:
    """Each fake's palette index (its nearest mode, however far; −1: no modes, drawn in
    the no-modes colour) and whether it is faint (farther than 3σ from that mode)."""
    if snap.centers is None:
        n = len(snap.fake)
        return {"fake_colour": [-1] * n, "fake_far": [0] * n}
    nearest = nearest_modes(snap.fake, snap.centers) % len(charts.PALETTE)
    return {"fake_colour": nearest.tolist(),
            "fake_far": (np.asarray(snap.fake_mode) < 0).astype(int).tolist()}


def arrow_vectors(snap, span: float) -> list:
    """G's push on the first charts.ARROWS fakes as (dx, dy) in box units, scaled by
    charts.arrow_rows' rule; the canvas draws each from its fake's moving position."""
    rows = charts.arrow_rows(snap).to_pydict()
    with np.errstate(invalid="ignore"):  # a diverged fake (inf − inf) is sent as null
        vec = np.stack([np.subtract(rows["x2"], rows["x"]),
                        np.subtract(rows["y2"], rows["y"])], 1)
    return flat(vec, span)


def manifold(snap, span: float) -> dict:
    """G's image of the latent grid lines, each LINE_POINTS long (none when z_dim > 2)."""
    m = np.asarray(snap.manifold)
    return {"lines": int(m.shape[0]), "xy": flat(m, span)}


def rings(snap, span: float) -> dict:
    """The modes' 3σ rings as centres and radii; the radius is read off
    charts.circle_rows (its first point of each ring lies at angle 0: centre + r)."""
    if snap.centers is None:
        return {"centres": [], "radii": []}
    rows = charts.circle_rows(snap).to_pydict()
    centres = np.asarray(snap.centers, dtype=float)
    first = np.searchsorted(rows["mode"], np.arange(len(centres)))
    radii = np.asarray(rows["x"])[first] - centres[:, 0]
    return {"centres": flat(centres, span), "radii": flat(radii, span)}

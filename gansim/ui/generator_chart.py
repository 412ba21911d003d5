"""The generator view's chart: G's sample density as orange shading under the warped
latent grid (z_dim ≤ 2), on the live arena's fixed box (charts.py's helpers)."""
from __future__ import annotations

import base64
import copy
import functools
import io

import altair as alt
import numpy as np
import pyarrow as pa
from PIL import Image

from . import charts, palette

# Density ramp: white = no fakes, dark orange = where G puts the most (power 0.4 scale).
DENSITY_RAMP = np.array([[255, 255, 255], [254, 230, 206], [253, 174, 107], [230, 85, 13],
                         [127, 39, 4]], dtype=float)
GRID_FAMILIES = ("z₁ varies", "z₂ varies")
GRID_COLOURS = (palette.hex_of("grid_z1"), palette.hex_of("grid_z2"))  # apart from the shading


def density_url(share: np.ndarray) -> str:
    """G's sample share per cell as a PNG data URL; a power scale so thin tails still show."""
    values = np.nan_to_num(np.asarray(share, dtype=float))
    top = float(values.max())
    t = (values / top) ** 0.4 if top > 0 else values
    stops = np.linspace(0.0, 1.0, len(DENSITY_RAMP))
    rgb = np.stack([np.interp(t, stops, DENSITY_RAMP[:, c]) for c in range(3)], -1)[::-1]
    buf = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@functools.lru_cache(maxsize=8)
def _generator_spec(extent: tuple, px: int) -> dict:
    x0, x1, y0, y1 = extent
    x = alt.X("x:Q", scale=alt.Scale(domain=[x0, x1], nice=False, zero=False), title=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=[y0, y1], nice=False, zero=False), title=None)
    family = alt.Color("family:N", title=None, legend=alt.Legend(orient="top"),
                       scale=alt.Scale(domain=list(GRID_FAMILIES), range=list(GRID_COLOURS)))
    layers = [
        alt.Chart(alt.Data(name="density")).mark_image(aspect=False, smooth=False)
        .encode(x=x, x2=alt.X2("x2:Q"), y=y, y2=alt.Y2("y2:Q"), url="url:N"),
        alt.Chart(alt.Data(name="circles")).mark_line(strokeDash=[3, 3], color="#555",
                                                      strokeWidth=1, clip=True)
        .encode(x=x, y=y, detail="mode:N", order="i:Q"),
        alt.Chart(alt.Data(name="real")).mark_circle(size=8, color="#222", opacity=0.4,
                                                     clip=True).encode(x=x, y=y),
        # Thin, half-transparent lines: the shading under a bunched grid must still show.
        alt.Chart(alt.Data(name="manifold")).mark_line(strokeWidth=0.9, opacity=0.6, clip=True)
        .encode(x=x, y=y, color=family, detail="line:N", order="i:Q"),
    ]
    chart = alt.layer(*layers).properties(width=px, height=px, usermeta=charts.CANVAS)
    chart = chart.configure_view(strokeWidth=0).configure_axis(grid=False)
    return charts._fixed_size(chart.to_dict())


def generator_rows(snap) -> pa.Table:
    """The warped grid as polylines, each tagged with the latent coordinate that varies."""
    rows = charts.manifold_rows(snap)
    lines = snap.manifold.shape[0]
    half = lines // 2 if lines > 1 else lines  # z_dim 1: a single curve, z₁ varies
    family = np.where(rows.column("line").to_numpy() < half, *GRID_FAMILIES)
    return rows.append_column("family", pa.array(family))


def generator(snap, dens, px: int = charts.ARENA_PX) -> dict:
    """G's view: its sample density as shading under the warped latent grid (z_dim ≤ 2)."""
    spec = copy.deepcopy(_generator_spec(tuple(round(v, 6) for v in snap.extent), px))
    x0, x1, y0, y1 = snap.extent
    spec["datasets"] = {
        "density": charts._table(x=[x0], x2=[x1], y=[y1], y2=[y0], url=[density_url(dens.share)]),
        "circles": charts.circle_rows(snap),
        "real": charts._table(x=snap.real[:, 0], y=snap.real[:, 1]),
        "manifold": generator_rows(snap),
    }
    return spec

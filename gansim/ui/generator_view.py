"""The generator's view: where G puts its samples (shading) and how it warps its latent grid.

The shading is a histogram of many fakes, so it works for any latent size. The warped
grid needs a latent of at most two coordinates (a 2-D slice of a 64-D latent says
nothing about G), and the page says so instead of drawing a scribble.
"""
from __future__ import annotations

import streamlit as st

from .. import snapshot
from . import generator_chart, transport
from .keys import button

LATENT_2D = 2
MODE = "Generator view"  # its label in the arena switch (gansim.ui.arena_modes)


def draw(run, snap) -> None:
    """The generator chart for this frame, with what it shows and what it cannot."""
    with run.lock:
        dens = snapshot.density(run.trainer)
    st.vega_lite_chart(generator_chart.generator(snap, dens), theme=None, width="content",
                       key="generator")
    st.caption(legend(snap, dens))
    z_dim = run.cfg.z_dim
    if z_dim > LATENT_2D and st.button(
            "Use a 2-D latent", icon=":material/grid_4x4:", key=button("latent_2d"),
            on_click=use_2d_latent,
            help="z_dim = 2: G's input is a point in a plane, so its grid can be drawn. "
                 "Starts a new run."):
        st.rerun(scope="app")  # the sidebar shows the new noise size


def legend(snap, dens) -> str:
    """What the picture shows, naming only what is drawn."""
    outside = 1.0 - float(dens.share.sum())
    text = (f"Shading: where G puts its samples ({dens.samples:,} fakes; darker orange = "
            f"more). Black dots: real samples; dashed circles: the real modes' 3σ.")
    if outside > 0.005:
        text += f" {100 * outside:.0f}% of the fakes fall outside this box."
    z_dim = snap.config.get("z_dim", 0)
    if z_dim == 1:
        return text + (" Blue curve: G's image of the line of noise values from −2.5 to "
                       "2.5 (z_dim = 1).")
    if z_dim == LATENT_2D:
        return text + (" Lines: a square grid of noise values (−2.5 to 2.5) after G has "
                       "bent it into the plane; blue lines vary z₁, magenta ones z₂. Where "
                       "lines bunch up, G packs many noise values into a small area.")
    return text + (f" No grid lines: this run's noise has {z_dim} dimensions, and a 2-D "
                   f"slice of it would not show what G does. Choose a 2-D latent to see "
                   f"G fold a flat grid.")


def manifold_note(snap, shown: bool) -> str:
    """The arena's manifold toggle is on but there is no grid to draw: say why."""
    if not shown or len(snap.manifold):
        return ""
    return (f" Generator manifold: not drawn, because this run's noise has "
            f"{snap.config.get('z_dim')} dimensions (a grid needs at most 2; the Generator "
            f"view offers a 2-D latent).")


def use_2d_latent() -> None:
    transport.change_config(transport.run().cfg.replace(z_dim=LATENT_2D))

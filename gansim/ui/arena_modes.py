"""What the arena shows: the live game, the drawing plane, G's view, a past frame, or
the Dirac-GAN game (the smallest GAN, solved exactly).

Drawing, scrubbing and the game show something other than the live run, so choosing
them pauses training, and pressing Play brings the arena back to the live view.
"""
from __future__ import annotations

import streamlit as st

from ..trainer import CHECKPOINT_EVERY
from . import draw_view, game_view, generator_view, spectrum_view, timeline_view, transport
from .keys import ARENA_MODE, ARENA_SHOWN, GAME, PLAYING

TRAIN, GENERATOR, DRAW, SCRUB = ARENA_MODE.default, generator_view.MODE, "Draw data", "Scrub back"
DIRAC = "Game"
MODES = {  # label → help line; the order is the switch's
    TRAIN: "The game as it trains: D's verdict behind real and fake points.",
    GENERATOR: "Where G puts its samples, and (with a 2-D latent) how it warps a grid of noise.",
    DRAW: "Draw your own real data: drag boxes on an empty plane (pauses training).",
    SCRUB: "Replay earlier saved frames of this run and branch from one (pauses training).",
    DIRAC: "Why GANs circle: the Dirac-GAN, a one-number G against a one-slope D, solved "
           "exactly (pauses training).",
}
LINKS = {"game": DIRAC}  # the views a link may open (`arena=game`): the others need a run's past
GUIDES = {  # the side column's reading guide for each view other than the live arena
    GENERATOR: """
**How to read the generator view**

- The **orange shading** is where G puts its samples: darker = more of them.
- **Black dots** are real samples; **dashed circles** mark each real mode's 3σ.
- With a **2-D latent**, the **lines** are a flat square grid of noise values after G
  has bent it into the plane (blue: z₁ varies, magenta: z₂ varies). Where lines bunch
  up, G squeezes much noise into a small area; a stretched cell is thinly covered.
- G is one smooth map: it can fold or stretch its grid, never tear it.
""",
    DRAW: """
**How to draw data**

- **Drag a box** on the plane: a Gaussian mode appears at its centre, and the box is
  its 3σ square (a bigger box, a wider mode).
- **Click a cross** to remove that mode; **Clear all** starts over.
- The grey dots preview samples of the drawn mixture.
- **Train on these modes** starts a new run on your drawing. It is a *custom* dataset:
  the link, the exports and the command line carry it like any other.
""",
    SCRUB: f"""
**How to scrub back**

- The slider runs over the frames this run saved (every {CHECKPOINT_EVERY} G steps; older
  ones are thinned out). The arena and the charts below show the run as it was then.
- Looking back does not train: the run stays where it was.
- **Branch from here** goes back to the chosen frame for real; change a setting, then
  press Play to see another path from the same point.
""",
    DIRAC: """
**How to read the game**

- The data is one point at 0; G is one point at **θ**; D is a line through the origin
  with slope **ψ**. One pair (θ, ψ) is the whole game: a point on the plane.
- The **arrows** show where both players move from each point; the **line** is their path
  from the start (square) to the step the slider shows (dot); the **cross** is (0, 0).
- **Eigenvalues** (below the plane): left of the dashed line (the field) or inside the
  dashed circle (one update), the players are pulled in. The box above the plane says
  what the path does.
- **Click the plane** to start elsewhere; open **Game settings** above it and change
  one to see its arrows change. The link carries these settings.
""",
}


def switch() -> str:
    """The arena's mode picker; Play (or a drawing's Train) returns it to the live view."""
    if ARENA_MODE.get() not in MODES or (PLAYING.get() and ARENA_MODE.get() in PAUSED_BODIES):
        ARENA_MODE.set(TRAIN)
    help_text = " ".join(f"**{k}**: {v}" for k, v in MODES.items())
    mode = st.segmented_control("Arena", list(MODES), key=ARENA_MODE.name, on_change=_changed,
                                label_visibility="collapsed", help=help_text) or TRAIN
    ARENA_SHOWN.set(mode)
    return mode


def _changed() -> None:
    mode = ARENA_MODE.get()
    if mode is None:  # clicking the chosen view again unselects it: keep showing it
        ARENA_MODE.set(ARENA_SHOWN.get())
        return
    if mode in PAUSED_BODIES:
        transport.pause()
    if mode == DRAW:
        draw_view.start(transport.run())


def guide(mode: str) -> str | None:
    """The side column's text for this view (None: the live arena's own guide)."""
    return GUIDES.get(mode)


def leave() -> None:
    ARENA_MODE.set(TRAIN)


def is_live(mode: str) -> bool:
    """True for the modes drawn by the live fragment (they keep training while playing)."""
    return mode not in PAUSED_BODIES


def body(mode: str) -> None:
    """The arena column for a paused mode."""
    PAUSED_BODIES[mode](transport.run())


PAUSED_BODIES = {  # the modes that pause training, and what they draw instead
    DRAW: draw_view.body,
    SCRUB: lambda run: timeline_view.body(run, leave),
    DIRAC: lambda run: _game(run),
}


def _game(run) -> None:
    """The Dirac-GAN, then the same eigenvalue picture for the live run's networks."""
    game_view.render(GAME.get())
    spectrum_view.panel(run)


def link_of(mode: str) -> str | None:
    """The link's `arena` value that opens `mode` (None: a link cannot open it)."""
    return next((name for name, linked in LINKS.items() if linked == mode), None)


def show_game() -> None:
    """Open the Game view (a lesson step with a game; a callback or before the switch)."""
    ARENA_MODE.set(DIRAC)

"""Every colour the page draws, with the word a person would use for it.

The charts take their colours from here, and tests/test_palette.py checks that every
colour word in the lessons, the guide and the legends names one of these entries, so a
text cannot send a class looking for "orange points" the screen does not draw.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Colour:
    word: str  # what the texts call it
    hex: str
    what: str  # what it marks on the page


NAMED = {
    "real": Colour("black", "#222222", "real samples (dots)"),
    "d_real": Colour("green", "#1b7837", "background where D says real / critic high"),
    "d_fake": Colour("purple", "#762a83", "background where D says fake / critic low"),
    "undecided": Colour("white", "#f7f7f7", "background where D is undecided"),
    "circles": Colour("grey", "#555555", "dashed rings around each real mode"),
    "arrows": Colour("black", "#333333", "lines on the fakes: where G is pushed"),
    "no_modes": Colour("red", "#d62728", "G's samples on uploaded points without modes"),
    # Generator view: G's density as shading, and the two families of warped grid lines.
    "density": Colour("orange", "#e6550d", "shading where G puts its samples (darker = more)"),
    "grid_z1": Colour("blue", "#08519c", "warped grid lines along which z1 varies"),
    "grid_z2": Colour("magenta", "#c51b7d", "warped grid lines along which z2 varies"),
    # Slow motion: the batch's fakes, where they were before G's step, and the diagram's
    # lit parts.
    "slow_fake": Colour("orange", "#e6550d", "slow motion's fakes (triangles) and their moves"),
    "slow_old": Colour("grey", "#9e9e9e", "slow motion's fakes before G's step"),
    "lit": Colour("orange", "#e6550d", "the diagram's parts in use in this sub-step"),
}
# G's samples take the colour of their nearest real mode: texts say "coloured by mode",
# never a particular hue, since which mode gets which hue depends on the dataset.
MODES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
         "#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
         "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5", "#dbdb8d", "#393b79")
# Words a text may use for colours: the named ones, their parts, and mode colouring.
COLOUR_WORDS = frozenset(w for c in NAMED.values() for w in c.word.split()) | {
    "coloured", "colour", "colours", "color", "colors", "coloured-by-mode"}
# Words that name a hue or a shade; any of them in a text must be in COLOUR_WORDS.
HUES = frozenset({
    "red", "orange", "yellow", "green", "blue", "purple", "violet", "pink", "brown",
    "black", "white", "grey", "gray", "cyan", "magenta", "teal", "bright", "dark",
    "golden", "gold", "navy", "crimson", "lilac"})


def hex_of(name: str) -> str:
    return NAMED[name].hex

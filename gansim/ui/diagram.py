"""The model-overview diagram as a Graphviz DOT string (a pure function of numbers).

noise z → G → fakes; real data and fakes → D → scores → the two losses; dashed arrows
carry each loss's gradient back into the network it trains. Live numbers sit on the
nodes; the parts in use during a slow-motion sub-step are drawn in orange.
"""
from __future__ import annotations

import math

from . import palette

# id → label ({fields} filled from the numbers; "–" when unknown). Boxes are networks.
NODES = {
    "z": ("noise z", "ellipse"),
    "G": ("G   lr {lr_g}", "box"),
    "fake": ("fakes", "ellipse"),
    "real": ("real data", "ellipse"),
    "D": ("D   lr {lr_d}", "box"),
    "scores": ("scores", "ellipse"),
    "loss_d": ("D loss {d_loss}", "box"),
    "loss_g": ("G loss {g_loss}", "box"),
}
# "a>b" → edge label; gradients (dashed, drawn back against the flow) carry their norm.
EDGES = {
    "z>G": "", "G>fake": "", "real>D": "", "fake>D": "", "D>scores": "",
    "scores>loss_d": "", "scores>loss_g": "",
    "loss_d>D": "∇ {d_grad}", "loss_g>G": "∇ {g_grad}",
}
GRADIENTS = {"loss_d>D", "loss_g>G"}
ON, ON_FILL, OFF = palette.hex_of("lit"), "#fdd0a2", "#777777"
FIELDS = ("lr_g", "lr_d", "d_loss", "g_loss", "d_grad", "g_grad")


def dot(numbers: dict[str, float | None], active: frozenset[str] | set[str] = frozenset()) -> str:
    """The diagram with `numbers` on it, `active` nodes and edges ("a>b") highlighted."""
    unknown = set(active) - set(NODES) - set(EDGES)
    if unknown:
        raise ValueError(f"diagram highlight: unknown parts {sorted(unknown)}; "
                         f"use nodes {sorted(NODES)} or edges {sorted(EDGES)}")
    text = {k: _fmt(numbers.get(k)) for k in FIELDS}
    # Top to bottom: the side column is narrow and tall, and the data flows downwards.
    lines = ["digraph {", '  rankdir=TB; bgcolor="transparent"; nodesep=0.2; ranksep=0.1;',
             '  node [fontname="Helvetica", fontsize=10.5, style="filled,rounded", '
             'fillcolor="#ffffff", margin="0.06,0.01", height=0.22];',
             '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.6];',
             "  { rank=same; fake; real; }", "  { rank=same; loss_d; loss_g; }"]
    for name, (label, shape) in NODES.items():
        on = name in active
        colour, fill, width = (ON, ON_FILL, 2.5) if on else (OFF, "#ffffff", 1.0)
        lines.append(f'  {name} [label="{_esc(label.format(**text))}", shape={shape}, '
                     f'color="{colour}", fillcolor="{fill}", penwidth={width}];')
    for edge, label in EDGES.items():
        a, b = edge.split(">")
        on = edge in active
        colour, width = (ON, 2.5) if on else (OFF, 1.0)
        style = ', style=dashed, constraint=false' if edge in GRADIENTS else ""
        lines.append(f'  {a} -> {b} [color="{colour}", fontcolor="{colour}", penwidth={width}'
                     f'{style}, label="{_esc(label.format(**text))}"];')
    lines.append("}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3g}"


def _esc(label: str) -> str:
    return label.replace('"', '\\"').replace("\n", "\\n")

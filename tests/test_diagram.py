"""gansim.ui.diagram: the DOT string carries the numbers and lights the right parts."""
from __future__ import annotations

import re

import pytest

from gansim.ui import diagram, slowmo


def _lit(dot: str) -> set[str]:
    """Nodes and edges ("a>b") drawn in the highlight colour."""
    lit = set()
    for line in dot.splitlines():
        if f'color="{diagram.ON}"' not in line:
            continue
        edge = re.match(r"\s*(\w+) -> (\w+) ", line)
        lit.add(f"{edge[1]}>{edge[2]}" if edge else line.split()[0])
    return lit


@pytest.mark.parametrize("step", slowmo.substeps(), ids=lambda s: s.id)
def test_each_substep_lights_exactly_its_parts(step):
    assert _lit(diagram.dot({}, step.highlight)) == set(step.highlight)


def test_sub_steps_light_the_flow_in_order():
    lit = {s.id: s.highlight for s in slowmo.substeps()}
    assert "real" in lit["d_sample"] and "G" not in lit["d_sample"]
    assert {"z", "G", "fake"} <= lit["d_generate"] and "D" not in lit["d_generate"]
    assert {"D", "scores"} <= lit["d_score"]
    assert "loss_d>D" in lit["d_loss"] and "loss_g>G" not in lit["d_loss"]
    assert "loss_g>G" in lit["g_loss"] and "loss_d>D" not in lit["g_loss"]
    assert "real" not in lit["g_generate"] | lit["g_score"] | lit["g_loss"]


def test_numbers_appear_on_the_diagram():
    dot = diagram.dot({"lr_g": 1e-3, "lr_d": 4e-4, "d_loss": 1.3862, "g_loss": 0.6931,
                       "d_grad": 0.953, "g_grad": float("nan")})
    assert "lr 0.001" in dot and "lr 0.0004" in dot
    assert "D loss 1.39" in dot and "G loss 0.693" in dot
    assert "∇ 0.953" in dot and "∇ –" in dot  # a missing number shows as a dash
    assert not _lit(dot)


def test_unknown_highlight_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown parts.*'gen'"):
        diagram.dot({}, {"gen"})

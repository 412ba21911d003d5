"""What the texts say is what the page shows: every colour word in the lessons, the
guide and the arena's legend names a colour of the palette table, the charts draw with
that table, and every chart a lesson points at exists under that name."""
from __future__ import annotations

import ast
import io
import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from gansim.ui import charts, live, palette

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("*.toml"))
WORD = re.compile(r"[a-z]+")
# "<name> chart" / "<name> plot" (one word before, determiners aside): what a lesson
# sends the class to look at.
CHART_REF = re.compile(r"\b([a-z][a-z\-]*) (chart|plot)\b")
NOT_A_NAME = {"the", "a", "each", "this", "that", "its", "one", "every"}


def _strings(value) -> list[str]:
    """Every string in a parsed TOML document (prose, questions, feedback, claims)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _guide() -> str:
    """page.py's GUIDE constant, read without running the app."""
    tree = ast.parse((ROOT / "page.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "GUIDE" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("page.py has no GUIDE")


def _legends() -> list[str]:
    snaps = [SimpleNamespace(critic=c, centers=np.zeros((8, 2))) for c in (False, True)]
    return [live._legend(s) for s in snaps]


def _texts() -> list[tuple[str, str]]:
    """(where, all its text): each lesson file, slow motion's sentences, the guide, the legends."""
    out = [(f.name, "\n".join(_strings(tomllib.loads(f.read_text())))) for f in LESSONS]
    slowmo = ROOT / "gansim" / "ui" / "slowmo.toml"  # slow motion's narration
    out.append((slowmo.name, "\n".join(_strings(tomllib.loads(slowmo.read_text())))))
    out.append(("page.py GUIDE", _guide()))
    out.append(("arena legends", "\n".join(_legends())))
    return out


def test_palette_words_cover_every_hue_on_the_page():
    # A hue the page draws must be one a text may name (and the test can see).
    assert palette.COLOUR_WORDS - {"coloured", "colour", "colours", "color", "colors",
                                   "coloured-by-mode"} <= palette.HUES


@pytest.mark.parametrize("where,text", _texts(), ids=lambda v: v if len(v) < 40 else "")
def test_colour_words_name_colours_the_page_draws(where, text):
    words = set(WORD.findall(text.lower()))
    wrong = sorted((words & palette.HUES) - palette.COLOUR_WORDS)
    assert not wrong, (f"{where} names {wrong}, which the page does not draw; the page's "
                       f"colours: {[f'{c.word} = {c.what}' for c in palette.NAMED.values()]}")


def test_lesson_1_describes_the_arena_in_its_colours():
    text = " ".join(_strings(tomllib.loads(LESSONS[0].read_text()))).lower()
    for word in ("black", "green", "purple", "coloured"):
        assert word in text


def chart_names() -> set[str]:
    """The names the page gives its story charts (their titles up to a colon)."""
    titles = [t for t, *_ in charts.SERIES.values()] + [charts.CRITIC_SCORES[0], charts.MASS_TITLE]
    return {t.split(":")[0].lower() for t in titles}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_charts_a_lesson_points_at_exist(lesson):
    text = " ".join(_strings(tomllib.loads(lesson.read_text()))).lower()
    refs = {f"{m.group(1)} {m.group(2)}" for m in CHART_REF.finditer(text)
            if m.group(1) not in NOT_A_NAME}
    names = chart_names()
    assert not refs - names, f"{lesson.name} points at {refs - names}; the page has {names}"
    assert " bars" not in text, "the mass-per-mode chart draws bands, not bars"


def _pixel(url: str) -> tuple:
    png = Image.open(io.BytesIO(__import__("base64").b64decode(url.split(",", 1)[1])))
    return png.convert("RGB").getpixel((0, 0))


def _rgb(hex_colour: str) -> tuple:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize("value,name", [(1.0, "d_real"), (0.0, "d_fake"), (0.5, "undecided")])
def test_the_landscape_draws_the_palette_colours(value, name):
    assert _pixel(charts.landscape_url(np.full((4, 4), value), critic=False)) == \
        _rgb(palette.hex_of(name))


def test_the_arena_marks_use_the_palette():
    spec = charts.arena_spec((-3.0, 3.0, -3.0, 3.0))
    colours = {layer["data"]["name"]: layer["mark"].get("color") for layer in spec["layer"]}
    assert colours["real"] == palette.hex_of("real")
    assert colours["circles"] == palette.hex_of("circles")
    assert colours["arrows"] == palette.hex_of("arrows")

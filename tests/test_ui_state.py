"""The page's state has one home (issue 20): gansim/ui/keys.py declares every session key,
and only gansim/ui/transport.py moves `playing`, `train_left` and `cmp_playing`."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gansim.ui import keys

ROOT = Path(__file__).resolve().parents[1]
UI_FILES = sorted((ROOT / "gansim" / "ui").glob("*.py")) + [ROOT / "app.py",
                                                               ROOT / "page.py"]
MOVED_BY_TRANSPORT = {"PLAYING", "TRAIN_LEFT", "CMP_PLAYING"}


def touches_session_state(source: str) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "session_state"
               for n in ast.walk(ast.parse(source)))


def writes_of_transport_keys(source: str) -> list[int]:
    """Lines that write playing/train_left/cmp_playing: `PLAYING.set(...)` (or pop,
    setdefault), `keys.write(PLAYING.name, ...)`, the key's bare name as a string or as a
    keyword (`update(playing=False)`)."""
    names = {getattr(keys, k).name for k in MOVED_BY_TRANSPORT}
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and node.value in names:
            found.append(node.lineno)
        elif isinstance(node, ast.keyword) and node.arg in names:  # update(playing=False)
            found.append(node.value.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = getattr(owner, "attr", getattr(owner, "id", ""))
            if node.func.attr in ("set", "pop", "setdefault") and owner_name in MOVED_BY_TRANSPORT:
                found.append(node.lineno)
            if node.func.attr in ("write", "drop") and node.args and any(
                    getattr(a, "id", getattr(a, "attr", None)) in MOVED_BY_TRANSPORT
                    for a in ast.walk(node.args[0])):
                found.append(node.lineno)
    return found


def test_only_the_keys_module_touches_session_state():
    offenders = [p.name for p in UI_FILES
                 if p.name != "keys.py" and touches_session_state(p.read_text())]
    assert offenders == []
    assert touches_session_state("import streamlit as st\nst.session_state.x = 1\n")


def test_playing_and_train_left_are_written_only_by_transport():
    offenders = {p.name: lines for p in UI_FILES if p.name not in ("transport.py", "keys.py")
                 for lines in [writes_of_transport_keys(p.read_text())] if lines}
    assert offenders == {}
    assert writes_of_transport_keys((ROOT / "gansim/ui/transport.py").read_text()), \
        "transport.py moves them: the check must see its writes"
    for bad in ("PLAYING.set(False)\n", "keys.TRAIN_LEFT.set(0)\n", "x['playing'] = 1\n",
                "keys.write(keys.CMP_PLAYING.name, True)\n",
                "st.session_state.update(train_left=0)\n"):
        assert writes_of_transport_keys(bad), bad
    assert not writes_of_transport_keys("PLAYING.get()\nSPEED.set('Normal')\n")


def test_the_declared_keys_are_distinct_and_explained():
    declared = keys.declared()
    names = [k.name if isinstance(k, keys.Key) else k.pattern for k in declared]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert all(k.meaning and k.kind in (keys.STATE, keys.WIDGET, keys.BUTTON) for k in declared)
    # Streamlit refuses a value set on a button or a file upload: they must have no default.
    assert all(k.default is keys.UNSET for k in keys.BUTTONS.values())
    assert keys.UPLOAD.default is keys.UNSET


def _declared_pattern() -> re.Pattern:
    parts = []
    for k in keys.declared():
        if isinstance(k, keys.Key):
            parts.append(re.escape(k.name))
        else:
            parts.append(".+".join(re.escape(p) for p in k.pattern.split("{}")))
    return re.compile("|".join(parts))


@pytest.fixture(scope="module")
def page_keys() -> set[str]:
    """Every session key the page holds after visiting each view and playing a little."""
    at = AppTest.from_file(str(ROOT / "page.py"), default_timeout=120).run()
    seen = set(at.session_state.keys())
    at.button(key="play_pause").click().run()
    at.button(key="play_pause").click().run()
    seen |= set(at.session_state.keys())
    for view in ("Compare", "Sweep", "Single run"):
        at.radio(key="view").set_value(view).run()
        assert not at.exception, at.exception
        seen |= set(at.session_state.keys())
    return seen


def test_every_key_the_page_holds_is_declared(page_keys):
    pattern = _declared_pattern()
    assert {"playing", "cfg_lr_d", "pane0_lr_d", "pane1_extra", "view"} <= page_keys
    assert sorted(k for k in page_keys if not pattern.fullmatch(k)) == []
    assert not pattern.fullmatch("an_undeclared_key")


def test_the_one_pause_stops_the_run_and_the_panes_from_every_caller():
    at = AppTest.from_file(str(ROOT / "page.py"), default_timeout=120).run()
    at.button(key="play_pause").click().run()
    assert at.session_state["playing"]
    at.radio(key="view").set_value("Compare").run()  # a view switch pauses
    assert not at.session_state["playing"] and not at.session_state["train_left"]
    at.button(key="cmp_play").click().run()
    assert at.session_state["cmp_playing"]
    at.radio(key="view").set_value("Single run").run()
    assert not at.session_state["cmp_playing"]
    at.button(key="play_pause").click().run()
    at.button_group(key="arena_mode").set_value("Scrub back").run()  # a paused arena mode
    assert not at.exception and not at.session_state["playing"]

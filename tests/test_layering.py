"""The engine runs without a UI: nothing under gansim/ (outside ui/) imports one."""
import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "gansim"
UI_MODULES = {"streamlit", "altair"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_engine_imports_no_ui():
    files = [p for p in ENGINE.rglob("*.py") if "ui" not in p.relative_to(ENGINE).parts]
    assert len(files) >= 8
    offenders = {str(p.name): imported_roots(p) & UI_MODULES for p in files}
    assert not any(offenders.values()), offenders


def test_the_check_catches_an_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import streamlit as st\nfrom altair import Chart\n")
    assert imported_roots(bad) & UI_MODULES == UI_MODULES

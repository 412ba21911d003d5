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


# --- the UI never imports the CLI (issue 20): shared pieces live below both ------------

def imports_cli(path: Path) -> bool:
    """Whether a module under gansim/ui imports gansim.cli, absolutely or relatively."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            if any(a.name == "gansim.cli" or a.name.startswith("gansim.cli.") for a in node.names):
                return True
        elif isinstance(node, ast.ImportFrom):
            # Relative imports resolved from gansim/ui/<file>: `..` is gansim, `.` gansim.ui.
            package = ["gansim", "ui"][:max(0, 3 - node.level)] if node.level else []
            target = ".".join(package + ([node.module] if node.module else []))
            full = {target} | {f"{target}.{a.name}" for a in node.names}
            if any(t == "gansim.cli" or t.startswith("gansim.cli.") for t in full):
                return True
    return False


def test_ui_imports_no_cli(tmp_path):
    ui = sorted((ENGINE / "ui").rglob("*.py"))
    assert len(ui) >= 10
    assert [p.name for p in ui if imports_cli(p)] == []
    for text in ("from ..cli import parse_grid\n", "from .. import cli\n",
                 "import gansim.cli\n", "from gansim.cli import UsageError\n"):
        bad = tmp_path / "bad.py"
        bad.write_text(text)
        assert imports_cli(bad), text
    (tmp_path / "good.py").write_text("from ..grid import parse_grid\nfrom . import clip\n")
    assert not imports_cli(tmp_path / "good.py")

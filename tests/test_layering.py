"""Imports point one way: the engine runs without a UI (nothing under gansim/ outside ui/
imports one), and every gansim module imports only from layers below its own, counting
imports inside functions and under TYPE_CHECKING (no cycle, not even a late one)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gansim"
UI_MODULES = {"streamlit", "altair"}
# Bottom to top: a module may import only from the layers before its own. "gansim" is
# the package itself (`from gansim import Config`), "ui" every module under gansim/ui/.
LAYERS = [
    {"checks"},
    {"config", "data", "history", "metrics", "seeding", "stack", "schedule", "serve"},
    {"game_config"},
    {"losses", "models", "diagnosis", "drawing", "optim", "grid", "settings_doc", "cost"},
    {"nets", "spectral", "stacking", "dirac", "spectrum", "lessons", "tracker"},
    {"penalties", "draws"},
    {"step"},
    {"aot"},
    {"compile", "snapshot"},
    {"trace", "timeline", "views"},
    {"recovery", "logwindow", "checkpoints"},
    {"trainer"},
    {"ahead", "compare", "sweep", "lesson_check"},
    {"sweep_ray"},
    {"cli", "gansim"},
    {"__main__", "ui"},
]


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[0] == "ui":
        return "ui"
    return "gansim" if parts == ("__init__",) else parts[0]


def gansim_imports(path: Path, package: Path = PACKAGE) -> set[str]:
    """The gansim modules `path` imports, anywhere in it, as module_name names them."""
    here = path.relative_to(package).parent.parts  # () or ("ui",)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names if a.name.split(".")[0] == "gansim"]
            found |= {n[1] if len(n) > 1 else "gansim" for n in names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not node.module or node.module.split(".")[0] != "gansim":
                    continue
                parts = node.module.split(".")[1:]
            else:
                base = list(here)[: len(here) - (node.level - 1)]
                parts = base + (node.module.split(".") if node.module else [])
            if parts and parts[0] == "ui":
                found.add("ui")
            elif parts:
                found.add(parts[0])
            else:  # `from . import x` / `from gansim import x`: x may be a module
                found |= {a.name if (package / f"{a.name}.py").exists() else "gansim"
                          for a in node.names}
    return found


def layer_of(name: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if name in layer)


def test_engine_imports_no_ui():
    files = [p for p in PACKAGE.rglob("*.py") if "ui" not in p.relative_to(PACKAGE).parts]
    assert len(files) >= 8
    offenders = {str(p.name): imported_roots(p) & UI_MODULES for p in files}
    assert not any(offenders.values()), offenders


def test_the_check_catches_an_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import streamlit as st\nfrom altair import Chart\n")
    assert imported_roots(bad) & UI_MODULES == UI_MODULES


def test_every_module_has_a_layer():
    names = {module_name(p) for p in PACKAGE.rglob("*.py")}
    placed = set().union(*LAYERS)
    assert names <= placed, f"add these modules to LAYERS: {sorted(names - placed)}"
    assert placed <= names, f"LAYERS names modules that do not exist: {sorted(placed - names)}"


def test_imports_point_down_only():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        me = module_name(path)
        for other in gansim_imports(path) - {me}:
            if layer_of(other) >= layer_of(me):
                upward.append(f"{path.relative_to(PACKAGE)} imports {other}")
    assert not upward, upward


def test_the_layer_check_sees_an_import_inside_a_function(tmp_path):
    package = tmp_path / "gansim"
    package.mkdir()
    late = package / "step.py"
    late.write_text("def late():\n    from .trainer import Trainer\n    from . import ahead\n")
    (package / "ahead.py").write_text("")
    assert gansim_imports(late, package) == {"trainer", "ahead"}
    assert layer_of("trainer") >= layer_of("step")  # so test_imports_point_down_only fails


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
    ui = sorted((PACKAGE / "ui").rglob("*.py"))
    assert len(ui) >= 10
    assert [p.name for p in ui if imports_cli(p)] == []
    for text in ("from ..cli import parse_grid\n", "from .. import cli\n",
                 "import gansim.cli\n", "from gansim.cli import UsageError\n"):
        bad = tmp_path / "bad.py"
        bad.write_text(text)
        assert imports_cli(bad), text
    (tmp_path / "good.py").write_text("from ..grid import parse_grid\nfrom . import clip\n")
    assert not imports_cli(tmp_path / "good.py")

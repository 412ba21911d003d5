"""docs/settings.md is generated from config.FIELDS and must match the code."""
from pathlib import Path

from gansim import cli, settings_doc
from gansim.config import FIELDS

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_committed_settings_page_matches_the_code():
    committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert committed == settings_doc.markdown(), (
        f"docs/settings.md is out of date with gansim/config.py; regenerate it: "
        f"{settings_doc.FIX_COMMAND}")


def test_every_setting_has_exactly_one_row():
    rows = [line for line in settings_doc.markdown().splitlines() if line.startswith("| `")]
    names = [line.split("`")[1] for line in rows]
    assert sorted(names) == sorted(FIELDS)


def test_a_row_reads_range_default_and_restart_from_the_code():
    assert settings_doc.row("gp").startswith("| `gp` | number in [0, 1000] | `0.0` | live | ")
    assert settings_doc.row("lr_d").startswith("| `lr_d` | number in (0, 1] | `0.0001` | live |")
    assert settings_doc.row("data").split(" | ")[3] == "restart"
    assert settings_doc.row("custom_centers").split(" | ")[2] == "`[]`"


def test_the_cli_prints_the_page(capsys):
    assert cli.main(["settings", "--markdown"]) == cli.EXIT_OK
    assert capsys.readouterr().out == settings_doc.markdown()


def test_the_cli_lists_one_line_per_setting(capsys):
    assert cli.main(["settings"]) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(FIELDS)

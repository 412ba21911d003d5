"""The page's downloads (the sidebar's exports, the sweep's runs): none reruns the page.

A click that reran the page raced its own request for the file: each full run gives every
download button a new file id and drops the old ids when it ends, so a request that came
after the rerun's end asked for an id already gone and got no file, only an error.
"""
from __future__ import annotations

import pytest

from apphelpers import FIXTURE_LESSONS, app
from gansim import sweep
from gansim.config import Config


@pytest.fixture(autouse=True)
def fixture_lessons(monkeypatch):
    monkeypatch.setenv("GANSIM_LESSONS", str(FIXTURE_LESSONS))


def test_every_export_downloads_without_a_rerun():
    at = app()
    buttons = {e.proto.label: e.proto for e in at.get("download_button")}
    assert {"Config (TOML)", "Config (JSON)", "Samples (CSV)", "Animation (GIF)"} <= set(buttons)
    rerunning = [label for label, proto in buttons.items() if not proto.ignore_rerun]
    assert not rerunning, f"these downloads rerun the page: {rerunning}"


def test_the_sweeps_table_downloads_without_a_rerun(tmp_path):
    # A real sweep's table, as the Sweep view's worker leaves it (sweep_panel._results).
    grid = {"loss": ["nonsaturating", "wasserstein"]}
    table = sweep.run_sweep(Config(g_hidden=32, d_hidden=32, batch=64), grid, [0], 20,
                            tmp_path / "s", jobs=1)
    at = app()
    at.session_state["sweep_result"] = table
    at.radio(key="view").set_value("Sweep").run()
    buttons = {e.proto.label: e.proto for e in at.get("download_button")}
    assert "Runs (CSV)" in buttons, f"the sweep's table shows no download: {list(buttons)}"
    assert buttons["Runs (CSV)"].ignore_rerun

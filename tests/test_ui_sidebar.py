"""The sidebar's exports through the page: a download never reruns the page.

A click that reran the page raced its own request for the file: each full run gives every
download button a new file id and drops the old ids when it ends, so a request that came
after the rerun's end asked for an id already gone and got no file, only an error.
"""
from __future__ import annotations

import pytest

from apphelpers import FIXTURE_LESSONS, app


@pytest.fixture(autouse=True)
def fixture_lessons(monkeypatch):
    monkeypatch.setenv("GANSIM_LESSONS", str(FIXTURE_LESSONS))


def test_every_export_downloads_without_a_rerun():
    at = app()
    buttons = {e.proto.label: e.proto for e in at.get("download_button")}
    assert {"Config (TOML)", "Config (JSON)", "Samples (CSV)", "Animation (GIF)"} <= set(buttons)
    rerunning = [label for label, proto in buttons.items() if not proto.ignore_rerun]
    assert not rerunning, f"these downloads rerun the page: {rerunning}"

"""keys.resend_unseen through the page: a widget whose value the page set goes out with
that value again while the browser lacks it, and never while the browser has it.

Streamlit drops a run's unsent messages when the next run starts: a click on Play while
the first run still sends the sidebar (drawn last) left the browser without the Seed box,
and the next run drew it as known, without its value (seed 0 beside a run of seed 2).
Here the browser's request leaves the widget out, as that browser's did.
"""
from __future__ import annotations

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates

from apphelpers import FIXTURE_LESSONS, app, run_of


@pytest.fixture(autouse=True)
def fixture_lessons(monkeypatch):
    monkeypatch.setenv("GANSIM_LESSONS", str(FIXTURE_LESSONS))


def run_lacking(at, key: str):
    """One run whose request reports every widget the test browser has but `key`'s."""
    lacking = WidgetStates()
    gone = at.number_input(key=key).id
    lacking.widgets.extend(w for w in at._tree.get_widget_states().widgets if w.id != gone)
    return at._run(lacking)


def test_a_widget_the_browser_lacks_is_sent_with_the_runs_value():
    at = app(seed="2")
    assert run_of(at).cfg.seed == 2
    first = at.number_input(key="cfg_seed").proto
    assert first.set_value and first.value == 2  # the first run sends the link's seed

    run_lacking(at, "cfg_seed")
    again = at.number_input(key="cfg_seed").proto
    assert not at.exception
    assert again.set_value and again.value == 2, "the browser would show the default, 0"
    assert run_of(at).cfg.seed == 2


def test_a_widget_the_browser_has_is_not_sent_again():
    at = app(seed="2")
    at.run()
    # Sending a value the browser has would overwrite what a student is typing in it.
    assert not at.number_input(key="cfg_seed").proto.set_value
    assert not at.select_slider(key="cfg_lr_d").proto.set_value
    assert at.number_input(key="cfg_seed").value == 2

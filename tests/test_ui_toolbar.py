"""The toolbar (gansim/ui/toolbar.py): its step counter, and a Pause that stills it from
the bar's own fragment before the page follows. AppTest runs the whole page on every
click; the fragment's path is checked in a real Chromium against `streamlit run app.py`
(skipped without /usr/bin/chromium unless GANSIM_REQUIRE_BROWSER=1)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from apphelpers import app, run_of, step_shown
from browserhelpers import open_page, pause_timing, step_of, streamlit_server, wait_for
from gansim.ui import toolbar


def test_the_bar_counts_the_runs_steps_and_a_paused_page_trains_at_zero_steps_a_second():
    at = app()
    for _ in range(3):
        at.button(key="step_both").click().run()
    assert step_shown(at) == run_of(at).step == 3
    assert at.metric[0].label == "Step"  # the bar's counter, the page's first
    rates = [m.value for m in at.metric if m.label.startswith("Steps/s")]
    assert rates == ["0"], "paused, the page said it trains"


def test_the_bar_shows_no_step_where_the_arena_shows_another_moment():
    at = app()
    at.button(key="step_both").click().run()
    at.segmented_control(key="arena_mode").set_value("Scrub back").run()
    assert not at.exception
    assert "Step" not in [m.label for m in at.metric], \
        "a past frame under a counter of the run's newest step"


def _log(path: Path) -> list[tuple[float, str]]:
    return [(float(t), e) for t, e in (line.split() for line in path.read_text().splitlines())]


@pytest.mark.browser
def test_pause_stills_the_counter_from_the_bar_and_the_page_follows(browser, tmp_path,
                                                                    monkeypatch):
    """The server's log of the press: the worker stops, the bar is drawn ("bar"), and
    PAINT_FIRST_S later the whole page runs too (its live frame is drawn: "drawn")."""
    log = tmp_path / "clicks.log"
    monkeypatch.setenv("GANSIM_CLICK_LOG", str(log))  # the server inherits it
    with streamlit_server() as (url, proc):
        context, page = open_page(browser, url + "/?g_hidden=32&d_hidden=32")
        try:
            page.get_by_role("button", name="Play").click()
            wait_for(lambda: step_of(page) >= 30, 30, "the step counter to pass 30")
            time.sleep(1.5)
            took, pressed = pause_timing(page)
            page.get_by_role("button", name="Play").wait_for(timeout=10_000)
            events = [(t - pressed, e) for t, e in _log(log) if t >= pressed - 0.01]
            names = [e for _, e in events]
            assert names[:2] == ["pause", "stilled"], events
            bar = next(t for t, e in events if e == "bar")
            page_drawn = [t for t, e in events if e == "drawn" and t > bar]
            # The bar's draw, then the page's: a bar alone would leave the page's timers
            # and panels as they were before the click.
            assert page_drawn and page_drawn[0] - bar >= toolbar.PAINT_FIRST_S, events
            # On a loaded CI machine a press waits for the server (goal 0.2 s, measured
            # by bench/bench_app.py).
            assert took <= 2.0, f"the step counter stilled {took:.2f} s after Pause"
            still = step_of(page)
            page.wait_for_timeout(1500)
            assert step_of(page) == still, "training went on after Pause"
            # A click right after Pause lands while the page follows the bar: it must
            # still hit its button (the bar may not change its height meanwhile).
            page.get_by_role("button", name="Play").click()
            wait_for(lambda: step_of(page) > still, 30, "training to go on")
            page.get_by_role("button", name="Pause").click()
            page.get_by_role("button", name="Reset").click()
            wait_for(lambda: step_of(page) == 0, 10, "Reset, right after Pause, to take")
            assert proc.poll() is None
        finally:
            context.close()

"""A real Chromium on the arena's Game view at 1366×768 (a classroom projector): the field,
the path, both eigenvalue plots and the verdict are on screen, and a click on the plane
moves the start point (the link carries it). Screenshot: artifacts/game-1366x768.png.
"""
from __future__ import annotations

import re
import time

import pytest

from browserhelpers import ARTIFACTS, wait_for

pytestmark = pytest.mark.browser
CHART = '[data-testid="stVegaLiteChart"]'
PLANE = f"{CHART} g.targets_marks"  # the plane's clickable layer (named "targets")
VERDICT = re.compile(r"^(Spirals out|Converges|Circles)")


def no_errors(page, proc) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, "a traceback on the page"
    assert proc.poll() is None, "the server died"


def visible_in_window(page, locator) -> bool:
    """Inside the browser's window sideways (nothing cut off at the right edge)."""
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    return (box is not None and box["width"] > 0 and box["x"] >= 0
            and box["x"] + box["width"] <= width)


def settle(page, quiet: float = 2.0) -> None:
    """Wait until the script has not run for `quiet` seconds (the header's Stop button
    shows while it runs, a moment after it starts): a screenshot then shows no stale page."""
    stop = page.get_by_role("button", name="Stop")
    deadline = time.monotonic() + 90
    calm_since = time.monotonic()
    while time.monotonic() - calm_since < quiet:
        assert time.monotonic() < deadline, "the page kept running for 90 s"
        if stop.count():
            calm_since = time.monotonic()
        time.sleep(0.2)


def switch_fits(page) -> None:
    """The arena switch's five views sit between the view radio and "Compare from here"
    on one row (a sixth, or a wider label, pushes "Live" under the radio)."""
    buttons = [b.bounding_box() for b in page.locator('[data-testid="stButtonGroup"] button').all()
               if b.inner_text()]
    radio = page.get_by_text("Sweep", exact=True).first.bounding_box()
    compare = page.get_by_role("button", name="Compare from here").bounding_box()
    assert len(buttons) == 5 and len({round(b["y"]) for b in buttons}) == 1
    assert radio["x"] + radio["width"] <= buttons[0]["x"], "Live is under the view radio"
    assert buttons[-1]["x"] + buttons[-1]["width"] <= compare["x"], "Game is under Compare"
    assert round(radio["y"]) < buttons[0]["y"] + buttons[0]["height"], "the radio wrapped"


def test_the_game_view_at_projector_size(server, browser):
    url, proc = server
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        page.goto(url + "/?arena=game", wait_until="commit")
        page.locator(PLANE).first.wait_for(timeout=60_000)
        charts = page.locator(CHART)
        wait_for(lambda: charts.count() >= 3, 30, "the plane and both eigenvalue plots")
        for i in range(3):
            charts.nth(i).scroll_into_view_if_needed()
            assert visible_in_window(page, charts.nth(i)), f"chart {i} is cut off at the side"
        guide = page.get_by_text("How to read the game").bounding_box()
        for i in range(3):  # the arena column holds them: none runs under the side column
            box = charts.nth(i).bounding_box()
            assert box["x"] + box["width"] <= guide["x"], f"chart {i} runs into the guide"
        assert page.locator(f"{CHART} g.arrows_marks").count() == 1
        assert page.locator(f"{CHART} g.path_marks").count() == 1
        assert page.locator(f"{CHART} g.eigenvalues_marks").count() == 2
        verdict = page.get_by_text(VERDICT).first
        verdict.scroll_into_view_if_needed()
        assert verdict.is_visible() and visible_in_window(page, verdict)
        assert verdict.inner_text().startswith("Spirals out")
        no_errors(page, proc)
        switch_fits(page)

        plane = page.locator(PLANE).first
        plane.scroll_into_view_if_needed()
        box = plane.bounding_box()
        page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.75 * box["height"])
        href = lambda: page.evaluate("location.href")  # noqa: E731 (page.url misses replaceState)
        wait_for(lambda: "dirac_theta0=-" in href() and "dirac_psi0=-" in href(), 90,
                 "the click to move the start into the lower left")
        page.locator(PLANE).first.wait_for(timeout=30_000)
        settle(page)
        assert page.get_by_text(VERDICT).first.inner_text().startswith("Spirals out")
        no_errors(page, proc)
        page.get_by_text(VERDICT).first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "game-1366x768.png"))
        page.locator(CHART).nth(2).scroll_into_view_if_needed()  # the eigenvalue plots
        settle(page)
        page.screenshot(path=str(ARTIFACTS / "game-1366x768-eigenvalues.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "game-failure.png"), full_page=True)
        raise
    finally:
        context.close()

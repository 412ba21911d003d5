"""A real Chromium: draw three modes with the mouse, train on them, look at G's view,
scrub back to an earlier frame and branch from it, with no error on the page.

Screenshots of each view at 1366×768 and 1920×1080 go to artifacts/ (gitignored).
Uses the harness of tests/test_browser.py (skips without Chromium unless
GANSIM_REQUIRE_BROWSER=1).
"""
from __future__ import annotations

import re
import time

import pytest

from browserhelpers import ARTIFACTS, METRIC, step_of, wait_for

pytestmark = pytest.mark.browser
SIZES = {"1366": (1366, 768), "1920": (1920, 1080)}
CHART = '[data-testid="stVegaLiteChart"]'
PLANE = f"{CHART} g.plane_marks path"  # the drawing plane's rect (a named layer)
BOXES = ((0.15, 0.2, 0.3, 0.35), (0.6, 0.15, 0.8, 0.3), (0.45, 0.6, 0.6, 0.8))  # plane fractions


def shoot(page, name: str) -> None:
    """Full-page screenshots at both projector sizes, then back to the working size."""
    for label, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        time.sleep(1.0)  # let the layout settle
        page.screenshot(path=str(ARTIFACTS / f"browser-{name}-{label}.png"))
    page.set_viewport_size({"width": 1366, "height": 768})


def arena_mode(page, label: str) -> None:
    page.locator('[data-testid="stButtonGroup"] button', has_text=label).click()


def drag_box(page, fx0: float, fy0: float, fx1: float, fy1: float) -> None:
    """Drag from one point of the plane to another (fractions of its width and height)."""
    box = None
    deadline = time.monotonic() + 20
    while box is None and time.monotonic() < deadline:  # a handled box remounts the chart
        page.locator(PLANE).first.wait_for(timeout=20_000)
        page.locator(PLANE).first.scroll_into_view_if_needed()
        box = page.locator(PLANE).first.bounding_box()
    assert box is not None, "the drawing plane did not appear"
    x = lambda f: box["x"] + f * box["width"]  # noqa: E731
    y = lambda f: box["y"] + f * box["height"]  # noqa: E731
    page.mouse.move(x(fx0), y(fy0))
    page.mouse.down()
    page.mouse.move(x((fx0 + fx1) / 2), y((fy0 + fy1) / 2), steps=5)
    page.mouse.move(x(fx1), y(fy1), steps=5)
    page.mouse.up()


def modes_drawn(page) -> int:
    text = page.get_by_text(re.compile(r"\d+ modes? drawn")).first.inner_text()
    return int(text.split()[0])


def no_errors(page, proc) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, "a traceback on the page"
    assert proc.poll() is None, "the server died"


def modes_covered(page) -> str:
    """The counters row's "Modes covered" value, e.g. "2/3"."""
    return page.locator('[data-testid="stMetric"]', has_text="Modes covered") \
        .locator(METRIC).inner_text()


def test_draw_three_modes_train_and_scrub_back(server, browser):
    url, proc = server
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        page.goto(url + "/?z_dim=2&g_hidden=32&d_hidden=32", wait_until="commit")  # quick steps
        page.wait_for_selector(METRIC, timeout=60_000)

        arena_mode(page, "Draw data")
        page.get_by_role("button", name="Clear all").click()
        wait_for(lambda: modes_drawn(page) == 0, 20, "the drawing to clear")
        for i, box in enumerate(BOXES, start=1):
            drag_box(page, *box)
            wait_for(lambda: modes_drawn(page) == i, 20, f"mode {i} to be drawn")
        no_errors(page, proc)
        shoot(page, "draw")

        page.get_by_role("button", name="Train on these modes").click()
        page.get_by_role("button", name="Pause").wait_for(timeout=20_000)
        page.wait_for_selector(METRIC, timeout=30_000)
        # Past step 250: the first saved frame after the start.
        wait_for(lambda: step_of(page) >= 300, 240, "training past step 300")
        assert "data=custom" in page.url and "custom_centers" in page.url
        # The toolbar's step is the run's own; the counters row comes with the live view's
        # snapshot, up to a page tick behind it.
        wait_for(lambda: modes_covered(page).endswith("/3"), 30,
                 "the modes covered to read k/3: the run trains on three modes")
        shoot(page, "trained")

        arena_mode(page, "Generator view")
        page.get_by_text("blue lines vary z₁").wait_for(timeout=20_000)
        page.get_by_role("button", name="Pause").click()
        page.get_by_role("button", name="Play").wait_for(timeout=10_000)
        time.sleep(1.0)
        no_errors(page, proc)
        shoot(page, "generator")

        live = step_of(page)
        arena_mode(page, "Scrub back")
        # The slider's thumb is a visually hidden <input type="range">: keys move it.
        slider = page.get_by_role("slider", name="Saved frame (G step)")
        slider.wait_for(state="attached", timeout=20_000)
        slider.focus()
        page.keyboard.press("Home")  # the oldest frame: step 0
        page.get_by_text(re.compile(r"Replaying step 0 of")).wait_for(timeout=20_000)
        no_errors(page, proc)
        shoot(page, "scrub")

        page.get_by_role("button", name="Branch from here").click()
        page.get_by_text("Rewound to step 0").wait_for(timeout=20_000)
        assert step_of(page) == 0 and live >= 300
        no_errors(page, proc)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "browser-draw-failure.png"), full_page=True)
        raise
    finally:
        context.close()

"""Remake docs/app.md's screenshots of the generator, draw and scrub views.

    python docs/shoot_views.py        # needs /usr/bin/chromium; writes docs/img/*.png

Trains lesson 1's setting (two blobs, 2-D noise) for 1,500 steps in a real browser,
then captures each view at 1366 px wide, cropped to the arena column and shrunk to a
small palette PNG.
"""
from __future__ import annotations

import io
import re
import sys
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_browser import CHROMIUM, CHROMIUM_ARGS, METRIC, step_of, streamlit_server  # noqa: E402
from test_browser_draw import arena_mode, drag_box, modes_drawn  # noqa: E402

LESSON_1 = "/?data=two_gaussians&z_dim=2&lr_d=0.001&lr_g=0.001&batch=128"
OUT = ROOT / "docs" / "img"


def shoot(page, name: str, bottom) -> None:
    """The arena column from the view switch down to the locator `bottom`, as a small PNG."""
    top = page.locator('[data-testid="stButtonGroup"]').first.bounding_box()
    end = bottom.first.bounding_box()
    clip = {"x": top["x"] - 8, "y": top["y"] - 8, "width": 540,
            "height": end["y"] + end["height"] - top["y"] + 16}
    png = page.screenshot(clip=clip, full_page=True)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.save(OUT / f"{name}.png", optimize=True)
    if (OUT / f"{name}.png").stat().st_size > 150_000:  # the docs' budget per image
        img.quantize(colors=192).save(OUT / f"{name}.png", optimize=True)
    print(name, (OUT / f"{name}.png").stat().st_size // 1024, "KB")


def main() -> None:
    with streamlit_server() as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 1500})
        page.goto(url + LESSON_1)
        page.wait_for_selector(METRIC, timeout=60_000)
        page.get_by_role("button", name="Play").click()
        deadline = time.monotonic() + 400
        while step_of(page) < 1500 and time.monotonic() < deadline:
            time.sleep(1)
        arena_mode(page, "Generator view")
        page.get_by_role("button", name="Pause").click()
        page.get_by_role("button", name="Play").wait_for()
        time.sleep(2)
        shoot(page, "generator-view", page.get_by_text("Shading: where G puts"))

        arena_mode(page, "Scrub back")
        slider = page.get_by_role("slider", name="Saved frame (G step)")
        slider.wait_for(state="attached")
        slider.focus()
        page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")  # the second saved frame
        page.get_by_text(re.compile(r"Replaying step 250 of")).wait_for()
        time.sleep(2)
        shoot(page, "scrub-view", page.get_by_role("button", name="Branch from here"))

        arena_mode(page, "Draw data")
        page.get_by_role("button", name="Clear all").click()
        while modes_drawn(page):
            time.sleep(0.3)
        time.sleep(1)
        for i, box in enumerate(((0.15, 0.2, 0.32, 0.37), (0.62, 0.12, 0.85, 0.35),
                                 (0.44, 0.62, 0.54, 0.72)), start=1):
            drag_box(page, *box)
            while modes_drawn(page) != i:
                time.sleep(0.3)
        page.mouse.move(0, 0)
        time.sleep(1)
        shoot(page, "draw-view", page.get_by_role("button", name="Clear all"))
        browser.close()


if __name__ == "__main__":
    main()

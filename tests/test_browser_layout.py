"""One screen for a class, in a real Chromium: at 1366×768 (a common projector) and
1920×1080 the buttons, counters, banner, arena and lesson panel are all inside the
window with nothing overlapping; at phone width nothing scrolls sideways. Screenshots
go to artifacts/layout-*.png for a person to look at.
"""
from __future__ import annotations

import time

import pytest

from browserhelpers import ARENA_JS, ARTIFACTS, COUNT_FRAMES, wait_loaded

pytestmark = pytest.mark.browser

# Boxes of what a class must see, by role; each value is [left, top, right, bottom].
BOXES = """
() => {
  const arena = ARENA_JS;
  const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
                     return [r.left, r.top, r.right, r.bottom]; };
  const main = document.querySelector('[data-testid="stMain"]');
  const button = name => [...main.querySelectorAll('button')]
      .find(b => b.innerText.trim().split('\\n').pop().trim() === name);
  const charts = main.querySelectorAll('[data-testid="stVegaLiteChart"] canvas');
  const cols = [...main.querySelectorAll('[data-testid="stColumn"]')];
  const side = cols.find(c => /How to read the arena|Step \\d+ of/.test(c.innerText));
  return {
    play: box(button('Play') || button('Pause')), reset: box(button('Reset')),
    step_both: box(button('Step both')),
    counters: box(main.querySelector('[data-testid="stMetric"]')),
    banner: box([...main.querySelectorAll('[data-testid="stAlert"]')].filter(a =>
        a.getBoundingClientRect().bottom <= arena.getBoundingClientRect().top).pop()),
    arena: box(arena), story: box(charts[0]),
    lesson: box(side && (side.querySelector('h2, h3, strong') || side)),
    lesson_column: box(side), next: box(button('Next ▶')),
  };
}
""".replace("ARENA_JS", ARENA_JS)
# Anything in the page wider than the window (what makes a phone scroll sideways).
OVERFLOW = """
() => {
  const out = [];
  for (const e of document.querySelectorAll('[data-testid="stMain"] *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > innerWidth + 1 || r.left < -1))
      out.push((e.getAttribute('data-testid') || e.tagName) + ' ' + Math.round(r.left)
               + '..' + Math.round(r.right));
  }
  const main = document.querySelector('[data-testid="stMain"]');
  return {wide: out.slice(0, 8), doc: document.documentElement.scrollWidth,
          main: main.scrollWidth - main.clientWidth, width: innerWidth};
}
"""
ON_SCREEN = ("play", "reset", "step_both", "counters", "banner", "arena", "lesson")


def _page(browser, url: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(COUNT_FRAMES)
    page = context.new_page()
    page.goto(url, wait_until="commit")
    wait_loaded(page)
    time.sleep(1.0)  # let the layout settle (fonts, the second chart)
    return context, page


def _inside(box, width: int, height: int) -> bool:
    left, top, right, bottom = box
    return left >= -1 and top >= -1 and right <= width + 1 and bottom <= height + 1


def _apart(a, b) -> bool:
    """Two boxes that do not overlap (touching is fine)."""
    return a[2] <= b[0] + 1 or b[2] <= a[0] + 1 or a[3] <= b[1] + 1 or b[3] <= a[1] + 1


def check_one_screen(page, width: int, height: int, what: str) -> dict:
    boxes = page.evaluate(BOXES)
    for name in ON_SCREEN:
        assert boxes[name] is not None, f"{what}: no {name} on the page"
        assert _inside(boxes[name], width, height), \
            f"{what}: {name} at {[round(v) for v in boxes[name]]} is outside the " \
            f"{width}×{height} window"
    assert _apart(boxes["arena"], boxes["lesson_column"]), f"{what}: arena overlaps the lesson"
    if boxes["story"]:
        assert _apart(boxes["story"], boxes["lesson_column"]), \
            f"{what}: the story charts run under the lesson column"
    overflow = page.evaluate(OVERFLOW)
    assert not overflow["wide"] and overflow["doc"] <= width, f"{what}: {overflow}"
    return boxes


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_default_page_fits_one_screen(server, browser, width, height):
    url, _ = server
    context, page = _page(browser, url, width, height)
    try:
        check_one_screen(page, width, height, f"default page {width}×{height}")
        page.screenshot(path=str(ARTIFACTS / f"layout-{width}x{height}.png"))
    finally:
        context.close()


@pytest.mark.parametrize("width", [1400, 1500])
def test_story_charts_stay_out_of_the_lesson_column(server, browser, width):
    url, _ = server
    context, page = _page(browser, url + "/?lesson=mode_collapse", width, 900)
    try:
        boxes = page.evaluate(BOXES)
        assert boxes["story"] and boxes["lesson_column"], boxes
        assert _apart(boxes["story"], boxes["lesson_column"]), boxes
        page.screenshot(path=str(ARTIFACTS / f"layout-{width}-story.png"), full_page=True)
    finally:
        context.close()


def test_a_failure_banner_with_its_cure_still_fits_at_1366x768(server, browser):
    """The tallest banner (a verdict, a cure line and the Apply cure button)."""
    url, _ = server
    context, page = _page(browser, url + "/?loss=minimax&lr_d=0.01&d_steps=5", 1366, 768)
    try:
        page.get_by_role("button", name="Play").click()
        page.get_by_role("button", name="Apply cure").wait_for(timeout=60_000)
        page.get_by_role("button", name="Pause").click()
        page.get_by_role("button", name="Play").wait_for(timeout=10_000)
        time.sleep(1.0)
        boxes = check_one_screen(page, 1366, 768, "cure banner 1366×768")
        cure = page.get_by_role("button", name="Apply cure").bounding_box()
        assert cure["y"] + cure["height"] <= boxes["arena"][1], "Apply cure is not above the arena"
        page.screenshot(path=str(ARTIFACTS / "layout-1366x768-cure.png"))
    finally:
        context.close()


def test_the_default_page_names_the_collapse_and_its_cure_sticks_on_one_screen(server, browser):
    """Issue 10's story at the projector's size: Play on the defaults → the banner names
    mode collapse with its cure → Apply cure → the link keeps the cure, and neither the
    banner nor the cure's notice pushes the arena below the fold."""
    url, _ = server
    context, page = _page(browser, url, 1366, 768)
    try:
        page.get_by_role("button", name="Play").click()
        page.get_by_text("Mode collapse").first.wait_for(timeout=90_000)
        page.get_by_role("button", name="Apply cure").wait_for(timeout=10_000)
        check_one_screen(page, 1366, 768, "collapse banner 1366×768")
        page.screenshot(path=str(ARTIFACTS / "story-1366-collapse.png"))
        page.get_by_role("button", name="Apply cure").click()
        deadline = time.time() + 20
        while "pack=2" not in page.evaluate("() => location.search") and time.time() < deadline:
            time.sleep(0.5)
        assert "pack=2" in page.evaluate("() => location.search"), "the link lost the cure"
        time.sleep(3)  # a few frames of the new run, with the cure's notice showing
        check_one_screen(page, 1366, 768, "after the cure 1366×768")
        page.screenshot(path=str(ARTIFACTS / "story-1366-cured.png"))
        assert page.get_by_role("button", name="Pause").is_visible(), "the cure stopped play"
        page.reload(wait_until="commit")  # a restarting cure survives a reload too
        wait_loaded(page)
        assert "pack=2" in page.evaluate("() => location.search"), "the reload lost the cure"
        page.locator('[data-testid="stSidebar"] summary').filter(has_text="Cures").click()
        page.locator('[data-testid="stSidebar"] [aria-label^="Packing (PacGAN)"]').wait_for()
        pack = page.evaluate("""() => { const e = document.querySelector(
            '[data-testid="stSidebar"] [aria-label^="Packing (PacGAN)"]');
            return e && (e.getAttribute('aria-valuenow') || e.value); }""")
        assert pack == "2", f"the reloaded sidebar shows pack {pack!r}, not the cure's 2"
    finally:
        context.close()


@pytest.mark.parametrize("lesson", ["meet_the_players", "mode_collapse"])
def test_a_lesson_fits_at_1366x768(server, browser, lesson):
    url, _ = server
    context, page = _page(browser, f"{url}/?lesson={lesson}", 1366, 768)
    try:
        boxes = check_one_screen(page, 1366, 768, f"lesson {lesson}")
        assert boxes["next"] and _inside(boxes["next"], 1366, 768), "Next ▶ is below the fold"
        page.screenshot(path=str(ARTIFACTS / f"layout-lesson-{lesson}.png"))
    finally:
        context.close()


def test_phone_width_does_not_scroll_sideways(server, browser):
    url, _ = server
    context, page = _page(browser, url, 390, 844)
    try:
        overflow = page.evaluate(OVERFLOW)
        assert not overflow["wide"], f"wider than the phone: {overflow['wide']}"
        assert overflow["doc"] <= 390 and overflow["main"] <= 0, overflow
        page.screenshot(path=str(ARTIFACTS / "layout-390-phone.png"), full_page=True)
    finally:
        context.close()

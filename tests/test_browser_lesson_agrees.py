"""A lesson's cure run, end to end in Chromium (issue 23): when the run stops, the counters,
the banner and the lesson panel say the same thing. The banner quotes the counters'
figures, and the panel judges the verdict the banner shows.

Lesson 6's unrolled run is the costliest lesson run, so this test is in the slow tier.
It does not assert that the cure works on this machine's seed; the lesson check
measures that over seeds. It asserts that the page never contradicts itself. The
screenshot is left in artifacts/ to be looked at."""
from __future__ import annotations

import re

import pytest

from browserhelpers import ARTIFACTS, METRIC, open_page, run_lesson_step
from gansim.diagnosis import EVALS, KINDS
from gansim.lessons import load_all

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON, STEP_INDEX = "unrolling", 1


def _counters(page) -> tuple[str, str]:
    values = page.locator(METRIC).all_inner_texts()  # step, steps/s, modes, high quality
    return values[2].strip(), values[3].strip()


def test_lesson_6s_cure_ends_with_counters_banner_and_lesson_in_agreement(server, browser):
    lesson = next(l for l in load_all() if l.id == LESSON)
    step = lesson.steps[STEP_INDEX]
    url, _ = server
    context, page = open_page(browser, f"{url}/?lesson={LESSON}&lesson_step={STEP_INDEX}")
    page.set_viewport_size({"width": 1366, "height": 768})
    try:
        run_lesson_step(page, step, 900)
        page.get_by_text("the banner ends on").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        modes, hq = _counters(page)
        banner = page.locator('[data-testid="stAlert"]').first.inner_text()
        panel = page.get_by_text("the banner ends on").first.inner_text()
        captions = page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
        page.screenshot(path=str(ARTIFACTS / "lesson6-cure-1366-panel.png"))
        page.evaluate("document.querySelectorAll('section, [data-testid=\"stMain\"]')"
                      ".forEach(e => e.scrollTo(0, 0))")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "lesson6-cure-1366.png"))  # counters, banner
    finally:
        context.close()
    shown = next(title for title in KINDS.values() if banner.startswith(title))
    assert f"“{shown}”" in panel, f"the panel judged another verdict than the banner's: {panel}"
    figures = re.search(r"modes covered (\d+)/8, high quality (\d+) %", banner)
    if figures:  # healthy, blurry and partial verdicts quote the counters
        assert (f"{figures[1]}/8", f"{figures[2]}%") == (modes, hq), \
            f"banner {figures[0]!r} beside counters {modes}, {hq}"
    counter = {"modes": float(modes.split("/")[0]), "hq": float(hq.rstrip("%")) / 100}
    for claim in step.expect:
        if claim.metric in counter:  # a claim in the counters' measure: same figure, same word
            assert claim.window == EVALS, f"{claim.describe()}: not the counters' window"
            if claim.metric == "hq" and round(100 * claim.value) == round(100 * counter["hq"]):
                continue  # the counter rounds to whole per cent: at the threshold it cannot tell
            mark = next(c for c in captions if claim.describe() in c)[0]
            want = "✅" if claim.holds({claim.metric: [counter[claim.metric]]})[0] else "⚠"
            assert mark == want, f"{claim.describe()}: panel {mark}, counters {modes}, {hq}"

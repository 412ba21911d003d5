"""Page layout for a class: buttons, counters, banner, arena and lesson on one screen.

A projector at 1366×768 leaves ~650 px under the browser's own bars, and Streamlit's
defaults (a 6rem top margin, a 2.75rem title, 2.25rem counters) spend a third of it
before the arena starts. The charts are fixed-size canvases (so the browser can update
them in place, see charts.py); here CSS lets each canvas shrink to its column and the
arena to the height that is left, keeping its square shape, so no width (a phone
included) makes the page scroll sideways and no chart runs under the lesson column.
"""
from __future__ import annotations

import streamlit as st

# Height the arena leaves for what sits above it (header, toolbar, counters, banner)
# on the single-run page; measured in the browser tests at 1366×768 and 1920×1080.
ABOVE_ARENA_PX = 410

CSS = f"""
<style>
/* Less empty space above the page: the header bar is ~2.5rem. */
.block-container {{ padding-top: 3.6rem; padding-bottom: 2rem; }}
h1 {{ font-size: 1.6rem !important; padding: 0 0 0.25rem 0 !important; }}
[data-testid="stMetricValue"] {{ font-size: 1.5rem; line-height: 1.2; }}
[data-testid="stMetric"] {{ padding: 0; }}
/* The toolbar's step counter (toolbar.py): label and value on one line, so the bar keeps
   its buttons' height. */
.st-key-step_now [data-testid="stMetric"] > div {{
  display: flex; flex-direction: row; align-items: baseline; gap: 0.5rem; }}
.st-key-step_now [data-testid="stMetricLabel"] {{ margin: 0; }}
/* The diagnosis banner: a compact box, so a verdict with its cure costs few lines. */
[data-testid="stAlert"] > div {{ padding: 0.5rem 0.75rem; }}
[data-testid="stAlert"] p {{ font-size: 0.92rem; line-height: 1.35; }}
/* Fixed-size chart canvases shrink to their column (never wider than the screen), and
   keep their aspect ratio because both sizes are "auto" within the limits. */
[data-testid="stVegaLiteChart"] canvas {{
  max-width: 100% !important; width: auto !important; height: auto !important; }}
[data-testid="stVegaLiteChart"], [data-testid="stVegaLiteChart"] > div,
[data-testid="stVegaLiteChart"] .vega-embed {{ max-width: 100%; }}
/* The arena also fits the height left under the toolbar, counters and banner. */
.st-key-arena_box canvas {{
  max-height: max(280px, calc(100vh - {ABOVE_ARENA_PX}px)) !important; }}
/* Five arena views do not fit one row on a phone: the switch wraps instead of scrolling
   sideways and hiding a view. */
.st-key-arena_mode [role="radiogroup"] {{ flex-wrap: wrap; overflow: visible; }}
</style>
"""


def apply() -> None:
    """Inject the page's CSS (once per run; Streamlit dedupes identical elements)."""
    st.html(CSS)

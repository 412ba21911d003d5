"""The film's marks drawn in pixels (gansim/ui/arena_pixels.js), in a real Chromium and
against its own canvas: a dot or a line covers the area a canvas would give it, piled
dots deepen in colour, and the landscape's fade lands where a canvas's globalAlpha draw
does. The module's own functions run in a blank page; nothing else of the film."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

UI = Path(__file__).resolve().parents[1] / "gansim/ui"

# newCanvas (arena_paint.js) and the pixel module, as a function body: `run(name, args)`
# calls one of them on a fresh white frame of `n` px and answers its darkness per pixel
# (0 white .. 1 black, one channel: the marks here are black).
HARNESS = """([src, n, marks]) => {
  const body = src + `
    return (n, marks) => {
      const f = pixelFrame(n);
      f.u32.fill(0xffffffff);
      for (const [name, args] of marks) {
        if (name === 'dot') dotInto(f, ...args);
        else lineInto(f, ...args);
      }
      return Array.from(f.d.filter((_, i) => i % 4 === 0), (v) => 1 - v / 255);
    };`;
  return new Function(body)()(n, marks);
}"""
# The same marks drawn by the canvas itself (arc fills, butt-capped strokes).
CANVAS = """([n, marks]) => {
  const c = document.createElement('canvas'); c.width = c.height = n;
  const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, n, n);
  for (const [name, args] of marks) {
    if (name === 'dot') {
      const [x, y, r, , a] = args;
      g.globalAlpha = a; g.fillStyle = '#000';
      g.beginPath(); g.arc(x, y, r, 0, 2 * Math.PI); g.fill();
    } else {
      const [ax, ay, bx, by, w, , a] = args;
      g.globalAlpha = a; g.strokeStyle = '#000'; g.lineWidth = w;
      g.beginPath(); g.moveTo(ax, ay); g.lineTo(bx, by); g.stroke();
    }
  }
  const d = g.getImageData(0, 0, n, n).data;
  return Array.from(d.filter((_, i) => i % 4 === 0), (v) => 1 - v / 255);
}"""
FADE = """([src, k]) => {
  const body = src + `
    return (k) => {
      const a = new Uint32Array([0xff000000, 0xff204060]), b = new Uint32Array([0xffffffff, 0xff6040c0]);
      const out = new Uint32Array(2);
      fadeInto(out, a, b, k);
      return Array.from(new Uint8Array(out.buffer));
    };`;
  return new Function(body)()(k);
}"""
BLACK = [0, 0, 0]


@pytest.fixture(scope="module")
def src():
    return "\n".join((UI / name).read_text(encoding="utf-8")
                     for name in ("arena_paint.js", "arena_pixels.js"))


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


def _both(page, src, n, marks):
    return page.evaluate(HARNESS, [src, n, marks]), page.evaluate(CANVAS, [n, marks])


@pytest.mark.parametrize("x, y, r", [(10.0, 10.0, 2.26), (10.3, 9.71, 1.78), (12.5, 11.2, 4.52)])
def test_a_dot_covers_its_circle_as_the_canvas_does(page, src, x, y, r):
    ours, canvas = _both(page, src, 24, [["dot", [x, y, r, BLACK, 1.0]]])
    # The area, π r², within 6 % (edge pixels are covered by their overlap, not sampled);
    # Chromium's canvas gives the smallest dots up to ~8 % less.
    assert sum(ours) == pytest.approx(math.pi * r * r, rel=0.06)
    assert sum(ours) == pytest.approx(sum(canvas), rel=0.12)
    # Pixel by pixel, the same antialiased edge within a quarter of a pixel's coverage.
    assert max(abs(a - b) for a, b in zip(ours, canvas)) <= 0.25


def test_piled_dots_deepen_in_colour(page, src):
    """Each dot is composited on its own (source over), as Vega and the canvas draw
    marks: two dots of opacity 0.5 on one place are 0.75 dark at their centre, not 0.5."""
    n, centre = 16, 8 * 16 + 8
    one = page.evaluate(HARNESS, [src, n, [["dot", [8.5, 8.5, 3.0, BLACK, 0.5]]]])
    two = page.evaluate(HARNESS, [src, n, [["dot", [8.5, 8.5, 3.0, BLACK, 0.5]]] * 2])
    assert one[centre] == pytest.approx(0.5, abs=0.01)
    assert two[centre] == pytest.approx(0.75, abs=0.01)


@pytest.mark.parametrize("line", [(3.0, 10.2, 27.0, 10.2), (9.6, 2.0, 14.1, 29.0),
                                  (2.5, 3.5, 27.5, 26.0), (27.0, 20.0, 4.0, 6.5)])
def test_a_line_covers_its_band_as_the_canvas_does(page, src, line):
    ax, ay, bx, by = line
    marks = [["line", [ax, ay, bx, by, 1.0, BLACK, 0.6]]]
    ours, canvas = _both(page, src, 32, marks)
    length = math.hypot(bx - ax, by - ay)
    assert sum(ours) == pytest.approx(0.6 * length * 1.0, rel=0.1)
    # Chromium's canvas draws a 1 px line on a slant ~25 % lighter than its area (exact
    # when level): the arrows are as dark as their band, a shade darker than before.
    assert sum(canvas) * 0.95 <= sum(ours) <= sum(canvas) * 1.4
    assert max(ours) <= 0.6 + 1e-9  # one stroke: never darker than its own opacity


def test_the_landscape_fades_as_a_global_alpha_draw(page, src):
    """Opaque pixels (RGBA bytes): k = 0 is the old picture, 1 the new, ½ halfway."""
    old, new = [0, 0, 0, 255, 0x60, 0x40, 0x20, 255], [255, 255, 255, 255, 0xc0, 0x40, 0x60, 255]
    assert page.evaluate(FADE, [src, 0.0]) == old
    assert page.evaluate(FADE, [src, 1.0]) == new
    half = page.evaluate(FADE, [src, 0.5])
    expect = [(a + b) / 2 for a, b in zip(old, new)]
    assert all(abs(h - e) <= 1 for h, e in zip(half, expect)), (half, expect)

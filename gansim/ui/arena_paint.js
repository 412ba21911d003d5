// The arena's painter: draws one frame of the film (arena_canvas.js eases the points and
// says where they are): D's landscape cross-faded, rings, manifold, dots, arrows, axes
// and legend; the marks themselves are in arena_marks.js. What changes only with a
// payload or the canvas's size is drawn once and copied each frame.
// (Measured and dropped: painting in a Worker on an OffscreenCanvas. It moved the page's
// per-frame layer update off the main thread, but the browser used as much CPU in all and
// showed fewer distinct frames: docs/benchmarks.md.)

const MARGIN = { left: 40, right: 10, top: 8, bottom: 22 };  // axis labels
const LEGEND_ROW = 17, LEGEND_H = 2 * LEGEND_ROW + 4;  // two legend rows under the x axis
const VEGA_PX = 460;  // charts.ARENA_PX: dot sizes are the Vega arena's at this size

function newCanvas(width, height) {  // an image drawn once, copied often
  const c = document.createElement("canvas");
  c.width = width; c.height = height;
  return c;
}

function makeView(box, side) {
  const [x0, x1, y0, y1] = box;
  return {
    box, side,
    px: (x) => MARGIN.left + ((x - x0) / (x1 - x0)) * side,
    py: (y) => MARGIN.top + ((y1 - y) / (y1 - y0)) * side,
    ux: (px) => x0 + ((px - MARGIN.left) / side) * (x1 - x0),
    uy: (py) => y1 - ((py - MARGIN.top) / side) * (y1 - y0),
  };
}

function painter(canvas) {
  const s = { canvas, ctx: canvas.getContext("2d", { alpha: false }), p: null, size: null,
              landOld: null, landNew: null, layers: null, still: false, shown: null };
  return {
    // {width, height, side} in CSS px, dpr the device pixel ratio
    size(size) {
      s.size = size;
      canvas.width = Math.round(size.width * size.dpr);
      canvas.height = Math.round(size.height * size.dpr);
      s.shown = null;  // a new size clears the canvas: the backdrop goes on again
    },
    // fade: cross-fade from what shows, which is k of the way through the last fade;
    // still: the real dots stay where they are during this payload's easing
    payload(p, fade, k, still) {
      s.landOld = fade && s.landNew ? blendAt(s, k) : null;
      s.landNew = landscape(p);
      s.p = p;
      s.still = still;
    },
    // cur: the points where they are now; k: the landscape fade's share
    frame(cur, k) {
      if (s.p && s.size) paint(s, cur, k);
    },
  };
}

// Only the plot changes from frame to frame: the backdrop around it (white, ticks,
// legend, the axis lines' outer halves) goes on once per size and looks. A frame's plot
// is computed in pixels (arena_pixels.js) and put in one call: the landscape, which
// carries the rings and, while they stand still, the real dots (baked once per
// payload), and the moving marks over it; then the axis lines' inner halves. Painting
// the whole canvas each frame, and then each mark with the canvas's own calls, cost
// most of the browser's core (docs/benchmarks.md).
function paint(s, cur, k) {
  const { ctx, p } = s, { side, dpr } = s.size;
  const view = makeView(p.box, side);
  const L = layers(s);
  ctx.setTransform(1, 0, 0, 1, 0, 0);  // device pixels: the copies are one to one
  ctx.globalAlpha = 1;
  if (s.shown !== L.backdrop) {
    ctx.drawImage(L.backdrop, 0, 0);
    s.shown = L.backdrop;
  }
  plotInto(L.frame, s, L, cur, k, pixelView(view, dpr));
  ctx.putImageData(L.frame.img, Math.round(MARGIN.left * dpr), Math.round(MARGIN.top * dpr));
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.save();
  ctx.beginPath();
  ctx.rect(MARGIN.left, MARGIN.top, side, side);
  ctx.clip();  // the axis lines' inner halves, over the plot's pixels
  drawAxisLines(ctx, side);
  ctx.restore();
}

// The landscape as it shows k of the way through a fade: the next fade's starting image.
function blendAt(s, k) {
  if (!s.landOld || k >= 1) return s.landNew;
  const c = newCanvas(s.landNew.width, s.landNew.height), g = c.getContext("2d");
  g.drawImage(s.landOld, 0, 0);
  g.globalAlpha = k;
  g.drawImage(s.landNew, 0, 0);
  return c;
}

// --- layers drawn once, copied every frame -----------------------------------------

// What changes only with the canvas's size or a payload: D's landscape scaled and veiled
// (in pixels), the backdrop (white, ticks, legend), the dots' looks, the frame's pixels.
// Painting them afresh at the display's rate cost most of a core in a software-raster
// browser (bench/bench_app.py); a copy costs little.
function layers(s) {
  const { width, height, side, dpr } = s.size;
  const key = [width, height, side, dpr].join("|");
  let L = s.layers;
  if (!L || L.key !== key) {
    L = s.layers = { key, land: new Map(), backdrop: null, sig: "", payload: null,
                     frame: pixelFrame(Math.max(1, Math.round(side * dpr))) };
  }
  if (L.payload !== s.p) {  // a new payload (or size): its dots' looks, and the backdrop if its looks changed
    const sig = backdropSig(s.p);
    if (L.sig !== sig) L.backdrop = backdrop(s.p, makeView(s.p.box, side), width, height, dpr);
    L.sig = sig;
    L.dots = dotLooks(s.p, side);
    L.payload = s.p;
  }
  // The real dots go into the landscape's image while they stand still, and sit under
  // G's manifold as they always do (so not with the manifold on, which is drawn between).
  const realBaked = s.still && !s.p.manifold.lines;
  if (L.realBaked !== realBaked) L.land.clear();
  L.realBaked = realBaked;
  for (const small of L.land.keys()) {  // only the fade's two ends are kept
    if (small !== s.landOld && small !== s.landNew) L.land.delete(small);
  }
  return L;
}

function baked(s, L, small) {
  let c = L.land.get(small);
  if (!c) {
    const { side, dpr } = s.size, view = makeView(s.p.box, side);
    const looks = L.dots, still = L.realBaked ? floats(s.p.real) : [];
    c = bakeLandscape(s.p, small, side, dpr, (g) => {
      g.translate(-MARGIN.left, -MARGIN.top);  // the plot's corner: marks in canvas CSS px
      drawRings(g, s.p, view);
    }, (f) => dotsInto(f, still, pixelView(view, dpr), looks.r.real, () => looks.real));
    L.land.set(small, c);
  }
  return c;
}


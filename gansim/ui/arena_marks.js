// The arena's marks, for the painter (arena_paint.js; arena_canvas.py joins the files):
// D's landscape image, rings, manifold, dots, arrows, axes and legend, each drawn as the
// Vega arena in charts.py draws it.

// --- D's landscape: one small image per payload, cross-faded ------------------------

function landscape(p) {
  const [ny, nx] = p.d.shape, v = p.d.values, ramp = p.ramp;
  const c = newCanvas(nx, ny);
  const g = c.getContext("2d"), img = g.createImageData(nx, ny);
  const critic = p.d.scale === "critic";
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const value = v[iy * nx + ix];
      const t = critic ? 0.5 + 0.5 * value / p.d.bound : value;
      const rgb = rampAt(ramp, t);
      const o = ((ny - 1 - iy) * nx + ix) * 4;  // grid row 0 is the bottom (ymin)
      img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2];
      img.data[o + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
  return c;
}

function rampAt(ramp, t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5)) * (ramp.length - 1);
  const i = Math.min(ramp.length - 2, Math.floor(x)), f = x - i;
  return [0, 1, 2].map((c) => ramp[i][c] + (ramp[i + 1][c] - ramp[i][c]) * f);
}

// --- layers -----------------------------------------------------------------------

// The landscape at the plot's size in device pixels, as Uint32 pixels: scaled once
// (smoothed, grid values on the box's edges as pixel centres) with the Vega image's
// opacity on white applied, then `marks(g)` drawn on it and `dots(frame)` put in it
// (what stays put through the payload: rings, still real dots).
function bakeLandscape(p, small, side, dpr, marks, dots) {
  const n = Math.max(1, Math.round(side * dpr)), [ny, nx] = p.d.shape, [x0, x1, y0, y1] = p.box;
  const c = newCanvas(n, n);
  const g = c.getContext("2d", { alpha: false, willReadFrequently: true });
  g.setTransform(n / side, 0, 0, n / side, 0, 0);  // the plot's CSS pixels
  const cx = (x1 - x0) / (nx - 1), cy = (y1 - y0) / (ny - 1);
  const perX = side / (x1 - x0), perY = side / (y1 - y0);
  g.imageSmoothingEnabled = true;
  g.imageSmoothingQuality = "high";
  g.drawImage(small, -(cx / 2) * perX, -(cy / 2) * perY, (x1 - x0 + cx) * perX, (y1 - y0 + cy) * perY);
  g.globalAlpha = 1 - p.opacity.landscape;
  g.fillStyle = "#fff";
  g.fillRect(0, 0, side, side);
  g.globalAlpha = 1;
  marks(g);
  const f = pixelFrame(n, g.getImageData(0, 0, n, n));
  dots(f);
  return f.u32;
}

// A frame's plot: the cross-fade (the new picture over the old at the easing's share),
// then the moving marks in their order: manifold, real dots, arrows, G's dots on top.
function plotInto(f, s, L, cur, k, at) {
  const p = s.p, looks = L.dots;
  fadeInto(f.u32, s.landOld && k < 1 ? baked(s, L, s.landOld) : null, baked(s, L, s.landNew), k);
  manifoldInto(f, p, cur.manifold, at);
  if (!L.realBaked) dotsInto(f, cur.real, at, looks.r.real, () => looks.real);
  arrowsInto(f, p, cur, at);
  dotsInto(f, cur.fake, at, looks.r.fake, (i) => looks.fake[i]);
}

function drawRings(ctx, p, view) {
  const c = p.rings.centres, r = p.rings.radii;
  if (!r.length) return;
  const perUnit = view.side / (p.box[1] - p.box[0]);
  ctx.setLineDash([4, 3]);
  ctx.strokeStyle = p.colours.rings;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (let m = 0; m < r.length; m++) {
    const x = view.px(c[2 * m]), y = view.py(c[2 * m + 1]);
    ctx.moveTo(x + r[m] * perUnit, y);
    ctx.arc(x, y, r[m] * perUnit, 0, 2 * Math.PI);
  }
  ctx.stroke();
  ctx.setLineDash([]);
}

// Where a point in box units lands in a frame's pixels (device px from the plot's
// corner, where paint() puts the frame). A mark off the plot is cut at its edge.
function pixelView(view, dpr) {
  const ox = Math.round(MARGIN.left * dpr), oy = Math.round(MARGIN.top * dpr);
  return { x: (x) => view.px(x) * dpr - ox, y: (y) => view.py(y) * dpr - oy, dpr };
}

function manifoldInto(f, p, xy, at) {
  const lines = p.manifold.lines;
  if (!lines || !xy.length) return;
  const points = xy.length / 2 / lines, rgb = rgbOf(p.colours.manifold);
  for (let l = 0; l < lines; l++) {
    for (let i = 1; i < points; i++) {
      const o = 2 * (l * points + i);
      const ax = at.x(xy[o - 2]), ay = at.y(xy[o - 1]), bx = at.x(xy[o]), by = at.y(xy[o + 1]);
      if (Number.isFinite(ax + ay + bx + by)) lineInto(f, ax, ay, bx, by, 0.6 * at.dpr, rgb, p.opacity.manifold);
    }
  }
}

// Dot radii in CSS px, the Vega arena's at VEGA_PX; the arena's dots and the legend's.
const DOT_R = { real: 1.78, fake: 2.26 };

function dotScale(side) {  // dots grow a little with the arena
  return Math.sqrt(Math.max(1, side / VEGA_PX));
}

// The looks of a payload's dots at a size: the real dots' colour, each fake's (its
// mode's colour, faint beyond 3σ), and the radii in CSS px.
function dotLooks(p, side) {
  const scale = dotScale(side);
  const fake = p.fake_colour.map((c, i) => ({
    rgb: rgbOf(c < 0 ? p.colours.no_modes : p.palette[c % p.palette.length]),
    alpha: p.fake_far[i] ? p.opacity.far : p.opacity.hq }));
  return { real: { rgb: rgbOf(p.colours.real), alpha: p.opacity.real }, fake,
           r: { real: DOT_R.real * scale, fake: DOT_R.fake * scale } };
}

// Each dot its own translucent mark, as Vega draws them: where dots pile up the colour
// deepens (one path per colour would fill their union once and look pale).
function dotsInto(f, xy, at, r, lookOf) {
  for (let i = 0; i < xy.length / 2; i++) {
    const x = at.x(xy[2 * i]), y = at.y(xy[2 * i + 1]);
    if (!Number.isFinite(x + y)) continue;
    const look = lookOf(i);
    dotInto(f, x, y, r * at.dpr, look.rgb, look.alpha);
  }
}

function arrowsInto(f, p, cur, at) {
  const v = cur.arrows, xy = cur.fake;
  if (!v.length) return;
  const rgb = rgbOf(p.colours.arrows);
  for (let i = 0; i < v.length / 2; i++) {
    const x = xy[2 * i], y = xy[2 * i + 1];
    const a = at.x(x), b = at.y(y), c = at.x(x + v[2 * i]), d = at.y(y + v[2 * i + 1]);
    if (Number.isFinite(a + b + c + d)) lineInto(f, a, b, c, d, at.dpr, rgb, p.opacity.arrows);
  }
}

// --- axes, legend -------------------------------------------------------------------

function niceStep(span, count) {
  const raw = span / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

function ticks(lo, hi, count) {
  const st = niceStep(hi - lo, count), out = [];
  for (let t = Math.ceil(lo / st - 1e-9) * st; t <= hi + 1e-9; t += st) out.push(Math.abs(t) < st / 1e6 ? 0 : t);
  return out;
}

function label(t, step) {  // as Vega's: the step's decimals, a true minus sign
  const places = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return t.toFixed(places).replace("-", "\u2212");
}

function drawAxes(ctx, box, view) {
  const [x0, x1, y0, y1] = box, side = view.side, count = Math.max(10, side / 90);  // 0.5 steps on a 5-wide box, as the Vega arena
  const bottom = MARGIN.top + side;
  ctx.strokeStyle = "#888";
  ctx.fillStyle = "#333";
  ctx.lineWidth = 1;
  ctx.font = "10px sans-serif";
  ctx.beginPath();
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  const stepX = niceStep(x1 - x0, count), stepY = niceStep(y1 - y0, count);
  for (const t of ticks(x0, x1, count)) {
    const x = Math.round(view.px(t)) + 0.5;
    ctx.moveTo(x, bottom); ctx.lineTo(x, bottom + 5);
    ctx.fillText(label(t, stepX), x, bottom + 7);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of ticks(y0, y1, count)) {
    const y = Math.round(view.py(t)) + 0.5;
    ctx.moveTo(MARGIN.left - 5, y); ctx.lineTo(MARGIN.left, y);
    ctx.fillText(label(t, stepY), MARGIN.left - 7, y);
  }
  ctx.stroke();
}

// The two axis lines on the plot's edges: the backdrop has them, and each frame draws
// them again inside the plot's clip, where the landscape covered their inner halves.
function drawAxisLines(ctx, side) {
  const bottom = MARGIN.top + side;
  ctx.strokeStyle = "#888";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(MARGIN.left, MARGIN.top); ctx.lineTo(MARGIN.left, bottom); ctx.lineTo(MARGIN.left + side, bottom);
  ctx.stroke();
}

// What the backdrop depends on besides the size: a new payload with the same looks
// keeps it.
function backdropSig(p) {
  return JSON.stringify([p.box, p.legend, p.arrows.length > 0, p.palette, p.rings.radii.length,
                         p.d.scale, p.ramp, p.colours, p.opacity]);
}

// White, the ticks, their labels and the legend: an opaque canvas the arena's size
// (device px) that a frame copies first.
function backdrop(p, view, width, height, dpr) {
  const c = newCanvas(Math.round(width * dpr), Math.round(height * dpr));
  const g = c.getContext("2d", { alpha: false });
  g.fillStyle = "#fff";
  g.fillRect(0, 0, c.width, c.height);
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  drawAxes(g, p.box, view);
  drawAxisLines(g, view.side);  // their outer halves stay; each frame redraws the inner
  drawLegend(g, p, view, width, dotScale(view.side));
  return c;
}

// Two rows under the plot, filled left to right: real dot, fake dots, arrow, D's colour
// bar; an item that fits on neither row is left out.
function drawLegend(ctx, p, view, width, scale) {
  const rows = [MARGIN.top + view.side + MARGIN.bottom + 8];
  rows.push(rows[0] + LEGEND_ROW);
  let row = 0, x = MARGIN.left;
  const right = width - MARGIN.right;
  ctx.font = "11px sans-serif";
  ctx.textAlign = "left"; ctx.textBaseline = "middle";
  const place = (w) => {  // true when an item w wide fits here or at the next row's start
    if (x + w <= right) return true;
    if (row + 1 >= rows.length || MARGIN.left + w > right) return false;
    row += 1; x = MARGIN.left;
    return true;
  };
  const y = () => rows[row];
  const text = (words) => {
    ctx.fillStyle = "#333"; ctx.globalAlpha = 1; ctx.fillText(words, x, y());
    x += ctx.measureText(words).width + 14;
  };
  const dot = (colour, alpha, r) => {
    ctx.fillStyle = colour; ctx.globalAlpha = alpha;
    ctx.beginPath(); ctx.arc(x + r, y(), r, 0, 2 * Math.PI); ctx.fill(); x += 2 * r + 3;
  };
  const L = p.legend, width_ = (words) => ctx.measureText(words).width;
  const rReal = DOT_R.real * scale + 0.5, rFake = DOT_R.fake * scale;
  // The real swatch is opaque: the text (guide, lessons) calls the real data black, and
  // they read black in the plot where dots pile up; one dot at their 0.55 reads grey.
  if (place(width_(L.real) + 2 * rReal + 3)) { dot(p.colours.real, 1, rReal); text(L.real); }
  const modes = p.rings.radii.length ? Math.min(3, p.palette.length) : 0;
  if (place(width_(L.fake) + Math.max(1, modes) * (2 * rFake + 3))) {
    if (!modes) dot(p.colours.no_modes, p.opacity.hq, rFake);
    for (let m = 0; m < modes; m++) dot(p.palette[m], p.opacity.hq, rFake);
    text(L.fake);
  }
  if (p.arrows.length && place(width_(L.arrows) + 18)) {
    ctx.strokeStyle = p.colours.arrows; ctx.globalAlpha = p.opacity.arrows; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(x, y() + 4); ctx.lineTo(x + 14, y() - 4); ctx.stroke(); x += 18;
    text(L.arrows);
  }
  const [lo, hi] = L[p.d.scale], barW = 70;
  if (place(width_(lo) + barW + width_(hi) + 8)) {
    text(lo); x -= 10;
    const grad = ctx.createLinearGradient(x, 0, x + barW, 0);
    p.ramp.forEach((c, i) => grad.addColorStop(i / (p.ramp.length - 1), `rgb(${c[0]},${c[1]},${c[2]})`));
    ctx.fillStyle = grad; ctx.globalAlpha = p.opacity.landscape;
    ctx.fillRect(x, y() - 5, barW, 10); ctx.globalAlpha = 1;
    ctx.strokeStyle = "#bbb"; ctx.strokeRect(x + 0.5, y() - 4.5, barW - 1, 9);
    x += barW + 4;
    text(hi);
  }
  ctx.globalAlpha = 1;
}

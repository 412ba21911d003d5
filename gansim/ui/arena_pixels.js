// The plot's moving marks, drawn straight into a frame's pixels: the landscape's
// cross-fade, dots, arrows and G's manifold, composited "source over" one mark at a time
// as a canvas would (piled-up dots deepen in colour, crossing arrows darken), then put on
// the canvas in one call. In a software-raster browser (no GPU) hundreds of drawImage
// and stroke calls a frame cost several times this; a frame's plot is a few hundred
// thousand pixels and a mark a few dozen (docs/benchmarks.md, "Painting in pixels").

// A frame's pixels: an ImageData the plot's size in device px (new, or one read off a
// canvas), with a 32-bit view.
function pixelFrame(n, img = new ImageData(n, n)) {
  return { n, img, d: img.data, u32: new Uint32Array(img.data.buffer) };
}

// The RGB of a CSS colour, as the canvas reads it (cached: a palette has a few).
const RGB = new Map();

function rgbOf(colour) {
  let rgb = RGB.get(colour);
  if (!rgb) {
    const g = newCanvas(1, 1).getContext("2d", { willReadFrequently: true });
    g.fillStyle = colour;
    g.fillRect(0, 0, 1, 1);
    const px = g.getImageData(0, 0, 1, 1).data;
    rgb = [px[0], px[1], px[2]];
    RGB.set(colour, rgb);
  }
  return rgb;
}

// The opaque landscape k of the way from `a` to `b` (both Uint32 pixel arrays): two
// channels at a time in 8.8 fixed point, rounded as the canvas's globalAlpha draw.
function fadeInto(out, a, b, k) {
  if (!a || k >= 1) { out.set(b); return; }
  const w = Math.round(Math.max(0, k) * 256), v = 256 - w;
  for (let i = 0; i < out.length; i++) {
    const p = a[i], q = b[i];
    const rb = ((((p & 0xff00ff) * v + (q & 0xff00ff) * w + 0x800080) >>> 8) & 0xff00ff);
    const g = ((((p & 0xff00) * v + (q & 0xff00) * w + 0x8000) >>> 8) & 0xff00);
    out[i] = 0xff000000 | rb | g;
  }
}

// One pixel, `t` of the way to rgb (source over an opaque pixel with alpha t).
function over(d, o, rgb, t) {
  d[o] += (rgb[0] - d[o]) * t;
  d[o + 1] += (rgb[1] - d[o + 1]) * t;
  d[o + 2] += (rgb[2] - d[o + 2]) * t;
}

// A filled dot of radius r centred at (cx, cy), device px from the plot's corner; its
// edge pixel covered as far as the circle reaches into it (antialiased, sub-pixel).
function dotInto(f, cx, cy, r, rgb, alpha) {
  const { n, d } = f, reach = r + 0.5;
  const x0 = Math.max(0, Math.floor(cx - reach)), x1 = Math.min(n - 1, Math.floor(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach)), y1 = Math.min(n - 1, Math.floor(cy + reach));
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx, cover = reach - Math.sqrt(dx * dx + dy * dy);
      if (cover > 0) over(d, 4 * (y * n + x), rgb, alpha * Math.min(1, cover));
    }
  }
}

// A straight line `width` device px wide from (ax, ay) to (bx, by): walked along its
// longer axis, each pixel across it covered as far as the line's band reaches into it.
function lineInto(f, ax, ay, bx, by, width, rgb, alpha) {
  const { n, d } = f, dx = bx - ax, dy = by - ay, len = Math.hypot(dx, dy);
  if (!(len > 0)) return;
  const steep = Math.abs(dy) > Math.abs(dx);
  // Along u (the longer axis), across v; half the band's extent across, in v px.
  const [a0, a1, b0, db] = steep ? [ay, by, ax, dx] : [ax, bx, ay, dy];
  const du = steep ? dy : dx, slope = db / du, half = (width / 2) * len / Math.abs(du);
  const u0 = Math.max(0, Math.floor(Math.min(a0, a1))), u1 = Math.min(n - 1, Math.floor(Math.max(a0, a1)));
  for (let u = u0; u <= u1; u++) {
    const uc = u + 0.5, inU = Math.min(1, Math.min(uc, a0 + a1 - uc) - Math.min(a0, a1) + 0.5);
    if (inU <= 0) continue;  // the line's ends cover part of their end pixels
    const vc = b0 + (uc - a0) * slope;
    const v0 = Math.max(0, Math.floor(vc - half - 0.5)), v1 = Math.min(n - 1, Math.floor(vc + half + 0.5));
    for (let v = v0; v <= v1; v++) {
      const cover = Math.min(1, half + 0.5 - Math.abs(v + 0.5 - vc));
      if (cover <= 0) continue;
      const o = steep ? 4 * (u * n + v) : 4 * (v * n + u);
      over(d, o, rgb, alpha * cover * inU);
    }
  }
}

// The arena film (gansim/ui/arena_canvas.py): Python sends a payload per snapshot; this
// keeps its state on the mounted element, eases every point from where it is drawn to
// its new place over a little more than the time between payloads, cross-fades D's
// landscape, and asks for no frame once nothing moves (an idle arena costs no CPU).
// The painter (arena_paint.js) draws each frame.

const FIRST_MS = 250, MIN_MS = 60, MAX_MS = 1000;  // an easing's duration bounds
// An easing lasts this many gaps between payloads, so the next one arrives while the
// points still move and they carry their speed into it: motion with no stop at each
// payload (a stop-and-go at 2.5 payloads a second reads as pulsing), and a late payload
// only lets the points settle.
const LEAD = 1.5;
const REACH_PX = 8;  // hover or click within this of a point picks it
// A film whose route fails this many times in a row stops asking: the page was served
// without it (`streamlit run page.py`), and its reruns still bring a payload a second.
const FILM_TRIES = 3;
const STATS = (window.__gansimArena = window.__gansimArena ||
               { frames: 0, payloads: 0, fetched: 0 });

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".gansim-arena");
  const s = root.__arena || (root.__arena = create(root));
  s.trigger = setTriggerValue;
  s.data = data;
  arm(s);
  film(s, data && data.film);
  receive(s, data, performance.now());
  return () => disarm(s);
}

function create(root) {
  const canvas = root.querySelector("canvas");
  return {
    root, canvas, tip: root.querySelector(".tip"), draw: painter(canvas),
    p: null, sig: "", from: null, to: null, cur: null, v0: null, t0: 0, dur: FIRST_MS,
    arrived: 0, gap: null, raf: 0, armed: false,
    size: null, mouse: null, handlers: null, observer: null,
    data: null, filmUrl: null, filmEvery: 0, filmGen: 0, filmTimer: 0, filmFails: 0,
  };
}

// Listeners and the size observer; a cleanup (unmount, or before an update) removes
// them, and the next call puts them back, so either lifecycle leaves one set.
function arm(s) {
  if (s.armed) return;
  s.armed = true;
  s.observer = new ResizeObserver(() => resize(s));
  s.observer.observe(s.root);
  s.onWindow = () => resize(s);  // the window's height bounds a fitted arena
  window.addEventListener("resize", s.onWindow);
  s.handlers = {
    mousemove: (e) => { s.mouse = local(s, e); paintSoon(s); },
    mouseleave: () => { s.mouse = null; paintSoon(s); },
    click: (e) => click(s, local(s, e)),
  };
  for (const [name, fn] of Object.entries(s.handlers)) s.canvas.addEventListener(name, fn);
  resize(s);
}

function disarm(s) {
  if (!s.armed) return;
  s.armed = false;
  if (s.raf) cancelAnimationFrame(s.raf);
  s.raf = 0;
  s.observer.disconnect();
  window.removeEventListener("resize", s.onWindow);
  for (const [name, fn] of Object.entries(s.handlers)) s.canvas.removeEventListener(name, fn);
}

function local(s, e) {
  const r = s.canvas.getBoundingClientRect();
  return { x: e.clientX - r.left, y: e.clientY - r.top };
}

// --- the film's own route (gansim/ui/film.py) ------------------------------------------

// While the run plays, the page sends where to fetch newer payloads and how often; the
// page's reruns (once a second) keep bringing one too. No film: stop asking.
function film(s, f) {
  const url = (f && f.url) || null;
  s.filmEvery = f ? f.every_ms : 0;
  if (url === s.filmUrl) return;
  s.filmUrl = url;
  STATS.film = url;  // the load test reads each session's step from the server by it
  s.filmGen += 1;  // an answer to an older round is dropped
  s.filmFails = 0;
  clearTimeout(s.filmTimer);
  if (url) fetchPayload(s, s.filmGen);
}

async function fetchPayload(s, gen) {
  const started = performance.now();
  let ok = false;
  try {
    const answer = await fetch(s.filmUrl, { cache: "no-store", credentials: "same-origin" });
    if (answer.ok) {
      const p = await answer.json();
      ok = true;
      if (gen === s.filmGen) {
        STATS.fetched += 1;
        receive(s, { ...s.data, ...p }, performance.now());
      }
    }
  } catch (e) { /* the server is restarting or gone: counted as a failure below */ }
  // Stop when the film stopped, or the arena left the page (unmounted).
  if (gen !== s.filmGen || !s.root.isConnected) return;
  s.filmFails = ok ? 0 : s.filmFails + 1;
  if (s.filmFails >= FILM_TRIES) return;
  const wait = Math.max(0, s.filmEvery - (performance.now() - started));
  s.filmTimer = setTimeout(() => fetchPayload(s, gen), wait);
}

// While the film fetches, a payload no newer than the one drawn brings nothing: a rerun's
// payload may be older than the last fetched, and a fetch answered just before a Reset
// may arrive after it. A run's lines only grow (Run.line: a reset or a rewind starts one).
function stale(s, p) {
  if (!s.filmUrl || !s.p) return false;
  return p.line < s.p.line || (p.line === s.p.line && p.step <= s.p.step);
}

// --- payloads -----------------------------------------------------------------------

function receive(s, p, now) {
  if (!p || !p.box) return;
  if (stale(s, p)) { s.p = { ...s.p, ...layoutOf(p) }; resize(s); return; }
  const sig = JSON.stringify(p);
  if (sig === s.sig) { paintSoon(s); return; }  // a rerun that changed nothing
  const heightChanged = s.p && (s.p.height !== p.height || s.p.leave_px !== p.leave_px ||
                                s.p.max_side !== p.max_side);
  s.sig = sig;
  STATS.payloads += 1;
  const gap = s.arrived ? now - s.arrived : null;
  s.arrived = now;
  // The duration follows the arrival rhythm, so a point reaches its place as the
  // next payload comes; a long pause (Step after Pause) starts the estimate afresh.
  if (gap !== null && gap < MAX_MS) s.gap = s.gap === null ? gap : 0.7 * s.gap + 0.3 * gap;
  else s.gap = null;
  const sameBox = s.p && s.p.box.every((v, i) => v === p.box[i]);
  const to = arrays(p);
  const goesOn = sameBox && s.to;
  if (goesOn) step(s, now);  // where the points are now, not at the last painted frame
  s.v0 = goesOn ? velocity(s, now, to) : zeros(to);  // before the old easing is replaced
  s.from = goesOn ? startFrom(s.cur, to) : to;
  // The landscape fades on from where the last fade got (sameBox), else shows anew.
  s.draw.payload(p, Boolean(sameBox), s.p ? ease(progress(s, now)) : 1,
                 same(s.from.real, to.real));
  s.to = to;
  s.cur = cloneArrays(s.from);
  s.p = p;
  s.t0 = now;
  s.dur = Math.min(MAX_MS, Math.max(MIN_MS, s.gap === null ? FIRST_MS : LEAD * s.gap));
  if (heightChanged || !s.size) resize(s);
  paintSoon(s);
}

// What the page says about the canvas's size and clicks, not about the run.
function layoutOf(p) {
  const { height, leave_px, min_fit, max_side, clickable, film } = p;
  return { height, leave_px, min_fit, max_side, clickable, film };
}

function floats(list) {
  return Float64Array.from(list || [], (v) => (v === null ? NaN : v));
}

function arrays(p) {
  return { real: floats(p.real), fake: floats(p.fake), arrows: floats(p.arrows),
           manifold: floats(p.manifold.xy) };
}

function cloneArrays(a) {
  const out = {};
  for (const k in a) out[k] = Float64Array.from(a[k]);
  return out;
}

// Start each layer where it is drawn now; a layer whose length changed (toggled, or
// another batch size) appears at its new place at once. Fakes keep their index: the
// snapshot draws them from one fixed latent batch, so fake i is the same z each time.
function startFrom(drawn, to) {
  const out = {};
  for (const k in to) {
    const a = drawn[k];
    out[k] = a && a.length === to[k].length ? Float64Array.from(a, (v, i) =>
      (Number.isFinite(v) ? v : to[k][i])) : Float64Array.from(to[k]);
  }
  return out;
}

function same(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function zeros(to) {
  const out = {};
  for (const k in to) out[k] = new Float64Array(to[k].length);
  return out;
}

// Each coordinate's speed now (box units per ms) on the easing under way; a layer whose
// length changed, or a point not drawn, starts from rest.
function velocity(s, now, to) {
  const t = progress(s, now), out = {};
  // The derivatives of the cubic Hermite basis (ends: from with speed v0, to at rest).
  const dFrom = 6 * t * t - 6 * t, dV0 = (3 * t * t - 4 * t + 1) * s.dur;
  for (const k in to) {
    const a = s.from[k], b = s.to[k], v = s.v0 && s.v0[k], n = to[k].length;
    const o = out[k] = new Float64Array(n);
    if (!a || !b || !v || b.length !== n) continue;
    for (let i = 0; i < n; i++) {
      const w = (dFrom * (a[i] - b[i]) + dV0 * v[i]) / s.dur;
      o[i] = Number.isFinite(w) ? w : 0;
    }
  }
  return out;
}

function progress(s, now) {
  return Math.min(1, Math.max(0, (now - s.t0) / s.dur));
}

function ease(t) {  // smoothstep: starts and lands gently (the landscape's cross-fade)
  return t * t * (3 - 2 * t);
}

// A point moves on a cubic from where it was drawn, with the speed it had, to its new
// place, where it arrives at rest (a cubic Hermite curve).
function step(s, now) {
  const t = progress(s, now), t2 = t * t, t3 = t2 * t;
  const hFrom = 2 * t3 - 3 * t2 + 1, hV0 = (t3 - 2 * t2 + t) * s.dur, hTo = 3 * t2 - 2 * t3;
  for (const key in s.to) {
    const a = s.from[key], b = s.to[key], c = s.cur[key], v = s.v0[key];
    for (let i = 0; i < b.length; i++) c[i] = hFrom * a[i] + hV0 * v[i] + hTo * b[i];
  }
  return ease(t);
}

// --- size ---------------------------------------------------------------------------

function resize(s) {
  const width = Math.floor(s.root.clientWidth);
  if (!width || !s.p) return;
  const frame = MARGIN.top + MARGIN.bottom + LEGEND_H;
  let side = width - MARGIN.left - MARGIN.right;
  if (s.p.height) side = Math.min(side, s.p.height - frame);
  else if (s.p.leave_px !== null && s.p.leave_px !== undefined) {
    side = Math.min(side, Math.max(s.p.min_fit, window.innerHeight - s.p.leave_px) - frame);
  }
  if (s.p.max_side) side = Math.min(side, s.p.max_side);
  side = Math.max(40, side);
  const height = s.p.height || side + frame;
  const dpr = window.devicePixelRatio || 1;
  if (s.size && s.size.width === width && s.size.height === height && s.size.dpr === dpr) return;
  s.size = { width, height, side, dpr };
  s.draw.size(s.size);
  s.canvas.style.width = width + "px";
  s.canvas.style.height = height + "px";
  paintSoon(s);
}

// --- frames -------------------------------------------------------------------------

function paintSoon(s) {
  if (!s.raf && s.armed) s.raf = requestAnimationFrame(() => tick(s));
}

function tick(s) {
  s.raf = 0;
  const now = performance.now();
  if (!s.p || !s.size) return;
  frame(s, now);
  if (progress(s, now) < 1) paintSoon(s);  // nothing moves after: no more frames
}

function frame(s, now) {
  const k = step(s, now), view = makeView(s.p.box, s.size.side);
  s.draw.frame(s.cur, k);
  hover(s, view);
  STATS.frames += 1;
  STATS.step = s.p.step;
  STATS.fake0 = [s.cur.fake[0], s.cur.fake[1]];  // box units, as drawn this frame
  STATS.fake0px = [view.px(s.cur.fake[0]), view.py(s.cur.fake[1])];  // CSS px in the canvas
}

// --- hover and click ----------------------------------------------------------------

function nearest(s, view, at) {
  let best = null, bestD = REACH_PX * REACH_PX;
  for (const kind of ["fake", "real"]) {
    const xy = s.cur[kind];
    for (let i = 0; i < xy.length / 2; i++) {
      const dx = view.px(xy[2 * i]) - at.x, dy = view.py(xy[2 * i + 1]) - at.y, d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = { kind, index: i, x: xy[2 * i], y: xy[2 * i + 1] }; }
    }
    if (best) return best;  // fakes are drawn on top: they win a tie with reals
  }
  return best;
}

// D at a point, bilinear between the four grid values around it (what the picture shows).
function dAt(p, x, y) {
  const [ny, nx] = p.d.shape, [x0, x1, y0, y1] = p.box, v = p.d.values;
  const fx = Math.min(nx - 1, Math.max(0, ((x - x0) / (x1 - x0)) * (nx - 1)));
  const fy = Math.min(ny - 1, Math.max(0, ((y - y0) / (y1 - y0)) * (ny - 1)));
  const ix = Math.min(nx - 2, Math.floor(fx)), iy = Math.min(ny - 2, Math.floor(fy));
  const tx = fx - ix, ty = fy - iy, at = (j, i) => v[j * nx + i];
  return (at(iy, ix) * (1 - tx) + at(iy, ix + 1) * tx) * (1 - ty) +
    (at(iy + 1, ix) * (1 - tx) + at(iy + 1, ix + 1) * tx) * ty;
}

function hover(s, view) {
  const hit = s.mouse && nearest(s, view, s.mouse);
  s.tip.hidden = !hit;
  if (!hit) return;
  const p = s.p, fmt = (v) => v.toFixed(3);
  let who = "real sample #" + hit.index;
  if (hit.kind === "fake") {
    const c = p.fake_colour[hit.index];
    who = "G's sample #" + hit.index + (c >= 0 ? ", nearest mode " + c : "") +
      (p.fake_far[hit.index] ? " (beyond 3σ)" : "");
  }
  const d = p.d.scale === "critic" ? "critic score" : "D(x)";
  s.tip.textContent = `${who}\nx = ${fmt(hit.x)}, y = ${fmt(hit.y)}\n` +
    `${d} ≈ ${fmt(dAt(p, hit.x, hit.y))} (read off D's grid)`;
  const left = Math.min(view.px(hit.x) + 12, s.size.width - 260);
  s.tip.style.left = Math.max(0, left) + "px";
  s.tip.style.top = Math.max(0, view.py(hit.y) - 58) + "px";
}

function click(s, at) {
  if (!s.p || !s.p.clickable || !s.size) return;
  const view = makeView(s.p.box, s.size.side);
  const hit = nearest(s, view, at);
  s.trigger("click", { x: view.ux(at.x), y: view.uy(at.y),
                       kind: hit ? hit.kind : null, index: hit ? hit.index : null });
}

// The loss surface: the heatmap, what is drawn over it (runs, start, points, |wrec| = 1),
// and the ways to act on it: pointer (click, drag, pinch), touch and keyboard.
// Over 300 lines because drawing and hit-testing share the one plot geometry (PLOT, the
// axes' scales), which would otherwise have to be exported piece by piece.

import { datasetParams, getJson } from "./api.js";
import { fmt, niceTicks, tickLabel, viridis } from "./format.js";
import { store } from "./state.js";

const $ = (selector) => document.querySelector(selector);
export const PLOT = { left: 58, top: 10, right: 590, bottom: 518 }; // inside #surface
const TUTORIAL_RANGE = [-0.2, 8]; // log10(loss + 1), the tutorial's contour levels

let pathSource = () => []; // set by the runs module: what to draw over the surface

/** Where the overlay gets the paths it draws: [{ colour, wx, wrec, outcome, label }]. */
export function setPathSource(source) {
  pathSource = source;
}

export function toCanvas(wx, wrec) {
  const w = store.view.window;
  return [
    PLOT.left + ((wx - w.wx_min) / (w.wx_max - w.wx_min)) * (PLOT.right - PLOT.left),
    PLOT.bottom - ((wrec - w.wrec_min) / (w.wrec_max - w.wrec_min)) * (PLOT.bottom - PLOT.top),
  ];
}

export function toWeights(x, y) {
  const w = store.view.window;
  return {
    wx: w.wx_min + ((x - PLOT.left) / (PLOT.right - PLOT.left)) * (w.wx_max - w.wx_min),
    wrec: w.wrec_min + ((PLOT.bottom - y) / (PLOT.bottom - PLOT.top)) * (w.wrec_max - w.wrec_min),
  };
}

/** Round weights to what the window can resolve (so links and labels stay short). */
export function rounded({ wx, wrec }) {
  const w = store.view.window;
  const span = Math.max(w.wx_max - w.wx_min, w.wrec_max - w.wrec_min, 1e-9);
  const digits = Math.min(12, Math.max(0, 3 - Math.floor(Math.log10(span))));
  return { wx: Number(wx.toFixed(digits)), wrec: Number(wrec.toFixed(digits)) };
}

/** GET /loss-surface for the view's window and dataset; throws ApiError. */
export async function fetchSurface(view, signal) {
  const query = new URLSearchParams({
    ...view.window, resolution: view.resolution, ...datasetParams(view.dataset),
  });
  return getJson(`/loss-surface?${query}`, { signal });
}

function colourRange(surface) {
  if (store.view.scale === "tutorial") return TUTORIAL_RANGE;
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of surface.loss) {
    for (const v of row) {
      if (v === null) continue;
      const l = Math.log10(v + 1);
      if (l < lo) lo = l;
      if (l > hi) hi = l;
    }
  }
  if (!Number.isFinite(lo)) return TUTORIAL_RANGE;
  return hi - lo < 1e-9 ? [lo, lo + 1] : [lo, hi];
}

function hatchPattern(ctx) {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const t = tile.getContext("2d");
  t.fillStyle = "#c8c8c8";
  t.fillRect(0, 0, 8, 8);
  t.strokeStyle = "#9a9a9a";
  t.beginPath();
  t.moveTo(0, 8); t.lineTo(8, 0);
  t.moveTo(0, 0); t.lineTo(8, 8);
  t.stroke();
  return ctx.createPattern(tile, "repeat");
}

/** The heatmap, axes and colour bar of `store.live.surface`. */
export function drawSurface() {
  const s = store.live.surface;
  const canvas = $("#surface");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!s) return;
  const nx = s.wx.length;
  const ny = s.wrec.length;
  const [lo, hi] = colourRange(s);
  const cells = document.createElement("canvas");
  cells.width = nx;
  cells.height = ny;
  const image = new ImageData(nx, ny);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const v = s.loss[i][j];
      if (v === null) continue; // overflow stays transparent: the hatching shows through
      const [r, g, b] = viridis((Math.log10(v + 1) - lo) / (hi - lo));
      image.data.set([r, g, b, 255], ((ny - 1 - i) * nx + j) * 4);
    }
  }
  cells.getContext("2d").putImageData(image, 0, 0);
  ctx.fillStyle = hatchPattern(ctx);
  ctx.fillRect(PLOT.left, PLOT.top, PLOT.right - PLOT.left, PLOT.bottom - PLOT.top);
  ctx.save();
  ctx.beginPath();
  ctx.rect(PLOT.left, PLOT.top, PLOT.right - PLOT.left, PLOT.bottom - PLOT.top);
  ctx.clip();
  ctx.imageSmoothingEnabled = nx < 200;
  // Grid points are cell centres: the image reaches half a cell past the window.
  const dx = nx > 1 ? (s.wx[nx - 1] - s.wx[0]) / (nx - 1) : 1;
  const dy = ny > 1 ? (s.wrec[ny - 1] - s.wrec[0]) / (ny - 1) : 1;
  const [x0, y0] = toCanvas(s.wx[0] - dx / 2, s.wrec[ny - 1] + dy / 2);
  const [x1, y1] = toCanvas(s.wx[nx - 1] + dx / 2, s.wrec[0] - dy / 2);
  ctx.drawImage(cells, x0, y0, x1 - x0, y1 - y0);
  ctx.restore();
  drawAxes(ctx);
  drawColourbar(lo, hi, s.overflow);
  canvas.dataset.state = "ready";
}

function drawAxes(ctx) {
  const w = store.view.window;
  ctx.strokeStyle = "#1d2330";
  ctx.fillStyle = "#1d2330";
  ctx.lineWidth = 1;
  ctx.strokeRect(PLOT.left + 0.5, PLOT.top + 0.5, PLOT.right - PLOT.left, PLOT.bottom - PLOT.top);
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of niceTicks(w.wx_min, w.wx_max)) {
    const [x] = toCanvas(t, w.wrec_min);
    ctx.fillRect(x, PLOT.bottom, 1, 5);
    ctx.fillText(tickLabel(t), x, PLOT.bottom + 7);
  }
  ctx.fillText("wx", (PLOT.left + PLOT.right) / 2, PLOT.bottom + 24);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of niceTicks(w.wrec_min, w.wrec_max)) {
    const [, y] = toCanvas(w.wx_min, t);
    ctx.fillRect(PLOT.left - 5, y, 5, 1);
    ctx.fillText(tickLabel(t), PLOT.left - 8, y);
  }
  ctx.save();
  ctx.translate(14, (PLOT.top + PLOT.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center";
  ctx.fillText("wrec", 0, 0);
  ctx.restore();
}

function drawColourbar(lo, hi, overflow) {
  const canvas = $("#colourbar");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const left = PLOT.left;
  const right = overflow ? PLOT.right - 90 : PLOT.right;
  for (let x = left; x < right; x++) {
    const [r, g, b] = viridis((x - left) / (right - left));
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(x, 4, 1, 14);
  }
  ctx.fillStyle = "#1d2330";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  ctx.textAlign = "center";
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d += Math.max(1, Math.ceil((hi - lo) / 8))) {
    const x = left + ((d - lo) / (hi - lo)) * (right - left);
    ctx.fillRect(x, 18, 1, 4);
    ctx.fillText(`1e${d}`, x, 24);
  }
  ctx.textAlign = "left";
  ctx.fillText("loss + 1", 4, 6);
  if (overflow) {
    ctx.fillStyle = hatchPattern(ctx);
    ctx.fillRect(right + 14, 4, 20, 14);
    ctx.fillStyle = "#1d2330";
    ctx.fillText("overflow", right + 38, 6);
  }
}

// ---- the overlay ---------------------------------------------------------------------

function star(ctx, x, y, colour) {
  ctx.beginPath();
  for (let i = 0; i < 10; i++) {
    const r = i % 2 ? 4 : 10;
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    ctx.lineTo(x + r * Math.cos(a), y + r * Math.sin(a));
  }
  ctx.closePath();
  ctx.fillStyle = colour;
  ctx.fill();
  ctx.strokeStyle = "#1d2330";
  ctx.lineWidth = 1;
  ctx.stroke();
}

function cross(ctx, x, y, colour) {
  ctx.strokeStyle = "#1d2330";
  ctx.lineWidth = 4;
  for (const width of [4, 2]) {
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(x - 7, y - 7); ctx.lineTo(x + 7, y + 7);
    ctx.moveTo(x - 7, y + 7); ctx.lineTo(x + 7, y - 7);
    ctx.stroke();
    ctx.strokeStyle = colour;
  }
}

function ring(ctx, x, y, colour, radius = 6) {
  ctx.lineWidth = 2;
  ctx.strokeStyle = "white";
  ctx.beginPath();
  ctx.arc(x, y, radius + 2, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.strokeStyle = colour;
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, 2 * Math.PI);
  ctx.stroke();
}

/** Everything over the heatmap; `band` is a zoom rectangle being dragged. */
export function drawOverlay(band = null) {
  const canvas = $("#overlay");
  const ctx = canvas.getContext("2d");
  const view = store.view;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.save();
  ctx.beginPath();
  ctx.rect(PLOT.left, PLOT.top, PLOT.right - PLOT.left, PLOT.bottom - PLOT.top);
  ctx.clip();

  // |wrec| = 1: beyond these lines gradients explode backwards through time.
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = "rgba(255,255,255,0.85)";
  ctx.fillStyle = "white";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  for (const wrec of [1, -1]) {
    const [, y] = toCanvas(0, wrec);
    if (y < PLOT.top || y > PLOT.bottom) continue;
    ctx.beginPath();
    ctx.moveTo(PLOT.left, y);
    ctx.lineTo(PLOT.right, y);
    ctx.stroke();
    ctx.fillText(`|wrec| = 1`, PLOT.right - 4, y - 2);
  }
  ctx.setLineDash([]);

  let drawn = 0;
  for (const path of pathSource()) {
    const points = [];
    for (let i = 0; i < path.wx.length; i++) {
      const a = path.wx[i];
      const b = path.wrec[i];
      if (a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b)) points.push(toCanvas(a, b));
    }
    if (!points.length) continue;
    drawn += points.length;
    ctx.strokeStyle = path.colour;
    ctx.fillStyle = path.colour;
    ctx.lineWidth = path.emphasis ? 2.5 : 1.25;
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
    if (points.length <= 1200) for (const [x, y] of points) ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
    const [fx, fy] = points[points.length - 1];
    if (path.outcome === "diverged") cross(ctx, fx, fy, path.colour);
    else if (path.ended) star(ctx, fx, fy, path.colour);
    else ring(ctx, fx, fy, path.colour, 4);
  }

  for (const p of view.gradPoints) {
    const [x, y] = toCanvas(p.wx, p.wrec);
    ring(ctx, x, y, "#2f5fd0", 4);
  }
  if (view.point) {
    const [x, y] = toCanvas(view.point.wx, view.point.wrec);
    ring(ctx, x, y, "#d62728");
  }
  const cursor = store.live.cursor;
  if (cursor) {
    const [x, y] = toCanvas(cursor.wx, cursor.wrec);
    ctx.strokeStyle = "white";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x - 12, y); ctx.lineTo(x + 12, y);
    ctx.moveTo(x, y - 12); ctx.lineTo(x, y + 12);
    ctx.stroke();
  }
  // The start of the live runs: a square to drag.
  const [sx, sy] = toCanvas(view.start.wx, view.start.wrec);
  ctx.fillStyle = "white";
  ctx.strokeStyle = "#1d2330";
  ctx.lineWidth = 1.5;
  ctx.fillRect(sx - 6, sy - 6, 12, 12);
  ctx.strokeRect(sx - 6, sy - 6, 12, 12);

  if (band) {
    const { x0, y0, x, y } = band;
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = "white";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(Math.min(x0, x), Math.min(y0, y), Math.abs(x - x0), Math.abs(y - y0));
    ctx.setLineDash([]);
  }
  ctx.restore();
  canvas.dataset.trajectoryPoints = String(drawn);
  const w = view.window;
  canvas.dataset.window = [w.wx_min, w.wx_max, w.wrec_min, w.wrec_max].join(",");
  canvas.dataset.plot = [PLOT.left, PLOT.top, PLOT.right, PLOT.bottom].join(",");
  canvas.dataset.start = `${view.start.wx},${view.start.wrec}`;
}

/** The surface's value at the grid cell nearest (wx, wrec), for the keyboard cursor. */
function lossNear({ wx, wrec }) {
  const s = store.live.surface;
  if (!s) return null;
  const nearest = (axis, v) => axis.reduce((best, a, i) => (Math.abs(a - v) < Math.abs(axis[best] - v) ? i : best), 0);
  return s.loss[nearest(s.wrec, wrec)][nearest(s.wx, wx)];
}

/**
 * Pointer, touch and keyboard on the surface. `on` has: inspect(point), zoom(window),
 * moveStart(point, done) while the start square is dragged, and announce(text).
 */
export function installInteractions(on) {
  const overlay = $("#overlay");
  const pointers = new Map(); // active pointers (two: a pinch)
  let drag = null;
  let pinch = null;
  const position = (e) => {
    const r = overlay.getBoundingClientRect();
    return [(e.clientX - r.left) * (overlay.width / r.width), (e.clientY - r.top) * (overlay.height / r.height)];
  };
  const clamp = ([x, y]) => [Math.min(Math.max(x, PLOT.left), PLOT.right), Math.min(Math.max(y, PLOT.top), PLOT.bottom)];
  const inside = ([x, y]) => x >= PLOT.left && x <= PLOT.right && y >= PLOT.top && y <= PLOT.bottom;
  const onStart = ([x, y]) => {
    const [sx, sy] = toCanvas(store.view.start.wx, store.view.start.wrec);
    return Math.abs(x - sx) <= 10 && Math.abs(y - sy) <= 10;
  };

  overlay.addEventListener("pointerdown", (e) => {
    const at = position(e);
    pointers.set(e.pointerId, at);
    try {
      overlay.setPointerCapture(e.pointerId);
    } catch {
      // a pointer the browser does not track (a synthetic event): no capture needed
    }
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { distance: Math.hypot(a[0] - b[0], a[1] - b[1]), centre: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], scale: 1 };
      drag = null;
      drawOverlay();
      return;
    }
    if (!inside(at)) return;
    drag = { kind: onStart(at) ? "start" : "band", x0: at[0], y0: at[1], x: at[0], y: at[1] };
  });

  overlay.addEventListener("pointermove", (e) => {
    if (!pointers.has(e.pointerId)) return;
    pointers.set(e.pointerId, position(e));
    if (pinch && pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch.scale = Math.hypot(a[0] - b[0], a[1] - b[1]) / Math.max(pinch.distance, 1);
      return;
    }
    if (!drag) return;
    [drag.x, drag.y] = clamp(position(e));
    if (drag.kind === "start") on.moveStart(rounded(toWeights(drag.x, drag.y)), false, e.timeStamp);
    else drawOverlay(drag);
  });

  const finish = (e) => {
    pointers.delete(e.pointerId);
    if (pinch) {
      if (pointers.size === 0) {
        const { scale, centre } = pinch;
        pinch = null;
        if (Math.abs(scale - 1) > 0.05) on.zoom(scaledWindow(toWeights(...centre), 1 / scale));
      }
      return;
    }
    if (!drag) return;
    const { kind, x0, y0, x, y } = drag;
    drag = null;
    if (kind === "start") {
      on.moveStart(rounded(toWeights(x, y)), true, e.timeStamp);
      return;
    }
    if (Math.hypot(x - x0, y - y0) < 6) {
      on.inspect(rounded(toWeights(x0, y0)));
      drawOverlay();
      return;
    }
    const a = toWeights(Math.min(x0, x), Math.max(y0, y));
    const b = toWeights(Math.max(x0, x), Math.min(y0, y));
    on.zoom({ wx_min: a.wx, wx_max: b.wx, wrec_min: a.wrec, wrec_max: b.wrec });
  };
  overlay.addEventListener("pointerup", finish);
  overlay.addEventListener("pointercancel", (e) => {
    pointers.delete(e.pointerId);
    drag = null;
    pinch = null;
    drawOverlay();
  });

  // Keyboard: a cursor that arrow keys move by a fiftieth of the window.
  overlay.addEventListener("focus", () => {
    if (!store.live.cursor) store.live.cursor = rounded(store.view.point || centreOf(store.view.window));
    drawOverlay();
  });
  overlay.addEventListener("blur", () => {
    store.live.cursor = null;
    drawOverlay();
  });
  overlay.addEventListener("keydown", (e) => {
    const w = store.view.window;
    const cursor = store.live.cursor || centreOf(w);
    const fine = e.shiftKey ? 5 : 1;
    const dx = ((w.wx_max - w.wx_min) / 50) * fine;
    const dy = ((w.wrec_max - w.wrec_min) / 50) * fine;
    const moves = { ArrowLeft: [-dx, 0], ArrowRight: [dx, 0], ArrowUp: [0, dy], ArrowDown: [0, -dy] };
    let handled = true;
    if (moves[e.key]) {
      const [mx, my] = moves[e.key];
      store.live.cursor = rounded({
        wx: Math.min(Math.max(cursor.wx + mx, w.wx_min), w.wx_max),
        wrec: Math.min(Math.max(cursor.wrec + my, w.wrec_min), w.wrec_max),
      });
      drawOverlay();
      const c = store.live.cursor;
      on.announce(`cursor at (${c.wx}, ${c.wrec}), loss about ${fmt(lossNear(c), "overflow")}`);
    } else if (e.key === "Enter" || e.key === " ") {
      on.inspect(rounded(cursor));
    } else if (e.key === "s" || e.key === "S") {
      on.moveStart(rounded(cursor), true, e.timeStamp);
    } else if (e.key === "+" || e.key === "=") {
      on.zoom(scaledWindow(cursor, 0.5));
    } else if (e.key === "-" || e.key === "_") {
      on.zoom(scaledWindow(cursor, 2));
    } else if (e.key === "0" || e.key === "Home") {
      on.zoom(null);
    } else {
      handled = false;
    }
    if (handled) e.preventDefault();
  });
}

export const centreOf = (w) => ({ wx: (w.wx_min + w.wx_max) / 2, wrec: (w.wrec_min + w.wrec_max) / 2 });

/** The window scaled by `factor` around `centre` (0.5: zoom in twice). */
export function scaledWindow(centre, factor) {
  const w = store.view.window;
  const hx = ((w.wx_max - w.wx_min) * factor) / 2;
  const hy = ((w.wrec_max - w.wrec_min) * factor) / 2;
  return { wx_min: centre.wx - hx, wx_max: centre.wx + hx, wrec_min: centre.wrec - hy, wrec_max: centre.wrec + hy };
}

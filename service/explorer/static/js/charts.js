// Line charts on canvas: loss and step size per iteration (log axes), and the gradient
// through time at several points (one fixed symlog axis, so sizes compare across points).

import { chartColour, decadeLabel, niceTicks, symlog, symlogAxis, tickLabel } from "./format.js";

const INK = "#1d2330";
const GRID = "#d9dde5";

function frame(canvas, title) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = INK;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(title, 52, 2);
  return { ctx, box: { left: 52, right: canvas.width - 10, top: 18, bottom: canvas.height - 28 } };
}

function polyline(ctx, points, colour) {
  ctx.strokeStyle = chartColour(colour);
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let pen = false;
  for (const p of points) {
    if (p === null) { pen = false; continue; }
    if (pen) ctx.lineTo(p[0], p[1]); else ctx.moveTo(p[0], p[1]);
    pen = true;
  }
  ctx.stroke();
}

/**
 * Values per iteration on a log axis, one line per series: [{ colour, x, y }]. Values that
 * are null, zero or negative leave gaps. Draws an empty frame when nothing is positive.
 */
export function drawLogChart(canvas, title, series) {
  const { ctx, box } = frame(canvas, title);
  let lo = Infinity;
  let hi = -Infinity;
  let xMax = 1;
  for (const s of series) {
    for (let i = 0; i < s.y.length; i++) {
      const v = s.y[i];
      if (v !== null && v > 0 && Number.isFinite(v)) {
        lo = Math.min(lo, Math.log10(v));
        hi = Math.max(hi, Math.log10(v));
      }
      xMax = Math.max(xMax, s.x[i]);
    }
  }
  let drawn = 0;
  if (!Number.isFinite(lo)) {
    lo = -1;
    hi = 1;
  }
  lo = Math.floor(lo);
  hi = Math.max(Math.ceil(hi), lo + 1);
  const X = (x) => box.left + (x / xMax) * (box.right - box.left);
  const Y = (l) => box.bottom - ((l - lo) / (hi - lo)) * (box.bottom - box.top);
  ctx.strokeStyle = GRID;
  ctx.fillStyle = INK;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const every = Math.max(1, Math.ceil((hi - lo) / 5));
  for (let d = lo; d <= hi; d += every) {
    ctx.beginPath();
    ctx.moveTo(box.left, Y(d));
    ctx.lineTo(box.right, Y(d));
    ctx.stroke();
    ctx.fillText(`1e${d}`, box.left - 4, Y(d));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of niceTicks(0, xMax, 5)) ctx.fillText(tickLabel(t), X(t), box.bottom + 3);
  ctx.fillText("iteration", (box.left + box.right) / 2, box.bottom + 14);
  for (const s of series) {
    const points = s.y.map((v, i) => (v !== null && v > 0 && Number.isFinite(v) ? [X(s.x[i]), Y(Math.log10(v))] : null));
    drawn += points.filter(Boolean).length;
    polyline(ctx, points, s.colour);
  }
  canvas.dataset.points = String(drawn);
  canvas.dataset.lines = String(series.filter((s) => s.y.length).length);
}

/**
 * dξ/dS_k against k, k = n on the left (backpropagation runs rightwards), for every
 * point: [{ colour, timesteps, grad }] on one symlog axis sized for the largest of them,
 * labelled at 0 and at its top. Overflowed values (null) leave gaps.
 */
export function drawGradientChart(canvas, series) {
  const { ctx, box } = frame(canvas, "∂ξ/∂S_k summed over sequences (symlog)");
  let extent = 1;
  let kMax = 1;
  for (const s of series) {
    for (const g of s.grad) if (g !== null) extent = Math.max(extent, Math.abs(symlog(g)));
    kMax = Math.max(kMax, ...s.timesteps);
  }
  const { top, ticks } = symlogAxis(extent);
  const X = (k) => box.left + ((kMax - k) / kMax) * (box.right - box.left);
  const Y = (v) => (box.top + box.bottom) / 2 - (v / top) * ((box.bottom - box.top) / 2);
  ctx.strokeStyle = GRID;
  ctx.fillStyle = INK;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const d of ticks) {
    ctx.beginPath();
    ctx.moveTo(box.left, Y(d));
    ctx.lineTo(box.right, Y(d));
    ctx.stroke();
    ctx.fillText(decadeLabel(d), box.left - 4, Y(d));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const k of niceTicks(0, kMax, Math.min(8, kMax))) ctx.fillText(tickLabel(k), X(k), box.bottom + 3);
  ctx.fillText("time step k (backwards →)", (box.left + box.right) / 2, box.bottom + 14);
  for (const s of series) {
    const points = s.timesteps.map((k, i) => (s.grad[i] === null ? null : [X(k), Y(symlog(s.grad[i]))]));
    polyline(ctx, points, s.colour);
    if (s.timesteps.length <= 60) {
      ctx.fillStyle = chartColour(s.colour);
      for (const p of points) if (p) ctx.fillRect(p[0] - 2, p[1] - 2, 4, 4);
    }
  }
  canvas.dataset.ticks = ticks.map(decadeLabel).join(" ");
  canvas.dataset.series = String(series.length);
}

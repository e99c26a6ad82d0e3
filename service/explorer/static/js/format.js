// Numbers, ticks and colours shared by every drawing.

// matplotlib's viridis at 17 evenly spaced stops (the server's figures use the same map).
const VIRIDIS = ["#440154", "#48186a", "#472d7b", "#424086", "#3b528b", "#33638d", "#2c728e",
  "#26828e", "#21918c", "#1fa088", "#28ae80", "#3fbc73", "#5ec962", "#84d44b", "#addc30",
  "#d8e219", "#fde725"].map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));

// Run colours: distinct on the viridis surface and on white charts.
export const RUN_COLOURS = ["#e4572e", "#f3a712", "#ff4fa3", "#17becf", "#ffffff", "#b2ff59",
  "#8c564b", "#c5b0d5"];
// Chart lines on white need contrast: the same hues, white replaced by black.
export const chartColour = (colour) => (colour === "#ffffff" ? "#1d2330" : colour);
export const POINT_COLOURS = ["#2f5fd0", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

export function viridis(t) {
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
}

/** A number for people; `missing` stands for null (never "overflow" unless told so). */
export function fmt(value, missing = "–") {
  if (value === null || value === undefined || Number.isNaN(value)) return missing;
  const a = Math.abs(value);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return value.toExponential(3);
  return String(Number(value.toPrecision(5)));
}

/** Up to about n round-numbered ticks in [lo, hi]. */
export function niceTicks(lo, hi, n = 6) {
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return ticks;
}

export const tickLabel = (t) => String(Number(t.toPrecision(6)));

/** sign(v) log10(1 + |v|): the symlog transform of the gradient-over-time axis. */
export const symlog = (v) => Math.sign(v) * Math.log10(1 + Math.abs(v));

/**
 * A symmetric symlog axis holding ±`extent` decades: its top (a multiple of the tick
 * step, so the top is always labelled) and ticks from -top to top that always include 0.
 */
export function symlogAxis(extent) {
  const need = Math.max(1, Math.ceil(extent));
  const step = [1, 2, 5, 10, 20, 25, 50, 100, 200].find((s) => need / s <= 3) || Math.ceil(need / 3);
  const top = Math.ceil(need / step) * step;
  const ticks = [];
  for (let d = -top; d <= top; d += step) ticks.push(d);
  return { top, ticks };
}

export const decadeLabel = (d) => (d === 0 ? "0" : `${d < 0 ? "−" : ""}1e${Math.abs(d)}`);

/** The short, distinct part of a job id: its random tail (its head is the time). */
export const shortId = (id) => id.slice(-6);

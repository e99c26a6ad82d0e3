// rnnlab explorer: the loss surface, one point's gradient, and training jobs, all drawn
// from the JSON API of this server. Plain JS and canvas; no build step.
"use strict";

const $ = (selector) => document.querySelector(selector);
const TOKEN_KEY = "rnnlab.token";
const DEFAULT_WINDOW = { wx_min: -3, wx_max: 3, wrec_min: -3, wrec_max: 3 };
// matplotlib's viridis at 17 evenly spaced stops (the figures use the same map).
const VIRIDIS = ["#440154", "#48186a", "#472d7b", "#424086", "#3b528b", "#33638d", "#2c728e",
  "#26828e", "#21918c", "#1fa088", "#28ae80", "#3fbc73", "#5ec962", "#84d44b", "#addc30",
  "#d8e219", "#fde725"].map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
const TUTORIAL_RANGE = [-0.2, 8]; // log10(loss + 1), the tutorial's contour levels
const PATH_COLOURS = ["#ffffff", "#ff7f0e", "#ff4fa3", "#00e5ff", "#ffe000", "#b2ff59"];
const PLOT = { left: 58, top: 10, right: 590, bottom: 518 }; // plot area inside #surface

const state = {
  dataset: { kind: "tutorial" },
  window: { ...DEFAULT_WINDOW },
  surface: null, // the last GET /loss-surface answer
  selected: null, // { wx, wrec } being inspected
  paths: [], // trajectories on the overlay: { wx: [], wrec: [], done }
  stream: null, // AbortController of the job whose events we follow
};

// ---- talking to the API ----------------------------------------------------------

let tokenPrompt = null;

/** Ask for the API token once, however many requests got a 401 meanwhile. */
function askToken() {
  if (!tokenPrompt) {
    tokenPrompt = new Promise((resolve, reject) => {
      const dialog = $("#token-dialog");
      const input = dialog.querySelector("input");
      input.value = "";
      dialog.addEventListener("close", () => {
        tokenPrompt = null;
        if (dialog.returnValue === "ok" && input.value.trim()) {
          sessionStorage.setItem(TOKEN_KEY, input.value.trim());
          resolve();
        } else {
          reject(new Error("this server needs an API token"));
        }
      }, { once: true });
      dialog.showModal();
    });
  }
  return tokenPrompt;
}

/** fetch() with the bearer token; a 401 asks for a token and retries; errors throw. */
async function api(path, { method = "GET", json, signal, accept } = {}) {
  for (;;) {
    const headers = new Headers();
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (accept) headers.set("Accept", accept);
    if (json !== undefined) headers.set("Content-Type", "application/json");
    const body = json === undefined ? undefined : JSON.stringify(json);
    const res = await fetch(path, { method, headers, body, signal });
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken();
      continue;
    }
    if (!res.ok) throw await problem(res);
    return res;
  }
}

const apiJson = async (path, options) => (await api(path, options)).json();

/** An Error carrying a problem+json answer's detail. */
async function problem(res) {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    message = body.detail || body.title || message;
  } catch { /* not JSON */ }
  return new Error(message);
}

/** Server-sent events from a fetch body (EventSource cannot send Authorization). */
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon === 0) continue; // a comment (keep-alive)
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

function setStatus(text, isError = false) {
  const el = $("#status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

/** Run an async UI action; show its error in the status line instead of losing it. */
function guarded(action) {
  return (...args) => action(...args).catch((err) => {
    if (err.name !== "AbortError") setStatus(err.message, true);
  });
}

// ---- the dataset reference, as query parameters and as a JSON body ------------------

function datasetParams() {
  const d = state.dataset;
  if (d.kind === "id") return { dataset_id: d.id };
  if (d.kind === "spec") return { ...d.spec };
  return {};
}

function datasetBody() {
  const d = state.dataset;
  if (d.kind === "id") return { dataset_id: d.id };
  if (d.kind === "spec") return { dataset: { ...d.spec } };
  return {};
}

function readDatasetForm(form) {
  const f = new FormData(form);
  const kind = f.get("kind");
  if (kind === "id") return { kind, id: String(f.get("dataset_id")).trim() };
  if (kind === "spec") {
    const spec = {
      n_samples: Number(f.get("n_samples")),
      seed: Number(f.get("seed")), p_one: Number(f.get("p_one")),
      generator: f.get("generator"),
    };
    // "length" alone, or "length" up to "max_length": lengths drawn per sequence.
    const length = Number(f.get("length"));
    const upTo = String(f.get("max_length") || "").trim();
    if (upTo && Number(upTo) !== length) {
      spec.min_length = length;
      spec.max_length = Number(upTo);
    } else {
      spec.length = length;
    }
    return { kind, spec };
  }
  return { kind: "tutorial" };
}

// ---- numbers, colours, ticks ---------------------------------------------------------

function fmt(value) {
  if (value === null || value === undefined) return "overflow";
  const a = Math.abs(value);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return value.toExponential(3);
  return String(Number(value.toPrecision(5)));
}

function viridis(t) {
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
}

/** Up to about n round-numbered ticks in [lo, hi]. */
function niceTicks(lo, hi, n = 6) {
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return ticks;
}

const tickLabel = (t) => String(Number(t.toPrecision(6)));

/** The log10(loss + 1) range the colours span. */
function colourRange(surface) {
  if ($("#window-form").elements.scale.value === "tutorial") return TUTORIAL_RANGE;
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

// ---- the loss surface --------------------------------------------------------------

function toCanvas(wx, wrec) {
  const w = state.window;
  return [
    PLOT.left + ((wx - w.wx_min) / (w.wx_max - w.wx_min)) * (PLOT.right - PLOT.left),
    PLOT.bottom - ((wrec - w.wrec_min) / (w.wrec_max - w.wrec_min)) * (PLOT.bottom - PLOT.top),
  ];
}

function toWeights(x, y) {
  const w = state.window;
  return {
    wx: w.wx_min + ((x - PLOT.left) / (PLOT.right - PLOT.left)) * (w.wx_max - w.wx_min),
    wrec: w.wrec_min + ((PLOT.bottom - y) / (PLOT.bottom - PLOT.top)) * (w.wrec_max - w.wrec_min),
  };
}

async function loadSurface() {
  const form = $("#window-form");
  const f = new FormData(form);
  const win = {};
  for (const key of Object.keys(DEFAULT_WINDOW)) win[key] = Number(f.get(key));
  if (!(win.wx_min < win.wx_max && win.wrec_min < win.wrec_max)) {
    throw new Error("each window needs min < max");
  }
  const query = new URLSearchParams({ ...win, resolution: f.get("resolution"), ...datasetParams() });
  setStatus("computing the loss surface…");
  $("#surface").dataset.state = "loading";
  const surface = await apiJson(`/loss-surface?${query}`);
  state.surface = surface;
  state.window = win;
  drawSurface();
  drawOverlay();
  const m = surface.min;
  $("#surface-info").textContent = m && m.loss !== null
    ? `grid minimum ${fmt(m.loss)} at (${fmt(m.wx)}, ${fmt(m.wrec)})` : "";
  setStatus(surface.overflow ? "part of this window overflowed (hatched)" : "");
}

function drawSurface() {
  const s = state.surface;
  const canvas = $("#surface");
  const ctx = canvas.getContext("2d");
  const nx = s.wx.length;
  const ny = s.wrec.length;
  const [lo, hi] = colourRange(s);

  // One pixel per grid point, row i (wrec[i]) drawn upwards; overflow stays transparent.
  const cells = document.createElement("canvas");
  cells.width = nx;
  cells.height = ny;
  const image = new ImageData(nx, ny);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const v = s.loss[i][j];
      if (v === null) continue;
      const [r, g, b] = viridis((Math.log10(v + 1) - lo) / (hi - lo));
      const k = ((ny - 1 - i) * nx + j) * 4;
      image.data.set([r, g, b, 255], k);
    }
  }
  cells.getContext("2d").putImageData(image, 0, 0);

  ctx.clearRect(0, 0, canvas.width, canvas.height);
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
  const w = state.window;
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

// ---- the overlay: selected point, trajectories, zoom rectangle ------------------------

function drawOverlay(rubberBand = null) {
  const canvas = $("#overlay");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.save();
  ctx.beginPath();
  ctx.rect(PLOT.left, PLOT.top, PLOT.right - PLOT.left, PLOT.bottom - PLOT.top);
  ctx.clip();
  let drawn = 0;
  state.paths.forEach((path, n) => {
    const colour = PATH_COLOURS[n % PATH_COLOURS.length];
    const points = path.wx.map((wx, i) => [wx, path.wrec[i]])
      .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
      .map(([a, b]) => toCanvas(a, b));
    if (!points.length) return;
    drawn += points.length;
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1;
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
    for (const [x, y] of points) ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
    const [sx, sy] = points[0];
    ctx.strokeStyle = "black";
    ctx.fillRect(sx - 5, sy - 5, 10, 10);
    ctx.strokeRect(sx - 5, sy - 5, 10, 10);
    const [fx, fy] = points[points.length - 1];
    star(ctx, fx, fy, path.done ? "#ff2020" : colour);
  });
  if (state.selected) {
    const [x, y] = toCanvas(state.selected.wx, state.selected.wrec);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "white";
    ctx.beginPath();
    ctx.arc(x, y, 7, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.strokeStyle = "#d62728";
    ctx.beginPath();
    ctx.arc(x, y, 5, 0, 2 * Math.PI);
    ctx.stroke();
  }
  if (rubberBand) {
    const { x0, y0, x, y } = rubberBand;
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = "white";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(Math.min(x0, x), Math.min(y0, y), Math.abs(x - x0), Math.abs(y - y0));
    ctx.setLineDash([]);
  }
  ctx.restore();
  canvas.dataset.trajectoryPoints = String(drawn);
}

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
  ctx.strokeStyle = "white";
  ctx.lineWidth = 1;
  ctx.stroke();
}

/** Click to inspect, drag to zoom. */
function installPointer() {
  const overlay = $("#overlay");
  let drag = null;
  const position = (e) => {
    const r = overlay.getBoundingClientRect();
    return [(e.clientX - r.left) * (overlay.width / r.width),
      (e.clientY - r.top) * (overlay.height / r.height)];
  };
  const inside = ([x, y]) => x >= PLOT.left && x <= PLOT.right && y >= PLOT.top && y <= PLOT.bottom;
  overlay.addEventListener("pointerdown", (e) => {
    const [x, y] = position(e);
    if (!state.surface || !inside([x, y])) return;
    drag = { x0: x, y0: y, x, y };
    overlay.setPointerCapture(e.pointerId);
  });
  overlay.addEventListener("pointermove", (e) => {
    if (!drag) return;
    [drag.x, drag.y] = position(e).map((v, i) => (i
      ? Math.min(Math.max(v, PLOT.top), PLOT.bottom)
      : Math.min(Math.max(v, PLOT.left), PLOT.right)));
    drawOverlay(drag);
  });
  overlay.addEventListener("pointerup", () => {
    if (!drag) return;
    const { x0, y0, x, y } = drag;
    drag = null;
    if (Math.hypot(x - x0, y - y0) < 6) {
      guarded(inspect)(toWeights(x0, y0));
      return;
    }
    const a = toWeights(Math.min(x0, x), Math.max(y0, y));
    const b = toWeights(Math.max(x0, x), Math.min(y0, y));
    guarded(setWindow)({ wx_min: a.wx, wx_max: b.wx, wrec_min: a.wrec, wrec_max: b.wrec });
  });
}

async function setWindow(win) {
  const span = Math.max(win.wx_max - win.wx_min, win.wrec_max - win.wrec_min);
  const digits = Math.max(0, 3 - Math.floor(Math.log10(span)));
  const form = $("#window-form");
  for (const [key, value] of Object.entries(win)) form.elements[key].value = value.toFixed(digits);
  await loadSurface();
}

// ---- one point: loss, gradient, gradient over time ----------------------------------

async function inspect({ wx, wrec }) {
  const w = state.window;
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.max(w.wx_max - w.wx_min, 1e-9))));
  wx = Number(wx.toFixed(digits));
  wrec = Number(wrec.toFixed(digits));
  state.selected = { wx, wrec };
  drawOverlay();
  const train = $("#train-form");
  train.elements.wx.value = wx;
  train.elements.wrec.value = wrec;
  $("#point-weights").textContent = `(${wx}, ${wrec})`;
  for (const id of ["#point-loss", "#point-grad-wx", "#point-grad-wrec"]) $(id).textContent = "…";
  const query = new URLSearchParams({ points: `${wx}:${wrec}`, ...datasetParams() });
  const [grad, overTime] = await Promise.all([
    apiJson("/gradient", { method: "POST", json: { weights: { wx, wrec }, ...datasetBody() } }),
    apiJson(`/gradient-over-time?${query}`),
  ]);
  $("#point-loss").textContent = fmt(grad.loss);
  $("#point-grad-wx").textContent = fmt(grad.gradient.wx);
  $("#point-grad-wrec").textContent = fmt(grad.gradient.wrec);
  drawGradientOverTime(overTime.timesteps, overTime.series[0].grad, `(${wx}, ${wrec})`);
}

/** dξ/dS_k against k on a symlog axis, k = n on the left (backpropagation runs rightwards). */
function drawGradientOverTime(timesteps, grads, label) {
  const canvas = $("#grad-time");
  const ctx = canvas.getContext("2d");
  const box = { left: 52, right: canvas.width - 8, top: 18, bottom: canvas.height - 26 };
  const symlog = (v) => Math.sign(v) * Math.log10(1 + Math.abs(v));
  const ys = grads.map((g) => (g === null ? null : symlog(g)));
  const finite = ys.filter((y) => y !== null);
  const top = Math.max(1, Math.ceil(Math.max(0, ...finite.map(Math.abs))));
  const kMax = Math.max(...timesteps);
  const kMin = Math.min(...timesteps);
  const X = (k) => box.left + ((kMax - k) / Math.max(kMax - kMin, 1)) * (box.right - box.left);
  const Y = (y) => (box.top + box.bottom) / 2 - (y / top) * ((box.bottom - box.top) / 2);

  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#1d2330";
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(`∂ξ/∂S_k at ${label}, symlog`, box.left, 2);
  ctx.strokeStyle = "#d9dde5";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const step = Math.max(1, Math.ceil(top / 3));
  for (let d = -top; d <= top; d += step) {
    const y = Y(d);
    ctx.beginPath();
    ctx.moveTo(box.left, y);
    ctx.lineTo(box.right, y);
    ctx.stroke();
    ctx.fillText(d === 0 ? "0" : `${d < 0 ? "-" : ""}1e${Math.abs(d)}`, box.left - 4, y);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const k of niceTicks(kMin, kMax, Math.min(10, kMax - kMin || 1))) {
    ctx.fillText(tickLabel(k), X(k), box.bottom + 4);
  }
  ctx.fillText("time step k", (box.left + box.right) / 2, box.bottom + 14);
  ctx.strokeStyle = "#2f5fd0";
  ctx.fillStyle = "#2f5fd0";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let pen = false;
  timesteps.forEach((k, i) => {
    if (ys[i] === null) { pen = false; return; }
    if (pen) ctx.lineTo(X(k), Y(ys[i])); else ctx.moveTo(X(k), Y(ys[i]));
    pen = true;
  });
  ctx.stroke();
  if (timesteps.length <= 60) {
    timesteps.forEach((k, i) => ys[i] !== null && ctx.fillRect(X(k) - 2, Y(ys[i]) - 2, 4, 4));
  }
  if (finite.length < ys.length) {
    ctx.fillStyle = "#b3261e";
    ctx.textAlign = "right";
    ctx.fillText("overflow (gaps)", box.right, 2);
  }
}

// ---- training jobs ----------------------------------------------------------------

function showJob(job) {
  const el = $("#job-status");
  const p = job.progress || {};
  const r = job.result;
  const weights = (r && r.weights) || p.weights;
  const parts = [`job ${job.id.slice(0, 8)}`, job.status];
  if (p.iterations) parts.push(`iteration ${p.iteration}/${p.iterations}`);
  const loss = r ? r.loss : p.loss;
  if (loss !== undefined) parts.push(`loss ${fmt(loss)}`);
  if (weights) parts.push(`(${fmt(weights.wx)}, ${fmt(weights.wrec)})`);
  if (job.error) parts.push(job.error.detail || job.error.title);
  el.textContent = parts.join(" · ");
  el.dataset.status = job.status;
  el.dataset.jobId = job.id;
}

async function train(event) {
  event.preventDefault();
  const f = new FormData(event.target);
  const optimizer = { name: f.get("optimizer") };
  if (optimizer.name === "sgd") optimizer.learning_rate = Number(f.get("learning_rate"));
  const body = {
    ...datasetBody(),
    initial: { wx: Number(f.get("wx")), wrec: Number(f.get("wrec")) },
    optimizer,
    iterations: Number(f.get("iterations")),
  };
  const job = await apiJson("/train", { method: "POST", json: body });
  await refreshJobs();
  await follow(job);
}

/** Draw a job's trajectory: live from its event stream while it runs, then in full. */
async function follow(job) {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  const initial = (job.progress && job.progress.weights) || {};
  const live = { wx: [initial.wx], wrec: [initial.wrec], done: false };
  state.paths = [live];
  showJob(job);
  drawOverlay();
  if (["queued", "running"].includes(job.status)) {
    const res = await api(`/jobs/${job.id}/events`, {
      signal: controller.signal, accept: "text/event-stream",
    });
    for await (const { event, data } of sseEvents(res.body)) {
      const update = JSON.parse(data);
      const current = update.status ? update : { ...job, progress: update };
      const w = current.progress && current.progress.weights;
      if (w && w.wx !== null && w.wrec !== null) {
        live.wx.push(w.wx);
        live.wrec.push(w.wrec);
        drawOverlay();
      }
      if (current.status) showJob(current);
      if (event === "done") break;
    }
    controller.abort();
  }
  if (state.stream !== controller) return; // another job took over meanwhile
  const finished = await apiJson(`/jobs/${job.id}`);
  showJob(finished);
  await showTrajectories(finished);
  await refreshJobs();
}

/** Every start's trajectory of a finished job (JSON nulls where it overflowed). */
async function showTrajectories(job) {
  const starts = (job.result && job.result.starts && job.result.starts.length) || 1;
  const paths = [];
  for (let start = 0; start < starts; start++) {
    const query = starts > 1 ? `?start=${start}` : "";
    try {
      const t = await apiJson(`/jobs/${job.id}/trajectory${query}`);
      paths.push({ wx: t.wx.map((v) => v ?? NaN), wrec: t.wrec.map((v) => v ?? NaN), done: true });
    } catch (err) {
      if (!paths.length) setStatus(`no trajectory: ${err.message}`, true);
    }
  }
  if (paths.length) {
    state.paths = paths;
    drawOverlay();
  }
}

async function refreshJobs() {
  const { items } = await apiJson("/jobs?limit=10");
  const body = $("#jobs-list");
  body.replaceChildren(...items.map((job) => {
    const row = document.createElement("tr");
    const r = job.result;
    const w = (r && r.weights) || (job.progress && job.progress.weights);
    const loss = r ? r.loss : job.progress && job.progress.loss;
    const cells = [job.id.slice(0, 8), job.status, loss === undefined ? "–" : fmt(loss),
      w ? `(${fmt(w.wx)}, ${fmt(w.wrec)})` : "–"];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    row.dataset.jobId = job.id;
    row.title = "show this job's trajectory";
    row.addEventListener("click", guarded(async () => {
      for (const other of body.children) other.classList.toggle("selected", other === row);
      await follow(await apiJson(`/jobs/${job.id}`));
    }));
    return row;
  }));
}

// ---- wiring ---------------------------------------------------------------------

function init() {
  installPointer();
  const windowForm = $("#window-form");
  windowForm.addEventListener("submit", (e) => { e.preventDefault(); guarded(loadSurface)(); });
  windowForm.elements.scale.addEventListener("change", () => state.surface && drawSurface());
  $("#reset-window").addEventListener("click", guarded(() => setWindow(DEFAULT_WINDOW)));
  $("#zoom-out").addEventListener("click", guarded(() => {
    const w = state.window;
    const hx = w.wx_max - w.wx_min;
    const hy = w.wrec_max - w.wrec_min;
    return setWindow({ wx_min: w.wx_min - hx / 2, wx_max: w.wx_max + hx / 2,
      wrec_min: w.wrec_min - hy / 2, wrec_max: w.wrec_max + hy / 2 });
  }));

  const datasetForm = $("#dataset-form");
  datasetForm.addEventListener("change", () => {
    $("#spec-fields").disabled = datasetForm.elements.kind.value !== "spec";
  });
  datasetForm.addEventListener("submit", (e) => {
    e.preventDefault();
    state.dataset = readDatasetForm(datasetForm);
    state.selected = null;
    state.paths = [];
    guarded(loadSurface)();
  });

  $("#train-form").addEventListener("submit", guarded(train));
  $("#refresh-jobs").addEventListener("click", guarded(refreshJobs));
  const dialog = $("#token-dialog");
  dialog.querySelector("button[value=cancel]").addEventListener("click", (e) => {
    e.preventDefault();
    dialog.close("cancel");
  });

  guarded(loadSurface)();
  guarded(refreshJobs)();
}

init();

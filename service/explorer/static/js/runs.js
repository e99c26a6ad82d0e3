// Runs: the live runs from the start square (one per chosen optimizer, computed at once by
// POST /runs and redrawn whenever the start or a setting changes), the controls that
// play them, the runs kept on the surface, and runs too long for a request (jobs).
// Over 300 lines because a run's whole life (compute, play, keep, legend, job) reads here
// in one place; the drawing it asks for lives in surface.js and charts.js.

import { ApiError, datasetBody, getJson, postJson, request, sseEvents } from "./api.js";
import { drawLogChart } from "./charts.js";
import { RUN_COLOURS, fmt, shortId } from "./format.js";
import { announce, clearError, plainWords, showError } from "./notify.js";
import { describe, optimizerSpec } from "./optimizers.js";
import { datasetKey, setView, setViewQuietly, store } from "./state.js";
import { drawOverlay } from "./surface.js";

const $ = (selector) => document.querySelector(selector);
const MAX_POINTS = 2000; // points of a path the page asks for: enough to draw, never MBs
const PLAY_SECONDS = 3; // a run plays in about this long, whatever its length

let inFlight = null; // AbortController of the live runs' requests
let animation = null; // requestAnimationFrame id while playing

const colourOf = (name) => {
  const i = store.live.optimizers.findIndex((o) => o.name === name);
  return RUN_COLOURS[(i < 0 ? 0 : i) % RUN_COLOURS.length];
};
const keptColour = (index) => RUN_COLOURS[(index + store.live.optimizers.length) % RUN_COLOURS.length];
export const keptKey = (run) => JSON.stringify({ ...run, hidden: undefined });

/** The body of POST /runs (and /train) for `name` from the view's start. */
function runBody(view, name, start = view.start, iterations = view.iterations) {
  return {
    ...datasetBody(view.dataset),
    initial: { ...start },
    optimizer: optimizerSpec(name, view.hyper),
    iterations,
  };
}

/** A /runs answer's one start as the page keeps runs: path, outcome, final values. */
const fromRun = (answer) => ({ ...answer.starts[0], source: "run" });

/** A job's thinned trajectory and result as a run. */
function fromJob(job, trajectory) {
  const r = job.result || {};
  let outcome = "completed";
  if (job.status !== "succeeded") outcome = job.status;
  else if (r.diverged) outcome = "diverged";
  else if (r.overflow) outcome = "overflow";
  else if (r.converged) outcome = "converged";
  return {
    source: "job",
    job: job.id,
    outcome,
    loss: r.loss ?? null,
    weights: r.weights || null,
    iterations: r.iterations ?? 0,
    points: trajectory ? trajectory.iterations + 1 : 0,
    path: trajectory
      ? { iteration: trajectory.iteration, wx: trajectory.wx, wrec: trajectory.wrec, loss: trajectory.loss, step: null }
      : { iteration: [], wx: [], wrec: [], loss: [], step: null },
  };
}

/** Iterations of the live runs shown: all unless playing, stepping or reset. */
const shownUpTo = (view) => (view.at === null ? view.iterations : Math.min(view.at, view.iterations));

/** The part of a path up to iteration `at`. */
function upTo(path, at) {
  let n = 0;
  while (n < path.iteration.length && path.iteration[n] <= at) n++;
  const cut = (a) => (a ? a.slice(0, n) : null);
  return { iteration: cut(path.iteration), wx: cut(path.wx), wrec: cut(path.wrec), loss: cut(path.loss), step: cut(path.step) };
}

/** Every run to draw now: live ones (cut at the play position), then kept ones. */
export function visibleRuns() {
  const view = store.view;
  const here = datasetKey(view.dataset);
  const runs = [];
  const at = shownUpTo(view);
  for (const name of view.race) {
    const job = store.live.jobs.get(name);
    if (job) {
      const p = job.progress;
      runs.push({
        key: `live:${name}`, live: true, colour: colourOf(name), label: `${describe(name, view.hyper)} · job ${shortId(job.id)}`,
        outcome: job.status, ended: false,
        path: { iteration: p.map((q) => q.iteration), wx: p.map((q) => q.wx), wrec: p.map((q) => q.wrec), loss: p.map((q) => q.loss), step: null },
      });
      continue;
    }
    const run = store.live.runs.get(name);
    if (!run || !run.answer) continue;
    const path = upTo(run.answer.path, at);
    const last = path.iteration.length ? path.iteration[path.iteration.length - 1] : 0;
    runs.push({
      key: `live:${name}`, live: true, colour: colourOf(name), label: describe(name, view.hyper), path,
      outcome: last >= run.answer.iterations ? run.answer.outcome : "running",
      ended: last >= run.answer.iterations, answer: run.answer, start: view.start,
    });
  }
  view.kept.forEach((k, index) => {
    const key = keptKey(k);
    const answer = store.live.keptAnswers.get(key);
    const sameData = datasetKey(k.dataset) === here;
    runs.push({
      key, live: false, kept: k, index, colour: keptColour(index),
      label: `${describe(k.optimizer, k.hyper)}${k.job ? ` · job ${shortId(k.job)}` : ""}`,
      path: answer ? answer.path : null, answer, outcome: answer ? answer.outcome : "loading",
      ended: true, hidden: Boolean(k.hidden) || !sameData, otherData: !sameData, start: k.start,
    });
  });
  return runs;
}

/** The paths the surface draws. */
export function pathsToDraw() {
  return visibleRuns()
    .filter((r) => r.path && !r.hidden)
    .map((r) => ({ ...r, wx: r.path.wx, wrec: r.path.wrec, emphasis: store.live.openRun === r.key }));
}

// ---- computing -----------------------------------------------------------------------

/**
 * Recompute the live runs (POST /runs, one request per optimizer, all at once) and redraw.
 * `since` is when the change was asked for (for the redraw time the page reports).
 */
export async function refreshLive(since = performance.now()) {
  const view = store.view;
  if (inFlight) inFlight.abort();
  const controller = new AbortController();
  inFlight = controller;
  if (view.iterations > store.live.runLimit) {
    store.live.runs.clear();
    redraw();
    status(`${view.iterations} iterations is more than a request computes (${store.live.runLimit}): Play trains them as jobs.`);
    return;
  }
  const query = `?max_points=${MAX_POINTS}`;
  try {
    const answers = await Promise.all(view.race.map((name) =>
      postJson(`/runs${query}`, runBody(view, name), { signal: controller.signal })));
    if (inFlight !== controller) return;
    store.live.runs.clear();
    view.race.forEach((name, i) => store.live.runs.set(name, { answer: fromRun(answers[i]) }));
    clearError("run-error");
    redraw();
    const overlay = $("#overlay");
    overlay.dataset.redraws = String(Number(overlay.dataset.redraws || 0) + 1);
    overlay.dataset.lastRedrawMs = (performance.now() - since).toFixed(1);
  } catch (error) {
    if (error.name === "AbortError" || inFlight !== controller) return;
    const limit = error instanceof ApiError && error.status === 413 && error.problem.limit;
    if (limit && limit.name === "max_run_iterations") {
      store.live.runLimit = limit.value;
      return refreshLive(since);
    }
    store.live.runs.clear();
    redraw();
    showError("run-error", error);
  } finally {
    if (inFlight === controller) inFlight = null;
  }
}

/** Fetch what kept runs need (their /runs answer or their job's path), then redraw. */
export async function refreshKept() {
  const view = store.view;
  const missing = view.kept.filter((k) => !store.live.keptAnswers.has(keptKey(k)));
  await Promise.all(missing.map(async (k) => {
    try {
      let answer;
      if (k.job) {
        const job = await getJson(`/jobs/${k.job}`);
        const trajectory = job.status === "succeeded"
          ? await getJson(`/jobs/${k.job}/trajectory?max_points=${MAX_POINTS}`).catch(() => null) : null;
        answer = fromJob(job, trajectory);
      } else {
        const body = runBody({ ...view, dataset: k.dataset, hyper: k.hyper }, k.optimizer, k.start, k.iterations);
        answer = fromRun(await postJson(`/runs?max_points=${MAX_POINTS}`, body));
      }
      store.live.keptAnswers.set(keptKey(k), answer);
    } catch (error) {
      showError("run-error", error);
    }
  }));
  redraw();
}

// ---- the controls ----------------------------------------------------------------------

function status(text) {
  $("#run-status").textContent = text;
}

function describeProgress() {
  const view = store.view;
  const el = $("#run-status");
  const at = shownUpTo(view);
  el.dataset.at = String(at);
  el.dataset.state = store.live.jobs.size ? "job" : store.live.playing ? "playing" : "idle";
  if (store.live.jobs.size) return;
  const parts = [`iteration ${at} of ${view.iterations}`];
  for (const run of visibleRuns().filter((r) => r.live && r.path)) {
    const n = run.path.loss.length;
    const loss = n ? run.path.loss[n - 1] : null;
    const name = run.label.split(" ")[0];
    if (run.outcome === "diverged" && run.ended) parts.push(`${name} diverged`);
    else parts.push(`${name} loss ${fmt(loss, "overflow")}${run.ended ? ` (${run.outcome})` : ""}`);
  }
  status(parts.join(" · "));
}

function stopAnimation() {
  if (animation !== null) cancelAnimationFrame(animation);
  animation = null;
  store.live.playing = false;
}

/** Play: reveal the live runs iteration by iteration (or train them as jobs if long). */
export async function play() {
  const view = store.view;
  if (view.iterations > store.live.runLimit) return runAsJobs();
  stopAnimation();
  const from = view.at === null || view.at >= view.iterations ? 0 : view.at;
  store.live.playing = true;
  setViewQuietly({ at: from });
  const began = performance.now();
  const seconds = Math.min(PLAY_SECONDS, Math.max(0.5, view.iterations / 200));
  const frame = (now) => {
    const t = Math.min(1, (now - began) / (seconds * 1000));
    const at = Math.round(from + t * (view.iterations - from));
    setViewQuietly({ at });
    redraw();
    if (t < 1 && store.live.playing) animation = requestAnimationFrame(frame);
    else {
      stopAnimation();
      setView({ at: null }, "replace");
      announce(`Runs finished: ${$("#run-status").textContent}`);
    }
  };
  announce("Playing the runs");
  animation = requestAnimationFrame(frame);
}

export function pause() {
  if (!store.live.playing) return;
  stopAnimation();
  setView({ at: store.view.at }, "replace");
  redraw();
  announce(`Paused at iteration ${store.view.at}`);
}

/** Step `n` iterations; past the end, the runs get `n` more iterations. */
export function step(n) {
  stopAnimation();
  const view = store.view;
  const at = view.at === null ? view.iterations : view.at;
  if (at + n <= view.iterations) setView({ at: at + n }, "replace");
  else setView({ iterations: at + n, at: null }, "replace");
  announce(`Iteration ${shownUpTo(store.view)}`);
}

/** Stop: end the runs where they are (jobs are cancelled). */
export async function stop() {
  stopAnimation();
  if (store.live.jobs.size) {
    await Promise.all([...store.live.jobs.values()].map((job) =>
      request(`/jobs/${job.id}`, { method: "DELETE" }).catch(() => null)));
    announce("Jobs cancelled");
    return;
  }
  const view = store.view;
  if (view.at !== null && view.at < view.iterations) setView({ iterations: Math.max(1, view.at), at: null });
  announce("Runs stopped");
}

export function reset() {
  stopAnimation();
  setView({ at: 0 }, "replace");
  announce("Runs reset to their start");
}

/** Race from here: several optimizers from the inspected point (or the start), played. */
export async function race() {
  const view = store.view;
  const start = view.point || view.start;
  let names = view.race;
  if (names.length < 2) {
    const wanted = ["rprop", "irprop-", "sgd"].filter((n) => store.live.optimizers.some((o) => o.name === n));
    names = [...new Set([...names, ...wanted])];
  }
  setView({ start, race: names, at: 0 });
  await refreshLive();
  await play();
}

/** Keep the live runs on the surface (with a legend entry) while settings change. */
export function keep() {
  const view = store.view;
  const added = [];
  for (const name of view.race) {
    const run = store.live.runs.get(name);
    if (!run || !run.answer) continue;
    const k = { optimizer: name, hyper: view.hyper[name] ? { [name]: view.hyper[name] } : {}, start: { ...view.start }, iterations: view.iterations, dataset: view.dataset };
    store.live.keptAnswers.set(keptKey(k), run.answer);
    added.push(k);
  }
  if (!added.length) return;
  setView({ kept: [...view.kept, ...added] });
  announce(`${added.length} run${added.length > 1 ? "s" : ""} kept on the surface`);
}

// ---- long runs: jobs ---------------------------------------------------------------

/** Train each live optimizer as a job (too long for a request), following its events. */
async function runAsJobs() {
  const view = store.view;
  const button = $("#play");
  if (store.live.jobs.size) return;
  button.disabled = true; // no second start while one is in flight
  const started = [];
  try {
    for (const name of view.race) {
      const job = await postJson("/train", runBody(view, name));
      const job0 = { id: job.id, status: job.status, progress: [{ iteration: 0, loss: null, ...view.start }] };
      store.live.jobs.set(name, job0);
      started.push([name, job0]);
    }
    clearError("run-error");
    announce(`Training ${started.length} job${started.length > 1 ? "s" : ""}`);
    document.dispatchEvent(new CustomEvent("rnnlab:jobs-changed"));
  } catch (error) {
    showError("run-error", error);
  } finally {
    button.disabled = false;
  }
  redraw();
  await Promise.all(started.map(([name, job]) => follow(name, job, view)));
}

async function follow(name, job, view) {
  try {
    const res = await request(`/jobs/${job.id}/events`, { accept: "text/event-stream" });
    for await (const { event, data } of sseEvents(res.body)) {
      const update = JSON.parse(data);
      const p = update.progress;
      job.status = update.status;
      if (p && p.weights && p.weights.wx !== null) {
        job.progress.push({ iteration: p.iteration, loss: p.loss, wx: p.weights.wx, wrec: p.weights.wrec });
      }
      status(`job ${shortId(job.id)} (${name}) ${job.status}: iteration ${p ? p.iteration : "?"} of ${view.iterations}`);
      redraw();
      if (event === "done") break;
    }
    const finished = await getJson(`/jobs/${job.id}`);
    const trajectory = finished.status === "succeeded"
      ? await getJson(`/jobs/${job.id}/trajectory?max_points=${MAX_POINTS}`) : null;
    const k = { optimizer: name, hyper: view.hyper[name] ? { [name]: view.hyper[name] } : {}, start: { ...view.start }, iterations: view.iterations, dataset: view.dataset, job: job.id };
    store.live.keptAnswers.set(keptKey(k), fromJob(finished, trajectory));
    store.live.jobs.delete(name);
    setView({ kept: [...store.view.kept, k] });
    announce(`Job ${shortId(job.id)} ${finished.status}`);
  } catch (error) {
    store.live.jobs.delete(name);
    showError("run-error", error);
  } finally {
    document.dispatchEvent(new CustomEvent("rnnlab:jobs-changed"));
    redraw();
  }
}

// ---- drawing: legend, charts ---------------------------------------------------------

const OUTCOME_WORDS = {
  diverged: "diverged", overflow: "loss overflow", converged: "converged", completed: "done",
  running: "running", loading: "loading", queued: "queued", failed: "failed", cancelled: "cancelled",
};

export function redraw() {
  drawOverlay();
  const runs = visibleRuns();
  // Rebuilt only when what it says changes: not on every frame of a run being played,
  // which would also take the keyboard focus away from its buttons.
  const legend = $("#legend");
  const signature = JSON.stringify(runs.map((r) => [r.key, r.label, r.outcome, r.hidden, r.colour, store.live.openRun === r.key]));
  if (legend.dataset.signature !== signature) {
    const focused = document.activeElement && legend.contains(document.activeElement)
      ? [document.activeElement.closest("li").dataset.key, document.activeElement.getAttribute("aria-label")] : null;
    legend.replaceChildren(...runs.map((run) => legendItem(run)));
    legend.dataset.signature = signature;
    if (focused) {
      for (const item of legend.children) {
        if (item.dataset.key !== focused[0]) continue;
        const again = [...item.querySelectorAll("button, input")].find((e) => e.getAttribute("aria-label") === focused[1]);
        if (again) again.focus();
      }
    }
  }
  const charted = runs.filter((r) => r.path && !r.hidden);
  drawLogChart($("#loss-chart"), "loss per iteration (log)", charted.map((r) => ({ colour: r.colour, x: r.path.iteration, y: r.path.loss })));
  drawLogChart($("#step-chart"), "step size per iteration (log)", charted.filter((r) => r.path.step).map((r) => ({ colour: r.colour, x: r.path.iteration, y: r.path.step })));
  describeProgress();
  showDetails(runs.find((r) => r.key === store.live.openRun));
}

function legendItem(run) {
  const item = document.createElement("li");
  item.dataset.key = run.key;
  item.dataset.outcome = run.outcome;
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = run.colour;
  const label = document.createElement("span");
  const start = run.start ? ` from (${fmt(run.start.wx)}, ${fmt(run.start.wrec)})` : "";
  label.textContent = `${run.live ? "live: " : ""}${run.label}${start}`;
  const outcome = document.createElement("span");
  outcome.className = `outcome ${run.outcome}`;
  outcome.textContent = run.otherData ? "other dataset, not drawn" : OUTCOME_WORDS[run.outcome] || run.outcome;
  const open = document.createElement("button");
  open.type = "button";
  open.textContent = "Details";
  open.setAttribute("aria-label", `Details of ${run.label}`);
  open.setAttribute("aria-pressed", String(store.live.openRun === run.key));
  open.addEventListener("click", () => {
    store.live.openRun = store.live.openRun === run.key ? null : run.key;
    redraw();
  });
  item.append(swatch, label, outcome, open);
  if (!run.live) {
    const hide = document.createElement("input");
    hide.type = "checkbox";
    hide.checked = Boolean(run.kept.hidden);
    hide.disabled = run.otherData;
    hide.id = `hide-${run.index}`;
    const hideLabel = document.createElement("label");
    hideLabel.htmlFor = hide.id;
    hideLabel.textContent = "hide";
    hideLabel.setAttribute("aria-label", `Hide ${run.label}`);
    hide.addEventListener("change", () => {
      const kept = store.view.kept.map((k, i) => (i === run.index ? { ...k, hidden: hide.checked } : k));
      setView({ kept });
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${run.label}`);
    remove.addEventListener("click", () => {
      setView({ kept: store.view.kept.filter((_, i) => i !== run.index) });
      announce(`Removed ${run.label}`);
    });
    item.append(hide, hideLabel, remove);
  }
  return item;
}

function showDetails(run) {
  const el = $("#run-details");
  if (!run || !run.answer) {
    el.textContent = "";
    return;
  }
  const a = run.answer;
  const w = a.weights || {};
  el.textContent = `${run.label}: ${OUTCOME_WORDS[a.outcome] || a.outcome} after ${a.iterations} iterations, `
    + `loss ${fmt(a.loss, a.outcome === "diverged" ? "diverged" : "overflow")} at (${fmt(w.wx, "overflow")}, ${fmt(w.wrec, "overflow")})`
    + `${a.points > a.path.iteration.length ? ` · path thinned to ${a.path.iteration.length} of ${a.points} points` : ""}`;
}

/** Surface a failure of any of these actions next to the run controls. */
export const guarded = (action) => (...args) =>
  Promise.resolve(action(...args)).catch((error) => showError("run-error", plainWords(error)));

// The page: reads the view from the URL, wires every control to the store, and on each
// view change redoes only what that change affects.

import { installTokenDialog } from "./api.js";
import { installDatasetForm, writeForm } from "./dataset.js";
import { showForward } from "./forward.js";
import { refreshJobs } from "./jobs.js";
import { LESSONS, renderLesson } from "./lessons.js";
import { announce, clearError, showError } from "./notify.js";
import { loadOptimizers, renderHyperparameters, renderOptimizerChoices } from "./optimizers.js";
import { MAX_GRAD_POINTS, clearPoint, showPoint } from "./point.js";
import * as runs from "./runs.js";
import { TUTORIAL_WINDOW, datasetKey, defaultView, setView, setViewQuietly, store, subscribe } from "./state.js";
import {
  centreOf, drawOverlay, drawSurface, fetchSurface, installInteractions, scaledWindow, setPathSource,
} from "./surface.js";
import { decode, record } from "./url.js";

const $ = (selector) => document.querySelector(selector);
const same = (a, b, ...keys) => keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));

let changeSince = null; // when the input that changed the view happened (redraw timing)
let drawnWindow = null; // the view whose surface is on screen (a rejected one is undone)
let surfaceRequest = null;

// ---- the surface -------------------------------------------------------------------

async function loadSurface(view) {
  if (surfaceRequest) surfaceRequest.abort();
  const controller = new AbortController();
  surfaceRequest = controller;
  $("#surface").dataset.state = "loading";
  announce("Computing the loss surface…");
  try {
    const surface = await fetchSurface(view, controller.signal);
    if (surfaceRequest !== controller) return;
    store.live.surface = surface;
    drawnWindow = { window: view.window, resolution: view.resolution, dataset: view.dataset };
    drawSurface();
    drawOverlay();
    const m = surface.min;
    $("#surface-info").textContent = m && m.loss !== null
      ? `grid minimum ${Number(m.loss.toPrecision(5))} at (${Number(m.wx.toPrecision(4))}, ${Number(m.wrec.toPrecision(4))})` : "";
    clearError("window-error");
    announce(surface.overflow ? "Loss surface drawn; part of it overflowed (hatched)" : "Loss surface drawn");
  } catch (error) {
    if (error.name === "AbortError") return;
    showError("window-error", error);
    announce("The loss surface could not be drawn");
    $("#surface").dataset.state = drawnWindow ? "ready" : "error";
    if (drawnWindow) {
      // Back to what is drawn, without drawing it again (which would clear the message).
      setViewQuietly({ window: drawnWindow.window, resolution: drawnWindow.resolution });
      record(store.view, "replace");
      writeWindowForm(store.view);
      drawOverlay();
    }
  }
}

function writeWindowForm(view) {
  const form = $("#window-form");
  const w = view.window;
  const span = Math.max(w.wx_max - w.wx_min, w.wrec_max - w.wrec_min);
  const digits = Math.min(12, Math.max(0, 3 - Math.floor(Math.log10(span))));
  for (const key of Object.keys(TUTORIAL_WINDOW)) form.elements[key].value = Number(w[key].toFixed(digits));
  form.elements.resolution.value = view.resolution;
  form.elements.scale.value = view.scale;
}

function writeRunForm(view) {
  const form = $("#run-form");
  form.elements.start_wx.value = view.start.wx;
  form.elements.start_wrec.value = view.start.wrec;
  form.elements.iterations.value = view.iterations;
}

// ---- one change of the view ------------------------------------------------------------

function render(view, previous, how) {
  record(view, how);
  const everything = previous === null;
  const was = previous || {};
  const dataChanged = everything || datasetKey(view.dataset) !== datasetKey(was.dataset);
  if (dataChanged) writeForm(view.dataset);
  if (everything || !same(view, was, "window", "resolution", "scale")) writeWindowForm(view);
  if (dataChanged || !same(view, was, "window", "resolution")) loadSurface(view);
  else if (view.scale !== was.scale) drawSurface();
  if (everything || !same(view, was, "start", "iterations")) writeRunForm(view);
  if (everything || !same(view, was, "optimizer", "race")) {
    renderOptimizerChoices($("#optimizer"), $("#race-set"), view, (race) => {
      setView({ race: race.length ? race : [store.view.optimizer] });
    });
  }
  // The fields are rebuilt for another optimizer or a view from elsewhere (a link, back),
  // never under the fingers of someone typing in them.
  if (everything || view.optimizer !== was.optimizer || (how === "none" && !same(view, was, "hyper"))) {
    renderHyperparameters($("#hyperparameters"), view.optimizer, view.hyper, (values) => {
      const hyper = { ...store.view.hyper };
      if (Object.keys(values).length) hyper[store.view.optimizer] = values;
      else delete hyper[store.view.optimizer];
      setView({ hyper }, "replace");
    });
  }
  const since = changeSince ?? performance.now();
  changeSince = null;
  if (dataChanged || !same(view, was, "start", "iterations", "race", "hyper")) runs.refreshLive(since);
  if (everything || !same(view, was, "kept")) runs.refreshKept();
  if (!same(view, was, "at", "kept") || !same(view, was, "point", "gradPoints")) runs.redraw();
  if (dataChanged || !same(view, was, "point", "gradPoints")) showPoint(view);
  if (dataChanged || !same(view, was, "point", "start", "sequence")) showForward(view);
  if (everything || view.lesson !== was.lesson) renderLesson(view.lesson);
}

// ---- actions -------------------------------------------------------------------------

function inspect(point) {
  const others = store.view.gradPoints.filter((p) => p.wx !== point.wx || p.wrec !== point.wrec);
  setView({ point, gradPoints: [point, ...others].slice(0, MAX_GRAD_POINTS) });
  announce(`Inspecting (${point.wx}, ${point.wrec})`);
}

function zoom(window) {
  setView({ window: window || { ...TUTORIAL_WINDOW } });
}

function moveStart(point, done, eventTime) {
  changeSince = eventTime;
  setView({ start: point, at: null }, done ? "push" : "replace");
  if (done) announce(`Runs start at (${point.wx}, ${point.wrec})`);
}

function applyDataset(dataset) {
  clearPoint();
  setView({ dataset, point: null, gradPoints: [], sequence: 0, at: null });
  announce("Dataset changed");
}

function showJob(job) {
  const k = { optimizer: "job", hyper: {}, start: job.progress ? { ...job.progress.weights } : store.view.start, iterations: job.progress ? job.progress.iterations : 0, dataset: store.view.dataset, job: job.id };
  const mine = store.view.kept.find((x) => x.job === job.id);
  if (mine) {
    if (mine.hidden) setView({ kept: store.view.kept.map((x) => (x === mine ? { ...x, hidden: false } : x)) });
    return;
  }
  setView({ kept: [...store.view.kept, k] });
}

function installControls() {
  const windowForm = $("#window-form");
  windowForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(windowForm);
    const w = Object.fromEntries(Object.keys(TUTORIAL_WINDOW).map((k) => [k, Number(f.get(k))]));
    if (!(w.wx_min < w.wx_max && w.wrec_min < w.wrec_max) || Object.values(w).some((v) => !Number.isFinite(v))) {
      showError("window-error", "Each range needs a smaller “from” than “to”.");
      writeWindowForm(store.view);
      return;
    }
    setView({ window: w, resolution: Number(f.get("resolution")) || store.view.resolution });
  });
  windowForm.elements.scale.addEventListener("change", () => setView({ scale: windowForm.elements.scale.value }));
  const centre = () => store.view.point || centreOf(store.view.window);
  $("#zoom-in").addEventListener("click", () => zoom(scaledWindow(centre(), 0.5)));
  $("#zoom-out").addEventListener("click", () => zoom(scaledWindow(centre(), 2)));
  $("#reset-window").addEventListener("click", () => zoom(null));

  const runForm = $("#run-form");
  runForm.addEventListener("submit", (e) => e.preventDefault());
  runForm.addEventListener("change", (e) => {
    const name = e.target.name;
    if (e.target.value === "" && name !== "optimizer") return; // being retyped: wait for a value
    if (name === "start_wx" || name === "start_wrec") {
      const start = { wx: Number(runForm.elements.start_wx.value), wrec: Number(runForm.elements.start_wrec.value) };
      if (Number.isFinite(start.wx) && Number.isFinite(start.wrec) && runForm.elements.start_wx.value !== "" && runForm.elements.start_wrec.value !== "") {
        clearError("run-error");
        setView({ start, at: null });
      } else {
        showError("run-error", "The start needs two numbers.");
        writeRunForm(store.view);
      }
    } else if (name === "iterations") {
      const n = Number(runForm.elements.iterations.value);
      if (Number.isInteger(n) && n >= 1) setView({ iterations: n, at: null });
      else {
        showError("run-error", "Iterations must be a whole number of at least 1.");
        writeRunForm(store.view);
      }
    } else if (name === "optimizer") {
      const optimizer = runForm.elements.optimizer.value;
      const race = store.view.race.includes(optimizer) ? store.view.race : [...store.view.race, optimizer];
      setView({ optimizer, race });
    }
  });
  const stepN = () => Math.max(1, Math.floor(Number($("#step-n").value)) || 1);
  $("#play").addEventListener("click", runs.guarded(runs.play));
  $("#pause").addEventListener("click", runs.guarded(runs.pause));
  $("#step").addEventListener("click", runs.guarded(() => runs.step(1)));
  $("#step-many").addEventListener("click", runs.guarded(() => runs.step(stepN())));
  $("#stop").addEventListener("click", runs.guarded(runs.stop));
  $("#reset-run").addEventListener("click", runs.guarded(runs.reset));
  $("#race").addEventListener("click", runs.guarded(runs.race));
  $("#keep").addEventListener("click", runs.guarded(runs.keep));
  $("#grad-clear").addEventListener("click", () => setView({ gradPoints: [] }));
  $("#sequence").addEventListener("change", (e) => {
    const n = Math.floor(Number(e.target.value));
    if (Number.isFinite(n) && n >= 1) setView({ sequence: n - 1 });
  });
  $("#forward-form").addEventListener("submit", (e) => e.preventDefault());
  $("#refresh-jobs").addEventListener("click", () => refreshJobs(showJob));
  document.addEventListener("rnnlab:jobs-changed", () => refreshJobs(showJob));

  $("#lesson-open").addEventListener("click", () => showLesson(0));
  $("#lesson-prev").addEventListener("click", () => showLesson(store.view.lesson - 1));
  $("#lesson-next").addEventListener("click", () => showLesson(store.view.lesson + 1));
  $("#lesson-close").addEventListener("click", () => setView({ lesson: null }));

  installDatasetForm(() => store.view.dataset, applyDataset);
  installInteractions({ inspect, zoom, moveStart, announce });
  installTokenDialog();
  window.addEventListener("popstate", () => setView(decode(location.hash), "none"));
}

function showLesson(index) {
  const step = LESSONS[index];
  setView({ ...step.view, lesson: index });
  announce(`Lesson step ${index + 1}: ${step.title}`);
  $("#lesson").scrollIntoView({ block: "nearest" });
}

async function init() {
  setPathSource(runs.pathsToDraw);
  subscribe(render);
  installControls();
  try {
    await loadOptimizers();
  } catch (error) {
    showError("run-error", error);
  }
  const view = location.hash ? decode(location.hash) : defaultView();
  setViewQuietly(view);
  render(view, null, "replace");
  refreshJobs(showJob);
}

init();

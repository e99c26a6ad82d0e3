// One point of weight space: its loss and gradient, and the gradient through time at the
// points chosen so far, overlaid on one axis.

import { datasetBody, datasetParams, getJson, postJson } from "./api.js";
import { drawGradientChart } from "./charts.js";
import { POINT_COLOURS, fmt } from "./format.js";
import { clearError, showError } from "./notify.js";

const $ = (selector) => document.querySelector(selector);
export const MAX_GRAD_POINTS = POINT_COLOURS.length;

let shown = ""; // what the panel shows, so that an unchanged view costs no request

/** Empty the panel (a new dataset makes the old numbers wrong). */
export function clearPoint() {
  $("#point-weights").textContent = "click the surface";
  for (const id of ["#point-loss", "#point-grad-wx", "#point-grad-wrec"]) $(id).textContent = "–";
}

/** Show the view's point and gradient-over-time points; fetches only what changed. */
export async function showPoint(view) {
  const key = JSON.stringify([view.dataset, view.point, view.gradPoints]);
  if (key === shown) return;
  shown = key;
  try {
    if (view.point) {
      const { wx, wrec } = view.point;
      $("#point-weights").textContent = `(${wx}, ${wrec})`;
      for (const id of ["#point-loss", "#point-grad-wx", "#point-grad-wrec"]) $(id).textContent = "…";
      const grad = await postJson("/gradient", { weights: { wx, wrec }, ...datasetBody(view.dataset) });
      const over = grad.overflow ? "overflow" : "–";
      $("#point-loss").textContent = fmt(grad.loss, over);
      $("#point-grad-wx").textContent = fmt(grad.gradient.wx, over);
      $("#point-grad-wrec").textContent = fmt(grad.gradient.wrec, over);
    } else {
      clearPoint();
    }
    await drawGradients(view);
    clearError("point-error");
  } catch (error) {
    shown = "";
    if (error.name !== "AbortError") showError("point-error", error);
  }
}

async function drawGradients(view) {
  const legend = $("#grad-legend");
  const points = view.gradPoints;
  if (!points.length) {
    drawGradientChart($("#grad-time"), []);
    legend.replaceChildren();
    return;
  }
  const query = new URLSearchParams({
    points: points.map((p) => `${p.wx}:${p.wrec}`).join(","), ...datasetParams(view.dataset),
  });
  const answer = await getJson(`/gradient-over-time?${query}`);
  const series = answer.series.map((s, i) => ({
    colour: POINT_COLOURS[i % POINT_COLOURS.length], timesteps: answer.timesteps, grad: s.grad, overflow: s.overflow,
  }));
  drawGradientChart($("#grad-time"), series);
  legend.replaceChildren(...answer.series.map((s, i) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = series[i].colour;
    const text = document.createElement("span");
    const big = Math.max(...s.grad.filter((g) => g !== null).map(Math.abs), 0);
    text.textContent = `(${s.wx}, ${s.wrec}): largest |∂ξ/∂S_k| ${fmt(big)}`;
    item.append(swatch, text);
    if (s.overflow) {
      const tag = document.createElement("span");
      tag.className = "outcome overflow";
      tag.textContent = "overflow: values beyond float64 are left out";
      item.append(tag);
    }
    return item;
  }));
}

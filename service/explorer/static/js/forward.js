// What the model computes: one sequence's inputs x_k and states s_k, step by step, and
// its output s_n against the target, at the inspected point (else the start). The states
// come from the server (POST /predict on each prefix of the sequence), never recomputed here.

import { getJson, postJson } from "./api.js";
import { fmt } from "./format.js";
import { clearError, showError } from "./notify.js";

const $ = (selector) => document.querySelector(selector);
const MAX_ELEMENTS = 200_000; // larger datasets are not listed in the page
const MAX_STEPS = 200; // steps shown of one sequence

const cache = new Map(); // dataset key -> { info, data }
let shown = "";

/** The dataset's info and data (stored first for specs and the tutorial: same id always). */
async function datasetData(dataset) {
  const key = JSON.stringify(dataset);
  if (!cache.has(key)) {
    let info;
    if (dataset.kind === "id") info = await getJson(`/datasets/${encodeURIComponent(dataset.id)}`);
    else {
      const spec = dataset.kind === "spec" ? dataset.spec : { n_samples: 20, length: 10, seed: 1, generator: "legacy" };
      info = await postJson("/datasets", spec);
    }
    const small = info.n_samples * info.max_length <= MAX_ELEMENTS;
    const data = small ? await getJson(`/datasets/${encodeURIComponent(info.id)}?include=data`) : null;
    cache.set(key, { info, data });
  }
  return cache.get(key);
}

/** Check that a dataset reference names data the server has (a 404 rejects it). */
export async function checkDataset(dataset) {
  return (await datasetData(dataset)).info;
}

export async function showForward(view) {
  const weights = view.point || view.start;
  const key = JSON.stringify([view.dataset, weights, view.sequence]);
  if (key === shown) return;
  shown = key;
  const body = $("#forward-table tbody");
  try {
    const { info, data } = await datasetData(view.dataset);
    const input = $("#sequence");
    input.max = String(info.n_samples);
    if (!data) {
      body.replaceChildren();
      $("#forward-info").textContent = `This dataset (${info.n_samples} sequences) is too large to list here.`;
      return;
    }
    const index = Math.min(view.sequence, info.n_samples - 1);
    input.value = String(index + 1);
    const x = data.sequences[index].slice(0, MAX_STEPS);
    const prefixes = x.map((_, k) => x.slice(0, k + 1));
    const { outputs } = await postJson("/predict", { weights, sequences: prefixes });
    const rows = [["0", "", "0"], ...x.map((xk, k) => [String(k + 1), fmt(xk), fmt(outputs[k], "overflow")])];
    body.replaceChildren(...rows.map((cells) => {
      const row = document.createElement("tr");
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    }));
    const y = outputs[outputs.length - 1];
    const t = data.targets[index];
    const cut = data.sequences[index].length > MAX_STEPS ? ` (first ${MAX_STEPS} steps shown)` : "";
    $("#forward-caption").textContent = `Sequence ${index + 1} of ${info.n_samples} at (wx, wrec) = (${weights.wx}, ${weights.wrec})${cut}`;
    $("#forward-info").textContent = `output s_n = ${fmt(y, "overflow")}, target t = ${fmt(t)}, `
      + `squared error ${y === null ? "overflow" : fmt((t - y) ** 2)}`;
    $("#forward-info").dataset.output = String(y);
    clearError("forward-error");
  } catch (error) {
    shown = "";
    showError("forward-error", error);
  }
}

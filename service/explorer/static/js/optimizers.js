// The optimizers as the server describes them (GET /optimizers): their forms, their
// defaults and ranges, and the optimizer objects POST /runs and POST /train take.

import { getJson } from "./api.js";
import { store } from "./state.js";

export async function loadOptimizers() {
  store.live.optimizers = await getJson("/optimizers");
  return store.live.optimizers;
}

export const optimizerInfo = (name) => store.live.optimizers.find((o) => o.name === name);

/** The optimizer object of a request: the name and the values that differ from defaults. */
export function optimizerSpec(name, hyper) {
  return { name, ...(hyper[name] || {}) };
}

/** A short description of a run's settings, for the legend. */
export function describe(name, hyper) {
  const values = hyper[name] || {};
  const parts = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  return parts.length ? `${name} (${parts.join(", ")})` : `${name} (defaults)`;
}

/** Why `value` is outside the hyperparameter's range, or null when it is inside. */
function outOfRange(h, value) {
  if (h.minimum !== null && (h.minimum_inclusive ? value < h.minimum : value <= h.minimum)) {
    return `must be ${h.minimum_inclusive ? "at least" : "more than"} ${h.minimum}`;
  }
  if (h.maximum !== null && (h.maximum_inclusive ? value > h.maximum : value >= h.maximum)) {
    return `must be ${h.maximum_inclusive ? "at most" : "less than"} ${h.maximum}`;
  }
  return null;
}

function rangeText(h) {
  const parts = [];
  if (h.minimum !== null) parts.push(`${h.minimum_inclusive ? "≥" : ">"} ${h.minimum}`);
  if (h.maximum !== null) parts.push(`${h.maximum_inclusive ? "≤" : "<"} ${h.maximum}`);
  return parts.join(", ");
}

/**
 * Fill the hyperparameter fieldset for `name`. `onChange(values)` gets the overrides
 * (empty fields mean the default and are left out), or is not called while a field is
 * invalid: the field then says why, next to it.
 */
export function renderHyperparameters(fieldset, name, hyper, onChange) {
  const info = optimizerInfo(name);
  document.getElementById("hyper-name").textContent = name;
  document.getElementById("optimizer-summary").textContent = info ? info.summary : "";
  for (const old of fieldset.querySelectorAll(":scope > :not(legend)")) old.remove();
  if (!info) return;
  const values = hyper[name] || {};
  for (const h of info.hyperparameters) {
    const id = `hp-${h.name}`;
    const row = document.createElement("div");
    row.className = "hp";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = h.name.replace(/_/g, " ");
    const input = document.createElement("input");
    input.id = id;
    input.name = h.name;
    const help = document.createElement("small");
    help.id = `${id}-help`;
    const error = document.createElement("small");
    error.id = `${id}-error`;
    error.className = "error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    input.setAttribute("aria-describedby", `${help.id} ${error.id}`);
    if (h.type === "boolean") {
      input.type = "checkbox";
      input.checked = Boolean(h.name in values ? values[h.name] : h.default);
      help.textContent = `default ${h.default ? "on" : "off"}`;
    } else {
      input.type = "number";
      input.step = "any";
      input.value = h.name in values ? values[h.name] : h.default ?? "";
      help.textContent = `default ${h.default ?? "none"}${rangeText(h) ? `; ${rangeText(h)}` : ""}`;
    }
    row.append(label, input, help, error);
    fieldset.append(row);
  }
  fieldset.oninput = fieldset.onchange = () => {
    const overrides = {};
    let valid = true;
    for (const h of info.hyperparameters) {
      const input = fieldset.querySelector(`#hp-${h.name}`);
      const error = fieldset.querySelector(`#hp-${h.name}-error`);
      error.hidden = true;
      input.removeAttribute("aria-invalid");
      if (h.type === "boolean") {
        if (input.checked !== Boolean(h.default)) overrides[h.name] = input.checked;
        continue;
      }
      const text = input.value.trim();
      if (text === "") continue; // the default
      const value = Number(text);
      const why = Number.isFinite(value) ? outOfRange(h, value) : "must be a number";
      if (why) {
        error.textContent = `${h.name.replace(/_/g, " ")} ${why}`;
        error.hidden = false;
        input.setAttribute("aria-invalid", "true");
        valid = false;
      } else if (value !== h.default) {
        overrides[h.name] = value;
      }
    }
    if (valid) onChange(overrides);
  };
}

/** The optimizer select and the checkboxes of the optimizers that run live. */
export function renderOptimizerChoices(select, raceSet, view, onRace) {
  if (!select.options.length) {
    for (const o of store.live.optimizers) select.add(new Option(o.name, o.name));
  }
  select.value = view.optimizer;
  if (!raceSet.querySelector("input")) {
    for (const o of store.live.optimizers) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "race";
      box.value = o.name;
      label.append(box, ` ${o.name}`);
      raceSet.append(label);
    }
    raceSet.addEventListener("change", () => {
      const chosen = [...raceSet.querySelectorAll("input:checked")].map((b) => b.value);
      onRace(chosen);
    });
  }
  for (const box of raceSet.querySelectorAll("input")) box.checked = view.race.includes(box.value);
}

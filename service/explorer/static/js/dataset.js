// The dataset form: what it shows is always the dataset in use. A change is checked with
// the server first; a rejected one (an unknown id, a spec over a limit) puts the form back
// and says why next to it.

import { checkDataset } from "./forward.js";
import { clearError, showError } from "./notify.js";

const $ = (selector) => document.querySelector(selector);

/** The dataset reference the form describes. */
export function readForm() {
  const f = new FormData($("#dataset-form"));
  const kind = f.get("kind");
  if (kind === "id") return { kind, id: String(f.get("dataset_id")).trim() };
  if (kind === "spec") {
    const spec = {
      n_samples: Number(f.get("n_samples")), seed: Number(f.get("seed")),
      p_one: Number(f.get("p_one")), generator: f.get("generator"),
    };
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

/** Show `dataset` in the form. */
export function writeForm(dataset) {
  const form = $("#dataset-form");
  form.elements.kind.value = dataset.kind;
  if (dataset.kind === "spec") {
    // By id: a form's own `length` property would hide the field of that name.
    const s = dataset.spec;
    $("#n_samples").value = s.n_samples;
    $("#length").value = s.length ?? s.min_length;
    $("#max_length").value = s.max_length ?? "";
    $("#seed").value = s.seed ?? 0;
    $("#p_one").value = s.p_one ?? 0.5;
    $("#generator").value = s.generator ?? "pcg64";
  }
  if (dataset.kind === "id") $("#dataset_id").value = dataset.id;
  enable(dataset.kind);
}

function enable(kind) {
  $("#spec-fields").disabled = kind !== "spec";
  $("#dataset_id").disabled = kind !== "id";
}

/**
 * Wire the form: `current()` is the dataset in use, `apply(dataset)` switches to one the
 * server accepted.
 */
export function installDatasetForm(current, apply) {
  const form = $("#dataset-form");
  const submit = async () => {
    const wanted = readForm();
    if (JSON.stringify(wanted) === JSON.stringify(current())) return;
    if (wanted.kind === "id" && !wanted.id) {
      enable("id");
      return; // waiting for an id to be typed
    }
    try {
      await checkDataset(wanted);
      clearError("dataset-error");
      apply(wanted);
    } catch (error) {
      if (wanted.kind === "id" && error.status === 404) {
        error.notFound = `There is no stored dataset with the id “${wanted.id}”. The page keeps using the previous dataset.`;
      }
      showError("dataset-error", error);
      writeForm(current());
    }
  };
  form.addEventListener("change", (e) => {
    enable(form.elements.kind.value);
    if (e.target.name === "kind" && form.elements.kind.value === "id" && !form.elements.dataset_id.value.trim()) {
      form.elements.dataset_id.focus();
      return;
    }
    submit();
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
}
